// image_prep: CPU self-checks, and the CUDA kernels against the CPU ones bit for bit.
#include <cstdlib>
#include <random>
#include <vector>

#include "harness.h"
#include "image_prep.h"

using namespace hybridgl;

namespace {
std::vector<uint8_t> noise(int h, int w, int c, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<uint8_t> img(static_cast<size_t>(h) * w * c);
  for (auto& v : img) v = static_cast<uint8_t>(gen() & 255);
  return img;
}
const int kShapes[][4] = {{37, 53, 1024, 733}, {480, 640, 768, 1024}, {427, 640, 448, 448}, {5, 7, 5, 7}, {1, 9, 3, 2}};
}  // namespace

TEST_CASE("image_prep: weights of each output sample sum to one in fixed point") {
  for (auto f : {image_prep::Filter::Bilinear, image_prep::Filter::Bicubic})
    for (auto [in, out] : {std::pair{640, 1024}, std::pair{1024, 448}, std::pair{7, 3}}) {
      auto w = image_prep::axisWeights(in, out, f);
      for (int o = 0; o < out; ++o) {
        int64_t s = 0;
        for (int i = 0; i < w.taps; ++i) s += w.coeffs[o * w.taps + i];
        CHECK(std::llabs(s - (int64_t{1} << image_prep::kPrecisionBits)) <= w.taps);
      }
    }
}

TEST_CASE("image_prep: a constant image stays constant") {
  std::vector<uint8_t> img(31 * 17 * 3, 200), out(64 * 9 * 3);
  image_prep::resizeCpu(img.data(), 31, 17, 3, 64, 9, image_prep::Filter::Bicubic, out.data());
  for (auto v : out) CHECK(v == 200);
}

CUDA_TEST_CASE("image_prep: CUDA resize and normalize equal CPU") {
  for (auto [h, w, oh, ow] : kShapes)
    for (auto f : {image_prep::Filter::Bilinear, image_prep::Filter::Bicubic}) {
      auto img = noise(h, w, 3, h * 31 + w);
      std::vector<uint8_t> a(static_cast<size_t>(oh) * ow * 3), b(a.size());
      image_prep::resizeCpu(img.data(), h, w, 3, oh, ow, f, a.data());
      image_prep::resizeCuda(img.data(), h, w, 3, oh, ow, f, b.data());
      CHECK(a == b);
      const float mean[3] = {123.675f, 116.28f, 103.53f}, std[3] = {58.395f, 57.12f, 57.375f};
      std::vector<float> x(3 * static_cast<size_t>(h + 3) * (w + 5)), y(x.size());
      image_prep::normalizeCpu(img.data(), h, w, 1.0f, mean, std, h + 3, w + 5, x.data());
      image_prep::normalizeCuda(img.data(), h, w, 1.0f, mean, std, h + 3, w + 5, y.data());
      CHECK(x == y);
    }
}
