#include <algorithm>
#include <cmath>

#include "parallel.h"
#include "image_prep.h"

namespace hybridgl::image_prep {
namespace {

double bilinear(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

// Keys' cubic with a = −0.5, Pillow's BICUBIC.
double bicubic(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

inline uint8_t clip8(int32_t acc) {
  const int32_t v = acc >> kPrecisionBits;
  return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

}  // namespace

AxisWeights axisWeights(int inSize, int outSize, Filter filter) {
  const double support0 = filter == Filter::Bilinear ? 1.0 : 2.0;
  const double scale = static_cast<double>(inSize) / outSize;
  const double filterScale = std::max(scale, 1.0);
  const double support = support0 * filterScale;
  AxisWeights w;
  w.taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  w.bounds.resize(2 * static_cast<size_t>(outSize));
  w.coeffs.assign(static_cast<size_t>(outSize) * w.taps, 0);
  std::vector<double> k(w.taps);
  for (int o = 0; o < outSize; ++o) {
    const double center = (o + 0.5) * scale;
    // Pillow truncates center ± support + 0.5 towards zero (an int cast), then clamps.
    const int lo = std::max(0, static_cast<int>(center - support + 0.5));
    const int hi = std::min(inSize, static_cast<int>(center + support + 0.5));
    const int count = hi - lo;
    double sum = 0;
    for (int i = 0; i < count; ++i) {
      const double x = (i + lo - center + 0.5) / filterScale;
      k[i] = filter == Filter::Bilinear ? bilinear(x) : bicubic(x);
      sum += k[i];
    }
    for (int i = 0; i < count; ++i) {
      const double v = sum != 0.0 ? k[i] / sum : k[i];
      const double fixed = v * (1 << kPrecisionBits);
      w.coeffs[static_cast<size_t>(o) * w.taps + i] = static_cast<int32_t>(v < 0 ? fixed - 0.5 : fixed + 0.5);
    }
    w.bounds[2 * o] = lo;
    w.bounds[2 * o + 1] = count;
  }
  return w;
}

void resizeCpu(const uint8_t* src, int height, int width, int channels, int outH, int outW, Filter filter,
               uint8_t* dst) {
  const AxisWeights wv = axisWeights(height, outH, filter);
  // Only the input rows that the vertical pass reads go through the horizontal pass, as in Pillow.
  const int rowFirst = wv.bounds[0];
  const int rowLast = wv.bounds[2 * (outH - 1)] + wv.bounds[2 * (outH - 1) + 1];
  const bool horizontal = outW != width, vertical = outH != height;

  std::vector<uint8_t> temp;
  const uint8_t* mid = src;
  int midFirst = 0;
  if (horizontal) {
    const AxisWeights wh = axisWeights(width, outW, filter);
    temp.resize(static_cast<size_t>(rowLast - rowFirst) * outW * channels);
    parallelFor(rowLast - rowFirst, 16, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        const uint8_t* in = src + (r + rowFirst) * static_cast<int64_t>(width) * channels;
        uint8_t* out = temp.data() + r * static_cast<int64_t>(outW) * channels;
        for (int o = 0; o < outW; ++o) {
          const int lo = wh.bounds[2 * o], count = wh.bounds[2 * o + 1];
          const int32_t* k = wh.coeffs.data() + static_cast<size_t>(o) * wh.taps;
          for (int c = 0; c < channels; ++c) {
            int32_t acc = 1 << (kPrecisionBits - 1);
            for (int i = 0; i < count; ++i) acc += in[(lo + i) * channels + c] * k[i];
            out[o * channels + c] = clip8(acc);
          }
        }
      }
    });
    mid = temp.data();
    midFirst = rowFirst;
  }
  const int midW = horizontal ? outW : width;
  if (!vertical) {  // the horizontal pass (or nothing) covered every row
    std::copy(mid, mid + static_cast<int64_t>(outH) * midW * channels, dst);
    return;
  }
  parallelFor(outH, 16, [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      const int lo = wv.bounds[2 * o] - midFirst, count = wv.bounds[2 * o + 1];
      const int32_t* k = wv.coeffs.data() + static_cast<size_t>(o) * wv.taps;
      uint8_t* out = dst + o * static_cast<int64_t>(midW) * channels;
      for (int64_t x = 0; x < static_cast<int64_t>(midW) * channels; ++x) {
        int32_t acc = 1 << (kPrecisionBits - 1);
        for (int i = 0; i < count; ++i) acc += mid[(lo + i) * static_cast<int64_t>(midW) * channels + x] * k[i];
        out[x] = clip8(acc);
      }
    }
  });
}

void normalizeCpu(const uint8_t* src, int height, int width, float scale, const float* mean, const float* std,
                  int padH, int padW, float* dst) {
  const int64_t plane = static_cast<int64_t>(padH) * padW;
  parallelFor(3 * static_cast<int64_t>(padH), 64, [&](int64_t b, int64_t e) {
    for (int64_t cy = b; cy < e; ++cy) {
      const int c = static_cast<int>(cy / padH), y = static_cast<int>(cy % padH);
      float* out = dst + c * plane + static_cast<int64_t>(y) * padW;
      for (int x = 0; x < padW; ++x) {
        if (y >= height || x >= width) {
          out[x] = 0.0f;
          continue;
        }
        const float v = static_cast<float>(src[(static_cast<int64_t>(y) * width + x) * 3 + c]);
        out[x] = (v / scale - mean[c]) / std[c];
      }
    }
  });
}

}  // namespace hybridgl::image_prep
