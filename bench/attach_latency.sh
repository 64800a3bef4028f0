#!/usr/bin/env bash
# Time from `vxmesh ep attach` on host A until host B can reach the new
# endpoint: B's kernel has its neighbour entry (polled every 2 ms), then one
# ping from a container on B must be answered.  Two namespace hosts on a
# veth underlay; N attaches (default 50), each timed, then detached.
# Prints p50/p99 in ms, from the start of the attach command.
#
# Why not time repeated pings alone: a ping sent before the entry exists
# leaves the prober's ARP entry INCOMPLETE, and Linux retries ARP once a
# second (retrans_time_ms), so such a timing measures the prober's ARP
# backoff, not the overlay.
#
#   h1 (192.0.2.1) ── veth ── h2 (192.0.2.2)
#   new endpoint on h1        prober container on h2 pings it
. "$(dirname "$0")/lib.sh"
N=${N:-50}

b_pair || exit 1
b_netns "$BPFX-p"
bvx a1 net create bench --subnet 10.99.0.0/16 >/dev/null
b_wait 10 bvx a2 net inspect bench || { echo "network did not replicate" >&2; exit 1; }
bvx a2 ep attach bench --netns "$BPFX-p" --ip 10.99.255.1 >/dev/null

: >"$BTMP/ms"
fails=0
for i in $(seq 1 "$N"); do
    ns=$BPFX-e$i
    b_netns "$ns"
    ip=10.99.$((i / 250)).$((i % 250 + 2))
    t0=$(date +%s%N)
    bvx a1 ep attach bench --netns "$ns" --ip "$ip" >/dev/null
    # 2 ms between looks, 5 s at most.
    for _ in $(seq 2500); do
        ip -n "$BPFX-h2" neigh show "$ip" dev vxmv1 | grep -q PERMANENT && break
        sleep 0.002
    done
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000)) >>"$BTMP/ms"
    ip netns exec "$BPFX-p" ping -c 1 -W 1 -q "$ip" >/dev/null 2>&1 || fails=$((fails + 1))
    id=$(bvx a1 ep ls --json | jq -r --arg ns "/run/netns/$ns" '.endpoints[]|select(.netns==$ns)|.id')
    bvx a1 ep detach "$id" >/dev/null
    ip netns del "$ns"
done
sort -n "$BTMP/ms" >"$BTMP/sorted"
[ -n "${KEEP:-}" ] && cp "$BTMP/sorted" "$KEEP"
echo "attach-to-ping across hosts, $N attaches: p50 $(pct 50 <"$BTMP/sorted") ms," \
    "p99 $(pct 99 <"$BTMP/sorted") ms, max $(tail -n1 "$BTMP/sorted") ms;" \
    "pings that failed right after: $fails"
