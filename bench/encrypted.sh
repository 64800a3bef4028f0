#!/usr/bin/env bash
# Throughput, latency and CPU of vxmesh's datapaths next to the hand-built
# kernel VXLAN shape and every packaged userspace tunnel of Debian 12, in one
# run on the same two namespace hosts (one veth, MTU 1500):
#
#   h1 (192.0.2.1) ── veth ul0 ── h2 (192.0.2.2)
#   client side                   server side
#
#   kernel        bridge + VXLAN (VNI 4242, port 4800, nolearning, proxy),
#                 static FDB and neighbour entries, containers k1/k2 on veths
#   vxmesh        vxmesh network "plain" (10.81.0.0/24), endpoints v1/v2
#   vxmesh-enc    vxmesh network "enc" made with --encrypted (10.82.0.0/24)
#   wireguard-go  10.77.1.0/24, ChaCha20-Poly1305 (its only cipher), MTU 1420
#   nebula        10.77.2.0/24, cipher aes (AES-256-GCM, its default), MTU 1420
#   tinc          10.77.3.0/24, tinc 1.0 router mode, defaults (Blowfish-CBC,
#                 HMAC-SHA1 truncated to 4 bytes), MTU 1420
#   fastd         10.77.4.0/24, tun mode, method salsa2012+umac, MTU 1420
#   openvpn       10.77.5.0/24, UDP p2p TLS (self-signed EC certificates,
#                 --peer-fingerprint), data cipher AES-256-GCM, DCO off, MTU 1420
#   n2n           10.77.6.0/24, n2n 1.3 (Twofish), supernode on h1, MTU 1360 (its
#                 default 1400 has the outer packets fragmented)
#
# Each tunnel's MTU fits its overhead in the underlay's 1500 bytes: the summary
# names any variant whose outer packets h2 had to reassemble.  The tunnels run
# between h1 and h2 themselves; the kernel and vxmesh variants between
# container namespaces on h1 and h2.  R rounds (default 5);
# each round runs every working variant once, the order rotated by one each
# round, so that noise of the shared machine hits all of them: first PINGS
# pings (default 200, 10 ms apart), then one TCP stream of iperf3 for T
# seconds (default 8), client on h1's side, server on h2's.  Per iperf run:
# the machine's busy CPU time (/proc/stat: user+nice+system+irq+softirq+steal,
# all CPUs, whatever runs on them), the utime+stime of the variant's
# processes (tunnel daemons, or the vxmesh agents), and iperf3's own CPU (its
# JSON).  CPU seconds per Gbit = those / gigabits received, median over the
# rounds; the machine's busy rate in an idle second before each run is kept
# too ("bg": other work; a run waits up to QUIET_WAIT s, default 10, for a
# second under 0.25 CPU-s/s), nothing is subtracted.  A variant that cannot be
# set up is reported as "failed: REASON" and the others go on.
#
# Results: bench/results/encrypted-DATE.txt (summary, also on stdout),
# encrypted-DATE.csv (one row per variant), encrypted-DATE.runs.csv (one row
# per iperf run), encrypted-DATE.png (median throughput, min/max whiskers;
# python3-matplotlib).  Missing tools are installed with apt-get, with no
# service started or left enabled by the install.
#
#   R=1 T=3 bench/encrypted.sh            a short trial
#   ONLY="kernel vxmesh fastd" bench/encrypted.sh
. "$(dirname "$0")/lib.sh"
R=${R:-5}
T=${T:-8}
PINGS=${PINGS:-200}
MAX_SECONDS=${MAX_SECONDS:-1000} # no round starts after this many seconds of rounds
QUIET_WAIT=${QUIET_WAIT:-10}     # seconds a run may wait for other work to calm down
RESULTS=${RESULTS:-$ROOT/bench/results}
STAMP=$(date -u +%Y%m%d-%H%M%S)
OUT=$RESULTS/encrypted-$STAMP
ALL_VARIANTS=(kernel vxmesh vxmesh-enc wireguard-go nebula tinc fastd openvpn n2n)
VARIANTS=(${ONLY:-${ALL_VARIANTS[@]}})
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
HZ=$(getconf CLK_TCK)
H1=$BPFX-h1
H2=$BPFX-h2

# ---- prerequisites ----
# Packages installed here start no service and leave none enabled: a
# policy-rc.d that refuses every start while apt runs (only if the machine has
# none; removed afterwards), then the units that the install enabled are
# disabled again.
POLICY_RC=/usr/sbin/policy-rc.d
MADE_POLICY=0
enc_exit() {
    [ "$MADE_POLICY" = 1 ] && rm -f "$POLICY_RC"
    local s
    for s in "${WG_SOCKS[@]}"; do rm -f "$s"; done
    b_cleanup
}
WG_SOCKS=()
trap enc_exit EXIT
install_pkgs() {
    local need=() p links0 u
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
    [ ${#need[@]} = 0 ] && return 0
    echo "installing ${need[*]}" >&2
    if [ ! -e "$POLICY_RC" ]; then
        printf '#!/bin/sh\n# made by vxmesh bench/encrypted.sh while it installs packages\nexit 101\n' >"$POLICY_RC"
        chmod 755 "$POLICY_RC"
        MADE_POLICY=1
    fi
    links0=$(find /etc/systemd/system /etc/rc[2-5].d -type l 2>/dev/null | sort)
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends "${need[@]}"; } >>"$BTMP/apt.log" 2>&1 ||
        echo "apt-get install ${need[*]} failed (see below); going on with what is there" >&2
    # what the install enabled: links that are new, to units of these packages
    comm -13 <(echo "$links0") <(find /etc/systemd/system /etc/rc[2-5].d -type l 2>/dev/null | sort) |
        sed -E 's|^.*/||; s|^S[0-9][0-9]||; s|\.service$||' | sort -u |
        while read -r u; do
            dpkg -L "${need[@]}" 2>/dev/null | grep -qE "/$u(\.service)?$" || continue
            if command -v systemctl >/dev/null; then
                systemctl --no-reload disable "$u" >>"$BTMP/apt.log" 2>&1
            else
                update-rc.d "$u" disable >>"$BTMP/apt.log" 2>&1
            fi
            echo "disabled $u (enabled by its package's install)" >&2
        done
    if [ "$MADE_POLICY" = 1 ]; then rm -f "$POLICY_RC"; MADE_POLICY=0; fi
    for p in "${need[@]}"; do
        dpkg -s "$p" >/dev/null 2>&1 || { echo "could not install $p:" >&2; tail -n 5 "$BTMP/apt.log" >&2; }
    done
}
want=(iperf3)
for v in "${VARIANTS[@]}"; do
    case $v in
    wireguard-go) want+=(wireguard-go wireguard-tools) ;;
    nebula | tinc | fastd | openvpn | n2n) want+=("$v") ;;
    esac
done
"$PY" -c 'import matplotlib' 2>/dev/null || want+=(python3-matplotlib)
install_pkgs "${want[@]}"
for t in jq iperf3 ping ss bridge timeout "$PY"; do
    command -v "$t" >/dev/null || { echo "$t missing" >&2; exit 1; }
done
mkdir -p "$RESULTS"

# ---- the hosts and the vxmesh agents (with a gossip key: --encrypted needs one) ----
KEY=$("$VXMESH" key generate) || { echo "vxmesh key generate failed" >&2; exit 1; }
b_pair --encrypt "$KEY" || { echo "the two hosts or their agents did not come up" >&2; exit 1; }
AGENTS="${B_PIDS[0]} ${B_PIDS[1]}" # ip netns exec execs the agent: the agents' PIDs

declare -A FAIL CNS SNS ADDR PROCS
fail() { FAIL[$1]=$2; echo "$1: failed: $2" >&2; }
# spawn NS LOG CMD...: start CMD in NS in the background; its PID is $BG
spawn() {
    local ns=$1 log=$2
    shift 2
    ip netns exec "$ns" "$@" >"$log" 2>&1 &
    BG=$!
    B_PIDS+=("$BG")
}
# reach NS ADDR SECONDS: one answered ping within SECONDS
reach() { b_wait "$3" ip netns exec "$1" ping -n -c 1 -W 1 -q "$2"; }
logtail() { tail -n "${2:-2}" "$1" 2>/dev/null | tr -s '\n\t' '  ' | cut -c1-240; }
alive() { local p; for p in "$@"; do kill -0 "$p" 2>/dev/null || return 1; done; }
# ends VARIANT NS1 ADDR1 NS2 ADDR2 PIDS: client side, server side, its processes
ends() { CNS[$1]=$2; SNS[$1]=$4; ADDR[$1]=$5; PROCS[$1]=$6; }

setup_kernel() { # the shape vxmesh builds, by hand
    local i h c o mac
    for i in 1 2; do
        h=$BPFX-h$i c=$BPFX-k$i
        b_netns "$c" || return 1
        ip -n "$h" link add kbr0 type bridge &&
            ip -n "$h" link set kbr0 addrgenmode none &&
            ip -n "$h" link set kbr0 up &&
            ip -n "$h" link add kvx0 type vxlan id 4242 dstport 4800 local "192.0.2.$i" dev ul0 \
                nolearning proxy &&
            ip -n "$h" link set kvx0 master kbr0 up &&
            ip -n "$h" link add kv0 type veth peer name eth0 netns "$c" &&
            ip -n "$h" link set kv0 mtu 1450 master kbr0 up &&
            ip -n "$c" addr add "10.80.0.$i/24" dev eth0 &&
            ip -n "$c" link set eth0 mtu 1450 up || { fail kernel "ip link/addr on h$i refused"; return 1; }
    done
    for i in 1 2; do
        o=$((3 - i))
        mac=$(ip -n "$BPFX-k$o" -j link show eth0 | jq -r '.[0].address')
        bridge -n "$BPFX-h$i" fdb append "$mac" dev kvx0 dst "192.0.2.$o" self permanent &&
            ip -n "$BPFX-h$i" neigh add "10.80.0.$o" lladdr "$mac" dev kvx0 nud permanent ||
            { fail kernel "static fdb/neighbour on h$i refused"; return 1; }
    done
    reach "$BPFX-k1" 10.80.0.2 10 || { fail kernel "10.80.0.2 unreachable from k1"; return 1; }
    ends kernel "$BPFX-k1" 10.80.0.1 "$BPFX-k2" 10.80.0.2 ""
}

# vx_net VARIANT NET SUBNET NETNS-PREFIX CREATE-ARGS...
vx_net() {
    local v=$1 net=$2 sub=$3 p=$4 i err
    shift 4
    if ! err=$(bvx a1 net create "$net" --subnet "$sub.0/24" "$@" 2>&1 >/dev/null); then
        fail "$v" "vxmesh net create $net $*: $(head -n 1 <<<"$err")"
        return 1
    fi
    b_wait 15 bvx a2 net inspect "$net" || { fail "$v" "network $net did not reach h2"; return 1; }
    for i in 1 2; do
        b_netns "$BPFX-$p$i" || return 1
        if ! err=$(bvx "a$i" ep attach "$net" --netns "$BPFX-$p$i" --ip "$sub.1$i" --name eth0 2>&1 >/dev/null); then
            fail "$v" "vxmesh ep attach on h$i: $(head -n 1 <<<"$err")"
            return 1
        fi
    done
    reach "$BPFX-${p}1" "$sub.12" 20 || { fail "$v" "$sub.12 unreachable from ${p}1 in 20 s"; return 1; }
    ends "$v" "$BPFX-${p}1" "$sub.11" "$BPFX-${p}2" "$sub.12" "$AGENTS"
}
setup_vxmesh() { vx_net vxmesh plain 10.81.0 v; }
# The encrypted datapath is a process of its own (started by the agents,
# it outlives them): its CPU counts, and the cleanup ends it by PID.
setup_vxmesh-enc() {
    local i p encd=""
    vx_net vxmesh-enc enc 10.82.0 e --encrypted || return 1
    for i in 1 2; do
        p=$(cat "$BTMP/a$i.sock.encd.pid" 2>/dev/null) && kill -0 "$p" 2>/dev/null ||
            { fail vxmesh-enc "no encrypted datapath running for a$i"; return 1; }
        encd+=" $p"
        B_PIDS+=("$p")
    done
    PROCS[vxmesh-enc]="$AGENTS$encd"
}

setup_wireguard-go() {
    local d=$BTMP/wg i o n pids=""
    mkdir -p "$d"
    for i in 1 2; do
        (umask 077 && wg genkey >"$d/k$i" && wg pubkey <"$d/k$i" >"$d/p$i") ||
            { fail wireguard-go "wg genkey failed"; return 1; }
    done
    for i in 1 2; do
        o=$((3 - i)) n=${BPFX}w$i
        WG_SOCKS+=("/var/run/wireguard/$n.sock")
        spawn "$BPFX-h$i" "$d/h$i.log" env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 LOG_LEVEL=error \
            wireguard-go -f "$n"
        pids+=" $BG"
        b_wait 10 test -S "/var/run/wireguard/$n.sock" ||
            { fail wireguard-go "no UAPI socket: $(logtail "$d/h$i.log")"; return 1; }
        ip netns exec "$BPFX-h$i" wg set "$n" private-key "$d/k$i" listen-port 51820 \
            peer "$(cat "$d/p$o")" allowed-ips "10.77.1.$o/32" endpoint "192.0.2.$o:51820" &&
            ip -n "$BPFX-h$i" addr add "10.77.1.$i/24" dev "$n" &&
            ip -n "$BPFX-h$i" link set "$n" mtu 1420 up || { fail wireguard-go "wg set / ip on h$i failed"; return 1; }
    done
    reach "$H1" 10.77.1.2 15 || { fail wireguard-go "10.77.1.2 unreachable: $(logtail "$d/h1.log")"; return 1; }
    ends wireguard-go "$H1" 10.77.1.1 "$H2" 10.77.1.2 "$pids"
}

setup_nebula() {
    local d=$BTMP/nebula i o pids=""
    mkdir -p "$d"
    nebula-cert ca -name vxmesh-bench -out-crt "$d/ca.crt" -out-key "$d/ca.key" >"$d/cert.log" 2>&1 ||
        { fail nebula "nebula-cert ca: $(logtail "$d/cert.log")"; return 1; }
    for i in 1 2; do
        o=$((3 - i))
        nebula-cert sign -ca-crt "$d/ca.crt" -ca-key "$d/ca.key" -name "h$i" -ip "10.77.2.$i/24" \
            -out-crt "$d/h$i.crt" -out-key "$d/h$i.key" >>"$d/cert.log" 2>&1 ||
            { fail nebula "nebula-cert sign: $(logtail "$d/cert.log")"; return 1; }
        cat >"$d/h$i.yml" <<EOF
pki:
  ca: $d/ca.crt
  cert: $d/h$i.crt
  key: $d/h$i.key
static_host_map:
  "10.77.2.$o": ["192.0.2.$o:4242"]
lighthouse:
  am_lighthouse: false
  hosts: []
listen:
  host: 192.0.2.$i
  port: 4242
punchy:
  punch: false
cipher: aes
tun:
  dev: nebula0
  mtu: 1420
logging:
  level: warning
firewall:
  outbound:
    - {port: any, proto: any, host: any}
  inbound:
    - {port: any, proto: any, host: any}
EOF
        spawn "$BPFX-h$i" "$d/h$i.log" nebula -config "$d/h$i.yml"
        pids+=" $BG"
    done
    reach "$H1" 10.77.2.2 20 || { fail nebula "10.77.2.2 unreachable: $(logtail "$d/h1.log")"; return 1; }
    ends nebula "$H1" 10.77.2.1 "$H2" 10.77.2.2 "$pids"
}

setup_tinc() {
    local d=$BTMP/tinc i o pids=""
    for i in 1 2; do
        mkdir -p "$d/h$i/hosts"
        {
            echo "Name = h$i"
            echo "Interface = tinc0"
            echo "AddressFamily = ipv4"
            [ "$i" = 1 ] && echo "ConnectTo = h2"
        } >"$d/h$i/tinc.conf"
        printf 'Address = 192.0.2.%s\nPort = 655\nSubnet = 10.77.3.%s/32\n' "$i" "$i" >"$d/h$i/hosts/h$i"
        printf '#!/bin/sh\nip addr add 10.77.3.%s/24 dev "$INTERFACE"\nip link set "$INTERFACE" mtu 1420 up\n' \
            "$i" >"$d/h$i/tinc-up"
        chmod 755 "$d/h$i/tinc-up"
        tincd -c "$d/h$i" -K 2048 </dev/null >"$d/h$i/keygen.log" 2>&1 ||
            { fail tinc "tincd -K: $(logtail "$d/h$i/keygen.log")"; return 1; }
    done
    cp "$d/h1/hosts/h1" "$d/h2/hosts/" && cp "$d/h2/hosts/h2" "$d/h1/hosts/" || return 1
    for i in 1 2; do
        spawn "$BPFX-h$i" "$d/h$i.log" tincd -c "$d/h$i" -D -d1 --pidfile="$d/h$i/pid"
        pids+=" $BG"
    done
    reach "$H1" 10.77.3.2 20 || { fail tinc "10.77.3.2 unreachable: $(logtail "$d/h1.log")"; return 1; }
    ends tinc "$H1" 10.77.3.1 "$H2" 10.77.3.2 "$pids"
}

setup_fastd() {
    local d=$BTMP/fastd i o pids=""
    # Only h1 has the peer's "remote": when both sides start a handshake at
    # once, fastd 22 ends up with two sessions that disagree (every packet
    # then fails verification, "verification failed for packet").
    mkdir -p "$d"
    for i in 1 2; do
        fastd --generate-key >"$d/key$i" 2>"$d/keygen.log" ||
            { fail fastd "fastd --generate-key: $(logtail "$d/keygen.log")"; return 1; }
    done
    for i in 1 2; do
        o=$((3 - i))
        cat >"$d/h$i.conf" <<EOF
log level warn;
mode tun;
interface "fastd0";
method "salsa2012+umac";
bind 192.0.2.$i:10000;
secret "$(awk '/^Secret:/ {print $2}' "$d/key$i")";
mtu 1420;
on up "ip addr add 10.77.4.$i/24 dev \$INTERFACE && ip link set \$INTERFACE up";
peer "h$o" {
    key "$(awk '/^Public:/ {print $2}' "$d/key$o")";
$([ "$i" = 1 ] && echo "    remote 192.0.2.$o:10000;")
}
EOF
        spawn "$BPFX-h$i" "$d/h$i.log" fastd --config "$d/h$i.conf"
        pids+=" $BG"
    done
    reach "$H1" 10.77.4.2 20 || { fail fastd "10.77.4.2 unreachable: $(logtail "$d/h1.log")"; return 1; }
    ends fastd "$H1" 10.77.4.1 "$H2" 10.77.4.2 "$pids"
}

setup_openvpn() {
    local d=$BTMP/openvpn i o pids="" role
    mkdir -p "$d"
    for i in 1 2; do
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
            -subj "/CN=h$i" -keyout "$d/h$i.key" -out "$d/h$i.crt" >"$d/cert.log" 2>&1 ||
            { fail openvpn "openssl req: $(logtail "$d/cert.log")"; return 1; }
    done
    for i in 1 2; do
        o=$((3 - i))
        role=--tls-server
        [ "$i" = 2 ] && role=--tls-client
        spawn "$BPFX-h$i" "$d/h$i.log" openvpn --dev ovpn0 --dev-type tun --proto udp \
            --local "192.0.2.$i" --port 1194 --remote "192.0.2.$o" 1194 \
            --ifconfig "10.77.5.$i" "10.77.5.$o" "$role" --dh none \
            --cert "$d/h$i.crt" --key "$d/h$i.key" \
            --peer-fingerprint "$(openssl x509 -in "$d/h$o.crt" -noout -fingerprint -sha256 | cut -d= -f2)" \
            --data-ciphers AES-256-GCM --disable-dco --tun-mtu 1420 --ping 10 --verb 3
        pids+=" $BG"
    done
    reach "$H1" 10.77.5.2 30 || { fail openvpn "10.77.5.2 unreachable: $(logtail "$d/h1.log" 3)"; return 1; }
    grep -q "Data Channel: cipher 'AES-256-GCM'" "$d/h1.log" ||
        { fail openvpn "data channel is not AES-256-GCM: $(grep 'Data Channel' "$d/h1.log" | head -n 1)"; return 1; }
    ends openvpn "$H1" 10.77.5.1 "$H2" 10.77.5.2 "$pids"
}

setup_n2n() {
    local d=$BTMP/n2n i pids="" k
    mkdir -p "$d"
    k=$(head -c 18 /dev/urandom | base64)
    spawn "$H1" "$d/supernode.log" supernode -l 7654
    pids+=" $BG"
    # an edge whose first registration is lost waits long to send the next
    b_wait 5 bash -c "ip netns exec '$H1' ss -Hlun 'sport = :7654' | grep -q ." ||
        { fail n2n "supernode does not listen: $(logtail "$d/supernode.log")"; return 1; }
    for i in 1 2; do
        spawn "$BPFX-h$i" "$d/h$i.log" env N2N_KEY="$k" edge -d n2n0 -a "10.77.6.$i" -s 255.255.255.0 \
            -c vxbench -l 192.0.2.1:7654 -p 7655 -M 1360 -m "02:00:00:77:06:0$i"
        pids+=" $BG"
    done
    reach "$H1" 10.77.6.2 30 || { fail n2n "10.77.6.2 unreachable: $(logtail "$d/h1.log")"; return 1; }
    ends n2n "$H1" 10.77.6.1 "$H2" 10.77.6.2 "$pids"
}

T_SETUP=$SECONDS
for v in "${VARIANTS[@]}"; do
    t0=$SECONDS
    "setup_$v" || [ -n "${FAIL[$v]:-}" ] || fail "$v" "setup failed"
    # a daemon that died right after a successful check is a failure too
    if [ -z "${FAIL[$v]:-}" ] && ! alive ${PROCS[$v]}; then fail "$v" "a process of it exited"; fi
    echo "$v: $([ -n "${FAIL[$v]:-}" ] && echo failed || echo ready) after $((SECONDS - t0)) s" >&2
done
T_SETUP=$((SECONDS - T_SETUP))

# ---- measurements ----
busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }
# utime+stime (all threads) of the PIDs, in clock ticks
pticks() {
    local p s=0 t
    for p in "$@"; do
        t=$(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$p/stat" 2>/dev/null) && s=$((s + t))
    done
    echo "$s"
}
# "name:ticks name:ticks ..." of the PIDs; split DETAIL-BEFORE DETAIL-AFTER:
# "name=seconds;..." over the run (which process of a variant used the CPU)
pdetail() {
    local p
    for p in "$@"; do
        awk '{n = $0; sub(/^[^(]*\(/, "", n); sub(/\).*$/, "", n); sub(/^.*\) /, ""); printf "%s:%d ", n, $12 + $13}' \
            "/proc/$p/stat" 2>/dev/null || printf 'gone:0 '
    done
}
split() {
    local a=($1) b=($2) i out=""
    for i in "${!b[@]}"; do
        out+="${b[$i]%%:*}=$(awk -v x="${a[$i]#*:}" -v y="${b[$i]#*:}" -v hz="$HZ" 'BEGIN {printf "%.2f", (y - x) / hz}');"
    done
    echo "${out%;}"
}
# IP reassemblies on h2 (fragmented outer packets: a tunnel MTU too large)
reasm() { ip netns exec "$H2" awk '/^Ip:/ {if (!n) {for (i = 1; i <= NF; i++) if ($i == "ReasmReqds") n = i} else print $n}' /proc/net/snmp; }
# background: the machine's busy CPU over 5 s before any traffic
b0=$(busy)
sleep 5
BG_BUSY=$(awk -v d="$(($(busy) - b0))" -v hz="$HZ" 'BEGIN {printf "%.2f", d / hz / 5}')

RUNS=$OUT.runs.csv
echo "round,slot,variant,gbps,bytes,seconds,retransmits,sys_cpu_s,bg_cpu_s_per_s,wall_s,proc_cpu_s,h2_reassemblies,iperf_cpu_s,status,proc_split" >"$RUNS"
LIVE=()
for v in "${VARIANTS[@]}"; do [ -z "${FAIL[$v]:-}" ] && LIVE+=("$v"); done
port_of() { local i; for i in "${!ALL_VARIANTS[@]}"; do [ "${ALL_VARIANTS[$i]}" = "$1" ] && echo $((5201 + i)); done; }
run_one() { # round slot variant
    local r=$1 s=$2 v=$3 cns=${CNS[$3]} sns=${SNS[$3]} a=${ADDR[$3]} port j srv b1 b2 p1 p2 d1 d2 g1 g2 e1 e2 w1 w2 f1 f2 st n
    port=$(port_of "$v")
    j=$BTMP/iperf.$v.$r.json
    timeout 20 ip netns exec "$cns" ping -n -c "$PINGS" -i 0.01 -W 1 "$a" 2>&1 |
        sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' >>"$BTMP/rtt.$v"
    spawn "$sns" "$BTMP/iperfs.$v.$r.log" iperf3 -s -1 -B "$a" -p "$port"
    srv=$BG
    b_wait 5 bash -c "ip netns exec '$sns' ss -Hltn 'sport = :$port' | grep -q ." || true
    # the machine's busy CPU without our traffic in the second before the
    # run; while other work keeps it busy, wait (QUIET_WAIT seconds at most)
    for n in $(seq 0 "$QUIET_WAIT"); do
        e1=${EPOCHREALTIME/./} g1=$(busy)
        sleep 1
        e2=${EPOCHREALTIME/./} g2=$(busy)
        [ $(((g2 - g1) * 4)) -lt "$HZ" ] && break # under 0.25 CPU-s/s
    done
    f1=$(reasm)
    b1=$(busy) p1=$(pticks ${PROCS[$v]}) d1=$(pdetail ${PROCS[$v]}) w1=${EPOCHREALTIME/./}
    timeout $((T + 20)) ip netns exec "$cns" iperf3 -c "$a" -p "$port" -t "$T" -J --connect-timeout 3000 \
        >"$j" 2>"$BTMP/iperfc.$v.$r.err"
    b2=$(busy) p2=$(pticks ${PROCS[$v]}) d2=$(pdetail ${PROCS[$v]}) w2=${EPOCHREALTIME/./}
    f2=$(reasm)
    for n in $(seq 50); do kill -0 "$srv" 2>/dev/null || break; sleep 0.1; done
    kill "$srv" 2>/dev/null
    st=ok
    if ! jq -e '.end.sum_received.bytes > 0' "$j" >/dev/null 2>&1; then
        st="failed: $( (jq -r '.error // empty' "$j" 2>/dev/null; logtail "$BTMP/iperfc.$v.$r.err" 1) | head -n 1)"
        [ "$st" = "failed: " ] && st="failed: iperf3 gave no result"
        st=${st//,/;}
        echo "$r,$s,$v,,,,,,,,,,,$st," >>"$RUNS"
    else
        jq -r --arg pre "$r,$s,$v" --argjson sys "$(((b2 - b1)))" --argjson proc "$((p2 - p1))" \
            --argjson bg "$((g2 - g1))" --argjson bgw "$((e2 - e1))" --argjson wall "$((w2 - w1))" \
            --argjson frag "$((f2 - f1))" --argjson hz "$HZ" --arg split "$(split "$d1" "$d2")" '
            def r3: . * 1000 | round / 1000;
            .end as $e | $e.sum_received as $s |
            [$pre, ($s.bits_per_second / 1e9 | r3), $s.bytes, ($s.seconds | r3),
             ($e.sum_sent.retransmits // ""), ($sys / $hz), ($bg / $hz / ($bgw / 1e6) | r3), ($wall / 1e6 | r3),
             ($proc / $hz), $frag,
             ((($e.cpu_utilization_percent.host_total + $e.cpu_utilization_percent.remote_total) / 100 * $s.seconds)
               | . * 100 | round / 100), "ok", $split] | map(tostring) | join(",")' "$j" >>"$RUNS"
    fi
    echo "round $r slot $s $v: $(tail -n 1 "$RUNS" | awk -F, '{print ($(NF - 1) == "ok" ? $4 " Gbit/s" : $(NF - 1))}')" >&2
}
T_RUN=$SECONDS
CUT=""
if [ ${#LIVE[@]} -gt 0 ]; then
    for r in $(seq "$R"); do
        if [ $((SECONDS - T_RUN)) -ge "$MAX_SECONDS" ]; then
            CUT="rounds $r-$R not run: MAX_SECONDS=$MAX_SECONDS reached"
            echo "$CUT" >&2
            break
        fi
        for s in $(seq 0 $((${#LIVE[@]} - 1))); do
            run_one "$r" "$s" "${LIVE[$(((s + r - 1) % ${#LIVE[@]}))]}"
        done
    done
fi
T_RUN=$((SECONDS - T_RUN))

# ---- summary, CSV, plot ----
: >"$BTMP/status"
for v in "${VARIANTS[@]}"; do
    if [ -n "${FAIL[$v]:-}" ]; then echo "$v|failed: ${FAIL[$v]}"; else echo "$v|ok"; fi
done >"$BTMP/status"
{
    echo "vxmesh encrypted-datapath bench $STAMP ($(uname -r), $(nproc) CPUs, vxmesh $("$VXMESH" version 2>/dev/null | head -n 1 | awk '{print $NF}')):"
    echo "  h1/h2 namespaces on one veth (MTU 1500); R=$R rounds, rotating order; per run $PINGS pings (10 ms) then one"
    echo "  iperf3 TCP stream of $T s, h1 side -> h2 side. Setup $T_SETUP s, rounds $T_RUN s."
    echo "  CPU per Gbit: sys = busy jiffies of the whole machine from /proc/stat (user+nice+system+irq+softirq+steal,"
    echo "  all CPUs, whatever else runs included) over the iperf run / gigabits received; procs = utime+stime of the"
    echo "  variant's processes (tunnel daemons on both hosts, or the two vxmesh agents; none for kernel); iperf ="
    echo "  iperf3's own client+server CPU from its JSON. The machine was busy $BG_BUSY CPU-s per second in 5 s before"
    echo "  the rounds (bg below: in the idle second before each run, which waits up to $QUIET_WAIT s for one under"
    echo "  0.25); nothing is subtracted."
    [ -n "$CUT" ] && echo "  $CUT"
} >"$BTMP/head"
"$PY" - "$RUNS" "$BTMP/status" "$BTMP" "$OUT" "$BTMP/head" <<'PY'
import csv, os, statistics, sys
runs_csv, status_f, tmp, out, head = sys.argv[1:6]
order, status = [], {}
for line in open(status_f):
    v, st = line.rstrip("\n").split("|", 1)
    order.append(v); status[v] = st
runs = list(csv.DictReader(open(runs_csv)))
BUSY = 0.25  # bg at or above this: other work was running just before the run
def pct(xs, p):
    if not xs: return None
    xs = sorted(xs); return xs[int((len(xs) - 1) * p / 100)]
S = {}
for v in order:
    ok = [r for r in runs if r["variant"] == v and r["status"] == "ok"]
    bad = [r for r in runs if r["variant"] == v and r["status"] != "ok"]
    g = [float(r["gbps"]) for r in ok]
    gbit = sum(int(r["bytes"]) * 8 / 1e9 for r in ok)
    rtt = []
    if os.path.exists(os.path.join(tmp, "rtt." + v)):
        rtt = [float(x) for x in open(os.path.join(tmp, "rtt." + v)) if x.strip()]
    st = status[v]
    if st == "ok" and not ok:
        st = "failed: every iperf run failed: " + (bad[0]["status"][8:] if bad else "no run")
    elif bad:
        st = "ok (%d of %d runs failed: %s)" % (len(bad), len(bad) + len(ok), bad[0]["status"][8:])
    # median over the runs of each run's CPU-s per Gbit: a run that other
    # work on the machine disturbed weighs no more than one round
    per = lambda k: statistics.median(float(r[k]) / (int(r["bytes"]) * 8 / 1e9) for r in ok) if ok else None
    S[v] = dict(status=st, n=len(ok), med=statistics.median(g) if g else None,
                lo=min(g) if g else None, hi=max(g) if g else None,
                p50=pct(rtt, 50), p99=pct(rtt, 99), pings=len(rtt),
                sys=per("sys_cpu_s"),
                bg=statistics.median(float(r["bg_cpu_s_per_s"]) for r in ok) if ok else None,
                proc=per("proc_cpu_s"), iperf=per("iperf_cpu_s"),
                dist=sum(1 for r in ok if float(r["bg_cpu_s_per_s"]) >= BUSY))
def ratio(a, b):
    a, b = S.get(a, {}).get("med"), S.get(b, {}).get("med")
    return a / b if a is not None and b else None
f = lambda x, d=2: "-" if x is None else "%.*f" % (d, x)
tunnels = [v for v in order if v not in ("kernel", "vxmesh", "vxmesh-enc") and S[v]["med"] is not None]
fastest = max(tunnels, key=lambda v: S[v]["med"]) if tunnels else None
lines = open(head).read().splitlines()
lines.append("")
fmt = "%-13s %6s %6s %6s %7s %7s %8s %8s %6s %6s %6s %5s %4s  %s"
lines.append("sys, procs, iperf: CPU-seconds per Gbit received (median over the runs); bg: the machine's busy")
lines.append("CPU-s per second in the idle second before each run (median): other work; dist: runs with bg >= %.2f" % BUSY)
lines.append(fmt % ("variant", "Gbit/s", "min", "max", "/vxmesh", "/kernel", "rtt p50", "rtt p99",
                    "sys", "procs", "iperf", "bg", "dist", "status"))
rows = []
ms = lambda x: "-" if x is None else "%.3fms" % x
for v in order:
    s = S[v]
    lines.append(fmt % (
        v, f(s["med"]), f(s["lo"]), f(s["hi"]), f(ratio(v, "vxmesh")), f(ratio(v, "kernel")),
        ms(s["p50"]), ms(s["p99"]), f(s["sys"]), f(s["proc"]), f(s["iperf"]), f(s["bg"]), s["dist"], s["status"]))
    rows.append([v, s["n"], f(s["med"], 3), f(s["lo"], 3), f(s["hi"], 3), f(ratio(v, "vxmesh"), 3),
                 f(ratio(v, "kernel"), 3), f(s["p50"], 3), f(s["p99"], 3), s["pings"],
                 f(s["sys"], 3), f(s["proc"], 3), f(s["iperf"], 3), f(s["bg"], 3), s["dist"], s["status"]])
lines.append("")
enc = S.get("vxmesh-enc")
why = "vxmesh-enc " + enc["status"] if enc else "vxmesh-enc not run"
r1 = ratio("vxmesh-enc", "vxmesh")
lines.append("target: vxmesh-enc / vxmesh = %s (target >= 0.42, stretch 0.5)%s" % (
    f(r1), "" if r1 is not None else ": " + why))
r2 = ratio("vxmesh-enc", fastest) if fastest else None
lines.append("target: vxmesh-enc / fastest packaged tunnel (%s, %s Gbit/s) = %s (target >= 4.5)%s" % (
    fastest or "none worked", f(S[fastest]["med"]) if fastest else "-", f(r2),
    "" if r2 is not None else ": " + (why if fastest else "no packaged tunnel worked")))
frag = sorted({r["variant"] for r in runs if r["status"] == "ok" and int(r["h2_reassemblies"])})
lines.append("outer packets reassembled on h2 during the runs (tunnel MTU too large): " + (", ".join(frag) or "none"))
txt = "\n".join(lines) + "\n"
open(out + ".txt", "w").write(txt); sys.stdout.write(txt)
with open(out + ".csv", "w", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(["variant", "runs_ok", "gbps_median", "gbps_min", "gbps_max", "ratio_vxmesh", "ratio_kernel",
                "rtt_p50_ms", "rtt_p99_ms", "pings", "sys_cpu_s_per_gbit", "proc_cpu_s_per_gbit",
                "iperf_cpu_s_per_gbit", "bg_busy_cpu_s_per_s", "disturbed_runs", "status"])
    w.writerows(rows)
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("no python3-matplotlib: no plot"); sys.exit(0)
fig, ax = plt.subplots(figsize=(10, 5))
x = range(len(order))
med = [S[v]["med"] or 0 for v in order]
err = [[(S[v]["med"] - S[v]["lo"]) if S[v]["med"] is not None else 0 for v in order],
       [(S[v]["hi"] - S[v]["med"]) if S[v]["med"] is not None else 0 for v in order]]
col = ["C0" if v in ("kernel", "vxmesh") else "C3" if v == "vxmesh-enc" else "C7" for v in order]
ax.bar(x, med, yerr=err, capsize=4, color=col)
top = max([S[v]["hi"] or 0 for v in order] + [S[fastest]["med"] * 4.5 if fastest else 0, 0.1])
for i, v in enumerate(order):
    s = S[v]
    ax.text(i, (s["hi"] or 0) + top * 0.02, "failed" if s["med"] is None else "%.2f" % s["med"],
            ha="center", fontsize=8, color="C3" if s["med"] is None else "black")
ax.set_xticks(list(x)); ax.set_xticklabels(order, rotation=20)
ax.set_ylabel("Gbit/s, one TCP stream (median, min-max)")
ax.set_ylim(0, top * 1.15)
if S.get("vxmesh", {}).get("med"):
    for k, ls in ((0.42, "--"), (0.5, ":")):
        ax.axhline(S["vxmesh"]["med"] * k, color="C3", linestyle=ls, linewidth=1,
                   label="%.2f x vxmesh (%starget)" % (k, "stretch " if k == 0.5 else ""))
if fastest:
    ax.axhline(S[fastest]["med"] * 4.5, color="C2", linestyle="--", linewidth=1,
               label="4.5 x fastest packaged tunnel (%s, target)" % fastest)
if ax.get_legend_handles_labels()[0]:
    ax.legend(fontsize=8, loc="upper right")
ax.set_title("vxmesh encrypted bench " + os.path.basename(out) + ", rounds: %d" % max([S[v]["n"] for v in order] + [0]))
ax.grid(axis="y", alpha=.3)
fig.tight_layout(); fig.savefig(out + ".png", dpi=90)
print("plot: " + out + ".png")
PY
echo "per variant: $OUT.csv; per run: $RUNS; summary: $OUT.txt"
