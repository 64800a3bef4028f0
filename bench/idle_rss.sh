#!/usr/bin/env bash
# Idle memory and CPU: 20 vxmesh agents in one loopback cluster, next to 20
# serf agents in another, measured in the same run.  Each cluster lives in
# its own namespace on 127.0.0.1-20, port 7946.  After the clusters form,
# both idle for IDLE seconds (default 30); then RSS (VmRSS) and CPU time
# used during the idle window are read from /proc.
. "$(dirname "$0")/lib.sh"
N=${N:-20}
IDLE=${IDLE:-30}
command -v serf >/dev/null || { echo "serf missing: apt-get install serf" >&2; exit 1; }
b_netns "$BPFX-v"; b_netns "$BPFX-s"

VPIDS=(); SPIDS=()
for i in $(seq 1 "$N"); do
    join=(); [ "$i" -gt 1 ] && join=(--join 127.0.0.1)
    b_agent "$BPFX-v" "v$i" --bind "127.0.0.$i" --node-name "v$i" "${join[@]}" || exit 1
    VPIDS+=("${B_PIDS[-1]}")
    sj=(); [ "$i" -gt 1 ] && sj=(-join=127.0.0.1:7946)
    ip netns exec "$BPFX-s" serf agent -node="s$i" -bind="127.0.0.$i:7946" \
        -rpc-addr="127.0.0.1:$((7372 + i))" -log-level=warn "${sj[@]}" >"$BTMP/s$i.log" 2>&1 &
    B_PIDS+=("$!"); SPIDS+=("$!")
    b_wait 10 ip netns exec "$BPFX-s" serf members -rpc-addr="127.0.0.1:$((7372 + i))"
done
b_wait 60 bash -c "'$VXMESH' --socket '$BTMP/v$N.sock' members --json | jq -e '[.members[]|select(.state==\"alive\")]|length==$N'" ||
    echo "warning: vxmesh cluster did not reach $N alive" >&2
b_wait 60 bash -c "ip netns exec $BPFX-s serf members -rpc-addr=127.0.0.1:7373 -status=alive | wc -l | grep -qx $N" ||
    echo "warning: serf cluster did not reach $N alive" >&2

cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
declare -A c0
for p in "${VPIDS[@]}" "${SPIDS[@]}"; do c0[$p]=$(cpu "$p"); done
sleep "$IDLE"
hz=$(getconf CLK_TCK)
report() { # label pids...
    local label=$1 r c
    shift
    r=$(for p in "$@"; do rss "$p"; done | sort -n)
    c=$(for p in "$@"; do echo $(( $(cpu "$p") - ${c0[$p]} )); done | sort -n)
    printf '%-7s RSS KiB median %s max %s | CPU over %ss: median %s ms, max %s ms\n' "$label" \
        "$(pct 50 <<<"$r")" "$(tail -n1 <<<"$r")" "$IDLE" \
        "$(( $(pct 50 <<<"$c") * 1000 / hz ))" "$(( $(tail -n1 <<<"$c") * 1000 / hz ))"
}
echo "$N-node clusters, idle ${IDLE}s:"
report vxmesh "${VPIDS[@]}"
report serf "${SPIDS[@]}"
