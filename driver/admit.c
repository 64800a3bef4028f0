// SPDX-License-Identifier: MIT
/*
 * admit: the admission table (see admit.h).
 *
 * The table:
 *   set ports    the VXLAN ports of this host's networks (and the default)
 *                and the encrypted datapath's port
 *   set vxports  the VXLAN ports alone
 *   set encvnis  the VNIs of encrypted networks
 *   set members  live members' advertised VTEP addresses
 *   set extra    --admit prefixes
 *   set dropped  sources refused, with a counter each (dynamic, 1 h timeout)
 *   chain input  (hook input, priority -10, before Docker's filter chains)
 *     udp dport @vxports @th,96,24 @encvnis counter name encvni_drops drop
 *     udp dport @ports ip saddr @members accept
 *     udp dport @ports ip saddr @extra accept
 *     udp dport @ports update @dropped { ip saddr }
 *     udp dport @ports counter drop
 * The drop is a rule of its own: when the dropped set is full the update
 * fails and ends its rule, and the packet must still be dropped.
 */
#include "driver/admit.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/nft.h"
#include "common/reactor.h"
#include "driver/core.h"

#define T "ip " VXMESH_ADMIT_TABLE

struct drv_admit {
	struct rx_loop *loop;
	struct drv_core *core;
	struct nft *nft;
	uint16_t default_port;
	uint16_t enc_port; /* 0 = no encrypted datapath */
	struct addr_prefix extra[DRV_ADMIT_EXTRA_MAX];
	size_t nextra;
	struct in_addr *members; /* the cluster's last word */
	size_t nmembers;
	struct in_addr *kept; /* found in the table at start, kept while in grace */
	size_t nkept;
	size_t nsources; /* member addresses the table admits */
	uint64_t started;
	struct rx_timer *grace;
	char *applied; /* the commands the kernel holds */
	unsigned long long applies, failures;
	char last_err[256];
};

/* ---- the commands ---- */

static int ip_cmp(const void *x, const void *y)
{
	uint32_t a = addr_ip4_h(*(const struct in_addr *)x),
		 b = addr_ip4_h(*(const struct in_addr *)y);

	return (a > b) - (a < b);
}

static int port_cmp(const void *x, const void *y)
{
	return (int)*(const uint16_t *)x - (int)*(const uint16_t *)y;
}

/* Flush set name, then fill it with what print_elem() writes for i < n. */
static void set_fill(FILE *f, const char *name, size_t n,
		     void (*print)(FILE *, const void *, size_t), const void *elems)
{
	fprintf(f, "flush set %s %s\n", T, name);
	if (!n)
		return;
	fprintf(f, "add element %s %s { ", T, name);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputs(", ", f);
		print(f, elems, i);
	}
	fputs(" }\n", f);
}

static void print_port(FILE *f, const void *e, size_t i)
{
	fprintf(f, "%u", ((const uint16_t *)e)[i]);
}

static void print_vni(FILE *f, const void *e, size_t i)
{
	fprintf(f, "%u", ((const uint32_t *)e)[i]);
}

static void print_ip(FILE *f, const void *e, size_t i)
{
	fputs(ADDR_IP4_STR(((const struct in_addr *)e)[i]), f);
}

static void print_prefix(FILE *f, const void *e, size_t i)
{
	char buf[ADDR_PREFIX_STRLEN];

	addr_fmt_prefix(&((const struct addr_prefix *)e)[i], buf);
	fputs(buf, f);
}

char *drv_admit_cmds(const struct drv_admit_want *w)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	/* "add" of what exists with the same definition changes nothing, so
	 * counters and the dropped set survive every update. */
	fprintf(f,
		"add table %s\n"
		"add set %s ports { type inet_service; }\n"
		"add set %s vxports { type inet_service; }\n"
		"add set %s encvnis { typeof @th,96,24; }\n"
		/* A named counter: it survives the chain's flush on every update. */
		"add counter %s encvni_drops\n"
		"add set %s members { type ipv4_addr; flags interval; }\n"
		"add set %s extra { type ipv4_addr; flags interval; auto-merge; }\n"
		"add set %s dropped { type ipv4_addr; size 65535; flags dynamic,timeout; "
		"timeout 1h; counter; }\n"
		"add chain %s input { type filter hook input priority -10; policy accept; }\n"
		"flush chain %s input\n"
		/* Plaintext VXLAN with an encrypted network's VNI, even from a
		 * member: never delivered (CVE-2023-28840's lesson: first). */
		"add rule %s input udp dport @vxports @th,96,24 @encvnis counter name encvni_drops "
		"drop\n"
		"add rule %s input udp dport @ports ip saddr @members accept\n"
		"add rule %s input udp dport @ports ip saddr @extra accept\n"
		"add rule %s input udp dport @ports update @dropped { ip saddr }\n"
		"add rule %s input udp dport @ports counter drop\n",
		T, T, T, T, T, T, T, T, T, T, T, T, T, T, T);
	set_fill(f, "ports", w->nports, print_port, w->ports);
	set_fill(f, "vxports", w->nvxports, print_port, w->vxports);
	set_fill(f, "encvnis", w->nvnis, print_vni, w->vnis);
	set_fill(f, "members", w->nmembers, print_ip, w->members);
	set_fill(f, "extra", w->nextra, print_prefix, w->extra);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

int drv_admit_parse(const char *list, struct addr_prefix *out, size_t max, size_t *n, char *why,
		    size_t len)
{
	char buf[1024], *save = NULL, *tok;

	*n = 0;
	if (strlen(list) >= sizeof(buf)) {
		snprintf(why, len, "--admit: the list is too long");
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		struct addr_prefix p;

		/* A bare address is its /32. */
		if (addr_parse_prefix(tok, 1, &p) && addr_parse_ip4(tok, &p.addr)) {
			snprintf(why, len,
				 "--admit: '%s' is not ADDR or ADDR/LEN with no host bits", tok);
			return -EINVAL;
		}
		if (!strchr(tok, '/'))
			p.len = 32;
		if (*n == max) {
			snprintf(why, len, "--admit: at most %zu prefixes", max);
			return -EINVAL;
		}
		out[(*n)++] = p;
	}
	return 0;
}

/* ---- applying ---- */

/* Sort and drop repeats; returns the new count. */
static size_t uniq(void *arr, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	char *a = arr;
	size_t k = 0;

	qsort(a, n, size, cmp);
	for (size_t i = 0; i < n; i++)
		if (!k || cmp(a + (k - 1) * size, a + i * size))
			memmove(a + k++ * size, a + i * size, size);
	return k;
}

static void apply(struct drv_admit *a)
{
	bool grace = rx_now_ms(a->loop) - a->started < DRV_ADMIT_GRACE_MS;
	size_t nnets, nm = a->nmembers + (grace ? a->nkept : 0), np = 0;
	const struct drv_net *nets = drv_core_nets(a->core, &nnets);
	struct in_addr *m = calloc(nm ? nm : 1, sizeof(*m));
	uint16_t *p = calloc(nnets + 2, sizeof(*p)), *vp = calloc(nnets + 1, sizeof(*vp));
	uint32_t *vn = calloc(nnets + 1, sizeof(*vn));
	struct drv_admit_want w = {.extra = a->extra, .nextra = a->nextra};
	size_t nvp = 0, nvn = 0;
	char *cmds = NULL;

	if (!m || !p || !vp || !vn)
		goto oom;
	memcpy(m, a->members, a->nmembers * sizeof(*m));
	if (grace)
		memcpy(m + a->nmembers, a->kept, a->nkept * sizeof(*m));
	vp[nvp++] = a->default_port;
	for (size_t i = 0; i < nnets; i++) {
		vp[nvp++] = nets[i].rec.port;
		if (nets[i].rec.encrypted)
			vn[nvn++] = nets[i].rec.vni;
	}
	memcpy(p, vp, nvp * sizeof(*p));
	np = nvp;
	if (a->enc_port)
		p[np++] = a->enc_port;
	w.vxports = vp;
	w.nvxports = uniq(vp, nvp, sizeof(*vp), port_cmp);
	w.vnis = vn;
	w.nvnis = nvn; /* VNIs are unique among networks */
	w.members = m;
	w.nmembers = uniq(m, nm, sizeof(*m), ip_cmp);
	w.ports = p;
	w.nports = uniq(p, np, sizeof(*p), port_cmp);
	cmds = drv_admit_cmds(&w);
	if (!cmds)
		goto oom;
	if (a->applied && !strcmp(a->applied, cmds))
		goto out; /* the kernel holds it already */
	if (nft_run(a->nft, cmds, NULL, a->last_err, sizeof(a->last_err))) {
		static struct log_ratelimit rl;

		a->failures++;
		if (log_ratelimit_ok(&rl))
			log_err("admission: nftables refused the update: %s", a->last_err);
		goto out;
	}
	a->applies++;
	a->nsources = w.nmembers;
	log_dbg("admission: %zu member address(es), %zu extra prefix(es), %zu port(s)", w.nmembers,
		w.nextra, w.nports);
	free(a->applied);
	a->applied = cmds;
	cmds = NULL;
	goto out;
oom:
	a->failures++;
	log_err("admission: out of memory; the table keeps its previous members");
out:
	free(cmds);
	free(m);
	free(p);
	free(vp);
	free(vn);
}

static bool ip_in(const struct in_addr *set, size_t n, struct in_addr ip)
{
	for (size_t i = 0; i < n; i++)
		if (set[i].s_addr == ip.s_addr)
			return true;
	return false;
}

void drv_admit_members(void *arg, const struct in_addr *live, size_t nlive,
		       const struct in_addr *gone, size_t ngone)
{
	struct drv_admit *a = arg;
	struct in_addr *g = malloc((nlive ? nlive : 1) * sizeof(*g));
	size_t k = 0;

	if (!g) {
		log_err("admission: out of memory; the table keeps its previous members");
		return;
	}
	memcpy(g, live, nlive * sizeof(*g));
	free(a->members);
	a->members = g;
	a->nmembers = nlive;
	/* Kept from the table only while this host is alone: another live
	 * member means the join's state exchange told us who the members are. */
	if (nlive > 1 && a->nkept) {
		log_info("admission: rejoined the cluster; admitting exactly its live members");
		a->nkept = 0;
	}
	/* Until then, not those known dead or left (unless live again under
	 * the same address). */
	for (size_t i = 0; i < a->nkept; i++)
		if (!ip_in(gone, ngone, a->kept[i]) || ip_in(live, nlive, a->kept[i]))
			a->kept[k++] = a->kept[i];
	if (k < a->nkept)
		log_info("admission: %zu address(es) kept from the table belong to members gone "
			 "since; refused now",
			 a->nkept - k);
	a->nkept = k;
	apply(a);
}

static void hook_net_added(void *arg, const struct drv_net *n, int created)
{
	apply(arg);
}

static void hook_net_removed(void *arg, const char *name, int destroyed)
{
	apply(arg);
}

static const struct drv_core_hooks core_hooks = {
	.net_added = hook_net_added,
	.net_removed = hook_net_removed,
};

static void grace_cb(struct rx_loop *loop, struct rx_timer *t, void *arg)
{
	struct drv_admit *a = arg;

	if (a->nkept)
		log_info("admission: start-up grace over; admitting exactly the live members");
	apply(a);
}

/* ---- reading the table ---- */

/* The JSON set listing of `list set T name`: its "elem" array, or NULL. */
static json_t *set_elems(struct drv_admit *a, const char *name, json_t **root)
{
	char cmd[128];
	const char *out;
	json_t *arr;

	*root = NULL;
	snprintf(cmd, sizeof(cmd), "list set %s %s", T, name);
	if (nft_run(a->nft, cmd, &out, NULL, 0) || !out)
		return NULL;
	*root = json_loads(out, 0, NULL);
	arr = json_object_get(*root, "nftables");
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *set = json_object_get(json_array_get(arr, i), "set");

		if (set)
			return json_object_get(set, "elem");
	}
	return NULL;
}

/* Members an earlier run left in the table: kept through the grace. */
static void kept_load(struct drv_admit *a)
{
	json_t *root, *elems = set_elems(a, "members", &root);

	a->kept = calloc(json_array_size(elems) + 1, sizeof(*a->kept));
	for (size_t i = 0; a->kept && i < json_array_size(elems); i++) {
		const char *s = json_string_value(json_array_get(elems, i));

		if (s && !addr_parse_ip4(s, &a->kept[a->nkept]))
			a->nkept++;
	}
	json_decref(root);
	if (a->nkept)
		log_info("admission: keeping the %zu member address(es) of the table for %u s",
			 a->nkept, DRV_ADMIT_GRACE_MS / 1000);
}

/* Plaintext VXLAN packets dropped for carrying an encrypted network's VNI;
 * -1 when the counter cannot be read. */
static json_int_t encvni_drops(struct drv_admit *a)
{
	const char *out;
	json_t *root, *arr;
	json_int_t n = -1;

	if (nft_run(a->nft, "list counter " T " encvni_drops", &out, NULL, 0) || !out)
		return -1;
	root = json_loads(out, 0, NULL);
	arr = json_object_get(root, "nftables");
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *c = json_object_get(json_array_get(arr, i), "counter");

		if (json_is_integer(json_object_get(c, "packets")))
			n = json_integer_value(json_object_get(c, "packets"));
	}
	json_decref(root);
	return n;
}

/* Call cb for each dropped source with its packet count. */
static void dropped_foreach(struct drv_admit *a, void (*cb)(void *, const char *, json_int_t),
			    void *arg)
{
	json_t *root, *elems = set_elems(a, "dropped", &root);

	for (size_t i = 0; i < json_array_size(elems); i++) {
		json_t *e = json_object_get(json_array_get(elems, i), "elem");
		const char *src = json_string_value(json_object_get(e, "val"));
		json_t *pk = json_object_get(json_object_get(e, "counter"), "packets");
		struct in_addr ip;

		/* What the kernel says is checked like any input. */
		if (src && !addr_parse_ip4(src, &ip) && json_is_integer(pk))
			cb(arg, src, json_integer_value(pk));
	}
	json_decref(root);
}

static void status_drop_cb(void *arg, const char *src, json_int_t packets)
{
	json_array_append_new(arg, json_pack("{s:s,s:I}", "source", src, "packets", packets));
}

void drv_admit_status(void *arg, json_t *status)
{
	struct drv_admit *a = arg;
	json_t *dropped = json_array(), *ports = json_array();
	size_t nnets;
	const struct drv_net *nets = drv_core_nets(a->core, &nnets);

	dropped_foreach(a, status_drop_cb, dropped);
	json_array_append_new(ports, json_integer(a->default_port));
	for (size_t i = 0; i < nnets; i++)
		if (nets[i].rec.port != a->default_port)
			json_array_append_new(ports, json_integer(nets[i].rec.port));
	if (a->enc_port)
		json_array_append_new(ports, json_integer(a->enc_port));
	json_object_set_new(status, "admission",
			    json_pack("{s:b,s:s,s:I,s:I,s:o,s:o,s:I,s:I,s:o}", "enabled", 1,
				      "table", T, "sources", (json_int_t)a->nsources, "extra",
				      (json_int_t)a->nextra, "ports", ports, "dropped", dropped,
				      "encrypted_vni_drops", encvni_drops(a), "update_failures",
				      (json_int_t)a->failures, "last_error",
				      a->failures ? json_string(a->last_err) : json_null()));
}

static void metrics_drop_cb(void *arg, const char *src, json_int_t packets)
{
	fprintf(arg, "vxmesh_admission_dropped_packets_total{source=\"%s\"} %lld\n", src,
		(long long)packets);
}

void drv_admit_metrics(void *arg, FILE *f)
{
	struct drv_admit *a = arg;

	fprintf(f,
		"# HELP vxmesh_admission_sources Member addresses the admission table accepts.\n"
		"# TYPE vxmesh_admission_sources gauge\nvxmesh_admission_sources %zu\n"
		"# HELP vxmesh_admission_update_failures_total Table updates nftables refused.\n"
		"# TYPE vxmesh_admission_update_failures_total counter\n"
		"vxmesh_admission_update_failures_total %llu\n"
		"# HELP vxmesh_admission_dropped_packets_total VXLAN packets dropped, by source "
		"(sources seen in the last hour).\n"
		"# TYPE vxmesh_admission_dropped_packets_total counter\n",
		a->nsources, a->failures);
	dropped_foreach(a, metrics_drop_cb, f);
	fprintf(f,
		"# HELP vxmesh_admission_encrypted_vni_drops_total Plaintext VXLAN packets "
		"dropped for carrying an encrypted network's VNI (from members too).\n"
		"# TYPE vxmesh_admission_encrypted_vni_drops_total counter\n"
		"vxmesh_admission_encrypted_vni_drops_total %lld\n",
		(long long)encvni_drops(a));
}

/* ---- open, close ---- */

/* --no-admission: no table of ours may keep filtering. */
static int admit_off(void)
{
	struct nft *n;
	char why[256];

	log_warn("admission is OFF (--no-admission): ANY host that reaches this host's VXLAN "
		 "port can inject frames into every network here, whatever the gossip key");
	if (nft_open(&n))
		return 0;
	if (!nft_run(n, "delete table " T, NULL, why, sizeof(why)))
		log_warn("admission: removed the table a previous run left");
	nft_close(n);
	return 0;
}

int drv_admit_open(struct drv_admit **out, struct rx_loop *loop, struct drv_core *core,
		   uint16_t default_port, uint16_t enc_port, const char *admit_list, int enabled)
{
	struct drv_admit *a;
	char why[256];
	int ret;

	*out = NULL;
	if (!enabled)
		return admit_off();
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	*a = (struct drv_admit){.loop = loop,
				.core = core,
				.default_port = default_port,
				.enc_port = enc_port,
				.started = rx_now_ms(loop)};
	if ((ret = drv_admit_parse(admit_list, a->extra, DRV_ADMIT_EXTRA_MAX, &a->nextra, why,
				   sizeof(why)))) {
		log_err("%s", why);
		goto err;
	}
	if ((ret = nft_open(&a->nft))) {
		log_err("admission: cannot use nftables: %s (start with --no-admission to run "
			"without it, and filter UDP to the VXLAN port elsewhere)",
			strerror(-ret));
		goto err;
	}
	kept_load(a);
	apply(a);
	if (!a->applied) {
		log_err("admission: cannot install the table: %s", a->last_err);
		ret = -EIO;
		goto err;
	}
	a->grace = rx_timer_create(loop, grace_cb, a);
	ret = a->grace ? drv_core_hooks_add(core, &core_hooks, a) : -ENOMEM;
	if (ret)
		goto err; /* the hooks were not added */
	rx_timer_arm(a->grace, DRV_ADMIT_GRACE_MS, 0);
	log_info("admission: table %s admits VXLAN from members and %zu extra prefix(es)", T,
		 a->nextra);
	*out = a;
	return 0;
err:
	drv_admit_close(a);
	return ret;
}

void drv_admit_close(struct drv_admit *a)
{
	if (!a)
		return;
	rx_timer_destroy(a->grace);
	nft_close(a->nft);
	free(a->members);
	free(a->kept);
	free(a->applied);
	free(a);
}
