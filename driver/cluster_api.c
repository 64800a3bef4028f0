// SPDX-License-Identifier: MIT
/*
 * cluster_api: the cluster's control-API handlers (members, join, leave,
 * keys, token), its part of /v1/status and its metrics.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/reactor.h"
#include "driver/api.h"
#include "driver/cluster.h"
#include "driver/cluster_int.h"
#include "driver/core.h"
#include "driver/keyring.h"
#include "driver/values.h"
#include "gossip/swim.h"
#include "gossip/transport.h"

static const char *state_str(enum gw_state s)
{
	static const char *const names[] = {"alive", "suspect", "dead", "left"};

	return (unsigned)s < 4 ? names[s] : "unknown";
}

/* "a.b.c.d:port" */
static void hostport(char buf[32], struct in_addr ip, uint16_t port)
{
	char s[ADDR_IP4_STRLEN];

	snprintf(buf, 32, "%s:%u", addr_fmt_ip4(ip, s), port);
}

void drv_cluster_status(void *arg, json_t *status)
{
	struct drv_cluster *cl = arg;
	struct drv_core_stats cs;
	char adv[32], vtep[32];

	drv_core_stats(cl->core, &cs);
	hostport(adv, cl->adv_addr, cl->adv_port);
	hostport(vtep, cl->vtep_addr, cl->vtep_port);
	json_object_set_new(
		status, "cluster",
		json_pack(
			"{s:s,s:s,s:s,s:b,s:I,s:I,s:I,s:I,s:I}", "node_name", cl->name, "advertise",
			adv, "vtep_advertise", vtep, "encrypted", cl->kr.n > 0, "members_alive",
			(json_int_t)swim_member_count(cl->swim, GW_STATE_ALIVE), "members_suspect",
			(json_int_t)swim_member_count(cl->swim, GW_STATE_SUSPECT), "members_dead",
			(json_int_t)swim_member_count(cl->swim, GW_STATE_DEAD), "remote_endpoints",
			(json_int_t)cs.remotes, "table_clock", (json_int_t)gt_clock(cl->tab)));
}

static void metrics_messages(struct drv_cluster *cl, const struct swim_stats *ss, FILE *f)
{
	static const char *const tnames[14] = {
		"ping",	    "indirect_ping", "ack",	 "suspect", "alive", "dead", "pushpull",
		"compound", "user",	     "compress", "encrypt", "nack",  "crc",  "err",
	};

	fprintf(f, "# HELP vxmesh_members Cluster members by state, as this node sees them.\n"
		   "# TYPE vxmesh_members gauge\n");
	for (int s = 0; s < 4; s++)
		fprintf(f, "vxmesh_members{state=\"%s\"} %zu\n", state_str((enum gw_state)s),
			swim_member_count(cl->swim, (enum gw_state)s));
	fprintf(f, "# HELP vxmesh_gossip_messages_total Gossip messages by direction and type.\n"
		   "# TYPE vxmesh_gossip_messages_total counter\n");
	for (int t = 0; t < 14; t++)
		fprintf(f,
			"vxmesh_gossip_messages_total{dir=\"in\",type=\"%s\"} %llu\n"
			"vxmesh_gossip_messages_total{dir=\"out\",type=\"%s\"} %llu\n",
			tnames[t], ss->msgs_in[t], tnames[t], ss->msgs_out[t]);
}

void drv_cluster_metrics(void *arg, FILE *f)
{
	struct drv_cluster *cl = arg;
	struct drv_core_stats cs;
	struct swim_stats ss;
	struct gx_stats gs;

	drv_core_stats(cl->core, &cs);
	swim_stats_get(cl->swim, &ss);
	gx_stats_get(cl->gx, &gs);
	metrics_messages(cl, &ss, f);
	fprintf(f,
		"# HELP vxmesh_gossip_bytes_total Gossip bytes on the wire.\n"
		"# TYPE vxmesh_gossip_bytes_total counter\n"
		"vxmesh_gossip_bytes_total{proto=\"udp\",dir=\"in\"} %llu\n"
		"vxmesh_gossip_bytes_total{proto=\"udp\",dir=\"out\"} %llu\n"
		"vxmesh_gossip_bytes_total{proto=\"tcp\",dir=\"in\"} %llu\n"
		"vxmesh_gossip_bytes_total{proto=\"tcp\",dir=\"out\"} %llu\n"
		"# HELP vxmesh_gossip_errors_total Gossip input dropped, by reason.\n"
		"# TYPE vxmesh_gossip_errors_total counter\n"
		"vxmesh_gossip_errors_total{reason=\"decode\"} %llu\n"
		"vxmesh_gossip_errors_total{reason=\"decrypt\"} %llu\n"
		"vxmesh_gossip_errors_total{reason=\"stream\"} %llu\n"
		"vxmesh_gossip_errors_total{reason=\"table_update\"} %llu\n"
		"# HELP vxmesh_table_entries Replicated table entries.\n"
		"# TYPE vxmesh_table_entries gauge\n"
		"vxmesh_table_entries{kind=\"network\",state=\"live\"} %zu\n"
		"vxmesh_table_entries{kind=\"network\",state=\"tombstone\"} %zu\n"
		"vxmesh_table_entries{kind=\"endpoint\",state=\"live\"} %zu\n"
		"vxmesh_table_entries{kind=\"endpoint\",state=\"tombstone\"} %zu\n"
		"# HELP vxmesh_remote_endpoints Remote endpoints programmed in the kernel.\n"
		"# TYPE vxmesh_remote_endpoints gauge\nvxmesh_remote_endpoints %zu\n"
		"# HELP vxmesh_cluster_conflicts_total Network or address conflicts seen.\n"
		"# TYPE vxmesh_cluster_conflicts_total counter\nvxmesh_cluster_conflicts_total "
		"%llu\n",
		gs.udp_bytes_in, gs.udp_bytes_out, gs.tcp_bytes_in, gs.tcp_bytes_out,
		ss.decode_errors, gs.decrypt_failures, gs.stream_errors, cl->user_bad,
		gt_count(cl->tab, GT_KIND_NET, 0),
		gt_count(cl->tab, GT_KIND_NET, 1) - gt_count(cl->tab, GT_KIND_NET, 0),
		gt_count(cl->tab, GT_KIND_EP, 0),
		gt_count(cl->tab, GT_KIND_EP, 1) - gt_count(cl->tab, GT_KIND_EP, 0), cs.remotes,
		cl->conflicts + cs.addr_conflicts);
}

/* ---- handlers ---- */

static json_t *member_json(const struct swim_member *m, uint64_t now)
{
	struct drv_peer_info pi;
	char addr[32], vtep[32];

	drv_meta_decode(m->meta, m->meta_len, &pi, 1);
	hostport(addr, m->addr, m->port);
	hostport(vtep, pi.vtep, pi.vtep_port);
	return json_pack("{s:s,s:s,s:o,s:s,s:o,s:s,s:I,s:I,s:b,s:o}", "name", m->name, "kind",
			 pi.vxmesh ? "vxmesh" : "other", "id",
			 pi.vxmesh ? json_string(pi.id) : json_null(), "addr", addr, "vtep",
			 pi.vxmesh ? json_string(vtep) : json_null(), "state", state_str(m->state),
			 "incarnation", (json_int_t)m->inc, "last_change_ms_ago",
			 (json_int_t)(now >= m->state_change ? now - m->state_change : 0), "self",
			 m->is_self, "tags", pi.tags);
}

static void h_members(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct drv_cluster *cl = arg;
	uint64_t now = rx_now_ms(cl->loop);
	struct swim_member *ms;
	json_t *arr;
	size_t n;

	if (swim_members(cl->swim, &ms, &n)) {
		api_error(resp, 500, "internal", "out of memory");
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, member_json(&ms[i], now));
	free(ms);
	resp->body = json_pack("{s:o}", "members", arr);
}

static void h_join(void *arg, const struct api_req *req, struct api_resp *resp)
{
	static const struct api_field fields[] = {{"addrs", JSON_ARRAY, 0}};
	struct drv_cluster *cl = arg;
	json_t *addrs = req->body ? json_object_get(req->body, "addrs") : NULL;
	struct in_addr ips[64];
	uint16_t ports[64];
	size_t n;
	int ret;

	if (API_BODY_CHECK(req->body, fields, resp))
		return;
	n = json_is_array(addrs) ? json_array_size(addrs) : 0;
	if (!n || n > 64) {
		api_error(resp, 400, "invalid_argument",
			  "field \"addrs\" must be an array of 1 to 64 \"ADDR[:PORT]\"");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(addrs, i));

		ports[i] = DRV_GOSSIP_PORT;
		if (!s || addr_parse_hostport(s, &ips[i], &ports[i])) {
			api_error(resp, 400, "invalid_argument", "\"%s\" is not ADDR[:PORT]",
				  s ? s : "(not a string)");
			return;
		}
	}
	/* Remembered (once each) so a lonely agent keeps knocking. */
	for (size_t i = 0; i < n; i++)
		if ((ret = drv_cluster_seeds_add(cl,
						 json_string_value(json_array_get(addrs, i))))) {
			api_error(resp, 500, "internal", "%s", strerror(-ret));
			return;
		}
	ret = swim_join(cl->swim, rx_now_ms(cl->loop), ips, ports, n);
	gx_kick(cl->gx);
	if (ret) {
		api_error(resp, 500, "internal", "join could not start: %s", strerror(-ret));
		return;
	}
	resp->status = 202;
	resp->body = json_pack("{s:I}", "contacting", (json_int_t)n);
}

static void h_leave(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct drv_cluster *cl = arg;
	uint8_t *intent;
	size_t len;

	if (cl->leaving) {
		resp->status = 202;
		resp->body = json_pack("{s:b}", "leaving", 1);
		return;
	}
	if (drv_serf_leave_encode(cl->name, &intent, &len) ||
	    swim_broadcast_user(cl->swim, "serf-leave", intent, len))
		log_warn("gossip: cannot queue the leave intent");
	free(intent);
	if (swim_leave(cl->swim, rx_now_ms(cl->loop))) {
		api_error(resp, 500, "internal", "leave could not start");
		return;
	}
	gx_kick(cl->gx);
	cl->leaving = 1;
	rx_timer_arm(cl->timer, 100, 0);
	log_info("leaving the cluster on request");
	resp->status = 202;
	resp->body = json_pack("{s:b}", "leaving", 1);
}

static void h_keys(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct drv_cluster *cl = arg;
	json_t *arr = json_array();

	for (unsigned i = 0; i < cl->kr.n; i++) {
		char fp[DRV_FINGERPRINT_LEN];

		drv_key_fingerprint(cl->kr.keys[i], fp);
		json_array_append_new(arr,
				      json_pack("{s:s,s:b}", "fingerprint", fp, "primary", i == 0));
	}
	resp->body = json_pack("{s:b,s:o}", "encrypted", cl->kr.n > 0, "keys", arr);
}

/* The body's key, decoded; 0 or an error already in resp. */
static int body_key(const struct api_req *req, struct api_resp *resp, uint8_t key[GW_KEY_LEN])
{
	static const struct api_field fields[] = {{"key", JSON_STRING, 0}};
	const char *b64 = api_body_str(req->body, "key");

	if (API_BODY_CHECK(req->body, fields, resp))
		return -EINVAL;
	if (!b64 || drv_key_from_b64(b64, key)) {
		api_error(resp, 400, "invalid_argument",
			  "field \"key\" must be a base64 32-byte key ('vxmesh key generate')");
		return -EINVAL;
	}
	return 0;
}

static void key_op(struct drv_cluster *cl, const struct api_req *req, struct api_resp *resp,
		   int (*op)(struct gw_keyring *, const uint8_t *), const char *what)
{
	uint8_t key[GW_KEY_LEN];
	char fp[DRV_FINGERPRINT_LEN];
	int ret;

	if (!cl->kr.n) {
		api_error(resp, 409, "conflict",
			  "gossip is not encrypted; restart the agents with --encrypt KEY first");
		return;
	}
	if (body_key(req, resp, key)) {
		sodium_memzero(key, sizeof(key));
		return;
	}
	drv_key_fingerprint(key, fp);
	ret = op(&cl->kr, key);
	sodium_memzero(key, sizeof(key));
	if (ret == -EEXIST || ret == -ENOENT || ret == -EBUSY || ret == -ENOSPC) {
		api_error_errno(resp, ret, "internal", "key %s: %s", fp,
				ret == -EEXIST	 ? "already installed"
				: ret == -ENOENT ? "not installed"
				: ret == -EBUSY
					? "it is the primary key; make another primary first"
					: "the keyring is full");
		return;
	}
	if (ret || (ret = drv_keyring_save(&cl->kr, cl->keyring_path))) {
		api_error(resp, 500, "internal", "keyring: %s", strerror(-ret));
		return;
	}
	log_info("gossip key %s %s", fp, what);
	drv_cluster_keys_push(cl);
	h_keys(cl, req, resp);
}

static void h_key_install(void *arg, const struct api_req *req, struct api_resp *resp)
{
	key_op(arg, req, resp, gw_keyring_install, "installed");
}

static void h_key_use(void *arg, const struct api_req *req, struct api_resp *resp)
{
	key_op(arg, req, resp, gw_keyring_use, "is now primary");
}

static void h_key_remove(void *arg, const struct api_req *req, struct api_resp *resp)
{
	key_op(arg, req, resp, gw_keyring_remove, "removed");
}

static void h_token(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct drv_cluster *cl = arg;
	char seed[32], *tok;

	hostport(seed, cl->adv_addr, cl->adv_port);
	tok = drv_token_encode(seed, cl->kr.n ? cl->kr.keys[0] : NULL);
	if (!tok) {
		api_error(resp, 500, "internal", "out of memory");
		return;
	}
	resp->body = json_pack("{s:s,s:b}", "token", tok, "carries_key", cl->kr.n > 0);
	sodium_memzero(tok, strlen(tok));
	free(tok);
}

const struct api_route drv_cluster_routes[] = {
	{"GET", "/v1/members", h_members, NULL},    {"POST", "/v1/join", h_join, NULL},
	{"POST", "/v1/leave", h_leave, NULL},	    {"GET", "/v1/keys", h_keys, NULL},
	{"POST", "/v1/keys", h_key_install, NULL},  {"PUT", "/v1/keys/primary", h_key_use, NULL},
	{"DELETE", "/v1/keys", h_key_remove, NULL}, {"GET", "/v1/token", h_token, NULL},
};
const size_t drv_cluster_nroutes = sizeof(drv_cluster_routes) / sizeof(drv_cluster_routes[0]);
