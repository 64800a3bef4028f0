// SPDX-License-Identifier: MIT
/*
 * DOC: ipam pool
 *
 * One subnet's leases, reservations and gateway, kept as a single array of
 * host-order addresses sorted ascending, each tagged with why it is taken.
 * Lookups are binary searches, inserts and removals memmove the tail: memory
 * and work grow with what is taken, never with the size of the subnet, so a
 * /8 costs what its leases cost.
 *
 * The network and broadcast addresses are implicit (the ends of the range)
 * and never stored.  Allocation scans forward from the cursor (the last
 * address handed out by ipam_pool_alloc()), hopping over runs of taken
 * addresses in the array, and wraps once to the bottom of the subnet.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "ipam/ipam.h"

enum slot_kind {
	SLOT_LEASE,
	SLOT_RESERVED,
	SLOT_GATEWAY,
};

struct slot {
	uint32_t ip; /* host order */
	uint8_t kind;
};

struct ipam_pool {
	uint32_t net;	/* host order; first address of the subnet */
	uint32_t bcast; /* host order; last address of the subnet */
	uint32_t cursor;
	struct slot *slots; /* sorted by ip, unique, all inside (net, bcast) */
	size_t nslots;
	size_t slots_cap;
	size_t nleased;
	size_t nreserved;
	int has_gw;
};

/* Index of the first slot with ip >= key (nslots when none). */
static size_t slot_lower_bound(const struct ipam_pool *pool, uint32_t key)
{
	size_t lo = 0, hi = pool->nslots;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pool->slots[mid].ip < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct slot *slot_find(const struct ipam_pool *pool, uint32_t ip)
{
	size_t i = slot_lower_bound(pool, ip);

	if (i < pool->nslots && pool->slots[i].ip == ip)
		return &pool->slots[i];
	return NULL;
}

static int slot_insert(struct ipam_pool *pool, uint32_t ip, enum slot_kind kind)
{
	size_t i;

	if (pool->nslots == pool->slots_cap) {
		size_t cap = pool->slots_cap ? pool->slots_cap * 2 : 16;
		struct slot *s;

		if (cap > SIZE_MAX / sizeof(*s))
			return -ENOMEM;
		s = realloc(pool->slots, cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		pool->slots = s;
		pool->slots_cap = cap;
	}
	i = slot_lower_bound(pool, ip);
	memmove(&pool->slots[i + 1], &pool->slots[i], (pool->nslots - i) * sizeof(pool->slots[0]));
	pool->slots[i].ip = ip;
	pool->slots[i].kind = kind;
	pool->nslots++;
	return 0;
}

static void slot_remove(struct ipam_pool *pool, struct slot *s)
{
	size_t i = (size_t)(s - pool->slots);

	memmove(s, s + 1, (pool->nslots - i - 1) * sizeof(*s));
	pool->nslots--;
	/* Give memory back after mass releases; failure just keeps the old block. */
	if (pool->slots_cap > 64 && pool->nslots < pool->slots_cap / 4) {
		struct slot *n = realloc(pool->slots, pool->slots_cap / 2 * sizeof(*n));

		if (n) {
			pool->slots = n;
			pool->slots_cap /= 2;
		}
	}
}

static int pool_contains(const struct ipam_pool *pool, uint32_t ip)
{
	return ip >= pool->net && ip <= pool->bcast;
}

static int pool_is_host(const struct ipam_pool *pool, uint32_t ip)
{
	return ip > pool->net && ip < pool->bcast;
}

int ipam_pool_create(struct ipam_pool **out, const struct addr_prefix *subnet,
		     const struct in_addr *gw)
{
	struct ipam_pool *pool;
	uint32_t net, mask;
	int err;

	if (!out || !subnet)
		return -EINVAL;
	if (subnet->len < IPAM_PLEN_MIN || subnet->len > IPAM_PLEN_MAX)
		return -EINVAL;
	mask = UINT32_MAX << (32 - subnet->len);
	net = ntohl(subnet->addr.s_addr);
	if (net & ~mask)
		return -EINVAL;

	pool = calloc(1, sizeof(*pool));
	if (!pool)
		return -ENOMEM;
	pool->net = net;
	pool->bcast = net | ~mask;
	pool->cursor = net;

	if (gw) {
		uint32_t g = ntohl(gw->s_addr);

		if (!pool_is_host(pool, g)) {
			err = -EDOM;
			goto err_free_pool;
		}
		err = slot_insert(pool, g, SLOT_GATEWAY);
		if (err)
			goto err_free_pool;
		pool->has_gw = 1;
	}
	*out = pool;
	return 0;

err_free_pool:
	ipam_pool_destroy(pool);
	return err;
}

void ipam_pool_destroy(struct ipam_pool *pool)
{
	if (!pool)
		return;
	free(pool->slots);
	free(pool);
}

/*
 * The network and broadcast addresses count as already reserved: they can
 * never be handed out, so holding them again is a no-op the caller should
 * hear about, and they must not shrink the capacity a second time.
 */
/*
 * Take one specific address as kind.  unavail is the answer for addresses
 * that can never be taken (network, broadcast) or are held as non-leases:
 * -EEXIST when reserving, -EADDRNOTAVAIL when leasing.
 */
static int pool_take(struct ipam_pool *pool, struct in_addr ip, enum slot_kind kind, int unavail)
{
	uint32_t a = ntohl(ip.s_addr);
	struct slot *s;
	int err;

	if (!pool_contains(pool, a))
		return -EDOM;
	if (!pool_is_host(pool, a))
		return unavail;
	s = slot_find(pool, a);
	if (s)
		return s->kind == SLOT_LEASE ? -EADDRINUSE : unavail;
	err = slot_insert(pool, a, kind);
	if (err)
		return err;
	if (kind == SLOT_LEASE)
		pool->nleased++;
	else
		pool->nreserved++;
	return 0;
}

int ipam_pool_reserve(struct ipam_pool *pool, struct in_addr ip)
{
	return pool_take(pool, ip, SLOT_RESERVED, -EEXIST);
}

/*
 * First address at or after from that no slot takes, stepping over runs of
 * consecutive taken addresses; bcast when the rest of the subnet is taken.
 */
static uint32_t pool_next_free(const struct ipam_pool *pool, uint32_t from)
{
	size_t i = slot_lower_bound(pool, from);

	while (i < pool->nslots && pool->slots[i].ip == from) {
		from++;
		i++;
	}
	return from;
}

int ipam_pool_alloc(struct ipam_pool *pool, struct in_addr *out)
{
	uint32_t a;
	int err;

	if (ipam_pool_free(pool) == 0)
		return -ENOSPC;
	/* cursor <= bcast - 1, so neither increment can overflow. */
	a = pool_next_free(pool, pool->cursor + 1);
	if (a >= pool->bcast)
		a = pool_next_free(pool, pool->net + 1);
	/* free > 0 guarantees a hole below bcast after the wrap. */
	err = slot_insert(pool, a, SLOT_LEASE);
	if (err)
		return err;
	pool->nleased++;
	pool->cursor = a;
	out->s_addr = htonl(a);
	return 0;
}

int ipam_pool_claim(struct ipam_pool *pool, struct in_addr ip)
{
	return pool_take(pool, ip, SLOT_LEASE, -EADDRNOTAVAIL);
}

int ipam_pool_release(struct ipam_pool *pool, struct in_addr ip)
{
	struct slot *s = slot_find(pool, ntohl(ip.s_addr));

	if (!s || s->kind != SLOT_LEASE)
		return -ENOENT;
	slot_remove(pool, s);
	pool->nleased--;
	return 0;
}

int ipam_pool_is_leased(const struct ipam_pool *pool, struct in_addr ip)
{
	const struct slot *s = slot_find(pool, ntohl(ip.s_addr));

	return s && s->kind == SLOT_LEASE;
}

size_t ipam_pool_capacity(const struct ipam_pool *pool)
{
	size_t hosts = (size_t)(pool->bcast - pool->net) - 1;

	return hosts - (size_t)pool->has_gw - pool->nreserved;
}

size_t ipam_pool_leased(const struct ipam_pool *pool)
{
	return pool->nleased;
}

size_t ipam_pool_free(const struct ipam_pool *pool)
{
	return ipam_pool_capacity(pool) - pool->nleased;
}

static const struct {
	int err;
	const char *msg;
} ipam_errors[] = {
	{EINVAL, "subnet prefix length must be between /8 and /30 with no host bits set"},
	{EDOM, "address is outside the subnet or is not a host address"},
	{EADDRINUSE, "address is already in use"},
	{EADDRNOTAVAIL, "address is reserved (network, broadcast, gateway or aux address)"},
	{EEXIST, "address is already reserved or is the gateway"},
	{ENOSPC, "no free addresses left in the subnet"},
	{ENOENT, "address is not leased"},
	{ENOMEM, "out of memory"},
};

const char *ipam_strerror(int err)
{
	size_t i;

	if (err == 0)
		return "success";
	for (i = 0; i < sizeof(ipam_errors) / sizeof(ipam_errors[0]); i++)
		if (ipam_errors[i].err == err || -ipam_errors[i].err == err)
			return ipam_errors[i].msg;
	return "unknown ipam error";
}
