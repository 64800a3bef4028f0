# Shared helpers for namespace integration tests.  Source it; it sets up a
# per-run prefix, a TAP counter and a cleanup trap that removes every
# namespace this run created and ends the agents it started (by PID).
set -u

VXMESH=${VXMESH:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/vxmesh}
RUN_ID=${RUN_ID:-$$}
PFX="vxt${RUN_ID}"             # namespace names: vxt<pid>-<role>
TMP=$(mktemp -d "/tmp/vxmesh-test.XXXXXX")
T_N=0
T_FAILED=0
NETNSES=()
PIDS=()

[ -x "$VXMESH" ] || { echo "not ok 1 - $VXMESH is missing: run 'make' first"; exit 1; }
for tool in ip jq curl ping bridge; do
    command -v "$tool" >/dev/null ||
        { echo "not ok 1 - '$tool' is missing: run 'make deps'"; exit 1; }
done

ok() { T_N=$((T_N + 1)); echo "ok $T_N - $*"; }
not_ok() { T_N=$((T_N + 1)); T_FAILED=$((T_FAILED + 1)); echo "not ok $T_N - $*"; }
# check DESCRIPTION COMMAND...: one TAP line from a command's exit status.
# Output is shown (as TAP comments) only when the check fails.
check() {
    local d=$1 out
    shift
    if out=$("$@" 2>&1); then
        ok "$d"
    else
        not_ok "$d"
        [ -n "$out" ] && sed 's/^/#   /' <<<"$out"
    fi
    return 0
}
diag() { echo "# $*"; }

cleanup() {
    local p ns
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null
    done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        # Only while it still runs: a gone PID may already be someone else's.
        kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null
    done
    encd_stop_all
    # KEEP_LOGS=DIR keeps the agents' logs and state for a post-mortem.
    [ -n "${KEEP_LOGS-}" ] && mkdir -p "$KEEP_LOGS" && cp -r "$TMP"/. "$KEEP_LOGS"/
    for ns in "${NETNSES[@]}"; do
        ip netns del "$ns" 2>/dev/null
    done
    rm -rf "$TMP"
}

# encd_pid NAME: the PID of agent NAME's encrypted datapath (it outlives
# the agent by design), from its pidfile, when that process still is one.
encd_pid() {
    local f="$TMP/$1/sock.encd.pid" p
    [ -f "$f" ] || return 1
    p=$(cat "$f")
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q "encd --ctl $TMP/$1/sock.encd" &&
        echo "$p"
}

# Every encrypted datapath our agents started, by the PID each wrote.
encd_stop_all() {
    local f n p
    for f in "$TMP"/*/sock.encd.pid; do
        [ -f "$f" ] || continue
        n=$(basename "$(dirname "$f")")
        p=$(encd_pid "$n") || continue
        kill "$p" 2>/dev/null
        for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# netns_add NAME: call directly, not through check (subshell), so the
# cleanup trap knows the namespace.
netns_add() { # name
    ip netns add "$1" && NETNSES+=("$1") && ip -n "$1" link set lo up
}

# underlay_hosts N: namespace hosts $PFX-h1..N on one switch (namespace
# $PFX-sw, bridge br0), each with ul0 = 192.0.2.<i>/24.  Call it directly,
# not through check (the cleanup trap must know the namespaces).
underlay_hosts() {
    local n=$1 i h u
    netns_add "$PFX-sw" && ip -n "$PFX-sw" link add br0 type bridge &&
        ip -n "$PFX-sw" link set br0 up || return 1
    for i in $(seq 1 "$n"); do
        h=$PFX-h$i
        u=vxt$RUN_ID-u$i
        netns_add "$h" && ip link add "$u" type veth peer name ul0 netns "$h" &&
            ip link set "$u" netns "$PFX-sw" && ip -n "$PFX-sw" link set "$u" master br0 up &&
            ip -n "$h" addr add "192.0.2.$i/24" dev ul0 && ip -n "$h" link set ul0 up ||
            return 1
    done
}

# partition NS ADDR...: NS drops everything to and from ADDRs (gossip and
# VXLAN alike), with an nftables table of its own; heal NS removes it.
partition() {
    local ns=$1 list
    shift
    list=$(IFS=,; echo "$*")
    ip netns exec "$ns" nft -f - <<NFT
table inet vxtpart {
    chain in { type filter hook input priority 0; policy accept; ip saddr { $list } drop; }
    chain out { type filter hook output priority 0; policy accept; ip daddr { $list } drop; }
}
NFT
}
heal() { ip netns exec "$1" nft delete table inet vxtpart; }

# wait_for SECONDS COMMAND...: poll every 0.1 s until COMMAND succeeds.
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    while [ $SECONDS -lt $deadline ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    "$@" >/dev/null 2>&1
}

# agent_start HOSTNS NAME [ARGS...]: start an agent inside HOSTNS with its
# own state dir and socket under $TMP/NAME; sets AGENT_PID_<NAME>.  Call it
# directly, not through check (which runs commands in a subshell).
agent_start() {
    local ns=$1 name=$2
    shift 2
    mkdir -p "$TMP/$name"
    ip netns exec "$ns" "$VXMESH" agent --state-dir "$TMP/$name/state" \
        --socket "$TMP/$name/sock" --log-level debug "$@" >>"$TMP/$name/log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    printf -v "AGENT_PID_$name" %s "$pid"
    if ! wait_for 10 test -S "$TMP/$name/sock"; then
        diag "agent $name did not come up; its log:"
        sed 's/^/#   /' "$TMP/$name/log"
        return 1
    fi
    wait_for 5 vx "$name" status
}

# vx NAME ARGS...: the CLI against agent NAME.
vx() {
    local name=$1
    shift
    "$VXMESH" --socket "$TMP/$name/sock" "$@"
}

# api NAME METHOD PATH [BODY]: raw control API call; prints "STATUS BODY".
api() {
    local name=$1 method=$2 path=$3 body=${4-}
    curl -s --unix-socket "$TMP/$name/sock" -X "$method" -w '\n%{http_code}' \
        ${body:+-H 'Content-Type: application/json' --data-binary "$body"} \
        "http://vxmesh$path"
}

# ping_ok NS IP: three quick pings must all answer.
ping_ok() { ip netns exec "$1" ping -c 3 -i 0.2 -W 1 "$2" >/dev/null 2>&1; }
ping_fails() { ! ip netns exec "$1" ping -c 2 -i 0.2 -W 1 "$2" >/dev/null 2>&1; }

finish() {
    if [ "$T_FAILED" -gt 0 ]; then
        diag "$T_FAILED of $T_N checks failed"
        exit 1
    fi
    exit 0
}

# Functions and variables that checks run through `bash -c` need.
export VXMESH TMP
export -f vx api ping_ok ping_fails
