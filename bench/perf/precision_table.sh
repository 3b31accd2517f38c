#!/bin/sh
# Times each reduced-precision variant of the full-size graphs against fp32 on ONNX Runtime's CPU provider
# (2 threads): per-run times and the output's agreement (CHANGELOG.md, History: "Reduced precision on CPU").
# usage: bench/perf/precision_table.sh MODELS_DIR OUT_DIR [model ...]   (heavy: run it under the timing lock)
# Needs Debian's python3-onnx for the variants (measurement only).
set -e
cd "$(dirname "$0")/../.."
MODELS=$1; OUT=$2; shift 2
[ $# -gt 0 ] || set -- sam_encoder sam_decoder clip_trunk clip_head_g2l gem_visual
mkdir -p "$OUT"
for m in "$@"; do
  [ -f "$OUT/$m.fp16.onnx" ] || ${PYTHON:-/usr/bin/python3} bench/perf/precision_variants.py "$OUT" "$MODELS/$m.fp32.onnx"
  uptime
  npx tsx bench/perf/precision_run.ts "$MODELS/$m.fp32.onnx" --runs 2 --save "$OUT/$m.fp32.out"
  for v in int8-dqmm int8-dqmm7 int8-mmi fp16 bf16; do
    npx tsx bench/perf/precision_run.ts "$OUT/$m.$v.onnx" --runs 2 --compare "$OUT/$m.fp32.out" 2>&1 | grep -v '^    at ' || true
  done
done
uptime
