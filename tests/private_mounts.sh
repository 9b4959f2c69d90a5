# shellcheck shell=bash
# Sourced first by the shell tests that mount file systems of their own (a tmpfs that fills up,
# a read-only mount): reruns the calling test in a private mount namespace, so that its mounts
# are seen by no other process and vanish with it. Exits 77 (skipped) without the privilege.
# Usage, before anything else: source "$(dirname "$0")/private_mounts.sh" "$@"
if [[ -z ${SWEEP_PRIVATE_MOUNTS:-} ]]; then
    if ! unshare --mount --propagation private true 2> /dev/null; then
        echo "SKIPPED: unshare --mount is not allowed here (needs root or CAP_SYS_ADMIN)"
        exit 77
    fi
    SWEEP_PRIVATE_MOUNTS=1 exec unshare --mount --propagation private \
        bash "${BASH_SOURCE[1]}" "$@"
fi

mounted=()

# Mounts a tmpfs of SIZE bytes on DIR, made if missing; skips the test when that is refused.
mount_tmpfs() {
    mkdir -p "$1"
    if ! mount -t tmpfs -o "size=$2" sweep-test "$1"; then
        echo "SKIPPED: cannot mount a tmpfs (needs root or CAP_SYS_ADMIN)"
        exit 77
    fi
    mounted+=("$1")
}

# For the EXIT trap: the scratch directory can only be removed once nothing is mounted in it.
unmount_all() {
    local dir
    for dir in "${mounted[@]}"; do umount "$dir" 2> /dev/null || true; done
}
