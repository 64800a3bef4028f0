/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for vxlan/spec.c: the ownership aliases dp.c and nl.c share,
 * and the spec checks both make.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "vxlan/vxlan_int.h"

Test(spec, aliases_carry_the_prefix_and_mark_links_owned)
{
	struct vx_net_spec n = {.name = "blue"};
	struct vx_ep_spec e = {.id = "0a0000000001"};
	struct vx_link l = {0};

	vx_net_alias(&n, l.alias);
	cr_expect_str_eq(l.alias, "vxmesh:net=blue");
	cr_expect(vx_link_owned(&l));
	vx_ep_alias(&e, l.alias);
	cr_expect_str_eq(l.alias, "vxmesh:ep=0a0000000001");
	cr_expect(vx_link_owned(&l));
	strcpy(l.alias, "vxmesh");
	cr_expect(!vx_link_owned(&l), "the prefix includes the colon");
	l.alias[0] = '\0';
	cr_expect(!vx_link_owned(&l));
}

Test(spec, the_longest_name_fits_in_the_alias)
{
	struct vx_net_spec n;
	char alias[VX_ALIAS_MAX + 8];

	memset(&n, 0, sizeof(n));
	memset(n.name, 'x', sizeof(n.name) - 1);
	memset(alias, '#', sizeof(alias));
	vx_net_alias(&n, alias);
	cr_expect_eq(strlen(alias), strlen("vxmesh:net=") + sizeof(n.name) - 1);
	cr_expect_eq(alias[VX_ALIAS_MAX], '#');
}

Test(spec, net_spec_checks)
{
	static const struct {
		const char *what;
		struct vx_net_spec n;
		int ok;
	} cases[] = {
		{"minimal", {.name = "a", .vni = 1, .port = 4789}, 1},
		{"largest vni", {.name = "a", .vni = VX_VNI_MAX, .port = 1, .underlay = 3}, 1},
		{"empty name", {.name = "", .vni = 1, .port = 4789}, 0},
		{"vni 0", {.name = "a", .vni = 0, .port = 4789}, 0},
		{"vni too large", {.name = "a", .vni = VX_VNI_MAX + 1, .port = 4789}, 0},
		{"port 0", {.name = "a", .vni = 1, .port = 0}, 0},
		{"negative underlay", {.name = "a", .vni = 1, .port = 4789, .underlay = -1}, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(vx_net_spec_ok(&cases[i].n), cases[i].ok, "%s", cases[i].what);
}

Test(spec, ep_spec_checks)
{
	static const struct {
		const char *what;
		struct vx_ep_spec e;
		int ok;
	} cases[] = {
		{"minimal", {.id = "ab", .ifname = "eth0"}, 1},
		{"with netns and /32",
		 {.id = "ab", .ifname = "eth0", .netns = "/run/netns/x", .plen = 32},
		 1},
		{"empty id", {.id = "", .ifname = "eth0"}, 0},
		{"empty ifname", {.id = "ab", .ifname = ""}, 0},
		{"plen 33", {.id = "ab", .ifname = "eth0", .plen = 33}, 0},
	};
	struct vx_ep_spec e = {.id = "ab", .ifname = "eth0"};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(vx_ep_spec_ok(&cases[i].e), cases[i].ok, "%s", cases[i].what);
	memset(e.netns, 'n', sizeof(e.netns));
	cr_expect(!vx_ep_spec_ok(&e), "unterminated netns");
	memset(e.id, 'a', sizeof(e.id));
	cr_expect(!vx_ep_spec_ok(&e), "unterminated id");
}
