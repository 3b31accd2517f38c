#!/bin/sh
# Regenerates models/templates (the weight-free graphs `hybridgl models convert` fills; see models/README.md) from a
# full-size random init: SAM vit_b (and the CLIP ViT-B/16 family) by default, `sh make_templates.sh vit_l|vit_h`
# for another SAM type (SAM graphs only; `vit_b sam`: vit_b's SAM graphs only; `ARCH sam_decoder`: that graph only). Debian's python3-torch 1.13 +
# python3-onnx. Each model is exported twice: the second export, from other random weights, proves the template
# keeps no weight (models/README.md). With OpenBLAS (LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread)
# on 2 shared cores: vit_b with CLIP 6 min 49 s at 5.0 GB of RAM, vit_l 7 min 12 s at 9.6 GB, vit_h 10 min 23 s at
# 12.3 GB.
set -e
cd "$(dirname "$0")/../.."
ARCH=${1:-vit_b}
TMP=$(mktemp -d)
ONLY=""
[ "$ARCH" = vit_b ] && [ "$2" != sam ] || ONLY="--only sam_encoder,sam_decoder"
# `make_templates.sh ARCH MODEL[,MODEL…]`: those graphs only (e.g. sam_decoder after a change to it); the index
# keeps the other entries.
case "$2" in sam_*|clip_*|gem_*) ONLY="--only $2" ;; esac
${PYTHON:-/usr/bin/python3} models/export.py --random-init --sam-arch "$ARCH" --seed 0 --out "$TMP" --fp16 --int8 \
  --templates models/templates --vocab models/vocab/bpe_simple_vocab_16e6.txt.gz $ONLY
rm -rf "$TMP"
