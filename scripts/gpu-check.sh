#!/usr/bin/env bash
# One command for a GPU machine with nvcc, CMake and Python + PyTorch (no Node needed): builds the kernel tests and
# bench for the GPU present, runs kernel_tests (CUDA against CPU), the start-up self-test (kernel_selftest), the
# kernel bench at RefCOCO sizes, and times the backbones' PyTorch modules in fp32 and bf16. Writes gpu-check.json,
# gpu-check.md and logs/ to OUTDIR. About 5 minutes on an H100/H200.
#   scripts/gpu-check.sh [--dry-run] [--build-dir DIR] [--python PY] OUTDIR
# --dry-run: the same steps on the CPU (CUDA off, one timed run per bench row, tiny backbone configs), to check the
# script itself on a machine without a GPU; --build-dir builds there (an existing dry-run build keeps its config).
set -uo pipefail
cd "$(dirname "$0")/.."
DRY=0 BUILD="" PY=${PYTHON:-python3} OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1 ;;
    --build-dir) BUILD=$2; shift ;;
    --python) PY=$2; shift ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "gpu-check: unknown option $1" >&2; exit 2 ;;
    *) OUT=$1 ;;
  esac
  shift
done
[ -n "$OUT" ] || { echo "gpu-check: give the output directory" >&2; exit 2; }
mkdir -p "$OUT/logs"
OUT=$(cd "$OUT" && pwd)
rm -f "$OUT"/{gpu-check.json,gpu-check.md,selftest.json,kernel_bench.json,backbones.json}
FAILED=0
step() { echo "== $1" >&2; }
fail() { echo "gpu-check: $1" >&2; FAILED=1; }

if [ "$DRY" = 1 ]; then
  # An existing build dir keeps its configuration (e.g. npm test's build/kernels); a new one is CPU-only.
  [ -n "$BUILD" ] && [ -f "$BUILD/CMakeCache.txt" ] && CONFIG=() || CONFIG=(-DHYBRIDGL_CUDA=OFF)
  BUILD=${BUILD:-$OUT/build}
  BENCH=(--refcoco --quick) TIMING=(--tiny --device cpu --iterations 1 --warmup 0 --sam vit_b)
else
  BUILD=${BUILD:-$OUT/build}
  command -v nvidia-smi >/dev/null && nvidia-smi > "$OUT/logs/nvidia-smi.txt" 2>&1
  CAP=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')
  CONFIG=(-DHYBRIDGL_CUDA=ON ${CAP:+-DHYBRIDGL_CUDA_ARCHITECTURES=$CAP})
  BENCH=(--refcoco) TIMING=(--device cuda)
fi

step "build ($BUILD)"
if cmake -S . -B "$BUILD" -DHYBRIDGL_BUILD_TESTS=ON ${CONFIG[@]+"${CONFIG[@]}"} > "$OUT/logs/build.log" 2>&1 &&
   cmake --build "$BUILD" --parallel "$(nproc)" --target kernel_tests kernel_selftest kernel_bench >> "$OUT/logs/build.log" 2>&1; then
  step "kernel_tests"
  "$BUILD/kernel_tests" > "$OUT/logs/kernel_tests.log" 2>&1 || fail "kernel_tests failed (logs/kernel_tests.log)"
  tail -1 "$OUT/logs/kernel_tests.log" >&2
  step "self-test"
  "$BUILD/kernel_selftest" --json > "$OUT/selftest.json" 2> "$OUT/logs/selftest.err" || fail "self-test mismatch (selftest.json)"
  step "kernel bench"
  "$BUILD/kernel_bench" "${BENCH[@]}" --json "$OUT/kernel_bench.json" > "$OUT/logs/kernel_bench.log" 2>&1 ||
    fail "kernel_bench failed (logs/kernel_bench.log)"
else
  fail "the kernel build failed (logs/build.log)"
fi

step "backbones"
if "$PY" -c 'import torch' 2> /dev/null; then
  "$PY" bench/gpu/time_backbones.py --out "$OUT" "${TIMING[@]}" > "$OUT/logs/backbones.log" 2>&1 ||
    fail "backbone timing failed (logs/backbones.log)"
else
  echo "gpu-check: $PY has no torch: backbone timing skipped" | tee "$OUT/logs/backbones.log" >&2
fi

step "summary"
"$PY" bench/gpu/summarize.py "$OUT" > /dev/null || fail "summary failed"
for f in gpu-check.json gpu-check.md selftest.json kernel_bench.json; do
  [ -s "$OUT/$f" ] || fail "$f was not written"
done
[ -f "$OUT/gpu-check.md" ] && cat "$OUT/gpu-check.md"
exit $FAILED
