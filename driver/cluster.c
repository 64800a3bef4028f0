// SPDX-License-Identifier: MIT
/*
 * cluster: gossip wiring of the agent.
 *
 * What travels, and how:
 *  - membership: swim (memberlist 0.2.2 dialect), so serf agents can join;
 *  - node meta: Serf's tag format (0xff + msgpack map) with our tags
 *    vxmesh=<version>, id=<node id>, vtep=<addr:port>; `serf members`
 *    shows them as tags;
 *  - table updates: user messages whose payload starts with VXM_MSG_ENTRY
 *    (0x80: Serf ignores types >= 10), carrying one gt_entry;
 *  - whole tables: the push/pull user state, wrapped as a valid Serf
 *    push/pull state (type 2, all clocks 1, nothing left, no events) with an
 *    extra "Vxmesh" key that Serf's decoder skips.  So a serf peer merges
 *    nothing and logs nothing, and a vxmesh peer finds the table.
 * Entry values are compact JSON, readable in a packet capture.
 *
 * Every table change is written to the state database, then turned into
 * kernel state by a deferred sync: networks in the table become local
 * networks; endpoints of other hosts become remote FDB/neighbour entries
 * while their host is alive (withdrawn while it is dead or left), and
 * their addresses are held in the local IPAM pool so this host never hands
 * them out.  Owners not yet seen by swim (just after a restart) keep their
 * entries for OWNER_GRACE_MS, so a restart does not drop traffic.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <msgpack.h>
#include <net/if.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/version.h"
#include "common/addr.h"
#include "common/log.h"
#include "common/mpread.h"
#include "common/reactor.h"
#include "driver/agent_int.h"
#include "driver/api.h"
#include "driver/cluster.h"
#include "driver/ipamc.h"
#include "gossip/swim.h"
#include "gossip/table.h"
#include "gossip/transport.h"
#include "gossip/wire.h"
#include "ipam/ipam.h"
#include "vxlan/vxlan.h"

#define VXM_MSG_ENTRY	     0x80
#define SERF_PUSHPULL	     0x02
#define SERF_LEAVE	     0x00
#define OWNER_GRACE_MS	     30000
#define TOMBSTONE_MAX_AGE_MS (24ull * 3600 * 1000)
#define JOIN_RETRY_MS	     2000
#define HOUSEKEEPING_MS	     10000
#define TOKEN_PREFIX	     "vxm1."
#define DIRECT_FANOUT_MAX    32 /* members, self included */

struct claim {
	char net[VX_NET_NAME_MAX];
	struct in_addr ip;
};

struct unstored {
	uint8_t kind;
	char key[GT_KEY_MAX];
};

struct drv_cluster {
	struct agent *a;
	struct gw_keyring kr;
	char keyring_path[PATH_MAX + 16];
	struct gx *gx;
	struct swim *swim;
	struct gt_table *tab;
	struct in_addr adv_addr, vtep_addr;
	uint16_t adv_port, vtep_port;
	char name[GW_NAME_MAX];
	uint64_t started;
	int loading; /* replaying the database: do not write back */
	int sync_pending;
	int leaving;
	struct rx_timer *timer; /* join retries, grace expiry, reaping */
	struct in_addr *seeds;
	uint16_t *seed_ports;
	size_t nseeds;
	struct vx_remote *installed;
	size_t ninstalled;
	struct claim *claims;
	size_t nclaims;
	unsigned long long user_msgs, user_foreign, user_bad, merged, conflicts;
	unsigned long long logged_bad; /* bad input already reported */
	int persist_err;	       /* the last table change could not be stored */
	struct unstored *unstored;     /* changes the database refused: to forget */
	size_t nunstored;
	char **stale; /* start-up scratch: own stale entries */
	size_t nstale;
};

/* ---- small codecs ---- */

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

static int meta_encode(struct drv_cluster *cl, uint8_t *out, size_t *len)
{
	char vtep[32];
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int ret = 0;

	snprintf(vtep, sizeof(vtep), "%s:%u", inet_ntoa(cl->vtep_addr), cl->vtep_port);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_sbuffer_write(&sb, "\xff", 1);
	msgpack_pack_map(&pk, 3);
	pack_str(&pk, "id");
	pack_str(&pk, cl->a->node.id);
	pack_str(&pk, "vtep");
	pack_str(&pk, vtep);
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

/* Peers' meta and push/pull state: no Serf payload nests deeper than this. */
#define MP_DEPTH 32

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

/* What a member's meta says about it. */
struct peer_info {
	int vxmesh;
	char id[GT_ID_MAX];
	struct in_addr vtep;
	uint16_t vtep_port;
	json_t *tags; /* every tag, for `members` (NULL unless asked) */
};

static void meta_decode(const uint8_t *meta, size_t len, struct peer_info *pi, int want_tags)
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
			else if (!strcmp(k, "id"))
				snprintf(pi->id, sizeof(pi->id), "%.63s", v);
			else if (!strcmp(k, "vtep") &&
				 addr_parse_hostport(v, &pi->vtep, &pi->vtep_port))
				pi->vtep.s_addr = 0;
		}
	}
	if (!pi->id[0] || !pi->vtep.s_addr)
		pi->vxmesh = 0;
}

/* ---- keyring file: a JSON array of base64 keys, primary first (Serf's format) ---- */

static int key_from_b64(const char *b64, uint8_t key[GW_KEY_LEN])
{
	size_t len = 0;

	if (sodium_base642bin(key, GW_KEY_LEN, b64, strlen(b64), NULL, &len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) ||
	    len != GW_KEY_LEN)
		return -EINVAL;
	return 0;
}

static void key_fingerprint(const uint8_t key[GW_KEY_LEN], char out[24])
{
	uint8_t h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, key, GW_KEY_LEN);
	snprintf(out, 24, "sha256:%02x%02x%02x%02x%02x%02x%02x%02x", h[0], h[1], h[2], h[3], h[4],
		 h[5], h[6], h[7]);
}

static int keyring_save(struct drv_cluster *cl)
{
	char tmp[sizeof(cl->keyring_path) + 8],
		b64[sodium_base64_ENCODED_LEN(GW_KEY_LEN, sodium_base64_VARIANT_ORIGINAL)];
	json_t *arr = json_array();
	int ret = 0;
	FILE *f;
	int fd;

	for (unsigned i = 0; i < cl->kr.n; i++) {
		sodium_bin2base64(b64, sizeof(b64), cl->kr.keys[i], GW_KEY_LEN,
				  sodium_base64_VARIANT_ORIGINAL);
		json_array_append_new(arr, json_string(b64));
	}
	sodium_memzero(b64, sizeof(b64));
	snprintf(tmp, sizeof(tmp), "%s.tmp", cl->keyring_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	/* A stale tmp file keeps its mode through O_CREAT. */
	if (fd >= 0 && fchmod(fd, 0600)) {
		close(fd);
		fd = -1;
	}
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	/* Unbuffered: no stdio buffer is left holding the keys. */
	if (f)
		setvbuf(f, NULL, _IONBF, 0);
	if (!f || json_dumpf(arr, f, 0) || fflush(f) || fsync(fileno(f)))
		ret = -EIO;
	if (f)
		fclose(f);
	else if (fd >= 0)
		close(fd);
	if (!ret && rename(tmp, cl->keyring_path))
		ret = -errno;
	if (ret)
		unlink(tmp);
	/* jansson copied the strings; wipe them before freeing. */
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *s = json_array_get(arr, i);

		sodium_memzero((void *)json_string_value(s), json_string_length(s));
	}
	json_decref(arr);
	return ret;
}

static int keyring_load(struct drv_cluster *cl)
{
	json_error_t jerr;
	struct stat sb;
	json_t *arr;
	int ret = 0;

	if (stat(cl->keyring_path, &sb)) {
		if (errno == ENOENT)
			return 0;
		return -errno;
	}
	if (sb.st_mode & 077) {
		log_err("%s is readable by others (mode %03o); refusing to use it: chmod 600 it",
			cl->keyring_path, (unsigned)(sb.st_mode & 0777));
		return -EPERM;
	}
	arr = json_load_file(cl->keyring_path, 0, &jerr);
	if (!json_is_array(arr)) {
		log_err("%s: not a JSON array of base64 keys (%s)", cl->keyring_path, jerr.text);
		json_decref(arr);
		return -EINVAL;
	}
	for (size_t i = 0; i < json_array_size(arr) && !ret; i++) {
		const char *b64 = json_string_value(json_array_get(arr, i));
		uint8_t key[GW_KEY_LEN];

		if (!b64 || key_from_b64(b64, key)) {
			log_err("%s: entry %zu is not a base64 32-byte key", cl->keyring_path, i);
			ret = -EINVAL;
		} else if (gw_keyring_install(&cl->kr, key) == -ENOSPC) {
			ret = -ENOSPC;
		}
		sodium_memzero(key, sizeof(key));
	}
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *s = json_array_get(arr, i);

		if (json_is_string(s))
			sodium_memzero((void *)json_string_value(s), json_string_length(s));
	}
	json_decref(arr);
	return ret;
}

/* ---- table values ---- */

static uint8_t *net_value(const struct drv_net_rec *r, size_t *len)
{
	char sub[ADDR_PREFIX_STRLEN];
	char *s;
	json_t *o;

	addr_fmt_prefix(&r->subnet, sub);
	o = json_pack("{s:I,s:s,s:o,s:I,s:I,s:s}", "vni", (json_int_t)r->vni, "subnet", sub,
		      "gateway", r->gw.s_addr ? json_string(inet_ntoa(r->gw)) : json_null(), "mtu",
		      (json_int_t)r->mtu, "port", (json_int_t)r->port, "ring", r->ring);
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	*len = s ? strlen(s) : 0;
	return (uint8_t *)s;
}

/* A network name as the API accepts it: it ends up in kernel aliases,
 * interface names, logs and metrics labels. */
static int net_name_ok(const char *s)
{
	size_t len = strlen(s);

	if (!len || len >= VX_NET_NAME_MAX || !isalnum((unsigned char)s[0]))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return 0;
	return 1;
}

/* Parse a network value (validated field by field); 0 or -EINVAL. */
static int net_parse(const struct gt_entry *e, struct drv_net_rec *r)
{
	json_int_t vni, mtu, port;
	const char *sub, *ring = "";
	json_t *o, *gw;
	int ret = -EINVAL;

	memset(r, 0, sizeof(*r));
	if (!e->value || !net_name_ok(e->key))
		return -EINVAL;
	o = json_loadb((const char *)e->value, e->value_len, JSON_REJECT_DUPLICATES, NULL);
	if (!o || json_unpack(o, "{s:I,s:s,s:o,s:I,s:I,s?s}", "vni", &vni, "subnet", &sub,
			      "gateway", &gw, "mtu", &mtu, "port", &port, "ring", &ring))
		goto out;
	if (!ipamc_ring_id_ok(ring))
		goto out;
	memcpy(r->ring, ring, strlen(ring) + 1);
	if (vni < 1 || vni > VX_VNI_MAX || (mtu && mtu < 576) || mtu < 0 || mtu > 65535 ||
	    port < 1 || port > 65535 || addr_parse_prefix(sub, 1, &r->subnet) ||
	    r->subnet.len < IPAM_PLEN_MIN || r->subnet.len > IPAM_PLEN_MAX)
		goto out;
	if (!json_is_null(gw) &&
	    (!json_is_string(gw) || addr_parse_ip4(json_string_value(gw), &r->gw) ||
	     !addr_prefix_contains(&r->subnet, r->gw)))
		goto out;
	memcpy(r->name, e->key, strlen(e->key) + 1);
	r->vni = (uint32_t)vni;
	r->mtu = (unsigned)mtu;
	r->port = (uint16_t)port;
	r->created = time(NULL);
	ret = 0;
out:
	json_decref(o);
	return ret;
}

struct ep_val {
	char net[VX_NET_NAME_MAX];
	struct in_addr ip;
	uint8_t mac[6];
	struct in_addr vtep;
	uint16_t vtep_port;
};

static uint8_t *ep_value(struct drv_cluster *cl, const struct drv_ep_rec *r, size_t *len)
{
	char mac[ADDR_MAC_STRLEN], ip[INET_ADDRSTRLEN], vtep[32];
	char *s;
	json_t *o;

	addr_fmt_mac(r->mac, mac);
	inet_ntop(AF_INET, &r->ip, ip, sizeof(ip));
	snprintf(vtep, sizeof(vtep), "%s:%u", inet_ntoa(cl->vtep_addr), cl->vtep_port);
	o = json_pack("{s:s,s:s,s:s,s:s,s:s}", "net", r->net, "ip", ip, "mac", mac, "vtep", vtep,
		      "host", cl->name);
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	*len = s ? strlen(s) : 0;
	return (uint8_t *)s;
}

static int ep_parse(const struct gt_entry *e, struct ep_val *v)
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

/* ---- publishing ---- */

static int fans_out(struct drv_cluster *cl)
{
	size_t n = 0;

	for (enum gw_state st = GW_STATE_ALIVE; st <= GW_STATE_LEFT; st++)
		n += swim_member_count(cl->swim, st);
	return n <= DIRECT_FANOUT_MAX;
}

/* In a small cluster, send an own change straight to every live vxmesh
 * member as well: gossip alone spreads a burst of changes over several
 * rounds (each update is retransmitted a few times to random members), and
 * a peer that missed one waits for the next push/pull. */
static void direct_fanout(struct drv_cluster *cl, const uint8_t *msg, size_t len)
{
	struct swim_member *ms;
	size_t n;

	if (!fans_out(cl) || swim_members(cl->swim, &ms, &n))
		return;
	if (n <= DIRECT_FANOUT_MAX)
		for (size_t i = 0; i < n; i++) {
			struct peer_info pi;

			if (ms[i].state != GW_STATE_ALIVE || !strcmp(ms[i].name, cl->name))
				continue;
			meta_decode(ms[i].meta, ms[i].meta_len, &pi, 0);
			if (pi.vxmesh)
				(void)swim_send_user(cl->swim, ms[i].name, msg, len);
		}
	free(ms);
}

/* Queue e for gossip; own changes (own) also go straight to the members. */
static void broadcast_entry(struct drv_cluster *cl, const struct gt_entry *e, int own)
{
	char key[GT_KEY_MAX + 8];
	uint8_t *buf, *msg;
	size_t len;

	if (!cl->swim || gt_entry_encode(e, &buf, &len))
		return;
	msg = malloc(len + 1);
	if (msg) {
		msg[0] = VXM_MSG_ENTRY;
		memcpy(msg + 1, buf, len);
		snprintf(key, sizeof(key), "t%u:%s", e->kind, e->key);
		if (swim_broadcast_user(cl->swim, key, msg, len + 1))
			log_warn("gossip: cannot queue the update of %s", e->key);
		if (own)
			direct_fanout(cl, msg, len + 1);
		gx_kick(cl->gx);
		free(msg);
	}
	free(buf);
}

static void forget_unstored(struct drv_cluster *cl)
{
	for (size_t i = 0; i < cl->nunstored; i++)
		gt_forget(cl->tab, cl->unstored[i].kind, cl->unstored[i].key);
	cl->nunstored = 0;
}

/* Write, persist (through table_change_cb), then gossip; an entry the
 * database refused is not sent.  Takes value. */
static int publish_as(struct drv_cluster *cl, uint8_t kind, const char *key, const char *owner,
		      uint8_t *value, size_t len)
{
	const struct gt_entry *cur = gt_get(cl->tab, kind, key), *out;
	uint64_t now = rx_now_ms(cl->a->loop);
	int ret = 0;

	if (!value) {
		log_err("gossip: out of memory publishing %s", key);
		return -ENOMEM;
	}
	/* Unchanged values are not republished: restarts stay quiet. */
	if (!cur || cur->deleted || cur->value_len != len || memcmp(cur->value, value, len) ||
	    strcmp(cur->owner, owner)) {
		cl->persist_err = 0;
		ret = gt_put(cl->tab, kind, key, owner, value, len, now, &out);
		if (!ret && cl->persist_err)
			ret = cl->persist_err;
		else if (!ret)
			broadcast_entry(cl, out, 1);
		forget_unstored(cl);
	}
	free(value);
	return ret;
}

static void publish(struct drv_cluster *cl, uint8_t kind, const char *key, uint8_t *value,
		    size_t len)
{
	publish_as(cl, kind, key, cl->a->node.id, value, len);
}

static void unpublish(struct drv_cluster *cl, uint8_t kind, const char *key)
{
	const struct gt_entry *out;

	if (gt_del(cl->tab, kind, key, rx_now_ms(cl->a->loop), &out) == 0)
		broadcast_entry(cl, out, 1);
}

void drv_cluster_net_publish(struct agent *a, const struct agent_net *n)
{
	size_t len;
	uint8_t *v = net_value(&n->rec, &len);

	if (a->cl)
		publish(a->cl, GT_KIND_NET, n->rec.name, v, len);
	else
		free(v);
}

void drv_cluster_net_unpublish(struct agent *a, const char *name)
{
	if (a->cl)
		unpublish(a->cl, GT_KIND_NET, name);
}

void drv_cluster_ep_publish(struct agent *a, const struct agent_ep *e)
{
	uint8_t *v;
	size_t len;

	if (!a->cl)
		return;
	v = ep_value(a->cl, &e->rec, &len);
	publish(a->cl, GT_KIND_EP, e->rec.id, v, len);
}

void drv_cluster_ep_unpublish(struct agent *a, const char *id)
{
	if (a->cl)
		unpublish(a->cl, GT_KIND_EP, id);
}

/* ---- from the tables to the host ---- */

static int stamp_lt(const struct gt_entry *a, const struct gt_entry *b)
{
	return a->clock < b->clock || (a->clock == b->clock && strcmp(a->origin, b->origin) < 0);
}

/* Does another live network hold this one's VNI with an older stamp?  Then
 * this one lost: the same rule on every host. */
struct vni_scan {
	const struct gt_entry *e;
	uint32_t vni;
	const struct gt_entry *winner;
};

static void vni_scan_cb(void *arg, const struct gt_entry *other)
{
	struct vni_scan *vs = arg;
	struct drv_net_rec r;

	if (other == vs->e || !strcmp(other->key, vs->e->key) || net_parse(other, &r) ||
	    r.vni != vs->vni)
		return;
	if (stamp_lt(other, vs->e) && (!vs->winner || stamp_lt(other, vs->winner)))
		vs->winner = other;
}

static const struct gt_entry *vni_winner(struct drv_cluster *cl, const struct gt_entry *e,
					 uint32_t vni)
{
	struct vni_scan vs = {.e = e, .vni = vni};

	gt_foreach(cl->tab, GT_KIND_NET, 0, vni_scan_cb, &vs);
	return vs.winner;
}

static int net_same(const struct drv_net_rec *x, const struct drv_net_rec *y)
{
	return x->vni == y->vni && x->subnet.addr.s_addr == y->subnet.addr.s_addr &&
	       x->subnet.len == y->subnet.len && x->gw.s_addr == y->gw.s_addr && x->mtu == y->mtu &&
	       x->port == y->port && !strcmp(x->ring, y->ring);
}

static void net_sync_cb(void *arg, const struct gt_entry *e)
{
	struct drv_cluster *cl = arg;
	struct agent *a = cl->a;
	const struct gt_entry *w;
	struct agent_net *have;
	struct drv_net_rec r;
	char err[256];
	unsigned status;

	if (net_parse(e, &r)) {
		log_warn("gossip: network entry %s from %s is malformed; ignored", e->key,
			 e->origin);
		return;
	}
	w = vni_winner(cl, e, r.vni);
	if (w) {
		/* Only the creator needs telling; everyone else just skips it. */
		if (!strcmp(e->owner, a->node.id))
			log_err("network %s lost VNI %u to network %s (created first, on node "
				"%s); remove it and create it again with another VNI",
				e->key, r.vni, w->key, w->owner);
		cl->conflicts++;
		return;
	}
	have = agent_net_find(a, e->key);
	if (have && net_same(&have->rec, &r))
		return;
	if (have) {
		if (agent_net_ep_count(a, e->key)) {
			log_err("network %s was redefined by node %s (its version won), but local "
				"endpoints still use the old one; detach them to take the new "
				"definition",
				e->key, e->origin);
			cl->conflicts++;
			return;
		}
		log_warn("network %s was created concurrently elsewhere; node %s's definition "
			 "wins here and everywhere",
			 e->key, e->origin);
		if (agent_net_remove(a, e->key))
			return;
	}
	{
		struct agent_net *other = agent_net_find_vni(a, r.vni);

		/* A local network with this VNI that lost (or is not yet known
		 * to the table) yields when it has no endpoints. */
		if (other && !agent_net_ep_count(a, other->rec.name))
			agent_net_remove(a, other->rec.name);
	}
	status = agent_net_add(a, &r, err, sizeof(err));
	if (status != 201)
		log_err("network %s from the cluster could not be created here: %s", e->key, err);
}

static void net_tomb_cb(void *arg, const struct gt_entry *e)
{
	struct drv_cluster *cl = arg;

	if (!e->deleted || !agent_net_find(cl->a, e->key))
		return;
	if (agent_net_ep_count(cl->a, e->key)) {
		log_err("network %s was removed by node %s but has local endpoints; keeping it",
			e->key, e->origin);
		return;
	}
	log_info("network %s removed by node %s", e->key, e->origin);
	agent_net_remove(cl->a, e->key);
}

static void nets_sync(struct drv_cluster *cl)
{
	struct agent *a = cl->a;

	gt_foreach(cl->tab, GT_KIND_NET, 0, net_sync_cb, cl);
	gt_foreach(cl->tab, GT_KIND_NET, 1, net_tomb_cb, cl);
	/* Local networks the table has no live entry for are published now:
	 * made before gossip, or deleted elsewhere while local endpoints still
	 * use them (they stay, so they come back everywhere). */
	for (size_t i = 0; i < a->nnets; i++)
		if (!gt_get(cl->tab, GT_KIND_NET, a->nets[i].rec.name))
			drv_cluster_net_publish(a, &a->nets[i]);
}

/* Member state of the node with this id: 1 alive/suspect, 0 dead/left,
 * -1 unknown. */
static int owner_alive(struct drv_cluster *cl, const struct swim_member *ms, size_t n,
		       const char *id)
{
	for (size_t i = 0; i < n; i++) {
		struct peer_info pi;

		meta_decode(ms[i].meta, ms[i].meta_len, &pi, 0);
		if (pi.vxmesh && !strcmp(pi.id, id))
			return ms[i].state == GW_STATE_ALIVE || ms[i].state == GW_STATE_SUSPECT;
	}
	return -1;
}

struct remote_scan {
	struct drv_cluster *cl;
	struct swim_member *ms;
	size_t nms;
	struct vx_remote *want;
	size_t nwant, capwant;
	struct claim *claims;
	size_t nclaims, capclaims;
	int oom;
};

/* Make room for one more element in a doubling array.  0 or -ENOMEM. */
static int grow(void **arr, size_t *cap, size_t n, size_t elsz)
{
	size_t ncap = *cap ? 2 * *cap : 16;
	void *g;

	if (n < *cap)
		return 0;
	g = realloc(*arr, ncap * elsz);
	if (!g)
		return -ENOMEM;
	*arr = g;
	*cap = ncap;
	return 0;
}

static void remote_scan_cb(void *arg, const struct gt_entry *e)
{
	struct remote_scan *rs = arg;
	struct drv_cluster *cl = rs->cl;
	struct agent_net *n;
	struct ep_val v;
	int alive;

	if (!strcmp(e->owner, cl->a->node.id))
		return;
	if (ep_parse(e, &v)) {
		cl->user_bad++;
		return;
	}
	n = agent_net_find(cl->a, v.net);
	if (!n)
		return;
	if (!addr_prefix_contains(&n->rec.subnet, v.ip)) {
		cl->user_bad++;
		return;
	}
	if (grow((void **)&rs->claims, &rs->capclaims, rs->nclaims, sizeof(*rs->claims))) {
		rs->oom = 1;
		return;
	}
	snprintf(rs->claims[rs->nclaims].net, VX_NET_NAME_MAX, "%s", v.net);
	rs->claims[rs->nclaims++].ip = v.ip;

	alive = owner_alive(cl, rs->ms, rs->nms, e->owner);
	if (alive == 0 || (alive < 0 && rx_now_ms(cl->a->loop) - cl->started > OWNER_GRACE_MS))
		return; /* withdrawn while its host is dead, left or long unknown */
	if (grow((void **)&rs->want, &rs->capwant, rs->nwant, sizeof(*rs->want))) {
		rs->oom = 1;
		return;
	}
	rs->want[rs->nwant++] = (struct vx_remote){
		.vni = n->rec.vni, .ip = v.ip, .vtep = v.vtep, .port = v.vtep_port};
	memcpy(rs->want[rs->nwant - 1].mac, v.mac, 6);
}

static int remote_eq(const struct vx_remote *x, const struct vx_remote *y)
{
	return x->vni == y->vni && !memcmp(x->mac, y->mac, 6) && x->ip.s_addr == y->ip.s_addr &&
	       x->vtep.s_addr == y->vtep.s_addr && x->port == y->port;
}

static int claim_in(const struct claim *set, size_t n, const struct claim *c)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(set[i].net, c->net) && set[i].ip.s_addr == c->ip.s_addr)
			return 1;
	return 0;
}

/* Hold other hosts' addresses in the local pools.  cl->claims lists only
 * addresses this code itself holds, so releasing one never frees a local
 * endpoint's lease (a clash is logged, not recorded). */
static void claims_apply(struct drv_cluster *cl, struct claim *want, size_t nwant)
{
	struct agent *a = cl->a;
	size_t kept = 0;

	for (size_t i = 0; i < cl->nclaims; i++) {
		struct agent_net *n = agent_net_find(a, cl->claims[i].net);

		if (n && !claim_in(want, nwant, &cl->claims[i]))
			ipamc_unhold(n, cl->claims[i].ip);
	}
	for (size_t j = 0; j < nwant; j++) {
		struct agent_net *n = agent_net_find(a, want[j].net);
		int held = claim_in(cl->claims, cl->nclaims, &want[j]);

		/* A pool made again since (network re-created) lost the hold. */
		if (!n || (held && ipam_pool_is_leased(n->pool, want[j].ip))) {
			if (n)
				want[kept++] = want[j];
			continue;
		}
		if (ipamc_hold(n, want[j].ip) == 0) {
			want[kept++] = want[j];
		} else if (ipam_pool_is_leased(n->pool, want[j].ip)) {
			static struct log_ratelimit rl;

			if (log_ratelimit_ok(&rl))
				log_err("address conflict in network %s: %s is used here and on "
					"another host",
					want[j].net, inet_ntoa(want[j].ip));
			cl->conflicts++;
		}
	}
	free(cl->claims);
	cl->claims = want;
	cl->nclaims = kept;
}

static void remotes_sync(struct drv_cluster *cl)
{
	struct remote_scan rs = {.cl = cl};
	struct agent *a = cl->a;
	size_t kept = 0;

	if (swim_members(cl->swim, &rs.ms, &rs.nms))
		return;
	gt_foreach(cl->tab, GT_KIND_EP, 0, remote_scan_cb, &rs);
	free(rs.ms);
	if (rs.oom) {
		free(rs.want);
		free(rs.claims);
		return;
	}
	for (size_t i = 0; i < cl->ninstalled; i++) {
		int keep = 0;

		for (size_t j = 0; j < rs.nwant && !keep; j++)
			keep = remote_eq(&cl->installed[i], &rs.want[j]);
		if (!keep)
			vx_dp_remote_del(a->dp, cl->installed[i].vni, cl->installed[i].mac);
	}
	for (size_t j = 0; j < rs.nwant; j++) {
		int had = 0;

		for (size_t i = 0; i < cl->ninstalled && !had; i++)
			had = remote_eq(&cl->installed[i], &rs.want[j]);
		if (!had && vx_dp_remote_put(a->dp, &rs.want[j])) {
			/* Not recorded as installed: the next sync tries again. */
			log_warn("remote endpoint %s: the datapath refused it",
				 inet_ntoa(rs.want[j].ip));
			continue;
		}
		rs.want[kept++] = rs.want[j];
	}
	free(cl->installed);
	cl->installed = rs.want;
	cl->ninstalled = kept;
	claims_apply(cl, rs.claims, rs.nclaims);
}

static void sync_now(struct drv_cluster *cl)
{
	cl->sync_pending = 0;
	nets_sync(cl);
	remotes_sync(cl);
}

static void sync_cb(struct rx_loop *loop, void *arg)
{
	struct drv_cluster *cl = arg;

	if (cl->sync_pending)
		sync_now(cl);
}

static void sync_later(struct drv_cluster *cl)
{
	if (cl->sync_pending || cl->loading)
		return;
	if (rx_defer(cl->a->loop, sync_cb, cl) == 0)
		cl->sync_pending = 1;
}

static void table_change_cb(void *arg, const struct gt_entry *old, const struct gt_entry *cur)
{
	struct drv_cluster *cl = arg;
	int ret;

	if (!cl->loading && (ret = drv_state_gossip_put(cl->a->st, cur))) {
		struct unstored *u;

		log_err("state database: cannot store %s: %s", cur->key, strerror(-ret));
		cl->persist_err = ret;
		/* Not kept in memory either (after this callback): what this host
		 * has not stored it must not pass on or act on. */
		u = realloc(cl->unstored, (cl->nunstored + 1) * sizeof(*u));
		if (u) {
			cl->unstored = u;
			u[cl->nunstored].kind = cur->kind;
			memcpy(u[cl->nunstored++].key, cur->key, GT_KEY_MAX);
		}
	} else if (cur->kind >= GT_KIND_RING && cur->kind <= GT_KIND_RETIRED) {
		/* Stored first: ownership is acted on only once it survives a crash. */
		ipamc_table_changed(cl->a, cur);
	}
	sync_later(cl);
}

/* ---- swim callbacks ---- */

static void ops_send_packet(void *arg, struct in_addr dst, uint16_t port, const uint8_t *buf,
			    size_t len)
{
	struct agent *a = arg;

	gx_send_packet(a->cl->gx, dst, port, buf, len);
}

static void ops_send_stream(void *arg, uint64_t id, struct in_addr dst, uint16_t port,
			    const uint8_t *msg, size_t len)
{
	struct agent *a = arg;

	gx_send_stream(a->cl->gx, id, dst, port, msg, len);
}

static const char *const ev_names[] = {
	[SWIM_EV_JOIN] = "join",	 [SWIM_EV_UPDATE] = "update", [SWIM_EV_SUSPECT] = "suspect",
	[SWIM_EV_ALIVE] = "alive",	 [SWIM_EV_FAILED] = "failed", [SWIM_EV_LEFT] = "left",
	[SWIM_EV_CONFLICT] = "conflict",
};

static void ops_event(void *arg, enum swim_ev_type ev, const struct swim_member *m)
{
	struct agent *a = arg;

	if (ev == SWIM_EV_SUSPECT || ev == SWIM_EV_ALIVE)
		log_dbg("member %s %s:%u is %s", m->name, inet_ntoa(m->addr), m->port,
			ev_names[ev]);
	else
		log_info("member %s %s:%u %s (incarnation %u)", m->name, inet_ntoa(m->addr),
			 m->port, ev_names[ev], m->inc);
	sync_later(a->cl);
}

static void ops_user_msg(void *arg, const uint8_t *buf, size_t len)
{
	struct agent *a = arg;
	struct drv_cluster *cl = a->cl;
	struct gt_entry e;
	int ret;

	if (len && buf[0] >= IPAMC_MSG_FIRST && buf[0] <= IPAMC_MSG_LAST) {
		cl->user_msgs++;
		ipamc_user_msg(a, buf, len);
		return;
	}
	if (!len || buf[0] != VXM_MSG_ENTRY) {
		cl->user_foreign++; /* Serf's own messages (types 0-9), or others' */
		return;
	}
	cl->user_msgs++;
	if (gt_entry_decode(buf + 1, len - 1, &e)) {
		static struct log_ratelimit rl;

		cl->user_bad++;
		if (log_ratelimit_ok(&rl))
			log_warn("gossip: dropped a malformed table update (%zu bytes)", len);
		return;
	}
	cl->persist_err = 0;
	ret = gt_merge(cl->tab, &e, rx_now_ms(a->loop));
	if (ret < 0) {
		cl->user_bad++;
		return;
	}
	if (cl->persist_err) {
		forget_unstored(cl);
		return;
	}
	/* memberlist does not relay user messages: news is passed on by every
	 * node that learns it, as Serf does with its own broadcasts. */
	if (ret == 1)
		broadcast_entry(
			cl, gt_get(cl->tab, e.kind, e.key) ? gt_get(cl->tab, e.kind, e.key) : &e,
			0);
}

static int ops_user_ok(void *arg, const uint8_t *meta, size_t len)
{
	struct peer_info pi;

	meta_decode(meta, len, &pi, 0);
	return pi.vxmesh;
}

/* Serf push/pull state with our table under an extra key. */
static void ops_local_state(void *arg, const struct swim_member *peer, int join, uint8_t **buf,
			    size_t *len)
{
	struct agent *a = arg;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	uint8_t *tab;
	size_t tlen;

	*buf = NULL;
	*len = 0;
	if (gt_encode_all(a->cl->tab, &tab, &tlen))
		return;
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
	free(tab);
	*buf = (uint8_t *)sb.data; /* msgpack_sbuffer memory is malloc()ed */
	*len = sb.size;
}

static void ops_merge_state(void *arg, const uint8_t *buf, size_t len, int join)
{
	struct agent *a = arg;
	struct drv_cluster *cl = a->cl;
	struct mpr r;
	uint64_t m;

	if (len < 2 || buf[0] != SERF_PUSHPULL)
		return;
	mpr_init(&r, buf + 1, len - 1);
	if (mp_map(&r, &m))
		return;
	for (uint64_t i = 0; i < m; i++) {
		const uint8_t *kp, *p;
		size_t kn, n;
		int kr = mp_raw(&r, &kp, &kn), ret;

		if (kr || kn != 6 || memcmp(kp, "Vxmesh", 6)) {
			/* Cannot fail: mp_map() checked the whole map. */
			if (mpr_skip(&r, MP_DEPTH))
				return;
			continue;
		}
		if (mp_raw(&r, &p, &n)) {
			cl->user_bad++;
			continue;
		}
		ret = gt_merge_all(cl->tab, p, n, rx_now_ms(a->loop));
		forget_unstored(cl);
		if (ret < 0)
			cl->user_bad++;
		else
			cl->merged += (unsigned)ret;
	}
}

/* ---- start-up helpers ---- */

/* The first IPv4 address of ifindex, or of any non-loopback link. */
static int pick_address(struct agent *a, struct in_addr *out)
{
	struct ifaddrs *ifs, *i;
	char want[IF_NAMESIZE] = "";
	unsigned mtu;
	int ifindex = 0, found = 0;

	if (vx_nl_ops.underlay_get(a->nl, (struct in_addr){0}, &ifindex, &mtu) == 0)
		if_indextoname((unsigned)ifindex, want);
	if (getifaddrs(&ifs))
		return -errno;
	for (int pass = 0; pass < 2 && !found; pass++)
		for (i = ifs; i && !found; i = i->ifa_next) {
			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
			    (i->ifa_flags & IFF_LOOPBACK))
				continue;
			if (pass == 0 && strcmp(i->ifa_name, want))
				continue;
			*out = ((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr;
			found = 1;
		}
	freeifaddrs(ifs);
	return found ? 0 : -EADDRNOTAVAIL;
}

static int parse_seeds(struct drv_cluster *cl, const char *list)
{
	char buf[2048], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		struct in_addr ip;
		uint16_t port = 7946;
		void *g1, *g2;

		if (addr_parse_hostport(tok, &ip, &port)) {
			log_err("--join: '%s' is not ADDR[:PORT]", tok);
			return -EINVAL;
		}
		for (size_t i = 0; i < cl->nseeds; i++)
			if (cl->seeds[i].s_addr == ip.s_addr && cl->seed_ports[i] == port)
				goto next;
		g1 = realloc(cl->seeds, (cl->nseeds + 1) * sizeof(*cl->seeds));
		if (g1)
			cl->seeds = g1;
		g2 = realloc(cl->seed_ports, (cl->nseeds + 1) * sizeof(*cl->seed_ports));
		if (g2)
			cl->seed_ports = g2;
		if (!g1 || !g2)
			return -ENOMEM;
		cl->seeds[cl->nseeds] = ip;
		cl->seed_ports[cl->nseeds++] = port;
	next:;
	}
	return 0;
}

/* vxm1.<base64url of {"seeds": [...], "key": b64|null}> */
static int token_apply(struct drv_cluster *cl, const char *token)
{
	size_t tlen = strlen(token), blen = 0;
	char *json = NULL;
	json_t *o = NULL, *seeds, *key = NULL;
	int ret = -EINVAL;

	if (strncmp(token, TOKEN_PREFIX, strlen(TOKEN_PREFIX)))
		goto bad;
	json = calloc(1, tlen);
	if (!json)
		return -ENOMEM;
	if (sodium_base642bin((unsigned char *)json, tlen - 1, token + strlen(TOKEN_PREFIX),
			      tlen - strlen(TOKEN_PREFIX), NULL, &blen, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING))
		goto bad;
	o = json_loadb(json, blen, 0, NULL);
	if (!o || json_unpack(o, "{s:o,s:o}", "seeds", &seeds, "key", &key) ||
	    !json_is_array(seeds))
		goto bad;
	for (size_t i = 0; i < json_array_size(seeds); i++) {
		const char *s = json_string_value(json_array_get(seeds, i));

		if (!s || parse_seeds(cl, s))
			goto bad;
	}
	if (json_is_string(key)) {
		uint8_t k[GW_KEY_LEN];

		if (key_from_b64(json_string_value(key), k)) {
			sodium_memzero(k, sizeof(k));
			goto bad;
		}
		ret = gw_keyring_install(&cl->kr, k);
		if (ret == 0 || ret == -EEXIST)
			ret = gw_keyring_use(&cl->kr, k);
		sodium_memzero(k, sizeof(k));
		if (ret || (ret = keyring_save(cl)))
			goto out;
	}
	ret = 0;
	goto out;
bad:
	log_err("the join token is not valid (make one with 'vxmesh token')");
out:
	if (json) {
		sodium_memzero(json, tlen);
		free(json);
	}
	if (json_is_string(key))
		sodium_memzero((void *)json_string_value(key), json_string_length(key));
	json_decref(o);
	return ret;
}

static void join_seeds(struct drv_cluster *cl)
{
	if (!cl->nseeds || cl->leaving)
		return;
	if (swim_join(cl->swim, rx_now_ms(cl->a->loop), cl->seeds, cl->seed_ports, cl->nseeds))
		log_warn("gossip: join could not start");
	gx_kick(cl->gx);
}

struct reap_scan {
	struct drv_cluster *cl;
	uint64_t now;
};

/* Tombstones about to be reaped leave the database first: the table fires
 * no callback for reaping. */
static void reap_row_cb(void *arg, const struct gt_entry *e)
{
	struct reap_scan *rs = arg;

	if (e->deleted && rs->now > e->deleted_at && rs->now - e->deleted_at > TOMBSTONE_MAX_AGE_MS)
		drv_state_gossip_delete(rs->cl->a->st, e->kind, e->key);
}

static void reap(struct drv_cluster *cl, uint64_t now)
{
	struct reap_scan rs = {.cl = cl, .now = now};

	gt_foreach(cl->tab, GT_KIND_NET, 1, reap_row_cb, &rs);
	gt_foreach(cl->tab, GT_KIND_EP, 1, reap_row_cb, &rs);
	if (gt_reap(cl->tab, now, TOMBSTONE_MAX_AGE_MS))
		log_dbg("gossip: reaped old tombstones");
}

static void housekeeping_cb(struct rx_loop *loop, struct rx_timer *t, void *arg)
{
	struct drv_cluster *cl = arg;
	uint64_t now = rx_now_ms(loop);
	size_t others = swim_member_count(cl->swim, GW_STATE_ALIVE) +
			swim_member_count(cl->swim, GW_STATE_SUSPECT);

	if (cl->leaving) {
		if (swim_leave_done(cl->swim)) {
			log_info("left the cluster; stopping");
			rx_loop_stop(loop);
			return;
		}
		rx_timer_arm(t, 100, 0);
		return;
	}
	/* Alone with seeds to try: keep knocking (a seed may start later). */
	if (others <= 1 && cl->nseeds) {
		join_seeds(cl);
		rx_timer_arm(t, JOIN_RETRY_MS, JOIN_RETRY_MS / 4);
	} else {
		rx_timer_arm(t, HOUSEKEEPING_MS, HOUSEKEEPING_MS / 10);
	}
	/* Dropped input is counted where it is found (swim, transport, here)
	 * and reported here, at most once per housekeeping round. */
	{
		struct swim_stats ss;
		struct gx_stats gs;
		unsigned long long bad;

		swim_stats_get(cl->swim, &ss);
		gx_stats_get(cl->gx, &gs);
		/* Failed streams are mostly peers that went away: not counted
		 * as bad input here (they are in the metrics). */
		bad = ss.decode_errors + gs.decrypt_failures + cl->user_bad;
		if (bad > cl->logged_bad)
			log_warn("gossip: dropped input since start: %llu undecodable messages, "
				 "%llu "
				 "packets no key opened, %llu bad table updates",
				 ss.decode_errors, gs.decrypt_failures, cl->user_bad);
		cl->logged_bad = bad;
	}
	/* Grace for owners unknown since start ends: resync once. */
	if (now - cl->started >= OWNER_GRACE_MS && now - cl->started < OWNER_GRACE_MS + 15000)
		sync_later(cl);
	reap(cl, now);
}

static void load_row_cb(void *arg, const struct gt_entry *e)
{
	struct drv_cluster *cl = arg;

	if (gt_merge(cl->tab, e, rx_now_ms(cl->a->loop)) < 0)
		log_warn("state database: replicated entry %s is malformed; dropped", e->key);
}

static void profile_apply(struct swim_config *c, const char *profile)
{
	swim_config_lan(c);
	if (!strcmp(profile, "local")) {
		c->probe_timeout = 200;
		c->indirect_checks = 1;
		c->suspicion_mult = 3;
		c->retransmit_mult = 2;
		c->gossip_interval = 100;
		c->gossip_to_the_dead_time = 15000;
		c->pushpull_interval = 15000;
		c->tcp_timeout = 1000;
	}
}

/* Our own endpoint entries without a local endpoint: left by a crash
 * between a detach's commit and its gossip.  Collected, then withdrawn
 * (the table must not change during gt_foreach). */
static void stale_own_cb(void *arg, const struct gt_entry *e)
{
	struct drv_cluster *cl = arg;
	char **g;

	if (strcmp(e->owner, cl->a->node.id))
		return;
	for (size_t i = 0; i < cl->a->neps; i++)
		if (!strcmp(cl->a->eps[i].rec.id, e->key))
			return;
	g = realloc(cl->stale, (cl->nstale + 1) * sizeof(*g));
	if (!g)
		return;
	cl->stale = g;
	cl->stale[cl->nstale] = strdup(e->key);
	if (cl->stale[cl->nstale])
		cl->nstale++;
}

int drv_cluster_open(struct agent *a)
{
	static const struct swim_ops ops = {
		.send_packet = ops_send_packet,
		.send_stream = ops_send_stream,
		.event = ops_event,
		.user_msg = ops_user_msg,
		.local_state = ops_local_state,
		.merge_state = ops_merge_state,
		.user_ok = ops_user_ok,
	};
	struct drv_cluster *cl;
	struct swim_config sc;
	struct in_addr bind_addr;
	uint16_t bind_port = 7946;
	uint8_t key[GW_KEY_LEN];
	int ret;

	if (strcmp(a->cfg.gossip_profile, "lan") && strcmp(a->cfg.gossip_profile, "local")) {
		log_err("--gossip-profile must be lan or local");
		return -EINVAL;
	}
	if (addr_parse_hostport(a->cfg.bind, &bind_addr, &bind_port)) {
		log_err("--bind: '%s' is not ADDR[:PORT]", a->cfg.bind);
		return -EINVAL;
	}
	if (sodium_init() < 0)
		return -EIO;
	cl = calloc(1, sizeof(*cl));
	if (!cl)
		return -ENOMEM;
	cl->a = a;
	a->cl = cl;
	cl->started = rx_now_ms(a->loop);
	snprintf(cl->keyring_path, sizeof(cl->keyring_path), "%s/keyring.json", a->cfg.state_dir);

	/* Keys: the keyring file, then --encrypt and a token's key on top. */
	if ((ret = keyring_load(cl)))
		goto err;
	if (a->cfg.encrypt[0]) {
		if (key_from_b64(a->cfg.encrypt, key)) {
			sodium_memzero(key, sizeof(key));
			log_err("--encrypt: not a base64 32-byte key (make one with 'vxmesh key "
				"generate')");
			ret = -EINVAL;
			goto err;
		}
		ret = gw_keyring_install(&cl->kr, key);
		if (ret == 0 || ret == -EEXIST)
			ret = gw_keyring_use(&cl->kr, key);
		sodium_memzero(key, sizeof(key));
		if (ret || (ret = keyring_save(cl)))
			goto err;
	}
	if (a->cfg.join_token[0] && (ret = token_apply(cl, a->cfg.join_token)))
		goto err;
	/* The keys live in the keyring now; the config's copies go. */
	sodium_memzero(a->cfg.encrypt, sizeof(a->cfg.encrypt));
	sodium_memzero(a->cfg.join_token, sizeof(a->cfg.join_token));
	if (a->cfg.join[0] && (ret = parse_seeds(cl, a->cfg.join)))
		goto err;
	if (cl->kr.n && gw_crypto_init()) {
		log_err("this CPU lacks AES-NI/PCLMUL, which libsodium's AES-256-GCM needs: "
			"encrypted gossip is not possible here");
		ret = -ENOTSUP;
		goto err;
	}
	if (!cl->kr.n)
		log_warn("gossip is NOT encrypted: anyone who reaches port %u can join this "
			 "cluster and change its networks (start with --encrypt KEY)",
			 bind_port);

	/* Addresses: bind, advertise (what others dial), VTEP (where VXLAN goes). */
	if (a->cfg.advertise[0]) {
		cl->adv_port = bind_port;
		if (addr_parse_hostport(a->cfg.advertise, &cl->adv_addr, &cl->adv_port)) {
			log_err("--advertise: '%s' is not ADDR[:PORT]", a->cfg.advertise);
			ret = -EINVAL;
			goto err;
		}
	} else if (bind_addr.s_addr) {
		cl->adv_addr = bind_addr;
		cl->adv_port = bind_port;
	} else if (pick_address(a, &cl->adv_addr)) {
		log_err("no IPv4 address to advertise for gossip; use --advertise ADDR");
		ret = -EADDRNOTAVAIL;
		goto err;
	} else {
		cl->adv_port = bind_port;
	}
	cl->vtep_port = (uint16_t)a->cfg.vxlan_port;
	if (a->cfg.vtep_advertise[0]) {
		if (addr_parse_hostport(a->cfg.vtep_advertise, &cl->vtep_addr, &cl->vtep_port)) {
			log_err("--vtep-advertise: '%s' is not ADDR[:PORT]", a->cfg.vtep_advertise);
			ret = -EINVAL;
			goto err;
		}
	} else {
		cl->vtep_addr = a->vtep.s_addr ? a->vtep : cl->adv_addr;
	}
	if (a->cfg.node_name[0])
		snprintf(cl->name, sizeof(cl->name), "%s", a->cfg.node_name);
	else
		snprintf(cl->name, sizeof(cl->name), "%.100s-%.8s", a->node.name, a->node.id);

	/* Tables, from the database, before anything can arrive. */
	if ((ret = gt_create(&cl->tab, a->node.id, table_change_cb, cl)))
		goto err;
	/* Ownership entries and retired ids are never deleted (docs/ipam.md). */
	gt_set_undeletable(cl->tab, GT_KIND_RING);
	gt_set_undeletable(cl->tab, GT_KIND_RETIRED);
	cl->loading = 1;
	ret = drv_state_gossip_foreach(a->st, load_row_cb, cl);
	cl->loading = 0;
	if (ret) {
		log_err("state database: cannot read the replicated tables: %s", strerror(-ret));
		goto err;
	}

	ret = gx_open(&cl->gx, a->loop, bind_addr, bind_port, &cl->kr);
	if (ret) {
		log_err("cannot bind gossip to %s: %s", a->cfg.bind, strerror(-ret));
		goto err;
	}
	if (!bind_port && !a->cfg.advertise[0])
		cl->adv_port = gx_port(cl->gx);

	profile_apply(&sc, a->cfg.gossip_profile);
	snprintf(sc.name, sizeof(sc.name), "%s", cl->name);
	sc.addr = cl->adv_addr;
	sc.port = cl->adv_port;
	sc.encrypted = cl->kr.n > 0;
	randombytes_buf(&sc.seed, sizeof(sc.seed));
	if ((ret = meta_encode(cl, sc.meta, &sc.meta_len)))
		goto err;
	ret = swim_create(&cl->swim, &sc, &ops, a, rx_now_ms(a->loop));
	if (ret)
		goto err;
	gx_attach(cl->gx, cl->swim);

	/* Local objects the table lacks (or has stale) are published now;
	 * then the table is turned into kernel state once, synchronously, so
	 * the first reconcile finds every remote entry desired. */
	nets_sync(cl);
	for (size_t i = 0; i < a->neps; i++)
		drv_cluster_ep_publish(a, &a->eps[i]);
	gt_foreach(cl->tab, GT_KIND_EP, 0, stale_own_cb, cl);
	for (size_t i = 0; i < cl->nstale; i++)
		unpublish(cl, GT_KIND_EP, cl->stale[i]);
	free(cl->stale);
	cl->stale = NULL;
	cl->nstale = 0;
	sync_now(cl);

	cl->timer = rx_timer_create(a->loop, housekeeping_cb, cl);
	if (!cl->timer) {
		ret = -ENOMEM;
		goto err;
	}
	rx_timer_arm(cl->timer, 0, 0);
	log_info("gossip: node %s, gossip %s:%u (bind %s), VXLAN %s:%u, %s, %zu table entries",
		 cl->name, inet_ntoa(cl->adv_addr), cl->adv_port, a->cfg.bind,
		 inet_ntoa(cl->vtep_addr), cl->vtep_port, cl->kr.n ? "encrypted" : "plaintext",
		 gt_count(cl->tab, GT_KIND_NET, 0) + gt_count(cl->tab, GT_KIND_EP, 0));
	return 0;
err:
	drv_cluster_close(a);
	return ret;
}

void drv_cluster_close(struct agent *a)
{
	struct drv_cluster *cl = a->cl;

	if (!cl)
		return;
	rx_timer_destroy(cl->timer);
	gx_close(cl->gx);
	swim_destroy(cl->swim);
	gt_destroy(cl->tab);
	gw_keyring_wipe(&cl->kr);
	free(cl->installed);
	free(cl->claims);
	free(cl->unstored);
	free(cl->seeds);
	free(cl->seed_ports);
	free(cl);
	a->cl = NULL;
}

/* ---- queries for the agent ---- */

int drv_cluster_net_conflict(struct agent *a, const struct drv_net_rec *rec, char *err, size_t len)
{
	struct drv_cluster *cl = a->cl;
	const struct gt_entry *e;

	if (!cl)
		return 0;
	e = gt_get(cl->tab, GT_KIND_NET, rec->name);
	if (e && !e->deleted) {
		snprintf(err, len, "network \"%s\" already exists in the cluster (created by %s)",
			 rec->name, e->owner);
		return 1;
	}
	{
		struct vni_scan vs = {.e = NULL, .vni = rec->vni};
		struct gt_entry fake = {.clock = UINT64_MAX, .origin = "\xff"};

		snprintf(fake.key, sizeof(fake.key), "%s", rec->name);
		vs.e = &fake;
		gt_foreach(cl->tab, GT_KIND_NET, 0, vni_scan_cb, &vs);
		if (vs.winner) {
			snprintf(err, len,
				 "VNI %u is already used by network \"%s\" in the cluster",
				 rec->vni, vs.winner->key);
			return 1;
		}
	}
	return 0;
}

struct count_scan {
	struct drv_cluster *cl;
	const char *net;
	size_t n;
};

static void count_cb(void *arg, const struct gt_entry *e)
{
	struct count_scan *cs = arg;
	struct ep_val v;

	if (strcmp(e->owner, cs->cl->a->node.id) && !ep_parse(e, &v) && !strcmp(v.net, cs->net))
		cs->n++;
}

size_t drv_cluster_net_remote_eps(struct agent *a, const char *name)
{
	struct count_scan cs = {.cl = a->cl, .net = name};

	if (!a->cl)
		return 0;
	gt_foreach(a->cl->tab, GT_KIND_EP, 0, count_cb, &cs);
	return cs.n;
}

/* ---- for driver/ipamc.c ---- */

int drv_cluster_put(struct agent *a, uint8_t kind, const char *key, const char *owner,
		    uint8_t *value, size_t len)
{
	if (!a->cl) {
		free(value);
		return -ENOTCONN;
	}
	return publish_as(a->cl, kind, key, owner ? owner : a->node.id, value, len);
}

int drv_cluster_del(struct agent *a, uint8_t kind, const char *key)
{
	const struct gt_entry *out;
	int ret;

	if (!a->cl)
		return -ENOTCONN;
	a->cl->persist_err = 0;
	ret = gt_del(a->cl->tab, kind, key, rx_now_ms(a->loop), &out);
	if (!ret && a->cl->persist_err)
		ret = a->cl->persist_err;
	else if (!ret)
		broadcast_entry(a->cl, out, 1);
	forget_unstored(a->cl);
	return ret;
}

const struct gt_entry *drv_cluster_get(struct agent *a, uint8_t kind, const char *key)
{
	return a->cl ? gt_get(a->cl->tab, kind, key) : NULL;
}

void drv_cluster_foreach(struct agent *a, uint8_t kind, drv_cluster_entry_cb cb, void *arg)
{
	if (a->cl)
		gt_foreach(a->cl->tab, kind, 0, cb, arg);
}

/* Gossip name and state of the member with node id `id`. */
static int member_find(struct drv_cluster *cl, const char *id, const char *name, char *out,
		       size_t len)
{
	struct swim_member *ms;
	size_t n;
	int ret = -1;

	if (!cl->swim || swim_members(cl->swim, &ms, &n))
		return -1;
	for (size_t i = 0; i < n && ret < 0; i++) {
		struct peer_info pi;

		meta_decode(ms[i].meta, ms[i].meta_len, &pi, 0);
		if (!pi.vxmesh || (id && strcmp(pi.id, id)) || (name && strcmp(ms[i].name, name)))
			continue;
		ret = ms[i].state == GW_STATE_ALIVE || ms[i].state == GW_STATE_SUSPECT;
		if (out)
			snprintf(out, len, "%s", id ? ms[i].name : pi.id);
	}
	free(ms);
	return ret;
}

static int id_cmp(const void *x, const void *y)
{
	return strcmp(x, y);
}

int drv_cluster_live_ids(struct agent *a, char (**ids)[GT_ID_MAX], size_t *n)
{
	struct swim_member *ms;
	size_t nms;

	*ids = NULL;
	*n = 0;
	if (!a->cl || !a->cl->swim || swim_members(a->cl->swim, &ms, &nms))
		return -ENOMEM;
	*ids = calloc(nms ? nms : 1, sizeof(**ids));
	if (!*ids) {
		free(ms);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nms; i++) {
		struct peer_info pi;

		if (ms[i].state != GW_STATE_ALIVE && ms[i].state != GW_STATE_SUSPECT)
			continue;
		meta_decode(ms[i].meta, ms[i].meta_len, &pi, 0);
		if (pi.vxmesh)
			memcpy((*ids)[(*n)++], pi.id, GT_ID_MAX);
	}
	free(ms);
	qsort(*ids, *n, GT_ID_MAX, id_cmp);
	return 0;
}

int drv_cluster_id_in(char (*ids)[GT_ID_MAX], size_t n, const char *id)
{
	return bsearch(id, ids, n, GT_ID_MAX, id_cmp) != NULL;
}

int drv_cluster_member_state(struct agent *a, const char *id, char *name, size_t len)
{
	if (!a->cl)
		return -1;
	if (!strcmp(id, a->node.id)) {
		if (name)
			snprintf(name, len, "%s", a->cl->name);
		return 1;
	}
	return member_find(a->cl, id, NULL, name, len);
}

int drv_cluster_member_by_name(struct agent *a, const char *name, char *id, size_t len)
{
	if (!a->cl)
		return -1;
	if (!strcmp(name, a->cl->name)) {
		snprintf(id, len, "%s", a->node.id);
		return 1;
	}
	return member_find(a->cl, NULL, name, id, len);
}

int drv_cluster_fans_out(struct agent *a)
{
	return a->cl && a->cl->swim && fans_out(a->cl);
}

int drv_cluster_send(struct agent *a, const char *id, const uint8_t *msg, size_t len)
{
	char name[GW_NAME_MAX];
	int st = a->cl ? member_find(a->cl, id, NULL, name, sizeof(name)) : -1;

	if (st < 0)
		return -ENOENT;
	if (!st)
		return -EHOSTDOWN;
	if (swim_send_user(a->cl->swim, name, msg, len))
		return -EIO;
	gx_kick(a->cl->gx);
	return 0;
}

int drv_cluster_send_entry(struct agent *a, const char *id, uint8_t kind, const char *key)
{
	const struct gt_entry *e = drv_cluster_get(a, kind, key);
	uint8_t *buf, *msg;
	size_t len;
	int ret;

	if (!e)
		return -ENOENT;
	if (gt_entry_encode(e, &buf, &len))
		return -ENOMEM;
	msg = malloc(len + 1);
	if (!msg) {
		free(buf);
		return -ENOMEM;
	}
	msg[0] = VXM_MSG_ENTRY;
	memcpy(msg + 1, buf, len);
	ret = drv_cluster_send(a, id, msg, len + 1);
	free(msg);
	free(buf);
	return ret;
}

struct subnet_scan {
	const struct addr_prefix *p;
	int used;
};

static void subnet_scan_cb(void *arg, const struct gt_entry *e)
{
	struct subnet_scan *ss = arg;
	struct drv_net_rec r;

	if (!net_parse(e, &r) && addr_prefix_overlaps(&r.subnet, ss->p))
		ss->used = 1;
}

int drv_cluster_subnet_used(struct agent *a, const struct addr_prefix *p)
{
	struct subnet_scan ss = {.p = p};

	if (a->cl)
		gt_foreach(a->cl->tab, GT_KIND_NET, 0, subnet_scan_cb, &ss);
	return ss.used;
}

static const char *state_str(enum gw_state s)
{
	static const char *const names[] = {"alive", "suspect", "dead", "left"};

	return (unsigned)s < 4 ? names[s] : "unknown";
}

json_t *drv_cluster_status_json(struct agent *a)
{
	struct drv_cluster *cl = a->cl;
	char adv[32], vtep[32];

	if (!cl)
		return json_null();
	snprintf(adv, sizeof(adv), "%s:%u", inet_ntoa(cl->adv_addr), cl->adv_port);
	snprintf(vtep, sizeof(vtep), "%s:%u", inet_ntoa(cl->vtep_addr), cl->vtep_port);
	return json_pack("{s:s,s:s,s:s,s:b,s:I,s:I,s:I,s:I,s:I}", "node_name", cl->name,
			 "advertise", adv, "vtep_advertise", vtep, "encrypted", cl->kr.n > 0,
			 "members_alive", (json_int_t)swim_member_count(cl->swim, GW_STATE_ALIVE),
			 "members_suspect",
			 (json_int_t)swim_member_count(cl->swim, GW_STATE_SUSPECT), "members_dead",
			 (json_int_t)swim_member_count(cl->swim, GW_STATE_DEAD), "remote_endpoints",
			 (json_int_t)cl->ninstalled, "table_clock", (json_int_t)gt_clock(cl->tab));
}

void drv_cluster_metrics(struct agent *a, FILE *f)
{
	static const char *const tnames[14] = {
		"ping",	    "indirect_ping", "ack",	 "suspect", "alive", "dead", "pushpull",
		"compound", "user",	     "compress", "encrypt", "nack",  "crc",  "err",
	};
	struct drv_cluster *cl = a->cl;
	struct swim_stats ss;
	struct gx_stats gs;

	if (!cl)
		return;
	swim_stats_get(cl->swim, &ss);
	gx_stats_get(cl->gx, &gs);
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
			tnames[t], ss.msgs_in[t], tnames[t], ss.msgs_out[t]);
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
		gt_count(cl->tab, GT_KIND_EP, 1) - gt_count(cl->tab, GT_KIND_EP, 0), cl->ninstalled,
		cl->conflicts);
}

/* ---- API handlers ---- */

void drv_cluster_h_members(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct agent *a = arg;
	struct drv_cluster *cl = a->cl;
	uint64_t now = rx_now_ms(a->loop);
	struct swim_member *ms;
	json_t *arr;
	size_t n;

	if (swim_members(cl->swim, &ms, &n)) {
		api_error(resp, 500, "internal", "out of memory");
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++) {
		struct peer_info pi;
		char addr[32], vtep[32];

		meta_decode(ms[i].meta, ms[i].meta_len, &pi, 1);
		snprintf(addr, sizeof(addr), "%s:%u", inet_ntoa(ms[i].addr), ms[i].port);
		snprintf(vtep, sizeof(vtep), "%s:%u", inet_ntoa(pi.vtep), pi.vtep_port);
		json_array_append_new(
			arr,
			json_pack("{s:s,s:s,s:o,s:s,s:o,s:s,s:I,s:I,s:b,s:o}", "name", ms[i].name,
				  "kind", pi.vxmesh ? "vxmesh" : "other", "id",
				  pi.vxmesh ? json_string(pi.id) : json_null(), "addr", addr,
				  "vtep", pi.vxmesh ? json_string(vtep) : json_null(), "state",
				  state_str(ms[i].state), "incarnation", (json_int_t)ms[i].inc,
				  "last_change_ms_ago",
				  (json_int_t)(now >= ms[i].state_change ? now - ms[i].state_change
									 : 0),
				  "self", ms[i].is_self, "tags", pi.tags));
	}
	free(ms);
	resp->body = json_pack("{s:o}", "members", arr);
}

void drv_cluster_h_join(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct agent *a = arg;
	struct drv_cluster *cl = a->cl;
	json_t *addrs = req->body ? json_object_get(req->body, "addrs") : NULL;
	struct in_addr ips[64];
	uint16_t ports[64];
	size_t n;
	int ret;

	n = json_is_array(addrs) ? json_array_size(addrs) : 0;
	if (!n || n > 64) {
		api_error(resp, 400, "invalid_argument",
			  "field \"addrs\" must be an array of 1 to 64 \"ADDR[:PORT]\"");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(addrs, i));

		ports[i] = 7946;
		if (!s || addr_parse_hostport(s, &ips[i], &ports[i])) {
			api_error(resp, 400, "invalid_argument", "\"%s\" is not ADDR[:PORT]",
				  s ? s : "(not a string)");
			return;
		}
	}
	/* Remembered (once each) so a lonely agent keeps knocking. */
	for (size_t i = 0; i < n; i++)
		if ((ret = parse_seeds(cl, json_string_value(json_array_get(addrs, i))))) {
			api_error(resp, 500, "internal", "%s", strerror(-ret));
			return;
		}
	ret = swim_join(cl->swim, rx_now_ms(a->loop), ips, ports, n);
	gx_kick(cl->gx);
	if (ret) {
		api_error(resp, 500, "internal", "join could not start: %s", strerror(-ret));
		return;
	}
	resp->status = 202;
	resp->body = json_pack("{s:I}", "contacting", (json_int_t)n);
}

void drv_cluster_h_leave(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct agent *a = arg;
	struct drv_cluster *cl = a->cl;
	msgpack_sbuffer sb;
	msgpack_packer pk;

	if (cl->leaving) {
		resp->status = 202;
		resp->body = json_pack("{s:b}", "leaving", 1);
		return;
	}
	/* Serf shows a member as "left" (not "failed") only after its leave
	 * intent: 00 {LTime, Node, Prune}. */
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_sbuffer_write(&sb, "\x00", 1);
	msgpack_pack_map(&pk, 3);
	pack_str(&pk, "LTime");
	msgpack_pack_uint64(&pk, 1);
	pack_str(&pk, "Node");
	pack_str(&pk, cl->name);
	pack_str(&pk, "Prune");
	msgpack_pack_false(&pk);
	if (swim_broadcast_user(cl->swim, "serf-leave", (const uint8_t *)sb.data, sb.size))
		log_warn("gossip: cannot queue the leave intent");
	msgpack_sbuffer_destroy(&sb);
	if (swim_leave(cl->swim, rx_now_ms(a->loop))) {
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

void drv_cluster_h_keys(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct agent *a = arg;
	struct drv_cluster *cl = a->cl;
	json_t *arr = json_array();

	for (unsigned i = 0; i < cl->kr.n; i++) {
		char fp[24];

		key_fingerprint(cl->kr.keys[i], fp);
		json_array_append_new(arr,
				      json_pack("{s:s,s:b}", "fingerprint", fp, "primary", i == 0));
	}
	resp->body = json_pack("{s:b,s:o}", "encrypted", cl->kr.n > 0, "keys", arr);
}

/* The body's key, decoded; 0 or an error already in resp. */
static int body_key(const struct api_req *req, struct api_resp *resp, uint8_t key[GW_KEY_LEN])
{
	const char *b64 = req->body ? json_string_value(json_object_get(req->body, "key")) : NULL;

	if (!b64 || key_from_b64(b64, key)) {
		api_error(resp, 400, "invalid_argument",
			  "field \"key\" must be a base64 32-byte key ('vxmesh key generate')");
		return -EINVAL;
	}
	return 0;
}

static void key_op(struct agent *a, const struct api_req *req, struct api_resp *resp,
		   int (*op)(struct gw_keyring *, const uint8_t *), const char *what)
{
	struct drv_cluster *cl = a->cl;
	uint8_t key[GW_KEY_LEN];
	char fp[24];
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
	key_fingerprint(key, fp);
	ret = op(&cl->kr, key);
	sodium_memzero(key, sizeof(key));
	if (ret == -EEXIST || ret == -ENOENT || ret == -EBUSY || ret == -ENOSPC) {
		api_error(resp, ret == -ENOENT ? 404 : 409,
			  ret == -ENOENT ? "not_found" : "conflict", "key %s: %s", fp,
			  ret == -EEXIST   ? "already installed"
			  : ret == -ENOENT ? "not installed"
			  : ret == -EBUSY  ? "it is the primary key; make another primary first"
					   : "the keyring is full");
		return;
	}
	if (ret || (ret = keyring_save(cl))) {
		api_error(resp, 500, "internal", "keyring: %s", strerror(-ret));
		return;
	}
	log_info("gossip key %s %s", fp, what);
	drv_cluster_h_keys(a, req, resp);
}

static int kr_install(struct gw_keyring *kr, const uint8_t *k)
{
	return gw_keyring_install(kr, k);
}

static int kr_use(struct gw_keyring *kr, const uint8_t *k)
{
	return gw_keyring_use(kr, k);
}

static int kr_remove(struct gw_keyring *kr, const uint8_t *k)
{
	return gw_keyring_remove(kr, k);
}

void drv_cluster_h_key_install(void *arg, const struct api_req *req, struct api_resp *resp)
{
	key_op(arg, req, resp, kr_install, "installed");
}

void drv_cluster_h_key_use(void *arg, const struct api_req *req, struct api_resp *resp)
{
	key_op(arg, req, resp, kr_use, "is now primary");
}

void drv_cluster_h_key_remove(void *arg, const struct api_req *req, struct api_resp *resp)
{
	key_op(arg, req, resp, kr_remove, "removed");
}

void drv_cluster_h_token(void *arg, const struct api_req *req, struct api_resp *resp)
{
	struct agent *a = arg;
	struct drv_cluster *cl = a->cl;
	char seed[32], b64key[64], *json, *tok;
	size_t jlen, tlen;
	json_t *o;

	snprintf(seed, sizeof(seed), "%s:%u", inet_ntoa(cl->adv_addr), cl->adv_port);
	if (cl->kr.n)
		sodium_bin2base64(b64key, sizeof(b64key), cl->kr.keys[0], GW_KEY_LEN,
				  sodium_base64_VARIANT_ORIGINAL);
	o = json_pack("{s:[s],s:o}", "seeds", seed, "key",
		      cl->kr.n ? json_string(b64key) : json_null());
	sodium_memzero(b64key, sizeof(b64key));
	json = json_dumps(o, JSON_COMPACT);
	{
		json_t *k = json_object_get(o, "key");

		if (json_is_string(k))
			sodium_memzero((void *)json_string_value(k), json_string_length(k));
	}
	json_decref(o);
	if (!json) {
		api_error(resp, 500, "internal", "out of memory");
		return;
	}
	jlen = strlen(json);
	tlen = strlen(TOKEN_PREFIX) +
	       sodium_base64_ENCODED_LEN(jlen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	tok = malloc(tlen);
	if (tok) {
		memcpy(tok, TOKEN_PREFIX, strlen(TOKEN_PREFIX));
		sodium_bin2base64(tok + strlen(TOKEN_PREFIX), tlen - strlen(TOKEN_PREFIX),
				  (const unsigned char *)json, jlen,
				  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		resp->body = json_pack("{s:s,s:b}", "token", tok, "carries_key", cl->kr.n > 0);
		sodium_memzero(tok, tlen);
		free(tok);
	} else {
		api_error(resp, 500, "internal", "out of memory");
	}
	sodium_memzero(json, jlen);
	free(json);
}
