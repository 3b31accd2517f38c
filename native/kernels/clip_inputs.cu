#include "clip_inputs_pixel.h"
#include "cuda_util.h"

namespace hybridgl::clip_inputs {
namespace {

// One thread per (mask, output row, output column); taps recomputed per thread (cheap, same arithmetic).
template <typename Out>
__global__ void buildKernel(const uint8_t* rgb, const uint8_t* blurred, const float* localSource,
                            const uint8_t* masks, int64_t n, Shape s, Constants k, Out* global, Out* local) {
  const int64_t plane = static_cast<int64_t>(s.outHeight) * s.outWidth;
  const int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (idx >= n * plane) return;
  const int64_t m = idx / plane, within = idx % plane;
  const int oy = static_cast<int>(within / s.outWidth), ox = static_cast<int>(within % s.outWidth);
  const resample::Tap ty = resample::bilinearTap(oy, s.height, s.outHeight);
  const resample::Tap tx = resample::bilinearTap(ox, s.width, s.outWidth);
  const int64_t pixels = static_cast<int64_t>(s.height) * s.width;
  bool in[4];
  tapsInside(masks + m * pixels, s.width, ty, tx, in);
  pixel(rgb, blurred, localSource, pixels, in, s.width, ty, tx, k, m * 3 * plane + within, plane, global, local);
}

}  // namespace

template <typename Out>
void buildCuda(const uint8_t* rgb, const uint8_t* blurred, const float* localSource, const uint8_t* masks, int64_t n,
               const Shape& s, Out* global, Out* local) {
  if (n == 0) return;
  const int64_t pixels = static_cast<int64_t>(s.height) * s.width;
  const int64_t outCount = n * 3 * static_cast<int64_t>(s.outHeight) * s.outWidth;
  cuda::DeviceBuffer<uint8_t> drgb(rgb, pixels * 3), dblur(blurred, pixels * 3), dmasks(masks, n * pixels);
  cuda::DeviceBuffer<float> dsource(localSource, localSource ? pixels * 3 : 0);  // null when not given
  cuda::DeviceBuffer<Out> dg(outCount), dl(outCount);
  const int64_t threads = n * s.outHeight * static_cast<int64_t>(s.outWidth);
  buildKernel<Out><<<cuda::blocksFor(threads, 256), 256>>>(drgb.get(), dblur.get(), dsource.get(), dmasks.get(), n,
                                                            s, constants(), dg.get(), dl.get());
  cuda::finish("buildClipInputs");
  dg.download(global, outCount);
  dl.download(local, outCount);
}

template void buildCuda<float>(const uint8_t*, const uint8_t*, const float*, const uint8_t*, int64_t, const Shape&,
                               float*, float*);
template void buildCuda<uint16_t>(const uint8_t*, const uint8_t*, const float*, const uint8_t*, int64_t, const Shape&,
                                  uint16_t*, uint16_t*);

}  // namespace hybridgl::clip_inputs
