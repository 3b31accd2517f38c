#include "sam_crops.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "parallel.h"

namespace hybridgl::sam_crops {

BatchMasks batchMasks(Backend be, const float* lowRes, const float* iou, int64_t proposals,
                      const sam_post::Geometry& g, const sam_post::Options& opt) {
  const size_t pixels = static_cast<size_t>(g.height) * g.width;
  // Scalars compared with float32 tensors are cast to float32 (PyTorch's type promotion).
  std::vector<int32_t> cand;
  for (int64_t i = 0; i < proposals; ++i)
    if (!(opt.predIouThresh > 0.0) || iou[i] > static_cast<float>(opt.predIouThresh))
      cand.push_back(static_cast<int32_t>(i));
  const int64_t nc = static_cast<int64_t>(cand.size());
  std::unique_ptr<uint8_t[]> masks(new uint8_t[nc * pixels]);  // every byte is written by the upscale
  std::vector<int64_t> hi(nc), lo(nc);
  sam_post::upscaleThreshold(be, lowRes, cand.data(), nc, g, static_cast<float>(opt.maskThreshold),
                             static_cast<float>(opt.maskThreshold + opt.stabilityScoreOffset),
                             static_cast<float>(opt.maskThreshold - opt.stabilityScoreOffset), masks.get(),
                             hi.data(), lo.data());
  BatchMasks out;
  std::vector<int64_t> kept;
  for (int64_t k = 0; k < nc; ++k) {
    const float s = static_cast<float>(hi[k]) / static_cast<float>(lo[k]);  // NaN for an empty union fails
    if (!(opt.stabilityScoreThresh > 0.0) || s >= static_cast<float>(opt.stabilityScoreThresh)) {
      kept.push_back(k);
      out.stability.push_back(s);
      out.predictedIoU.push_back(iou[cand[k]]);
      out.proposal.push_back(cand[k]);
    }
  }
  out.count = static_cast<int64_t>(kept.size());
  out.masks.resize(out.count * pixels);
  out.boxes.resize(out.count * 4);
  parallelFor(out.count, 1, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      uint8_t* dst = out.masks.data() + r * pixels;
      std::memcpy(dst, masks.get() + kept[r] * pixels, pixels);
      sam_post::maskBox(dst, g.height, g.width, &out.boxes[4 * r]);
    }
  });
  return out;
}

void smallRegions(uint8_t* masks, int64_t count, int height, int width, int64_t minArea, uint8_t* changed,
                  int32_t* boxes) {
  const size_t pixels = static_cast<size_t>(height) * width;
  parallelFor(count, 1, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      uint8_t* m = masks + k * pixels;
      const bool holes = sam_post::removeSmallRegions(m, height, width, minArea, true);
      const bool islands = sam_post::removeSmallRegions(m, height, width, minArea, false);
      changed[k] = holes || islands ? 1 : 0;
      sam_post::maskBox(m, height, width, boxes + 4 * k);
    }
  });
}

}  // namespace hybridgl::sam_crops
