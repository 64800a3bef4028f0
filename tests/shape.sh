#!/usr/bin/env bash
# Structural checks on the product code, as TAP lines for tests/run.sh:
#   - the cycle finder works (it finds a cycle it compiles itself), and it
#     looked at one object per product source;
#   - no two product objects call each other in a circle (nm: A -> B when A
#     uses a symbol B defines), each cycle printed with one symbol per edge;
#   - no source file over MAX_FILE_LINES lines;
#   - no function in driver/ or cli/ over MAX_FUNC_LINES lines (counted from
#     the first line of its signature to its closing brace);
#   - every .c with a header of the same name includes it first.
# Needs the objects built (make all); BUILD= picks another build directory.
set -u
cd "$(dirname "$0")/.."

MAX_FILE_LINES=${MAX_FILE_LINES:-1500}
MAX_FUNC_LINES=${MAX_FUNC_LINES:-150}
BUILD=${BUILD:-build}
PRODUCT_DIRS=(common ipam vxlan gossip driver cli) # absent ones are skipped
FUNC_DIRS=(driver cli)

n=0
failures=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { # $1 = summary, $2 = details (one "# " line each)
    n=$((n + 1)) failures=$((failures + 1))
    echo "not ok $n - $1"
    [ -n "${2:-}" ] && sed 's/^/#   /' <<<"$2"
}

dirs=()
for d in "${PRODUCT_DIRS[@]}"; do [ -d "$d" ] && dirs+=("$d"); done
fdirs=()
for d in "${FUNC_DIRS[@]}"; do [ -d "$d" ] && fdirs+=("$d"); done

# Prints every strongly connected component of more than one object, as
# cycles covering each of its edges; prints nothing when there is none.
# Arguments: label=path.o ...
find_cycles() {
    python3 - "$@" <<'EOF'
import subprocess, sys
from collections import deque

objs = dict(a.split("=", 1) for a in sys.argv[1:])

def nm(*args):
    out = subprocess.run(["nm", *args], capture_output=True, text=True, check=True).stdout
    return [l.split() for l in out.splitlines() if l.strip()]

defs, uses = {}, {}
for label, path in objs.items():
    # Global definitions only (T, D, B, R, C, W, V, ...): static ones can't be called.
    for f in nm("-g", "--defined-only", path):
        if len(f) >= 3:
            defs.setdefault(f[2], []).append(label)
    uses[label] = sorted(f[-1] for f in nm("-u", path))

edges = {l: {} for l in objs}          # a -> {b: [symbols]}
for a, syms in uses.items():
    for s in syms:
        for b in defs.get(s, []):
            if b != a:
                edges[a].setdefault(b, []).append(s)

# Tarjan, iterative.
index, low, on, stack, sccs, counter = {}, {}, set(), [], [], [0]
for root in sorted(objs):
    if root in index:
        continue
    work = [(root, iter(sorted(edges[root])))]
    index[root] = low[root] = counter[0]; counter[0] += 1
    stack.append(root); on.add(root)
    while work:
        v, it = work[-1]
        for w in it:
            if w not in index:
                index[w] = low[w] = counter[0]; counter[0] += 1
                stack.append(w); on.add(w)
                work.append((w, iter(sorted(edges[w]))))
                break
            if w in on:
                low[v] = min(low[v], index[w])
        else:
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop(); on.discard(w); comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    sccs.append(sorted(comp))

def shortest(src, dst, members):
    prev, q = {src: None}, deque([src])
    while q:
        v = q.popleft()
        if v == dst:
            break
        for w in sorted(edges[v]):
            if w in members and w not in prev:
                prev[w] = v; q.append(w)
    path, v = [], dst
    while v is not None:
        path.append(v); v = prev[v]
    return path[::-1]

for comp in sccs:
    members = set(comp)
    inner = [(a, b) for a in comp for b in sorted(edges[a]) if b in members]
    print(f"cycle among {len(comp)} objects ({len(inner)} edges): {' '.join(comp)}")
    covered = set()
    for a, b in inner:
        if (a, b) in covered:
            continue
        path = [a] + shortest(b, a, members)
        print("  " + " -> ".join(path))
        for x, y in zip(path, path[1:]):
            covered.add((x, y))
            syms = edges[x][y]
            more = f" (+{len(syms) - 1} more)" if len(syms) > 1 else ""
            print(f"      {x} -> {y}: {syms[0]}{more}")
EOF
}

# --- the cycle finder finds a cycle it builds itself, and not a chain ------
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'int pong(int);\nint ping(int x);\nint ping(int x) { return x ? pong(x - 1) : 0; }\n' >"$tmp/a.c"
printf 'int ping(int);\nint pong(int x);\nint pong(int x) { return x ? ping(x - 1) : 1; }\n' >"$tmp/b.c"
printf 'int ping(int);\nint leaf(int x);\nint leaf(int x) { return ping(x); }\n' >"$tmp/c.c"
selftest=""
for f in a b c; do
    cc -c -o "$tmp/$f.o" "$tmp/$f.c" 2>>"$tmp/cc.log" || selftest="cc failed: $(cat "$tmp/cc.log")"
done
if [ -z "$selftest" ]; then
    got=$(find_cycles a.o="$tmp/a.o" b.o="$tmp/b.o" c.o="$tmp/c.o" 2>&1)
    if ! grep -q '^cycle among 2 objects (2 edges): a.o b.o$' <<<"$got" ||
        ! grep -q 'a.o -> b.o: pong' <<<"$got" || grep -q 'c\.o' <<<"$got"; then
        selftest="expected exactly the cycle a.o <-> b.o, got: ${got:-nothing}"
    fi
fi
if [ -z "$selftest" ]; then
    ok "cycle finder detects a synthetic a.o <-> b.o cycle and leaves the chain c.o -> a.o alone"
else
    not_ok "cycle finder self-test failed" "$selftest"
fi

# --- the product objects: one per source -----------------------------------
objs=()
missing=""
while IFS= read -r src; do
    o="$BUILD/${src%.c}.o"
    if [ -f "$o" ]; then objs+=("${src%.c}.o=$o")
    else missing+="$src (no $o)"$'\n'; fi
done < <(find "${dirs[@]}" -name '*.c' -not -path '*/include/uapi/*' | sort)
missing=${missing%$'\n'}
if [ ${#objs[@]} -eq 0 ]; then
    not_ok "looked at 0 product objects in $BUILD/ (run make all first)" "$missing"
elif [ -n "$missing" ]; then
    not_ok "looked at ${#objs[@]} product objects, but some sources have none (make all)" "$missing"
else
    ok "looked at ${#objs[@]} product objects in $BUILD/ (${dirs[*]}), one per source"
fi

# --- no cycle between product objects --------------------------------------
if [ ${#objs[@]} -eq 0 ]; then
    not_ok "no call cycle between product objects: no objects to look at"
elif ! cycles=$(find_cycles "${objs[@]}" 2>&1); then
    not_ok "no call cycle between product objects: the cycle finder failed" "$cycles"
elif [ -z "$cycles" ]; then
    ok "no call cycle between the ${#objs[@]} product objects"
else
    not_ok "no call cycle between product objects: $(grep -c '^cycle' <<<"$cycles") found" "$cycles"
fi

# --- no file over MAX_FILE_LINES -------------------------------------------
long=$(find "${dirs[@]}" \( -name '*.c' -o -name '*.h' \) -not -path '*/include/uapi/*' -print0 |
    sort -z | xargs -0 -r wc -l | awk -v max="$MAX_FILE_LINES" '$2 != "total" && $1 > max { print $2 ": " $1 " lines" }')
if [ -z "$long" ]; then
    ok "no product source file over $MAX_FILE_LINES lines"
else
    not_ok "$(wc -l <<<"$long") product source files over $MAX_FILE_LINES lines" "$long"
fi

# --- no function in driver/ (cli/) over MAX_FUNC_LINES ---------------------
# In clang-formatted code (BreakBeforeBraces: Linux) a function body opens
# with "{" alone at column 0 and closes with "}" at column 0; its signature
# starts at the last column-0 line before the "{".
longf=""
if [ ${#fdirs[@]} -gt 0 ]; then
    longf=$(find "${fdirs[@]}" \( -name '*.c' -o -name '*.h' \) -print0 | sort -z | xargs -0 -r awk -v max="$MAX_FUNC_LINES" '
        FNR == 1 { sig = 0; infn = 0 }
        !infn && /^[A-Za-z_]/ { sig = FNR; sigline = $0 }
        !infn && /^\{[ \t]*$/ && sig { infn = 1; start = sig; name = sigline; next }
        infn && /^\}/ {
            infn = 0; len = FNR - start + 1
            sub(/\(.*/, "", name); sub(/.*[ \t*]/, "", name)
            if (len > max) printf "%s:%d: %s() %d lines\n", FILENAME, start, name, len
            sig = 0
        }')
fi
if [ ${#fdirs[@]} -eq 0 ]; then
    not_ok "no function over $MAX_FUNC_LINES lines: none of ${FUNC_DIRS[*]} exists"
elif [ -z "$longf" ]; then
    ok "no function in ${fdirs[*]} over $MAX_FUNC_LINES lines"
else
    not_ok "$(wc -l <<<"$longf") functions in ${fdirs[*]} over $MAX_FUNC_LINES lines" "$longf"
fi

# --- own header first ------------------------------------------------------
badinc=""
while IFS= read -r c; do
    h=${c%.c}.h
    [ -f "$h" ] || continue
    first=$(grep -m1 -E '^[[:space:]]*#[[:space:]]*include' "$c" | sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*//; s/[[:space:]]*(\/[*/].*)?$//')
    case $first in
    "\"$h\"" | "\"$(basename "$h")\"") ;;
    *) badinc+="$c: first include is ${first:-none}, not \"$h\""$'\n' ;;
    esac
done < <(find "${dirs[@]}" -name '*.c' -not -path '*/include/uapi/*' | sort)
badinc=${badinc%$'\n'}
if [ -z "$badinc" ]; then
    ok "every product .c includes its own header first"
else
    not_ok "$(wc -l <<<"$badinc") .c files do not include their own header first" "$badinc"
fi

[ "$failures" = 0 ]
