#include "cuda_util.h"
#include "gaussian_blur.h"

namespace hybridgl::gaussian_blur {
namespace {

struct Kernel {
  uint16_t w[kTaps];
};

__device__ int reflect101Device(int p, int len) {
  if (len == 1) return 0;
  while (p < 0 || p >= len) p = p < 0 ? -p : 2 * len - 2 - p;
  return p;
}

// One thread per (row, column, channel): the horizontal 8-fractional-bit sum.
__global__ void horizontalKernel(const uint8_t* src, int height, int width, int channels, Kernel k,
                                 uint16_t* out) {
  const int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  const int64_t rowLen = static_cast<int64_t>(width) * channels;
  if (idx >= rowLen * height) return;
  const int64_t y = idx / rowLen;
  const int x = static_cast<int>((idx % rowLen) / channels), c = static_cast<int>(idx % channels);
  const uint8_t* row = src + y * rowLen;
  uint32_t s = 0;
  for (int t = 0; t < kTaps; ++t) s += k.w[t] * row[reflect101Device(x + t - kRadius, width) * channels + c];
  out[idx] = static_cast<uint16_t>(s);
}

__global__ void verticalKernel(const uint16_t* horizontal, int height, int width, int channels, Kernel k,
                               uint8_t* dst) {
  const int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  const int64_t rowLen = static_cast<int64_t>(width) * channels;
  if (idx >= rowLen * height) return;
  const int y = static_cast<int>(idx / rowLen);
  const int64_t j = idx % rowLen;
  uint32_t s = 0;
  for (int t = 0; t < kTaps; ++t) s += k.w[t] * horizontal[reflect101Device(y + t - kRadius, height) * rowLen + j];
  const uint32_t v = (s + (1u << 15)) >> 16;
  dst[idx] = static_cast<uint8_t>(v > 255 ? 255 : v);
}

}  // namespace

void blurCuda(const uint8_t* src, int height, int width, int channels, uint8_t* dst) {
  const int64_t count = static_cast<int64_t>(height) * width * channels;
  if (count == 0) return;
  Kernel k;
  const auto fixed = fixedKernel();
  for (int t = 0; t < kTaps; ++t) k.w[t] = fixed[t];
  cuda::DeviceBuffer<uint8_t> dsrc(src, count), ddst(count);
  cuda::DeviceBuffer<uint16_t> dh(count);
  horizontalKernel<<<cuda::blocksFor(count, 256), 256>>>(dsrc.get(), height, width, channels, k, dh.get());
  verticalKernel<<<cuda::blocksFor(count, 256), 256>>>(dh.get(), height, width, channels, k, ddst.get());
  cuda::finish("gaussianBlur");
  ddst.download(dst, count);
}

}  // namespace hybridgl::gaussian_blur
