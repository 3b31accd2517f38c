// Small CUDA helpers shared by the .cu files: error checks that throw, and an owning device buffer.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <stdexcept>
#include <string>

namespace hybridgl::cuda {

inline void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) {
    cudaGetLastError();
    throw std::runtime_error(std::string("CUDA error in ") + what + ": " + cudaGetErrorString(err));
  }
}

template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t count) : count_(count) {
    if (count_) check(cudaMalloc(&ptr_, count_ * sizeof(T)), "cudaMalloc");
  }
  DeviceBuffer(const T* host, size_t count) : DeviceBuffer(count) { upload(host, count); }
  ~DeviceBuffer() {
    if (ptr_) cudaFree(ptr_);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* get() const { return ptr_; }
  size_t size() const { return count_; }
  void upload(const T* host, size_t count) {
    if (count) check(cudaMemcpy(ptr_, host, count * sizeof(T), cudaMemcpyHostToDevice), "upload");
  }
  void download(T* host, size_t count) const {
    if (count) check(cudaMemcpy(host, ptr_, count * sizeof(T), cudaMemcpyDeviceToHost), "download");
  }
  void zero() {
    if (count_) check(cudaMemset(ptr_, 0, count_ * sizeof(T)), "cudaMemset");
  }

 private:
  T* ptr_ = nullptr;
  size_t count_ = 0;
};

inline unsigned blocksFor(size_t n, unsigned threads) { return static_cast<unsigned>((n + threads - 1) / threads); }

// Checks the launch and waits for the kernel, so that a fault surfaces at the call that caused it.
inline void finish(const char* what) {
  check(cudaGetLastError(), what);
  check(cudaDeviceSynchronize(), what);
}

}  // namespace hybridgl::cuda
