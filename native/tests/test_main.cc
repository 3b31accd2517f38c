#include <cstdio>
#include <stdexcept>

#include "backend.h"
#include "harness.h"

namespace hybridgl::test {

std::vector<Case>& registry() {
  static std::vector<Case> cases;
  return cases;
}

struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void fail(const char* file, int line, const std::string& what) {
  throw Failure(std::string(file) + ":" + std::to_string(line) + ": CHECK(" + what + ") failed");
}

bool gpuPresent() { return deviceInfo().cuda; }

}  // namespace hybridgl::test

int main() {
  using namespace hybridgl;
  const DeviceInfo& d = deviceInfo();
  std::printf("backend: %s%s\n", d.cuda ? "cuda " : "cpu", d.cuda ? d.device.c_str() : (" (" + d.reason + ")").c_str());
  if (!d.cuda) std::printf("no GPU: CUDA-vs-CPU cases check the CPU kernels only\n");
  int passed = 0, failed = 0, skipped = 0;
  for (const auto& c : test::registry()) {
    try {
      c.fn();
      ++passed;
      std::printf("ok   %s\n", c.name.c_str());
    } catch (const test::Skip& s) {
      ++skipped;
      std::printf("skip %s: %s\n", c.name.c_str(), s.why.c_str());
    } catch (const std::exception& e) {
      ++failed;
      std::printf("FAIL %s: %s\n", c.name.c_str(), e.what());
    }
  }
  std::printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
  return failed ? 1 : 0;
}
