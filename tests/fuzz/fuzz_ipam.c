// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for driver/alloc.c's outside input: IPAM user messages
 * from peers (drv_alloc_user_msg: type 0x81-0x84, then JSON) and the IPAM
 * kinds of the replicated table (ownership ring entries, free-space
 * reports, removed node ids), which arrive merged into the table as the
 * cluster merges them; its change callback hands them to the allocator
 * (tests/unit/core_fixture.h's fake peers, with one live peer member).
 *
 * Each input runs on a fresh allocator and table, on one real rx_loop with
 * a fake clock, with network blue (10.100.1.0/24, ring RING) open.  Byte 0:
 * bit 0, this host created the network (owns its whole space); bit 1,
 * the peer member is alive.  Then records of [op][len hi][len lo][payload]:
 *   op 0: a user message; its first byte becomes the type 0x81 + (b & 3);
 *   op 1: a table entry: payload kind selector (ring, report, retired),
 *         clock, then key NUL owner NUL value;
 *   op 2: a lease (any address, or the payload's 4 bytes), then released
 *         when granted;
 *   op 3: GET /v1/ipam/blue and the metrics (they read the reports);
 *   op 4: the clock moves on (payload's first byte x 100 ms), the loop runs.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "tests/fuzz/harness.h"
#include "tests/unit/core_fixture.h"

#define RING "0123456789abcdef"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct core_fixture f;
static struct drv_alloc_net *an;
static uint64_t now = 1000000;
static FILE *devnull;

static uint64_t fake_clock(void *arg)
{
	return now;
}

static void world_fini(void)
{
	cfx_close(&f);
}

/* The loop and the directory (unused: no state database) live for the
 * whole run; allocator and table are made per input. */
static void world_init(void)
{
	char why[256];

	/* Every refused input logs a line: the product's log (stdio's stderr)
	 * goes nowhere; libFuzzer and the sanitizers write to fd 2 directly. */
	stderr = fopen("/dev/null", "w");
	assert(stderr);
	log_set_level(LOG_LVL_ERROR);
	assert(cfx_open(&f, "/dev/shm/vxmesh-fuzz-ipam-XXXXXX", why, sizeof(why)) == 0);
	rx_loop_set_clock(f.loop, fake_clock, NULL);
	gt_destroy(f.tab);
	f.tab = NULL;
	atexit(world_fini);
	devnull = stderr;
}

static void entry(const uint8_t *p, size_t n)
{
	static const uint8_t kinds[] = {GT_KIND_RING, GT_KIND_IPREPORT, GT_KIND_RETIRED};
	struct gt_entry e = {0};
	const uint8_t *key, *owner, *nul;

	if (n < 2)
		return;
	e.kind = kinds[p[0] % 3];
	e.clock = (uint64_t)p[1] + 1;
	key = p + 2;
	n -= 2;
	if (!(nul = memchr(key, 0, n)) || (size_t)(nul - key) >= sizeof(e.key))
		return;
	memcpy(e.key, key, (size_t)(nul - key));
	n -= (size_t)(nul - key) + 1;
	owner = nul + 1;
	if (!(nul = memchr(owner, 0, n)) || (size_t)(nul - owner) >= sizeof(e.owner))
		return;
	memcpy(e.owner, owner, (size_t)(nul - owner));
	memcpy(e.origin, e.owner, sizeof(e.origin));
	n -= (size_t)(nul - owner) + 1;
	e.value = nul + 1;
	e.value_len = n;
	(void)gt_merge(f.tab, &e, now);
}

static void lease(const uint8_t *p, size_t n)
{
	struct in_addr want, ip;
	char why[256] = "";
	int ret;

	if (n >= 4)
		memcpy(&want.s_addr, p, 4);
	ret = drv_alloc_lease(f.al, an, n >= 4 ? &want : NULL, &ip, why, sizeof(why));
	if (!ret) {
		assert(drv_alloc_is_taken(an, ip));
		drv_alloc_release(f.al, an, ip);
	}
}

static void view(void)
{
	struct api_req req = {.method = "GET", .path = "/v1/ipam/blue", .param = "blue"};
	struct api_resp resp = {0};

	for (size_t i = 0; i < drv_alloc_nroutes; i++)
		if (!strcmp(drv_alloc_routes[i].path, "/v1/ipam/"))
			drv_alloc_routes[i].cb(f.al, &req, &resp);
	assert(resp.body && !resp.status);
	json_decref(resp.body);
	drv_alloc_metrics(f.al, devnull);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct drv_net_rec r = {.vni = 100, .port = 4789};
	struct drv_alloc_counts c;

	if (size < 1 || size > (1 << 16))
		return 0;
	if (!f.loop)
		world_init();
	f.peer = data[0] & 2;
	assert(gt_create(&f.tab, CFX_SELF, cfx_change_cb, &f) == 0);
	gt_set_undeletable(f.tab, GT_KIND_RING);
	assert(drv_alloc_open(&f.al, f.loop, CFX_SELF, NULL, NULL) == 0);
	drv_alloc_set_peers(f.al, &cfx_peers, &f);
	snprintf(r.name, sizeof(r.name), "blue");
	snprintf(r.ring, sizeof(r.ring), RING);
	assert(addr_parse_prefix("10.100.1.0/24", 0, &r.subnet) == 0);
	assert(addr_parse_ip4("10.100.1.1", &r.gw) == 0);
	assert(drv_alloc_net_open(f.al, &r, &an) == 0);
	if (data[0] & 1)
		assert(drv_alloc_net_init_space(f.al, an) == 0);

	for (size_t off = 1; off + 3 <= size;) {
		uint8_t op = data[off];
		size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
		uint8_t *p;

		off += 3;
		if (len > size - off)
			len = size - off;
		p = fz_copy(data + off, len);
		off += len;
		switch (op % 5) {
		case 0:
			if (len) {
				p[0] = (uint8_t)(DRV_ALLOC_MSG_FIRST + (p[0] & 3));
				drv_alloc_user_msg(f.al, p, len);
			}
			break;
		case 1:
			entry(p, len);
			break;
		case 2:
			lease(p, len);
			break;
		case 3:
			view();
			break;
		case 4:
			now += (uint64_t)(len ? p[0] : 1) * 100;
			(void)rx_loop_run_once(f.loop, 0);
			break;
		}
		free(p);
	}
	drv_alloc_counts(f.al, an, &c);
	/* The ring's space counts the gateway, the pool's capacity does not. */
	assert(c.free <= c.owned && c.owned <= c.capacity + 1 && c.leased <= c.capacity);
	drv_alloc_net_close(f.al, an);
	drv_alloc_close(f.al);
	gt_destroy(f.tab);
	f.al = NULL;
	f.tab = NULL;
	(void)rx_loop_run_once(f.loop, 0);
	return 0;
}
