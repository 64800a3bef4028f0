#!/usr/bin/env bash
# One host, two networks that share a subnet, three containers.
#
#   ┌──────────────────── host (netns vxt<pid>-h) ─────────────────────┐
#   │  vxmesh agent      ul0 192.0.2.1/24 (veth underlay, MTU 9000)    │
#   │                                                                  │
#   │  vxmb100 ── vxmv100 (blue, VNI 100)   vxmb200 ── vxmv200 (red)   │
#   │    │    │                               │                        │
#   └────┼────┼───────────────────────────────┼────────────────────────┘
#        │    │                               │
#     ct1 10.10.0.x   ct2 10.10.0.x     ct3 10.10.0.50 (red, same subnet)
#
# Shows: pings within blue work, blue cannot reach red even with the same
# subnet; bad input is refused and changes nothing; hand-deleted kernel
# objects come back; kill -9 of the agent loses no ping and no endpoint.
. "$(dirname "$0")/lib.sh"

H=$PFX-h
netns_add "$H"
for c in ct1 ct2 ct3; do netns_add "$PFX-$c"; done
# The kernel here has no dummy driver: a veth pair stands in for the NIC.
ip -n "$H" link add ul0 mtu 9000 type veth peer name ul0-peer mtu 9000
ip -n "$H" addr add 192.0.2.1/24 dev ul0
ip -n "$H" link set ul0-peer up
ip -n "$H" link set ul0 up
ip -n "$H" route add default via 192.0.2.254 dev ul0 onlink

if agent_start "$H" a --reconcile-interval 500; then ok "agent starts"; else not_ok "agent starts"; fi
check "status answers with a node id" \
    bash -c "[ \"\$(vx a status --json | jq -r '.node.id | length')\" = 32 ]"

check "net create blue" vx a net create blue --subnet 10.10.0.0/24 --vni 100
check "net create red (same subnet, other VNI)" vx a net create red --subnet 10.10.0.0/24 --vni 200
check "net ls shows two networks" \
    bash -c "[ \"\$(vx a net ls --json | jq '.networks | length')\" = 2 ]"
check "MTU derived from the underlay (9000 - 50)" \
    bash -c "[ \"\$(vx a net inspect blue --json | jq .mtu)\" = 8950 ]"
check "--mtu overrides it" vx a net create mtu1 --subnet 10.60.0.0/24 --mtu 1400
check "... on the vxlan device" bash -c "ip -n $H -j link show vxmv1 | jq -e '.[0].mtu == 1400'"
check "... and net rm removes it" vx a net rm mtu1
check "bridge and vxlan device exist with VNI 100, learning off, proxy on" \
    bash -c "ip -n $H -d -j link show vxmv100 | jq -e '.[0].linkinfo.info_data | .id == 100 and .learning == false and .proxy == true and .port == 4789' >/dev/null &&
             ip -n $H -j link show vxmv100 | jq -e '.[0].master == \"vxmb100\"' >/dev/null"
check "bridge has no IPv4 address in the host namespace" \
    bash -c "[ -z \"\$(ip -n $H -4 -o addr show dev vxmb100)\" ]"

check "ep attach ct1 to blue" vx a ep attach blue --netns "$PFX-ct1"
check "ep attach ct2 to blue with --ip" vx a ep attach blue --netns "$PFX-ct2" --ip 10.10.0.20
check "ep attach ct3 to red with --ip and --name" \
    vx a ep attach red --netns "$PFX-ct3" --ip 10.10.0.50 --name eth7
IP1=$(vx a ep ls --json | jq -r --arg ns "/run/netns/$PFX-ct1" '.endpoints[] | select(.netns == $ns) | .ip' | cut -d/ -f1)
check "ct1 got an address from blue's subnet" bash -c "[[ '$IP1' == 10.10.0.* ]]"
check "ct3's interface is named eth7" ip -n "$PFX-ct3" link show eth7
check "ct1 pings ct2 on blue" ping_ok "$PFX-ct1" 10.10.0.20
check "ct2 pings ct1 on blue" ping_ok "$PFX-ct2" "$IP1"
check "ct1 cannot reach ct3 on red (same subnet, other network)" ping_fails "$PFX-ct1" 10.10.0.50

# ---- bad input: refused with a clear message, nothing changes ----
snapshot() {
    { vx a net ls --json | jq -c '[.networks[] | {name, vni, subnet, endpoints}]'
      vx a ep ls --json | jq -c '[.endpoints[] | {id, ip, mac}] | sort_by(.id)'
      ip -n "$H" -o link show | awk '{print $2}' | sort; } 2>&1
}
BEFORE=$(snapshot)
# expect EXIT_CODE MESSAGE_FRAGMENT ARGS...
expect() {
    local code=$1 frag=$2 out rc
    shift 2
    out=$(vx a "$@" 2>&1)
    rc=$?
    if [ "$rc" = "$code" ] && grep -qi -- "$frag" <<<"$out"; then
        ok "refused: $* -> exit $rc: $(head -n1 <<<"$out")"
    else
        not_ok "refused: $* (wanted exit $code and '$frag', got exit $rc: $out)"
    fi
}
expect 1 "invalid subnet" net create bad1 --subnet 10.0.0.0/33
expect 1 "invalid subnet" net create bad1 --subnet 10.0.0.300/24
expect 1 "host bits" net create bad1 --subnet 10.0.0.1/24
expect 2 "expected 1-16777215" net create bad1 --subnet 10.30.0.0/24 --vni 0
expect 2 "expected 1-16777215" net create bad1 --subnet 10.30.0.0/24 --vni 16777216
expect 1 "already exists" net create blue --subnet 10.40.0.0/24
expect 1 "already used" net create green --subnet 10.40.0.0/24 --vni 100
expect 1 "invalid network name" net create 'bad name' --subnet 10.40.0.0/24
expect 1 "outside" ep attach blue --netns "$PFX-ct3" --ip 10.99.0.5
expect 1 "already" ep attach blue --netns "$PFX-ct3" --ip 10.10.0.20
expect 1 "reserved" ep attach blue --netns "$PFX-ct3" --ip 10.10.0.255
expect 1 "unknown network namespace" ep attach blue --netns "$PFX-nosuch"
expect 1 "longer than 15" ep attach blue --netns "$PFX-ct3" --name abcdefghijklmnopq
expect 1 "no network named" ep attach nosuch --netns "$PFX-ct3"
expect 1 "invalid MAC" ep attach blue --netns "$PFX-ct3" --mac 01:00:5e:00:00:01
expect 1 "still has" net rm blue
expect 2 "" net create
expect 2 "" net create x --subnet
expect 2 "" net create x --subnet 10.0.0.0/24 --vni abc
expect 2 "" frobnicate
# http_check DESCRIPTION STATUS FRAGMENT METHOD PATH [BODY]
http_check() {
    local d=$1 want=$2 frag=$3 r
    shift 3
    r=$(api a "$@")
    if [ "$(tail -n1 <<<"$r")" = "$want" ] && grep -q -- "$frag" <<<"$r"; then
        ok "$d"
    else
        not_ok "$d (got: $r)"
    fi
}
http_check "malformed JSON -> 400 with a message" 400 "malformed JSON" \
    POST /v1/networks '{"name": "x", "subnet": '
http_check "wrong field type -> 400" 400 'must be a string' \
    POST /v1/networks '{"name": 5, "subnet": "10.50.0.0/24"}'
http_check "VNI 0 -> 400 from the API too" 400 'out of range' \
    POST /v1/networks '{"name": "x", "subnet": "10.50.0.0/24", "vni": 0}'
http_check "VNI above 16777215 -> 400 from the API too" 400 'out of range' \
    POST /v1/networks '{"name": "x", "subnet": "10.50.0.0/24", "vni": 16777216}'
http_check "JSON that is not an object -> 400" 400 'must be an object' POST /v1/networks '[1]'
http_check "unknown path -> 404" 404 'no such path' GET /v1/nosuch
http_check "wrong method -> 405" 405 'not allowed' PUT /v1/networks
http_check "unknown endpoint -> 404" 404 'no endpoint' DELETE /v1/endpoints/0123456789ab
head -c 70000 /dev/zero | tr '\0' 'x' >"$TMP/big"
code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$TMP/a/sock" -X POST \
    -H 'Content-Type: application/json' --data-binary @"$TMP/big" http://vxmesh/v1/networks)
check "oversized body -> 413" [ "$code" = 413 ]
AFTER=$(snapshot)
check "bad input left state and kernel untouched" [ "$BEFORE" = "$AFTER" ]
[ "$BEFORE" = "$AFTER" ] || diff <(echo "$BEFORE") <(echo "$AFTER") | sed 's/^/# /'
check "agent still alive after bad input" kill -0 "$AGENT_PID_a"
check "metrics count 4xx answers" \
    bash -c "curl -s --unix-socket $TMP/a/sock http://vxmesh/metrics | grep -qE '^vxmesh_api_requests_total\{code=\"4xx\"\} [1-9]'"

# ---- malformed gossip input: dropped, counted, survived ----
metric() { # name{labels} -> value
    curl -s --unix-socket "$TMP/a/sock" http://vxmesh/metrics | awk -v m="$1" '$1 == m {print $2}'
}
ip netns exec "$H" bash -c '
    for p in "\x00\x81\xa4Node" "\x07\x05\x00\x10" "\x0c\x00\x00\x00\x00\x04" "\x09\x82" \
             "\xff\xff\xff" "\x04\x86\xa4Addr\xc4\x10"; do
        printf "$p" >/dev/udp/127.0.0.1/7946
    done
    exec 3<>/dev/tcp/127.0.0.1/7946 && printf "\x06\x83garbage" >&3 && exec 3>&-
    exec 3<>/dev/tcp/127.0.0.1/7946 && printf "\x0a\x7f\xff\xff\xff" >&3 && exec 3>&-' 2>/dev/null
export -f metric
check "malformed gossip packets are counted as decode errors" wait_for 5 bash -c \
    '[ "$(metric "vxmesh_gossip_errors_total{reason=\"decode\"}")" -ge 1 ]'
check "... and malformed streams as stream errors" wait_for 15 bash -c \
    '[ "$(metric "vxmesh_gossip_errors_total{reason=\"stream\"}")" -ge 1 ]'
check "agent still alive after malformed gossip" kill -0 "$AGENT_PID_a"

# ---- reconciliation: hand-deleted objects come back ----
EP1=$(vx a ep ls --json | jq -r --arg ns "/run/netns/$PFX-ct1" '.endpoints[] | select(.netns == $ns) | .id')
ip -n "$H" link del "vxm$EP1"
check "hand-deleted endpoint veth is recreated" wait_for 5 ip -n "$H" link show "vxm$EP1"
check "... and ct1 pings ct2 again" wait_for 5 ping_ok "$PFX-ct1" 10.10.0.20
ip -n "$H" link del vxmv100
check "hand-deleted vxlan device is recreated" wait_for 5 ip -n "$H" link show vxmv100
check "... enslaved to its bridge again" \
    wait_for 5 bash -c "ip -n $H -j link show vxmv100 | jq -e '.[0].master == \"vxmb100\"'"
ip -n "$H" link set vxmb200 mtu 1300
check "MTU drift on a bridge is repaired" \
    wait_for 5 bash -c "ip -n $H -j link show vxmb200 | jq -e '.[0].mtu == 8950'"

# ---- kill -9 and restart: no lost ping, nothing recreated ----
IDX_BEFORE=$(ip -n "$H" -j link show | jq -c '[.[] | select(.ifname | startswith("vxm")) | {ifname, ifindex}] | sort_by(.ifname)')
EPS_BEFORE=$(vx a ep ls --json | jq -c '[.endpoints[] | {id, ip, mac, netns}] | sort_by(.id)')
ip netns exec "$PFX-ct1" ping -c 30 -i 0.1 -W 1 10.10.0.20 >"$TMP/ping.log" 2>&1 &
PING=$!
PIDS+=("$PING")
sleep 0.5
kill -9 "$AGENT_PID_a"
wait "$AGENT_PID_a" 2>/dev/null
if agent_start "$H" a --reconcile-interval 500; then ok "agent restarts after kill -9"; else not_ok "agent restarts after kill -9"; fi
wait "$PING"
check "ping across the restart lost no reply (30/30)" grep -q ' 30 received' "$TMP/ping.log"
grep -E 'received|loss' "$TMP/ping.log" | sed 's/^/# /'
EPS_AFTER=$(vx a ep ls --json | jq -c '[.endpoints[] | {id, ip, mac, netns}] | sort_by(.id)')
check "endpoints unchanged after restart" [ "$EPS_BEFORE" = "$EPS_AFTER" ]
IDX_AFTER=$(ip -n "$H" -j link show | jq -c '[.[] | select(.ifname | startswith("vxm")) | {ifname, ifindex}] | sort_by(.ifname)')
check "kernel objects adopted, not recreated (same ifindexes)" [ "$IDX_BEFORE" = "$IDX_AFTER" ]
check "endpoint status ok after restart" \
    bash -c "vx a ep ls --json | jq -e 'all(.endpoints[]; .status == \"ok\")' >/dev/null"

# ---- a vanished container namespace is reported, not fatal ----
EP3=$(vx a ep ls --json | jq -r '.endpoints[] | select(.network == "red") | .id')
ip netns del "$PFX-ct3"
check "endpoint of a deleted netns shows netns-missing" \
    wait_for 5 bash -c "vx a ep ls --json | jq -e '.endpoints[] | select(.id == \"$EP3\") | .status == \"netns-missing\"'"
check "ep detach of that endpoint" vx a ep detach "$EP3"

# ---- teardown through the API ----
for id in $(vx a ep ls --json | jq -r '.endpoints[].id'); do vx a ep detach "$id" >/dev/null; done
check "all endpoints detached" bash -c "[ \"\$(vx a ep ls --json | jq '.endpoints | length')\" = 0 ]"
check "net rm blue" vx a net rm blue
check "net rm red" vx a net rm red
check "no vxmesh links left in the host namespace" \
    bash -c "! ip -n $H -o link show | grep -q ' vxm'"
finish
