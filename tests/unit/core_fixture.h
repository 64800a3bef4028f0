/* SPDX-License-Identifier: MIT */
/*
 * core_fixture: one host's agent without gossip, for tests/unit/test_core.c
 * and the fuzz targets that drive the core (tests/fuzz/fuzz_ipam.c,
 * fuzz_api.c, fuzz_plugin.c, fuzz_engine.c): a real state database in a
 * temporary directory, a real datapath over the fake kernel
 * (fake_kernel.h), a real allocator on a real rx_loop whose peers are one
 * gossip/table.c replica, and the core on top.  No Criterion: functions
 * return 0 or -errno with a reason, callers assert.
 *
 * The cluster is this host alone, unless peer is set: then node CFX_PEER
 * is a live member whose messages are accepted and dropped.
 */
#ifndef VXMESH_CORE_FIXTURE_H
#define VXMESH_CORE_FIXTURE_H

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/reactor.h"
#include "driver/alloc.h"
#include "driver/core.h"
#include "driver/state.h"
#include "gossip/table.h"
#include "tests/unit/fake_kernel.h"
#include "vxlan/vxlan.h"

#define CFX_SELF "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define CFX_PEER "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define CFX_NS1	 "/run/netns/c1"
#define CFX_NS2	 "/run/netns/c2"
#define CFX_VTEP "192.0.2.1"

struct core_fixture {
	char dir[PATH_MAX];
	struct fk k;
	struct rx_loop *loop;
	struct gt_table *tab;
	struct drv_state *st;
	struct drv_alloc *al;
	struct vx_dp *dp;
	struct drv_core *c;
	struct drv_core_config cfg;
	struct drv_node_rec node;
	int peer; /* CFX_PEER is a live member */
};

/* ---- fake peers: the table a gossip/table.c replica ---- */

static inline void cfx_change_cb(void *arg, const struct gt_entry *old, const struct gt_entry *cur)
{
	struct core_fixture *f = arg;

	/* As cluster.c: stored first, then handed over. */
	if (f->al && cur->kind >= GT_KIND_RING && cur->kind <= GT_KIND_RETIRED)
		drv_alloc_table_changed(f->al, cur);
}

static inline int cfx_put(void *arg, uint8_t kind, const char *key, const char *owner,
			  uint8_t *value, size_t len)
{
	struct core_fixture *f = arg;
	int ret;

	if (!value)
		return -ENOMEM;
	ret = gt_put(f->tab, kind, key, owner ? owner : CFX_SELF, value, len, 1, NULL);
	free(value);
	return ret;
}

static inline int cfx_del(void *arg, uint8_t kind, const char *key)
{
	struct core_fixture *f = arg;

	return gt_del(f->tab, kind, key, 1, NULL);
}

static inline const struct gt_entry *cfx_get(void *arg, uint8_t kind, const char *key)
{
	struct core_fixture *f = arg;

	return gt_get(f->tab, kind, key);
}

static inline void cfx_foreach(void *arg, uint8_t kind, gt_entry_cb cb, void *cbarg)
{
	struct core_fixture *f = arg;

	gt_foreach(f->tab, kind, 0, cb, cbarg);
}

static inline int cfx_send(void *arg, const char *id, const uint8_t *msg, size_t len)
{
	struct core_fixture *f = arg;

	return f->peer && !strcmp(id, CFX_PEER) ? 0 : -ENOENT;
}

static inline int cfx_send_entry(void *arg, const char *id, uint8_t kind, const char *key)
{
	return cfx_send(arg, id, NULL, 0);
}

static inline int cfx_fans_out(void *arg)
{
	return 0;
}

static inline int cfx_member_state(void *arg, const char *id, char *name, size_t len)
{
	struct core_fixture *f = arg;
	int peer = f->peer && !strcmp(id, CFX_PEER);

	if (strcmp(id, CFX_SELF) && !peer)
		return -1;
	if (name)
		snprintf(name, len, "%s", peer ? "peer" : "self");
	return 1;
}

static inline int cfx_member_by_name(void *arg, const char *name, char *id, size_t len)
{
	struct core_fixture *f = arg;
	int peer = f->peer && !strcmp(name, "peer");

	if (strcmp(name, "self") && !peer)
		return -1;
	snprintf(id, len, "%s", peer ? CFX_PEER : CFX_SELF);
	return 1;
}

static inline int cfx_live_ids(void *arg, char (**ids)[GT_ID_MAX], size_t *n)
{
	struct core_fixture *f = arg;

	*ids = calloc(2, GT_ID_MAX);
	*n = 0;
	if (!*ids)
		return -ENOMEM;
	memcpy((*ids)[(*n)++], CFX_SELF, sizeof(CFX_SELF)); /* sorted: a < b */
	if (f->peer)
		memcpy((*ids)[(*n)++], CFX_PEER, sizeof(CFX_PEER));
	return 0;
}

static const struct drv_alloc_peers cfx_peers = {
	.put = cfx_put,
	.del = cfx_del,
	.get = cfx_get,
	.foreach = cfx_foreach,
	.send = cfx_send,
	.send_entry = cfx_send_entry,
	.fans_out = cfx_fans_out,
	.member_state = cfx_member_state,
	.member_by_name = cfx_member_by_name,
	.live_ids = cfx_live_ids,
};

/* ---- the agent ---- */

/* State, allocator, datapath and core on the fixture's directory and
 * kernel.  0 or -errno with why. */
static inline int cfx_agent_start(struct core_fixture *f, char *why, size_t len)
{
	int ret;

	if ((ret = drv_state_open(&f->st, f->dir, why, len)))
		return ret;
	if ((ret = drv_alloc_open(&f->al, f->loop, CFX_SELF, NULL, NULL))) {
		snprintf(why, len, "alloc: %s", strerror(-ret));
		return ret;
	}
	drv_alloc_set_peers(f->al, &cfx_peers, f);
	if ((ret = vx_dp_create(&f->dp, fk_ops(), &f->k))) {
		snprintf(why, len, "dp: %s", strerror(-ret));
		return ret;
	}
	if ((ret = drv_core_open(&f->c, &f->cfg, &f->node, f->st, f->dp, f->al)))
		snprintf(why, len, "core: %s", strerror(-ret));
	return ret;
}

/* Kernel objects, the table (the cluster) and the state directory stay. */
static inline void cfx_agent_stop(struct core_fixture *f)
{
	drv_core_close(f->c);
	drv_alloc_close(f->al);
	vx_dp_destroy(f->dp);
	drv_state_close(f->st);
	f->c = NULL;
	f->al = NULL;
	f->dp = NULL;
	f->st = NULL;
}

/* A fresh world in a new directory made from tmpl ("...XXXXXX"): two
 * namespaces, pool 10.100.0.0/22 of /24s; the agent not started.  0 or
 * -errno with why. */
static inline int cfx_open(struct core_fixture *f, const char *tmpl, char *why, size_t len)
{
	int ret;

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "%s", tmpl);
	if (!mkdtemp(f->dir)) {
		snprintf(why, len, "mkdtemp %s: %s", tmpl, strerror(errno));
		return -errno;
	}
	fk_init(&f->k);
	fk_netns_add(&f->k, CFX_NS1);
	fk_netns_add(&f->k, CFX_NS2);
	if ((ret = rx_loop_create(&f->loop)) ||
	    (ret = gt_create(&f->tab, CFX_SELF, cfx_change_cb, f))) {
		snprintf(why, len, "loop or table: %s", strerror(-ret));
		return ret;
	}
	f->cfg = (struct drv_core_config){
		.vxlan_port = VX_PORT_DEFAULT, .subnet_len = 24, .ko = fk_ops(), .ko_ctx = &f->k};
	if (addr_parse_ip4(CFX_VTEP, &f->cfg.vtep) ||
	    addr_parse_prefix("10.100.0.0/22", 1, &f->cfg.pool)) {
		snprintf(why, len, "bad fixture address");
		return -EINVAL;
	}
	snprintf(f->node.id, sizeof(f->node.id), "%s", CFX_SELF);
	snprintf(f->node.name, sizeof(f->node.name), "self");
	return 0;
}

static inline int cfx_rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* Stops the agent if running, removes the directory.  Accepts a fixture
 * whose cfx_open() failed half-way. */
static inline void cfx_close(struct core_fixture *f)
{
	cfx_agent_stop(f);
	gt_destroy(f->tab);
	rx_loop_destroy(f->loop);
	f->tab = NULL;
	f->loop = NULL;
	if (f->dir[0])
		nftw(f->dir, cfx_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
