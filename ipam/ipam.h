/* SPDX-License-Identifier: MIT */
/*
 * ipam: address allocation inside one network's subnet.  Pure logic: no
 * sockets, no netlink, no storage.  The driver loads persisted leases with
 * ipam_pool_claim() at start and persists each new lease before handing it
 * out.  Today a pool owns its whole subnet on this host; the cluster-wide
 * allocator (ownership of ranges replicated by gossip) will sit behind these
 * same calls.
 *
 * Network, broadcast and gateway addresses and reserved (aux) addresses are
 * never handed out.  Memory grows with leases and reservations, not with the
 * size of the subnet.  Allocation walks forward from the last address handed
 * out, so a just-released address is not reused at once (stale ARP caches).
 */
#ifndef VXMESH_IPAM_H
#define VXMESH_IPAM_H

#include <netinet/in.h>
#include <stddef.h>

struct addr_prefix;
struct ipam_pool;

/* Smallest accepted subnet: /30 (two usable addresses); largest: /8. */
#define IPAM_PLEN_MIN 8
#define IPAM_PLEN_MAX 30

/* gw may be NULL.  Returns 0, -EINVAL (prefix length out of range or host
 * bits set), -EDOM (gateway outside the subnet or the network/broadcast
 * address), -ENOMEM.  Release with ipam_pool_destroy(). */
int ipam_pool_create(struct ipam_pool **out, const struct addr_prefix *subnet,
		     const struct in_addr *gw) __attribute__((warn_unused_result));
void ipam_pool_destroy(struct ipam_pool *pool);

/* Hold ip out of allocation (Docker aux addresses).  0, -EDOM (outside),
 * -EADDRINUSE (leased), -EEXIST (already reserved or the gateway). */
int ipam_pool_reserve(struct ipam_pool *pool, struct in_addr ip)
	__attribute__((warn_unused_result));

/* Lease the next free address.  0 or -ENOSPC (-ENOMEM). */
int ipam_pool_alloc(struct ipam_pool *pool, struct in_addr *out)
	__attribute__((warn_unused_result));

/* Lease a specific address.  0, -EDOM (outside the subnet), -EADDRNOTAVAIL
 * (network, broadcast, gateway or reserved), -EADDRINUSE (leased). */
int ipam_pool_claim(struct ipam_pool *pool, struct in_addr ip) __attribute__((warn_unused_result));

/* 0 or -ENOENT when ip is not leased. */
int ipam_pool_release(struct ipam_pool *pool, struct in_addr ip);

int ipam_pool_is_leased(const struct ipam_pool *pool, struct in_addr ip);
/* Addresses that could ever be leased (subnet minus network, broadcast,
 * gateway, reserved), currently leased, and free. */
size_t ipam_pool_capacity(const struct ipam_pool *pool);
size_t ipam_pool_leased(const struct ipam_pool *pool);
size_t ipam_pool_free(const struct ipam_pool *pool);

/* Human-readable reason for an ipam errno ("address is already leased"...). */
const char *ipam_strerror(int err);

#endif
