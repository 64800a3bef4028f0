#!/usr/bin/env bash
# vxmesh demo: one host (a network namespace) running the agent, two overlay
# networks that even share a subnet, and three "containers" (namespaces).
#
#   ┌─────────────── host: netns vxdemo-host ───────────────┐
#   │  vxmesh agent   (socket /tmp/vxmesh-demo/vxmesh.sock)  │
#   │  blue: vxmb100 ── vxmv100    red: vxmb200 ── vxmv200   │
#   └────────┬──────────┬─────────────────┬──────────────────┘
#        vxdemo-c1  vxdemo-c2         vxdemo-c3
#        10.10.0.x  10.10.0.x         10.10.0.30 (red)
#
# Usage: scripts/demo.sh          set up, show, leave running
#        scripts/demo.sh clean    stop the agent, remove everything
set -eu
cd "$(dirname "$0")/.."
VXMESH=$PWD/build/vxmesh
DIR=/tmp/vxmesh-demo
SOCK=$DIR/vxmesh.sock
H=vxdemo-host
CTS="vxdemo-c1 vxdemo-c2 vxdemo-c3"

clean() {
    if [ -f "$DIR/agent.pid" ]; then
        kill "$(cat "$DIR/agent.pid")" 2>/dev/null || true
        sleep 0.5
    fi
    for ns in $H $CTS; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$DIR"
}
if [ "${1-}" = clean ]; then
    clean
    echo "demo removed"
    exit 0
fi

say() { printf '\n\033[1m### %s\033[0m\n' "$*"; }
run() { local shown="$*"; printf '$ %s\n' "${shown/#vx /vxmesh }"; "$@"; }
vx() { "$VXMESH" --socket "$SOCK" "$@"; }

[ "$(id -u)" = 0 ] || { echo "the demo needs root (network namespaces)" >&2; exit 1; }
clean
mkdir -p "$DIR"

say "A host namespace with an underlay interface, and three container namespaces"
ip netns add $H
ip -n $H link set lo up
ip -n $H link add ul0 type veth peer name ul0-peer   # stands in for the host's NIC
ip -n $H addr add 192.0.2.1/24 dev ul0
ip -n $H link set ul0-peer up
ip -n $H link set ul0 up
ip -n $H route add default via 192.0.2.254 dev ul0 onlink
for ns in $CTS; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
echo "host: $H (underlay ul0 192.0.2.1/24); containers: $CTS"

say "Start the agent inside the host namespace"
ip netns exec $H "$VXMESH" agent --state-dir "$DIR/state" --socket "$SOCK" \
    --reconcile-interval 1000 >"$DIR/agent.log" 2>&1 &
echo $! >"$DIR/agent.pid"
for _ in $(seq 100); do vx status >/dev/null 2>&1 && break; sleep 0.1; done
run "$VXMESH" --socket "$SOCK" status

say "Two networks; red reuses blue's subnet: they are separate layer-2 segments"
run vx net create blue --subnet 10.10.0.0/24 --vni 100
run vx net create red --subnet 10.10.0.0/24 --vni 200
run vx net ls

say "Attach the containers"
run vx ep attach blue --netns vxdemo-c1
run vx ep attach blue --netns vxdemo-c2
run vx ep attach red --netns vxdemo-c3 --ip 10.10.0.30
run vx ep ls

ip_of() { vx ep ls --json | jq -r --arg ns "/run/netns/$1" '.endpoints[] | select(.netns == $ns) | .ip' | cut -d/ -f1; }
IP2=$(ip_of vxdemo-c2)

say "Inside a container: the interface the agent made"
run ip -n vxdemo-c1 -br addr show

say "c1 -> c2 on blue: works"
run ip netns exec vxdemo-c1 ping -c 3 -i 0.2 -W 1 "$IP2"

say "c1 -> c3 (10.10.0.30, on red): fails, different network"
if ip netns exec vxdemo-c1 ping -c 2 -i 0.2 -W 1 10.10.0.30; then
    echo "UNEXPECTED: blue reached red" >&2
    exit 1
fi
echo "(no reply, as it should be)"

say "The kernel objects, as iproute2 shows them"
run ip -n $H -d link show vxmv100
run ip -n $H -br link show master vxmb100

say "FDB of the overlay devices (remote endpoints arrive with multi-host gossip)"
run vx fdb

cat <<MSG

The demo is still running. Try:
  $VXMESH --socket $SOCK net inspect blue
  $VXMESH --socket $SOCK ep ls --json
  ip netns exec vxdemo-c2 ping -c 2 $(ip_of vxdemo-c1)
  ip -n $H link del vxmv100; sleep 1.5; ip -n $H link show vxmv100   # the agent puts it back
Agent log: $DIR/agent.log.  Remove everything with: make demo-clean
MSG
