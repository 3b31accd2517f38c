#include "args.h"
#include "async.h"
#include "backend.h"
#include "modules.h"

namespace hybridgl::napi {
namespace {

Napi::Value info(Napi::Env env) {
  const DeviceInfo& d = deviceInfo();
  auto out = Napi::Object::New(env);
  out.Set("cuda", d.cuda);
  out.Set("cudaCompiled", d.cudaCompiled);
  if (d.cuda) out.Set("device", d.device);
  if (!d.cuda) out.Set("reason", d.reason);
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

}  // namespace

void registerBackend(Napi::Env env, Napi::Object exports) {
  exports.Set("backendInfo", Napi::Function::New(env, backendInfo, "backendInfo"));
  exports.Set("setDevice", Napi::Function::New(env, setDevice, "setDevice"));
}

}  // namespace hybridgl::napi
