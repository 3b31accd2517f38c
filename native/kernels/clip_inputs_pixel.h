// One output pixel of the fused CLIP-input kernel, shared by the CPU and CUDA versions so both round alike.
#pragma once

#include "clip_inputs.h"
#include "resample.h"

namespace hybridgl::clip_inputs {

template <typename Out>
HG_HD inline Out store(float v);
template <>
HG_HD inline float store<float>(float v) {
  return v;
}
template <>
HG_HD inline uint16_t store<uint16_t>(float v) {
  return resample::floatToHalf(v);
}

// Writes channel c of the global and local images at one output pixel, given the taps and the mask.
template <typename Out>
HG_HD inline void pixel(const uint8_t* rgb, const uint8_t* blurred, const uint8_t* mask, int width,
                        const resample::Tap& ty, const resample::Tap& tx, const Constants& k, int64_t outIndex,
                        int64_t planeSize, Out* global, Out* local) {
  const int64_t p[4] = {static_cast<int64_t>(ty.i0) * width + tx.i0, static_cast<int64_t>(ty.i0) * width + tx.i1,
                        static_cast<int64_t>(ty.i1) * width + tx.i0, static_cast<int64_t>(ty.i1) * width + tx.i1};
  const bool in[4] = {mask[p[0]] != 0, mask[p[1]] != 0, mask[p[2]] != 0, mask[p[3]] != 0};
  for (int c = 0; c < 3; ++c) {
    float g[4], l[4];
    for (int q = 0; q < 4; ++q) {
      const uint8_t sharp = rgb[p[q] * 3 + c];
      g[q] = k.toUnit[in[q] ? sharp : blurred[p[q] * 3 + c]];
      l[q] = in[q] ? k.normalised[c][sharp] : k.fill[c];
    }
    const float gv = resample::blend(g[0], g[1], g[2], g[3], ty, tx);
    global[outIndex + c * planeSize] = store<Out>((gv - k.imagenetMean[c]) / k.imagenetStd[c]);
    local[outIndex + c * planeSize] = store<Out>(resample::blend(l[0], l[1], l[2], l[3], ty, tx));
  }
}

}  // namespace hybridgl::clip_inputs
