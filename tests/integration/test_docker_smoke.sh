#!/usr/bin/env bash
# The Docker test bed itself: two namespace hosts, one real dockerd each.
#
#   ┌──── host h1 (netns vxt<pid>-h1) ─────┐  ┌──── host h2 (netns vxt<pid>-h2) ─────┐
#   │ dockerd + containerd (own mount ns)  │  │ dockerd + containerd (own mount ns)  │
#   │ /run/docker/plugins = $TMP/plug-h1   │  │ /run/docker/plugins = $TMP/plug-h2   │
#   │   vxmesh.sock: fake plugin 1         │  │   vxmesh.sock: fake plugin 2         │
#   │ docker0 172.16.200.1/24              │  │ docker0 172.16.200.1/24              │
#   │   br ── 172.16.200.x     none (lo)   │  │   br ── 172.16.200.x     none (lo)   │
#   └──────────────────────────────────────┘  └──────────────────────────────────────┘
#
# Shows: each daemon runs in its host's namespace and finds only its host's
# plugin socket; containers on --network none and on docker0 run and answer
# docker exec, each in its own netns whose SandboxKey the test can open;
# a --restart always container comes back after a daemon restart; after
# dk_stop no process, mount, cgroup or namespace is left.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/docker_lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] ||
    { not_ok "'$PY' (serves the fake plugin) is missing: apt-get install python3"; finish; }

T0=$SECONDS
H1=$PFX-h1
H2=$PFX-h2
netns_add "$H1"
netns_add "$H2"
mkdir -p "$TMP/plug-h1" "$TMP/plug-h2"

# mark HOSTNS LINK PID: a veth pair from HOSTNS into PID's netns.  The kernel
# deletes it with that netns, so "LINK gone" proves the netns was destroyed
# (nsfs inode numbers are reused at once, by other tests' namespaces too).
mark() { ip -n "$1" link add "$2" type veth peer name vxmark0 netns "$3"; }
unmarked() { # HOSTNS LINK...
    local ns=$1 l
    shift
    for l in "$@"; do wait_for 10 bash -c "! ip -n $ns link show $l" || return 1; done
}

# A stand-in network plugin per host: logs each call's path, then answers it.
cat >"$TMP/fakeplugin.py" <<'EOF'
import json, socketserver, sys
from http.server import BaseHTTPRequestHandler
REPLIES = {"/Plugin.Activate": {"Implements": ["NetworkDriver"]},
           "/NetworkDriver.GetCapabilities": {"Scope": "local"}}
class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with open(sys.argv[2], "a") as log:
            log.write(self.path + "\n")
        body = json.dumps(REPLIES.get(self.path, {})).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.docker.plugins.v1.1+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
class Server(socketserver.UnixStreamServer):
    def get_request(self):
        conn, _ = super().get_request()
        return conn, ("local", 0)
Server(sys.argv[1], Handler).serve_forever()
EOF
for h in h1 h2; do
    "$PY" "$TMP/fakeplugin.py" "$TMP/plug-$h/vxmesh.sock" "$TMP/fake-$h.log" 2>>"$TMP/fake-$h.err" &
    PIDS+=($!)
    check "fake plugin listens in $h's plugin dir" wait_for 10 test -S "$TMP/plug-$h/vxmesh.sock"
done

for h in h1 h2; do
    ns=$PFX-$h
    t=$SECONDS
    if dk_start "$h" "$ns" "$TMP/plug-$h"; then
        ok "dockerd of $h answers ($((SECONDS - t)) s)"
    else
        not_ok "dockerd of $h answers"
        finish
    fi
    check "dockerd of $h runs in netns $ns" \
        bash -c "[ \"\$(ip netns identify ${DK_PID[$h]})\" = $ns ]"
    check "dockerd of $h has its own mount namespace" \
        [ "$(readlink "/proc/${DK_PID[$h]}/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ]
    check "$h: docker0 has $DK_BIP inside $ns" \
        bash -c "ip -n $ns -j addr show docker0 |
                 jq -e '.[0].addr_info[] | select(.local == \"${DK_BIP%/*}\")'"
    check "$h: iptables NAT rule for docker0 inside $ns" \
        bash -c "ip netns exec $ns iptables -t nat -S POSTROUTING | grep -- '-s ${DK_BIP%.*}.0/24'"
    check "$h: data under the test dir" \
        bash -c "[ \"\$(dk $h info -f '{{.DockerRootDir}} {{.Driver}}')\" = '$DK_DIR/$h/data vfs' ]"
    check "$h: image $DK_IMAGE imported" dk_image_build "$h"
done
check "the two daemons have different mount namespaces" \
    [ "${DK_MNTNS[h1]}" != "${DK_MNTNS[h2]}" ]

# ---- each daemon finds only its own host's plugin socket ----
for h in h1 h2; do
    check "$h: network create -d vxmesh" dk "$h" network create -d vxmesh "probe-$h"
    check "... reached $h's plugin (Plugin.Activate, CreateNetwork)" \
        bash -c "grep -qx /Plugin.Activate $TMP/fake-$h.log &&
                 grep -qx /NetworkDriver.CreateNetwork $TMP/fake-$h.log"
    check "$h: network rm reaches $h's plugin" \
        bash -c "dk $h network rm probe-$h >/dev/null &&
                 grep -qx /NetworkDriver.DeleteNetwork $TMP/fake-$h.log"
done
check "each plugin was called by its own daemon only" \
    bash -c "[ \"\$(grep -c CreateNetwork $TMP/fake-h1.log)\" = 1 ] &&
             [ \"\$(grep -c CreateNetwork $TMP/fake-h2.log)\" = 1 ]"

# ---- containers: --network none and default bridge ----
declare -A NETNS_OF=()
for h in h1 h2; do
    check "$h: run on --network none" \
        dk "$h" run -d --name none --hostname "none-$h" --network none "$DK_IMAGE" sleep 600
    check "$h: run on the default bridge" \
        dk "$h" run -d --name br --hostname "br-$h" "$DK_IMAGE" sleep 600
    check "$h: exec hostname in none" bash -c "[ \"\$(dk $h exec none hostname)\" = none-$h ]"
    check "$h: exec hostname in br" bash -c "[ \"\$(dk $h exec br hostname)\" = br-$h ]"
    check "$h: none has only lo" \
        bash -c "[ \"\$(dk $h exec none ip -o link | awk '{print \$2}')\" = 'lo:' ]"
    check "$h: br has eth0 on ${DK_BIP%.*}.0/24" \
        bash -c "dk $h exec br ip -o -4 addr show eth0 | grep -q 'inet ${DK_BIP%.*}\.'"
    check "$h: br pings its gateway ${DK_BIP%/*}" \
        dk "$h" exec br ping -c 2 -i 0.2 -W 1 "${DK_BIP%/*}"
    d_net=$(readlink "/proc/${DK_PID[$h]}/ns/net")
    for c in none br; do
        pid=$(dk_ctr_pid "$h" "$c")
        NETNS_OF[$h-$c]=$(readlink "/proc/$pid/ns/net")
    done
    check "$h: each container has its own netns, not the host's" \
        bash -c "[ -n '${NETNS_OF[$h-none]}' ] && [ -n '${NETNS_OF[$h-br]}' ] &&
                 [ '${NETNS_OF[$h-none]}' != '${NETNS_OF[$h-br]}' ] &&
                 [ '${NETNS_OF[$h-none]}' != '$d_net' ] && [ '${NETNS_OF[$h-br]}' != '$d_net' ]"
    key=$(dk "$h" inspect -f '{{.NetworkSettings.SandboxKey}}' br)
    check "$h: br's SandboxKey $key opens from the test's mount namespace" \
        bash -c "[ \"\$(nsenter --net='$key' readlink /proc/self/ns/net)\" = '${NETNS_OF[$h-br]}' ]"
done
for h in h1 h2; do
    for c in none br; do
        check "$h: marker link into $c's netns" \
            mark "$PFX-$h" "mk-$h-$c" "$(dk_ctr_pid "$h" "$c")"
    done
done

for h in h1 h2; do
    check "$h: rm -f both containers" dk "$h" rm -f none br
    check "$h: no container left" bash -c "[ -z \"\$(dk $h ps -aq)\" ]"
done
for h in h1 h2; do
    check "$h: both containers' netns destroyed" \
        unmarked "$PFX-$h" "mk-$h-none" "mk-$h-br"
done
check "no SandboxKey mount left under the test dir" \
    bash -c "! grep -q ' $DK_DIR/[^ ]*/exec/netns/' /proc/self/mountinfo"

# ---- restart: a --restart always container comes back ----
check "h2: run keeper with --restart always" \
    dk h2 run -d --name keeper --restart always "$DK_IMAGE" sleep 600
OLD_PID=$(dk_ctr_pid h2 keeper)
check "h2: marker link into keeper's netns" mark "$H2" mk-h2-old "$OLD_PID"
OLD_DPID=${DK_PID[h2]}
t=$SECONDS
if dk_restart h2; then ok "dk_restart h2 ($((SECONDS - t)) s)"; else not_ok "dk_restart h2"; fi
check "h2: dockerd has a new PID" [ "${DK_PID[h2]-}" != "$OLD_DPID" ]
check "h2: old keeper process is gone" bash -c "! kill -0 $OLD_PID 2>/dev/null"
check "h2: old keeper's netns destroyed" unmarked "$H2" mk-h2-old
check "h2: keeper runs again" \
    wait_for 30 bash -c "[ \"\$(dk h2 inspect -f '{{.State.Running}}' keeper)\" = true ]"
check "h2: keeper has a new process" \
    bash -c "p=\$(dk_ctr_pid h2 keeper) && [ \"\$p\" -gt 0 ] && [ \"\$p\" != $OLD_PID ]"
check "h2: exec works after the restart" bash -c "dk h2 exec keeper true"
check "h2: image still there" dk h2 image inspect "$DK_IMAGE"
check "h2: marker link into the new keeper's netns" \
    mark "$H2" mk-h2-keeper "$(dk_ctr_pid h2 keeper)"

# ---- stop everything; nothing may be left ----
STARTED=()  # pid:starttime of every process of both daemons
for h in h1 h2; do
    for p in $(dk__procs "/vxmesh-$PFX-$h" "$DK_DIR/$h"); do
        STARTED+=("$p:$(awk '{print $22}' "/proc/$p/stat" 2>/dev/null)")
    done
done
diag "processes of both daemons before dk_stop: ${#STARTED[@]}"
for h in h1 h2; do
    t=$SECONDS
    if dk_stop "$h"; then ok "dk_stop $h ($((SECONDS - t)) s)"; else not_ok "dk_stop $h"; fi
done
still_alive() {
    local e
    for e in "${STARTED[@]}"; do
        # A zombie is dead already, whoever has to reap it.
        [ -n "${e#*:}" ] &&
            [ "$(awk '$3 != "Z" {print $22}' "/proc/${e%%:*}/stat" 2>/dev/null)" = "${e#*:}" ] &&
            echo "${e%%:*}: $(tr '\0' ' ' <"/proc/${e%%:*}/cmdline")"
    done
}
LEFT=$(still_alive)
check "no dockerd/containerd/shim/container process left" bash -c "echo '$LEFT'; [ -z '$LEFT' ]"
check "dk_leftovers reports nothing" dk_leftovers
check "no mount under $TMP" bash -c "! grep -q ' $TMP' /proc/self/mountinfo"
check "daemon dirs deleted" bash -c "[ ! -e $DK_DIR/h1 ] && [ ! -e $DK_DIR/h2 ]"
check "keeper's netns destroyed" unmarked "$H2" mk-h2-keeper
ip netns del "$H1"
ip netns del "$H2"
check "host namespaces gone" bash -c "! ip netns list | grep -q '^$PFX-'"
diag "total $((SECONDS - T0)) s"
finish
