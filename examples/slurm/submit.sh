#!/bin/bash
# Queues an array job, then the merge to run once every array task has succeeded:
#   RUNS=/shared/hybridgl/runs/refcoco-val examples/slurm/submit.sh
#   DATASET=refcocog SPLIT=test RUNS=/shared/hybridgl/runs/refcocog-test examples/slurm/submit.sh
#   RUNS=/shared/hybridgl/runs/phrasecut-test examples/slurm/submit.sh phrasecut-array.sbatch --array=0-15
# The first argument names the array script (default eval-array.sbatch), the rest go to its sbatch. Every job gets
# this environment (PATH, MODELS, DATA, RUNS, …; absolute paths). Logs go to logs/ beside this script. A task that
# fails for good cancels the merge (--kill-on-invalid-dep) instead of leaving it pending forever.
set -euo pipefail
: "${RUNS:?set RUNS to a run directory on the shared file system (shards in RUNS/shard-<i>, the merge in RUNS/merged)}"
export RUNS
cd "$(dirname "$0")"
mkdir -p logs
array=$(sbatch --parsable "${@:2}" "${1:-eval-array.sbatch}")
sbatch --kill-on-invalid-dep=yes --dependency=afterok:"$array" merge.sbatch
