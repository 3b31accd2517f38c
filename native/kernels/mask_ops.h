// Dense binary-mask kernels: pairwise intersection/union counts and tight boxes.
// Masks are row-major H×W uint8, any non-zero byte counting as set; a batch is n masks back to back.
#pragma once

#include <cstdint>

#include "backend.h"

namespace hybridgl::mask_ops {

// inter[i*m + j] = |a_i ∧ b_j|, uni[i*m + j] = |a_i ∨ b_j|, exact counts.
void pairwiseCountsCpu(const uint8_t* a, int64_t n, const uint8_t* b, int64_t m, int64_t pixels, uint64_t* inter,
                       uint64_t* uni);
void pairwiseCountsCuda(const uint8_t* a, int64_t n, const uint8_t* b, int64_t m, int64_t pixels, uint64_t* inter,
                        uint64_t* uni);

// Inclusive XYXY (x2 = last set column) per mask into boxes[4*i..]; an empty mask gives 0,0,0,0.
void boxesCpu(const uint8_t* masks, int64_t n, int height, int width, int32_t* boxes);
void boxesCuda(const uint8_t* masks, int64_t n, int height, int width, int32_t* boxes);

inline void pairwiseCounts(Backend be, const uint8_t* a, int64_t n, const uint8_t* b, int64_t m, int64_t pixels,
                           uint64_t* inter, uint64_t* uni) {
#ifdef HYBRIDGL_WITH_CUDA
  if (be == Backend::Cuda) return pairwiseCountsCuda(a, n, b, m, pixels, inter, uni);
#endif
  pairwiseCountsCpu(a, n, b, m, pixels, inter, uni);
}

inline void boxes(Backend be, const uint8_t* masks, int64_t n, int height, int width, int32_t* out) {
#ifdef HYBRIDGL_WITH_CUDA
  if (be == Backend::Cuda) return boxesCuda(masks, n, height, width, out);
#endif
  boxesCpu(masks, n, height, width, out);
}

}  // namespace hybridgl::mask_ops
