# Sourced by the shell tests that run sweep under mpirun: arguments, scratch directory,
# mpirun flags and the reading of a result file's status. Sets sweep, mpiexec, scratch, flags.
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
