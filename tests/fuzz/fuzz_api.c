// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the control API's request handling past the HTTP
 * server: every handler of driver/routes.c's drv_routes[], the allocator's
 * drv_alloc_routes[] and the key and token handlers of driver/cluster_api.c
 * (on a cluster handle with a keyring and no gossip), called in-process as
 * driver/api.c calls them, with the body parsed the way it parses it.
 * The core runs over the fake kernel (tests/unit/core_fixture.h) with a
 * state directory on /dev/shm; network blue exists, and the fake kernel
 * knows the namespaces /run/netns/c1, c2 and /proc/self/ns/net (the only
 * one of them a real path, as the handlers stat() it).  join, leave and
 * members need the gossip engine and are not run.
 *
 * Input: requests, each [route][param][len hi][len lo][body].  route picks
 * one of the handlers; param picks a path tail from a short list, or with
 * bit 7 set takes the body's bytes up to the first NUL as the tail.  The
 * body is JSON; a request whose body does not parse to an object is
 * answered by the server and skipped here.  A deferred request is run
 * once more as expired, as the server does at the deadline.  The world is
 * made anew every RESET_EVERY inputs, so what inputs create stays bounded.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "driver/cluster.h"
#include "driver/cluster_int.h"
#include "driver/config.h"
#include "driver/routes.h"
#include "tests/fuzz/harness.h"
#include "tests/unit/core_fixture.h"

#define RESET_EVERY 256
#define ROUTES_MAX  32
#define HOST_NS	    "/proc/self/ns/net"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
FZ_SMALL_QUARANTINE

enum owner { OWN_ROUTES, OWN_ALLOC, OWN_CLUSTER };

static struct {
	const struct api_route *r;
	enum owner own;
} routes[ROUTES_MAX];
static size_t nroutes;

static struct core_fixture f;
static struct drv_config cfg;
static struct drv_routes rt;
static struct drv_cluster cl;
static unsigned inputs;
static int verbose;

static const char *const params[] = {
	"", "blue", "red", "0123456789ab", "self", "peer", CFX_SELF, "no such", "blue/x", "",
};
#define PARAM_LAST_EP 9 /* the id of the endpoint created last */
#define NPARAMS	      (sizeof(params) / sizeof(params[0]))
static char last_ep[VX_EP_ID_LEN + 1];

static void add(const struct api_route *r, size_t n, enum owner own)
{
	for (size_t i = 0; i < n; i++) {
		/* They call into swim and the transport. */
		if (own == OWN_CLUSTER &&
		    (!strcmp(r[i].path, "/v1/join") || !strcmp(r[i].path, "/v1/leave") ||
		     !strcmp(r[i].path, "/v1/members")))
			continue;
		assert(nroutes < ROUTES_MAX);
		routes[nroutes].r = &r[i];
		routes[nroutes++].own = own;
	}
}

static void world_fini(void)
{
	cfx_close(&f);
}

static void world_open(void)
{
	struct drv_net_rec blue = {.vni = 100, .port = VX_PORT_DEFAULT};
	char why[256];

	assert(cfx_open(&f, "/dev/shm/vxmesh-fuzz-api-XXXXXX", why, sizeof(why)) == 0);
	fk_netns_add(&f.k, HOST_NS);
	assert(cfx_agent_start(&f, why, sizeof(why)) == 0);
	snprintf(blue.name, sizeof(blue.name), "blue");
	assert(addr_parse_prefix("10.20.0.0/24", 0, &blue.subnet) == 0);
	assert(drv_core_net_create(f.c, &blue, why, sizeof(why)) == 0);
	rt = (struct drv_routes){.core = f.c, .al = f.al, .cfg = &cfg, .started = time(NULL)};
	memset(&cl, 0, sizeof(cl));
	cl.loop = f.loop;
	cl.cfg = &cfg;
	cl.kr.n = 1; /* an all-zero primary key */
	snprintf(cl.keyring_path, sizeof(cl.keyring_path), "%s/keyring.json", f.dir);
	snprintf(cl.self, sizeof(cl.self), "%s", CFX_SELF);
	cl.adv_addr.s_addr = htonl(0xc0000201);
	cl.adv_port = 7946;
}

static void world_init(void)
{
	/* Every refused request logs a line: the product's log (stdio's
	 * stderr) goes nowhere; libFuzzer and the sanitizers write to fd 2. */
	stderr = fopen("/dev/null", "w");
	assert(stderr);
	log_set_level(LOG_LVL_ERROR);
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	drv_config_defaults(&cfg);
	add(drv_routes, drv_nroutes, OWN_ROUTES);
	add(drv_alloc_routes, drv_alloc_nroutes, OWN_ALLOC);
	add(drv_cluster_routes, drv_cluster_nroutes, OWN_CLUSTER);
	world_open();
	atexit(world_fini);
}

static void call(unsigned which, const char *param, json_t *body)
{
	const struct api_route *r = routes[which % nroutes].r;
	enum owner own = routes[which % nroutes].own;
	void *arg = own == OWN_ROUTES ? (void *)&rt : own == OWN_ALLOC ? (void *)f.al : (void *)&cl;
	size_t plen = strlen(r->path);
	struct api_req req = {.method = r->method, .path = r->path, .body = body};
	struct api_resp resp = {.status = 200};

	/* Only prefix routes take a tail. */
	req.param = plen && r->path[plen - 1] == '/' ? param : "";
	for (int expired = 0; expired < 2; expired++) {
		req.expired = expired;
		resp = (struct api_resp){.status = 200};
		r->cb(arg, &req, &resp);
		if (verbose) /* FUZZ_VERBOSE=1: what each request got, on stdout */
			printf("%s %s%s -> %u%s\n", r->method, r->path, req.param, resp.status,
			       resp.deferred ? " (deferred)" : "");
		assert(resp.status >= 200 && resp.status < 600);
		assert(!(resp.body && resp.text));
		if (resp.status == 201 && json_string_value(json_object_get(resp.body, "id")))
			snprintf(last_ep, sizeof(last_ep), "%s",
				 json_string_value(json_object_get(resp.body, "id")));
		json_decref(resp.body);
		free(resp.text);
		if (!resp.deferred)
			break;
	}
	(void)rx_loop_run_once(f.loop, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (1 << 16))
		return 0;
	if (!nroutes)
		world_init();
	if (++inputs % RESET_EVERY == 0) {
		cfx_close(&f);
		world_open();
	}
	for (size_t off = 0; off + 4 <= size;) {
		unsigned which = data[off], psel = data[off + 1];
		size_t len = (size_t)data[off + 2] << 8 | data[off + 3], skip = 0;
		char param[256];
		json_t *body = NULL;

		off += 4;
		if (len > size - off)
			len = size - off;
		snprintf(param, sizeof(param), "%s",
			 psel % NPARAMS == PARAM_LAST_EP ? last_ep : params[psel % NPARAMS]);
		if (psel & 0x80) {
			const uint8_t *nul = memchr(data + off, 0, len);

			skip = nul ? (size_t)(nul - (data + off)) + 1 : len;
			snprintf(param, sizeof(param), "%.*s", (int)(skip - (nul ? 1 : 0)),
				 (const char *)data + off);
		}
		if (!fz_body(data + off + skip, len - skip, &body))
			call(which, param, body);
		off += len;
		json_decref(body);
	}
	return 0;
}
