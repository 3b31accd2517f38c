#include "cuda_util.h"
#include "heatmap.h"
#include "resample.h"

namespace hybridgl::heatmap {
namespace {

__global__ void bilinearKernel(const float* src, int channels, int inH, int inW, int outH, int outW, float* dst) {
  const int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  const int64_t plane = int64_t{outH} * outW;
  if (idx >= plane * channels) return;
  const int64_t c = idx / plane;
  const int oy = static_cast<int>((idx % plane) / outW), ox = static_cast<int>(idx % outW);
  const resample::Tap ty = resample::bilinearTap(oy, inH, outH), tx = resample::bilinearTap(ox, inW, outW);
  const float* p = src + c * inH * static_cast<int64_t>(inW);
  const float* r0 = p + int64_t{ty.i0} * inW;
  const float* r1 = p + int64_t{ty.i1} * inW;
  dst[idx] = resample::blend(r0[tx.i0], r0[tx.i1], r1[tx.i0], r1[tx.i1], ty, tx);
}

// One antialiased pass: element (line, o) = Σ_j src[line·lineStride + (start_o + j)·step]·w_oj, in float32
// left to right; the output is lines × outLen with element (line, o) at line·outLineStride + o·outStep.
__global__ void aaKernel(const float* src, int64_t lines, int outLen, int64_t lineStride, int64_t step,
                         int64_t outLineStride, int64_t outStep, const int32_t* start, const int32_t* count,
                         const float* weights, int maxTaps, float* dst) {
  const int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (idx >= lines * outLen) return;
  const int64_t line = idx % lines;
  const int o = static_cast<int>(idx / lines);
  const float* w = weights + int64_t{o} * maxTaps;
  const float* s = src + line * lineStride + int64_t{start[o]} * step;
  float acc = s[0] * w[0];
  for (int j = 1; j < count[o]; ++j) acc += s[j * step] * w[j];
  dst[line * outLineStride + o * outStep] = acc;
}

struct DeviceTaps {
  cuda::DeviceBuffer<int32_t> start, count;
  cuda::DeviceBuffer<float> weights;
  int maxTaps;
  explicit DeviceTaps(const resample::AaTaps& t)
      : start(t.start.data(), t.start.size()), count(t.count.data(), t.count.size()),
        weights(t.weights.data(), t.weights.size()), maxTaps(t.maxTaps) {}
};

__global__ void maskSumsKernel(const float* map, const uint8_t* masks, int64_t pixels, double* sums,
                               unsigned long long* counts) {
  const int64_t m = blockIdx.y;
  const uint8_t* mask = masks + m * pixels;
  double s = 0;
  unsigned long long c = 0;
  for (int64_t p = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; p < pixels;
       p += static_cast<int64_t>(gridDim.x) * blockDim.x)
    if (mask[p]) s += map[p], ++c;
  __shared__ double shS[256];
  __shared__ unsigned long long shC[256];
  shS[threadIdx.x] = s;
  shC[threadIdx.x] = c;
  __syncthreads();
  for (unsigned k = blockDim.x / 2; k > 0; k >>= 1) {
    if (threadIdx.x < k) shS[threadIdx.x] += shS[threadIdx.x + k], shC[threadIdx.x] += shC[threadIdx.x + k];
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    atomicAdd(sums + m, shS[0]);
    atomicAdd(counts + m, shC[0]);
  }
}

}  // namespace

void resizeCuda(const float* src, int channels, int inH, int inW, int outH, int outW, bool antialias, float* dst) {
  const int64_t inCount = int64_t{channels} * inH * inW, outCount = int64_t{channels} * outH * outW;
  if (outCount == 0) return;
  cuda::DeviceBuffer<float> dsrc(src, inCount), ddst(outCount);
  if (!antialias) {
    bilinearKernel<<<cuda::blocksFor(outCount, 256), 256>>>(dsrc.get(), channels, inH, inW, outH, outW, ddst.get());
    cuda::finish("resizeMap");
  } else {
    const DeviceTaps tx(resample::antialiasTaps(inW, outW)), ty(resample::antialiasTaps(inH, outH));
    cuda::DeviceBuffer<float> mid(int64_t{channels} * inH * outW);
    const int64_t rows = int64_t{channels} * inH;
    aaKernel<<<cuda::blocksFor(rows * outW, 256), 256>>>(dsrc.get(), rows, outW, inW, 1, outW, 1, tx.start.get(),
                                                          tx.count.get(), tx.weights.get(), tx.maxTaps, mid.get());
    for (int c = 0; c < channels; ++c)
      aaKernel<<<cuda::blocksFor(int64_t{outW} * outH, 256), 256>>>(
          mid.get() + int64_t{c} * inH * outW, outW, outH, 1, outW, 1, outW, ty.start.get(), ty.count.get(),
          ty.weights.get(), ty.maxTaps, ddst.get() + int64_t{c} * outH * outW);
    cuda::finish("resizeMap");
  }
  ddst.download(dst, outCount);
}

void maskSumsCuda(const float* map, const uint8_t* masks, int64_t n, int64_t pixels, double* sumInside,
                  int64_t* countInside, double* total) {
  double t = 0;
  for (int64_t p = 0; p < pixels; ++p) t += map[p];
  *total = t;
  if (n == 0) return;
  cuda::DeviceBuffer<float> dmap(map, pixels);
  cuda::DeviceBuffer<uint8_t> dmasks(masks, n * pixels);
  cuda::DeviceBuffer<double> dsum(n);
  cuda::DeviceBuffer<unsigned long long> dcount(n);
  dsum.zero();
  dcount.zero();
  const unsigned blocksX = std::min<unsigned>(cuda::blocksFor(pixels, 256), 64);
  maskSumsKernel<<<dim3(blocksX, static_cast<unsigned>(n)), 256>>>(dmap.get(), dmasks.get(), pixels, dsum.get(),
                                                                    dcount.get());
  cuda::finish("heatmapMaskScores");
  dsum.download(sumInside, n);
  dcount.download(reinterpret_cast<unsigned long long*>(countInside), n);
}

}  // namespace hybridgl::heatmap
