// COCO run-length encoding with the semantics of pycocotools 2.0.8 (common/maskApi.c): masks are H×W, runs are
// counted in column-major order and start with a run of zeros; `counts` strings use COCO's 6-bit LEB128 variant.
// Masks handed in and out here are row-major (byte y*w + x), any non-zero byte counting as set.
// Sizes are limited to h*w ≤ kMaxPixels so that every position fits the 32-bit arithmetic pycocotools uses.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "backend.h"

namespace hybridgl::rle {

constexpr uint64_t kMaxPixels = (uint64_t{1} << 31) - 1;

struct Rle {
  uint32_t h = 0, w = 0;
  std::vector<uint32_t> counts;  // alternating zero/one runs, column-major, sum == h*w
};

// Thrown for an input that is not a valid RLE or polygon; the message names it.
struct InvalidInput : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// COCO's compressed counts string (rleToString), and its inverse. fromString checks what pycocotools does not:
// characters in '0'..'o', no value cut short, counts in [0, 2^32), sum of counts == h*w. `what` names the input.
std::string toString(const Rle& r);
Rle fromString(std::string_view s, uint32_t h, uint32_t w, const std::string& what);

// Encodes n row-major masks of h×w (back to back) into out[0..n).
void encodeCpu(const uint8_t* masks, int64_t n, uint32_t h, uint32_t w, Rle* out);
void encodeCuda(const uint8_t* masks, int64_t n, uint32_t h, uint32_t w, Rle* out);

// Decodes n RLEs, all of size h×w, into n row-major 0/1 masks back to back.
void decodeCpu(const Rle* rles, int64_t n, uint8_t* out);
void decodeCuda(const Rle* rles, int64_t n, uint8_t* out);

// Number of set pixels (rleArea) and the 2.0.8 bounding box [x, y, w, h] (rleToBbox).
uint32_t area(const Rle& r);
void toBbox(const Rle& r, double* bb);

// Union (or intersection) of n ≥ 1 RLEs of one size, folded left to right exactly as rleMerge.
Rle merge(const Rle* rles, int64_t n, bool intersect);

// rleIou: out[d*n + g] = IoU of dt[d] with gt[g] (row-major m×n); a crowd gt divides by the dt area; pairs whose
// boxes do not overlap give 0 and pairs of different sizes whose boxes overlap give −1, as pycocotools.
void iouCpu(const Rle* dt, int64_t m, const Rle* gt, int64_t n, const uint8_t* iscrowd, double* out);
void iouCuda(const Rle* dt, int64_t m, const Rle* gt, int64_t n, const uint8_t* iscrowd, double* out);

// rleFrPoly: polygon i has coordinates xy[offsets[i] .. offsets[i+1]) as x0,y0,x1,y1,… (a trailing odd
// coordinate is ignored). Coordinates must be finite with |v| ≤ kMaxPolygonCoordinate.
constexpr double kMaxPolygonCoordinate = 1 << 22;
void fromPolygonsCpu(const double* xy, const uint32_t* offsets, int64_t n, uint32_t h, uint32_t w, Rle* out);
void fromPolygonsCuda(const double* xy, const uint32_t* offsets, int64_t n, uint32_t h, uint32_t w, Rle* out);

// rleFrBbox: each box [x, y, w, h] as the polygon of its four corners.
void fromBoxesCpu(const double* boxes, int64_t n, uint32_t h, uint32_t w, Rle* out);

inline void encode(Backend be, const uint8_t* masks, int64_t n, uint32_t h, uint32_t w, Rle* out) {
#ifdef HYBRIDGL_WITH_CUDA
  if (be == Backend::Cuda) return encodeCuda(masks, n, h, w, out);
#endif
  encodeCpu(masks, n, h, w, out);
}

inline void decode(Backend be, const Rle* rles, int64_t n, uint8_t* out) {
#ifdef HYBRIDGL_WITH_CUDA
  if (be == Backend::Cuda) return decodeCuda(rles, n, out);
#endif
  decodeCpu(rles, n, out);
}

inline void fromPolygons(Backend be, const double* xy, const uint32_t* offsets, int64_t n, uint32_t h, uint32_t w,
                         Rle* out) {
#ifdef HYBRIDGL_WITH_CUDA
  if (be == Backend::Cuda) return fromPolygonsCuda(xy, offsets, n, h, w, out);
#endif
  fromPolygonsCpu(xy, offsets, n, h, w, out);
}

inline void iou(Backend be, const Rle* dt, int64_t m, const Rle* gt, int64_t n, const uint8_t* iscrowd, double* out) {
#ifdef HYBRIDGL_WITH_CUDA
  if (be == Backend::Cuda) return iouCuda(dt, m, gt, n, iscrowd, out);
#endif
  iouCpu(dt, m, gt, n, iscrowd, out);
}

}  // namespace hybridgl::rle
