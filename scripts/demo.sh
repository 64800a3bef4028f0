#!/usr/bin/env bash
# vxmesh demo: three "hosts" (network namespaces) on one underlay switch,
# an encrypted gossip cluster joined with a token, two overlay networks
# that even share a subnet, and containers (namespaces) pinging across hosts;
# a third network whose subnet and addresses come from the cluster-wide IPAM;
# a rogue host on the switch (no agent, no key) whose forged VXLAN frames the
# members' admission tables drop; an encrypted network whose frames cross the
# underlay only sealed (UDP 4794, no VXLAN, a marker never seen in clear);
# then scripts/demo_docker.sh: docker network create on one host, containers
# on two hosts with their own dockerd reaching each other.
#
#                ┌──────────── vxdemo-sw: bridge br0 ────────────┐
#                └─────┬──────────────────┬──────────────────┬───┘
#          192.0.2.1   │      192.0.2.2   │      192.0.2.3   │
#         ┌────────────┴──┐  ┌────────────┴──┐  ┌────────────┴──┐
#         │ vxdemo-h1     │  │ vxdemo-h2     │  │ vxdemo-h3     │
#         │ agent         │  │ agent         │  │ agent         │
#         │ c1 blue       │  │ c2 blue       │  │ c3 red .30    │
#         └───────────────┘  └───────────────┘  └───────────────┘
#         vxdemo-rogue (192.0.2.9): on the switch too, no agent, no key
#
# Usage: scripts/demo.sh          set up, show, leave running
#        scripts/demo.sh clean    stop the agents, remove everything
set -eu
cd "$(dirname "$0")/.."
VXMESH=$PWD/build/vxmesh
DIR=/tmp/vxmesh-demo
SW=vxdemo-sw
HOSTS="vxdemo-h1 vxdemo-h2 vxdemo-h3 vxdemo-rogue"
CTS="vxdemo-c1 vxdemo-c2 vxdemo-c3"

clean() {
    local p
    # The agents, then their encrypted datapaths (which outlive agents).
    for p in "$DIR"/*.pid "$DIR"/*.sock.encd.pid; do
        [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
    done
    sleep 0.5
    for ns in $CTS $HOSTS $SW; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$DIR"
}
if [ "${1-}" = clean ]; then
    clean
    echo "demo removed"
    exit 0
fi

say() { printf '\n\033[1m### %s\033[0m\n' "$*"; }
# vx N ARGS: the CLI of host N's agent; run shows the command first.
vx() { local n=$1; shift; "$VXMESH" --socket "$DIR/h$n.sock" "$@"; }
run() { local n=$1; shift; printf '[h%s]$ vxmesh %s\n' "$n" "$*"; vx "$n" "$@"; }
start_agent() { # n [args]
    local n=$1
    shift
    ip netns exec "vxdemo-h$n" "$VXMESH" agent --state-dir "$DIR/h$n" --socket "$DIR/h$n.sock" \
        --bind "192.0.2.$n" --vtep "192.0.2.$n" --node-name "h$n" --reconcile-interval 1000 \
        "$@" >"$DIR/h$n.log" 2>&1 &
    echo $! >"$DIR/h$n.pid"
    for _ in $(seq 100); do vx "$n" status >/dev/null 2>&1 && return 0; sleep 0.1; done
    echo "agent h$n did not start; see $DIR/h$n.log" >&2
    exit 1
}

[ "$(id -u)" = 0 ] || { echo "the demo needs root (network namespaces)" >&2; exit 1; }
clean
mkdir -p "$DIR"

say "Three hosts on one underlay switch (192.0.2.0/24), and three container namespaces"
ip netns add $SW
ip -n $SW link add br0 type bridge
ip -n $SW link set br0 up
for n in 1 2 3; do
    ip netns add "vxdemo-h$n"
    ip -n "vxdemo-h$n" link set lo up
    ip link add "vxdemo-u$n" type veth peer name ul0 netns "vxdemo-h$n"
    ip link set "vxdemo-u$n" netns $SW
    ip -n $SW link set "vxdemo-u$n" master br0 up
    ip -n "vxdemo-h$n" addr add "192.0.2.$n/24" dev ul0
    ip -n "vxdemo-h$n" link set ul0 up
done
ip netns add vxdemo-rogue
ip link add vxdemo-ur type veth peer name ul0 netns vxdemo-rogue
ip link set vxdemo-ur netns $SW
ip -n $SW link set vxdemo-ur master br0 up
ip -n vxdemo-rogue addr add 192.0.2.9/24 dev ul0
ip -n vxdemo-rogue link set ul0 up
for ns in $CTS; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
echo "hosts: $HOSTS; containers: $CTS"

say "h1: start the first agent with a fresh cluster key (gossip is encrypted)"
KEY=$("$VXMESH" key generate)
echo "\$ vxmesh key generate   -> (a base64 32-byte key; kept secret)"
start_agent 1 --encrypt "$KEY"
TOKEN=$(vx 1 token 2>/dev/null)
echo "\$ vxmesh token          -> a join token (seed address + key)"

say "h2, h3: join with the token: one flag, no key handling"
start_agent 2 --join-token "$TOKEN"
start_agent 3 --join-token "$TOKEN"
for _ in $(seq 150); do
    [ "$(vx 1 members --json | jq '[.members[] | select(.state == "alive")] | length')" = 3 ] && break
    sleep 0.1
done
run 1 members

say "Two networks created on h1; red reuses blue's subnet (separate layer-2 segments)"
run 1 net create blue --subnet 10.10.0.0/24 --vni 100
run 1 net create red --subnet 10.10.0.0/24 --vni 200
for _ in $(seq 100); do vx 3 net inspect red >/dev/null 2>&1 && break; sleep 0.1; done
run 3 net ls

say "Attach one container per host"
run 1 ep attach blue --netns vxdemo-c1 --ip 10.10.0.11
run 2 ep attach blue --netns vxdemo-c2 --ip 10.10.0.12
run 3 ep attach red --netns vxdemo-c3 --ip 10.10.0.30
for _ in $(seq 100); do
    vx 1 fdb blue --json | jq -e 'any(.entries[]; .ip == "10.10.0.12")' >/dev/null && break
    sleep 0.05
done
run 1 ep ls

say "h1's kernel FDB for blue: the remote endpoint on h2, learned by gossip"
run 1 fdb blue
echo "\$ ip -n vxdemo-h1 neigh show dev vxmv100     # ARP answered locally from these"
ip -n vxdemo-h1 neigh show dev vxmv100

say "c1 (h1) -> c2 (h2) on blue, across hosts: works"
echo "\$ ip netns exec vxdemo-c1 ping -c 3 10.10.0.12"
ip netns exec vxdemo-c1 ping -c 3 -i 0.2 -W 1 10.10.0.12

say "c1 (blue) -> c3 (10.10.0.30, red on h3): fails, different network"
if ip netns exec vxdemo-c1 ping -c 2 -i 0.2 -W 1 10.10.0.30 >/dev/null; then
    echo "UNEXPECTED: blue reached red" >&2
    exit 1
fi
echo "(no reply, as it should be)"

say "Admission: the rogue host (192.0.2.9, no agent, no key) forges 20 VXLAN frames for c1"
echo "Plain VXLAN has no authentication: the kernel takes any packet to UDP 4789 with a VNI it"
echo "knows.  Each agent keeps an nftables table that admits only members' VTEP addresses."
C1MAC=$(vx 1 ep ls --net blue --json | jq -r '.endpoints[] | select(.ip | startswith("10.10.0.11/")) | .mac')
FORGE=tests/integration/vxforge.py
ip netns exec vxdemo-c1 $FORGE listen 9999 3 demo "$DIR/listening" >"$DIR/forged.json" &
CNT=$!
for _ in $(seq 50); do [ -e "$DIR/listening" ] && break; sleep 0.1; done
echo "[rogue]\$ $FORGE forge 192.0.2.1 100 $C1MAC 02:00:00:00:00:99 10.10.0.99 10.10.0.11 9999 demo 20 0.01"
ip netns exec vxdemo-rogue $FORGE forge 192.0.2.1 100 "$C1MAC" 02:00:00:00:00:99 10.10.0.99 \
    10.10.0.11 9999 demo 20 0.01
wait $CNT
FORGED=$(jq .forged "$DIR/forged.json")
echo "frames that reached c1: $FORGED"
[ "$FORGED" = 0 ] || { echo "UNEXPECTED: forged frames reached c1" >&2; exit 1; }
echo "\$ vxmesh status --json | jq .admission.dropped      # on h1"
vx 1 status --json | jq -c .admission.dropped
echo "\$ ip netns exec vxdemo-h1 nft list set ip vxmesh_admit members"
ip netns exec vxdemo-h1 nft list set ip vxmesh_admit members | tr -d '\n\t' |
    grep -o 'elements = {[^}]*}'

say "Cluster-wide IPAM: green gets a subnet from the default pool; h1 creates it and owns it"
run 1 net create green
for _ in $(seq 100); do vx 3 net inspect green >/dev/null 2>&1 && break; sleep 0.1; done
say "h2 and h3 attach without --ip: each asks an owner for space first (one round trip)"
run 2 ep attach green --netns vxdemo-c2 --name vx-green
run 3 ep attach green --netns vxdemo-c3 --name vx-green
run 1 ipam green
G3=$(vx 3 ep ls --net green --json | jq -r '.endpoints[0].ip' | cut -d/ -f1)
for _ in $(seq 100); do
    vx 2 fdb green --json | jq -e --arg ip "$G3" 'any(.entries[]; .ip == $ip)' >/dev/null && break
    sleep 0.05
done
echo "\$ ip netns exec vxdemo-c2 ping -c 3 $G3     # c2 (h2) -> c3 (h3) on green"
ip netns exec vxdemo-c2 ping -c 3 -i 0.2 -W 1 "$G3"

say "Encrypted network: sealed (AES-256-GCM, keys from the gossip keyring), no VXLAN device"
run 1 net create sealed --subnet 10.30.0.0/24 --vni 300 --encrypted
for _ in $(seq 100); do vx 2 net inspect sealed >/dev/null 2>&1 && break; sleep 0.1; done
run 1 ep attach sealed --netns vxdemo-c1 --name vx-sealed --ip 10.30.0.11
run 2 ep attach sealed --netns vxdemo-c2 --name vx-sealed --ip 10.30.0.12
for _ in $(seq 100); do
    vx 1 fdb sealed --json | jq -e 'any(.entries[]; .ip == "10.30.0.12" and .session != null)' \
        >/dev/null && break
    sleep 0.05
done
echo "\$ vxmesh fdb sealed      # on h1: the remote endpoint, reached through encd, h2's session"
vx 1 fdb sealed
echo "\$ ip -n vxdemo-h1 -br link | grep -E 'vxm[bvt]300'   # bridge + TAP, no vxlan device"
ip -n vxdemo-h1 -br link | grep -E 'vxm[bvt]300' || true
MARK=$(printf 'VXMESH-SECRET' | od -An -tx1 | tr -d ' \n')
ip netns exec vxdemo-h1 timeout 5 tcpdump -ni ul0 -c 10 -w "$DIR/sealed.pcap" \
    'udp port 4789 or udp port 4794' >/dev/null 2>&1 &
TD=$!
sleep 0.5
echo "\$ ip netns exec vxdemo-c1 ping -c 5 -p $MARK 10.30.0.12   # a marker in every packet"
ip netns exec vxdemo-c1 ping -c 5 -i 0.2 -W 1 -p "$MARK" 10.30.0.12
wait $TD 2>/dev/null || true
echo "\$ tcpdump -r sealed.pcap    # what the underlay saw"
tcpdump -nr "$DIR/sealed.pcap" 2>/dev/null | head -4
SEEN=$(tcpdump -nr "$DIR/sealed.pcap" -X 2>/dev/null | grep -c 'VXMESH-SECRET' || true)
V4789=$(tcpdump -nr "$DIR/sealed.pcap" 'udp port 4789' 2>/dev/null | wc -l)
echo "marker seen in clear: $SEEN times; packets on 4789 (VXLAN): $V4789"
[ "$SEEN" = 0 ] || { echo "UNEXPECTED: the marker crossed the underlay in clear" >&2; exit 1; }
echo "\$ vxmesh status --json | jq .encryption.networks[0].counters   # on h2"
vx 2 status --json | jq -c '.encryption.networks[0].counters | {rx_packets, tx_packets,
    auth_failures, replay_drops, arp_answered}'

say "Docker: two more namespace hosts, each with its own dockerd and a vxmesh agent (--docker)"
if ! scripts/demo_docker.sh; then
    echo "The Docker part failed (see above); the rest of the demo is unaffected." >&2
fi

cat <<MSG

The demo is still running (the Docker part cleaned up after itself; see scripts/demo_docker.sh). Try:
  $VXMESH --socket $DIR/h2.sock members
  $VXMESH --socket $DIR/h3.sock fdb
  ip netns exec vxdemo-c2 ping -c 2 10.10.0.11
  $VXMESH --socket $DIR/h3.sock ipam                        # who owns which addresses
  ip netns exec vxdemo-h1 tcpdump -ni ul0 udp port 4789    # VXLAN (plaintext; gossip on 7946 is encrypted)
  ip netns exec vxdemo-h1 tcpdump -ni vxmt300                 # the sealed network's frames before sealing
  ip netns exec vxdemo-h1 tcpdump -ni ul0 udp port 4794     # ... and as they cross the underlay
  kill \$(cat $DIR/h2.pid); sleep 8; $VXMESH --socket $DIR/h1.sock fdb blue   # h2's entry withdrawn
Logs: $DIR/h*.log.  Remove everything with: make demo-clean
MSG
