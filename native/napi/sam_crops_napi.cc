#include <cmath>
#include <memory>

#include "args.h"
#include "async.h"
#include "modules.h"
#include "sam_args.h"
#include "sam_crops.h"

namespace hybridgl::napi {
namespace {

// samBatchMasks(lowRes: Float32Array, iou: Float32Array, proposals, lowSize, padded, height, width,
//   predIouThresh, stabilityThresh, stabilityOffset, maskThreshold, async)
// → { count, masks: Uint8Array count×H×W, boxes: Int32Array XYXY, predictedIoU, stability, proposal }
Napi::Value samBatchMasks(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  requireArgs(cb, 12, "samBatchMasks");
  const int64_t proposals = integer(cb[2], "proposals", 0, int64_t{1} << 31);
  const sam_post::Geometry g = samGeometry(cb, 3);
  const int64_t lowSize = g.lowH;
  auto low = typedArray<float>(cb[0], "lowResLogits", proposals * lowSize * lowSize);  // < 2^55
  auto iou = typedArray<float>(cb[1], "iouPredictions", proposals);
  sam_post::Options opt = samFilterOptions(cb, 7);
  opt.maskThreshold = finiteNumber(cb[10], "maskThreshold");
  const bool async = boolean(cb[11], "async");
  const float* pl = low.Data();
  const float* pi = iou.Data();
  for (int64_t i = 0; i < proposals; ++i)
    if (!std::isfinite(pi[i])) throwRange(env, "iouPredictions[" + std::to_string(i) + "] is not finite");
  for (int64_t i = 0, n = proposals * lowSize * lowSize; i < n; ++i)
    if (!std::isfinite(pl[i])) throwRange(env, "lowResLogits[" + std::to_string(i) + "] is not finite");
  // The survivors' masks and the upscaled batch are at most proposals×height×width bytes: bounded before the work.
  elements(env, "proposals×height×width (the batch's masks)", {proposals, g.height, g.width}, 1);
  auto result = std::make_shared<sam_crops::BatchMasks>();
  const Backend be = guard(env, [] { return activeBackend(Family::SamPost); });
  auto work = [=] { *result = sam_crops::batchMasks(be, pl, pi, proposals, g, opt); };
  auto finish = [=](Napi::Env e) -> Napi::Value {
    auto out = Napi::Object::New(e);
    out.Set("count", Napi::Number::New(e, static_cast<double>(result->count)));
    out.Set("masks", adoptBytes(e, std::move(result->masks)));
    out.Set("boxes", toTypedArray<int32_t>(e, result->boxes));
    out.Set("predictedIoU", toTypedArray<float>(e, result->predictedIoU));
    out.Set("stability", toTypedArray<float>(e, result->stability));
    out.Set("proposal", toTypedArray<int32_t>(e, result->proposal));
    return out;
  };
  return runSyncOrAsync(env, async, {low, iou}, work, finish);
}

// samSmallRegions(masks: Uint8Array count×H×W 0/1, count, height, width, minArea, async)
// → { masks: Uint8Array (a cleaned copy), changed: Uint8Array count, boxes: Int32Array count×4 XYXY }
Napi::Value samSmallRegions(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  requireArgs(cb, 6, "samSmallRegions");
  const int64_t count = integer(cb[1], "count", 0, int64_t{1} << 31);
  const int64_t h = integer(cb[2], "height", 1, 32767), w = integer(cb[3], "width", 1, 32767);
  auto masks = typedArray<uint8_t>(cb[0], "masks", elements(env, "count×height×width", {count, h, w}, 1));
  const int64_t minArea = integer(cb[4], "minArea");
  const bool async = boolean(cb[5], "async");
  auto copy = std::make_shared<std::vector<uint8_t>>(masks.Data(), masks.Data() + count * h * w);
  for (auto& v : *copy) v = v != 0;
  auto changed = std::make_shared<std::vector<uint8_t>>(count);
  auto boxes = std::make_shared<std::vector<int32_t>>(count * 4);
  auto work = [=] {
    sam_crops::smallRegions(copy->data(), count, static_cast<int>(h), static_cast<int>(w), minArea,
                            changed->data(), boxes->data());
  };
  auto finish = [=](Napi::Env e) -> Napi::Value {
    auto out = Napi::Object::New(e);
    out.Set("masks", adoptBytes(e, std::move(*copy)));
    out.Set("changed", adoptBytes(e, std::move(*changed)));
    out.Set("boxes", toTypedArray<int32_t>(e, *boxes));
    return out;
  };
  return runSyncOrAsync(env, async, {masks}, work, finish);
}

}  // namespace

void registerSamCrops(Napi::Env env, Napi::Object exports) {
  exports.Set("samBatchMasks", Napi::Function::New(env, samBatchMasks, "samBatchMasks"));
  exports.Set("samSmallRegions", Napi::Function::New(env, samSmallRegions, "samSmallRegions"));
}

}  // namespace hybridgl::napi
