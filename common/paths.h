/* SPDX-License-Identifier: MIT */
/*
 * paths: file system locations that the agent and its CLI must agree on.
 * One home, so `vxmesh agent` and `vxmesh status` default to the same socket.
 */
#ifndef VXMESH_PATHS_H
#define VXMESH_PATHS_H

/* The control API's unix socket (docs/api.md). */
#define VXMESH_SOCKET_DEFAULT "/run/vxmesh/vxmesh.sock"

#endif
