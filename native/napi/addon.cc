#include <napi.h>

#include "modules.h"

namespace {

Napi::Object init(Napi::Env env, Napi::Object exports) {
  using namespace hybridgl::napi;
  registerBackend(env, exports);
  registerMaskOps(env, exports);
  registerImagePrep(env, exports);
  registerRle(env, exports);
  registerGaussianBlur(env, exports);
  registerClipInputs(env, exports);
  registerMaskGrid(env, exports);
  registerHeatmap(env, exports);
  registerSamPost(env, exports);
  registerSamCrops(env, exports);
  registerHeap(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(hybridgl, init)
