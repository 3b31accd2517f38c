#!/bin/sh
# Times the reference's stages and ours on the same photo and the same full-size random-weight checkpoints,
# in one run (one hold of the shared heavy lock), then the table of ratios (bench/perf/side_by_side.ts).
# The reference: bench/perf/reference_stages.py (make_e2e_reference.py's builders, Debian torch, THREADS threads,
# OpenBLAS first on LD_LIBRARY_PATH as in scripts/full_size_e2e.sh); ours: `hybridgl bench --text-cache 0 --json`
# (text encoded afresh for every image, as the reference does; ITERATIONS images after one warm-up, p50). Needs
# ~5 GB of RAM and ~10 min on 2 cores.
#   REF=/work/fullsize/ref bench/perf/side_by_side.sh [PHOTO]     (figures in OUT, default a new temporary folder)
set -e
cd "$(dirname "$0")/../.."
REF=${REF:?checkouts: REF/HybridGL REF/GEM REF/open_clip}
PHOTO=${1:-/work/shared/data/images/dog.jpg}
MODELS=${MODELS:-/work/fullsize/models}
VOCAB=${VOCAB:-/work/shared/data/clip/bpe_simple_vocab_16e6.txt.gz}
EXPRESSIONS=${EXPRESSIONS:-scripts/fixtures/full_size_expressions.json}
THREADS=${THREADS:-2}
ITERATIONS=${ITERATIONS:-2}
LOCK=${LOCK:-/tmp/hybridgl-heavy.lock}
OUT=${OUT:-$(mktemp -d /tmp/side_by_side.XXXXXX)}
PYTHON=${PYTHON:-/usr/bin/python3}
mkdir -p "$OUT"
export REF PHOTO MODELS VOCAB EXPRESSIONS THREADS ITERATIONS OUT PYTHON
# the same sentences for ours (our parser; the reference gets their fixed parses)
set --
while IFS= read -r sentence; do set -- "$@" --expression "$sentence"; done <<EOF
$("$PYTHON" -c 'import json, os, sys; [print(e["sentence"]) for e in json.load(open(sys.argv[1]))[os.path.basename(sys.argv[2])]]' "$EXPRESSIONS" "$PHOTO")
EOF
flock "$LOCK" sh -c '
  uptime
  LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
    "$PYTHON" bench/perf/reference_stages.py --hybridgl "$REF/HybridGL" --gem "$REF/GEM" \
    --open-clip "$REF/open_clip/src" --image "$PHOTO" --expressions "$EXPRESSIONS" --threads "$THREADS" \
    --json "$OUT/reference.json"
  uptime
  HYBRIDGL_THREADS=$THREADS node bin/hybridgl.js bench "$PHOTO" --models "$MODELS" --vocab "$VOCAB" \
    --iterations "$ITERATIONS" --warmup 1 --text-cache 0 --json "$OUT/ours.json" "$@"
  uptime' side_by_side "$@" | tee "$OUT/run.log"
npx tsx bench/perf/side_by_side.ts "$OUT/reference.json" "$OUT/ours.json" "$OUT/side_by_side.json"
echo "figures in $OUT"
