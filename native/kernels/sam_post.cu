#include <algorithm>
#include <vector>

#include "cuda_util.h"
#include "sam_post.h"

namespace hybridgl::sam_post {
namespace {

struct DeviceTaps {
  const int32_t *i0, *i1;
  const float *l0, *l1;
};

// Explicit rounding intrinsics: nvcc would otherwise contract freely and lose PyTorch's rounding.
__device__ __forceinline__ float tap(float a, float w0, float b, float w1) {
  return __fmaf_rn(a, w0, __fmul_rn(b, w1));
}

// Low-res row y interpolated at intermediate column X.
__device__ __forceinline__ float rowAt(const float* low, int lowW, int y, DeviceTaps x1, int X) {
  const float* r = low + static_cast<int64_t>(y) * lowW;
  return tap(r[x1.i0[X]], x1.l0[X], r[x1.i1[X]], x1.l1[X]);
}

// Intermediate (padded-frame) value at (Y, X).
__device__ __forceinline__ float interAt(const float* low, int lowW, DeviceTaps y1, DeviceTaps x1, int Y, int X) {
  return tap(rowAt(low, lowW, y1.i0[Y], x1, X), y1.l0[Y], rowAt(low, lowW, y1.i1[Y], x1, X), y1.l1[Y]);
}

// Grid: x over column chunks, y over output rows, z over proposals. Each thread makes one output pixel from the
// sixteen low-res samples behind it (recomputing the intermediate is cheaper than storing it).
__global__ void upscaleKernel(const float* low, int lowH, int lowW, int height, int width, DeviceTaps y1,
                              DeviceTaps x1, DeviceTaps y2, DeviceTaps x2, float maskThr, float hiThr, float loThr,
                              uint8_t* masks, unsigned long long* hi, unsigned long long* lo) {
  const int j = blockIdx.x * blockDim.x + threadIdx.x;
  const int i = blockIdx.y;
  const int64_t k = blockIdx.z;
  const float* m = low + k * lowH * lowW;
  bool isHi = false, isLo = false;
  if (j < width) {
    const int Y0 = y2.i0[i], Y1 = y2.i1[i], X0 = x2.i0[j], X1 = x2.i1[j];
    const float s0 = tap(interAt(m, lowW, y1, x1, Y0, X0), x2.l0[j], interAt(m, lowW, y1, x1, Y0, X1), x2.l1[j]);
    const float s1 = tap(interAt(m, lowW, y1, x1, Y1, X0), x2.l0[j], interAt(m, lowW, y1, x1, Y1, X1), x2.l1[j]);
    const float v = tap(s0, y2.l0[i], s1, y2.l1[i]);
    masks[(k * height + i) * width + j] = v > maskThr;
    isHi = v > hiThr;
    isLo = v > loThr;
  }
  const int nHi = __syncthreads_count(isHi), nLo = __syncthreads_count(isLo);
  if (threadIdx.x == 0) {
    if (nHi) atomicAdd(hi + k, static_cast<unsigned long long>(nHi));
    if (nLo) atomicAdd(lo + k, static_cast<unsigned long long>(nLo));
  }
}

// Host taps uploaded to the device; keeps the buffers alive.
struct TapsBuffer {
  explicit TapsBuffer(const Taps& t)
      : i0(t.i0.data(), t.i0.size()), i1(t.i1.data(), t.i1.size()), l0(t.l0.data(), t.l0.size()),
        l1(t.l1.data(), t.l1.size()) {}
  DeviceTaps view() const { return {i0.get(), i1.get(), l0.get(), l1.get()}; }
  cuda::DeviceBuffer<int32_t> i0, i1;
  cuda::DeviceBuffer<float> l0, l1;
};

}  // namespace

void upscaleThresholdCuda(const float* lowRes, const int32_t* select, int64_t count, const Geometry& g,
                          float maskThreshold, float hiThreshold, float loThreshold, uint8_t* masks,
                          int64_t* hiCounts, int64_t* loCounts) {
  if (count == 0) return;
  const size_t plane = static_cast<size_t>(g.lowH) * g.lowW;
  std::vector<float> gathered(count * plane);
  for (int64_t k = 0; k < count; ++k)
    std::copy_n(lowRes + static_cast<size_t>(select[k]) * plane, plane, gathered.data() + k * plane);
  const TapsBuffer y1(bilinearTaps(g.lowH, g.padded)), x1(bilinearTaps(g.lowW, g.padded));
  const TapsBuffer y2(bilinearTaps(g.resizedH, g.height)), x2(bilinearTaps(g.resizedW, g.width));
  cuda::DeviceBuffer<float> dLow(gathered.data(), gathered.size());
  const size_t pixels = static_cast<size_t>(g.height) * g.width;
  cuda::DeviceBuffer<uint8_t> dMasks(count * pixels);
  cuda::DeviceBuffer<unsigned long long> dHi(count), dLo(count);
  dHi.zero();
  dLo.zero();
  const unsigned threads = 256;
  // Proposals in slices so that gridDim.z stays within its limit.
  for (int64_t k0 = 0; k0 < count; k0 += 65535) {
    const unsigned slice = static_cast<unsigned>(std::min<int64_t>(65535, count - k0));
    const dim3 grid(cuda::blocksFor(g.width, threads), g.height, slice);
    upscaleKernel<<<grid, threads>>>(dLow.get() + k0 * plane, g.lowH, g.lowW, g.height, g.width, y1.view(),
                                     x1.view(), y2.view(), x2.view(), maskThreshold, hiThreshold, loThreshold,
                                     dMasks.get() + k0 * pixels, dHi.get() + k0, dLo.get() + k0);
  }
  cuda::finish("sam_post::upscaleKernel");
  dMasks.download(masks, count * pixels);
  std::vector<unsigned long long> hi(count), lo(count);
  dHi.download(hi.data(), count);
  dLo.download(lo.data(), count);
  for (int64_t k = 0; k < count; ++k) {
    hiCounts[k] = static_cast<int64_t>(hi[k]);
    loCounts[k] = static_cast<int64_t>(lo[k]);
  }
}

}  // namespace hybridgl::sam_post
