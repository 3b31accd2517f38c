// gaussian_blur: the fixed-point kernel, a direct 2-D sum on the CPU, and CUDA equal to CPU bit for bit.
#include <vector>

#include "gaussian_blur.h"
#include "harness.h"
#include "pixel_test_util.h"

using namespace hybridgl;

namespace {
const int kBlurSizes[][2] = {{1, 1}, {1, 37}, {41, 1}, {7, 9}, {16, 15}, {427, 640}};
}

TEST_CASE("gaussian_blur kernel: OpenCV's fixed-point 15-tap weights") {
  const auto k = gaussian_blur::fixedKernel();
  const uint16_t want[15] = {1, 3, 6, 12, 20, 30, 36, 40, 36, 30, 20, 12, 6, 3, 1};
  for (int i = 0; i < 15; ++i) CHECK(k[i] == want[i]);
}

TEST_CASE("gaussian_blur CPU: equals the direct 2-D fixed-point sum") {
  for (auto [h, w] : {std::pair{7, 9}, std::pair{23, 31}}) {
    auto img = test::randomImage(h, w, 3, h + w);
    std::vector<uint8_t> out(img.size());
    gaussian_blur::blurCpu(img.data(), h, w, 3, out.data());
    const auto k = gaussian_blur::fixedKernel();
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < 3; ++c) {
          uint32_t s = 0;
          for (int i = 0; i < 15; ++i)
            for (int j = 0; j < 15; ++j)
              s += k[i] * k[j] *
                   img[(gaussian_blur::reflect101(y + i - 7, h) * w + gaussian_blur::reflect101(x + j - 7, w)) * 3 + c];
          CHECK(out[(y * w + x) * 3 + c] == ((s + 32768) >> 16));
        }
  }
}

CUDA_TEST_CASE("gaussian_blur: CUDA equals CPU") {
  for (auto [h, w] : kBlurSizes) {
    auto img = test::randomImage(h, w, 3, 7 * h + w);
    std::vector<uint8_t> cpu(img.size()), gpu(img.size());
    gaussian_blur::blurCpu(img.data(), h, w, 3, cpu.data());
    gaussian_blur::blurCuda(img.data(), h, w, 3, gpu.data());
    CHECK(cpu == gpu);
  }
}
