// Standalone kernel micro-benchmarks (no Node): each family on realistic sizes, CPU and, where a GPU is usable,
// CUDA, with the achieved bandwidth (bytes the kernel must read and write over the time). CUDA times include the
// host↔device copies, as the addon's calls do, so the copy bandwidths are printed as the ceiling to compare with.
// Build with -DHYBRIDGL_BUILD_TESTS=ON, run build/kernels/kernel_bench [--refcoco] [--quick] [--json FILE]:
//   --refcoco  the sizes of one RefCOCO image (20 and 40 masks of 480×640, 64×3 low-res logits) only
//   --quick    one timed run per row (a dry run of the bench itself)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#ifdef HYBRIDGL_WITH_CUDA
#include <cuda_runtime.h>
#endif

#include "backend.h"
#include "clip_inputs.h"
#include "gaussian_blur.h"
#include "heatmap.h"
#include "image_prep.h"
#include "mask_grid.h"
#include "mask_ops.h"
#include "rle.h"
#include "sam_post.h"

using namespace hybridgl;

namespace {

int gReps = 5;

struct Row {
  std::string op, size;
  double bytes, cpuMs, cudaMs;  // cudaMs < 0: not run
};
std::vector<Row> gRows;

// Median of gReps runs after one warm-up, in milliseconds.
double timeMs(const std::function<void()>& fn) {
  fn();
  std::vector<double> t;
  for (int i = 0; i < gReps; ++i) {
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
  Row r{op, size, bytes, timeMs(cpu), -1};
  std::printf("%-28s %-18s %10.2f %9.2f", op, size.c_str(), r.cpuMs, bytes / r.cpuMs / 1e6);
  if (deviceInfo().cuda) {
    r.cudaMs = timeMs(gpu);
    std::printf(" %10.2f %9.2f %7.1fx", r.cudaMs, bytes / r.cudaMs / 1e6, r.cpuMs / r.cudaMs);
  }
  std::printf("\n");
  gRows.push_back(r);
}

// Copy bandwidths (GB/s, bytes read + written for device copies, bytes moved for host copies): the ceilings.
struct Ceilings {
  double deviceCopy = 0, hostToDevice = 0, deviceToHost = 0;
};

Ceilings measureCeilings() {
  Ceilings c;
#ifdef HYBRIDGL_WITH_CUDA
  if (!deviceInfo().cuda) return c;
  const size_t bytes = size_t{256} << 20;
  void *a = nullptr, *b = nullptr, *host = nullptr;
  if (cudaMalloc(&a, bytes) != cudaSuccess || cudaMalloc(&b, bytes) != cudaSuccess ||
      cudaMallocHost(&host, bytes) != cudaSuccess) {
    cudaGetLastError();
    return c;
  }
  auto gbps = [&](double moved, const std::function<void()>& fn) {
    return moved / timeMs([&] {
      fn();
      cudaDeviceSynchronize();
    }) / 1e6;
  };
  c.deviceCopy = gbps(2.0 * bytes, [&] { cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice); });
  c.hostToDevice = gbps(bytes, [&] { cudaMemcpy(a, host, bytes, cudaMemcpyHostToDevice); });
  c.deviceToHost = gbps(bytes, [&] { cudaMemcpy(host, a, bytes, cudaMemcpyDeviceToHost); });
  cudaFree(a);
  cudaFree(b);
  cudaFreeHost(host);
#endif
  return c;
}

void maskRows(int h, int w, int64_t n) {
  const std::string size = std::to_string(n) + "x" + std::to_string(h) + "x" + std::to_string(w);
  const int64_t px = int64_t{h} * w;
  auto masks = blobMasks(n, h, w, static_cast<uint32_t>(n + h));
  std::vector<uint64_t> inter(n * n), uni(n * n);
  row("mask IoU n×n", size, double(n) * px, [&] {
    mask_ops::pairwiseCountsCpu(masks.data(), n, masks.data(), n, px, inter.data(), uni.data());
  }, [&] { mask_ops::pairwiseCounts(Backend::Cuda, masks.data(), n, masks.data(), n, px, inter.data(), uni.data()); });
  std::vector<int32_t> boxes(4 * n);
  row("mask boxes", size, double(n) * px, [&] { mask_ops::boxesCpu(masks.data(), n, h, w, boxes.data()); },
      [&] { mask_ops::boxes(Backend::Cuda, masks.data(), n, h, w, boxes.data()); });
  std::vector<rle::Rle> rles(n);
  row("rle encode", size, double(n) * px, [&] { rle::encodeCpu(masks.data(), n, h, w, rles.data()); },
      [&] { rle::encode(Backend::Cuda, masks.data(), n, h, w, rles.data()); });
  std::vector<uint8_t> decoded(n * px);
  row("rle decode", size, double(n) * px, [&] { rle::decodeCpu(rles.data(), n, decoded.data()); },
      [&] { rle::decode(Backend::Cuda, rles.data(), n, decoded.data()); });
  std::vector<double> ious(n * n);
  std::vector<uint8_t> crowd(n, 0);
  size_t runs = 0;
  for (auto& r : rles) runs += r.counts.size();
  row("rle IoU n×n", size, double(n) * runs * 4, [&] {
    rle::iouCpu(rles.data(), n, rles.data(), n, crowd.data(), ious.data());
  }, [&] { rle::iou(Backend::Cuda, rles.data(), n, rles.data(), n, crowd.data(), ious.data()); });
  std::vector<float> grid(n * 14 * 14);
  // Point sampling reads 4 bytes per grid cell, not the whole mask.
  row("mask grid 14×14", size, double(n) * 14 * 14 * 4, [&] {
    mask_grid::poolCpu(masks.data(), n, h, w, 14, mask_grid::Mode::Bilinear, grid.data());
  }, [&] { mask_grid::pool(Backend::Cuda, masks.data(), n, h, w, 14, mask_grid::Mode::Bilinear, grid.data()); });
  std::vector<float> map(px, 0.5f);
  std::vector<double> sums(n);
  std::vector<int64_t> counts(n);
  double total = 0;
  row("heatmap mask sums", size, double(n) * px + 4.0 * px, [&] {
    heatmap::maskSumsCpu(map.data(), masks.data(), n, px, sums.data(), counts.data(), &total);
  }, [&] { heatmap::maskSums(Backend::Cuda, map.data(), masks.data(), n, px, sums.data(), counts.data(), &total); });
  // Both CLIP inputs of every mask: reads rgb, blurred and the mask, writes 2×3×224×224 floats per mask.
  std::vector<uint8_t> rgb(size_t(px) * 3, 100), blurred(size_t(px) * 3, 50);
  const clip_inputs::Shape s{h, w, 224, 224};
  std::vector<float> global(n * 3 * 224 * 224), local(global.size());
  row("clip inputs 224²", size, 7.0 * px + double(n) * px + 8.0 * global.size(), [&] {
    clip_inputs::buildCpu(rgb.data(), blurred.data(), nullptr, masks.data(), n, s, global.data(), local.data());
  }, [&] {
    clip_inputs::build(Backend::Cuda, rgb.data(), blurred.data(), nullptr, masks.data(), n, s, global.data(),
                       local.data());
  });
}

// SAM's decoder output for one image: points × 3 low-res logits upscaled to h×w, thresholded and counted.
void samRows(int h, int w, int points) {
  sam_post::Geometry g;
  g.height = h, g.width = w;
  std::tie(g.resizedH, g.resizedW) = sam_post::resizeShape(h, w, g.padded);
  const int64_t n = int64_t{points} * 3, px = int64_t{h} * w;
  std::vector<float> low(size_t(n) * g.lowH * g.lowW);
  std::mt19937 gen(3);
  for (auto& v : low) v = static_cast<float>(gen() >> 8) / 1048576.0f - 8.0f;
  std::vector<int32_t> select(n);
  for (int64_t i = 0; i < n; ++i) select[i] = static_cast<int32_t>(i);
  std::vector<uint8_t> masks(size_t(n) * px);
  std::vector<int64_t> hi(n), lo(n);
  const std::string size = std::to_string(points) + "x3 → " + std::to_string(h) + "x" + std::to_string(w);
  row("sam upscale+threshold", size, 4.0 * low.size() + double(n) * px, [&] {
    sam_post::upscaleThresholdCpu(low.data(), select.data(), n, g, 0, 1, -1, masks.data(), hi.data(), lo.data());
  }, [&] {
    sam_post::upscaleThreshold(Backend::Cuda, low.data(), select.data(), n, g, 0, 1, -1, masks.data(), hi.data(),
                               lo.data());
  });
}

void imageRows(int h, int w) {
  const std::string size = std::to_string(h) + "x" + std::to_string(w);
  std::vector<uint8_t> rgb(size_t(h) * w * 3);
  std::mt19937 gen(7);
  for (auto& v : rgb) v = static_cast<uint8_t>(gen());
  std::vector<uint8_t> blurred(rgb.size());
  row("gaussian blur 15×15", size, 2.0 * rgb.size(), [&] { gaussian_blur::blurCpu(rgb.data(), h, w, 3, blurred.data()); },
      [&] { gaussian_blur::blur(Backend::Cuda, rgb.data(), h, w, 3, blurred.data()); });
  // SAM's input resize (longest side to 1024) of an image twice this size, and GEM's bicubic 448×448.
  const int sh = 2 * h, sw = 2 * w, rh = sh * 1024 / std::max(sh, sw), rw = sw * 1024 / std::max(sh, sw);
  std::vector<uint8_t> big(size_t(sh) * sw * 3), resized(size_t(rh) * rw * 3), gem(448 * 448 * 3);
  for (auto& v : big) v = static_cast<uint8_t>(gen());
  row("Pillow bilinear → 1024", std::to_string(sh) + "x" + std::to_string(sw), double(big.size() + resized.size()), [&] {
    image_prep::resizeCpu(big.data(), sh, sw, 3, rh, rw, image_prep::Filter::Bilinear, resized.data());
  }, [&] { image_prep::resize(Backend::Cuda, big.data(), sh, sw, 3, rh, rw, image_prep::Filter::Bilinear, resized.data()); });
  row("Pillow bicubic → 448", size, double(rgb.size() + gem.size()), [&] {
    image_prep::resizeCpu(rgb.data(), h, w, 3, 448, 448, image_prep::Filter::Bicubic, gem.data());
  }, [&] { image_prep::resize(Backend::Cuda, rgb.data(), h, w, 3, 448, 448, image_prep::Filter::Bicubic, gem.data()); });
}

void writeJson(const char* path, const Ceilings& c) {
  FILE* f = std::fopen(path, "w");
  if (!f) {
    std::fprintf(stderr, "kernel_bench: cannot write %s\n", path);
    return;
  }
  const DeviceInfo& d = deviceInfo();
  std::fprintf(f, "{\"device\": \"%s\", \"cuda\": %s, \"copyGBps\": {\"deviceToDevice\": %.2f, \"hostToDevice\": %.2f, "
               "\"deviceToHost\": %.2f}, \"rows\": [", d.cuda ? d.device.c_str() : "cpu", d.cuda ? "true" : "false",
               c.deviceCopy, c.hostToDevice, c.deviceToHost);
  for (size_t i = 0; i < gRows.size(); ++i) {
    const Row& r = gRows[i];
    std::fprintf(f, "%s{\"op\": \"%s\", \"size\": \"%s\", \"bytes\": %.0f, \"cpuMs\": %.4f, \"cpuGBps\": %.3f", i ? ", " : "",
                 r.op.c_str(), r.size.c_str(), r.bytes, r.cpuMs, r.bytes / r.cpuMs / 1e6);
    if (r.cudaMs >= 0) std::fprintf(f, ", \"cudaMs\": %.4f, \"cudaGBps\": %.3f", r.cudaMs, r.bytes / r.cudaMs / 1e6);
    std::fprintf(f, "}");
  }
  std::fprintf(f, "]}\n");
  std::fclose(f);
}

}  // namespace

int main(int argc, char** argv) {
  bool refcoco = false;
  const char* json = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--refcoco")) refcoco = true;
    else if (!std::strcmp(argv[i], "--quick")) gReps = 1;
    else if (!std::strcmp(argv[i], "--json") && i + 1 < argc) json = argv[++i];
    else {
      std::fprintf(stderr, "usage: kernel_bench [--refcoco] [--quick] [--json FILE]\n");
      return 2;
    }
  }
  const DeviceInfo& d = deviceInfo();
  std::printf("backend: %s\n", d.cuda ? ("cuda " + d.device).c_str() : ("cpu only (" + d.reason + ")").c_str());
  const Ceilings c = measureCeilings();
  if (d.cuda)
    std::printf("copy bandwidth GB/s: device→device %.1f (read+write), host→device %.1f, device→host %.1f\n",
                c.deviceCopy, c.hostToDevice, c.deviceToHost);
  std::printf("%-28s %-18s %10s %9s %10s %9s %8s\n", "op", "size", "cpu ms", "cpu GB/s", "cuda ms", "cuda GB/s",
              "speedup");
  if (refcoco) {
    for (int64_t n : {20, 40}) maskRows(480, 640, n);
    samRows(480, 640, 64);
    imageRows(480, 640);
  } else {
    for (auto [h, w] : {std::pair{480, 640}, std::pair{1024, 1024}}) {
      for (int64_t n : {10, 50, 100}) maskRows(h, w, n);
      samRows(h, w, 64);
      imageRows(h, w);
    }
  }
  if (json) writeJson(json, c);
  return 0;
}
