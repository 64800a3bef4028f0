#!/usr/bin/env bash
# Time until a dead host's endpoints are withdrawn everywhere, and false
# deaths, with 1 % packet loss on every host's underlay (nftables numgen).
# HOSTS namespace hosts (default 5) on one switch, one endpoint each; ROUNDS
# times (default 5): kill -9 the last host's agent and time until every
# other host's FDB has dropped its endpoint; then restart it and wait until
# it is back everywhere.  False deaths: "failed" events about hosts that
# were never killed, in every agent's log.
#
#       switch ── h1 .. hN (192.0.2.N), each dropping 1 % of its packets in and out
. "$(dirname "$0")/lib.sh"
HOSTS=${HOSTS:-5}
ROUNDS=${ROUNDS:-5}
LOSS=${LOSS:-1}

b_netns "$BPFX-sw"
ip -n "$BPFX-sw" link add br0 type bridge && ip -n "$BPFX-sw" link set br0 up
for i in $(seq "$HOSTS"); do
    h=$BPFX-h$i
    b_netns "$h"
    ip link add "$BPFX-u$i" type veth peer name ul0 netns "$h"
    ip link set "$BPFX-u$i" netns "$BPFX-sw"
    ip -n "$BPFX-sw" link set "$BPFX-u$i" master br0 up
    ip -n "$h" addr add "192.0.2.$i/24" dev ul0 && ip -n "$h" link set ul0 up
    ip netns exec "$h" nft -f - <<NFT
table inet vxbloss {
    chain in { type filter hook input priority 0; policy accept; numgen random mod 100 < $LOSS drop; }
    chain out { type filter hook output priority 0; policy accept; numgen random mod 100 < $LOSS drop; }
}
NFT
done
start() { # i
    local join=()
    [ "$1" -gt 1 ] && join=(--join 192.0.2.1)
    b_agent "$BPFX-h$1" "a$1" --bind "192.0.2.$1" --vtep "192.0.2.$1" --node-name "h$1" \
        --log-level info --gossip-profile "${PROFILE:-lan}" "${join[@]}"
}
for i in $(seq "$HOSTS"); do start "$i" || exit 1; done
alive() { bvx "$1" members --json | jq '[.members[] | select(.state == "alive")] | length'; }
b_wait 30 bash -c "[ \"\$('$VXMESH' --socket '$BTMP/a1.sock' members --json | jq '[.members[]|select(.state==\"alive\")]|length')\" = $HOSTS ]" ||
    { echo "cluster did not form" >&2; exit 1; }
bvx a1 net create fd --subnet 10.98.0.0/16 >/dev/null
for i in $(seq "$HOSTS"); do
    b_wait 10 bvx "a$i" net inspect fd || exit 1
    b_netns "$BPFX-c$i"
    bvx "a$i" ep attach fd --netns "$BPFX-c$i" --ip "10.98.0.$i" >/dev/null
done
remote() { bvx "$1" fdb fd --json | jq '[.entries[] | select(.why == "remote endpoint")] | length'; }
K=$HOSTS
: >"$BTMP/t"
for r in $(seq "$ROUNDS"); do
    for i in $(seq $((HOSTS - 1))); do
        b_wait 60 bash -c "[ \"\$('$VXMESH' --socket '$BTMP/a$i.sock' fdb fd --json | jq '[.entries[]|select(.why==\"remote endpoint\")]|length')\" = $((HOSTS - 1)) ]" ||
            echo "round $r: h$i lacks entries before the kill" >&2
    done
    pid=$(pgrep -f "state-dir $BTMP/a$K( |$)" | head -1)
    t0=$(date +%s%N)
    kill -9 "$pid"
    for i in $(seq $((HOSTS - 1))); do
        b_wait 60 bash -c "[ \"\$('$VXMESH' --socket '$BTMP/a$i.sock' fdb fd --json | jq '[.entries[]|select(.why==\"remote endpoint\")]|length')\" = $((HOSTS - 2)) ]"
    done
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000)) >>"$BTMP/t"
    start "$K" >/dev/null || exit 1
done
sort -n "$BTMP/t" >"$BTMP/ts"
false_deaths=0
for i in $(seq $((HOSTS - 1))); do
    n=$(grep -E "member h[0-9]+ .* failed" "$BTMP/a$i.log" | grep -vc "member h$K ")
    false_deaths=$((false_deaths + n))
done
echo "$HOSTS hosts, ${LOSS}% loss, profile ${PROFILE:-lan}, $ROUNDS kills: withdrawn everywhere after" \
    "median $(pct 50 <"$BTMP/ts") ms, max $(tail -n1 "$BTMP/ts") ms; false deaths: $false_deaths"
