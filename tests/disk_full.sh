#!/usr/bin/env bash
# run: a disk that fills up mid-run. Creating the result file reserves its units' space without
# writing it, so on most file systems the units' data needs room that can run out. On a tmpfs
# sized for the new file and two or three units: the worker that cannot write stops the sweep
# with exit 5 and "no space left on device" naming the file; the file still opens, every unit
# marked done holds the numbers of an uninterrupted run, none is marked done half-written;
# a rerun on the full disk fails alike and loses nothing; once space is freed a rerun trains
# only the units left. Skipped (77) where mounting a file system is not allowed.
# Usage: disk_full.sh SWEEP_BINARY MPIEXEC
set -euo pipefail
source "$(dirname "$0")/private_mounts.sh" "$@"
source "$(dirname "$0")/mpi_script_support.sh" "$@"
trap 'unmount_all; rm -rf "$scratch"' EXIT
units=6
test_size=10000  # the whole test split, so that each unit adds 420 kB of scores

cat > "$scratch/study.yaml" <<YAML
study: disk-full
grid:
  dataset: fashion-mnist
  optimizer: adam
  lr: 0.001
  epochs: 1
  train_size: 300
  test_size: $test_size
  seed: [1, 2, 3, 4, 5, 6]
YAML

run() { "$mpiexec" -n 3 "${flags[@]}" "$sweep" run "$scratch/study.yaml" --threads 1 -o "$1"; }

# Every unit marked done in $1 holds the reference numbers: a unit cut short by the full disk
# would read back holes as zeros.
check_done_units() {
    local unit status
    mapfile -t status < <(statuses "$1")
    for ((unit = 0; unit < units; ++unit)); do
        [[ ${status[unit]} == "done" ]] || continue
        same_unit "$scratch/reference.h5" "$1" "$unit" ||
            fail "unit $unit is marked done but differs from the uninterrupted run"
    done
}

echo "== an uninterrupted reference run"
run "$scratch/reference.h5" > "$scratch/log" 2>&1 || fail "the reference run failed"

# A unit's scores (test_size x 10 floats) and predictions (int16) fill 420 kB of space kept
# for it at creation; its curve and two 10 x 10 matrices add under 2 kB. The rest of the file
# is written at creation, so the disk holds the new file and two and a half units.
unit_bytes=$((test_size * (10 * 4 + 2)))
created_bytes=$(($(stat -c %s "$scratch/reference.h5") - units * unit_bytes))
disk="$scratch/disk"
mount_tmpfs "$disk" $((created_bytes + unit_bytes * 5 / 2))
result="$disk/result.h5"

echo "== the disk fills up mid-run"
code=0
run "$result" > "$scratch/log" 2>&1 || code=$?
((code == 5)) || fail "exit code $code, expected 5"
grep -q "$result: H5Dwrite failed: .*: no space left on device" "$scratch/log" ||
    fail "no message saying 'no space left on device' with the file's path"
h5dump -H "$result" > /dev/null || fail "h5dump cannot open the file after the disk filled"
"$sweep" status "$result" > "$scratch/status.log" || fail "sweep status cannot read the file"
done_before=$(statuses "$result" | grep -c "done" || true)
((done_before >= 1)) || fail "no unit was done before the disk filled"
((done_before < units)) || fail "every unit was done: the disk never filled"
pending=$((units - done_before))
echo "$done_before of $units units done when the disk filled"
grep -q "total    $done_before done, $pending pending, 0 failed of $units units" \
    "$scratch/status.log" || fail "sweep status does not count $done_before units done"
check_done_units "$result"

echo "== a rerun on the still full disk fails alike and keeps every unit done"
code=0
run "$result" > "$scratch/log" 2>&1 || code=$?
((code == 5)) || fail "the rerun on a full disk exited $code, expected 5"
grep -q "no space left on device" "$scratch/log" || fail "the rerun did not say the disk is full"
again=$(statuses "$result" | grep -c "done" || true)
((again >= done_before)) || fail "units done before the rerun are no longer done"
check_done_units "$result"

echo "== space freed: a rerun trains only the units left"
done_before=$again
mount -o remount,size=64m "$disk"
run "$result" > "$scratch/log" 2>&1 || fail "the rerun after freeing space failed"
grep -q "$((units - done_before)) trained, 0 failed, $done_before skipped" "$scratch/log" ||
    fail "the rerun did not train exactly the $((units - done_before)) units left"
[[ $(statuses "$result" | grep -c "done") == "$units" ]] || fail "units still pending"
check_done_units "$result"
echo "1 passed, 0 failed"
