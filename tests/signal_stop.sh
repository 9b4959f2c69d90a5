#!/usr/bin/env bash
# run: a second run on a file in use is refused; SIGTERM to one worker, or to every rank (as
# Slurm sends it), stops the sweep cleanly:
# exit code 9, the resume command printed, a file that opens without repair, and a rerun
# that trains exactly the units left pending.
# Usage: signal_stop.sh SWEEP_BINARY MPIEXEC
set -euo pipefail
source "$(dirname "$0")/mpi_script_support.sh" "$@"

cat > "$scratch/study.yaml" <<YAML
study: signals
grid:
  dataset: fashion-mnist
  optimizer: adam
  lr: 0.001
  epochs: 2
  train_size: 20000
  test_size: 1000
  seed: [1, 2, 3, 4, 5, 6, 7, 8]
YAML



# Starts the sweep in the background and waits (at most 120 s) until a first unit is done.
start_and_wait() {
    local result=$1
    "$mpiexec" -n 3 "${flags[@]}" "$sweep" run "$scratch/study.yaml" -o "$result" \
        > "$scratch/log" 2>&1 &
    launcher=$!
    for _ in $(seq 1 240); do
        grep -q "done on rank" "$scratch/log" && return 0
        sleep 0.5
    done
    kill "$launcher"
    fail "no unit finished within 120 s"
}

# The ranks of this run, rank 0 first (they start in rank order).
ranks() { pgrep -f "^$sweep run $scratch/study.yaml" | sort -n; }

check_stopped() {
    local result=$1 code=0
    wait "$launcher" || code=$?
    ((code == 9)) || fail "exit code $code, expected 9"
    grep -qF "resume with: mpirun -n 3 $sweep run $scratch/study.yaml -o $result" "$scratch/log" ||
        fail "no resume command"
    h5dump -H "$result" > /dev/null || fail "h5dump cannot open the stopped file"
    local status
    status=$(statuses "$result")
    grep -q pending <<< "$status" || fail "no unit left pending: the stop came too late"
    grep -q done <<< "$status" || fail "no unit done before the stop"

    "$mpiexec" -n 3 "${flags[@]}" "$sweep" run "$scratch/study.yaml" -o "$result" \
        > "$scratch/log" 2>&1 || fail "the resumed run failed"
    grep -q "failed, [1-9][0-9]* skipped" "$scratch/log" || fail "the rerun trained done units"
    [[ $(statuses "$result" | grep -c done) == 8 ]] || fail "units still pending after resume"
}

echo "== SIGTERM to one worker, after a second run on the same file was refused"
start_and_wait "$scratch/one.h5"
code=0
"$sweep" run "$scratch/study.yaml" -o "$scratch/one.h5" > "$scratch/second.log" 2>&1 || code=$?
((code == 5)) || fail "a second run on a file in use exited $code, expected 5"
grep -q "another run is using this result file" "$scratch/second.log" ||
    fail "the second run did not say the file is in use"
kill -TERM "$(ranks | sed -n 2p)"
check_stopped "$scratch/one.h5"

echo "== SIGTERM to every rank"
start_and_wait "$scratch/all.h5"
kill -TERM $(ranks)
check_stopped "$scratch/all.h5"

echo "1 passed, 0 failed"
