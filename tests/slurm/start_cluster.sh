#!/usr/bin/env bash
# Start a throw-away single-node SLURM cluster on this machine, for tests/test_slurm.py.
# Debian/Ubuntu, as root, without systemd. The cluster's configuration, state and logs live in
# STATE_DIR; outside it, only the packages, munge's key and a link /etc/slurm/slurm.conf.
#
#   tests/slurm/start_cluster.sh STATE_DIR [--gpu]
#
#   --gpu   the node advertises one fake GPU (gres gpu:1 backed by /dev/null): jobs that ask for a
#           GPU are scheduled, and get CUDA_VISIBLE_DEVICES=0, but there is no device behind it.
#
# Called again on the same STATE_DIR it rewrites the configuration and restarts the slurmctld and
# slurmd it started before (the GPU setting can only change with a restart).
#
# STATE_DIR/daemons lists "<name> <pid>" for every daemon this script started, and only those;
# tests/slurm/stop_cluster.sh STATE_DIR stops them by these process ids.
# STATE_DIR/env holds the variables clients need (SLURM_CONF). /etc/slurm/slurm.conf becomes a link
# to STATE_DIR/slurm.conf (clients inside jobs need it there); the stop script removes it.
#
# Exit status: 0 the node is idle and takes jobs; 2 SLURM cannot be set up here (not root, no
# apt-get, the install failed), reason on stderr; 3 a SLURM daemon this script did not start is
# running, left alone; 1 the daemons did not come up (their log tails on stderr).
set -uo pipefail
export DEBIAN_FRONTEND=noninteractive
HERE=$(cd "$(dirname "$0")" && pwd)

STATE=${1:?usage: start_cluster.sh STATE_DIR [--gpu]}
GPU=0
[ "${2:-}" = --gpu ] && GPU=1
cannot() { echo "cannot set up SLURM: $*" >&2; exit 2; }

[ "$(id -u)" = 0 ] || cannot "not root (the daemons and apt-get need root)"
mkdir -p "$STATE" && STATE=$(cd "$STATE" && pwd) || cannot "cannot create $STATE"
DAEMONS=$STATE/daemons
touch "$DAEMONS"

# 1. packages: the two daemons, the client commands and munge (about 8 packages, 5-20 s)
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
    || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  command -v apt-get >/dev/null || cannot "slurmctld/slurmd/munge are not installed and there is no apt-get"
  apt-get update -q >"$STATE/apt.log" 2>&1 || cannot "apt-get update failed: $(tail -3 "$STATE/apt.log" | tr '\n' ' ')"
  apt-get install -y -q --no-install-recommends slurmctld slurmd slurm-client munge >>"$STATE/apt.log" 2>&1 \
    || cannot "apt-get install slurmctld slurmd slurm-client munge failed: $(tail -3 "$STATE/apt.log" | tr '\n' ' ')"
fi

# 2. someone else's SLURM daemons: leave them alone
ours() { awk -v n="$1" '$1 == n {print $2}' "$DAEMONS"; }
for name in slurmctld slurmd; do
  # (zombies do not count: this machine's init may not reap the daemons' exited first forks)
  for pid in $(ps -eo pid=,stat=,comm= | awk -v n="$name" '$3 == n && $2 !~ /^Z/ {print $1}'); do
    [ "$pid" = "$(ours "$name")" ] && continue
    echo "a $name not started by this script is running (pid $pid); not touching it" >&2
    conf=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | sed -n 's/.* -f \([^ ]*\).*/\1/p')
    if [ -n "$conf" ] && grep -qs "impreg tests/slurm/start_cluster.sh" "$conf"; then
      echo "it is left from an earlier run of this script; stop it with: bash $HERE/stop_cluster.sh $(dirname "$conf")" >&2
    fi
    exit 3
  done
done

# The slurm-jobstep plugin removes every SLURM_* variable, SLURM_CONF too, before the srun inside
# each job, so clients must find the configuration at the default path: a link to STATE_DIR's,
# made only where none exists (a dangling link or one to a config of this script is replaced).
ETC_CONF=/etc/slurm/slurm.conf
MARK="# written by impreg tests/slurm/start_cluster.sh"
if [ -e "$ETC_CONF" ] && ! { [ -L "$ETC_CONF" ] && grep -qxF "$MARK" "$ETC_CONF"; }; then
  echo "$ETC_CONF exists and is not from this script (a SLURM installation of this machine): not touching it" >&2
  exit 3
fi

# 3. munge: reuse a working munged, otherwise start one (and record it)
if [ ! -s /etc/munge/munge.key ]; then
  mungekey --create --keyfile=/etc/munge/munge.key 2>/dev/null \
    || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null
fi
chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
install -d -o munge -g munge -m 0755 /run/munge /var/log/munge /var/lib/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  rm -f /run/munge/munged.pid
  runuser -u munge -- /usr/sbin/munged || { echo "munged did not start" >&2; exit 1; }
  for _ in $(seq 50); do [ -s /run/munge/munged.pid ] && break; sleep 0.1; done
  echo "munged $(cat /run/munge/munged.pid)" >>"$DAEMONS"
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
fi

# 4. a restart: stop the slurmctld and slurmd started here before
"$HERE/stop_cluster.sh" "$STATE" slurmd slurmctld

# 5. the configuration: one node named after this host (reached at 127.0.0.1, whether or not the
#    name resolves), all its CPUs, 90% of its memory
H=$(hostname -s)
# (not plain `nproc`: it obeys OMP_NUM_THREADS, which the test suite sets to 1)
NCPU=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
MEM=$(( $(free -m | awk '/^Mem:/{print $2}') * 9 / 10 ))
mkdir -p "$STATE/ctld" "$STATE/spool" "$STATE/log"
GRES_TYPES=""; NODE_GRES=""
if [ "$GPU" = 1 ]; then
  # (AccountingStorageTRES=gres/gpu, which would put the GPUs into the jobcomp log, needs slurmdbd:
  # `scontrol show job` shows TresPerJob=gres:gpu:1 for MinJobAge seconds instead)
  GRES_TYPES="GresTypes=gpu"; NODE_GRES="Gres=gpu:1"
  # a gpu gres without File= is dropped by slurmd and the node drains: point it at /dev/null
  echo "NodeName=$H Name=gpu File=/dev/null" >"$STATE/gres.conf"
else
  rm -f "$STATE/gres.conf"
fi
# SlurmUser=root: the state lives in STATE_DIR, which may sit under a directory only root can enter.
# MinJobAge=300 keeps finished jobs visible to squeue, which Snakemake's squeue status mode needs
# (the plugin silently switches to sacct, which cannot work here, when MinJobAge < 3 x init-seconds).
cat >"$STATE/slurm.conf" <<CONF
$MARK
ClusterName=impregtest
SlurmctldHost=$H(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
$GRES_TYPES
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
ReturnToService=2
JobAcctGatherType=jobacct_gather/linux
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$STATE/jobcomp.log
MinJobAge=300
KillWait=5
NodeName=$H NodeAddr=127.0.0.1 CPUs=$NCPU RealMemory=$MEM $NODE_GRES State=UNKNOWN
PartitionName=debug Nodes=$H Default=YES MaxTime=INFINITE State=UP
CONF
mkdir -p /etc/slurm && ln -sfn "$STATE/slurm.conf" "$ETC_CONF"
echo "$ETC_CONF" >"$STATE/links"
echo "SLURM_CONF=$STATE/slurm.conf" >"$STATE/env"
export SLURM_CONF=$STATE/slurm.conf

# 6. the daemons (each daemonizes itself and writes its pid file); -c: no state from a former run
start() {
  local name=$1; shift
  rm -f "$STATE/$name.pid"
  "/usr/sbin/$name" -f "$SLURM_CONF" "$@" || { echo "$name did not start" >&2; tail -20 "$STATE/log/$name.log" >&2; exit 1; }
  for _ in $(seq 50); do [ -s "$STATE/$name.pid" ] && break; sleep 0.1; done
  [ -s "$STATE/$name.pid" ] || { echo "$name wrote no pid file" >&2; tail -20 "$STATE/log/$name.log" >&2; exit 1; }
  echo "$name $(cat "$STATE/$name.pid")" >>"$DAEMONS"
}
start slurmctld -c
start slurmd -c
# every client call is bounded: with no controller, sinfo waits MessageTimeout (10 s) per try
idle() { timeout 5 sinfo -h -o %t 2>/dev/null | grep -qx idle; }
deadline=$((SECONDS + 30))
until idle || [ $SECONDS -ge $deadline ]; do
  st=$(ps -o stat= -p "$(ours slurmctld | tail -1)" 2>/dev/null)
  [ -n "$st" ] && [[ "$st" != Z* ]] || break      # the controller died: no use waiting
  sleep 0.2
done
if ! idle; then
  echo "the node did not become idle within 30 s:" >&2
  timeout 5 sinfo -N -o "%N %t %E" >&2
  tail -5 "$STATE/log/slurmctld.log" "$STATE/log/slurmd.log" >&2
  exit 1
fi
timeout 5 sinfo -N -o "%N %t %c %m %G"
