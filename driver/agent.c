// SPDX-License-Identifier: MIT
/*
 * agent: wires the state database, IPAM pools, the datapath reconciler and
 * the control API together on one reactor.
 *
 * Order of every change: validate the request completely, then open a
 * state transaction, write the rows, apply the change to the kernel through
 * the datapath, and commit only when the kernel accepted it.  A refusal at
 * any step rolls back the transaction and undoes the kernel change, so bad
 * input or a kernel error leaves both state and kernel as they were.
 *
 * Networks and endpoints the datapath could not (re)create at start, such as
 * an endpoint whose namespace is gone, stay in the database and are tried
 * again on every reconcile tick; their status says why they are missing.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/version.h"
#include "common/addr.h"
#include "common/log.h"
#include "common/reactor.h"
#include "driver/agent.h"
#include "driver/agent_int.h"
#include "driver/cluster.h"
#include "driver/api.h"
#include "driver/config.h"
#include "driver/docker.h"
#include "driver/ipamc.h"
#include "driver/state.h"
#include "ipam/ipam.h"
#include "vxlan/vxlan.h"

#define MTU_FALLBACK 1500

/* ---- lookups and conversions ---- */

struct agent_net *agent_net_find(struct agent *a, const char *name)
{
	for (size_t i = 0; i < a->nnets; i++)
		if (!strcmp(a->nets[i].rec.name, name))
			return &a->nets[i];
	return NULL;
}

struct agent_net *agent_net_find_vni(struct agent *a, uint32_t vni)
{
	for (size_t i = 0; i < a->nnets; i++)
		if (a->nets[i].rec.vni == vni)
			return &a->nets[i];
	return NULL;
}

struct agent_ep *agent_ep_find(struct agent *a, const char *id)
{
	for (size_t i = 0; i < a->neps; i++)
		if (!strcmp(a->eps[i].rec.id, id))
			return &a->eps[i];
	return NULL;
}

size_t agent_net_ep_count(struct agent *a, const char *net)
{
	size_t n = 0;

	for (size_t i = 0; i < a->neps; i++)
		n += !strcmp(a->eps[i].rec.net, net);
	return n;
}

static void net_spec(struct agent *a, const struct agent_net *n, struct vx_net_spec *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", n->rec.name);
	s->vni = n->rec.vni;
	s->port = n->rec.port;
	s->local = a->vtep;
	s->mtu = n->mtu;
	vx_net_names(s);
}

static void ep_spec(const struct agent_net *n, const struct agent_ep *e, struct vx_ep_spec *s)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->id, e->rec.id, sizeof(s->id));
	s->vni = n->rec.vni;
	snprintf(s->netns, sizeof(s->netns), "%s", e->rec.netns);
	snprintf(s->ifname, sizeof(s->ifname), "%s", e->rec.ifname);
	s->ip = e->rec.ip;
	s->plen = n->rec.subnet.len;
	s->gw = n->rec.gw;
	memcpy(s->mac, e->rec.mac, sizeof(s->mac));
	s->mtu = n->mtu;
	vx_ep_names(s);
}

/* Underlay MTU minus the VXLAN overhead, unless the network fixes its own. */
static unsigned net_mtu(struct agent *a, const struct drv_net_rec *rec)
{
	unsigned mtu = MTU_FALLBACK;
	int ifindex;

	if (rec->mtu)
		return rec->mtu;
	if (vx_nl_ops.underlay_get(a->nl, a->vtep, &ifindex, &mtu))
		log_warn("no underlay route found for the VTEP; assuming MTU %u", MTU_FALLBACK);
	return mtu - VX_OVERHEAD;
}

static void fmt_time(int64_t t, char buf[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *json_ip_or_null(struct in_addr ip)
{
	char buf[INET_ADDRSTRLEN];

	if (!ip.s_addr)
		return json_null();
	inet_ntop(AF_INET, &ip, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *net_json(struct agent *a, const struct agent_net *n)
{
	char subnet[ADDR_PREFIX_STRLEN], created[32];
	struct vx_net_spec s;

	net_spec(a, n, &s);
	addr_fmt_prefix(&n->rec.subnet, subnet);
	fmt_time(n->rec.created, created);
	return json_pack("{s:s,s:I,s:s,s:o,s:I,s:b,s:I,s:s,s:s,s:s,s:I,s:s}", "name", n->rec.name,
			 "vni", (json_int_t)n->rec.vni, "subnet", subnet, "gateway",
			 json_ip_or_null(n->rec.gw), "mtu", (json_int_t)n->mtu, "mtu_auto",
			 n->rec.mtu == 0, "port", (json_int_t)n->rec.port, "bridge", s.brname,
			 "vxlan_dev", s.vxname, "created", created, "endpoints",
			 (json_int_t)agent_net_ep_count(a, n->rec.name), "status",
			 n->in_dp ? "ok" : n->err);
}

static const char *ep_status_str(const struct agent_ep *e, char *buf, size_t len)
{
	if (e->status == 0 && e->in_dp)
		return "ok";
	if (e->status == -ENOENT)
		return "netns-missing";
	snprintf(buf, len, "error: %s", e->err[0] ? e->err : strerror(-e->status));
	return buf;
}

static json_t *ep_json(struct agent *a, const struct agent_ep *e)
{
	char ip[ADDR_PREFIX_STRLEN], mac[ADDR_MAC_STRLEN], created[32], st[300];
	const struct agent_net *n = agent_net_find(a, e->rec.net);
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

/* ---- request validation ---- */

/* The body's want-table: every field's type is checked before any is read. */
struct field {
	const char *key;
	json_type type;
	int required;
};

static int body_check(const json_t *body, const struct field *f, size_t n, struct api_resp *resp)
{
	static const char *const tname[] = {
		[JSON_OBJECT] = "an object", [JSON_ARRAY] = "an array",
		[JSON_STRING] = "a string",  [JSON_INTEGER] = "an integer",
		[JSON_REAL] = "a number",    [JSON_TRUE] = "a boolean",
		[JSON_FALSE] = "a boolean",  [JSON_NULL] = "null",
	};

	for (size_t i = 0; i < n; i++) {
		json_t *v = body ? json_object_get(body, f[i].key) : NULL;

		if (!v || json_is_null(v)) {
			if (!f[i].required)
				continue;
			api_error(resp, 400, "invalid_argument", "missing field \"%s\"", f[i].key);
			return -EINVAL;
		}
		if (json_typeof(v) != f[i].type) {
			api_error(resp, 400, "invalid_argument", "field \"%s\" must be %s",
				  f[i].key, tname[f[i].type]);
			return -EINVAL;
		}
	}
	return 0;
}

static const char *body_str(const json_t *body, const char *key)
{
	return body ? json_string_value(json_object_get(body, key)) : NULL;
}

static int body_int(const json_t *body, const char *key, json_int_t min, json_int_t max,
		    json_int_t *out, struct api_resp *resp)
{
	json_t *v = body ? json_object_get(body, key) : NULL;

	if (!v || json_is_null(v))
		return 0;
	if (json_integer_value(v) < min || json_integer_value(v) > max) {
		api_error(resp, 400, "invalid_argument",
			  "%s %" JSON_INTEGER_FORMAT " is out of range (%" JSON_INTEGER_FORMAT
			  "..%" JSON_INTEGER_FORMAT ")",
			  key, json_integer_value(v), min, max);
		return -ERANGE;
	}
	*out = json_integer_value(v);
	return 1;
}

static int name_ok(const char *s, size_t max)
{
	size_t len = strlen(s);

	if (!len || len > max || !isalnum((unsigned char)s[0]))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return 0;
	return 1;
}

static int rand_bytes(void *buf, size_t len)
{
	return getrandom(buf, len, 0) == (ssize_t)len ? 0 : -EIO;
}

/* ---- networks ---- */

/* An agent_*() status other than success as an API error; code500 names
 * what failed at 500. */
static void status_error(struct api_resp *resp, unsigned status, const char *code500,
			 const char *err)
{
	api_error(resp, status,
		  status == 400	  ? "invalid_argument"
		  : status == 404 ? "not_found"
		  : status == 409 ? "conflict"
				  : code500,
		  "%s", err);
}

static void h_net_list(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct agent *a = arg;
	json_t *arr = json_array();

	for (size_t i = 0; i < a->nnets; i++)
		json_array_append_new(arr, net_json(a, &a->nets[i]));
	resp->body = json_pack("{s:o}", "networks", arr);
}

/* A VNI free here and in the cluster's table (a probe without a name
 * checks the VNI only). */
static uint32_t vni_pick(struct agent *a)
{
	struct drv_net_rec probe = {0};
	char err[8];

	for (uint32_t v = 1; v <= VX_VNI_MAX; v++) {
		if (agent_net_find_vni(a, v))
			continue;
		probe.vni = v;
		if (!drv_cluster_net_conflict(a, &probe, err, sizeof(err)))
			return v;
	}
	return 0;
}

static void h_net_create(void *arg, const struct api_req *req, struct api_resp *resp)
{
	static const struct field fields[] = {
		{"name", JSON_STRING, 1}, {"subnet", JSON_STRING, 0},  {"vni", JSON_INTEGER, 0},
		{"mtu", JSON_INTEGER, 0}, {"gateway", JSON_STRING, 0}, {"port", JSON_INTEGER, 0},
	};
	struct agent *a = arg;
	struct agent_net n = {0};
	const char *name, *subnet, *gw;
	unsigned status;
	char err[256];
	json_int_t v;
	int ret;

	if (body_check(req->body, fields, sizeof(fields) / sizeof(fields[0]), resp))
		return;
	name = body_str(req->body, "name");
	subnet = body_str(req->body, "subnet");
	gw = body_str(req->body, "gateway");
	if (!name_ok(name, VX_NET_NAME_MAX - 1)) {
		api_error(resp, 400, "invalid_argument",
			  "invalid network name \"%s\": use 1-%d letters, digits, '_', '.' or '-', "
			  "starting with a letter or digit",
			  name, VX_NET_NAME_MAX - 1);
		return;
	}
	if (!subnet) {
		char pick[ADDR_PREFIX_STRLEN];

		if (ipamc_subnet_pick(a, NULL, 0, &n.rec.subnet)) {
			api_error(resp, 409, "conflict",
				  "no unused /%u left in the default pool %s (every one overlaps a "
				  "network or a route of this host); give --subnet",
				  a->cfg.default_subnet_len, a->cfg.default_pool);
			return;
		}
		addr_fmt_prefix(&n.rec.subnet, pick);
		subnet = strcpy(err, pick); /* err is free until the end */
	}
	ret = addr_parse_prefix(subnet, 1, &n.rec.subnet);
	if (ret == -EDOM) {
		api_error(resp, 400, "invalid_argument",
			  "invalid subnet \"%s\": host bits are set (did you mean the network "
			  "address?)",
			  subnet);
		return;
	}
	if (ret || n.rec.subnet.len < IPAM_PLEN_MIN || n.rec.subnet.len > IPAM_PLEN_MAX) {
		api_error(resp, 400, "invalid_argument",
			  "invalid subnet \"%s\": expected an IPv4 CIDR from /%d to /%d, like "
			  "10.10.0.0/24",
			  subnet, IPAM_PLEN_MIN, IPAM_PLEN_MAX);
		return;
	}
	if (gw && addr_parse_ip4(gw, &n.rec.gw)) {
		api_error(resp, 400, "invalid_argument", "invalid gateway \"%s\"", gw);
		return;
	}
	if (gw && (!addr_prefix_contains(&n.rec.subnet, n.rec.gw) ||
		   ipam_pool_create(&n.pool, &n.rec.subnet, &n.rec.gw))) {
		api_error(resp, 400, "invalid_argument",
			  "invalid gateway %s: it must be a host address inside %s", gw, subnet);
		return;
	}
	ipam_pool_destroy(n.pool);
	snprintf(n.rec.name, sizeof(n.rec.name), "%s", name);
	n.rec.port = (uint16_t)a->cfg.vxlan_port;
	if ((ret = body_int(req->body, "vni", 1, VX_VNI_MAX, &v, resp)) < 0)
		return;
	n.rec.vni = ret ? (uint32_t)v : 0;
	if ((ret = body_int(req->body, "mtu", 576, 65535, &v, resp)) < 0)
		return;
	n.rec.mtu = ret ? (unsigned)v : 0;
	if ((ret = body_int(req->body, "port", 1, 65535, &v, resp)) < 0)
		return;
	if (ret)
		n.rec.port = (uint16_t)v;
	status = agent_net_create(a, &n.rec, err, sizeof(err));
	if (status != 201) {
		status_error(resp, status, "kernel", err);
		return;
	}
	resp->status = 201;
	resp->body = net_json(a, agent_net_find(a, name));
}

unsigned agent_net_create(struct agent *a, struct drv_net_rec *rec, char *err, size_t len)
{
	struct agent_net *other;
	unsigned status;
	int ret;

	if (!rec->vni)
		rec->vni = vni_pick(a);
	if (agent_net_find(a, rec->name)) {
		snprintf(err, len, "network \"%s\" already exists", rec->name);
		return 409;
	}
	if ((other = agent_net_find_vni(a, rec->vni))) {
		snprintf(err, len, "VNI %u is already used by network \"%s\"", rec->vni,
			 other->rec.name);
		return 409;
	}
	if (drv_cluster_net_conflict(a, rec, err, len))
		return 409;
	rec->created = time(NULL);
	if (ipamc_ring_id_new(rec->ring)) {
		snprintf(err, len, "no randomness for a ring id");
		return 500;
	}
	status = agent_net_add(a, rec, err, len);
	if (status != 201)
		return status;
	/* The creator owns the whole space until it gives parts away: stored
	 * before the network is published, or no network at all. */
	if ((ret = ipamc_net_init_space(a, agent_net_find(a, rec->name)))) {
		snprintf(err, len, "network %s: cannot record its address space: %s", rec->name,
			 strerror(-ret));
		agent_net_remove(a, rec->name);
		return 500;
	}
	drv_cluster_net_publish(a, agent_net_find(a, rec->name));
	return 201;
}

unsigned agent_net_add(struct agent *a, const struct drv_net_rec *rec, char *err, size_t len)
{
	struct agent_net n = {.rec = *rec}, *grown;
	struct vx_net_spec spec;
	char sub[ADDR_PREFIX_STRLEN];
	unsigned status = 500;
	int ret;

	ret = ipamc_net_open(a, &n);
	if (ret) {
		snprintf(err, len, "network %s: %s", rec->name, ipam_strerror(ret));
		return 400;
	}
	n.mtu = net_mtu(a, &n.rec);
	grown = realloc(a->nets, (a->nnets + 1) * sizeof(*a->nets));
	if (!grown) {
		snprintf(err, len, "out of memory");
		goto err_pool;
	}
	a->nets = grown;
	if (drv_state_begin(a->st)) {
		snprintf(err, len, "state database: cannot begin a transaction");
		goto err_pool;
	}
	ret = drv_state_net_insert(a->st, &n.rec);
	if (ret) {
		status = ret == -EEXIST || ret == -EADDRINUSE ? 409 : 500;
		snprintf(err, len, "state database refused network \"%s\": %s", rec->name,
			 strerror(-ret));
		goto err_rollback;
	}
	net_spec(a, &n, &spec);
	ret = vx_dp_net_put(a->dp, &spec, err, len);
	if (ret) {
		status = ret == -EEXIST ? 409 : 500;
		goto err_rollback;
	}
	if (drv_state_commit(a->st)) {
		snprintf(err, len, "state database: commit failed");
		vx_dp_net_del(a->dp, n.rec.vni);
		goto err_rollback;
	}
	n.in_dp = 1;
	a->nets[a->nnets++] = n;
	drv_docker_nets_changed(a);
	addr_fmt_prefix(&n.rec.subnet, sub);
	log_info("network created name=%s vni=%u subnet=%s mtu=%u", rec->name, n.rec.vni, sub,
		 n.mtu);
	return 201;

err_rollback:
	drv_state_rollback(a->st);
err_pool:
	ipamc_net_close(&n);
	return status;
}

static void h_net_get(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct agent *a = arg;
	struct agent_net *n = agent_net_find(a, req->param);
	json_t *eps;

	if (!n) {
		api_error(resp, 404, "not_found", "no network named \"%s\"", req->param);
		return;
	}
	resp->body = net_json(a, n);
	eps = json_array();
	for (size_t i = 0; i < a->neps; i++)
		if (!strcmp(a->eps[i].rec.net, n->rec.name))
			json_array_append_new(eps, ep_json(a, &a->eps[i]));
	json_object_set_new(resp->body, "endpoint_list", eps);
	{
		uint64_t owned, fr, leased;

		ipamc_counts(a, n, &owned, &fr, &leased);
		json_object_set_new(resp->body, "ipam",
				    json_pack("{s:I,s:I,s:I,s:I}", "capacity",
					      (json_int_t)ipam_pool_capacity(n->pool), "owned",
					      (json_int_t)owned, "leased", (json_int_t)leased,
					      "free", (json_int_t)fr));
	}
}

static void h_net_delete(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct agent *a = arg;
	char err[256];
	unsigned status = agent_net_destroy(a, req->param, err, sizeof(err));

	if (status != 200) {
		status_error(resp, status, "internal", err);
		return;
	}
	resp->body = json_pack("{s:s}", "deleted", req->param);
}

unsigned agent_net_destroy(struct agent *a, const char *name_in, char *err, size_t len)
{
	struct agent_net *n = agent_net_find(a, name_in);
	char name[VX_NET_NAME_MAX];
	size_t neps;
	int ret;

	if (!n) {
		snprintf(err, len, "no network named \"%s\"", name_in);
		return 404;
	}
	neps = agent_net_ep_count(a, n->rec.name);
	if (neps) {
		snprintf(err, len, "network \"%s\" still has %zu endpoint(s); detach them first",
			 n->rec.name, neps);
		return 409;
	}
	neps = drv_cluster_net_remote_eps(a, n->rec.name);
	if (neps) {
		snprintf(err, len,
			 "network \"%s\" still has %zu endpoint(s) on other hosts; detach them "
			 "there first",
			 n->rec.name, neps);
		return 409;
	}
	/* Remove here first: a failure must not delete it cluster-wide.  n
	 * points into a->nets, which the removal reorders. */
	snprintf(name, sizeof(name), "%s", n->rec.name);
	ret = agent_net_remove(a, name);
	if (ret) {
		snprintf(err, len, "state database: %s", strerror(-ret));
		return 500;
	}
	drv_cluster_net_unpublish(a, name);
	return 200;
}

int agent_net_remove(struct agent *a, const char *name)
{
	struct agent_net *n = agent_net_find(a, name);
	int ret;

	if (!n)
		return -ENOENT;
	if (agent_net_ep_count(a, name))
		return -EBUSY;
	ret = drv_state_net_delete(a->st, n->rec.name);
	if (ret)
		return ret;
	if (n->in_dp) {
		ret = vx_dp_net_del(a->dp, n->rec.vni);
		if (ret)
			log_warn("network %s: kernel cleanup: %s (the reconciler retries)",
				 n->rec.name, strerror(-ret));
	}
	log_info("network removed name=%s vni=%u", n->rec.name, n->rec.vni);
	ipamc_net_close(n);
	*n = a->nets[--a->nnets];
	drv_docker_nets_changed(a);
	return 0;
}

/* ---- endpoints ---- */

static void h_ep_list(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct agent *a = arg;
	const char *net = api_req_query(req, "network");
	json_t *arr;

	if (net && !agent_net_find(a, net)) {
		api_error(resp, 404, "not_found", "no network named \"%s\"", net);
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < a->neps; i++)
		if (!net || !strcmp(a->eps[i].rec.net, net))
			json_array_append_new(arr, ep_json(a, &a->eps[i]));
	resp->body = json_pack("{s:o}", "endpoints", arr);
}

static void h_ep_get(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct agent *a = arg;
	struct agent_ep *e = agent_ep_find(a, req->param);

	if (!e) {
		api_error(resp, 404, "not_found", "no endpoint with id \"%s\"", req->param);
		return;
	}
	resp->body = ep_json(a, e);
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
		if (!name_ok(ns, 200)) {
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

int agent_lease(struct agent *a, struct agent_net *n, const struct in_addr *want,
		struct in_addr *out, const struct api_req *req, struct api_resp *resp)
{
	char err[512];
	int ret = ipamc_lease(a, n, want, out, err, sizeof(err));

	switch (ret) {
	case 0:
		return 0;
	case -EAGAIN:
		if (req->expired)
			api_error(resp, 503, "unavailable", "timed out: %s", err);
		else
			api_defer(resp, IPAMC_DEFER_MS);
		break;
	case -EDOM:
	case -EADDRNOTAVAIL:
	case -EINVAL:
		api_error(resp, 400, "invalid_argument", "%s", err);
		break;
	case -EADDRINUSE:
	case -ENOSPC:
	case -EPERM:
		api_error(resp, 409, "conflict", "%s", err);
		break;
	case -EHOSTUNREACH:
		api_error(resp, 503, "unavailable", "%s", err);
		break;
	default:
		api_error(resp, 500, "internal", "%s", err);
	}
	return ret;
}

void agent_api_retry(struct agent *a)
{
	if (a->api)
		drv_api_retry(a->api);
	if (a->plugin)
		drv_api_retry(a->plugin);
}

static void h_ep_create(void *arg, const struct api_req *req, struct api_resp *resp)
{
	static const struct field fields[] = {
		{"network", JSON_STRING, 1}, {"netns", JSON_STRING, 1},	 {"ip", JSON_STRING, 0},
		{"mac", JSON_STRING, 0},     {"ifname", JSON_STRING, 0},
	};
	struct agent *a = arg;
	const char *net_name, *ip, *mac, *ifname;
	struct agent_ep e = {0};
	struct agent_net *n;
	uint8_t id[VX_EP_ID_LEN / 2];
	unsigned status;
	char err[256];

	if (body_check(req->body, fields, sizeof(fields) / sizeof(fields[0]), resp))
		return;
	net_name = body_str(req->body, "network");
	ip = body_str(req->body, "ip");
	mac = body_str(req->body, "mac");
	ifname = body_str(req->body, "ifname");
	n = agent_net_find(a, net_name);
	if (!n) {
		api_error(resp, 404, "not_found", "no network named \"%s\"", net_name);
		return;
	}
	if (netns_resolve(body_str(req->body, "netns"), e.rec.netns, sizeof(e.rec.netns), resp))
		return;
	if (ifname) {
		if (strlen(ifname) >= IFNAMSIZ) {
			api_error(resp, 400, "invalid_argument",
				  "interface name \"%s\" is longer than %d bytes", ifname,
				  IFNAMSIZ - 1);
			return;
		}
		if (!name_ok(ifname, IFNAMSIZ - 1)) {
			api_error(resp, 400, "invalid_argument", "invalid interface name \"%s\"",
				  ifname);
			return;
		}
		snprintf(e.rec.ifname, sizeof(e.rec.ifname), "%s", ifname);
	} else {
		snprintf(e.rec.ifname, sizeof(e.rec.ifname), "vx-%.12s", n->rec.name);
	}
	for (size_t i = 0; i < a->neps; i++)
		if (!strcmp(a->eps[i].rec.netns, e.rec.netns) &&
		    !strcmp(a->eps[i].rec.ifname, e.rec.ifname)) {
			api_error(resp, 409, "conflict",
				  "interface %s in %s is already endpoint %s; pick another --name",
				  e.rec.ifname, e.rec.netns, a->eps[i].rec.id);
			return;
		}
	if (mac) {
		if (addr_parse_mac(mac, e.rec.mac) || !addr_mac_is_unicast(e.rec.mac)) {
			api_error(resp, 400, "invalid_argument",
				  "invalid MAC \"%s\": expected a unicast aa:bb:cc:dd:ee:ff", mac);
			return;
		}
		for (size_t i = 0; i < a->neps; i++)
			if (!strcmp(a->eps[i].rec.net, n->rec.name) &&
			    !memcmp(a->eps[i].rec.mac, e.rec.mac, 6)) {
				api_error(resp, 409, "conflict",
					  "MAC %s is already used by endpoint %s", mac,
					  a->eps[i].rec.id);
				return;
			}
	} else if (rand_bytes(e.rec.mac, 6) == 0) {
		e.rec.mac[0] = (uint8_t)((e.rec.mac[0] & 0xfe) | 0x02); /* local, unicast */
	} else {
		api_error(resp, 500, "internal", "no randomness for a MAC address");
		return;
	}
	if (ip && addr_parse_ip4(ip, &e.rec.ip)) {
		api_error(resp, 400, "invalid_argument", "invalid IPv4 address \"%s\"", ip);
		return;
	}
	if (agent_lease(a, n, ip ? &e.rec.ip : NULL, &e.rec.ip, req, resp))
		return;
	if (rand_bytes(id, sizeof(id))) {
		api_error(resp, 500, "internal", "no randomness for an endpoint id");
		goto err_release;
	}
	for (size_t i = 0; i < sizeof(id); i++)
		snprintf(e.rec.id + 2 * i, 3, "%02x", id[i]);
	snprintf(e.rec.net, sizeof(e.rec.net), "%s", n->rec.name);
	e.rec.created = time(NULL);
	status = agent_ep_add(a, n, &e.rec, 1, err, sizeof(err));
	if (status != 201) {
		status_error(resp, status, "kernel", err);
		goto err_release;
	}
	resp->status = 201;
	resp->body = ep_json(a, &a->eps[a->neps - 1]);
	return;

err_release:
	ipamc_release(a, n, e.rec.ip);
}

unsigned agent_ep_add(struct agent *a, struct agent_net *n, const struct drv_ep_rec *rec,
		      int with_lease, char *err, size_t len)
{
	struct drv_lease_rec lease = {.ip = rec->ip, .created = rec->created};
	struct agent_ep e = {.rec = *rec}, *grown;
	char ipbuf[INET_ADDRSTRLEN];
	struct vx_ep_spec spec;
	int ret;

	snprintf(lease.net, sizeof(lease.net), "%s", n->rec.name);
	snprintf(lease.owner, sizeof(lease.owner), "ep:%s", rec->id);
	grown = realloc(a->eps, (a->neps + 1) * sizeof(*a->eps));
	if (!grown) {
		snprintf(err, len, "out of memory");
		return 500;
	}
	a->eps = grown;
	if (drv_state_begin(a->st)) {
		snprintf(err, len, "state database: cannot begin a transaction");
		return 500;
	}
	if ((with_lease && (ret = drv_state_lease_insert(a->st, &lease))) ||
	    (ret = drv_state_ep_insert(a->st, &e.rec))) {
		snprintf(err, len, "state database: %s", strerror(-ret));
		goto err_rollback;
	}
	ep_spec(n, &e, &spec);
	ret = vx_dp_ep_put(a->dp, &spec, err, len);
	if (ret) {
		drv_state_rollback(a->st);
		return ret == -EEXIST ? 409 : ret == -ENOENT ? 400 : 500;
	}
	if (drv_state_commit(a->st)) {
		snprintf(err, len, "state database: commit failed");
		vx_dp_ep_del(a->dp, e.rec.id);
		goto err_rollback;
	}
	e.in_dp = 1;
	a->eps[a->neps++] = e;
	a->ep_attached++;
	drv_cluster_ep_publish(a, &a->eps[a->neps - 1]);
	inet_ntop(AF_INET, &e.rec.ip, ipbuf, sizeof(ipbuf));
	log_info("endpoint attached id=%s net=%s netns=%s ip=%s", e.rec.id, n->rec.name,
		 e.rec.netns[0] ? e.rec.netns : "(handed to Docker)", ipbuf);
	return 201;

err_rollback:
	drv_state_rollback(a->st);
	return 500;
}

static void h_ep_delete(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct agent *a = arg;
	struct agent_ep *e = agent_ep_find(a, req->param);
	char id[VX_EP_ID_LEN + 1];
	int ret;

	if (!e) {
		api_error(resp, 404, "not_found", "no endpoint with id \"%s\"", req->param);
		return;
	}
	snprintf(id, sizeof(id), "%s", e->rec.id);
	ret = agent_ep_remove(a, e, 1);
	if (ret) {
		api_error(resp, 500, "internal", "state database: %s", strerror(-ret));
		return;
	}
	resp->body = json_pack("{s:s}", "deleted", id);
}

int agent_ep_remove(struct agent *a, struct agent_ep *e, int with_lease)
{
	struct agent_net *n = agent_net_find(a, e->rec.net);
	int ret;

	if (drv_state_begin(a->st))
		return -EIO;
	if ((ret = drv_state_ep_delete(a->st, e->rec.id)) ||
	    (with_lease && (ret = drv_state_lease_delete(a->st, e->rec.net, e->rec.ip))) ||
	    (ret = drv_state_commit(a->st))) {
		drv_state_rollback(a->st);
		return ret;
	}
	if (e->in_dp && (ret = vx_dp_ep_del(a->dp, e->rec.id)) && ret != -ENOENT)
		log_warn("endpoint %s: kernel cleanup: %s (the reconciler retries)", e->rec.id,
			 strerror(-ret));
	if (n && with_lease)
		ipamc_release(a, n, e->rec.ip);
	a->ep_detached++;
	drv_cluster_ep_unpublish(a, e->rec.id);
	log_info("endpoint detached id=%s net=%s", e->rec.id, e->rec.net);
	*e = a->eps[--a->neps];
	return 0;
}

/* ---- datapath view, status, metrics ---- */

struct fdb_ctx {
	struct agent *a;
	json_t *arr;
};

static void fdb_row_cb(void *arg, const struct vx_fdb_row *row)
{
	struct fdb_ctx *c = arg;
	struct agent_net *n = agent_net_find_vni(c->a, row->vni);
	char mac[ADDR_MAC_STRLEN];

	addr_fmt_mac(row->mac, mac);
	json_array_append_new(c->arr,
			      json_pack("{s:o,s:I,s:s,s:s,s:o,s:o,s:I,s:b,s:s}", "network",
					n ? json_string(n->rec.name) : json_null(), "vni",
					(json_int_t)row->vni, "dev", row->dev, "mac", mac, "ip",
					json_ip_or_null(row->ip), "dst", json_ip_or_null(row->dst),
					"port", (json_int_t)row->port, "permanent", row->permanent,
					"why", vx_why_str(row->why)));
}

static void h_fdb(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct agent *a = arg;
	const char *net = api_req_query(req, "network");
	struct fdb_ctx c = {.a = a};
	uint32_t vni = 0;
	int ret;

	if (net) {
		struct agent_net *n = agent_net_find(a, net);

		if (!n) {
			api_error(resp, 404, "not_found", "no network named \"%s\"", net);
			return;
		}
		vni = n->rec.vni;
	}
	c.arr = json_array();
	ret = vx_dp_fdb_report(a->dp, vni, fdb_row_cb, &c);
	if (ret) {
		json_decref(c.arr);
		api_error(resp, 500, "kernel", "cannot read the FDB: %s", strerror(-ret));
		return;
	}
	resp->body = json_pack("{s:o}", "entries", c.arr);
}

static json_t *reconcile_json(struct agent *a)
{
	struct vx_dp_stats st;

	vx_dp_stats_get(a->dp, &st);
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "interval_ms",
			 (json_int_t)a->cfg.reconcile_ms, "runs", (json_int_t)st.runs, "created",
			 (json_int_t)st.created, "removed", (json_int_t)st.removed, "repaired",
			 (json_int_t)st.repaired, "errors", (json_int_t)st.errors, "last_error",
			 a->last_rec_err ? json_string(strerror(-a->last_rec_err)) : json_null());
}

static void h_status(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct agent *a = arg;

	resp->body = json_pack("{s:s,s:{s:s,s:s},s:I,s:s,s:s,s:o,s:I,s:I,s:I,s:o}", "version",
			       vxmesh_version, "node", "id", a->node.id, "name", a->node.name,
			       "uptime_s", (json_int_t)(time(NULL) - a->started), "state_dir",
			       a->cfg.state_dir, "socket", a->cfg.socket, "vtep",
			       json_ip_or_null(a->vtep), "vxlan_port",
			       (json_int_t)a->cfg.vxlan_port, "networks", (json_int_t)a->nnets,
			       "endpoints", (json_int_t)a->neps, "reconcile", reconcile_json(a));
	json_object_set_new(resp->body, "cluster", drv_cluster_status_json(a));
}

static void h_version(void *arg, const struct api_req *req, struct api_resp *resp)
{
	resp->body = json_pack("{s:s}", "version", vxmesh_version);
}

static void h_reconcile(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct agent *a = arg;

	agent_reconcile_now(a);
	resp->body = reconcile_json(a);
}

static void h_metrics(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct agent *a = arg;
	struct vx_dp_stats st;
	size_t len = 0, ok_eps = 0;
	char *buf = NULL;
	FILE *f = open_memstream(&buf, &len);

	if (!f) {
		api_error(resp, 500, "internal", "out of memory");
		return;
	}
	vx_dp_stats_get(a->dp, &st);
	for (size_t i = 0; i < a->neps; i++)
		ok_eps += a->eps[i].in_dp && !a->eps[i].status;
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
		(long long)(time(NULL) - a->started), a->nnets, ok_eps, a->neps - ok_eps,
		a->ep_attached, a->ep_detached, st.runs, st.created, st.removed, st.repaired,
		st.errors);
	for (unsigned c = 2; c <= 5; c++)
		fprintf(f, "vxmesh_api_requests_total{code=\"%uxx\"} %llu\n", c,
			drv_api_requests(a->api, c));
	ipamc_metrics(a, f);
	drv_cluster_metrics(a, f);
	drv_docker_metrics(a, f);
	fclose(f);
	resp->text = buf;
	resp->content_type = "text/plain; version=0.0.4";
}

static const struct api_route routes[] = {
	{"GET", "/v1/version", h_version, NULL},
	{"GET", "/v1/status", h_status, NULL},
	{"GET", "/v1/networks", h_net_list, NULL},
	{"POST", "/v1/networks", h_net_create, NULL},
	{"GET", "/v1/networks/", h_net_get, NULL},
	{"DELETE", "/v1/networks/", h_net_delete, NULL},
	{"GET", "/v1/endpoints", h_ep_list, NULL},
	{"POST", "/v1/endpoints", h_ep_create, NULL},
	{"GET", "/v1/endpoints/", h_ep_get, NULL},
	{"DELETE", "/v1/endpoints/", h_ep_delete, NULL},
	{"GET", "/v1/fdb", h_fdb, NULL},
	{"POST", "/v1/reconcile", h_reconcile, NULL},
	{"GET", "/metrics", h_metrics, NULL},
	{"GET", "/v1/members", drv_cluster_h_members, NULL},
	{"POST", "/v1/join", drv_cluster_h_join, NULL},
	{"POST", "/v1/leave", drv_cluster_h_leave, NULL},
	{"GET", "/v1/keys", drv_cluster_h_keys, NULL},
	{"POST", "/v1/keys", drv_cluster_h_key_install, NULL},
	{"PUT", "/v1/keys/primary", drv_cluster_h_key_use, NULL},
	{"DELETE", "/v1/keys", drv_cluster_h_key_remove, NULL},
	{"GET", "/v1/token", drv_cluster_h_token, NULL},
	{"GET", "/v1/ipam", ipamc_h_ipam, NULL},
	{"GET", "/v1/ipam/", ipamc_h_ipam, NULL},
	{"DELETE", "/v1/nodes/", ipamc_h_node_rm, NULL},
};

/* ---- reconciling ---- */

static void net_apply(struct agent *a, struct agent_net *n)
{
	struct vx_net_spec spec;
	int ret;

	net_spec(a, n, &spec);
	ret = vx_dp_net_put(a->dp, &spec, n->err, sizeof(n->err));
	n->in_dp = ret == 0;
	if (ret)
		log_err("network %s: %s", n->rec.name, n->err);
}

static void ep_apply(struct agent *a, struct agent_ep *e)
{
	struct agent_net *n = agent_net_find(a, e->rec.net);
	struct vx_ep_spec spec;
	int ret;

	if (!n || !n->in_dp) {
		e->status = -ENETDOWN;
		snprintf(e->err, sizeof(e->err), "network %s is not in place", e->rec.net);
		return;
	}
	ep_spec(n, e, &spec);
	ret = vx_dp_ep_put(a->dp, &spec, e->err, sizeof(e->err));
	if (ret && e->status != ret)
		log_warn("endpoint %s: %s", e->rec.id, e->err);
	e->in_dp = ret == 0;
	e->status = ret;
}

void agent_reconcile_now(struct agent *a)
{
	for (size_t i = 0; i < a->nnets; i++)
		if (!a->nets[i].in_dp)
			net_apply(a, &a->nets[i]);
	for (size_t i = 0; i < a->neps; i++)
		if (!a->eps[i].in_dp)
			ep_apply(a, &a->eps[i]);
	a->last_rec_err = vx_dp_reconcile(a->dp);
	for (size_t i = 0; i < a->neps; i++) {
		struct agent_ep *e = &a->eps[i];

		if (!e->in_dp)
			continue;
		e->status = vx_dp_ep_status(a->dp, e->rec.id);
		if (e->status)
			snprintf(e->err, sizeof(e->err), "%s", strerror(-e->status));
	}
}

static void reconcile_cb(struct rx_loop *loop, struct rx_timer *t, void *arg)
{
	struct agent *a = arg;

	agent_reconcile_now(a);
	rx_timer_arm(t, a->cfg.reconcile_ms, a->cfg.reconcile_ms / 10);
}

/* ---- start and stop ---- */

static int agent_load(struct agent *a)
{
	struct drv_net_rec *nets = NULL;
	struct drv_ep_rec *eps = NULL;
	size_t nn = 0, ne = 0;
	int ret;

	ret = drv_state_net_list(a->st, &nets, &nn);
	if (ret)
		return ret;
	ret = drv_state_ep_list(a->st, NULL, &eps, &ne);
	if (ret)
		goto out;
	a->nets = calloc(nn ? nn : 1, sizeof(*a->nets));
	a->eps = calloc(ne ? ne : 1, sizeof(*a->eps));
	if (!a->nets || !a->eps) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nn; i++) {
		struct agent_net *n = &a->nets[a->nnets];
		struct drv_lease_rec *leases = NULL;
		size_t nl = 0;

		n->rec = nets[i];
		ret = ipamc_net_open(a, n);
		if (ret) {
			log_err("network %s in the state database is invalid: %s", n->rec.name,
				ipam_strerror(ret));
			goto out;
		}
		a->nnets++;
		ret = drv_state_lease_list(a->st, n->rec.name, &leases, &nl);
		if (ret)
			goto out;
		for (size_t j = 0; j < nl; j++)
			if (ipamc_hold(n, leases[j].ip))
				log_warn("network %s: stored lease %s is not valid; ignored",
					 n->rec.name, inet_ntoa(leases[j].ip));
		free(leases);
		n->mtu = net_mtu(a, &n->rec);
		net_apply(a, n);
	}
	for (size_t i = 0; i < ne; i++) {
		a->eps[a->neps].rec = eps[i];
		ep_apply(a, &a->eps[a->neps]);
		a->neps++;
	}
	log_info("loaded %zu network(s) and %zu endpoint(s) from %s", a->nnets, a->neps,
		 a->cfg.state_dir);
	ret = 0;
out:
	free(nets);
	free(eps);
	return ret;
}

static void signal_cb(struct rx_loop *loop, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) == sizeof(si)) {
		log_info("signal %u received; stopping (kernel objects stay in place)",
			 si.ssi_signo);
		rx_loop_stop(loop);
	}
}

static int mkdir_p(const char *dir, mode_t mode)
{
	char buf[PATH_MAX];

	if (strlen(dir) >= sizeof(buf))
		return -ENAMETOOLONG;
	snprintf(buf, sizeof(buf), "%s", dir);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: vxmesh agent [OPTIONS]\n\n"
		   "Run the per-host vxmesh agent: serve the control API, keep the kernel's\n"
		   "bridges, VXLAN devices, veth pairs, FDB and neighbour entries as the state\n"
		   "database says.  Stopping the agent leaves them in place.\n\nOptions:\n");
	drv_config_usage(f);
}

static void agent_fini(struct agent *a)
{
	drv_docker_close(a);
	drv_api_close(a->api);
	drv_cluster_close(a);
	rx_timer_destroy(a->reconcile_timer);
	for (size_t i = 0; i < a->nnets; i++)
		ipamc_net_close(&a->nets[i]);
	ipamc_close(a);
	free(a->nets);
	free(a->eps);
	vx_dp_destroy(a->dp);
	vx_nl_close(a->nl);
	drv_state_close(a->st);
	if (a->sig_fd >= 0)
		close(a->sig_fd);
	if (a->lock_fd >= 0)
		close(a->lock_fd);
	rx_loop_destroy(a->loop);
}

int drv_agent_main(int argc, char **argv, int first)
{
	struct agent a = {.sig_fd = -1, .lock_fd = -1};
	char err[512], path[PATH_MAX + 16], sockdir[PATH_MAX];
	sigset_t mask;
	int ret;

	drv_config_defaults(&a.cfg);
	if (drv_config_parse_args(&a.cfg, argc, argv, first, err, sizeof(err))) {
		fprintf(stderr, "vxmesh agent: %s\n", err);
		usage(stderr);
		return 2;
	}
	if (a.cfg.help) {
		usage(stdout);
		return 0;
	}
	log_set_level((enum log_level)a.cfg.log_level);
	log_set_json(a.cfg.log_json);
	if (a.cfg.vtep[0] && addr_parse_ip4(a.cfg.vtep, &a.vtep))
		return 2; /* validated by the config table already */
	a.started = time(NULL);

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	if ((ret = rx_loop_create(&a.loop))) {
		log_err("cannot create the event loop: %s", strerror(-ret));
		return 1;
	}
	a.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	ret = a.sig_fd < 0 ? -errno : rx_io_add(a.loop, a.sig_fd, EPOLLIN, signal_cb, &a);
	if (ret) {
		log_err("cannot watch signals: %s", strerror(-ret));
		goto err;
	}
	if ((ret = mkdir_p(a.cfg.state_dir, 0700))) {
		log_err("cannot create state directory %s: %s", a.cfg.state_dir, strerror(-ret));
		goto err;
	}
	snprintf(path, sizeof(path), "%s/agent.lock", a.cfg.state_dir);
	a.lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (a.lock_fd < 0 || flock(a.lock_fd, LOCK_EX | LOCK_NB)) {
		log_err("state directory %s is in use by another agent (%s)", a.cfg.state_dir,
			strerror(errno));
		goto err;
	}
	if ((ret = drv_state_open(&a.st, a.cfg.state_dir, err, sizeof(err)))) {
		log_err("cannot open the state database in %s: %s", a.cfg.state_dir, err);
		goto err;
	}
	if ((ret = drv_state_node_get(a.st, &a.node))) {
		log_err("cannot read the node identity: %s", strerror(-ret));
		goto err;
	}
	if ((ret = vx_nl_open(&a.nl)) || (ret = vx_dp_create(&a.dp, &vx_nl_ops, a.nl))) {
		log_err("cannot open rtnetlink: %s", strerror(-ret));
		goto err;
	}
	log_info("vxmesh agent %s starting node=%s name=%s state=%s socket=%s", vxmesh_version,
		 a.node.id, a.node.name, a.cfg.state_dir, a.cfg.socket);
	if ((ret = ipamc_open(&a))) {
		log_err("out of memory");
		goto err;
	}
	if ((ret = agent_load(&a))) {
		log_err("cannot load state: %s", strerror(-ret));
		goto err;
	}
	/* The replicated tables come back from the database before the first
	 * reconcile, so remote entries survive an agent restart untouched. */
	if ((ret = drv_cluster_open(&a))) {
		log_err("cannot start gossip: %s", strerror(-ret));
		goto err;
	}
	/* The first full pass removes what a previous run left that is no
	 * longer wanted, and adopts the rest. */
	agent_reconcile_now(&a);

	snprintf(sockdir, sizeof(sockdir), "%s", a.cfg.socket);
	if (strrchr(sockdir, '/') && strrchr(sockdir, '/') != sockdir) {
		*strrchr(sockdir, '/') = '\0';
		if ((ret = mkdir_p(sockdir, 0755))) {
			log_err("cannot create %s: %s", sockdir, strerror(-ret));
			goto err;
		}
	}
	ret = drv_api_open(&a.api, a.loop, a.cfg.socket, routes, sizeof(routes) / sizeof(routes[0]),
			   &a);
	if (ret) {
		log_err("cannot serve the control API on %s: %s", a.cfg.socket,
			ret == -EADDRINUSE ? "another agent answers there" : strerror(-ret));
		goto err;
	}
	if ((ret = drv_docker_open(&a)))
		goto err;
	a.reconcile_timer = rx_timer_create(a.loop, reconcile_cb, &a);
	if (!a.reconcile_timer)
		goto err;
	rx_timer_arm(a.reconcile_timer, a.cfg.reconcile_ms, a.cfg.reconcile_ms / 10);
	log_info("ready: %zu network(s), %zu endpoint(s), reconcile every %u ms", a.nnets, a.neps,
		 a.cfg.reconcile_ms);

	ret = rx_loop_run(a.loop);
	agent_fini(&a);
	return ret ? 1 : 0;
err:
	agent_fini(&a);
	return 1;
}
