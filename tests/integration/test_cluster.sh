#!/usr/bin/env bash
# Three hosts on one underlay switch; gossip on 7946, VXLAN on 4789.
#
#                    ┌──────── netns vxt<pid>-sw: bridge br0 ────────┐
#                    └──────┬──────────────────┬──────────────────┬──┘
#                192.0.2.1  │       192.0.2.2  │       192.0.2.3  │
#              ┌────────────┴───┐  ┌───────────┴────┐  ┌──────────┴─────┐
#              │ h1: agent      │  │ h2: agent      │  │ h3: agent      │
#              │ blue: c1 .11   │  │ blue: c2 .12   │  │ blue: c3 .13   │
#              │ red:  r1 .21   │  │ red:  r2 .22   │  │                │
#              └────────────────┘  └────────────────┘  └────────────────┘
#   blue and red both use 10.10.0.0/24: separate layer-2 segments.
#
# Shows: membership converges; a network created on h1 exists on h2 and h3;
# all-pairs ping within a network across hosts, none across networks; a
# kill -9 + restart of an agent loses no ping; a gossip partition made with
# nftables is detected and heals; a host that dies has its endpoints
# withdrawn from the others' FDB.
. "$(dirname "$0")/lib.sh"

SW=$PFX-sw
underlay_hosts 3 || { not_ok "underlay namespaces"; finish; }

start_host() { # i [extra args]
    local i=$1
    shift
    agent_start "$PFX-h$i" "a$i" --bind "192.0.2.$i" --vtep "192.0.2.$i" \
        --node-name "h$i" --reconcile-interval 1000 "$@"
}
if start_host 1 && start_host 2 --join 192.0.2.1 && start_host 3 --join 192.0.2.1; then
    ok "three agents start"
else
    not_ok "three agents start"; finish
fi

alive_count() { vx "$1" members --json | jq '[.members[] | select(.state == "alive")] | length'; }
export -f alive_count
for i in 1 2 3; do
    check "a$i sees 3 alive members" wait_for 15 bash -c "[ \"\$(alive_count a$i)\" = 3 ]"
done

check "net create blue on h1" vx a1 net create blue --subnet 10.10.0.0/24 --vni 100
check "net create red on h1 (same subnet)" vx a1 net create red --subnet 10.10.0.0/24 --vni 200
for i in 2 3; do
    check "blue and red appear on h$i" \
        wait_for 10 bash -c "[ \"\$(vx a$i net ls --json | jq -c '[.networks[].name] | sort')\" = '[\"blue\",\"red\"]' ]"
done
check "h3's copy of blue has VNI 100" \
    bash -c "[ \"\$(vx a3 net inspect blue --json | jq .vni)\" = 100 ]"

for c in c1 c2 c3 r1 r2 x1; do netns_add "$PFX-$c"; done
attach() { # agent ns net ip
    vx "$1" ep attach "$3" --netns "$2" --ip "$4" >/dev/null
}
check "attach c1 on h1" attach a1 "$PFX-c1" blue 10.10.0.11
check "attach c2 on h2" attach a2 "$PFX-c2" blue 10.10.0.12
check "attach c3 on h3" attach a3 "$PFX-c3" blue 10.10.0.13
check "attach r1 on h1" attach a1 "$PFX-r1" red 10.10.0.21
check "attach r2 on h2" attach a2 "$PFX-r2" red 10.10.0.22

remote_count() { # agent net -> remote entries in its FDB for that net
    vx "$1" fdb "$2" --json | jq '[.entries[] | select(.why == "remote endpoint")] | length'
}
export -f remote_count
check "h1 has 2 remote blue entries" wait_for 10 bash -c "[ \"\$(remote_count a1 blue)\" = 2 ]"
check "h3 has 2 remote blue entries" wait_for 10 bash -c "[ \"\$(remote_count a3 blue)\" = 2 ]"
check "h3 has 2 remote red entries (no local red endpoint)" \
    wait_for 10 bash -c "[ \"\$(remote_count a3 red)\" = 2 ]"
check "FDB entry on h1 points at h2's VTEP and port" \
    bash -c "bridge -n $PFX-h1 -j fdb show dev vxmv100 | jq -e 'any(.[]; .dst == \"192.0.2.2\")' >/dev/null"

for s in 1 2 3; do
    for d in 1 2 3; do
        [ $s = $d ] && continue
        check "blue c$s -> c$d pings across hosts" ping_ok "$PFX-c$s" "10.10.0.1$d"
    done
done
check "red r1 -> r2 pings across hosts" ping_ok "$PFX-r1" 10.10.0.22
check "blue c1 cannot reach red r2 (other network, same subnet)" ping_fails "$PFX-c1" 10.10.0.22
check "red r1 cannot reach blue c2" ping_fails "$PFX-r1" 10.10.0.12
out=$(vx a2 ep attach blue --netns "$PFX-x1" --ip 10.10.0.11 2>&1)
rc=$?
if [ $rc = 1 ] && grep -q "already in use" <<<"$out"; then
    ok "h2 refuses an address h1's endpoint holds: $out"
else
    not_ok "h2 refuses an address h1's endpoint holds (exit $rc: $out)"
fi
check "an address h2 allocates itself is none of the others'" bash -c \
    "ip=\$(vx a2 ep attach blue --netns $PFX-x1 --json | jq -r '.ip' | cut -d/ -f1) &&
     [ -n \"\$ip\" ] && ! grep -qxF \"\$ip\" <<<\$'10.10.0.11\n10.10.0.12\n10.10.0.13'"
X1=$(vx a2 ep ls --json | jq -r --arg ns "/run/netns/$PFX-x1" '.endpoints[] | select(.netns == $ns) | .id')
check "detach it again" vx a2 ep detach "$X1"
check "h1 drops it from its FDB" wait_for 10 bash -c "[ \"\$(remote_count a1 blue)\" = 2 ]"

# ---- kill -9 and restart of h2's agent: traffic across hosts keeps flowing ----
ip netns exec "$PFX-c1" ping -c 40 -i 0.1 -W 1 10.10.0.12 >"$TMP/ping.log" 2>&1 &
PING=$!
PIDS+=("$PING")
sleep 0.5
kill -9 "$AGENT_PID_a2"
wait "$AGENT_PID_a2" 2>/dev/null
if start_host 2 --join 192.0.2.1; then ok "h2's agent restarts after kill -9"; else not_ok "h2's agent restarts after kill -9"; fi
wait "$PING"
check "no ping lost across h2's agent restart (40/40)" grep -q ' 40 received' "$TMP/ping.log"
grep -E 'received' "$TMP/ping.log" | sed 's/^/# /'
check "nobody declared h2 dead during its restart" \
    bash -c "! grep -q 'member h2 .* failed' $TMP/a1/log $TMP/a3/log"
check "h2 sees 3 alive members again" wait_for 15 bash -c "[ \"\$(alive_count a2)\" = 3 ]"

# ---- partition h3 from h1/h2 (gossip and VXLAN), then heal ----
partition "$PFX-h3" 192.0.2.1 192.0.2.2
check "h1 declares h3 dead during the partition" \
    wait_for 30 bash -c "vx a1 members --json | jq -e '.members[] | select(.name == \"h3\") | .state == \"dead\"'"
check "... and withdraws h3's endpoint from its FDB" \
    wait_for 10 bash -c "[ \"\$(remote_count a1 blue)\" = 1 ]"
# Both sides change their tables while apart.
check "h3 creates network green during the partition" \
    vx a3 net create green --subnet 10.30.0.0/24 --vni 300
R2=$(vx a2 ep ls --json | jq -r '.endpoints[] | select(.network == "red") | .id')
check "h2 detaches r2 during the partition" vx a2 ep detach "$R2"
heal "$PFX-h3"
check "after healing, all three see 3 alive" \
    wait_for 60 bash -c "[ \"\$(alive_count a1)\" = 3 ] && [ \"\$(alive_count a2)\" = 3 ] && [ \"\$(alive_count a3)\" = 3 ]"
check "... h3's endpoint is back on h1" wait_for 10 bash -c "[ \"\$(remote_count a1 blue)\" = 2 ]"
check "... and c1 pings c3 again" wait_for 10 ping_ok "$PFX-c1" 10.10.0.13
check "tables reconverge: green (made on h3 while apart) exists on h1" \
    wait_for 30 vx a1 net inspect green
check "tables reconverge: h3 dropped r2 (detached on h2 while apart)" \
    wait_for 30 bash -c "[ \"\$(remote_count a3 red)\" = 1 ]"

# ---- h3 dies (agent and containers): its entries are withdrawn everywhere ----
T0=$SECONDS
kill -9 "$AGENT_PID_a3"
ip netns del "$PFX-c3"
check "h1 withdraws h3's endpoint" wait_for 30 bash -c "[ \"\$(remote_count a1 blue)\" = 1 ]"
check "h2 withdraws h3's endpoint" wait_for 30 bash -c "[ \"\$(remote_count a2 blue)\" = 1 ]"
diag "h3's entries withdrawn after ~$((SECONDS - T0)) s"
check "c1 still pings c2" ping_ok "$PFX-c1" 10.10.0.12
finish
