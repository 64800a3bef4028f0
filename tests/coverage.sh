#!/usr/bin/env bash
# Line coverage of the product code by the unit tests alone (make coverage).
# Runs every unit test binary under $1 (built with gcc --coverage), then
# prints, from gcov, the lines executed per file, per folder and in total.
# A source whose object no test links counts with all its lines missed.
set -u
cd "$(dirname "$0")/.."

COV=${1:-build/cov}
DIRS=(common ipam vxlan gossip driver cli) # absent ones are skipped

dirs=()
for d in "${DIRS[@]}"; do [ -d "$d" ] && dirs+=("$d"); done

find "$COV" -name '*.gcda' -delete
failed=()
ran=0
for t in "$COV"/tests/test_*; do
    [ -f "$t" ] && [ -x "$t" ] || continue
    ran=$((ran + 1))
    log=$("$t" --jobs 1 2>&1)
    rc=$?
    echo "  RUN     $(basename "$t"): $(grep -a 'Synthesis:' <<<"$log" | tail -n 1 | sed 's/.*Synthesis: //')"
    [ $rc = 0 ] || failed+=("$(basename "$t") (exit $rc)")
done
if [ $ran = 0 ]; then
    echo "coverage: no unit test binary in $COV/tests (make coverage builds them)" >&2
    exit 1
fi

# gcov -n prints, per source it finds in the object, "File 'x'" then
# "Lines executed:P% of N"; only the object's own .c is counted, so a
# header's inline functions are not counted once per includer.
echo
printf '%-28s %8s %6s %6s\n' file lines run %
for src in $(find "${dirs[@]}" -name '*.c' -not -path '*/include/uapi/*' | sort); do
    obj="$COV/${src%.c}.o"
    if [ ! -f "${obj%.o}.gcno" ]; then
        echo "coverage: no $obj.gcno (not built with --coverage); $src left out" >&2
        continue
    fi
    gcov -n -o "$(dirname "$obj")" "$src" 2>/dev/null |
        awk -v src="$src" '
            /^File / { mine = (index($0, "/" src "'\''") || $0 == "File '\''" src "'\''") }
            mine && /^Lines executed:/ {
                pct = $2; sub(/.*:/, "", pct); sub(/%/, "", pct)
                printf "%s %d %d\n", src, $NF, int(pct * $NF / 100 + 0.5); mine = 0; found = 1
            }
            END { if (!found) printf "%s 0 0\n", src }'
done | awk '
    function row(name, t, e) {
        printf "%-28s %8d %6d %5.1f%%\n", name, t, e, t ? 100 * e / t : 0
    }
    {
        dir = $1; sub(/\/.*/, "", dir)
        row($1, $2, $3)
        tot[dir] += $2; exe[dir] += $3; T += $2; E += $3
        if (!(dir in seen)) { seen[dir] = 1; order[++nd] = dir }
    }
    END {
        print ""
        for (i = 1; i <= nd; i++) row(order[i] "/", tot[order[i]], exe[order[i]])
        row("total", T, E)
    }'

if [ ${#failed[@]} -gt 0 ]; then
    printf 'coverage: unit tests failed (their lines up to the failure still count): %s\n' "${failed[*]}" >&2
    exit 1
fi
