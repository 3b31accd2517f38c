#!/bin/sh
# Two model directories that should hold the same weights (export.py's and `hybridgl models convert`'s of the same
# checkpoints): every graph of the first must have the sha256 (and external data) of the second's; where one differs,
# both directories' graphs are read tensor by tensor (scripts/fixtures/graph_tensors.py, into LOGS) and must hold the
# same tensors. Used by scripts/models/full_size_convert_check.sh and scripts/full_size_vith.sh.
#   sh scripts/models/compare_model_dirs.sh EXPORTED CONVERTED LOGS
set -e
cd "$(dirname "$0")/../.."
EXPORTED=${1:?usage: compare_model_dirs.sh EXPORTED CONVERTED LOGS}
CONVERTED=${2:?usage: compare_model_dirs.sh EXPORTED CONVERTED LOGS}
LOGS=${3:?usage: compare_model_dirs.sh EXPORTED CONVERTED LOGS}
PY=${PYTHON:-/usr/bin/python3}
mkdir -p "$LOGS"
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
console.log(`all ${exported.files.length} graphs of export.py equal the converted ones`);
' "$(realpath "$EXPORTED")" "$(realpath "$CONVERTED")" || {
  $PY scripts/fixtures/graph_tensors.py "$EXPORTED" "$LOGS/tensors-export.json"
  $PY scripts/fixtures/graph_tensors.py "$CONVERTED" "$LOGS/tensors-converted.json"
  $PY -c 'import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
bad = 0
for name, want in a.items():
    got = b.get(name, [])
    diff = [i for i in range(max(len(want), len(got))) if want[i:i + 1] != got[i:i + 1]]
    if diff:
        bad += 1
        print(f"{name}: {len(diff)} of {len(want)} tensors differ, first #{diff[0]}: export.py {want[diff[0]]}, converted {got[diff[0]:diff[0] + 1]}")
if bad:
    sys.exit(1)
print("the graphs that differ read the same tensors (export.py shares equal initializers through Identity nodes)")
' "$LOGS/tensors-export.json" "$LOGS/tensors-converted.json" || exit 1
}
