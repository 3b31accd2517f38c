#include <memory>

#include "cuda_util.h"
#include "image_prep.h"

namespace hybridgl::image_prep {
namespace {

__device__ inline uint8_t clip8(int32_t acc) {
  const int32_t v = acc >> kPrecisionBits;
  return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

// One thread per output value of the pass; integer arithmetic, so bit-identical to the CPU version.
__global__ void horizontalKernel(const uint8_t* src, int width, int channels, int rowFirst, int rows, int outW,
                                 const int32_t* bounds, const int32_t* coeffs, int taps, uint8_t* out) {
  const int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  const int64_t total = static_cast<int64_t>(rows) * outW * channels;
  if (idx >= total) return;
  const int c = idx % channels;
  const int o = (idx / channels) % outW;
  const int64_t r = idx / (static_cast<int64_t>(channels) * outW);
  const uint8_t* in = src + (r + rowFirst) * static_cast<int64_t>(width) * channels;
  const int lo = bounds[2 * o], count = bounds[2 * o + 1];
  const int32_t* k = coeffs + static_cast<int64_t>(o) * taps;
  int32_t acc = 1 << (kPrecisionBits - 1);
  for (int i = 0; i < count; ++i) acc += in[(lo + i) * channels + c] * k[i];
  out[idx] = clip8(acc);
}

__global__ void verticalKernel(const uint8_t* mid, int midFirst, int rowLen, int outH, const int32_t* bounds,
                               const int32_t* coeffs, int taps, uint8_t* out) {
  const int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (idx >= static_cast<int64_t>(outH) * rowLen) return;
  const int64_t o = idx / rowLen, x = idx % rowLen;
  const int lo = bounds[2 * o] - midFirst, count = bounds[2 * o + 1];
  const int32_t* k = coeffs + o * taps;
  int32_t acc = 1 << (kPrecisionBits - 1);
  for (int i = 0; i < count; ++i) acc += mid[(lo + i) * static_cast<int64_t>(rowLen) + x] * k[i];
  out[idx] = clip8(acc);
}

__global__ void normalizeKernel(const uint8_t* src, int height, int width, float scale, float3 mean, float3 std,
                                int padH, int padW, float* dst) {
  const int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  const int64_t plane = static_cast<int64_t>(padH) * padW;
  if (idx >= 3 * plane) return;
  const int c = static_cast<int>(idx / plane);
  const int y = static_cast<int>((idx % plane) / padW), x = static_cast<int>(idx % padW);
  if (y >= height || x >= width) {
    dst[idx] = 0.0f;
    return;
  }
  const float m = c == 0 ? mean.x : c == 1 ? mean.y : mean.z;
  const float s = c == 0 ? std.x : c == 1 ? std.y : std.z;
  const float v = static_cast<float>(src[(static_cast<int64_t>(y) * width + x) * 3 + c]);
  // __fdiv_rn/__fsub_rn keep IEEE rounding so that the result equals the CPU's bit for bit.
  dst[idx] = __fdiv_rn(__fsub_rn(__fdiv_rn(v, scale), m), s);
}

}  // namespace

void resizeCuda(const uint8_t* src, int height, int width, int channels, int outH, int outW, Filter filter,
                uint8_t* dst) {
  const AxisWeights wv = axisWeights(height, outH, filter);
  const int rowFirst = wv.bounds[0];
  const int rowLast = wv.bounds[2 * (outH - 1)] + wv.bounds[2 * (outH - 1) + 1];
  const bool horizontal = outW != width, vertical = outH != height;
  cuda::DeviceBuffer<uint8_t> dsrc(src, static_cast<size_t>(height) * width * channels);
  const uint8_t* mid = dsrc.get();
  int midFirst = 0;
  std::unique_ptr<cuda::DeviceBuffer<uint8_t>> temp;
  if (horizontal) {
    const AxisWeights wh = axisWeights(width, outW, filter);
    cuda::DeviceBuffer<int32_t> b(wh.bounds.data(), wh.bounds.size()), k(wh.coeffs.data(), wh.coeffs.size());
    const int rows = rowLast - rowFirst;
    temp = std::make_unique<cuda::DeviceBuffer<uint8_t>>(static_cast<size_t>(rows) * outW * channels);
    horizontalKernel<<<cuda::blocksFor(temp->size(), 256), 256>>>(dsrc.get(), width, channels, rowFirst, rows, outW,
                                                                   b.get(), k.get(), wh.taps, temp->get());
    cuda::finish("resize horizontal");
    mid = temp->get();
    midFirst = rowFirst;
  }
  const int rowLen = (horizontal ? outW : width) * channels;
  const size_t outBytes = static_cast<size_t>(outH) * rowLen;
  if (!vertical) {
    cuda::check(cudaMemcpy(dst, mid, outBytes, cudaMemcpyDeviceToHost), "resize copy");
    return;
  }
  cuda::DeviceBuffer<int32_t> b(wv.bounds.data(), wv.bounds.size()), k(wv.coeffs.data(), wv.coeffs.size());
  cuda::DeviceBuffer<uint8_t> dout(outBytes);
  verticalKernel<<<cuda::blocksFor(outBytes, 256), 256>>>(mid, midFirst, rowLen, outH, b.get(), k.get(), wv.taps,
                                                          dout.get());
  cuda::finish("resize vertical");
  dout.download(dst, outBytes);
}

void normalizeCuda(const uint8_t* src, int height, int width, float scale, const float* mean, const float* std,
                   int padH, int padW, float* dst) {
  cuda::DeviceBuffer<uint8_t> dsrc(src, static_cast<size_t>(height) * width * 3);
  const size_t total = 3 * static_cast<size_t>(padH) * padW;
  cuda::DeviceBuffer<float> dout(total);
  normalizeKernel<<<cuda::blocksFor(total, 256), 256>>>(dsrc.get(), height, width, scale,
                                                        make_float3(mean[0], mean[1], mean[2]),
                                                        make_float3(std[0], std[1], std[2]), padH, padW, dout.get());
  cuda::finish("normalize");
  dout.download(dst, total);
}

}  // namespace hybridgl::image_prep
