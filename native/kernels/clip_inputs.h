// The two CLIP inputs of each SAM proposal (spec §3), fused: for every output pixel the four bilinear taps are
// read straight from the image, the blurred image and the mask, so no full-resolution composite is ever built.
//   global = Normalize_ImageNet(resize(ToTensor(mask ? rgb : blurred)))
//   local  = resize(mask ? Normalize_ImageNet(ToTensor(rgb)) : CLIP mean)     (QUIRK local-fill)
// resize = bilinear, align_corners=False, no antialias, in PyTorch's float32 order.
// Inputs: rgb and blurred H×W×3 uint8, masks n×H×W uint8 (non-zero = inside), and optionally localSource, 3×H×W
// float32 taking the place of Normalize_ImageNet(ToTensor(rgb)) in the local image (PhraseCut's loop, spec §10,
// feeds its photo resized and resized back). Outputs n×3×outH×outW each, as float32 or as IEEE half bits.
#pragma once

#include <cstdint>

#include "backend.h"

namespace hybridgl::clip_inputs {

struct Shape {
  int height, width;        // source image
  int outHeight, outWidth;  // CLIP input (224×224)
};

// Per-channel constants in float32, as the reference's tensors hold them.
struct Constants {
  float imagenetMean[3], imagenetStd[3], fill[3];
  float toUnit[256];           // v / 255 (ToTensor)
  float normalised[3][256];    // (v / 255 - mean) / std
};
Constants constants();

// localSource may be null (the ImageNet-normalised rgb).
template <typename Out>
void buildCpu(const uint8_t* rgb, const uint8_t* blurred, const float* localSource, const uint8_t* masks, int64_t n,
              const Shape& s, Out* global, Out* local);
template <typename Out>
void buildCuda(const uint8_t* rgb, const uint8_t* blurred, const float* localSource, const uint8_t* masks, int64_t n,
               const Shape& s, Out* global, Out* local);

// Out is float (float32) or uint16_t (half bits).
template <typename Out>
inline void build(Backend be, const uint8_t* rgb, const uint8_t* blurred, const float* localSource,
                  const uint8_t* masks, int64_t n, const Shape& s, Out* global, Out* local) {
#ifdef HYBRIDGL_WITH_CUDA
  if (be == Backend::Cuda) return buildCuda(rgb, blurred, localSource, masks, n, s, global, local);
#endif
  buildCpu(rgb, blurred, localSource, masks, n, s, global, local);
}

}  // namespace hybridgl::clip_inputs
