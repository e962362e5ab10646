#!/usr/bin/env bash
# The GPU check of the locality experiment, prepared to run in one go on a lent GPU machine (one
# H200 or H100 with 16 CPU cores: about 10 minutes). Writes everything under $OUT (default
# results/gpu_check):
#   1. the paper-resolution cell: Pathfinder L = 9 at 150 px (20000 images drawn there on every
#      core, about 70 s at 55 ms of CPU an image), ResNet18 of width 64, lambda 0 and 9, seed 0,
#      both runs side by side on the GPU, to the stopping rule or EPOCHS (30) epochs. Does the
#      plain network memorize (train 100%, test near chance) and the regularized one generalize,
#      as in the paper (50.4% and 85.4%)? The probe penalty of both is in their metrics.csv;
#   2. throughput of the plain and the regularized step at the paper's sizes (ResNet18, batch 64):
#      Pathfinder 150 px and Is Same Class 224 px, fp32 and channels-last, then channels-last + bf16;
#   3. the FLOP count of both steps and this GPU's sustained rate, hence the paper sweep's GPU hours.
# PARTS (default "1 2 3") picks parts; parts 2 and 3 were measured on one H200 already
# (docs/notes/h200_locality_check), so a short lease runs PARTS=1.
# Usage: OUT=/some/dir bash benchmarks/locality_gpu_check.sh
set -euo pipefail
OUT=${OUT:-results/gpu_check}
EPOCHS=${EPOCHS:-30}
PARTS=${PARTS:-1 2 3}
mkdir -p "$OUT"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
PY=${PYTHON:-python}
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || true

if [[ " $PARTS " == *" 1 "* ]]; then
  start=$(date +%s)
  $PY -m impreg make-data pathfinder --path-length 9 --num-samples 20000 --window 300 --output-size 150 \
    --seed 9 --workers "$(nproc)" --out "$OUT/pathfinder_L9_150px.npz" > "$OUT/pathfinder_L9_150px.log" 2>&1
  echo "data: $(($(date +%s) - start)) s" > "$OUT/paper_cell_times.txt"
  for lam in 0 9; do
    $PY -m impreg train locality --task pathfinder --x 9 --lam "$lam" --seed 0 --width 64 \
      --data "$OUT/pathfinder_L9_150px.npz" --out-dir "$OUT/paper_cell_L9_lam$lam" --max-epochs "$EPOCHS" \
      --patience 20 --channels-last true --device cuda > "$OUT/paper_cell_L9_lam$lam.log" 2>&1 &
  done
  wait
  echo "data and both runs: $(($(date +%s) - start)) s" >> "$OUT/paper_cell_times.txt"
  rm -f "$OUT/pathfinder_L9_150px.npz"  # 20 MB compressed; remade by the same command
fi

if [[ " $PARTS " == *" 2 "* ]]; then
  for task in pathfinder is_same; do
    size=150; [ "$task" = is_same ] && size=224
    $PY benchmarks/locality_step.py --task "$task" --image-size "$size" --batch 64 --steps 20 --device cuda \
      > "$OUT/step_${task}_fp32.txt" 2>&1
    $PY benchmarks/locality_step.py --task "$task" --image-size "$size" --batch 64 --steps 20 --device cuda \
      --channels-last --amp bf16 > "$OUT/step_${task}_cl_bf16.txt" 2>&1
  done
fi

if [[ " $PARTS " == *" 3 "* ]]; then
  $PY benchmarks/locality_gpu_hours.py --measure --device cuda --batch 16 > "$OUT/gpu_hours.txt" 2>&1
fi
tail -n 3 "$OUT"/*.txt "$OUT"/paper_cell_L9_lam*.log 2>/dev/null || true
