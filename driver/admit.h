/* SPDX-License-Identifier: MIT */
/*
 * admit: VXLAN admission, the adapter that owns this host's firewall table.
 *
 * Plain VXLAN has no authentication, and the kernel decapsulates any UDP
 * packet to a VXLAN port whose VNI it knows.  This module keeps an nftables
 * table of the agent's own, `table ip vxmesh_admit`, that accepts UDP to the
 * host's VXLAN ports only from the cluster's current members' advertised
 * VTEP addresses (alive or suspect) and from --admit prefixes, and drops
 * (and counts, per source) the rest.  Other UDP is not touched.
 *
 * Every change is one nftables transaction (the table's sets flushed and
 * filled in one batch), so the kernel never holds a half-made table.  The
 * table stays when the agent stops or dies, so traffic is filtered while it
 * is down; a restarted agent keeps the members it finds in the table for
 * ADMIT_GRACE_MS or until it sees another live member, whichever comes
 * first (its peers are not known again yet), refusing at once any that
 * gossip says are dead or left; then the set is exact.  `vxmesh cleanup` removes the table;
 * --no-admission removes it at start and warns.
 */
#ifndef VXMESH_ADMIT_H
#define VXMESH_ADMIT_H

#include <jansson.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct addr_prefix;
struct drv_admit;
struct drv_core;
struct rx_loop;

#define DRV_ADMIT_GRACE_MS  30000
#define DRV_ADMIT_EXTRA_MAX 16

/* What the table admits: VXLAN ports, member addresses, extra prefixes. */
struct drv_admit_want {
	const uint16_t *ports; /* VXLAN and encrypted ports: members only */
	size_t nports;
	const uint16_t *vxports; /* VXLAN ports only: ... */
	size_t nvxports;
	const uint32_t *vnis; /* ... never carrying an encrypted network's VNI */
	size_t nvnis;
	const struct in_addr *members;
	size_t nmembers;
	const struct addr_prefix *extra;
	size_t nextra;
};

/* The nft commands that make the table admit exactly w, as one transaction
 * (malloc()ed; free() it).  Pure: tested without a kernel.  NULL when out of
 * memory. */
char *drv_admit_cmds(const struct drv_admit_want *w);

/* Parse "CIDR[,CIDR...]" (--admit).  0 or -EINVAL with the bad item in why. */
int drv_admit_parse(const char *list, struct addr_prefix *out, size_t max, size_t *n, char *why,
		    size_t len) __attribute__((warn_unused_result));

/* Start admission (enabled) or remove a table left by an earlier run (not
 * enabled: *out stays NULL).  The ports follow core's networks (hooks);
 * members come through drv_admit_members().  0 or -errno (logged): the
 * agent must not run with admission wanted but impossible. */
int drv_admit_open(struct drv_admit **out, struct rx_loop *loop, struct drv_core *core,
		   uint16_t default_port, uint16_t enc_port, const char *admit_list, int enabled)
	__attribute__((warn_unused_result));
/* The table stays.  Accepts NULL. */
void drv_admit_close(struct drv_admit *a);

/* The cluster's members changed (a drv_members_cb; arg is the adapter):
 * live members' VTEP addresses are admitted; those of members known dead or
 * left are refused at once, even during the start-up grace. */
void drv_admit_members(void *arg, const struct in_addr *live, size_t nlive,
		       const struct in_addr *gone, size_t ngone);

/* struct drv_report members: the "admission" object of /v1/status, and the
 * admission metrics (packets dropped per source). */
void drv_admit_status(void *arg, json_t *status);
void drv_admit_metrics(void *arg, FILE *f);

#endif
