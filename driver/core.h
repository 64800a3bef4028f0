/* SPDX-License-Identifier: MIT */
/*
 * core: the agent's tables.  The only owner of networks, local endpoints,
 * remote endpoints and leases, the only writer of their state-database rows
 * and the only caller of the datapath (vxlan/).  Adapters (the gossip
 * cluster, the Docker plugin, the control-API handlers) call in when
 * something happens outside; the core calls out only through the hooks they
 * registered (BIRD's nest and its protocols).  It never includes an
 * adapter's header.
 *
 * Order of every change: validate completely, open a state transaction,
 * write the rows, apply the change to the kernel through the datapath, and
 * commit only when the kernel accepted it.  A refusal at any step rolls back
 * the transaction and undoes the kernel change, so bad input or a kernel
 * error leaves both state and kernel as they were.  Hooks run after the
 * change is complete.
 *
 * Networks and endpoints the datapath could not (re)create at start, such
 * as an endpoint whose namespace is gone, stay in the database and are
 * tried again on every reconcile; their status says why they are missing.
 *
 * Every function returns 0 or -errno and, where it takes one, writes a
 * one-line reason into why.  The errno says what kind of refusal it is
 * (api_status_of() turns it into an HTTP status at the edge):
 *   -EINVAL  bad argument           -ENOENT  no such network/endpoint
 *   -EEXIST  name or object taken   -EADDRINUSE  VNI, address or MAC taken
 *   -EBUSY   still in use           -EAGAIN  waiting for a peer (retry)
 *   -EIO     state database or kernel failed
 * and the allocator's own errnos for leases (driver/alloc.h).
 */
#ifndef VXMESH_CORE_H
#define VXMESH_CORE_H

#include <jansson.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "driver/state.h"
#include "vxlan/vxlan.h"

struct addr_prefix;
struct drv_alloc;
struct drv_alloc_net;
struct drv_core;
struct vx_dp;
struct vx_encc;
struct vx_encc_node;
struct vx_kops;

struct drv_net {
	struct drv_net_rec rec;
	struct drv_alloc_net *an; /* its pool and ownership ring */
	unsigned mtu;		  /* effective: rec.mtu, or derived from the underlay */
	int in_dp;		  /* the datapath holds it */
	char err[256];		  /* why not, when !in_dp */
};

struct drv_ep {
	struct drv_ep_rec rec;
	int in_dp;
	int status; /* 0, or -errno of the last failed attempt/check */
	char err[256];
};

/* An endpoint of another host, from the replicated table. */
struct drv_remote {
	char net[VX_NET_NAME_MAX];
	struct in_addr ip;
	uint8_t mac[6];
	struct in_addr vtep;
	uint16_t port;
	int live; /* its host is alive: install it; else only hold its address */
};

/* Every member optional; arg is what drv_core_hooks_add() was given. */
struct drv_core_hooks {
	/* Veto a network about to be created here (name or VNI taken in the
	 * cluster): nonzero with why.  A record with an empty name asks about
	 * the VNI only. */
	int (*net_check)(void *arg, const struct drv_net_rec *rec, char *why, size_t len);
	/* Veto the destruction of a network (endpoints on other hosts). */
	int (*net_destroy_check)(void *arg, const char *name, char *why, size_t len);
	/* Does the cluster use a subnet overlapping p? */
	int (*subnet_used)(void *arg, const struct addr_prefix *p);
	/* A network is local now; created: by drv_core_net_create() here (to
	 * replicate), else it came from outside. */
	void (*net_added)(void *arg, const struct drv_net *n, int created);
	/* A network is gone here; destroyed: by drv_core_net_destroy(). */
	void (*net_removed)(void *arg, const char *name, int destroyed);
	void (*ep_added)(void *arg, const struct drv_ep *e);
	void (*ep_removed)(void *arg, const struct drv_ep_rec *e);
};

struct drv_core_config {
	struct in_addr vtep;	  /* local VXLAN address, 0 = the kernel picks */
	uint16_t vxlan_port;	  /* default UDP port of new networks */
	struct addr_prefix pool;  /* default pool for networks without a subnet */
	uint8_t subnet_len;	  /* prefix length picked from it */
	const struct vx_kops *ko; /* for route and underlay reads */
	void *ko_ctx;
	struct vx_encc *enc; /* the encrypted datapath (NULL: encrypted networks refused) */
};

struct drv_core_stats {
	unsigned long long ep_attached, ep_detached; /* successful calls */
	unsigned long long addr_conflicts;	     /* remote addresses also leased here */
	size_t remotes;				     /* remote endpoints installed */
	int last_reconcile;			     /* 0 or -errno of the last pass */
};

/* A core over st, dp (its kernel ops in cfg) and al; none is owned.  0 or
 * -ENOMEM; release with drv_core_close(). */
int drv_core_open(struct drv_core **out, const struct drv_core_config *cfg,
		  const struct drv_node_rec *node, struct drv_state *st, struct vx_dp *dp,
		  struct drv_alloc *al) __attribute__((warn_unused_result));
/* Forgets the tables (kernel objects stay: the next agent adopts them).
 * Accepts NULL. */
void drv_core_close(struct drv_core *c);
/* Register hooks (h and arg must outlive the core).  0 or -ENOMEM. */
int drv_core_hooks_add(struct drv_core *c, const struct drv_core_hooks *h, void *arg)
	__attribute__((warn_unused_result));

/* Load networks, endpoints and leases from the state database and apply
 * them (failures are kept as status).  0 or -errno. */
int drv_core_load(struct drv_core *c) __attribute__((warn_unused_result));
/* Re-apply what the datapath does not hold, then reconcile the kernel. */
void drv_core_reconcile(struct drv_core *c);

const struct drv_node_rec *drv_core_node(const struct drv_core *c);
struct in_addr drv_core_vtep(const struct drv_core *c);
void drv_core_stats(const struct drv_core *c, struct drv_core_stats *st);
/* This host's address for others to reach: the first IPv4 address of the
 * default route's link, else of any non-loopback link.  0 or
 * -EADDRNOTAVAIL. */
int drv_core_host_addr(struct drv_core *c, struct in_addr *out) __attribute__((warn_unused_result));

/* Lookups; the pointers are valid until the next change of the tables. */
const struct drv_net *drv_core_nets(const struct drv_core *c, size_t *n);
const struct drv_ep *drv_core_eps(const struct drv_core *c, size_t *n);
const struct drv_net *drv_core_net_find(const struct drv_core *c, const char *name);
const struct drv_net *drv_core_net_find_vni(const struct drv_core *c, uint32_t vni);
const struct drv_ep *drv_core_ep_find(const struct drv_core *c, const char *id);
size_t drv_core_net_ep_count(const struct drv_core *c, const char *net);

/* An unused subnet of the default pool: overlapping no network of this host
 * or the cluster, no route of this host, and none of avoid[].  0, -ENOSPC. */
int drv_core_subnet_pick(struct drv_core *c, const struct addr_prefix *avoid, size_t navoid,
			 struct addr_prefix *out) __attribute__((warn_unused_result));

/* Create a network here and in the cluster: rec->vni 0 picks a free one;
 * rec->created and rec->ring are set here.  Vetoes, ring id, local add, its whole address space,
 * then the net_added hook (created = 1).  0, -EINVAL, -EEXIST, -EADDRINUSE (VNI), -EIO. */
int drv_core_net_create(struct drv_core *c, struct drv_net_rec *rec, char *why, size_t len)
	__attribute__((warn_unused_result));
/* Make a network known elsewhere local: pool, state row, kernel objects,
 * in one step that leaves nothing behind on failure.  0, -EINVAL, -EEXIST,
 * -EADDRINUSE, -EIO. */
int drv_core_net_add(struct drv_core *c, const struct drv_net_rec *rec, char *why, size_t len)
	__attribute__((warn_unused_result));
/* Delete a network here and in the cluster; refused while endpoints use it
 * anywhere.  0, -ENOENT, -EBUSY, -EIO. */
int drv_core_net_destroy(struct drv_core *c, const char *name, char *why, size_t len)
	__attribute__((warn_unused_result));
/* Remove a network that has no local endpoints here only (it was removed or
 * redefined elsewhere).  0, -ENOENT, -EBUSY, -EIO. */
int drv_core_net_remove(struct drv_core *c, const char *name);

/* Lease an address of net for owner (a lease row, "docker" for Docker's
 * IPAM): want NULL = any.  0 with *ip set; -ENOENT (no such network), the
 * allocator's errnos (-EAGAIN: a peer was asked, call again later), -EIO. */
int drv_core_lease(struct drv_core *c, const char *net, const struct in_addr *want,
		   const char *owner, struct in_addr *ip, char *why, size_t len)
	__attribute__((warn_unused_result));
/* The owner of a stored lease (as struct drv_lease_rec's owner).  0 or
 * -ENOENT. */
int drv_core_lease_owner(struct drv_core *c, const char *net, struct in_addr ip, char *owner,
			 size_t len);
/* Drop a lease row and give the address back.  0, -ENOENT, -EIO. */
int drv_core_lease_release(struct drv_core *c, const char *net, struct in_addr ip);
/* Docker's aux addresses: never handed out.  0, -ENOENT, an ipam errno. */
int drv_core_reserve(struct drv_core *c, const char *net, struct in_addr ip);

/* Attach a local endpoint: rec has net, netns, ifname, mac, id and created
 * set; with want_ip its address is rec->ip, else one is leased and written
 * there.  Its lease row is owned by the endpoint.  0, -ENOENT (network),
 * -EINVAL, -EEXIST (interface taken), -EADDRINUSE (MAC or address), the
 * allocator's errnos (-EAGAIN: call again later), -EIO. */
int drv_core_ep_create(struct drv_core *c, struct drv_ep_rec *rec, int want_ip, char *why,
		       size_t len) __attribute__((warn_unused_result));
/* Add a local endpoint whose address is leased already (Docker): state
 * row, kernel objects, the ep_added hook.  0, -ENOENT, -EINVAL, -EEXIST,
 * -EIO. */
int drv_core_ep_add(struct drv_core *c, const struct drv_ep_rec *rec, char *why, size_t len)
	__attribute__((warn_unused_result));
/* Remove a local endpoint (and, with release, its lease).  0, -ENOENT,
 * -EIO. */
int drv_core_ep_remove(struct drv_core *c, const char *id, int release);

/* The whole wanted set of other hosts' endpoints: the core holds every
 * address of a local network out of allocation, and installs the live ones
 * in the datapath (diffed against what is installed).  0 or -ENOMEM. */
int drv_core_remotes_set(struct drv_core *c, const struct drv_remote *want, size_t n);

/* The datapath's view, read-only: its counters, and what the kernel's FDB
 * and neighbour tables of our devices hold and why (vni 0 = every network;
 * dumps the kernel; 0 or -errno). */
void drv_core_dp_stats(const struct drv_core *c, struct vx_dp_stats *st);

/* The encrypted datapath's keys: every installed gossip key, the primary
 * first.  Networks that waited for a key are applied.  0 or -ENOMEM. */
int drv_core_enc_keys(struct drv_core *c, const uint8_t (*keys)[32], unsigned n)
	__attribute__((warn_unused_result));
/* The hosts the encrypted datapath may talk to (every live member with an
 * encrypted datapath).  0 or -ENOMEM. */
int drv_core_enc_nodes(struct drv_core *c, const struct vx_encc_node *nodes, size_t n)
	__attribute__((warn_unused_result));
/* The encrypted datapath's session (0: none running or connected). */
uint64_t drv_core_enc_session(const struct drv_core *c);
/* Can this host carry an encrypted network?  0, or -EOPNOTSUPP with why. */
int drv_core_enc_ready(const struct drv_core *c, char *why, size_t len);
/* The encrypted datapath's own report (a new reference), NULL when it has
 * none to give. */
json_t *drv_core_enc_stats(struct drv_core *c);
int drv_core_fdb_report(struct drv_core *c, uint32_t vni, vx_fdb_row_cb cb, void *arg);

#endif
