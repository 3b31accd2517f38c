#!/bin/sh
# Full-size check of `hybridgl models convert`, outside CI: random-weight SAM (vit_b|vit_l|vit_h) and CLIP ViT-B/16
# checkpoints in the official formats (scripts/fixtures/make_checkpoints.py, Debian's torch) of seed SEED (default
# 21: SAM 21, CLIP 22; the committed templates were made from SAM seed 1 and CLIP seed 0, so a weight kept in a
# template shows), converted by the TypeScript converter from the committed templates and exported by export.py
# from the same checkpoints; the SAM graphs (fp32 and fp16; ALL=1: every graph, int8 too) and their external-data files must
# have the same sha256 (a difference is named tensor by tensor, scripts/fixtures/graph_tensors.py). SEGMENT=1 makes
# the SAM checkpoint with make_e2e_reference.py's weight edits (--sam-iou-shift 1.0: proposals survive; the upscaling
# weights stay random across channels), exports every graph and segments assets/demo.jpg with both directories: same
# result. Peak RSS and time of each step
# (/usr/bin/time -v) go to OUT/logs. vit_h: its fp32 encoder (2.5 GB) is written as ONNX external data; export.py
# needs ~10 GB of RAM for it, the converter under 1 GB.
#   sh scripts/models/full_size_convert_check.sh vit_h OUT
# OUT keeps the checkpoints (OUT/checkpoints), export.py's graphs (OUT/<arch>-export) and the converted model
# directory (OUT/<arch>-models). RUN prefixes each heavy step (e.g. RUN="flock /tmp/heavy.lock").
set -e
cd "$(dirname "$0")/../.."
ARCH=${1:?usage: full_size_convert_check.sh vit_b|vit_l|vit_h OUT}
OUT=${2:?usage: full_size_convert_check.sh vit_b|vit_l|vit_h OUT}
PY=${PYTHON:-/usr/bin/python3}
SEED=${SEED:-21}
[ "$SEED" != 1 ] && [ "$SEED" != 0 ] || { echo "SEED $SEED is the templates' seed: the check could not see a kept weight" >&2; exit 2; }
SHIFT=${SEGMENT:+--sam-iou-shift 1.0}
CK=$OUT/checkpoints-seed$SEED${SEGMENT:+-segment}
mkdir -p "$CK" "$OUT/logs"
timed() { # timed NAME command…: runs it under $RUN, /usr/bin/time -v into OUT/logs/NAME.time
  name=$1; shift
  echo "== $name: $* (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  $RUN /usr/bin/time -v -o "$OUT/logs/$name.time" "$@" > "$OUT/logs/$name.log" 2>&1 || { tail -20 "$OUT/logs/$name.log" >&2; exit 1; }
  grep -E 'Elapsed|Maximum resident' "$OUT/logs/$name.time" >&2
}
[ -f "$CK/sam_$ARCH.pth" ] || timed "checkpoint-$ARCH" $PY scripts/fixtures/make_checkpoints.py --full-size \
  --sam-arch "$ARCH" --only sam --out "$CK" --seed "$SEED" $SHIFT
[ -f "$CK/clip_vit_b_16.pt" ] || timed checkpoint-clip $PY scripts/fixtures/make_checkpoints.py --full-size --only clip \
  --out "$CK" --seed "$SEED"
if [ "$ALL" = 1 ] || [ "$SEGMENT" = 1 ]; then ONLY=""; FP16=all; INT8=--int8; PRECISIONS=fp32,fp16,int8
else ONLY="--only sam_encoder,sam_decoder"; FP16=sam_encoder,sam_decoder; INT8=; PRECISIONS=fp32,fp16; fi
rm -rf "$OUT/$ARCH-export" "$OUT/$ARCH-models"
timed "export-$ARCH" $PY models/export.py --sam-checkpoint "$CK/sam_$ARCH.pth" --sam-arch "$ARCH" \
  --clip-checkpoint "$CK/clip_vit_b_16.pt" --out "$OUT/$ARCH-export" $ONLY \
  --fp16 $FP16 $INT8 --vocab models/vocab/bpe_simple_vocab_16e6.txt.gz
timed "convert-$ARCH" node bin/hybridgl.js models convert --sam "$CK/sam_$ARCH.pth" --clip "$CK/clip_vit_b_16.pt" \
  --out "$OUT/$ARCH-models" --precision $PRECISIONS
sh scripts/models/compare_model_dirs.sh "$OUT/$ARCH-export" "$OUT/$ARCH-models" "$OUT/logs"
if [ "$SEGMENT" = 1 ]; then
  for d in export models; do
    rm -f "$OUT/segment-$d.json"
    $RUN node bin/hybridgl.js segment assets/demo.jpg "the dog" "a person" --models "$OUT/$ARCH-$d" --device cpu \
      --json "$OUT/segment-$d.json" > "$OUT/logs/segment-$d.log" 2>&1 && echo 0 > "$OUT/logs/segment-$d.status" ||
      echo $? > "$OUT/logs/segment-$d.status"
  done
  node -e '
const fs = require("node:fs");
const out = process.argv[1];
const read = (d) => ({ status: fs.readFileSync(`${out}/logs/segment-${d}.status`, "utf8").trim(),
  result: fs.existsSync(`${out}/segment-${d}.json`) ? JSON.stringify(JSON.parse(fs.readFileSync(`${out}/segment-${d}.json`, "utf8")),
    (k, v) => (/^timings$|time|ms$/i.test(k) ? undefined : v)) : null });
const [a, b] = [read("export"), read("models")];
console.log(`segment demo.jpg: exit ${a.status} with the export.py directory, ${b.status} with the converted one`);
if (a.status !== b.status || a.result !== b.result) { console.error("the two model directories segment demo.jpg differently"); process.exit(1); }
console.log(`same result (${a.result ? a.result.length : 0} bytes of result JSON, timings left out)`);
' "$(realpath "$OUT")"
fi
