/* SPDX-License-Identifier: MIT */
/*
 * docker_int: what the Docker adapter's files share: the records of
 * Docker's pools, networks and endpoints (docker_rec.c), the plugin's
 * handlers (docker_plugin.c), mirroring and life cycle (docker.c).
 * Private to those files.
 */
#ifndef VXMESH_DOCKER_INT_H
#define VXMESH_DOCKER_INT_H

#include <jansson.h>
#include <netinet/in.h>
#include <sys/types.h>

#include "common/addr.h"
#include "vxlan/vxlan.h"

#include "driver/api.h"
struct drv_api;
struct drv_cluster;
struct drv_config;
struct drv_core;
struct drv_net;
struct drv_state;
struct dkc;
struct rx_loop;
struct rx_timer;

#define DK_ID_MAX	  72 /* Docker ids are 64 hex characters */
#define DK_AUX_MAX	  16
#define LOOKUP_MS	  100
#define LOOKUP_TRIES	  100
#define MIRROR_MS	  2000
#define PRUNE_AFTER_LISTS 3
#define DOCKER_TIMEOUT_MS 15000
#define NS_POOL		  "docker.pool"
#define NS_NET		  "docker.net"
#define NS_EP		  "docker.ep"
#define OPT_GENERIC	  "com.docker.network.generic"
#define LEASE_OWNER	  "docker"

struct dk_pool {
	char id[DK_ID_MAX];
	struct addr_prefix pool;
	struct in_addr gw;
	int picked;    /* chosen by us (no --subnet) */
	unsigned refs; /* RequestPools not yet released: identical ones share the id */
	struct in_addr aux[DK_AUX_MAX];
	size_t naux;
};

struct dk_net {
	char id[DK_ID_MAX];
	char name[VX_NET_NAME_MAX]; /* "" until known */
	struct addr_prefix pool;
	struct in_addr gw;
	uint32_t vni;	  /* -o vxmesh.vni, 0 = any */
	unsigned mtu;	  /* -o com.docker.network.driver.mtu */
	int no_external;  /* -o vxmesh.external=false */
	int encrypted;	  /* -o encrypted (Docker overlay's option) or -o vxmesh.encrypted=true */
	char err[256];	  /* why it cannot be used */
	unsigned lookups; /* name lookups tried */
	int lookup_busy;
	unsigned unlisted; /* consecutive dockerd lists without it */
};

struct dk_ep {
	char id[DK_ID_MAX];
	char net[DK_ID_MAX]; /* Docker network id */
	struct in_addr ip;
	uint8_t mac[6];
	char vx[VX_EP_ID_LEN + 1]; /* vxmesh endpoint while joined, else "" */
	int own_lease;		   /* leased by CreateEndpoint (Docker's own IPAM) */
};

struct mirror_req {
	struct drv_docker *d;
	char name[VX_NET_NAME_MAX];
};

struct drv_docker {
	struct rx_loop *loop;
	const struct drv_config *cfg;
	struct drv_state *st;
	struct drv_core *core;
	const struct drv_cluster *cl;
	struct drv_api *plugin;
	struct dkc *dkc;
	struct rx_timer *lookup_timer, *mirror_timer;
	struct dk_pool *pools;
	size_t npools;
	struct dk_net *nets;
	size_t nnets;
	struct dk_ep *eps;
	size_t neps;
	struct mirror_req **creating; /* mirror creations in flight */
	size_t ncreating;
	int listing;
	pid_t fw_pid; /* iptables child in flight */
	int fw_step;  /* 0 check, 1 insert */
	int fw_warned;
	unsigned long long calls, errors, mirrored_in, mirrored_out;
};

/* ---- docker_rec.c ---- */

/* Read the records from the state database.  0 or -errno. */
int dk_records_load(struct drv_docker *d);
const char *dk_jstr(const json_t *o, const char *k);
int dk_id_ok(const char *s);
int dk_cidr_ip(const char *s, struct in_addr *ip);
int dk_prefix_eq(const struct addr_prefix *x, const struct addr_prefix *y);
struct dk_pool *dk_pool_find(struct drv_docker *d, const char *id);
struct dk_net *dk_net_find(struct drv_docker *d, const char *id);
struct dk_ep *dk_ep_find(struct drv_docker *d, const char *id);
int dk_grow(void **arr, size_t n, size_t elsz);
void dk_pool_save(struct drv_docker *d, const struct dk_pool *p);
void dk_net_save(struct drv_docker *d, const struct dk_net *n);
void dk_ep_save(struct drv_docker *d, const struct dk_ep *e);
void dk_release_lease(struct drv_docker *d, const char *net, struct in_addr ip);
void dk_leave(struct drv_docker *d, struct dk_ep *e);
void dk_ep_drop(struct drv_docker *d, struct dk_ep *e);
const struct drv_net *dk_vxnet_by_subnet(struct drv_docker *d, const struct addr_prefix *p);
void dk_records_apply(struct drv_docker *d);

/* ---- docker_plugin.c ---- */

void dk_lookup_timer_cb(struct rx_loop *loop, struct rx_timer *t, void *arg);
/* dockerd's answer to GET /networks/ID (err: the request failed, msg why):
 * binds the network whose name was being looked up.  Outside of
 * lookup_done() only the fuzz target calls it. */
void dk_lookup_apply(struct drv_docker *d, int err, json_t *body, const char *msg);
extern const struct api_route dk_plugin_routes[];
extern const size_t dk_plugin_nroutes;

/* ---- docker.c ---- */

/* dockerd's answer to the list of its vxmesh networks: mirror what is
 * missing there, remove what the cluster dropped, prune records.  0, or
 * -EINVAL when body is not an array.  Outside of list_done() only the fuzz
 * target calls it. */
int dk_list_apply(struct drv_docker *d, json_t *body);

#endif
