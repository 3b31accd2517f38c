// sam_post: CPU self-checks (threshold pass vs the upscaled values, NMS invariants, small regions vs a flood
// fill) and the CUDA upscale/threshold against the CPU one bit for bit.
#include <algorithm>
#include <cmath>
#include <deque>
#include <random>
#include <vector>

#include "harness.h"
#include "sam_post.h"

using namespace hybridgl;

namespace {

// Smooth random logits with sign changes, lowSize² per map.
std::vector<float> randomLogits(int64_t n, int lowSize, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(0, 1);
  std::vector<float> out(static_cast<size_t>(n) * lowSize * lowSize);
  for (int64_t k = 0; k < n; ++k) {
    const float cx = u(gen) * lowSize, cy = u(gen) * lowSize, r = (0.1f + u(gen)) * lowSize * 0.4f;
    for (int y = 0; y < lowSize; ++y)
      for (int x = 0; x < lowSize; ++x) {
        const float d = std::sqrt((x - cx) * (x - cx) + (y - cy) * (y - cy));
        out[(k * lowSize + y) * lowSize + x] = (r - d) * 0.5f + (u(gen) - 0.5f) * 2.0f;
      }
  }
  return out;
}

sam_post::Geometry geometry(int lowSize, int padded, int h, int w) {
  sam_post::Geometry g;
  g.lowH = g.lowW = lowSize;
  g.padded = padded;
  g.height = h, g.width = w;
  std::tie(g.resizedH, g.resizedW) = sam_post::resizeShape(h, w, padded);
  return g;
}

const int kImages[][2] = {{1, 1}, {1, 37}, {41, 1}, {61, 83}, {427, 640}, {1024, 700}, {300, 1024}};

// remove_small_regions by breadth-first flood fill, labels in pixel raster order.
bool floodReference(std::vector<uint8_t>& m, int h, int w, int64_t minArea, bool holes) {
  const uint8_t target = holes ? 0 : 1;
  std::vector<int32_t> label(m.size(), -1);
  std::vector<int64_t> area, block;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      if (m[y * w + x] != target || label[y * w + x] >= 0) continue;
      const int32_t id = static_cast<int32_t>(area.size());
      area.push_back(0), block.push_back(INT64_MAX);
      std::deque<int> q{y * w + x};
      label[y * w + x] = id;
      while (!q.empty()) {
        const int p = q.front();
        q.pop_front();
        const int py = p / w, px = p % w;
        ++area[id];
        block[id] = std::min<int64_t>(block[id], int64_t{py / 2} * ((w + 1) / 2) + px / 2);
        for (int dy = -1; dy <= 1; ++dy)
          for (int dx = -1; dx <= 1; ++dx) {
            const int ny = py + dy, nx = px + dx;
            if (ny < 0 || nx < 0 || ny >= h || nx >= w) continue;
            const int n = ny * w + nx;
            if (m[n] == target && label[n] < 0) label[n] = id, q.push_back(n);
          }
      }
    }
  bool anySmall = false, allSmall = true;
  int32_t largest = -1;
  for (int32_t c = 0; c < static_cast<int32_t>(area.size()); ++c) {
    anySmall |= area[c] < minArea;
    allSmall &= area[c] < minArea;
    if (largest < 0 || area[c] > area[largest] || (area[c] == area[largest] && block[c] < block[largest])) largest = c;
  }
  if (!anySmall) return false;
  for (size_t p = 0; p < m.size(); ++p) {
    const int32_t c = label[p];
    if (c < 0) continue;
    const bool flip = holes ? area[c] < minArea : (allSmall ? c != largest : area[c] < minArea);
    if (flip) m[p] = holes ? 1 : 0;
  }
  return true;
}

}  // namespace

TEST_CASE("sam_post upscale+threshold: masks and counts equal thresholding the upscaled values") {
  for (auto [h, w] : kImages) {
    const sam_post::Geometry g = geometry(64, 256, h, w);
    const int64_t n = 4;
    auto low = randomLogits(n, 64, 11 + h + w);
    const size_t px = size_t{static_cast<size_t>(h)} * w;
    std::vector<float> values(n * px);
    sam_post::upscaleLogitsCpu(low.data(), n, g, values.data());
    std::vector<int32_t> select = {3, 0, 2};
    std::vector<uint8_t> masks(select.size() * px);
    std::vector<int64_t> hi(select.size()), lo(select.size());
    sam_post::upscaleThresholdCpu(low.data(), select.data(), 3, g, 0.0f, 1.0f, -1.0f, masks.data(), hi.data(),
                                  lo.data());
    for (size_t k = 0; k < select.size(); ++k) {
      int64_t eh = 0, el = 0;
      bool same = true;
      for (size_t p = 0; p < px; ++p) {
        const float v = values[select[k] * px + p];
        same &= masks[k * px + p] == (v > 0.0f);
        eh += v > 1.0f, el += v > -1.0f;
      }
      CHECK(same);
      CHECK(hi[k] == eh);
      CHECK(lo[k] == el);
    }
  }
}

CUDA_TEST_CASE("sam_post upscale+threshold: CUDA equals CPU bit for bit") {
  for (auto [h, w] : kImages) {
    for (int lowSize : {64, 256}) {
      const sam_post::Geometry g = geometry(lowSize, lowSize * 4, h, w);
      const int64_t n = 5;
      auto low = randomLogits(n, lowSize, 7 + h * w + lowSize);
      std::vector<int32_t> select = {4, 1, 2, 0};
      const size_t px = size_t{static_cast<size_t>(h)} * w;
      std::vector<uint8_t> m1(select.size() * px), m2(select.size() * px);
      std::vector<int64_t> h1(select.size()), l1(select.size()), h2(select.size()), l2(select.size());
      sam_post::upscaleThresholdCpu(low.data(), select.data(), 4, g, 0.0f, 1.0f, -1.0f, m1.data(), h1.data(),
                                    l1.data());
      sam_post::upscaleThresholdCuda(low.data(), select.data(), 4, g, 0.0f, 1.0f, -1.0f, m2.data(), h2.data(),
                                     l2.data());
      CHECK(m1 == m2);
      CHECK(h1 == h2);
      CHECK(l1 == l2);
    }
  }
}

CUDA_TEST_CASE("sam_post postprocess: CUDA backend equals CPU backend") {
  const sam_post::Geometry g = geometry(256, 1024, 480, 640);
  const int64_t n = 48;
  auto low = randomLogits(n, 256, 99);
  std::vector<float> iou(n);
  for (int64_t i = 0; i < n; ++i) iou[i] = 0.6f + 0.4f * static_cast<float>(i % 7) / 7.0f;
  const sam_post::Options opt;
  const auto a = sam_post::postprocess(Backend::Cpu, low.data(), iou.data(), n, g, opt);
  const auto b = sam_post::postprocess(Backend::Cuda, low.data(), iou.data(), n, g, opt);
  CHECK(a.count == b.count);
  CHECK(a.masks == b.masks);
  CHECK(a.boxes == b.boxes);
  CHECK(a.proposal == b.proposal);
  CHECK(a.stability == b.stability);
}

TEST_CASE("sam_post nms: kept boxes overlap at most the threshold; every dropped box overlaps an earlier kept one") {
  std::mt19937 gen(5);
  std::uniform_int_distribution<int> c(0, 60), s(0, 4);
  for (int trial = 0; trial < 20; ++trial) {
    const int n = 80;
    std::vector<float> boxes(4 * n), scores(n);
    for (int i = 0; i < n; ++i) {
      const float x = c(gen), y = c(gen);
      boxes[4 * i] = x, boxes[4 * i + 1] = y, boxes[4 * i + 2] = x + c(gen) / 3, boxes[4 * i + 3] = y + c(gen) / 3;
      scores[i] = s(gen) * 0.25f;  // many ties
    }
    auto iou = [&](int i, int j) {
      const float* a = &boxes[4 * i];
      const float* b = &boxes[4 * j];
      const float w = std::max(0.0f, std::min(a[2], b[2]) - std::max(a[0], b[0]));
      const float h = std::max(0.0f, std::min(a[3], b[3]) - std::max(a[1], b[1]));
      const float inter = w * h;
      return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
    };
    const auto keep = sam_post::nms(boxes.data(), scores.data(), n, 0.5);
    std::vector<int> rank(n, -1);
    for (size_t r = 0; r < keep.size(); ++r) rank[keep[r]] = static_cast<int>(r);
    for (size_t r = 1; r < keep.size(); ++r) {
      // descending score, ties by index
      CHECK(scores[keep[r - 1]] > scores[keep[r]] || (scores[keep[r - 1]] == scores[keep[r]] && keep[r - 1] < keep[r]));
    }
    for (size_t a = 0; a < keep.size(); ++a)
      for (size_t b = a + 1; b < keep.size(); ++b) CHECK(!(iou(keep[a], keep[b]) > 0.5f));
    for (int j = 0; j < n; ++j) {
      if (rank[j] >= 0) continue;
      bool covered = false;
      for (int i : keep)
        if ((scores[i] > scores[j] || (scores[i] == scores[j] && i < j)) && iou(i, j) > 0.5f) covered = true;
      CHECK(covered);
    }
  }
}

TEST_CASE("sam_post removeSmallRegions equals a flood-fill reference") {
  for (auto [h, w] : {std::pair{1, 1}, {1, 37}, {41, 1}, {7, 9}, {64, 80}, {200, 150}}) {
    for (uint32_t seed = 0; seed < 6; ++seed) {
      auto m = test::randomMasks(1, h, w, seed * 31 + h);
      for (int64_t minArea : {1, 5, 40, 800}) {
        for (bool holes : {true, false}) {
          std::vector<uint8_t> a = m, b = m;
          const bool ca = sam_post::removeSmallRegions(a.data(), h, w, minArea, holes);
          const bool cb = floodReference(b, h, w, minArea, holes);
          CHECK(ca == cb);
          CHECK(a == b);
        }
      }
    }
  }
}

TEST_CASE("sam_post resize rule and taps") {
  CHECK(sam_post::resizeShape(427, 640, 1024) == std::make_pair(683, 1024));
  CHECK(sam_post::resizeShape(500, 333, 1024) == std::make_pair(1024, 682));
  CHECK(sam_post::resizeShape(1, 1, 1024) == std::make_pair(1024, 1024));
  const auto t = sam_post::bilinearTaps(256, 1024);
  CHECK(t.i0[0] == 0 && t.i1[0] == 1 && t.l1[0] == 0.0f);  // clamped below 0
  CHECK(t.i0[2] == 0 && t.l1[2] == 0.125f);
  CHECK(t.i0[1023] == 255 && t.i1[1023] == 255);
  const auto same = sam_post::bilinearTaps(40, 40);
  CHECK(same.i0[17] == 17 && same.l0[17] == 1.0f && same.l1[17] == 0.0f);
}
