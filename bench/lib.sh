# Shared bits of the benchmarks: namespaces and processes made here are
# removed on exit (by name and PID).  Traffic stays inside them.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VXMESH=$ROOT/build/vxmesh
BPFX=vxb$$
BTMP=$(mktemp -d /tmp/vxmesh-bench.XXXXXX)
B_NS=()
B_PIDS=()
[ -x "$VXMESH" ] || { echo "build first: make" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "benchmarks need root (namespaces)" >&2; exit 1; }

b_cleanup() {
    local p
    for p in "${B_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    sleep 0.3
    for p in "${B_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    for p in "${B_NS[@]}"; do ip netns del "$p" 2>/dev/null; done
    rm -rf "$BTMP"
}
trap b_cleanup EXIT
trap 'exit 130' INT TERM

b_netns() { ip netns add "$1" && B_NS+=("$1") && ip -n "$1" link set lo up; }
b_wait() { # seconds cmd...
    local end=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.05
    done
}
# b_agent NS NAME ARGS...: start an agent; its socket is $BTMP/NAME.sock
b_agent() {
    local ns=$1 name=$2
    shift 2
    ip netns exec "$ns" "$VXMESH" agent --state-dir "$BTMP/$name" --socket "$BTMP/$name.sock" \
        --log-level warn "$@" >"$BTMP/$name.log" 2>&1 &
    B_PIDS+=("$!")
    b_wait 10 "$VXMESH" --socket "$BTMP/$name.sock" status
}
bvx() { local n=$1; shift; "$VXMESH" --socket "$BTMP/$n.sock" "$@"; }
# percentile P < sorted numbers on stdin
pct() { awk -v p="$1" '{a[NR]=$1} END {if (!NR) {print "-"; exit}; i=int((NR-1)*p/100)+1; print a[i]}'; }
