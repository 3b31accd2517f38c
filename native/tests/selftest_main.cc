// kernel_selftest: the start-up self-test as a program (no Node), for GPU machines: one row per kernel family
// (backend, result, time), `--json` for a machine-readable copy. Exits 1 on any mismatch or error.
#include <cstdio>
#include <cstring>
#include <string>

#include "backend.h"
#include "selftest.h"

using namespace hybridgl;

namespace {

std::string jsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

int main(int argc, char** argv) {
  const bool json = argc > 1 && std::strcmp(argv[1], "--json") == 0;
  const DeviceInfo& d = deviceInfo();
  const auto table = selftest::report();
  int bad = 0;
  for (const auto& s : table) bad += s.result == "mismatch" || s.result == "error";
  if (json) {
    std::printf("{\"device\": %s, \"families\": [", jsonString(d.cuda ? d.device : "cpu (" + d.reason + ")").c_str());
    for (int i = 0; i < kFamilies; ++i)
      std::printf("%s{\"family\": \"%s\", \"backend\": \"%s\", \"result\": \"%s\", \"detail\": %s, \"ms\": %.3f}",
                  i ? ", " : "", familyName(static_cast<Family>(i)), table[i].backend == Backend::Cuda ? "cuda" : "cpu",
                  table[i].result.c_str(), jsonString(table[i].detail).c_str(), table[i].ms);
    std::printf("]}\n");
  } else {
    std::printf("device: %s\n%-14s %-8s %-9s %8s  %s\n", d.cuda ? d.device.c_str() : ("cpu (" + d.reason + ")").c_str(),
                "family", "backend", "result", "ms", "detail");
    for (int i = 0; i < kFamilies; ++i)
      std::printf("%-14s %-8s %-9s %8.2f  %s\n", familyName(static_cast<Family>(i)),
                  table[i].backend == Backend::Cuda ? "cuda" : "cpu", table[i].result.c_str(), table[i].ms,
                  table[i].detail.c_str());
  }
  return bad ? 1 : 0;
}
