#!/bin/sh
# Full-size check of `hybridgl models convert`, outside CI: random-weight SAM (vit_b|vit_l|vit_h) and CLIP ViT-B/16
# checkpoints in the official formats (scripts/fixtures/make_checkpoints.py, Debian's torch), converted by the
# TypeScript converter from the committed templates and exported by export.py from the same checkpoints; the SAM
# graphs (fp32 and fp16) and their external-data files must have the same sha256. Peak RSS and time of each step
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
CK=$OUT/checkpoints
mkdir -p "$CK" "$OUT/logs"
timed() { # timed NAME command…: runs it under $RUN, /usr/bin/time -v into OUT/logs/NAME.time
  name=$1; shift
  echo "== $name: $* (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  $RUN /usr/bin/time -v -o "$OUT/logs/$name.time" "$@" > "$OUT/logs/$name.log" 2>&1 || { tail -20 "$OUT/logs/$name.log" >&2; exit 1; }
  grep -E 'Elapsed|Maximum resident' "$OUT/logs/$name.time" >&2
}
[ -f "$CK/sam_$ARCH.pth" ] || timed "checkpoint-$ARCH" $PY scripts/fixtures/make_checkpoints.py --full-size \
  --sam-arch "$ARCH" --only sam --out "$CK"
[ -f "$CK/clip_vit_b_16.pt" ] || timed checkpoint-clip $PY scripts/fixtures/make_checkpoints.py --full-size --only clip \
  --out "$CK"
rm -rf "$OUT/$ARCH-export" "$OUT/$ARCH-models"
timed "export-$ARCH" $PY models/export.py --sam-checkpoint "$CK/sam_$ARCH.pth" --sam-arch "$ARCH" \
  --clip-checkpoint "$CK/clip_vit_b_16.pt" --out "$OUT/$ARCH-export" --only sam_encoder,sam_decoder \
  --fp16 sam_encoder,sam_decoder --vocab models/vocab/bpe_simple_vocab_16e6.txt.gz
timed "convert-$ARCH" node bin/hybridgl.js models convert --sam "$CK/sam_$ARCH.pth" --clip "$CK/clip_vit_b_16.pt" \
  --out "$OUT/$ARCH-models" --precision fp32,fp16
node -e '
const [exported, converted] = process.argv.slice(1).map((d) => require(`${d}/manifest.json`));
const made = new Map(converted.files.map((f) => [f.name, f]));
let bad = 0;
for (const e of exported.files) {
  const c = made.get(e.name);
  const same = c && c.sha256 === e.sha256 && c.bytes === e.bytes &&
    JSON.stringify(c.externalData ?? null) === JSON.stringify(e.externalData ?? null);
  if (!same) bad++;
  console.log(`${same ? "same" : "DIFFERENT"} ${e.name} ${e.bytes} B sha256 ${e.sha256.slice(0, 16)}…` +
    (e.externalData ? ` + ${e.externalData.name} ${e.externalData.bytes} B sha256 ${e.externalData.sha256.slice(0, 16)}…` : ""));
}
if (bad) { console.error(`${bad} of ${exported.files.length} graphs differ`); process.exit(1); }
console.log(`all ${exported.files.length} SAM graphs of export.py equal the converted ones`);
' "$(realpath "$OUT/$ARCH-export")" "$(realpath "$OUT/$ARCH-models")"
