// Masks at token resolution (spec §4): n binary H×W masks → n×grid×grid floats.
//   Bilinear: the mask as float resized bilinear, align_corners=False, no antialias — the reference's point
//             samples (QUIRK aliased-pool).
//   Area:     the exact fraction of each grid cell covered by the mask (box filter over the continuous cell),
//             computed from integer overlap counts.
#pragma once

#include <cstdint>
#include <vector>

#include "backend.h"

namespace hybridgl::mask_grid {

enum class Mode { Bilinear, Area };

// Integer overlaps of one axis for the area mode: output cell o spans [o·in, (o+1)·in) and input index i spans
// [i·out, (i+1)·out) in units of 1/(in·out); cell o gets overlap[k] for input first[o] + k.
struct AreaAxis {
  int maxTaps = 0;
  std::vector<int32_t> first, count;
  std::vector<int64_t> overlap;  // outSize × maxTaps
};
AreaAxis areaAxis(int inSize, int outSize);

void poolCpu(const uint8_t* masks, int64_t n, int height, int width, int grid, Mode mode, float* out);
void poolCuda(const uint8_t* masks, int64_t n, int height, int width, int grid, Mode mode, float* out);

inline void pool(Backend be, const uint8_t* masks, int64_t n, int height, int width, int grid, Mode mode,
                 float* out) {
#ifdef HYBRIDGL_WITH_CUDA
  if (be == Backend::Cuda) return poolCuda(masks, n, height, width, grid, mode, out);
#endif
  poolCpu(masks, n, height, width, grid, mode, out);
}

}  // namespace hybridgl::mask_grid
