#include <vector>

#include "args.h"
#include "async.h"
#include "mask_ops.h"
#include "modules.h"

namespace hybridgl::napi {
namespace {

// pairwiseMaskCounts(a: Uint8Array, n, b: Uint8Array, m, height, width, async) → { intersection, union }
// as Float64Array (exact below 2^53).
Napi::Value pairwiseMaskCounts(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  requireArgs(cb, 7, "pairwiseMaskCounts");
  const int64_t n = integer(cb[1], "n"), m = integer(cb[3], "m");
  const int64_t h = integer(cb[4], "height"), w = integer(cb[5], "width");
  const int64_t pixels = elements(env, "height×width", {h, w});
  auto a = typedArray<uint8_t>(cb[0], "masks", elements(env, "n×height×width", {n, h, w}));
  auto b = typedArray<uint8_t>(cb[2], "others", elements(env, "m×height×width", {m, h, w}));
  const bool async = boolean(cb[6], "async");
  const int64_t pairs = elements(env, "n×m (pair counts)", {n, m}, 8);
  auto inter = std::make_shared<std::vector<uint64_t>>(pairs);
  auto uni = std::make_shared<std::vector<uint64_t>>(pairs);
  const Backend be = guard(env, [] { return activeBackend(Family::MaskOps); });
  auto work = [=, pa = a.Data(), pb = b.Data()] {
    mask_ops::pairwiseCounts(be, pa, n, pb, m, pixels, inter->data(), uni->data());
  };
  auto finish = [=](Napi::Env e) -> Napi::Value {
    auto out = Napi::Object::New(e);
    out.Set("intersection", toTypedArray<double>(e, *inter, "intersection"));
    out.Set("union", toTypedArray<double>(e, *uni, "union"));
    return out;
  };
  return runSyncOrAsync(env, async, {a, b}, work, finish);
}

// masksToBoxes(masks: Uint8Array, n, height, width, async) → Int32Array n×4 inclusive XYXY.
Napi::Value masksToBoxes(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  requireArgs(cb, 5, "masksToBoxes");
  const int64_t n = integer(cb[1], "n"), h = integer(cb[2], "height"), w = integer(cb[3], "width");
  auto masks = typedArray<uint8_t>(cb[0], "masks", elements(env, "n×height×width", {n, h, w}));
  const bool async = boolean(cb[4], "async");
  auto boxes = std::make_shared<std::vector<int32_t>>(elements(env, "n×4 (boxes)", {n, 4}, 4));
  const Backend be = guard(env, [] { return activeBackend(Family::MaskOps); });
  auto work = [=, pm = masks.Data()] {
    mask_ops::boxes(be, pm, n, static_cast<int>(h), static_cast<int>(w), boxes->data());
  };
  auto finish = [=](Napi::Env e) -> Napi::Value { return toTypedArray<int32_t>(e, *boxes); };
  return runSyncOrAsync(env, async, {masks}, work, finish);
}

}  // namespace

void registerMaskOps(Napi::Env env, Napi::Object exports) {
  exports.Set("pairwiseMaskCounts", Napi::Function::New(env, pairwiseMaskCounts, "pairwiseMaskCounts"));
  exports.Set("masksToBoxes", Napi::Function::New(env, masksToBoxes, "masksToBoxes"));
}

}  // namespace hybridgl::napi
