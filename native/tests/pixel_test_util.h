// Helpers for the per-pixel kernel tests: random images and element-wise comparisons.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace hybridgl::test {

inline std::vector<uint8_t> randomImage(int h, int w, int channels, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<uint8_t> img(static_cast<size_t>(h) * w * channels);
  for (auto& v : img) v = static_cast<uint8_t>(gen() & 0xff);
  return img;
}

inline std::vector<float> randomMap(size_t count, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(0, 1);
  std::vector<float> map(count);
  for (auto& v : map) v = u(gen);
  return map;
}

// Largest |a − b|; the CUDA kernels may contract multiply-adds into FMAs, so float results differ by ulps.
template <typename T>
double maxAbsDiff(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size()) return INFINITY;
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::fmax(worst, std::fabs(double(a[i]) - double(b[i])));
  return worst;
}

// IEEE half bits → value.
inline double halfToDouble(uint16_t h) {
  const int e = (h >> 10) & 0x1f, m = h & 0x3ff;
  const double mag = e == 0 ? std::ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : std::ldexp(1024 + m, e - 25);
  return (h & 0x8000) ? -mag : mag;
}

inline std::vector<double> decodeHalves(const std::vector<uint16_t>& bits) {
  std::vector<double> out(bits.size());
  for (size_t i = 0; i < bits.size(); ++i) out[i] = halfToDouble(bits[i]);
  return out;
}

}  // namespace hybridgl::test
