// Heatmap kernels of the spatial-coherence score (spec §7–§8): bilinear map resizes (PyTorch float32 arithmetic,
// align_corners=False, with or without antialias) and, for n masks over one H×W map, the sums inside each mask.
#pragma once

#include <cstdint>

#include "backend.h"

namespace hybridgl::heatmap {

// channels planes of inH×inW → outH×outW, row-major planes back to back.
void resizeCpu(const float* src, int channels, int inH, int inW, int outH, int outW, bool antialias, float* dst);
void resizeCuda(const float* src, int channels, int inH, int inW, int outH, int outW, bool antialias, float* dst);

// sumInside[m] = Σ map over mask m (double), countInside[m] = |m|; total = Σ map. The CPU kernel sums blocks of
// kSumBlock pixels in float (in any order: vectorised or not) and folds them into a double, so its error is at most
// about kSumBlock·2⁻²⁴·Σ|map| over the mask (Higham's bound for any order of kSumBlock float additions).
constexpr int64_t kSumBlock = 4096;
void maskSumsCpu(const float* map, const uint8_t* masks, int64_t n, int64_t pixels, double* sumInside,
                 int64_t* countInside, double* total);
void maskSumsCuda(const float* map, const uint8_t* masks, int64_t n, int64_t pixels, double* sumInside,
                  int64_t* countInside, double* total);

// The §7 map normalisation in float32, each step optional and in this order: (x − min)/(max − min) (NaN
// everywhere when the map holds a NaN or is constant, as torch); × priorRow[x] on every row (when given);
// ÷ the mean (accumulated in double, rounded to float). Runs once per expression, so CPU only on every backend.
void normalizeCpu(const float* map, int64_t height, int64_t width, bool minMax, const float* priorRow,
                  bool divideByMean, float* out);

inline void resize(Backend be, const float* src, int channels, int inH, int inW, int outH, int outW, bool antialias,
                   float* dst) {
#ifdef HYBRIDGL_WITH_CUDA
  if (be == Backend::Cuda) return resizeCuda(src, channels, inH, inW, outH, outW, antialias, dst);
#endif
  resizeCpu(src, channels, inH, inW, outH, outW, antialias, dst);
}

inline void maskSums(Backend be, const float* map, const uint8_t* masks, int64_t n, int64_t pixels,
                     double* sumInside, int64_t* countInside, double* total) {
#ifdef HYBRIDGL_WITH_CUDA
  if (be == Backend::Cuda) return maskSumsCuda(map, masks, n, pixels, sumInside, countInside, total);
#endif
  maskSumsCpu(map, masks, n, pixels, sumInside, countInside, total);
}

}  // namespace hybridgl::heatmap
