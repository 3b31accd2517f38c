#!/bin/sh
# SAM vit_h at full size against the reference's own modules, outside CI (issue 24): the structured-edit random
# weights (scripts/fixtures/make_e2e_reference.py --sam-arch vit_h --sam-edit structured) are written as the official
# checkpoint files (sam_vit_h.pth, clip_vit_b_16.pt with CLIP's fp16 weights rounded so) and run through the
# reference's modules on one photo (12 expressions); the same checkpoints then go through models/export.py and
# `hybridgl models convert`, the two model directories are compared graph by graph (scripts/models/
# compare_model_dirs.sh) and each is compared with the reference (scripts/full_size_e2e_report.ts: proposals, G2L
# features, every score, both choices). Each step holds the shared heavy-job lock once and runs under
# /usr/bin/time -v (OUT/logs/<step>.time: peak RSS and time); a step whose output exists is skipped. Last, the peak
# RSS of `hybridgl segment` with the converted models (OUT/logs/segment-converted.time).
# Needs ~13 GB of RAM (export.py's vit_h), ~6 GB of disk.
#   REF=/work/ref OUT=/work/fullsize-vith sh scripts/full_size_vith.sh
set -e
cd "$(dirname "$0")/.."
REF=${REF:?checkouts: REF/HybridGL REF/GEM REF/open_clip}
OUT=${OUT:-/work/fullsize-vith}
IMAGES=${IMAGES:-../shared/data/images}
PHOTO=${PHOTO:-dog.jpg}
LOCK=${LOCK:-/tmp/hybridgl-heavy.lock}
PY=${PYTHON:-/usr/bin/python3}
CK=$OUT/checkpoints
E2E=$OUT/e2e/$PHOTO
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
mkdir -p "$OUT/logs"
timed() { # timed NAME command…: one hold of the lock, /usr/bin/time -v into OUT/logs/NAME.time, output in NAME.log
  name=$1; shift
  echo "== $name: $* (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  flock "$LOCK" /usr/bin/time -v -o "$OUT/logs/$name.time" "$@" > "$OUT/logs/$name.log" 2>&1 || {
    tail -20 "$OUT/logs/$name.log" >&2; exit 1; }
  grep -E 'Elapsed|Maximum resident' "$OUT/logs/$name.time" >&2
}
[ -f "$E2E/reference.json" ] || timed reference $PY scripts/fixtures/make_e2e_reference.py --full-size --sam-arch vit_h \
  --sam-edit structured --hybridgl "$REF/HybridGL" --gem "$REF/GEM" --open-clip "$REF/open_clip/src" \
  --image "$IMAGES/$PHOTO" --expressions scripts/fixtures/full_size_expressions.json --out "$E2E" \
  --checkpoints-out "$CK" --skip-export
[ -f "$OUT/export/manifest.json" ] || timed export $PY models/export.py --sam-checkpoint "$CK/sam_vit_h.pth" \
  --sam-arch vit_h --clip-checkpoint "$CK/clip_vit_b_16.pt" --out "$OUT/export" \
  --vocab models/vocab/bpe_simple_vocab_16e6.txt.gz
[ -f "$OUT/converted/manifest.json" ] || timed convert node bin/hybridgl.js models convert --sam "$CK/sam_vit_h.pth" \
  --clip "$CK/clip_vit_b_16.pt" --out "$OUT/converted" --precision fp32
timed compare sh scripts/models/compare_model_dirs.sh "$OUT/export" "$OUT/converted" "$OUT/logs/compare"
cat "$OUT/logs/compare.log"
for d in export converted; do
  [ -f "$OUT/report-$d.json" ] && continue
  MODELS=$OUT/$d timed "report-$d" sh -c "npx tsx scripts/full_size_e2e_report.ts '$E2E' '$IMAGES/$PHOTO' > '$OUT/report-$d.tmp'"
  mv "$OUT/report-$d.tmp" "$OUT/report-$d.json"
done
# the eval-like figure: one process with only the models `segment` calls (the report above loads all eleven)
[ -f "$OUT/segment-converted.json" ] || timed segment-converted node bin/hybridgl.js segment "$IMAGES/$PHOTO" \
  "dog on the left" "the bowl above the dog" --models "$OUT/converted" --device cpu --json "$OUT/segment-converted.json"
