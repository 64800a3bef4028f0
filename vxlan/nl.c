// SPDX-License-Identifier: MIT
/*
 * DOC: nl - the real kernel backend (struct vx_kops) over rtnetlink, with libmnl.
 *
 * One socket per struct vx_nl, bound to the namespace of the thread that
 * opened it.  Work inside an endpoint's namespace goes through a short-lived
 * second socket opened there: setns() in, socket(), setns() back, so the
 * thread never runs anything else outside its own namespace.
 *
 * Every request asks for an ack and waits for it (or for NLMSG_DONE); the
 * kernel's extack string is kept for last_error().  Replies are parsed
 * against policy tables before any attribute is read, and dumps the kernel
 * flags NLM_F_DUMP_INTR are read to the end and run again.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "common/vec.h"
#include "vxlan/vxlan.h"
#include "vxlan/vxlan_int.h"

#define REQ_SIZE   8192	 /* >= MNL_SOCKET_BUFFER_SIZE; requests are small and bounded */
#define RCV_SIZE   32768 /* the kernel sizes dump skbs up to the reader's buffer */
#define DUMP_TRIES 8
#define ERR_MAX	   256
#define ALIAS_KMAX 256 /* IFALIASZ */
#define LO_NAME	   "lo"

struct vx_nl {
	struct mnl_socket *sk;
	uint32_t seq;
	dev_t ns_dev; /* the namespace the socket lives in, for /proc/sys writes */
	ino_t ns_ino;
	char err[ERR_MAX];
	_Alignas(struct nlmsghdr) char rbuf[RCV_SIZE];
};

/* ---- attribute policies ---- */

struct pol {
	enum mnl_attr_data_type type; /* MNL_TYPE_UNSPEC: not read, skipped */
	uint16_t max;		      /* maximum payload length, 0 = none */
};

struct tb {
	const struct pol *pol;
	unsigned max;
	const struct nlattr **a;
};

static int attr_cb(const struct nlattr *attr, void *data)
{
	const struct tb *t = data;
	unsigned type = mnl_attr_get_type(attr);
	const struct pol *p;
	int ret;

	if (type > t->max || t->pol[type].type == MNL_TYPE_UNSPEC)
		return MNL_CB_OK;
	p = &t->pol[type];
	/* fixed-size types must match exactly; strings must be NUL-terminated */
	ret = mnl_attr_validate(attr, p->type);
	if (ret < 0 || (p->max && mnl_attr_get_payload_len(attr) > p->max))
		return MNL_CB_ERROR;
	t->a[type] = attr;
	return MNL_CB_OK;
}

/* Validate the attributes after a hdrlen-byte family header into a[0..max]. */
static int parse(const struct nlmsghdr *nlh, size_t hdrlen, const struct pol *pol, unsigned max,
		 const struct nlattr **a)
{
	struct tb t = {pol, max, a};

	memset(a, 0, (max + 1) * sizeof(*a));
	if (mnl_nlmsg_get_payload_len(nlh) < hdrlen)
		return -EPROTO;
	if (mnl_attr_parse(nlh, hdrlen, attr_cb, &t) < 0)
		return -EPROTO;
	return 0;
}

static int parse_nested(const struct nlattr *nest, const struct pol *pol, unsigned max,
			const struct nlattr **a)
{
	struct tb t = {pol, max, a};

	memset(a, 0, (max + 1) * sizeof(*a));
	if (mnl_attr_parse_nested(nest, attr_cb, &t) < 0)
		return -EPROTO;
	return 0;
}

static const struct pol link_pol[IFLA_MAX + 1] = {
	[IFLA_IFNAME] = {MNL_TYPE_NUL_STRING, IFNAMSIZ},
	[IFLA_IFALIAS] = {MNL_TYPE_NUL_STRING, ALIAS_KMAX},
	[IFLA_MTU] = {MNL_TYPE_U32, 0},
	[IFLA_MASTER] = {MNL_TYPE_U32, 0},
	[IFLA_ADDRESS] = {MNL_TYPE_BINARY, 32},
	[IFLA_LINKINFO] = {MNL_TYPE_NESTED, 0},
};

static const struct pol linkinfo_pol[IFLA_INFO_MAX + 1] = {
	[IFLA_INFO_KIND] = {MNL_TYPE_NUL_STRING, 64},
	[IFLA_INFO_DATA] = {MNL_TYPE_NESTED, 0},
};

/* clang-format off */
static const struct pol vxlan_pol[IFLA_VXLAN_MAX + 1] = {
	[IFLA_VXLAN_ID] = {MNL_TYPE_U32, 0},
	[IFLA_VXLAN_PORT] = {MNL_TYPE_U16, 0},
	[IFLA_VXLAN_LOCAL] = {MNL_TYPE_U32, 0},
	[IFLA_VXLAN_LINK] = {MNL_TYPE_U32, 0},
	[IFLA_VXLAN_LEARNING] = {MNL_TYPE_U8, 0},
	[IFLA_VXLAN_PROXY] = {MNL_TYPE_U8, 0},
};
/* clang-format on */

/* NDA_DST is 4 or 16 bytes; the length is checked where it is read. */
static const struct pol neigh_pol[NDA_MAX + 1] = {
	[NDA_DST] = {MNL_TYPE_BINARY, 16},
	[NDA_LLADDR] = {MNL_TYPE_BINARY, 32},
	[NDA_PORT] = {MNL_TYPE_U16, 0},
	[NDA_PROTOCOL] = {MNL_TYPE_U8, 0},
};

static const struct pol addr_pol[IFA_MAX + 1] = {
	[IFA_LOCAL] = {MNL_TYPE_U32, 0},
	[IFA_ADDRESS] = {MNL_TYPE_U32, 0},
};

static const struct pol route_pol[RTA_MAX + 1] = {
	[RTA_DST] = {MNL_TYPE_U32, 0},		[RTA_TABLE] = {MNL_TYPE_U32, 0},
	[RTA_OIF] = {MNL_TYPE_U32, 0},		[RTA_PRIORITY] = {MNL_TYPE_U32, 0},
	[RTA_MULTIPATH] = {MNL_TYPE_BINARY, 0},
};

static const struct pol err_pol[NLMSGERR_ATTR_MAX + 1] = {
	[NLMSGERR_ATTR_MSG] = {MNL_TYPE_NUL_STRING, 0},
};

/* ---- request/reply ---- */

/* Called for each data message of a reply; 0 or -errno. */
typedef int (*msg_fn)(const struct nlmsghdr *nlh, void *arg);

struct req {
	struct vx_nl *nl;
	msg_fn fn;
	void *arg;
	int err;
	int done; /* the final NLMSG_ERROR / NLMSG_DONE was consumed */
};

static void extack_keep(struct vx_nl *nl, const struct nlmsghdr *nlh, size_t off)
{
	const struct nlattr *a[NLMSGERR_ATTR_MAX + 1];

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (parse(nlh, off, err_pol, NLMSGERR_ATTR_MAX, a) < 0 || !a[NLMSGERR_ATTR_MSG])
		return;
	snprintf(nl->err, sizeof(nl->err), "%s", mnl_attr_get_str(a[NLMSGERR_ATTR_MSG]));
}

static int data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct req *r = data;
	int err;

	if (!r->fn)
		return MNL_CB_OK;
	err = r->fn(nlh, r->arg);
	if (err < 0) {
		r->err = err;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int error_cb(const struct nlmsghdr *nlh, void *data)
{
	struct req *r = data;
	const struct nlmsgerr *e;
	size_t off = sizeof(*e);

	r->done = 1;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e)) {
		r->err = -EPROTO;
		return MNL_CB_ERROR;
	}
	e = mnl_nlmsg_get_payload(nlh);
	if (e->error == 0)
		return MNL_CB_STOP;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (e->msg.nlmsg_len >= sizeof(struct nlmsghdr))
			off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
		else
			off = SIZE_MAX / 2; /* garbage: no TLVs to read */
	}
	extack_keep(r->nl, nlh, off);
	r->err = e->error < 0 ? e->error : -EPROTO;
	return MNL_CB_ERROR;
}

static int done_cb(const struct nlmsghdr *nlh, void *data)
{
	struct req *r = data;
	int v;

	r->done = 1;
	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(v)) {
		memcpy(&v, mnl_nlmsg_get_payload(nlh), sizeof(v));
		if (v < 0) {
			extack_keep(r->nl, nlh, sizeof(v));
			r->err = v;
			return MNL_CB_ERROR;
		}
	}
	return MNL_CB_STOP;
}

static int overrun_cb(const struct nlmsghdr *nlh, void *data)
{
	struct req *r = data;

	r->err = -ENOBUFS;
	return MNL_CB_ERROR;
}

static int final_seen(const void *buf, ssize_t len, uint32_t seq)
{
	const struct nlmsghdr *nlh = buf;
	int n = (int)len;

	for (; mnl_nlmsg_ok(nlh, n); nlh = mnl_nlmsg_next(nlh, &n))
		if (nlh->nlmsg_seq == seq &&
		    (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR))
			return 1;
	return 0;
}

/* After a failure mid-reply, read and drop the rest so the next request
 * starts on a clean socket.  len is what the last read returned. */
static void drain(struct vx_nl *nl, struct mnl_socket *sk, uint32_t seq, ssize_t len)
{
	while (!(len > 0 && final_seen(nl->rbuf, len, seq))) {
		len = mnl_socket_recvfrom(sk, nl->rbuf, sizeof(nl->rbuf));
		if (len < 0 && errno != EINTR && errno != ENOSPC)
			return;
	}
}

/* Send nlh (NLM_F_ACK added) and read its reply to the end, calling fn for
 * each data message.  0, -errno from the kernel or fn, -EINTR when a dump
 * was interrupted (the caller runs it again). */
static int talk(struct vx_nl *nl, struct mnl_socket *sk, struct nlmsghdr *nlh, msg_fn fn, void *arg)
{
	static mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		/* libmnl takes it non-const */
		[NLMSG_ERROR] = error_cb,
		[NLMSG_DONE] = done_cb,
		[NLMSG_OVERRUN] = overrun_cb,
	};
	struct req r = {.nl = nl, .fn = fn, .arg = arg};
	unsigned portid = mnl_socket_get_portid(sk);
	ssize_t len = 0;
	uint32_t seq;
	int ret, err;

	if (++nl->seq == 0) /* seq 0 turns libmnl's sequence check off */
		nl->seq = 1;
	seq = nl->seq;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(sk, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		len = mnl_socket_recvfrom(sk, nl->rbuf, sizeof(nl->rbuf));
		if (len < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		errno = 0;
		ret = mnl_cb_run2(nl->rbuf, len, seq, portid, data_cb, &r, ctl, NLMSG_MIN_TYPE);
		if (ret == MNL_CB_OK)
			continue;
		if (ret == MNL_CB_STOP && !r.err)
			return 0;
		/* libmnl reports NLM_F_DUMP_INTR, portid and seq mismatches in errno */
		err = r.err ? r.err : errno ? -errno : -EPROTO;
		break;
	}
	if (!r.done)
		drain(nl, sk, seq, len);
	return err;
}

/* A dump into v (emptied before each try), run again while interrupted.
 * On failure v's array is freed. */
static int dump(struct vx_nl *nl, struct mnl_socket *sk, struct nlmsghdr *nlh, msg_fn fn, void *arg,
		struct vec *v)
{
	int err = -EINTR;

	for (int i = 0; i < DUMP_TRIES && err == -EINTR; i++) {
		v->n = 0;
		err = talk(nl, sk, nlh, fn, arg);
	}
	if (err == -EINTR)
		err = -EAGAIN; /* interrupted every time */
	if (err < 0) {
		free(v->p);
		*v = (struct vec){.elem = v->elem};
	}
	return err;
}

static struct nlmsghdr *msg_start(char *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	return nlh;
}

/* ---- sockets and namespaces ---- */

static int sock_open(struct mnl_socket **out)
{
	static const int opts[] = {NETLINK_EXT_ACK, NETLINK_CAP_ACK, NETLINK_GET_STRICT_CHK};
	struct mnl_socket *sk;
	int one = 1, err;

	sk = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!sk)
		return -errno;
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		if (mnl_socket_setsockopt(sk, opts[i], &one, sizeof(one)) < 0) {
			err = -errno;
			goto err_close;
		}
	}
	if (mnl_socket_bind(sk, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto err_close;
	}
	*out = sk;
	return 0;

err_close:
	mnl_socket_close(sk);
	return err;
}

#define THREAD_NS "/proc/thread-self/ns/net"

/* Open a socket inside the namespace nsfd refers to.  The thread is back in
 * its own namespace on return, whatever happened. */
static int sock_open_in(int nsfd, struct mnl_socket **out)
{
	int orig, err;

	orig = open(THREAD_NS, O_RDONLY | O_CLOEXEC);
	if (orig < 0)
		return -errno;
	if (setns(nsfd, CLONE_NEWNET) < 0) {
		err = -errno;
		goto err_close_orig;
	}
	err = sock_open(out);
	if (setns(orig, CLONE_NEWNET) < 0) {
		/* cannot happen short of a kernel bug; never carry on in the wrong namespace */
		abort();
	}
err_close_orig:
	close(orig);
	return err;
}

static int netns_open(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* ---- links ---- */

struct linkx {
	struct vx_link l;
	uint8_t mac[6];
	int has_mac;
	int found;
};

static const struct {
	const char *name;
	enum vx_kind kind;
} kinds[] = {
	{"bridge", VX_KIND_BRIDGE},
	{"vxlan", VX_KIND_VXLAN},
	{"veth", VX_KIND_VETH},
};

static int linkinfo_parse(const struct nlattr *nest, struct vx_link *l)
{
	const struct nlattr *li[IFLA_INFO_MAX + 1], *vx[IFLA_VXLAN_MAX + 1];
	const char *kind;
	int err;

	err = parse_nested(nest, linkinfo_pol, IFLA_INFO_MAX, li);
	if (err < 0)
		return err;
	if (!li[IFLA_INFO_KIND])
		return 0;
	kind = mnl_attr_get_str(li[IFLA_INFO_KIND]);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kind, kinds[i].name))
			l->kind = kinds[i].kind;
	if (l->kind != VX_KIND_VXLAN || !li[IFLA_INFO_DATA])
		return 0;
	err = parse_nested(li[IFLA_INFO_DATA], vxlan_pol, IFLA_VXLAN_MAX, vx);
	if (err < 0)
		return err;
	if (vx[IFLA_VXLAN_ID])
		l->vni = mnl_attr_get_u32(vx[IFLA_VXLAN_ID]);
	if (vx[IFLA_VXLAN_PORT])
		l->port = ntohs(mnl_attr_get_u16(vx[IFLA_VXLAN_PORT]));
	if (vx[IFLA_VXLAN_LOCAL])
		l->local.s_addr = mnl_attr_get_u32(vx[IFLA_VXLAN_LOCAL]);
	if (vx[IFLA_VXLAN_LINK])
		l->underlay = (int)mnl_attr_get_u32(vx[IFLA_VXLAN_LINK]);
	if (vx[IFLA_VXLAN_LEARNING])
		l->learning = !!mnl_attr_get_u8(vx[IFLA_VXLAN_LEARNING]);
	if (vx[IFLA_VXLAN_PROXY])
		l->proxy = !!mnl_attr_get_u8(vx[IFLA_VXLAN_PROXY]);
	return 0;
}

/* 1 when nlh is a link and x was filled, 0 when nlh is something else. */
static int link_parse(const struct nlmsghdr *nlh, struct linkx *x)
{
	const struct nlattr *tb[IFLA_MAX + 1];
	const struct ifinfomsg *ifi;
	struct vx_link *l = &x->l;
	int err;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return 0;
	err = parse(nlh, sizeof(*ifi), link_pol, IFLA_MAX, tb);
	if (err < 0)
		return err;
	if (!tb[IFLA_IFNAME])
		return -EPROTO;
	ifi = mnl_nlmsg_get_payload(nlh);
	memset(x, 0, sizeof(*x));
	l->ifindex = ifi->ifi_index;
	l->up = !!(ifi->ifi_flags & IFF_UP);
	snprintf(l->name, sizeof(l->name), "%s", mnl_attr_get_str(tb[IFLA_IFNAME]));
	if (tb[IFLA_IFALIAS])
		snprintf(l->alias, sizeof(l->alias), "%s", mnl_attr_get_str(tb[IFLA_IFALIAS]));
	if (tb[IFLA_MTU])
		l->mtu = mnl_attr_get_u32(tb[IFLA_MTU]);
	if (tb[IFLA_MASTER])
		l->master = (int)mnl_attr_get_u32(tb[IFLA_MASTER]);
	if (tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == sizeof(x->mac)) {
		memcpy(x->mac, mnl_attr_get_payload(tb[IFLA_ADDRESS]), sizeof(x->mac));
		x->has_mac = 1;
	}
	if (tb[IFLA_LINKINFO]) {
		err = linkinfo_parse(tb[IFLA_LINKINFO], l);
		if (err < 0)
			return err;
	}
	return 1;
}

static int link_dump_fn(const struct nlmsghdr *nlh, void *arg)
{
	struct vec *v = arg;
	struct linkx x;
	struct vx_link *slot;
	int ret;

	ret = link_parse(nlh, &x);
	if (ret <= 0)
		return ret;
	slot = vec_push(v);
	if (!slot)
		return -ENOMEM;
	*slot = x.l;
	return 0;
}

static int link_get_fn(const struct nlmsghdr *nlh, void *arg)
{
	struct linkx *x = arg;
	int ret;

	ret = link_parse(nlh, x);
	if (ret < 0)
		return ret;
	x->found |= ret;
	return 0;
}

/* One link by name (ifindex 0) or by ifindex.  -ENODEV when absent. */
static int link_get(struct vx_nl *nl, struct mnl_socket *sk, const char *name, int ifindex,
		    struct linkx *x)
{
	_Alignas(struct nlmsghdr) char buf[REQ_SIZE];
	struct nlmsghdr *nlh = msg_start(buf, RTM_GETLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	int err;

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	if (!ifindex)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	memset(x, 0, sizeof(*x));
	err = talk(nl, sk, nlh, link_get_fn, x);
	if (err < 0)
		return err;
	return x->found ? 0 : -ENODEV;
}

static int link_index(struct vx_nl *nl, struct mnl_socket *sk, const char *name, int *ifindex)
{
	struct linkx x;
	int err = link_get(nl, sk, name, 0, &x);

	if (err < 0)
		return err;
	*ifindex = x.l.ifindex;
	return 0;
}

/* setlink: master (-1 = leave), mtu (0 = leave), alias (NULL = leave), up. */
static int link_set(struct vx_nl *nl, struct mnl_socket *sk, int ifindex, int master, unsigned mtu,
		    const char *alias)
{
	_Alignas(struct nlmsghdr) char buf[REQ_SIZE];
	struct nlmsghdr *nlh = msg_start(buf, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	if (master >= 0)
		mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	if (alias)
		mnl_attr_put_strz(nlh, IFLA_IFALIAS, alias);
	return talk(nl, sk, nlh, NULL, NULL);
}

static int link_delete(struct vx_nl *nl, struct mnl_socket *sk, int ifindex)
{
	_Alignas(struct nlmsghdr) char buf[REQ_SIZE];
	struct nlmsghdr *nlh = msg_start(buf, RTM_DELLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	return talk(nl, sk, nlh, NULL, NULL);
}

/* IPv6 address generation off, so the device never gets a link-local
 * address.  The kernel refuses IFLA_AF_SPEC on create (EAFNOSUPPORT), and
 * do_setlink() applies it after the flags, so this is its own request,
 * sent while the link is still down. */
static int link_addrgen_none(struct vx_nl *nl, struct mnl_socket *sk, int ifindex)
{
	_Alignas(struct nlmsghdr) char buf[REQ_SIZE];
	struct nlmsghdr *nlh = msg_start(buf, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	struct nlattr *spec, *in6;

	if (access("/proc/sys/net/ipv6", F_OK) < 0)
		return 0; /* no IPv6 in this kernel: nothing to turn off */
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
	in6 = mnl_attr_nest_start(nlh, AF_INET6);
	mnl_attr_put_u8(nlh, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
	mnl_attr_nest_end(nlh, in6);
	mnl_attr_nest_end(nlh, spec);
	return talk(nl, sk, nlh, NULL, NULL);
}

/* RTM_NEWLINK with NLM_F_CREATE|NLM_F_EXCL, the common part.  No alias:
 * the kernel ignores IFLA_IFALIAS on create, so it comes with the "up". */
static struct nlmsghdr *newlink_start(char *buf, const char *name, unsigned mtu)
{
	struct nlmsghdr *nlh = msg_start(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return nlh;
}

static int ns_same(const struct vx_nl *nl)
{
	struct stat st;

	return stat(THREAD_NS, &st) == 0 && st.st_dev == nl->ns_dev && st.st_ino == nl->ns_ino;
}

/* Belt and braces next to addrgenmode none.  /proc/sys/net shows the
 * thread's namespace, so only when that is the socket's. */
static void ipv6_disable(const struct vx_nl *nl, const char *ifname)
{
	char path[96];
	int fd;

	if (!ns_same(nl))
		return;
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, "1", 1) != 1) {
		/* addrgenmode none already keeps the bridge address-free */
	}
	close(fd);
}

static int net_spec_ok(const struct vx_net_spec *n)
{
	return vx_net_spec_ok(n) && vx_str_ok(n->brname, sizeof(n->brname)) &&
	       vx_str_ok(n->vxname, sizeof(n->vxname));
}

/* ---- kops: links ---- */

static int nl_link_dump(void *ctx, struct vx_link **out, size_t *n)
{
	struct vx_nl *nl = ctx;
	_Alignas(struct nlmsghdr) char buf[REQ_SIZE];
	struct nlmsghdr *nlh = msg_start(buf, RTM_GETLINK, NLM_F_DUMP);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	struct vec v = {.elem = sizeof(struct vx_link)};
	int err;

	nl->err[0] = '\0';
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	err = dump(nl, nl->sk, nlh, link_dump_fn, &v, &v);
	if (err < 0)
		return err;
	*out = vec_take(&v, n);
	return 0;
}

static int nl_bridge_add(void *ctx, const struct vx_net_spec *n, int *ifindex)
{
	struct vx_nl *nl = ctx;
	_Alignas(struct nlmsghdr) char buf[REQ_SIZE];
	char alias[VX_ALIAS_MAX];
	struct nlmsghdr *nlh;
	struct nlattr *li;
	int err, idx;

	nl->err[0] = '\0';
	if (!net_spec_ok(n))
		return -EINVAL;
	vx_net_alias(n, alias);
	nlh = newlink_start(buf, n->brname, n->mtu);
	li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(nlh, li);
	err = talk(nl, nl->sk, nlh, NULL, NULL);
	if (err < 0)
		return err;
	err = link_index(nl, nl->sk, n->brname, &idx);
	if (err < 0)
		return err; /* gone already: nothing to undo */
	err = link_addrgen_none(nl, nl->sk, idx);
	if (err < 0)
		goto err_del;
	ipv6_disable(nl, n->brname);
	err = link_set(nl, nl->sk, idx, -1, 0, alias);
	if (err < 0)
		goto err_del;
	*ifindex = idx;
	return 0;

err_del:
	(void)link_delete(nl, nl->sk, idx);
	return err;
}

static int nl_vxlan_add(void *ctx, const struct vx_net_spec *n, int br_ifindex, int *ifindex)
{
	struct vx_nl *nl = ctx;
	_Alignas(struct nlmsghdr) char buf[REQ_SIZE];
	char alias[VX_ALIAS_MAX];
	struct nlmsghdr *nlh;
	struct nlattr *li, *data;
	int err, idx;

	nl->err[0] = '\0';
	if (!net_spec_ok(n) || br_ifindex <= 0)
		return -EINVAL;
	vx_net_alias(n, alias);
	nlh = newlink_start(buf, n->vxname, n->mtu);
	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)br_ifindex);
	li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "vxlan");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u32(nlh, IFLA_VXLAN_ID, n->vni);
	mnl_attr_put_u16(nlh, IFLA_VXLAN_PORT, htons(n->port));
	if (n->local.s_addr)
		mnl_attr_put_u32(nlh, IFLA_VXLAN_LOCAL, n->local.s_addr);
	if (n->underlay)
		mnl_attr_put_u32(nlh, IFLA_VXLAN_LINK, (uint32_t)n->underlay);
	mnl_attr_put_u8(nlh, IFLA_VXLAN_LEARNING, 0);
	mnl_attr_put_u8(nlh, IFLA_VXLAN_PROXY, 1);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, li);
	err = talk(nl, nl->sk, nlh, NULL, NULL);
	if (err < 0)
		return err;
	err = link_index(nl, nl->sk, n->vxname, &idx);
	if (err < 0)
		return err;
	err = link_addrgen_none(nl, nl->sk, idx);
	if (err < 0)
		goto err_del;
	err = link_set(nl, nl->sk, idx, -1, 0, alias);
	if (err < 0)
		goto err_del;
	*ifindex = idx;
	return 0;

err_del:
	(void)link_delete(nl, nl->sk, idx);
	return err;
}

static int nl_link_fix(void *ctx, int ifindex, int master, unsigned mtu)
{
	struct vx_nl *nl = ctx;

	nl->err[0] = '\0';
	if (ifindex <= 0)
		return -EINVAL;
	return link_set(nl, nl->sk, ifindex, master, mtu, NULL);
}

static int nl_link_del(void *ctx, int ifindex)
{
	struct vx_nl *nl = ctx;

	nl->err[0] = '\0';
	if (ifindex <= 0)
		return -EINVAL;
	return link_delete(nl, nl->sk, ifindex);
}

/* ---- kops: endpoints ---- */

static int ep_spec_ok(const struct vx_ep_spec *e)
{
	return vx_ep_spec_ok(e) && vx_str_ok(e->host_ifname, sizeof(e->host_ifname)) &&
	       (!e->netns[0] || e->ip.s_addr);
}

static int addr_add(struct vx_nl *nl, struct mnl_socket *sk, int ifindex, struct in_addr ip,
		    uint8_t plen)
{
	_Alignas(struct nlmsghdr) char buf[REQ_SIZE];
	struct nlmsghdr *nlh = msg_start(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));

	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = plen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)ifindex;
	mnl_attr_put_u32(nlh, IFA_LOCAL, ip.s_addr);
	mnl_attr_put_u32(nlh, IFA_ADDRESS, ip.s_addr);
	return talk(nl, sk, nlh, NULL, NULL);
}

static int route_default_add(struct vx_nl *nl, struct mnl_socket *sk, int ifindex,
			     struct in_addr gw)
{
	_Alignas(struct nlmsghdr) char buf[REQ_SIZE];
	struct nlmsghdr *nlh = msg_start(buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	rtm->rtm_family = AF_INET;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(nlh, RTA_GATEWAY, gw.s_addr);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	return talk(nl, sk, nlh, NULL, NULL);
}

/* Inside the endpoint's namespace: lo up, address, peer up, default route. */
static int ep_configure(struct vx_nl *nl, int nsfd, const struct vx_ep_spec *e)
{
	struct mnl_socket *sk;
	struct linkx x;
	int err, idx;

	err = sock_open_in(nsfd, &sk);
	if (err < 0)
		return err;
	err = link_get(nl, sk, LO_NAME, 0, &x);
	if (err < 0)
		goto out;
	err = link_set(nl, sk, x.l.ifindex, -1, 0, NULL);
	if (err < 0)
		goto out;
	err = link_index(nl, sk, e->ifname, &idx);
	if (err < 0)
		goto out;
	err = addr_add(nl, sk, idx, e->ip, e->plen);
	if (err < 0)
		goto out;
	err = link_set(nl, sk, idx, -1, 0, NULL);
	if (err < 0)
		goto out;
	if (e->gw.s_addr)
		err = route_default_add(nl, sk, idx, e->gw);
out:
	mnl_socket_close(sk);
	return err;
}

static int nl_ep_add(void *ctx, const struct vx_ep_spec *e, int br_ifindex)
{
	struct vx_nl *nl = ctx;
	_Alignas(struct nlmsghdr) char buf[REQ_SIZE];
	char alias[VX_ALIAS_MAX];
	struct nlmsghdr *nlh;
	struct nlattr *li, *data, *peer;
	struct ifinfomsg *pifi;
	int nsfd = -1, err, idx;

	nl->err[0] = '\0';
	if (!ep_spec_ok(e) || br_ifindex <= 0)
		return -EINVAL;
	if (e->netns[0]) {
		nsfd = netns_open(e->netns);
		if (nsfd < 0)
			return nsfd;
	}
	vx_ep_alias(e, alias);
	nlh = newlink_start(buf, e->host_ifname, e->mtu);
	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)br_ifindex);
	li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	pifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifi));
	pifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, e->ifname);
	mnl_attr_put(nlh, IFLA_ADDRESS, sizeof(e->mac), e->mac);
	if (e->mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, e->mtu);
	if (nsfd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)nsfd);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, li);
	err = talk(nl, nl->sk, nlh, NULL, NULL);
	if (err < 0)
		goto out;
	err = link_index(nl, nl->sk, e->host_ifname, &idx);
	if (err < 0)
		goto out;
	err = link_addrgen_none(nl, nl->sk, idx);
	if (err < 0)
		goto err_del;
	if (nsfd >= 0) {
		err = ep_configure(nl, nsfd, e);
		if (err < 0)
			goto err_del;
	}
	err = link_set(nl, nl->sk, idx, -1, 0, alias);
	if (err < 0)
		goto err_del;
	goto out;

err_del:
	(void)link_delete(nl, nl->sk, idx); /* takes the peer with it */
out:
	if (nsfd >= 0)
		close(nsfd);
	return err;
}

struct addr_find {
	int ifindex; /* 0 = any link */
	struct in_addr ip;
	int plen;  /* -1 = any prefix length */
	int found; /* ifindex of the match */
};

static int addr_find_fn(const struct nlmsghdr *nlh, void *arg)
{
	struct addr_find *f = arg;
	const struct nlattr *tb[IFA_MAX + 1];
	const struct ifaddrmsg *ifa;
	uint32_t local;
	int err;

	if (nlh->nlmsg_type != RTM_NEWADDR)
		return 0;
	err = parse(nlh, sizeof(*ifa), addr_pol, IFA_MAX, tb);
	if (err < 0)
		return err;
	ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_family != AF_INET || (f->ifindex && (int)ifa->ifa_index != f->ifindex))
		return 0;
	if (f->plen >= 0 && ifa->ifa_prefixlen != f->plen)
		return 0;
	if (tb[IFA_LOCAL])
		local = mnl_attr_get_u32(tb[IFA_LOCAL]);
	else if (tb[IFA_ADDRESS])
		local = mnl_attr_get_u32(tb[IFA_ADDRESS]);
	else
		return 0;
	if (local == f->ip.s_addr && !f->found)
		f->found = (int)ifa->ifa_index;
	return 0;
}

static int addr_find(struct vx_nl *nl, struct mnl_socket *sk, struct addr_find *f)
{
	_Alignas(struct nlmsghdr) char buf[REQ_SIZE];
	struct nlmsghdr *nlh = msg_start(buf, RTM_GETADDR, NLM_F_DUMP);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	struct vec none = {.elem = 1};

	ifa->ifa_family = AF_INET;
	ifa->ifa_index = (uint32_t)f->ifindex; /* the kernel filters on it (strict mode) */
	f->found = 0;
	return dump(nl, sk, nlh, addr_find_fn, f, &none);
}

static int nl_ep_probe(void *ctx, const struct vx_ep_spec *e, int *ok)
{
	struct vx_nl *nl = ctx;
	struct mnl_socket *sk;
	struct addr_find f;
	struct linkx x;
	int nsfd, err;

	nl->err[0] = '\0';
	*ok = 0;
	if (!ep_spec_ok(e))
		return -EINVAL;
	if (!e->netns[0]) {
		/* the peer was handed over (Docker moves it): nothing of ours to check */
		*ok = 1;
		return 0;
	}
	nsfd = netns_open(e->netns);
	if (nsfd < 0)
		return nsfd;
	err = sock_open_in(nsfd, &sk);
	close(nsfd);
	if (err < 0)
		return err;
	err = link_get(nl, sk, e->ifname, 0, &x);
	if (err == -ENODEV) {
		nl->err[0] = '\0';
		err = 0;
		goto out;
	}
	if (err < 0 || !x.l.up || !x.has_mac || memcmp(x.mac, e->mac, sizeof(x.mac)))
		goto out;
	f = (struct addr_find){.ifindex = x.l.ifindex, .ip = e->ip, .plen = e->plen};
	err = addr_find(nl, sk, &f);
	if (err < 0)
		goto out;
	*ok = f.found != 0;
out:
	mnl_socket_close(sk);
	return err;
}

/* ---- kops: FDB and neighbours ---- */

static struct nlmsghdr *neigh_msg(char *buf, uint16_t type, uint16_t flags, uint8_t family,
				  int ifindex)
{
	struct nlmsghdr *nlh = msg_start(buf, type, flags);
	struct ndmsg *ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));

	ndm->ndm_family = family;
	ndm->ndm_ifindex = ifindex;
	return nlh;
}

static int nl_fdb_replace(void *ctx, const struct vx_fdb *f)
{
	struct vx_nl *nl = ctx;
	_Alignas(struct nlmsghdr) char buf[REQ_SIZE];
	struct nlmsghdr *nlh;
	struct ndmsg *ndm;

	nl->err[0] = '\0';
	if (f->ifindex <= 0 || !f->dst.s_addr)
		return -EINVAL;
	nlh = neigh_msg(buf, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, AF_BRIDGE, f->ifindex);
	ndm = mnl_nlmsg_get_payload(nlh);
	ndm->ndm_state = NUD_PERMANENT;
	ndm->ndm_flags = NTF_SELF | NTF_EXT_LEARNED;
	mnl_attr_put(nlh, NDA_LLADDR, sizeof(f->mac), f->mac);
	mnl_attr_put_u32(nlh, NDA_DST, f->dst.s_addr);
	if (f->port)
		mnl_attr_put_u16(nlh, NDA_PORT, htons(f->port));
	return talk(nl, nl->sk, nlh, NULL, NULL);
}

static int nl_fdb_del(void *ctx, const struct vx_fdb *f)
{
	struct vx_nl *nl = ctx;
	_Alignas(struct nlmsghdr) char buf[REQ_SIZE];
	struct nlmsghdr *nlh;
	struct ndmsg *ndm;

	nl->err[0] = '\0';
	if (f->ifindex <= 0)
		return -EINVAL;
	nlh = neigh_msg(buf, RTM_DELNEIGH, 0, AF_BRIDGE, f->ifindex);
	ndm = mnl_nlmsg_get_payload(nlh);
	ndm->ndm_flags = NTF_SELF;
	mnl_attr_put(nlh, NDA_LLADDR, sizeof(f->mac), f->mac);
	if (f->dst.s_addr)
		mnl_attr_put_u32(nlh, NDA_DST, f->dst.s_addr);
	/* without NDA_PORT the vxlan driver matches the device's own port */
	if (f->port)
		mnl_attr_put_u16(nlh, NDA_PORT, htons(f->port));
	return talk(nl, nl->sk, nlh, NULL, NULL);
}

struct nbr_dump {
	struct vec v;
	int ifindex;
};

/* Entries of the vxlan driver's own table (NTF_SELF) on one device; the
 * bridge's entries for the port (NTF_MASTER) are not ours to manage.  IPv6
 * remotes are skipped: we only speak IPv4. */
static int fdb_dump_fn(const struct nlmsghdr *nlh, void *arg)
{
	struct nbr_dump *d = arg;
	const struct nlattr *tb[NDA_MAX + 1];
	const struct ndmsg *ndm;
	struct vx_fdb *f;
	int err;

	if (nlh->nlmsg_type != RTM_NEWNEIGH)
		return 0;
	err = parse(nlh, sizeof(*ndm), neigh_pol, NDA_MAX, tb);
	if (err < 0)
		return err;
	ndm = mnl_nlmsg_get_payload(nlh);
	if (ndm->ndm_family != AF_BRIDGE || ndm->ndm_ifindex != d->ifindex ||
	    !(ndm->ndm_flags & NTF_SELF))
		return 0;
	if (!tb[NDA_LLADDR] || mnl_attr_get_payload_len(tb[NDA_LLADDR]) != 6)
		return 0;
	if (tb[NDA_DST] && mnl_attr_get_payload_len(tb[NDA_DST]) != 4) {
		if (mnl_attr_get_payload_len(tb[NDA_DST]) == 16)
			return 0;
		return -EPROTO;
	}
	f = vec_push(&d->v);
	if (!f)
		return -ENOMEM;
	f->ifindex = ndm->ndm_ifindex;
	memcpy(f->mac, mnl_attr_get_payload(tb[NDA_LLADDR]), sizeof(f->mac));
	if (tb[NDA_DST])
		memcpy(&f->dst.s_addr, mnl_attr_get_payload(tb[NDA_DST]), 4);
	if (tb[NDA_PORT])
		f->port = ntohs(mnl_attr_get_u16(tb[NDA_PORT]));
	f->state = ndm->ndm_state;
	f->flags = ndm->ndm_flags;
	return 0;
}

static int nl_fdb_dump(void *ctx, int ifindex, struct vx_fdb **out, size_t *n)
{
	struct vx_nl *nl = ctx;
	_Alignas(struct nlmsghdr) char buf[REQ_SIZE];
	struct nbr_dump d = {.v.elem = sizeof(struct vx_fdb), .ifindex = ifindex};
	struct nlmsghdr *nlh;
	int err;

	nl->err[0] = '\0';
	if (ifindex <= 0)
		return -EINVAL;
	/* strict mode: ndm_ifindex makes the kernel dump this device only */
	nlh = neigh_msg(buf, RTM_GETNEIGH, NLM_F_DUMP, AF_BRIDGE, ifindex);
	err = dump(nl, nl->sk, nlh, fdb_dump_fn, &d, &d.v);
	if (err < 0)
		return err;
	*out = vec_take(&d.v, n);
	return 0;
}

static int nl_neigh_replace(void *ctx, const struct vx_neigh *nb)
{
	struct vx_nl *nl = ctx;
	_Alignas(struct nlmsghdr) char buf[REQ_SIZE];
	struct nlmsghdr *nlh;
	struct ndmsg *ndm;

	nl->err[0] = '\0';
	if (nb->ifindex <= 0 || !nb->ip.s_addr)
		return -EINVAL;
	nlh = neigh_msg(buf, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, AF_INET, nb->ifindex);
	ndm = mnl_nlmsg_get_payload(nlh);
	ndm->ndm_state = NUD_PERMANENT;
	mnl_attr_put_u32(nlh, NDA_DST, nb->ip.s_addr);
	mnl_attr_put(nlh, NDA_LLADDR, sizeof(nb->mac), nb->mac);
	mnl_attr_put_u8(nlh, NDA_PROTOCOL, VX_RTPROT);
	return talk(nl, nl->sk, nlh, NULL, NULL);
}

static int nl_neigh_del(void *ctx, const struct vx_neigh *nb)
{
	struct vx_nl *nl = ctx;
	_Alignas(struct nlmsghdr) char buf[REQ_SIZE];
	struct nlmsghdr *nlh;

	nl->err[0] = '\0';
	if (nb->ifindex <= 0 || !nb->ip.s_addr)
		return -EINVAL;
	nlh = neigh_msg(buf, RTM_DELNEIGH, 0, AF_INET, nb->ifindex);
	mnl_attr_put_u32(nlh, NDA_DST, nb->ip.s_addr);
	return talk(nl, nl->sk, nlh, NULL, NULL);
}

static int neigh_dump_fn(const struct nlmsghdr *nlh, void *arg)
{
	struct nbr_dump *d = arg;
	const struct nlattr *tb[NDA_MAX + 1];
	const struct ndmsg *ndm;
	struct vx_neigh *nb;
	int err;

	if (nlh->nlmsg_type != RTM_NEWNEIGH)
		return 0;
	err = parse(nlh, sizeof(*ndm), neigh_pol, NDA_MAX, tb);
	if (err < 0)
		return err;
	ndm = mnl_nlmsg_get_payload(nlh);
	if (ndm->ndm_family != AF_INET || ndm->ndm_ifindex != d->ifindex)
		return 0;
	if (!tb[NDA_DST] || mnl_attr_get_payload_len(tb[NDA_DST]) != 4)
		return -EPROTO;
	nb = vec_push(&d->v);
	if (!nb)
		return -ENOMEM;
	nb->ifindex = ndm->ndm_ifindex;
	memcpy(&nb->ip.s_addr, mnl_attr_get_payload(tb[NDA_DST]), 4);
	if (tb[NDA_LLADDR] && mnl_attr_get_payload_len(tb[NDA_LLADDR]) == sizeof(nb->mac))
		memcpy(nb->mac, mnl_attr_get_payload(tb[NDA_LLADDR]), sizeof(nb->mac));
	nb->state = ndm->ndm_state;
	if (tb[NDA_PROTOCOL])
		nb->proto = mnl_attr_get_u8(tb[NDA_PROTOCOL]);
	return 0;
}

static int nl_neigh_dump(void *ctx, int ifindex, struct vx_neigh **out, size_t *n)
{
	struct vx_nl *nl = ctx;
	_Alignas(struct nlmsghdr) char buf[REQ_SIZE];
	struct nbr_dump d = {.v.elem = sizeof(struct vx_neigh), .ifindex = ifindex};
	struct nlmsghdr *nlh;
	int err;

	nl->err[0] = '\0';
	if (ifindex <= 0)
		return -EINVAL;
	/* strict mode wants ndm_ifindex 0 here and the filter as NDA_IFINDEX */
	nlh = neigh_msg(buf, RTM_GETNEIGH, NLM_F_DUMP, AF_INET, 0);
	mnl_attr_put_u32(nlh, NDA_IFINDEX, (uint32_t)ifindex);
	err = dump(nl, nl->sk, nlh, neigh_dump_fn, &d, &d.v);
	if (err < 0)
		return err;
	*out = vec_take(&d.v, n);
	return 0;
}

/* ---- kops: underlay ---- */

struct routex {
	struct vx_route r;
	uint32_t prio; /* RTA_PRIORITY, 0 when absent */
};

/* 1 when nlh is an IPv4 unicast route and x was filled, 0 when it is
 * something else. */
static int route_parse(const struct nlmsghdr *nlh, struct routex *x)
{
	const struct nlattr *tb[RTA_MAX + 1];
	const struct rtmsg *rtm;
	struct rtnexthop nh;
	int err;

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return 0;
	err = parse(nlh, sizeof(*rtm), route_pol, RTA_MAX, tb);
	if (err < 0)
		return err;
	rtm = mnl_nlmsg_get_payload(nlh);
	if (rtm->rtm_family != AF_INET || rtm->rtm_type != RTN_UNICAST)
		return 0;
	if (rtm->rtm_dst_len > 32 || (rtm->rtm_dst_len && !tb[RTA_DST]))
		return -EPROTO;
	memset(x, 0, sizeof(*x));
	if (tb[RTA_DST])
		x->r.dst.s_addr = mnl_attr_get_u32(tb[RTA_DST]);
	x->r.plen = rtm->rtm_dst_len;
	/* RTA_TABLE holds ids above 255, rtm_table cannot */
	x->r.table = tb[RTA_TABLE] ? mnl_attr_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	if (tb[RTA_PRIORITY])
		x->prio = mnl_attr_get_u32(tb[RTA_PRIORITY]);
	if (tb[RTA_OIF]) {
		x->r.oif = (int)mnl_attr_get_u32(tb[RTA_OIF]);
	} else if (tb[RTA_MULTIPATH] && mnl_attr_get_payload_len(tb[RTA_MULTIPATH]) >= sizeof(nh)) {
		memcpy(&nh, mnl_attr_get_payload(tb[RTA_MULTIPATH]), sizeof(nh));
		x->r.oif = nh.rtnh_ifindex;
	}
	return 1;
}

struct route_find {
	int oif;
	uint32_t prio;
};

/* The main table's default route of lowest metric with an output link. */
static int route_find_fn(const struct nlmsghdr *nlh, void *arg)
{
	struct route_find *f = arg;
	struct routex x;
	int ret;

	ret = route_parse(nlh, &x);
	if (ret <= 0)
		return ret;
	if (x.r.plen != 0 || x.r.table != RT_TABLE_MAIN)
		return 0;
	if (x.r.oif > 0 && (!f->oif || x.prio < f->prio)) {
		f->oif = x.r.oif;
		f->prio = x.prio;
	}
	return 0;
}

static int nl_underlay_get(void *ctx, struct in_addr local, int *ifindex, unsigned *mtu)
{
	struct vx_nl *nl = ctx;
	struct vec none = {.elem = 1};
	struct linkx x;
	int err, idx;

	nl->err[0] = '\0';
	if (local.s_addr) {
		struct addr_find f = {.ip = local, .plen = -1};

		err = addr_find(nl, nl->sk, &f);
		if (err < 0)
			return err;
		if (!f.found)
			return -ENODEV;
		idx = f.found;
	} else {
		_Alignas(struct nlmsghdr) char buf[REQ_SIZE];
		struct nlmsghdr *nlh = msg_start(buf, RTM_GETROUTE, NLM_F_DUMP);
		struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
		struct route_find f = {0};

		/* A route lookup of 0.0.0.0 answers with lo; read the table instead. */
		rtm->rtm_family = AF_INET;
		rtm->rtm_table = RT_TABLE_MAIN;
		err = dump(nl, nl->sk, nlh, route_find_fn, &f, &none);
		if (err < 0)
			return err;
		if (!f.oif)
			return -ENETUNREACH;
		idx = f.oif;
	}
	err = link_get(nl, nl->sk, NULL, idx, &x);
	if (err < 0)
		return err;
	*ifindex = idx;
	*mtu = x.l.mtu;
	return 0;
}

/* ---- kops: routes ---- */

static int route_dump_fn(const struct nlmsghdr *nlh, void *arg)
{
	struct vec *v = arg;
	struct vx_route *r;
	struct routex x;
	int ret;

	ret = route_parse(nlh, &x);
	if (ret <= 0)
		return ret;
	if (x.r.table == RT_TABLE_LOCAL)
		return 0;
	r = vec_push(v);
	if (!r)
		return -ENOMEM;
	*r = x.r;
	return 0;
}

static int nl_route_dump(void *ctx, struct vx_route **out, size_t *n)
{
	struct vx_nl *nl = ctx;
	_Alignas(struct nlmsghdr) char buf[REQ_SIZE];
	struct nlmsghdr *nlh = msg_start(buf, RTM_GETROUTE, NLM_F_DUMP);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	struct vec v = {.elem = sizeof(struct vx_route)};
	int err;

	nl->err[0] = '\0';
	/* rtm_table 0: every table (strict mode filters on a non-zero one) */
	rtm->rtm_family = AF_INET;
	err = dump(nl, nl->sk, nlh, route_dump_fn, &v, &v);
	if (err < 0)
		return err;
	*out = vec_take(&v, n);
	return 0;
}

static const char *nl_last_error(void *ctx)
{
	struct vx_nl *nl = ctx;

	return nl->err;
}

/* ---- public ---- */

int vx_nl_open(struct vx_nl **out)
{
	struct vx_nl *nl;
	struct stat st;
	int err;

	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	err = sock_open(&nl->sk);
	if (err < 0)
		goto err_free;
	if (stat(THREAD_NS, &st) == 0) {
		nl->ns_dev = st.st_dev;
		nl->ns_ino = st.st_ino;
	}
	*out = nl;
	return 0;

err_free:
	free(nl);
	return err;
}

void vx_nl_close(struct vx_nl *nl)
{
	if (!nl)
		return;
	mnl_socket_close(nl->sk);
	free(nl);
}

const struct vx_kops vx_nl_ops = {
	.link_dump = nl_link_dump,
	.fdb_dump = nl_fdb_dump,
	.neigh_dump = nl_neigh_dump,
	.bridge_add = nl_bridge_add,
	.vxlan_add = nl_vxlan_add,
	.link_fix = nl_link_fix,
	.link_del = nl_link_del,
	.ep_add = nl_ep_add,
	.ep_probe = nl_ep_probe,
	.fdb_replace = nl_fdb_replace,
	.fdb_del = nl_fdb_del,
	.neigh_replace = nl_neigh_replace,
	.neigh_del = nl_neigh_del,
	.underlay_get = nl_underlay_get,
	.route_dump = nl_route_dump,
	.last_error = nl_last_error,
};
