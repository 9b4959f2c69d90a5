#!/usr/bin/env bash
# slurm: a real one-node Slurm cluster on this machine runs slurm/cpu-node.sbatch, whose
# `srun --mpi=pmix` starts rank 0 and two workers that finish a small study; then
# slurm/single-node.sbatch (4 stand-in GPUs, 4 workers), checking where each unit was stored
# as trained; then SIGTERM from `scancel --signal=TERM` stops the ranks (exit 9), the batch
# script requeues the job, and the requeued job resumes the same result file, training only the
# units left pending.
# Usage: run_slurm_test.sh [SWEEP_BINARY]    (default build/sweep; as root, else skipped)
# SWEEP_SLURM_KEEP_LOGS=DIR keeps slurm.conf, the job logs and the daemons' logs in DIR.
#
# Installs slurmctld, slurmd, munge and Slurm's MPI plugins from Debian when missing. The
# daemons run in a network namespace of their own (loopback only), with their own munge key
# and socket, slurm.conf, state, spool and logs under one temporary directory, removed at the
# end; nothing system-wide is read or changed beyond the packages.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
packages=(slurmctld slurmd slurm-client slurm-wlm-basic-plugins munge
          hdf5-tools iproute2 dataset-fashion-mnist)

# Process ids of the daemons a package install may start.
daemon_pids() { pgrep -x munged; pgrep -x slurmctld; pgrep -x slurmd; }

# Installs the packages not installed yet, then stops any daemon their maintainer scripts
# started (Debian's munge starts munged where services may start), by its process id.
install_missing() {
    local missing=() package pid before apt_log
    for package in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" ||
            missing+=("$package")
    done
    ((${#missing[@]} == 0)) && return 0
    echo "== installing ${missing[*]}"
    before=$(daemon_pids || true)
    apt_log=$(mktemp)
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
               --no-install-recommends "${missing[@]}"; } > "$apt_log" 2>&1; then
        tail -20 "$apt_log"
        rm -f "$apt_log"
        return 1
    fi
    rm -f "$apt_log"
    for pid in $(daemon_pids || true); do
        grep -qx "$pid" <<< "$before" && continue
        echo "stopping $(cat "/proc/$pid/comm") ($pid), started by the package install"
        kill "$pid" || true
    done
}

if [[ ${1:-} != --in-namespace ]]; then
    if [[ $(id -u) -ne 0 ]]; then
        echo "skipped: needs root (apt-get, a network namespace, SlurmUser=root)"
        echo "0 passed, 0 failed, 1 skipped"
        exit 77
    fi
    sweep=$(realpath "${1:-$repo/build/sweep}")
    outer_failed=0
    [[ -x $sweep ]] || { echo "FAILED: no sweep binary at $sweep"; outer_failed=1; }
    ((outer_failed)) || install_missing || { echo "FAILED: installing packages"; outer_failed=1; }
    ((outer_failed)) && { echo "0 passed, 1 failed"; exit 1; }
    # The same process, now alone in a new network namespace: whatever listens, listens there.
    exec unshare --net bash "${BASH_SOURCE[0]}" --in-namespace "$sweep"
fi
sweep=$2
export PATH=$PATH:/usr/sbin:/sbin

ip link set lo up
# Slurm resolves addresses with AI_ADDRCONFIG, which counts no IPv4 address while 127.0.0.1
# is the only one, so every daemon would fail to bind; a second loopback address fixes that.
ip addr add 127.0.0.2/8 dev lo

scratch=$(mktemp -d)
chmod 755 "$scratch"  # munged wants every directory above its socket searchable by all
mkdir -p "$scratch"/{munge,state,spool,log,tmp,work/build}
chmod 755 "$scratch/munge"
export SLURM_CONF=$scratch/slurm.conf TMPDIR=$scratch/tmp  # TMPDIR: Open MPI's session files
work=$scratch/work
node=$(hostname -s)
munge_pid='' slurmctld_pid='' slurmd_pid=''

fail() {
    echo "FAILED: $*"
    local log daemon
    for log in "$scratch"/job*.log; do
        [[ -s $log ]] && { echo "--- ${log#"$scratch"/}"; tail -40 "$log"; }
    done
    for daemon in slurmctld slurmd; do
        log=$scratch/log/$daemon.log
        [[ -s $log ]] || log=$scratch/log/$daemon.out  # what it said before opening its log
        [[ -s $log ]] && { echo "--- ${log#"$scratch"/}"; tail -40 "$log"; }
    done
    exit 1
}

# Polls a command every half second until it succeeds; false after the given seconds.
wait_until() {
    local seconds=$1 tries
    shift
    for ((tries = seconds * 2; tries > 0; tries--)); do
        "$@" && return 0
        sleep 0.5
    done
    return 1
}

# True while a process exists and is not a zombie (kill -0 succeeds on zombies).
alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}
gone() { ! alive "$1"; }

# SIGTERM, then SIGKILL after 15 s, to one process this script started.
stop() {
    [[ -n $1 ]] || return 0
    kill "$1" 2>/dev/null
    wait_until 15 gone "$1" || kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

# Every process left in this network namespace is one this script started (slurmstepd,
# a task); any still there after the daemons stopped is killed by its id.
kill_leftovers() {
    local namespace pid
    namespace=$(readlink "/proc/$$/ns/net")
    for pid in /proc/[0-9]*; do
        pid=${pid#/proc/}
        ((pid == $$)) && continue
        [[ $(readlink "/proc/$pid/ns/net" 2>/dev/null) == "$namespace" ]] || continue
        alive "$pid" || continue
        echo "killing leftover $(cat "/proc/$pid/comm" 2>/dev/null) ($pid)"
        kill -KILL "$pid" 2>/dev/null
    done
}

no_jobs() { [[ -z $(squeue -h -o %i 2>/dev/null) ]]; }

finish() {
    local code=$? job
    trap - EXIT INT TERM
    set +e
    if [[ -n $slurmctld_pid ]] && alive "$slurmctld_pid"; then
        for job in $(squeue -h -o %i 2>/dev/null); do scancel "$job"; done
        wait_until 30 no_jobs || echo "jobs still running at shutdown"
    fi
    stop "$slurmd_pid"
    stop "$slurmctld_pid"
    stop "$munge_pid"
    kill_leftovers
    if [[ -n ${SWEEP_SLURM_KEEP_LOGS:-} ]]; then
        mkdir -p "$SWEEP_SLURM_KEEP_LOGS"
        cp "$SLURM_CONF" "$scratch"/job*.log "$scratch"/log/* "$SWEEP_SLURM_KEEP_LOGS"/
    fi
    rm -rf "$scratch"
    if ((code == 0)); then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
    exit "$code"
}
trap finish EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

write_config() {
    cat > "$SLURM_CONF" <<CONF
ClusterName=sweeptest
# Job ids of their own: two runs of this test at once would otherwise both run step 2.0, and
# their ranks hang in MPI_Init (Open MPI names its shared-memory files after the job).
FirstJobId=$(($$ % 600000 * 100 + 1))
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$scratch/munge/munge.socket
CredType=cred/munge
CommunicationParameters=NoInAddrAny
StateSaveLocation=$scratch/state
SlurmdSpoolDir=$scratch/spool
SlurmctldPidFile=$scratch/slurmctld.pid
SlurmdPidFile=$scratch/slurmd.pid
SlurmctldLogFile=$scratch/log/slurmctld.log
SlurmdLogFile=$scratch/log/slurmd.log
PlugStackConfig=$scratch/plugstack.conf
# Slurm's PMIx plugin makes each step's directory here (default /tmp, shared by every run).
TmpFS=$scratch/tmp
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
KillWait=10
# The node as described here, whatever this machine has: 8 CPUs, so that single-node.sbatch's
# 5 tasks fit; they share the machine's real cores.
SlurmdParameters=config_overrides
# Four stand-in GPUs (see gres.conf), so slurm/single-node.sbatch's --gpus-per-node=4 can be
# granted on a CPU machine; its workers then train on the CPU.
GresTypes=gpu
NodeName=$node NodeAddr=127.0.0.1 CPUs=8 Sockets=1 CoresPerSocket=8 ThreadsPerCore=1 Gres=gpu:4 State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
    : > "$scratch/plugstack.conf"  # not Debian's /etc/slurm/plugstack.conf
    # slurmd counts a GPU per device file; character devices like /dev/null (1,3) stand in for
    # /dev/nvidia0-3.
    mkdir -p "$scratch/dev"
    local gpu
    for gpu in 0 1 2 3; do mknod "$scratch/dev/nvidia$gpu" c 1 3; done
    echo "Name=gpu File=$scratch/dev/nvidia[0-3]" > "$scratch/gres.conf"
}

node_idle() { [[ $(sinfo -h -N -n "$node" -o %t 2>/dev/null) == idle ]]; }

start_cluster() {
    echo "== starting munged, slurmctld and slurmd ($node, 8 CPUs declared, loopback only)"
    mungekey --create --keyfile="$scratch/munge/munge.key"
    munged --foreground --socket="$scratch/munge/munge.socket" \
        --key-file="$scratch/munge/munge.key" --pid-file="$scratch/munge/munged.pid" \
        --seed-file="$scratch/munge/munged.seed" --log-file="$scratch/log/munged.log" \
        > "$scratch/log/munged.out" 2>&1 &
    munge_pid=$!
    wait_until 10 test -S "$scratch/munge/munge.socket" ||
        fail "munged did not start: $(cat "$scratch/log/munged.out")"

    slurmctld -D -f "$SLURM_CONF" > "$scratch/log/slurmctld.out" 2>&1 &
    slurmctld_pid=$!
    slurmd -D -N "$node" -f "$SLURM_CONF" > "$scratch/log/slurmd.out" 2>&1 &
    slurmd_pid=$!
    wait_until 60 node_idle || fail "node $node not idle within 60 s: $(sinfo 2>&1)"
}

# One field of `scontrol show job`, e.g. job_field 3 JobState.
job_field() { scontrol -o show job "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

job_ended() {
    case $(job_field "$1" JobState) in
        COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL) ;;
        *) return 1 ;;
    esac
}

job_requeued() {
    [[ $(job_field "$1" Restarts) == 1 && $(job_field "$1" JobState) == PENDING ]]
}

# The status values of a result file, one word per unit (the enum's names, not its type).
statuses() { h5dump -d status "$1" | sed -n '/DATA {/,$p' | grep -o 'pending\|done\|failed'; }

# Submits slurm/cpu-node.sbatch as a user would, from a working directory whose build/sweep
# is the binary under test. --overcommit: the script's tasks may outnumber the CPUs.
submit() {
    local study=$1 log=$2
    (cd "$work" && STUDY=$study sbatch --parsable --chdir="$work" --output="$log" \
        --time=5 --overcommit "$repo/slurm/cpu-node.sbatch")
}

write_studies() {
    ln -s "$sweep" "$work/build/sweep"
    cat > "$work/small.yaml" <<YAML
study: slurm-small
output: $work/small.h5
grid:
  dataset: fashion-mnist
  data_dir: /usr/share/datasets/fashion-mnist
  train_size: 2000
  test_size: 500
  epochs: 1
  setting:
    - {optimizer: adam, lr: 0.001}
    - {optimizer: sgd, lr: 0.01, momentum: 0.9}
  seed: [1, 2]
YAML
    cat > "$work/gpu.yaml" <<YAML
study: slurm-gpu
output: $work/gpu.h5
grid:
  dataset: fashion-mnist
  data_dir: /usr/share/datasets/fashion-mnist
  optimizer: sgd
  lr: 0.01
  train_size: 1000
  test_size: 200
  epochs: 1
  seed: [1, 2, 3, 4]
YAML
    cat > "$work/stop.yaml" <<YAML
study: slurm-stop
output: $work/stop.h5
grid:
  dataset: fashion-mnist
  data_dir: /usr/share/datasets/fashion-mnist
  optimizer: adam
  lr: 0.001
  epochs: 2
  train_size: 20000
  test_size: 1000
  seed: [1, 2, 3, 4, 5, 6, 7, 8]
YAML
}

# slurm/single-node.sbatch as written (5 tasks, --gpus-per-node=4), but with --cpus-per-task=1
# on the command line, which overrides the script's 4 CPUs per task.
run_gpu_script() {
    echo "== sbatch slurm/single-node.sbatch: 4 workers on the node's 4 stand-in GPUs"
    local log=$scratch/job3.log job
    job=$(cd "$work" && STUDY=gpu.yaml sbatch --parsable --chdir="$work" --output="$log" \
        --time=5 --cpus-per-task=1 --overcommit "$repo/slurm/single-node.sbatch" 2>&1) ||
        fail "sbatch refused slurm/single-node.sbatch: $job"
    wait_until 300 job_ended "$job" || fail "job $job not finished within 300 s"
    check_complete "$job" "$work/gpu.h5" 4
    local rank
    for rank in 1 2 3 4; do
        grep -q "(rank 0) info: rank $rank ready on $node: cpu (1 thread) (local rank $rank," \
            "$log" || fail "rank $rank did not report its placement"
    done
    # Where each unit ran is stored: in each record of /outcomes, rank and local_rank (equal
    # on one node, 1-4), then host, device and CUDA_VISIBLE_DEVICES as the worker saw it.
    local records
    records=$(h5dump -d outcomes "$work/gpu.h5" | sed -n '/DATA {/,$p' | tr -d ' \n' |
        grep -oE '\{[^}]*\}')
    echo "stored: $records"
    [[ $(grep -cE '^\{[^,]*,[^,]*,[^,]*,([1-4]),\1,"'"$node"'","cpu\(1thread\)","[^"]*",""\}$' \
        <<<"$records") == 4 ]] || fail "/outcomes does not hold rank, local rank, host and device"
}

check_complete() {
    local job=$1 result=$2 units=$3
    [[ $(job_field "$job" JobState) == COMPLETED ]] ||
        fail "job $job ended $(job_field "$job" JobState), expected COMPLETED"
    [[ $(job_field "$job" ExitCode) == 0:0 ]] ||
        fail "job $job exit code $(job_field "$job" ExitCode), expected 0:0"
    [[ $(statuses "$result" | grep -c 'done') == "$units" ]] ||
        fail "not all $units units done: $(statuses "$result" | sort | uniq -c | xargs)"
}

run_small_study() {
    echo "== sbatch slurm/cpu-node.sbatch: 4 units on rank 0 and 2 workers"
    local log=$scratch/job1.log job
    job=$(submit small.yaml "$log") || fail "sbatch refused the job"
    wait_until 300 job_ended "$job" || fail "job $job not finished within 300 s"
    check_complete "$job" "$work/small.h5" 4
    grep -q "(rank 0) info: small.yaml: .* created, 4 to train on 2 worker rank(s)" "$log" ||
        fail "the log has no scheduler line for 4 units on 2 workers"
    grep -q "(rank 0) info: rank 1 ready on $node" "$log" || fail "rank 1 did not report"
    grep -q "(rank 0) info: rank 2 ready on $node" "$log" || fail "rank 2 did not report"
    grep -q "(rank 0) info: finished in .*: 4 trained, 0 failed, 0 skipped" "$log" ||
        fail "the log does not say 4 trained"
}

unit_done() { grep -qs "done on rank" "$1"; }

# True when no step of the job runs on the node: each slurmstepd has a socket NODE_JOB.STEP
# in the spool directory while it lives.
steps_gone() {
    node_idle || return 1
    compgen -G "$scratch/spool/${node}_$1.*" > /dev/null && return 1
    return 0
}

stop_and_requeue() {
    echo "== scancel --signal=TERM: exit 9, requeue, resume"
    local log=$scratch/job2.log job status
    job=$(submit stop.yaml "$log") || fail "sbatch refused the job"
    wait_until 120 unit_done "$log" || fail "no unit done within 120 s"
    scancel --signal=TERM "$job"
    wait_until 60 job_requeued "$job" || fail "job $job not requeued within 60 s"

    grep -q "stopped by a signal: [1-9][0-9]* of 8 units remain pending" "$log" ||
        fail "no clean stop in the log"
    grep -q "Exited with exit code 9" "$log" || fail "the ranks did not exit 9"
    grep -q "requeueing job $job" "$log" || fail "the batch script did not requeue"
    status=$(statuses "$work/stop.h5")
    grep -q pending <<< "$status" || fail "no unit left pending: the stop came too late"
    grep -q 'done' <<< "$status" || fail "no unit done before the stop"

    # Slurm holds a requeued job about 2 minutes (Reason=BeginTime); the test shortens that to
    # 5 s after the first run's steps are gone from the node. Not to 0: slurmd revokes the
    # job's credential when it is killed, and refused a launch in the same second with "Job
    # credential revoked".
    wait_until 60 steps_gone "$job" || fail "the steps of job $job still run after the requeue"
    scontrol update JobId="$job" StartTime=now+5
    wait_until 180 job_ended "$job" || fail "requeued job $job not finished within 180 s"
    check_complete "$job" "$work/stop.h5" 8
    grep -q "[1-9] units already done or failed are skipped" "$log" ||
        fail "the requeued job did not resume"
}

write_config
write_studies
start_cluster
run_small_study
run_gpu_script
stop_and_requeue
