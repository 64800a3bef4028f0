// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the Docker Engine API answers the adapter parses:
 * a network's inspection (GET /networks/ID, dk_lookup_apply(), which
 * binds a Docker network created without -o vxmesh.name to its name) and
 * the list of vxmesh networks (GET /networks?filters=..., dk_list_apply(),
 * which mirrors, removes and prunes).  The body is parsed as
 * driver/dockerc.c parses replies (an object or array, else NULL).
 *
 * The world (tests/fuzz/docker_world.h) holds, made through the plugin's
 * own handlers: Docker networks N1 (10.40.0.0/24) and N2 (10.41.0.0/24)
 * waiting for their names, N3 bound to vxmesh network blue with endpoint
 * E1 joined, and vxmesh network green that Docker lacks.  It is made anew
 * every RESET_EVERY inputs.
 *
 * Byte 0: bit 0 picks the list (else a lookup); bit 1 makes the request
 * fail (-ECONNREFUSED) for a lookup.  The rest is the reply's body.  Before
 * a lookup, the adapter's lookup timer runs, as it would, marking the
 * unnamed networks busy.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/docker_world.h"
#include "tests/fuzz/harness.h"

#define RESET_EVERY 128
#define SPACE	    "vxmesh"
#define N1	    "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
#define N2	    "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2"
#define N3	    "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3"
#define E1	    "e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
FZ_SMALL_QUARANTINE

static struct docker_world w;
static unsigned inputs;

static const struct api_route *route(const char *path)
{
	for (size_t i = 0; i < dk_plugin_nroutes; i++)
		if (!strcmp(dk_plugin_routes[i].path, path))
			return &dk_plugin_routes[i];
	assert(0);
	return NULL;
}

static void must(const char *path, json_t *body)
{
	assert(body);
	assert(dw_call(&w, route(path), body) == 200);
	json_decref(body);
}

static json_t *net_body(const char *id, const char *pool, const char *gw, json_t *generic)
{
	return json_pack("{s:[{s:s,s:s,s:s}],s:[],s:s,s:{s:b,s:o}}", "IPv4Data", "AddressSpace",
			 SPACE, "Gateway", gw, "Pool", pool, "IPv6Data", "NetworkID", id, "Options",
			 "com.docker.network.enable_ipv6", 0, "com.docker.network.generic",
			 generic);
}

static void world_open(void)
{
	struct drv_net_rec green = {.vni = 300, .port = VX_PORT_DEFAULT};
	char why[256];

	dw_open(&w, "/dev/shm/vxmesh-fuzz-engine-XXXXXX");
	must("/NetworkDriver.CreateNetwork",
	     net_body(N1, "10.40.0.0/24", "10.40.0.1/24", json_object()));
	must("/NetworkDriver.CreateNetwork",
	     net_body(N2, "10.41.0.0/24", "10.41.0.1/24", json_object()));
	must("/NetworkDriver.CreateNetwork", net_body(N3, "10.42.0.0/24", "10.42.0.1/24",
						      json_pack("{s:s}", "vxmesh.name", "blue")));
	must("/NetworkDriver.CreateEndpoint",
	     json_pack("{s:s,s:{s:s,s:s,s:s},s:s,s:{}}", "EndpointID", E1, "Interface", "Address",
		       "10.42.0.5/24", "AddressIPv6", "", "MacAddress", "", "NetworkID", N3,
		       "Options"));
	must("/NetworkDriver.Join", json_pack("{s:s,s:s,s:{},s:s}", "EndpointID", E1, "NetworkID",
					      N3, "Options", "SandboxKey", SANDBOX));
	snprintf(green.name, sizeof(green.name), "green");
	assert(addr_parse_prefix("10.43.0.0/24", 0, &green.subnet) == 0);
	assert(drv_core_net_create(w.f.c, &green, why, sizeof(why)) == 0);
}

static void world_fini(void)
{
	dw_close(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *body = NULL;

	if (size < 1 || size > (1 << 16))
		return 0;
	if (!w.d) {
		dw_process_init();
		world_open();
		atexit(world_fini);
	} else if (++inputs % RESET_EVERY == 0) {
		dw_close(&w);
		world_open();
	}
	if (size > 1)
		body = json_loadb((const char *)data + 1, size - 1, 0, NULL);
	if (data[0] & 1) {
		int ret = dk_list_apply(w.d, body);

		assert(ret == 0 || (ret == -EINVAL && !json_is_array(body)));
	} else {
		dk_lookup_timer_cb(w.f.loop, w.d->lookup_timer, w.d);
		dk_lookup_apply(w.d, data[0] & 2 ? -ECONNREFUSED : 0, body,
				data[0] & 2 ? "Connection refused" : "HTTP 404");
	}
	for (size_t i = 0; i < w.d->nnets; i++)
		assert(memchr(w.d->nets[i].name, 0, sizeof(w.d->nets[i].name)) &&
		       memchr(w.d->nets[i].err, 0, sizeof(w.d->nets[i].err)));
	json_decref(body);
	return 0;
}
