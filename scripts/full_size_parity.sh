#!/bin/sh
# Full-size parity, outside CI: random-init SAM vit_b and CLIP ViT-B/16 at full size, exported to ONNX with the
# PyTorch outputs for fixed inputs, then run through onnxruntime-node and compared (relative error per output).
# Needs ~9 GB of RAM and ~2 GB of disk; about 7 minutes on 2 cores with OpenBLAS. Debian's default libblas is the
# slow reference BLAS: point LD_LIBRARY_PATH at an OpenBLAS libblas.so.3 directory (libopenblas0-pthread) first.
# OUT (default /tmp/hybridgl-full-size) keeps the files.
set -e
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/hybridgl-full-size}
${PYTHON:-/usr/bin/python3} models/export.py --random-init --sam-arch vit_b --out "$OUT" --reference "$@"
npx tsx scripts/models/compare_reference.ts "$OUT" fp32 1e-5
