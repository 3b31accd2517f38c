#include <memory>
#include <vector>

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
  auto src = typedArray<uint8_t>(cb[0], "image", h * w * c);
  const image_prep::Filter filter = filterArg(cb[6]);
  const bool async = boolean(cb[7], "async");
  auto out = std::make_shared<std::vector<uint8_t>>(oh * ow * c);
  const Backend be = guard(env, [] { return activeBackend(Family::ImagePrep); });
  auto work = [=, p = src.Data()] {
    image_prep::resize(be, p, int(h), int(w), int(c), int(oh), int(ow), filter, out->data());
  };
  auto finish = [=](Napi::Env e) -> Napi::Value {
    auto arr = Napi::Uint8Array::New(e, out->size());
    std::copy(out->begin(), out->end(), arr.Data());
    return arr;
  };
  return runSyncOrAsync(env, async, {src}, work, finish);
}

// normalizeImage(src: Uint8Array HWC RGB, height, width, scale, mean: Float32Array(3), std: Float32Array(3),
//                padH, padW) → Float32Array 3×padH×padW
Napi::Value normalizeImage(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  requireArgs(cb, 8, "normalizeImage");
  const int64_t h = integer(cb[1], "height", 1), w = integer(cb[2], "width", 1);
  auto src = typedArray<uint8_t>(cb[0], "image", h * w * 3);
  if (!cb[3].IsNumber()) throwType(env, "scale", "a number");
  const float scale = cb[3].As<Napi::Number>().FloatValue();
  auto mean = typedArray<float>(cb[4], "mean", 3);
  auto std = typedArray<float>(cb[5], "std", 3);
  const int64_t ph = integer(cb[6], "padHeight", h), pw = integer(cb[7], "padWidth", w);
  auto out = Napi::Float32Array::New(env, 3 * ph * pw);
  const Backend be = guard(env, [] { return activeBackend(Family::ImagePrep); });
  return guard(env, [&]() -> Napi::Value {
    image_prep::normalize(be, src.Data(), int(h), int(w), scale, mean.Data(), std.Data(), int(ph), int(pw), out.Data());
    return out;
  });
}

}  // namespace

void registerImagePrep(Napi::Env env, Napi::Object exports) {
  exports.Set("resizeImage", Napi::Function::New(env, resizeImage, "resizeImage"));
  exports.Set("normalizeImage", Napi::Function::New(env, normalizeImage, "normalizeImage"));
}

}  // namespace hybridgl::napi
