#include "args.h"
#include "async.h"
#include "backend.h"
#include "modules.h"
#include "selftest.h"

namespace hybridgl::napi {
namespace {

Napi::Array familyTable(Napi::Env env, const std::array<FamilyStatus, kFamilies>& families) {
  auto out = Napi::Array::New(env, kFamilies);
  for (int i = 0; i < kFamilies; ++i) {
    const FamilyStatus& s = families[i];
    auto row = Napi::Object::New(env);
    row.Set("family", familyName(static_cast<Family>(i)));
    row.Set("backend", s.backend == Backend::Cuda ? "cuda" : "cpu");
    row.Set("result", s.result);
    if (!s.detail.empty()) row.Set("detail", s.detail);
    row.Set("ms", s.ms);
    out.Set(i, row);
  }
  return out;
}

Napi::Value info(Napi::Env env) {
  const DeviceInfo& d = deviceInfo();
  auto out = Napi::Object::New(env);
  out.Set("cuda", d.cuda);
  out.Set("cudaCompiled", d.cudaCompiled);
  if (d.cuda) out.Set("device", d.device);
  if (!d.cuda) out.Set("reason", d.reason);
  out.Set("families", familyTable(env, d.families));
  return out;
}

Napi::Value backendInfo(const Napi::CallbackInfo& cb) {
  return guard(cb.Env(), [&] { return info(cb.Env()); });
}

Napi::Value setDevice(const Napi::CallbackInfo& cb) {
  requireArgs(cb, 1, "setDevice");
  const std::string which = string(cb[0], "device");
  return guard(cb.Env(), [&] {
    forceDevice(which);
    return info(cb.Env());
  });
}

// selfTest() → the family table of a fresh self-test (selftest::report); routing stays as chosen at start-up.
Napi::Value selfTest(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  return guard(env, [&] { return familyTable(env, selftest::report()); });
}

}  // namespace

void registerBackend(Napi::Env env, Napi::Object exports) {
  exports.Set("backendInfo", Napi::Function::New(env, backendInfo, "backendInfo"));
  exports.Set("setDevice", Napi::Function::New(env, setDevice, "setDevice"));
  exports.Set("selfTest", Napi::Function::New(env, selfTest, "selfTest"));
}

}  // namespace hybridgl::napi
