/* SPDX-License-Identifier: MIT */
/*
 * cluster_int: what driver/cluster.c (gossip, tables, sync) and
 * driver/cluster_api.c (its control-API handlers, status and metrics)
 * share.  Private to those two files.
 */
#ifndef VXMESH_CLUSTER_INT_H
#define VXMESH_CLUSTER_INT_H

#include <limits.h>
#include <netinet/in.h>
#include <stdint.h>

#include "driver/cluster.h"
#include "gossip/table.h"
#include "gossip/wire.h"

struct drv_alloc;
struct drv_config;
struct drv_core;
struct drv_state;
struct gx;
struct rx_loop;
struct rx_timer;
struct swim;

#define DRV_GOSSIP_PORT 7946

struct unstored {
	uint8_t kind;
	char key[GT_KEY_MAX];
};

struct drv_cluster {
	struct rx_loop *loop;
	const struct drv_config *cfg;
	struct drv_state *st;
	struct drv_core *core;
	struct drv_alloc *al;
	char self[GT_ID_MAX]; /* this node's id */
	struct gw_keyring kr;
	char keyring_path[PATH_MAX + 16];
	struct gx *gx;
	struct swim *swim;
	struct gt_table *tab;
	struct in_addr adv_addr, vtep_addr;
	uint16_t adv_port, vtep_port;
	uint16_t enc_port;    /* advertised encrypted port, 0 = no encrypted datapath here */
	uint64_t enc_session; /* as advertised in our meta */
	char name[GW_NAME_MAX];
	uint64_t started;
	int loading; /* replaying the database: do not write back */
	int sync_pending;
	int leaving;
	struct rx_timer *timer; /* join retries, grace expiry, reaping */
	struct in_addr *seeds;
	uint16_t *seed_ports;
	size_t nseeds;
	unsigned long long user_msgs, user_foreign, user_bad, merged, conflicts;
	unsigned long long logged_bad; /* bad input already reported */
	int persist_err;	       /* the last table change could not be stored */
	struct unstored *unstored;     /* changes the database refused: to forget */
	size_t nunstored;
	drv_members_cb members_cb;
	int members_changed; /* a swim event since members_cb last heard */
	void *members_arg;
	char **stale; /* start-up scratch: own stale entries */
	size_t nstale;
};

/* Remember ADDR[:PORT][,...] as seeds (once each).  0, -EINVAL, -ENOMEM. */
int drv_cluster_seeds_add(struct drv_cluster *cl, const char *list);

/* Hand the keyring to the core's encrypted datapath (after every change). */
void drv_cluster_keys_push(struct drv_cluster *cl);

#endif
