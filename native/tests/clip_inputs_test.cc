// clip_inputs: constant-fill and sharp/blurred selection on the CPU, a float local source in place of the normalised
// rgb, and CUDA equal to CPU (float32 and half, with and without the source).
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
  clip_inputs::buildCpu(rgb.data(), blurred.data(), nullptr, masks.data(), 2, {h, w, size, size}, g.data(), l.data());
  const auto k = clip_inputs::constants();
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < size * size; ++i) CHECK(std::fabs(l[c * size * size + i] - k.fill[c]) < 1e-7);
  // With a full mask the global image ignores `blurred`: same result when blurred is the sharp image itself.
  std::vector<uint8_t> full(h * w, 1);
  clip_inputs::buildCpu(rgb.data(), rgb.data(), nullptr, full.data(), 1, {h, w, size, size}, gSharp.data(),
                        lSharp.data());
  for (int64_t i = 0; i < count / 2; ++i) CHECK(g[count / 2 + i] == gSharp[i]);
}

TEST_CASE("clip_inputs CPU: a source equal to the normalised rgb changes nothing; another one the local image only") {
  const int h = 31, w = 45, size = 24;
  const int64_t n = 3, count = n * 3 * size * size;
  auto rgb = test::randomImage(h, w, 3, 3), blurred = test::randomImage(h, w, 3, 4);
  auto masks = test::randomMasks(n, h, w, 5);
  const auto k = clip_inputs::constants();
  std::vector<float> normalised(size_t{3} * h * w);
  for (size_t c = 0; c < 3; ++c)
    for (size_t p = 0; p < size_t{h} * w; ++p) normalised[c * h * w + p] = k.normalised[c][rgb[p * 3 + c]];
  const clip_inputs::Shape s{h, w, size, size};
  std::vector<float> g0(count), l0(count), g1(count), l1(count), g2(count), l2(count);
  clip_inputs::buildCpu(rgb.data(), blurred.data(), nullptr, masks.data(), n, s, g0.data(), l0.data());
  clip_inputs::buildCpu(rgb.data(), blurred.data(), normalised.data(), masks.data(), n, s, g1.data(), l1.data());
  CHECK(g0 == g1);
  CHECK(l0 == l1);
  // A constant source v: the local image is v wherever all four taps are inside, the fill where none is.
  std::vector<float> constant(size_t{3} * h * w, -0.75f);
  clip_inputs::buildCpu(rgb.data(), blurred.data(), constant.data(), masks.data(), n, s, g2.data(), l2.data());
  CHECK(g0 == g2);
  std::vector<uint8_t> full(size_t{h} * w, 1);
  std::vector<float> gFull(3 * size * size), lFull(3 * size * size);
  clip_inputs::buildCpu(rgb.data(), blurred.data(), constant.data(), full.data(), 1, s, gFull.data(), lFull.data());
  for (float v : lFull) CHECK(v == -0.75f);
}

CUDA_TEST_CASE("clip_inputs: CUDA equals CPU") {
  for (auto [h, w] : kClipSizes) {
    const int64_t n = 5, count = n * 3 * 224 * 224;
    auto rgb = test::randomImage(h, w, 3, h), blurred = test::randomImage(h, w, 3, w);
    auto masks = test::randomMasks(n, h, w, h * w);
    const clip_inputs::Shape s{h, w, 224, 224};
    std::vector<float> g1(count), l1(count), g2(count), l2(count);
    clip_inputs::buildCpu(rgb.data(), blurred.data(), nullptr, masks.data(), n, s, g1.data(), l1.data());
    clip_inputs::buildCuda(rgb.data(), blurred.data(), nullptr, masks.data(), n, s, g2.data(), l2.data());
    CHECK(test::maxAbsDiff(g1, g2) < 1e-5);
    CHECK(test::maxAbsDiff(l1, l2) < 1e-5);
    std::vector<uint16_t> h1(count), k1(count), h2(count), k2(count);
    clip_inputs::buildCpu(rgb.data(), blurred.data(), nullptr, masks.data(), n, s, h1.data(), k1.data());
    clip_inputs::buildCuda(rgb.data(), blurred.data(), nullptr, masks.data(), n, s, h2.data(), k2.data());
    // Float results a few ulps apart may round to neighbouring halves (ulp 2^-9 below 4).
    CHECK(test::maxAbsDiff(test::decodeHalves(h1), test::decodeHalves(h2)) <= 1.0 / 512);
    CHECK(test::maxAbsDiff(test::decodeHalves(k1), test::decodeHalves(k2)) <= 1.0 / 512);
    auto source = test::randomMap(size_t{3} * h * w, h + w);
    clip_inputs::buildCpu(rgb.data(), blurred.data(), source.data(), masks.data(), n, s, g1.data(), l1.data());
    clip_inputs::buildCuda(rgb.data(), blurred.data(), source.data(), masks.data(), n, s, g2.data(), l2.data());
    CHECK(test::maxAbsDiff(g1, g2) < 1e-5);
    CHECK(test::maxAbsDiff(l1, l2) < 1e-5);
  }
}
