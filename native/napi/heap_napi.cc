// The process heap: handing memory that the C library keeps after free() back to the system, and choosing which
// blocks it maps on their own. ONNX Runtime's sessions run without their arena, so each call's intermediates come
// from malloc; glibc keeps freed chunks in its arenas, and what one model's call freed is not always what the next
// model's call can reuse.
#include <napi.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "args.h"
#include "modules.h"

namespace hybridgl::napi {
namespace {

// glibc refuses an mmap threshold above half its largest heap: 32 MiB on 64-bit systems.
constexpr int64_t kMaxMmapThreshold = int64_t{32} << 20;

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

// setMmapThreshold(bytes) → true when the C library now maps every block of `bytes` or more on its own and unmaps
// it at free() (glibc's M_MMAP_THRESHOLD, which also stops glibc from moving the threshold itself); false where it
// cannot (nothing was done). The heap's free top is kept up to twice that size (M_TRIM_THRESHOLD), as glibc's moving
// threshold keeps it: at glibc's fixed default of 128 KiB the decoder's calls faulted in 2.5× the pages.
Napi::Value setMmapThreshold(const Napi::CallbackInfo& cb) {
  requireArgs(cb, 1, "setMmapThreshold");
  const int64_t bytes = integer(cb[0], "bytes", 0, kMaxMmapThreshold);
#if defined(__GLIBC__)
  const bool set = mallopt(M_MMAP_THRESHOLD, static_cast<int>(bytes)) == 1 &&
                   mallopt(M_TRIM_THRESHOLD, static_cast<int>(2 * bytes)) == 1;
  return Napi::Boolean::New(cb.Env(), set);
#else
  (void)bytes;
  return Napi::Boolean::New(cb.Env(), false);
#endif
}

}  // namespace

void registerHeap(Napi::Env env, Napi::Object exports) {
  exports.Set("releaseFreeHeap", Napi::Function::New(env, releaseFreeHeap, "releaseFreeHeap"));
  exports.Set("setMmapThreshold", Napi::Function::New(env, setMmapThreshold, "setMmapThreshold"));
}

}  // namespace hybridgl::napi
