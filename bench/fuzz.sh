#!/usr/bin/env bash
# Long libFuzzer runs of every fuzz target (tests/fuzz/fuzz_*.c), built by
# `make fuzz-bins` with ASan+UBSan (a UBSan report stops the run here).
#   bench/fuzz.sh [RUNS]      RUNS executions per target (default 10000000,
#                             or FUZZ_RUNS)
# Environment: FUZZ_CAP seconds per target at most (default 1800, so it
# ends), FUZZ_TARGETS "table api ..." (default every target), FUZZ_JOBS
# targets at a time (default and at most 2).  Each target starts from its
# seeds in tests/fuzz/corpus/NAME/ (read only) and a scratch corpus.
# Prints a table (target, executions, seconds, exec/s, crashes) and writes
# it to bench/results/fuzz-<date>.txt; crash inputs are kept next to it in
# bench/results/fuzz-<date>-crashes/.  Exits 1 when anything crashed.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
RUNS=${1:-${FUZZ_RUNS:-10000000}}
CAP=${FUZZ_CAP:-1800}
JOBS=${FUZZ_JOBS:-2}
[ "$JOBS" -ge 1 ] && [ "$JOBS" -le 2 ] || JOBS=2
STAMP=$(date -u +%Y%m%d-%H%M%S)
OUT=bench/results/fuzz-$STAMP.txt
CRASHES=bench/results/fuzz-$STAMP-crashes
TMP=$(mktemp -d /tmp/vxmesh-fuzz-bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

make --no-print-directory CI=1 -j2 fuzz-bins || exit 1
mkdir -p bench/results "$CRASHES"

if [ -n "${FUZZ_TARGETS:-}" ]; then
    targets=()
    for t in $FUZZ_TARGETS; do targets+=("build/fuzz/fuzz_$t"); done
else
    targets=(build/fuzz/fuzz_*)
fi

# run_one BIN: one target to RUNS executions or CAP seconds; writes
# "name executions seconds crashes" to $TMP/NAME.row, its log to $TMP/NAME.log.
run_one() {
    local bin=$1 name=${1##*/fuzz_} work seeds=() start end rc execs crashes
    work=$TMP/corpus-$name
    mkdir -p "$work" "$CRASHES/$name"
    [ -d "tests/fuzz/corpus/$name" ] && seeds=("tests/fuzz/corpus/$name")
    start=$(date +%s.%N)
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "$bin" -runs="$RUNS" -max_total_time="$CAP" -rss_limit_mb=2048 -timeout=60 \
        -print_final_stats=1 -artifact_prefix="$CRASHES/$name/" \
        "$work" "${seeds[@]}" >"$TMP/$name.log" 2>&1
    rc=$?
    end=$(date +%s.%N)
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$TMP/$name.log" |
        grep -o '[0-9]*$' | tail -n 1)
    crashes=$(find "$CRASHES/$name" -type f | wc -l)
    [ "$rc" != 0 ] && [ "$crashes" = 0 ] && crashes=1 # died without an artifact
    echo "$name ${execs:-0} $(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.0f", b - a}') $crashes" \
        >"$TMP/$name.row"
    rmdir "$CRASHES/$name" 2>/dev/null
    echo "  done    fuzz_$name (exit $rc)" >&2
}

echo "fuzzing ${#targets[@]} targets: $RUNS executions each, at most $CAP s, $JOBS at a time" >&2
for bin in "${targets[@]}"; do
    [ -x "$bin" ] || { echo "no such target: $bin" >&2; continue; }
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
    echo "  start   ${bin##*/}" >&2
    run_one "$bin" &
done
wait
rmdir "$CRASHES" 2>/dev/null

{
    echo "# bench/fuzz.sh $STAMP: $RUNS runs per target, cap $CAP s, $JOBS jobs, $(nproc) CPUs"
    echo "# $(git describe --always --dirty 2>/dev/null) $(clang --version | head -n 1)"
    printf '%-10s %12s %8s %10s %8s\n' target executions seconds exec/s crashes
    for bin in "${targets[@]}"; do
        name=${bin##*/fuzz_}
        [ -f "$TMP/$name.row" ] || continue
        read -r n execs secs crashes <"$TMP/$name.row"
        printf '%-10s %12s %8s %10s %8s%s\n' "$n" "$execs" "$secs" \
            "$(awk -v e="$execs" -v s="$secs" 'BEGIN {printf "%.0f", (s > 0 ? e / s : e)}')" \
            "$crashes" "$([ "$execs" -lt "$RUNS" ] && [ "$crashes" = 0 ] && echo "  (time cap)")"
    done
} | tee "$OUT"
echo "written to $OUT" >&2
[ "$(cat "$TMP"/*.row 2>/dev/null | awk '{s += $4} END {print s + 0}')" = 0 ]
