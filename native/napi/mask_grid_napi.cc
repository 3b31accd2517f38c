#include "args.h"
#include "async.h"
#include "mask_grid.h"
#include "modules.h"

namespace hybridgl::napi {
namespace {

// poolMasksToGrid(masks, n, height, width, grid, mode: 'bilinear' | 'area', async) → Float32Array n×grid×grid.
Napi::Value poolMasksToGrid(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  requireArgs(cb, 7, "poolMasksToGrid");
  const int64_t n = integer(cb[1], "n"), h = integer(cb[2], "height", 1), w = integer(cb[3], "width", 1);
  const int64_t grid = integer(cb[4], "grid", 1, 4096);
  auto masks = typedArray<uint8_t>(cb[0], "masks", elements(env, "n×height×width", {n, h, w}));
  const std::string modeName = string(cb[5], "mode");
  if (modeName != "bilinear" && modeName != "area") throwRange(env, "mode must be 'bilinear' or 'area'");
  const auto mode = modeName == "area" ? mask_grid::Mode::Area : mask_grid::Mode::Bilinear;
  const bool async = boolean(cb[6], "async");
  if (mode == mask_grid::Mode::Area) {  // each axis's overlaps and a worker's row sums, all int64
    elements(env, "grid×taps (pooling weights)", {grid, resampleTaps(std::max(h, w), grid, 1)}, 8);
    elements(env, "height×grid (row sums)", {h, grid}, 8);
  }
  auto out = newTypedArray<float>(env, elements(env, "n×grid×grid", {n, grid, grid}, 4), "the pooled masks");
  if (n == 0) return async ? PromiseWorker::Run(env, {}, [] {}, resolveWith(out)) : Napi::Value(out);
  const Backend be = guard(env, [] { return activeBackend(Family::MaskGrid); });
  auto work = [=, pm = masks.Data(), po = out.Data()] {
    mask_grid::pool(be, pm, n, static_cast<int>(h), static_cast<int>(w), static_cast<int>(grid), mode, po);
  };
  if (async) return PromiseWorker::Run(env, {masks, out}, work, resolveWith(out));
  guard(env, [&] { work(); });
  return out;
}

}  // namespace

void registerMaskGrid(Napi::Env env, Napi::Object exports) {
  exports.Set("poolMasksToGrid", Napi::Function::New(env, poolMasksToGrid, "poolMasksToGrid"));
}

}  // namespace hybridgl::napi
