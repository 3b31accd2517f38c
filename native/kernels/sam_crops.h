// SAM automatic mask generation with crops and batches (spec §2, §10): the per-pixel stages of segment-anything's
// _process_batch (IoU filter, upscale, stability, threshold, boxes) and postprocess_small_regions, as separate
// steps so that the generator can run NMS within each crop and across crops between them.
#pragma once

#include <cstdint>
#include <vector>

#include "backend.h"
#include "sam_post.h"

namespace hybridgl::sam_crops {

// One decoder batch's survivors of the IoU and stability filters, in input order.
struct BatchMasks {
  int64_t count = 0;
  std::vector<uint8_t> masks;      // count×H×W, 0/1 (H×W = the geometry's image, i.e. the crop)
  std::vector<int32_t> boxes;      // count×4 inclusive XYXY, zeros for an empty mask
  std::vector<float> predictedIoU;
  std::vector<float> stability;
  std::vector<int32_t> proposal;   // index into the batch's flattened (point-major) proposals
};

// _process_batch up to the boxes: keep iou > predIouThresh (skipped when the threshold is not > 0), stability
// = |v > t + offset| / |v > t − offset| >= stabilityScoreThresh (likewise), mask = v > maskThreshold, tight box.
BatchMasks batchMasks(Backend be, const float* lowRes, const float* iou, int64_t proposals,
                      const sam_post::Geometry& g, const sam_post::Options& opt);

// postprocess_small_regions' per-mask part, in place on count H×W masks: holes then islands of
// remove_small_regions; changed[k] = 1 when either step changed mask k; boxes = the boxes after.
void smallRegions(uint8_t* masks, int64_t count, int height, int width, int64_t minArea, uint8_t* changed,
                  int32_t* boxes);

}  // namespace hybridgl::sam_crops
