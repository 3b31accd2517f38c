#include "args.h"
#include "async.h"
#include "gaussian_blur.h"
#include "modules.h"

namespace hybridgl::napi {
namespace {

// gaussianBlur(rgb: Uint8Array, height, width, async) → Uint8Array H×W×3, OpenCV GaussianBlur (15, 15), σ 0.
Napi::Value gaussianBlur(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  requireArgs(cb, 4, "gaussianBlur");
  const int64_t h = integer(cb[1], "height", 1), w = integer(cb[2], "width", 1);
  const int64_t count = elements(env, "height×width×3", {h, w, 3});
  auto rgb = typedArray<uint8_t>(cb[0], "rgb", count);
  const bool async = boolean(cb[3], "async");
  auto out = newTypedArray<uint8_t>(env, count, "the blurred image");
  const Backend be = guard(env, [] { return activeBackend(Family::GaussianBlur); });
  auto work = [=, src = rgb.Data(), dst = out.Data()] {
    gaussian_blur::blur(be, src, static_cast<int>(h), static_cast<int>(w), 3, dst);
  };
  if (async) return PromiseWorker::Run(env, {rgb, out}, work, resolveWith(out));
  guard(env, [&] { work(); });
  return out;
}

}  // namespace

void registerGaussianBlur(Napi::Env env, Napi::Object exports) {
  exports.Set("gaussianBlur", Napi::Function::New(env, gaussianBlur, "gaussianBlur"));
}

}  // namespace hybridgl::napi
