#!/usr/bin/env bash
# Admission on the VXLAN port: only members' VTEPs may send to UDP 4789.
#
#   ┌──────────────────────── netns vxt<pid>-sw: bridge br0 ────────────────────────┐
#   └──────┬───────────────┬───────────────┬───────────────┬───────────────────┬────┘
#  192.0.2.1│     192.0.2.2 │     192.0.2.3 │     192.0.2.4 │        192.0.2.66 │
#   ┌──────┴─────┐  ┌──────┴─────┐  ┌──────┴─────┐  ┌──────┴─────┐  ┌──────────┴─────┐
#   │ h1: agent  │  │ h2: agent  │  │ h3: agent  │  │ h4: agent  │  │ r: rogue host  │
#   │ blue: c1   │  │ blue: c2   │  │ (kill -9,  │  │ joins late │  │ no agent, no   │
#   │  10.10.0.11│  │  10.10.0.12│  │  netns     │  │ blue: c4   │  │ key: forges    │
#   │ green: g1  │  │  sender    │  │  kept;     │  │  10.10.0.14│  │ VXLAN frames   │
#   │  10.20.0.11│  │            │  │  restarted)│  │            │  │                │
#   └────────────┘  └────────────┘  └────────────┘  └────────────┘  └────────────────┘
#   gossip encrypted (one key) on 7946; blue = VNI 100, 10.10.0.0/24, port
#   4789; green = VNI 200, 10.20.0.0/24, port 4790; listeners on UDP P in c1, g1.
#   Forged frame, to 192.0.2.1:4789: VXLAN(flags 0x08, blue's VNI) | Ethernet
#   c1's MAC <- 02:66:66:66:66:66 | IPv4 10.10.0.66 -> 10.10.0.11 | UDP -> P |
#   "VXMESH-MARK:<round>:forged:<seq>" (tests/integration/vxforge.py).
#
# Shows (each numbered check reports on its own):
#  (1) positive control: without admission, r's 20 forged frames reach c1
#      (and g1, through port 4790);
#  (2) with admission (the default) none does, on either port, while c2's
#      markers and pings through the overlay arrive in the same window, and h1
#      counts the drops from r (/metrics and status .admission);
#  (3) a live member's address is admitted (a suspect one too, when caught),
#      once h1 declares h3 dead, frames from h3's own address are refused, and
#      when h3's agent comes back it is admitted again;
#  (4) a host joining later is admitted: its container pings c1 within 5 s of
#      h1 seeing it alive;
#  (5) --admit with a list holding r's address lets r's frames in and the drop
#      counter stops growing; without it again they are refused;
#  (6) the table outlives an agent restart (and filters while the agent is
#      down, members' traffic flowing throughout); a member that died while
#      the agent was down is refused once the restarted agent declares it
#      dead; `vxmesh cleanup` removes the table.
. "$(dirname "$0")/lib.sh"
set -o pipefail

command -v python3 >/dev/null || { not_ok "python3 is missing"; finish; }
command -v nft >/dev/null || { not_ok "nft is missing: run 'make deps'"; finish; }
FORGE=$(cd "$(dirname "$0")" && pwd)/vxforge.py
SW=$PFX-sw
R=$PFX-r
R_IP=192.0.2.66
H1_IP=192.0.2.1
C1_IP=10.10.0.11 C1_MAC=02:00:0a:0a:00:0b
C2_IP=10.10.0.12 C2_MAC=02:00:0a:0a:00:0c
C4_IP=10.10.0.14 C4_MAC=02:00:0a:0a:00:0e
G1_IP=10.20.0.11 G1_MAC=02:00:0a:14:00:0b   # green (VNI 200, port 4790) on h1
FAKE_MAC=02:66:66:66:66:66 FAKE_IP=10.10.0.66
P=5555   # the marker port in c1
N=20     # forged frames per round
KEY=$(head -c 32 /dev/urandom | base64)

underlay_hosts 4 || { not_ok "underlay namespaces"; finish; }
# The rogue host: on the same switch, no agent, no key.
netns_add "$R" && ip link add "vxt$RUN_ID-ur" type veth peer name ul0 netns "$R" &&
    ip link set "vxt$RUN_ID-ur" netns "$SW" && ip -n "$SW" link set "vxt$RUN_ID-ur" master br0 up &&
    ip -n "$R" addr add "$R_IP/24" dev ul0 && ip -n "$R" link set ul0 up ||
    { not_ok "rogue host namespace"; finish; }

start_host() { # i [extra args]
    local i=$1
    shift
    agent_start "$PFX-h$i" "a$i" --bind "192.0.2.$i" --vtep "192.0.2.$i" \
        --node-name "h$i" --reconcile-interval 1000 --encrypt "$KEY" "$@"
}
stop_host() { # i: SIGTERM, and wait until it is gone
    local pid
    pid=$(eval echo "\$AGENT_PID_a$1")
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}
state_of() { vx "$1" members --json | jq -r --arg n "$2" '.members[] | select(.name == $n) | .state'; }
alive_count() { vx "$1" members --json | jq '[.members[] | select(.state == "alive")] | length'; }
# dropped_metric AGENT SOURCE: the agent's drop counter for SOURCE (0 if absent).
dropped_metric() {
    api "$1" GET /metrics | awk -v want="vxmesh_admission_dropped_packets_total{source=\"$2\"}" \
        '$1 == want { v = $2 } END { print v == "" ? 0 : v }'
}
# dropped_status AGENT SOURCE: the same from `status --json` .admission.dropped.
dropped_status() {
    vx "$1" status --json |
        jq --arg s "$2" '[.admission.dropped[]? | select(.source == $s) | .packets] | add // 0'
}
ge() { [ "$(dropped_metric "$1" "$2")" -ge "$3" ] 2>/dev/null; }
ge_status() { [ "$(dropped_status "$1" "$2")" -ge "$3" ] 2>/dev/null; }
table_in() { ip netns exec "$1" nft list table ip vxmesh_admit; }
# restart_h1 [extra args]: a restarted h1 rejoins through h2 (the others do not
# probe a member once it is dead).
restart_h1() { start_host 1 --join 192.0.2.2 "$@"; }
# h1_back: the others see h1 alive again and c2 reaches c1 through the overlay.
h1_back() {
    wait_for 15 bash -c "[ \"\$(state_of a2 h1)\" = alive ] && [ \"\$(state_of a1 h2)\" = alive ]" &&
        wait_for 10 ping_ok "$PFX-c2" "$C1_IP"
}
export -f state_of alive_count

# forge_round TAG FROM_NS MEMBERS [SECONDS] [INTERVAL]: a listener in c1 on P
# for SECONDS (3); FROM_NS forges N frames to h1's 4789, INTERVAL (0.05 s)
# apart; with MEMBERS=1, c2 sends N markers through the overlay meanwhile.
# The listener's {"forged", "member"} counts land in $TMP/round-TAG.json.
# Another target: DST_NS, DST_IP, DST_MAC, DST_VNI, DST_PORT in the environment.
forge_round() {
    local tag=$1 from=$2 members=$3 secs=${4:-5} gap=${5:-0.05} out=$TMP/round-$1 lp fp
    local ns=${DST_NS:-$PFX-c1} ip=${DST_IP:-$C1_IP} mac=${DST_MAC:-$C1_MAC}
    local vni=${DST_VNI:-$VNI} port=${DST_PORT:-4789}
    rm -f "$out.ready" "$out.json"
    ip netns exec "$ns" python3 "$FORGE" listen "$P" "$secs" "$tag" "$out.ready" \
        >"$out.json" 2>"$out.err" &
    lp=$!
    PIDS+=("$lp")
    if ! wait_for 3 test -e "$out.ready"; then
        diag "round $tag: the listener did not start: $(cat "$out.err")"
        kill "$lp" 2>/dev/null
        wait "$lp" 2>/dev/null
        return 1
    fi
    ip netns exec "$from" python3 "$FORGE" forge "$H1_IP:$port" "$vni" "$mac" "$FAKE_MAC" \
        "$FAKE_IP" "$ip" "$P" "$tag" "$N" "$gap" 2>>"$out.err" &
    fp=$!
    PIDS+=("$fp")
    [ "$members" = 1 ] &&
        ip netns exec "$PFX-c2" python3 "$FORGE" send "$C1_IP" "$P" "$tag" "$N" "$gap" 2>>"$out.err"
    wait "$fp"
    wait "$lp"
    diag "round $tag, forged from ${from#"$PFX-"} to ${ns#"$PFX-"} via $H1_IP:$port: $(cat "$out.json" 2>/dev/null) (sent: $N forged, $([ "$members" = 1 ] && echo "$N" || echo 0) member)"
}
# got TAG KIND COUNT: the round's listener counted exactly COUNT markers of KIND.
got() {
    local v
    v=$(jq -r ".$2" "$TMP/round-$1.json" 2>/dev/null)
    [ "$v" = "$3" ] || { echo "round $1: $2 = ${v:-no result} (want $3); $(cat "$TMP/round-$1.err" 2>/dev/null)"; return 1; }
}

# ---- setup: three members with encrypted gossip, blue with c1 and c2 ----
if "$VXMESH" agent --help 2>&1 | grep -q -- --no-admission; then
    HAVE_ADMISSION=1
    A1_OFF=(--no-admission)
else
    HAVE_ADMISSION=0
    A1_OFF=()
    diag "this agent has no --no-admission option: no admission code, the control runs as it is"
fi
if start_host 1 "${A1_OFF[@]}" && start_host 2 --join "$H1_IP" && start_host 3 --join "$H1_IP"; then
    ok "three agents start (encrypted gossip)"
else
    not_ok "three agents start (encrypted gossip)"; finish
fi
for i in 1 2 3; do
    check "a$i sees 3 alive members" wait_for 15 bash -c "[ \"\$(alive_count a$i)\" = 3 ]"
done
check "gossip is encrypted" bash -c "vx a1 status --json | jq -e '.cluster.encrypted == true'"
check "net create blue on h1" vx a1 net create blue --subnet 10.10.0.0/24 --vni 100
VNI=$(vx a1 net inspect blue --json | jq -r .vni)
check "blue's VNI from net inspect: $VNI" test "$VNI" = 100
check "net create green on h1, VNI 200 on a second VXLAN port, 4790" \
    vx a1 net create green --subnet 10.20.0.0/24 --vni 200 --port 4790
for c in c1 c2 c4 g1; do netns_add "$PFX-$c"; done
check "attach c1 on h1 ($C1_IP, $C1_MAC)" \
    vx a1 ep attach blue --netns "$PFX-c1" --ip "$C1_IP" --mac "$C1_MAC"
check "attach g1 on h1 to green ($G1_IP, $G1_MAC)" \
    vx a1 ep attach green --netns "$PFX-g1" --ip "$G1_IP" --mac "$G1_MAC"
check "blue appears on h2" wait_for 10 vx a2 net inspect blue
check "attach c2 on h2 ($C2_IP, $C2_MAC)" \
    vx a2 ep attach blue --netns "$PFX-c2" --ip "$C2_IP" --mac "$C2_MAC"
check "c2 pings c1 across hosts" wait_for 10 ping_ok "$PFX-c2" "$C1_IP"

# ---- (1) positive control: the forged frames do get in without admission ----
forge_round ctl "$R" 1
check "(1) control: all $N forged frames from r reach c1 without admission" got ctl forged "$N"
check "(1) control: c2's $N markers through the overlay reach c1" got ctl member "$N"
green() { DST_NS=$PFX-g1 DST_IP=$G1_IP DST_MAC=$G1_MAC DST_VNI=200 DST_PORT=4790 forge_round "$@"; }
green gctl "$R" 0
check "(1) control: all $N forged frames from r to port 4790 reach g1 on green" got gctl forged "$N"
if [ "$HAVE_ADMISSION" = 1 ]; then
    check "(1) --no-admission: status .admission.enabled is false" \
        bash -c "vx a1 status --json | jq -e '.admission.enabled == false'"
    check "(1) --no-admission: the agent warns about it" \
        grep -iE 'warn.*admission|admission.*warn' "$TMP/a1/log"
fi

# ---- (2) admission on (the default): r is refused, members are not ----
stop_host 1
if restart_h1; then ok "(2) h1's agent restarts with the default (admission on)"; else not_ok "(2) h1's agent restarts with the default (admission on)"; fi
check "(2) h1 sees 3 alive members again" wait_for 15 bash -c "[ \"\$(alive_count a1)\" = 3 ]"
check "(2) h1 is back: h2 sees it alive, c2 pings c1" h1_back
check "(2) status .admission: enabled, ports has 4789 and 4790, sources >= 2" bash -c \
    "vx a1 status --json | jq -e '.admission.enabled == true and (.admission.ports | index(4789)) != null and (.admission.ports | index(4790)) != null and .admission.sources >= 2'"
check "(2) table ip vxmesh_admit exists in h1's namespace" table_in "$PFX-h1"
forge_round adm "$R" 1
check "(2) none of r's $N forged frames reaches c1" got adm forged 0
check "(2) ... while c2's $N markers through the overlay reach c1 in the same window" got adm member "$N"
check "(2) ... and c2 pings c1" ping_ok "$PFX-c2" "$C1_IP"
green gadm "$R" 0
check "(2) none of r's $N forged frames to port 4790 reaches g1 on green" got gadm forged 0
check "(2) /metrics counts >= $N drops from r ($R_IP)" wait_for 5 ge a1 "$R_IP" "$N"
check "(2) status .admission.dropped lists r with >= $N packets" wait_for 5 ge_status a1 "$R_IP" "$N"
check "(2) status .admission.dropped counts nothing from members h2, h3" bash -c \
    "vx a1 status --json | jq -e '(.admission.dropped | type == \"array\") and ([.admission.dropped[] | select(.source == \"192.0.2.2\" or .source == \"192.0.2.3\")] | length == 0)'"
diag "h1 /metrics: $(api a1 GET /metrics | grep '^vxmesh_admission' | tr '\n' ' ')"

# ---- (3) a member's address is admitted while alive (or suspect), refused once dead ----
forge_round m3 "$PFX-h3" 0
check "(3) frames from live member h3's address reach c1 ($N/$N)" got m3 forged "$N"
kill -9 "$AGENT_PID_a3"
wait "$AGENT_PID_a3" 2>/dev/null
if wait_for 30 bash -c "[ \"\$(state_of a1 h3)\" = suspect ]"; then
    forge_round sus "$PFX-h3" 0 1.5 0.02
    st=$(state_of a1 h3)
    if [ "$st" = suspect ]; then
        check "(3) frames from h3 while suspect still reach c1 ($N/$N)" got sus forged "$N"
    else
        ok "(3) frames from h3 while suspect still reach c1 # SKIP h3 became $st during the round"
    fi
else
    ok "(3) frames from h3 while suspect still reach c1 # SKIP h1 never showed h3 suspect"
fi
check "(3) h1 declares h3 dead" wait_for 60 bash -c "[ \"\$(state_of a1 h3)\" = dead ]"
forge_round dead "$PFX-h3" 1
check "(3) none of the $N frames from dead h3's own address reaches c1" got dead forged 0
check "(3) ... while c2's $N markers reach c1 in the same window" got dead member "$N"
check "(3) h1 counts >= $N drops from h3 (192.0.2.3)" wait_for 5 ge a1 192.0.2.3 "$N"
if start_host 3 --join "$H1_IP"; then ok "(3) h3's agent starts again and rejoins"; else not_ok "(3) h3's agent starts again and rejoins"; fi
check "(3) h1 sees h3 alive again" wait_for 30 bash -c "[ \"\$(state_of a1 h3)\" = alive ]"
forge_round back "$PFX-h3" 0
check "(3) h3, alive again, is admitted again ($N/$N reach c1)" got back forged "$N"

# ---- (4) a host joining later is admitted within a gossip round ----
if start_host 4 --join "$H1_IP"; then ok "(4) h4's agent starts and joins"; else not_ok "(4) h4's agent starts and joins"; fi
check "(4) blue appears on h4" wait_for 10 vx a4 net inspect blue
check "(4) attach c4 on h4 ($C4_IP)" \
    vx a4 ep attach blue --netns "$PFX-c4" --ip "$C4_IP" --mac "$C4_MAC"
if wait_for 30 bash -c "[ \"\$(state_of a1 h4)\" = alive ]"; then
    ok "(4) h1 sees h4 alive"
    t0=$(date +%s%N)
    if wait_for 5 ping_ok "$PFX-c4" "$C1_IP"; then
        ok "(4) c4 pings c1 within 5 s of h1 seeing h4 alive ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
    else
        not_ok "(4) c4 pings c1 within 5 s of h1 seeing h4 alive"
        diag "h1's table: $(table_in "$PFX-h1" 2>&1 | tr -s ' \n' ' ')"
    fi
    check "(4) c1 pings c4" wait_for 5 ping_ok "$PFX-c1" "$C4_IP"
else
    not_ok "(4) h1 sees h4 alive"
    not_ok "(4) c4 pings c1 within 5 s of h1 seeing h4 alive (not run)"
    not_ok "(4) c1 pings c4 (not run)"
fi

# ---- (5) --admit CIDR lets r in; the drop counter stops growing ----
stop_host 1
if restart_h1 --admit "198.51.100.0/24,$R_IP/32"; then
    ok "(5) h1's agent restarts with --admit 198.51.100.0/24,$R_IP/32"
    check "(5) h1 is back: h2 sees it alive, c2 pings c1" h1_back
    check "(5) status .admission.enabled is true with --admit" \
        bash -c "vx a1 status --json | jq -e '.admission.enabled == true'"
    d0=$(dropped_metric a1 "$R_IP") s0=$(dropped_status a1 "$R_IP")
    forge_round admit "$R" 1
    check "(5) all $N forged frames from r reach c1 with --admit" got admit forged "$N"
    check "(5) ... c2's $N markers too" got admit member "$N"
    d1=$(dropped_metric a1 "$R_IP") s1=$(dropped_status a1 "$R_IP")
    check "(5) r's drop counter stops growing (/metrics $d0 -> $d1, status $s0 -> $s1)" \
        test "$d0" = "$d1" -a "$s0" = "$s1"
else
    not_ok "(5) h1's agent restarts with --admit 198.51.100.0/24,$R_IP/32"
    for d in "status .admission.enabled is true with --admit" \
        "all $N forged frames from r reach c1 with --admit" "r's drop counter stops growing"; do
        not_ok "(5) $d (not run: no agent)"
    done
fi
stop_host 1
if restart_h1; then ok "(5) h1's agent restarts without --admit"; else not_ok "(5) h1's agent restarts without --admit"; fi
check "(5) h1 is back: h2 sees it alive, c2 pings c1" h1_back
d0=$(dropped_metric a1 "$R_IP")
forge_round unadmit "$R" 1
check "(5) without --admit again, none of r's $N frames reaches c1" got unadmit forged 0
check "(5) ... while c2's $N markers reach c1" got unadmit member "$N"
check "(5) ... and r's drop counter grows again by >= $N (from $d0)" \
    wait_for 5 ge a1 "$R_IP" $((d0 + N))

# ---- (6) the table outlives the agent; `vxmesh cleanup` removes it ----
check "(6) h1 sees h2 and h4 alive before the restart" wait_for 15 bash -c \
    "[ \"\$(state_of a1 h2)\" = alive ] && [ \"\$(state_of a1 h4)\" = alive ]"
ip netns exec "$PFX-c2" ping -c 60 -i 0.1 -W 1 "$C1_IP" >"$TMP/ping.log" 2>&1 &
PING=$!
PIDS+=("$PING")
sleep 0.5
stop_host 1
# h3 dies while h1's agent is down: the restarted agent must refuse it once
# it declares it dead, whatever the table held when it started.
kill -9 "$AGENT_PID_a3"
wait "$AGENT_PID_a3" 2>/dev/null
check "(6) table ip vxmesh_admit is still in h1's namespace while the agent is down" \
    table_in "$PFX-h1"
forge_round down "$R" 1 2 0.02
check "(6) while the agent is down, none of r's $N frames reaches c1" got down forged 0
check "(6) ... and c2's $N markers reach c1" got down member "$N"
if restart_h1; then ok "(6) h1's agent starts again"; else not_ok "(6) h1's agent starts again"; fi
t_up=$(date +%s%N)
wait "$PING"
check "(6) no ping c2 -> c1 lost across h1's agent restart (60/60)" grep -q ' 60 received' "$TMP/ping.log"
grep -E 'received' "$TMP/ping.log" | sed 's/^/# /'
check "(6) table ip vxmesh_admit is there after the restart" table_in "$PFX-h1"
check "(6) status .admission.enabled after the restart" \
    bash -c "vx a1 status --json | jq -e '.admission.enabled == true'"
# A member dead before h1 (re)joins may be listed as dead or not at all
# (memberlist merges a remote "dead" as a suspicion, of a node it knows).
not_member() { # agent name: neither alive nor suspect there
    local st
    st=$(state_of "$1" "$2") && [ "$st" != alive ] && [ "$st" != suspect ]
}
export -f not_member
check "(6) h2 declares h3 (killed while h1's agent was down) dead" \
    wait_for 60 bash -c "[ \"\$(state_of a2 h3)\" = dead ]"
check "(6) the restarted h1 sees h2 and h4 alive, h3 neither alive nor suspect" \
    wait_for 30 bash -c "[ \"\$(state_of a1 h2)\" = alive ] && [ \"\$(state_of a1 h4)\" = alive ] && not_member a1 h3"
st=$(state_of a1 h3)
diag "h1's view of h3: ${st:-not listed}, $(( ($(date +%s%N) - t_up) / 1000000 )) ms after h1's agent was up"
diag "h1's admitted sources: $(ip netns exec "$PFX-h1" nft -j list set ip vxmesh_admit members | jq -c '[.nftables[] | .set? // empty | .elem[]?]') (status .admission.sources $(vx a1 status --json | jq .admission.sources))"
forge_round dead6 "$PFX-h3" 1
check "(6) none of the $N frames from h3's address, no member to the restarted h1, reaches c1" got dead6 forged 0
check "(6) ... while c2's $N markers reach c1" got dead6 member "$N"
# Again once 35 s have passed since h1's agent started (past any start-up grace).
wait_for 40 bash -c "[ \$(( (\$(date +%s%N) - $t_up) / 1000000000 )) -ge 35 ]"
forge_round dead6b "$PFX-h3" 0
check "(6) ... nor 35 s after the restart" got dead6b forged 0
stop_host 1
if table_in "$PFX-h1" >/dev/null 2>&1; then
    ok "(6) the table is still there once the agent has stopped again"
    check "(6) vxmesh cleanup (agent stopped) succeeds" \
        ip netns exec "$PFX-h1" "$VXMESH" --socket "$TMP/a1/sock" cleanup
    check "(6) ... and table ip vxmesh_admit is gone" bash -c "! ip netns exec $PFX-h1 nft list table ip vxmesh_admit"
else
    not_ok "(6) the table is still there once the agent has stopped again"
    check "(6) vxmesh cleanup (agent stopped) succeeds" \
        ip netns exec "$PFX-h1" "$VXMESH" --socket "$TMP/a1/sock" cleanup
    not_ok "(6) ... and table ip vxmesh_admit is gone (not meaningful: no table before cleanup)"
fi
finish
