#include <cuda_runtime.h>

#include "backend.h"

namespace hybridgl {

bool cuda::probe(std::string& name, std::string& reason) {
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    reason = std::string("no CUDA device: ") + cudaGetErrorString(err);
    cudaGetLastError();
    return false;
  }
  if (count == 0) {
    reason = "no CUDA device";
    return false;
  }
  cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) {
    reason = "cannot read CUDA device 0";
    cudaGetLastError();
    return false;
  }
  name = prop.name;
  return true;
}

}  // namespace hybridgl
