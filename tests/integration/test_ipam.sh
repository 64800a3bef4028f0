#!/usr/bin/env bash
# Cluster-wide IPAM on three hosts (docs/ipam.md): gossip on 7946, VXLAN on 4789.
#
#                    ┌──────── netns vxt<pid>-sw: bridge br0 ────────┐
#                    └──────┬──────────────────┬──────────────────┬──┘
#                192.0.2.1  │       192.0.2.2  │       192.0.2.3  │
#              ┌────────────┴───┐  ┌───────────┴────┐  ┌──────────┴─────┐
#              │ h1: agent      │  │ h2: agent      │  │ h3: agent      │
#              │ e1..e34        │  │ e35..e67       │  │ e68..e100      │
#              └────────────────┘  └────────────────┘  └────────────────┘
#   auto: a /24 from the default pool 10.200.0.0/16 (no --subnet)
#   load: 10.20.0.0/22, gateway 10.20.0.1; one netns per endpoint
#
# Shows: a network without --subnet gets a /24 of the default pool; 100
# concurrent attaches over three hosts all succeed with no duplicate address
# and every address inside its host's own ranges, the ownership map is the
# same everywhere; --ip is granted by its owner and refused (in use, outside,
# network, broadcast, gateway) with nothing changed; both sides of a gossip
# partition keep allocating from their own space, a specific address owned
# across the split fails clearly, and after healing there is no duplicate;
# a restarted agent keeps its addresses and ranges; `node rm` is refused for
# a live host and, once it is dead, hands its ranges to the remover.
. "$(dirname "$0")/lib.sh"
# A failing `vx` must fail `vx ... | jq -e` (jq -e on empty input exits 0).
set -o pipefail

SW=$PFX-sw
underlay_hosts 3 || { not_ok "underlay namespaces"; finish; }

start_host() { # i [extra args]
    local i=$1
    shift
    agent_start "$PFX-h$i" "a$i" --bind "192.0.2.$i" --vtep "192.0.2.$i" \
        --node-name "h$i" --gossip-profile local "$@"
}
if start_host 1 && start_host 2 --join 192.0.2.1 && start_host 3 --join 192.0.2.1; then
    ok "three agents start"
else
    not_ok "three agents start"; finish
fi

member_state() { # agent name
    vx "$1" members --json | jq -r --arg n "$2" '.members[] | select(.name == $n) | .state'
}
alive_count() { vx "$1" members --json | jq '[.members[] | select(.state == "alive")] | length'; }
all_alive() { [ "$(alive_count a1)" = 3 ] && [ "$(alive_count a2)" = 3 ] && [ "$(alive_count a3)" = 3 ]; }
check "all three see 3 alive members" wait_for 20 all_alive
ID1=$(vx a1 status --json | jq -r .node.id)
ID2=$(vx a2 status --json | jq -r .node.id)
ID3=$(vx a3 status --json | jq -r .node.id)

# jq helpers: dotted quad to integer, and back.
JQDEF='def ipn: split(".") | map(tonumber) | .[0] * 16777216 + .[1] * 65536 + .[2] * 256 + .[3];
def ips: [(. / 16777216 | floor), (. / 65536 | floor) % 256, (. / 256 | floor) % 256, . % 256]
         | map(tostring) | join(".");'

# ---- 1. a network from the default pool, and the load network ----
check "net create auto on h1 without --subnet" vx a1 net create auto
AUTO=$(vx a1 net inspect auto --json | jq -r .subnet)
in_default_pool() {
    jq -en --arg s "$AUTO" "$JQDEF"'($s | split("/")) as [$a, $l] | ($l == "24") and
        ($a | ipn) >= ("10.200.0.0" | ipn) and ($a | ipn) < ("10.201.0.0" | ipn)
        and ($a | ipn) % 256 == 0'
}
check "auto got a /24 inside 10.200.0.0/16 ($AUTO)" in_default_pool
check "h2 and h3 see auto with the same subnet" wait_for 10 bash -c \
    "[ \"\$(vx a2 net inspect auto --json | jq -r .subnet)\" = '$AUTO' ] &&
     [ \"\$(vx a3 net inspect auto --json | jq -r .subnet)\" = '$AUTO' ]"
auto_h1() {
    vx a1 ipam auto --json | jq -e --arg id "$ID1" '[.ranges[].owner] == [$id] and .local.owned == 254'
}
check "auto's whole space belongs to h1" auto_h1
check "net create load 10.20.0.0/22 --gateway 10.20.0.1 on h1" \
    vx a1 net create load --subnet 10.20.0.0/22 --gateway 10.20.0.1
check "h2 and h3 see load" wait_for 10 bash -c "vx a2 net inspect load && vx a3 net inspect load"

# ranges AGENT: the ownership map of load as compact JSON [[start,end,owner]...]
ranges() { vx "$1" ipam load --json | jq -c '[.ranges[] | [.start, .end, .owner]]'; }
same_ranges() {
    local r1 r2 r3
    r1=$(ranges a1) && r2=$(ranges a2) && r3=$(ranges a3) && [ "$r1" = "$r2" ] && [ "$r2" = "$r3" ]
}
# ep_ips AGENT...: the addresses of load's endpoints on these hosts, one a line
ep_ips() {
    local a
    for a in "$@"; do
        vx "$a" ep ls --json | jq -r '.endpoints[] | select(.network == "load") | .ip' | cut -d/ -f1
    done
}
# no_dups AGENT...: ep ls works on each host and no address appears twice
no_dups() {
    local a all
    for a in "$@"; do vx "$a" ep ls >/dev/null || return 1; done
    all=$(ep_ips "$@")
    if [ -n "$(sort <<<"$all" | uniq -d)" ]; then
        echo "duplicates: $(sort <<<"$all" | uniq -d | tr '\n' ' ')"
        return 1
    fi
}
# own_space AGENT ID [MAP_AGENT]: every load endpoint of AGENT lies in a range
# that MAP_AGENT's view (default AGENT's) gives to ID.
own_space() {
    local map
    map=$(vx "${3:-$1}" ipam load --json | jq -c .ranges) || return 1
    vx "$1" ep ls --json | jq -e --argjson map "$map" --arg id "$2" "$JQDEF"'
        [.endpoints[] | select(.network == "load") | .ip | split("/")[0] | ipn] | all(.[];
        . as $x | any($map[]; .owner == $id and (.start | ipn) <= $x and $x <= (.end | ipn)))'
}
# ep_ns_ip AGENT N: "netns ip" of the N-th (0-based) load endpoint of AGENT
ep_ns_ip() {
    vx "$1" ep ls --json | jq -r --argjson n "$2" \
        '[.endpoints[] | select(.network == "load")] | sort_by(.id) | .[$n] |
         "\(.netns | ltrimstr("/run/netns/")) \(.ip | split("/")[0])"'
}
# ping_sample: cross-host pings between endpoints 0 and 1 of each host, in
# parallel, one TAP line per pair.
ping_sample() { # label agents...
    local label=$1 s d n pids=() names=() k
    shift
    for s in "$@"; do
        for d in "$@"; do
            [ "$s" = "$d" ] && continue
            for n in 0 1; do
                read -r sns _ <<<"$(ep_ns_ip "$s" 0)"
                read -r _ dip <<<"$(ep_ns_ip "$d" "$n")"
                wait_for 5 ping_ok "$sns" "$dip" &
                pids+=("$!")
                names+=("$label: $s endpoint pings $d's $dip")
            done
        done
    done
    for k in "${!pids[@]}"; do
        if wait "${pids[$k]}"; then ok "${names[$k]}"; else not_ok "${names[$k]}"; fi
    done
}
# fdb_full TOTAL AGENT...: each host's endpoints of load plus its remote FDB
# entries make TOTAL (every endpoint of the cluster is known everywhere)
fdb_full() {
    local total=$1 a l r
    shift
    for a in "$@"; do
        l=$(vx "$a" ep ls --net load --json | jq '.endpoints | length') &&
            r=$(vx "$a" fdb load --json | jq '[.entries[] | select(.why == "remote endpoint")] | length') &&
            [ $((l + r)) = "$total" ] || return 1
    done
}
# attach_many LABEL AGENT FIRST LAST: attach netns $PFX-LABEL<i> for i in
# FIRST..LAST to load in the background; output in $TMP/att/LABEL<i>.{out,rc}
mkdir -p "$TMP/att"
ATT_PIDS=()
attach_many() {
    local label=$1 agent=$2 i
    for i in $(seq "$3" "$4"); do
        (timeout 30 "$VXMESH" --socket "$TMP/$agent/sock" ep attach load \
            --netns "$PFX-$label$i" --json >"$TMP/att/$label$i.out" 2>&1
         echo $? >"$TMP/att/$label$i.rc") &
        ATT_PIDS+=("$!")
    done
}

# ---- 2. 100 concurrent attaches: 34 on h1, 33 on h2, 33 on h3 ----
for i in $(seq 1 100); do netns_add "$PFX-e$i"; done
T0=$(date +%s%N)
attach_many e a1 1 34
attach_many e a2 35 67
attach_many e a3 68 100
wait "${ATT_PIDS[@]}"
diag "100 concurrent attaches took $((($(date +%s%N) - T0) / 1000000)) ms"
fails=0
for i in $(seq 1 100); do
    if [ "$(cat "$TMP/att/e$i.rc")" != 0 ]; then
        fails=$((fails + 1))
        diag "e$i: $(cat "$TMP/att/e$i.out")"
    fi
done
check "all 100 concurrent attaches succeed ($fails failed)" [ "$fails" = 0 ]
check "ep ls: 34 + 33 + 33 endpoints" bash -c \
    "[ \"\$(vx a1 ep ls --net load --json | jq '.endpoints | length')\" = 34 ] &&
     [ \"\$(vx a2 ep ls --net load --json | jq '.endpoints | length')\" = 33 ] &&
     [ \"\$(vx a3 ep ls --net load --json | jq '.endpoints | length')\" = 33 ]"
count_ips() { [ "$(ep_ips a1 a2 a3 | sort -u | wc -l)" = "$1" ]; }
check "100 distinct addresses cluster-wide" count_ips 100
check "no address twice cluster-wide" no_dups a1 a2 a3
no_special() {
    local all
    all=$(ep_ips a1 a2 a3) && ! grep -qxE '10\.20\.0\.0|10\.20\.3\.255|10\.20\.0\.1' <<<"$all"
}
check "no endpoint has the network, broadcast or gateway address" no_special
check "the ownership map is the same on all three hosts" wait_for 15 same_ranges
diag "ranges: $(vx a1 ipam load --json | jq -c '[.ranges[] | "\(.start)-\(.end) \(.host)"]')"
covers() {
    vx a1 ipam load --json | jq -e "$JQDEF"'[.ranges[] | [(.start | ipn), (.end | ipn)]] as $r |
        $r[0][0] == ("10.20.0.1" | ipn) and $r[-1][1] == ("10.20.3.254" | ipn) and
        all(range(1; $r | length); $r[.][0] == $r[. - 1][1] + 1)'
}
check "the map covers 10.20.0.1-10.20.3.254 without gap or overlap" covers
for i in 1 2 3; do
    id=ID$i
    check "every address of h$i is in a range h$i owns (h1's view)" own_space "a$i" "${!id}" a1
done
leased_sum() { # agent -> sum of per-node leased in its ipam view
    vx "$1" ipam load --json | jq '[.nodes[].leased // 0] | add'
}
leased_ok() { [ "$(leased_sum a1)" = 100 ] && [ "$(leased_sum a2)" = 100 ] && [ "$(leased_sum a3)" = 100 ]; }
check "vxmesh ipam on each host: leased counts sum to 100" wait_for 10 leased_ok
check "each host's own local.leased matches its endpoints (34/33/33)" bash -c \
    "[ \"\$(vx a1 ipam load --json | jq .local.leased)\" = 34 ] &&
     [ \"\$(vx a2 ipam load --json | jq .local.leased)\" = 33 ] &&
     [ \"\$(vx a3 ipam load --json | jq .local.leased)\" = 33 ]"
T0=$SECONDS
check "every host's FDB learns all 100 endpoints" wait_for 40 fdb_full 100 a1 a2 a3
diag "FDBs complete ~$((SECONDS - T0)) s after the burst"
ping_sample "after the burst" a1 a2 a3

# ---- 3. specific addresses ----
snapshot() {
    local a
    for a in a1 a2 a3; do
        ranges "$a"
        vx "$a" ep ls --json | jq -c '[.endpoints[] | {id, ip}] | sort_by(.id)'
    done
}
# free_in AGENT ID: the last address of ID's largest range in AGENT's view
# that no endpoint holds
free_in() {
    local cand used
    used=$(ep_ips a1 a2 a3 2>/dev/null)
    for cand in $(vx "$1" ipam load --json | jq -r --arg id "$2" "$JQDEF"'
            [.ranges[] | select(.owner == $id) | [(.start | ipn), (.end | ipn)]]
            | sort_by(.[0] - .[1]) | .[] | range(.[1]; .[0] - 1; -1) | ips' | head -n 50); do
        grep -qxF "$cand" <<<"$used" || { echo "$cand"; return 0; }
    done
    return 1
}
IP_H1=$(free_in a1 "$ID1")
netns_add "$PFX-s1"
check "--ip $IP_H1 (free, in h1's range) on h3 is granted" \
    vx a3 ep attach load --netns "$PFX-s1" --ip "$IP_H1"
owns_everywhere() { # id ip
    local a
    for a in a1 a2 a3; do
        vx "$a" ipam load --json | jq -e --arg id "$1" --arg ip "$2" "$JQDEF"'any(.ranges[];
            .owner == $id and (.start | ipn) <= ($ip | ipn) and ($ip | ipn) <= (.end | ipn))' ||
            return 1
    done
}
check "... h3 now owns $IP_H1 in every view" wait_for 10 owns_everywhere "$ID3" "$IP_H1"
check "... and it pings from h1" wait_for 10 ping_ok "$(ep_ns_ip a1 0 | cut -d' ' -f1)" "$IP_H1"
check "the map settles again" wait_for 15 same_ranges

LEASED_H1=$(ep_ips a1 | head -n1)
BEFORE=$(snapshot)
netns_add "$PFX-s2"
# expect_refused FRAGMENT AGENT IP: attach --ip IP must fail, with FRAGMENT
expect_refused() {
    local frag=$1 agent=$2 ip=$3 out rc
    out=$(vx "$agent" ep attach load --netns "$PFX-s2" --ip "$ip" 2>&1)
    rc=$?
    if [ "$rc" != 0 ] && grep -qi -- "$frag" <<<"$out"; then
        ok "refused: --ip $ip on $agent -> exit $rc: $(head -n1 <<<"$out")"
    else
        not_ok "refused: --ip $ip on $agent (wanted exit != 0 and '$frag', got exit $rc: $out)"
    fi
}
expect_refused "in use" a3 "$LEASED_H1"
expect_refused "in use" a2 "$LEASED_H1"
expect_refused "in use" a1 "$IP_H1"
expect_refused "outside the subnet" a3 10.21.0.7
expect_refused "outside the subnet" a3 192.0.2.9
expect_refused "reserved" a3 10.20.0.0
expect_refused "reserved" a3 10.20.3.255
expect_refused "reserved" a3 10.20.0.1
expect_refused "reserved" a1 10.20.0.1
AFTER=$(snapshot)
check "the refusals changed nothing (ranges and endpoints on all hosts)" [ "$BEFORE" = "$AFTER" ]
check "s2 got no interface" bash -c "[ \"\$(ip -n $PFX-s2 -o link | wc -l)\" = 1 ]"

# ---- 4. partition {h1} | {h2, h3} on gossip and VXLAN ----
partition "$PFX-h1" 192.0.2.2 192.0.2.3
# Dead members leave the list 15 s later (local profile), and the isolated
# side needs longer to declare the others dead: accept dead or gone.
gone() { # agent name
    local st
    st=$(vx "$1" members --json | jq -r --arg n "$2" '.members[] | select(.name == $n) | .state') &&
        [ "$st" != alive ] && [ "$st" != suspect ]
}
split_seen() { gone a1 h2 && gone a1 h3 && gone a2 h1 && gone a3 h1; }
check "the partition is detected on both sides" wait_for 40 split_seen
FREE1=$(vx a1 ipam load --json | jq .local.free)
FREE2=$(vx a2 ipam load --json | jq .local.free)
FREE3=$(vx a3 ipam load --json | jq .local.free)
diag "free before the partition attaches: h1 $FREE1, h2 $FREE2, h3 $FREE3"
for i in $(seq 1 15); do netns_add "$PFX-p$i"; done
ATT_PIDS=()
attach_many p a1 1 5
attach_many p a2 6 10
attach_many p a3 11 15
wait "${ATT_PIDS[@]}"
PSUCC=0
for h in 1 2 3; do
    fr=FREE$h succ=0 clear=1
    for i in $(seq $((h * 5 - 4)) $((h * 5))); do
        if [ "$(cat "$TMP/att/p$i.rc")" = 0 ]; then
            succ=$((succ + 1))
        elif ! grep -q "no free addresses" "$TMP/att/p$i.out"; then
            clear=0
            diag "p$i: $(cat "$TMP/att/p$i.out")"
        else
            diag "p$i refused: $(cat "$TMP/att/p$i.out")"
        fi
    done
    PSUCC=$((PSUCC + succ))
    if [ "${!fr}" -ge 5 ]; then
        check "h$h (owned ${!fr} free) attaches 5 of 5 during the partition" [ "$succ" = 5 ]
    else
        check "h$h (owned ${!fr} free): $succ of 5 attach, the others fail saying why" \
            [ "$clear" = 1 ]
    fi
done
IP_X1=$(free_in a2 "$ID1")
out=$(vx a2 ep attach load --netns "$PFX-s2" --ip "$IP_X1" 2>&1)
rc=$?
if [ $rc != 0 ] && grep -q "owned by host h1" <<<"$out" &&
    grep -qE "unreachable|did not answer" <<<"$out"; then
    ok "--ip $IP_X1 (h1's) on h2 during the partition is refused: $out"
else
    not_ok "--ip $IP_X1 (h1's) on h2 during the partition (exit $rc: $out)"
fi
check "no duplicate on the {h2, h3} side" no_dups a2 a3
heal "$PFX-h1"
check "after healing, all three see 3 alive" wait_for 60 all_alive
check "after healing, the ownership map is the same on all three" wait_for 30 same_ranges
check "after healing, $((101 + PSUCC)) distinct addresses cluster-wide" count_ips $((101 + PSUCC))
check "after healing, no address twice cluster-wide" no_dups a1 a2 a3
for i in 1 2 3; do
    id=ID$i
    check "after healing, every address of h$i is in h$i's own space" own_space "a$i" "${!id}" a1
done
check "after healing, every FDB knows all $((101 + PSUCC)) endpoints" \
    wait_for 40 fdb_full $((101 + PSUCC)) a1 a2 a3
ping_sample "after healing" a1 a2 a3
for h in 1 2 3; do
    for i in $(seq $((h * 5 - 4)) $((h * 5))); do
        [ "$(cat "$TMP/att/p$i.rc")" = 0 ] || continue
        pip=$(jq -r .ip "$TMP/att/p$i.out" | cut -d/ -f1)
        o=$((h % 3 + 1))
        check "partition-time endpoint $pip on h$h pings from h$o" \
            wait_for 5 ping_ok "$(ep_ns_ip a$o 0 | cut -d' ' -f1)" "$pip"
        break
    done
done

# ---- 5. restart h2's agent (TERM) with the same state dir ----
eps_of() { vx "$1" ep ls --json | jq -c '[.endpoints[] | [.id, .ip]] | sort'; }
own_ranges() { vx "$1" ipam load --json | jq -c --arg id "$2" '[.ranges[] | select(.owner == $id) | [.start, .end]]'; }
EPS2=$(eps_of a2)
RNG2=$(own_ranges a1 "$ID2")
kill -TERM "$AGENT_PID_a2"
for _ in $(seq 100); do kill -0 "$AGENT_PID_a2" 2>/dev/null || break; sleep 0.1; done
check "h2's agent exits on TERM" bash -c "! kill -0 $AGENT_PID_a2 2>/dev/null"
if start_host 2 --join 192.0.2.1; then ok "h2's agent restarts"; else not_ok "h2's agent restarts"; fi
check "h2 keeps its node id" bash -c "[ \"\$(vx a2 status --json | jq -r .node.id)\" = '$ID2' ]"
EPS2B=$(eps_of a2)
check "h2's endpoints and their addresses are unchanged" [ "$EPS2" = "$EPS2B" ]
RNG2B=$(own_ranges a2 "$ID2")
check "right after restart, h2's ipam shows it owning the same ranges" [ "$RNG2" = "$RNG2B" ]
[ "$RNG2" = "$RNG2B" ] || diag "before $RNG2 after $RNG2B"
check "all see 3 alive again" wait_for 30 all_alive
check "the map is the same on all three again" wait_for 15 same_ranges
same_own() { [ "$(own_ranges "$1" "$2")" = "$3" ]; }
check "h2 still owns the same ranges in h1's view" same_own a1 "$ID2" "$RNG2"
check "h2's endpoints still in its own space" own_space a2 "$ID2"
check "after h2's restart, every FDB knows all $((101 + PSUCC)) endpoints" \
    wait_for 40 fdb_full $((101 + PSUCC)) a1 a2 a3
ping_sample "after h2's restart" a1 a2

# ---- 6. node rm ----
out=$(vx a1 node rm h3 2>&1)
rc=$?
if [ $rc != 0 ] && grep -q "alive" <<<"$out"; then
    ok "node rm h3 is refused while h3 is alive: $out"
else
    not_ok "node rm h3 while h3 is alive (exit $rc: $out)"
fi
still_h3() { [ "$(own_ranges a1 "$ID3")" != '[]' ] && [ "$(member_state a1 h3)" = alive ]; }
check "... and changed nothing" still_h3
RNG3=$(vx a1 ipam load --json | jq -c --arg id "$ID3" '[.ranges[] | select(.owner == $id)]')
IPS3=$(ep_ips a3)
N3=$(wc -l <<<"$IPS3")
diag "h3 owns $(jq -c 'map("\(.start)-\(.end)")' <<<"$RNG3") and leases $N3 addresses"
kill -9 "$AGENT_PID_a3"
wait "$AGENT_PID_a3" 2>/dev/null
h3_dead() { gone a1 h3 && gone a2 h3; }
check "h1 and h2 see h3 dead" wait_for 40 h3_dead
# `node rm` comes a while after the death: by then membership has dropped
# h3 from its list, and the name must still work.
h3_forgotten() { vx a1 members --json | jq -e 'all(.members[]; .name != "h3")'; }
check "h1's member list drops h3" wait_for 30 h3_forgotten
RM_OUT=$(vx a1 node rm h3 --json 2>&1)
rc=$?
check "node rm h3 on h1 succeeds once h3 is dead (exit $rc)" [ $rc = 0 ]
diag "node rm: $(jq -c . <<<"$RM_OUT" 2>/dev/null || echo "$RM_OUT")"
released() { jq -e --argjson n "$N3" '.endpoints_released == $n' <<<"$RM_OUT"; }
check "... it reports the endpoints it released ($N3)" released
# took_over AGENT: no range is h3's, and every address h3 owned is h1's
took_over() {
    vx "$1" ipam load --json | jq -e --argjson old "$RNG3" --arg id1 "$ID1" --arg id3 "$ID3" "$JQDEF"'
        .ranges as $map | ($map | all(.[]; .owner != $id3)) and
        all($old[] | range((.start | ipn); (.end | ipn) + 1); . as $x |
            any($map[]; .owner == $id1 and (.start | ipn) <= $x and $x <= (.end | ipn)))'
}
check "h1's ipam: h3's ranges now belong to h1" took_over a1
check "h2's ipam: h3's ranges now belong to h1" wait_for 15 took_over a2
no_h3_node() { vx a1 ipam load --json | jq -e --arg id "$ID3" 'all(.nodes[]; .id != $id)'; }
check "vxmesh ipam no longer lists h3 among the owners" no_h3_node
no_h3_fdb() { vx "$1" fdb load --json | jq -e 'all(.entries[]; .dst != "192.0.2.3")'; }
check "h3's endpoints are gone from h2's FDB" wait_for 15 no_h3_fdb a2
check "h3's endpoints are gone from h1's FDB" wait_for 15 no_h3_fdb a1
A3=$(head -n1 <<<"$IPS3")
B3=$(sed -n 2p <<<"$IPS3")
netns_add "$PFX-t1"
netns_add "$PFX-t2"
netns_add "$PFX-t3"
check "h1 leases $A3 (h3's endpoint's address, in the space it took over)" \
    vx a1 ep attach load --netns "$PFX-t1" --ip "$A3"
FREE_OLD3=$(jq -r --arg used "$IPS3" "$JQDEF"'($used | split("\n")) as $u |
    [.[] | [(.start | ipn), (.end | ipn)]] | sort_by(.[0] - .[1]) | [.[] | range(.[1]; .[0] - 1; -1)
    | ips | select(. as $x | $u | index([$x]) | not)] | .[0]' <<<"$RNG3")
check "h1 leases $FREE_OLD3 (free, in what was h3's largest range)" \
    vx a1 ep attach load --netns "$PFX-t2" --ip "$FREE_OLD3"
check "h2 is granted $B3 (another of h3's old addresses) by its new owner h1" \
    vx a2 ep attach load --netns "$PFX-t3" --ip "$B3"
check "no address twice on h1 and h2" no_dups a1 a2
check "every address of h1 is in its own space" own_space a1 "$ID1"
check "every address of h2 is in its own space (h1's view)" wait_for 10 own_space a2 "$ID2" a1
check "t1 on h1 pings t3 on h2" wait_for 5 ping_ok "$PFX-t1" "$B3"
finish
