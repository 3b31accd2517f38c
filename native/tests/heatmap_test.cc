// heatmap: resizes preserve constants, mask sums against a direct loop, and CUDA equal to CPU.
#include <vector>

#include "harness.h"
#include "heatmap.h"
#include "pixel_test_util.h"

using namespace hybridgl;

namespace {
const int kResizeCases[][4] = {{448, 448, 427, 640}, {448, 448, 97, 61}, {28, 28, 448, 448}, {5, 3, 1, 1}};

// The bound on the CPU mask sum's error (heatmap.h): float additions over blocks of kSumBlock pixels, in whatever
// order the compiler chose (lanes when vectorised, one chain in a Debug or sanitizer build).
double sumTolerance(double absSum) { return heatmap::kSumBlock * 0x1p-24 * absSum; }
}  // namespace

TEST_CASE("heatmap resize CPU: a constant map stays constant, with and without antialias") {
  for (auto [ih, iw, oh, ow] : kResizeCases)
    for (bool aa : {false, true}) {
      std::vector<float> src(static_cast<size_t>(ih) * iw, 0.75f), dst(static_cast<size_t>(oh) * ow);
      heatmap::resizeCpu(src.data(), 1, ih, iw, oh, ow, aa, dst.data());
      for (float v : dst) CHECK(std::fabs(v - 0.75f) < 1e-6);
    }
}

TEST_CASE("heatmap mask sums CPU: equal a direct loop") {
  const int h = 61, w = 83;
  auto map = test::randomMap(h * w, 4);
  auto masks = test::randomMasks(4, h, w, 5);
  std::vector<double> sums(4);
  std::vector<int64_t> counts(4);
  double total = 0;
  heatmap::maskSumsCpu(map.data(), masks.data(), 4, h * w, sums.data(), counts.data(), &total);
  double all = 0;
  for (float v : map) all += v;
  CHECK(std::fabs(total - all) < 1e-9);
  for (int m = 0; m < 4; ++m) {
    double s = 0, absSum = 0;
    int64_t c = 0;
    for (int p = 0; p < h * w; ++p)
      if (masks[m * h * w + p]) s += map[p], absSum += std::fabs(map[p]), ++c;
    CHECK(counts[m] == c);
    CHECK(std::fabs(sums[m] - s) <= sumTolerance(absSum));
  }
}

CUDA_TEST_CASE("heatmap: CUDA equals CPU") {
  for (auto [ih, iw, oh, ow] : kResizeCases)
    for (bool aa : {false, true}) {
      auto src = test::randomMap(static_cast<size_t>(2) * ih * iw, ih + ow);
      std::vector<float> cpu(static_cast<size_t>(2) * oh * ow), gpu(cpu.size());
      heatmap::resizeCpu(src.data(), 2, ih, iw, oh, ow, aa, cpu.data());
      heatmap::resizeCuda(src.data(), 2, ih, iw, oh, ow, aa, gpu.data());
      CHECK(test::maxAbsDiff(cpu, gpu) < 1e-5);
    }
  const int h = 480, w = 640, n = 20;
  auto map = test::randomMap(h * w, 9);
  auto masks = test::randomMasks(n, h, w, 10);
  std::vector<double> s1(n), s2(n);
  std::vector<int64_t> c1(n), c2(n);
  double t1 = 0, t2 = 0;
  heatmap::maskSumsCpu(map.data(), masks.data(), n, h * w, s1.data(), c1.data(), &t1);
  heatmap::maskSumsCuda(map.data(), masks.data(), n, h * w, s2.data(), c2.data(), &t2);
  CHECK(c1 == c2);
  // CUDA sums in double, so the CPU bound covers the difference; the map is non-negative, so Σ|map| is the sum.
  for (int m = 0; m < n; ++m) CHECK(std::fabs(s1[m] - s2[m]) <= sumTolerance(s1[m]));
  CHECK(t1 == t2);
}

TEST_CASE("heatmap normalize CPU: min-max, prior and mean division; a constant map gives NaN") {
  const float map[6] = {2, 4, 6, 3, 5, 4};
  const float prior[3] = {0, 0.5f, 1};
  float out[6];
  heatmap::normalizeCpu(map, 2, 3, true, prior, false, out);
  const float want[6] = {0, 0.25f, 1, 0, 0.375f, 0.5f};
  for (int i = 0; i < 6; ++i) CHECK(out[i] == want[i]);
  heatmap::normalizeCpu(map, 2, 3, true, prior, true, out);  // mean of want = 2.125 / 6
  for (int i = 0; i < 6; ++i) CHECK(std::fabs(out[i] - want[i] / (2.125f / 6)) < 1e-6);
  const float flat[2] = {5, 5};
  heatmap::normalizeCpu(flat, 1, 2, true, nullptr, false, out);
  CHECK(std::isnan(out[0]) && std::isnan(out[1]));
}
