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
# b_pair [ARGS...]: hosts $BPFX-h1 and $BPFX-h2 on one veth (192.0.2.1, .2),
# agents a1 and a2 there, in one cluster; ARGS go to both agents.
b_pair() {
    local h1=$BPFX-h1 h2=$BPFX-h2
    b_netns "$h1" && b_netns "$h2" || return 1
    ip -n "$h1" link add ul0 type veth peer name ul0 netns "$h2"
    ip -n "$h1" addr add 192.0.2.1/24 dev ul0 && ip -n "$h1" link set ul0 up
    ip -n "$h2" addr add 192.0.2.2/24 dev ul0 && ip -n "$h2" link set ul0 up
    b_agent "$h1" a1 --bind 192.0.2.1 --vtep 192.0.2.1 --node-name h1 "$@" || return 1
    b_agent "$h2" a2 --bind 192.0.2.2 --vtep 192.0.2.2 --node-name h2 --join 192.0.2.1 "$@" || return 1
    b_wait 15 bash -c "'$VXMESH' --socket '$BTMP/a1.sock' members --json |
        jq -e '[.members[]|select(.state==\"alive\")]|length==2'" ||
        { echo "cluster did not form" >&2; return 1; }
}
bvx() { local n=$1; shift; "$VXMESH" --socket "$BTMP/$n.sock" "$@"; }
# percentile P < sorted numbers on stdin
pct() { awk -v p="$1" '{a[NR]=$1} END {if (!NR) {print "-"; exit}; i=int((NR-1)*p/100)+1; print a[i]}'; }
