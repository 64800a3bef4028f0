/* SPDX-License-Identifier: MIT */
/*
 * vxlan: the kernel datapath.  Two layers:
 *
 *  - struct vx_kops, the kernel backend: dump and change links, FDB and
 *    neighbour entries; read the routing tables.  vx_nl_ops (vxlan/nl.c, libmnl over rtnetlink) is
 * the real one; unit tests pass a fake.
 *  - struct vx_dp, the reconciler: holds the desired state (networks,
 *    local endpoints, remote endpoints) and makes the kernel match it, on
 *    every change and on vx_dp_reconcile() (the agent calls that
 *    periodically).  Objects that match are adopted untouched, so an agent
 *    restart does not disturb traffic.
 *
 * Ownership.  The datapath only ever changes or deletes what it owns:
 *  - links whose IFLA_IFALIAS starts with VX_ALIAS_PREFIX
 *    ("vxmesh:net=NAME" on bridge and vxlan devices, "vxmesh:ep=ID" on the
 *    host end of an endpoint's veth pair);
 *  - neighbour entries on its vxlan devices with NDA_PROTOCOL == VX_RTPROT;
 *  - FDB entries on its vxlan devices flagged NTF_EXT_LEARNED.
 * Anything else (a hand-added FDB entry, a foreign bridge that happens to
 * have our name) is left alone; a name clash is reported as -EEXIST.
 *
 * Only IPv4 underlay and overlay addresses for now.
 */
#ifndef VXMESH_VXLAN_H
#define VXMESH_VXLAN_H

#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

struct addr_prefix;

#define VX_PORT_DEFAULT 4789
#define VX_OVERHEAD	50 /* outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14 */
#define VX_VNI_MAX	16777215u
#define VX_NET_NAME_MAX 64 /* bytes, including NUL */
#define VX_EP_ID_LEN	12 /* hex characters */
#define VX_ALIAS_PREFIX "vxmesh:"
#define VX_ALIAS_MAX	128
#define VX_RTPROT	245 /* NDA_PROTOCOL of our neighbour entries */
#define VX_PATH_MAX	256

/* ---- value types ---- */

struct vx_net_spec {
	char name[VX_NET_NAME_MAX];
	uint32_t vni;	       /* 1..VX_VNI_MAX */
	uint16_t port;	       /* VXLAN UDP port */
	struct in_addr local;  /* local VTEP address; 0 = unspecified */
	int underlay;	       /* underlay ifindex; 0 = none */
	unsigned mtu;	       /* MTU of bridge, vxlan device and endpoints */
	int encrypted;	       /* no vxlan device: the encrypted datapath's TAP (vxlan/encc.h) */
	char brname[IFNAMSIZ]; /* filled by vx_net_names() */
	char vxname[IFNAMSIZ];
	char tapname[IFNAMSIZ];
};

struct vx_ep_spec {
	char id[VX_EP_ID_LEN + 1];
	uint32_t vni;		    /* network it belongs to */
	char host_ifname[IFNAMSIZ]; /* filled by vx_ep_names() */
	char netns[VX_PATH_MAX];    /* netns file (/run/netns/NAME); "" = leave the peer
				       in this namespace, unconfigured (Docker moves it) */
	char ifname[IFNAMSIZ];	    /* peer's name */
	struct in_addr ip;	    /* peer's address ... */
	uint8_t plen;		    /* ... and prefix length (route to the subnet) */
	struct in_addr gw;	    /* default route via gw; 0 = none */
	uint8_t mac[6];		    /* peer's MAC */
	unsigned mtu;
};

/* A remote endpoint: reach mac (and answer ARP for ip) through vtep:port. */
struct vx_remote {
	uint32_t vni;
	uint8_t mac[6];
	struct in_addr ip; /* 0 = FDB entry only */
	struct in_addr vtep;
	uint16_t port; /* 0 = the network's port */
};

/* ---- kernel backend ---- */

enum vx_kind { VX_KIND_OTHER, VX_KIND_BRIDGE, VX_KIND_VXLAN, VX_KIND_VETH };

struct vx_link {
	int ifindex;
	char name[IFNAMSIZ];
	enum vx_kind kind;
	char alias[VX_ALIAS_MAX]; /* "" when none */
	int master;		  /* 0 = none */
	int up;			  /* IFF_UP set */
	unsigned mtu;
	/* vxlan only */
	uint32_t vni;
	uint16_t port;
	struct in_addr local;
	int underlay;
	int learning;
	int proxy;
};

struct vx_fdb {
	int ifindex;
	uint8_t mac[6];
	struct in_addr dst; /* 0 when the entry has no NDA_DST */
	uint16_t port;	    /* 0 when the entry has no NDA_PORT */
	uint16_t state;	    /* NUD_* */
	uint8_t flags;	    /* NTF_* */
};

struct vx_neigh {
	int ifindex;
	struct in_addr ip;
	uint8_t mac[6];
	uint16_t state; /* NUD_* */
	uint8_t proto;	/* NDA_PROTOCOL, 0 when absent */
};

/* An IPv4 unicast route: dst/plen in table (RTA_TABLE, else rtm_table), out
 * of oif (the first next hop's for a multipath route; 0 = none given). */
struct vx_route {
	struct in_addr dst;
	uint8_t plen;
	uint32_t table;
	int oif;
};

/*
 * Every op returns 0 or -errno.  Dumps return a malloc()ed array the caller
 * free()s (NULL with *n == 0 when empty).  After a failure, last_error()
 * returns the kernel's extended-ack message (or "" when it sent none); the
 * string lives until the next op.
 */
struct vx_kops {
	int (*link_dump)(void *ctx, struct vx_link **out, size_t *n);
	int (*fdb_dump)(void *ctx, int ifindex, struct vx_fdb **out, size_t *n);
	int (*neigh_dump)(void *ctx, int ifindex, struct vx_neigh **out, size_t *n);
	/* Bridge named n->brname, alias "vxmesh:net=NAME", MTU, up, no address,
	 * IPv6 autoconf off.  On success *ifindex is the new link's. */
	int (*bridge_add)(void *ctx, const struct vx_net_spec *n, int *ifindex);
	/* VXLAN device n->vxname: VNI, dstport, local, underlay, learning off,
	 * proxy on, MTU, alias, enslaved to br_ifindex, up. */
	int (*vxlan_add)(void *ctx, const struct vx_net_spec *n, int br_ifindex, int *ifindex);
	/* Set master (-1 = leave), MTU (0 = leave) and bring the link up. */
	int (*link_fix)(void *ctx, int ifindex, int master, unsigned mtu);
	int (*link_del)(void *ctx, int ifindex);
	/* veth pair: host end e->host_ifname (alias "vxmesh:ep=ID", MTU, on
	 * br_ifindex, up); the peer e->ifname created in e->netns with MAC, MTU,
	 * e->ip/plen, default route via e->gw when set, up.  On failure nothing
	 * is left behind.  -ENOENT when the netns does not exist. */
	int (*ep_add)(void *ctx, const struct vx_ep_spec *e, int br_ifindex);
	/* Does the peer inside e->netns still look like e (name, MAC, address,
	 * up)?  Sets *ok.  -ENOENT when the netns is gone. */
	int (*ep_probe)(void *ctx, const struct vx_ep_spec *e, int *ok);
	/* Unicast FDB entry mac -> dst:port, NUD_PERMANENT, NTF_SELF|NTF_EXT_LEARNED. */
	int (*fdb_replace)(void *ctx, const struct vx_fdb *f);
	int (*fdb_del)(void *ctx, const struct vx_fdb *f);
	/* ip -> mac, NUD_PERMANENT, NDA_PROTOCOL VX_RTPROT. */
	int (*neigh_replace)(void *ctx, const struct vx_neigh *nb);
	int (*neigh_del)(void *ctx, const struct vx_neigh *nb);
	/* Underlay for a VTEP: the link that holds `local` (or, when local is 0,
	 * the default route's link) and its MTU. */
	int (*underlay_get)(void *ctx, struct in_addr local, int *ifindex, unsigned *mtu);
	/* IPv4 unicast routes of every table except local (RTN_UNICAST only). */
	int (*route_dump)(void *ctx, struct vx_route **out, size_t *n);
	const char *(*last_error)(void *ctx);
};

struct vx_nl;
/* Open an rtnetlink socket (NETLINK_EXT_ACK on) in the caller's namespace.
 * Returns 0 or -errno; release with vx_nl_close(). */
int vx_nl_open(struct vx_nl **out) __attribute__((warn_unused_result));
void vx_nl_close(struct vx_nl *nl);
/* The real backend; ctx is a struct vx_nl *. */
extern const struct vx_kops vx_nl_ops;

/*
 * Does p overlap a route of this host (ops->route_dump)?  Sets *overlap; 0 or
 * -errno of the dump (-EOPNOTSUPP when ops has no route_dump).  For picking a
 * subnet nobody routes yet, so the default route (plen 0), which overlaps
 * everything, is ignored.
 *
 * This replaces driver/ipamc.c's read of /proc/net/route, which shows the
 * main table only and counts unreachable, prohibit and blackhole routes too.
 * Here every table but local counts (policy routing and VRFs put real
 * routes in other tables; local holds only this host's own and broadcast
 * addresses, whose subnets the main table has as connected routes anyway),
 * and only unicast routes: a reject route reaches nothing, so a subnet
 * behind one is not in use.
 */
int vx_routes_overlap(const struct vx_kops *ops, void *ctx, const struct addr_prefix *p,
		      int *overlap) __attribute__((warn_unused_result));
/* The same rule over routes already dumped (one dump for many prefixes). */
int vx_route_list_overlaps(const struct vx_route *r, size_t n, const struct addr_prefix *p);

/* ---- reconciler ---- */

struct vx_dp;

struct vx_dp_stats {
	unsigned long long runs;     /* reconcile passes */
	unsigned long long created;  /* links and entries added */
	unsigned long long removed;  /* stale links and entries deleted */
	unsigned long long repaired; /* drift fixed on adopted objects */
	unsigned long long errors;   /* kernel ops that failed */
};

/* Fill n->brname ("vxmbVNI"), n->vxname ("vxmvVNI") and n->tapname
 * ("vxmtVNI"). */
void vx_net_names(struct vx_net_spec *n);
/* Fill e->host_ifname ("vxm" + id). */
void vx_ep_names(struct vx_ep_spec *e);

/* ops and ctx must outlive the dp.  0 or -ENOMEM; release with vx_dp_destroy(). */
int vx_dp_create(struct vx_dp **out, const struct vx_kops *ops, void *ctx)
	__attribute__((warn_unused_result));
/* The encrypted datapath's client (NULL: encrypted networks are refused);
 * must outlive the dp.  Encrypted networks get a bridge here and a TAP
 * there; their remote endpoints go there, never into a kernel FDB. */
struct vx_encc;
void vx_dp_set_encc(struct vx_dp *dp, struct vx_encc *enc);
/* Forgets desired state; kernel objects stay (the next agent adopts them). */
void vx_dp_destroy(struct vx_dp *dp);

/*
 * Desired-state changes.  Each applies to the kernel at once and returns its
 * error; a put that fails leaves neither desired state nor kernel objects
 * behind for a new object (a failed update of an existing one keeps the old
 * one desired).  errmsg, when not NULL, gets a one-line reason.
 */
int vx_dp_net_put(struct vx_dp *dp, const struct vx_net_spec *n, char *errmsg, size_t len)
	__attribute__((warn_unused_result));
/* -EBUSY while local endpoints use it; removes its remote entries. */
int vx_dp_net_del(struct vx_dp *dp, uint32_t vni);
/* -ENOENT when the network is not desired. */
int vx_dp_ep_put(struct vx_dp *dp, const struct vx_ep_spec *e, char *errmsg, size_t len)
	__attribute__((warn_unused_result));
int vx_dp_ep_del(struct vx_dp *dp, const char *id);
/* Remote entries may arrive before their network; they are installed when
 * the network is put. */
int vx_dp_remote_put(struct vx_dp *dp, const struct vx_remote *r)
	__attribute__((warn_unused_result));
int vx_dp_remote_del(struct vx_dp *dp, uint32_t vni, const uint8_t mac[6]);

/* Dump the kernel, delete stale objects we own, create missing ones, fix
 * drift.  Returns 0 or the first -errno met (it carries on past errors). */
int vx_dp_reconcile(struct vx_dp *dp);
void vx_dp_stats_get(const struct vx_dp *dp, struct vx_dp_stats *st);

/* Last reconcile's verdict on an endpoint: 0 = in place, -ENOENT = its
 * netns is gone, other -errno = could not be repaired; -ESRCH = unknown id. */
int vx_dp_ep_status(const struct vx_dp *dp, const char *id);

/* What is in the kernel's FDB/neighbour tables of our vxlan devices and why. */
enum vx_why {
	VX_WHY_REMOTE,	  /* a desired remote endpoint, installed */
	VX_WHY_MISSING,	  /* desired, not in the kernel (next reconcile adds it) */
	VX_WHY_STALE,	  /* ours, no longer desired (next reconcile removes it) */
	VX_WHY_FOREIGN,	  /* not ours, left alone */
	VX_WHY_ENCRYPTED, /* a desired remote of an encrypted network (in encd, not the kernel) */
};
const char *vx_why_str(enum vx_why why);

struct vx_fdb_row {
	uint32_t vni;
	char dev[IFNAMSIZ];
	uint8_t mac[6];
	struct in_addr ip; /* from the matching neighbour entry; 0 if none */
	struct in_addr dst;
	uint16_t port;
	int permanent;
	enum vx_why why;
};
typedef void (*vx_fdb_row_cb)(void *arg, const struct vx_fdb_row *row);
/* vni 0 = every network.  Dumps the kernel; 0 or -errno. */
int vx_dp_fdb_report(struct vx_dp *dp, uint32_t vni, vx_fdb_row_cb cb, void *arg);

#endif
