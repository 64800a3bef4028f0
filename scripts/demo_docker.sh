#!/usr/bin/env bash
# vxmesh demo, Docker part: two namespace hosts, each with its own dockerd
# (Debian's docker.io) and a vxmesh agent serving Docker's network and IPAM
# plugin.  `docker network create` on one host, containers on both hosts
# ping each other.  Everything it starts is removed when it ends (it uses
# the test bed of tests/integration/docker_lib.sh).
#
#        ┌──────── switch ($PFX-sw) ────────┐
#   192.0.2.1 │                   192.0.2.2 │
#   ┌─────────┴─────────┐    ┌──────────────┴────┐
#   │ h1: agent+dockerd │    │ h2: agent+dockerd │
#   │   web  (blue)     │    │   client (blue)   │
#   └───────────────────┘    └───────────────────┘
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/integration/lib.sh"
. "$here/../tests/integration/docker_lib.sh"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '[%s]$ %s\n' "$1" "${*:2}"; }

underlay_hosts 2 || { not_ok "underlay namespaces"; finish; }
for i in 1 2; do
    join=()
    [ "$i" = 2 ] && join=(--join 192.0.2.1)
    dk_agent_start "$i" --log-level info "${join[@]}" || { not_ok "agent h$i"; finish; }
    dk_start "h$i" "$PFX-h$i" "$TMP/plug-h$i" || { not_ok "dockerd h$i"; finish; }
    dk_image_build "h$i" >/dev/null || { not_ok "image on h$i"; finish; }
done

say "Docker: one network for both hosts, created on h1 (the agent starts before dockerd)"
show h1 docker network create -d vxmesh --ipam-driver vxmesh --subnet 10.30.0.0/24 blue
dk h1 network create -d vxmesh --ipam-driver vxmesh --subnet 10.30.0.0/24 blue
wait_for 20 bash -c "dk h2 network ls --format '{{.Name}}' | grep -qx blue"
show h2 docker network ls --filter driver=vxmesh "    # mirrored by h2's agent"
dk h2 network ls --filter driver=vxmesh

say "A container on each host; addresses from the cluster-wide allocator"
show h1 docker run -d --name web --network blue busybox sh -c "echo hello from h1 >/index.html; httpd -f -p 80"
dk h1 run -d --name web --network blue "$DK_IMAGE" \
    sh -c 'echo hello from h1 >/index.html; exec httpd -f -p 80 -h /' >/dev/null
show h2 docker run -d --name client --network blue busybox sleep 600
dk h2 run -d --name client --network blue "$DK_IMAGE" sleep 600 >/dev/null
WEB=$(dk h1 inspect -f '{{(index .NetworkSettings.Networks "blue").IPAddress}}' web)
show h1 vxmesh ipam blue
vx a1 ipam blue

say "client (h2) -> web (h1) at $WEB, across hosts over VXLAN"
wait_for 10 dk h2 exec client ping -c 1 -W 1 "$WEB"
show h2 docker exec client ping -c 3 "$WEB"
dk h2 exec client ping -c 3 -i 0.2 -W 1 "$WEB"
show h2 docker exec client wget -qO- "http://$WEB/"
dk h2 exec client wget -qO- "http://$WEB/"

say "docker rm -f web: its endpoint is withdrawn on h2 too"
dk h1 rm -f web >/dev/null
wait_for 10 bash -c "! vx a2 fdb blue --json | jq -e --arg ip $WEB '.entries[] | select(.ip == \$ip)'"
show h2 vxmesh fdb blue
vx a2 fdb blue
say "Docker part done; removing its daemons, agents and namespaces"
dk h2 rm -f client >/dev/null
for i in 1 2; do dk_stop "h$i"; done
