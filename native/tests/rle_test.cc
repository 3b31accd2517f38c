// rle: the CPU kernels against direct per-pixel references, and the CUDA kernels against the CPU ones bit for bit.
#include <cmath>
#include <vector>

#include "harness.h"
#include "rle.h"

using namespace hybridgl;

namespace {

const int kSizes[][2] = {{1, 1}, {1, 37}, {41, 1}, {7, 9}, {427, 640}, {1000, 1000}};

// Random masks with the first one empty and the second one full.
std::vector<uint8_t> testMasks(int64_t n, int h, int w, uint32_t seed) {
  auto masks = test::randomMasks(n, h, w, seed);
  const int64_t px = int64_t{h} * w;
  std::fill(masks.begin(), masks.begin() + px, 0);
  if (n > 1) std::fill(masks.begin() + px, masks.begin() + 2 * px, 7);  // any non-zero byte is set
  return masks;
}

// Runs straight from the definition: column-major, starting with zeros.
std::vector<uint32_t> directCounts(const uint8_t* m, int h, int w) {
  std::vector<uint32_t> counts;
  bool value = false;
  uint32_t run = 0;
  for (int x = 0; x < w; ++x)
    for (int y = 0; y < h; ++y) {
      const bool v = m[int64_t{y} * w + x] != 0;
      if (v != value) counts.push_back(run), run = 0, value = v;
      ++run;
    }
  counts.push_back(run);
  return counts;
}

std::vector<rle::Rle> encodeAll(const std::vector<uint8_t>& masks, int64_t n, int h, int w) {
  std::vector<rle::Rle> r(n);
  rle::encodeCpu(masks.data(), n, h, w, r.data());
  return r;
}

}  // namespace

TEST_CASE("rle encode/decode: CPU equals the definition and round-trips") {
  for (auto [h, w] : kSizes) {
    const int64_t n = 5, px = int64_t{h} * w;
    auto masks = testMasks(n, h, w, 11 + h + w);
    auto r = encodeAll(masks, n, h, w);
    std::vector<uint8_t> back(n * px);
    rle::decodeCpu(r.data(), n, back.data());
    for (int64_t i = 0; i < n; ++i) {
      CHECK(r[i].counts == directCounts(masks.data() + i * px, h, w));
      uint32_t set = 0;
      for (int64_t p = 0; p < px; ++p) {
        set += masks[i * px + p] != 0;
        CHECK(back[i * px + p] == (masks[i * px + p] != 0));
      }
      CHECK(rle::area(r[i]) == set);
      const rle::Rle parsed = rle::fromString(rle::toString(r[i]), h, w, "counts");
      CHECK(parsed.counts == r[i].counts);
    }
  }
}

TEST_CASE("rle fromString: rejects corrupt strings") {
  int thrown = 0;
  for (const char* bad : {"1", "2", "0p", "0 0", "55", "9", "0o"}) {
    try {
      rle::fromString(bad, 2, 2, "counts");
    } catch (const rle::InvalidInput&) {
      ++thrown;
    }
  }
  CHECK(thrown == 7);
  CHECK(rle::fromString("13", 2, 2, "counts").counts == (std::vector<uint32_t>{1, 3}));
}

TEST_CASE("rle merge and iou: CPU equals dense references") {
  for (auto [h, w] : kSizes) {
    const int64_t n = 6, px = int64_t{h} * w;
    auto masks = testMasks(n, h, w, 21 + h * w);
    auto r = encodeAll(masks, n, h, w);
    for (bool intersect : {false, true}) {
      std::vector<uint8_t> combined(px);
      for (int64_t p = 0; p < px; ++p) {
        bool v = intersect;
        for (int64_t i = 2; i < n; ++i) v = intersect ? (v && masks[i * px + p]) : (v || masks[i * px + p]);
        combined[p] = v;
      }
      CHECK(rle::merge(r.data() + 2, n - 2, intersect).counts == directCounts(combined.data(), h, w));
    }
    const uint8_t crowd[] = {0, 1, 0, 1, 0, 0};
    std::vector<double> iou(n * n);
    rle::iouCpu(r.data(), n, r.data(), n, crowd, iou.data());
    for (int64_t d = 0; d < n; ++d)
      for (int64_t g = 0; g < n; ++g) {
        uint32_t in = 0, un = 0, ad = 0;
        for (int64_t p = 0; p < px; ++p) {
          const bool a = masks[d * px + p], b = masks[g * px + p];
          in += a && b, un += a || b, ad += a;
        }
        const double want = in == 0 ? 0.0 : static_cast<double>(in) / (crowd[g] ? ad : un);
        CHECK(iou[d * n + g] == want);
      }
  }
}

TEST_CASE("rle iou: −1 for overlapping boxes of different sizes, 0 for disjoint ones") {
  std::vector<uint8_t> a(4 * 4, 1), b(4 * 5, 0);
  b[0] = 1;
  auto ra = encodeAll(a, 1, 4, 4), rb = encodeAll(b, 1, 4, 5);
  double o = 0;
  rle::iouCpu(ra.data(), 1, rb.data(), 1, nullptr, &o);
  CHECK(o == -1);
  std::vector<uint8_t> c(4 * 5, 0);
  c[4 * 5 - 1] = 1;
  std::vector<uint8_t> small(2 * 2, 0);
  small[0] = 1;
  auto rc = encodeAll(c, 1, 4, 5), rs = encodeAll(small, 1, 2, 2);
  rle::iouCpu(rs.data(), 1, rc.data(), 1, nullptr, &o);
  CHECK(o == 0);
}

TEST_CASE("rle polygons: a rectangle with integer corners covers [x0, x1) × [y0, y1)") {
  const double square[] = {1, 1, 4, 1, 4, 3, 1, 3};  // x 1..4, y 1..3
  const uint32_t offsets[] = {0, 8};
  rle::Rle r;
  rle::fromPolygonsCpu(square, offsets, 1, 6, 6, &r);
  std::vector<uint8_t> m(36);
  rle::decodeCpu(&r, 1, m.data());
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 6; ++x) CHECK(m[y * 6 + x] == (x >= 1 && x < 4 && y >= 1 && y < 3));
  double bb[4];
  rle::toBbox(r, bb);
  CHECK(bb[0] == 1 && bb[1] == 1 && bb[2] == 3 && bb[3] == 2);
  CHECK(rle::toString(r) == "724000;");  // pycocotools 2.0.8's frPyObjects
}

CUDA_TEST_CASE("rle encode/decode/iou: CUDA equals CPU") {
  for (auto [h, w] : kSizes) {
    const int64_t n = 7, px = int64_t{h} * w;
    auto masks = testMasks(n, h, w, 31 + h);
    auto cpu = encodeAll(masks, n, h, w);
    std::vector<rle::Rle> gpu(n);
    rle::encodeCuda(masks.data(), n, h, w, gpu.data());
    for (int64_t i = 0; i < n; ++i) CHECK(gpu[i].counts == cpu[i].counts && gpu[i].h == cpu[i].h);
    std::vector<uint8_t> d1(n * px), d2(n * px);
    rle::decodeCpu(cpu.data(), n, d1.data());
    rle::decodeCuda(cpu.data(), n, d2.data());
    CHECK(d1 == d2);
    const uint8_t crowd[] = {0, 1, 0, 0, 1, 0, 0};
    std::vector<double> o1(n * n), o2(n * n);
    rle::iouCpu(cpu.data(), n, cpu.data(), n, crowd, o1.data());
    rle::iouCuda(cpu.data(), n, cpu.data(), n, crowd, o2.data());
    CHECK(o1 == o2);
  }
}

CUDA_TEST_CASE("rle polygons: CUDA equals CPU") {
  std::mt19937 gen(7);
  std::uniform_real_distribution<double> u(-20, 700);
  std::vector<double> xy;
  std::vector<uint32_t> offsets{0};
  for (int i = 0; i < 300; ++i) {
    const int k = 3 + i % 17;
    for (int j = 0; j < 2 * k; ++j) xy.push_back(i % 5 == 0 ? std::round(u(gen)) : u(gen));
    if (i % 7 == 0) xy.push_back(xy[xy.size() - 2]), xy.push_back(xy[xy.size() - 2]);  // a repeated vertex
    offsets.push_back(static_cast<uint32_t>(xy.size()));
  }
  const int64_t n = 300;
  std::vector<rle::Rle> cpu(n), gpu(n);
  rle::fromPolygonsCpu(xy.data(), offsets.data(), n, 480, 640, cpu.data());
  rle::fromPolygonsCuda(xy.data(), offsets.data(), n, 480, 640, gpu.data());
  for (int64_t i = 0; i < n; ++i) CHECK(cpu[i].counts == gpu[i].counts);
}
