#!/usr/bin/env bash
# Time from `docker run -d --network blue` on host A until a container on
# host B gets a ping reply from the new container; beside it, how long
# `docker run -d` took to return (Docker's own start cost, plugin calls
# included), and the same two times on one host with Docker's bridge driver,
# so the overlay's share is visible.  A third case uses a vxmesh network with
# -o vxmesh.external=false, where Docker attaches no docker_gwbridge
# endpoint: the difference is what that second endpoint costs.  N runs per
# case (default 30), each with its own --ip (so the prober needs no `docker
# inspect`), each container removed after its run, 0.3 s apart, the cases
# taking turns.  A run without a reply within DEADLINE s (default 10) counts
# as failed.  One untimed warm-up run per case (the first vxmesh container
# also makes docker_gwbridge).
#
# The prober is the host's ping, entered into the probe container's netns
# (busybox date has no %N): `ping -D -i 0.01 -c 1 -w DEADLINE`, started just
# before `docker run`, stops at the first reply and prints its time.  In the
# probe's netns ARP retries every 10 ms for 10 s (retrans_time_ms,
# mcast_solicit), not once a second: otherwise the prober's ARP backoff is
# timed (see attach_latency.sh), not the overlay.
#
#          ┌──────── netns vxt<pid>-sw: bridge br0 (underlay) ────────┐
#          └──────┬──────────────────────────────────────────┬────────┘
#       192.0.2.1 │                                192.0.2.2 │
#   ┌─────────────┴───────────────────────┐  ┌───────────────┴───────────┐
#   │ A (h1): agent --docker, dockerd     │  │ B (h2): agent, dockerd    │
#   │ blue 10.40.0.0/16: cK               │  │ blue: probe 10.40.255.10  │
#   │ green 10.41.0.0/16 (no gwbridge): gK│  │ green: probe 10.41.255.10 │
#   │ bridge lbr 172.16.208.0/20:         │  │                           │
#   │   lprobe 172.16.223.10, lK          │  │                           │
#   └─────────────────────────────────────┘  └───────────────────────────┘
#
# Uses the integration tests' lib.sh (not bench/lib.sh): docker_lib.sh
# builds on its names (TMP, PFX, diag, cleanup).
. "$(dirname "$0")/../tests/integration/lib.sh"
. "$(dirname "$0")/../tests/integration/docker_lib.sh"
N=${N:-30}
DEADLINE=${DEADLINE:-10}
[[ $N =~ ^[0-9]+$ ]] && [ "$N" -ge 1 ] && [ "$N" -le 2000 ] ||
    { echo "N must be 1..2000" >&2; exit 1; }
[[ $DEADLINE =~ ^[0-9]+$ ]] && [ "$DEADLINE" -ge 1 ] && [ "$DEADLINE" -le 60 ] ||
    { echo "DEADLINE must be 1..60 (s)" >&2; exit 1; }
command -v nsenter >/dev/null || { echo "nsenter is missing (util-linux)" >&2; exit 1; }
T0=$SECONDS
IMG=$DK_IMAGE

fail() { echo "docker_attach: $*" >&2; exit 1; }
# dkt HOST ARGS...: dk with a 60 s bound (timeout cannot run a function).
dkt() { timeout 60 "$DK_CLI" -H "unix://$(dk_sock "$1")" "${@:2}"; }
pct() { # P < sorted numbers, as bench/lib.sh's
    awk -v p="$1" '{a[NR]=$1} END {if (!NR) {print "-"; exit}; i=int((NR-1)*p/100)+1; print a[i]}'
}

SW=$PFX-sw
underlay_hosts 2 || { not_ok "underlay namespaces"; finish; }
start_agent() { # i [extra args]
    dk_agent_start "$@" --reconcile-interval 1000 --gossip-profile local --log-level info
}
# Agents first, as the systemd unit orders them.
start_agent 1 && start_agent 2 --join 192.0.2.1 || fail "agents did not start"
for i in 1 2; do
    dk_start "h$i" "$PFX-h$i" "$TMP/plug-h$i" || fail "dockerd of h$i did not start"
    dk_image_build "h$i" || fail "image import on h$i failed"
done
alive2() { vx a1 members --json | jq -e '[.members[] | select(.state == "alive")] | length == 2'; }
export -f alive2
wait_for 15 alive2 || fail "cluster did not form"

dk h1 network create -d vxmesh --ipam-driver vxmesh --subnet 10.40.0.0/16 blue >/dev/null ||
    fail "network create blue"
dk h1 network create -d vxmesh --ipam-driver vxmesh --subnet 10.41.0.0/16 \
    -o vxmesh.external=false green >/dev/null || fail "network create green"
for n in blue green; do
    wait_for 20 bash -c "dk h2 network ls --format '{{.Name}}' | grep -qx $n" ||
        fail "$n was not mirrored to h2"
done
dk h2 run -d --name probe --network blue --ip 10.40.255.10 "$IMG" sleep 3600 >/dev/null &&
    dk h2 network connect --ip 10.41.255.10 green probe || fail "probe container on h2"
dk h1 network create -d bridge --subnet 172.16.208.0/20 lbr >/dev/null ||
    fail "network create lbr"
dk h1 run -d --name lprobe --network lbr --ip 172.16.223.10 "$IMG" sleep 3600 >/dev/null ||
    fail "probe container lprobe on h1"

# prober_setup HOST CTR TARGET: prints the netns path of CTR, after making
# ARP on its interface towards TARGET retry every 10 ms.
prober_setup() {
    local pid ns dev
    pid=$(dk_ctr_pid "$1" "$2") && [ "$pid" -gt 0 ] || return 1
    ns=/proc/$pid/ns/net
    dev=$(nsenter --net="$ns" ip -o route get "$3" | sed -n 's/.* dev \([^ ]*\).*/\1/p')
    [ -n "$dev" ] || return 1
    nsenter --net="$ns" sysctl -qw "net.ipv4.neigh.$dev.retrans_time_ms=10" \
        "net.ipv4.neigh.$dev.mcast_solicit=$((DEADLINE * 100))" || return 1
    echo "$ns"
}
NS_B=$(prober_setup h2 probe 10.40.0.2) && prober_setup h2 probe 10.41.0.2 >/dev/null ||
    fail "probe's netns"
NS_L=$(prober_setup h1 lprobe 172.16.208.2) || fail "lprobe's netns"

# run_one CASE HOST NET PROBE_NETNS NAME IP: one timed run; appends
# "run_ms reply_ms" to $TMP/CASE, or counts a failure in $TMP/CASE.fail.
run_one() {
    local c=$1 h=$2 net=$3 pns=$4 name=$5 ip=$6 pp t0 t1 rc tr
    nsenter --net="$pns" ping -n -D -i 0.01 -c 1 -w "$DEADLINE" "$ip" >"$TMP/ping.out" 2>&1 &
    pp=$!
    t0=$EPOCHREALTIME
    dkt "$h" run -d --name "$name" --network "$net" --ip "$ip" "$IMG" sleep 3600 \
        >/dev/null 2>"$TMP/run.err"
    rc=$?
    t1=$EPOCHREALTIME
    if [ "$rc" != 0 ]; then
        kill "$pp" 2>/dev/null
        echo "$c $name: docker run failed: $(head -c 300 "$TMP/run.err")" >&2
    fi
    wait "$pp"
    tr=$(sed -n 's/^\[\([0-9.]*\)\] [0-9]* bytes from.*/\1/p' "$TMP/ping.out" | head -n1)
    dkt "$h" rm -f "$name" >/dev/null 2>&1
    if [ "$rc" != 0 ] || [ -z "$tr" ]; then
        [ "$rc" = 0 ] && echo "$c $name ($ip): no reply within $DEADLINE s" >&2
        echo x >>"$TMP/$c.fail"
        return 1
    fi
    awk -v a="$t0" -v b="$t1" -v r="$tr" \
        'BEGIN { printf "%.1f %.1f\n", (b - a) * 1000, (r - a) * 1000 }' >>"$TMP/$c"
}
vaddr() { echo "10.$2.$(($1 / 250)).$(($1 % 250 + 2))"; } # K 40|41
laddr() { echo "172.16.$((208 + $1 / 250)).$(($1 % 250 + 2))"; }

# The cases take turns, so drift over the runs (and load from other work on
# the machine) weighs on all three alike.
for c in vx vn br; do : >"$TMP/$c"; : >"$TMP/$c.fail"; done
for k in $(seq 0 "$N"); do
    for c in vx vn br; do
        case $c in
        vx) run_one "$c" h1 blue "$NS_B" "c$k" "$(vaddr "$k" 40)" ;;
        vn) run_one "$c" h1 green "$NS_B" "g$k" "$(vaddr "$k" 41)" ;;
        br) run_one "$c" h1 lbr "$NS_L" "l$k" "$(laddr "$k")" ;;
        esac
        rc=$?
        if [ "$k" = 0 ]; then # the warm-up run is not counted
            [ "$rc" = 0 ] || fail "$c: the warm-up run failed"
            : >"$TMP/$c"
        fi
        sleep 0.3
    done
done

# row LABEL CASE: p50/p99/max of docker run, of run->reply, of reply-return.
row() {
    local f=$TMP/$2 col vals=()
    for col in 1 2 3; do
        awk -v c="$col" '{ print (c == 3 ? $2 - $1 : $c) }' "$f" | sort -g >"$f.s"
        vals+=("$(pct 50 <"$f.s")" "$(pct 99 <"$f.s")" "$(tail -n1 "$f.s")")
    done
    printf '%-26s %6s %6s %6s | %6s %6s %6s | %6s %6s %6s | %3d/%d\n' "$1" "${vals[@]}" \
        "$(wc -l <"$f.fail")" "$N"
}
echo "docker_attach: N=$N runs per case, deadline ${DEADLINE}s, $(nproc) CPUs, kernel $(uname -r)"
printf '%-26s %-22s | %-22s | %-22s | %s\n' "all in ms" "docker run returns" \
    "run -> first reply" "reply - return" "fail"
printf '%-26s %6s %6s %6s | %6s %6s %6s | %6s %6s %6s |\n' "" p50 p99 max p50 p99 max p50 p99 max
row "vxmesh, A -> prober on B" vx
row "  same, external=false" vn
row "bridge, one host" br
for i in 1 2; do dk_stop "h$i"; done
left=$(dk_leftovers) || echo "left behind: $left" >&2
echo "docker_attach took $((SECONDS - T0)) s"
