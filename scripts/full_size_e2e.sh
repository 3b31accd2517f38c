#!/bin/sh
# Full-size end-to-end parity, outside CI: random-init SAM vit_b, CLIP ViT-B/16 and GEM with the structured SAM
# edit (scripts/fixtures/make_e2e_reference.py --sam-edit structured: ~30 proposals per photo), exported once, the
# reference's own modules run on the three shared photos (12 expressions each), then our pipeline compared with them
# by the e2e parity tests. Needs ~10 GB of RAM (runs under the shared heavy-job lock), ~1.5 GB of disk, ~25 min on
# 2 cores. Debian's default libblas is slow: OpenBLAS is put first on LD_LIBRARY_PATH (libopenblas0-pthread).
# REF holds checkouts of HybridGL, GEM and open_clip (v2.24.0); OUT (default /work/fullsize) keeps models and
# references (OUT/models, OUT/e2e/<photo>/, and each photo's figures in report.json from
# scripts/full_size_e2e_report.ts). STAGE=ref or STAGE=test runs one half. MODELS (default OUT/models) is exported
# once; where its manifest.json already exists the files are reused as they are, after checking their sha256s.
# PHOTOS picks photos (default all three). FUSIONS=1 adds every fusion mode (make_e2e_reference.py --fusions: each
# mode's features, scores and both choices; the report compares them); NO_SAM=1 exports the CLIP models only, so the
# report runs on the reference's proposals (a fusion check that skips the SAM export: its proposals are checked by
# the plain run). PHRASECUT_LOCAL=1 also writes OUT/e2e/<photo>/phrasecut_local.json (make_e2e_reference.py
# --phrasecut-local-out: PhraseCut's local image), which test/pipelineParity.test.ts then checks. Fusion check of
# issue 24 (vit_b, dog.jpg, ~15 min):
#   REF=/work/ref OUT=/work/fullsize-fusion PHOTOS=dog.jpg FUSIONS=1 NO_SAM=1 STAGE=ref sh scripts/full_size_e2e.sh
#   (then STAGE=report: the report only; STAGE=test runs the parity tests too, which need SAM)
set -e
cd "$(dirname "$0")/.."
REF=${REF:?checkouts: REF/HybridGL REF/GEM REF/open_clip}
OUT=${OUT:-/work/fullsize}
IMAGES=${IMAGES:-../shared/data/images}
LOCK=${LOCK:-/tmp/hybridgl-heavy.lock}
MODELS=${MODELS:-$OUT/models}
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
skip= status=0
if [ -f "$MODELS/manifest.json" ]; then
  ${PYTHON:-/usr/bin/python3} -c 'import hashlib, json, os, sys
d = sys.argv[1]
for f in json.load(open(os.path.join(d, "manifest.json")))["files"]:
    h = hashlib.sha256()
    with open(os.path.join(d, f["name"]), "rb") as fh:
        for b in iter(lambda: fh.read(1 << 24), b""):
            h.update(b)
    assert h.hexdigest() == f["sha256"], f["name"] + ": sha256 differs from the manifest"
print("reusing", d, "(sha256s as in its manifest)")' "$MODELS"
  skip=--skip-export
fi
for photo in ${PHOTOS:-dog.jpg groceries.jpg truck.jpg}; do
  if [ "${STAGE:-all}" = all ] || [ "$STAGE" = ref ]; then
    set -- --full-size --sam-edit structured --hybridgl "$REF/HybridGL" --gem "$REF/GEM" --open-clip "$REF/open_clip/src" \
      --image "$IMAGES/$photo" --expressions scripts/fixtures/full_size_expressions.json --models-out "$MODELS" \
      --out "$OUT/e2e/$photo" ${FUSIONS:+--fusions} ${NO_SAM:+--no-sam-export} \
      ${PHRASECUT_LOCAL:+--phrasecut-local-out "$OUT/e2e/$photo/phrasecut_local.json"}
    # the export and the reference run are steps of their own (each its own hold of the lock)
    [ -n "$skip" ] || flock "$LOCK" ${PYTHON:-/usr/bin/python3} scripts/fixtures/make_e2e_reference.py "$@" --export-only
    flock "$LOCK" ${PYTHON:-/usr/bin/python3} scripts/fixtures/make_e2e_reference.py "$@" --skip-export
    skip=--skip-export
  fi
  if [ "${STAGE:-all}" != ref ]; then
    [ "$STAGE" = report ] || HYBRIDGL_E2E_DIR="$OUT/e2e/$photo" HYBRIDGL_E2E_IMAGE="$IMAGES/$photo" flock "$LOCK" \
      npx vitest run --testTimeout 900000 --hookTimeout 900000 test/pipelineParity.test.ts test/e2eReference.test.ts || status=1
    flock "$LOCK" npx tsx scripts/full_size_e2e_report.ts "$OUT/e2e/$photo" "$IMAGES/$photo" > "$OUT/e2e/$photo/report.json"
    cat "$OUT/e2e/$photo/report.json"
  fi
done
exit $status
