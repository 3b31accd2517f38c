// selftest: the comparison rules, and the routing with stand-in candidates (a corrupted result, a throwing one,
// one within tolerance) on any machine; on a GPU the real CUDA twins must all pass.
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "backend.h"
#include "harness.h"
#include "selftest.h"

using namespace hybridgl;

namespace {

selftest::Outputs cpu(Family f) { return selftest::run(f, Backend::Cpu); }

FamilyStatus statusOf(const std::array<FamilyStatus, kFamilies>& t, Family f) { return t[static_cast<int>(f)]; }

}  // namespace

TEST_CASE("selftest: every family's CPU probes agree with themselves and cover all outputs") {
  std::vector<std::string> warnings;
  auto table = selftest::route(cpu, [&](const std::string& w) { warnings.push_back(w); });
  CHECK(warnings.empty());
  for (int i = 0; i < kFamilies; ++i) {
    CHECK(table[i].result == "pass");
    CHECK(table[i].backend == Backend::Cuda);
    auto outs = cpu(static_cast<Family>(i));
    CHECK(!outs.empty());
    for (const auto& o : outs) CHECK(!o.values.empty());
  }
}

TEST_CASE("selftest: a stand-in backend's corrupted or failing families go to the CPU, the rest stay") {
  std::vector<std::string> warnings;
  auto standIn = [](Family f) {
    auto o = cpu(f);
    if (f == Family::Heatmap) o[0].values[3] += 1e-3;        // beyond the 1e-5 of a float resize
    if (f == Family::Rle) o[1].values[7] = 1 - o[1].values[7];  // one decoded pixel flipped
    if (f == Family::ImagePrep) o[2].values[0] = std::nextafter(o[2].values[0], 1e9);  // one ulp off, exact output
    if (f == Family::MaskGrid) throw std::runtime_error("device lost");
    if (f == Family::ClipInputs) o[0].values[5] += 1e-7;     // within 1e-5: passes
    if (f == Family::SamPost) o.pop_back();
    return o;
  };
  auto table = selftest::route(standIn, [&](const std::string& w) { warnings.push_back(w); });
  CHECK(statusOf(table, Family::Heatmap).result == "mismatch");
  CHECK(statusOf(table, Family::Rle).result == "mismatch");
  CHECK(statusOf(table, Family::ImagePrep).result == "mismatch");
  CHECK(statusOf(table, Family::SamPost).result == "mismatch");
  CHECK(statusOf(table, Family::MaskGrid).result == "error");
  CHECK(statusOf(table, Family::MaskGrid).detail == "device lost");
  CHECK(statusOf(table, Family::Rle).detail.find("decode[7]") == 0);
  for (Family f : {Family::Heatmap, Family::Rle, Family::ImagePrep, Family::SamPost, Family::MaskGrid})
    CHECK(statusOf(table, f).backend == Backend::Cpu);
  for (Family f : {Family::ClipInputs, Family::MaskOps, Family::GaussianBlur}) {
    CHECK(statusOf(table, f).result == "pass");
    CHECK(statusOf(table, f).backend == Backend::Cuda);
  }
  CHECK(warnings.size() == 5);
  for (const auto& w : warnings) CHECK(w.find("failed its self-test") != std::string::npos);
  CHECK(warnings[0].find("'rle'") != std::string::npos);
}

TEST_CASE("selftest compare: NaN meets NaN, tolerances are absolute plus relative") {
  selftest::Output a{"x", {1.0, NAN, 100.0}, 0, 1e-6}, b = a;
  CHECK(selftest::compare({a}, {b}).empty());
  b.values[2] = 100.00005;
  CHECK(selftest::compare({a}, {b}).empty());
  b.values[2] = 100.0002;
  CHECK(selftest::compare({a}, {b}).find("x[2]") == 0);
  b = a;
  b.values[1] = 0;
  CHECK(!selftest::compare({a}, {b}).empty());
}

TEST_CASE("selftest: start-up routing follows the device") {
  const DeviceInfo& d = deviceInfo();
  for (const auto& s : d.families) {
    if (!d.cuda) {
      CHECK(s.backend == Backend::Cpu);
      CHECK(s.result == "cpu");
    } else {
      CHECK(s.result == "pass" || s.result == "skipped");
    }
  }
}

TEST_CASE("selftest: the real CUDA twins pass against the CPU") {
  REQUIRE_GPU();
  std::vector<std::string> warnings;
  auto table = selftest::route([](Family f) { return selftest::run(f, Backend::Cuda); },
                               [&](const std::string& w) { warnings.push_back(w); });
  for (const auto& w : warnings) std::printf("  %s\n", w.c_str());
  CHECK(warnings.empty());
}
