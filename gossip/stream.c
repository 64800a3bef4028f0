// SPDX-License-Identifier: MIT
/*
 * DOC: stream - the TCP side of the memberlist codec (see wire.h): push/pull
 * encoding and the incremental stream reader.  The reader keeps what it has
 * measured (struct skip) so bytes arriving later resume the parse, and it
 * unwraps the encrypted frame and the compress wrapper before parsing.
 */
#include "gossip/wire.h"

#include "gossip/wire_int.h"

#include <errno.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define PP_NODES_MAX 65536
#define STREAM_SLACK (64u << 10)

/* ------------------------------------------------------------------------------------------ */
/* push/pull                                                                                   */

struct pp_header {
	int join;
	int64_t nodes;
	int64_t user_len;
};
static const struct field pp_header_fields[] = {
	F(struct pp_header, "Join", K_BOOL, join),
	F(struct pp_header, "Nodes", K_I64, nodes),
	F(struct pp_header, "UserStateLen", K_I64, user_len),
};
static const struct field pp_node_fields[] = {
	F(struct gw_pp_node, "Addr", K_IP, addr),
	F(struct gw_pp_node, "Incarnation", K_U32, inc),
	FL(struct gw_pp_node, "Meta", K_BYTES, meta, meta_len),
	F(struct gw_pp_node, "Name", K_STR, name),
	F(struct gw_pp_node, "Port", K_U16, port),
	F(struct gw_pp_node, "State", K_ENUM, state),
	F(struct gw_pp_node, "Vsn", K_VSN, vsn),
};

_Static_assert(sizeof(enum gw_state) == sizeof(int), "K_ENUM stores an int");

void gw_pushpull_free(struct gw_pushpull *pp)
{
	if (!pp)
		return;
	free(pp->nodes);
	free(pp->user_state);
	pp->nodes = NULL;
	pp->user_state = NULL;
	pp->n = 0;
	pp->user_state_len = 0;
}

int gw_pushpull_encode(const struct gw_pushpull *pp, uint8_t **out, size_t *out_len)
{
	struct pp_header h = {pp->join ? 1 : 0, (int64_t)pp->n, (int64_t)pp->user_state_len};
	struct table th = TABLE(pp_header_fields), tn = TABLE(pp_node_fields);
	struct wbuf w = {.dyn = true, .max = GW_STREAM_MAX};
	msgpack_packer pk;
	int r = 0;

	if (pp->n > PP_NODES_MAX || (pp->n && !pp->nodes) || pp->user_state_len > GW_STREAM_MAX ||
	    (pp->user_state_len && !pp->user_state))
		return -EINVAL;
	msgpack_packer_init(&pk, &w, wbuf_write);
	wbuf_byte(&w, GW_PUSHPULL);
	r = encode_struct(&pk, &th, &h);
	for (size_t i = 0; !r && i < pp->n; i++) {
		if (!pp->nodes[i].name[0] || (unsigned)pp->nodes[i].state > GW_STATE_LEFT)
			r = -EINVAL;
		else
			r = encode_struct(&pk, &tn, &pp->nodes[i]);
	}
	if (!r && pp->user_state_len)
		wbuf_write(&w, (const char *)pp->user_state, pp->user_state_len);
	if (!r)
		r = w.err;
	if (r) {
		free(w.p);
		return r;
	}
	*out = w.p;
	*out_len = w.len;
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* stream reader                                                                               */

struct user_header {
	int64_t len;
};
static const struct field user_header_fields[] = {
	F(struct user_header, "UserMsgLen", K_I64, len),
};

enum pstage { P_TYPE, P_OBJ, P_PP_HDR, P_PP_NODES, P_PP_USER, P_USER_HDR, P_USER_BODY };

/* Resumable parse of one plain stream message (type byte first). */
struct pstate {
	enum pstage stage;
	uint8_t type;
	struct skip sk;
	struct pp_header pp;
	size_t nodes_off, body_off;
	int64_t body_len;
	size_t end;
};

struct gw_stream {
	const struct gw_keyring *kr;
	uint8_t *buf;
	size_t len, cap;
	size_t consumed; /* bytes of the message returned last, dropped on the next feed */
	int err;	 /* sticky */
	const char *errmsg;
	struct pstate ps;
	uint8_t *plain; /* decrypted payload of the current message */
	uint8_t *dec;	/* decompressed payload */
	struct gw_pushpull pp;
};

static const char ERR_NOT_ENCRYPTED[] =
	"Encryption is configured but remote state is not encrypted";
static const char ERR_NOT_CONFIGURED[] =
	"Remote state is encrypted and encryption is not configured";
static const char ERR_DECRYPT[] =
	"Failed to decrypt remote state: No installed keys could decrypt the message";
static const char ERR_DECOMPRESS[] = "Failed to decompress remote state";
static const char ERR_MALFORMED[] = "Malformed stream message";
static const char ERR_TOO_BIG[] = "Remote state is too large";

static int plain_parse(struct pstate *ps, const uint8_t *b, size_t len)
{
	int r;

	for (;;) {
		switch (ps->stage) {
		case P_TYPE:
			if (!len)
				return 0;
			ps->type = b[0];
			switch (ps->type) {
			case GW_PING:
			case GW_ACK:
			case GW_ERR:
				ps->stage = P_OBJ;
				break;
			case GW_PUSHPULL:
				ps->stage = P_PP_HDR;
				break;
			case GW_USER:
				ps->stage = P_USER_HDR;
				break;
			default:
				return -EBADMSG;
			}
			skip_init(&ps->sk, 1, 1);
			break;
		case P_OBJ:
			r = skip_run(&ps->sk, b, len);
			if (r <= 0)
				return r;
			ps->end = ps->sk.pos;
			return 1;
		case P_PP_HDR:
		case P_USER_HDR: {
			struct cur c = {b, 0, 1};

			r = skip_run(&ps->sk, b, len);
			if (r <= 0)
				return r;
			c.len = ps->sk.pos;
			if (ps->stage == P_PP_HDR) {
				struct table t = TABLE(pp_header_fields);

				memset(&ps->pp, 0, sizeof(ps->pp));
				r = decode_struct(&c, &t, &ps->pp);
				if (r)
					return r;
				if (ps->pp.nodes < 0 || ps->pp.nodes > PP_NODES_MAX ||
				    ps->pp.user_len < 0 || ps->pp.user_len > GW_STREAM_MAX)
					return -EBADMSG;
				ps->nodes_off = ps->sk.pos;
				ps->body_len = ps->pp.user_len;
				skip_init(&ps->sk, ps->sk.pos, (uint64_t)ps->pp.nodes);
				ps->stage = P_PP_NODES;
			} else {
				struct table t = TABLE(user_header_fields);
				struct user_header uh = {0};

				r = decode_struct(&c, &t, &uh);
				if (r)
					return r;
				if (uh.len < 0 || uh.len > GW_STREAM_MAX)
					return -EBADMSG;
				ps->body_len = uh.len;
				ps->body_off = ps->sk.pos;
				ps->stage = P_USER_BODY;
			}
			break;
		}
		case P_PP_NODES:
			r = skip_run(&ps->sk, b, len);
			if (r <= 0)
				return r;
			ps->body_off = ps->sk.pos;
			ps->stage = P_PP_USER;
			break;
		case P_PP_USER:
		case P_USER_BODY:
			if (len - ps->body_off < (size_t)ps->body_len)
				return 0;
			ps->end = ps->body_off + (size_t)ps->body_len;
			return 1;
		}
	}
}

/* Build *m from a plain message b[0..ps->end) that plain_parse completed. */
static int plain_build(struct gw_stream *s, const struct pstate *ps, const uint8_t *b,
		       struct gw_stream_msg *m)
{
	struct table tn = TABLE(pp_node_fields);
	struct cur c;
	int r;

	memset(m, 0, sizeof(*m));
	switch (ps->type) {
	case GW_PING:
	case GW_ACK:
	case GW_ERR:
		m->kind = ps->type == GW_PING  ? GW_STREAM_PING
			  : ps->type == GW_ACK ? GW_STREAM_ACK
					       : GW_STREAM_ERR;
		return gw_msg_decode(b, ps->end, &m->msg) == 0 ? 0 : -EBADMSG;
	case GW_USER:
		m->kind = GW_STREAM_USER;
		m->msg.type = GW_USER;
		m->msg.u.user.data = b + ps->body_off;
		m->msg.u.user.len = (size_t)ps->body_len;
		return 0;
	case GW_PUSHPULL:
		break;
	default:
		return -EBADMSG;
	}
	m->kind = GW_STREAM_PUSHPULL;
	s->pp.join = ps->pp.join;
	if (ps->pp.nodes) {
		s->pp.nodes = calloc((size_t)ps->pp.nodes, sizeof(*s->pp.nodes));
		if (!s->pp.nodes)
			return -ENOMEM;
	}
	c = (struct cur){b, ps->body_off, ps->nodes_off};
	for (int64_t i = 0; i < ps->pp.nodes; i++) {
		struct gw_pp_node *nd = &s->pp.nodes[s->pp.n];
		size_t start = c.off;

		memset(nd, 0, sizeof(*nd));
		r = decode_struct(&c, &tn, nd);
		/* IPv6 nodes and unknown states are left out, as Go's merge ignores states
		 * it does not know: the rest of the table stays usable. */
		if (r == -EAFNOSUPPORT) {
			c.off = start;
			if (cur_skip(&c))
				return -EBADMSG;
			continue;
		}
		if (r)
			return r;
		if ((unsigned)nd->state > GW_STATE_LEFT)
			continue;
		s->pp.n++;
	}
	if (ps->body_len) {
		s->pp.user_state = malloc((size_t)ps->body_len);
		if (!s->pp.user_state)
			return -ENOMEM;
		memcpy(s->pp.user_state, b + ps->body_off, (size_t)ps->body_len);
		s->pp.user_state_len = (size_t)ps->body_len;
	}
	m->pp = s->pp;
	return 0;
}

int gw_stream_create(struct gw_stream **out, const struct gw_keyring *kr)
{
	struct gw_stream *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->kr = kr;
	*out = s;
	return 0;
}

static void stream_release(struct gw_stream *s)
{
	gw_pushpull_free(&s->pp);
	free(s->plain);
	s->plain = NULL;
	free(s->dec);
	s->dec = NULL;
}

void gw_stream_free(struct gw_stream *s)
{
	if (!s)
		return;
	stream_release(s);
	free(s->buf);
	free(s);
}

static int stream_append(struct gw_stream *s, const uint8_t *b, size_t n)
{
	const size_t max = GW_STREAM_MAX + STREAM_SLACK;
	uint8_t *nb;
	size_t ncap;

	if (!n)
		return 0;
	if (n > max - s->len)
		return -E2BIG;
	if (n > s->cap - s->len) {
		ncap = s->cap ? s->cap : 4096;
		while (ncap - s->len < n)
			ncap = ncap > max / 2 ? max : ncap * 2;
		nb = realloc(s->buf, ncap);
		if (!nb)
			return -ENOMEM;
		s->buf = nb;
		s->cap = ncap;
	}
	memcpy(s->buf + s->len, b, n);
	s->len += n;
	return 0;
}

/* A whole plain message in b (already unwrapped): parse it in one go. */
static int plain_complete(struct gw_stream *s, const uint8_t *b, size_t len,
			  struct gw_stream_msg *m)
{
	struct pstate ps = {.stage = P_TYPE};
	int r = plain_parse(&ps, b, len);

	if (r == 0)
		return -EBADMSG; /* truncated inside its wrapper */
	if (r < 0)
		return r;
	return plain_build(s, &ps, b, m);
}

/* Decompress b (09 wrapper) into s->dec and parse the message inside. */
static int compressed_complete(struct gw_stream *s, const uint8_t *b, size_t len,
			       struct gw_stream_msg *m)
{
	size_t dlen;
	int r = uncompress_msg(b, len, GW_DECOMPRESS_MAX, &s->dec, &dlen);

	if (r) {
		s->errmsg = ERR_DECOMPRESS;
		return r;
	}
	if (!dlen || s->dec[0] == GW_COMPRESS || s->dec[0] == GW_ENCRYPT)
		return -EBADMSG;
	return plain_complete(s, s->dec, dlen, m);
}

static int stream_step(struct gw_stream *s, struct gw_stream_msg *m)
{
	bool keys = keyring_usable(s->kr);
	const uint8_t *b = s->buf;
	int r;

	if (!s->len)
		return 0;
	if (b[0] == GW_ENCRYPT) {
		size_t flen, plen;

		if (!keys) {
			s->errmsg = ERR_NOT_CONFIGURED;
			return -EKEYREJECTED;
		}
		if (s->len < 5)
			return 0;
		flen = (size_t)be_read(b + 1, 4);
		if (flen > GW_STREAM_MAX) {
			s->errmsg = ERR_TOO_BIG;
			return -E2BIG;
		}
		if (s->len - 5 < flen)
			return 0;
		if (flen < GW_ENC_OVERHEAD)
			return -EBADMSG;
		s->plain = malloc(flen - GW_ENC_OVERHEAD + 1);
		if (!s->plain)
			return -ENOMEM;
		r = open_sealed(s->kr, b + 5, flen, b, 5, s->plain, &plen);
		if (r) {
			s->errmsg = ERR_DECRYPT;
			return -EKEYREJECTED;
		}
		s->consumed = 5 + flen;
		if (!plen)
			return -EBADMSG;
		if (s->plain[0] == GW_COMPRESS)
			r = compressed_complete(s, s->plain, plen, m);
		else if (s->plain[0] == GW_ENCRYPT)
			r = -EBADMSG;
		else
			r = plain_complete(s, s->plain, plen, m);
		return r ? r : 1;
	}
	if (keys) {
		s->errmsg = ERR_NOT_ENCRYPTED;
		return -EKEYREJECTED;
	}
	if (b[0] == GW_COMPRESS) {
		if (s->ps.stage == P_TYPE) {
			skip_init(&s->ps.sk, 1, 1);
			s->ps.stage = P_OBJ;
		}
		r = skip_run(&s->ps.sk, b, s->len);
		if (r <= 0)
			return r;
		s->consumed = s->ps.sk.pos;
		r = compressed_complete(s, b, s->ps.sk.pos, m);
		return r ? r : 1;
	}
	r = plain_parse(&s->ps, b, s->len);
	if (r <= 0)
		return r;
	s->consumed = s->ps.end;
	r = plain_build(s, &s->ps, b, m);
	return r ? r : 1;
}

int gw_stream_feed(struct gw_stream *s, const uint8_t *buf, size_t len, struct gw_stream_msg *m,
		   const char **errmsg)
{
	int r;

	if (errmsg)
		*errmsg = NULL;
	if (s->err)
		goto fail;
	stream_release(s);
	if (s->consumed) {
		memmove(s->buf, s->buf + s->consumed, s->len - s->consumed);
		s->len -= s->consumed;
		s->consumed = 0;
		memset(&s->ps, 0, sizeof(s->ps));
	}
	r = stream_append(s, buf, len);
	if (!r)
		r = stream_step(s, m);
	if (r >= 0)
		return r;
	stream_release(s);
	s->err = r;
	if (!s->errmsg)
		s->errmsg = r == -E2BIG ? ERR_TOO_BIG : ERR_MALFORMED;
fail:
	if (errmsg)
		*errmsg = s->errmsg;
	return s->err;
}

int gw_stream_frame(const struct gw_keyring *kr, const uint8_t *msg, size_t len, uint8_t **out,
		    size_t *out_len)
{
	uint8_t *z;
	size_t zlen;
	int r = gw_compress_wrap(msg, len, &z, &zlen);

	if (r)
		return r;
	if (!keyring_usable(kr)) {
		*out = z;
		*out_len = zlen;
		return 0;
	}
	r = gw_encrypt_stream(kr, z, zlen, out, out_len);
	free(z);
	return r;
}
