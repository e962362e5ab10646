#!/usr/bin/env bash
# Stop what tests/slurm/start_cluster.sh started, and nothing else.
#
#   tests/slurm/stop_cluster.sh STATE_DIR [NAME ...]
#
# Stops the daemons listed in STATE_DIR/daemons ("<name> <pid>", written by start_cluster.sh), or
# only those NAMEs, by their process ids: SIGTERM, then SIGKILL after 10 s. A pid that no longer
# runs a process of that name (gone, or reused) is skipped. Before stopping a slurmd it cancels
# the jobs still in the cluster (a test that failed half-way). Without NAMEs it also removes the
# link /etc/slurm/slurm.conf -> STATE_DIR/slurm.conf that start_cluster.sh made.
set -uo pipefail
STATE=${1:?usage: stop_cluster.sh STATE_DIR [NAME ...]}
shift
DAEMONS=$STATE/daemons
NAMES=("$@")
[ ${#NAMES[@]} -gt 0 ] || NAMES=(slurmd slurmctld munged)   # in this order: munged last

# alive: the pid runs a process of that name (a zombie, which this machine's init may never reap,
# counts as gone)
alive() { [ "$(ps -o comm= -p "$2" 2>/dev/null)" = "$1" ] && [[ "$(ps -o stat= -p "$2")" != Z* ]]; }

if [ -f "$DAEMONS" ]; then
  for name in "${NAMES[@]}"; do
    for pid in $(awk -v n="$name" '$1 == n {print $2}' "$DAEMONS"); do
      if alive "$name" "$pid"; then
        ctld=$(awk '$1 == "slurmctld" {print $2}' "$DAEMONS" | tail -1)
        if [ "$name" = slurmd ] && [ -n "$ctld" ] && alive slurmctld "$ctld"; then
          # cancel what still runs while the controller is up; every client call is time-bounded
          export SLURM_CONF=$STATE/slurm.conf
          timeout 10 scancel --full --quiet --user="$(id -un)" 2>/dev/null || true
          deadline=$((SECONDS + 15))
          while [ $SECONDS -lt $deadline ] && [ -n "$(timeout 5 squeue -h -t R,CG,PD,S 2>/dev/null)" ]; do
            sleep 0.2
          done
        fi
        kill "$pid" 2>/dev/null
        for _ in $(seq 100); do alive "$name" "$pid" || break; sleep 0.1; done
        alive "$name" "$pid" && kill -KILL "$pid" 2>/dev/null
        echo "stopped $name (pid $pid)"
      fi
      awk -v n="$name" -v p="$pid" '!($1 == n && $2 == p)' "$DAEMONS" >"$DAEMONS.tmp" && mv "$DAEMONS.tmp" "$DAEMONS"
    done
  done
fi

if [ $# -eq 0 ] && [ -f "$STATE/links" ]; then
  while read -r link; do
    if [ -L "$link" ] && [ "$(readlink "$link")" = "$STATE/slurm.conf" ]; then
      rm -f "$link" && echo "removed $link"
    fi
  done <"$STATE/links"
  rm -f "$STATE/links"
fi
exit 0
