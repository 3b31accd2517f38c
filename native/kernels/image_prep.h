// Image preparation kernels: Pillow-exact resampling of uint8 images, and normalisation to padded CHW float.
#pragma once

#include <cstdint>
#include <vector>

#include "backend.h"

namespace hybridgl::image_prep {

enum class Filter { Bilinear, Bicubic };

// Separable resampling weights for one axis, as Pillow computes them (support widened by the scale when
// shrinking, i.e. antialiased), converted to Pillow's 22-bit fixed point.
struct AxisWeights {
  int taps = 0;                 // weights per output sample
  std::vector<int32_t> bounds;  // per output sample: first input index, number of inputs
  std::vector<int32_t> coeffs;  // outSize × taps fixed-point weights
};
AxisWeights axisWeights(int inSize, int outSize, Filter filter);

constexpr int kPrecisionBits = 22;

// Resizes an HWC uint8 image (channels 1..4) to outH×outW exactly as Pillow's Image.resize does.
void resizeCpu(const uint8_t* src, int height, int width, int channels, int outH, int outW, Filter filter,
               uint8_t* dst);
void resizeCuda(const uint8_t* src, int height, int width, int channels, int outH, int outW, Filter filter,
                uint8_t* dst);

// HWC uint8 → CHW float32 of padH×padW: (v/scale − mean[c]) / std[c] inside, 0 in the bottom/right padding.
// scale is 255 for ToTensor-style inputs and 1 for SAM's pixel-valued mean/std.
void normalizeCpu(const uint8_t* src, int height, int width, float scale, const float* mean, const float* std,
                  int padH, int padW, float* dst);
void normalizeCuda(const uint8_t* src, int height, int width, float scale, const float* mean, const float* std,
                   int padH, int padW, float* dst);

inline void resize(Backend be, const uint8_t* src, int height, int width, int channels, int outH, int outW,
                   Filter filter, uint8_t* dst) {
#ifdef HYBRIDGL_WITH_CUDA
  if (be == Backend::Cuda) return resizeCuda(src, height, width, channels, outH, outW, filter, dst);
#endif
  resizeCpu(src, height, width, channels, outH, outW, filter, dst);
}

inline void normalize(Backend be, const uint8_t* src, int height, int width, float scale, const float* mean,
                      const float* std, int padH, int padW, float* dst) {
#ifdef HYBRIDGL_WITH_CUDA
  if (be == Backend::Cuda) return normalizeCuda(src, height, width, scale, mean, std, padH, padW, dst);
#endif
  normalizeCpu(src, height, width, scale, mean, std, padH, padW, dst);
}

}  // namespace hybridgl::image_prep
