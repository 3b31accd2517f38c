// The arguments the SAM post-processing glue shares (samPostprocess, samBatchMasks, samUpscaleLogits): the frames the
// low-res logits are upscaled through, and the per-batch filter thresholds.
#pragma once

#include <napi.h>

#include <tuple>

#include "args.h"
#include "sam_post.h"

namespace hybridgl::napi {

// lowResSize, imageSize, height, width at cb[first..first+3], and the resized frame they give.
inline sam_post::Geometry samGeometry(const Napi::CallbackInfo& cb, size_t first) {
  sam_post::Geometry g;
  g.lowH = g.lowW = static_cast<int>(integer(cb[first], "lowResSize", 1, 4096));
  g.padded = static_cast<int>(integer(cb[first + 1], "imageSize", 1, 16384));
  g.height = static_cast<int>(integer(cb[first + 2], "height", 1, 32767));
  g.width = static_cast<int>(integer(cb[first + 3], "width", 1, 32767));
  std::tie(g.resizedH, g.resizedW) = sam_post::resizeShape(g.height, g.width, g.padded);
  return g;
}

// predIouThresh, stabilityScoreThresh, stabilityScoreOffset at cb[first..first+2]; the other options as defaulted.
inline sam_post::Options samFilterOptions(const Napi::CallbackInfo& cb, size_t first) {
  sam_post::Options opt;
  opt.predIouThresh = finiteNumber(cb[first], "predIouThresh");
  opt.stabilityScoreThresh = finiteNumber(cb[first + 1], "stabilityScoreThresh");
  opt.stabilityScoreOffset = finiteNumber(cb[first + 2], "stabilityScoreOffset");
  return opt;
}

}  // namespace hybridgl::napi
