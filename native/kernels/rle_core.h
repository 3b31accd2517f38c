// Per-pair RLE IoU shared by rle.cc and rle.cu (host and device), so that both give the same bits.
#pragma once

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
  uint32_t m, h, w, area;
  uint32_t interiorZero;  // a zero-length run after the first one
  double bb[4];
};

// The arrays Prepared points into. Per column: the first segment's rows (0, 0 for an empty column), the number of
// segments and the index of the first one (relative to the RLE's segmentOffset).
struct Shared {
  const uint32_t* counts;
  const uint32_t* firstY0;
  const uint32_t* firstY1;
  const uint32_t* segmentsInColumn;
  const uint32_t* firstSegment;
  const uint32_t* segments;
};

// Host-side builder of Prepared RLEs and their shared arrays.
struct PreparedSet {
  std::vector<uint32_t> counts, firstY0, firstY1, segmentsInColumn, firstSegment, segments;
  std::vector<Prepared> items;
  void add(const Rle& r);
  Shared view() const {
    return {counts.data(), firstY0.data(), firstY1.data(), segmentsInColumn.data(), firstSegment.data(),
            segments.data()};
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

// |A ∧ B| column by column over the columns both boxes span. Most columns of a mask hold at most one segment;
// those pairs cost one overlap, the rest merge their segment lists.
HG_HD inline uint32_t intersectColumns(const Prepared& A, const Prepared& B, const Shared& sh) {
  if (A.area == 0 || B.area == 0) return 0;
  const uint32_t lo = static_cast<uint32_t>(fmaxExact(A.bb[0], B.bb[0]));
  const uint32_t hi = static_cast<uint32_t>(fminExact(A.bb[0] + A.bb[2], B.bb[0] + B.bb[2]));
  const uint32_t *ay0 = sh.firstY0 + A.columnOffset, *ay1 = sh.firstY1 + A.columnOffset;
  const uint32_t *by0 = sh.firstY0 + B.columnOffset, *by1 = sh.firstY1 + B.columnOffset;
  const uint32_t *an = sh.segmentsInColumn + A.columnOffset, *bn = sh.segmentsInColumn + B.columnOffset;
  int64_t inter = 0;
  for (uint32_t x = lo; x < hi; ++x) {
    if (an[x] <= 1 && bn[x] <= 1) {
      const int64_t top = ay0[x] > by0[x] ? ay0[x] : by0[x], bottom = ay1[x] < by1[x] ? ay1[x] : by1[x];
      inter += bottom > top ? bottom - top : 0;
      continue;
    }
    const uint32_t* sa = sh.segments + 2 * (A.segmentOffset + sh.firstSegment[A.columnOffset + x]);
    const uint32_t* sb = sh.segments + 2 * (B.segmentOffset + sh.firstSegment[B.columnOffset + x]);
    uint32_t p = 0, q = 0;
    while (p < an[x] && q < bn[x]) {
      const uint32_t s1 = sa[2 * p], e1 = sa[2 * p + 1], s2 = sb[2 * q], e2 = sb[2 * q + 1];
      const int64_t top = s1 > s2 ? s1 : s2, bottom = e1 < e2 ? e1 : e2;
      inter += bottom > top ? bottom - top : 0;
      if (e1 <= e2) ++p;
      else ++q;
    }
  }
  return static_cast<uint32_t>(inter);
}

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
