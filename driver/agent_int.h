/* SPDX-License-Identifier: MIT */
/*
 * agent_int: the agent's in-memory tables, shared by driver/agent.c (API,
 * local state, reconciling) and driver/cluster.c (gossip).  Private to
 * driver/.
 */
#ifndef VXMESH_AGENT_INT_H
#define VXMESH_AGENT_INT_H

#include <jansson.h>
#include <netinet/in.h>
#include <time.h>

#include "driver/config.h"
#include "driver/state.h"

struct api_req;
struct api_resp;
struct drv_api;
struct drv_cluster;
struct drv_docker;
struct ipam_pool;
struct ipamc;
struct ipamc_net;
struct rx_loop;
struct rx_timer;
struct vx_dp;
struct vx_nl;

struct agent_net {
	struct drv_net_rec rec;
	struct ipam_pool *pool; /* validity and what is taken here */
	struct ipamc_net *ic;	/* cluster-wide ownership (driver/ipamc.c) */
	unsigned mtu;		/* effective: rec.mtu, or derived from the underlay */
	int in_dp;		/* the datapath holds it */
	char err[256];		/* why not, when !in_dp */
};

struct agent_ep {
	struct drv_ep_rec rec;
	int in_dp;
	int status; /* 0, or -errno of the last failed attempt/check */
	char err[256];
};

struct agent {
	struct drv_config cfg;
	struct rx_loop *loop;
	struct drv_state *st;
	struct vx_nl *nl;
	struct vx_dp *dp;
	struct drv_api *api;
	struct drv_node_rec node;
	struct in_addr vtep;
	struct agent_net *nets;
	size_t nnets;
	struct agent_ep *eps;
	size_t neps;
	struct rx_timer *reconcile_timer;
	int sig_fd;
	int lock_fd;
	time_t started;
	int last_rec_err;
	unsigned long long ep_attached, ep_detached;
	struct drv_cluster *cl;
	struct ipamc *ipc;
	struct drv_api *plugin; /* Docker plugin socket, when enabled */
	struct drv_docker *dk;
};

struct agent_net *agent_net_find(struct agent *a, const char *name);
struct agent_net *agent_net_find_vni(struct agent *a, uint32_t vni);
size_t agent_net_ep_count(struct agent *a, const char *net);

/* Create a network here and in the cluster (vni 0 = pick one): conflict
 * checks, ring id, agent_net_add(), publish, take its address space.
 * HTTP-style status (201) with a message in err. */
unsigned agent_net_create(struct agent *a, struct drv_net_rec *rec, char *err, size_t len);
/* Delete a network here and in the cluster; refused (409) while endpoints
 * use it anywhere.  200, 404, 409 or 500 with a message in err. */
unsigned agent_net_destroy(struct agent *a, const char *name, char *err, size_t len);
/* Make a network local: IPAM pool, state row, kernel objects, in one
 * step that leaves nothing behind on failure.  Returns an HTTP-style status
 * (201 on success) with a message in err. */
unsigned agent_net_add(struct agent *a, const struct drv_net_rec *rec, char *err, size_t len);
/* Remove a network that has no local endpoints (state row and kernel). */
int agent_net_remove(struct agent *a, const char *name);

/* Lease an address in n for a local endpoint (want NULL = any).  0 with
 * *out set; otherwise resp holds the error or the request was deferred
 * (retried when a peer answers) and the handler must return. */
int agent_lease(struct agent *a, struct agent_net *n, const struct in_addr *want,
		struct in_addr *out, const struct api_req *req, struct api_resp *resp);

/* Re-run API requests parked waiting for a peer (deferred, on the loop). */
void agent_api_retry(struct agent *a);

struct agent_ep *agent_ep_find(struct agent *a, const char *id);
/* Add a local endpoint whose address is already leased in n: state rows
 * (and the lease row when with_lease), kernel objects, gossip.  HTTP-style
 * status (201) with a message in err. */
unsigned agent_ep_add(struct agent *a, struct agent_net *n, const struct drv_ep_rec *rec,
		      int with_lease, char *err, size_t len);
/* Remove it (and its lease when with_lease).  e is invalid afterwards.
 * 0 or -errno (state database). */
int agent_ep_remove(struct agent *a, struct agent_ep *e, int with_lease);

/* Re-apply every network/endpoint the datapath does not hold, then
 * reconcile the kernel. */
void agent_reconcile_now(struct agent *a);

#endif
