#include "selftest.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <exception>
#include <random>
#include <tuple>

#include "clip_inputs.h"
#include "gaussian_blur.h"
#include "heatmap.h"
#include "image_prep.h"
#include "mask_grid.h"
#include "mask_ops.h"
#include "rle.h"
#include "sam_post.h"

namespace hybridgl::selftest {
namespace {

// Fixed inputs: odd sizes so that borders, tails of vector loops and uneven runs are all exercised.
constexpr int kH = 23, kW = 17;

std::vector<uint8_t> bytes(size_t count, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<uint8_t> out(count);
  for (auto& v : out) v = static_cast<uint8_t>(gen() >> 24);
  return out;
}

std::vector<float> unitFloats(size_t count, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<float> out(count);
  for (auto& v : out) v = static_cast<float>(gen() >> 8) / 16777216.0f;
  return out;
}

// n masks of h×w: an ellipse each plus salt, then an empty and a full mask, so runs start and end everywhere.
std::vector<uint8_t> masks(int64_t n, int h, int w, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<uint8_t> out(static_cast<size_t>(n) * h * w);
  for (int64_t k = 0; k < n; ++k) {
    uint8_t* m = out.data() + k * h * w;
    if (k == n - 2) continue;
    if (k == n - 1) {
      std::fill(m, m + h * w, 1);
      continue;
    }
    const double cx = (gen() % 100) / 100.0 * w, cy = (gen() % 100) / 100.0 * h;
    const double rx = (0.2 + (gen() % 50) / 100.0) * w, ry = (0.2 + (gen() % 50) / 100.0) * h;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const double dx = (x - cx) / rx, dy = (y - cy) / ry;
        m[y * w + x] = (dx * dx + dy * dy < 1) != (gen() % 29 == 0);
      }
  }
  return out;
}

template <typename T>
Output out(const std::string& what, const T* p, size_t n, double absTol = 0, double relTol = 0) {
  Output o{what, std::vector<double>(n), absTol, relTol};
  for (size_t i = 0; i < n; ++i) o.values[i] = static_cast<double>(p[i]);
  return o;
}
template <typename T>
Output out(const std::string& what, const std::vector<T>& v, double absTol = 0, double relTol = 0) {
  return out(what, v.data(), v.size(), absTol, relTol);
}

Output rleCounts(const std::string& what, const std::vector<rle::Rle>& rles) {
  Output o{what, {}, 0, 0};
  for (const auto& r : rles) {
    o.values.push_back(-1.0);  // separates the masks' runs
    for (uint32_t c : r.counts) o.values.push_back(c);
  }
  return o;
}

Outputs runRle(Backend be) {
  const int64_t n = 5;
  auto m = masks(n, kH, kW, 1);
  std::vector<rle::Rle> enc(n), ref(n);
  rle::encode(be, m.data(), n, kH, kW, enc.data());
  rle::encodeCpu(m.data(), n, kH, kW, ref.data());
  std::vector<uint8_t> dec(m.size());
  rle::decode(be, ref.data(), n, dec.data());
  const uint8_t crowd[n] = {0, 1, 0, 0, 1};
  std::vector<double> iou(n * n);
  rle::iou(be, ref.data(), n, ref.data(), n, crowd, iou.data());
  const std::vector<double> xy = {1.5, 2.25, 15.75, 3.5, 9.0, 21.5, 0.0, 0.0, 16.9, 0.2, 16.9, 22.8, 0.3, 22.8};
  const std::vector<uint32_t> offsets = {0, 6, 14};
  std::vector<rle::Rle> poly(2);
  rle::fromPolygons(be, xy.data(), offsets.data(), 2, kH, kW, poly.data());
  return {rleCounts("encode", enc), out("decode", dec), out("iou", iou), rleCounts("fromPolygons", poly)};
}

Outputs runMaskOps(Backend be) {
  const int64_t n = 4, m = 3, px = int64_t{kH} * kW;
  auto a = masks(n, kH, kW, 2), b = masks(m, kH, kW, 3);
  std::vector<uint64_t> inter(n * m), uni(n * m);
  mask_ops::pairwiseCounts(be, a.data(), n, b.data(), m, px, inter.data(), uni.data());
  std::vector<int32_t> boxes(4 * n);
  mask_ops::boxes(be, a.data(), n, kH, kW, boxes.data());
  return {out("pairwise intersections", inter), out("pairwise unions", uni), out("boxes", boxes)};
}

Outputs runMaskGrid(Backend be) {
  const int64_t n = 3;
  auto m = masks(n, 37, 29, 4);
  Outputs o;
  for (auto mode : {mask_grid::Mode::Bilinear, mask_grid::Mode::Area}) {
    std::vector<float> grid(n * 14 * 14);
    mask_grid::pool(be, m.data(), n, 37, 29, 14, mode, grid.data());
    o.push_back(out(mode == mask_grid::Mode::Bilinear ? "pool bilinear" : "pool area", grid, 1e-6));
  }
  return o;
}

Outputs runGaussianBlur(Backend be) {
  const int h = 31, w = 27;
  auto img = bytes(size_t{h} * w * 3, 5);
  std::vector<uint8_t> dst(img.size());
  gaussian_blur::blur(be, img.data(), h, w, 3, dst.data());
  return {out("blur", dst)};
}

Outputs runImagePrep(Backend be) {
  const int h = 41, w = 33;
  auto img = bytes(size_t{h} * w * 3, 6);
  std::vector<uint8_t> down(20 * 27 * 3), up(56 * 48 * 3);
  image_prep::resize(be, img.data(), h, w, 3, 20, 27, image_prep::Filter::Bilinear, down.data());
  image_prep::resize(be, img.data(), h, w, 3, 56, 48, image_prep::Filter::Bicubic, up.data());
  const float mean[3] = {123.675f, 116.28f, 103.53f}, std[3] = {58.395f, 57.12f, 57.375f};
  std::vector<float> norm(3 * (h + 3) * (w + 5));
  image_prep::normalize(be, img.data(), h, w, 1.0f, mean, std, h + 3, w + 5, norm.data());
  return {out("resize bilinear", down), out("resize bicubic", up), out("normalize", norm)};
}

Outputs runHeatmap(Backend be) {
  auto src = unitFloats(2 * 9 * 11, 7);
  Outputs o;
  for (bool aa : {false, true}) {
    std::vector<float> up(2 * 23 * 19), down(2 * 4 * 5);
    heatmap::resize(be, src.data(), 2, 9, 11, 23, 19, aa, up.data());
    heatmap::resize(be, src.data(), 2, 9, 11, 4, 5, aa, down.data());
    o.push_back(out(aa ? "resize up, antialias" : "resize up", up, 1e-5));
    o.push_back(out(aa ? "resize down, antialias" : "resize down", down, 1e-5));
  }
  const int64_t n = 4, px = int64_t{kH} * kW;
  auto map = unitFloats(px, 8);
  auto m = masks(n, kH, kW, 9);
  std::vector<double> sums(n);
  std::vector<int64_t> counts(n);
  double total = 0;
  heatmap::maskSums(be, map.data(), m.data(), n, px, sums.data(), counts.data(), &total);
  o.push_back(out("mask sums", sums, 0, 1e-6));  // float lanes vs double accumulation
  o.push_back(out("mask counts", counts));
  o.push_back(out("total", &total, 1));
  return o;
}

Outputs runClipInputs(Backend be) {
  const int h = 29, w = 37;
  const int64_t n = 3;
  auto rgb = bytes(size_t{h} * w * 3, 10), blurred = bytes(size_t{h} * w * 3, 11);
  auto m = masks(n, h, w, 12);
  const clip_inputs::Shape s{h, w, 32, 32};
  std::vector<float> global(n * 3 * 32 * 32), local(global.size()), sourced(global.size());
  clip_inputs::build(be, rgb.data(), blurred.data(), nullptr, m.data(), n, s, global.data(), local.data());
  // The local image from a given float source (PhraseCut's): values of either sign, off the uint8 grid.
  auto seed = bytes(size_t{h} * w * 3, 13);
  std::vector<float> source(seed.size());
  for (size_t i = 0; i < seed.size(); ++i) source[i] = (static_cast<float>(seed[i]) - 128.f) / 37.f;
  clip_inputs::build(be, rgb.data(), blurred.data(), source.data(), m.data(), n, s, global.data(), sourced.data());
  return {out("global", global, 1e-5), out("local", local, 1e-5), out("local from a source", sourced, 1e-5)};
}

Outputs runSamPost(Backend be) {
  sam_post::Geometry g;
  g.lowH = g.lowW = 16;
  g.padded = 64;
  g.height = 37, g.width = 29;
  std::tie(g.resizedH, g.resizedW) = sam_post::resizeShape(g.height, g.width, g.padded);
  const int64_t n = 4;
  auto low = unitFloats(n * 16 * 16, 13);
  for (auto& v : low) v = 8.0f * v - 4.0f;  // logits around the ±1 stability thresholds
  const int32_t select[3] = {3, 0, 2};
  std::vector<uint8_t> m(3 * size_t{37} * 29);
  std::vector<int64_t> hi(3), lo(3);
  sam_post::upscaleThreshold(be, low.data(), select, 3, g, 0.0f, 1.0f, -1.0f, m.data(), hi.data(), lo.data());
  return {out("masks", m), out("counts above +1", hi), out("counts above -1", lo)};
}

bool close(double a, double b, double absTol, double relTol) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (absTol == 0 && relTol == 0) return a == b;
  return std::fabs(a - b) <= absTol + relTol * std::fabs(a);
}

}  // namespace

Outputs run(Family f, Backend be) {
  switch (f) {
    case Family::Rle: return runRle(be);
    case Family::MaskOps: return runMaskOps(be);
    case Family::MaskGrid: return runMaskGrid(be);
    case Family::GaussianBlur: return runGaussianBlur(be);
    case Family::ImagePrep: return runImagePrep(be);
    case Family::Heatmap: return runHeatmap(be);
    case Family::ClipInputs: return runClipInputs(be);
    case Family::SamPost: return runSamPost(be);
  }
  return {};
}

std::string compare(const Outputs& reference, const Outputs& candidate) {
  if (reference.size() != candidate.size())
    return "returned " + std::to_string(candidate.size()) + " outputs, expected " + std::to_string(reference.size());
  for (size_t k = 0; k < reference.size(); ++k) {
    const Output &r = reference[k], &c = candidate[k];
    if (r.values.size() != c.values.size())
      return r.what + ": " + std::to_string(c.values.size()) + " values, expected " + std::to_string(r.values.size());
    for (size_t i = 0; i < r.values.size(); ++i)
      if (!close(r.values[i], c.values[i], r.absTol, r.relTol)) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "%s[%zu] = %.9g, CPU %.9g", r.what.c_str(), i, c.values[i], r.values[i]);
        return buf;
      }
  }
  return "";
}

std::array<FamilyStatus, kFamilies> route(const Candidate& candidate, const Warn& warn) {
  std::array<FamilyStatus, kFamilies> out;
  for (int i = 0; i < kFamilies; ++i) {
    const Family f = static_cast<Family>(i);
    FamilyStatus& s = out[i];
    const auto t0 = std::chrono::steady_clock::now();
    try {
      s.detail = compare(run(f, Backend::Cpu), candidate(f));
      s.result = s.detail.empty() ? "pass" : "mismatch";
    } catch (const std::exception& e) {
      s.result = "error";
      s.detail = e.what();
    }
    s.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    s.backend = s.result == "pass" ? Backend::Cuda : Backend::Cpu;
    if (s.backend == Backend::Cpu)
      warn(std::string("hybridgl: CUDA kernel family '") + familyName(f) + "' failed its self-test (" + s.result +
           ": " + s.detail + "); it runs on the CPU in this process");
  }
  return out;
}

std::array<FamilyStatus, kFamilies> report() {
  const DeviceInfo& d = deviceInfo();
  if (d.cuda) return route([](Family f) { return run(f, Backend::Cuda); }, [](const std::string&) {});
  std::array<FamilyStatus, kFamilies> table;
  for (int i = 0; i < kFamilies; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    run(static_cast<Family>(i), Backend::Cpu);
    table[i].detail = d.reason;
    table[i].ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }
  return table;
}

}  // namespace hybridgl::selftest
