// SPDX-License-Identifier: MIT
/*
 * encd: the encrypted datapath, a process of its own (`vxmesh encd`).
 *
 * The agent starts it once and talks to it over a unix socket
 * (vxlan/encproto.h); it owns one TAP per encrypted network, joined to the
 * network's bridge, and one UDP socket for all of them.  It outlives the
 * agent on purpose: a killed or restarting agent interrupts no encrypted
 * flow, as the kernel keeps forwarding plaintext networks meanwhile.  The
 * next agent connects, replays its desired state between SYNC_BEGIN and
 * SYNC_END and carries on.  When encd itself dies its TAPs go with it, so
 * an encrypted network then has no way out at all: failure is closed.
 *
 * The keys it holds are the cluster's gossip keys (the agent sends them on
 * every change); it keeps only the derived data roots and wipes the rest.
 */
#include "vxlan/encd.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <jansson.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/reactor.h"
#include "common/vec.h"
#include "common/version.h"
#include "vxlan/enc.h"
#include "vxlan/encd_int.h"
#include "vxlan/encproto.h"

/* Newer uapi bits Debian 12's headers lack. */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

#define SOCKBUF	  (7 << 20)
#define EPOCH_MS  (5 * 60 * 1000) /* a fresh packet key at least this often */
#define ENSURE_MS 2000

/* ---- TAPs ---- */

static int tap_open(struct encd *d, struct en_net *n, char *why, size_t len)
{
	struct ifreq ifr = {0};
	unsigned off = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0) {
		snprintf(why, len, "open /dev/net/tun: %s", strerror(errno));
		return -errno;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", n->tap);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		snprintf(why, len, "create TAP %s: %s", n->tap, strerror(errno));
		close(fd);
		return -errno;
	}
	/* The kernel hands us what we can take apart: TSO frames when
	 * allowed, else single frames with their checksum left open. */
	if (!d->tap_tso || ioctl(fd, TUNSETOFFLOAD, off) < 0) {
		if (d->tap_tso) {
			log_warn("encrypted datapath: TAP TSO refused (%s); reading single frames",
				 strerror(errno));
			d->tso_fallbacks++;
		}
		if (ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM) < 0)
			(void)ioctl(fd, TUNSETOFFLOAD, 0);
	}
	n->fd = fd;
	n->ifindex = (int)if_nametoindex(n->tap);
	return 0;
}

static void proc_write(const char *path, const char *val)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(val, f);
		fclose(f);
	}
}

/* MTU, up, no IPv6 of its own, a port of the bridge. */
static void tap_ensure(struct encd *d, struct en_net *n)
{
	struct ifreq ifr = {0};
	char path[96];

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", n->tap);
	proc_write(path, "1");
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", n->tap);
	ifr.ifr_mtu = (int)n->mtu;
	(void)ioctl(d->sfd, SIOCSIFMTU, &ifr);
	if (ioctl(d->sfd, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		(void)ioctl(d->sfd, SIOCSIFFLAGS, &ifr);
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", n->bridge);
	ifr.ifr_ifindex = n->ifindex;
	/* EBUSY: a port already (of this bridge, normally). */
	if (ioctl(d->sfd, SIOCBRADDIF, &ifr) < 0 && errno != EBUSY && errno != EEXIST) {
		static struct log_ratelimit rl;

		if (log_ratelimit_ok(&rl))
			log_warn("encrypted datapath: add %s to bridge %s: %s", n->tap, n->bridge,
				 strerror(errno));
	}
}

static void tap_cb(struct rx_loop *loop, int fd, uint32_t ev, void *arg)
{
	struct en_net *n = arg;

	en_tap_readable(n->owner, n);
}

/* ---- tables ---- */

static void node_link(struct encd *d)
{
	for (size_t i = 0; i < d->nnets; i++)
		for (size_t j = 0; j < d->nets[i]->npeers; j++) {
			struct en_peer *p = &d->nets[i]->peers[j];

			p->node = EN_NONE;
			for (size_t k = 0; k < d->nnodes; k++)
				if (d->nodes[k].vtep.s_addr == p->vtep.s_addr &&
				    d->nodes[k].vport == p->vport)
					p->node = k;
		}
}

static void node_keys_drop(struct en_node *s)
{
	for (unsigned i = 0; i < EN_RXKEYS; i++)
		en_key_drop(&s->rx[i]);
}

static void net_free(struct encd *d, struct en_net *n)
{
	if (n->fd >= 0) {
		rx_io_del(d->loop, n->fd);
		close(n->fd); /* the TAP goes with it */
	}
	en_key_drop(&n->tx);
	free(n->peers);
	free(n->grobuf);
	free(n);
}

static int net_put(struct encd *d, const struct encp_net *m)
{
	struct en_net *n = en_net_find(d, m->vni);
	char why[192];
	int ret;

	if (n) {
		n->mtu = m->mtu;
		snprintf(n->bridge, sizeof(n->bridge), "%.*s", IFNAMSIZ - 1, m->bridge);
		n->seen = 1;
		tap_ensure(d, n);
		return 0;
	}
	if (vec_grow((void **)&d->nets, &d->capnets, d->nnets + 1, sizeof(*d->nets)))
		return -ENOMEM;
	n = calloc(1, sizeof(*n));
	if (!n || !(n->grobuf = malloc(EN_FRAME_MAX))) {
		free(n);
		return -ENOMEM;
	}
	n->fd = -1;
	n->vni = m->vni;
	n->mtu = m->mtu;
	n->seen = 1;
	snprintf(n->bridge, sizeof(n->bridge), "%.*s", IFNAMSIZ - 1, m->bridge);
	snprintf(n->tap, sizeof(n->tap), "%.*s", IFNAMSIZ - 1, m->tap);
	enc_gro_init(&n->gro, n->grobuf, EN_FRAME_MAX, en_gro_emit_cb, n);
	if ((ret = tap_open(d, n, why, sizeof(why))) ||
	    (ret = rx_io_add(d->loop, n->fd, EPOLLIN, tap_cb, n))) {
		log_err("encrypted datapath: network vni=%u: %s", n->vni, why);
		net_free(d, n);
		return ret;
	}
	n->owner = d;
	tap_ensure(d, n);
	d->nets[d->nnets++] = n;
	node_link(d);
	log_info("encrypted datapath: network vni=%u on %s (bridge %s, mtu %u)", n->vni, n->tap,
		 n->bridge, n->mtu);
	return 0;
}

static void net_del(struct encd *d, uint32_t vni)
{
	for (size_t i = 0; i < d->nnets; i++)
		if (d->nets[i]->vni == vni) {
			log_info("encrypted datapath: network vni=%u removed", vni);
			net_free(d, d->nets[i]);
			d->nets[i] = d->nets[--d->nnets];
			return;
		}
}

static struct en_node *node_find(struct encd *d, struct in_addr vtep, uint16_t vport)
{
	for (size_t i = 0; i < d->nnodes; i++)
		if (d->nodes[i].vtep.s_addr == vtep.s_addr && d->nodes[i].vport == vport)
			return &d->nodes[i];
	return NULL;
}

static int node_put(struct encd *d, const struct encp_node *m)
{
	struct en_node *s = node_find(d, m->vtep, m->vport);

	if (!s) {
		if (vec_grow((void **)&d->nodes, &d->capnodes, d->nnodes + 1, sizeof(*d->nodes)))
			return -ENOMEM;
		s = &d->nodes[d->nnodes++];
		memset(s, 0, sizeof(*s));
		s->vtep = m->vtep;
		s->vport = m->vport;
		enc_replay_init(&s->replay);
		node_link(d);
	}
	if (s->session != m->session) {
		/* A new process there: its counters start again. */
		s->session = m->session;
		enc_replay_init(&s->replay);
		node_keys_drop(s);
	}
	s->enc_port = m->enc_port;
	s->to = (struct sockaddr_in){
		.sin_family = AF_INET, .sin_port = htons(m->enc_port), .sin_addr = m->vtep};
	s->seen = 1;
	return 0;
}

static void node_del_at(struct encd *d, size_t i)
{
	node_keys_drop(&d->nodes[i]);
	d->nodes[i] = d->nodes[--d->nnodes];
	node_link(d);
}

static int peer_put(struct encd *d, const struct encp_peer *m)
{
	struct en_net *n = en_net_find(d, m->vni);
	struct en_peer *p;
	size_t i;

	if (!n)
		return -ENOENT;
	i = en_peer_lower(n, m->mac);
	if (i >= n->npeers || memcmp(n->peers[i].mac, m->mac, 6)) {
		if (vec_grow((void **)&n->peers, &n->cappeers, n->npeers + 1, sizeof(*n->peers)))
			return -ENOMEM;
		memmove(&n->peers[i + 1], &n->peers[i], (n->npeers - i) * sizeof(*n->peers));
		n->npeers++;
	}
	p = &n->peers[i];
	memcpy(p->mac, m->mac, 6);
	p->ip = m->ip;
	p->vtep = m->vtep;
	p->vport = m->vport;
	p->seen = 1;
	p->node = EN_NONE;
	for (size_t k = 0; k < d->nnodes; k++)
		if (d->nodes[k].vtep.s_addr == p->vtep.s_addr && d->nodes[k].vport == p->vport)
			p->node = k;
	return 0;
}

static void peer_del(struct encd *d, const struct encp_peer *m)
{
	struct en_net *n = en_net_find(d, m->vni);
	struct en_peer *p = n ? en_peer_find(n, m->mac) : NULL;

	if (p) {
		size_t i = (size_t)(p - n->peers);

		memmove(&n->peers[i], &n->peers[i + 1], (n->npeers - i - 1) * sizeof(*p));
		n->npeers--;
	}
}

static void keys_set(struct encd *d, struct encp_keys *m)
{
	unsigned n = m->n < ENCP_KEYS_MAX ? m->n : ENCP_KEYS_MAX;

	for (unsigned i = 0; i < d->nroots; i++)
		enc_root_wipe(&d->roots[i]);
	for (unsigned i = 0; i < n; i++)
		enc_root_derive(m->keys[i], &d->roots[i]);
	sodium_memzero(m->keys, sizeof(m->keys));
	d->nroots = n;
	/* Every cached packet key may belong to a key that is gone. */
	for (size_t i = 0; i < d->nnets; i++)
		en_key_drop(&d->nets[i]->tx);
	for (size_t i = 0; i < d->nnodes; i++)
		node_keys_drop(&d->nodes[i]);
	log_info("encrypted datapath: %u key(s), sending with tag %02x", n,
		 n ? d->roots[0].tag : 0);
}

static void sync_begin(struct encd *d)
{
	d->syncing = 1;
	for (size_t i = 0; i < d->nnets; i++) {
		d->nets[i]->seen = 0;
		for (size_t j = 0; j < d->nets[i]->npeers; j++)
			d->nets[i]->peers[j].seen = 0;
	}
	for (size_t i = 0; i < d->nnodes; i++)
		d->nodes[i].seen = 0;
}

static void sync_end(struct encd *d)
{
	if (!d->syncing)
		return;
	d->syncing = 0;
	for (size_t i = d->nnets; i-- > 0;) {
		struct en_net *n = d->nets[i];
		size_t k = 0;

		if (!n->seen) {
			net_del(d, n->vni);
			continue;
		}
		for (size_t j = 0; j < n->npeers; j++)
			if (n->peers[j].seen)
				n->peers[k++] = n->peers[j];
		n->npeers = k;
	}
	/* Hosts stay while an endpoint still names them: a restarted agent
	 * learns the members again only as gossip brings them. */
	node_link(d);
	for (size_t i = d->nnodes; i-- > 0;) {
		int used = 0;

		for (size_t j = 0; j < d->nnets && !used; j++)
			for (size_t k = 0; k < d->nets[j]->npeers && !used; k++)
				used = d->nets[j]->peers[k].node == i;
		if (!d->nodes[i].seen && !used)
			node_del_at(d, i);
	}
}

/* ---- stats ---- */

static json_t *ctr_json(const struct en_ctr *c)
{
	return json_pack(
		"{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "tx_packets",
		(json_int_t)c->tx_packets, "tx_bytes", (json_int_t)c->tx_bytes, "rx_packets",
		(json_int_t)c->rx_packets, "rx_bytes", (json_int_t)c->rx_bytes, "auth_failures",
		(json_int_t)c->auth_failures, "replay_drops", (json_int_t)c->replay_drops,
		"unknown_session", (json_int_t)c->unknown_session, "no_key_drops",
		(json_int_t)c->no_key_drops, "bad_source", (json_int_t)c->bad_source, "no_peer",
		(json_int_t)c->no_peer, "bum_dropped", (json_int_t)c->bum_dropped, "arp_answered",
		(json_int_t)c->arp_answered, "malformed", (json_int_t)c->malformed, "send_errors",
		(json_int_t)c->send_errors);
}

static json_t *stats_json(const struct encd *d)
{
	json_t *nets = json_array(), *nodes = json_array(), *o;
	char ip[ADDR_IP4_STRLEN], sess[17];

	for (size_t i = 0; i < d->nnets; i++) {
		const struct en_net *n = d->nets[i];

		json_array_append_new(nets,
				      json_pack("{s:I,s:s,s:s,s:I,s:I,s:o,s:I,s:I}", "vni",
						(json_int_t)n->vni, "tap", n->tap, "bridge",
						n->bridge, "mtu", (json_int_t)n->mtu, "peers",
						(json_int_t)n->npeers, "counters", ctr_json(&n->c),
						"gro_merged", (json_int_t)n->gro.merged,
						"gro_single", (json_int_t)n->gro.single));
	}
	for (size_t i = 0; i < d->nnodes; i++) {
		const struct en_node *s = &d->nodes[i];

		snprintf(sess, sizeof(sess), "%016llx", (unsigned long long)s->session);
		json_array_append_new(nodes, json_pack("{s:s,s:I,s:I,s:s,s:o}", "vtep",
						       addr_fmt_ip4(s->vtep, ip), "vxlan_port",
						       (json_int_t)s->vport, "enc_port",
						       (json_int_t)s->enc_port, "session", sess,
						       "counters", ctr_json(&s->c)));
	}
	snprintf(sess, sizeof(sess), "%016llx", (unsigned long long)d->session);
	o = json_pack("{s:s,s:I,s:s,s:I,s:s,s:I,s:I,s:{s:b,s:b,s:b},s:{s:I,s:I,s:I},s:o,s:o,s:o}",
		      "version", vxmesh_version, "pid", (json_int_t)getpid(), "session", sess,
		      "port", (json_int_t)d->port, "aead",
		      d->aead == ENC_AES256GCM ? "aes-256-gcm" : "chacha20-poly1305", "keys",
		      (json_int_t)d->nroots, "counter", (json_int_t)d->ctr, "offloads", "tap_tso",
		      d->tap_tso, "udp_gso", d->udp_gso, "udp_gro", d->udp_gro, "fallbacks",
		      "tap_tso", (json_int_t)d->tso_fallbacks, "udp_gso",
		      (json_int_t)d->gso_fallbacks, "udp_gro", (json_int_t)d->gro_fallbacks,
		      "counters", ctr_json(&d->c), "networks", nets, "nodes", nodes);
	if (o && d->nroots) {
		char tag[3];

		snprintf(tag, sizeof(tag), "%02x", d->roots[0].tag);
		json_object_set_new(o, "tag", json_string(tag)); /* of the sending key */
	}
	return o;
}

/* ---- control ---- */

static void ctl_send(struct encd *d, const void *m, size_t len)
{
	if (send(d->cfd, m, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_warn("encrypted datapath: reply to the agent: %s", strerror(errno));
}

static void ctl_close(struct encd *d)
{
	rx_io_del(d->loop, d->cfd);
	close(d->cfd);
	d->cfd = -1;
	/* A sync the agent did not finish keeps what it had named so far and
	 * everything else: the next agent syncs again. */
	d->syncing = 0;
}

static void hello_reply(struct encd *d)
{
	struct encp_hello_reply r = {.h = {ENCP_HELLO, ENCP_VERSION, sizeof(r)},
				     .session = d->session,
				     .pid = (uint32_t)getpid(),
				     .port = d->port,
				     .aead = (uint8_t)d->aead};

	ctl_send(d, &r, sizeof(r));
}

static void stats_reply(struct encd *d)
{
	json_t *o = stats_json(d);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (s)
		ctl_send(d, s, strlen(s));
	free(s);
}

#define WANT(type) (n == sizeof(type))

static void ctl_msg(struct encd *d, uint8_t *buf, size_t n)
{
	struct encp_hdr h;

	if (n < sizeof(h))
		return;
	memcpy(&h, buf, sizeof(h));
	if (h.version != ENCP_VERSION || h.len != n) {
		log_warn("encrypted datapath: control message of version %u ignored", h.version);
		return;
	}
	switch (h.type) {
	case ENCP_HELLO:
		hello_reply(d);
		break;
	case ENCP_SYNC_BEGIN:
		sync_begin(d);
		break;
	case ENCP_SYNC_END:
		sync_end(d);
		break;
	case ENCP_KEYS:
		if (WANT(struct encp_keys))
			keys_set(d, (struct encp_keys *)(void *)buf);
		break;
	case ENCP_NET_PUT:
		if (WANT(struct encp_net))
			(void)net_put(d, (const struct encp_net *)(void *)buf);
		break;
	case ENCP_NET_DEL:
		if (WANT(struct encp_net))
			net_del(d, ((const struct encp_net *)(void *)buf)->vni);
		break;
	case ENCP_NODE_PUT:
		if (WANT(struct encp_node))
			(void)node_put(d, (const struct encp_node *)(void *)buf);
		break;
	case ENCP_NODE_DEL:
		if (WANT(struct encp_node)) {
			const struct encp_node *m = (const void *)buf;
			struct en_node *s = node_find(d, m->vtep, m->vport);

			if (s)
				node_del_at(d, (size_t)(s - d->nodes));
		}
		break;
	case ENCP_PEER_PUT:
		if (WANT(struct encp_peer))
			(void)peer_put(d, (const struct encp_peer *)(void *)buf);
		break;
	case ENCP_PEER_DEL:
		if (WANT(struct encp_peer))
			peer_del(d, (const struct encp_peer *)(void *)buf);
		break;
	case ENCP_STATS:
		stats_reply(d);
		break;
	case ENCP_EXIT:
		log_info("encrypted datapath: asked to exit");
		d->stop = 1;
		rx_loop_stop(d->loop);
		break;
	default:
		break;
	}
}

static void ctl_cb(struct rx_loop *loop, int fd, uint32_t ev, void *arg)
{
	struct encd *d = arg;
	static uint8_t buf[ENCP_MSG_MAX];

	for (int i = 0; i < 256; i++) {
		ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
			ctl_close(d);
			break;
		}
		if (r < 0)
			break;
		ctl_msg(d, buf, (size_t)r);
	}
	sodium_memzero(buf, sizeof(buf)); /* keys pass through here */
}

static void listen_cb(struct rx_loop *loop, int fd, uint32_t ev, void *arg)
{
	struct encd *d = arg;
	struct ucred cr;
	socklen_t cl = sizeof(cr);
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (c < 0)
		return;
	/* Only root (or our own user) may steer the datapath. */
	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &cl) ||
	    (cr.uid != 0 && cr.uid != getuid())) {
		close(c);
		return;
	}
	if (d->cfd >= 0)
		ctl_close(d); /* the new agent replaces the old one */
	d->cfd = c;
	if (rx_io_add(loop, c, EPOLLIN, ctl_cb, d)) {
		close(c);
		d->cfd = -1;
	}
}

static void udp_cb(struct rx_loop *loop, int fd, uint32_t ev, void *arg)
{
	en_udp_readable(arg);
}

static void epoch_cb(struct rx_loop *loop, struct rx_timer *t, void *arg)
{
	struct encd *d = arg;

	/* Jump to the next epoch: a new packet key on every network. */
	d->ctr = ((d->ctr >> ENC_EPOCH_SHIFT) + 1) << ENC_EPOCH_SHIFT;
	rx_timer_arm(t, EPOCH_MS, 0);
}

static void ensure_cb(struct rx_loop *loop, struct rx_timer *t, void *arg)
{
	struct encd *d = arg;

	for (size_t i = 0; i < d->nnets; i++)
		tap_ensure(d, d->nets[i]);
	rx_timer_arm(t, ENSURE_MS, 0);
}

/* ---- sockets ---- */

static int udp_open(struct encd *d, char *why, size_t len)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET, .sin_port = htons(d->port), .sin_addr = d->bind};
	int one = 1, buf = SOCKBUF, gso = 0;
	socklen_t gl = sizeof(gso);

	d->ufd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->ufd < 0)
		return snprintf(why, len, "UDP socket: %s", strerror(errno)), -errno;
	if (setsockopt(d->ufd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)))
		(void)setsockopt(d->ufd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (setsockopt(d->ufd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)))
		(void)setsockopt(d->ufd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	if (bind(d->ufd, (struct sockaddr *)&sa, sizeof(sa)))
		return snprintf(why, len, "bind UDP port %u: %s", d->port, strerror(errno)), -errno;
	if (d->udp_gso && getsockopt(d->ufd, SOL_UDP, UDP_SEGMENT, &gso, &gl)) {
		log_warn("encrypted datapath: no UDP GSO (%s)", strerror(errno));
		d->udp_gso = 0;
		d->gso_fallbacks++;
	}
	if (d->udp_gro && setsockopt(d->ufd, SOL_UDP, UDP_GRO, &one, sizeof(one))) {
		log_warn("encrypted datapath: no UDP GRO (%s)", strerror(errno));
		d->udp_gro = 0;
		d->gro_fallbacks++;
	}
	return 0;
}

/* <ctl>.pid, so whoever started the agent can stop its datapath too. */
static void pidfile(const struct encd *d, int create)
{
	char path[sizeof(d->ctl) + 8];
	FILE *f;

	snprintf(path, sizeof(path), "%s.pid", d->ctl);
	if (!create) {
		unlink(path);
		return;
	}
	if ((f = fopen(path, "w"))) {
		fprintf(f, "%ld\n", (long)getpid());
		fclose(f);
	}
}

static int ctl_listen(struct encd *d, char *why, size_t len)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	mode_t old;

	if (strlen(d->ctl) >= sizeof(sa.sun_path))
		return snprintf(why, len, "control socket path too long"), -ENAMETOOLONG;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", d->ctl);
	d->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->lfd < 0)
		return snprintf(why, len, "unix socket: %s", strerror(errno)), -errno;
	unlink(d->ctl);
	old = umask(0177);
	if (bind(d->lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(d->lfd, 4)) {
		umask(old);
		return snprintf(why, len, "listen on %s: %s", d->ctl, strerror(errno)), -errno;
	}
	umask(old);
	pidfile(d, 1);
	return 0;
}

/* ---- the process ---- */

static void usage(FILE *f)
{
	fprintf(f, "Usage: vxmesh encd --ctl PATH [--port PORT] [--bind ADDR] [--no-tso] "
		   "[--no-gso] [--no-gro] [--log-level LEVEL]\n\n"
		   "The encrypted datapath.  The agent starts it (once, it outlives the agent)\n"
		   "and steers it through PATH; there is no reason to run it by hand.\n\n"
		   "  --ctl PATH     control socket (mode 0600)\n"
		   "  --port PORT    UDP port of encrypted traffic (default 4794)\n"
		   "  --bind ADDR    local address to bind (default: all)\n"
		   "  --no-tso       read single frames from the TAPs\n"
		   "  --no-gso       send one datagram per syscall\n"
		   "  --no-gro       receive one datagram per syscall\n");
}

static int opts(struct encd *d, int argc, char **argv, int first)
{
	static const struct option lo[] = {{"ctl", required_argument, NULL, 'c'},
					   {"port", required_argument, NULL, 'p'},
					   {"bind", required_argument, NULL, 'b'},
					   {"no-tso", no_argument, NULL, 'T'},
					   {"no-gso", no_argument, NULL, 'G'},
					   {"no-gro", no_argument, NULL, 'R'},
					   {"log-level", required_argument, NULL, 'l'},
					   {"help", no_argument, NULL, 'h'},
					   {NULL, 0, NULL, 0}};
	enum log_level lvl;
	long v;
	int c;

	optind = first;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'c':
			snprintf(d->ctl, sizeof(d->ctl), "%s", optarg);
			break;
		case 'p':
			v = strtol(optarg, NULL, 10);
			if (v < 1 || v > 65535)
				return fprintf(stderr, "vxmesh encd: bad --port %s\n", optarg), -1;
			d->port = (uint16_t)v;
			break;
		case 'b':
			if (inet_pton(AF_INET, optarg, &d->bind) != 1)
				return fprintf(stderr, "vxmesh encd: bad --bind %s\n", optarg), -1;
			break;
		case 'T':
			d->tap_tso = 0;
			break;
		case 'G':
			d->udp_gso = 0;
			break;
		case 'R':
			d->udp_gro = 0;
			break;
		case 'l':
			if (log_level_parse(optarg, &lvl))
				return fprintf(stderr, "vxmesh encd: bad --log-level\n"), -1;
			log_set_level(lvl);
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (!d->ctl[0])
		return fprintf(stderr, "vxmesh encd: --ctl PATH is required\n"), -1;
	return 0;
}

static void term_cb(struct rx_loop *loop, int fd, uint32_t ev, void *arg)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) == sizeof(si)) {
		log_info("encrypted datapath: signal %u received", si.ssi_signo);
		rx_loop_stop(loop);
	}
}

static int signals_watch(struct encd *d)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	d->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	return d->sigfd < 0 ? -errno : rx_io_add(d->loop, d->sigfd, EPOLLIN, term_cb, d);
}

int vx_encd_main(int argc, char **argv, int first)
{
	struct encd d = {.lfd = -1,
			 .cfd = -1,
			 .ufd = -1,
			 .sfd = -1,
			 .sigfd = -1,
			 .port = ENC_PORT_DEFAULT,
			 .tap_tso = 1,
			 .udp_gso = 1,
			 .udp_gro = 1};
	struct rx_timer *te = NULL, *tt = NULL;
	char why[192] = "";
	int ret = 1, o;

	if ((o = opts(&d, argc, argv, first)))
		return o > 0 ? 0 : 2;
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0 || enc_selftest(why, sizeof(why))) {
		log_err("encrypted datapath: self-test failed: %s", why);
		return 1;
	}
	d.aead = enc_aes_hw() ? ENC_AES256GCM : ENC_CHACHA20POLY1305;
	randombytes_buf(&d.session, sizeof(d.session));
	d.session |= 1; /* never 0: 0 means "none" in the tables */
	d.sbuf_cap = 512 * 1024;
	d.ubuf_cap = 65536 + 4096;
	d.rbuf = malloc(sizeof(struct enc_vnet) + EN_FRAME_MAX);
	d.sbuf = malloc(d.sbuf_cap);
	d.ubuf = malloc(d.ubuf_cap);
	d.sfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (!d.rbuf || !d.sbuf || !d.ubuf || d.sfd < 0 || rx_loop_create(&d.loop)) {
		log_err("encrypted datapath: out of memory");
		goto out;
	}
	if (udp_open(&d, why, sizeof(why)) || ctl_listen(&d, why, sizeof(why))) {
		log_err("encrypted datapath: %s", why);
		goto out;
	}
	if (rx_io_add(d.loop, d.ufd, EPOLLIN, udp_cb, &d) ||
	    rx_io_add(d.loop, d.lfd, EPOLLIN, listen_cb, &d) ||
	    !(te = rx_timer_create(d.loop, epoch_cb, &d)) ||
	    !(tt = rx_timer_create(d.loop, ensure_cb, &d)) || signals_watch(&d)) {
		log_err("encrypted datapath: out of memory");
		goto out;
	}
	rx_timer_arm(te, EPOCH_MS, 0);
	rx_timer_arm(tt, ENSURE_MS, 0);
	log_info("encrypted datapath %s: port %u, %s, session %016llx, offloads tso=%d gso=%d "
		 "gro=%d",
		 vxmesh_version, d.port,
		 d.aead == ENC_AES256GCM ? "AES-256-GCM" : "ChaCha20-Poly1305",
		 (unsigned long long)d.session, d.tap_tso, d.udp_gso, d.udp_gro);
	ret = rx_loop_run(d.loop) ? 1 : 0;
	log_info("encrypted datapath: exiting; its TAPs go with it");
out:
	while (d.nnets)
		net_del(&d, d.nets[0]->vni);
	free(d.nets);
	for (size_t i = 0; i < d.nnodes; i++)
		node_keys_drop(&d.nodes[i]);
	free(d.nodes);
	for (unsigned i = 0; i < d.nroots; i++)
		enc_root_wipe(&d.roots[i]);
	rx_timer_destroy(te);
	rx_timer_destroy(tt);
	if (d.lfd >= 0) {
		close(d.lfd);
		unlink(d.ctl);
		pidfile(&d, 0);
	}
	if (d.cfd >= 0)
		close(d.cfd);
	if (d.ufd >= 0)
		close(d.ufd);
	if (d.sfd >= 0)
		close(d.sfd);
	if (d.sigfd >= 0)
		close(d.sigfd);
	rx_loop_destroy(d.loop);
	free(d.rbuf);
	free(d.sbuf);
	free(d.ubuf);
	return ret;
}
