#!/usr/bin/env bash
# The short GPU check of the locality experiment, prepared to run in one go on a lent GPU machine
# (about 10 minutes on one modern GPU). Writes everything under $OUT (default results/gpu_check):
#   1. throughput of the plain and the regularized step at the paper's sizes (ResNet18, batch 64):
#      Pathfinder 150 px and Is Same Class 224 px, fp32 and channels-last, then channels-last + bf16;
#   2. the FLOP count of both steps and this GPU's sustained rate, hence the paper sweep's GPU hours;
#   3. a few epochs of one long-range setting (Pathfinder L = 9, 150 px, 4000 images), lambda 0 vs 9.
# Usage: OUT=/some/dir bash benchmarks/locality_gpu_check.sh
set -euo pipefail
OUT=${OUT:-results/gpu_check}
EPOCHS=${EPOCHS:-5}
mkdir -p "$OUT"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
PY=${PYTHON:-python}

nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || true
for task in pathfinder is_same; do
  size=150; [ "$task" = is_same ] && size=224
  $PY benchmarks/locality_step.py --task "$task" --image-size "$size" --batch 64 --steps 20 --device cuda \
    > "$OUT/step_${task}_fp32.txt" 2>&1
  $PY benchmarks/locality_step.py --task "$task" --image-size "$size" --batch 64 --steps 20 --device cuda \
    --channels-last --amp bf16 > "$OUT/step_${task}_cl_bf16.txt" 2>&1
done
$PY benchmarks/locality_gpu_hours.py --measure --device cuda --batch 16 > "$OUT/gpu_hours.txt" 2>&1

$PY -m impreg make-data pathfinder --path-length 9 --num-samples 4000 --seed 9 --workers "$(nproc)" \
  --out "$OUT/pathfinder_L9.npz" > "$OUT/pathfinder_L9.log" 2>&1
for lam in 0 9; do
  $PY -m impreg train locality --task pathfinder --x 9 --lam "$lam" --seed 0 --data "$OUT/pathfinder_L9.npz" \
    --out-dir "$OUT/run_L9_lam$lam" --max-epochs "$EPOCHS" --channels-last true --device cuda \
    > "$OUT/run_L9_lam$lam.log" 2>&1
done
tail -n 3 "$OUT"/step_*.txt "$OUT"/gpu_hours.txt "$OUT"/run_L9_lam*.log
