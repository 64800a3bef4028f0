// SPDX-License-Identifier: MIT
/*
 * routes: control-API handlers over the core (see routes.h).  Each handler
 * checks its body against a want-table, resolves names, calls one core
 * function and answers; nothing here writes state.
 */
#include "driver/routes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "common/addr.h"
#include "common/version.h"
#include "driver/alloc.h"
#include "driver/api.h"
#include "driver/config.h"
#include "driver/core.h"
#include "ipam/ipam.h"
#include "vxlan/vxlan.h"

/* ---- JSON views ---- */

static void fmt_time(int64_t t, char buf[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *json_ip_or_null(struct in_addr ip)
{
	char buf[ADDR_IP4_STRLEN];

	return ip.s_addr ? json_string(addr_fmt_ip4(ip, buf)) : json_null();
}

static json_t *net_json(const struct drv_core *c, const struct drv_net *n)
{
	char subnet[ADDR_PREFIX_STRLEN], created[32];
	struct vx_net_spec s = {.vni = n->rec.vni};

	vx_net_names(&s);
	addr_fmt_prefix(&n->rec.subnet, subnet);
	fmt_time(n->rec.created, created);
	/* An encrypted network has no vxlan device: its TAP leads to encd. */
	return json_pack("{s:s,s:I,s:s,s:o,s:I,s:b,s:I,s:b,s:s,s:o,s:o,s:s,s:I,s:s}", "name",
			 n->rec.name, "vni", (json_int_t)n->rec.vni, "subnet", subnet, "gateway",
			 json_ip_or_null(n->rec.gw), "mtu", (json_int_t)n->mtu, "mtu_auto",
			 n->rec.mtu == 0, "port", (json_int_t)n->rec.port, "encrypted",
			 n->rec.encrypted, "bridge", s.brname, "vxlan_dev",
			 n->rec.encrypted ? json_null() : json_string(s.vxname), "tap_dev",
			 n->rec.encrypted ? json_string(s.tapname) : json_null(), "created",
			 created, "endpoints", (json_int_t)drv_core_net_ep_count(c, n->rec.name),
			 "status", n->in_dp ? "ok" : n->err);
}

static const char *ep_status_str(const struct drv_ep *e, char *buf, size_t len)
{
	if (e->status == 0 && e->in_dp)
		return "ok";
	if (e->status == -ENOENT)
		return "netns-missing";
	snprintf(buf, len, "error: %s", e->err[0] ? e->err : strerror(-e->status));
	return buf;
}

static json_t *ep_json(const struct drv_core *c, const struct drv_ep *e)
{
	char ip[ADDR_PREFIX_STRLEN], mac[ADDR_MAC_STRLEN], created[32], st[300];
	const struct drv_net *n = drv_core_net_find(c, e->rec.net);
	struct addr_prefix p = {.addr = e->rec.ip, .len = n ? n->rec.subnet.len : 32};
	struct vx_ep_spec s = {0};

	memcpy(s.id, e->rec.id, sizeof(s.id));
	vx_ep_names(&s);
	/* addr_fmt_prefix() prints the address as given: no masking here. */
	addr_fmt_prefix(&p, ip);
	addr_fmt_mac(e->rec.mac, mac);
	fmt_time(e->rec.created, created);
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id", e->rec.id, "network",
			 e->rec.net, "netns", e->rec.netns, "ifname", e->rec.ifname, "host_ifname",
			 s.host_ifname, "ip", ip, "mac", mac, "status",
			 ep_status_str(e, st, sizeof(st)), "created", created);
}

static int no_net(struct api_resp *resp, const char *name)
{
	api_error(resp, 404, "not_found", "no network named \"%s\"", name);
	return -ENOENT;
}

/* ---- networks ---- */

static void h_net_list(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct drv_routes *r = arg;
	json_t *arr = json_array();
	const struct drv_net *nets;
	size_t n;

	nets = drv_core_nets(r->core, &n);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, net_json(r->core, &nets[i]));
	resp->body = json_pack("{s:o}", "networks", arr);
}

/* A host address of p: not its network or broadcast address. */
static int host_addr_ok(const struct addr_prefix *p, struct in_addr ip)
{
	uint32_t net = addr_ip4_h(p->addr), h = addr_ip4_h(ip);
	uint32_t bcast = net | (p->len ? 0xffffffffu >> p->len : 0xffffffffu);

	return addr_prefix_contains(p, ip) && h != net && h != bcast;
}

/* The subnet and gateway of a create request; 0 or -EINVAL (answered). */
static int net_subnet(struct drv_routes *r, const json_t *body, struct drv_net_rec *rec,
		      struct api_resp *resp)
{
	const char *subnet = api_body_str(body, "subnet"), *gw = api_body_str(body, "gateway");
	char pick[ADDR_PREFIX_STRLEN];
	int ret;

	if (!subnet) {
		if (drv_core_subnet_pick(r->core, NULL, 0, &rec->subnet)) {
			api_error(resp, 409, "conflict",
				  "no unused /%u left in the default pool %s (every one overlaps a "
				  "network or a route of this host); give --subnet",
				  r->cfg->default_subnet_len, r->cfg->default_pool);
			return -EINVAL;
		}
		addr_fmt_prefix(&rec->subnet, pick);
		subnet = pick;
	}
	ret = addr_parse_prefix(subnet, 1, &rec->subnet);
	if (ret == -EDOM) {
		api_error(resp, 400, "invalid_argument",
			  "invalid subnet \"%s\": host bits are set (did you mean the network "
			  "address?)",
			  subnet);
		return -EINVAL;
	}
	if (ret || rec->subnet.len < IPAM_PLEN_MIN || rec->subnet.len > IPAM_PLEN_MAX) {
		api_error(resp, 400, "invalid_argument",
			  "invalid subnet \"%s\": expected an IPv4 CIDR from /%d to /%d, like "
			  "10.10.0.0/24",
			  subnet, IPAM_PLEN_MIN, IPAM_PLEN_MAX);
		return -EINVAL;
	}
	if (gw && addr_parse_ip4(gw, &rec->gw)) {
		api_error(resp, 400, "invalid_argument", "invalid gateway \"%s\"", gw);
		return -EINVAL;
	}
	if (gw && !host_addr_ok(&rec->subnet, rec->gw)) {
		api_error(resp, 400, "invalid_argument",
			  "invalid gateway %s: it must be a host address inside %s", gw, subnet);
		return -EINVAL;
	}
	return 0;
}

static void h_net_create(void *arg, const struct api_req *req, struct api_resp *resp)
{
	static const struct api_field fields[] = {
		{"name", JSON_STRING, 1},    {"subnet", JSON_STRING, 0},  {"vni", JSON_INTEGER, 0},
		{"mtu", JSON_INTEGER, 0},    {"gateway", JSON_STRING, 0}, {"port", JSON_INTEGER, 0},
		{"encrypted", JSON_TRUE, 0},
	};
	struct drv_routes *r = arg;
	struct drv_net_rec rec = {0};
	const char *name;
	char why[256];
	json_int_t v;
	int ret;

	if (API_BODY_CHECK(req->body, fields, resp))
		return;
	name = api_body_str(req->body, "name");
	if ((ret = drv_net_name_check(name, why, sizeof(why)))) {
		api_error_errno(resp, ret, "internal", "%s", why);
		return;
	}
	if (net_subnet(r, req->body, &rec, resp))
		return;
	snprintf(rec.name, sizeof(rec.name), "%s", name);
	rec.port = (uint16_t)r->cfg->vxlan_port;
	if ((ret = api_body_int(req->body, "vni", 1, VX_VNI_MAX, &v, resp)) < 0)
		return;
	rec.vni = ret ? (uint32_t)v : 0;
	if ((ret = api_body_int(req->body, "mtu", 576, 65535, &v, resp)) < 0)
		return;
	rec.mtu = ret ? (unsigned)v : 0;
	if ((ret = api_body_int(req->body, "port", 1, 65535, &v, resp)) < 0)
		return;
	if (ret)
		rec.port = (uint16_t)v;
	rec.encrypted = json_is_true(json_object_get(req->body, "encrypted"));
	if (rec.encrypted && ret) {
		api_error(resp, 400, "invalid_argument",
			  "an encrypted network has no VXLAN port: its frames go to the agents' "
			  "--enc-port; drop \"port\"");
		return;
	}
	ret = drv_core_net_create(r->core, &rec, why, sizeof(why));
	if (ret) {
		api_error_errno(resp, ret, "kernel", "%s", why);
		return;
	}
	resp->status = 201;
	resp->body = net_json(r->core, drv_core_net_find(r->core, name));
}

static void h_net_get(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct drv_routes *r = arg;
	const struct drv_net *n = drv_core_net_find(r->core, req->param);
	struct drv_alloc_counts ac;
	const struct drv_ep *eps;
	size_t neps;
	json_t *arr;

	if (!n) {
		no_net(resp, req->param);
		return;
	}
	resp->body = net_json(r->core, n);
	arr = json_array();
	eps = drv_core_eps(r->core, &neps);
	for (size_t i = 0; i < neps; i++)
		if (!strcmp(eps[i].rec.net, n->rec.name))
			json_array_append_new(arr, ep_json(r->core, &eps[i]));
	json_object_set_new(resp->body, "endpoint_list", arr);
	drv_alloc_counts(r->al, n->an, &ac);
	json_object_set_new(resp->body, "ipam",
			    json_pack("{s:I,s:I,s:I,s:I}", "capacity", (json_int_t)ac.capacity,
				      "owned", (json_int_t)ac.owned, "leased",
				      (json_int_t)ac.leased, "free", (json_int_t)ac.free));
}

static void h_net_delete(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct drv_routes *r = arg;
	char why[256];
	int ret = drv_core_net_destroy(r->core, req->param, why, sizeof(why));

	if (ret) {
		api_error_errno(resp, ret, "internal", "%s", why);
		return;
	}
	resp->body = json_pack("{s:s}", "deleted", req->param);
}

/* ---- endpoints ---- */

static void h_ep_list(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct drv_routes *r = arg;
	const char *net = api_req_query(req, "network");
	const struct drv_ep *eps;
	size_t n;
	json_t *arr;

	if (net && !drv_core_net_find(r->core, net)) {
		no_net(resp, net);
		return;
	}
	arr = json_array();
	eps = drv_core_eps(r->core, &n);
	for (size_t i = 0; i < n; i++)
		if (!net || !strcmp(eps[i].rec.net, net))
			json_array_append_new(arr, ep_json(r->core, &eps[i]));
	resp->body = json_pack("{s:o}", "endpoints", arr);
}

static void h_ep_get(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct drv_routes *r = arg;
	const struct drv_ep *e = drv_core_ep_find(r->core, req->param);

	if (!e) {
		api_error(resp, 404, "not_found", "no endpoint with id \"%s\"", req->param);
		return;
	}
	resp->body = ep_json(r->core, e);
}

/* Resolve a namespace name (under /run/netns) or absolute path; 0 or -errno. */
static int netns_resolve(const char *ns, char *path, size_t len, struct api_resp *resp)
{
	struct stat sb;

	if (ns[0] == '/') {
		if (strlen(ns) >= len) {
			api_error(resp, 400, "invalid_argument", "netns path is too long");
			return -EINVAL;
		}
		snprintf(path, len, "%s", ns);
	} else {
		if (!drv_name_ok(ns, 200)) {
			api_error(resp, 400, "invalid_argument",
				  "invalid network namespace name \"%s\"", ns);
			return -EINVAL;
		}
		snprintf(path, len, "/run/netns/%s", ns);
	}
	if (stat(path, &sb)) {
		api_error(resp, 400, "invalid_argument",
			  "unknown network namespace \"%s\" (%s: %s)", ns, path, strerror(errno));
		return -ENOENT;
	}
	return 0;
}

/* Interface name, MAC and address of an attach request; 0 or -EINVAL
 * (answered).  *want_ip tells whether an address was asked for. */
static int ep_args(const json_t *body, const struct drv_net *n, struct drv_ep_rec *rec,
		   int *want_ip, struct api_resp *resp)
{
	const char *ip = api_body_str(body, "ip"), *mac = api_body_str(body, "mac"),
		   *ifname = api_body_str(body, "ifname");

	if (ifname) {
		if (strlen(ifname) >= IFNAMSIZ) {
			api_error(resp, 400, "invalid_argument",
				  "interface name \"%s\" is longer than %d bytes", ifname,
				  IFNAMSIZ - 1);
			return -EINVAL;
		}
		if (!drv_name_ok(ifname, IFNAMSIZ - 1)) {
			api_error(resp, 400, "invalid_argument", "invalid interface name \"%s\"",
				  ifname);
			return -EINVAL;
		}
		snprintf(rec->ifname, sizeof(rec->ifname), "%s", ifname);
	} else {
		snprintf(rec->ifname, sizeof(rec->ifname), "vx-%.12s", n->rec.name);
	}
	if (mac) {
		if (addr_parse_mac(mac, rec->mac) || !addr_mac_is_unicast(rec->mac)) {
			api_error(resp, 400, "invalid_argument",
				  "invalid MAC \"%s\": expected a unicast aa:bb:cc:dd:ee:ff", mac);
			return -EINVAL;
		}
	} else if (getrandom(rec->mac, 6, 0) == 6) {
		rec->mac[0] = (uint8_t)((rec->mac[0] & 0xfe) | 0x02); /* local, unicast */
	} else {
		api_error(resp, 500, "internal", "no randomness for a MAC address");
		return -EIO;
	}
	if (ip && addr_parse_ip4(ip, &rec->ip)) {
		api_error(resp, 400, "invalid_argument", "invalid IPv4 address \"%s\"", ip);
		return -EINVAL;
	}
	*want_ip = ip != NULL;
	return 0;
}

static void h_ep_create(void *arg, const struct api_req *req, struct api_resp *resp)
{
	static const struct api_field fields[] = {
		{"network", JSON_STRING, 1}, {"netns", JSON_STRING, 1},	 {"ip", JSON_STRING, 0},
		{"mac", JSON_STRING, 0},     {"ifname", JSON_STRING, 0},
	};
	struct drv_routes *r = arg;
	struct drv_ep_rec rec = {0};
	const struct drv_net *n;
	uint8_t id[VX_EP_ID_LEN / 2];
	int want_ip, ret;
	char why[512];

	if (API_BODY_CHECK(req->body, fields, resp))
		return;
	n = drv_core_net_find(r->core, api_body_str(req->body, "network"));
	if (!n) {
		no_net(resp, api_body_str(req->body, "network"));
		return;
	}
	if (netns_resolve(api_body_str(req->body, "netns"), rec.netns, sizeof(rec.netns), resp) ||
	    ep_args(req->body, n, &rec, &want_ip, resp))
		return;
	if (getrandom(id, sizeof(id), 0) != (ssize_t)sizeof(id)) {
		api_error(resp, 500, "internal", "no randomness for an endpoint id");
		return;
	}
	for (size_t i = 0; i < sizeof(id); i++)
		snprintf(rec.id + 2 * i, 3, "%02x", id[i]);
	snprintf(rec.net, sizeof(rec.net), "%s", n->rec.name);
	rec.created = time(NULL);
	ret = drv_core_ep_create(r->core, &rec, want_ip, why, sizeof(why));
	if (ret == -EAGAIN && !req->expired)
		api_defer(resp, DRV_ALLOC_DEFER_MS);
	else if (ret == -EAGAIN)
		api_error(resp, 503, "unavailable", "timed out: %s", why);
	else if (ret)
		api_error_errno(resp, ret, "kernel", "%s", why);
	else {
		resp->status = 201;
		resp->body = ep_json(r->core, drv_core_ep_find(r->core, rec.id));
	}
}

static void h_ep_delete(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct drv_routes *r = arg;
	char id[VX_EP_ID_LEN + 1];
	int ret;

	if (!drv_core_ep_find(r->core, req->param)) {
		api_error(resp, 404, "not_found", "no endpoint with id \"%s\"", req->param);
		return;
	}
	snprintf(id, sizeof(id), "%s", req->param);
	ret = drv_core_ep_remove(r->core, id, 1);
	if (ret) {
		api_error_errno(resp, ret, "internal", "state database: %s",
				ret == -ENOSPC ? "disk full" : strerror(-ret));
		return;
	}
	resp->body = json_pack("{s:s}", "deleted", id);
}

/* ---- datapath view, status, metrics ---- */

struct fdb_ctx {
	const struct drv_core *core;
	json_t *arr;
	json_t *enc; /* the encrypted datapath's report, NULL if none */
};

/* The encrypted datapath's host entry for an encrypted row's vtep:port. */
static json_t *enc_node_of(json_t *enc, const struct vx_fdb_row *row)
{
	char ip[ADDR_IP4_STRLEN];
	size_t i;
	json_t *n;

	addr_fmt_ip4(row->dst, ip);
	json_array_foreach(
		json_object_get(enc, "nodes"), i,
		n) if (!strcmp(json_string_value(json_object_get(n, "vtep")) ?: "", ip) &&
		       json_integer_value(json_object_get(n, "vxlan_port")) == row->port) return n;
	return NULL;
}

static void fdb_row_cb(void *arg, const struct vx_fdb_row *row)
{
	struct fdb_ctx *c = arg;
	const struct drv_net *n = drv_core_net_find_vni(c->core, row->vni);
	char mac[ADDR_MAC_STRLEN];

	addr_fmt_mac(row->mac, mac);
	json_array_append_new(c->arr,
			      json_pack("{s:o,s:I,s:s,s:s,s:o,s:o,s:I,s:b,s:s}", "network",
					n ? json_string(n->rec.name) : json_null(), "vni",
					(json_int_t)row->vni, "dev", row->dev, "mac", mac, "ip",
					json_ip_or_null(row->ip), "dst", json_ip_or_null(row->dst),
					"port", (json_int_t)row->port, "permanent", row->permanent,
					"why", vx_why_str(row->why)));
	if (row->why == VX_WHY_ENCRYPTED) {
		json_t *o = json_array_get(c->arr, json_array_size(c->arr) - 1);
		json_t *nd = enc_node_of(c->enc, row);

		json_object_set_new(o, "session",
				    nd ? json_incref(json_object_get(nd, "session")) : json_null());
		json_object_set_new(o, "enc_port",
				    nd ? json_incref(json_object_get(nd, "enc_port"))
				       : json_null());
	}
}

static void h_fdb(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct drv_routes *r = arg;
	const char *net = api_req_query(req, "network");
	struct fdb_ctx c = {.core = r->core};
	uint32_t vni = 0;
	int ret;

	if (net) {
		const struct drv_net *n = drv_core_net_find(r->core, net);

		if (!n) {
			no_net(resp, net);
			return;
		}
		vni = n->rec.vni;
	}
	c.arr = json_array();
	c.enc = drv_core_enc_stats(r->core);
	ret = drv_core_fdb_report(r->core, vni, fdb_row_cb, &c);
	json_decref(c.enc);
	if (ret) {
		json_decref(c.arr);
		api_error(resp, 500, "kernel", "cannot read the FDB: %s", strerror(-ret));
		return;
	}
	resp->body = json_pack("{s:o}", "entries", c.arr);
}

static json_t *reconcile_json(struct drv_routes *r)
{
	struct drv_core_stats cs;
	struct vx_dp_stats st;

	drv_core_stats(r->core, &cs);
	drv_core_dp_stats(r->core, &st);
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "interval_ms",
			 (json_int_t)r->cfg->reconcile_ms, "runs", (json_int_t)st.runs, "created",
			 (json_int_t)st.created, "removed", (json_int_t)st.removed, "repaired",
			 (json_int_t)st.repaired, "errors", (json_int_t)st.errors, "last_error",
			 cs.last_reconcile ? json_string(strerror(-cs.last_reconcile))
					   : json_null());
}

static void h_status(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct drv_routes *r = arg;
	const struct drv_node_rec *node = drv_core_node(r->core);
	size_t nnets, neps;

	drv_core_nets(r->core, &nnets);
	drv_core_eps(r->core, &neps);
	resp->body = json_pack("{s:s,s:{s:s,s:s},s:I,s:s,s:s,s:o,s:I,s:I,s:I,s:o}", "version",
			       vxmesh_version, "node", "id", node->id, "name", node->name,
			       "uptime_s", (json_int_t)(time(NULL) - r->started), "state_dir",
			       r->cfg->state_dir, "socket", r->cfg->socket, "vtep",
			       json_ip_or_null(drv_core_vtep(r->core)), "vxlan_port",
			       (json_int_t)r->cfg->vxlan_port, "networks", (json_int_t)nnets,
			       "endpoints", (json_int_t)neps, "reconcile", reconcile_json(r));
	for (size_t i = 0; resp->body && i < r->nreports; i++)
		if (r->reports[i].status)
			r->reports[i].status(r->reports[i].arg, resp->body);
}

static void h_version(void *arg, const struct api_req *req, struct api_resp *resp)
{
	resp->body = json_pack("{s:s}", "version", vxmesh_version);
}

static void h_reconcile(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct drv_routes *r = arg;

	drv_core_reconcile(r->core);
	resp->body = reconcile_json(r);
}

static void metrics_core(struct drv_routes *r, FILE *f)
{
	struct drv_core_stats cs;
	struct vx_dp_stats st;
	size_t nnets, neps, ok_eps = 0;
	const struct drv_ep *eps;

	drv_core_stats(r->core, &cs);
	drv_core_dp_stats(r->core, &st);
	drv_core_nets(r->core, &nnets);
	eps = drv_core_eps(r->core, &neps);
	for (size_t i = 0; i < neps; i++)
		ok_eps += eps[i].in_dp && !eps[i].status;
	fprintf(f,
		"# HELP vxmesh_up The agent is running.\n# TYPE vxmesh_up gauge\nvxmesh_up 1\n"
		"# HELP vxmesh_uptime_seconds Seconds since the agent started.\n"
		"# TYPE vxmesh_uptime_seconds gauge\nvxmesh_uptime_seconds %lld\n"
		"# HELP vxmesh_networks Networks known to this agent.\n"
		"# TYPE vxmesh_networks gauge\nvxmesh_networks %zu\n"
		"# HELP vxmesh_endpoints Local endpoints, by whether they are in place.\n"
		"# TYPE vxmesh_endpoints gauge\nvxmesh_endpoints{status=\"ok\"} %zu\n"
		"vxmesh_endpoints{status=\"degraded\"} %zu\n"
		"# HELP vxmesh_endpoint_ops_total Endpoint attach and detach calls that "
		"succeeded.\n"
		"# TYPE vxmesh_endpoint_ops_total counter\n"
		"vxmesh_endpoint_ops_total{op=\"attach\"} %llu\n"
		"vxmesh_endpoint_ops_total{op=\"detach\"} %llu\n"
		"# HELP vxmesh_reconcile_runs_total Reconcile passes over the kernel state.\n"
		"# TYPE vxmesh_reconcile_runs_total counter\nvxmesh_reconcile_runs_total %llu\n"
		"# HELP vxmesh_reconcile_changes_total Kernel objects changed by reconciling.\n"
		"# TYPE vxmesh_reconcile_changes_total counter\n"
		"vxmesh_reconcile_changes_total{action=\"created\"} %llu\n"
		"vxmesh_reconcile_changes_total{action=\"removed\"} %llu\n"
		"vxmesh_reconcile_changes_total{action=\"repaired\"} %llu\n"
		"# HELP vxmesh_reconcile_errors_total Kernel operations that failed.\n"
		"# TYPE vxmesh_reconcile_errors_total counter\nvxmesh_reconcile_errors_total %llu\n"
		"# HELP vxmesh_api_requests_total Control API requests answered, by status class.\n"
		"# TYPE vxmesh_api_requests_total counter\n",
		(long long)(time(NULL) - r->started), nnets, ok_eps, neps - ok_eps, cs.ep_attached,
		cs.ep_detached, st.runs, st.created, st.removed, st.repaired, st.errors);
	for (unsigned k = 2; k <= 5; k++)
		fprintf(f, "vxmesh_api_requests_total{code=\"%uxx\"} %llu\n", k,
			r->api ? drv_api_requests(r->api, k) : 0);
}

static void h_metrics(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct drv_routes *r = arg;
	size_t len = 0;
	char *buf = NULL;
	FILE *f = open_memstream(&buf, &len);

	if (!f) {
		api_error(resp, 500, "internal", "out of memory");
		return;
	}
	metrics_core(r, f);
	drv_alloc_metrics(r->al, f);
	for (size_t i = 0; i < r->nreports; i++)
		if (r->reports[i].metrics)
			r->reports[i].metrics(r->reports[i].arg, f);
	fclose(f);
	resp->text = buf;
	resp->content_type = "text/plain; version=0.0.4";
}

const struct api_route drv_routes[] = {
	{"GET", "/v1/version", h_version, NULL},   {"GET", "/v1/status", h_status, NULL},
	{"GET", "/v1/networks", h_net_list, NULL}, {"POST", "/v1/networks", h_net_create, NULL},
	{"GET", "/v1/networks/", h_net_get, NULL}, {"DELETE", "/v1/networks/", h_net_delete, NULL},
	{"GET", "/v1/endpoints", h_ep_list, NULL}, {"POST", "/v1/endpoints", h_ep_create, NULL},
	{"GET", "/v1/endpoints/", h_ep_get, NULL}, {"DELETE", "/v1/endpoints/", h_ep_delete, NULL},
	{"GET", "/v1/fdb", h_fdb, NULL},	   {"POST", "/v1/reconcile", h_reconcile, NULL},
	{"GET", "/metrics", h_metrics, NULL},
};
const size_t drv_nroutes = sizeof(drv_routes) / sizeof(drv_routes[0]);
