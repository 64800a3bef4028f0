/* SPDX-License-Identifier: MIT */
/*
 * enc: the pure pieces of the encrypted datapath (docs/encryption.md).  No
 * sockets, no devices: the datapath process (vxlan/encd.c) does the I/O and
 * calls these on its buffers.
 *
 *  - the wire header and its codec (enc_hdr_put / enc_hdr_get);
 *  - keys: a data root per gossip key, a packet key per (root, VNI, sender
 *    session, epoch), the AEAD seal/open (OpenSSL EVP, in place);
 *  - the replay window (RFC 6479, 8128 counters);
 *  - segmentation of the TAP's TSO frames and coalescing of received
 *    segments back into one large TAP write (vxlan/enc_seg.c).
 *
 * Wire format v1 (the UDP payload; all 24 header bytes are the AEAD's
 * associated data):
 *
 *   0      type: the AEAD (1 AES-256-GCM, 2 ChaCha20-Poly1305); bit 0x08,
 *          VXLAN's I flag, is never set, so no VXLAN socket takes it as VXLAN
 *   1      key tag: the first byte of BLAKE2b-256(gossip key)
 *   2      flags: ENC_F_CSUM_PARTIAL
 *   3      reserved, 0
 *   4..6   VNI, big endian
 *   7      reserved, 0
 *   8..15  sender session: 64 random bits, new for every datapath process
 *   16..23 counter, big endian, never repeats within a session
 *   24..   the inner Ethernet frame, encrypted, then the 16-byte tag
 *
 * Nonce = 4 zero bytes | counter (big endian).  Packet key =
 * BLAKE2b-256(key = root, "vxmesh-dp-v1" | VNI (4, BE) | session (8, BE) |
 * epoch (8, BE)), epoch = counter >> ENC_EPOCH_SHIFT, root =
 * crypto_kdf_derive_from_key(32, 1, "vxmdata1", gossip key).  A key thus
 * seals at most 2^27 packets, a fresh session per process means no (key,
 * nonce) pair is ever used twice, even across restarts, and the keys of
 * two networks or two senders are unrelated.
 */
#ifndef VXMESH_ENC_H
#define VXMESH_ENC_H

#include <stddef.h>
#include <stdint.h>

#define ENC_HDR_LEN  24
#define ENC_TAG_LEN  16
#define ENC_OVERHEAD (ENC_HDR_LEN + ENC_TAG_LEN) /* added to the frame in the UDP payload */
/* Outer IPv4 20 + UDP 8 + ENC_OVERHEAD + inner Ethernet 14: inner MTU =
 * underlay MTU - ENC_MTU_OVERHEAD. */
#define ENC_MTU_OVERHEAD (20 + 8 + ENC_OVERHEAD + 14)
#define ENC_KEY_LEN	 32
#define ENC_EPOCH_SHIFT	 27
#define ENC_PORT_DEFAULT 4794 /* 4790 is VXLAN-GPE's (tcpdump decodes it so) */
#define ENC_FRAME_MIN	 14   /* an Ethernet header */

enum enc_aead {
	ENC_AES256GCM = 1,
	ENC_CHACHA20POLY1305 = 2,
};

/* The inner frame's TCP/UDP checksum holds only the pseudo-header sum (the
 * sender's kernel left it to the "hardware"); the receiver hands it on as
 * CHECKSUM_PARTIAL.  Safe because the AEAD protects every byte. */
#define ENC_F_CSUM_PARTIAL 0x01
#define ENC_F_ALL	   ENC_F_CSUM_PARTIAL

struct enc_hdr {
	uint8_t type; /* enum enc_aead */
	uint8_t tag;
	uint8_t flags;
	uint32_t vni;
	uint64_t session;
	uint64_t counter;
};

/* ---- header ---- */

/* Write h as the 24 header bytes (the VNI's low 24 bits); no checks. */
void enc_hdr_put(uint8_t out[static ENC_HDR_LEN], const struct enc_hdr *h);
/* Parse and validate a datagram's header: len covers the whole datagram.
 * 0, or -EBADMSG: shorter than header + frame minimum + tag, unknown type,
 * unknown flags, reserved bytes not 0, VNI 0. */
int enc_hdr_get(const uint8_t *in, size_t len, struct enc_hdr *h)
	__attribute__((warn_unused_result));

/* ---- keys ---- */

/* What one gossip key gives the datapath.  Wipe with enc_root_wipe(). */
struct enc_root {
	uint8_t tag;
	uint8_t key[ENC_KEY_LEN];
};
void enc_root_derive(const uint8_t gossip_key[static ENC_KEY_LEN], struct enc_root *r);
void enc_root_wipe(struct enc_root *r);
/* The packet key of (root, vni, session, epoch).  Wipe it after use. */
void enc_key_derive(const struct enc_root *r, uint32_t vni, uint64_t session, uint64_t epoch,
		    uint8_t key[static ENC_KEY_LEN]);

/* ---- AEAD ---- */

struct enc_aead_ctx; /* an EVP context keyed once, opaque; one thread at a time */
/* Does this CPU do AES-256-GCM in hardware (AES-NI and CLMUL)?  Senders
 * use AES-256-GCM then, ChaCha20-Poly1305 otherwise; receivers open both. */
int enc_aes_hw(void);
/* 0, -EINVAL (type), -ENOMEM, -EIO (OpenSSL refused).  The key is copied
 * into OpenSSL's context (wiped by enc_aead_free). */
int enc_aead_new(struct enc_aead_ctx **out, enum enc_aead type,
		 const uint8_t key[static ENC_KEY_LEN]) __attribute__((warn_unused_result));
void enc_aead_free(struct enc_aead_ctx *c);
/* Seal buf[ENC_HDR_LEN .. ENC_HDR_LEN+flen) in place, authenticating
 * buf[0..ENC_HDR_LEN), and write the tag after it: buf must have room for
 * ENC_HDR_LEN + flen + ENC_TAG_LEN bytes.  0 or -EIO. */
int enc_seal(struct enc_aead_ctx *c, uint64_t counter, uint8_t *buf, size_t flen)
	__attribute__((warn_unused_result));
/* Open a whole datagram in place (len = header + ciphertext + tag): on 0
 * the frame is buf[ENC_HDR_LEN .. len-ENC_TAG_LEN).  -EBADMSG when it does
 * not authenticate or len < ENC_OVERHEAD (buf's frame bytes are then
 * garbage), -EIO when OpenSSL fails otherwise.  A context stays usable
 * after either. */
int enc_open(struct enc_aead_ctx *c, uint64_t counter, uint8_t *buf, size_t len)
	__attribute__((warn_unused_result));
/* Fixed-vector self-test of both AEADs and the key derivation.  0, or
 * -EIO with a reason in why. */
int enc_selftest(char *why, size_t len) __attribute__((warn_unused_result));

/* ---- replay window (RFC 6479) ---- */

#define ENC_REPLAY_BLOCKS 128
#define ENC_REPLAY_WINDOW ((ENC_REPLAY_BLOCKS - 1) * 64) /* 8128 */

struct enc_replay {
	uint64_t last; /* highest counter committed + 1; 0 = none yet */
	uint64_t bits[ENC_REPLAY_BLOCKS];
};
void enc_replay_init(struct enc_replay *w);
/* Could counter be new?  1 yes, 0 no (seen, older than the window, or
 * UINT64_MAX, never valid).  Read only.  Check before opening, commit after
 * the tag verified.  The window accepts last - 1 - ENC_REPLAY_WINDOW and
 * newer. */
int enc_replay_check(const struct enc_replay *w, uint64_t counter);
/* Mark counter seen (after a successful open).  Returns 0, or -EALREADY
 * when it was seen meanwhile, the window has moved past it, or it is
 * UINT64_MAX (drop the packet); the window is then unchanged. */
int enc_replay_commit(struct enc_replay *w, uint64_t counter);

/* ---- segmentation and coalescing (vxlan/enc_seg.c) ---- */

/* struct virtio_net_hdr as a TAP with IFF_VNET_HDR reads and writes it
 * (10 bytes, host byte order on a little-endian host). */
struct enc_vnet {
	uint8_t flags; /* ENC_VNET_F_* */
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
} __attribute__((packed));

#define ENC_VNET_F_NEEDS_CSUM 1
#define ENC_VNET_F_DATA_VALID 2
#define ENC_VNET_GSO_NONE     0
#define ENC_VNET_GSO_TCPV4    1
#define ENC_VNET_GSO_UDP      3
#define ENC_VNET_GSO_TCPV6    4
#define ENC_VNET_GSO_UDP_L4   5
#define ENC_VNET_GSO_ECN      0x80

/* One segment written by enc_seg_split(). */
struct enc_seg {
	size_t off;    /* of its frame in out */
	size_t len;    /* frame length */
	uint8_t flags; /* ENC_F_CSUM_PARTIAL or 0 */
};

/*
 * Turn one frame read from the TAP (its virtio header vh, the Ethernet
 * frame in frame/len) into wire-ready frames: segment i is written at
 * out + i*stride + headroom, where stride = headroom + (the largest
 * segment's frame length) + tailroom, so sealed datagrams lie back to back
 * for one UDP_SEGMENT send (all of one size, the last maybe shorter).
 * out must not overlap frame; it needs (n-1)*stride + headroom + (the last
 * segment's length) + tailroom bytes.
 *
 * "The TCP or UDP checksum" below is the one found the way the receiver
 * finds it (enc_gro_*): Ethernet with at most one 802.1Q tag, IPv4 of any
 * IHL and not a fragment, or IPv6 with no extension header, then TCP or
 * UDP, every header within len.  Only such segments are sent
 * ENC_F_CSUM_PARTIAL, so the receiver can always hand them on as
 * CHECKSUM_PARTIAL.
 *
 *  - GSO_NONE without NEEDS_CSUM: one segment, a copy, flags 0.
 *  - GSO_NONE with NEEDS_CSUM: when csum_start/csum_offset point at the
 *    TCP or UDP checksum: one segment, flags ENC_F_CSUM_PARTIAL (its field
 *    keeps the pseudo-header sum); elsewhere: the checksum is completed
 *    here (RFC 1071 from csum_start to the end, stored at csum_start +
 *    csum_offset), flags 0.  csum_start + csum_offset + 2 > len: -EINVAL.
 *  - GSO_TCPV4 / GSO_TCPV6 (ECN bit allowed): split into segments of
 *    gso_size payload bytes (a frame without payload: one segment);
 *    hdr_len, csum_start and csum_offset are not trusted (the headers are
 *    parsed).  Each segment: the Ethernet, IP and TCP headers copied; IPv4
 *    total length, id (+i) and header checksum, IPv6 payload length; TCP
 *    seq advanced by gso_size*i, FIN and PSH only on the last, CWR only on
 *    the first; the TCP checksum field = the pseudo-header sum of the
 *    segment (folded, not inverted); flags ENC_F_CSUM_PARTIAL.  IPv6
 *    hop-by-hop and destination options headers are walked (a routing or
 *    fragment header is -EINVAL); behind them the receiver would not find
 *    the field, so those segments carry complete checksums, flags 0.
 *  - GSO_UDP_L4 (IPv4 or IPv6): likewise by gso_size with UDP length per
 *    segment.
 *
 * Returns the number of segments (>= 1), or -EINVAL (malformed frame, len
 * below ENC_FRAME_MIN, a GSO type it does not know or that does not match
 * the frame, gso_size 0 for a GSO frame, a segment over 65535 bytes of
 * IP), -ENOSPC (more than max segments or more than cap bytes of out).
 * Sets *stride (0 on error).
 */
int enc_seg_split(const struct enc_vnet *vh, const uint8_t *frame, size_t len, uint8_t *out,
		  size_t cap, size_t headroom, size_t tailroom, struct enc_seg *segs, size_t max,
		  size_t *stride) __attribute__((warn_unused_result));

/*
 * Receive-side coalescing (GRO) of decrypted frames into large TAP writes.
 * Frames are added in arrival order; a frame merges into the packet being
 * built when it continues the same TCP flow: same Ethernet header (no
 * 802.1Q tag); IPv4 with IHL 5, no fragment, same ToS, TTL, DF and
 * addresses, or IPv6 without extension headers, same traffic class, flow
 * label, hop limit and addresses; the IP length matching the frame's;
 * same ports, ack number, TCP header length, reserved bits and options;
 * flags exactly ACK or ACK|PSH; payload > 0 and at most gso_size; seq ==
 * the packet's seq + its payload; the packet so far has no PSH and every
 * earlier segment was gso_size long (a shorter one, or one with PSH, ends
 * it); both marked ENC_F_CSUM_PARTIAL; and the result stays within cap and
 * 65535 bytes of IP (IPv4 total length, IPv6 payload length).  Anything
 * else is emitted on its own, at once and unchanged, after what is
 * pending (order is kept): ENC_F_CSUM_PARTIAL frames with NEEDS_CSUM at
 * the TCP/UDP checksum as enc_seg_split() finds it, others with DATA_VALID
 * (the AEAD vouched for them; the kernel then trusts the checksum, which a
 * sender completes for every frame it does not mark ENC_F_CSUM_PARTIAL).
 *
 * A merged packet is emitted with gso_type TCPV4 or TCPV6, gso_size = the
 * first segment's payload, hdr_len, NEEDS_CSUM at the TCP checksum, the
 * first segment's headers with PSH if the last had it, IPv4 total length
 * and header checksum or IPv6 payload length recomputed, and the TCP field
 * set to the pseudo-header sum of the whole packet.  A packet of one
 * segment is emitted as that frame was received.  The frame passed to
 * emit_cb is valid during the call only (the caller's frame or buf), and
 * emit_cb must not call enc_gro_* on the same g.
 */
struct enc_gro {
	uint8_t *buf; /* the packet being built (caller's memory) */
	size_t cap;
	size_t len; /* 0 = nothing pending */
	struct enc_vnet vh;
	unsigned segs; /* merged so far */
	uint32_t next_seq;
	int closed; /* no more segments may join */
	/* emit: one complete packet for the TAP (vnet header, frame) */
	void (*emit_cb)(void *arg, const struct enc_vnet *vh, const uint8_t *frame, size_t len);
	void *arg;
	/* counters: segments emitted in merged packets, frames emitted alone;
	 * they add up to the frames added */
	unsigned long long merged, single;
};
void enc_gro_init(struct enc_gro *g, uint8_t *buf, size_t cap,
		  void (*emit_cb)(void *arg, const struct enc_vnet *vh, const uint8_t *frame,
				  size_t len),
		  void *arg);
/* Add one decrypted frame (flags from its header).  May call emit_cb. */
void enc_gro_add(struct enc_gro *g, const uint8_t *frame, size_t len, uint8_t flags);
/* Emit what is pending (call at the end of every receive batch). */
void enc_gro_flush(struct enc_gro *g);

/* RFC 1071 sum helpers (folded 16-bit, not inverted), shared with the
 * datapath's ARP and checksum code.  Sums are numbers in host order: the
 * one's complement sum of data read as big-endian 16-bit words (an odd
 * last byte is the high byte of a word), so plain numbers (a protocol, a
 * length) can be added to them, and a checksum is stored big endian:
 * c = ~enc_csum_fold(enc_csum_add(0, hdr, len)); p[0] = c >> 8, p[1] = c.
 * enc_csum_add returns sum + the sum of data, folded to 16 bits; data may
 * have any alignment.  Chaining pieces (sum = enc_csum_add(sum, ...)) is
 * right when every piece but the last has an even length: each piece is
 * summed as if it started a word.  enc_csum_fold folds any 32-bit sum. */
uint32_t enc_csum_add(uint32_t sum, const void *data, size_t len);
uint16_t enc_csum_fold(uint32_t sum);

#endif
