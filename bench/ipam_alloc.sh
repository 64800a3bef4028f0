#!/usr/bin/env bash
# Address allocation latency of cluster-wide IPAM, seen by the client: the
# time of POST /v1/endpoints on the control socket (curl --unix-socket,
# time_total), which includes creating the veth pair (case a is that
# baseline plus a local allocation).
#   (a) on h1, the network's creator, which owns free space   (N attaches)
#   (b) on h2 in a fresh network where it owns nothing: the first attach
#       waits for a space request to h1 and the granted entry  (NB networks)
#   (c) on h2, --ip of an address h1 owns: an address request (N attaches)
# Each endpoint is detached again right after (not timed).  Prints a table
# of p50/p99/max in ms and the number of failed calls.
#
#   h1 (192.0.2.1) ── veth ── h2 (192.0.2.2)
#   endpoints in netns c1 (on h1) and c2 (on h2), one interface each
. "$(dirname "$0")/lib.sh"
N=${N:-50}
NB=${NB:-20}

b_pair || exit 1
b_netns "$BPFX-c1"; b_netns "$BPFX-c2"
ID1=$(bvx a1 status --json | jq -r .node.id)

# post AGENT BODY: time one POST /v1/endpoints; appends ms to $BTMP/$CASE,
# counts failures in $BTMP/$CASE.fail, detaches what it made.
post() {
    local out code t id
    out=$(curl -s --max-time 30 --unix-socket "$BTMP/$1.sock" -o "$BTMP/resp" \
        -w '%{http_code} %{time_total}' -H 'Content-Type: application/json' \
        --data-binary "$2" -X POST http://vxmesh/v1/endpoints)
    read -r code t <<<"$out"
    if [ "${code:0:1}" != 2 ]; then
        echo "$CASE: HTTP $code: $(cat "$BTMP/resp")" >&2
        echo x >>"$BTMP/$CASE.fail"
        return 1
    fi
    awk -v t="$t" 'BEGIN { printf "%.2f\n", t * 1000 }' >>"$BTMP/$CASE"
    id=$(jq -r .id "$BTMP/resp")
    bvx "$1" ep detach "$id" >/dev/null
}
# owner_is AGENT NET IP ID: AGENT's view gives IP to ID
owner_is() {
    local j
    j=$(bvx "$1" ipam "$2" --json 2>/dev/null) || return 1 # (jq -e passes empty input)
    jq -e --arg ip "$3" --arg id "$4" >/dev/null '
        def ipn: split(".") | map(tonumber) | .[0] * 16777216 + .[1] * 65536 + .[2] * 256 + .[3];
        any(.ranges[]; .owner == $id and (.start | ipn) <= ($ip | ipn) and ($ip | ipn) <= (.end | ipn))' <<<"$j"
}

# (a) the creator allocates from its own space
CASE=a
bvx a1 net create bench-a --subnet 10.96.0.0/22 >/dev/null || exit 1
for i in $(seq 1 "$N"); do
    post a1 "{\"network\":\"bench-a\",\"netns\":\"$BPFX-c1\",\"ifname\":\"a$i\"}"
done

# (b) a host that owns nothing: its first attach in each fresh network
CASE=b
for k in $(seq 1 "$NB"); do
    bvx a1 net create "bench-b$k" --subnet "10.95.$k.0/24" >/dev/null || exit 1
    # Untimed: the network and its creation entry must have reached h2.
    b_wait 15 owner_is a2 "bench-b$k" "10.95.$k.1" "$ID1" ||
        { echo "bench-b$k did not replicate" >&2; exit 1; }
    post a2 "{\"network\":\"bench-b$k\",\"netns\":\"$BPFX-c2\",\"ifname\":\"b$k\"}"
    [ "$(bvx a2 ipam "bench-b$k" --json | jq .local.owned)" -gt 0 ] ||
        echo "bench-b$k: h2 owns nothing after its attach" >&2
done

# (c) a specific address that the other host owns
CASE=c
bvx a1 net create bench-c --subnet 10.94.0.0/22 >/dev/null || exit 1
b_wait 15 owner_is a2 bench-c 10.94.0.2 "$ID1" || { echo "bench-c did not replicate" >&2; exit 1; }
ip=10 # 10.94.0.10: donations take the upper half, h1 keeps the bottom
for i in $(seq 1 "$N"); do
    for _ in $(seq 20); do
        a=10.94.$((ip / 256)).$((ip % 256))
        ip=$((ip + 1))
        owner_is a2 bench-c "$a" "$ID1" && break
    done
    post a2 "{\"network\":\"bench-c\",\"netns\":\"$BPFX-c2\",\"ifname\":\"c$i\",\"ip\":\"$a\"}"
done

row() { # case label
    local n f
    sort -g "$BTMP/$1" 2>/dev/null >"$BTMP/$1.sorted"
    n=$(wc -l <"$BTMP/$1.sorted")
    f=$(cat "$BTMP/$1.fail" 2>/dev/null | wc -l)
    printf '%-46s %4s %8s %8s %8s %6s\n' "$2" "$n" "$(pct 50 <"$BTMP/$1.sorted")" \
        "$(pct 99 <"$BTMP/$1.sorted")" "$(tail -n1 "$BTMP/$1.sorted")" "$f"
}
printf '%-46s %4s %8s %8s %8s %6s\n' "POST /v1/endpoints, client-side" n "p50 ms" "p99 ms" "max ms" failed
row a "(a) creator, owns free space"
row b "(b) owns nothing: first attach, space donated"
row c "(c) --ip owned by the other host"
