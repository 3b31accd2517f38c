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

// One RLE prepared for IoU: offsets into shared arrays of run counts and of set intervals [start, end) (as
// start,end pairs, column-major positions), plus its 2.0.8 box and area.
struct Prepared {
  uint64_t countsOffset;
  uint64_t onesOffset;  // in intervals (2 values each)
  uint32_t m;           // number of runs
  uint32_t nOnes;       // number of set intervals
  uint32_t h, w, area;
  uint32_t interiorZero;  // a zero-length run after the first one
  double bb[4];
};

// Appends r's runs and set intervals to the shared arrays and describes it (host only).
Prepared prepare(const Rle& r, std::vector<uint32_t>& counts, std::vector<uint32_t>& ones);

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

// First interval (of n, as start,end pairs) whose end is past pos.
HG_HD inline uint32_t firstEndingAfter(const uint32_t* iv, uint32_t n, uint32_t pos) {
  uint32_t lo = 0, hi = n;
  while (lo < hi) {
    const uint32_t mid = (lo + hi) / 2;
    if (iv[2 * mid + 1] <= pos) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// |A ∧ B| from the set intervals, looking only at the columns both boxes span.
HG_HD inline uint32_t intersectIntervals(const Prepared& A, const uint32_t* ia, const Prepared& B, const uint32_t* ib) {
  if (A.area == 0 || B.area == 0) return 0;
  const double lo = fmaxExact(A.bb[0], B.bb[0]);
  const double hi = fminExact(A.bb[0] + A.bb[2], B.bb[0] + B.bb[2]);  // exclusive column bound
  const uint64_t begin = static_cast<uint64_t>(lo) * A.h;
  const uint64_t end = static_cast<uint64_t>(hi) * A.h;
  uint32_t p = firstEndingAfter(ia, A.nOnes, static_cast<uint32_t>(begin));
  uint32_t q = firstEndingAfter(ib, B.nOnes, static_cast<uint32_t>(begin));
  uint32_t inter = 0;
  while (p < A.nOnes && q < B.nOnes) {
    const uint32_t s1 = ia[2 * p], e1 = ia[2 * p + 1], s2 = ib[2 * q], e2 = ib[2 * q + 1];
    if (s1 >= end || s2 >= end) break;
    const uint32_t s = s1 > s2 ? s1 : s2, e = e1 < e2 ? e1 : e2;
    if (e > s) inter += e - s;
    if (e1 < e2) ++p;
    else ++q;
  }
  return inter;
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
HG_HD inline double pairIou(const Prepared& D, const Prepared& G, const uint32_t* counts, const uint32_t* ones,
                            bool crowd) {
  const double o = boxIou(D.bb, G.bb, crowd);
  if (!(o > 0)) return o;
  if (D.h != G.h || D.w != G.w) return -1;
  uint32_t inter, uni;
  if (D.interiorZero && G.interiorZero) {
    walkRuns(counts + D.countsOffset, D.m, counts + G.countsOffset, G.m, inter, uni);
  } else {
    inter = intersectIntervals(D, ones + 2 * D.onesOffset, G, ones + 2 * G.onesOffset);
    uni = D.area + G.area - inter;
  }
  if (inter == 0) uni = 1;
  else if (crowd) uni = D.area;
  return static_cast<double>(inter) / static_cast<double>(uni);
}

}  // namespace hybridgl::rle::core
