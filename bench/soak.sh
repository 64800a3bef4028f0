#!/usr/bin/env bash
# Soak of the agent under endpoint churn.  Three namespace hosts on one
# switch, one cluster, one network.  First PER_HOST endpoints (default 333)
# are attached on each host, spread over NS_PER_HOST container namespaces
# (default 8) with a distinct --name each; then for SOAK_SECONDS (default
# 600; or the first argument) one worker per host repeatedly picks BATCH
# random endpoints (default 12: at most 12 CLI calls in flight per host),
# detaches them at once, then re-attaches them at once.  Every 10 s each
# agent's VmRSS and open fd count are sampled with the attach/detach counts.
# Each sample also has the agent's RssAnon and its gossip table's endpoint
# tombstones (GET /metrics).  Then, once quiet: (1) every live endpoint of every host is a "remote
# endpoint" row in every other host's FDB (and in the kernel's), (2) no
# address or MAC twice cluster-wide, (3) no FDB row for an endpoint that is
# no longer attached, (4) the agents are alive; also: no endpoint, veth or
# interface left over that the workers do not know.  Samples go to
# bench/results/soak-DATE.csv, a plot of RSS and fds to soak-DATE.png (needs
# python3-matplotlib: installed with apt-get if missing), the report to
# soak-DATE.txt and stdout.  Slopes are least squares over the churn samples.
#
#                 ┌────────── netns sw: bridge br0 ──────────┐
#                 └──┬───────────────────┬──────────────────┬┘
#          192.0.2.1 │         192.0.2.2 │        192.0.2.3 │
#        ┌───────────┴──┐  ┌─────────────┴┐  ┌──────────────┴┐
#        │ h1: agent a1 │  │ h2: agent a2 │  │ h3: agent a3  │
#        └──┬───────────┘  └──┬───────────┘  └──┬────────────┘
#   c1-0..c1-7 (e1..e333)  c2-0..c2-7          c3-0..c3-7
#   network soak: 10.77.0.0/20 inside the namespaces only
. "$(dirname "$0")/lib.sh"
DURATION=${1:-${SOAK_SECONDS:-600}}
PER_HOST=${PER_HOST:-333}
NS_PER_HOST=${NS_PER_HOST:-8}
BATCH=${BATCH:-12}
INTERVAL=${INTERVAL:-10}
QUIET_WAIT=${QUIET_WAIT:-120}
HOSTS=3
RESULTS=${RESULTS:-$ROOT/bench/results}
STAMP=$(date -u +%Y%m%d-%H%M%S)
CSV=$RESULTS/soak-$STAMP.csv
PNG=$RESULTS/soak-$STAMP.png
TXT=$RESULTS/soak-$STAMP.txt
NET=soak
# Debian's python3, where apt-get puts matplotlib (not a pyenv one first in PATH)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
for t in jq curl "$PY" bridge timeout shuf; do
    command -v "$t" >/dev/null || { echo "$t missing" >&2; exit 1; }
done
if ! "$PY" -c 'import matplotlib' 2>/dev/null; then
    echo "installing python3-matplotlib (for the plot)" >&2
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-matplotlib; } \
        >"$BTMP/apt.log" 2>&1 || echo "could not install python3-matplotlib: no plot" >&2
fi
mkdir -p "$RESULTS"

# ---- hosts, agents, network, container namespaces ----
b_netns "$BPFX-sw" || exit 1
ip -n "$BPFX-sw" link add br0 type bridge && ip -n "$BPFX-sw" link set br0 up
for i in $(seq "$HOSTS"); do
    h=$BPFX-h$i
    b_netns "$h" || exit 1
    ip link add "$BPFX-u$i" type veth peer name ul0 netns "$h"
    ip link set "$BPFX-u$i" netns "$BPFX-sw"
    ip -n "$BPFX-sw" link set "$BPFX-u$i" master br0 up
    ip -n "$h" addr add "192.0.2.$i/24" dev ul0 && ip -n "$h" link set ul0 up
    for k in $(seq 0 $((NS_PER_HOST - 1))); do b_netns "$BPFX-c$i-$k" || exit 1; done
done
for i in $(seq "$HOSTS"); do
    join=()
    [ "$i" -gt 1 ] && join=(--join 192.0.2.1)
    b_agent "$BPFX-h$i" "a$i" --bind "192.0.2.$i" --vtep "192.0.2.$i" --node-name "h$i" \
        --log-level info ${PROFILE:+--gossip-profile "$PROFILE"} "${join[@]}" ||
        { echo "agent a$i did not start" >&2; exit 1; }
done
APID=("${B_PIDS[@]}") # ip netns exec execs the agent: these are the agents' PIDs
alive_n() { bvx "$1" members --json | jq '[.members[] | select(.state == "alive")] | length'; }
b_wait 30 bash -c "[ \"\$('$VXMESH' --socket '$BTMP/a3.sock' members --json | jq '[.members[]|select(.state==\"alive\")]|length')\" = 3 ]" ||
    { echo "cluster did not form" >&2; exit 1; }
bvx a1 net create "$NET" --subnet 10.77.0.0/20 >/dev/null || exit 1
for i in 2 3; do b_wait 15 bvx "a$i" net inspect "$NET" || { echo "network not on h$i" >&2; exit 1; }; done

# ---- operations: each appends "A|D RC MS MESSAGE" to $BTMP/ops.hI ----
for i in $(seq "$HOSTS"); do mkdir -p "$BTMP/w$i"; : >"$BTMP/ops.h$i"; done
ms_since() { # EPOCHREALTIME at start
    local a=${1/./} b=${EPOCHREALTIME/./}
    echo $(((b - a) / 1000))
}
op_attach() { # host slot
    local h=$1 s=$2 t0=$EPOCHREALTIME rc id msg
    timeout 40 "$VXMESH" --socket "$BTMP/a$h.sock" --json ep attach "$NET" \
        --netns "$BPFX-c$h-$((s % NS_PER_HOST))" --name "e$s" \
        >"$BTMP/w$h/$s.out" 2>"$BTMP/w$h/$s.err"
    rc=$?
    if [ "$rc" = 0 ]; then
        id=$(sed -n 's/^  "id": "\(.*\)",\{0,1\}$/\1/p' "$BTMP/w$h/$s.out")
        echo "$id" >"$BTMP/w$h/$s.id"
        [ -n "$id" ] || msg="attach ok but no id in the reply"
    else
        msg=$(tr '\n' ' ' <"$BTMP/w$h/$s.err")
        [ "$rc" = 124 ] && msg="timeout (40 s) $msg"
    fi
    echo "A $rc $(ms_since "$t0") ${msg:-}" >>"$BTMP/ops.h$h"
}
op_detach() { # host slot
    local h=$1 s=$2 t0=$EPOCHREALTIME rc msg
    timeout 40 "$VXMESH" --socket "$BTMP/a$h.sock" ep detach "$(cat "$BTMP/w$h/$s.id")" \
        >/dev/null 2>"$BTMP/w$h/$s.err"
    rc=$?
    if [ "$rc" = 0 ]; then
        rm -f "$BTMP/w$h/$s.id"
    else
        msg=$(tr '\n' ' ' <"$BTMP/w$h/$s.err")
        [ "$rc" = 124 ] && msg="timeout (40 s) $msg"
    fi
    echo "D $rc $(ms_since "$t0") ${msg:-}" >>"$BTMP/ops.h$h"
}
# fill HOST: attach every slot that has no endpoint, BATCH at a time
fill() {
    local h=$1 s n=0 pids=()
    for s in $(seq "$PER_HOST"); do
        [ -e "$BTMP/w$h/$s.id" ] && continue
        op_attach "$h" "$s" &
        pids+=("$!")
        n=$((n + 1))
        if [ "$n" -ge "$BATCH" ]; then wait "${pids[@]}"; pids=(); n=0; fi
    done
    wait "${pids[@]}"
}
# churn HOST END: until END (SECONDS) or 100,000 batches: BATCH random slots
# are detached together, then attached together (a slot whose attach failed
# before is only attached).
churn() {
    local h=$1 end=$2 b s pids
    for b in $(seq 100000); do
        [ $SECONDS -ge "$end" ] && break
        pick=$(shuf -i "1-$PER_HOST" -n "$BATCH")
        pids=()
        for s in $pick; do
            [ -e "$BTMP/w$h/$s.id" ] && { op_detach "$h" "$s" & pids+=("$!"); }
        done
        [ ${#pids[@]} -gt 0 ] && wait "${pids[@]}"
        pids=()
        for s in $pick; do
            [ -e "$BTMP/w$h/$s.id" ] || { op_attach "$h" "$s" & pids+=("$!"); }
        done
        [ ${#pids[@]} -gt 0 ] && wait "${pids[@]}"
    done
    echo "$b" >"$BTMP/w$h.batches"
}

# ---- samples: t_s,phase,agent,pid,rss_kb,fds,endpoints,attach_ok,attach_fail,detach_ok,detach_fail ----
T0=$SECONDS
echo "t_s,phase,agent,pid,rss_kb,fds,endpoints,attach_ok,attach_fail,detach_ok,detach_fail,rss_anon_kb,tombstones" >"$CSV"
sample() { # phase
    local i p rss anon fds eps c tomb
    for i in $(seq "$HOSTS"); do
        p=${APID[$((i - 1))]}
        rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null)
        anon=$(awk '/^RssAnon:/ {print $2}' "/proc/$p/status" 2>/dev/null)
        tomb=$(curl -s --max-time 10 --unix-socket "$BTMP/a$i.sock" http://vxmesh/metrics |
            awk '/^vxmesh_table_entries\{kind="endpoint",state="tombstone"\}/ {print $2}')
        fds=$(ls "/proc/$p/fd" 2>/dev/null | wc -l)
        eps=$(timeout 10 "$VXMESH" --socket "$BTMP/a$i.sock" status --json 2>/dev/null | jq .endpoints)
        c=$(awk '$1 == "A" && $2 == 0 {ao++} $1 == "A" && $2 != 0 {af++}
                 $1 == "D" && $2 == 0 {do_++} $1 == "D" && $2 != 0 {df++}
                 END {printf "%d,%d,%d,%d", ao, af, do_, df}' "$BTMP/ops.h$i")
        echo "$((SECONDS - T0)),$1,a$i,$p,${rss:-},$fds,${eps:-},$c,${anon:-},${tomb:-}" >>"$CSV"
    done
}
sample start
echo "filling: $PER_HOST endpoints on each of $HOSTS hosts" >&2
FPIDS=()
for i in $(seq "$HOSTS"); do fill "$i" & FPIDS+=("$!"); done
wait "${FPIDS[@]}" # not a bare wait: the agents are jobs of this shell too
sample filled
echo "filled in $((SECONDS - T0)) s; churn for $DURATION s" >&2
END=$((SECONDS + DURATION))
WPIDS=()
for i in $(seq "$HOSTS"); do churn "$i" "$END" & WPIDS+=("$!"); B_PIDS+=("$!"); done
next=$((SECONDS + INTERVAL))
while [ $SECONDS -lt "$END" ]; do
    sleep 1
    [ $SECONDS -ge $next ] && { sample churn; next=$((next + INTERVAL)); }
done
wait "${WPIDS[@]}"
sample churned
echo "churn over at $((SECONDS - T0)) s; waiting for quiescence" >&2

# ---- checks once quiet ----
snap() { # -> $BTMP/ep.hI.json, $BTMP/fdb.hI.json, $BTMP/kfdb.hI.json
    local i dev
    for i in $(seq "$HOSTS"); do
        bvx "a$i" ep ls --net "$NET" --json >"$BTMP/ep.h$i.json" || return 1
        bvx "a$i" fdb "$NET" --json >"$BTMP/fdb.h$i.json" || return 1
        dev=$(bvx "a$i" net inspect "$NET" --json | jq -r .vxlan_dev)
        bridge -n "$BPFX-h$i" -j fdb show dev "$dev" >"$BTMP/kfdb.h$i.json" || return 1
    done
}
# lost I: endpoints of other hosts that h_I's FDB lacks as "remote endpoint"
# with the right VTEP; stale I: h_I's FDB rows (any but "not ours") whose MAC
# is no live endpoint of another host; klost/kstale: the same in the kernel
counts() {
    local i o others
    for i in $(seq "$HOSTS"); do
        others=$(for o in $(seq "$HOSTS"); do [ "$o" = "$i" ] ||
            jq -c --arg vtep "192.0.2.$o" '[.endpoints[] | {mac, ip: (.ip | split("/")[0]), vtep: $vtep}]' "$BTMP/ep.h$o.json"; done |
            jq -s -c 'add')
        jq -r --argjson want "$others" --slurpfile k "$BTMP/kfdb.h$i.json" --arg h "h$i" '
            [.entries[] | select(.why == "remote endpoint")] as $have |
            ($have | map({key: "\(.mac) \(.ip) \(.dst)", value: 1}) | from_entries) as $hv |
            ($want | map({key: .mac, value: 1}) | from_entries) as $wm |
            ([$k[0][] | select(.dst != null) | {key: "\(.mac) \(.dst)", value: 1}] | from_entries) as $kv |
            ([$want[] | select($hv["\(.mac) \(.ip) \(.vtep)"] == null)] | length) as $lost |
            ([.entries[] | select(.why != "not ours (left alone)" and $wm[.mac] == null)] | length) as $stale |
            ([.entries[] | select(.why == "stale (will be removed)")] | length) as $pend_stale |
            ([.entries[] | select(.why == "missing (will be installed)")] | length) as $pend_missing |
            ([$want[] | select($kv["\(.mac) \(.vtep)"] == null)] | length) as $klost |
            ([$k[0][] | select(.dst != null and .mac != "00:00:00:00:00:00" and $wm[.mac] == null)] | length) as $kstale |
            "\($h) want=\($want | length) have=\($have | length) lost=\($lost) stale=\($stale) pending_stale=\($pend_stale) pending_missing=\($pend_missing) kernel_lost=\($klost) kernel_stale=\($kstale)"' \
            "$BTMP/fdb.h$i.json"
    done
}
converged() { snap && counts >"$BTMP/counts" && ! grep -qE '(lost|stale|missing)=[1-9]' "$BTMP/counts"; }
Q0=$SECONDS
if b_wait "$QUIET_WAIT" converged; then quiet="converged $((SECONDS - Q0)) s after the churn"
else quiet="NOT converged within $QUIET_WAIT s"; snap; counts >"$BTMP/counts"; fi
sample quiet
dups_ip=$(jq -r '.endpoints[].ip | split("/")[0]' "$BTMP"/ep.h*.json | sort | uniq -d)
dups_mac=$(jq -r '.endpoints[].mac' "$BTMP"/ep.h*.json | sort | uniq -d)
# endpoints the agents have but the workers do not know (and the reverse),
# host-side veths and container interfaces beyond the endpoints
leftover=""
for i in $(seq "$HOSTS"); do
    cat "$BTMP"/w$i/*.id 2>/dev/null | sort >"$BTMP/known.h$i"
    jq -r '.endpoints[].id' "$BTMP/ep.h$i.json" | sort >"$BTMP/agent.h$i"
    extra=$(comm -13 "$BTMP/known.h$i" "$BTMP/agent.h$i" | wc -l)
    missing=$(comm -23 "$BTMP/known.h$i" "$BTMP/agent.h$i" | wc -l)
    veths=$(ip -n "$BPFX-h$i" -o link show type veth | grep -c ': vxm')
    cifs=0
    for k in $(seq 0 $((NS_PER_HOST - 1))); do
        cifs=$((cifs + $(ip -n "$BPFX-c$i-$k" -o link show | grep -cE ': e[0-9]+@')))
    done
    notok=$(jq '[.endpoints[] | select(.status != "ok")] | length' "$BTMP/ep.h$i.json")
    leftover+="h$i: endpoints $(wc -l <"$BTMP/agent.h$i") (workers know $(wc -l <"$BTMP/known.h$i");"
    leftover+=" unknown to them $extra, gone $missing), status not ok $notok, host veths $veths,"
    leftover+=" container interfaces $cifs"$'\n'
done
alive=""
for i in $(seq "$HOSTS"); do
    p=${APID[$((i - 1))]}
    if kill -0 "$p" 2>/dev/null && bvx "a$i" status >/dev/null 2>&1; then
        alive+="a$i (pid $p) alive, sees $(alive_n "a$i") alive members; "
    else
        alive+="a$i (pid $p) DEAD or not answering; "
    fi
done

# ---- report ----
slopes() { # least squares per agent over the churn samples (and the second half)
    awk -F, -v from="$1" 'NR > 1 && ($2 == "churn" || $2 == "churned") && $1 >= from && $5 != "" {
            a = $3; n[a]++; x = $1 / 60; sx[a] += x; sxx[a] += x * x
            sr[a] += $5; sxr[a] += x * $5; sf[a] += $6; sxf[a] += x * $6 }
        END { for (a in n) { d = n[a] * sxx[a] - sx[a] * sx[a]; if (d == 0) continue
            printf "%s: %+.1f KB/min, %+.3f fds/min (%d samples)\n", a,
                (n[a] * sxr[a] - sx[a] * sr[a]) / d, (n[a] * sxf[a] - sx[a] * sf[a]) / d, n[a] } }' "$CSV" | sort
}
first_t=$(awk -F, '$2 == "churn" {print $1; exit}' "$CSV")
last_t=$(awk -F, '$2 == "churned" {print $1; exit}' "$CSV")
half_t=$(((first_t + last_t) / 2))
lat() { # A|D -> p50/p99/max ms of successful calls
    cat "$BTMP"/ops.h* | awk -v k="$1" '$1 == k && $2 == 0 {print $3}' | sort -n >"$BTMP/lat"
    echo "p50 $(pct 50 <"$BTMP/lat") ms, p99 $(pct 99 <"$BTMP/lat") ms, max $(tail -n1 "$BTMP/lat") ms"
}
{
    echo "vxmesh soak $STAMP: $HOSTS hosts, $PER_HOST endpoints each over $NS_PER_HOST namespaces," \
        "batches of $BATCH per host, churn $DURATION s, profile ${PROFILE:-lan}"
    echo "RSS (KB) and fds, start (after the agents formed the cluster) / filled / after churn / quiet:"
    for i in $(seq "$HOSTS"); do
        awk -F, -v a="a$i" '$3 == a && $2 != "churn" {printf "%s %s rss %s (anon %s) fds %s tombstones %s\n", a, $2, $5, $12, $6, $13}' "$CSV"
    done
    echo "slope over the churn samples (t=$first_t..$last_t s):"
    slopes 0
    echo "slope over the second half of the churn (t>=$half_t s):"
    slopes "$half_t"
    for i in $(seq "$HOSTS"); do
        awk -v h="h$i" -v b="$(cat "$BTMP/w$i.batches" 2>/dev/null)" '
            $1 == "A" {a++; if ($2) af++} $1 == "D" {d++; if ($2) df++}
            END {printf "%s: %d batches, attaches %d (failed %d), detaches %d (failed %d)\n", h, b, a, af, d, df}' \
            "$BTMP/ops.h$i"
    done
    cat "$BTMP"/ops.h* | awk '$1 == "A" {a++; if ($2) af++} $1 == "D" {d++; if ($2) df++}
        END {printf "total: attaches %d (failed %d), detaches %d (failed %d)\n", a, af, d, df}'
    echo "attach latency: $(lat A); detach latency: $(lat D)"
    echo "failures by message (ids and addresses masked):"
    cat "$BTMP"/ops.h* | awk '$2 != 0 {k = $1; rc = $2; $1 = $2 = $3 = ""; sub(/^ +/, "");
            print (k == "A" ? "attach" : "detach") " rc=" rc ": " $0}' |
        sed -E 's/[0-9a-f]{12,}/ID/g; s/([0-9]+\.){3}[0-9]+/IP/g' | sort | uniq -c | sort -rn | head -20
    echo "quiescence: $quiet"
    cat "$BTMP/counts"
    echo "duplicate addresses: $(wc -w <<<"$dups_ip") ${dups_ip//$'\n'/ }"
    echo "duplicate MACs: $(wc -w <<<"$dups_mac") ${dups_mac//$'\n'/ }"
    printf '%s' "$leftover"
    echo "agents: $alive"
    for i in $(seq "$HOSTS"); do
        echo "a$i log: $(wc -l <"$BTMP/a$i.log") lines, $(grep -ciE 'warn|error' "$BTMP/a$i.log") warn/error"
        grep -iE 'warn|error' "$BTMP/a$i.log" | sed -E 's/^[^ ]+ //; s/[0-9a-f]{12,}/ID/g; s/([0-9]+\.){3}[0-9]+/IP/g; s/[0-9]+/N/g' |
            sort | uniq -c | sort -rn | head -8 | sed 's/^/    /'
    done
} | tee "$TXT"
for i in $(seq "$HOSTS"); do
    grep -iE 'warn|error' "$BTMP/a$i.log" | tail -n 200 >"$RESULTS/soak-$STAMP.a$i.warn.log"
    [ -s "$RESULTS/soak-$STAMP.a$i.warn.log" ] || rm -f "$RESULTS/soak-$STAMP.a$i.warn.log"
done
if "$PY" -c 'import matplotlib' 2>/dev/null; then
    "$PY" - "$CSV" "$PNG" <<'PY'
import csv, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
rows = list(csv.DictReader(open(sys.argv[1])))
fig, (ax1, ax2, ax3) = plt.subplots(3, 1, sharex=True, figsize=(9, 8))
for k, a in enumerate(sorted({r["agent"] for r in rows})):
    c = "C%d" % k
    rs = [r for r in rows if r["agent"] == a and r["rss_kb"]]
    t = [int(r["t_s"]) / 60 for r in rs]
    ax1.plot(t, [int(r["rss_kb"]) / 1024 for r in rs], marker=".", color=c, label=a + " RSS")
    ax1.plot(t, [int(r["rss_anon_kb"] or 0) / 1024 for r in rs], linestyle=":", color=c, label=a + " anon")
    ax2.plot(t, [int(r["fds"]) for r in rs], marker=".", color=c, label=a)
    ax3.plot(t, [int(r["tombstones"] or 0) for r in rs], marker=".", color=c, label=a)
ax1.set_ylabel("MB"); ax2.set_ylabel("open fds"); ax3.set_ylabel("endpoint tombstones")
ax3.set_xlabel("minutes")
ax1.set_title("vxmesh soak: " + sys.argv[1].rsplit("/", 1)[-1])
for ax in (ax1, ax2, ax3): ax.legend(fontsize=7); ax.grid(alpha=.3)
fig.tight_layout(); fig.savefig(sys.argv[2], dpi=90)
PY
    echo "plot: $PNG"
fi
echo "samples: $CSV; report: $TXT"
