// SAM automatic-mask-generator post-processing (spec §2 steps 3–10): upscale the decoder's low-res logits to the
// image, filter by predicted IoU and stability, threshold, box, NMS, small-region clean-up and a second NMS, with
// the arithmetic of segment-anything on PyTorch/torchvision CPU so that every threshold decides identically.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "backend.h"

namespace hybridgl::sam_post {

// ResizeLongestSide.get_preprocess_shape: (int(h*s + 0.5), int(w*s + 0.5)) with s = longSide / max(h, w).
std::pair<int, int> resizeShape(int height, int width, int longSide);

// One axis of PyTorch's bilinear resize (align_corners=False, no antialias, float32 CPU kernel): output o reads
// i0/i1 with weights l0/l1. The source index is computed in double, the weights are float.
struct Taps {
  std::vector<int32_t> i0, i1;
  std::vector<float> l0, l1;
};
Taps bilinearTaps(int in, int out);

// Where the low-res logits land: lowH×lowW → padded×padded (bilinear), crop to resizedH×resizedW, then bilinear
// to height×width.
struct Geometry {
  int lowH = 256, lowW = 256, padded = 1024, resizedH = 0, resizedW = 0, height = 0, width = 0;
};

// For the proposals listed in `select`, the upscaled logits v of proposal select[k] give
// masks[k·H·W + p] = v > maskThreshold, hiCounts[k] = |v > hiThreshold|, loCounts[k] = |v > loThreshold|.
// lowRes holds all proposals back to back (lowH·lowW floats each). Bit-exact with PyTorch's two interpolations.
void upscaleThresholdCpu(const float* lowRes, const int32_t* select, int64_t count, const Geometry& g,
                         float maskThreshold, float hiThreshold, float loThreshold, uint8_t* masks,
                         int64_t* hiCounts, int64_t* loCounts);
void upscaleThresholdCuda(const float* lowRes, const int32_t* select, int64_t count, const Geometry& g,
                          float maskThreshold, float hiThreshold, float loThreshold, uint8_t* masks,
                          int64_t* hiCounts, int64_t* loCounts);

inline void upscaleThreshold(Backend be, const float* lowRes, const int32_t* select, int64_t count,
                             const Geometry& g, float maskThreshold, float hiThreshold, float loThreshold,
                             uint8_t* masks, int64_t* hiCounts, int64_t* loCounts) {
#ifdef HYBRIDGL_WITH_CUDA
  if (be == Backend::Cuda)
    return upscaleThresholdCuda(lowRes, select, count, g, maskThreshold, hiThreshold, loThreshold, masks, hiCounts,
                                loCounts);
#endif
  upscaleThresholdCpu(lowRes, select, count, g, maskThreshold, hiThreshold, loThreshold, masks, hiCounts, loCounts);
}

// The upscaled logits themselves (count×height×width), for checks against PyTorch.
void upscaleLogitsCpu(const float* lowRes, int64_t count, const Geometry& g, float* out);

// Tight inclusive XYXY of a 0/1 mask, zeros when empty (segment-anything's batched_mask_to_box).
void maskBox(const uint8_t* mask, int height, int width, int32_t* box);

// torchvision.ops.nms on CPU: indices kept, by descending score (stable: ties in index order), a box suppressed
// when its float32 IoU with a kept box is > iouThreshold. Boxes are XYXY floats, n×4.
std::vector<int32_t> nms(const float* boxes, const float* scores, int64_t n, double iouThreshold);

// segment-anything's remove_small_regions on one H×W 0/1 mask, in place. holes: components of the background
// (8-connected) smaller than minArea are set; islands: components of the mask smaller than minArea are cleared,
// and if all are small only the largest stays (first in OpenCV's label order on ties). Returns the reference's
// "changed" flag: whether any component was small (true even when the kept largest island is the whole mask).
bool removeSmallRegions(uint8_t* mask, int height, int width, int64_t minArea, bool holes);

struct Options {
  double predIouThresh = 0.7;
  double stabilityScoreThresh = 0.7;
  double stabilityScoreOffset = 1.0;
  double boxNmsThresh = 0.7;
  int64_t minMaskRegionArea = 800;
  double maskThreshold = 0.0;
};

// Kept proposals in the reference's output order.
struct Result {
  int64_t count = 0;
  std::vector<uint8_t> masks;      // count×H×W, 0/1
  std::vector<int32_t> boxes;      // count×4 inclusive XYXY
  std::vector<float> predictedIoU;
  std::vector<float> stability;
  std::vector<int32_t> proposal;   // index into the flattened (point-major) proposals
};

// lowRes: proposals×lowH×lowW logits, iou: proposals predicted IoUs.
Result postprocess(Backend be, const float* lowRes, const float* iou, int64_t proposals, const Geometry& g,
                   const Options& opt);

}  // namespace hybridgl::sam_post
