#!/usr/bin/env bash
# Faults: what the agent must do when things break under it.
#
#                    ┌──────── netns vxt<pid>-sw: bridge br0 ────────┐
#                    └──────┬──────────────────┬──────────────────┬──┘
#                192.0.2.1  │       192.0.2.2  │       192.0.2.3  │
#              ┌────────────┴───┐  ┌───────────┴────┐  ┌──────────┴─────┐
#              │ h1: agent a1   │  │ h2: agent a2   │  │ h3: agent a3   │
#              │ churn: k1-1..8 │  │ churn: k2-1..8 │  │ churn: k3-1..8 │
#              │        q1-1..8 │  │        q2-1..8 │  │        q3-1..8 │
#              │ part:  p1-1..8 │  │ part:  p2-1..8 │  │ part:  p3-1..8 │
#              └────────────────┘  └────────────────┘  └────────────────┘
#   churn 10.40.0.0/22: attach/detach clients on all three; a2 gets kill -9
#   during a burst of 12 attaches (b2-1..12) on top of its churn
#   part: h3 cut off from h1/h2 by nftables (lib.sh partition), then healed
#
#   ┌──── h4 (own mount ns) ───────┐   ┌──── h5 ────────────────────────┐
#   │ agent d, --state-dir on a    │   │ agent g; its state.db replaced │
#   │ 2 MiB tmpfs, filled up       │   │ by garbage, a foreign SQLite   │
#   │ disk 10.50.0.0/24: f1, f2    │   │ file, a newer schema           │
#   └──────────────────────────────┘   │ keep 10.60.0.0/24 VNI 600: g1  │
#                                      └────────────────────────────────┘
#   h4 and h5 stand alone: ul0 is one end of a veth pair, nothing behind it.
#
# Shows: 1. kill -9 of an agent while all three hosts attach and detach, and
# its restart on the same state dir: no duplicate address, every endpoint
# the database holds is in place and nothing else is, every live endpoint in
# every other FDB and nothing stale, the clients saw only clean errors.
# 2. a partition during churn: both sides attach from their own space; after
# healing no duplicate and every FDB converges.  3. a full state disk: attach
# and net create refused saying so, nothing half-done, the agent serves on
# and the same address attaches once space is back.  4. a state.db that is
# garbage, another program's SQLite file or a newer schema: the agent refuses
# to start, says why, and changes neither the file nor the kernel.
. "$(dirname "$0")/lib.sh"
set -o pipefail
for tool in python3 nft unshare nsenter ss findmnt; do
    command -v "$tool" >/dev/null || { not_ok "'$tool' is missing"; finish; }
done
# FAULTS="3 4" runs only those (1 and 2 share the three hosts).
want() { [[ " ${FAULTS:-1 2 3 4} " == *" $1 "* ]]; }

# ---- helpers on network churn ----
# ep_ips AGENT...: churn's addresses on these hosts, one a line
ep_ips() {
    local a
    for a in "$@"; do
        vx "$a" ep ls --net churn --json | jq -r '.endpoints[].ip' | cut -d/ -f1 || return 1
    done
}
no_dups() {
    local all
    all=$(ep_ips a1 a2 a3) || return 1
    if [ -n "$(sort <<<"$all" | uniq -d)" ]; then
        echo "duplicates: $(sort <<<"$all" | uniq -d | tr '\n' ' ')"
        return 1
    fi
}
# db_eps AGENT: endpoint ids in AGENT's state database (read-only), sorted
db_eps() {
    python3 - "$TMP/$1/state/state.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
for (i,) in db.execute("SELECT id FROM endpoints WHERE net = 'churn' ORDER BY id"):
    print(i)
PY
}
# in_place AGENT HOST_NS: the database's endpoints are exactly ep ls's, all
# "ok", each with its veth (host end on the bridge, address inside), and no
# other vxmesh veth in the host: nothing half-made survives.
in_place() {
    local a=$1 h=$2 db ls bad id ns ip veths
    db=$(db_eps "$a") || return 1
    ls=$(vx "$a" ep ls --net churn --json | jq -r '.endpoints[].id' | sort) || return 1
    [ "$db" = "$ls" ] || { echo "database: $db / ep ls: $ls"; return 1; }
    bad=$(vx "$a" ep ls --net churn --json | jq -r '.endpoints[] | select(.status != "ok") | "\(.id) \(.status)"')
    [ -z "$bad" ] || { echo "not ok: $bad"; return 1; }
    while read -r id ns ip; do
        [ -n "$id" ] || continue
        ip -n "$h" -j link show "vxm$id" | jq -e '.[0].master | startswith("vxmb")' >/dev/null ||
            { echo "no veth vxm$id on a bridge"; return 1; }
        ip -n "$ns" -4 -o addr show | grep -qF " ${ip%/*}/" ||
            { echo "$ns lacks $ip"; return 1; }
    done < <(vx "$a" ep ls --net churn --json |
        jq -r '.endpoints[] | "\(.id) \(.netns | ltrimstr("/run/netns/")) \(.ip)"')
    veths=$(ip -n "$h" -j -d link show type veth |
        jq -r '.[] | select((.ifalias // "") | startswith("vxmesh:ep=")) | .ifname | ltrimstr("vxm")' |
        sort)
    [ "$veths" = "$(vx "$a" ep ls --json | jq -r '.endpoints[].id' | sort)" ] ||
        { echo "vxmesh veths in $h: $veths"; return 1; }
}
# fdb_exact AGENT: the remote entries of churn in AGENT's FDB are exactly the
# other hosts' endpoints (mac -> owner's VTEP), and nothing is missing or stale.
fdb_exact() {
    local a=$1 want got o i
    for o in 1 2 3; do
        [ "a$o" = "$a" ] && continue
        vx "a$o" ep ls --net churn --json | jq -r --arg d "192.0.2.$o" '.endpoints[] | "\(.mac) \($d)"' ||
            return 1
    done | sort >"$TMP/fdb.want.$a"
    vx "$a" fdb churn --json >"$TMP/fdb.$a" || return 1
    got=$(jq -r '.entries[] | select(.why == "remote endpoint") | "\(.mac) \(.dst)"' "$TMP/fdb.$a" | sort)
    want=$(cat "$TMP/fdb.want.$a")
    [ "$got" = "$want" ] || { echo "want: $want"; echo "got: $got"; return 1; }
    i=$(jq -r '.entries[] | select(.why | startswith("missing") or startswith("stale")) | "\(.mac) \(.why)"' \
        "$TMP/fdb.$a")
    [ -z "$i" ] || { echo "$i"; return 1; }
}
fdbs_exact() { fdb_exact a1 && fdb_exact a2 && fdb_exact a3; }

# churn HOST LABEL OPS: a client on agent aHOST cycling over the namespaces
# $PFX-LABELHOST-1..8: attach when it holds none there, detach when it does.
# OPS operations, each bounded by `timeout 20` (the CLI's own limit is 30 s);
# writes "op rc milliseconds message" lines to $TMP/churn/LABELHOST.
churn() {
    local h=$1 l=$2 n=$3 i j rc t0 out ids=()
    for i in $(seq 1 "$n"); do
        j=$(((i - 1) % 8 + 1))
        t0=$(date +%s%N)
        if [ -z "${ids[$j]-}" ]; then
            out=$(timeout 20 "$VXMESH" --socket "$TMP/a$h/sock" ep attach churn \
                --netns "$PFX-$l$h-$j" --json 2>&1)
            rc=$?
            [ $rc = 0 ] && ids[$j]=$(jq -r .id <<<"$out")
            echo "attach $rc $((($(date +%s%N) - t0) / 1000000)) $(head -c 200 <<<"$out" | tr '\n' ' ')"
        else
            out=$(timeout 20 "$VXMESH" --socket "$TMP/a$h/sock" ep detach "${ids[$j]}" 2>&1)
            rc=$?
            # Gone either way once the agent said so, or said it never had it.
            [ $rc = 0 ] || grep -q "no endpoint" <<<"$out" && ids[$j]=
            echo "detach $rc $((($(date +%s%N) - t0) / 1000000)) $(head -c 200 <<<"$out" | tr '\n' ' ')"
        fi
    done >"$TMP/churn/$l$h"
}
# clean_errors LABEL: every churn operation exited 0, 1 or 3 (never
# timeout's 124 or a crash), and every refusal carried a message.
clean_errors() {
    local f bad
    for f in "$TMP/churn/$1"*; do
        bad=$(awk '$2 != 0 && $2 != 1 && $2 != 3 || ($2 != 0 && NF < 4)' "$f")
        [ -z "$bad" ] || { echo "$(basename "$f"): $bad"; return 1; }
    done
}
mkdir -p "$TMP/churn"

if want 1 || want 2; then
underlay_hosts 3 || { not_ok "underlay namespaces"; finish; }

start_host() { # i [extra args]
    local i=$1
    shift
    agent_start "$PFX-h$i" "a$i" --bind "192.0.2.$i" --vtep "192.0.2.$i" \
        --node-name "h$i" --gossip-profile local --reconcile-interval 1000 "$@"
}
if start_host 1 && start_host 2 --join 192.0.2.1 && start_host 3 --join 192.0.2.1; then
    ok "three agents start"
else
    not_ok "three agents start"; finish
fi
alive_count() { vx "$1" members --json | jq '[.members[] | select(.state == "alive")] | length'; }
all_alive() { [ "$(alive_count a1)" = 3 ] && [ "$(alive_count a2)" = 3 ] && [ "$(alive_count a3)" = 3 ]; }
check "all three see 3 alive members" wait_for 20 all_alive
check "net create churn 10.40.0.0/22 on h1" vx a1 net create churn --subnet 10.40.0.0/22
check "h2 and h3 see churn" wait_for 10 bash -c "vx a2 net inspect churn && vx a3 net inspect churn"
for h in 1 2 3; do for j in $(seq 1 8); do netns_add "$PFX-k$h-$j" && netns_add "$PFX-q$h-$j"; done; done
for j in $(seq 1 12); do netns_add "$PFX-b2-$j"; done
fi

# ==== 1. kill -9 of an agent during churn, restart on the same state dir ====
if want 1; then
# Two clients a host (namespaces k* and q*), so that the kill finds requests
# of h2's in flight.
CH=()
for h in 1 2 3; do
    for l in k q; do
        churn "$h" "$l" 24 &
        CH+=("$!")
    done
done
PIDS+=("${CH[@]}")
ops2() { cat "$TMP/churn/k2" "$TMP/churn/q2" 2>/dev/null | wc -l; }
check "h2's churn is under way" wait_for 30 bash -c "[ \$(cat $TMP/churn/k2 $TMP/churn/q2 | wc -l) -ge 6 ]"
# Then a burst of 12 attaches on h2, queued while its agent is stopped
# (SIGSTOP) and let in at once; the kill comes as soon as its log shows the
# first of them attached, with the others queued or half-done in the agent.
kill -STOP "$AGENT_PID_a2"
for j in $(seq 1 12); do
    (t0=$(date +%s%N)
     out=$(timeout 20 "$VXMESH" --socket "$TMP/a2/sock" ep attach churn --netns "$PFX-b2-$j" 2>&1)
     rc=$?
     echo "attach $rc $((($(date +%s%N) - t0) / 1000000)) $(head -c 200 <<<"$out" | tr '\n' ' ')" \
         >"$TMP/churn/b$j") &
    CH+=("$!")
done
PIDS+=("${CH[@]}")
# backlog: connections waiting in the listening socket's accept queue
backlog() { ip netns exec "$PFX-h2" ss -xlnH | awk -v p="$TMP/a2/sock" '$5 == p {print $3}'; }
export -f backlog
export PFX
check "the burst's 12 connections wait for h2's stopped agent" \
    wait_for 20 bash -c '[ "$(backlog)" -ge 12 ]'
kill -CONT "$AGENT_PID_a2"
for _ in $(seq 5000); do grep -q "endpoint attached .*netns=/run/netns/$PFX-b2-" "$TMP/a2/log" && break; done
kill -9 "$AGENT_PID_a2"
wait "$AGENT_PID_a2" 2>/dev/null
diag "killed a2 after $(ops2) of h2's churn operations and $(cat "$TMP"/churn/b* 2>/dev/null | wc -l) of its burst"
check "h2's clients see their agent gone (exit 3)" \
    wait_for 10 bash -c "awk '\$2 == 3' $TMP/churn/k2 $TMP/churn/q2 | grep -q ."
if start_host 2 --join 192.0.2.1; then ok "a2 restarts on its state dir after kill -9"; else not_ok "a2 restarts on its state dir after kill -9"; fi
T0=$SECONDS
wait "${CH[@]}"
diag "churn ended $((SECONDS - T0)) s after the restart; outcomes:"
for h in 1 2 3; do
    diag "  h$h: $(cat "$TMP/churn/k$h" "$TMP/churn/q$h" | awk '{print $1 "=" $2}' | sort | uniq -c | tr -s ' \n' ' ')"
    cat "$TMP/churn/k$h" "$TMP/churn/q$h" | awk '$2 != 0' | sed "s/^/#     h$h: /"
done
diag "  h2's burst: $(cat "$TMP"/churn/b* | awk '{print $1 "=" $2}' | sort | uniq -c | tr -s ' \n' ' ')"
cat "$TMP"/churn/b* | awk '$2 != 0' | sed "s/^/#     burst: /"
clean_kq() { clean_errors k && clean_errors q && clean_errors b; }
check "the churn clients saw only clean errors (exit 0/1/3 with a message, no hang)" clean_kq
check "all three see 3 alive members again" wait_for 30 all_alive
check "no address twice cluster-wide after the churn" no_dups
for h in 1 2 3; do
    check "h$h: every endpoint its database holds is in place (status ok, veth, address), nothing else" \
        wait_for 10 in_place "a$h" "$PFX-h$h"
done
check "every live endpoint is in every other host's FDB, nothing stale or missing" \
    wait_for 30 fdbs_exact

fi
# ==== 2. a partition during churn, then heal ====
if want 2; then
for h in 1 2 3; do for j in $(seq 1 8); do netns_add "$PFX-p$h-$j"; done; done
gone() { # agent name: dead, left or forgotten
    local st
    st=$(vx "$1" members --json | jq -r --arg n "$2" '.members[] | select(.name == $n) | .state') &&
        [ "$st" != alive ] && [ "$st" != suspect ]
}
split_seen() { gone a1 h3 && gone a2 h3 && gone a3 h1 && gone a3 h2; }
free_of() { vx "$1" ipam churn --json | jq .local.free; }
ensure_space() { # agent: own at least 8 free addresses before the split
    local a=$1 id
    [ "$(free_of "$a")" -ge 8 ] && return 0
    netns_add "$PFX-s$a"
    vx "$a" ep attach churn --netns "$PFX-s$a" >/dev/null &&
        id=$(vx "$a" ep ls --net churn --json | jq -r --arg ns "/run/netns/$PFX-s$a" \
            '.endpoints[] | select(.netns == $ns) | .id') &&
        vx "$a" ep detach "$id" >/dev/null && [ "$(free_of "$a")" -ge 8 ]
}
for h in 1 2 3; do check "h$h owns free space before the partition" ensure_space "a$h"; done
partition "$PFX-h3" 192.0.2.1 192.0.2.2
check "the partition is seen on both sides" wait_for 40 split_seen
CH=()
for h in 1 2 3; do
    churn "$h" p 12 &
    CH+=("$!")
done
PIDS+=("${CH[@]}")
wait "${CH[@]}"
for h in 1 2 3; do
    diag "  h$h: $(awk '{print $1 "=" $2}' "$TMP/churn/p$h" | sort | uniq -c | tr -s ' \n' ' ')"
    check "h$h attaches and detaches from its own space while apart (12 of 12)" \
        bash -c "[ \$(awk '\$2 == 0' $TMP/churn/p$h | wc -l) = 12 ]"
done
check "partition churn saw only clean errors" clean_errors p
heal "$PFX-h3"
check "after healing, all three see 3 alive" wait_for 60 all_alive
check "after healing, no address twice cluster-wide" no_dups
for h in 1 2 3; do
    check "after healing, h$h's endpoints are all in place" wait_for 10 in_place "a$h" "$PFX-h$h"
done
check "after healing, every FDB holds exactly the other hosts' endpoints" wait_for 40 fdbs_exact

fi
# ==== stand-alone hosts for 3 and 4 ====
solo_host() { # ns
    netns_add "$1" &&
        ip -n "$1" link add ul0 type veth peer name ul0-peer &&
        ip -n "$1" addr add 192.0.2.1/24 dev ul0 && ip -n "$1" link set ul0-peer up &&
        ip -n "$1" link set ul0 up && ip -n "$1" route add default via 192.0.2.254 dev ul0 onlink
}
H4=$PFX-h4
H5=$PFX-h5
solo_host "$H4" && solo_host "$H5" || { not_ok "stand-alone hosts"; finish; }

# ==== 3. a full disk under the state directory ====
if want 3; then
# The agent runs in a mount namespace of its own (unshare -m; slave, so
# namespaces added later still reach it), where a 2 MiB tmpfs lies over its
# state dir: the mount goes when the agent does, nothing outside sees it.  unshare and ip netns exec both exec, so
# the PID is the agent's.
D=$TMP/d
mkdir -p "$D/state"
unshare -m --propagation slave sh -c \
    'mount -t tmpfs -o size=2m,mode=0700 vxtfull "$1/state" && shift && exec "$@"' sh "$D" \
    ip netns exec "$H4" "$VXMESH" agent --state-dir "$D/state" --socket "$D/sock" \
    --log-level debug --reconcile-interval 500 >>"$D/log" 2>&1 &
AGENT_PID_d=$!
PIDS+=("$AGENT_PID_d")
if wait_for 10 test -S "$D/sock" && wait_for 5 vx d status; then
    ok "agent d starts with its state dir on a 2 MiB tmpfs"
else
    not_ok "agent d starts with its state dir on a 2 MiB tmpfs"; sed 's/^/#   /' "$D/log"
fi
in_d() { nsenter -t "$AGENT_PID_d" -m "$@"; }
check "the tmpfs is mounted in d's mount namespace only" \
    bash -c "nsenter -t $AGENT_PID_d -m findmnt -n $D/state >/dev/null && ! findmnt -n $D/state >/dev/null"
check "net create disk" vx d net create disk --subnet 10.50.0.0/24 --vni 500
for f in f1 f2; do netns_add "$PFX-$f"; done
check "attach f1 while there is space" vx d ep attach disk --netns "$PFX-f1" --ip 10.50.0.10
fill() { # fill the tmpfs to the last block (dd stops at ENOSPC)
    in_d dd if=/dev/zero of="$D/state/filler" bs=64k 2>/dev/null
    in_d dd if=/dev/zero of="$D/state/filler2" bs=1k 2>/dev/null
    [ "$(in_d df --output=avail -B1 "$D/state" | tail -n1 | tr -d ' ')" -lt 4096 ]
}
check "fill the state disk" fill
d_snapshot() {
    vx d net ls --json | jq -c '[.networks[] | {name, vni, subnet}]'
    vx d ep ls --json | jq -c '[.endpoints[] | {id, ip, status}]'
    ip -n "$H4" -o link | awk '{print $2}' | sort
}
BEFORE=$(d_snapshot)
# refused_full COMMAND...: exit 1 and a message that names the disk
refused_full() {
    local out rc
    out=$("$@" 2>&1)
    rc=$?
    if [ $rc = 1 ] && grep -qi "state database" <<<"$out" && grep -qiE "disk full|no space" <<<"$out"; then
        ok "refused on a full disk: ${*:3} -> exit 1: $(head -n1 <<<"$out")"
    else
        not_ok "refused on a full disk: ${*:3} (wanted exit 1 and 'state database ... disk full', got exit $rc: $out)"
    fi
}
refused_full vx d ep attach disk --netns "$PFX-f2" --ip 10.50.0.77
refused_full vx d ep attach disk --netns "$PFX-f2"
refused_full vx d net create disk2 --subnet 10.51.0.0/24 --vni 501
http_full() { # the API answers the disk-full error with a status that is not 500
    local out
    out=$(api d POST /v1/endpoints "{\"network\": \"disk\", \"netns\": \"$PFX-f2\", \"ip\": \"10.50.0.77\"}")
    echo "$out"
    [ "$(tail -n1 <<<"$out")" != 500 ] && [ "$(tail -n1 <<<"$out")" -ge 400 ] &&
        sed '$d' <<<"$out" | jq -e '.error.message | test("disk full")' >/dev/null
}
check "the API's answer is an error that says disk full, not a 500" http_full
check "f2 got no interface" bash -c "[ \"\$(ip -n $PFX-f2 -o link | wc -l)\" = 1 ]"
AFTER=$(d_snapshot)
check "nothing changed: networks, endpoints and h4's links as before" [ "$BEFORE" = "$AFTER" ]
[ "$BEFORE" = "$AFTER" ] || diag "before: $BEFORE / after: $AFTER"
check "no bridge or vxlan device for VNI 501" \
    bash -c "! ip -n $H4 link show vxmb501 2>/dev/null && ! ip -n $H4 link show vxmv501 2>/dev/null"
check "the agent keeps serving: status" vx d status
check "the agent keeps serving: ep ls" vx d ep ls
check "the agent is still the same process" kill -0 "$AGENT_PID_d"
check "free the space" in_d rm -f "$D/state/filler" "$D/state/filler2"
check "the same address attaches once space is back (no lease was held)" \
    vx d ep attach disk --netns "$PFX-f2" --ip 10.50.0.77
check "... and f2 has it" bash -c "ip -n $PFX-f2 -4 -o addr show | grep -q ' 10.50.0.77/'"
check "net create disk2 succeeds once space is back" vx d net create disk2 --subnet 10.51.0.0/24 --vni 501
check "d's endpoints are all ok" \
    bash -c "vx d ep ls --json | jq -e '(.endpoints | length) == 2 and all(.endpoints[]; .status == \"ok\")'"

fi
# ==== 4. a corrupt or foreign state database at start ====
if want 4; then
G=$TMP/g
if agent_start "$H5" g --reconcile-interval 500; then ok "agent g starts"; else not_ok "agent g starts"; fi
netns_add "$PFX-g1"
check "g: net create keep (VNI 600) and attach g1" bash -c \
    "vx g net create keep --subnet 10.60.0.0/24 --vni 600 && vx g ep attach keep --netns $PFX-g1 --ip 10.60.0.5"
kill -TERM "$AGENT_PID_g"
wait "$AGENT_PID_g" 2>/dev/null
check "g stops on TERM" bash -c "! kill -0 $AGENT_PID_g 2>/dev/null"
kernel_g() { # the objects g made, as the kernel has them
    ip -n "$H5" -o link show vxmb600 2>/dev/null | awk '{print $2}'
    ip -n "$H5" -o -d link show vxmv600 2>/dev/null | grep -o 'vxlan id [0-9]*'
    ip -n "$H5" -j link show type veth | jq -r '.[] | select(.ifname | startswith("vxm")) | .ifname'
    ip -n "$PFX-g1" -4 -o addr show | awk '{print $4}'
}
KERNEL=$(kernel_g)
diag "g's kernel objects: $(tr '\n' ' ' <<<"$KERNEL")"
cp "$G/state/state.db" "$TMP/good.db"
check "g left no WAL behind (the database is one file)" bash -c "[ ! -s $G/state/state.db-wal ]"
SCHEMA=$(sed -n 's/^#define DRV_STATE_SCHEMA[[:space:]]*\([0-9]*\).*/\1/p' \
    "$(dirname "$0")/../../driver/state.h")
# refuses LABEL FRAGMENT: start g on the prepared state.db; it must exit
# non-zero within 10 s, saying FRAGMENT, with state.db's bytes and the
# kernel's objects unchanged.
refuses() {
    local label=$1 frag=$2 sum rc
    rm -f "$G/state/state.db-wal" "$G/state/state.db-shm"
    sum=$(sha256sum <"$G/state/state.db")
    : >"$G/log"
    timeout 10 ip netns exec "$H5" "$VXMESH" agent --state-dir "$G/state" \
        --socket "$G/sock" --reconcile-interval 500 >"$G/log" 2>&1
    rc=$?
    if [ $rc != 0 ] && [ $rc != 124 ] && grep -qiE -- "$frag" "$G/log"; then
        ok "$label: the agent refuses to start (exit $rc): $(grep -iE -- "$frag" "$G/log" | head -n1)"
    else
        not_ok "$label: the agent must refuse to start saying /$frag/ (exit $rc)"
        sed 's/^/#   /' "$G/log"
    fi
    check "$label: state.db's bytes are unchanged" [ "$(sha256sum <"$G/state/state.db")" = "$sum" ]
    check "$label: no WAL written next to it" bash -c "[ ! -s $G/state/state.db-wal ]"
    check "$label: the bridge, vxlan device, veth and address are all still there" \
        [ "$(kernel_g)" = "$KERNEL" ]
}
head -c 65536 /dev/urandom >"$G/state/state.db"
refuses "garbage state.db" "state database.*not a database"
python3 - "$G/state/state.db" <<'PY'
import os, sqlite3, sys
os.unlink(sys.argv[1])
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TABLE foo (a INTEGER, b TEXT)")
db.execute("INSERT INTO foo VALUES (1, 'not vxmesh')")
db.commit()
db.close()
PY
refuses "another program's SQLite file" "state database.*not a vxmesh state database"
cp "$TMP/good.db" "$G/state/state.db"
python3 - "$G/state/state.db" "$((SCHEMA + 1))" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA user_version = %d" % int(sys.argv[2]))
db.commit()
db.close()
PY
check "the newer copy really says schema $((SCHEMA + 1))" bash -c \
    "[ \"\$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"PRAGMA user_version\").fetchone()[0])' $G/state/state.db)\" = $((SCHEMA + 1)) ]"
refuses "a state.db of schema $((SCHEMA + 1)) (this binary: $SCHEMA)" "newer than this vxmesh"
cp "$TMP/good.db" "$G/state/state.db"
rm -f "$G/state/state.db-wal" "$G/state/state.db-shm"
if agent_start "$H5" g --reconcile-interval 500; then ok "g starts again on its own database"; else not_ok "g starts again on its own database"; fi
check "... with g1 in place (status ok)" bash -c \
    "vx g ep ls --json | jq -e '(.endpoints | length) == 1 and .endpoints[0].status == \"ok\" and .endpoints[0].ip == \"10.60.0.5/24\"'"
check "... and the kernel objects untouched" [ "$(kernel_g)" = "$KERNEL" ]
fi
finish
