#!/usr/bin/env bash
# vxmesh as Docker's network and IPAM plugin, against real dockerd 20.10.
#
#          ┌──────── netns vxt<pid>-sw: bridge br0 (underlay) ────────┐
#          └──────┬──────────────────────┬──────────────────────┬─────┘
#       192.0.2.1 │            192.0.2.2 │            192.0.2.3 │
#   ┌─────────────┴──────┐  ┌────────────┴───────┐  ┌───────────┴────────┐
#   │ h1: vxmesh agent   │  │ h2: vxmesh agent   │  │ h3: vxmesh agent   │
#   │     dockerd        │  │     dockerd        │  │     dockerd        │
#   │ containers on blue │  │ containers on blue │  │ containers on red  │
#   └────────────────────┘  └────────────────────┘  └────────────────────┘
#
# Each host runs its own dockerd (docker_lib.sh) that finds its own agent's
# plugin socket.  Shows: `docker network create -d vxmesh --ipam-driver
# vxmesh` on one host appears on the others; containers on different hosts
# ping each other; --ip; network connect/disconnect; 20 containers started
# at once per host get unique addresses and reach each other; docker rm -f
# withdraws the endpoint everywhere; dockerd and agent restarts keep the
# network working and vxmesh and Docker agreeing.  Gossip is encrypted (one
# cluster key), except that h3's agent first runs without a key: there
# `docker network create -o encrypted` is refused, naming the key.  Then an
# encrypted network (-o encrypted, frames sealed by `vxmesh encd` on UDP
# 4794): created on h1, mirrored to h2's agent and dockerd, containers on h1
# and h2 ping each other, and a capture on h1's underlay during marked
# traffic shows no marker, no VXLAN of its VNI, only 4794 (a plaintext ping
# on blue in the same capture is the control: its marker is seen).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/docker_lib.sh"

T0=$SECONDS
SW=$PFX-sw
underlay_hosts 3 || { not_ok "underlay namespaces"; finish; }
KEY=$("$VXMESH" key generate)
start_agent() { # i [extra args]
    dk_agent_start "$@" --reconcile-interval 1000 --gossip-profile local --encrypt "$KEY"
}
# The agent starts before dockerd, as the systemd unit orders it.  h3's
# first agent has no key (and so no cluster); it is restarted with one below.
if start_agent 1 && start_agent 2 --join 192.0.2.1 &&
    dk_agent_start 3 --reconcile-interval 1000 --gossip-profile local; then
    ok "three agents start with --docker (h3's without a key)"
else
    not_ok "three agents start with --docker (h3's without a key)"
    finish
fi
for i in 1 2 3; do
    if dk_start "h$i" "$PFX-h$i" "$TMP/plug-h$i"; then
        ok "dockerd of h$i answers"
    else
        not_ok "dockerd of h$i answers"
        finish
    fi
    check "h$i: image imported" dk_image_build "h$i"
done
refused_with() { # pattern command...: the command fails and says pattern
    local pat=$1 out
    shift
    if out=$("$@" 2>&1); then
        echo "succeeded: $out"
        return 1
    fi
    grep -q -- "$pat" <<<"$out" || { echo "$out"; return 1; }
}

# ---- an agent without a cluster key cannot make an encrypted network ----
check "h3 (agent without a key): docker network create -o encrypted is refused, naming the key" \
    refused_with 'no cluster key' \
    dk h3 network create -d vxmesh --ipam-driver vxmesh -o encrypted --subnet 10.33.0.0/24 nokey
check "the refused network is neither in h3's docker nor in its vxmesh" \
    bash -c "! dk h3 network inspect nokey >/dev/null 2>&1 && ! vx a3 net inspect nokey >/dev/null 2>&1"
dk h3 network rm nokey >/dev/null 2>&1 # (only if the check above failed)
kill -TERM "$AGENT_PID_a3"
wait "$AGENT_PID_a3" 2>/dev/null
if start_agent 3 --join 192.0.2.1; then
    ok "agent of h3 restarted with the key, joining h1"
else
    not_ok "agent of h3 restarted with the key, joining h1"
    finish
fi

alive_count() { vx "$1" members --json | jq '[.members[] | select(.state == "alive")] | length'; }
export -f alive_count
check "a3 sees 3 alive members" wait_for 15 bash -c "[ \"\$(alive_count a3)\" = 3 ]"
check "gossip is encrypted on all three agents" bash -c \
    'for a in a1 a2 a3; do vx $a status --json | jq -e ".cluster.encrypted == true" >/dev/null || exit 1; done'

IMG=$DK_IMAGE
cip() { # host container -> its address on network $3
    dk "$1" inspect -f "{{(index .NetworkSettings.Networks \"$3\").IPAddress}}" "$2"
}
cping() { # host container ip
    dk "$1" exec "$2" ping -c 2 -i 0.2 -W 2 "$3" >/dev/null 2>&1
}
export -f cping dk

# ---- one network, created on h1, everywhere ----
check "h1: docker network create -d vxmesh --ipam-driver vxmesh blue" \
    dk h1 network create -d vxmesh --ipam-driver vxmesh --subnet 10.30.0.0/24 blue
# Docker does not pass the name to CreateNetwork: the agent asks dockerd.
check "blue becomes a vxmesh network on h1 with that subnet" \
    wait_for 10 bash -c "[ \"\$(vx a1 net inspect blue --json | jq -r .subnet)\" = 10.30.0.0/24 ]"
for i in 2 3; do
    check "blue appears in h$i's docker network ls (mirrored)" \
        wait_for 20 bash -c "dk h$i network ls --format '{{.Name}} {{.Driver}}' | grep -qx 'blue vxmesh'"
done
check "joining blue with another subnet is refused, saying which subnet it has" \
    refused_with 'has subnet 10.30.0.0/24' \
    dk h2 network create -d vxmesh --ipam-driver vxmesh --subnet 10.31.0.0/24 \
    -o vxmesh.name=blue blue2

check "h1: run c1 on blue" dk h1 run -d --name c1 --network blue "$IMG" sleep 3600
check "h2: run c2 on blue with --ip 10.30.0.50" \
    dk h2 run -d --name c2 --network blue --ip 10.30.0.50 "$IMG" sleep 3600
C1=$(cip h1 c1 blue)
check "c1 got an address in 10.30.0.0/24 ($C1)" bash -c "[[ '$C1' == 10.30.0.* ]]"
check "c2 has exactly 10.30.0.50" bash -c "[ \"\$(dk h2 inspect -f '{{(index .NetworkSettings.Networks \"blue\").IPAddress}}' c2)\" = 10.30.0.50 ]"
check "c1 (h1) pings c2 (h2)" wait_for 10 cping h1 c1 10.30.0.50
check "c2 (h2) pings c1 (h1)" cping h2 c2 "$C1"
check "--ip of an address in use on another host is refused, saying so" \
    refused_with 'in use' dk h3 run -d --name dup --network blue --ip "$C1" "$IMG" sleep 1
dk h3 rm -f dup >/dev/null 2>&1

# ---- connect and disconnect, a second network without --subnet ----
check "h3: docker network create red (subnet picked by vxmesh)" \
    dk h3 network create -d vxmesh --ipam-driver vxmesh red
wait_for 10 vx a3 net inspect red
RED=$(vx a3 net inspect red --json | jq -r .subnet)
check "red's subnet $RED comes from the default pool" bash -c "[[ '$RED' == 10.200.* ]]"
check "h3: run c3 on red" dk h3 run -d --name c3 --network red "$IMG" sleep 3600
check "red mirrored to h1" wait_for 20 bash -c "dk h1 network ls --format '{{.Name}}' | grep -qx red"
check "h1: docker network connect red c1" dk h1 network connect red c1
C1R=$(cip h1 c1 red)
C3=$(cip h3 c3 red)
check "c1 pings c3 over red" wait_for 10 cping h1 c1 "$C3"
check "c3 pings c1's red address $C1R" cping h3 c3 "$C1R"
check "h1: docker network disconnect red c1" dk h1 network disconnect red c1
check "c3 no longer reaches c1 on red" bash -c "! cping h3 c3 $C1R"
check "h1 has one vxmesh endpoint left (c1 on blue)" \
    bash -c "[ \"\$(vx a1 ep ls --json | jq '.endpoints | length')\" = 1 ]"
check "c1 still pings c2 on blue" cping h1 c1 10.30.0.50

# ---- 20 containers at once on each of h1 and h2 ----
# `wait` with PIDs only: a bare one would wait for the dockerds too.
burst() { # host
    local h=$1 k pids=()
    for k in $(seq 1 20); do
        dk "$h" run -d --name "b$k" --network blue "$IMG" sleep 3600 >/dev/null &
        pids+=($!)
    done
    wait "${pids[@]}"
}
t=$SECONDS
burst h1 &
b1=$!
burst h2 &
wait "$b1" $!
diag "40 containers started in $((SECONDS - t)) s"
ADDRS=()
for h in h1 h2; do
    for k in $(seq 1 20); do ADDRS+=("$(cip "$h" "b$k" blue)"); done
done
n_ok=0
for x in "${ADDRS[@]}"; do [[ $x == 10.30.0.* ]] && n_ok=$((n_ok + 1)); done
check "all 40 burst containers have an address on blue ($n_ok)" [ "$n_ok" = 40 ]
check "no two containers share an address (c1, c2 and the 40)" \
    bash -c "[ \$(printf '%s\n' ${ADDRS[*]} $C1 10.30.0.50 | sort -u | wc -l) = 42 ]"
check "vxmesh agrees: every address leased once cluster-wide" \
    bash -c "[ \$( (vx a1 ep ls --json; vx a2 ep ls --json) | jq -r '.endpoints[] | select(.network == \"blue\") | .ip' | sort -u | wc -l) = 42 ]"
reach_all() { # host container addr...
    local h=$1 c=$2 x
    shift 2
    for x in "$@"; do cping "$h" "$c" "$x" || { echo "no reply from $x"; return 1; }; done
}
check "b1 on h1 reaches every burst container on h2" reach_all h1 b1 "${ADDRS[@]:20:20}"
check "b1 on h2 reaches every burst container on h1" reach_all h2 b1 "${ADDRS[@]:0:20}"

# ---- docker rm -f withdraws the endpoint everywhere ----
remote_has() { # agent ip
    vx "$1" fdb blue --json | jq -e --arg ip "$2" '.entries[] | select(.ip == $ip)' >/dev/null
}
export -f remote_has
check "h3 knows c2 (10.30.0.50) as a remote endpoint" wait_for 10 remote_has a3 10.30.0.50
check "h2: docker rm -f c2" dk h2 rm -f c2
for a in a1 a3; do
    check "$a no longer has c2's entry" wait_for 10 bash -c "! remote_has $a 10.30.0.50"
done
check "h2's vxmesh endpoints match its containers on blue (20)" \
    bash -c "[ \"\$(vx a2 ep ls --json | jq '[.endpoints[] | select(.network == \"blue\")] | length')\" = 20 ]"

# ---- dockerd restart: a --restart always container comes back ----
check "h1: run rc with --restart always" \
    dk h1 run -d --name rc --restart always --network blue "$IMG" sleep 3600
dk_restart h1 && ok "dockerd of h1 restarted" || not_ok "dockerd of h1 restarted"
check "rc is running again" \
    wait_for 60 bash -c "[ \"\$(dk h1 inspect -f '{{.State.Running}}' rc)\" = true ]"
RC=$(cip h1 rc blue)
check "b1 on h2 pings rc ($RC) after the restart" wait_for 15 cping h2 b1 "$RC"
agree() { # host agent: running containers on blue == vxmesh endpoints on blue
    local d v
    d=$(dk "$1" network inspect blue -f '{{len .Containers}}')
    v=$(vx "$2" ep ls --json | jq '[.endpoints[] | select(.network == "blue")] | length')
    [ "$d" = "$v" ] || { echo "docker $d, vxmesh $v"; return 1; }
}
check "h1: Docker and vxmesh agree after the dockerd restart" wait_for 15 agree h1 a1

# ---- agent restart ----
kill -TERM "$AGENT_PID_a2"
wait "$AGENT_PID_a2" 2>/dev/null
start_agent 2 --join 192.0.2.1 && ok "agent of h2 restarted" || not_ok "agent of h2 restarted"
# (h1's burst containers stopped with its dockerd; rc is h1's probe now.)
check "rc on h1 still pings b1 on h2 after h2's agent restart" cping h1 rc "${ADDRS[20]}"
check "h2: a new container after the agent restart" \
    dk h2 run -d --name late --network blue "$IMG" sleep 3600
check "rc on h1 pings it" wait_for 10 cping h1 rc "$(cip h2 late blue)"
check "h2: Docker and vxmesh agree after the agent restart" agree h2 a2

# ---- an encrypted network: sealed frames on UDP 4794, never VXLAN ----
T_ENC=$SECONDS
check "h1: docker network create -d vxmesh --ipam-driver vxmesh -o encrypted --subnet 10.32.0.0/24 sec" \
    dk h1 network create -d vxmesh --ipam-driver vxmesh -o encrypted --subnet 10.32.0.0/24 sec
ls_encrypted() { # agent network: `net ls --json` shows it, encrypted
    vx "$1" net ls --json | jq -e --arg n "$2" \
        '[.networks[] | select(.name == $n and .encrypted == true)] | length == 1' >/dev/null
}
export -f ls_encrypted
check "h1: vxmesh net ls --json shows sec encrypted" wait_for 10 ls_encrypted a1 sec
check "h2's agent has sec, encrypted" wait_for 20 ls_encrypted a2 sec
check "sec appears in h2's docker network ls (mirrored)" \
    wait_for 20 bash -c "dk h2 network ls --format '{{.Name}} {{.Driver}}' | grep -qx 'sec vxmesh'"
check "h2's mirrored sec has option vxmesh.encrypted=true" \
    bash -c "[ \"\$(dk h2 network inspect sec -f '{{index .Options \"vxmesh.encrypted\"}}')\" = true ]"
SEC_VNI=$(vx a1 net inspect sec --json | jq -r .vni)
BLUE_VNI=$(vx a1 net inspect blue --json | jq -r .vni)
check "sec on h1: TAP vxmt$SEC_VNI on bridge vxmb$SEC_VNI, no vxlan device" bash -c "
    [ \"\$(ip -n $PFX-h1 -j link show vxmt$SEC_VNI | jq -r '.[0].master')\" = vxmb$SEC_VNI ] &&
    [ \"\$(vx a1 net inspect sec --json | jq -r '.vxlan_dev')\" = null ]"
check "h1's agent runs its encd (pid from its pidfile)" encd_pid a1
check "h1: run s1 on sec" dk h1 run -d --name s1 --network sec "$IMG" sleep 3600
check "h2: run s2 on sec" dk h2 run -d --name s2 --network sec "$IMG" sleep 3600
S1=$(cip h1 s1 sec)
S2=$(cip h2 s2 sec)
check "s1 and s2 got addresses in 10.32.0.0/24 ($S1, $S2)" \
    bash -c "[[ '$S1' == 10.32.0.* && '$S2' == 10.32.0.* && '$S1' != '$S2' ]]"
check "s1 (h1) pings s2 (h2) over sec" wait_for 10 cping h1 s1 "$S2"
check "s2 (h2) pings s1 (h1) over sec" cping h2 s2 "$S1"

# Capture on h1's underlay while marked traffic crosses it: a ping with
# payload pattern a5 and an HTTP fetch (busybox httpd, request sent with nc:
# Debian's static busybox wget segfaults) whose path and ~90 KB body (TSO
# segments) hold $MARK on sec, a ping with pattern c3 on blue (plaintext
# VXLAN, the control).
MARK="vxmesh-sec-marker-$RUN_ID-$RANDOM"
PCAP=$TMP/sec.pcap
check "s2 serves a file named and filled with the marker (2000 lines)" dk h2 exec s2 sh -c \
    "mkdir -p /www && for i in \$(seq 2000); do echo '$MARK $MARK'; done >/www/$MARK &&
     httpd -p 8080 -h /www"
ip netns exec "$PFX-h1" timeout 60 tcpdump -Z root --immediate-mode -U -nn -i ul0 \
    -c 20000 -w "$PCAP" >"$TMP/tcpdump.log" 2>&1 &
TD_PID=$!
PIDS+=("$TD_PID")
check "tcpdump listens on h1's ul0" wait_for 10 grep -q 'listening on ul0' "$TMP/tcpdump.log"
check "s1 pings s2 with payload pattern a5 (captured)" \
    dk h1 exec s1 ping -c 5 -i 0.2 -W 2 -s 200 -p a5 "$S2"
fetched=$(dk h1 exec s1 sh -c "printf 'GET /$MARK HTTP/1.0\r\n\r\n' | timeout 10 nc $S2 8080" |
    grep -cF "$MARK $MARK")
check "s1 fetches the marker file from s2 over sec ($fetched of 2000 lines, captured)" \
    [ "$fetched" = 2000 ]
check "control: rc (h1) pings late (h2) over blue with pattern c3 (captured)" \
    dk h1 exec rc ping -c 3 -i 0.2 -W 2 -s 200 -p c3 "$(cip h2 late blue)"
sleep 0.5 # the last replies reach the capture
kill -INT "$TD_PID" 2>/dev/null
wait "$TD_PID"
td_rc=$?
for k in "${!PIDS[@]}"; do [ "${PIDS[$k]}" = "$TD_PID" ] && unset "PIDS[$k]"; done
check "tcpdump ended cleanly (rc $td_rc): $(grep captured "$TMP/tcpdump.log")" \
    bash -c "[ $td_rc = 0 ] && [ -s '$PCAP' ]"
npk() { # filter: packets of the capture it matches (one line each, inner VXLAN lines not counted)
    tcpdump -Z root -r "$PCAP" -nn "$1" 2>/dev/null | grep -c '^[0-9]'
}
N4794=$(npk 'udp port 4794')
NSEC=$(npk "udp port 4789 and (udp[12:4] >> 8) = $SEC_VNI")
NBLUE=$(npk "udp port 4789 and (udp[12:4] >> 8) = $BLUE_VNI")
diag "underlay capture: $(npk '') packets, $N4794 on UDP 4794, $NSEC VXLAN of sec (VNI $SEC_VNI), $NBLUE VXLAN of blue (VNI $BLUE_VNI)"
check "control: the capture holds blue's VXLAN with its c3 pattern in clear" \
    bash -c "[ $NBLUE -ge 6 ] && LC_ALL=C grep -qaP '\\xc3{16}' '$PCAP'"
check "sealed frames on UDP 4794 crossed the underlay ($N4794 >= 10)" [ "$N4794" -ge 10 ]
check "no UDP 4789 packet carries sec's VNI $SEC_VNI ($NSEC)" [ "$NSEC" = 0 ]
check "the a5 ping pattern appears nowhere in the capture" \
    bash -c "! LC_ALL=C grep -qaP '\\xa5{16}' '$PCAP'"
check "the marker appears nowhere in the capture" bash -c "! grep -qaF '$MARK' '$PCAP'"
diag "the encrypted network's checks took $((SECONDS - T_ENC)) s"

# ---- removal ----
for h in h1 h2 h3; do dk "$h" rm -f $(dk "$h" ps -aq) >/dev/null 2>&1; done
check "h3: docker network rm red removes it cluster-wide" dk h3 network rm red
check "red leaves h1's vxmesh and docker" \
    wait_for 20 bash -c "! vx a1 net inspect red >/dev/null 2>&1 &&
                         ! dk h1 network inspect red >/dev/null 2>&1"
check "h1: docker network rm sec removes it cluster-wide" dk h1 network rm sec
check "sec leaves h2's vxmesh and docker, and h1's TAP vxmt$SEC_VNI is gone" \
    wait_for 20 bash -c "! vx a2 net inspect sec >/dev/null 2>&1 &&
                         ! dk h2 network inspect sec >/dev/null 2>&1 &&
                         ! ip -n $PFX-h1 link show vxmt$SEC_VNI >/dev/null 2>&1"

for i in 1 2 3; do dk_stop "h$i"; done
diag "test_docker took $((SECONDS - T0)) s"
finish
