// Which backend runs each kernel family: CUDA when compiled in, a device is present and the family's CUDA twin
// passed its start-up self-test against the CPU version; else CPU. HYBRIDGL_DEVICE=cpu|cuda forces the device
// (cuda without a device is an error); HYBRIDGL_SELFTEST=0 skips the self-test (every family then trusts CUDA).
#pragma once

#include <array>
#include <string>

namespace hybridgl {

enum class Backend { Cpu, Cuda };

// The kernel families, one header each.
enum class Family : int { Rle, MaskOps, MaskGrid, GaussianBlur, ImagePrep, Heatmap, ClipInputs, SamPost };
constexpr int kFamilies = 8;
const char* familyName(Family f);

struct FamilyStatus {
  Backend backend = Backend::Cpu;
  // "pass" or "mismatch" / "error" (then routed to the CPU), "skipped" (HYBRIDGL_SELFTEST=0), "cpu" (no GPU in use).
  std::string result = "cpu";
  std::string detail;  // what differed, or the error
  double ms = 0;       // time of the family's self-test
};

struct DeviceInfo {
  bool cudaCompiled = false;  // the CUDA kernels are in this build
  bool cuda = false;          // a GPU is in use (by every family that passed its self-test)
  std::string device;         // the GPU's name when cuda is true
  std::string reason;         // why the CPU is used, when it is
  std::array<FamilyStatus, kFamilies> families;
};

// Resolved once per process (first call), then cached.
const DeviceInfo& deviceInfo();
inline Backend activeBackend(Family f) { return deviceInfo().families[static_cast<int>(f)].backend; }

// Thrown (as std::runtime_error) by forceDevice when the request cannot be met.
void forceDevice(const std::string& which);  // "cpu", "cuda" or "auto"

namespace cuda {
// Implemented in backend.cu when CUDA is compiled; otherwise report absence.
bool probe(std::string& name, std::string& reason);
}  // namespace cuda

}  // namespace hybridgl
