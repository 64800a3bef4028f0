/* SPDX-License-Identifier: MIT */
/*
 * docker: the Docker adapter.  Serves the legacy remote NetworkDriver and
 * IpamDriver plugin protocol (docs/docker.md) on --plugin-socket, and
 * mirrors vxmesh networks into the local dockerd through its Engine API
 * (driver/dockerc.c), so a network created on any host appears in
 * `docker network ls` everywhere.
 *
 * A Docker network named N is the vxmesh network N.  Docker does not pass
 * the name to CreateNetwork, so unless -o vxmesh.name=N is given (mirrored
 * networks carry it) the name is looked up in dockerd right after
 * CreateNetwork returns; endpoint calls wait (deferred) until it is known.
 * Every network, endpoint and lease change goes through the core.
 */
#ifndef VXMESH_DOCKER_H
#define VXMESH_DOCKER_H

#include <stdio.h>

struct drv_cluster;
struct drv_config;
struct drv_core;
struct drv_docker;
struct drv_state;
struct rx_loop;

/* Load the Docker records, serve the plugin socket, start mirroring, hook
 * into core.  *out stays NULL when neither --docker nor --plugin-socket is
 * set (cfg->plugin_socket gets its default otherwise).  cl answers "does the
 * cluster know this network" (may be NULL).  0 or -errno (logged). */
int drv_docker_open(struct drv_docker **out, struct rx_loop *loop, struct drv_config *cfg,
		    struct drv_state *st, struct drv_core *core, const struct drv_cluster *cl)
	__attribute__((warn_unused_result));
/* Accepts NULL. */
void drv_docker_close(struct drv_docker *d);
/* Re-run plugin calls parked on a peer (accepts NULL). */
void drv_docker_wake(struct drv_docker *d);
/* A struct drv_report metrics member (arg is the adapter). */
void drv_docker_metrics(void *arg, FILE *f);

#endif
