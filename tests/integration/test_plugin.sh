#!/usr/bin/env bash
# The Docker plugin protocol, spoken with curl exactly as dockerd 20.10 does
# (POST /<Interface>.<Method>, Accept v1.2+json, no Content-Type, JSON body
# ending in a newline, empty body for argument-less calls).  No real dockerd.
#
#                  ┌──────── netns vxt<pid>-sw: bridge br0 ────────┐
#                  └──────┬─────────────────────────────────┬──────┘
#              192.0.2.1  │                     192.0.2.2   │
#   ┌─────────────────────┴──────────────┐ ┌────────────────┴───────────────────┐
#   │ h1: agent --docker                 │ │ h2: agent --docker --join h1       │
#   │   $TMP/h1/plugins/vxmesh.sock      │ │   $TMP/h2/plugins/vxmesh.sock      │
#   │   $TMP/h1/docker.sock: absent      │ │   $TMP/h2/docker.sock: fake dockerd│
#   │   (names from -o vxmesh.name)      │ │   (python3, names it is told)      │
#   │ blue 10.10.0.0/24: E1 .x, E2 .20   │ │ blue: E4 (moved into ct c2)        │
#   │   E1's peer moved into ct c1       │ │ green 10.20.0.0/24 (name learned)  │
#   │                                    │ │ red 10.50.0.0/24 (Docker: redapp)  │
#   └────────────────────────────────────┘ └────────────────────────────────────┘
#
# Shows: every route answers in the shape libnetwork decodes, in the order
# Docker calls them; pools are refcounted and default picks never repeat
# while held; a joined endpoint is a real interface and reaches the other
# host's FDB (and pings once "Docker" moves it into a container); bad calls
# get a 500 {"Err"} a Docker user can act on and change nothing; records
# survive an agent restart; a name is learned from dockerd after CreateNetwork;
# a Docker network whose binding failed, or a name vxmesh cannot use, never
# removes or makes a vxmesh network; held addresses stay leased; Join after
# `vxmesh ep detach` makes a new interface; mirroring keeps renamed bindings.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || { not_ok "'$PY' (serves the fake dockerd) is missing: apt-get install python3"; finish; }

SW=$PFX-sw
underlay_hosts 2 || { not_ok "underlay namespaces"; finish; }
for c in c1 c2; do netns_add "$PFX-$c"; done

# ---- fake dockerd for h2: knows the networks listed in $TMP/h2/nets.json ----
cat >"$TMP/fakedockerd.py" <<'EOF'
import json, os, socketserver, sys
from http.server import BaseHTTPRequestHandler
SOCK, REG, LOG = sys.argv[1:4]
PRE = "/v1.41/networks"
class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass
    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def serve(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        with open(LOG, "a") as f:
            f.write("%s %s\n" % (self.command, self.path))
        try:
            with open(REG) as f:
                nets = json.load(f)
        except (OSError, ValueError):
            nets = {}
        path, _, query = self.path.partition("?")
        if self.command == "GET" and path == PRE and query.startswith("filters="):
            return self.reply(200, [{"Id": i, "Name": nm, "Driver": "vxmesh"}
                                    for i, nm in nets.items()])
        if self.command == "GET" and path.startswith(PRE + "/") and path[len(PRE) + 1:] in nets:
            i = path[len(PRE) + 1:]
            return self.reply(200, {"Id": i, "Name": nets[i], "Driver": "vxmesh"})
        self.reply(404, {"message": "not found: %s" % path})
    do_GET = do_POST = do_DELETE = serve
class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
if os.path.exists(SOCK):
    os.unlink(SOCK)
Server(SOCK, Handler).serve_forever()
EOF
mkdir -p "$TMP/h2"
echo '{}' >"$TMP/h2/nets.json"
"$PY" "$TMP/fakedockerd.py" "$TMP/h2/docker.sock" "$TMP/h2/nets.json" "$TMP/h2/dockerd.log" \
    2>"$TMP/h2/dockerd.err" &
PIDS+=("$!")
check "fake dockerd listens" wait_for 10 test -S "$TMP/h2/docker.sock"
# register ID NAME: the fake dockerd now knows network ID as NAME.
register() {
    jq --arg i "$1" --arg n "$2" '.[$i] = $n' "$TMP/h2/nets.json" >"$TMP/h2/nets.tmp" &&
        mv "$TMP/h2/nets.tmp" "$TMP/h2/nets.json"
}

start_host() { # i [extra args]
    local i=$1
    shift
    agent_start "$PFX-h$i" "h$i" --bind "192.0.2.$i" --vtep "192.0.2.$i" --node-name "h$i" \
        --reconcile-interval 500 --docker --plugin-socket "$TMP/h$i/plugins/vxmesh.sock" \
        --docker-socket "$TMP/h$i/docker.sock" "$@"
}
if start_host 1 && start_host 2 --join 192.0.2.1; then
    ok "two agents start with --docker"
else
    not_ok "two agents start with --docker"; finish
fi
check "plugin sockets exist" test -S "$TMP/h1/plugins/vxmesh.sock" -a -S "$TMP/h2/plugins/vxmesh.sock"
check "h1 and h2 see each other" wait_for 15 bash -c \
    "[ \"\$(vx h1 members --json | jq '[.members[] | select(.state == \"alive\")] | length')\" = 2 ]"

# dcall HOST METHOD [BODY]: one plugin call as dockerd makes it.  Sets ST
# (HTTP status) and RB (body).  Run it in this shell, not through check.
dcall() {
    local h=$1 m=$2 body=${3-} out
    out=$( { [ -n "$body" ] && printf '%s\n' "$body"; } |
        curl -s -m 30 --unix-socket "$TMP/$h/plugins/vxmesh.sock" -X POST \
            -H 'Accept: application/vnd.docker.plugins.v1.2+json' -H 'Content-Type:' \
            -H 'User-Agent: Go-http-client/1.1' --data-binary @- -w '\n%{http_code}' "http://d/$m")
    ST=${out##*$'\n'}
    RB=${out%$'\n'*}
}
# want DESC STATUS JQ: assert on the last dcall.
want() {
    if [ "$ST" = "$2" ] && jq -e "$3" >/dev/null 2>&1 <<<"$RB"; then
        ok "$1"
    else
        not_ok "$1 (wanted $2 and $3; got $ST: $RB)"
    fi
}
# call DESC HOST METHOD BODY JQ: a call that must answer 200 and satisfy JQ.
call() {
    dcall "$2" "$3" "$4"
    want "$1" 200 "$5"
}
# refuse DESC HOST METHOD BODY REGEX: 500 with an "Err" matching REGEX (case-insensitive).
refuse() {
    dcall "$2" "$3" "$4"
    if [ "$ST" = 500 ] && jq -e --arg re "$5" '(.Err | type == "string" and length > 0) and
            (.Err | test($re; "i"))' >/dev/null 2>&1 <<<"$RB"; then
        ok "$1 -> 500: $(jq -r .Err <<<"$RB")"
    else
        not_ok "$1 (wanted 500 with Err ~ /$5/; got $ST: $RB)"
    fi
}
hexid() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
GEN=com.docker.network.generic
GWTYPE='{"RequestAddressType":"com.docker.network.gateway"}'

# ---- activation: what dockerd asks first ----
call "Plugin.Activate implements NetworkDriver and IpamDriver" h1 Plugin.Activate "" \
    '.Implements | index("NetworkDriver") != null and index("IpamDriver") != null'
call "NetworkDriver.GetCapabilities: Scope local, ConnectivityScope global" h1 \
    NetworkDriver.GetCapabilities "" '.Scope == "local" and .ConnectivityScope == "global"'
call "IpamDriver.GetCapabilities: booleans" h1 IpamDriver.GetCapabilities "" \
    '(.RequiresMACAddress | type) == "boolean" and (.RequiresRequestReplay | type) == "boolean"'
call "IpamDriver.GetDefaultAddressSpaces: both named" h1 IpamDriver.GetDefaultAddressSpaces "" \
    '(.LocalDefaultAddressSpace | length) > 0 and (.GlobalDefaultAddressSpace | length) > 0'
check "the reply is typed as a plugin reply" bash -c \
    "curl -s -D - -o /dev/null --unix-socket $TMP/h1/plugins/vxmesh.sock -X POST \
        http://d/Plugin.Activate | grep -qi '^content-type: application/vnd.docker.plugins'"

# ---- IPAM pools ----
SPACE=$(jq -r .LocalDefaultAddressSpace <<<"$RB")
poolreq() { # POOL [V6] [SUBPOOL]
    printf '{"AddressSpace":"%s","Options":{},"Pool":"%s","SubPool":"%s","V6":%s}' \
        "$SPACE" "$1" "${3-}" "${2:-false}"
}
call "RequestPool 10.10.0.0/24: PoolID, Pool, gateway CIDR in Data" h1 IpamDriver.RequestPool \
    "$(poolreq 10.10.0.0/24)" \
    '(.PoolID | length) > 0 and .Pool == "10.10.0.0/24" and
     .Data["com.docker.network.gateway"] == "10.10.0.1/24"'
P1=$(jq -r .PoolID <<<"$RB")
call "the same RequestPool again: same PoolID" h1 IpamDriver.RequestPool \
    "$(poolreq 10.10.0.0/24)" ".PoolID == \"$P1\" and .Pool == \"10.10.0.0/24\""
call "... whose ReleasePool answers {}" h1 IpamDriver.ReleasePool "{\"PoolID\":\"$P1\"}" '. == {}'
call "RequestPool without Pool: a subnet of 10.200.0.0/16" h1 IpamDriver.RequestPool \
    "$(poolreq "")" '.Pool | test("^10\\.200\\.[0-9]+\\.0/24$")'
PA=$(jq -r .PoolID <<<"$RB")
SA=$(jq -r .Pool <<<"$RB")
call "a second one while the first is held: a different subnet" h1 IpamDriver.RequestPool \
    "$(poolreq "")" ".Pool != \"$SA\" and (.Pool | test(\"^10\\\\.200\\\\.\")) and .PoolID != \"$PA\""
PB=$(jq -r .PoolID <<<"$RB")
call "ReleasePool of the first pick" h1 IpamDriver.ReleasePool "{\"PoolID\":\"$PA\"}" '. == {}'
call "ReleasePool of the second pick" h1 IpamDriver.ReleasePool "{\"PoolID\":\"$PB\"}" '. == {}'

# ---- docker network create -d vxmesh --ipam-driver vxmesh --subnet 10.10.0.0/24 blue ----
N1=$(hexid)
call "RequestAddress of the gateway: 10.10.0.1/24" h1 IpamDriver.RequestAddress \
    "{\"Address\":\"\",\"Options\":$GWTYPE,\"PoolID\":\"$P1\"}" '.Address == "10.10.0.1/24"'
netbody() { # NETWORKID POOL GATEWAY GENERIC-JSON [IPV6DATA]
    local f='{"IPv4Data":[{"AddressSpace":"%s","Gateway":"%s","Pool":"%s"}],"IPv6Data":%s,'
    f+='"NetworkID":"%s","Options":{"com.docker.network.enable_ipv6":false,"%s":%s}}'
    # shellcheck disable=SC2059
    printf "$f" "$SPACE" "$3" "$2" "${5:-[]}" "$1" "$GEN" "$4"
}
call "CreateNetwork blue (-o vxmesh.name=blue -o vxmesh.vni=4242)" h1 NetworkDriver.CreateNetwork \
    "$(netbody "$N1" 10.10.0.0/24 10.10.0.1/24 '{"vxmesh.name":"blue","vxmesh.vni":"4242"}')" \
    '. == {}'
check "vxmesh net ls on h1 has blue with 10.10.0.0/24 and VNI 4242" bash -c \
    "vx h1 net ls --json | jq -e '.networks[] | select(.name == \"blue\") |
        .subnet == \"10.10.0.0/24\" and .vni == 4242'"
check "blue reaches h2 through gossip" wait_for 10 vx h2 net inspect blue

# ---- docker run --network blue: RequestAddress, CreateEndpoint, Join ----
call "RequestAddress without Address: one from the pool, as CIDR" h1 IpamDriver.RequestAddress \
    "{\"Address\":\"\",\"Options\":{},\"PoolID\":\"$P1\"}" \
    '.Address | test("^10\\.10\\.0\\.[0-9]+/24$") and . != "10.10.0.1/24"'
A1=$(jq -r .Address <<<"$RB")
call "RequestAddress 10.10.0.20: that one" h1 IpamDriver.RequestAddress \
    "{\"Address\":\"10.10.0.20\",\"Options\":{},\"PoolID\":\"$P1\"}" '.Address == "10.10.0.20/24"'
epbody() { # NETWORKID ENDPOINTID ADDRESS MAC
    local f='{"EndpointID":"%s","Interface":{"Address":"%s","AddressIPv6":"","MacAddress":"%s"},'
    f+='"NetworkID":"%s","Options":{"com.docker.network.endpoint.exposedports":[],'
    f+='"com.docker.network.portmap":[]}}'
    # shellcheck disable=SC2059
    printf "$f" "$2" "$3" "$4" "$1"
}
ids() { printf '{"EndpointID":"%s","NetworkID":"%s"}' "$2" "$1"; }
E1=$(hexid)
E2=$(hexid)
call "CreateEndpoint without a MAC: the reply gives one (and nothing else)" h1 \
    NetworkDriver.CreateEndpoint "$(epbody "$N1" "$E1" "$A1" "")" \
    '(.Interface | keys) == ["MacAddress"] and
     (.Interface.MacAddress | test("^[0-9a-f][26ae](:[0-9a-f]{2}){5}$"))'
MAC1=$(jq -r .Interface.MacAddress <<<"$RB")
call "CreateEndpoint with a MAC: {} or that MAC" h1 NetworkDriver.CreateEndpoint \
    "$(epbody "$N1" "$E2" 10.10.0.20/24 02:42:0a:0a:00:14)" \
    '. == {} or .Interface == {"MacAddress":"02:42:0a:0a:00:14"}'
SANDBOX=/var/run/docker/netns/$(hexid | head -c 12)
joinbody() { # NETWORKID ENDPOINTID
    printf '{"EndpointID":"%s","NetworkID":"%s","Options":{},"SandboxKey":"%s"}' "$2" "$1" "$SANDBOX"
}
call "Join: SrcName and DstPrefix eth" h1 NetworkDriver.Join "$(joinbody "$N1" "$E1")" \
    '(.InterfaceName.SrcName | length) > 0 and .InterfaceName.DstPrefix == "eth"'
SRC1=$(jq -r .InterfaceName.SrcName <<<"$RB")
check "SrcName $SRC1 is a link in h1's namespace with the endpoint's MAC" bash -c \
    "ip -n $PFX-h1 -j link show '$SRC1' | jq -e '.[0].address == \"$MAC1\"'"
check "Join again (a repeated call) gives the same SrcName" bash -c \
    "curl -s --unix-socket $TMP/h1/plugins/vxmesh.sock -X POST --data-binary '$(joinbody "$N1" "$E1")' \
        http://d/NetworkDriver.Join | jq -e '.InterfaceName.SrcName == \"$SRC1\"'"
check "the endpoint is in vxmesh ep ls on h1" bash -c \
    "vx h1 ep ls --json | jq -e '.endpoints[] | select(.network == \"blue\" and .ip == \"$A1\" and .mac == \"$MAC1\")'"
remote_has() { # agent net mac
    vx "$1" fdb "$2" --json | jq -e --arg m "$3" 'any(.entries[]; .mac == $m and .why == "remote endpoint")'
}
export -f remote_has
check "h2's FDB for blue has the endpoint's MAC" wait_for 10 remote_has h2 blue "$MAC1"
call "EndpointOperInfo: a Value object" h1 NetworkDriver.EndpointOperInfo "$(ids "$N1" "$E1")" \
    '(.Value | type) == "object"'
call "ProgramExternalConnectivity: {}" h1 NetworkDriver.ProgramExternalConnectivity \
    "{\"EndpointID\":\"$E1\",\"NetworkID\":\"$N1\",\"Options\":{}}" '. == {}'

# Docker moves SrcName into the container, renames it and sets the address.
ip -n "$PFX-h1" link set "$SRC1" netns "$PFX-c1"
ip -n "$PFX-c1" link set "$SRC1" name eth0
ip -n "$PFX-c1" addr add "$A1" dev eth0
ip -n "$PFX-c1" link set eth0 up

# ---- the same network on h2, through h2's own plugin ----
N2=$(hexid)
call "h2: RequestPool 10.10.0.0/24" h2 IpamDriver.RequestPool "$(poolreq 10.10.0.0/24)" \
    '.Pool == "10.10.0.0/24" and .Data["com.docker.network.gateway"] == "10.10.0.1/24"'
P2=$(jq -r .PoolID <<<"$RB")
# docker network create -d vxmesh -o vxmesh.name=blue mynet: dockerd lists it as mynet.
register "$N2" mynet
call "h2: CreateNetwork with -o vxmesh.name=blue binds to the cluster's blue" h2 \
    NetworkDriver.CreateNetwork "$(netbody "$N2" 10.10.0.0/24 10.10.0.1/24 '{"vxmesh.name":"blue"}')" \
    '. == {}'
MARK=$(wc -l <"$TMP/h2/dockerd.log")
call "h2: RequestAddress" h2 IpamDriver.RequestAddress \
    "{\"Address\":\"\",\"Options\":{},\"PoolID\":\"$P2\"}" '.Address | test("^10\\.10\\.0\\.")'
A4=$(jq -r .Address <<<"$RB")
check "h2's address is none of h1's" bash -c "[ '$A4' != '$A1' ] && [ '$A4' != 10.10.0.20/24 ]"
E4=$(hexid)
call "h2: CreateEndpoint" h2 NetworkDriver.CreateEndpoint "$(epbody "$N2" "$E4" "$A4" "")" \
    '.Interface.MacAddress | length == 17'
call "h2: Join" h2 NetworkDriver.Join "$(joinbody "$N2" "$E4")" '.InterfaceName.DstPrefix == "eth"'
SRC4=$(jq -r .InterfaceName.SrcName <<<"$RB")
ip -n "$PFX-h2" link set "$SRC4" netns "$PFX-c2"
ip -n "$PFX-c2" link set "$SRC4" name eth0
ip -n "$PFX-c2" addr add "$A4" dev eth0
ip -n "$PFX-c2" link set eth0 up
check "container c1 (h1) pings c2 (h2) over blue" wait_for 10 ping_ok "$PFX-c1" "${A4%/*}"
sleep 1.2 # two reconcile passes: the moved interfaces must stay where Docker put them
check "after reconcile passes, h1 has not recreated $SRC1 in its namespace" \
    bash -c "! ip -n $PFX-h1 link show '$SRC1'"
check "... and c1 still pings c2" ping_ok "$PFX-c1" "${A4%/*}"

check "h2 keeps listing dockerd's networks (mirroring)" wait_for 5 bash -c \
    "tail -n +$((MARK + 1)) $TMP/h2/dockerd.log | grep -q '^GET /v1.41/networks?filters='"
check "... and does not mirror blue into dockerd again: it is there as mynet" bash -c \
    "! tail -n +$((MARK + 1)) $TMP/h2/dockerd.log |
       sed -n '/^GET \\/v1.41\\/networks?filters=/,\$p' | grep -q '^POST /v1.41/networks/create'"

# ---- bad calls: 500 {"Err"}, and nothing changes ----
snapshot() {
    { vx h1 net ls --json | jq -c '[.networks[] | {name, vni, subnet, endpoints}]'
      vx h1 ep ls --json | jq -c '[.endpoints[] | {id, ip, mac, status}] | sort_by(.id)'
      vx h2 net ls --json | jq -c '[.networks[] | {name, vni, subnet}]'
      ip -n "$PFX-h1" -o link show | awk '{print $2}' | sort; } 2>&1
}
BEFORE=$(snapshot)
NX=$(hexid)
EX=$(hexid)
refuse "malformed JSON" h1 NetworkDriver.CreateNetwork '{"NetworkID": "x", ' 'json'
refuse "a JSON array body" h1 NetworkDriver.CreateEndpoint '[1, 2]' 'object|json'
refuse "CreateEndpoint on an unknown NetworkID" h1 NetworkDriver.CreateEndpoint \
    "$(epbody "$NX" "$EX" 10.10.0.30/24 "")" 'unknown network.*create it again'
refuse "Join on an unknown NetworkID" h1 NetworkDriver.Join "$(joinbody "$NX" "$E2")" 'unknown'
refuse "Join of an unknown EndpointID" h1 NetworkDriver.Join "$(joinbody "$N1" "$EX")" 'unknown endpoint'
refuse "CreateNetwork without NetworkID" h1 NetworkDriver.CreateNetwork \
    "$(netbody "" 10.30.0.0/24 10.30.0.1/24 '{"vxmesh.name":"x"}')" 'NetworkID'
refuse "RequestAddress outside the pool" h1 IpamDriver.RequestAddress \
    "{\"Address\":\"10.11.0.5\",\"Options\":{},\"PoolID\":\"$P1\"}" 'not inside.*10\.10\.0\.0/24'
refuse "RequestAddress on an unknown PoolID" h1 IpamDriver.RequestAddress \
    '{"Address":"","Options":{},"PoolID":"nosuch"}' 'unknown pool'
refuse "RequestPool with an invalid CIDR" h1 IpamDriver.RequestPool "$(poolreq 10.30.0.0/33)" \
    'subnet.*CIDR'
refuse "RequestPool with host bits set" h1 IpamDriver.RequestPool "$(poolreq 10.30.0.1/24)" \
    'no host bits'
refuse "RequestPool with V6 true" h1 IpamDriver.RequestPool "$(poolreq "" true)" 'without --ipv6'
refuse "RequestPool with a SubPool (--ip-range)" h1 IpamDriver.RequestPool \
    "$(poolreq 10.30.0.0/24 false 10.30.0.0/25)" 'ip-range'
refuse "CreateNetwork with IPv6Data" h1 NetworkDriver.CreateNetwork \
    "$(netbody "$NX" 10.30.0.0/24 10.30.0.1/24 '{"vxmesh.name":"v6"}' \
        '[{"AddressSpace":"vxmesh","Gateway":"fd00::1/64","Pool":"fd00::/64"}]')" 'without --ipv6'
refuse "CreateNetwork with an unknown -o vxmesh.foo" h1 NetworkDriver.CreateNetwork \
    "$(netbody "$NX" 10.30.0.0/24 10.30.0.1/24 '{"vxmesh.name":"x","vxmesh.foo":"1"}')" \
    'unknown option.*vxmesh\.foo.*known'
refuse "CreateNetwork with -o vxmesh.vni=0" h1 NetworkDriver.CreateNetwork \
    "$(netbody "$NX" 10.30.0.0/24 10.30.0.1/24 '{"vxmesh.name":"x","vxmesh.vni":"0"}')" 'vni'
refuse "CreateNetwork overlapping blue's subnet" h1 NetworkDriver.CreateNetwork \
    "$(netbody "$NX" 10.10.0.0/16 10.10.0.1/16 '{"vxmesh.name":"x"}')" 'overlaps.*blue'
# A second Docker network for the same vxmesh name, as dockerd does it:
# RequestPool, CreateNetwork (refused), ReleasePool of that pool.
refuse "CreateNetwork (other NetworkID) named blue with another subnet" h1 \
    NetworkDriver.CreateNetwork \
    "$(netbody "$NX" 10.30.0.0/24 10.30.0.1/24 '{"vxmesh.name":"blue"}')" \
    'subnet 10\.10\.0\.0/24.*--subnet 10\.10\.0\.0/24'
call "RequestPool 10.10.0.0/24 for that second network: blue's PoolID" h1 IpamDriver.RequestPool \
    "$(poolreq 10.10.0.0/24)" ".PoolID == \"$P1\""
refuse "CreateNetwork (other NetworkID) named blue with another VNI" h1 \
    NetworkDriver.CreateNetwork \
    "$(netbody "$NX" 10.10.0.0/24 10.10.0.1/24 '{"vxmesh.name":"blue","vxmesh.vni":"4243"}')" \
    'VNI 4242.*vxmesh\.vni'
call "dockerd's rollback: ReleasePool of it" h1 IpamDriver.ReleasePool "{\"PoolID\":\"$P1\"}" '. == {}'
refuse "the refused NetworkID is not known afterwards" h1 NetworkDriver.CreateEndpoint \
    "$(epbody "$NX" "$EX" 10.10.0.30/24 "")" 'unknown network'
call "blue's pool still hands out addresses after that rollback" h1 IpamDriver.RequestAddress \
    "{\"Address\":\"10.10.0.30\",\"Options\":{},\"PoolID\":\"$P1\"}" '.Address == "10.10.0.30/24"'
call "... and takes it back" h1 IpamDriver.ReleaseAddress \
    "{\"Address\":\"10.10.0.30\",\"PoolID\":\"$P1\"}" '. == {}'
call "... so it can be handed out again" h1 IpamDriver.RequestAddress \
    "{\"Address\":\"10.10.0.30\",\"Options\":{},\"PoolID\":\"$P1\"}" '.Address == "10.10.0.30/24"'
dcall h1 IpamDriver.ReleaseAddress "{\"Address\":\"10.10.0.30\",\"PoolID\":\"$P1\"}"
refuse "RequestAddress of an address h1 holds" h1 IpamDriver.RequestAddress \
    "{\"Address\":\"10.10.0.20\",\"Options\":{},\"PoolID\":\"$P1\"}" 'in use'
refuse "RequestAddress of an address h2 holds" h1 IpamDriver.RequestAddress \
    "{\"Address\":\"${A4%/*}\",\"Options\":{},\"PoolID\":\"$P1\"}" 'in use'
refuse "RequestAddress of the broadcast address" h1 IpamDriver.RequestAddress \
    "{\"Address\":\"10.10.0.255\",\"Options\":{},\"PoolID\":\"$P1\"}" 'reserved|broadcast'
refuse "CreateEndpoint (Docker's own IPAM) with an address h2 holds" h1 \
    NetworkDriver.CreateEndpoint "$(epbody "$N1" "$EX" "$A4" "")" 'in use'
refuse "CreateEndpoint with the address of endpoint E2" h1 \
    NetworkDriver.CreateEndpoint "$(epbody "$N1" "$EX" 10.10.0.20/24 "")" 'in use'
dcall h1 NetworkDriver.NoSuchMethod '{}'
want "an unknown path -> 404 (\"not implemented\" to Docker)" 404 'true'
check "an unknown path answers 404 to a GET too" bash -c \
    "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --unix-socket $TMP/h1/plugins/vxmesh.sock http://d/nosuch)\" = 404 ]"
AFTER=$(snapshot)
check "bad calls left networks, endpoints and links untouched" [ "$BEFORE" = "$AFTER" ]
[ "$BEFORE" = "$AFTER" ] || diff <(echo "$BEFORE") <(echo "$AFTER") | sed 's/^/# /'
refuse "no refused CreateEndpoint left a record" h1 NetworkDriver.EndpointOperInfo \
    "$(ids "$N1" "$EX")" 'unknown endpoint'
check "agent h1 still alive" kill -0 "$AGENT_PID_h1"

# ---- no dockerd on h1 and no -o vxmesh.name: the name cannot be learned ----
P3=$(dcall h1 IpamDriver.RequestPool "$(poolreq 10.40.0.0/24)"; jq -r .PoolID <<<"$RB")
N3=$(hexid)
call "h1: CreateNetwork without vxmesh.name (no dockerd to ask)" h1 NetworkDriver.CreateNetwork \
    "$(netbody "$N3" 10.40.0.0/24 10.40.0.1/24 '{}')" '. == {}'
refuse "... then CreateEndpoint on it says to use -o vxmesh.name or reach dockerd" h1 \
    NetworkDriver.CreateEndpoint "$(epbody "$N3" "$(hexid)" 10.40.0.5/24 "")" \
    'vxmesh\.name|dockerd'
call "... DeleteNetwork of it" h1 NetworkDriver.DeleteNetwork "{\"NetworkID\":\"$N3\"}" '. == {}'
call "... ReleasePool of it" h1 IpamDriver.ReleasePool "{\"PoolID\":\"$P3\"}" '. == {}'

# ---- agent restart: records survive, no CreateNetwork replay ----
kill -TERM "$AGENT_PID_h1"
wait "$AGENT_PID_h1" 2>/dev/null
if start_host 1 --join 192.0.2.2; then ok "h1's agent restarts (TERM, same state dir)"; else not_ok "h1's agent restarts"; fi
check "after restart: the moved interface was not recreated in h1" \
    bash -c "sleep 1.2; ! ip -n $PFX-h1 link show '$SRC1'"
call "after restart: EndpointOperInfo still answers for the joined endpoint" h1 \
    NetworkDriver.EndpointOperInfo "$(ids "$N1" "$E1")" '(.Value | type) == "object"'
check "after restart: c1 still pings c2" wait_for 10 ping_ok "$PFX-c1" "${A4%/*}"
call "after restart: RequestAddress on blue's pool" h1 IpamDriver.RequestAddress \
    "{\"Address\":\"\",\"Options\":{},\"PoolID\":\"$P1\"}" '.Address | test("^10\\.10\\.0\\.")'
A3=$(jq -r .Address <<<"$RB")
check "... not one that is in use" bash -c "[ '$A3' != '$A1' ] && [ '$A3' != 10.10.0.20/24 ] && [ '$A3' != '$A4' ]"
E3=$(hexid)
call "after restart: CreateEndpoint on blue without CreateNetwork replay" h1 \
    NetworkDriver.CreateEndpoint "$(epbody "$N1" "$E3" "$A3" "")" '.Interface.MacAddress | length == 17'
call "after restart: Join of the new endpoint" h1 NetworkDriver.Join "$(joinbody "$N1" "$E3")" \
    '.InterfaceName.DstPrefix == "eth"'
SRC3=$(jq -r .InterfaceName.SrcName <<<"$RB")
check "... its SrcName exists" ip -n "$PFX-h1" link show "$SRC3"

# ---- docker stop / rm / network rm: Leave, DeleteEndpoint, ReleaseAddress, DeleteNetwork ----
call "RevokeExternalConnectivity: {}" h1 NetworkDriver.RevokeExternalConnectivity "$(ids "$N1" "$E1")" '. == {}'
call "Leave E1" h1 NetworkDriver.Leave "$(ids "$N1" "$E1")" '. == {}'
check "... its interface is gone (from c1 too)" bash -c \
    "! ip -n $PFX-c1 link show eth0 && ! ip -n $PFX-h1 link show '$SRC1'"
check "... it left vxmesh ep ls" bash -c \
    "! vx h1 ep ls --json | jq -e '.endpoints[] | select(.mac == \"$MAC1\")'"
check "... and h2's FDB" wait_for 10 bash -c "! remote_has h2 blue $MAC1"
call "DeleteEndpoint E1" h1 NetworkDriver.DeleteEndpoint "$(ids "$N1" "$E1")" '. == {}'
refuse "EndpointOperInfo of a deleted endpoint" h1 NetworkDriver.EndpointOperInfo "$(ids "$N1" "$E1")" 'unknown endpoint'
call "ReleaseAddress $A1" h1 IpamDriver.ReleaseAddress "{\"Address\":\"${A1%/*}\",\"PoolID\":\"$P1\"}" '. == {}'
call "Leave E3" h1 NetworkDriver.Leave "$(ids "$N1" "$E3")" '. == {}'
check "... its interface is gone" bash -c "! ip -n $PFX-h1 link show '$SRC3'"
for e in "$E3" "$E2"; do
    call "DeleteEndpoint ${e:0:12} (never joined or left)" h1 NetworkDriver.DeleteEndpoint "$(ids "$N1" "$e")" '. == {}'
done
call "DeleteEndpoint of an unknown endpoint: {} (dockerd's cleanup at start)" h1 \
    NetworkDriver.DeleteEndpoint "$(ids "$N1" "$EX")" '. == {}'
for a in "$A3" 10.10.0.20/24; do
    call "ReleaseAddress $a" h1 IpamDriver.ReleaseAddress "{\"Address\":\"${a%/*}\",\"PoolID\":\"$P1\"}" '. == {}'
done
# Docker's own IPAM (no --ipam-driver vxmesh): CreateEndpoint leases the address itself.
E7=$(hexid)
call "CreateEndpoint with an address vxmesh did not hand out" h1 NetworkDriver.CreateEndpoint \
    "$(epbody "$N1" "$E7" 10.10.0.77/24 "")" '.Interface.MacAddress | length == 17'
refuse "... which is then leased cluster-wide (h2 cannot take it)" h2 IpamDriver.RequestAddress \
    "{\"Address\":\"10.10.0.77\",\"Options\":{},\"PoolID\":\"$P2\"}" 'in use'
call "... DeleteEndpoint of it" h1 NetworkDriver.DeleteEndpoint "$(ids "$N1" "$E7")" '. == {}'
call "... releases it" h1 IpamDriver.RequestAddress \
    "{\"Address\":\"10.10.0.77\",\"Options\":{},\"PoolID\":\"$P1\"}" '.Address == "10.10.0.77/24"'
dcall h1 IpamDriver.ReleaseAddress "{\"Address\":\"10.10.0.77\",\"PoolID\":\"$P1\"}"
check "h1 has no endpoint left" bash -c "[ \"\$(vx h1 ep ls --json | jq '.endpoints | length')\" = 0 ]"
refuse "DeleteNetwork of blue while h2 still has an endpoint" h1 NetworkDriver.DeleteNetwork \
    "{\"NetworkID\":\"$N1\"}" 'endpoint|host'
call "h2: Leave, DeleteEndpoint, ReleaseAddress" h2 NetworkDriver.Leave "$(ids "$N2" "$E4")" '. == {}'
dcall h2 NetworkDriver.DeleteEndpoint "$(ids "$N2" "$E4")"
want "h2: DeleteEndpoint" 200 '. == {}'
dcall h2 IpamDriver.ReleaseAddress "{\"Address\":\"${A4%/*}\",\"PoolID\":\"$P2\"}"
want "h2: ReleaseAddress" 200 '. == {}'
check "h1 sees no remote endpoint in blue any more" wait_for 10 bash -c \
    "vx h1 fdb blue --json | jq -e '[.entries[] | select(.why == \"remote endpoint\")] | length == 0'"
call "DeleteNetwork blue on h1" h1 NetworkDriver.DeleteNetwork "{\"NetworkID\":\"$N1\"}" '. == {}'
check "blue is gone from vxmesh net ls on h1" bash -c \
    "! vx h1 net ls --json | jq -e '.networks[] | select(.name == \"blue\")'"
check "... and on h2" wait_for 10 bash -c \
    "! vx h2 net ls --json | jq -e '.networks[] | select(.name == \"blue\")'"
call "ReleasePool blue" h1 IpamDriver.ReleasePool "{\"PoolID\":\"$P1\"}" '. == {}'
call "h2: DeleteNetwork of its (now removed) blue" h2 NetworkDriver.DeleteNetwork "{\"NetworkID\":\"$N2\"}" '. == {}'
call "h2: ReleasePool" h2 IpamDriver.ReleasePool "{\"PoolID\":\"$P2\"}" '. == {}'

# ---- h2 with the fake dockerd: the name is learned after CreateNetwork ----
N5=$(hexid)
register "$N5" green
P5=$(dcall h2 IpamDriver.RequestPool "$(poolreq 10.20.0.0/24)"; jq -r .PoolID <<<"$RB")
call "h2: CreateNetwork without vxmesh.name (dockerd knows it as green)" h2 \
    NetworkDriver.CreateNetwork "$(netbody "$N5" 10.20.0.0/24 10.20.0.1/24 '{}')" '. == {}'
check "green appears in vxmesh net ls on h2 with 10.20.0.0/24" wait_for 10 bash -c \
    "vx h2 net ls --json | jq -e '.networks[] | select(.name == \"green\") | .subnet == \"10.20.0.0/24\"'"
check "... after the agent asked dockerd for it" grep -q "^GET /v1.41/networks/$N5\$" "$TMP/h2/dockerd.log"
dcall h2 IpamDriver.RequestAddress "{\"Address\":\"\",\"Options\":{},\"PoolID\":\"$P5\"}"
A5=$(jq -r .Address <<<"$RB")
E5=$(hexid)
call "h2: CreateEndpoint on green" h2 NetworkDriver.CreateEndpoint "$(epbody "$N5" "$E5" "$A5" "")" \
    '.Interface.MacAddress | length == 17'
call "h2: EndpointOperInfo names green" h2 NetworkDriver.EndpointOperInfo "$(ids "$N5" "$E5")" \
    '.Value | tostring | test("green")'
# Registered only after CreateNetwork: endpoint calls wait for the name.
N6=$(hexid)
P6=$(dcall h2 IpamDriver.RequestPool "$(poolreq 10.21.0.0/24)"; jq -r .PoolID <<<"$RB")
call "h2: CreateNetwork of a network dockerd does not know yet" h2 NetworkDriver.CreateNetwork \
    "$(netbody "$N6" 10.21.0.0/24 10.21.0.1/24 '{}')" '. == {}'
E6=$(hexid)
( dcall h2 NetworkDriver.CreateEndpoint "$(epbody "$N6" "$E6" 10.21.0.5/24 "")"
  printf '%s\n%s\n' "$ST" "$RB" >"$TMP/h2/ep6" ) &
EP6_PID=$!
PIDS+=("$EP6_PID")
sleep 1
check "... CreateEndpoint waits meanwhile" kill -0 "$EP6_PID"
register "$N6" yellow
wait "$EP6_PID"
check "... and succeeds once dockerd knows the name" bash -c \
    "[ \"\$(head -n1 $TMP/h2/ep6)\" = 200 ] && tail -n +2 $TMP/h2/ep6 | jq -e '.Interface.MacAddress'"
check "yellow exists in vxmesh net ls on h2" bash -c \
    "vx h2 net ls --json | jq -e '.networks[] | select(.name == \"yellow\") | .subnet == \"10.21.0.0/24\"'"
check "the agent lists dockerd's vxmesh networks (mirroring)" \
    grep -q '^GET /v1.41/networks?filters=' "$TMP/h2/dockerd.log"
for e in "$E5:$N5" "$E6:$N6"; do
    dcall h2 NetworkDriver.DeleteEndpoint "$(ids "${e#*:}" "${e%:*}")"
    want "h2: DeleteEndpoint ${e:0:12}" 200 '. == {}'
done
dcall h2 IpamDriver.ReleaseAddress "{\"Address\":\"${A5%/*}\",\"PoolID\":\"$P5\"}"
want "h2: ReleaseAddress on green" 200 '. == {}'
for n in "$N5" "$N6"; do
    dcall h2 NetworkDriver.DeleteNetwork "{\"NetworkID\":\"$n\"}"
    want "h2: DeleteNetwork ${n:0:12}" 200 '. == {}'
done
for p in "$P5" "$P6"; do
    dcall h2 IpamDriver.ReleasePool "{\"PoolID\":\"$p\"}"
done

# ---- h2: a network dockerd forgot (deleted while the agent was down, or
# force-deleted by dockerd at its start) loses its record ----
N8=$(hexid)
register "$N8" orange
dcall h2 IpamDriver.RequestPool "$(poolreq 10.22.0.0/24)"
P8=$(jq -r .PoolID <<<"$RB")
call "h2: CreateNetwork orange" h2 NetworkDriver.CreateNetwork \
    "$(netbody "$N8" 10.22.0.0/24 10.22.0.1/24 '{"vxmesh.name":"orange"}')" '. == {}'
jq --arg i "$N8" 'del(.[$i])' "$TMP/h2/nets.json" >"$TMP/h2/nets.tmp" &&
    mv "$TMP/h2/nets.tmp" "$TMP/h2/nets.json"
check "... dropped once dockerd has not listed it three times" \
    wait_for 20 grep -q "network ${N8:0:12} (orange) is gone from dockerd" "$TMP/h2/log"
refuse "... then it is an unknown network" h2 NetworkDriver.CreateEndpoint \
    "$(epbody "$N8" "$(hexid)" 10.22.0.5/24 "")" 'unknown network'
check "... the vxmesh network orange stays (it is the cluster's)" vx h2 net inspect orange
vx h2 net rm orange >/dev/null
dcall h2 IpamDriver.ReleasePool "{\"PoolID\":\"$P8\"}"

# ---- h2: names and bindings that must not go wrong ----
# docker network create -d vxmesh -o vxmesh.name=red --subnet 10.50.0.0/24 redapp
N7=$(hexid)
register "$N7" redapp
P7=$(dcall h2 IpamDriver.RequestPool "$(poolreq 10.50.0.0/24)"; jq -r .PoolID <<<"$RB")
call "h2: CreateNetwork redapp with -o vxmesh.name=red" h2 NetworkDriver.CreateNetwork \
    "$(netbody "$N7" 10.50.0.0/24 10.50.0.1/24 '{"vxmesh.name":"red"}')" '. == {}'
MARK=$(wc -l <"$TMP/h2/dockerd.log")
check "red is in vxmesh net ls on h2 with 10.50.0.0/24" bash -c \
    "vx h2 net ls --json |
       jq -e '.networks[] | select(.name == \"red\") | .subnet == \"10.50.0.0/24\"'"
BEFORE=$(snapshot)
refuse "h2: CreateNetwork with -o vxmesh.name containing a space" h2 NetworkDriver.CreateNetwork \
    "$(netbody "$(hexid)" 10.60.0.0/24 10.60.0.1/24 '{"vxmesh.name":"a b"}')" 'vxmesh\.name'
refuse "h2: CreateNetwork with gateway 10.60.0.11111/24" h2 NetworkDriver.CreateNetwork \
    "$(netbody "$(hexid)" 10.60.0.0/24 10.60.0.11111/24 '{"vxmesh.name":"ab"}')" \
    'gateway.*10\.60\.0\.11111'
AFTER=$(snapshot)
check "... both changed nothing" [ "$BEFORE" = "$AFTER" ]
# A vxmesh network made with the CLI, and a Docker network of that name
# with another subnet: its binding fails, and no other Docker network uses violet.
NB=$(hexid)
register "$NB" violet
check "h2: vxmesh net create violet --subnet 10.51.0.0/24" \
    vx h2 net create violet --subnet 10.51.0.0/24
PB=$(dcall h2 IpamDriver.RequestPool "$(poolreq 10.54.0.0/24)"; jq -r .PoolID <<<"$RB")
call "h2: CreateNetwork of a Docker network named violet with 10.54.0.0/24" h2 \
    NetworkDriver.CreateNetwork "$(netbody "$NB" 10.54.0.0/24 10.54.0.1/24 '{}')" '. == {}'
refuse "... CreateEndpoint on it names violet's subnet" h2 NetworkDriver.CreateEndpoint \
    "$(epbody "$NB" "$(hexid)" 10.54.0.5/24 "")" 'subnet 10\.51\.0\.0/24.*not 10\.54\.0\.0/24'
call "... DeleteNetwork of it" h2 NetworkDriver.DeleteNetwork "{\"NetworkID\":\"$NB\"}" '. == {}'
check "... left the vxmesh network violet (10.51.0.0/24) alone" bash -c \
    "vx h2 net ls --json |
       jq -e '.networks[] | select(.name == \"violet\") | .subnet == \"10.51.0.0/24\"'"
dcall h2 IpamDriver.ReleasePool "{\"PoolID\":\"$PB\"}"
check "h2: vxmesh net rm violet" vx h2 net rm violet
# A Docker name vxmesh cannot use (70 characters, no -o vxmesh.name).
NL=$(hexid)
register "$NL" "$(printf 'x%.0s' {1..70})"
PL=$(dcall h2 IpamDriver.RequestPool "$(poolreq 10.52.0.0/24)"; jq -r .PoolID <<<"$RB")
call "h2: CreateNetwork of a Docker network with a 70-character name" h2 \
    NetworkDriver.CreateNetwork "$(netbody "$NL" 10.52.0.0/24 10.52.0.1/24 '{}')" '. == {}'
refuse "... CreateEndpoint on it says the name cannot be a vxmesh name" h2 \
    NetworkDriver.CreateEndpoint "$(epbody "$NL" "$(hexid)" 10.52.0.5/24 "")" \
    'cannot be a vxmesh network name.*vxmesh\.name'
check "... and no vxmesh network was made from a shortened name" bash -c \
    "vx h2 net ls --json | jq -e '[.networks[].name] == [\"red\"]'"
call "... DeleteNetwork of it" h2 NetworkDriver.DeleteNetwork "{\"NetworkID\":\"$NL\"}" '. == {}'
dcall h2 IpamDriver.ReleasePool "{\"PoolID\":\"$PL\"}"
# ReleaseAddress of an address a Docker endpoint holds (before and after Join).
dcall h2 IpamDriver.RequestAddress "{\"Address\":\"\",\"Options\":{},\"PoolID\":\"$P7\"}"
A7=$(jq -r .Address <<<"$RB")
E7=$(hexid)
call "h2: CreateEndpoint on redapp" h2 NetworkDriver.CreateEndpoint \
    "$(epbody "$N7" "$E7" "$A7" "")" '.Interface.MacAddress | length == 17'
MAC7=$(jq -r .Interface.MacAddress <<<"$RB")
dcall h2 IpamDriver.ReleaseAddress "{\"Address\":\"${A7%/*}\",\"PoolID\":\"$P7\"}"
refuse "... ReleaseAddress of its $A7 keeps it leased" h2 IpamDriver.RequestAddress \
    "{\"Address\":\"${A7%/*}\",\"Options\":{},\"PoolID\":\"$P7\"}" 'in use'
call "h2: Join it" h2 NetworkDriver.Join "$(joinbody "$N7" "$E7")" \
    '.InterfaceName.DstPrefix == "eth"'
SRC7=$(jq -r .InterfaceName.SrcName <<<"$RB")
dcall h2 IpamDriver.ReleaseAddress "{\"Address\":\"${A7%/*}\",\"PoolID\":\"$P7\"}"
refuse "... ReleaseAddress after Join keeps it leased too" h2 IpamDriver.RequestAddress \
    "{\"Address\":\"${A7%/*}\",\"Options\":{},\"PoolID\":\"$P7\"}" 'in use'
# vxmesh ep detach behind Docker's back: a new Join must give a real interface.
VX7=$(vx h2 ep ls --json | jq -r --arg m "$MAC7" '.endpoints[] | select(.mac == $m) | .id')
check "h2: vxmesh ep detach of its vxmesh endpoint" bash -c \
    "[ -n '$VX7' ] && vx h2 ep detach '$VX7' >/dev/null && ! ip -n $PFX-h2 link show '$SRC7'"
call "h2: Join it again" h2 NetworkDriver.Join "$(joinbody "$N7" "$E7")" \
    '.InterfaceName.DstPrefix == "eth"'
SRC8=$(jq -r .InterfaceName.SrcName <<<"$RB")
check "... gives a new SrcName $SRC8, a link in h2 with the endpoint's MAC" bash -c \
    "[ '$SRC8' != '$SRC7' ] &&
     ip -n $PFX-h2 -j link show '$SRC8' | jq -e '.[0].address == \"$MAC7\"'"
check "... and a vxmesh endpoint in red with its address and MAC" bash -c \
    "vx h2 ep ls --json | jq -e '.endpoints[] |
        select(.network == \"red\" and .ip == \"$A7\" and .mac == \"$MAC7\")'"
# Mirroring finds redapp in dockerd's list: bound to red, so nothing to create or remove.
check "h2 listed dockerd's networks twice since redapp was created" wait_for 10 bash -c \
    "[ \$(tail -n +$((MARK + 1)) $TMP/h2/dockerd.log |
         grep -c '^GET /v1.41/networks?filters=') -ge 2 ]"
check "... and DELETEd nothing in dockerd (redapp is bound to red by -o vxmesh.name)" bash -c \
    "! tail -n +$((MARK + 1)) $TMP/h2/dockerd.log | grep '^DELETE'"
call "h2: Leave on redapp" h2 NetworkDriver.Leave "$(ids "$N7" "$E7")" '. == {}'
dcall h2 NetworkDriver.DeleteEndpoint "$(ids "$N7" "$E7")"
want "h2: DeleteEndpoint on redapp" 200 '. == {}'
dcall h2 IpamDriver.ReleaseAddress "{\"Address\":\"${A7%/*}\",\"PoolID\":\"$P7\"}"
want "h2: ReleaseAddress on redapp" 200 '. == {}'
dcall h2 NetworkDriver.DeleteNetwork "{\"NetworkID\":\"$N7\"}"
want "h2: DeleteNetwork redapp" 200 '. == {}'
dcall h2 IpamDriver.ReleasePool "{\"PoolID\":\"$P7\"}"
check "no vxmesh network left on h1 or h2" bash -c \
    "[ \"\$(vx h2 net ls --json | jq '.networks | length')\" = 0 ] &&
     [ \"\$(vx h1 net ls --json | jq '.networks | length')\" = 0 ]"
check "no agent logged an error" bash -c "! grep -h '\\berror\\b' $TMP/h1/log $TMP/h2/log | grep -v 'level=debug'"
finish
