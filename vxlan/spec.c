// SPDX-License-Identifier: MIT
/*
 * DOC: spec - the one home of the ownership aliases and of the spec checks
 * that dp.c (before it changes anything) and nl.c (before it sends a
 * request) both make.  Declared in vxlan_int.h.
 */
#include <stdio.h>
#include <string.h>

#include "vxlan/vxlan_int.h"

void vx_net_alias(const struct vx_net_spec *n, char alias[VX_ALIAS_MAX])
{
	snprintf(alias, VX_ALIAS_MAX, VX_ALIAS_PREFIX "net=%s", n->name);
}

void vx_ep_alias(const struct vx_ep_spec *e, char alias[VX_ALIAS_MAX])
{
	snprintf(alias, VX_ALIAS_MAX, VX_ALIAS_PREFIX "ep=%s", e->id);
}

int vx_link_owned(const struct vx_link *l)
{
	return !strncmp(l->alias, VX_ALIAS_PREFIX, strlen(VX_ALIAS_PREFIX));
}

int vx_str_ok(const char *s, size_t size)
{
	size_t len = strnlen(s, size);

	return len > 0 && len < size;
}

int vx_vni_ok(uint32_t vni)
{
	return vni >= 1 && vni <= VX_VNI_MAX;
}

int vx_net_spec_ok(const struct vx_net_spec *n)
{
	return vx_str_ok(n->name, sizeof(n->name)) && vx_vni_ok(n->vni) && n->port &&
	       n->underlay >= 0;
}

int vx_ep_spec_ok(const struct vx_ep_spec *e)
{
	return vx_str_ok(e->id, sizeof(e->id)) && vx_str_ok(e->ifname, sizeof(e->ifname)) &&
	       strnlen(e->netns, sizeof(e->netns)) < sizeof(e->netns) && e->plen <= 32;
}
