# Docker test bed: one real dockerd (Debian 12 docker.io 20.10) per
# network-namespace "host".  Source it after lib.sh.
#
#   dk_agent_start I [ARGS...] a vxmesh agent with --docker on underlay host I
#   dk_start HOST NETNS PLUGINDIR [DOCKERD_ARGS...]   start HOST's daemon
#   dk_image_build HOST        import vxmesh-test/busybox:latest into HOST
#   dk HOST ARGS...            the docker CLI against HOST's daemon
#   dk_sock HOST               path of HOST's Engine API socket
#   dk_ctr_pid HOST CTR        PID of the container's first process
#   dk_restart HOST            stop keeping the data-root, start again
#   dk_stop HOST               stop, kill leftovers, unmount, delete its dir
#   dk_leftovers               prints (and fails on) anything left behind
#
# Each daemon runs inside NETNS, entered with nsenter (not `ip netns exec`,
# which remounts /sys and hides the cgroup mounts), in its own mount
# namespace where a private tmpfs covers /run (so the managed containerd's
# shim sockets under /run/containerd never collide), PLUGINDIR is
# bind-mounted on /run/docker/plugins (plugin discovery is hard-coded there)
# and $DK_DIR/HOST/etc on /etc/docker (key.json, plugin spec files).  Every
# other path is under $DK_DIR/HOST: data-root, exec-root, pidfile, socket,
# dockerd.log.  Containers go under the cgroup /vxmesh-$PFX-HOST.
# $DK_DIR/HOST/exec/netns (libnetwork's SandboxKey files) is the one mount
# shared back to the caller's namespace, so the agent and the test can open
# a container's SandboxKey path.  dk_start/dk_stop/dk_restart must run in the
# test's shell itself, not through check (a subshell).
[ -n "${DK_LIB_LOADED-}" ] && return 0
DK_LIB_LOADED=1

DK_DOCKERD=${DK_DOCKERD:-/usr/sbin/dockerd}
DK_CLI=${DK_CLI:-/usr/bin/docker} # not /usr/local/bin/docker, which may be another version
DK_IMAGE=vxmesh-test/busybox:latest
DK_DIR=$TMP/dk
DK_START_TIMEOUT=${DK_START_TIMEOUT:-60}
DK_STOP_TIMEOUT=${DK_STOP_TIMEOUT:-20}
# docker0 and default pools stay inside 172.16.0.0/16 (test address rule).
DK_BIP=${DK_BIP:-172.16.200.1/24}
DK_POOL=${DK_POOL:-base=172.16.0.0/17,size=24}
DOCKER_CONFIG=$DK_DIR/cli # keeps the CLI out of ~/.docker
mkdir -p "$DK_DIR" "$DOCKER_CONFIG"
export DK_DIR DK_CLI DK_IMAGE DOCKER_CONFIG
unset DOCKER_HOST DOCKER_CONTEXT

declare -gA DK_PID=() DK_NETNS=() DK_PLUGDIR=() DK_ARGS=() DK_MNTNS=()
DK_SEEN_CGROUPS=() # every cgroup parent ever used, for dk_leftovers

dk__need() { # what-is-missing how-to-get-it
    not_ok "docker test bed: $1 is missing ($2)"
    exit 1
}
[ -x "$DK_DOCKERD" ] || dk__need "$DK_DOCKERD" "apt-get install docker.io"
[ -x "$DK_CLI" ] || dk__need "$DK_CLI" "apt-get install docker.io"
for dk__t in containerd containerd-shim-runc-v2 runc docker-init; do
    command -v "$dk__t" >/dev/null || dk__need "'$dk__t'" "apt-get install docker.io"
done
command -v iptables >/dev/null || dk__need "'iptables'" "apt-get install iptables"
for dk__t in nsenter unshare mountpoint; do
    command -v "$dk__t" >/dev/null || dk__need "'$dk__t'" "apt-get install util-linux"
done
# A dynamic busybox would need libc inside the image.
{ [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; } ||
    dk__need "a static /bin/busybox" "apt-get install busybox-static"
[ -n "$(ls /sys/fs/cgroup 2>/dev/null)" ] || dk__need "a mounted /sys/fs/cgroup" "mount cgroups"
unset dk__t

# dk HOST ARGS...: the docker CLI against HOST's daemon.
dk() {
    local h=$1
    shift
    "$DK_CLI" -H "unix://$DK_DIR/$h/docker.sock" "$@"
}
dk_sock() { echo "$DK_DIR/$1/docker.sock"; }
dk_ctr_pid() { dk "$1" inspect -f '{{.State.Pid}}' "$2"; }
export -f dk dk_sock dk_ctr_pid

# True while PID exists and is not a zombie.
dk__alive() {
    local l
    { read -r l <"/proc/$1/stat"; } 2>/dev/null || return 1
    [[ ${l##*) } != Z* ]]
}

# Runs inside the new mount namespace (bash -c), then becomes dockerd.
dk__child() { # DIR PLUGINDIR DOCKERD_ARGS...
    local d=$1 plug=$2 m
    shift 2
    # `unshare --propagation unchanged` copied the shared mounts as shared:
    # make each a slave, so nothing we or dockerd mount reaches the caller's
    # namespace, except under the exec-root's netns directory.
    while IFS= read -r m; do
        # One unmounted meanwhile (another test's netns going away) is fine.
        [ -n "$m" ] && { mount --make-slave "$m" 2>/dev/null || ! mountpoint -q "$m" ||
            return 1; }
    done < <(awk -v keep="$d/exec/netns" '/ shared:/ { m = $5; gsub(/\\040/, " ", m)
                 if (m != keep) print m }' /proc/self/mountinfo)
    mount -t tmpfs -o mode=0755 dk-run /run || return 1
    mkdir -p /run/docker/plugins || return 1
    mount --bind "$plug" /run/docker/plugins || return 1
    mount --bind "$d/etc" /etc/docker || return 1
    exec "$DK_DOCKERD" "$@"
}
export -f dk__child
export DK_DOCKERD

# Mount points at or below PATH in the caller's namespace, innermost first.
dk__mounts_under() {
    awk -v p="$1" '{ m = $5; gsub(/\\040/, " ", m)
        if (m == p || index(m, p "/") == 1) print m }' /proc/self/mountinfo | tac
}
dk__umount_under() {
    local m
    while IFS= read -r m; do
        [ -n "$m" ] && umount -l "$m" 2>/dev/null
    done < <(dk__mounts_under "$1")
}

# dk_agent_start I [AGENT_ARGS...]: the vxmesh agent of underlay host I
# ($PFX-hI, 192.0.2.I, from underlay_hosts) with --docker, its plugin socket
# in $TMP/plug-hI (the PLUGINDIR to give dk_start) and dockerd hI's API
# socket.  Start it before dk_start, as the systemd unit orders them.
dk_agent_start() {
    local i=$1
    shift
    mkdir -p "$TMP/plug-h$i"
    agent_start "$PFX-h$i" "a$i" --bind "192.0.2.$i" --vtep "192.0.2.$i" --node-name "h$i" \
        --docker --plugin-socket "$TMP/plug-h$i/vxmesh.sock" \
        --docker-socket "$DK_DIR/h$i/docker.sock" "$@"
}

# dk_start HOST NETNS PLUGINDIR [DOCKERD_ARGS...]
dk_start() {
    local h=$1 ns=$2 plug=$3 d=$DK_DIR/$1 pid mnt deadline
    shift 3
    if [ -n "${DK_PID[$h]-}" ]; then
        diag "dk_start: $h is already running (pid ${DK_PID[$h]})"
        return 1
    fi
    [ -e "/run/netns/$ns" ] || { diag "dk_start: no network namespace $ns"; return 1; }
    mkdir -p "$d/data" "$d/exec/netns" "$d/etc" "$plug" || return 1
    if ! mountpoint -q "$d/exec/netns"; then
        mount --bind "$d/exec/netns" "$d/exec/netns" &&
            mount --make-private "$d/exec/netns" &&
            mount --make-shared "$d/exec/netns" || return 1
    fi
    DK_NETNS[$h]=$ns
    DK_PLUGDIR[$h]=$plug
    DK_ARGS[$h]=
    [ $# -gt 0 ] && DK_ARGS[$h]=$(printf '%q ' "$@")
    local cg="/vxmesh-$PFX-$h"
    nsenter --net="/run/netns/$ns" -- unshare --mount --propagation unchanged -- \
        bash -c 'dk__child "$@"' "dk-$h" "$d" "$plug" \
        --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/docker.pid" \
        -H "unix://$d/docker.sock" --storage-driver=vfs --cgroup-parent "$cg" \
        --bip "$DK_BIP" --default-address-pool "$DK_POOL" --userland-proxy=false \
        --init --shutdown-timeout 2 --log-level debug "$@" >>"$d/dockerd.log" 2>&1 &
    pid=$!
    DK_PID[$h]=$pid
    DK_SEEN_CGROUPS+=("$cg")
    # nsenter and unshare exec without forking: the PID becomes dockerd's.
    deadline=$((SECONDS + DK_START_TIMEOUT))
    while :; do
        if ! dk__alive "$pid"; then
            diag "dockerd of $h exited during start; tail of $d/dockerd.log:"
            tail -n 25 "$d/dockerd.log" | sed 's/^/#   /'
            dk__halt "$h" 0
            return 1
        fi
        if [ -z "${DK_MNTNS[$h]-}" ] && [[ /proc/$pid/exe -ef $DK_DOCKERD ]]; then
            mnt=$(readlink "/proc/$pid/ns/mnt")
            if [ -n "$mnt" ] && [ "$mnt" != "$(readlink /proc/self/ns/mnt)" ]; then
                DK_MNTNS[$h]=$mnt
            fi
        fi
        [ -n "${DK_MNTNS[$h]-}" ] && dk "$h" info >/dev/null 2>&1 && break
        if [ $SECONDS -ge $deadline ]; then
            diag "dockerd of $h did not answer in ${DK_START_TIMEOUT}s; tail of $d/dockerd.log:"
            tail -n 25 "$d/dockerd.log" | sed 's/^/#   /'
            dk__halt "$h" 0
            return 1
        fi
        sleep 0.1
    done
    if [ "$(cat "$d/docker.pid" 2>/dev/null)" != "$pid" ]; then
        diag "dk_start: $d/docker.pid does not hold $pid"
        dk__halt "$h" 0
        return 1
    fi
    return 0
}

# dk__ours PID CGROUP DIR: PID is a container process (in CGROUP) or a
# daemon process (dockerd, containerd, shims, runc: an argument starts with
# DIR/ or unix://DIR/, and it is not in our mount namespace).  Bash builtins
# only, so a kill right after it cannot hit a reused PID.
dk__ours() {
    local p=$1 l
    local -a lines
    { read -r l <"/proc/$p/stat"; } 2>/dev/null || return 1
    [[ ${l##*) } == Z* ]] && return 1 # dead already; its reaper may be slow
    { mapfile -t lines <"/proc/$p/cgroup"; } 2>/dev/null || return 1
    for l in "${lines[@]}"; do
        l=${l#*:}
        l=${l#*:}
        [[ $l == "$2" || $l == "$2"/* ]] && return 0
    done
    [[ /proc/$p/ns/mnt -ef /proc/$$/ns/mnt ]] && return 1
    # vxmesh agents name the daemon's socket in their arguments too.
    [[ -n ${VXMESH-} && /proc/$p/exe -ef $VXMESH ]] && return 1
    for l in "${PIDS[@]}"; do [ "$l" = "$p" ] && return 1; done
    { mapfile -d '' -t lines <"/proc/$p/cmdline"; } 2>/dev/null || return 1
    for l in "${lines[@]}"; do
        [[ $l == "$3/"* || $l == "unix://$3/"* ]] && return 0
    done
    return 1
}

# dk__procs CGROUP DIR: the PIDs dk__ours accepts.
dk__procs() {
    local p
    for p in /proc/[0-9]*; do
        dk__ours "${p#/proc/}" "$1" "$2" && echo "${p#/proc/}"
    done
    return 0
}

dk__cgroups() { # CGROUP: its directories in every hierarchy
    local c
    case $1 in /?*) ;; *) return 0 ;; esac
    for c in "/sys/fs/cgroup$1" /sys/fs/cgroup/*"$1"; do
        [ -d "$c" ] && echo "$c"
    done
    return 0
}

# dk__halt HOST KEEP: KEEP=1 keeps the data-root (for dk_restart).
dk__halt() {
    local h=$1 keep=$2 d=$DK_DIR/$1 pid=${DK_PID[$1]-} cg="/vxmesh-$PFX-$1"
    local deadline ids p c n
    if [ "$keep" = 0 ] && [ -n "$pid" ] && dk__alive "$pid"; then
        mapfile -t ids < <(timeout 10 "$DK_CLI" -H "unix://$d/docker.sock" ps -aq 2>/dev/null)
        [ ${#ids[@]} -gt 0 ] &&
            timeout 20 "$DK_CLI" -H "unix://$d/docker.sock" rm -f -v "${ids[@]}" >/dev/null 2>&1
    fi
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null
        deadline=$((SECONDS + DK_STOP_TIMEOUT))
        while dk__alive "$pid" && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
        if dk__alive "$pid"; then
            diag "dockerd of $h ignored SIGTERM for ${DK_STOP_TIMEOUT}s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null
        fi
        { wait "$pid"; } 2>/dev/null
    fi
    # The managed containerd, shims and containers normally go with it.
    deadline=$((SECONDS + 10))
    while :; do
        n=0
        for p in /proc/[0-9]*; do
            p=${p#/proc/}
            dk__ours "$p" "$cg" "$d" && kill -KILL "$p" 2>/dev/null && n=$((n + 1))
        done
        [ $n = 0 ] && break
        if [ $SECONDS -ge $deadline ]; then
            diag "dk_stop $h: processes do not die: $(dk__procs "$cg" "$d" | tr '\n' ' ')"
            break
        fi
        sleep 0.1
    done
    dk__umount_under "$d"
    while IFS= read -r c; do
        find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
    done < <(dk__cgroups "$cg")
    unset "DK_PID[$h]" "DK_MNTNS[$h]"
    if [ "$keep" = 0 ]; then
        rm -rf "$d"
        unset "DK_NETNS[$h]" "DK_PLUGDIR[$h]" "DK_ARGS[$h]"
    fi
    return 0
}

# dk_stop HOST: containers removed, daemon stopped (TERM, then KILL after
# DK_STOP_TIMEOUT s), leftovers killed, mounts and cgroups removed, and
# $DK_DIR/HOST deleted.
dk_stop() {
    [ -n "${DK_NETNS[$1]-}" ] || { diag "dk_stop: $1 was not started"; return 1; }
    dk__halt "$1" 0
}

# dk_restart HOST: stop (containers are stopped by dockerd itself, the
# data-root stays) and start again with the same arguments.
dk_restart() {
    local h=$1 ns=${DK_NETNS[$1]-} plug=${DK_PLUGDIR[$1]-} args
    [ -n "$ns" ] || { diag "dk_restart: $h was not started"; return 1; }
    args=${DK_ARGS[$h]}
    dk__halt "$h" 1
    eval "dk_start \"\$h\" \"\$ns\" \"\$plug\" $args"
}

# dk_image_build HOST: vxmesh-test/busybox:latest from Debian's static
# busybox, every applet linked; the tarball is built once per run.
dk_image_build() {
    local h=$1 r=$DK_DIR/rootfs tar=$DK_DIR/busybox-rootfs.tar a
    if [ ! -s "$tar" ]; then
        rm -rf "$r"
        mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,run,var} || return 1
        cp /bin/busybox "$r/bin/busybox" || return 1
        for a in $(/bin/busybox --list-full); do
            case $a in */*) ;; *) continue ;; esac # skips "linuxrc"
            [ -e "$r/$a" ] || ln -s /bin/busybox "$r/$a" || return 1
        done
        printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' \
            >"$r/etc/passwd"
        printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
        chmod 1777 "$r/tmp"
        tar --numeric-owner --owner=0 --group=0 -C "$r" -cf "$tar.part" . &&
            mv "$tar.part" "$tar" || return 1
        rm -rf "$r"
    fi
    dk "$h" image inspect "$DK_IMAGE" >/dev/null 2>&1 && return 0
    dk "$h" import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
        "$tar" "$DK_IMAGE" >/dev/null
}

# dk_leftovers: lists what any daemon of this run left behind (processes
# naming $DK_DIR or in its cgroups, cgroup directories, mounts under $DK_DIR);
# fails when there is something.
dk_leftovers() {
    local m c p left=0
    for p in $(dk__procs /nonexistent "$DK_DIR"); do
        echo "process $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
        left=1
    done
    for c in "${DK_SEEN_CGROUPS[@]}"; do
        for p in $(dk__procs "$c" "$DK_DIR"); do
            echo "process $p in cgroup $c: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
            left=1
        done
        while IFS= read -r p; do
            echo "cgroup $p"
            left=1
        done < <(dk__cgroups "$c")
    done
    while IFS= read -r m; do
        [ -n "$m" ] && { echo "mount $m"; left=1; }
    done < <(dk__mounts_under "$DK_DIR")
    [ "$left" = 0 ]
}

dk_cleanup() {
    local h
    for h in "${!DK_NETNS[@]}"; do
        dk__halt "$h" 0
    done
    dk__umount_under "$DK_DIR"
}

# lib.sh's EXIT trap calls `cleanup`: stop the daemons first, then let it
# end the agents, delete the namespaces and $TMP.
eval "dk__lib_cleanup() $(declare -f cleanup | tail -n +2)"
cleanup() {
    dk_cleanup
    dk__lib_cleanup
}
