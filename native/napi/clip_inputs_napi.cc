#include "args.h"
#include "async.h"
#include "clip_inputs.h"
#include "modules.h"

namespace hybridgl::napi {
namespace {

// buildClipInputs(rgb, blurred, masks, n, height, width, outSize, half, async[, global, local[, localSource]])
// → { global, local }, each n×3×outSize×outSize as Float32Array, or Uint16Array of half bits when `half`; written
// into the given arrays when passed (reuse saves the page faults of fresh memory), else into new ones. localSource
// (undefined or 3×height×width finite float32) replaces the normalised rgb inside the masks of the local image.
Napi::Value buildClipInputs(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  requireArgs(cb, 9, "buildClipInputs");
  const int64_t n = integer(cb[3], "n"), h = integer(cb[4], "height", 1), w = integer(cb[5], "width", 1);
  const int64_t size = integer(cb[6], "size", 1, 4096);
  auto rgb = typedArray<uint8_t>(cb[0], "rgb", elements(env, "height×width×3", {h, w, 3}));
  auto blurred = typedArray<uint8_t>(cb[1], "blurred", rgb.ElementLength());
  auto masks = typedArray<uint8_t>(cb[2], "masks", elements(env, "n×height×width", {n, h, w}));
  const bool half = boolean(cb[7], "half"), async = boolean(cb[8], "async");
  const clip_inputs::Shape shape{static_cast<int>(h), static_cast<int>(w), static_cast<int>(size),
                                 static_cast<int>(size)};
  const int64_t count = elements(env, "n×3×size×size", {n, 3, size, size}, half ? 2 : 4);
  const bool sourced = cb.Length() >= 12 && !cb[11].IsUndefined();
  Napi::Float32Array source;
  if (sourced) {
    source = typedArray<float>(cb[11], "localSource", elements(env, "3×height×width", {3, h, w}));
    requireFinite(env, source.Data(), source.ElementLength(), "localSource");
  }
  const bool given = cb.Length() >= 11 && !cb[9].IsUndefined();
  Napi::TypedArray global, local;
  void *gp, *lp;
  if (half) {
    auto g = given ? typedArray<uint16_t>(cb[9], "out.global", count) : newTypedArray<uint16_t>(env, count, "global");
    auto l = given ? typedArray<uint16_t>(cb[10], "out.local", count) : newTypedArray<uint16_t>(env, count, "local");
    global = g, local = l, gp = g.Data(), lp = l.Data();
  } else {
    auto g = given ? typedArray<float>(cb[9], "out.global", count) : newTypedArray<float>(env, count, "global");
    auto l = given ? typedArray<float>(cb[10], "out.local", count) : newTypedArray<float>(env, count, "local");
    global = g, local = l, gp = g.Data(), lp = l.Data();
  }
  const Backend be = guard(env, [] { return activeBackend(Family::ClipInputs); });
  const float* ps = sourced ? source.Data() : nullptr;
  auto work = [=, pr = rgb.Data(), pb = blurred.Data(), pm = masks.Data()] {
    if (half)
      clip_inputs::build(be, pr, pb, ps, pm, n, shape, static_cast<uint16_t*>(gp), static_cast<uint16_t*>(lp));
    else
      clip_inputs::build(be, pr, pb, ps, pm, n, shape, static_cast<float*>(gp), static_cast<float*>(lp));
  };
  auto result = Napi::Object::New(env);
  result.Set("global", global);
  result.Set("local", local);
  if (async) {
    std::vector<Napi::Value> keep{rgb, blurred, masks, global, local};
    if (sourced) keep.push_back(source);
    return PromiseWorker::Run(env, keep, work, resolveWith(result));
  }
  guard(env, [&] { work(); });
  return result;
}

}  // namespace

void registerClipInputs(Napi::Env env, Napi::Object exports) {
  exports.Set("buildClipInputs", Napi::Function::New(env, buildClipInputs, "buildClipInputs"));
}

}  // namespace hybridgl::napi
