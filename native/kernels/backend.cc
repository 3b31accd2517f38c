#include "backend.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <stdexcept>

#include "selftest.h"

namespace hybridgl {
namespace {

bool selfTestWanted() {
  const char* env = std::getenv("HYBRIDGL_SELFTEST");
  return !(env && std::string(env) == "0");
}

DeviceInfo resolve(const std::string& want) {
  DeviceInfo info;
#ifdef HYBRIDGL_WITH_CUDA
  info.cudaCompiled = true;
#endif
  if (want == "cpu") {
    info.reason = "forced by HYBRIDGL_DEVICE=cpu";
    return info;
  }
  std::string name, reason;
  if (info.cudaCompiled && cuda::probe(name, reason)) {
    info.cuda = true;
    info.device = name;
    if (selfTestWanted()) {
      info.families = selftest::route([](Family f) { return selftest::run(f, Backend::Cuda); },
                                      [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); });
    } else {
      for (auto& s : info.families) s = {Backend::Cuda, "skipped", "HYBRIDGL_SELFTEST=0", 0};
    }
    return info;
  }
  info.reason = info.cudaCompiled ? reason : "built without CUDA";
  if (want == "cuda") throw std::runtime_error("HYBRIDGL_DEVICE=cuda but no CUDA device is usable: " + info.reason);
  return info;
}

std::mutex gMutex;
DeviceInfo* gInfo = nullptr;

}  // namespace

const char* familyName(Family f) {
  static const char* const names[kFamilies] = {"rle",     "mask_ops", "mask_grid",   "gaussian_blur",
                                               "image_prep", "heatmap", "clip_inputs", "sam_post"};
  return names[static_cast<int>(f)];
}

const DeviceInfo& deviceInfo() {
  std::lock_guard<std::mutex> lock(gMutex);
  if (!gInfo) {
    const char* env = std::getenv("HYBRIDGL_DEVICE");
    std::string want = env ? env : "auto";
    if (want != "cpu" && want != "cuda" && want != "auto" && !want.empty())
      throw std::runtime_error("HYBRIDGL_DEVICE must be cpu, cuda or auto, got '" + want + "'");
    gInfo = new DeviceInfo(resolve(want));
  }
  return *gInfo;
}

void forceDevice(const std::string& which) {
  if (which != "cpu" && which != "cuda" && which != "auto")
    throw std::runtime_error("device must be cpu, cuda or auto, got '" + which + "'");
  DeviceInfo next = resolve(which);
  std::lock_guard<std::mutex> lock(gMutex);
  delete gInfo;
  gInfo = new DeviceInfo(next);
}

#ifndef HYBRIDGL_WITH_CUDA
bool cuda::probe(std::string&, std::string& reason) {
  reason = "built without CUDA";
  return false;
}
#endif

}  // namespace hybridgl
