// mask_grid: area fractions against a direct count, full/empty masks, and CUDA equal to CPU.
#include <vector>

#include "harness.h"
#include "mask_grid.h"
#include "pixel_test_util.h"

using namespace hybridgl;

namespace {
const int kGridSizes[][2] = {{1, 1}, {7, 9}, {13, 200}, {427, 640}, {1024, 1024}};
}

TEST_CASE("mask_grid CPU: area mode on a grid that divides the image is the cell's set fraction") {
  const int h = 28, w = 42, grid = 14;
  auto masks = test::randomMasks(2, h, w, 3);
  std::vector<float> out(2 * grid * grid);
  mask_grid::poolCpu(masks.data(), 2, h, w, grid, mask_grid::Mode::Area, out.data());
  for (int m = 0; m < 2; ++m)
    for (int gy = 0; gy < grid; ++gy)
      for (int gx = 0; gx < grid; ++gx) {
        int set = 0;
        for (int y = gy * 2; y < gy * 2 + 2; ++y)
          for (int x = gx * 3; x < gx * 3 + 3; ++x) set += masks[(m * h + y) * w + x] != 0;
        CHECK(out[(m * grid + gy) * grid + gx] == static_cast<float>(set / 6.0));
      }
}

TEST_CASE("mask_grid CPU: full masks give 1 and empty masks 0 in both modes") {
  for (auto mode : {mask_grid::Mode::Bilinear, mask_grid::Mode::Area}) {
    const int h = 33, w = 17, grid = 14;
    std::vector<uint8_t> masks(2 * h * w, 0);
    std::fill(masks.begin(), masks.begin() + h * w, 1);
    std::vector<float> out(2 * grid * grid);
    mask_grid::poolCpu(masks.data(), 2, h, w, grid, mode, out.data());
    for (int i = 0; i < grid * grid; ++i) CHECK(out[i] == 1.f && out[grid * grid + i] == 0.f);
  }
}

CUDA_TEST_CASE("mask_grid: CUDA equals CPU") {
  for (auto [h, w] : kGridSizes)
    for (auto mode : {mask_grid::Mode::Bilinear, mask_grid::Mode::Area})
      for (int grid : {14, 7, 28}) {
        const int64_t n = 6;
        auto masks = test::randomMasks(n, h, w, h + grid);
        std::vector<float> cpu(n * grid * grid), gpu(n * grid * grid);
        mask_grid::poolCpu(masks.data(), n, h, w, grid, mode, cpu.data());
        mask_grid::poolCuda(masks.data(), n, h, w, grid, mode, gpu.data());
        CHECK(test::maxAbsDiff(cpu, gpu) < 1e-6);
      }
}
