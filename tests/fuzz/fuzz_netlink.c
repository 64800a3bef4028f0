// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the rtnetlink reply parsers of vxlan/nl.c: links
 * (with their vxlan attributes), FDB and neighbour entries, addresses and
 * routes, and the ack/error/done handling around them.  They are static
 * callbacks that talk() runs through mnl_cb_run2(), so this file includes
 * vxlan/nl.c itself (the usual way to reach a translation unit's statics
 * without exporting them) and runs the same callbacks on a reply made
 * from the input, with no socket.
 *
 * Byte 0 picks the parser, byte 1 the ifindex the FDB and neighbour dumps
 * filter on.  Then each message is 4 bytes of framing, its payload after:
 *   type selector (one of the reply types below, or the byte itself),
 *   flags selector (bits: multi, dump interrupted, ack TLVs, capped,
 *   wrong sequence number), payload length (16 bits, cut to what is left).
 * The header framing is valid, the payload (family header and
 * attributes) is arbitrary.
 */
#include "vxlan/nl.c"

#include <assert.h>

#include "tests/fuzz/harness.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define SEQ	     77
#define PORTID	     4242

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint16_t types[] = {
	RTM_NEWLINK, RTM_NEWNEIGH, RTM_NEWROUTE,  RTM_NEWADDR, NLMSG_ERROR,
	NLMSG_DONE,  NLMSG_NOOP,   NLMSG_OVERRUN, RTM_DELLINK, RTM_DELNEIGH,
};

/* One parser with its argument, as the kops functions set them up. */
struct run {
	struct vec v;
	struct linkx x;
	struct nbr_dump d;
	struct addr_find af;
	struct route_find rf;
};

static size_t frame(const uint8_t *p, size_t n, uint8_t *out, size_t cap)
{
	size_t len = 0;

	while (n >= 4) {
		struct nlmsghdr *nlh = (struct nlmsghdr *)(void *)(out + len);
		size_t plen = (size_t)p[2] << 8 | p[3];
		uint16_t flags = 0;

		if (plen > n - 4)
			plen = n - 4;
		if (len + NLMSG_ALIGN(NLMSG_HDRLEN + plen) > cap)
			break;
		memset(nlh, 0, NLMSG_ALIGN(NLMSG_HDRLEN + plen));
		nlh->nlmsg_type =
			p[0] < 2 * ARRAY_LEN(types) ? types[p[0] % ARRAY_LEN(types)] : p[0];
		flags |= p[1] & 1 ? NLM_F_MULTI : 0;
		flags |= p[1] & 2 ? NLM_F_DUMP_INTR : 0;
		flags |= p[1] & 4 ? NLM_F_ACK_TLVS : 0;
		flags |= p[1] & 8 ? NLM_F_CAPPED : 0;
		nlh->nlmsg_flags = flags;
		nlh->nlmsg_seq = p[1] & 16 ? SEQ + 1 : SEQ;
		nlh->nlmsg_pid = PORTID;
		nlh->nlmsg_len = (uint32_t)(NLMSG_HDRLEN + plen);
		memcpy(out + len + NLMSG_HDRLEN, p + 4, plen);
		len += NLMSG_ALIGN(NLMSG_HDRLEN + plen);
		p += 4 + plen;
		n -= 4 + plen;
	}
	return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_ERROR] = error_cb,
		[NLMSG_DONE] = done_cb,
		[NLMSG_OVERRUN] = overrun_cb,
	};
	static const msg_fn fns[] = {link_dump_fn, link_get_fn,	  fdb_dump_fn,	 neigh_dump_fn,
				     addr_find_fn, route_find_fn, route_dump_fn, NULL};
	static struct vx_nl nl;
	static uint8_t tmp[RCV_SIZE];
	struct run u = {.v.elem = sizeof(struct vx_link)};
	struct req r = {.nl = &nl};
	unsigned which;
	uint8_t *buf;
	size_t len;
	void *args[ARRAY_LEN(fns)];
	int ret;

	if (size < 2)
		return 0;
	which = data[0] % ARRAY_LEN(fns);
	u.d = (struct nbr_dump){.ifindex = data[1]};
	u.d.v.elem = which == 2 ? sizeof(struct vx_fdb) : sizeof(struct vx_neigh);
	u.af = (struct addr_find){.ifindex = data[1] & 1 ? 0 : 2,
				  .ip.s_addr = htonl(0xc0000201),
				  .plen = data[1] & 2 ? -1 : 24};
	args[0] = &u.v;
	args[1] = &u.x;
	args[2] = &u.d;
	args[3] = &u.d;
	args[4] = &u.af;
	args[5] = &u.rf;
	args[6] = &u.v;
	args[7] = NULL;
	if (which == 6)
		u.v.elem = sizeof(struct vx_route);
	r.fn = fns[which];
	r.arg = args[which];
	len = frame(data + 2, size - 2, tmp, sizeof(tmp));
	if (!len)
		return 0;
	buf = fz_copy(tmp, len);
	nl.err[0] = '\0';
	errno = 0;
	ret = mnl_cb_run2(buf, len, SEQ, PORTID, data_cb, &r, ctl, NLMSG_MIN_TYPE);
	assert(ret == MNL_CB_OK || ret == MNL_CB_STOP || ret == MNL_CB_ERROR);
	assert(r.err <= 0 && memchr(nl.err, 0, sizeof(nl.err)));
	(void)final_seen(buf, (ssize_t)len, SEQ);
	free(u.v.p);
	free(u.d.v.p);
	free(buf);
	return 0;
}
