// Per-pair RLE IoU shared by rle.cc and rle.cu (host and device), so that both give the same bits.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "rle.h"

#ifdef __CUDACC__
#define HG_HD __host__ __device__
#else
#define HG_HD
#endif

namespace hybridgl::rle::core {

// One RLE prepared for IoU: its runs, and its set pixels split into per-column segments of rows [y0, y1), all as
// offsets into shared arrays (see Shared); plus its 2.0.8 box and area.
struct Prepared {
  uint64_t countsOffset;   // m run counts
  uint64_t columnOffset;   // w entries in each per-column array
  uint64_t segmentOffset;  // segments as y0,y1 pairs
  uint64_t multiOffset;    // the columns holding two segments or more, ascending
  uint32_t multiCount;
  uint32_t m, h, w, area;
  uint32_t interiorZero;  // a zero-length run after the first one
  double bb[4];
};

// The arrays Prepared points into. Per column: the first segment's rows (0, 0 for an empty column), the number of
// segments and the index of the first one (relative to the RLE's segmentOffset).
struct Shared {
  const uint32_t* counts;
  const int32_t* firstY0;
  const int32_t* firstY1;
  const uint32_t* segmentsInColumn;
  const uint32_t* firstSegment;
  const uint32_t* segments;
  const uint32_t* multiColumns;
};

// Host-side builder of Prepared RLEs and their shared arrays: the m RLEs of a, then the n of b.
struct PreparedSet {
  std::vector<uint32_t> counts, segmentsInColumn, firstSegment, segments, multiColumns;
  std::vector<int32_t> firstY0, firstY1;
  std::vector<Prepared> items;
  PreparedSet(const Rle* a, int64_t m, const Rle* b, int64_t n);
  Shared view() const {
    return {counts.data(),       firstY0.data(),  firstY1.data(),     segmentsInColumn.data(),
            firstSegment.data(), segments.data(), multiColumns.data()};
  }
};

// A product that the device compiler may not fuse into a multiply-add (the host build does not fuse either).
HG_HD inline double mulNoFma(double a, double b) {
#ifdef __CUDA_ARCH__
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}

HG_HD inline double fminExact(double a, double b) { return a < b ? a : (b < a ? b : a); }
HG_HD inline double fmaxExact(double a, double b) { return a > b ? a : (b > a ? b : a); }

// bbIou for one pair, with maskApi.c's evaluation order (boxes hold integers, so every step is exact).
HG_HD inline double boxIou(const double* D, const double* G, bool crowd) {
  const double ga = mulNoFma(G[2], G[3]), da = mulNoFma(D[2], D[3]);
  const double w = fminExact(D[2] + D[0], G[2] + G[0]) - fmaxExact(D[0], G[0]);
  if (w <= 0) return 0;
  const double h = fminExact(D[3] + D[1], G[3] + G[1]) - fmaxExact(D[1], G[1]);
  if (h <= 0) return 0;
  const double i = mulNoFma(w, h), u = crowd ? da : da + ga - i;
  return i / u;
}

// Rows shared by the first segments of two columns (a column without any has rows [0, 0)).
HG_HD inline int32_t firstOverlap(int32_t a0, int32_t a1, int32_t b0, int32_t b1) {
  const int32_t top = a0 > b0 ? a0 : b0, bottom = a1 < b1 ? a1 : b1;
  return bottom > top ? bottom - top : 0;
}

// Rows shared by column x of A and of B, merging their segment lists.
HG_HD inline int32_t columnOverlap(const Prepared& A, const Prepared& B, const Shared& sh, uint32_t x) {
  const uint32_t na = sh.segmentsInColumn[A.columnOffset + x], nb = sh.segmentsInColumn[B.columnOffset + x];
  const uint32_t* sa = sh.segments + 2 * (A.segmentOffset + sh.firstSegment[A.columnOffset + x]);
  const uint32_t* sb = sh.segments + 2 * (B.segmentOffset + sh.firstSegment[B.columnOffset + x]);
  int32_t inter = 0;
  for (uint32_t p = 0, q = 0; p < na && q < nb;) {
    const uint32_t s1 = sa[2 * p], e1 = sa[2 * p + 1], s2 = sb[2 * q], e2 = sb[2 * q + 1];
    inter += firstOverlap(s1, e1, s2, e2);
    if (e1 <= e2) ++p;
    else ++q;
  }
  return inter;
}

// |A ∧ B| over the columns both boxes span: first the overlap of each column's first segments (a loop the
// compiler vectorises), then a correction for the columns where either mask has more than one segment.
HG_HD inline uint32_t intersectColumns(const Prepared& A, const Prepared& B, const Shared& sh) {
  if (A.area == 0 || B.area == 0) return 0;
  const uint32_t lo = static_cast<uint32_t>(fmaxExact(A.bb[0], B.bb[0]));
  const uint32_t hi = static_cast<uint32_t>(fminExact(A.bb[0] + A.bb[2], B.bb[0] + B.bb[2]));
  const int32_t *ay0 = sh.firstY0 + A.columnOffset, *ay1 = sh.firstY1 + A.columnOffset;
  const int32_t *by0 = sh.firstY0 + B.columnOffset, *by1 = sh.firstY1 + B.columnOffset;
  int32_t inter = 0;  // at most h*w < 2^31
  for (uint32_t x = lo; x < hi; ++x) inter += firstOverlap(ay0[x], ay1[x], by0[x], by1[x]);
  const uint32_t *ma = sh.multiColumns + A.multiOffset, *mb = sh.multiColumns + B.multiOffset;
  for (uint32_t p = 0, q = 0; p < A.multiCount || q < B.multiCount;) {
    const uint32_t xa = p < A.multiCount ? ma[p] : UINT32_MAX, xb = q < B.multiCount ? mb[q] : UINT32_MAX;
    const uint32_t x = xa < xb ? xa : xb;
    p += xa == x, q += xb == x;
    if (x >= hi) break;
    if (x < lo) continue;
    inter += columnOverlap(A, B, sh, x) - firstOverlap(ay0[x], ay1[x], by0[x], by1[x]);
  }
  return static_cast<uint32_t>(inter);
}

// (int)d as x86-64's cvttsd2si computes it, NaN included (rleFrPoly converts 0/0 for a repeated vertex; that
// value is never used, but the conversion must not be undefined here).
HG_HD inline int truncToInt(double d) {
  if (!(d > -2147483649.0 && d < 2147483648.0)) return INT32_MIN;
  return static_cast<int>(d);
}

// rleFrPoly's boundary walk: the polygon is upsampled ×5 and its edges walked one point at a time; wherever the
// walk changes x, a point may mark (column*h + row) where a column's run of set pixels begins or ends. Calls
// emit(mark) for each, in walk order.
template <typename Emit>
HG_HD void polygonMarks(const double* xy, uint32_t k, uint32_t h, uint32_t w, Emit&& emit) {
  const double scale = 5;
  const double height = static_cast<double>(h);
  bool havePrev = false;
  int pu = 0, pv = 0;
  // maskApi.c keeps a step where (X + .5) / 5 − .5 is a whole column in [0, w − 1], X being the step's smaller
  // upsampled x. In doubles that value is whole exactly when X ≡ 2 (mod 5) (otherwise its fraction is a tenth
  // away from whole, far beyond rounding), and then it is exactly (X − 2) / 5: tested here in integers.
  auto visit = [&](int u, int v) {
    if (havePrev && u != pu) {
      const int64_t X = u < pu ? u : u - 1;
      const int64_t column = (X - 2) / 5;
      if (X >= 2 && (X - 2) % 5 == 0 && (w == 0 || column <= static_cast<int64_t>(w) - 1)) {
        double yd = static_cast<double>(v < pv ? v : pv);
        yd = (yd + .5) / scale - .5;
        if (yd < 0) yd = 0;
        else if (yd > height) yd = height;
        yd = ceil(yd);
        emit(static_cast<uint32_t>(static_cast<int>(column) * static_cast<int>(h) + static_cast<int>(yd)));
      }
    }
    havePrev = true, pu = u, pv = v;
  };
  auto vertexX = [&](uint32_t j) { return truncToInt(mulNoFma(scale, xy[2 * (j % k)]) + .5); };
  auto vertexY = [&](uint32_t j) { return truncToInt(mulNoFma(scale, xy[2 * (j % k) + 1]) + .5); };
  for (uint32_t j = 0; j < k; ++j) {
    int xs = vertexX(j), xe = vertexX(j + 1), ys = vertexY(j), ye = vertexY(j + 1);
    const int dx = xe > xs ? xe - xs : xs - xe, dy = ye > ys ? ye - ys : ys - ye;
    const bool flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      const int tx = xs, ty = ys;
      xs = xe, ys = ye, xe = tx, ye = ty;
    }
    const double slope = dx >= dy ? static_cast<double>(ye - ys) / dx : static_cast<double>(xe - xs) / dy;
    if (dx >= dy) {
      for (int d = 0; d <= dx; ++d) {
        const int t = flip ? dx - d : d;
        visit(t + xs, truncToInt(ys + mulNoFma(slope, t) + .5));
      }
    } else {
      for (int d = 0; d <= dy; ++d) {
        const int t = flip ? dy - d : d;
        visit(truncToInt(xs + mulNoFma(slope, t) + .5), t + ys);
      }
    }
  }
}

// Sorts the marks, appends h*w, and turns them into the polygon's runs (host only).
Rle runsFromMarks(std::vector<uint32_t>& marks, uint32_t h, uint32_t w);

// rleIou's own run walk, kept for RLEs with zero-length runs inside, where it may stop early.
HG_HD inline void walkRuns(const uint32_t* A, uint32_t ka, const uint32_t* B, uint32_t kb, uint32_t& inter,
                           uint32_t& uni) {
  uint32_t ca = A[0], cb = B[0], a = 1, b = 1, ct = 1;
  bool va = false, vb = false;
  inter = uni = 0;
  while (ct > 0) {
    const uint32_t c = ca < cb ? ca : cb;
    if (va || vb) {
      uni += c;
      if (va && vb) inter += c;
    }
    ca -= c;
    if (!ca && a < ka) ca = A[a++], va = !va;
    cb -= c;
    if (!cb && b < kb) cb = B[b++], vb = !vb;
    ct = ca + cb;
  }
}

// One entry of rleIou: dt D against gt G.
HG_HD inline double pairIou(const Prepared& D, const Prepared& G, const Shared& sh, bool crowd) {
  const double o = boxIou(D.bb, G.bb, crowd);
  if (!(o > 0)) return o;
  if (D.h != G.h || D.w != G.w) return -1;
  uint32_t inter, uni;
  if (D.interiorZero && G.interiorZero) {
    walkRuns(sh.counts + D.countsOffset, D.m, sh.counts + G.countsOffset, G.m, inter, uni);
  } else {
    inter = intersectColumns(D, G, sh);
    uni = D.area + G.area - inter;
  }
  if (inter == 0) uni = 1;
  else if (crowd) uni = D.area;
  return static_cast<double>(inter) / static_cast<double>(uni);
}

}  // namespace hybridgl::rle::core
