// One output pixel of the fused CLIP-input kernel, shared by the CPU and CUDA versions so both round alike.
#pragma once

#include "clip_inputs.h"
#include "resample.h"

namespace hybridgl::clip_inputs {

template <typename Out>
HG_HD inline Out store(float v);
template <>
HG_HD inline float store<float>(float v) {
  return v;
}
template <>
HG_HD inline uint16_t store<uint16_t>(float v) {
  return resample::floatToHalf(v);
}

// Whether each of the four taps (y0x0, y0x1, y1x0, y1x1) is inside the mask.
HG_HD inline void tapsInside(const uint8_t* mask, int width, const resample::Tap& ty, const resample::Tap& tx,
                             bool in[4]) {
  const uint8_t* r0 = mask + static_cast<int64_t>(ty.i0) * width;
  const uint8_t* r1 = mask + static_cast<int64_t>(ty.i1) * width;
  in[0] = r0[tx.i0] != 0, in[1] = r0[tx.i1] != 0, in[2] = r1[tx.i0] != 0, in[3] = r1[tx.i1] != 0;
}

// Writes the three channels of the global and local images at one output pixel, given the taps and which of
// them are inside the mask. The local image's inside values come from localSource (3 planes of `pixels`) when
// given, else from the ImageNet-normalised rgb.
template <typename Out>
HG_HD inline void pixel(const uint8_t* rgb, const uint8_t* blurred, const float* localSource, int64_t pixels,
                        const bool in[4], int width, const resample::Tap& ty, const resample::Tap& tx,
                        const Constants& k, int64_t outIndex, int64_t planeSize, Out* global, Out* local) {
  const int64_t p[4] = {static_cast<int64_t>(ty.i0) * width + tx.i0, static_cast<int64_t>(ty.i0) * width + tx.i1,
                        static_cast<int64_t>(ty.i1) * width + tx.i0, static_cast<int64_t>(ty.i1) * width + tx.i1};
  for (int c = 0; c < 3; ++c) {
    float g[4], l[4];
    for (int q = 0; q < 4; ++q) {
      const uint8_t sharp = rgb[p[q] * 3 + c];
      g[q] = k.toUnit[in[q] ? sharp : blurred[p[q] * 3 + c]];
      l[q] = !in[q] ? k.fill[c] : localSource ? localSource[c * pixels + p[q]] : k.normalised[c][sharp];
    }
    const float gv = resample::blend(g[0], g[1], g[2], g[3], ty, tx);
    global[outIndex + c * planeSize] = store<Out>((gv - k.imagenetMean[c]) / k.imagenetStd[c]);
    local[outIndex + c * planeSize] = store<Out>(resample::blend(l[0], l[1], l[2], l[3], ty, tx));
  }
}

}  // namespace hybridgl::clip_inputs
