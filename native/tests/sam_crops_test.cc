// sam_crops: one batch's survivors equal thresholding the upscaled logits with the filters applied by hand; the
// small-region pass equals sam_post's removeSmallRegions; the CUDA backend (through the shared upscale) equals CPU.
#include <cmath>
#include <random>
#include <tuple>
#include <vector>

#include "harness.h"
#include "sam_crops.h"

using namespace hybridgl;

namespace {

std::vector<float> blobLogits(int64_t n, int low, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(0, 1);
  std::vector<float> out(static_cast<size_t>(n) * low * low);
  for (int64_t k = 0; k < n; ++k) {
    const float cx = u(gen) * low, cy = u(gen) * low, r = (0.05f + u(gen)) * low * 0.4f, slope = 0.1f + u(gen) * 3;
    for (int y = 0; y < low; ++y)
      for (int x = 0; x < low; ++x)
        out[(k * low + y) * low + x] = (r - std::sqrt((x - cx) * (x - cx) + (y - cy) * (y - cy))) * slope;
  }
  return out;
}

sam_post::Geometry geometry(int low, int h, int w) {
  sam_post::Geometry g;
  g.lowH = g.lowW = low;
  g.padded = 1024;
  g.height = h, g.width = w;
  std::tie(g.resizedH, g.resizedW) = sam_post::resizeShape(h, w, 1024);
  return g;
}

void checkBatch(Backend be) {
  const int low = 64, h = 90, w = 130;
  const int64_t n = 24;
  const auto logits = blobLogits(n, low, 7);
  std::vector<float> iou(n);
  for (int64_t i = 0; i < n; ++i) iou[i] = static_cast<float>((i * 37) % 64) / 64.0f;
  const auto g = geometry(low, h, w);
  sam_post::Options opt;
  opt.predIouThresh = 0.5, opt.stabilityScoreThresh = 0.8;
  const auto r = sam_crops::batchMasks(be, logits.data(), iou.data(), n, g, opt);
  std::vector<float> up(static_cast<size_t>(n) * h * w);
  sam_post::upscaleLogitsCpu(logits.data(), n, g, up.data());
  int64_t k = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!(iou[i] > 0.5f)) continue;
    int64_t hi = 0, lo = 0;
    for (int p = 0; p < h * w; ++p) hi += up[i * h * w + p] > 1.0f, lo += up[i * h * w + p] > -1.0f;
    const float s = static_cast<float>(hi) / static_cast<float>(lo);
    if (!(s >= 0.8f)) continue;
    CHECK(k < r.count);
    CHECK(r.proposal[k] == i);
    CHECK(r.stability[k] == s);
    int32_t box[4];
    for (int p = 0; p < h * w; ++p) CHECK(r.masks[k * h * w + p] == (up[i * h * w + p] > 0.0f ? 1 : 0));
    sam_post::maskBox(&r.masks[k * h * w], h, w, box);
    for (int c = 0; c < 4; ++c) CHECK(r.boxes[4 * k + c] == box[c]);
    ++k;
  }
  CHECK(k == r.count);
  CHECK(r.count > 0);
}

}  // namespace

TEST_CASE("sam_crops batchMasks: the IoU and stability filters, masks and boxes of the upscaled logits") {
  checkBatch(Backend::Cpu);
}

TEST_CASE("sam_crops batchMasks: CUDA backend equals the CPU check") {
  REQUIRE_GPU();
  checkBatch(Backend::Cuda);
}

TEST_CASE("sam_crops smallRegions equals holes then islands of removeSmallRegions") {
  const int h = 70, w = 90;
  const int64_t n = 6;
  auto masks = test::randomMasks(n, h, w, 3);
  auto want = masks;
  std::vector<uint8_t> changed(n);
  std::vector<int32_t> boxes(4 * n);
  sam_crops::smallRegions(masks.data(), n, h, w, 30, changed.data(), boxes.data());
  for (int64_t k = 0; k < n; ++k) {
    uint8_t* m = &want[k * h * w];
    const bool a = sam_post::removeSmallRegions(m, h, w, 30, true);
    const bool b = sam_post::removeSmallRegions(m, h, w, 30, false);
    CHECK(changed[k] == (a || b ? 1 : 0));
    int32_t box[4];
    sam_post::maskBox(m, h, w, box);
    for (int c = 0; c < 4; ++c) CHECK(boxes[4 * k + c] == box[c]);
  }
  CHECK(masks == want);
}
