#!/usr/bin/env bash
# Encrypted networks (`net create --encrypted`): frames between hosts travel
# only sealed (vxmesh encd, UDP 4794), never as VXLAN.
#
#   ┌───────────────────────────── netns vxt<pid>-sw: bridge br0 ─────────────────────────────┐
#   └──────┬──────────────────┬──────────────────┬──────────────────┬────────────────────┬─────┘
#  192.0.2.1│        192.0.2.2 │        192.0.2.3 │        192.0.2.4 │         192.0.2.66 │
#   ┌──────┴───────┐  ┌───────┴──────┐  ┌────────┴─────┐  ┌─────────┴────┐  ┌────────────┴───┐
#   │ h1: agent a1 │  │ h2: agent a2 │  │ h3: agent a3 │  │ h4: agent a4 │  │ r: rogue host  │
#   │ key K1 (->K2)│  │ key K1 (->K2)│  │ NO key       │  │ key, but     │  │ no agent, no   │
#   │ blue: c1     │  │ blue: c2     │  │ (refuses     │  │ --no-encryp- │  │ key: forges    │
#   │  10.77.0.11  │  │  10.77.0.12  │  │  --encrypted,│  │ tion: blue   │  │ VXLAN frames   │
#   │ red: d1      │  │ red: d2      │  │  cannot join)│  │ must not be  │  │                │
#   │  10.78.0.11  │  │  10.78.0.12  │  │              │  │ local here   │  │                │
#   └──────────────┘  └──────────────┘  └──────────────┘  └──────────────┘  └────────────────┘
#   blue = VNI 300, 10.77.0.0/24, ENCRYPTED (TAP vxmt300 on bridge vxmb300,
#   sealed datagrams on UDP 4794); red = VNI 301, 10.78.0.0/24, plain VXLAN
#   on UDP 4789 (the positive controls: what a capture or a forgery would
#   show without encryption).  Gossip encrypted with K1 (later rotated to K2).
#
#   Two NAT'd sites (section 8), a cluster of their own:
#
#          "public" segment 203.0.113.0/24 (one veth pair)
#   ┌─────────────────────┐  pub0     pub0  ┌─────────────────────┐
#   │ rA: router site A   ├─────────────────┤ rB: router site B   │
#   │ 203.0.113.1         │                 │ 203.0.113.2         │
#   │ masquerade 10.1/24  │                 │ masquerade 10.2/24  │
#   │ DNAT 7946 tcp+udp   │                 │ DNAT 7946 tcp+udp   │
#   │      -> 10.1.0.2    │                 │      -> 10.2.0.2    │
#   │ DNAT udp 14790      │                 │ DNAT udp 24790      │
#   │      -> 10.1.0.2:4794                 │      -> 10.2.0.2:4794
#   └──────────┬──────────┘                 └──────────┬──────────┘
#     lan0 10.1.0.1                            lan0 10.2.0.1
#     ul0  10.1.0.2                            ul0  10.2.0.2
#   ┌──────────┴──────────┐                 ┌──────────┴──────────┐
#   │ sA: agent sa        │                 │ sB: agent sb        │
#   │ --advertise         │                 │ --advertise         │
#   │  203.0.113.1:7946   │                 │  203.0.113.2:7946   │
#   │ --vtep-advertise    │                 │ --vtep-advertise    │
#   │  203.0.113.1        │                 │  203.0.113.2        │
#   │ --enc-advertise-port│                 │ --enc-advertise-port│
#   │  14790              │                 │  24790              │
#   │ nat: ca 10.79.0.11  │                 │ nat: cb 10.79.0.12  │
#   └─────────────────────┘                 └─────────────────────┘
#
# Shows (each numbered section reports on its own):
#  (1) c1 <-> c2 reachable both ways: ping, and a 2 MiB TCP transfer each way
#      with its sha256 compared;
#  (2) an underlay capture on h1's ul0 while markers cross blue (UDP
#      "VXMESH-SECRET-<random>" and ping -p <random pattern>) holds none of
#      their bytes, no UDP/4789 packet with blue's VNI, and UDP/4794 packets;
#      the same capture over red does show the markers (the control);
#  (3) forged plaintext VXLAN with blue's VNI to h1's 4789, from r and from
#      member h2's own address, reaches no container, and the nft rule
#      `@encvnis ... drop` counts them (red's VNI from h2 does get in: the
#      control);
#  (4) c2's sealed datagrams captured while held back from h1, then sent to
#      h1:4794 from h2's address: a flipped ciphertext byte and a truncated
#      one count auth_failures, a 12-byte stub malformed, another session id
#      unknown_session, none delivered; the genuine datagrams are delivered
#      once, and again -> replay_drops, not delivered twice;
#  (5) kill -9 of each agent and a restart with the same arguments during a
#      20/s ping: 0 lost, encd adopted (same PID), same session;
#  (6) key rotation (install K2, use K2, remove K1 on every host) during a
#      20/s ping: 0 lost, the datapath then holds 1 key;
#  (7) a host without a cluster key refuses --encrypted (non-zero exit, the
#      message says "key", HTTP 409) with nothing programmed, and cannot join
#      the encrypted cluster; a member with --no-encryption does not get blue
#      (no bridge, no TAP, not listed, no attach) while it gets red;
#  (8) two NAT'd sites with different forwarded encrypted ports: their
#      containers on an encrypted network ping each other both ways;
#  (9) `vxmesh fdb` on h1 lists c2 as an encrypted remote endpoint on vxmt300
#      with h2's datapath session;
# (10) blue's MTU is the underlay's minus 82 (1418), a DF ping of 1418 bytes
#      passes (no fragment on the underlay, outer packets of 1500), one byte
#      more fails locally ("message too long").
# VXMESH_TEST_LOGS=DIR: on a failure, the agents' logs and the captures are
# copied there before the cleanup removes them.
. "$(dirname "$0")/lib.sh"
set -o pipefail

command -v python3 >/dev/null || { not_ok "python3 is missing"; finish; }
command -v nft >/dev/null || { not_ok "nft is missing: run 'make deps'"; finish; }
command -v tcpdump >/dev/null || { not_ok "tcpdump is missing: run 'make deps'"; finish; }
HERE=$(cd "$(dirname "$0")" && pwd)
FORGE=$HERE/vxforge.py
ENC=$HERE/encpkt.py
SW=$PFX-sw
R=$PFX-r
R_IP=192.0.2.66
H1_IP=192.0.2.1 H2_IP=192.0.2.2
VNI=300 RVNI=301
C1_IP=10.77.0.11 C1_MAC=02:00:0a:4d:00:0b
C2_IP=10.77.0.12 C2_MAC=02:00:0a:4d:00:0c
D1_IP=10.78.0.11 D1_MAC=02:00:0a:4e:00:0b
D2_IP=10.78.0.12 D2_MAC=02:00:0a:4e:00:0c
FAKE_MAC=02:66:66:66:66:66
P=5555   # marker port in the containers
N=20     # forged frames per round
KEY=$("$VXMESH" key generate 2>/dev/null | tail -n 1)
FAST=(--gossip-profile local --reconcile-interval 1000)

underlay_hosts 4 || { not_ok "underlay namespaces"; finish; }
netns_add "$R" && ip link add "vxt$RUN_ID-ur" type veth peer name ul0 netns "$R" &&
    ip link set "vxt$RUN_ID-ur" netns "$SW" && ip -n "$SW" link set "vxt$RUN_ID-ur" master br0 up &&
    ip -n "$R" addr add "$R_IP/24" dev ul0 && ip -n "$R" link set ul0 up ||
    { not_ok "rogue host namespace"; finish; }

# ---- helpers ----
# forget PID: drop a waited-for PID from the cleanup list (it may be reused).
forget() {
    local p keep=()
    for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}
host_args() { # i: the arguments agent a<i> always runs with
    echo --bind "192.0.2.$1" --vtep "192.0.2.$1" --node-name "h$1" "${FAST[@]}"
}
start_h1() { agent_start "$PFX-h1" a1 $(host_args 1) --encrypt "$KEY"; }
start_h2() { agent_start "$PFX-h2" a2 $(host_args 2) --encrypt "$KEY" --join "$H1_IP"; }
state_of() { vx "$1" members --json | jq -r --arg n "$2" '.members[] | select(.name == $n) | .state'; }
alive_count() { vx "$1" members --json | jq '[.members[] | select(.state == "alive")] | length'; }
session_of() { vx "$1" status --json | jq -r '.encryption.session // empty'; }
# enc_ctr AGENT SCOPE NAME: a datapath counter; SCOPE is net:VNI, node:VTEP
# (the sending host as the receiver knows it) or top (datagrams before any
# network or host is known).
enc_ctr() {
    local j
    j=$(vx "$1" status --json) || return 1
    case $2 in
    net:*) jq -r --argjson v "${2#net:}" --arg n "$3" \
        '[.encryption.networks[]? | select(.vni == $v) | .counters[$n]] | add // 0' <<<"$j" ;;
    node:*) jq -r --arg t "${2#node:}" --arg n "$3" \
        '[.encryption.nodes[]? | select(.vtep == $t) | .counters[$n]] | add // 0' <<<"$j" ;;
    top) jq -r --arg n "$3" '.encryption.counters[$n] // 0' <<<"$j" ;;
    esac
}
ctr_ge() { [ "$(enc_ctr "$1" "$2" "$3")" -ge "$4" ] 2>/dev/null; }
# nft_encvni_drops NS: packets counted by the admission rule that drops
# plaintext VXLAN of encrypted VNIs.
# (the table's named counter encvni_drops, which survives table updates).
nft_encvni_drops() {
    ip netns exec "$1" nft list counter ip vxmesh_admit encvni_drops 2>/dev/null |
        awk '/packets/ { for (i = 1; i < NF; i++) if ($i == "packets") v = $(i + 1) } END { print v == "" ? -1 : v }'
}
nft_ge() { [ "$(nft_encvni_drops "$1")" -ge "$2" ] 2>/dev/null; }
# cap_start NS FILE [FILTER...]: tcpdump on NS's ul0 into FILE (bounded: at
# most 3000 packets, 30 s); sets CAP_PID.  cap_stop ends it.
cap_start() {
    local ns=$1 file=$2
    shift 2
    ip netns exec "$ns" timeout 30 tcpdump -i ul0 -n -U -s 0 -c 3000 -w "$file" "$@" \
        2>"$file.err" &
    CAP_PID=$!
    PIDS+=("$CAP_PID")
    wait_for 5 grep -q "listening on" "$file.err"
}
cap_stop() {
    sleep 0.3 # the last packets reach the file
    kill -TERM "$CAP_PID" 2>/dev/null
    wait "$CAP_PID" 2>/dev/null
    forget "$CAP_PID"
}
# listen_start NS PORT PREFIX NAME: an encpkt listener counting datagrams
# that start with PREFIX (duplicates too) until listen_stop NAME; the
# result lands in $TMP/NAME.json.
declare -A LST
listen_start() {
    local out=$TMP/$4
    rm -f "$out.ready" "$out.stop" "$out.json"
    ip netns exec "$1" python3 "$ENC" listen "$2" 25 "$3" "$out.ready" "$out.stop" \
        >"$out.json" 2>"$out.err" &
    LST[$4]=$!
    PIDS+=("$!")
    wait_for 3 test -e "$out.ready" || { diag "listener $4: $(cat "$out.err")"; return 1; }
}
listen_stop() {
    touch "$TMP/$1.stop"
    wait "${LST[$1]}" 2>/dev/null
    forget "${LST[$1]}"
}
heard() { jq -r "${2:-.total}" "$TMP/$1.json" 2>/dev/null; }
# want NAME VALUE [JQ]: the listener NAME's result (JQ, default .total) is VALUE.
want() {
    local v
    v=$(heard "$1" "${3:-.total}")
    [ "$v" = "$2" ] || { echo "listener $1: ${3:-.total} = ${v:-no result} (want $2): $(cat "$TMP/$1.json" "$TMP/$1.err" 2>/dev/null)"; return 1; }
}
export -f state_of alive_count

# ---- setup: h1, h2 with key K1; blue (encrypted) and red (plain) on both ----
if start_h1 && start_h2; then ok "agents a1, a2 start (gossip key K1)"; else not_ok "agents a1, a2 start"; finish; fi
check "a1 and a2 see each other alive" wait_for 15 bash -c \
    "[ \"\$(alive_count a1)\" = 2 ] && [ \"\$(alive_count a2)\" = 2 ]"
check "net create blue --encrypted (VNI $VNI) on h1" \
    vx a1 net create blue --subnet 10.77.0.0/24 --vni "$VNI" --encrypted
check "net create red (plain VXLAN, VNI $RVNI) on h1" vx a1 net create red --subnet 10.78.0.0/24 --vni "$RVNI"
check "blue is encrypted with tap_dev vxmt$VNI (net inspect)" bash -c \
    "vx a1 net inspect blue --json | jq -e '.encrypted == true and .tap_dev == \"vxmt$VNI\" and .vxlan_dev == null'"
check "red is not encrypted (net inspect)" bash -c \
    "vx a1 net inspect red --json | jq -e '.encrypted == false and .tap_dev == null'"
check "net ls shows blue encrypted, red not" bash -c \
    "vx a1 net ls | awk '\$1 == \"blue\" && / true / { b = 1 } \$1 == \"red\" && / false / { r = 1 } END { exit !(b && r) }'"
for c in c1 c2 d1 d2; do netns_add "$PFX-$c"; done
check "attach c1 to blue on h1" vx a1 ep attach blue --netns "$PFX-c1" --ip "$C1_IP" --mac "$C1_MAC"
check "attach d1 to red on h1" vx a1 ep attach red --netns "$PFX-d1" --ip "$D1_IP" --mac "$D1_MAC"
check "blue and red appear on h2" wait_for 10 bash -c "vx a2 net inspect blue && vx a2 net inspect red"
check "attach c2 to blue on h2" vx a2 ep attach blue --netns "$PFX-c2" --ip "$C2_IP" --mac "$C2_MAC"
check "attach d2 to red on h2" vx a2 ep attach red --netns "$PFX-d2" --ip "$D2_IP" --mac "$D2_MAC"
check "h1 has bridge vxmb$VNI and TAP vxmt$VNI, no VXLAN device for VNI $VNI" bash -c \
    "ip -n $PFX-h1 link show vxmb$VNI && ip -n $PFX-h1 link show vxmt$VNI &&
     ! ip -n $PFX-h1 -d -j link show type vxlan | jq -e '.[] | select(.linkinfo.info_data.id == $VNI)'"

# ---- (1) reachability both ways: ping and TCP with a checksum ----
check "(1) c1 pings c2 across hosts (encrypted)" wait_for 10 ping_ok "$PFX-c1" "$C2_IP"
check "(1) c2 pings c1" ping_ok "$PFX-c2" "$C1_IP"
check "(1) d1 pings d2 on red (the plain control)" wait_for 10 ping_ok "$PFX-d1" "$D2_IP"
head -c $((2 * 1024 * 1024)) /dev/urandom >"$TMP/blob"
SUM=$(sha256sum "$TMP/blob" | cut -d' ' -f1)
# tcp_xfer FROM_NS TO_NS TO_IP TAG: FROM sends the blob; TO prints what it got.
tcp_xfer() {
    local out=$TMP/tcp-$4 rp
    rm -f "$out.ready"
    ip netns exec "$2" python3 "$ENC" tcp-recv 5201 20 "$out.ready" >"$out.json" 2>"$out.err" &
    rp=$!
    PIDS+=("$rp")
    wait_for 3 test -e "$out.ready" &&
        timeout 25 ip netns exec "$1" python3 "$ENC" tcp-send "$3" 5201 "$TMP/blob" 2>>"$out.err"
    wait "$rp"
    forget "$rp"
    jq -e --arg s "$SUM" '.bytes == 2097152 and .sha256 == $s' "$out.json" >/dev/null ||
        { echo "got $(cat "$out.json"), want 2097152 bytes sha256 $SUM; $(cat "$out.err")"; return 1; }
}
check "(1) 2 MiB over TCP c1 -> c2, sha256 equal" tcp_xfer "$PFX-c1" "$PFX-c2" "$C2_IP" 12
check "(1) 2 MiB over TCP c2 -> c1, sha256 equal" tcp_xfer "$PFX-c2" "$PFX-c1" "$C1_IP" 21
check "(1) the datapath counts frames both ways on h1 (tx and rx > 0 for VNI $VNI)" bash -c \
    "vx a1 status --json | jq -e '.encryption.networks[] | select(.vni == $VNI) | .counters.tx_packets > 0 and .counters.rx_packets > 0'"

# ---- (2) the underlay carries no plaintext of blue ----
SECRET="VXMESH-SECRET-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')"
PAT=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')   # ping -p: 16 pad bytes
# Control over red: the same capture and search find the markers in plain VXLAN.
cap_start "$PFX-h1" "$TMP/red.pcap" || diag "control capture: $(cat "$TMP/red.pcap.err")"
listen_start "$PFX-d1" "$P" "$SECRET" red2
ip netns exec "$PFX-d2" python3 "$ENC" send "$D1_IP" "$P" "$SECRET" 5 0.05
ip netns exec "$PFX-d2" ping -c 3 -i 0.1 -W 1 -p "$PAT" "$D1_IP" >/dev/null
sleep 0.2
listen_stop red2
cap_stop
RED_ST=$(python3 "$ENC" pcap-stats "$TMP/red.pcap" "$RVNI" "$SECRET" "hex:$PAT")
diag "control capture over red: $RED_ST"
check "(2) control: the 5 markers crossed red" want red2 5
check "(2) control: the capture over red holds the UDP marker and the ping pattern, in UDP/4789 with red's VNI" \
    jq -e --arg s "$SECRET" --arg p "hex:$PAT" '.hits[$s] >= 5 and .hits[$p] >= 3 and .udp4789_vni >= 8' <<<"$RED_ST"
# Now over blue.
cap_start "$PFX-h1" "$TMP/blue.pcap" || diag "capture: $(cat "$TMP/blue.pcap.err")"
listen_start "$PFX-c1" "$P" "$SECRET" blue2
ip netns exec "$PFX-c2" python3 "$ENC" send "$C1_IP" "$P" "$SECRET" 10 0.05
ip netns exec "$PFX-c2" ping -c 5 -i 0.1 -W 1 -p "$PAT" "$C1_IP" >"$TMP/ping2.log" 2>&1
PING2=$?
ip netns exec "$PFX-c1" ping -c 5 -i 0.1 -W 1 -p "$PAT" "$C2_IP" >>"$TMP/ping2.log" 2>&1
PING2=$((PING2 + $?))
sleep 0.2
listen_stop blue2
cap_stop
BLUE_ST=$(python3 "$ENC" pcap-stats "$TMP/blue.pcap" "$VNI" "$SECRET" "VXMESH-SECRET" "hex:$PAT")
diag "capture over blue: $BLUE_ST"
check "(2) the 10 markers crossed blue to c1" want blue2 10
check "(2) pings with pattern $PAT crossed blue both ways (5+5)" test "$PING2" = 0
check "(2) none of the marker's bytes ($SECRET, nor 'VXMESH-SECRET') anywhere in the underlay capture" \
    jq -e --arg s "$SECRET" '.hits[$s] == 0 and .hits["VXMESH-SECRET"] == 0' <<<"$BLUE_ST"
check "(2) nor the ping pattern" jq -e --arg p "hex:$PAT" '.hits[$p] == 0' <<<"$BLUE_ST"
check "(2) no UDP/4789 packet carries blue's VNI $VNI" jq -e '.udp4789_vni == 0' <<<"$BLUE_ST"
check "(2) sealed UDP/4794 packets are there (>= 30: 10 markers, 10 echo requests, 10 replies)" \
    jq -e '.udp4790 >= 30' <<<"$BLUE_ST"

# ---- (3) forged plaintext VXLAN with blue's VNI is dropped ----
# forge_round TAG FROM_NS DST_NS DST_IP DST_MAC VNI: a vxforge listener in
# DST_NS; FROM_NS forges N frames to h1's 4789.  Result in $TMP/f-TAG.json.
forge_round() {
    local out=$TMP/f-$1 lp
    rm -f "$out.ready"
    ip netns exec "$3" python3 "$FORGE" listen "$P" 2.5 "$1" "$out.ready" >"$out.json" 2>"$out.err" &
    lp=$!
    PIDS+=("$lp")
    wait_for 3 test -e "$out.ready" || { diag "forge listener $1: $(cat "$out.err")"; }
    ip netns exec "$2" python3 "$FORGE" forge "$H1_IP:4789" "$6" "$5" "$FAKE_MAC" 10.77.0.66 \
        "$4" "$P" "$1" "$N" 0.02 2>>"$out.err"
    wait "$lp"
    forget "$lp"
    diag "forged round $1 from ${2#"$PFX-"} to ${3#"$PFX-"} (VNI $6): $(cat "$out.json")"
}
forged() { # TAG COUNT
    local v
    v=$(jq -r .forged "$TMP/f-$1.json" 2>/dev/null)
    [ "$v" = "$2" ] || { echo "round $1: forged = ${v:-no result} (want $2); $(cat "$TMP/f-$1.err")"; return 1; }
}
check "(3) h1's admission table drops plaintext VXLAN of encrypted VNIs (rule with @encvnis holding $VNI)" bash -c \
    "ip netns exec $PFX-h1 nft list table ip vxmesh_admit | grep -q 'udp dport @vxports @th,96,24 @encvnis counter' &&
     ip netns exec $PFX-h1 nft list set ip vxmesh_admit encvnis | grep -qi 'elements = { 0x0*12c }'"
forge_round ctl "$PFX-h2" "$PFX-d1" "$D1_IP" "$D1_MAC" "$RVNI"
check "(3) control: $N plaintext frames forged from member h2's address with red's VNI reach d1" forged ctl "$N"
n0=$(nft_encvni_drops "$PFX-h1")
forge_round rogue "$R" "$PFX-c1" "$C1_IP" "$C1_MAC" "$VNI"
check "(3) none of $N frames forged from r with blue's VNI reaches c1" forged rogue 0
forge_round member "$PFX-h2" "$PFX-c1" "$C1_IP" "$C1_MAC" "$VNI"
check "(3) none of $N frames forged from member h2's address (192.0.2.2) with blue's VNI reaches c1" forged member 0
check "(3) the @encvnis drop counter rose by >= $((2 * N)) (from $n0)" wait_for 3 nft_ge "$PFX-h1" $((n0 + 2 * N))
diag "@encvnis drops on h1: $n0 -> $(nft_encvni_drops "$PFX-h1")"
check "(3) status .admission.encrypted_vni_drops and the metric report them" bash -c \
    "vx a1 status --json | jq -e '.admission.encrypted_vni_drops >= $((n0 + 2 * N))' &&
     curl -s --unix-socket $TMP/a1/sock http://vxmesh/metrics |
         awk '/^vxmesh_admission_encrypted_vni_drops_total/ { exit !(\$2 >= $((n0 + 2 * N))) }'"
check "(3) c2 still pings c1" ping_ok "$PFX-c2" "$C1_IP"

# ---- (4) tampered, truncated, re-sessioned and replayed ciphertext ----
# c2 sends 5 markers while h1 drops everything from h2 to 4794 (its own
# nftables table); a capture on h1's ul0 (before the filter) keeps them.
PAY=VXMESH-HELD            # payloads VXMESH-HELD-0 .. -4: 13 bytes
DLEN=$((24 + 14 + 20 + 8 + 13 + 16))
listen_start "$PFX-c1" "$P" "$PAY-" held
ip netns exec "$PFX-h1" nft -f - <<'NFT'
table inet vxtblk {
    chain in { type filter hook input priority -50; policy accept; udp dport 4794 ip saddr 192.0.2.2 drop; }
}
NFT
cap_start "$PFX-h1" "$TMP/held.pcap" udp and src host "$H2_IP" and dst port 4794
rx0=$(enc_ctr a1 "net:$VNI" rx_packets)
ip netns exec "$PFX-c2" python3 "$ENC" send "$C1_IP" "$P" "$PAY" 5 0.1
cap_stop
ip netns exec "$PFX-h1" nft delete table inet vxtblk
mkdir -p "$TMP/held"
NH=$(python3 "$ENC" pcap-dgrams "$TMP/held.pcap" "$H2_IP" "$H1_IP" 4794 "$DLEN" "$TMP/held")
check "(4) 5 sealed datagrams of $DLEN bytes captured while held back from h1 (got ${NH:-0})" test "${NH:-0}" = 5
check "(4) ... and none of them reached c1 (rx_packets unchanged)" \
    test "$(enc_ctr a1 "net:$VNI" rx_packets)" = "$rx0"
# inject MODE INDEX: datagram INDEX, after MODE, from h2's address to h1:4794.
inject() { ip netns exec "$PFX-h2" python3 "$ENC" inject "$H2_IP" "$H1_IP:4794" "$1" "$TMP/held/$2"; }
# step DESCRIPTION MODE INDEX SCOPE COUNTER: inject, then COUNTER grows by 1.
step() {
    local b
    b=$(enc_ctr a1 "$4" "$5")
    inject "$2" "$3"
    check "(4) $1: $5 grows ($4)" wait_for 3 ctr_ge a1 "$4" "$5" $((b + 1))
    diag "$1: $4 $5 $b -> $(enc_ctr a1 "$4" "$5")"
}
step "datagram 0 with one ciphertext byte flipped" flip 0 "net:$VNI" auth_failures
check "(4) ... counted against h2 too" ctr_ge a1 "node:$H2_IP" auth_failures 1
step "datagram 1 truncated by one byte" trunc1 1 "net:$VNI" auth_failures
step "datagram 2 cut to a 12-byte stub" short 2 top malformed
step "datagram 3 with another session id" session 3 "net:$VNI" unknown_session
rx1=$(enc_ctr a1 "net:$VNI" rx_packets)
check "(4) none of those 4 was delivered (rx_packets $rx0 -> $rx1)" test "$rx1" = "$rx0"
inject asis 4
check "(4) the genuine datagram 4, held back so far, is delivered once" \
    wait_for 3 ctr_ge a1 "net:$VNI" rx_packets $((rx1 + 1))
step "datagram 4 sent again (a replay)" asis 4 "net:$VNI" replay_drops
check "(4) ... counted against h2 too" ctr_ge a1 "node:$H2_IP" replay_drops 1
inject asis 0
check "(4) the genuine datagram 0 is still accepted after its forged copy (a forgery burns no counter)" \
    wait_for 3 ctr_ge a1 "net:$VNI" rx_packets $((rx1 + 2))
step "datagram 0 sent again (a replay)" asis 0 "net:$VNI" replay_drops
sleep 0.3
listen_stop held
check "(4) c1 received exactly markers 0 and 4, once each" want held '{"0":1,"4":1}' '.seqs | to_entries | sort_by(.key) | from_entries | tojson'
check "(4) c2 still pings c1" ping_ok "$PFX-c2" "$C1_IP"

# ---- (5) kill -9 of the agents during a 20/s ping: 0 lost, encd adopted ----
E1=$(encd_pid a1) E2=$(encd_pid a2) S1=$(session_of a1) S2=$(session_of a2)
check "(5) both datapaths run (encd PIDs ${E1:-none}, ${E2:-none}; sessions ${S1:-none}, ${S2:-none})" \
    test -n "$E1" -a -n "$E2" -a -n "$S1" -a -n "$S2"
ip netns exec "$PFX-c1" ping -c 100 -i 0.05 -W 1 "$C2_IP" >"$TMP/ping5.log" 2>&1 &
PING=$!
PIDS+=("$PING")
sleep 1
kill -9 "$AGENT_PID_a1"
wait "$AGENT_PID_a1" 2>/dev/null
forget "$AGENT_PID_a1"
if start_h1; then ok "(5) a1 killed with SIGKILL and started again, same arguments"; else not_ok "(5) a1 restarts"; fi
sleep 0.5
kill -9 "$AGENT_PID_a2"
wait "$AGENT_PID_a2" 2>/dev/null
forget "$AGENT_PID_a2"
if start_h2; then ok "(5) a2 killed with SIGKILL and started again, same arguments"; else not_ok "(5) a2 restarts"; fi
wait "$PING"
forget "$PING"
grep -E 'received' "$TMP/ping5.log" | sed 's/^/# /'
check "(5) no ping c1 -> c2 lost across both kill -9 restarts (100/100 at 20/s)" \
    grep -q ' 100 received' "$TMP/ping5.log"
check "(5) h1's encd was adopted: same PID $E1" test "$(encd_pid a1)" = "$E1"
check "(5) h2's encd was adopted: same PID $E2" test "$(encd_pid a2)" = "$E2"
check "(5) the restarted a1 reports the same session $S1" wait_for 5 bash -c "[ \"\$(vx a1 status --json | jq -r .encryption.session)\" = $S1 ]"
check "(5) the restarted a2 reports the same session $S2" wait_for 5 bash -c "[ \"\$(vx a2 status --json | jq -r .encryption.session)\" = $S2 ]"
check "(5) a1 and a2 see each other alive again" wait_for 15 bash -c \
    "[ \"\$(state_of a1 h2)\" = alive ] && [ \"\$(state_of a2 h1)\" = alive ]"
check "(5) c2 pings c1" ping_ok "$PFX-c2" "$C1_IP"

# ---- (6) key rotation on every host during a 20/s ping: 0 lost ----
K2=$("$VXMESH" key generate 2>/dev/null | tail -n 1)
ip netns exec "$PFX-c1" ping -c 100 -i 0.05 -W 1 "$C2_IP" >"$TMP/ping6.log" 2>&1 &
PING=$!
PIDS+=("$PING")
sleep 0.5
for a in a1 a2; do check "(6) key install K2 on $a" vx "$a" key install "$K2"; done
sleep 0.3
for a in a1 a2; do check "(6) key use K2 on $a" vx "$a" key use "$K2"; done
sleep 0.5
for a in a1 a2; do check "(6) key remove K1 on $a" vx "$a" key remove "$KEY"; done
wait "$PING"
forget "$PING"
grep -E 'received' "$TMP/ping6.log" | sed 's/^/# /'
check "(6) no ping c1 -> c2 lost across the rotation (100/100 at 20/s)" grep -q ' 100 received' "$TMP/ping6.log"
for a in a1 a2; do
    check "(6) $a's datapath holds 1 key afterwards" wait_for 5 bash -c \
        "vx $a status --json | jq -e '.encryption.keys == 1'"
done
check "(6) c2 pings c1 with K2 alone" ping_ok "$PFX-c2" "$C1_IP"
check "(6) a1 and a2 still see each other alive (gossip on K2)" wait_for 10 bash -c \
    "[ \"\$(state_of a1 h2)\" = alive ] && [ \"\$(state_of a2 h1)\" = alive ]"
diag "a1 datapath after rotation: $(vx a1 status --json | jq -c '.encryption | {keys, session, counter}')"
KEY=$K2 # a restart from here on runs with the current key

# ---- (7) a host without a cluster key; a member without a datapath ----
vx_links() { ip -n "$1" -br link | awk '$1 ~ /^vxm[bt]/ { print $1 }'; }
agent_start "$PFX-h3" a3 $(host_args 3) --join "$H1_IP" ||
    not_ok "(7) a3 (no --encrypt) starts"
msg=$(vx a3 net create x --subnet 10.76.0.0/24 --vni 310 --encrypted 2>&1)
rc=$?
diag "a3: net create --encrypted: exit $rc: $msg"
check "(7) a3 without a cluster key refuses net create --encrypted (exit non-zero)" test "$rc" != 0
check "(7) ... saying why: the message mentions the key" grep -qi 'key' <<<"$msg"
res=$(api a3 POST /v1/networks '{"name":"x2","subnet":"10.76.1.0/24","vni":311,"encrypted":true}')
check "(7) ... the API answers 409" test "$(tail -n 1 <<<"$res")" = 409
check "(7) ... and nothing of it is programmed on h3 (no vxmb/vxmt link, not in net ls)" bash -c \
    "[ -z \"\$(ip -n $PFX-h3 -br link | awk '\$1 ~ /^vxm[bt]/')\" ] && ! vx a3 net ls | grep -qw x && ! vx a3 net ls | grep -qw x2"
check "(7) a3 without the key never joins the encrypted cluster (h1 does not list h3 alive after 3 s)" \
    bash -c "sleep 3; [ \"\$(state_of a1 h3)\" != alive ] && [ \"\$(alive_count a3)\" = 1 ]"
check "(7) blue does not exist on h3: not listed, no vxmb$VNI/vxmt$VNI" bash -c \
    "! vx a3 net inspect blue && ! ip -n $PFX-h3 link show vxmb$VNI && ! ip -n $PFX-h3 link show vxmt$VNI"
agent_start "$PFX-h4" a4 $(host_args 4) --encrypt "$KEY" --no-encryption --join "$H1_IP" ||
    not_ok "(7) a4 (--no-encryption) starts"
check "(7) a4 (key, --no-encryption) joins: h1 sees h4 alive" wait_for 15 bash -c "[ \"\$(state_of a1 h4)\" = alive ]"
check "(7) red (plain) appears on h4: the cluster's networks do reach it" wait_for 10 vx a4 net inspect red
msg=$(vx a4 net create y --subnet 10.76.2.0/24 --vni 312 --encrypted 2>&1)
rc=$?
diag "a4: net create --encrypted: exit $rc: $msg"
check "(7) a4 refuses net create --encrypted too (exit non-zero, a message)" test "$rc" != 0 -a -n "$msg"
sleep 1.5 # a reconcile pass or more after red arrived
check "(7) blue is not in place on h4: net inspect fails, net ls does not list it" bash -c \
    "! vx a4 net inspect blue && ! vx a4 net ls | awk '{ print \$1 }' | grep -qx blue"
check "(7) ... no vxmb$VNI or vxmt$VNI on h4 (nor any vxmt)" bash -c \
    "! ip -n $PFX-h4 link show vxmb$VNI && ! ip -n $PFX-h4 link show vxmt$VNI && ! ip -n $PFX-h4 -br link | grep -q '^vxmt'"
netns_add "$PFX-c4"
check "(7) ... and a container cannot be attached to blue on h4" bash -c \
    "! vx a4 ep attach blue --netns $PFX-c4 --ip 10.77.0.14 && ! ip -n $PFX-c4 link show vx-blue"
diag "h4 links: $(ip -n "$PFX-h4" -br link | awk '{ print $1 }' | tr '\n' ' ')"
diag "a4 log about blue: $(grep -c 'network blue' "$TMP/a4/log") lines; last: $(grep 'network blue' "$TMP/a4/log" | tail -n 1)"

# ---- (9) fdb: c2 is an encrypted remote endpoint with h2's session ----
S2=$(session_of a2)
check "(9) h2's datapath session is 16 hex digits ($S2)" grep -qxE '[0-9a-f]{16}' <<<"$S2"
check "(9) vxmesh fdb --json on h1: c2 on blue, dev vxmt$VNI, why 'encrypted remote endpoint', session $S2" bash -c \
    "vx a1 fdb --json | jq -e --arg s '$S2' '[.entries[] | select(.network == \"blue\" and .mac == \"$C2_MAC\" and .dst == \"$H2_IP\" and .dev == \"vxmt$VNI\" and .why == \"encrypted remote endpoint\" and .session == \$s)] | length == 1'"
check "(9) vxmesh fdb (table) on h1 shows the same row" bash -c \
    "vx a1 fdb | awk '\$1 == \"blue\" && \$2 == \"vxmt$VNI\" && \$3 == \"$C2_MAC\" && \$7 == \"$S2\" && /encrypted remote endpoint/ { f = 1 } END { exit !f }'"

# ---- (10) MTU: the underlay's minus 82, nothing fragments ----
UL_MTU=$(ip -n "$PFX-h1" -j link show ul0 | jq '.[0].mtu')
MTU=$((UL_MTU - 82))
check "(10) blue's MTU is the underlay's ($UL_MTU) minus 82 = $MTU (net inspect)" bash -c \
    "[ \"\$(vx a1 net inspect blue --json | jq .mtu)\" = $MTU ] && [ $MTU = 1418 ]"
check "(10) c1's vx-blue, h1's vxmt$VNI and vxmb$VNI have MTU $MTU" bash -c \
    "for d in '$PFX-c1 vx-blue' '$PFX-h1 vxmt$VNI' '$PFX-h1 vxmb$VNI'; do set -- \$d;
       [ \"\$(ip -n \$1 -j link show \$2 | jq '.[0].mtu')\" = $MTU ] || { echo \"\$2: not $MTU\"; exit 1; }; done"
cap_start "$PFX-h1" "$TMP/mtu.pcap" udp port 4794 or '(ip[6:2] & 0x3fff != 0)'
check "(10) ping -M do -s $((MTU - 28)) c1 -> c2 passes" \
    ip netns exec "$PFX-c1" ping -M do -s $((MTU - 28)) -c 3 -i 0.2 -W 1 "$C2_IP"
check "(10) ping -M do -s $((MTU - 28)) c2 -> c1 passes" \
    ip netns exec "$PFX-c2" ping -M do -s $((MTU - 28)) -c 3 -i 0.2 -W 1 "$C1_IP"
cap_stop
MTU_ST=$(python3 "$ENC" pcap-stats "$TMP/mtu.pcap" "$VNI")
diag "underlay during the full-size pings: $MTU_ST"
check "(10) ... no IP fragment on the underlay, sealed packets of exactly $UL_MTU bytes" \
    jq -e --argjson m "$UL_MTU" '.fragments == 0 and .udp4790 >= 12 and .max_ip_len == $m' <<<"$MTU_ST"
msg=$(ip netns exec "$PFX-c1" ping -M do -s $((MTU - 27)) -c 1 -W 1 "$C2_IP" 2>&1)
rc=$?
diag "ping -M do -s $((MTU - 27)): exit $rc: $(head -n 2 <<<"$msg" | tr '\n' ' ')"
too_long() { [ "$rc" != 0 ] && grep -qi 'message too long' <<<"$msg"; }
check "(10) ping -M do -s $((MTU - 27)) fails locally: message too long" too_long

# ---- (8) two NAT'd sites, different forwarded encrypted ports ----
RA=$PFX-ra RB=$PFX-rb SA=$PFX-sa SB=$PFX-sb
nat_site() { # router site-host lan-prefix public-ip enc-public-port
    local r=$1 s=$2 lan=$3 pub=$4 eport=$5
    ip -n "$r" link add lan0 type veth peer name ul0 netns "$s" &&
        ip -n "$r" addr add "$lan.1/24" dev lan0 && ip -n "$r" link set lan0 up &&
        ip -n "$s" addr add "$lan.2/24" dev ul0 && ip -n "$s" link set ul0 up &&
        ip -n "$s" route add default via "$lan.1" &&
        ip netns exec "$r" sysctl -qw net.ipv4.ip_forward=1 &&
        ip netns exec "$r" nft -f - <<NFT
table ip vxtnat {
    chain pre {
        type nat hook prerouting priority dstnat; policy accept;
        iifname "pub0" ip daddr $pub tcp dport 7946 dnat to $lan.2:7946
        iifname "pub0" ip daddr $pub udp dport 7946 dnat to $lan.2:7946
        iifname "pub0" ip daddr $pub udp dport $eport counter dnat to $lan.2:4794
    }
    chain post {
        type nat hook postrouting priority srcnat; policy accept;
        oifname "pub0" ip saddr $lan.0/24 masquerade
    }
}
NFT
}
if netns_add "$RA" && netns_add "$RB" && netns_add "$SA" && netns_add "$SB" &&
    ip -n "$RA" link add pub0 type veth peer name pub0 netns "$RB" &&
    ip -n "$RA" addr add 203.0.113.1/24 dev pub0 && ip -n "$RA" link set pub0 up &&
    ip -n "$RB" addr add 203.0.113.2/24 dev pub0 && ip -n "$RB" link set pub0 up &&
    nat_site "$RA" "$SA" 10.1.0 203.0.113.1 14790 && nat_site "$RB" "$SB" 10.2.0 203.0.113.2 24790; then
    ok "(8) NAT topology: routers rA, rB on 203.0.113.0/24, sites 10.1.0.0/24 and 10.2.0.0/24"
else
    not_ok "(8) NAT topology"
fi
check "(8) the sites cannot reach each other's private addresses (only the NATs connect them)" bash -c \
    "ip netns exec $SA ping -c 1 -W 1 10.2.0.2 >/dev/null 2>&1; [ \$? != 0 ] && ! ip netns exec $SB ping -c 1 -W 1 10.1.0.2 >/dev/null 2>&1"
# dnat_hits ROUTER: flows the router DNATed to the encrypted port (a nat
# chain sees the first packet of each).
dnat_hits() {
    ip netns exec "$1" nft list chain ip vxtnat pre |
        awk '/dnat to .*:4794/ { for (i = 1; i < NF; i++) if ($i == "packets") v = $(i + 1) } END { print v + 0 }'
}
KEYN=$("$VXMESH" key generate 2>/dev/null | tail -n 1)
# No --admit: a site sees the other's datagrams from its router's public
# address, which is that host's advertised VTEP, so a member's.
agent_start "$SA" sa --bind 10.1.0.2 --vtep 10.1.0.2 --node-name sa "${FAST[@]}" --encrypt "$KEYN" \
    --advertise 203.0.113.1:7946 --vtep-advertise 203.0.113.1 --enc-advertise-port 14790 ||
    not_ok "(8) agent sa starts"
agent_start "$SB" sb --bind 10.2.0.2 --vtep 10.2.0.2 --node-name sb "${FAST[@]}" --encrypt "$KEYN" \
    --advertise 203.0.113.2:7946 --vtep-advertise 203.0.113.2 --enc-advertise-port 24790 \
    --join 203.0.113.1:7946 || not_ok "(8) agent sb starts"
check "(8) sa and sb see each other alive through the NATs" wait_for 20 bash -c \
    "[ \"\$(state_of sa sb)\" = alive ] && [ \"\$(state_of sb sa)\" = alive ]"
check "(8) net create nat --encrypted on sa" vx sa net create nat --subnet 10.79.0.0/24 --vni 320 --encrypted
netns_add "$PFX-ca"
netns_add "$PFX-cb"
check "(8) attach ca on sa" vx sa ep attach nat --netns "$PFX-ca" --ip 10.79.0.11
check "(8) nat appears on sb" wait_for 10 vx sb net inspect nat
check "(8) attach cb on sb" vx sb ep attach nat --netns "$PFX-cb" --ip 10.79.0.12
check "(8) sa's datapath sends to sb at 203.0.113.2:24790 (status .encryption.nodes)" wait_for 10 bash -c \
    "vx sa status --json | jq -e '.encryption.nodes[] | select(.vtep == \"203.0.113.2\" and .enc_port == 24790)'"
check "(8) sb's datapath sends to sa at 203.0.113.1:14790" wait_for 10 bash -c \
    "vx sb status --json | jq -e '.encryption.nodes[] | select(.vtep == \"203.0.113.1\" and .enc_port == 14790)'"
check "(8) ca (site A) pings cb (site B)" wait_for 10 ping_ok "$PFX-ca" 10.79.0.12
check "(8) cb (site B) pings ca (site A)" wait_for 10 ping_ok "$PFX-cb" 10.79.0.11
check "(8) rA's DNAT of public udp 14790 to sa:4794 carried the sealed flow (new flows: $(dnat_hits "$RA"))" \
    test "$(dnat_hits "$RA")" -gt 0
check "(8) rB's DNAT of public udp 24790 to sb:4794 carried the sealed flow (new flows: $(dnat_hits "$RB"))" \
    test "$(dnat_hits "$RB")" -gt 0
check "(8) both datapaths opened frames (rx_packets > 0 on sa and sb)" bash -c \
    "for a in sa sb; do vx \$a status --json | jq -e '.encryption.networks[] | select(.vni == 320) | .counters.rx_packets > 0' >/dev/null || exit 1; done"
for a in sa sb; do
    diag "$a: $(vx "$a" status --json | jq -c '{admission: .admission.dropped, enc: [.encryption.nodes[]? | {vtep, enc_port, rx: .counters.rx_packets, tx: .counters.tx_packets}]}')"
done

# On failure, VXMESH_TEST_LOGS=DIR keeps the agents' logs and the captures.
if [ "$T_FAILED" -gt 0 ] && [ -n "${VXMESH_TEST_LOGS:-}" ]; then
    mkdir -p "$VXMESH_TEST_LOGS" &&
        for d in "$TMP"/*/; do [ -f "$d/log" ] && cp "$d/log" "$VXMESH_TEST_LOGS/$(basename "$d").log"; done &&
        cp "$TMP"/*.pcap "$TMP"/*.json "$VXMESH_TEST_LOGS/" 2>/dev/null
    diag "logs and captures copied to $VXMESH_TEST_LOGS"
fi
finish
