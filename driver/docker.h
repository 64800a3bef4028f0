/* SPDX-License-Identifier: MIT */
/*
 * docker: the Docker integration.  Serves the legacy remote NetworkDriver
 * and IpamDriver plugin protocol (docs/docker.md) on --plugin-socket, and
 * mirrors vxmesh networks into the local dockerd through its Engine API
 * (driver/dockerc.c), so a network created on any host appears in
 * `docker network ls` everywhere.
 *
 * A Docker network named N is the vxmesh network N.  Docker does not pass
 * the name to CreateNetwork, so unless -o vxmesh.name=N is given (mirrored
 * networks carry it) the name is looked up in dockerd right after
 * CreateNetwork returns; endpoint calls wait (deferred) until it is known.
 * Docker's network, pool and endpoint ids and their vxmesh counterparts are
 * kept in the state database (namespaces docker.net, docker.pool,
 * docker.ep), since dockerd does not replay CreateNetwork after a restart.
 */
#ifndef VXMESH_DOCKER_H
#define VXMESH_DOCKER_H

#include <stdio.h>

struct agent;

/* Load the Docker records, serve the plugin socket, start mirroring.  0 or
 * -errno (logged). */
int drv_docker_open(struct agent *a) __attribute__((warn_unused_result));
void drv_docker_close(struct agent *a);
/* The set of vxmesh networks may have changed: mirror soon. */
void drv_docker_nets_changed(struct agent *a);
void drv_docker_metrics(struct agent *a, FILE *f);

#endif
