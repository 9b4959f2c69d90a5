#!/usr/bin/env bash
# Every command's --help is complete: it exits 0, every option has a description, it ends
# with the exit codes, and README.md documents every long option it lists.
# Usage: help_check.sh SWEEP_BINARY SWEEP_REPORT_BINARY README
set -uo pipefail
sweep=$1 report=$2 readme=$3
failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

check() {
    local name=$1
    shift
    local text
    if ! text=$("$@" --help 2>&1); then
        fail "$name --help exits non-zero"
        return
    fi
    grep -q '^Exit codes' <<<"$text" || fail "$name --help does not list its exit codes"
    # An option line is "  -x,--name TYPE   description"; CLI11 moves a long description to
    # the next line, indented past the option column.
    local previous="" line option
    while IFS= read -r line; do
        if [[ $previous =~ ^\ \ (-[a-z],)?--?[a-z] ]]; then
            option=${BASH_REMATCH[0]}
            local rest=${previous#"  "}
            rest=${rest#* }
            if [[ ! $rest =~ [a-z].*[[:space:]][a-z] && ! $line =~ ^\ {20,}[^[:space:]] ]]; then
                fail "$name: option without a description: $previous"
            fi
        fi
        previous=$line
    done <<<"$text"$'\n'
    for option in $(grep -oE -- '--[a-z][a-z-]+' <<<"$text" | sort -u); do
        [[ $option == --help ]] && continue
        grep -q -- "$option" "$readme" || fail "$name --help lists $option, README.md does not"
    done
    echo "ok: $name --help ($(wc -l <<<"$text") lines)"
}

check "sweep" "$sweep"
check "sweep run" "$sweep" run
check "sweep plan" "$sweep" plan
check "sweep status" "$sweep" status
check "sweep data" "$sweep" data
check "sweep data fetch" "$sweep" data fetch
check "sweep-report" "$report"

((failures == 0)) || { echo "$failures failure(s)"; exit 1; }
