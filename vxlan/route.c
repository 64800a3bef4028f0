// SPDX-License-Identifier: MIT
/*
 * DOC: route - questions about the host's routing tables, answered through
 * a struct vx_kops so they run against the fake kernel in unit tests too.
 */
#include <errno.h>
#include <stdlib.h>

#include "common/addr.h"
#include "vxlan/vxlan.h"

int vx_route_list_overlaps(const struct vx_route *r, size_t n, const struct addr_prefix *p)
{
	for (size_t i = 0; i < n; i++) {
		struct addr_prefix rp = {.addr = r[i].dst, .len = r[i].plen};

		if (r[i].plen > 0 && r[i].plen <= 32 && addr_prefix_overlaps(&rp, p))
			return 1;
	}
	return 0;
}

int vx_routes_overlap(const struct vx_kops *ops, void *ctx, const struct addr_prefix *p,
		      int *overlap)
{
	struct vx_route *r = NULL;
	size_t n = 0;
	int err;

	*overlap = 0;
	if (!ops->route_dump)
		return -EOPNOTSUPP;
	err = ops->route_dump(ctx, &r, &n);
	if (err)
		return err;
	*overlap = vx_route_list_overlaps(r, n, p);
	free(r);
	return 0;
}
