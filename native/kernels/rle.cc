#include "rle.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "parallel.h"
#include "rle_core.h"

namespace hybridgl::rle {
namespace {

// Each byte of v becomes 1 if it was non-zero, else 0.
inline uint64_t normalizeBytes(uint64_t v) {
  v |= (v >> 4) & 0x0F0F0F0F0F0F0F0FULL;
  v |= (v >> 2) & 0x0303030303030303ULL;
  v |= (v >> 1) & 0x0101010101010101ULL;
  return v & 0x0101010101010101ULL;
}

inline uint64_t load8(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// Scratch reused across the masks one thread encodes.
struct EncodeScratch {
  std::vector<uint8_t> wrapRow;     // what precedes row 0 of each column: the last pixel of the column before
  std::vector<uint32_t> columnOf;   // transitions in row-major discovery order: column, row
  std::vector<uint32_t> rowOf;
  std::vector<uint32_t> perColumn;  // counting sort by column
  std::vector<uint32_t> positions;
};

// Runs change wherever a pixel differs from the one before it in column-major order. Within a column that is the
// pixel above, so rows are compared with the previous row eight bytes at a time (reading memory in order); row 0
// is compared with the last row shifted by one column. A counting sort by column then gives column-major order.
void encodeOne(const uint8_t* mask, uint32_t h, uint32_t w, EncodeScratch& s, Rle& out) {
  out.h = h, out.w = w;
  out.counts.clear();
  const uint64_t pixels = uint64_t{h} * w;
  if (pixels == 0) {
    out.counts.push_back(0);
    return;
  }
  s.wrapRow.assign(w, 0);
  for (uint32_t x = 1; x < w; ++x) s.wrapRow[x] = mask[uint64_t{h - 1} * w + x - 1] != 0;
  s.columnOf.clear();
  s.rowOf.clear();
  for (uint32_t y = 0; y < h; ++y) {
    const uint8_t* cur = mask + uint64_t{y} * w;
    const uint8_t* prev = y == 0 ? s.wrapRow.data() : cur - w;
    uint32_t x = 0;
#ifdef __SSE2__
    const __m128i zero = _mm_setzero_si128();
    for (; x + 16 <= w; x += 16) {
      const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(cur + x));
      const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(prev + x));
      unsigned diff = _mm_movemask_epi8(_mm_xor_si128(_mm_cmpeq_epi8(a, zero), _mm_cmpeq_epi8(b, zero)));
      while (diff) {
        s.columnOf.push_back(x + __builtin_ctz(diff));
        s.rowOf.push_back(y);
        diff &= diff - 1;
      }
    }
#endif
    for (; x + 8 <= w; x += 8) {
      uint64_t diff = normalizeBytes(load8(cur + x)) ^ normalizeBytes(load8(prev + x));
      while (diff) {
        s.columnOf.push_back(x + (__builtin_ctzll(diff) >> 3));
        s.rowOf.push_back(y);
        diff &= diff - 1;
      }
    }
    for (; x < w; ++x)
      if ((cur[x] != 0) != (prev[x] != 0)) {
        s.columnOf.push_back(x);
        s.rowOf.push_back(y);
      }
  }
  const size_t t = s.columnOf.size();
  s.perColumn.assign(size_t{w} + 1, 0);
  for (size_t i = 0; i < t; ++i) ++s.perColumn[s.columnOf[i] + 1];
  for (uint32_t x = 0; x < w; ++x) s.perColumn[x + 1] += s.perColumn[x];
  s.positions.resize(t);
  for (size_t i = 0; i < t; ++i) s.positions[s.perColumn[s.columnOf[i]]++] = s.columnOf[i] * h + s.rowOf[i];
  out.counts.reserve(t + 1);
  uint32_t last = 0;
  for (size_t i = 0; i < t; ++i) {
    out.counts.push_back(s.positions[i] - last);
    last = s.positions[i];
  }
  out.counts.push_back(static_cast<uint32_t>(pixels) - last);
}

// Writes each column's first value into row 0 and a 1 wherever a column changes value into rows 1.., then turns
// the change marks into values by XOR-ing every row into the next (sequential, eight bytes at a time).
void decodeOne(const Rle& r, uint8_t* out) {
  const uint32_t h = r.h, w = r.w;
  const uint64_t pixels = uint64_t{h} * w;
  if (pixels == 0) return;
  std::memset(out, 0, pixels);
  uint64_t pos = 0;
  bool value = false;
  for (size_t j = 0; j < r.counts.size(); ++j) {
    const uint64_t end = pos + r.counts[j];
    if (value) {
      // Columns whose first pixel this run covers start set.
      for (uint64_t x = (pos + h - 1) / h; x * h < end; ++x) out[x] = 1;
    }
    if (end < pixels && j + 1 < r.counts.size()) {
      const uint32_t x = static_cast<uint32_t>(end / h), y = static_cast<uint32_t>(end % h);
      if (y > 0) out[uint64_t{y} * w + x] ^= 1;
    }
    pos = end;
    value = !value;
  }
  for (uint32_t y = 1; y < h; ++y) {
    uint8_t* cur = out + uint64_t{y} * w;
    const uint8_t* prev = cur - w;
    uint32_t x = 0;
    for (; x + 8 <= w; x += 8) {
      const uint64_t v = load8(cur + x) ^ load8(prev + x);
      std::memcpy(cur + x, &v, 8);
    }
    for (; x < w; ++x) cur[x] ^= prev[x];
  }
}

// Sorts marks (column*h + row, row ≤ h; or h*w): bucketed by column, then each bucket (a few marks) by insertion.
void sortMarks(std::vector<uint32_t>& marks, uint32_t h, uint32_t w) {
  if (h == 0 || marks.size() < 64) {
    std::sort(marks.begin(), marks.end());
    return;
  }
  thread_local std::vector<uint32_t> start, sorted;
  start.assign(size_t{w} + 3, 0);
  for (uint32_t m : marks) ++start[m / h + 1];
  for (size_t b = 1; b < start.size(); ++b) start[b] += start[b - 1];
  sorted.resize(marks.size());
  for (uint32_t m : marks) sorted[start[m / h]++] = m;
  // start[b] now ends bucket b; sort inside each bucket.
  for (size_t b = 0, begin = 0; b + 1 < start.size(); begin = start[b++]) {
    for (size_t i = begin + 1; i < start[b]; ++i) {
      const uint32_t v = sorted[i];
      size_t j = i;
      for (; j > begin && sorted[j - 1] > v; --j) sorted[j] = sorted[j - 1];
      sorted[j] = v;
    }
  }
  marks.swap(sorted);
}

}  // namespace

// rleFrPoly's tail: the sorted marks (with h*w appended) differ into runs; a zero difference (two marks at one
// place cancel) joins the run after it onto the one before.
Rle core::runsFromMarks(std::vector<uint32_t>& marks, uint32_t h, uint32_t w) {
  marks.push_back(static_cast<uint32_t>(uint64_t{h} * w));
  sortMarks(marks, h, w);
  Rle r;
  r.h = h, r.w = w;
  uint32_t prev = 0;
  for (size_t j = 0; j < marks.size(); ++j) {
    const uint32_t run = marks[j] - prev;
    prev = marks[j];
    if (j == 0 || run > 0) {
      r.counts.push_back(run);
    } else if (++j < marks.size()) {
      r.counts.back() += marks[j] - prev;
      prev = marks[j];
    }
  }
  return r;
}

// Each RLE gets fixed slices of the shared arrays (its runs, w columns, and room for every segment: a run of ones
// makes one segment plus one per column boundary it crosses, and the runs together cross at most w − 1), so that
// the RLEs can be prepared in parallel.
core::PreparedSet::PreparedSet(const Rle* a, int64_t m, const Rle* b, int64_t n) {
  const int64_t total = m + n;
  auto rle = [&](int64_t i) -> const Rle& { return i < m ? a[i] : b[i - m]; };
  items.resize(total);
  uint64_t runs = 0, columns = 0, room = 0;
  for (int64_t i = 0; i < total; ++i) {
    Prepared& p = items[i];
    p = Prepared{};
    p.countsOffset = runs, p.columnOffset = columns, p.segmentOffset = room, p.multiOffset = columns;
    runs += rle(i).counts.size();
    columns += rle(i).w;
    room += rle(i).counts.size() / 2 + rle(i).w;
  }
  counts.resize(runs);
  firstY0.assign(columns, 0), firstY1.assign(columns, 0), segmentsInColumn.assign(columns, 0);
  firstSegment.assign(columns, 0);
  segments.resize(2 * room);
  multiColumns.resize(columns);
  parallelFor(total, 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const Rle& r = rle(i);
      Prepared& p = items[i];
      p.m = static_cast<uint32_t>(r.counts.size());
      p.h = r.h, p.w = r.w;
      p.area = area(r);
      toBbox(r, p.bb);
      std::copy(r.counts.begin(), r.counts.end(), counts.begin() + p.countsOffset);
      uint32_t pos = 0, segment = 0;
      for (size_t j = 0; j < r.counts.size(); ++j) {
        if (j > 0 && r.counts[j] == 0) p.interiorZero = 1;
        const uint32_t runEnd = pos + r.counts[j];
        // A run of ones split at column boundaries.
        for (uint32_t at = pos; j % 2 == 1 && at < runEnd;) {
          const uint32_t x = at / r.h, columnStart = x * r.h;
          const uint32_t stop = runEnd - columnStart < r.h ? runEnd : columnStart + r.h;
          const uint64_t c = p.columnOffset + x;
          const uint32_t y0 = at - columnStart, y1 = stop - columnStart;
          if (segmentsInColumn[c]++ == 0) {
            firstY0[c] = static_cast<int32_t>(y0), firstY1[c] = static_cast<int32_t>(y1);
            firstSegment[c] = segment;
          }
          segments[2 * (p.segmentOffset + segment)] = y0;
          segments[2 * (p.segmentOffset + segment) + 1] = y1;
          ++segment;
          at = stop;
        }
        pos = runEnd;
      }
      for (uint32_t x = 0; x < r.w; ++x)
        if (segmentsInColumn[p.columnOffset + x] > 1) multiColumns[p.multiOffset + p.multiCount++] = x;
    }
  });
}

std::string toString(const Rle& r) {
  std::string s;
  s.reserve(r.counts.size() * 3);
  for (size_t i = 0; i < r.counts.size(); ++i) {
    int64_t x = r.counts[i];
    if (i > 2) x -= r.counts[i - 2];
    for (bool more = true; more;) {
      char c = static_cast<char>(x & 0x1f);
      x >>= 5;  // arithmetic: the sign carries down
      more = (c & 0x10) ? x != -1 : x != 0;
      if (more) c |= 0x20;
      s.push_back(static_cast<char>(c + 48));
    }
  }
  return s;
}

Rle fromString(std::string_view s, uint32_t h, uint32_t w, const std::string& what) {
  const uint64_t pixels = uint64_t{h} * w;
  if (pixels > kMaxPixels) throw InvalidInput(what + ": size " + std::to_string(h) + "×" + std::to_string(w) + " is too large");
  Rle r;
  r.h = h, r.w = w;
  uint64_t total = 0;
  size_t p = 0;
  while (p < s.size()) {
    int64_t x = 0;
    int shift = 0;
    for (bool more = true; more; shift += 5) {
      if (p >= s.size()) throw InvalidInput(what + " is corrupt: it ends inside a value");
      const int c = static_cast<unsigned char>(s[p++]) - 48;
      if (c < 0 || c > 63) throw InvalidInput(what + " is corrupt: character " + std::to_string(p - 1) + " is not in '0'..'o'");
      if (shift > 35) throw InvalidInput(what + " is corrupt: a value is too long");
      x |= static_cast<int64_t>(c & 0x1f) << shift;
      more = c & 0x20;
      if (!more && (c & 0x10)) x |= -(int64_t{1} << (shift + 5));  // sign-extend
    }
    if (r.counts.size() > 2) x += r.counts[r.counts.size() - 2];
    if (x < 0 || x > UINT32_MAX)
      throw InvalidInput(what + " is corrupt: run " + std::to_string(r.counts.size()) + " is " + std::to_string(x));
    total += static_cast<uint64_t>(x);
    if (total > pixels)
      throw InvalidInput(what + " is corrupt: its runs cover more than height×width = " + std::to_string(pixels) + " pixels");
    r.counts.push_back(static_cast<uint32_t>(x));
  }
  if (total != pixels)
    throw InvalidInput(what + " is corrupt: its runs cover " + std::to_string(total) + " pixels, not height×width = " +
                       std::to_string(pixels));
  return r;
}

void encodeCpu(const uint8_t* masks, int64_t n, uint32_t h, uint32_t w, Rle* out) {
  const uint64_t pixels = uint64_t{h} * w;
  parallelFor(n, 1, [&](int64_t begin, int64_t end) {
    EncodeScratch scratch;
    for (int64_t i = begin; i < end; ++i) encodeOne(masks + i * pixels, h, w, scratch, out[i]);
  });
}

void decodeCpu(const Rle* rles, int64_t n, uint8_t* out) {
  if (n == 0) return;
  const uint64_t pixels = uint64_t{rles[0].h} * rles[0].w;
  parallelFor(n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) decodeOne(rles[i], out + i * pixels);
  });
}

uint32_t area(const Rle& r) {
  uint32_t a = 0;
  for (size_t j = 1; j < r.counts.size(); j += 2) a += r.counts[j];
  return a;
}

// 2.0.8's rleToBbox, in its 32-bit unsigned arithmetic (a run of ones that crosses a column spans all rows).
void toBbox(const Rle& r, double* bb) {
  const uint32_t h = r.h, w = r.w;
  const size_t m = r.counts.size() / 2 * 2;
  if (m == 0) {
    bb[0] = bb[1] = bb[2] = bb[3] = 0;
    return;
  }
  uint32_t xs = w, ys = h, xe = 0, ye = 0, cc = 0;
  for (size_t j = 0; j < m; ++j) {
    const uint32_t start = cc;
    cc += r.counts[j];
    if (j % 2 == 0 || r.counts[j] == 0) continue;
    const uint32_t yStart = start % h, xStart = (start - yStart) / h;
    const uint32_t yEnd = (cc - 1) % h, xEnd = (cc - 1 - yEnd) / h;
    xs = std::min(xs, xStart);
    xe = std::max(xe, xEnd);
    if (xStart < xEnd) {
      ys = 0, ye = h - 1;
    } else {
      ys = std::min(ys, yStart);
      ye = std::max(ye, yEnd);
    }
  }
  bb[0] = xs, bb[2] = static_cast<uint32_t>(xe - xs + 1);
  bb[1] = ys, bb[3] = static_cast<uint32_t>(ye - ys + 1);
}

// rleMerge's fold: each step walks the accumulated runs against the next RLE's and starts a new run wherever
// the combined value changes (or at the very end).
Rle merge(const Rle* rles, int64_t n, bool intersect) {
  Rle acc = rles[0];
  std::vector<uint32_t> next;
  for (int64_t i = 1; i < n; ++i) {
    const std::vector<uint32_t>& A = acc.counts;
    const std::vector<uint32_t>& B = rles[i].counts;
    next.clear();
    if (A.empty() || B.empty()) {  // only an empty mask (h*w == 0) can have no runs
      acc.counts.clear();
      continue;
    }
    uint32_t ca = A[0], cb = B[0], cc = 0, ct = 1;
    size_t a = 1, b = 1;
    bool va = false, vb = false, v = false;
    while (ct > 0) {
      const uint32_t c = std::min(ca, cb);
      cc += c;
      ca -= c;
      if (!ca && a < A.size()) ca = A[a++], va = !va;
      cb -= c;
      if (!cb && b < B.size()) cb = B[b++], vb = !vb;
      ct = ca + cb;
      const bool vp = v;
      v = intersect ? (va && vb) : (va || vb);
      if (v != vp || ct == 0) {
        next.push_back(cc);
        cc = 0;
      }
    }
    acc.counts.swap(next);
  }
  return acc;
}

void iouCpu(const Rle* dt, int64_t m, const Rle* gt, int64_t n, const uint8_t* iscrowd, double* out) {
  const core::PreparedSet set(dt, m, gt, n);
  const core::Shared sh = set.view();
  const core::Prepared* items = set.items.data();
  parallelFor(m * n, 64, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const int64_t d = p / n, g = p % n;
      out[p] = core::pairIou(items[d], items[m + g], sh, iscrowd && iscrowd[g]);
    }
  });
}

void fromPolygonsCpu(const double* xy, const uint32_t* offsets, int64_t n, uint32_t h, uint32_t w, Rle* out) {
  parallelFor(n, 8, [&](int64_t begin, int64_t end) {
    std::vector<uint32_t> marks;
    for (int64_t i = begin; i < end; ++i) {
      marks.clear();
      core::polygonMarks(xy + offsets[i], (offsets[i + 1] - offsets[i]) / 2, h, w,
                         [&](uint32_t mark) { marks.push_back(mark); });
      out[i] = core::runsFromMarks(marks, h, w);
    }
  });
}

void fromBoxesCpu(const double* boxes, int64_t n, uint32_t h, uint32_t w, Rle* out) {
  for (int64_t i = 0; i < n; ++i) {
    const double* b = boxes + 4 * i;
    const double xs = b[0], xe = xs + b[2], ys = b[1], ye = ys + b[3];
    const double corners[8] = {xs, ys, xs, ye, xe, ye, xe, ys};
    const uint32_t offsets[2] = {0, 8};
    fromPolygonsCpu(corners, offsets, 1, h, w, out + i);
  }
}

}  // namespace hybridgl::rle
