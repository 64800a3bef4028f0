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
# network working and vxmesh and Docker agreeing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/docker_lib.sh"

T0=$SECONDS
SW=$PFX-sw
underlay_hosts 3 || { not_ok "underlay namespaces"; finish; }
start_agent() { # i [extra args]
    dk_agent_start "$@" --reconcile-interval 1000 --gossip-profile local
}
# The agent starts before dockerd, as the systemd unit orders it.
if start_agent 1 && start_agent 2 --join 192.0.2.1 && start_agent 3 --join 192.0.2.1; then
    ok "three agents start with --docker"
else
    not_ok "three agents start with --docker"
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
alive_count() { vx "$1" members --json | jq '[.members[] | select(.state == "alive")] | length'; }
export -f alive_count
check "a3 sees 3 alive members" wait_for 15 bash -c "[ \"\$(alive_count a3)\" = 3 ]"

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
refused_with() { # pattern command...: the command fails and says pattern
    local pat=$1 out
    shift
    if out=$("$@" 2>&1); then
        echo "succeeded: $out"
        return 1
    fi
    grep -q -- "$pat" <<<"$out" || { echo "$out"; return 1; }
}
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

# ---- removal ----
for h in h1 h2 h3; do dk "$h" rm -f $(dk "$h" ps -aq) >/dev/null 2>&1; done
check "h3: docker network rm red removes it cluster-wide" dk h3 network rm red
check "red leaves h1's vxmesh and docker" \
    wait_for 20 bash -c "! vx a1 net inspect red >/dev/null 2>&1 &&
                         ! dk h1 network inspect red >/dev/null 2>&1"

for i in 1 2 3; do dk_stop "h$i"; done
diag "test_docker took $((SECONDS - T0)) s"
finish
