// A tiny test harness for the standalone kernel tests (no Node, no framework): runs on a GPU machine as is.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace hybridgl::test {

struct Case {
  std::string name;
  std::function<void()> fn;
};
std::vector<Case>& registry();
void fail(const char* file, int line, const std::string& what);
bool gpuPresent();
struct Skip {
  std::string why;
};

struct Register {
  Register(const char* name, std::function<void()> fn) { registry().push_back({name, std::move(fn)}); }
};

// Random 0/1 masks with blobs, deterministic per seed.
inline std::vector<uint8_t> randomMasks(int64_t n, int h, int w, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<uint8_t> out(static_cast<size_t>(n) * h * w);
  for (int64_t k = 0; k < n; ++k) {
    const double cx = u(gen) * w, cy = u(gen) * h, rx = (0.1 + u(gen)) * w * 0.5, ry = (0.1 + u(gen)) * h * 0.5;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const bool inside = ((x - cx) / rx) * ((x - cx) / rx) + ((y - cy) / ry) * ((y - cy) / ry) < 1;
        out[(k * h + y) * w + x] = inside != (u(gen) < 0.03);
      }
  }
  return out;
}

}  // namespace hybridgl::test

#define HG_CONCAT2(a, b) a##b
#define HG_CONCAT(a, b) HG_CONCAT2(a, b)
#define TEST_CASE(name)                                                                      \
  static void HG_CONCAT(test_fn_, __LINE__)();                                               \
  static ::hybridgl::test::Register HG_CONCAT(test_reg_, __LINE__)(name, HG_CONCAT(test_fn_, __LINE__)); \
  static void HG_CONCAT(test_fn_, __LINE__)()
#define CHECK(cond)                                                     \
  do {                                                                  \
    if (!(cond)) ::hybridgl::test::fail(__FILE__, __LINE__, #cond);     \
  } while (0)
// Skips a CUDA-vs-CPU case when no GPU is usable (reported as skipped, not passed).
#define REQUIRE_GPU()                                                   \
  do {                                                                  \
    if (!::hybridgl::test::gpuPresent()) throw ::hybridgl::test::Skip{"no GPU"}; \
  } while (0)
// A CUDA-vs-CPU case: skipped when no GPU is usable. Built without CUDA (HYBRIDGL_CUDA=OFF, no nvcc) it is
// reported skipped and its body stays a never-instantiated template: type-checked, but no *Cuda symbol is linked.
#ifdef HYBRIDGL_WITH_CUDA
#define CUDA_TEST_CASE(name)                                                                                \
  static void HG_CONCAT(cuda_fn_, __LINE__)();                                                              \
  static ::hybridgl::test::Register HG_CONCAT(test_reg_, __LINE__)(name, [] {                              \
    REQUIRE_GPU();                                                                                          \
    HG_CONCAT(cuda_fn_, __LINE__)();                                                                        \
  });                                                                                                       \
  static void HG_CONCAT(cuda_fn_, __LINE__)()
#else
#define CUDA_TEST_CASE(name)                                                                                \
  static ::hybridgl::test::Register HG_CONCAT(test_reg_, __LINE__)(                                        \
      name, [] { throw ::hybridgl::test::Skip{"built without CUDA"}; });                                    \
  template <typename>                                                                                       \
  [[maybe_unused]] void HG_CONCAT(cuda_fn_, __LINE__)()
#endif
