// mask_ops: the CPU kernels against a direct count, and the CUDA kernels against the CPU ones bit for bit.
#include <vector>

#include "harness.h"
#include "mask_ops.h"

using namespace hybridgl;

namespace {
const int kSizes[][2] = {{1, 1}, {1, 37}, {41, 1}, {7, 9}, {427, 640}, {1000, 1000}};
}

TEST_CASE("mask_ops pairwise counts: CPU equals a direct count") {
  for (auto [h, w] : kSizes) {
    const int64_t n = 3, m = 2, px = int64_t{h} * w;
    auto a = test::randomMasks(n, h, w, 1 + h), b = test::randomMasks(m, h, w, 2 + w);
    std::vector<uint64_t> in(n * m), un(n * m);
    mask_ops::pairwiseCountsCpu(a.data(), n, b.data(), m, px, in.data(), un.data());
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < m; ++j) {
        uint64_t ci = 0, cu = 0;
        for (int64_t p = 0; p < px; ++p) {
          ci += a[i * px + p] && b[j * px + p];
          cu += a[i * px + p] || b[j * px + p];
        }
        CHECK(in[i * m + j] == ci);
        CHECK(un[i * m + j] == cu);
      }
  }
}

CUDA_TEST_CASE("mask_ops pairwise counts: CUDA equals CPU") {
  for (auto [h, w] : kSizes) {
    const int64_t n = 7, m = 5, px = int64_t{h} * w;
    auto a = test::randomMasks(n, h, w, 3 + h), b = test::randomMasks(m, h, w, 4 + w);
    std::vector<uint64_t> i1(n * m), u1(n * m), i2(n * m), u2(n * m);
    mask_ops::pairwiseCountsCpu(a.data(), n, b.data(), m, px, i1.data(), u1.data());
    mask_ops::pairwiseCountsCuda(a.data(), n, b.data(), m, px, i2.data(), u2.data());
    CHECK(i1 == i2);
    CHECK(u1 == u2);
  }
}

TEST_CASE("mask_ops boxes: CUDA equals CPU, empty and full masks") {
  for (auto [h, w] : kSizes) {
    const int64_t n = 5;
    auto masks = test::randomMasks(n, h, w, 5 + h * w);
    std::fill(masks.begin(), masks.begin() + int64_t{h} * w, 0);
    std::fill(masks.begin() + int64_t{h} * w, masks.begin() + 2 * int64_t{h} * w, 1);
    std::vector<int32_t> cpu(n * 4), gpu(n * 4);
    mask_ops::boxesCpu(masks.data(), n, h, w, cpu.data());
    CHECK(cpu[0] == 0 && cpu[1] == 0 && cpu[2] == 0 && cpu[3] == 0);
    CHECK(cpu[4] == 0 && cpu[5] == 0 && cpu[6] == w - 1 && cpu[7] == h - 1);
#ifdef HYBRIDGL_WITH_CUDA
    if (!test::gpuPresent()) continue;
    mask_ops::boxesCuda(masks.data(), n, h, w, gpu.data());
    CHECK(cpu == gpu);
#endif
  }
}
