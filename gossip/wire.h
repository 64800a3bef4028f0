/* SPDX-License-Identifier: MIT */
/*
 * wire: HashiCorp memberlist 0.2.2's wire dialect (as Debian's serf speaks
 * it; see shared/reference/memberlist-wire.md).  Pure codec, no I/O:
 *  - one message: type byte + msgpack map, Go-style (raw strings, sorted keys);
 *  - packet layers: compound (7), compress (9, LZW), CRC (12), encryption
 *    (AES-256-GCM, version 0 and 1 framing, keyring);
 *  - TCP streams: push/pull, fallback ping, reliable user message, err reply,
 *    optionally wrapped in compress and the encrypted 0a|LEN framing.
 * Every decoder validates lengths and types before reading and never trusts
 * a count from the wire to size an allocation beyond the limits below.
 * IPv4 only: 16-byte IPv4-mapped addresses are accepted and turned into
 * 4-byte ones; other IPv6 addresses are refused (-EAFNOSUPPORT).
 */
#ifndef VXMESH_GOSSIP_WIRE_H
#define VXMESH_GOSSIP_WIRE_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

enum gw_type {
	GW_PING = 0,
	GW_INDIRECT_PING = 1,
	GW_ACK = 2,
	GW_SUSPECT = 3,
	GW_ALIVE = 4,
	GW_DEAD = 5,
	GW_PUSHPULL = 6,
	GW_COMPOUND = 7,
	GW_USER = 8,
	GW_COMPRESS = 9,
	GW_ENCRYPT = 10,
	GW_NACK = 11,
	GW_CRC = 12,
	GW_ERR = 13,
};

#define GW_NAME_MAX	  128 /* node names, bytes incl. NUL */
#define GW_META_MAX	  512 /* memberlist's limit */
#define GW_VSN_LEN	  6
#define GW_UDP_BUDGET	  1400 /* piggyback budget of one UDP packet */
#define GW_UDP_MAX	  65536
#define GW_STREAM_MAX	  (20u << 20) /* push/pull state and encrypted stream limit */
#define GW_DECOMPRESS_MAX (40u << 20)
#define GW_COMPOUND_MAX	  127 /* 0.2.2 misparses 128+ parts */
#define GW_KEY_LEN	  32  /* AES-256 only (libsodium) */
#define GW_KEYRING_MAX	  8
#define GW_ENC_OVERHEAD	  29 /* version 1: vsn + nonce + tag */

/* The version vector we advertise: memberlist 1..5 speaking 2, delegate 2..5 speaking 5. */
extern const uint8_t gw_vsn_default[GW_VSN_LEN];

enum gw_state { GW_STATE_ALIVE = 0, GW_STATE_SUSPECT = 1, GW_STATE_DEAD = 2, GW_STATE_LEFT = 3 };

struct gw_ping {
	uint32_t seq;
	char node[GW_NAME_MAX];	    /* target's name; "" = anyone */
	struct in_addr src_addr;    /* 0 = absent */
	uint16_t src_port;	    /* 0 = absent */
	char src_node[GW_NAME_MAX]; /* "" = absent */
};

struct gw_indirect_ping {
	uint32_t seq;
	struct in_addr target;
	uint16_t port;
	char node[GW_NAME_MAX];
	int nack;
	struct in_addr src_addr;
	uint16_t src_port;
	char src_node[GW_NAME_MAX];
};

struct gw_ack {
	uint32_t seq;
	const uint8_t *payload; /* decode: points into the input buffer */
	size_t payload_len;
};

struct gw_nack {
	uint32_t seq;
};

/* suspect and dead share a shape. */
struct gw_accuse {
	uint32_t inc;
	char node[GW_NAME_MAX];
	char from[GW_NAME_MAX];
};

struct gw_alive {
	uint32_t inc;
	char node[GW_NAME_MAX];
	struct in_addr addr;
	uint16_t port;
	uint8_t meta[GW_META_MAX];
	size_t meta_len;
	uint8_t vsn[GW_VSN_LEN];
};

struct gw_err {
	char error[256];
};

/* One message of types 0-5, 8, 11, 13 (not the wrappers). */
struct gw_msg {
	enum gw_type type;
	union {
		struct gw_ping ping;
		struct gw_indirect_ping iping;
		struct gw_ack ack;
		struct gw_nack nack;
		struct gw_accuse suspect;
		struct gw_alive alive;
		struct gw_accuse dead;
		struct gw_err err;
		struct {
			const uint8_t *data; /* decode: points into the input */
			size_t len;
		} user;
	} u;
};

/* Encode one message (type byte + body) into buf.  Returns 0, -ENOSPC when
 * cap is too small, -EINVAL for a message that must not be sent (empty user
 * payload, Vsn not 6 bytes...).  *len gets the size. */
int gw_msg_encode(const struct gw_msg *m, uint8_t *buf, size_t cap, size_t *len)
	__attribute__((warn_unused_result));
/* Decode one message; pointers in m (ack payload, user data) point into buf.
 * 0, -EBADMSG (malformed), -EPROTONOSUPPORT (a wrapper or unknown type),
 * -EAFNOSUPPORT (IPv6 address). Unknown map keys are skipped. */
int gw_msg_decode(const uint8_t *buf, size_t len, struct gw_msg *m)
	__attribute__((warn_unused_result));

/* ---- packet layers ---- */

/* Compound of n parts (1 <= n <= GW_COMPOUND_MAX, no empty part). */
int gw_compound_encode(const uint8_t *const parts[], const size_t lens[], size_t n, uint8_t *buf,
		       size_t cap, size_t *len) __attribute__((warn_unused_result));
/* Prepend the CRC wrapper: buf gets 0c | crc32(payload) BE | payload. */
int gw_crc_wrap(const uint8_t *payload, size_t plen, uint8_t *buf, size_t cap, size_t *len)
	__attribute__((warn_unused_result));

/* LZW as Go's compress/lzw (LSB, literal width 8).  decode: 0, -EBADMSG,
 * -E2BIG past max_out.  *out is malloc()ed; free() it. */
int gw_lzw_encode(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
	__attribute__((warn_unused_result));
int gw_lzw_decode(const uint8_t *in, size_t len, size_t max_out, uint8_t **out, size_t *out_len)
	__attribute__((warn_unused_result));
/* Compress wrapper: 09 {Algo: 0, Buf: lzw(msg)}.  *out malloc()ed. */
int gw_compress_wrap(const uint8_t *msg, size_t len, uint8_t **out, size_t *out_len)
	__attribute__((warn_unused_result));

/*
 * Walk a decrypted UDP packet: check and strip CRC, decompress, split
 * compounds, recursively (depth-limited), calling cb for every leaf message
 * (its bytes start with the type byte).  Returns the number of leaves
 * delivered, or -EBADMSG / -E2BIG when the packet as a whole is unusable
 * (a truncated compound still delivers its earlier parts, as memberlist
 * does).  Empty leaves are never delivered.
 */
typedef void (*gw_leaf_cb)(void *arg, const uint8_t *msg, size_t len);
int gw_packet_walk(const uint8_t *buf, size_t len, gw_leaf_cb cb, void *arg);

/* ---- encryption ---- */

struct gw_keyring {
	uint8_t keys[GW_KEYRING_MAX][GW_KEY_LEN];
	unsigned n; /* installed keys; keys[0] is the primary */
};

/* 0, or -ENOTSUP when this CPU cannot do libsodium's AES-256-GCM. */
int gw_crypto_init(void) __attribute__((warn_unused_result));
/* 0, -EEXIST, -ENOSPC. */
int gw_keyring_install(struct gw_keyring *kr, const uint8_t key[static GW_KEY_LEN]);
/* Make an installed key primary.  0 or -ENOENT. */
int gw_keyring_use(struct gw_keyring *kr, const uint8_t key[static GW_KEY_LEN]);
/* 0, -ENOENT, -EBUSY (the primary cannot be removed). */
int gw_keyring_remove(struct gw_keyring *kr, const uint8_t key[static GW_KEY_LEN]);
void gw_keyring_wipe(struct gw_keyring *kr);

/* UDP: vsn(1)=1 | nonce(12) | ciphertext+tag, no AAD.  cap >= len + GW_ENC_OVERHEAD. */
int gw_encrypt_packet(const struct gw_keyring *kr, const uint8_t *in, size_t len, uint8_t *out,
		      size_t cap, size_t *out_len) __attribute__((warn_unused_result));
/* Tries every key, primary first; accepts versions 0 (PKCS#7 padded) and 1.
 * 0, -EBADMSG (no key fits / malformed). */
int gw_decrypt_packet(const struct gw_keyring *kr, const uint8_t *in, size_t len, uint8_t *out,
		      size_t cap, size_t *out_len) __attribute__((warn_unused_result));
/* TCP: 0a | LEN(4 BE) | vsn | nonce | ciphertext+tag, AAD = the first 5 bytes.
 * *out malloc()ed. */
int gw_encrypt_stream(const struct gw_keyring *kr, const uint8_t *in, size_t len, uint8_t **out,
		      size_t *out_len) __attribute__((warn_unused_result));

/* ---- TCP streams ---- */

struct gw_pp_node {
	char name[GW_NAME_MAX];
	struct in_addr addr;
	uint16_t port;
	uint32_t inc;
	enum gw_state state;
	uint8_t meta[GW_META_MAX];
	size_t meta_len;
	uint8_t vsn[GW_VSN_LEN];
};

/* A decoded push/pull message. */
struct gw_pushpull {
	int join;
	struct gw_pp_node *nodes; /* malloc()ed; gw_pushpull_free() */
	size_t n;
	uint8_t *user_state; /* malloc()ed, may be NULL */
	size_t user_state_len;
};
void gw_pushpull_free(struct gw_pushpull *pp);

/* Encode 06 | header | nodes | user state (uncompressed, unencrypted).
 * *out malloc()ed. */
int gw_pushpull_encode(const struct gw_pushpull *pp, uint8_t **out, size_t *out_len)
	__attribute__((warn_unused_result));

/*
 * Incremental stream reader: feed bytes as they arrive; once one complete
 * message is in, it is unwrapped (decrypted when kr has keys, or refused
 * when kr has keys and the stream is plaintext, and vice versa; then
 * decompressed) and classified.
 */
struct gw_stream;
enum gw_stream_kind {
	GW_STREAM_PUSHPULL,
	GW_STREAM_PING,
	GW_STREAM_ACK,
	GW_STREAM_USER,
	GW_STREAM_ERR
};
struct gw_stream_msg {
	enum gw_stream_kind kind;
	struct gw_pushpull pp; /* PUSHPULL: owned by the reader until the next feed/free */
	struct gw_msg msg;     /* PING, ACK, USER, ERR: pointers into reader memory */
};
/* kr may be NULL (plaintext cluster).  0 or -ENOMEM. */
int gw_stream_create(struct gw_stream **out, const struct gw_keyring *kr)
	__attribute__((warn_unused_result));
void gw_stream_free(struct gw_stream *s);
/* Returns 1 when a complete message is in *m, 0 when more bytes are needed,
 * -EBADMSG (malformed), -E2BIG (over GW_STREAM_MAX), -EKEYREJECTED
 * (encryption mismatch or no key fits; *errmsg then holds the text memberlist
 * uses for its err reply). */
int gw_stream_feed(struct gw_stream *s, const uint8_t *buf, size_t len, struct gw_stream_msg *m,
		   const char **errmsg) __attribute__((warn_unused_result));

/* Frame a stream message for sending: compress it (as Serf does) and
 * encrypt it when kr has keys.  *out malloc()ed. */
int gw_stream_frame(const struct gw_keyring *kr, const uint8_t *msg, size_t len, uint8_t **out,
		    size_t *out_len) __attribute__((warn_unused_result));

#endif
