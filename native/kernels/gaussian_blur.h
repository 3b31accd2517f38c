// OpenCV's GaussianBlur(img, (15, 15), 0) on uint8 images, bit-exact: σ from OpenCV's rule (2.6), the kernel in
// 8-bit fixed point with error diffusion, a horizontal pass kept at 8 fractional bits, a vertical pass at 16,
// rounding half up, border REFLECT_101. Images are row-major H×W×channels uint8.
#pragma once

#include <array>
#include <cstdint>

#include "backend.h"

namespace hybridgl::gaussian_blur {

constexpr int kTaps = 15;
constexpr int kRadius = kTaps / 2;

// The kernel as raw 8-bit fixed-point weights (they sum to 256).
std::array<uint16_t, kTaps> fixedKernel();

// OpenCV's borderInterpolate for REFLECT_101 (gfedcb|abcdefgh|gfedcba), repeated for short axes.
inline int reflect101(int p, int len) {
  if (len == 1) return 0;
  while (p < 0 || p >= len) p = p < 0 ? -p : 2 * len - 2 - p;
  return p;
}

void blurCpu(const uint8_t* src, int height, int width, int channels, uint8_t* dst);
void blurCuda(const uint8_t* src, int height, int width, int channels, uint8_t* dst);

inline void blur(Backend be, const uint8_t* src, int height, int width, int channels, uint8_t* dst) {
#ifdef HYBRIDGL_WITH_CUDA
  if (be == Backend::Cuda) return blurCuda(src, height, width, channels, dst);
#endif
  blurCpu(src, height, width, channels, dst);
}

}  // namespace hybridgl::gaussian_blur
