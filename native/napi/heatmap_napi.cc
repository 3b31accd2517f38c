#include <memory>
#include <vector>

#include "args.h"
#include "async.h"
#include "heatmap.h"
#include "modules.h"

namespace hybridgl::napi {
namespace {

// resizeMap(map: Float32Array, channels, inH, inW, outH, outW, antialias, async) → Float32Array.
Napi::Value resizeMap(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  requireArgs(cb, 8, "resizeMap");
  const int64_t c = integer(cb[1], "channels", 1), ih = integer(cb[2], "height", 1), iw = integer(cb[3], "width", 1);
  const int64_t oh = integer(cb[4], "outHeight", 1), ow = integer(cb[5], "outWidth", 1);
  auto map = typedArray<float>(cb[0], "map", elements(env, "channels×height×width", {c, ih, iw}, 4));
  const bool antialias = boolean(cb[6], "antialias"), async = boolean(cb[7], "async");
  const int64_t count = elements(env, "channels×outHeight×outWidth", {c, oh, ow}, 4);
  if (antialias) {  // the width pass's float buffer and each axis's weights
    elements(env, "channels×height×outWidth (antialias buffer)", {c, ih, ow}, 4);
    elements(env, "outWidth×taps (antialias weights)", {ow, resampleTaps(iw, ow, 1)}, 4);
    elements(env, "outHeight×taps (antialias weights)", {oh, resampleTaps(ih, oh, 1)}, 4);
  }
  requireFinite(env, map.Data(), map.ElementLength(), "map");
  auto out = newTypedArray<float>(env, count, "the resized map");
  const Backend be = guard(env, [] { return activeBackend(Family::Heatmap); });
  auto work = [=, src = map.Data(), dst = out.Data()] {
    heatmap::resize(be, src, static_cast<int>(c), static_cast<int>(ih), static_cast<int>(iw), static_cast<int>(oh),
                    static_cast<int>(ow), antialias, dst);
  };
  if (async) return PromiseWorker::Run(env, {map, out}, work, resolveWith(out));
  guard(env, [&] { work(); });
  return out;
}

// normalizeMap(map: Float32Array, height, width, minMax, prior: Float32Array | null, divideByMean) → Float32Array.
Napi::Value normalizeMap(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  requireArgs(cb, 6, "normalizeMap");
  const int64_t h = integer(cb[1], "height", 1), w = integer(cb[2], "width", 1);
  const int64_t count = elements(env, "height×width", {h, w}, 4);
  auto map = typedArray<float>(cb[0], "map", count);
  const bool minMax = boolean(cb[3], "minMax"), divide = boolean(cb[5], "divideByMean");
  const float* prior = nullptr;
  if (!cb[4].IsNull()) {
    auto row = typedArray<float>(cb[4], "prior", w);
    requireFinite(env, row.Data(), row.ElementLength(), "prior");
    prior = row.Data();
  }
  requireFinite(env, map.Data(), map.ElementLength(), "map");
  auto out = newTypedArray<float>(env, count, "the normalised map");
  heatmap::normalizeCpu(map.Data(), h, w, minMax, prior, divide, out.Data());
  return out;
}

// maskMapSums(map: Float32Array, masks, n, height, width, async) → { sumInside: Float64Array,
// countInside: Float64Array, total: number }.
Napi::Value maskMapSums(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  requireArgs(cb, 6, "maskMapSums");
  const int64_t n = integer(cb[2], "n"), h = integer(cb[3], "height", 1), w = integer(cb[4], "width", 1);
  auto map = typedArray<float>(cb[0], "map", elements(env, "height×width", {h, w}, 4));
  auto masks = typedArray<uint8_t>(cb[1], "masks", elements(env, "n×height×width", {n, h, w}));
  const bool async = boolean(cb[5], "async");
  requireFinite(env, map.Data(), map.ElementLength(), "map");
  auto sums = std::make_shared<std::vector<double>>(n);
  auto counts = std::make_shared<std::vector<int64_t>>(n);
  auto total = std::make_shared<double>(0);
  const Backend be = guard(env, [] { return activeBackend(Family::Heatmap); });
  auto work = [=, pmap = map.Data(), pm = masks.Data()] {
    heatmap::maskSums(be, pmap, pm, n, h * w, sums->data(), counts->data(), total.get());
  };
  auto finish = [=](Napi::Env e) -> Napi::Value {
    auto out = Napi::Object::New(e);
    out.Set("sumInside", toTypedArray<double>(e, *sums, "sumInside"));
    out.Set("countInside", toTypedArray<double>(e, *counts, "countInside"));
    out.Set("total", Napi::Number::New(e, *total));
    return out;
  };
  return runSyncOrAsync(env, async, {map, masks}, work, finish);
}

}  // namespace

void registerHeatmap(Napi::Env env, Napi::Object exports) {
  exports.Set("resizeMap", Napi::Function::New(env, resizeMap, "resizeMap"));
  exports.Set("normalizeMap", Napi::Function::New(env, normalizeMap, "normalizeMap"));
  exports.Set("maskMapSums", Napi::Function::New(env, maskMapSums, "maskMapSums"));
}

}  // namespace hybridgl::napi
