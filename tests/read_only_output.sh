#!/usr/bin/env bash
# run: an output directory on a read-only file system is refused before any rank trains, with
# exit 5 and a message naming the path, and nothing is written: for a new result file, for one
# in a directory still to be made, and for a resume of an existing file, which stays byte for
# byte as it was. Root ignores permission bits, so the directory is a read-only mount in a
# private mount namespace; skipped (77) where mounting a file system is not allowed.
# Usage: read_only_output.sh SWEEP_BINARY MPIEXEC
set -euo pipefail
source "$(dirname "$0")/private_mounts.sh" "$@"
source "$(dirname "$0")/mpi_script_support.sh" "$@"
trap 'unmount_all; rm -rf "$scratch"' EXIT

# The second learning rate makes the loss overflow, so its unit fails and a rerun with
# --retry-failed has something to write.
cat > "$scratch/study.yaml" <<YAML
study: read-only
grid:
  dataset: fashion-mnist
  optimizer: sgd
  lr: [0.05, 1.0e+30]
  epochs: 1
  train_size: 300
  test_size: 100
YAML

run() { "$mpiexec" -n 3 "${flags[@]}" "$sweep" run "$scratch/study.yaml" --threads 1 "$@"; }
# Every file under the mount with its size, time and SHA-256: what "nothing written" compares.
snapshot() { find "$disk" -type f -printf '%p %s %T@\n' | sort; sha256sum "$disk"/old/*; }

disk="$scratch/disk"
mount_tmpfs "$disk" 64m
echo "== a result file with a failed unit, then the mount made read-only"
code=0
run -o "$disk/old/result.h5" > "$scratch/log" 2>&1 || code=$?
((code == 7)) || fail "the first run exited $code, expected 7 (one unit failed)"
mount -o remount,ro "$disk"
snapshot > "$scratch/before"

# Runs sweep with the given arguments; expects exit 5, one message naming the path, and no rank
# that got as far as training.
expect_refused() {
    local message=$1 code=0
    shift
    run "$@" > "$scratch/log" 2>&1 || code=$?
    ((code == 5)) || fail "exit code $code, expected 5"
    [[ $(grep -cF "$message" "$scratch/log") == 1 ]] || fail "no message '$message'"
    grep -q "ready on\|done on" "$scratch/log" && fail "a rank started training"
    return 0
}

echo "== a new result file"
expect_refused "$disk/new.h5.lock: cannot create the run's lock file: Read-only file system" \
    -o "$disk/new.h5"
echo "== a new result file in a directory still to be made"
expect_refused "$disk/sub: cannot create the output directory: Read-only file system" \
    -o "$disk/sub/new.h5"
echo "== resuming the existing file, with and without --retry-failed"
expect_refused "$disk/old/result.h5.lock: cannot open the run's lock file: Read-only file system" \
    -o "$disk/old/result.h5" --retry-failed
expect_refused "$disk/old/result.h5.lock: cannot open the run's lock file: Read-only file system" \
    -o "$disk/old/result.h5"

snapshot > "$scratch/after"
diff "$scratch/before" "$scratch/after" > "$scratch/log" || fail "the read-only mount changed"
[[ $(statuses "$disk/old/result.h5" | tr '\n' ' ') == "done failed " ]] ||
    fail "the existing file's units changed"
echo "1 passed, 0 failed"
