// Resampling arithmetic shared by the CPU and CUDA kernels, written to round exactly as PyTorch's CPU
// `interpolate(mode='bilinear', align_corners=False)` does in float32, plus float → half conversion.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#ifdef __CUDACC__
#define HG_HD __host__ __device__
#else
#define HG_HD
#endif

namespace hybridgl::resample {

// The two source taps of one output index (bilinear, no antialias).
struct Tap {
  int i0, i1;
  float w0, w1;
};

// PyTorch (CPU, float32): scale = float(in/out); the source position scale·(dst + 0.5) − 0.5 stays in double
// (clamped at 0); i0 = trunc, i1 = i0 + 1 unless at the last index; w1 = float(src − i0), w0 = 1 − w1.
HG_HD inline Tap bilinearTap(int dst, int inSize, int outSize) {
  const float scale = static_cast<float>(inSize) / static_cast<float>(outSize);
  double src = static_cast<double>(scale) * (dst + 0.5) - 0.5;
  if (src < 0) src = 0;
  Tap t;
  t.i0 = static_cast<int>(src);
  t.i1 = t.i0 + (t.i0 < inSize - 1 ? 1 : 0);
  float l1 = static_cast<float>(src - t.i0);
  l1 = l1 < 0.f ? 0.f : (l1 > 1.f ? 1.f : l1);
  t.w1 = l1;
  t.w0 = 1.f - l1;
  return t;
}

// Bilinear value from the four neighbours, in PyTorch's order: rows interpolated along x, then combined along y.
HG_HD inline float blend(float v00, float v01, float v10, float v11, const Tap& ty, const Tap& tx) {
  const float top = v00 * tx.w0 + v01 * tx.w1;
  const float bottom = v10 * tx.w0 + v11 * tx.w1;
  return top * ty.w0 + bottom * ty.w1;
}

// Antialiased bilinear (triangle filter widened by the scale when shrinking): for each output index the first
// source index, the tap count and the normalised float weights, as PyTorch's `antialias=True` computes them.
struct AaTaps {
  int maxTaps = 0;
  std::vector<int32_t> start, count;
  std::vector<float> weights;  // outSize × maxTaps, zero padded
};

inline AaTaps antialiasTaps(int inSize, int outSize) {
  const float scale = static_cast<float>(inSize) / static_cast<float>(outSize);
  const float support = scale >= 1.f ? scale : 1.f;
  const float invScale = scale >= 1.f ? static_cast<float>(1.0 / scale) : 1.f;
  AaTaps t;
  t.maxTaps = static_cast<int>(std::ceil(support)) * 2 + 1;
  t.start.resize(outSize);
  t.count.resize(outSize);
  t.weights.assign(static_cast<size_t>(outSize) * t.maxTaps, 0.f);
  for (int i = 0; i < outSize; ++i) {
    const float center = static_cast<float>(scale * (i + 0.5));
    const int64_t lo = std::max<int64_t>(static_cast<int64_t>(center - support + 0.5), 0);
    const int64_t hi = std::min<int64_t>(static_cast<int64_t>(center + support + 0.5), inSize);
    const int n = static_cast<int>(hi - lo);
    float* w = t.weights.data() + static_cast<size_t>(i) * t.maxTaps;
    float total = 0.f;
    for (int j = 0; j < n; ++j) {
      float x = static_cast<float>((static_cast<float>(j + lo) - center + 0.5) * invScale);
      x = x < 0.f ? -x : x;
      w[j] = x < 1.f ? 1.f - x : 0.f;
      total += w[j];
    }
    if (total != 0.f)
      for (int j = 0; j < n; ++j) w[j] /= total;
    t.start[i] = static_cast<int32_t>(lo);
    t.count[i] = n;
  }
  return t;
}

// IEEE binary16 bits of x, round to nearest even (what torch's .half() gives).
HG_HD inline uint16_t floatToHalf(float x) {
  uint32_t u;
  memcpy(&u, &x, 4);
  const uint32_t sign = (u >> 16) & 0x8000u;
  uint32_t a = u & 0x7fffffffu;
  if (a >= 0x7f800000u) return static_cast<uint16_t>(sign | 0x7c00u | (a > 0x7f800000u ? 0x200u : 0u));
  if (a >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to infinity
  if (a < 0x38800000u) {                                                 // subnormal half or zero
    if (a < 0x33000000u) return static_cast<uint16_t>(sign);
    const uint32_t mant = (a & 0x7fffffu) | 0x800000u;
    const int shift = 126 - static_cast<int>(a >> 23);  // 14..24
    uint32_t h = mant >> shift;
    const uint32_t rest = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rest > half || (rest == half && (h & 1u))) ++h;
    return static_cast<uint16_t>(sign | h);
  }
  uint32_t h = ((a - 0x38000000u) >> 13);
  const uint32_t rest = a & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}

}  // namespace hybridgl::resample
