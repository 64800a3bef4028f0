/* SPDX-License-Identifier: MIT */
/*
 * vxlan_int: what vxlan/dp.c and vxlan/nl.c must agree on and nobody else
 * needs: the alias strings that mark our links, and the spec checks both the
 * reconciler and the backend make.  Not for use outside vxlan/.
 */
#ifndef VXMESH_VXLAN_INT_H
#define VXMESH_VXLAN_INT_H

#include <stddef.h>
#include <stdint.h>

#include "vxlan/vxlan.h" /* the structs and VX_ALIAS_*: this header extends it */

/* "vxmesh:net=NAME", the alias of a network's bridge and vxlan device. */
void vx_net_alias(const struct vx_net_spec *n, char alias[VX_ALIAS_MAX]);
/* "vxmesh:ep=ID", the alias of an endpoint's host veth. */
void vx_ep_alias(const struct vx_ep_spec *e, char alias[VX_ALIAS_MAX]);
/* Does the link's alias carry VX_ALIAS_PREFIX? */
int vx_link_owned(const struct vx_link *l);

/* Non-empty and NUL-terminated within size. */
int vx_str_ok(const char *s, size_t size);
int vx_vni_ok(uint32_t vni);
/* The checks every user of a network spec needs: name, VNI, port, underlay.
 * dp adds its user-facing ones (printable name, MTU), nl the device names. */
int vx_net_spec_ok(const struct vx_net_spec *n);
/* Likewise for an endpoint: id, peer name, netns path, prefix length. */
int vx_ep_spec_ok(const struct vx_ep_spec *e);

#endif
