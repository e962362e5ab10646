#!/usr/bin/env bash
# Pilots for docs/notes/locality_failure.md: which CPU-sized Pathfinder problem makes the plain
# ResNet18 learn L = 3 but memorize L = 9? Each pilot is one `impreg train locality` run, one thread,
# two at a time; the data files are the quick preset's drawing (128 -> 64 px, paddles 1 output px
# thick) at pilot data seeds that the claims never use.
#
#   PILOT_DIR=/tmp/pilots bash docs/notes/locality_failure_pilots.sh data   # the data files
#   PILOT_DIR=/tmp/pilots bash docs/notes/locality_failure_pilots.sh run JOBFILE
#   PILOT_DIR=/tmp/pilots bash docs/notes/locality_failure_pilots.sh queue QUEUEFILE  # one worker
#
# A queue worker takes the first line of QUEUEFILE, runs it and takes the next, until the file is
# empty; start one worker per lane and append lines while they run.
#
# JOBFILE lines: NAME L DRAW TRAIN SEED WIDTH LAM MAX_EPOCHS PATIENCE [SIZE [FLAG VALUE ...]]
# (DRAW: the pilot data seed's base, 100 or 200; TRAIN: train images, the same number held out for
# testing; SIZE: image side, 64 unless given; then any more `train locality` flags, such as
# --penalty-batch 16).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
DIR=${PILOT_DIR:?set PILOT_DIR}
mkdir -p "$DIR/data" "$DIR/runs" "$DIR/logs"

data_file() {  # L DRAW TRAIN SIZE -> path of a file with TRAIN train + TRAIN test images
  echo "$DIR/data/L$1_draw$2_n$(($3 * 2))_s$4.npz"
}

make_data() {  # L DRAW TRAIN SIZE
  local out; out=$(data_file "$@")
  [ -f "$out" ] && return 0
  local window=$(($4 * 2))
  "$PY" -m impreg make-data pathfinder --path-length "$1" --num-samples $(($3 * 2)) --window "$window" \
    --output-size "$4" --paddle-thickness "$(python3 -c "print(2 / ($window / 300))")" --seed $(($2 + $1)) \
    --workers 2 --out "$out" > "$DIR/logs/data_L$1_draw$2_n$(($3 * 2))_s$4.log" 2>&1
}

run_one() {  # NAME L DRAW TRAIN SEED WIDTH LAM MAX_EPOCHS PATIENCE [SIZE [FLAG VALUE ...]]
  local name=$1 L=$2 draw=$3 train=$4 seed=$5 width=$6 lam=$7 epochs=$8 patience=$9 size=${10:-64}
  shift $(($# < 10 ? $# : 10))
  [ -f "$DIR/runs/$name/summary.json" ] && return 0
  "$PY" -m impreg train locality --data "$(data_file "$L" "$draw" "$train" "$size")" --out-dir "$DIR/runs/$name" \
    --task pathfinder --x "$L" --lam "$lam" --seed "$seed" --arch resnet18 --width "$width" \
    --max-epochs "$epochs" --patience "$patience" --channels-last false --threads 1 --device cpu "$@" \
    > "$DIR/logs/$name.log" 2>&1
}
export -f run_one data_file
export PY DIR

case ${1:-} in
  data)
    shift
    while read -r L draw train size; do
      [ -z "$L" ] || make_data "$L" "$draw" "$train" "$size"
    done < "${1:-/dev/stdin}" ;;
  run)
    grep -v '^\s*\(#\|$\)' "$2" | xargs -P 2 -L 1 bash -c 'run_one "$@"' _ ;;
  queue)
    while true; do
      job=$(flock "$2.lock" bash -c 'line=$(grep -v "^\s*\(#\|$\)" "$0" | head -n 1); [ -n "$line" ] &&
        grep -vxF "$line" "$0" > "$0.tmp"; mv -f "$0.tmp" "$0" 2>/dev/null; echo "$line"' "$2")
      [ -z "$job" ] && break
      # shellcheck disable=SC2086
      run_one $job
    done ;;
  *)
    echo "usage: $0 data [SPECFILE] | run JOBFILE | queue QUEUEFILE" >&2; exit 2 ;;
esac
