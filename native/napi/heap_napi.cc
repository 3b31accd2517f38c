// The process heap: handing memory that the C library keeps after free() back to the system. ONNX Runtime's
// sessions run without their arena, so each call's intermediates come from malloc; glibc keeps freed chunks in
// its arenas, and what one model's call freed is not always what the next model's call can reuse.
#include <napi.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "modules.h"

namespace hybridgl::napi {
namespace {

// releaseFreeHeap() → true when the C library can return free heap memory (glibc's malloc_trim), false where it
// cannot (nothing was done).
Napi::Value releaseFreeHeap(const Napi::CallbackInfo& cb) {
#if defined(__GLIBC__)
  malloc_trim(0);
  return Napi::Boolean::New(cb.Env(), true);
#else
  return Napi::Boolean::New(cb.Env(), false);
#endif
}

}  // namespace

void registerHeap(Napi::Env env, Napi::Object exports) {
  exports.Set("releaseFreeHeap", Napi::Function::New(env, releaseFreeHeap, "releaseFreeHeap"));
}

}  // namespace hybridgl::napi
