#include <algorithm>
#include <cmath>
#include <vector>

#include "heatmap.h"
#include "multiversion.h"
#include "parallel.h"
#include "resample.h"

namespace hybridgl::heatmap {
namespace {

// Antialiased resampling along rows: out[o] = Σ_j in[start_o + j]·w_oj, summed left to right in float32 as
// PyTorch does.
void aaRows(const float* src, int64_t rows, int inLen, int outLen, const resample::AaTaps& t, float* dst) {
  parallelFor(rows, 64, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* in = src + r * inLen;
      float* out = dst + r * outLen;
      for (int o = 0; o < outLen; ++o) {
        const float* w = t.weights.data() + static_cast<size_t>(o) * t.maxTaps;
        const float* s = in + t.start[o];
        float acc = s[0] * w[0];
        for (int j = 1; j < t.count[o]; ++j) acc += s[j] * w[j];
        out[o] = acc;
      }
    }
  });
}

// The same along columns of a rows×width plane, a whole output row at a time (same per-element order).
void aaColumns(const float* src, int outRows, int width, const resample::AaTaps& t, float* dst) {
  parallelFor(outRows, 8, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      const float* w = t.weights.data() + static_cast<size_t>(o) * t.maxTaps;
      float* out = dst + o * width;
      const float* first = src + int64_t{t.start[o]} * width;
      for (int x = 0; x < width; ++x) out[x] = first[x] * w[0];
      for (int j = 1; j < t.count[o]; ++j) {
        const float* in = first + int64_t{j} * width;
        const float wj = w[j];
        for (int x = 0; x < width; ++x) out[x] += in[x] * wj;
      }
    }
  });
}

struct MaskedSum {
  double sum;
  int64_t count;
};

// Σ map over set pixels: float partial sums over blocks of kSumBlock pixels, folded into a double. Reassociation
// is allowed inside a block so that the reduction vectorises; the error stays at float rounding of short sums.
__attribute__((optimize("associative-math", "no-signed-zeros", "no-trapping-math"))) HG_MULTIVERSION MaskedSum
maskedSum(const float* map, const uint8_t* mask, int64_t pixels) {
  MaskedSum r{0, 0};
  for (int64_t b = 0; b < pixels; b += kSumBlock) {
    const int64_t e = std::min(pixels, b + kSumBlock);
    float s = 0;
    int32_t count = 0;
    for (int64_t p = b; p < e; ++p) {
      const bool in = mask[p] != 0;
      s += in ? map[p] : 0.f;
      count += in;
    }
    r.sum += s;
    r.count += count;
  }
  return r;
}

}  // namespace

void resizeCpu(const float* src, int channels, int inH, int inW, int outH, int outW, bool antialias, float* dst) {
  if (!antialias) {
    std::vector<resample::Tap> ty(outH), tx(outW);
    for (int i = 0; i < outH; ++i) ty[i] = resample::bilinearTap(i, inH, outH);
    for (int i = 0; i < outW; ++i) tx[i] = resample::bilinearTap(i, inW, outW);
    parallelFor(int64_t{channels} * outH, 16, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const int64_t c = r / outH;
        const int oy = static_cast<int>(r % outH);
        const float* plane = src + c * inH * static_cast<int64_t>(inW);
        const float* row0 = plane + int64_t{ty[oy].i0} * inW;
        const float* row1 = plane + int64_t{ty[oy].i1} * inW;
        float* out = dst + r * outW;
        for (int ox = 0; ox < outW; ++ox) {
          const resample::Tap& x = tx[ox];
          out[ox] = resample::blend(row0[x.i0], row0[x.i1], row1[x.i0], row1[x.i1], ty[oy], x);
        }
      }
    });
    return;
  }
  // Antialiased: PyTorch resamples the width first (into a float32 buffer), then the height.
  const resample::AaTaps tx = resample::antialiasTaps(inW, outW), ty = resample::antialiasTaps(inH, outH);
  std::vector<float> mid(static_cast<size_t>(channels) * inH * outW);
  aaRows(src, int64_t{channels} * inH, inW, outW, tx, mid.data());
  for (int c = 0; c < channels; ++c)
    aaColumns(mid.data() + int64_t{c} * inH * outW, outH, outW, ty, dst + int64_t{c} * outH * outW);
}

void normalizeCpu(const float* map, int64_t height, int64_t width, bool minMax, const float* priorRow,
                  bool divideByMean, float* out) {
  const int64_t count = height * width;
  float lo = 0, range = 1;
  if (minMax) {
    float hi = -INFINITY;
    lo = INFINITY;
    bool nan = false;
    for (int64_t p = 0; p < count; ++p) {
      nan |= std::isnan(map[p]);
      lo = std::min(lo, map[p]);
      hi = std::max(hi, map[p]);
    }
    if (nan) lo = hi = NAN;
    range = hi - lo;
  }
  double sum = 0;
  for (int64_t y = 0; y < height; ++y) {
    const float* in = map + y * width;
    float* o = out + y * width;
    for (int64_t x = 0; x < width; ++x) {
      float v = minMax ? (in[x] - lo) / range : in[x];
      if (priorRow) v *= priorRow[x];
      o[x] = v;
      sum += v;
    }
  }
  if (!divideByMean) return;
  const float mean = static_cast<float>(sum / static_cast<double>(count));
  for (int64_t p = 0; p < count; ++p) out[p] /= mean;
}

void maskSumsCpu(const float* map, const uint8_t* masks, int64_t n, int64_t pixels, double* sumInside,
                 int64_t* countInside, double* total) {
  double t = 0;
  for (int64_t p = 0; p < pixels; ++p) t += map[p];
  *total = t;
  parallelFor(n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t m = begin; m < end; ++m) {
      const MaskedSum r = maskedSum(map, masks + m * pixels, pixels);
      sumInside[m] = r.sum;
      countInside[m] = r.count;
    }
  });
}

}  // namespace hybridgl::heatmap
