/* SPDX-License-Identifier: MIT */
/*
 * docker_world: the Docker adapter (driver/docker*.c) opened over
 * tests/unit/core_fixture.h's core, for fuzz_plugin.c and fuzz_engine.c.
 * The plugin socket is served from the fixture's directory on /dev/shm;
 * the Engine API socket named there does not exist, so every request the
 * adapter makes to dockerd fails.  The loop is never run: no timer fires,
 * no Engine API answer is delivered (the targets hand answers over
 * themselves), and the DOCKER-USER rule's iptables is never started
 * (PATH is emptied as well, in case).  The fake kernel knows SANDBOX as a
 * namespace, the path Join requests name.
 */
#ifndef VXMESH_FUZZ_DOCKER_WORLD_H
#define VXMESH_FUZZ_DOCKER_WORLD_H

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/log.h"
#include "driver/config.h"
#include "driver/docker.h"
#include "driver/docker_int.h"
#include "tests/unit/core_fixture.h"

#define SANDBOX "/var/run/docker/netns/0123456789ab"

struct docker_world {
	struct core_fixture f;
	struct drv_config cfg;
	struct drv_docker *d;
};

/* Once per process: logs go nowhere (libFuzzer and the sanitizers write to
 * fd 2 themselves, the product's log to stdio's stderr), no PATH. */
static inline void dw_process_init(void)
{
	stderr = fopen("/dev/null", "w");
	assert(stderr);
	log_set_level(LOG_LVL_ERROR);
	assert(setenv("PATH", "/nonexistent", 1) == 0);
}

static inline void dw_open(struct docker_world *w, const char *tmpl)
{
	char why[256];

	assert(cfx_open(&w->f, tmpl, why, sizeof(why)) == 0);
	fk_netns_add(&w->f.k, SANDBOX);
	assert(cfx_agent_start(&w->f, why, sizeof(why)) == 0);
	drv_config_defaults(&w->cfg);
	w->cfg.docker = 1;
	snprintf(w->cfg.state_dir, sizeof(w->cfg.state_dir), "%s", w->f.dir);
	snprintf(w->cfg.plugin_socket, sizeof(w->cfg.plugin_socket), "%s/plugin.sock", w->f.dir);
	snprintf(w->cfg.docker_socket, sizeof(w->cfg.docker_socket), "%s/docker.sock", w->f.dir);
	assert(drv_docker_open(&w->d, w->f.loop, &w->cfg, w->f.st, w->f.c, NULL) == 0);
}

static inline void dw_close(struct docker_world *w)
{
	drv_docker_close(w->d);
	w->d = NULL;
	cfx_close(&w->f);
}

/* A plugin call as driver/api.c makes it (body already checked to be an
 * object or NULL); a deferred call runs once more as expired, as at its
 * deadline.  The answer's status. */
static inline unsigned dw_call(struct docker_world *w, const struct api_route *r, json_t *body)
{
	struct api_req req = {.method = r->method, .path = r->path, .param = "", .body = body};
	struct api_resp resp;

	for (int expired = 0; expired < 2; expired++) {
		req.expired = expired;
		resp = (struct api_resp){.status = 200, .style = API_STYLE_DOCKER};
		r->cb(w->d, &req, &resp);
		assert(resp.status >= 200 && resp.status < 600);
		json_decref(resp.body);
		free(resp.text);
		if (!resp.deferred)
			break;
	}
	return resp.status;
}

#endif
