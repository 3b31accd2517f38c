#!/bin/bash
# Queues the array, then the merge to run once every array task has succeeded.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p logs
array=$(sbatch --parsable eval-array.sbatch)
sbatch --dependency=afterok:"$array" merge.sbatch
