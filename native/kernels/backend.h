// Which backend runs the kernels: CUDA when compiled in and a device is present, else CPU.
// HYBRIDGL_DEVICE=cpu|cuda forces the choice (cuda without a device is an error).
#pragma once

#include <string>

namespace hybridgl {

enum class Backend { Cpu, Cuda };

struct DeviceInfo {
  bool cudaCompiled = false;  // the CUDA kernels are in this build
  bool cuda = false;          // kernels run on a GPU
  std::string device;         // the GPU's name when cuda is true
  std::string reason;         // why the CPU is used, when it is
};

// Resolved once per process (first call), then cached.
const DeviceInfo& deviceInfo();
inline Backend activeBackend() { return deviceInfo().cuda ? Backend::Cuda : Backend::Cpu; }

// Thrown (as std::runtime_error) by forceDevice when the request cannot be met.
void forceDevice(const std::string& which);  // "cpu", "cuda" or "auto"

namespace cuda {
// Implemented in backend.cu when CUDA is compiled; otherwise report absence.
bool probe(std::string& name, std::string& reason);
}  // namespace cuda

}  // namespace hybridgl
