// clip_inputs: constant-fill and sharp/blurred selection on the CPU, and CUDA equal to CPU (float32 and half).
#include <vector>

#include "clip_inputs.h"
#include "harness.h"
#include "pixel_test_util.h"

using namespace hybridgl;

namespace {
const int kClipSizes[][2] = {{1, 1}, {7, 9}, {300, 410}, {480, 640}};
}

TEST_CASE("clip_inputs CPU: empty mask gives the fill, full mask the sharp image") {
  const int h = 40, w = 50, size = 16;
  auto rgb = test::randomImage(h, w, 3, 1), blurred = test::randomImage(h, w, 3, 2);
  std::vector<uint8_t> masks(2 * h * w, 0);
  std::fill(masks.begin() + h * w, masks.end(), 1);
  const int64_t count = 2 * 3 * size * size;
  std::vector<float> g(count), l(count), gSharp(count / 2), lSharp(count / 2);
  clip_inputs::buildCpu(rgb.data(), blurred.data(), masks.data(), 2, {h, w, size, size}, g.data(), l.data());
  const auto k = clip_inputs::constants();
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < size * size; ++i) CHECK(std::fabs(l[c * size * size + i] - k.fill[c]) < 1e-7);
  // With a full mask the global image ignores `blurred`: same result when blurred is the sharp image itself.
  std::vector<uint8_t> full(h * w, 1);
  clip_inputs::buildCpu(rgb.data(), rgb.data(), full.data(), 1, {h, w, size, size}, gSharp.data(), lSharp.data());
  for (int64_t i = 0; i < count / 2; ++i) CHECK(g[count / 2 + i] == gSharp[i]);
}

CUDA_TEST_CASE("clip_inputs: CUDA equals CPU") {
  for (auto [h, w] : kClipSizes) {
    const int64_t n = 5, count = n * 3 * 224 * 224;
    auto rgb = test::randomImage(h, w, 3, h), blurred = test::randomImage(h, w, 3, w);
    auto masks = test::randomMasks(n, h, w, h * w);
    const clip_inputs::Shape s{h, w, 224, 224};
    std::vector<float> g1(count), l1(count), g2(count), l2(count);
    clip_inputs::buildCpu(rgb.data(), blurred.data(), masks.data(), n, s, g1.data(), l1.data());
    clip_inputs::buildCuda(rgb.data(), blurred.data(), masks.data(), n, s, g2.data(), l2.data());
    CHECK(test::maxAbsDiff(g1, g2) < 1e-5);
    CHECK(test::maxAbsDiff(l1, l2) < 1e-5);
    std::vector<uint16_t> h1(count), k1(count), h2(count), k2(count);
    clip_inputs::buildCpu(rgb.data(), blurred.data(), masks.data(), n, s, h1.data(), k1.data());
    clip_inputs::buildCuda(rgb.data(), blurred.data(), masks.data(), n, s, h2.data(), k2.data());
    // Float results a few ulps apart may round to neighbouring halves (ulp 2^-9 below 4).
    CHECK(test::maxAbsDiff(test::decodeHalves(h1), test::decodeHalves(h2)) <= 1.0 / 512);
    CHECK(test::maxAbsDiff(test::decodeHalves(k1), test::decodeHalves(k2)) <= 1.0 / 512);
  }
}
