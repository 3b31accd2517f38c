// Standalone kernel micro-benchmarks (no Node): each family on realistic sizes, CPU and, where a GPU is usable,
// CUDA, with the achieved bandwidth (bytes the kernel must read and write over the time). CUDA times include the
// host↔device copies, as the addon's calls do. Build with -DHYBRIDGL_BUILD_TESTS=ON, run build/kernels/kernel_bench.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "backend.h"
#include "gaussian_blur.h"
#include "heatmap.h"
#include "image_prep.h"
#include "mask_grid.h"
#include "mask_ops.h"
#include "rle.h"

using namespace hybridgl;

// The CUDA side of a row: compiled only when the CUDA kernels are (row() runs it only when a GPU is in use).
#ifdef HYBRIDGL_WITH_CUDA
#define CUDA_ONLY(...) __VA_ARGS__
#else
#define CUDA_ONLY(...)
#endif

namespace {

// Median of `reps` runs after one warm-up, in milliseconds.
double timeMs(const std::function<void()>& fn, int reps = 5) {
  fn();
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

std::vector<uint8_t> blobMasks(int64_t n, int h, int w, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<uint8_t> out(static_cast<size_t>(n) * h * w);
  for (int64_t k = 0; k < n; ++k) {
    const double cx = u(gen) * w, cy = u(gen) * h, r = (0.1 + 0.4 * u(gen)) * std::min(h, w);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) out[(k * h + y) * w + x] = (x - cx) * (x - cx) + (y - cy) * (y - cy) < r * r;
  }
  return out;
}

void row(const char* op, const std::string& size, double bytes, const std::function<void()>& cpu,
         const std::function<void()>& gpu) {
  const double c = timeMs(cpu);
  std::printf("%-28s %-18s %10.2f %9.2f", op, size.c_str(), c, bytes / c / 1e6);
  if (deviceInfo().cuda) {
    const double g = timeMs(gpu);
    std::printf(" %10.2f %9.2f %7.1fx", g, bytes / g / 1e6, c / g);
  }
  std::printf("\n");
}

}  // namespace

int main() {
  const DeviceInfo& d = deviceInfo();
  std::printf("backend: %s\n", d.cuda ? ("cuda " + d.device).c_str() : ("cpu only (" + d.reason + ")").c_str());
  std::printf("%-28s %-18s %10s %9s %10s %9s %8s\n", "op", "size", "cpu ms", "cpu GB/s", "cuda ms", "cuda GB/s",
              "speedup");
  for (auto [h, w] : {std::pair{480, 640}, std::pair{1024, 1024}}) {
    for (int64_t n : {10, 50, 100}) {
      const std::string size = std::to_string(n) + "x" + std::to_string(h) + "x" + std::to_string(w);
      const int64_t px = int64_t{h} * w;
      auto masks = blobMasks(n, h, w, static_cast<uint32_t>(n + h));
      std::vector<uint64_t> inter(n * n), uni(n * n);
      row("mask IoU n×n", size, double(n) * px, [&] {
        mask_ops::pairwiseCountsCpu(masks.data(), n, masks.data(), n, px, inter.data(), uni.data());
      }, [&] {
        CUDA_ONLY(mask_ops::pairwiseCountsCuda(masks.data(), n, masks.data(), n, px, inter.data(), uni.data()));
      });
      std::vector<int32_t> boxes(4 * n);
      row("mask boxes", size, double(n) * px, [&] { mask_ops::boxesCpu(masks.data(), n, h, w, boxes.data()); },
          [&] { CUDA_ONLY(mask_ops::boxesCuda(masks.data(), n, h, w, boxes.data())); });
      std::vector<rle::Rle> rles(n);
      row("rle encode", size, double(n) * px, [&] { rle::encodeCpu(masks.data(), n, h, w, rles.data()); },
          [&] { CUDA_ONLY(rle::encodeCuda(masks.data(), n, h, w, rles.data())); });
      std::vector<uint8_t> decoded(n * px);
      row("rle decode", size, double(n) * px, [&] { rle::decodeCpu(rles.data(), n, decoded.data()); },
          [&] { CUDA_ONLY(rle::decodeCuda(rles.data(), n, decoded.data())); });
      std::vector<double> ious(n * n);
      std::vector<uint8_t> crowd(n, 0);
      size_t runs = 0;
      for (auto& r : rles) runs += r.counts.size();
      row("rle IoU n×n", size, double(n) * runs * 4, [&] {
        rle::iouCpu(rles.data(), n, rles.data(), n, crowd.data(), ious.data());
      }, [&] { CUDA_ONLY(rle::iouCuda(rles.data(), n, rles.data(), n, crowd.data(), ious.data())); });
      std::vector<float> grid(n * 14 * 14);
      // Point sampling reads 4 bytes per grid cell, not the whole mask.
      row("mask grid 14×14", size, double(n) * 14 * 14 * 4, [&] {
        mask_grid::poolCpu(masks.data(), n, h, w, 14, mask_grid::Mode::Bilinear, grid.data());
      }, [&] { CUDA_ONLY(mask_grid::poolCuda(masks.data(), n, h, w, 14, mask_grid::Mode::Bilinear, grid.data())); });
      std::vector<float> map(px, 0.5f);
      std::vector<double> sums(n);
      std::vector<int64_t> counts(n);
      double total = 0;
      row("heatmap mask sums", size, double(n) * px + 4.0 * px, [&] {
        heatmap::maskSumsCpu(map.data(), masks.data(), n, px, sums.data(), counts.data(), &total);
      }, [&] {
        CUDA_ONLY(heatmap::maskSumsCuda(map.data(), masks.data(), n, px, sums.data(), counts.data(), &total));
      });
    }
    const std::string size = std::to_string(h) + "x" + std::to_string(w);
    std::vector<uint8_t> rgb(size_t(h) * w * 3);
    std::mt19937 gen(7);
    for (auto& v : rgb) v = static_cast<uint8_t>(gen());
    std::vector<uint8_t> blurred(rgb.size());
    row("gaussian blur 15×15", size, 2.0 * rgb.size(), [&] { gaussian_blur::blurCpu(rgb.data(), h, w, 3, blurred.data()); },
        [&] { CUDA_ONLY(gaussian_blur::blurCuda(rgb.data(), h, w, 3, blurred.data())); });
    // SAM's input resize (longest side to 1024) of an image twice this size, and GEM's bicubic 448×448.
    const int sh = 2 * h, sw = 2 * w, rh = sh * 1024 / std::max(sh, sw), rw = sw * 1024 / std::max(sh, sw);
    std::vector<uint8_t> big(size_t(sh) * sw * 3), resized(size_t(rh) * rw * 3), gem(448 * 448 * 3);
    for (auto& v : big) v = static_cast<uint8_t>(gen());
    row("Pillow bilinear → 1024", std::to_string(sh) + "x" + std::to_string(sw), double(big.size() + resized.size()), [&] {
      image_prep::resizeCpu(big.data(), sh, sw, 3, rh, rw, image_prep::Filter::Bilinear, resized.data());
    }, [&] {
      CUDA_ONLY(image_prep::resizeCuda(big.data(), sh, sw, 3, rh, rw, image_prep::Filter::Bilinear, resized.data()));
    });
    row("Pillow bicubic → 448", size, double(rgb.size() + gem.size()), [&] {
      image_prep::resizeCpu(rgb.data(), h, w, 3, 448, 448, image_prep::Filter::Bicubic, gem.data());
    }, [&] {
      CUDA_ONLY(image_prep::resizeCuda(rgb.data(), h, w, 3, 448, 448, image_prep::Filter::Bicubic, gem.data()));
    });
  }
  return 0;
}
