// The start-up self-test: each kernel family runs on small fixed inputs on a candidate backend (the CUDA twin) and
// is compared with its CPU version, bit for bit where the CPU contract is exact, else within the tolerance its
// kernel test uses. A family that differs or throws is routed to the CPU for the life of the process.
#pragma once

#include <array>
#include <functional>
#include <string>
#include <vector>

#include "backend.h"

namespace hybridgl::selftest {

// One output of a family's kernels, widened to double (exact for every integer and float it holds).
// Equal when |a − b| ≤ absTol + relTol·|a| element by element (NaN equals NaN); 0/0 is bit for bit.
struct Output {
  std::string what;
  std::vector<double> values;
  double absTol = 0, relTol = 0;
};
using Outputs = std::vector<Output>;

// The family's kernels on its fixed inputs, run on `be`.
Outputs run(Family f, Backend be);

// "" when `candidate` equals `reference` within each output's tolerance, else the first difference in words.
std::string compare(const Outputs& reference, const Outputs& candidate);

// Self-tests every family's candidate against run(f, Backend::Cpu): passing families are routed to CUDA, the
// others to the CPU with a status saying why; `warn` gets one line per family routed away.
using Candidate = std::function<Outputs(Family)>;
using Warn = std::function<void(const std::string&)>;
std::array<FamilyStatus, kFamilies> route(const Candidate& candidate, const Warn& warn);

// A fresh self-test for reports (`hybridgl selftest`, kernel_selftest): CUDA against CPU when a GPU is in use,
// else the CPU probes alone, timed, with the reason as detail. The routing chosen at start-up stays as it is.
std::array<FamilyStatus, kFamilies> report();

}  // namespace hybridgl::selftest
