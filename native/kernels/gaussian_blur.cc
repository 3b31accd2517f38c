#include <algorithm>
#include <cmath>
#include <vector>

#include "gaussian_blur.h"
#include "multiversion.h"
#include "parallel.h"

namespace hybridgl::gaussian_blur {
namespace {

// out[j] = Σ_t k[t]·padded[j + t·channels], mirrored taps paired (the kernel is symmetric); sums stay below
// 255·256, so uint16 is exact.
HG_MULTIVERSION void horizontalRow(const uint16_t* padded, int64_t rowLen, int channels, const uint16_t* k,
                                   uint16_t* out) {
  const uint16_t* centre = padded + kRadius * channels;
  for (int64_t j = 0; j < rowLen; ++j) out[j] = static_cast<uint16_t>(k[kRadius] * centre[j]);
  for (int t = 0; t < kRadius; ++t) {
    const uint16_t w = k[t];
    const uint16_t* a = padded + t * channels;
    const uint16_t* b = padded + (kTaps - 1 - t) * channels;
    for (int64_t j = 0; j < rowLen; ++j) out[j] = static_cast<uint16_t>(out[j] + w * (a[j] + b[j]));
  }
}

// One output row of the vertical pass at 16 fractional bits (mirrored rows paired), rounded half up to uint8.
HG_MULTIVERSION void verticalRow(const uint16_t* const* rows, int64_t rowLen, const uint16_t* k, uint32_t* acc,
                                 uint8_t* out) {
  for (int64_t j = 0; j < rowLen; ++j) acc[j] = uint32_t{k[kRadius]} * rows[kRadius][j];
  for (int t = 0; t < kRadius; ++t) {
    const uint32_t w = k[t];
    const uint16_t* a = rows[t];
    const uint16_t* b = rows[kTaps - 1 - t];
    for (int64_t j = 0; j < rowLen; ++j) acc[j] += w * (uint32_t{a[j]} + b[j]);
  }
  for (int64_t j = 0; j < rowLen; ++j) {
    const uint32_t v = (acc[j] + (1u << 15)) >> 16;
    out[j] = static_cast<uint8_t>(v > 255 ? 255 : v);
  }
}

}  // namespace

std::array<uint16_t, kTaps> fixedKernel() {
  // OpenCV (ksize 15, sigma 0): sigma = 15·0.15 + 0.35; half-kernel exp(-x²/(2σ²)), normalised with the centre
  // weight 1, converted to 1/256 units left to right carrying the rounding error; the centre takes the rest.
  const double sigma = kTaps * 0.15 + 0.35;
  const double scale2 = -0.5 * 0.25 / (sigma * sigma);
  double values[kRadius], sum = 0;
  for (int i = 0, x = 1 - kTaps; i < kRadius; ++i, x += 2) {
    values[i] = std::exp(static_cast<double>(x * x) * scale2);
    sum += values[i];
  }
  sum = sum * 2 + 1;
  const double mul = 1.0 / sum;
  std::array<uint16_t, kTaps> k{};
  double err = 0;
  int total = 0;
  for (int i = 0; i < kRadius; ++i) {
    const double adjusted = values[i] * mul * 256 + err;
    const int64_t v = std::llrint(adjusted);
    err = adjusted - static_cast<double>(v);
    k[i] = k[kTaps - 1 - i] = static_cast<uint16_t>(v);
    total += 2 * static_cast<int>(v);
  }
  k[kRadius] = static_cast<uint16_t>(256 - total);
  return k;
}

void blurCpu(const uint8_t* src, int height, int width, int channels, uint8_t* dst) {
  const auto k = fixedKernel();
  const int64_t rowLen = static_cast<int64_t>(width) * channels;
  // Bands of output rows; each band filters horizontally the source rows it needs (its rows ± the radius,
  // reflected) into a small buffer that stays in cache, then runs the vertical pass from it.
  constexpr int kBand = 64;
  const int64_t bands = (height + kBand - 1) / kBand;
  parallelFor(bands, 1, [&](int64_t b0, int64_t b1) {
    std::vector<uint16_t> padded(static_cast<size_t>(width + 2 * kRadius) * channels);
    std::vector<uint16_t> horizontal(static_cast<size_t>(kBand + 2 * kRadius) * rowLen);
    std::vector<uint32_t> acc(rowLen);
    uint16_t* inner = padded.data() + kRadius * channels;
    for (int64_t band = b0; band < b1; ++band) {
      const int y0 = static_cast<int>(band * kBand), y1 = std::min(height, y0 + kBand);
      for (int v = y0 - kRadius; v < y1 + kRadius; ++v) {  // virtual row v is buffer row v − (y0 − kRadius)
        const uint8_t* row = src + int64_t{reflect101(v, height)} * rowLen;
        for (int64_t j = 0; j < rowLen; ++j) inner[j] = row[j];
        for (int x = 1; x <= kRadius; ++x)
          for (int c = 0; c < channels; ++c) {
            inner[-x * channels + c] = row[reflect101(-x, width) * channels + c];
            inner[(width - 1 + x) * channels + c] = row[reflect101(width - 1 + x, width) * channels + c];
          }
        horizontalRow(padded.data(), rowLen, channels, k.data(),
                      horizontal.data() + int64_t{v - (y0 - kRadius)} * rowLen);
      }
      const uint16_t* rows[kTaps];
      for (int y = y0; y < y1; ++y) {
        for (int t = 0; t < kTaps; ++t) rows[t] = horizontal.data() + int64_t{y - y0 + t} * rowLen;
        verticalRow(rows, rowLen, k.data(), acc.data(), dst + int64_t{y} * rowLen);
      }
    }
  });
}

}  // namespace hybridgl::gaussian_blur
