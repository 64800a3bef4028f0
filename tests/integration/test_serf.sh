#!/usr/bin/env bash
# vxmesh agents and real serf agents (Debian's serf, memberlist 0.2.2) in
# one cluster, on loopback addresses of one namespace.
#
#   netns vxt<pid>-lo, interface lo:
#     127.0.0.1:7946  serf s1   (rpc 127.0.0.1:7373)
#     127.0.0.2:7946  serf s2   (rpc 127.0.0.1:7374)   joins s1
#     127.0.0.3:7946  vxmesh v1                        joins s1
#     127.0.0.4:7946  vxmesh v2                        joins v1
#
# Run twice: plaintext, then encrypted with one shared key.  Shows: each
# kind lists the other as alive, each detects the other's failure, and serf
# logs no error caused by us.
. "$(dirname "$0")/lib.sh"

command -v serf >/dev/null || { not_ok "serf is missing: run 'make deps' (Debian package serf)"; finish; }
NS=$PFX-lo
netns_add "$NS"

serf_start() { # name addr rpcport [args]
    local name=$1 addr=$2 rpc=$3
    shift 3
    ip netns exec "$NS" serf agent -node="$name" -bind="$addr:7946" \
        -rpc-addr="127.0.0.1:$rpc" -log-level=debug "$@" >"$TMP/$name.log" 2>&1 &
    PIDS+=("$!")
    printf -v "SERF_PID_$name" %s "$!"
    wait_for 10 ip netns exec "$NS" serf members -rpc-addr="127.0.0.1:$rpc"
}
serf_members() { ip netns exec "$NS" serf members -rpc-addr="127.0.0.1:$1" -format=json; }
export NS
export -f serf_members

run_round() { # label [serf args] -- [vxmesh args]
    local label=$1 sargs=() vargs=() seen=0
    shift
    for a in "$@"; do
        if [ "$a" = -- ]; then seen=1; continue; fi
        if [ $seen = 0 ]; then sargs+=("$a"); else vargs+=("$a"); fi
    done

    if serf_start "s1$label" 127.0.0.1 7373 "${sargs[@]}" &&
        serf_start "s2$label" 127.0.0.2 7374 -join=127.0.0.1:7946 "${sargs[@]}"; then
        ok "$label: two serf agents up"
    else
        not_ok "$label: two serf agents up"; return
    fi
    if agent_start "$NS" "v1$label" --bind 127.0.0.3 --node-name "v1$label" \
            --join 127.0.0.1 "${vargs[@]}" &&
        agent_start "$NS" "v2$label" --bind 127.0.0.4 --node-name "v2$label" \
            --join 127.0.0.3 "${vargs[@]}"; then
        ok "$label: two vxmesh agents up"
    else
        not_ok "$label: two vxmesh agents up"; return
    fi
    check "$label: serf members shows both vxmesh agents alive" wait_for 15 bash -c \
        "[ \"\$(serf_members 7373 | jq '[.members[] | select(.status == \"alive\")] | length')\" = 4 ]"
    check "$label: serf shows our tags (vxmesh, id, vtep)" bash -c \
        "serf_members 7374 | jq -e '.members[] | select(.name == \"v1$label\") | .tags.vxmesh and .tags.id and .tags.vtep' >/dev/null"
    check "$label: vxmesh members shows both serf agents alive" wait_for 15 bash -c \
        "vx v2$label members --json | jq -e '[.members[] | select(.state == \"alive\")] | length == 4' >/dev/null"
    check "$label: serf agents are kind 'other' to vxmesh" bash -c \
        "vx v1$label members --json | jq -e '[.members[] | select(.kind == \"other\")] | length == 2' >/dev/null"

    # Before anything is stopped: nothing we sent may have made serf log an
    # error.  (After a kill, serf rightly logs failed probes of the dead.)
    check "$label: serf logged no error while we were members" bash -c \
        "! grep -E '\\[ERR\\]|panic' $TMP/s1$label.log $TMP/s2$label.log"
    grep -hE '\[ERR\]|panic' "$TMP/s1$label.log" "$TMP/s2$label.log" | head -5 | sed 's/^/# /'

    local s2pid v2pid
    s2pid=$(eval echo "\$SERF_PID_s2$label")
    kill -TERM "$s2pid"
    check "$label: vxmesh detects the stopped serf agent" wait_for 30 bash -c \
        "vx v1$label members --json | jq -e '.members[] | select(.name == \"s2$label\") | .state == \"dead\"' >/dev/null"
    v2pid=$(eval echo "\$AGENT_PID_v2$label")
    kill -9 "$v2pid"
    check "$label: serf detects the killed vxmesh agent (failed)" wait_for 30 bash -c \
        "serf_members 7373 | jq -e '.members[] | select(.name == \"v2$label\") | .status == \"failed\"' >/dev/null"
    local s1pid
    s1pid=$(eval echo "\$SERF_PID_s1$label")
    check "$label: serf s1 still running" kill -0 "$s1pid"
    check "$label: serf never panicked" bash -c "! grep -q panic $TMP/s1$label.log $TMP/s2$label.log"
    local v1pid
    v1pid=$(eval echo "\$AGENT_PID_v1$label")
    kill -TERM "$s1pid" "$v1pid" 2>/dev/null
    wait "$s1pid" "$s2pid" "$v1pid" "$v2pid" 2>/dev/null
}

run_round plain
KEY=$(head -c 32 /dev/urandom | base64)
run_round enc -encrypt="$KEY" -- --encrypt "$KEY"
finish
