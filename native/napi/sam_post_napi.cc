#include <cmath>
#include <memory>

#include "args.h"
#include "async.h"
#include "modules.h"
#include "sam_args.h"
#include "sam_post.h"

namespace hybridgl::napi {
namespace {

// samPostprocess(lowRes: Float32Array, iou: Float32Array, proposals, lowSize, padded, height, width,
//   predIouThresh, stabilityThresh, stabilityOffset, boxNmsThresh, minRegionArea, maskThreshold, async)
// → { count, masks: Uint8Array, boxes: Int32Array XYXY, predictedIoU, stability: Float32Array, proposal: Int32Array }
Napi::Value samPostprocess(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  requireArgs(cb, 14, "samPostprocess");
  const int64_t proposals = integer(cb[2], "proposals");
  const sam_post::Geometry g = samGeometry(cb, 3);
  auto low = typedArray<float>(cb[0], "lowResLogits",
                               elements(env, "proposals×lowResSize×lowResSize", {proposals, g.lowH, g.lowW}, 4));
  auto iou = typedArray<float>(cb[1], "iouPredictions", proposals);
  // The masks of the proposals that pass the IoU filter are held at image size: at most all of them.
  elements(env, "proposals×height×width (candidate masks)", {proposals, g.height, g.width});
  sam_post::Options opt = samFilterOptions(cb, 7);
  opt.boxNmsThresh = finiteNumber(cb[10], "boxNmsThresh");
  opt.minMaskRegionArea = integer(cb[11], "minMaskRegionArea");
  opt.maskThreshold = finiteNumber(cb[12], "maskThreshold");
  const bool async = boolean(cb[13], "async");
  requireFinite(env, iou.Data(), iou.ElementLength(), "iouPredictions");
  requireFinite(env, low.Data(), low.ElementLength(), "lowResLogits");
  auto result = std::make_shared<sam_post::Result>();
  const Backend be = guard(env, [] { return activeBackend(Family::SamPost); });
  auto work = [=, pl = low.Data(), pi = iou.Data()] { *result = sam_post::postprocess(be, pl, pi, proposals, g, opt); };
  auto finish = [=](Napi::Env e) -> Napi::Value {
    auto out = Napi::Object::New(e);
    out.Set("count", Napi::Number::New(e, static_cast<double>(result->count)));
    out.Set("masks", adoptBytes(e, std::move(result->masks)));
    out.Set("boxes", toTypedArray<int32_t>(e, result->boxes, "boxes"));
    out.Set("predictedIoU", toTypedArray<float>(e, result->predictedIoU, "predictedIoU"));
    out.Set("stability", toTypedArray<float>(e, result->stability, "stability"));
    out.Set("proposal", toTypedArray<int32_t>(e, result->proposal, "proposal"));
    return out;
  };
  return runSyncOrAsync(env, async, {low, iou}, work, finish);
}

// samUpscaleLogits(lowRes: Float32Array, count, lowSize, imageSize, height, width) → Float32Array count×H×W.
Napi::Value samUpscaleLogits(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  requireArgs(cb, 6, "samUpscaleLogits");
  const int64_t count = integer(cb[1], "count");
  const sam_post::Geometry g = samGeometry(cb, 2);
  auto low = typedArray<float>(cb[0], "lowResLogits",
                               elements(env, "count×lowResSize×lowResSize", {count, g.lowH, g.lowW}, 4));
  const int64_t outCount = elements(env, "count×height×width", {count, g.height, g.width}, 4);
  requireFinite(env, low.Data(), low.ElementLength(), "lowResLogits");
  auto out = newTypedArray<float>(env, outCount, "the upscaled logits");
  guard(env, [&] { sam_post::upscaleLogitsCpu(low.Data(), count, g, out.Data()); });
  return out;
}

// samResizeShape(height, width, longSide) → [h', w'].
Napi::Value samResizeShape(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  requireArgs(cb, 3, "samResizeShape");
  const auto [h, w] = sam_post::resizeShape(static_cast<int>(integer(cb[0], "height", 1)),
                                            static_cast<int>(integer(cb[1], "width", 1)),
                                            static_cast<int>(integer(cb[2], "longSide", 1)));
  auto out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, h));
  out.Set(1u, Napi::Number::New(env, w));
  return out;
}

// samNms(boxes: Float32Array n×4 XYXY, scores: Float32Array n, iouThreshold) → Int32Array of kept indices.
Napi::Value samNms(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  requireArgs(cb, 3, "samNms");
  auto scores = typedArray<float>(cb[1], "scores");
  const int64_t n = scores.ElementLength();
  auto boxes = typedArray<float>(cb[0], "boxes", elements(env, "4×scores.length", {4, n}, 4));
  const double thr = finiteNumber(cb[2], "iouThreshold");
  requireFinite(env, scores.Data(), scores.ElementLength(), "scores");
  requireFinite(env, boxes.Data(), boxes.ElementLength(), "boxes");
  return toTypedArray<int32_t>(env, guard(env, [&] { return sam_post::nms(boxes.Data(), scores.Data(), n, thr); }),
                               "kept indices");
}

// samRemoveSmallRegions(mask: Uint8Array h×w, height, width, minArea, holes) → { mask, changed }.
Napi::Value samRemoveSmallRegions(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  requireArgs(cb, 5, "samRemoveSmallRegions");
  const int64_t h = integer(cb[1], "height", 1), w = integer(cb[2], "width", 1);
  const int64_t pixels = elements(env, "height×width", {h, w});
  auto mask = typedArray<uint8_t>(cb[0], "mask", pixels);
  const int64_t minArea = integer(cb[3], "minArea");
  const bool holes = boolean(cb[4], "holes");
  auto copy = newTypedArray<uint8_t>(env, pixels, "the mask");
  for (int64_t i = 0; i < pixels; ++i) copy.Data()[i] = mask.Data()[i] != 0;
  const bool changed = guard(env, [&] {
    return sam_post::removeSmallRegions(copy.Data(), static_cast<int>(h), static_cast<int>(w), minArea, holes);
  });
  auto out = Napi::Object::New(env);
  out.Set("mask", copy);
  out.Set("changed", Napi::Boolean::New(env, changed));
  return out;
}

}  // namespace

void registerSamPost(Napi::Env env, Napi::Object exports) {
  exports.Set("samPostprocess", Napi::Function::New(env, samPostprocess, "samPostprocess"));
  exports.Set("samUpscaleLogits", Napi::Function::New(env, samUpscaleLogits, "samUpscaleLogits"));
  exports.Set("samResizeShape", Napi::Function::New(env, samResizeShape, "samResizeShape"));
  exports.Set("samNms", Napi::Function::New(env, samNms, "samNms"));
  exports.Set("samRemoveSmallRegions", Napi::Function::New(env, samRemoveSmallRegions, "samRemoveSmallRegions"));
}

}  // namespace hybridgl::napi
