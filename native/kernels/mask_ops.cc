#include <algorithm>
#include <cstring>
#include <vector>

#include "mask_ops.h"
#include "multiversion.h"
#include "parallel.h"

namespace hybridgl::mask_ops {
namespace {

// One bit per byte of 8 bytes (bit i = byte i is non-zero): fold each byte onto its low bit, then gather the low
// bits into the top byte with one multiply.
inline uint64_t packEight(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  v |= v >> 4;
  v |= v >> 2;
  v |= v >> 1;
  v &= 0x0101010101010101ull;
  return (v * 0x0102040810204080ull) >> 56;
}

// Packs each mask into 64-bit words so that a pair costs pixels/64 popcounts instead of pixels byte tests.
std::vector<uint64_t> packBits(const uint8_t* masks, int64_t n, int64_t pixels, int64_t words) {
  std::vector<uint64_t> packed(static_cast<size_t>(n * words), 0);
  parallelFor(n * words, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t idx = begin; idx < end; ++idx) {
      const int64_t k = idx / words, w = idx % words;
      const uint8_t* src = masks + k * pixels + w * 64;
      const int64_t count = std::min<int64_t>(64, pixels - w * 64);
      uint64_t bits = 0;
      if (count == 64) {
        for (int c = 0; c < 8; ++c) bits |= packEight(src + 8 * c) << (8 * c);
      } else {
        for (int64_t b = 0; b < count; ++b) bits |= static_cast<uint64_t>(src[b] != 0) << b;
      }
      packed[idx] = bits;
    }
  });
  return packed;
}

// The hot loops get an AVX2 clone, which also brings the hardware popcount instruction.
HG_MULTIVERSION uint64_t popcountAnd(const uint64_t* x, const uint64_t* y, int64_t words) {
  uint64_t s = 0;
  for (int64_t w = 0; w < words; ++w) s += __builtin_popcountll(x[w] & y[w]);
  return s;
}

HG_MULTIVERSION uint64_t popcount(const uint64_t* x, int64_t words) {
  uint64_t s = 0;
  for (int64_t w = 0; w < words; ++w) s += __builtin_popcountll(x[w]);
  return s;
}

}  // namespace

void pairwiseCountsCpu(const uint8_t* a, int64_t n, const uint8_t* b, int64_t m, int64_t pixels, uint64_t* inter,
                       uint64_t* uni) {
  const int64_t words = (pixels + 63) / 64;
  const std::vector<uint64_t> pa = packBits(a, n, pixels, words);
  const std::vector<uint64_t> pb = packBits(b, m, pixels, words);
  std::vector<uint64_t> areaA(n), areaB(m);
  for (int64_t i = 0; i < n; ++i) areaA[i] = popcount(pa.data() + i * words, words);
  for (int64_t j = 0; j < m; ++j) areaB[j] = popcount(pb.data() + j * words, words);
  parallelFor(n * m, 4, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const int64_t i = p / m, j = p % m;
      const uint64_t s = popcountAnd(pa.data() + i * words, pb.data() + j * words, words);
      inter[p] = s;
      uni[p] = areaA[i] + areaB[j] - s;
    }
  });
}

void boxesCpu(const uint8_t* masks, int64_t n, int height, int width, int32_t* boxes) {
  const int64_t pixels = static_cast<int64_t>(height) * width;
  parallelFor(n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      const uint8_t* m = masks + k * pixels;
      int x1 = width, y1 = height, x2 = -1, y2 = -1;
      for (int y = 0; y < height; ++y) {
        const uint8_t* row = m + static_cast<int64_t>(y) * width;
        int first = -1, last = -1;
        for (int x = 0; x < width; ++x)
          if (row[x]) {
            if (first < 0) first = x;
            last = x;
          }
        if (first < 0) continue;
        if (y1 == height) y1 = y;
        y2 = y;
        x1 = std::min(x1, first);
        x2 = std::max(x2, last);
      }
      int32_t* out = boxes + 4 * k;
      if (x2 < 0) {
        out[0] = out[1] = out[2] = out[3] = 0;
      } else {
        out[0] = x1, out[1] = y1, out[2] = x2, out[3] = y2;
      }
    }
  });
}

}  // namespace hybridgl::mask_ops
