// SPDX-License-Identifier: MIT
/*
 * docker_plugin: Docker's legacy remote NetworkDriver + IpamDriver (see
 * docker.h and docs/docker.md).
 *
 * Call order on `docker network create -d vxmesh --ipam-driver vxmesh N`:
 * RequestPool, (RequestAddress for aux addresses), CreateNetwork.  On
 * container start: RequestAddress, CreateEndpoint, Join; on stop: Leave,
 * DeleteEndpoint, ReleaseAddress.  Errors are HTTP 500 {"Err": "..."}
 * (api.c's Docker style) for both interfaces.
 *
 * Addresses come from the cluster-wide allocator through the core:
 * RequestAddress leases (lease row owner "docker"), CreateEndpoint only
 * records the endpoint, Join creates the veth pair with its peer left in
 * this namespace for Docker to move into the container, and the core
 * publishes the endpoint.
 */
#include "driver/docker_int.h"

#include <stdarg.h>
#include <sys/random.h>
#include <time.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/reactor.h"
#include "driver/alloc.h"
#include "driver/api.h"
#include "driver/cluster.h"
#include "driver/config.h"
#include "driver/core.h"
#include "driver/dockerc.h"
#include "driver/state.h"
#include "ipam/ipam.h"

static struct drv_docker *dk(void *arg)
{
	struct drv_docker *d = arg;

	d->calls++;
	return d;
}

static void dk_err(struct drv_docker *d, struct api_resp *resp, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void dk_err(struct drv_docker *d, struct api_resp *resp, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	d->errors++;
	log_warn("docker: %s", msg);
	api_error(resp, 500, "docker", "vxmesh: %s", msg);
}

/* A refused or pending lease: an error, or deferred while a peer is asked. */
static void dk_lease_err(struct drv_docker *d, const struct api_req *req, struct api_resp *resp,
			 int err, const char *why)
{
	if (err == -EAGAIN && !req->expired)
		api_defer(resp, DRV_ALLOC_DEFER_MS);
	else if (err == -EAGAIN)
		dk_err(d, resp, "timed out: %s", why);
	else
		dk_err(d, resp, "%s", why);
}

/* The want-table of calls that name one endpoint. */
static const struct api_field endpoint_fields[] = {
	{"EndpointID", JSON_STRING, 0},
};

/* The body's want-table check, answered as a Docker error. */
#define DK_BODY(d, body, resp, f) dk_body(d, body, resp, f, sizeof(f) / sizeof((f)[0]))
static int dk_body(struct drv_docker *d, const json_t *body, struct api_resp *resp,
		   const struct api_field *f, size_t n)
{
	char why[160];

	if (!api_body_why(body, f, n, why, sizeof(why)))
		return 0;
	dk_err(d, resp, "%s", why);
	return -EINVAL;
}

static json_t *empty(void)
{
	return json_object();
}

/* The vxmesh network n is bound to differs from what Docker was told (it
 * was replaced in the cluster, or the binding failed before a restart). */
static int mismatch(const struct dk_net *n, const struct drv_net *an, char *why, size_t len)
{
	char sub[ADDR_PREFIX_STRLEN], have[ADDR_PREFIX_STRLEN];

	addr_fmt_prefix(&n->pool, sub);
	addr_fmt_prefix(&an->rec.subnet, have);
	if (!dk_prefix_eq(&n->pool, &an->rec.subnet))
		snprintf(why, len,
			 "the vxmesh network \"%s\" has subnet %s, not %s: create the Docker "
			 "network with --subnet %s (or pick another name)",
			 an->rec.name, have, sub, have);
	else if (n->encrypted != an->rec.encrypted)
		snprintf(why, len,
			 "the vxmesh network \"%s\" is %s: create the Docker network %s -o "
			 "encrypted (or pick another name)",
			 an->rec.name, an->rec.encrypted ? "encrypted" : "not encrypted",
			 an->rec.encrypted ? "with" : "without");
	else if (n->vni && n->vni != an->rec.vni)
		snprintf(why, len,
			 "the vxmesh network \"%s\" has VNI %u, not %u: drop -o vxmesh.vni or use "
			 "-o vxmesh.vni=%u",
			 an->rec.name, an->rec.vni, n->vni, an->rec.vni);
	else
		return 0;
	return 1;
}

/* The vxmesh network behind a Docker network, or NULL with resp set
 * (error, or deferred while its name is looked up). */
static const struct drv_net *dk_vxnet(struct drv_docker *d, const struct api_req *req,
				      struct api_resp *resp, const char *netid)
{
	struct dk_net *n = netid ? dk_net_find(d, netid) : NULL;
	const struct drv_net *an;
	char why[sizeof(n->err)];

	if (!n) {
		dk_err(d, resp,
		       "unknown network %.12s: vxmesh has no record of it (was it created while "
		       "the agent ran with another state directory?); remove and create it again",
		       netid ? netid : "(none)");
		return NULL;
	}
	if (n->err[0]) {
		dk_err(d, resp, "%s", n->err);
		return NULL;
	}
	an = n->name[0] ? drv_core_net_find(d->core, n->name) : NULL;
	if (an && mismatch(n, an, why, sizeof(why))) {
		dk_err(d, resp, "%s", why);
		return NULL;
	}
	if (an)
		return an;
	if (req->expired && n->name[0])
		dk_err(d, resp,
		       "network %.12s is not ready: its vxmesh network \"%s\" has not reached this "
		       "host (see vxmesh net ls and the agent's log)",
		       n->id, n->name);
	else if (req->expired)
		dk_err(d, resp,
		       "network %.12s is not ready: its name is unknown (is dockerd's API socket "
		       "reachable at %s? else create the network with -o vxmesh.name=NAME)",
		       n->id, d->cfg->docker_socket);
	else
		api_defer(resp, DRV_ALLOC_DEFER_MS);
	return NULL;
}

/* ---- binding a Docker network to a vxmesh network ---- */

/* Create or join vxmesh network name for n.  0, or -1 with n->err set. */
static int dk_bind(struct drv_docker *d, struct dk_net *n, const char *name)
{
	char err[160];
	struct drv_net_rec rec = {0};
	const struct drv_net *an;

	snprintf(n->name, sizeof(n->name), "%s", name);
	an = drv_core_net_find(d->core, name);
	if (an)
		return mismatch(n, an, n->err, sizeof(n->err)) ? -1 : 0;
	/* Known to the cluster, not yet made here: bound by name; dk_vxnet()
	 * checks it when it arrives. */
	if (drv_cluster_net_known(d->cl, name))
		return 0;
	snprintf(rec.name, sizeof(rec.name), "%s", name);
	rec.subnet = n->pool;
	rec.gw = n->gw;
	rec.vni = n->vni;
	rec.mtu = n->mtu;
	rec.port = (uint16_t)d->cfg->vxlan_port;
	rec.encrypted = n->encrypted;
	if (drv_core_net_create(d->core, &rec, err, sizeof(err))) {
		snprintf(n->err, sizeof(n->err), "cannot create vxmesh network \"%s\": %s", name,
			 err);
		return -1;
	}
	log_info("docker: network %.12s is vxmesh network %s (created)", n->id, name);
	return 0;
}

static void lookup_done(void *arg, int err, long status, json_t *body, const char *msg);

static void lookup_start(struct drv_docker *d)
{
	for (size_t i = 0; i < d->nnets; i++) {
		struct dk_net *n = &d->nets[i];
		char path[128];

		if (n->name[0] || n->err[0] || n->lookup_busy || !d->dkc)
			continue;
		snprintf(path, sizeof(path), "/networks/%s", n->id);
		if (dkc_request(d->dkc, "GET", path, NULL, DOCKER_TIMEOUT_MS, lookup_done, d) == 0)
			n->lookup_busy = 1;
	}
}

void dk_lookup_timer_cb(struct rx_loop *loop, struct rx_timer *t, void *arg)
{
	lookup_start(arg);
}

void dk_lookup_apply(struct drv_docker *d, int err, json_t *body, const char *msg)
{
	const char *id = dk_jstr(body, "Id"), *name = dk_jstr(body, "Name");
	int again = 0;

	for (size_t i = 0; i < d->nnets; i++) {
		struct dk_net *n = &d->nets[i];
		int ret;

		if (!n->lookup_busy || (id && strcmp(id, n->id)))
			continue;
		if (!id) {
			/* No answer to tell which: each failed one counts a try. */
			n->lookup_busy = 0;
			if (++n->lookups >= LOOKUP_TRIES)
				snprintf(n->err, sizeof(n->err),
					 "cannot learn the name of Docker network %.12s from "
					 "dockerd "
					 "(%s); create it with -o vxmesh.name=NAME",
					 n->id, err ? strerror(-err) : msg);
			else
				again = 1;
			break;
		}
		n->lookup_busy = 0;
		if (!name || !name[0]) {
			again = 1;
			continue;
		}
		if (!drv_net_name_ok(name)) {
			snprintf(n->err, sizeof(n->err),
				 "Docker network name \"%.80s\" cannot be a vxmesh network name "
				 "(at most %d of A-Z a-z 0-9 _ . -); create it with "
				 "-o vxmesh.name=NAME",
				 name, VX_NET_NAME_MAX - 1);
			ret = -1;
		} else {
			ret = dk_bind(d, n, name);
		}
		/* A failed binding is not stored: it is looked up (and its error
		 * found) again after a restart. */
		if (ret < 0)
			n->name[0] = '\0';
		dk_net_save(d, n);
		dk_records_apply(d);
		drv_api_retry(d->plugin);
	}
	if (again)
		rx_timer_arm(d->lookup_timer, LOOKUP_MS, 0);
}

static void lookup_done(void *arg, int err, long status, json_t *body, const char *msg)
{
	dk_lookup_apply(arg, err, body, msg);
}

/* ---- NetworkDriver ---- */

static void h_activate(void *arg, const struct api_req *req, struct api_resp *resp)
{
	resp->body = json_pack("{s:[s,s]}", "Implements", "NetworkDriver", "IpamDriver");
}

static void h_net_caps(void *arg, const struct api_req *req, struct api_resp *resp)
{
	resp->body = json_pack("{s:s,s:s}", "Scope", "local", "ConnectivityScope", "global");
}

static void h_ok(void *arg, const struct api_req *req, struct api_resp *resp)
{
	resp->body = empty();
}

/* Options of CreateNetwork: -o k=v arrive under com.docker.network.generic. */
static int net_opts(struct drv_docker *d, const json_t *opts, struct dk_net *n, char *name,
		    struct api_resp *resp)
{
	const json_t *gen = json_object_get(opts, OPT_GENERIC);
	const char *k;
	json_t *v;

	name[0] = '\0';
	json_object_foreach((json_t *)gen, k, v)
	{
		const char *s = json_string_value(v);
		unsigned long num;

		if (!s)
			continue;
		if (!strcmp(k, "vxmesh.name")) {
			if (!drv_net_name_ok(s)) {
				dk_err(d, resp,
				       "-o vxmesh.name=%.80s: expected 1-%d of A-Z a-z 0-9 _ . - "
				       "starting with a letter or digit",
				       s, VX_NET_NAME_MAX - 1);
				return -1;
			}
			snprintf(name, VX_NET_NAME_MAX, "%s", s);
		} else if (!strcmp(k, "vxmesh.vni")) {
			char *end;

			num = strtoul(s, &end, 10);
			if (*end || !*s || num < 1 || num > VX_VNI_MAX) {
				dk_err(d, resp, "-o vxmesh.vni=%s: expected 1-%u", s, VX_VNI_MAX);
				return -1;
			}
			n->vni = (uint32_t)num;
		} else if (!strcmp(k, "com.docker.network.driver.mtu") ||
			   !strcmp(k, "vxmesh.mtu")) {
			char *end;

			num = strtoul(s, &end, 10);
			if (*end || !*s || num < 576 || num > 65535) {
				dk_err(d, resp, "-o %s=%s: expected 576-65535", k, s);
				return -1;
			}
			n->mtu = (unsigned)num;
		} else if (!strcmp(k, "vxmesh.external")) {
			if (strcmp(s, "true") && strcmp(s, "false")) {
				dk_err(d, resp, "-o vxmesh.external=%s: expected true or false", s);
				return -1;
			}
			n->no_external = !strcmp(s, "false");
		} else if (!strcmp(k, "encrypted")) {
			/* Docker's overlay option: "-o encrypted" (any value but false). */
			n->encrypted = strcmp(s, "false") != 0;
		} else if (!strcmp(k, "vxmesh.encrypted")) {
			if (strcmp(s, "true") && strcmp(s, "false")) {
				dk_err(d, resp, "-o vxmesh.encrypted=%s: expected true or false",
				       s);
				return -1;
			}
			n->encrypted = !strcmp(s, "true");
		} else if (!strncmp(k, "vxmesh.", 7)) {
			dk_err(d, resp,
			       "unknown option -o %s (known: vxmesh.name, vxmesh.vni, vxmesh.mtu, "
			       "vxmesh.external, vxmesh.encrypted, encrypted)",
			       k);
			return -1;
		}
	}
	return 0;
}

static void h_create_network(void *arg, const struct api_req *req, struct api_resp *resp)
{
	static const struct api_field fields[] = {
		{"NetworkID", JSON_STRING, 0},
		{"IPv4Data", JSON_ARRAY, 0},
		{"IPv6Data", JSON_ARRAY, 0},
		{"Options", JSON_OBJECT, 0},
	};
	struct drv_docker *d = dk(arg);
	const char *id = dk_jstr(req->body, "NetworkID"), *pool, *gw;
	const json_t *v4 = json_object_get(req->body, "IPv4Data"), *v6;
	char name[VX_NET_NAME_MAX], why[320];
	const struct drv_net *nets;
	struct dk_net n = {0};
	size_t nnets;

	if (DK_BODY(d, req->body, resp, fields))
		return;
	if (!dk_id_ok(id)) {
		dk_err(d, resp, "CreateNetwork without a valid NetworkID");
		return;
	}
	v6 = json_object_get(req->body, "IPv6Data");
	if (json_array_size(v6)) {
		dk_err(d, resp, "IPv6 is not supported; create the network without --ipv6");
		return;
	}
	if (json_array_size(v4) != 1) {
		dk_err(d, resp, "exactly one IPv4 subnet is supported (got %zu)",
		       json_array_size(v4));
		return;
	}
	pool = dk_jstr(json_array_get(v4, 0), "Pool");
	gw = dk_jstr(json_array_get(v4, 0), "Gateway");
	if (!pool || addr_parse_prefix(pool, 1, &n.pool) || n.pool.len < IPAM_PLEN_MIN ||
	    n.pool.len > IPAM_PLEN_MAX) {
		dk_err(d, resp, "subnet \"%s\": expected an IPv4 CIDR from /%d to /%d",
		       pool ? pool : "", IPAM_PLEN_MIN, IPAM_PLEN_MAX);
		return;
	}
	if (gw) {
		if (dk_cidr_ip(gw, &n.gw) || !addr_prefix_contains(&n.pool, n.gw)) {
			dk_err(d, resp, "gateway \"%s\" is not inside %s", gw, pool);
			return;
		}
	}
	snprintf(n.id, sizeof(n.id), "%s", id);
	if (net_opts(d, json_object_get(req->body, "Options"), &n, name, resp))
		return;
	if (dk_net_find(d, id)) {
		resp->body = empty(); /* a repeated call */
		return;
	}
	/* Refused now, not at the name lookup after this call has returned:
	 * else `docker network create` succeeds and only containers fail. */
	if (n.encrypted && drv_core_enc_ready(d->core, why, sizeof(why))) {
		dk_err(d, resp, "cannot create an encrypted network on this host: %s", why);
		return;
	}
	/* Only the same subnet can be the same network; refuse overlaps now. */
	nets = drv_core_nets(d->core, &nnets);
	for (size_t i = 0; i < nnets; i++) {
		const struct drv_net *an = &nets[i];
		char sub[ADDR_PREFIX_STRLEN];

		if (!addr_prefix_overlaps(&an->rec.subnet, &n.pool) ||
		    (an->rec.subnet.addr.s_addr == n.pool.addr.s_addr &&
		     an->rec.subnet.len == n.pool.len))
			continue;
		addr_fmt_prefix(&an->rec.subnet, sub);
		dk_err(d, resp, "subnet %s overlaps vxmesh network \"%s\" (%s)", pool, an->rec.name,
		       sub);
		return;
	}
	if (dk_grow((void **)&d->nets, d->nnets, sizeof(n))) {
		dk_err(d, resp, "out of memory");
		return;
	}
	if (name[0] && dk_bind(d, &n, name)) {
		dk_err(d, resp, "%s", n.err);
		return;
	}
	d->nets[d->nnets++] = n;
	dk_net_save(d, &n);
	dk_records_apply(d);
	if (!n.name[0]) {
		d->nets[d->nnets - 1].lookups = 0;
		rx_timer_arm(d->lookup_timer, LOOKUP_MS, 0);
	}
	log_info("docker: network %.12s created (subnet %s%s%s)", id, pool, n.name[0] ? ", " : "",
		 n.name);
	resp->body = empty();
}

static void h_delete_network(void *arg, const struct api_req *req, struct api_resp *resp)
{
	static const struct api_field fields[] = {
		{"NetworkID", JSON_STRING, 0},
	};
	struct drv_docker *d = dk(arg);
	const char *id = dk_jstr(req->body, "NetworkID");
	struct dk_net *n = id ? dk_net_find(d, id) : NULL;
	const struct drv_net *an;
	char err[256];
	int shared = 0;

	if (DK_BODY(d, req->body, resp, fields))
		return;
	if (!n) {
		resp->body = empty(); /* nothing of ours: already gone */
		return;
	}
	/* Only the vxmesh network this Docker network really uses, and only
	 * when no other Docker network here is bound to it. */
	an = n->name[0] && !n->err[0] ? drv_core_net_find(d->core, n->name) : NULL;
	if (an && mismatch(n, an, err, sizeof(err)))
		an = NULL;
	for (size_t i = 0; an && i < d->nnets; i++)
		shared |=
			&d->nets[i] != n && !d->nets[i].err[0] && !strcmp(d->nets[i].name, n->name);
	/* dockerd deletes networks without endpoints only: ours left on it are
	 * stale (dockerd lost them) and would keep the vxmesh network busy. */
	for (size_t i = 0; i < d->neps;) {
		if (strcmp(d->eps[i].net, n->id)) {
			i++;
			continue;
		}
		log_warn("docker: network %.12s is deleted: dropping its stale endpoint %.12s",
			 n->id, d->eps[i].id);
		dk_ep_drop(d, &d->eps[i]);
	}
	if (an && !shared) {
		if (drv_core_net_destroy(d->core, n->name, err, sizeof(err))) {
			dk_err(d, resp,
			       "%s (a Docker network vxmesh is one network on every host; it goes "
			       "when no host uses it)",
			       err);
			return;
		}
		log_info("docker: network %s removed cluster-wide", n->name);
	}
	(void)drv_state_kv_delete(d->st, NS_NET, n->id);
	*n = d->nets[--d->nnets];
	resp->body = empty();
}

/* Leased here by RequestAddress (a lease row owned by "docker"). */
static int docker_leased(struct drv_docker *d, const char *net, struct in_addr ip)
{
	char owner[sizeof(((struct drv_lease_rec *)0)->owner)];

	return !drv_core_lease_owner(d->core, net, ip, owner, sizeof(owner)) &&
	       !strcmp(owner, LEASE_OWNER);
}

static void h_create_endpoint(void *arg, const struct api_req *req, struct api_resp *resp)
{
	static const struct api_field fields[] = {
		{"NetworkID", JSON_STRING, 0},
		{"EndpointID", JSON_STRING, 0},
		{"Interface", JSON_OBJECT, 0},
	};
	static const struct api_field itf_fields[] = {
		{"Address", JSON_STRING, 0},
		{"MacAddress", JSON_STRING, 0},
		{"AddressIPv6", JSON_STRING, 0},
	};
	struct drv_docker *d = dk(arg);
	const char *netid = dk_jstr(req->body, "NetworkID"),
		   *epid = dk_jstr(req->body, "EndpointID");
	const json_t *itf = json_object_get(req->body, "Interface");
	const char *addr = dk_jstr(itf, "Address"), *mac = dk_jstr(itf, "MacAddress"),
		   *addr6 = dk_jstr(itf, "AddressIPv6");
	const struct drv_net *an;
	struct dk_ep e = {0};
	char ip[ADDR_IP4_STRLEN], macs[ADDR_MAC_STRLEN];
	int chose_mac = 0;

	if (DK_BODY(d, req->body, resp, fields) || DK_BODY(d, itf, resp, itf_fields))
		return;
	if (!dk_id_ok(epid)) {
		dk_err(d, resp, "CreateEndpoint without a valid EndpointID");
		return;
	}
	if (dk_ep_find(d, epid)) {
		dk_err(d, resp, "endpoint %.12s already exists", epid);
		return;
	}
	if (addr6 && addr6[0]) {
		dk_err(d, resp, "IPv6 addresses are not supported");
		return;
	}
	an = dk_vxnet(d, req, resp, netid);
	if (!an)
		return;
	if (!addr || !addr[0]) {
		dk_err(d, resp, "endpoint %.12s has no IPv4 address (use --ipam-driver vxmesh)",
		       epid);
		return;
	}
	if (dk_cidr_ip(addr, &e.ip) || !addr_prefix_contains(&an->rec.subnet, e.ip)) {
		dk_err(d, resp, "address %s is not inside network %s", addr, an->rec.name);
		return;
	}
	if (mac && mac[0]) {
		if (addr_parse_mac(mac, e.mac) || !addr_mac_is_unicast(e.mac)) {
			dk_err(d, resp, "MAC %s is not a unicast MAC address", mac);
			return;
		}
	} else {
		if (getrandom(e.mac, sizeof(e.mac), 0) != (ssize_t)sizeof(e.mac)) {
			dk_err(d, resp, "no randomness for a MAC address");
			return;
		}
		e.mac[0] = (uint8_t)((e.mac[0] & 0xfe) | 0x02);
		chose_mac = 1;
	}
	addr_fmt_ip4(e.ip, ip);
	for (size_t i = 0; i < d->neps; i++) {
		const struct dk_net *o = dk_net_find(d, d->eps[i].net);

		if (d->eps[i].ip.s_addr == e.ip.s_addr && o && !strcmp(o->name, an->rec.name)) {
			dk_err(d, resp, "address %s is already in use by endpoint %.12s", ip,
			       d->eps[i].id);
			return;
		}
	}
	if (dk_grow((void **)&d->eps, d->neps, sizeof(e))) {
		dk_err(d, resp, "out of memory");
		return;
	}
	/* Not from our RequestAddress (Docker's own IPAM gave it): lease it
	 * cluster-wide here, which fails if any host holds it. */
	if (!docker_leased(d, an->rec.name, e.ip)) {
		struct in_addr got;
		char why[512];
		int ret = drv_core_lease(d->core, an->rec.name, &e.ip, LEASE_OWNER, &got, why,
					 sizeof(why));

		if (ret) {
			dk_lease_err(d, req, resp, ret, why);
			return;
		}
		e.own_lease = 1;
	}
	snprintf(e.id, sizeof(e.id), "%s", epid);
	snprintf(e.net, sizeof(e.net), "%s", netid);
	d->eps[d->neps++] = e;
	dk_ep_save(d, &e);
	addr_fmt_mac(e.mac, macs);
	resp->body = chose_mac ? json_pack("{s:{s:s}}", "Interface", "MacAddress", macs) : empty();
}

static void h_delete_endpoint(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct drv_docker *d = dk(arg);
	const char *epid = dk_jstr(req->body, "EndpointID");
	struct dk_ep *e = epid ? dk_ep_find(d, epid) : NULL;

	if (DK_BODY(d, req->body, resp, endpoint_fields))
		return;
	/* Unknown: dockerd cleans up endpoints of dead containers at start. */
	if (e)
		dk_ep_drop(d, e);
	resp->body = empty();
}

static void h_join(void *arg, const struct api_req *req, struct api_resp *resp)
{
	static const struct api_field fields[] = {
		{"NetworkID", JSON_STRING, 0},
		{"EndpointID", JSON_STRING, 0},
	};
	struct drv_docker *d = dk(arg);
	const char *epid = dk_jstr(req->body, "EndpointID"),
		   *netid = dk_jstr(req->body, "NetworkID");
	struct dk_ep *e = epid ? dk_ep_find(d, epid) : NULL;
	struct drv_ep_rec rec = {0};
	const struct drv_net *an;
	struct dk_net *n;
	uint8_t rnd[VX_EP_ID_LEN / 2];
	char err[256];

	if (DK_BODY(d, req->body, resp, fields))
		return;
	if (!e || !netid || strcmp(e->net, netid)) {
		dk_err(d, resp,
		       "unknown endpoint %.12s in network %.12s: vxmesh has no record of it; "
		       "remove the container and start it again",
		       epid ? epid : "", netid ? netid : "");
		return;
	}
	an = dk_vxnet(d, req, resp, netid);
	if (!an)
		return;
	n = dk_net_find(d, netid);
	if (e->vx[0] && !drv_core_ep_find(d->core, e->vx)) {
		/* Its vxmesh endpoint was removed behind Docker's back (vxmesh ep
		 * rm, lost state): SrcName would name nothing, make a new one. */
		log_warn("docker: endpoint %.12s: vxmesh endpoint %s is gone; creating another",
			 e->id, e->vx);
		e->vx[0] = '\0';
	}
	if (!e->vx[0]) {
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
			dk_err(d, resp, "no randomness for an endpoint id");
			return;
		}
		for (size_t i = 0; i < sizeof(rnd); i++)
			snprintf(rec.id + 2 * i, 3, "%02x", rnd[i]);
		snprintf(rec.net, sizeof(rec.net), "%s", an->rec.name);
		snprintf(rec.ifname, sizeof(rec.ifname), "vxd%.12s", rec.id);
		rec.ip = e->ip;
		memcpy(rec.mac, e->mac, 6);
		rec.created = time(NULL);
		if (drv_core_ep_add(d->core, &rec, err, sizeof(err))) {
			dk_err(d, resp, "cannot create the interface: %s", err);
			return;
		}
		snprintf(e->vx, sizeof(e->vx), "%s", rec.id);
		dk_ep_save(d, e);
	}
	snprintf(err, sizeof(err), "vxd%.12s", e->vx);
	resp->body = json_pack("{s:{s:s,s:s},s:b}", "InterfaceName", "SrcName", err, "DstPrefix",
			       "eth", "DisableGatewayService", n && n->no_external);
}

static void h_leave(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct drv_docker *d = dk(arg);
	const char *epid = dk_jstr(req->body, "EndpointID");
	struct dk_ep *e = epid ? dk_ep_find(d, epid) : NULL;

	if (DK_BODY(d, req->body, resp, endpoint_fields))
		return;
	if (e) {
		dk_leave(d, e);
		dk_ep_save(d, e);
	}
	resp->body = empty();
}

static void h_oper_info(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct drv_docker *d = dk(arg);
	const char *epid = dk_jstr(req->body, "EndpointID");
	struct dk_ep *e = epid ? dk_ep_find(d, epid) : NULL;
	struct dk_net *n = e ? dk_net_find(d, e->net) : NULL;

	if (DK_BODY(d, req->body, resp, endpoint_fields))
		return;
	if (!e) {
		dk_err(d, resp,
		       "unknown endpoint %.12s: vxmesh has no record of it; remove the container "
		       "and start it again",
		       epid ? epid : "");
		return;
	}
	resp->body = json_pack("{s:{s:s,s:s}}", "Value", "vxmesh.endpoint", e->vx, "vxmesh.network",
			       n ? n->name : "");
}

/* ---- IpamDriver ---- */

static void h_ipam_caps(void *arg, const struct api_req *req, struct api_resp *resp)
{
	resp->body = json_pack("{s:b,s:b}", "RequiresMACAddress", 0, "RequiresRequestReplay", 0);
}

static void h_spaces(void *arg, const struct api_req *req, struct api_resp *resp)
{
	resp->body = json_pack("{s:s,s:s}", "LocalDefaultAddressSpace", "vxmesh",
			       "GlobalDefaultAddressSpace", "vxmesh");
}

static void h_request_pool(void *arg, const struct api_req *req, struct api_resp *resp)
{
	static const struct api_field fields[] = {
		{"Pool", JSON_STRING, 0},
		{"SubPool", JSON_STRING, 0},
		{"V6", JSON_TRUE, 0},
		{"Options", JSON_OBJECT, 0},
	};
	struct drv_docker *d = dk(arg);
	const char *pool = dk_jstr(req->body, "Pool"), *sub = dk_jstr(req->body, "SubPool");
	char id[ADDR_PREFIX_STRLEN + 16], s[ADDR_PREFIX_STRLEN], gw[ADDR_PREFIX_STRLEN + 4];
	struct dk_pool p = {0}, *have;
	const struct drv_net *an;

	if (DK_BODY(d, req->body, resp, fields))
		return;
	if (json_is_true(json_object_get(req->body, "V6"))) {
		dk_err(d, resp, "IPv6 is not supported; create the network without --ipv6");
		return;
	}
	if (sub && sub[0]) {
		dk_err(d, resp, "--ip-range is not supported: the whole subnet is shared");
		return;
	}
	if (pool && pool[0]) {
		if (addr_parse_prefix(pool, 1, &p.pool) || p.pool.len < IPAM_PLEN_MIN ||
		    p.pool.len > IPAM_PLEN_MAX) {
			dk_err(d, resp,
			       "subnet \"%s\": expected an IPv4 CIDR from /%d to /%d "
			       "with no host bits set",
			       pool, IPAM_PLEN_MIN, IPAM_PLEN_MAX);
			return;
		}
	} else {
		/* Docker asks again while earlier picks overlap host routes; never
		 * hand out a pool that is held. */
		struct addr_prefix held[64];
		size_t nheld = 0;

		for (size_t i = 0; i < d->npools && nheld < 64; i++)
			held[nheld++] = d->pools[i].pool;
		if (drv_core_subnet_pick(d->core, held, nheld, &p.pool)) {
			dk_err(d, resp, "no unused /%u left in the default pool %s; give --subnet",
			       d->cfg->default_subnet_len, d->cfg->default_pool);
			return;
		}
		p.picked = 1;
	}
	addr_fmt_prefix(&p.pool, s);
	snprintf(id, sizeof(id), "vxmesh-%s", s);
	*strchr(id, '/') = '_';
	have = dk_pool_find(d, id);
	an = dk_vxnet_by_subnet(d, &p.pool);
	if (have) {
		have->refs++;
		dk_pool_save(d, have);
		p = *have;
	} else {
		p.refs = 1;
		if (an)
			p.gw = an->rec.gw;
		else
			p.gw.s_addr = htonl(ntohl(p.pool.addr.s_addr) + 1);
		snprintf(p.id, sizeof(p.id), "%s", id);
		if (dk_grow((void **)&d->pools, d->npools, sizeof(p))) {
			dk_err(d, resp, "out of memory");
			return;
		}
		d->pools[d->npools++] = p;
		dk_pool_save(d, &p);
	}
	resp->body = json_pack("{s:s,s:s,s:{}}", "PoolID", id, "Pool", s, "Data");
	if (p.gw.s_addr) {
		snprintf(gw, sizeof(gw), "%s/%u", ADDR_IP4_STR(p.gw), p.pool.len);
		json_object_set_new(json_object_get(resp->body, "Data"),
				    "com.docker.network.gateway", json_string(gw));
	}
}

static void h_release_pool(void *arg, const struct api_req *req, struct api_resp *resp)
{
	static const struct api_field fields[] = {
		{"PoolID", JSON_STRING, 0},
	};
	struct drv_docker *d = dk(arg);
	const char *id = dk_jstr(req->body, "PoolID");
	struct dk_pool *p = id ? dk_pool_find(d, id) : NULL;

	if (DK_BODY(d, req->body, resp, fields))
		return;
	if (p && p->refs > 1) {
		p->refs--;
		dk_pool_save(d, p);
	} else if (p) {
		(void)drv_state_kv_delete(d->st, NS_POOL, p->id);
		*p = d->pools[--d->npools];
	}
	resp->body = empty();
}

static void h_request_address(void *arg, const struct api_req *req, struct api_resp *resp)
{
	static const struct api_field fields[] = {
		{"PoolID", JSON_STRING, 0},
		{"Address", JSON_STRING, 0},
		{"Options", JSON_OBJECT, 0},
	};
	struct drv_docker *d = dk(arg);
	const char *id = dk_jstr(req->body, "PoolID"), *addr = dk_jstr(req->body, "Address");
	const char *type = dk_jstr(json_object_get(req->body, "Options"), "RequestAddressType");
	struct dk_pool *p = id ? dk_pool_find(d, id) : NULL;
	struct in_addr want, got;
	const struct drv_net *an;
	char out[ADDR_PREFIX_STRLEN + 4], why[512];
	int ret;

	if (DK_BODY(d, req->body, resp, fields))
		return;
	if (!p) {
		dk_err(d, resp,
		       "unknown pool %s: vxmesh has no record of it; remove the network and create "
		       "it again",
		       id ? id : "(none)");
		return;
	}
	if (addr && addr[0] &&
	    (addr_parse_ip4(addr, &want) || !addr_prefix_contains(&p->pool, want))) {
		char s[ADDR_PREFIX_STRLEN];

		addr_fmt_prefix(&p->pool, s);
		dk_err(d, resp, "address \"%s\" is not inside the network's subnet %s", addr, s);
		return;
	}
	if (type && !strcmp(type, "com.docker.network.gateway")) {
		if (addr && addr[0])
			p->gw = want;
		dk_pool_save(d, p);
		snprintf(out, sizeof(out), "%s/%u", ADDR_IP4_STR(p->gw), p->pool.len);
		resp->body = json_pack("{s:s,s:{}}", "Address", out, "Data");
		return;
	}
	an = dk_vxnet_by_subnet(d, &p->pool);
	for (size_t i = 0; !an && i < d->nnets; i++) {
		/* A container's address on a network not bound yet: wait for it. */
		if (!dk_prefix_eq(&d->nets[i].pool, &p->pool))
			continue;
		an = dk_vxnet(d, req, resp, d->nets[i].id);
		if (!an)
			return;
	}
	if (!an) {
		/* Before CreateNetwork: an --aux-address, held once the network exists. */
		if (!addr || !addr[0]) {
			dk_err(d, resp, "pool %s has no network yet", p->id);
			return;
		}
		if (p->naux >= DK_AUX_MAX) {
			dk_err(d, resp, "at most %d --aux-address per network", DK_AUX_MAX);
			return;
		}
		p->aux[p->naux++] = want;
		dk_pool_save(d, p);
		snprintf(out, sizeof(out), "%s/%u", addr, p->pool.len);
		resp->body = json_pack("{s:s,s:{}}", "Address", out, "Data");
		return;
	}
	ret = drv_core_lease(d->core, an->rec.name, addr && addr[0] ? &want : NULL, LEASE_OWNER,
			     &got, why, sizeof(why));
	if (ret) {
		dk_lease_err(d, req, resp, ret, why);
		return;
	}
	snprintf(out, sizeof(out), "%s/%u", ADDR_IP4_STR(got), p->pool.len);
	resp->body = json_pack("{s:s,s:{}}", "Address", out, "Data");
}

static void h_release_address(void *arg, const struct api_req *req, struct api_resp *resp)
{
	static const struct api_field fields[] = {
		{"PoolID", JSON_STRING, 0},
		{"Address", JSON_STRING, 0},
	};
	struct drv_docker *d = dk(arg);
	const char *id = dk_jstr(req->body, "PoolID"), *addr = dk_jstr(req->body, "Address");
	struct dk_pool *p = id ? dk_pool_find(d, id) : NULL;
	const struct drv_ep *eps;
	const struct drv_net *an;
	struct in_addr ip;
	size_t neps;

	if (DK_BODY(d, req->body, resp, fields))
		return;
	resp->body = empty();
	if (!p || !addr || addr_parse_ip4(addr, &ip) || ip.s_addr == p->gw.s_addr)
		return;
	an = dk_vxnet_by_subnet(d, &p->pool);
	if (!an)
		return;
	/* Only leases RequestAddress made (not --aux-address reservations,
	 * not leases of `vxmesh ep create`), and none still in use. */
	if (!docker_leased(d, an->rec.name, ip))
		return;
	eps = drv_core_eps(d->core, &neps);
	for (size_t i = 0; i < neps; i++)
		if (!strcmp(eps[i].rec.net, an->rec.name) && eps[i].rec.ip.s_addr == ip.s_addr) {
			log_warn("docker: ReleaseAddress %s while endpoint %s uses it; kept", addr,
				 eps[i].rec.id);
			return;
		}
	for (size_t i = 0; i < d->neps; i++) {
		const struct dk_net *n = dk_net_find(d, d->eps[i].net);

		if (d->eps[i].ip.s_addr == ip.s_addr && n && !strcmp(n->name, an->rec.name)) {
			log_warn("docker: ReleaseAddress %s of Docker endpoint %.12s; kept", addr,
				 d->eps[i].id);
			return;
		}
	}
	dk_release_lease(d, an->rec.name, ip);
}

const struct api_route dk_plugin_routes[] = {
	{"POST", "/Plugin.Activate", h_activate, NULL},
	{"POST", "/NetworkDriver.GetCapabilities", h_net_caps, NULL},
	{"POST", "/NetworkDriver.CreateNetwork", h_create_network, NULL},
	{"POST", "/NetworkDriver.DeleteNetwork", h_delete_network, NULL},
	{"POST", "/NetworkDriver.AllocateNetwork", h_ok, NULL},
	{"POST", "/NetworkDriver.FreeNetwork", h_ok, NULL},
	{"POST", "/NetworkDriver.CreateEndpoint", h_create_endpoint, NULL},
	{"POST", "/NetworkDriver.DeleteEndpoint", h_delete_endpoint, NULL},
	{"POST", "/NetworkDriver.EndpointOperInfo", h_oper_info, NULL},
	{"POST", "/NetworkDriver.Join", h_join, NULL},
	{"POST", "/NetworkDriver.Leave", h_leave, NULL},
	{"POST", "/NetworkDriver.ProgramExternalConnectivity", h_ok, NULL},
	{"POST", "/NetworkDriver.RevokeExternalConnectivity", h_ok, NULL},
	{"POST", "/NetworkDriver.DiscoverNew", h_ok, NULL},
	{"POST", "/NetworkDriver.DiscoverDelete", h_ok, NULL},
	{"POST", "/IpamDriver.GetCapabilities", h_ipam_caps, NULL},
	{"POST", "/IpamDriver.GetDefaultAddressSpaces", h_spaces, NULL},
	{"POST", "/IpamDriver.RequestPool", h_request_pool, NULL},
	{"POST", "/IpamDriver.ReleasePool", h_release_pool, NULL},
	{"POST", "/IpamDriver.RequestAddress", h_request_address, NULL},
	{"POST", "/IpamDriver.ReleaseAddress", h_release_address, NULL},
};

const size_t dk_plugin_nroutes = sizeof(dk_plugin_routes) / sizeof(dk_plugin_routes[0]);
