// SPDX-License-Identifier: MIT
/*
 * values: codecs of node meta, table values and Serf envelopes (values.h).
 */
#include "driver/values.h"

#include <errno.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/addr.h"
#include "common/mpread.h"
#include "common/version.h"
#include "driver/alloc.h"
#include "gossip/wire.h"
#include "ipam/ipam.h"
#include "vxlan/vxlan.h"

#define SERF_PUSHPULL 0x02
/* Peers' meta and push/pull state: no Serf payload nests deeper than this. */
#define MP_DEPTH 32

/* ---- msgpack ---- */

/* Go-style raw string (fixstr/str16/str32), as memberlist's peers expect. */
static void pack_raw(msgpack_packer *pk, const void *p, size_t len)
{
	msgpack_pack_v4raw(pk, (uint32_t)len);
	msgpack_pack_v4raw_body(pk, p, len);
}

static void pack_str(msgpack_packer *pk, const char *s)
{
	pack_raw(pk, s, strlen(s));
}

/* The next object: 0 with its bytes when it is a str or bin, else skipped
 * and 1; -EBADMSG when malformed. */
static int mp_raw(struct mpr *r, const uint8_t **p, size_t *len)
{
	struct mpr at = *r;
	struct mpr_obj o;

	if (mpr_head(r, &o))
		return -EBADMSG;
	if (o.type == MPR_STR || o.type == MPR_BIN) {
		*p = o.ptr;
		*len = o.len;
		return 0;
	}
	*r = at;
	return mpr_skip(r, MP_DEPTH) ? -EBADMSG : 1;
}

/* A top-level map whose contents are all well formed: 0 and *n pairs. */
static int mp_map(struct mpr *r, uint64_t *n)
{
	struct mpr chk = *r;
	struct mpr_obj o;

	if (mpr_skip(&chk, MP_DEPTH) || mpr_head(r, &o) || o.type != MPR_MAP)
		return -EBADMSG;
	*n = o.u;
	return 0;
}

static int raw_str(const uint8_t *p, size_t n, char *dst, size_t size)
{
	if (n >= size || memchr(p, '\0', n))
		return -EINVAL;
	memcpy(dst, p, n);
	dst[n] = '\0';
	return 0;
}

/* msgpack_sbuffer memory is malloc()ed: hand it over. */
static int sbuf_take(msgpack_sbuffer *sb, uint8_t **buf, size_t *len)
{
	if (!sb->data) {
		*buf = NULL;
		*len = 0;
		return -ENOMEM;
	}
	*buf = (uint8_t *)sb->data;
	*len = sb->size;
	return 0;
}

/* ---- node meta ---- */

int drv_meta_encode(const char *id, struct in_addr vtep, uint16_t vtep_port, uint16_t enc_port,
		    uint64_t enc_session, uint8_t *out, size_t *len)
{
	char vt[32], ip[ADDR_IP4_STRLEN], enc[32];
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int ret = 0;

	snprintf(vt, sizeof(vt), "%s:%u", addr_fmt_ip4(vtep, ip), vtep_port);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_sbuffer_write(&sb, "\xff", 1);
	msgpack_pack_map(&pk, enc_port ? 4 : 3);
	pack_str(&pk, "id");
	pack_str(&pk, id);
	pack_str(&pk, "vtep");
	pack_str(&pk, vt);
	if (enc_port) {
		snprintf(enc, sizeof(enc), "%u:%016llx", enc_port, (unsigned long long)enc_session);
		pack_str(&pk, "enc");
		pack_str(&pk, enc);
	}
	pack_str(&pk, "vxmesh");
	pack_str(&pk, vxmesh_version);
	if (sb.size > GW_META_MAX)
		ret = -E2BIG;
	else
		memcpy(out, sb.data, sb.size);
	*len = sb.size;
	msgpack_sbuffer_destroy(&sb);
	return ret;
}

/* "PORT:SESSION" (16 hex digits, not 0); anything else means no
 * encrypted datapath. */
static void enc_tag(const char *v, struct drv_peer_info *pi)
{
	const char *colon = strchr(v, ':');
	unsigned long port;
	char *end;

	if (!colon || strlen(colon + 1) != 16 || strspn(colon + 1, "0123456789abcdef") != 16)
		return;
	port = strtoul(v, &end, 10);
	if (end != colon || v == colon || port < 1 || port > 65535)
		return;
	pi->enc_session = strtoull(colon + 1, NULL, 16);
	pi->enc_port = pi->enc_session ? (uint16_t)port : 0;
}

void drv_meta_decode(const uint8_t *meta, size_t len, struct drv_peer_info *pi, int want_tags)
{
	struct mpr r;
	uint64_t n;

	memset(pi, 0, sizeof(*pi));
	if (want_tags)
		pi->tags = json_object();
	if (len < 1 || meta[0] != 0xff)
		return;
	mpr_init(&r, meta + 1, len - 1);
	if (mp_map(&r, &n) == 0) {
		for (uint64_t i = 0; i < n; i++) {
			const uint8_t *kp, *vp;
			size_t kn, vn;
			char k[64], v[256];
			int kr = mp_raw(&r, &kp, &kn), vr = mp_raw(&r, &vp, &vn);

			if (kr || vr || raw_str(kp, kn, k, sizeof(k)) ||
			    raw_str(vp, vn, v, sizeof(v)))
				continue;
			if (pi->tags)
				json_object_set_new(pi->tags, k, json_string(v));
			if (!strcmp(k, "vxmesh"))
				pi->vxmesh = 1;
			/* Refused, not cut, when too long: a cut id could name
			 * another node. */
			else if (!strcmp(k, "id") && raw_str(vp, vn, pi->id, sizeof(pi->id)))
				pi->id[0] = '\0';
			else if (!strcmp(k, "vtep") &&
				 addr_parse_hostport(v, &pi->vtep, &pi->vtep_port))
				pi->vtep.s_addr = 0;
			else if (!strcmp(k, "enc"))
				enc_tag(v, pi);
		}
	}
	if (!pi->id[0] || !pi->vtep.s_addr)
		pi->vxmesh = 0;
}

/* ---- table values ---- */

static uint8_t *json_value(json_t *o, size_t *len)
{
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	json_decref(o);
	*len = s ? strlen(s) : 0;
	return (uint8_t *)s;
}

uint8_t *drv_net_value(const struct drv_net_rec *r, size_t *len)
{
	char sub[ADDR_PREFIX_STRLEN], gw[ADDR_IP4_STRLEN];

	json_t *o;

	addr_fmt_prefix(&r->subnet, sub);
	o = json_pack("{s:I,s:s,s:o,s:I,s:I,s:s}", "vni", (json_int_t)r->vni, "subnet", sub,
		      "gateway", r->gw.s_addr ? json_string(addr_fmt_ip4(r->gw, gw)) : json_null(),
		      "mtu", (json_int_t)r->mtu, "port", (json_int_t)(r->encrypted ? 0 : r->port),
		      "ring", r->ring);
	/* Only when set: a plaintext network's value is what older agents
	 * wrote.  An encrypted one says port 0, which agents older than
	 * encrypted networks refuse, rather than carry it as plaintext VXLAN. */
	if (o && r->encrypted && json_object_set_new(o, "encrypted", json_true())) {
		json_decref(o);
		o = NULL;
	}
	return json_value(o, len);
}

int drv_net_parse(const struct gt_entry *e, struct drv_net_rec *r)
{
	json_int_t vni, mtu, port;
	const char *sub, *ring = "";
	int enc = 0;
	json_t *o, *gw;
	int ret = -EINVAL;

	memset(r, 0, sizeof(*r));
	if (!e->value || !drv_net_name_ok(e->key))
		return -EINVAL;
	o = json_loadb((const char *)e->value, e->value_len, JSON_REJECT_DUPLICATES, NULL);
	if (!o ||
	    json_unpack(o, "{s:I,s:s,s:o,s:I,s:I,s?s,s?b}", "vni", &vni, "subnet", &sub, "gateway",
			&gw, "mtu", &mtu, "port", &port, "ring", &ring, "encrypted", &enc))
		goto out;
	if (!drv_alloc_ring_id_ok(ring))
		goto out;
	memcpy(r->ring, ring, strlen(ring) + 1);
	if (vni < 1 || vni > VX_VNI_MAX || (mtu && mtu < 576) || mtu < 0 || mtu > 65535 ||
	    (enc ? port != 0 : port < 1) || port > 65535 || addr_parse_prefix(sub, 1, &r->subnet) ||
	    r->subnet.len < IPAM_PLEN_MIN || r->subnet.len > IPAM_PLEN_MAX)
		goto out;
	if (!json_is_null(gw) &&
	    (!json_is_string(gw) || addr_parse_ip4(json_string_value(gw), &r->gw) ||
	     !addr_prefix_contains(&r->subnet, r->gw)))
		goto out;
	memcpy(r->name, e->key, strlen(e->key) + 1);
	r->vni = (uint32_t)vni;
	r->mtu = (unsigned)mtu;
	r->port = enc ? VX_PORT_DEFAULT : (uint16_t)port;
	r->encrypted = enc;
	r->created = time(NULL);
	ret = 0;
out:
	json_decref(o);
	return ret;
}

uint8_t *drv_ep_value(const struct drv_ep_rec *r, struct in_addr vtep, uint16_t vtep_port,
		      const char *host, size_t *len)
{
	char mac[ADDR_MAC_STRLEN], ip[ADDR_IP4_STRLEN], vip[ADDR_IP4_STRLEN], vt[32];

	addr_fmt_mac(r->mac, mac);
	snprintf(vt, sizeof(vt), "%s:%u", addr_fmt_ip4(vtep, vip), vtep_port);
	return json_value(json_pack("{s:s,s:s,s:s,s:s,s:s}", "net", r->net, "ip",
				    addr_fmt_ip4(r->ip, ip), "mac", mac, "vtep", vt, "host", host),
			  len);
}

int drv_ep_parse(const struct gt_entry *e, struct drv_ep_val *v)
{
	const char *net, *ip, *mac, *vtep;
	json_t *o;
	int ret = -EINVAL;

	memset(v, 0, sizeof(*v));
	if (!e->value)
		return -EINVAL;
	o = json_loadb((const char *)e->value, e->value_len, JSON_REJECT_DUPLICATES, NULL);
	if (!o ||
	    json_unpack(o, "{s:s,s:s,s:s,s:s}", "net", &net, "ip", &ip, "mac", &mac, "vtep", &vtep))
		goto out;
	if (strlen(net) >= sizeof(v->net) || addr_parse_ip4(ip, &v->ip) ||
	    addr_parse_mac(mac, v->mac) || !addr_mac_is_unicast(v->mac) ||
	    addr_parse_hostport(vtep, &v->vtep, &v->vtep_port) || !v->vtep.s_addr)
		goto out;
	if (!v->vtep_port)
		v->vtep_port = VX_PORT_DEFAULT;
	snprintf(v->net, sizeof(v->net), "%s", net);
	ret = 0;
out:
	json_decref(o);
	return ret;
}

/* ---- Serf envelopes ---- */

int drv_pushpull_encode(const uint8_t *tab, size_t tlen, uint8_t **buf, size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_sbuffer_write(&sb, "\x02", 1);
	msgpack_pack_map(&pk, 7);
	pack_str(&pk, "EventLTime");
	msgpack_pack_uint64(&pk, 1);
	pack_str(&pk, "LTime");
	msgpack_pack_uint64(&pk, 1);
	pack_str(&pk, "LeftMembers");
	msgpack_pack_array(&pk, 0);
	pack_str(&pk, "QueryLTime");
	msgpack_pack_uint64(&pk, 1);
	pack_str(&pk, "StatusLTimes");
	msgpack_pack_map(&pk, 0);
	pack_str(&pk, "Vxmesh");
	pack_raw(&pk, tab, tlen);
	pack_str(&pk, "VxmeshVersion");
	msgpack_pack_uint64(&pk, 1);
	return sbuf_take(&sb, buf, len);
}

int drv_pushpull_decode(const uint8_t *buf, size_t len,
			void (*cb)(void *arg, const uint8_t *tab, size_t tlen), void *arg)
{
	struct mpr r;
	uint64_t m;
	int bad = 0;

	if (len < 2 || buf[0] != SERF_PUSHPULL)
		return -EBADMSG;
	mpr_init(&r, buf + 1, len - 1);
	if (mp_map(&r, &m))
		return -EBADMSG;
	for (uint64_t i = 0; i < m; i++) {
		const uint8_t *kp, *p;
		size_t kn, n;
		int kr = mp_raw(&r, &kp, &kn);

		if (kr || kn != 6 || memcmp(kp, "Vxmesh", 6)) {
			/* Cannot fail: mp_map() checked the whole map. */
			if (mpr_skip(&r, MP_DEPTH))
				return -EBADMSG;
			continue;
		}
		if (mp_raw(&r, &p, &n)) {
			bad++;
			continue;
		}
		cb(arg, p, n);
	}
	return bad;
}

int drv_serf_leave_encode(const char *node, uint8_t **buf, size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_sbuffer_write(&sb, "\x00", 1);
	msgpack_pack_map(&pk, 3);
	pack_str(&pk, "LTime");
	msgpack_pack_uint64(&pk, 1);
	pack_str(&pk, "Node");
	pack_str(&pk, node);
	pack_str(&pk, "Prune");
	msgpack_pack_false(&pk);
	return sbuf_take(&sb, buf, len);
}
