#include <cmath>

#include "args.h"
#include "async.h"
#include "modules.h"
#include "image_prep.h"

namespace hybridgl::napi {
namespace {

image_prep::Filter filterArg(const Napi::Value& v) {
  const std::string f = string(v, "filter");
  if (f == "bilinear") return image_prep::Filter::Bilinear;
  if (f == "bicubic") return image_prep::Filter::Bicubic;
  throw Napi::RangeError::New(v.Env(), "filter must be 'bilinear' or 'bicubic', got '" + f + "'");
}

// resizeImage(src: Uint8Array, height, width, channels, outH, outW, filter, async) → Uint8Array outH×outW×channels
Napi::Value resizeImage(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  requireArgs(cb, 8, "resizeImage");
  const int64_t h = integer(cb[1], "height", 1), w = integer(cb[2], "width", 1), c = integer(cb[3], "channels", 1, 4);
  const int64_t oh = integer(cb[4], "outHeight", 1), ow = integer(cb[5], "outWidth", 1);
  auto src = typedArray<uint8_t>(cb[0], "image", elements(env, "height×width×channels", {h, w, c}));
  const image_prep::Filter filter = filterArg(cb[6]);
  const bool async = boolean(cb[7], "async");
  const int64_t count = elements(env, "outHeight×outWidth×channels", {oh, ow, c});
  // The horizontal pass's buffer and each axis's fixed-point weights.
  const double support = filter == image_prep::Filter::Bicubic ? 2 : 1;
  elements(env, "height×outWidth×channels (resize buffer)", {h, ow, c});
  elements(env, "outWidth×taps (resize weights)", {ow, resampleTaps(w, ow, support)}, 4);
  elements(env, "outHeight×taps (resize weights)", {oh, resampleTaps(h, oh, support)}, 4);
  auto out = newTypedArray<uint8_t>(env, count, "the resized image");
  const Backend be = guard(env, [] { return activeBackend(Family::ImagePrep); });
  auto work = [=, p = src.Data(), dst = out.Data()] {
    image_prep::resize(be, p, int(h), int(w), int(c), int(oh), int(ow), filter, dst);
  };
  if (async) return PromiseWorker::Run(env, {src, out}, work, resolveWith(out));
  guard(env, [&] { work(); });
  return out;
}

// normalizeImage(src: Uint8Array HWC RGB, height, width, scale, mean: Float32Array(3), std: Float32Array(3),
//                padH, padW) → Float32Array 3×padH×padW
Napi::Value normalizeImage(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  requireArgs(cb, 8, "normalizeImage");
  const int64_t h = integer(cb[1], "height", 1), w = integer(cb[2], "width", 1);
  auto src = typedArray<uint8_t>(cb[0], "image", elements(env, "height×width×3", {h, w, 3}));
  const double scale = finiteNumber(cb[3], "scale");
  if (!(scale > 0) || !std::isfinite(static_cast<float>(scale)))
    throwRange(env, "scale must be a positive float32, got " + std::to_string(scale));
  auto mean = typedArray<float>(cb[4], "mean", 3);
  auto stdev = typedArray<float>(cb[5], "std", 3);
  requireFinite(env, mean.Data(), 3, "mean");
  requireFinite(env, stdev.Data(), 3, "std");
  for (int c = 0; c < 3; ++c)
    if (stdev.Data()[c] == 0) throwRange(env, "std[" + std::to_string(c) + "] is 0; it divides");
  const int64_t ph = integer(cb[6], "padHeight", h), pw = integer(cb[7], "padWidth", w);
  auto out = newTypedArray<float>(env, elements(env, "3×padHeight×padWidth", {3, ph, pw}, 4), "the normalised image");
  const Backend be = guard(env, [] { return activeBackend(Family::ImagePrep); });
  return guard(env, [&]() -> Napi::Value {
    image_prep::normalize(be, src.Data(), int(h), int(w), static_cast<float>(scale), mean.Data(), stdev.Data(), int(ph),
                          int(pw), out.Data());
    return out;
  });
}

}  // namespace

void registerImagePrep(Napi::Env env, Napi::Object exports) {
  exports.Set("resizeImage", Napi::Function::New(env, resizeImage, "resizeImage"));
  exports.Set("normalizeImage", Napi::Function::New(env, normalizeImage, "normalizeImage"));
}

}  // namespace hybridgl::napi
