#include <cstring>
#include <vector>

#include "clip_inputs_pixel.h"
#include "parallel.h"

namespace hybridgl::clip_inputs {

Constants constants() {
  Constants k;
  const float mean[3] = {0.485f, 0.456f, 0.406f}, stdev[3] = {0.229f, 0.224f, 0.225f};
  const float fill[3] = {0.48145466f, 0.4578275f, 0.40821073f};
  for (int c = 0; c < 3; ++c) k.imagenetMean[c] = mean[c], k.imagenetStd[c] = stdev[c], k.fill[c] = fill[c];
  for (int v = 0; v < 256; ++v) {
    k.toUnit[v] = static_cast<float>(v) / 255.f;
    for (int c = 0; c < 3; ++c) k.normalised[c][v] = (k.toUnit[v] - mean[c]) / stdev[c];
  }
  return k;
}

template <typename Out>
void buildCpu(const uint8_t* rgb, const uint8_t* blurred, const float* localSource, const uint8_t* masks, int64_t n,
              const Shape& s, Out* global, Out* local) {
  const Constants k = constants();
  std::vector<resample::Tap> ty(s.outHeight), tx(s.outWidth);
  for (int i = 0; i < s.outHeight; ++i) ty[i] = resample::bilinearTap(i, s.height, s.outHeight);
  for (int i = 0; i < s.outWidth; ++i) tx[i] = resample::bilinearTap(i, s.width, s.outWidth);
  const int64_t pixels = static_cast<int64_t>(s.height) * s.width;
  const int64_t plane = static_cast<int64_t>(s.outHeight) * s.outWidth;
  // Most output pixels have all four taps inside or all outside a mask; their values do not depend on the mask,
  // so they are computed once (same arithmetic, hence bit-identical) and copied per mask.
  const bool allIn[4] = {true, true, true, true}, allOut[4] = {false, false, false, false};
  std::vector<Out> inside(2 * 3 * plane), outside(2 * 3 * plane);  // global planes, then local planes
  parallelFor(s.outHeight, 8, [&](int64_t begin, int64_t end) {
    for (int64_t oy = begin; oy < end; ++oy)
      for (int ox = 0; ox < s.outWidth; ++ox) {
        const int64_t idx = oy * s.outWidth + ox;
        pixel(rgb, blurred, localSource, pixels, allIn, s.width, ty[oy], tx[ox], k, idx, plane, inside.data(),
              inside.data() + 3 * plane);
        pixel(rgb, blurred, localSource, pixels, allOut, s.width, ty[oy], tx[ox], k, idx, plane, outside.data(),
              outside.data() + 3 * plane);
      }
  });
  parallelFor(n * s.outHeight, 8, [&](int64_t begin, int64_t end) {
    std::vector<uint8_t> setCount(s.outWidth);
    for (int64_t r = begin; r < end; ++r) {
      const int64_t m = r / s.outHeight;
      const int oy = static_cast<int>(r % s.outHeight);
      const uint8_t* mask = masks + m * pixels;
      const int64_t row = int64_t{oy} * s.outWidth, base = m * 3 * plane;
      for (int ox = 0; ox < s.outWidth; ++ox) {
        bool in[4];
        tapsInside(mask, s.width, ty[oy], tx[ox], in);
        setCount[ox] = static_cast<uint8_t>(in[0] + in[1] + in[2] + in[3]);
      }
      // Runs of uniform pixels are block copies of the precomputed planes; mixed pixels are computed.
      for (int ox = 0; ox < s.outWidth;) {
        const uint8_t code = setCount[ox];
        int stop = ox + 1;
        if (code == 0 || code == 4) {
          while (stop < s.outWidth && setCount[stop] == code) ++stop;
          const Out* from = code ? inside.data() : outside.data();
          const size_t bytes = sizeof(Out) * (stop - ox);
          for (int c = 0; c < 3; ++c) {
            std::memcpy(global + base + c * plane + row + ox, from + c * plane + row + ox, bytes);
            std::memcpy(local + base + c * plane + row + ox, from + (3 + c) * plane + row + ox, bytes);
          }
        } else {
          bool in[4];
          tapsInside(mask, s.width, ty[oy], tx[ox], in);
          pixel(rgb, blurred, localSource, pixels, in, s.width, ty[oy], tx[ox], k, base + row + ox, plane, global,
                local);
        }
        ox = stop;
      }
    }
  });
}

template void buildCpu<float>(const uint8_t*, const uint8_t*, const float*, const uint8_t*, int64_t, const Shape&,
                              float*, float*);
template void buildCpu<uint16_t>(const uint8_t*, const uint8_t*, const float*, const uint8_t*, int64_t, const Shape&,
                                 uint16_t*, uint16_t*);

}  // namespace hybridgl::clip_inputs
