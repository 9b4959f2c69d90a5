# Sourced by the shell tests that run sweep under mpirun: arguments, scratch directory,
# mpirun flags, the reading of a result file's status and the comparison of units. Sets sweep,
# mpiexec, scratch, flags.
# Usage in a test: source "$(dirname "$0")/mpi_script_support.sh" "$@"
sweep=$1
mpiexec=${2:-mpirun}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
flags=(--oversubscribe)
[[ $(id -u) -eq 0 ]] && flags+=(--allow-run-as-root)

fail() { echo "FAILED: $*"; cat "$scratch/log" 2>/dev/null; exit 1; }

# The status values of a result file, one word per unit (the enum's names, not its type).
statuses() { h5dump -d status "$1" | sed -n '/DATA {/,$p' | grep -o 'pending\|done\|failed'; }

unit_path() { printf '/unit/%06d' "$1"; }

# True when unit $3 holds the same results in files $1 and $2 (timings aside).
same_unit() {
    local name
    for name in confusion noise_counts predictions scores; do
        h5diff -q "$1" "$2" "$(unit_path "$3")/$name" "$(unit_path "$3")/$name" || return 1
    done
}
