// SPDX-License-Identifier: MIT
/*
 * encd_pkt: the encrypted datapath's packet paths.
 *
 * Out: a frame read from a network's TAP (a TSO frame of up to 64 KiB with
 * its virtio header) goes to the host that owns its destination MAC: split
 * into wire-sized segments, each sealed with the network's current packet
 * key under the next counter, and sent in one UDP_SEGMENT sendmsg.  ARP
 * requests for known addresses are answered here; other broadcast and
 * unknown unicast frames are dropped, as the kernel VXLAN device of a
 * plaintext network does (no flooding).  Nothing leaves without a key:
 * no primary key, no frame.
 *
 * In: each datagram of a UDP GRO batch is parsed, checked against the
 * sender's replay window, opened in place, committed to the window, its
 * inner source MAC checked against the sending host's endpoints, and
 * coalesced with its neighbours into large TAP writes.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sodium.h>
#include <unistd.h>

#include "common/log.h"
#include "vxlan/enc.h"
#include "vxlan/encd_int.h"

#define ETH_HLEN    14
#define ETH_P_ARP_  0x0806
#define UDP_MAX_GSO 64
#define UDP_MAX_LEN (65535 - 20 - 8)

struct en_net *en_net_find(const struct encd *d, uint32_t vni)
{
	for (size_t i = 0; i < d->nnets; i++)
		if (d->nets[i]->vni == vni)
			return d->nets[i];
	return NULL;
}

size_t en_peer_lower(const struct en_net *n, const uint8_t mac[6])
{
	size_t lo = 0, hi = n->npeers;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (memcmp(n->peers[mid].mac, mac, 6) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct en_peer *en_peer_find(const struct en_net *n, const uint8_t mac[6])
{
	size_t i = en_peer_lower(n, mac);

	return i < n->npeers && !memcmp(n->peers[i].mac, mac, 6) ? &n->peers[i] : NULL;
}

void en_key_drop(struct en_key *k)
{
	enc_aead_free(k->ctx);
	memset(k, 0, sizeof(*k));
}

/* The packet key for (root, vni, session, epoch) in slot k. */
static int key_make(const struct encd *d, struct en_key *k, unsigned root, uint8_t type,
		    uint32_t vni, uint64_t session, uint64_t epoch)
{
	uint8_t key[ENC_KEY_LEN];
	int ret;

	en_key_drop(k);
	enc_key_derive(&d->roots[root], vni, session, epoch, key);
	ret = enc_aead_new(&k->ctx, (enum enc_aead)type, key);
	sodium_memzero(key, sizeof(key));
	if (ret)
		return ret;
	k->vni = vni;
	k->epoch = epoch;
	k->root = (uint8_t)root;
	k->type = type;
	return 0;
}

/* ---- out ---- */

static void tap_write(struct en_net *n, const struct enc_vnet *vh, const uint8_t *frame, size_t len)
{
	struct iovec iov[2] = {{(void *)vh, sizeof(*vh)}, {(void *)frame, len}};

	if (writev(n->fd, iov, 2) < 0)
		n->c.send_errors++;
}

void en_gro_emit_cb(void *arg, const struct enc_vnet *vh, const uint8_t *frame, size_t len)
{
	tap_write(arg, vh, frame, len);
}

/* Answer an ARP request for a known remote address.  1 when answered. */
static int arp_answer(struct en_net *n, const uint8_t *f, size_t len)
{
	static const uint8_t req_hdr[8] = {0, 1, 8, 0, 6, 4, 0, 1};
	struct enc_vnet vh = {0};
	uint8_t r[42];
	struct in_addr tip;

	if (len < 42 || memcmp(f + ETH_HLEN, req_hdr, 8))
		return 0;
	memcpy(&tip, f + 38, 4);
	for (size_t i = 0; i < n->npeers; i++) {
		const struct en_peer *p = &n->peers[i];

		if (p->ip.s_addr != tip.s_addr || p->node == EN_NONE)
			continue;
		memcpy(r, f + 6, 6);	  /* to the asker */
		memcpy(r + 6, p->mac, 6); /* from the owner */
		r[12] = 0x08, r[13] = 0x06;
		memcpy(r + 14, req_hdr, 7);
		r[21] = 2;		   /* reply */
		memcpy(r + 22, p->mac, 6); /* sender: the owner */
		memcpy(r + 28, &tip, 4);
		memcpy(r + 32, f + 22, 10); /* target: the asker's MAC and IP */
		tap_write(n, &vh, r, sizeof(r));
		n->c.arp_answered++;
		return 1;
	}
	return 0;
}

/* The network's packet key for the counter about to be used. */
static struct en_key *tx_key(struct encd *d, struct en_net *n, uint64_t ctr)
{
	uint64_t epoch = ctr >> ENC_EPOCH_SHIFT;
	struct en_key *k = &n->tx;

	if (k->ctx && k->epoch == epoch && k->type == d->aead)
		return k;
	if (key_make(d, k, 0, (uint8_t)d->aead, n->vni, d->session, epoch))
		return NULL;
	return k;
}

/* Send count datagrams of sbuf starting at off, each stride long but the
 * last (last bytes). */
static int udp_send(struct encd *d, struct en_node *to, size_t off, size_t count, size_t stride,
		    size_t last)
{
	size_t total = (count - 1) * stride + last;
	char cbuf[CMSG_SPACE(sizeof(uint16_t))];
	struct iovec iov = {d->sbuf + off, total};
	struct msghdr m = {.msg_name = &to->to,
			   .msg_namelen = sizeof(to->to),
			   .msg_iov = &iov,
			   .msg_iovlen = 1};
	struct cmsghdr *cm;
	uint16_t gso = (uint16_t)stride;

	if (count > 1 && d->udp_gso) {
		memset(cbuf, 0, sizeof(cbuf));
		m.msg_control = cbuf;
		m.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_UDP;
		cm->cmsg_type = UDP_SEGMENT;
		cm->cmsg_len = CMSG_LEN(sizeof(gso));
		memcpy(CMSG_DATA(cm), &gso, sizeof(gso));
		if (sendmsg(d->ufd, &m, 0) >= 0)
			return 0;
		if (errno != EIO && errno != EINVAL)
			return -errno;
		/* The route's device cannot checksum: no GSO for good. */
		log_warn("encrypted datapath: UDP GSO failed (%s); sending datagrams one by one",
			 strerror(errno));
		d->udp_gso = 0;
		d->gso_fallbacks++;
		m.msg_control = NULL;
		m.msg_controllen = 0;
	}
	for (size_t i = 0; i < count; i++) {
		iov.iov_base = d->sbuf + off + i * stride;
		iov.iov_len = i + 1 < count ? stride : last;
		if (sendmsg(d->ufd, &m, 0) < 0)
			return -errno;
	}
	return 0;
}

static void frame_send(struct encd *d, struct en_net *n, struct en_node *to,
		       const struct enc_vnet *vh, const uint8_t *f, size_t len)
{
	size_t stride, per, i, j;
	struct en_key *k;
	int nseg, err;

	/* Never reached (2^64 packets), but a counter must never repeat. */
	if (d->ctr > UINT64_MAX - EN_SEGS_MAX - 1) {
		n->c.send_errors++;
		return;
	}
	nseg = enc_seg_split(vh, f, len, d->sbuf, d->sbuf_cap, ENC_HDR_LEN, ENC_TAG_LEN, d->segs,
			     EN_SEGS_MAX, &stride);
	if (nseg < 0) {
		n->c.malformed++;
		return;
	}
	for (i = 0; i < (size_t)nseg; i++) {
		uint8_t *dg = d->sbuf + d->segs[i].off - ENC_HDR_LEN;
		struct enc_hdr h = {.type = (uint8_t)d->aead,
				    .tag = d->roots[0].tag,
				    .flags = d->segs[i].flags,
				    .vni = n->vni,
				    .session = d->session,
				    .counter = d->ctr++};

		if (!(k = tx_key(d, n, h.counter))) {
			n->c.send_errors++;
			return;
		}
		enc_hdr_put(dg, &h);
		if (enc_seal(k->ctx, h.counter, dg, d->segs[i].len)) {
			n->c.send_errors++;
			return;
		}
		n->c.tx_bytes += d->segs[i].len;
		to->c.tx_bytes += d->segs[i].len;
	}
	n->c.tx_packets += (size_t)nseg;
	to->c.tx_packets += (size_t)nseg;
	per = stride ? UDP_MAX_LEN / stride : 1;
	if (per > UDP_MAX_GSO)
		per = UDP_MAX_GSO;
	if (per < 1)
		per = 1;
	for (i = 0; i < (size_t)nseg; i += j) {
		j = (size_t)nseg - i < per ? (size_t)nseg - i : per;
		err = udp_send(d, to, d->segs[i].off - ENC_HDR_LEN, j, stride,
			       ENC_OVERHEAD + d->segs[i + j - 1].len);
		if (err) {
			n->c.send_errors++;
			to->c.send_errors++;
			return;
		}
	}
}

static void tap_frame(struct encd *d, struct en_net *n, const struct enc_vnet *vh, const uint8_t *f,
		      size_t len)
{
	const struct en_peer *p;

	if (len < ETH_HLEN) {
		n->c.malformed++;
		return;
	}
	if (f[0] & 1) { /* broadcast or multicast */
		if (!(f[12] == 0x08 && f[13] == 0x06 && arp_answer(n, f, len)))
			n->c.bum_dropped++;
		return;
	}
	p = en_peer_find(n, f);
	if (!p || p->node == EN_NONE || !d->nodes[p->node].enc_port) {
		n->c.no_peer++;
		return;
	}
	if (!d->nroots) {
		n->c.no_key_drops++;
		return;
	}
	frame_send(d, n, &d->nodes[p->node], vh, f, len);
}

void en_tap_readable(struct encd *d, struct en_net *n)
{
	const size_t vlen = sizeof(struct enc_vnet);

	/* Bounded: other networks and the socket get their turn. */
	for (int i = 0; i < 64; i++) {
		ssize_t r = read(n->fd, d->rbuf, vlen + EN_FRAME_MAX);
		struct enc_vnet vh;

		if (r < 0)
			return;
		if ((size_t)r < vlen + ETH_HLEN) {
			n->c.malformed++;
			continue;
		}
		memcpy(&vh, d->rbuf, vlen);
		tap_frame(d, n, &vh, d->rbuf + vlen, (size_t)r - vlen);
	}
}

/* ---- in ---- */

static struct en_node *node_by_session(struct encd *d, uint64_t session)
{
	for (size_t i = 0; i < d->nnodes; i++)
		if (d->nodes[i].session == session && d->nodes[i].session)
			return &d->nodes[i];
	return NULL;
}

/* Open dg in place with a key of its tag; the slot used, or NULL.  Keys
 * of other roots with the same tag (1 in 256 per pair) are tried on a
 * saved copy: a failed in-place open leaves garbage behind. */
static struct en_key *rx_open(struct encd *d, struct en_node *s, const struct enc_hdr *h,
			      uint8_t *dg, size_t len, int *nokey)
{
	uint64_t epoch = h->counter >> ENC_EPOCH_SHIFT;
	unsigned same = 0, tried = 0;
	struct en_key *k, *victim;

	for (unsigned r = 0; r < d->nroots; r++)
		same += d->roots[r].tag == h->tag;
	*nokey = !same;
	if (same > 1)
		memcpy(d->rbuf, dg, len);
	for (unsigned r = 0; r < d->nroots; r++) {
		if (d->roots[r].tag != h->tag)
			continue;
		k = NULL;
		victim = &s->rx[0];
		for (unsigned i = 0; i < EN_RXKEYS; i++) {
			struct en_key *c = &s->rx[i];

			if (c->ctx && c->vni == h->vni && c->epoch == epoch && c->root == r &&
			    c->type == h->type) {
				k = c;
				break;
			}
			if (!c->ctx || (victim->ctx && c->used < victim->used))
				victim = c;
		}
		if (!k) {
			k = victim;
			if (key_make(d, k, r, h->type, h->vni, h->session, epoch))
				continue;
		}
		k->used = ++d->use;
		if (tried++)
			memcpy(dg, d->rbuf, len);
		if (!enc_open(k->ctx, h->counter, dg, len))
			return k;
	}
	return NULL;
}

static void datagram_in(struct encd *d, uint8_t *dg, size_t len, struct en_net **touched,
			size_t *ntouched)
{
	struct en_node *s;
	struct en_net *n;
	const struct en_peer *p;
	struct enc_hdr h;
	size_t flen;
	int nokey;

	if (enc_hdr_get(dg, len, &h)) {
		d->c.malformed++;
		return;
	}
	n = en_net_find(d, h.vni);
	if (!n) {
		d->c.no_peer++; /* a network this host does not have */
		return;
	}
	s = node_by_session(d, h.session);
	if (!s) {
		n->c.unknown_session++;
		return;
	}
	/* Keys are derived only for the sender's current epoch and the next:
	 * a forged far-future counter costs no key derivation. */
	if (!enc_replay_check(&s->replay, h.counter) ||
	    (s->replay.last &&
	     (h.counter >> ENC_EPOCH_SHIFT) > ((s->replay.last - 1) >> ENC_EPOCH_SHIFT) + 1)) {
		n->c.replay_drops++;
		s->c.replay_drops++;
		return;
	}
	if (!rx_open(d, s, &h, dg, len, &nokey)) {
		if (nokey) {
			n->c.no_key_drops++;
			s->c.no_key_drops++;
		} else {
			n->c.auth_failures++;
			s->c.auth_failures++;
		}
		return;
	}
	if (enc_replay_commit(&s->replay, h.counter)) {
		n->c.replay_drops++;
		s->c.replay_drops++;
		return;
	}
	flen = len - ENC_OVERHEAD;
	/* The sender vouches only for its own endpoints' frames. */
	p = en_peer_find(n, dg + ENC_HDR_LEN + 6);
	if (!p || p->node != (size_t)(s - d->nodes)) {
		n->c.bad_source++;
		s->c.bad_source++;
		return;
	}
	n->c.rx_packets++;
	n->c.rx_bytes += flen;
	s->c.rx_packets++;
	s->c.rx_bytes += flen;
	if (!n->gro.len) {
		size_t i;

		for (i = 0; i < *ntouched && touched[i] != n; i++)
			;
		if (i == *ntouched && *ntouched < 16)
			touched[(*ntouched)++] = n;
	}
	enc_gro_add(&n->gro, dg + ENC_HDR_LEN, flen, h.flags);
	if (n->gro.len && *ntouched == 16)
		enc_gro_flush(&n->gro); /* no slot to remember it in */
}

void en_udp_readable(struct encd *d)
{
	struct en_net *touched[16];
	size_t ntouched = 0;

	for (int round = 0; round < 64; round++) {
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = {d->ubuf, d->ubuf_cap};
		struct msghdr m = {.msg_iov = &iov,
				   .msg_iovlen = 1,
				   .msg_control = cbuf,
				   .msg_controllen = sizeof(cbuf)};
		struct cmsghdr *cm;
		size_t seg, off;
		ssize_t r = recvmsg(d->ufd, &m, MSG_DONTWAIT);
		int gso = 0;

		if (r < 0)
			break;
		for (cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm))
			if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO &&
			    cm->cmsg_len >= CMSG_LEN(sizeof(int)))
				memcpy(&gso, CMSG_DATA(cm), sizeof(int));
		seg = gso > 0 ? (size_t)gso : (size_t)r;
		for (off = 0; off < (size_t)r; off += seg) {
			size_t len = (size_t)r - off < seg ? (size_t)r - off : seg;

			datagram_in(d, d->ubuf + off, len, touched, &ntouched);
		}
	}
	for (size_t i = 0; i < ntouched; i++)
		enc_gro_flush(&touched[i]->gro);
}
