#!/usr/bin/env bash
# run: kill -9 of a worker, of rank 0 or of the whole job at a random point leaves a file that
# opens without repair; a rerun trains exactly the units not done, leaves the units done
# before untouched, and ends with the same numbers as an uninterrupted run.
# Usage: kill_resume.sh SWEEP_BINARY MPIEXEC
set -euo pipefail
source "$(dirname "$0")/mpi_script_support.sh" "$@"
units=8

cat > "$scratch/study.yaml" <<YAML
study: kill-resume
grid:
  dataset: fashion-mnist
  optimizer: sgd
  lr: 0.05
  momentum: 0.9
  epochs: 2
  train_size: 12000
  test_size: 500
  seed: [1, 2, 3, 4, 5, 6, 7, 8]
YAML

run() { "$mpiexec" -n 3 "${flags[@]}" "$sweep" run "$scratch/study.yaml" --threads 1 -o "$1"; }

echo "== an uninterrupted reference run"
run "$scratch/reference.h5" > "$scratch/log" 2>&1 || fail "the reference run failed"

for victim in worker rank0 all; do
    echo "== kill -9 of $victim"
    result="$scratch/$victim.h5"
    run "$result" > "$scratch/log" 2>&1 &
    launcher=$!
    for _ in $(seq 1 240); do
        grep -q "done on rank" "$scratch/log" && break
        sleep 0.5
    done
    sleep "0.$((RANDOM % 10))"
    mapfile -t pids < <(pgrep -f "^$sweep run $scratch/study.yaml" | sort -n)
    case $victim in
        worker) kill -9 "${pids[2]}" ;;
        rank0) kill -9 "${pids[0]}" ;;
        all) kill -9 "${pids[@]}" ;;
    esac
    wait "$launcher" && fail "the killed run exited 0"

    h5dump -H "$result" > /dev/null || fail "h5dump cannot open the file after kill -9"
    mapfile -t before < <(statuses "$result")
    cp "$result" "$scratch/before.h5"
    run "$result" > "$scratch/log" 2>&1 || fail "the rerun failed"
    done_before=$(printf '%s\n' "${before[@]}" | grep -c done || true)
    grep -q "$((units - done_before)) trained, 0 failed, $done_before skipped" "$scratch/log" ||
        fail "the rerun did not train exactly the $((units - done_before)) units not done"
    for ((unit = 0; unit < units; ++unit)); do
        if [[ ${before[unit]} == done ]]; then
            same_unit "$scratch/before.h5" "$result" "$unit" ||
                fail "unit $unit, done before the kill, changed"
        fi
        same_unit "$scratch/reference.h5" "$result" "$unit" ||
            fail "unit $unit differs from the uninterrupted run"
    done
done
echo "1 passed, 0 failed"
