// SPDX-License-Identifier: MIT
/*
 * DOC: dp - the datapath reconciler.
 *
 * Owns the desired state of the kernel datapath: networks (bridge + vxlan
 * device, keyed by VNI), local endpoints (veth pairs, keyed by id) and remote
 * endpoints (FDB + neighbour entries, keyed by (VNI, MAC)).  Every change is
 * applied at once through struct vx_kops; vx_dp_reconcile() dumps the kernel
 * and repairs whatever drifted.  Objects that already match are adopted
 * without a single mutating call, so an agent restart does not touch traffic.
 * Only objects we own (see vxlan.h) are ever changed or deleted.
 *
 * The tables are sorted or plain arrays: a host has dozens of networks and at
 * most a few thousand remote entries, and each pass is linear in a dump.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/neighbour.h>

#include "common/addr.h"
#include "common/errmsg.h"
#include "common/log.h"
#include "common/vec.h"
#include "vxlan/encc.h"
#include "vxlan/vxlan.h"
#include "vxlan/vxlan_int.h"

#define ETH_MTU_MIN 68
#define ETH_MTU_MAX 65535
#define NONE	    ((size_t)-1)

struct dp_net {
	struct vx_net_spec spec;
	int br_ifindex; /* as of the last ensure; 0 = not in place */
	int vx_ifindex;
	int err; /* the last ensure's result */
};

struct dp_ep {
	struct vx_ep_spec spec;
	int status;
};

struct vx_dp {
	const struct vx_kops *ops;
	void *ctx;
	struct dp_net *nets;
	size_t nnets, cap_nets;
	struct dp_ep *eps;
	size_t neps, cap_eps;
	struct vx_remote *rems; /* sorted by (vni, mac) */
	size_t nrems, cap_rems;
	struct vx_dp_stats st;
	struct vx_encc *enc;
	char kmsg[256]; /* the last failed op's extended ack, "" when none */
};

/* Per-remote marks while syncing one network's entries. */
enum { HAVE_FDB = 1, HAVE_NB = 2, CLAIMED_FDB = 4, CLAIMED_NB = 8 };
/* Links a net_ensure() call created. */
enum { MADE_BR = 1, MADE_VX = 2 };

void vx_net_names(struct vx_net_spec *n)
{
	snprintf(n->tapname, sizeof(n->tapname), "vxmt%u", n->vni);
	snprintf(n->brname, sizeof(n->brname), "vxmb%u", n->vni);
	snprintf(n->vxname, sizeof(n->vxname), "vxmv%u", n->vni);
}

void vx_ep_names(struct vx_ep_spec *e)
{
	snprintf(e->host_ifname, sizeof(e->host_ifname), "vxm%.12s", e->id);
}

const char *vx_why_str(enum vx_why why)
{
	switch (why) {
	case VX_WHY_REMOTE:
		return "remote endpoint";
	case VX_WHY_MISSING:
		return "missing (will be installed)";
	case VX_WHY_STALE:
		return "stale (will be removed)";
	case VX_WHY_FOREIGN:
		return "not ours (left alone)";
	case VX_WHY_ENCRYPTED:
		return "encrypted remote endpoint";
	}
	return "unknown";
}

/* ---- helpers ---- */

/* "<what>: <strerror>[ (<kernel's message>)]" into buf; returns err. */
static int fail_msg(const struct vx_dp *dp, char *buf, size_t len, int err, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int fail_msg(const struct vx_dp *dp, char *buf, size_t len, int err, const char *fmt, ...)
{
	va_list ap;
	size_t off;

	if (!buf || !len)
		return err;
	va_start(ap, fmt);
	errmsg_vset(buf, len, fmt, ap);
	va_end(ap);
	off = strlen(buf);
	snprintf(buf + off, len - off, ": %s%s%s%s", strerror(-err), dp->kmsg[0] ? " (" : "",
		 dp->kmsg, dp->kmsg[0] ? ")" : "");
	return err;
}

static int clash(char *buf, size_t len, const char *ifname)
{
	errmsg_set(buf, len, "interface %s exists and is not managed by vxmesh", ifname);
	return -EEXIST;
}

static int netns_gone(char *buf, size_t len, const struct vx_ep_spec *e)
{
	errmsg_set(buf, len, "network namespace %s does not exist", e->netns);
	return -ENOENT;
}

/* Book an op's result: count failures other than `benign`, keep the kernel's message. */
static int op_done(struct vx_dp *dp, int err, int benign)
{
	const char *m;

	if (err >= 0) {
		dp->kmsg[0] = '\0';
		return 0;
	}
	if (err != benign)
		dp->st.errors++;
	m = dp->ops->last_error ? dp->ops->last_error(dp->ctx) : NULL;
	snprintf(dp->kmsg, sizeof(dp->kmsg), "%s", m ? m : "");
	return err;
}

/* A delete whose object is already gone has succeeded. */
static int del_done(struct vx_dp *dp, int err)
{
	if (err == -ENOENT || err == -ENODEV)
		return 0;
	return op_done(dp, err, 0);
}

static void keep_first(int *first, int err)
{
	if (err && !*first)
		*first = err;
}

static void rec_log(const char *msg)
{
	static struct log_ratelimit rl = {.burst = 20, .interval_ms = 60000};

	if (log_ratelimit_ok(&rl))
		log_warn("datapath: %s", msg);
}

/* ---- validation ---- */

/* vx_str_ok, and every byte a visible ASCII character. */
static int printable_ok(const char *s, size_t size)
{
	if (!vx_str_ok(s, size))
		return 0;
	for (; *s; s++)
		if (!isgraph((unsigned char)*s))
			return 0;
	return 1;
}

static int mtu_ok(unsigned mtu)
{
	return mtu >= ETH_MTU_MIN && mtu <= ETH_MTU_MAX;
}

static int net_spec_ok(const struct vx_net_spec *n)
{
	return vx_net_spec_ok(n) && printable_ok(n->name, sizeof(n->name)) && mtu_ok(n->mtu);
}

static int ep_spec_ok(const struct vx_ep_spec *e)
{
	if (!vx_ep_spec_ok(e) || e->id[strspn(e->id, "0123456789abcdefABCDEF")])
		return 0;
	if (!printable_ok(e->ifname, sizeof(e->ifname)) || strpbrk(e->ifname, "/:"))
		return 0;
	return vx_vni_ok(e->vni) && mtu_ok(e->mtu) && addr_mac_is_unicast(e->mac);
}

static int remote_ok(const struct vx_remote *r)
{
	return vx_vni_ok(r->vni) && addr_mac_is_unicast(r->mac) && r->vtep.s_addr != 0;
}

/* ---- desired-state tables ---- */

static struct dp_net *net_find(const struct vx_dp *dp, uint32_t vni)
{
	size_t i;

	for (i = 0; i < dp->nnets; i++)
		if (dp->nets[i].spec.vni == vni)
			return &dp->nets[i];
	return NULL;
}

static struct dp_net *net_find_name(const struct vx_dp *dp, const char *name)
{
	size_t i;

	for (i = 0; i < dp->nnets; i++)
		if (!strcmp(dp->nets[i].spec.name, name))
			return &dp->nets[i];
	return NULL;
}

static void net_forget(struct vx_dp *dp, struct dp_net *net)
{
	size_t i = (size_t)(net - dp->nets);

	memmove(&dp->nets[i], &dp->nets[i + 1], (dp->nnets - i - 1) * sizeof(*net));
	dp->nnets--;
}

static struct dp_ep *ep_find(const struct vx_dp *dp, const char *id)
{
	size_t i;

	for (i = 0; i < dp->neps; i++)
		if (!strcmp(dp->eps[i].spec.id, id))
			return &dp->eps[i];
	return NULL;
}

static void ep_forget(struct vx_dp *dp, struct dp_ep *ep)
{
	size_t i = (size_t)(ep - dp->eps);

	memmove(&dp->eps[i], &dp->eps[i + 1], (dp->neps - i - 1) * sizeof(*ep));
	dp->neps--;
}

static int rem_cmp(uint32_t vni, const uint8_t mac[6], const struct vx_remote *r)
{
	if (vni != r->vni)
		return vni < r->vni ? -1 : 1;
	return memcmp(mac, r->mac, 6);
}

/* Index of the first remote not below (vni, mac). */
static size_t rem_lower(const struct vx_dp *dp, uint32_t vni, const uint8_t mac[6])
{
	size_t lo = 0, hi = dp->nrems, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (rem_cmp(vni, mac, &dp->rems[mid]) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t rem_find(const struct vx_dp *dp, uint32_t vni, const uint8_t mac[6])
{
	size_t i = rem_lower(dp, vni, mac);

	return i < dp->nrems && !rem_cmp(vni, mac, &dp->rems[i]) ? i : NONE;
}

/* The remotes of one network are [*lo, *hi). */
static void rem_range(const struct vx_dp *dp, uint32_t vni, size_t *lo, size_t *hi)
{
	static const uint8_t zero[6];

	*lo = rem_lower(dp, vni, zero);
	for (*hi = *lo; *hi < dp->nrems && dp->rems[*hi].vni == vni; (*hi)++)
		;
}

/* The remote that owns the neighbour entry for ip: the first with that ip. */
static size_t rem_by_ip(const struct vx_dp *dp, size_t lo, size_t hi, struct in_addr ip)
{
	size_t i;

	if (!ip.s_addr)
		return NONE;
	for (i = lo; i < hi; i++)
		if (dp->rems[i].ip.s_addr == ip.s_addr)
			return i;
	return NONE;
}

/* ---- kernel views ---- */

static const struct vx_link *link_find(const struct vx_link *links, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strncmp(links[i].name, name, sizeof(links[i].name)))
			return &links[i];
	return NULL;
}

static int alias_is(const struct vx_link *l, const char *alias)
{
	return !strncmp(l->alias, alias, sizeof(l->alias));
}

/* The attributes a vxlan device cannot change in place. */
static int vxlan_fixed_match(const struct vx_link *l, const struct vx_net_spec *n)
{
	return l->vni == n->vni && l->port == n->port && l->local.s_addr == n->local.s_addr &&
	       l->underlay == n->underlay && !l->learning && l->proxy;
}

static int fdb_owned(const struct vx_fdb *f)
{
	return (f->flags & NTF_EXT_LEARNED) && (f->state & NUD_PERMANENT);
}

/* The kernel leaves NDA_PORT out when it is the device's port. */
static uint16_t port_eff(uint16_t port, const struct dp_net *net)
{
	return port ? port : net->spec.port;
}

static int fdb_matches(const struct vx_fdb *f, const struct vx_remote *r, const struct dp_net *net)
{
	return f->dst.s_addr == r->vtep.s_addr &&
	       port_eff(f->port, net) == port_eff(r->port, net) && (f->state & NUD_PERMANENT);
}

static int neigh_matches(const struct vx_neigh *nb, const struct vx_remote *r)
{
	return !memcmp(nb->mac, r->mac, 6) && (nb->state & NUD_PERMANENT);
}

static struct vx_fdb fdb_of(const struct vx_remote *r, const struct dp_net *net)
{
	struct vx_fdb f = {
		.ifindex = net->vx_ifindex,
		.dst = r->vtep,
		.port = port_eff(r->port, net),
		.state = NUD_PERMANENT,
		.flags = NTF_SELF | NTF_EXT_LEARNED,
	};

	memcpy(f.mac, r->mac, 6);
	return f;
}

static struct vx_neigh neigh_of(const struct vx_remote *r, const struct dp_net *net)
{
	struct vx_neigh nb = {
		.ifindex = net->vx_ifindex,
		.ip = r->ip,
		.state = NUD_PERMANENT,
		.proto = VX_RTPROT,
	};

	memcpy(nb.mac, r->mac, 6);
	return nb;
}

/* ---- links ---- */

static int link_remove(struct vx_dp *dp, const struct vx_link *l, char *errmsg, size_t len)
{
	int err = del_done(dp, dp->ops->link_del(dp->ctx, l->ifindex));

	if (err)
		return fail_msg(dp, errmsg, len, err, "delete %s", l->name);
	return 0;
}

static int link_repair(struct vx_dp *dp, const struct vx_link *l, int master, unsigned mtu,
		       char *errmsg, size_t len)
{
	int err = op_done(dp, dp->ops->link_fix(dp->ctx, l->ifindex, master, mtu), 0);

	if (err)
		return fail_msg(dp, errmsg, len, err, "repair %s", l->name);
	dp->st.repaired++;
	return 0;
}

/*
 * Make the bridge and vxlan device of net match its spec, starting from a
 * links dump: adopt, fix MTU/master/up in place, or delete and recreate.
 * Sets net->br_ifindex/vx_ifindex; *made gets the MADE_* of links it created.
 */
static int enc_net_ensure(struct vx_dp *dp, struct dp_net *net, char *errmsg, size_t len);

static int net_ensure(struct vx_dp *dp, struct dp_net *net, const struct vx_link *links,
		      size_t nlinks, int *made, char *errmsg, size_t len)
{
	const struct vx_net_spec *n = &net->spec;
	const struct vx_link *br = link_find(links, nlinks, n->brname);
	const struct vx_link *vx = link_find(links, nlinks, n->vxname);
	char alias[VX_ALIAS_MAX];
	int err, brix = 0, vxix = 0, recreate = 0;

	*made = 0;
	net->br_ifindex = net->vx_ifindex = 0;
	/* Both names first, so a clash changes nothing. */
	if (br && !vx_link_owned(br))
		return clash(errmsg, len, br->name);
	if (vx && !vx_link_owned(vx))
		return clash(errmsg, len, vx->name);
	vx_net_alias(n, alias);

	if (br && (br->kind != VX_KIND_BRIDGE || !alias_is(br, alias))) {
		err = link_remove(dp, br, errmsg, len);
		if (err)
			return err;
		br = NULL;
		recreate = 1;
	}
	if (br) {
		brix = br->ifindex;
		if (br->mtu != n->mtu || !br->up) {
			err = link_repair(dp, br, -1, br->mtu != n->mtu ? n->mtu : 0, errmsg, len);
			if (err)
				return err;
		}
	} else {
		err = op_done(dp, dp->ops->bridge_add(dp->ctx, n, &brix), 0);
		if (err)
			return fail_msg(dp, errmsg, len, err, "create bridge %s", n->brname);
		*made |= MADE_BR;
		if (recreate)
			dp->st.repaired++;
		else
			dp->st.created++;
	}
	net->br_ifindex = brix;

	if (n->encrypted) {
		/* Fail closed: no kernel device may carry its VNI in clear. */
		if (vx) {
			err = link_remove(dp, vx, errmsg, len);
			if (err)
				return err;
			dp->st.removed++;
		}
		return enc_net_ensure(dp, net, errmsg, len);
	}
	recreate = 0;
	if (vx &&
	    (vx->kind != VX_KIND_VXLAN || !alias_is(vx, alias) || !vxlan_fixed_match(vx, n))) {
		err = link_remove(dp, vx, errmsg, len);
		if (err)
			return err;
		vx = NULL;
		recreate = 1;
	}
	if (vx) {
		vxix = vx->ifindex;
		if (vx->master != brix || vx->mtu != n->mtu || !vx->up) {
			err = link_repair(dp, vx, vx->master != brix ? brix : -1,
					  vx->mtu != n->mtu ? n->mtu : 0, errmsg, len);
			if (err)
				return err;
		}
	} else {
		err = op_done(dp, dp->ops->vxlan_add(dp->ctx, n, brix, &vxix), 0);
		if (err)
			return fail_msg(dp, errmsg, len, err, "create vxlan device %s", n->vxname);
		*made |= MADE_VX;
		if (recreate)
			dp->st.repaired++;
		else
			dp->st.created++;
	}
	net->vx_ifindex = vxix;
	return 0;
}

/* The network's TAP and remote endpoints in the encrypted datapath. */
static int enc_net_ensure(struct vx_dp *dp, struct dp_net *net, char *errmsg, size_t len)
{
	const struct vx_net_spec *n = &net->spec;
	size_t lo, hi;
	int err;

	if (!dp->enc)
		return errmsg_set(errmsg, len, "this agent runs without an encrypted datapath"),
		       -EOPNOTSUPP;
	err = vx_encc_net_put(dp->enc, n->vni, n->mtu, n->brname, n->tapname);
	if (err < 0)
		return errmsg_set(errmsg, len, "out of memory"), -ENOMEM;
	if (!err)
		return 0; /* known there already, with its endpoints */
	rem_range(dp, n->vni, &lo, &hi);
	for (size_t k = lo; k < hi; k++)
		if (vx_encc_peer_put(dp->enc, &dp->rems[k]))
			return errmsg_set(errmsg, len, "out of memory"), -ENOMEM;
	return 0;
}

/* Delete the links a failed net_ensure() created. */
static void net_undo(struct vx_dp *dp, struct dp_net *net, int made)
{
	if ((made & MADE_VX) && net->vx_ifindex &&
	    !del_done(dp, dp->ops->link_del(dp->ctx, net->vx_ifindex)))
		net->vx_ifindex = 0;
	if ((made & MADE_BR) && net->br_ifindex &&
	    !del_done(dp, dp->ops->link_del(dp->ctx, net->br_ifindex)))
		net->br_ifindex = 0;
}

/*
 * Make an endpoint's host veth match: adopt it when its peer still looks
 * right (fixing master/MTU/up in place), else delete and create the pair.
 */
static int ep_ensure(struct vx_dp *dp, const struct vx_ep_spec *e, const struct dp_net *net,
		     const struct vx_link *links, size_t nlinks, char *errmsg, size_t len)
{
	const struct vx_link *l = link_find(links, nlinks, e->host_ifname);
	char alias[VX_ALIAS_MAX];
	int err, ok = 0, recreate = 0;

	if (!net->br_ifindex) {
		errmsg_set(errmsg, len, "bridge %s is not in place", net->spec.brname);
		return net->err ? net->err : -ENODEV;
	}
	if (l && !vx_link_owned(l))
		return clash(errmsg, len, l->name);
	vx_ep_alias(e, alias);
	if (l && l->kind == VX_KIND_VETH && alias_is(l, alias)) {
		err = op_done(dp, dp->ops->ep_probe(dp->ctx, e, &ok), -ENOENT);
		if (err == -ENOENT)
			return netns_gone(errmsg, len, e);
		if (err)
			return fail_msg(dp, errmsg, len, err, "probe endpoint %s", e->id);
		if (ok) {
			if (l->master == net->br_ifindex && l->up && l->mtu == e->mtu)
				return 0;
			return link_repair(dp, l,
					   l->master != net->br_ifindex ? net->br_ifindex : -1,
					   l->mtu != e->mtu ? e->mtu : 0, errmsg, len);
		}
	}
	if (l) {
		err = link_remove(dp, l, errmsg, len);
		if (err)
			return err;
		recreate = 1;
	}
	err = op_done(dp, dp->ops->ep_add(dp->ctx, e, net->br_ifindex), -ENOENT);
	if (err == -ENOENT)
		return netns_gone(errmsg, len, e);
	if (err)
		return fail_msg(dp, errmsg, len, err, "create veth %s", e->host_ifname);
	if (recreate)
		dp->st.repaired++;
	else
		dp->st.created++;
	return 0;
}

/* Re-ensure a network's endpoints (after its bridge changed); logs failures. */
static void net_eps_ensure(struct vx_dp *dp, const struct dp_net *net, const struct vx_link *links,
			   size_t nlinks)
{
	char msg[256];
	size_t i;

	for (i = 0; i < dp->neps; i++) {
		if (dp->eps[i].spec.vni != net->spec.vni)
			continue;
		msg[0] = '\0';
		dp->eps[i].status =
			ep_ensure(dp, &dp->eps[i].spec, net, links, nlinks, msg, sizeof(msg));
		if (dp->eps[i].status && dp->eps[i].status != -ENOENT)
			rec_log(msg);
	}
}

/* ---- FDB and neighbour entries ---- */

static int fdb_install(struct vx_dp *dp, const struct dp_net *net, const struct vx_remote *r)
{
	struct vx_fdb f = fdb_of(r, net);

	return op_done(dp, dp->ops->fdb_replace(dp->ctx, &f), 0);
}

static int neigh_install(struct vx_dp *dp, const struct dp_net *net, const struct vx_remote *r)
{
	struct vx_neigh nb = neigh_of(r, net);

	return op_done(dp, dp->ops->neigh_replace(dp->ctx, &nb), 0);
}

static void sync_log(const struct vx_dp *dp, const struct dp_net *net, int err, const char *what,
		     const uint8_t mac[6])
{
	char macs[ADDR_MAC_STRLEN], msg[384];

	addr_fmt_mac(mac, macs);
	fail_msg(dp, msg, sizeof(msg), err, "%s %s on %s", what, macs, net->spec.vxname);
	rec_log(msg);
}

/*
 * Make the FDB and neighbour entries of one network's vxlan device match the
 * desired remotes: install missing or different ones and, when prune is set,
 * delete the stale ones we own.  Foreign entries are never touched.
 */
static int net_entries_sync(struct vx_dp *dp, const struct dp_net *net, int prune)
{
	struct vx_fdb *fdb = NULL;
	struct vx_neigh *nbs = NULL;
	size_t nfdb = 0, nnbs = 0, lo, hi, i, k;
	uint8_t *mark = NULL;
	int err, first = 0;

	if (!net->vx_ifindex)
		return 0;
	rem_range(dp, net->spec.vni, &lo, &hi);
	err = op_done(dp, dp->ops->fdb_dump(dp->ctx, net->vx_ifindex, &fdb, &nfdb), 0);
	if (err)
		goto out;
	err = op_done(dp, dp->ops->neigh_dump(dp->ctx, net->vx_ifindex, &nbs, &nnbs), 0);
	if (err)
		goto out;
	mark = calloc(hi - lo + 1, 1);
	if (!mark) {
		err = -ENOMEM;
		goto out;
	}

	for (i = 0; i < nfdb; i++) {
		k = rem_find(dp, net->spec.vni, fdb[i].mac);
		if (fdb[i].ifindex == net->vx_ifindex && fdb_owned(&fdb[i]) && k != NONE &&
		    fdb_matches(&fdb[i], &dp->rems[k], net))
			mark[k - lo] |= HAVE_FDB;
	}
	for (i = 0; i < nfdb; i++) {
		const struct vx_fdb *f = &fdb[i];

		if (f->ifindex != net->vx_ifindex || !fdb_owned(f))
			continue;
		k = rem_find(dp, net->spec.vni, f->mac);
		if (k != NONE && fdb_matches(f, &dp->rems[k], net))
			continue;
		/* One differing entry per MAC is left for fdb_replace to overwrite. */
		if (k != NONE && !(mark[k - lo] & (HAVE_FDB | CLAIMED_FDB))) {
			mark[k - lo] |= CLAIMED_FDB;
			continue;
		}
		if (!prune)
			continue;
		err = del_done(dp, dp->ops->fdb_del(dp->ctx, f));
		if (err)
			sync_log(dp, net, err, "delete fdb", f->mac);
		else
			dp->st.removed++;
		keep_first(&first, err);
	}

	for (i = 0; i < nnbs; i++) {
		const struct vx_neigh *nb = &nbs[i];

		if (nb->ifindex != net->vx_ifindex || nb->proto != VX_RTPROT)
			continue;
		k = rem_by_ip(dp, lo, hi, nb->ip);
		if (k != NONE && !(mark[k - lo] & (HAVE_NB | CLAIMED_NB))) {
			mark[k - lo] |= neigh_matches(nb, &dp->rems[k]) ? HAVE_NB : CLAIMED_NB;
			continue;
		}
		if (!prune)
			continue;
		err = del_done(dp, dp->ops->neigh_del(dp->ctx, nb));
		if (err)
			sync_log(dp, net, err, "delete neighbour for", nb->mac);
		else
			dp->st.removed++;
		keep_first(&first, err);
	}

	for (k = lo; k < hi; k++) {
		const struct vx_remote *r = &dp->rems[k];
		uint8_t m = mark[k - lo];

		if (!(m & HAVE_FDB)) {
			err = fdb_install(dp, net, r);
			if (err)
				sync_log(dp, net, err, "install fdb", r->mac);
			else if (m & CLAIMED_FDB)
				dp->st.repaired++;
			else
				dp->st.created++;
			keep_first(&first, err);
		}
		if (!(m & HAVE_NB) && rem_by_ip(dp, lo, hi, r->ip) == k) {
			err = neigh_install(dp, net, r);
			if (err)
				sync_log(dp, net, err, "install neighbour for", r->mac);
			else if (m & CLAIMED_NB)
				dp->st.repaired++;
			else
				dp->st.created++;
			keep_first(&first, err);
		}
	}
	err = 0;
out:
	free(mark);
	free(nbs);
	free(fdb);
	keep_first(&first, err);
	return first;
}

/* ---- public ---- */

int vx_dp_create(struct vx_dp **out, const struct vx_kops *ops, void *ctx)
{
	struct vx_dp *dp = calloc(1, sizeof(*dp));

	if (!dp)
		return -ENOMEM;
	dp->ops = ops;
	dp->ctx = ctx;
	*out = dp;
	return 0;
}

void vx_dp_set_encc(struct vx_dp *dp, struct vx_encc *enc)
{
	dp->enc = enc;
}

void vx_dp_destroy(struct vx_dp *dp)
{
	if (!dp)
		return;
	free(dp->nets);
	free(dp->eps);
	free(dp->rems);
	free(dp);
}

int vx_dp_net_put(struct vx_dp *dp, const struct vx_net_spec *n, char *errmsg, size_t len)
{
	struct vx_net_spec want, old;
	struct vx_link *links = NULL;
	struct dp_net *net, *other;
	size_t nlinks = 0;
	int err, made = 0, isnew, old_br = 0;

	errmsg_set(errmsg, len, "%s", "");
	if (!net_spec_ok(n)) {
		errmsg_set(errmsg, len, "invalid network spec");
		return -EINVAL;
	}
	want = *n;
	vx_net_names(&want);
	other = net_find_name(dp, want.name);
	if (other && other->spec.vni != want.vni) {
		errmsg_set(errmsg, len, "network name %s is in use by vni %u", want.name,
			   other->spec.vni);
		return -EEXIST;
	}
	net = net_find(dp, want.vni);
	isnew = !net;
	if (isnew) {
		if (vec_grow((void **)&dp->nets, &dp->cap_nets, dp->nnets + 1, sizeof(*dp->nets))) {
			errmsg_set(errmsg, len, "out of memory");
			return -ENOMEM;
		}
		net = &dp->nets[dp->nnets++];
		memset(net, 0, sizeof(*net));
	} else {
		old = net->spec;
		old_br = net->br_ifindex;
	}
	net->spec = want;

	err = op_done(dp, dp->ops->link_dump(dp->ctx, &links, &nlinks), 0);
	if (err) {
		fail_msg(dp, errmsg, len, err, "dump links");
		goto err_forget;
	}
	err = net_ensure(dp, net, links, nlinks, &made, errmsg, len);
	if (err)
		goto err_undo;
	net->err = 0;
	if (!isnew && net->br_ifindex != old_br)
		net_eps_ensure(dp, net, links, nlinks);
	/* The network is in place; entries that fail now are retried by reconcile. */
	(void)net_entries_sync(dp, net, 0);
	free(links);
	return 0;

err_undo:
	net_undo(dp, net, made);
err_forget:
	free(links);
	if (isnew) {
		net_forget(dp, net);
	} else {
		net->spec = old;
		net->err = err;
	}
	return err;
}

int vx_dp_net_del(struct vx_dp *dp, uint32_t vni)
{
	struct vx_link *links = NULL;
	const struct vx_link *l;
	struct dp_net *net = net_find(dp, vni);
	const char *names[2];
	size_t nlinks = 0, lo, hi, i;
	int err, rerr, first = 0;

	if (!net)
		return -ENOENT;
	for (i = 0; i < dp->neps; i++)
		if (dp->eps[i].spec.vni == vni)
			return -EBUSY;
	rem_range(dp, vni, &lo, &hi);
	/* rems is NULL while no remote was ever put: no pointer arithmetic on it. */
	if (hi > lo) {
		memmove(&dp->rems[lo], &dp->rems[hi], (dp->nrems - hi) * sizeof(*dp->rems));
		dp->nrems -= hi - lo;
	}

	if (net->spec.encrypted && dp->enc)
		vx_encc_net_del(dp->enc, vni);
	/* The device's FDB and neighbour entries go with it. */
	names[0] = net->spec.vxname;
	names[1] = net->spec.brname;
	err = op_done(dp, dp->ops->link_dump(dp->ctx, &links, &nlinks), 0);
	keep_first(&first, err);
	for (i = 0; !err && i < 2; i++) {
		l = link_find(links, nlinks, names[i]);
		if (!l || !vx_link_owned(l))
			continue;
		rerr = link_remove(dp, l, NULL, 0);
		if (!rerr)
			dp->st.removed++;
		keep_first(&first, rerr);
	}
	free(links);
	net_forget(dp, net);
	return first;
}

int vx_dp_ep_put(struct vx_dp *dp, const struct vx_ep_spec *e, char *errmsg, size_t len)
{
	struct vx_ep_spec want, old;
	struct vx_link *links = NULL;
	struct dp_net *net;
	struct dp_ep *ep;
	size_t nlinks = 0;
	int err, made, isnew, old_br;

	errmsg_set(errmsg, len, "%s", "");
	if (!ep_spec_ok(e)) {
		errmsg_set(errmsg, len, "invalid endpoint spec");
		return -EINVAL;
	}
	want = *e;
	vx_ep_names(&want);
	net = net_find(dp, want.vni);
	if (!net) {
		errmsg_set(errmsg, len, "no network with vni %u", want.vni);
		return -ENOENT;
	}
	ep = ep_find(dp, want.id);
	isnew = !ep;
	if (isnew) {
		if (vec_grow((void **)&dp->eps, &dp->cap_eps, dp->neps + 1, sizeof(*dp->eps))) {
			errmsg_set(errmsg, len, "out of memory");
			return -ENOMEM;
		}
		ep = &dp->eps[dp->neps++];
		memset(ep, 0, sizeof(*ep));
	} else {
		old = ep->spec;
	}
	ep->spec = want;

	err = op_done(dp, dp->ops->link_dump(dp->ctx, &links, &nlinks), 0);
	if (err) {
		fail_msg(dp, errmsg, len, err, "dump links");
		goto err_forget;
	}
	/* The bridge may have gone since the network was put. */
	old_br = net->br_ifindex;
	net->err = net_ensure(dp, net, links, nlinks, &made, errmsg, len);
	if (net->err) {
		err = net->err;
		goto err_forget;
	}
	if (old_br && net->br_ifindex != old_br)
		net_eps_ensure(dp, net, links, nlinks);
	err = ep_ensure(dp, &ep->spec, net, links, nlinks, errmsg, len);
	if (err)
		goto err_forget;
	ep->status = 0;
	free(links);
	return 0;

err_forget:
	free(links);
	if (isnew) {
		ep_forget(dp, ep);
	} else {
		ep->spec = old;
		ep->status = err;
	}
	return err;
}

int vx_dp_ep_del(struct vx_dp *dp, const char *id)
{
	struct vx_link *links = NULL;
	const struct vx_link *l;
	struct dp_ep *ep = id ? ep_find(dp, id) : NULL;
	size_t nlinks = 0;
	int err;

	if (!ep)
		return -ENOENT;
	/* Forgotten even when the delete fails: reconcile removes the stale veth. */
	err = op_done(dp, dp->ops->link_dump(dp->ctx, &links, &nlinks), 0);
	if (!err) {
		l = link_find(links, nlinks, ep->spec.host_ifname);
		if (l && vx_link_owned(l)) {
			err = link_remove(dp, l, NULL, 0);
			if (!err)
				dp->st.removed++;
		}
	}
	free(links);
	ep_forget(dp, ep);
	return err;
}

/* Install r (replacing old, the previous version of it, if any). */
static int remote_install(struct vx_dp *dp, const struct dp_net *net, const struct vx_remote *r,
			  const struct vx_remote *old)
{
	struct vx_neigh nb;
	struct vx_fdb f;
	int err;

	err = fdb_install(dp, net, r);
	if (err)
		return err;
	dp->st.created++;
	if (old && old->ip.s_addr && old->ip.s_addr != r->ip.s_addr) {
		nb = neigh_of(old, net);
		if (!del_done(dp, dp->ops->neigh_del(dp->ctx, &nb)))
			dp->st.removed++;
	}
	if (!r->ip.s_addr)
		return 0;
	err = neigh_install(dp, net, r);
	if (err) {
		if (!old) {
			f = fdb_of(r, net);
			(void)del_done(dp, dp->ops->fdb_del(dp->ctx, &f));
		}
		return err;
	}
	dp->st.created++;
	return 0;
}

int vx_dp_remote_put(struct vx_dp *dp, const struct vx_remote *r)
{
	struct vx_remote old;
	struct dp_net *net;
	size_t i;
	int err, exists;

	if (!r || !remote_ok(r))
		return -EINVAL;
	i = rem_lower(dp, r->vni, r->mac);
	exists = i < dp->nrems && !rem_cmp(r->vni, r->mac, &dp->rems[i]);
	if (exists) {
		old = dp->rems[i];
		dp->rems[i] = *r;
	} else {
		if (vec_grow((void **)&dp->rems, &dp->cap_rems, dp->nrems + 1, sizeof(*dp->rems)))
			return -ENOMEM;
		memmove(&dp->rems[i + 1], &dp->rems[i], (dp->nrems - i) * sizeof(*r));
		dp->rems[i] = *r;
		dp->nrems++;
	}
	net = net_find(dp, r->vni);
	if (net && net->spec.encrypted && dp->enc && !net->err)
		return vx_encc_peer_put(dp->enc, r);
	if (!net || !net->vx_ifindex)
		return 0;
	err = remote_install(dp, net, r, exists ? &old : NULL);
	if (err == -ENODEV) {
		/* The device went away behind our back; reconcile recreates it. */
		net->vx_ifindex = 0;
		return 0;
	}
	if (err) {
		if (exists) {
			dp->rems[i] = old;
		} else {
			memmove(&dp->rems[i], &dp->rems[i + 1], (dp->nrems - i - 1) * sizeof(*r));
			dp->nrems--;
		}
	}
	return err;
}

int vx_dp_remote_del(struct vx_dp *dp, uint32_t vni, const uint8_t mac[6])
{
	struct vx_remote r;
	struct vx_neigh nb;
	struct vx_fdb f;
	struct dp_net *net;
	size_t i, lo, hi, k;
	int err, first = 0;

	i = mac ? rem_find(dp, vni, mac) : NONE;
	if (i == NONE)
		return -ENOENT;
	r = dp->rems[i];
	memmove(&dp->rems[i], &dp->rems[i + 1], (dp->nrems - i - 1) * sizeof(r));
	dp->nrems--;
	net = net_find(dp, vni);
	if (net && net->spec.encrypted && dp->enc)
		vx_encc_peer_del(dp->enc, vni, r.mac);
	if (!net || !net->vx_ifindex)
		return 0;

	f = fdb_of(&r, net);
	err = del_done(dp, dp->ops->fdb_del(dp->ctx, &f));
	if (!err)
		dp->st.removed++;
	keep_first(&first, err);
	if (r.ip.s_addr) {
		/* Another remote claiming the same address takes the entry over. */
		rem_range(dp, vni, &lo, &hi);
		k = rem_by_ip(dp, lo, hi, r.ip);
		if (k != NONE) {
			err = neigh_install(dp, net, &dp->rems[k]);
		} else {
			nb = neigh_of(&r, net);
			err = del_done(dp, dp->ops->neigh_del(dp->ctx, &nb));
			if (!err)
				dp->st.removed++;
		}
		keep_first(&first, err);
	}
	return first;
}

/* Is l the name of a desired network's or endpoint's link? */
static int link_wanted(const struct vx_dp *dp, const struct vx_link *l)
{
	size_t i;

	for (i = 0; i < dp->nnets; i++)
		if (!strcmp(l->name, dp->nets[i].spec.brname) ||
		    !strcmp(l->name, dp->nets[i].spec.vxname))
			return 1;
	for (i = 0; i < dp->neps; i++)
		if (!strcmp(l->name, dp->eps[i].spec.host_ifname))
			return 1;
	return 0;
}

int vx_dp_reconcile(struct vx_dp *dp)
{
	struct vx_link *links = NULL;
	struct dp_net *net;
	struct dp_ep *ep;
	size_t nlinks = 0, i;
	char msg[384];
	int err, made, first = 0;

	dp->st.runs++;
	err = op_done(dp, dp->ops->link_dump(dp->ctx, &links, &nlinks), 0);
	if (err) {
		fail_msg(dp, msg, sizeof(msg), err, "dump links");
		rec_log(msg);
		return err;
	}

	/* Stale first: a stale veth may still hold a port on a bridge we adopt. */
	for (i = 0; i < nlinks; i++) {
		if (!vx_link_owned(&links[i]) || link_wanted(dp, &links[i]))
			continue;
		err = link_remove(dp, &links[i], msg, sizeof(msg));
		if (err)
			rec_log(msg);
		else
			dp->st.removed++;
		keep_first(&first, err);
	}

	for (i = 0; i < dp->nnets; i++) {
		net = &dp->nets[i];
		net->err = net_ensure(dp, net, links, nlinks, &made, msg, sizeof(msg));
		if (net->err)
			rec_log(msg);
		keep_first(&first, net->err);
	}

	/* A gone netns is the endpoint's state (vx_dp_ep_status), not our failure. */
	for (i = 0; i < dp->neps; i++) {
		ep = &dp->eps[i];
		net = net_find(dp, ep->spec.vni);
		if (!net)
			continue; /* cannot happen: net_del refuses while endpoints use it */
		ep->status = ep_ensure(dp, &ep->spec, net, links, nlinks, msg, sizeof(msg));
		if (ep->status && ep->status != -ENOENT) {
			rec_log(msg);
			keep_first(&first, ep->status);
		}
	}

	for (i = 0; i < dp->nnets; i++)
		keep_first(&first, net_entries_sync(dp, &dp->nets[i], 1));
	free(links);
	return first;
}

void vx_dp_stats_get(const struct vx_dp *dp, struct vx_dp_stats *st)
{
	*st = dp->st;
}

int vx_dp_ep_status(const struct vx_dp *dp, const char *id)
{
	const struct dp_ep *ep = id ? ep_find(dp, id) : NULL;

	return ep ? ep->status : -ESRCH;
}

/* The ip of mac's neighbour entry on ifindex, ours preferred; 0 when none. */
static struct in_addr neigh_ip_of(const struct vx_neigh *nbs, size_t n, int ifindex,
				  const uint8_t mac[6])
{
	struct in_addr ip = {0};
	size_t i;

	for (i = 0; i < n; i++) {
		if (nbs[i].ifindex != ifindex || memcmp(nbs[i].mac, mac, 6))
			continue;
		if (nbs[i].proto == VX_RTPROT)
			return nbs[i].ip;
		if (!ip.s_addr)
			ip = nbs[i].ip;
	}
	return ip;
}

static int net_report(struct vx_dp *dp, const struct dp_net *net, int vxix, vx_fdb_row_cb cb,
		      void *arg)
{
	struct vx_fdb *fdb = NULL;
	struct vx_neigh *nbs = NULL;
	struct vx_fdb_row row;
	size_t nfdb = 0, nnbs = 0, lo, hi, i, k;
	uint8_t *seen = NULL;
	int err = 0;

	rem_range(dp, net->spec.vni, &lo, &hi);
	seen = calloc(hi - lo + 1, 1);
	if (!seen)
		return -ENOMEM;
	if (vxix) {
		err = op_done(dp, dp->ops->fdb_dump(dp->ctx, vxix, &fdb, &nfdb), 0);
		if (!err)
			err = op_done(dp, dp->ops->neigh_dump(dp->ctx, vxix, &nbs, &nnbs), 0);
		if (err)
			goto out;
	}
	for (i = 0; i < nfdb; i++) {
		const struct vx_fdb *f = &fdb[i];

		/* Entries without a destination are the device's own addresses. */
		if (f->ifindex != vxix || !f->dst.s_addr)
			continue;
		memset(&row, 0, sizeof(row));
		row.vni = net->spec.vni;
		snprintf(row.dev, sizeof(row.dev), "%s", net->spec.vxname);
		memcpy(row.mac, f->mac, 6);
		row.ip = neigh_ip_of(nbs, nnbs, vxix, f->mac);
		row.dst = f->dst;
		row.port = port_eff(f->port, net);
		row.permanent = !!(f->state & NUD_PERMANENT);
		if (!fdb_owned(f)) {
			row.why = VX_WHY_FOREIGN;
		} else {
			k = rem_find(dp, net->spec.vni, f->mac);
			if (k != NONE && fdb_matches(f, &dp->rems[k], net)) {
				row.why = VX_WHY_REMOTE;
				seen[k - lo] = 1;
			} else {
				row.why = VX_WHY_STALE;
			}
		}
		cb(arg, &row);
	}
	for (k = lo; k < hi; k++) {
		const struct vx_remote *r = &dp->rems[k];

		if (seen[k - lo])
			continue;
		memset(&row, 0, sizeof(row));
		row.vni = net->spec.vni;
		snprintf(row.dev, sizeof(row.dev), "%s", net->spec.vxname);
		memcpy(row.mac, r->mac, 6);
		row.ip = r->ip;
		row.dst = r->vtep;
		row.port = port_eff(r->port, net);
		row.why = net->spec.encrypted ? VX_WHY_ENCRYPTED : VX_WHY_MISSING;
		if (net->spec.encrypted)
			snprintf(row.dev, sizeof(row.dev), "%s", net->spec.tapname);
		cb(arg, &row);
	}
out:
	free(seen);
	free(nbs);
	free(fdb);
	return err;
}

int vx_dp_fdb_report(struct vx_dp *dp, uint32_t vni, vx_fdb_row_cb cb, void *arg)
{
	struct vx_link *links = NULL;
	const struct vx_link *l;
	size_t nlinks = 0, i;
	int err, vxix;

	if (vni && !net_find(dp, vni))
		return -ENOENT;
	err = op_done(dp, dp->ops->link_dump(dp->ctx, &links, &nlinks), 0);
	if (err)
		return err;
	for (i = 0; !err && i < dp->nnets; i++) {
		if (vni && dp->nets[i].spec.vni != vni)
			continue;
		l = link_find(links, nlinks, dp->nets[i].spec.vxname);
		vxix = l && vx_link_owned(l) && l->kind == VX_KIND_VXLAN ? l->ifindex : 0;
		err = net_report(dp, &dp->nets[i], vxix, cb, arg);
	}
	free(links);
	return err;
}
