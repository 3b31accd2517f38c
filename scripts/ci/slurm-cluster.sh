#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for CI: munged, slurmctld and slurmd run from a configuration written into
# a temporary directory, on free ports, so that nothing under /etc is used and two clusters can run side by side.
#
#   slurm-cluster.sh run COMMAND...   start, run COMMAND with SLURM_CONF set, stop (also when COMMAND fails or on a signal)
#   slurm-cluster.sh start            start; prints the cluster directory (source DIR/env for SLURM_CONF)
#   slurm-cluster.sh stop DIR         cancel its jobs, stop its daemons, remove DIR
#
# Installs Debian's slurm-wlm and munge when missing. Plugins: proctrack/linuxproc and task/none. The sandbox (gVisor,
# cgroup v1) does run proctrack/cgroup + task/cgroup, but their hierarchy (/sys/fs/cgroup/<controller>/slurm_<node>)
# is machine-wide, shared by every cluster on the machine, and the node's CPU slots below are more than a cpuset can
# hold. select/cons_tres with CR_CPU; no accounting database (jobcomp/filetxt keeps a line per
# finished job, read with `sacct -c`).
set -euo pipefail
shopt -s inherit_errexit

# A requeued job waits cred_expire + 1 s before it starts again (a launch of it before its old credential's revocation
# is over fails): 10 s here instead of 120.
CRED_EXPIRE=10
# 16 CPU slots whatever the machine has (SlurmdParameters=config_overrides): the examples ask 4 or 8 CPUs and 16G
# per array task, as on a real cluster, and two tasks of either run at once.
CPUS=16
MEMORY_MB=32768

install_slurm() {
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null && return
  local sudo policy=/usr/sbin/policy-rc.d added=
  sudo=$([ "$(id -u)" = 0 ] || echo sudo)
  # The packages' scripts would start the system's munge and Slurm services: refused for the install.
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && added=1
  fi
  ($sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends slurm-wlm munge) >/dev/null
  [ -z "$added" ] || $sudo rm -f "$policy"
}

free_port() {
  node -e "const s = require('net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })"
}

wait_for() { # seconds description command...
  local seconds=$1 what=$2; shift 2
  for _ in $(seq $((seconds * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "slurm-cluster: $what did not come up in ${seconds}s" >&2
  return 1
}

start() {
  install_slurm
  local dir node ctld_port slurmd_port
  dir=$(mktemp -d "${TMPDIR:-/tmp}/hybridgl-slurm.XXXXXX")
  chmod 755 "$dir"
  mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log"
  chmod 700 "$dir/munge"
  node=$(hostname -s)
  ctld_port=$(free_port)
  slurmd_port=$(free_port)
  while [ "$slurmd_port" = "$ctld_port" ]; do slurmd_port=$(free_port); done

  dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$dir/munge/munge.key"
  munged --foreground --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.sock" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munged.seed" </dev/null >>"$dir/log/daemons.out" 2>&1 &
  echo $! >"$dir/munged.pid"

  cat >"$dir/slurm.conf" <<CONF
ClusterName=hybridgl-ci
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.sock,cred_expire=$CRED_EXPIRE
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid.own
SlurmdPidFile=$dir/slurmd.pid.own
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MailProg=/bin/true
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
MinJobAge=3600
KillWait=5
NodeName=$node NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEMORY_MB State=UNKNOWN
PartitionName=ci Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
  echo "export SLURM_CONF=$dir/slurm.conf" >"$dir/env"
  date +%FT%T >"$dir/started"
  export SLURM_CONF="$dir/slurm.conf"

  wait_for 10 munged test -S "$dir/munge/munge.sock" || { cat "$dir/log/daemons.out" >&2; stop "$dir"; return 1; }
  slurmctld -D -f "$SLURM_CONF" </dev/null >>"$dir/log/daemons.out" 2>&1 &
  echo $! >"$dir/slurmctld.pid"
  slurmd -D -f "$SLURM_CONF" -N "$node" </dev/null >>"$dir/log/daemons.out" 2>&1 &
  echo $! >"$dir/slurmd.pid"
  wait_for 30 'the node' sh -c "sinfo -h -N -o %t | grep -qx idle" || { cat "$dir/log/daemons.out" >&2; stop "$dir"; return 1; }
  echo "$dir"
}

# Every job this cluster ran, from the job completion log (there is no accounting database: sacct -c), and which
# array task each job id was (sacct -c shows the ids only).
show_jobs() {
  SLURM_CONF="$1/slurm.conf" sacct -c -S "$(cat "$1/started")" \
    -o JobID,JobName%18,Partition,NodeList,State,ExitCode,Start,End >&2 2>/dev/null || true
  sed -n 's/^JobId=\([0-9]*\) .* ArrayJobId=\([0-9]*\) ArrayTaskId=\([0-9]*\) .*/\1=\2_\3/p' "$1/log/jobcomp.txt" 2>/dev/null |
    sort -un | tr '\n' ' ' | sed 's/^./array tasks (JobID=ArrayJobId_ArrayTaskId): &/;s/ $/\n/' >&2 || true
}

stop() {
  local dir=$1 pid
  export SLURM_CONF="$dir/slurm.conf"
  if [ -f "$dir/slurmctld.pid" ] && kill -0 "$(cat "$dir/slurmctld.pid")" 2>/dev/null; then
    scancel --full --signal=KILL --user="$(id -un)" 2>/dev/null || true
    scancel --user="$(id -un)" 2>/dev/null || true
    wait_for 20 'an empty queue' sh -c '[ -z "$(squeue -h -o %i)" ]' || true
  fi
  for name in slurmd slurmctld munged; do
    [ -f "$dir/$name.pid" ] || continue
    pid=$(cat "$dir/$name.pid")
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:?stop needs the cluster directory}" ;;
  run)
    shift
    dir=$(start)
    trap 'show_jobs "$dir"; stop "$dir"' EXIT
    trap 'exit 130' INT TERM
    SLURM_CONF="$dir/slurm.conf" "$@"
    ;;
  *) echo "usage: $0 start | stop DIR | run COMMAND..." >&2; exit 2 ;;
esac
