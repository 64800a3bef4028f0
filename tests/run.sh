#!/usr/bin/env bash
# Runs every test suite and ends with one line: "N passed, N failed".
# Suites: Criterion unit tests (plain, then ASan+UBSan), the kernel test
# (C, against real rtnetlink), and the namespace integration scripts.
# Criterion binaries are counted from their "Synthesis:" line; the others
# print TAP-style "ok N - ..." / "not ok N - ..." lines.
set -u
cd "$(dirname "$0")/.."

passed=0
failed=0
failed_suites=()

if [ "$(id -u)" != 0 ]; then
    echo "tests/run.sh: the kernel and integration tests need root (namespaces, netlink)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

count_criterion() { # $1 = name, $2 = log, $3 = exit code
    local line tested passing
    line=$(grep -a 'Synthesis:' "$2" | tail -n 1)
    if [ -z "$line" ]; then
        failed=$((failed + 1)); failed_suites+=("$1 (no summary, exit $3)"); return
    fi
    tested=$(sed -E 's/.*Tested: ([0-9]+).*/\1/' <<<"$line")
    passing=$(sed -E 's/.*Passing: ([0-9]+).*/\1/' <<<"$line")
    passed=$((passed + passing))
    failed=$((failed + tested - passing))
    if [ "$3" != 0 ] || [ "$tested" != "$passing" ]; then failed_suites+=("$1"); fi
}

count_tap() { # $1 = name, $2 = log, $3 = exit code
    local ok notok
    ok=$(grep -acE '^ok [0-9]+' "$2")
    notok=$(grep -acE '^not ok [0-9]+' "$2")
    passed=$((passed + ok))
    failed=$((failed + notok))
    if [ "$3" != 0 ] && [ "$notok" = 0 ]; then
        failed=$((failed + 1))      # died without saying which check
    fi
    if [ "$3" != 0 ] || [ "$notok" != 0 ]; then failed_suites+=("$1"); fi
}

run_suite() { # $1 = kind, $2 = name, rest = command
    local kind=$1 name=$2 log rc
    shift 2
    log=$(mktemp)
    echo "=== $name"
    "$@" >"$log" 2>&1
    rc=$?
    cat "$log"
    if [ "$kind" = criterion ]; then count_criterion "$name" "$log" $rc
    else count_tap "$name" "$log" $rc; fi
    # Criterion runs each test in a child; a sanitizer report there does not
    # always fail the run, so any report counts as one failure here.
    if grep -qaE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$log"; then
        failed=$((failed + 1)); failed_suites+=("$name (sanitizer report)")
    fi
    rm -f "$log"
}

format_check() {
    local bad
    bad=$(for f in $(find common ipam vxlan gossip driver cli tests -name '*.[ch]' | sort); do
        clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || echo "$f"
    done)
    if [ -z "$bad" ]; then echo "ok 1 - every C file is clang-formatted"
    else echo "not ok 1 - not clang-formatted (make format): $bad"; fi
}
run_suite tap "style clang-format" format_check
# Structure (call cycles, file and function sizes, own header first); reads build/*.o.
run_suite tap "style shape" bash tests/shape.sh
for t in build/tests/test_*; do
    [ -x "$t" ] && run_suite criterion "unit $(basename "$t")" "$t" --jobs 2
done
for t in build/asan/tests/test_*; do
    [ -x "$t" ] && run_suite criterion "asan $(basename "$t")" env \
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 "$t" --jobs 2
done
for t in build/tests/kernel-*; do
    [ -x "$t" ] && run_suite tap "kernel $(basename "$t")" "$t"
done
for t in build/tests/sim-*; do
    [ -x "$t" ] && run_suite tap "simulation $(basename "$t")" "$t"
done
# A short libFuzzer run of every decoder of outside input, FUZZ_SECONDS
# (15) each, so ten targets stay under 4 min (longer runs: bench/fuzz.sh,
# docs/testing.md).  A crash or sanitizer report fails the suite.
# A target's seeds (tests/fuzz/corpus/NAME for fuzz_NAME) are read, never
# written: new inputs go to a scratch corpus listed first.
fuzz_one() {
    local out rc work seeds=()
    work=$(mktemp -d)
    [ -d "tests/fuzz/corpus/${1##*/fuzz_}" ] && seeds=("tests/fuzz/corpus/${1##*/fuzz_}")
    out=$("$1" -max_total_time="${FUZZ_SECONDS:-15}" -rss_limit_mb=1024 -print_final_stats=1 \
        "$work" "${seeds[@]}" 2>&1)
    rc=$?
    rm -rf "$work"
    if [ $rc = 0 ]; then
        echo "ok 1 - $(basename "$1"): $(grep -o 'stat::number_of_executed_units: *[0-9]*' <<<"$out" | grep -o '[0-9]*$') inputs, no crash"
    else
        echo "not ok 1 - $(basename "$1") found a crash (exit $rc)"
        tail -n 40 <<<"$out"
    fi
}
for t in build/fuzz/fuzz_*; do
    [ -x "$t" ] && run_suite tap "fuzz $(basename "$t")" fuzz_one "$t"
done
for t in tests/integration/test_*.sh; do
    [ -f "$t" ] && run_suite tap "integration $(basename "$t")" bash "$t"
done

echo
if [ ${#failed_suites[@]} -gt 0 ]; then
    printf 'failed: %s\n' "${failed_suites[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
