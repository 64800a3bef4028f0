// SPDX-License-Identifier: MIT
/*
 * Unit tests for driver/admit.c: the admission table's commands (pure), the
 * --admit list, and the commands applied by the kernel's nftables in a
 * network namespace of the test's own (each Criterion test runs in its own
 * process, so unshare() there touches nothing else): applied twice is the
 * same table, the dropped counters survive an update, a source is admitted
 * or dropped as the sets say.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/addr.h"
#include "common/nft.h"
#include "driver/admit.h"

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	cr_assert_eq(addr_parse_ip4(s, &a), 0);
	return a;
}

Test(admit, commands_fill_every_set_in_one_transaction)
{
	const uint16_t ports[] = {4789, 4790};
	const struct in_addr m[] = {ip("192.0.2.1"), ip("192.0.2.2")};
	struct addr_prefix x = {.addr = ip("198.51.100.0"), .len = 24};
	struct drv_admit_want w = {
		.ports = ports, .nports = 2, .members = m, .nmembers = 2, .extra = &x, .nextra = 1};
	char *cmds = drv_admit_cmds(&w);

	cr_assert_not_null(cmds);
	cr_expect_not_null(strstr(cmds, "add element ip vxmesh_admit ports { 4789, 4790 }\n"));
	cr_expect_not_null(
		strstr(cmds, "add element ip vxmesh_admit members { 192.0.2.1, 192.0.2.2 }\n"));
	cr_expect_not_null(strstr(cmds, "add element ip vxmesh_admit extra { 198.51.100.0/24 }\n"));
	/* Every set is flushed before it is filled; the drop has a rule of its own. */
	cr_expect_not_null(strstr(cmds, "flush set ip vxmesh_admit members\n"));
	cr_expect_not_null(strstr(cmds, "udp dport @ports counter drop\n"));
	cr_expect_null(strstr(cmds, "delete table"), "an update never removes the table");
	free(cmds);
}

Test(admit, empty_sets_are_flushed_and_left_empty)
{
	const uint16_t ports[] = {4789};
	struct drv_admit_want w = {.ports = ports, .nports = 1};
	char *cmds = drv_admit_cmds(&w);

	cr_assert_not_null(cmds);
	cr_expect_not_null(strstr(cmds, "flush set ip vxmesh_admit members\n"));
	cr_expect_null(strstr(cmds, "add element ip vxmesh_admit members"));
	cr_expect_null(strstr(cmds, "add element ip vxmesh_admit extra"));
	free(cmds);
}

Test(admit, admit_lists_take_addresses_and_prefixes_and_refuse_the_rest)
{
	static const struct {
		const char *list;
		int ret;
		size_t n;
	} cases[] = {
		{"", 0, 0},
		{"192.0.2.7", 0, 1},
		{"198.51.100.0/24,203.0.113.0/25", 0, 2},
		{"198.51.100.0/24, 192.0.2.9", 0, 2},
		{"198.51.100.1/24", -EINVAL, 0}, /* host bits */
		{"192.0.2.300", -EINVAL, 0},
		{"example.org", -EINVAL, 0},
		{"10.0.0.0/33", -EINVAL, 0},
	};
	struct addr_prefix p[DRV_ADMIT_EXTRA_MAX];
	char why[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = 99;
		int ret = drv_admit_parse(cases[i].list, p, DRV_ADMIT_EXTRA_MAX, &n, why,
					  sizeof(why));

		cr_expect_eq(ret, cases[i].ret, "\"%s\": %d", cases[i].list, ret);
		if (!ret) {
			cr_expect_eq(n, cases[i].n, "\"%s\": %zu prefixes", cases[i].list, n);
		} else {
			cr_expect_not_null(strstr(why, "--admit"), "%s", why);
		}
	}
	cr_assert_eq(drv_admit_parse("192.0.2.7", p, 1, &(size_t){0}, why, sizeof(why)), 0);
	cr_expect_eq(p[0].len, 32, "a bare address is its /32");
	cr_expect_eq(drv_admit_parse("192.0.2.7,192.0.2.8", p, 1, &(size_t){0}, why, sizeof(why)),
		     -EINVAL);
}

/* ---- against the kernel, in a namespace of our own ---- */

static struct nft *nft;

static void netns_init(void)
{
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s (the test needs root)",
		     strerror(errno));
	cr_assert_eq(system("ip link set lo up"), 0);
	cr_assert_eq(nft_open(&nft), 0);
}

static void netns_fini(void)
{
	nft_close(nft);
}

static void apply(const struct drv_admit_want *w)
{
	char *cmds = drv_admit_cmds(w), why[256] = "";

	cr_assert_not_null(cmds);
	cr_assert_eq(nft_run(nft, cmds, NULL, why, sizeof(why)), 0, "%s", why);
	free(cmds);
}

/* Packets counted as dropped from 127.0.0.1. */
static long dropped_from_lo(void)
{
	const char *out;
	char *p;

	cr_assert_eq(nft_run(nft, "list set ip vxmesh_admit dropped", &out, NULL, 0), 0);
	p = strstr(out, "\"127.0.0.1\"");
	if (!p || !(p = strstr(p, "\"packets\":")))
		return 0;
	return strtol(p + strlen("\"packets\":"), NULL, 10);
}

/* Send n datagrams from 127.0.0.1 to 127.0.0.1:port; how many arrived. */
/* n datagrams of payload (len bytes) to 127.0.0.1:port; how many arrived. */
static int udp_through_p(uint16_t port, int n, const void *payload, size_t len)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct timeval tv = {.tv_usec = 200000};
	int rx = socket(AF_INET, SOCK_DGRAM, 0), tx = socket(AF_INET, SOCK_DGRAM, 0), got = 0;
	char b[8];

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(rx >= 0 && tx >= 0);
	cr_assert_eq(bind(rx, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (int i = 0; i < n; i++)
		sendto(tx, payload, len, 0, (struct sockaddr *)&sa, sizeof(sa));
	while (recv(rx, b, sizeof(b), 0) > 0)
		got++;
	close(rx);
	close(tx);
	return got;
}

/* The packets the encrypted-VNI drop rule's named counter holds. */
static long encvni_drops_now(void)
{
	FILE *p = popen("nft list counter ip vxmesh_admit encvni_drops", "r");
	char line[256];
	long n = -1;

	cr_assert_not_null(p);
	while (fgets(line, sizeof(line), p))
		if (strstr(line, "packets"))
			sscanf(strstr(line, "packets"), "packets %ld", &n);
	pclose(p);
	return n;
}

static int udp_through(uint16_t port, int n)
{
	return udp_through_p(port, n, "x", 1);
}

Test(admit_kernel, plaintext_vxlan_of_an_encrypted_vni_is_dropped_even_from_members,
     .init = netns_init, .fini = netns_fini)
{
	const uint16_t ports[] = {4789, 4790}, vxports[] = {4789};
	const uint32_t vnis[] = {100};
	const struct in_addr lo[] = {ip("127.0.0.1")};
	struct drv_admit_want w = {.ports = ports,
				   .nports = 2,
				   .vxports = vxports,
				   .nvxports = 1,
				   .vnis = vnis,
				   .nvnis = 1,
				   .members = lo,
				   .nmembers = 1};
	/* VXLAN headers: I flag, VNI 100 (encrypted) and 101 (plaintext). */
	const uint8_t enc[16] = {0x08, 0, 0, 0, 0, 0, 100, 0},
		      plain[16] = {0x08, 0, 0, 0, 0, 0, 101, 0};

	apply(&w);
	cr_expect_eq(udp_through_p(4789, 3, enc, sizeof(enc)), 0, "VNI 100 in clear is dropped");
	apply(&w); /* an update (chain flushed, rules anew) keeps the named counter */
	cr_expect_eq(udp_through_p(4789, 2, enc, sizeof(enc)), 0);
	cr_expect_eq(encvni_drops_now(), 5, "counted across updates");
	cr_expect_eq(udp_through_p(4789, 3, plain, sizeof(plain)), 3, "VNI 101 passes");
	/* The encrypted port carries the VNI at the same offset: not matched. */
	cr_expect_eq(udp_through_p(4790, 3, enc, sizeof(enc)), 3, "the encrypted port is not");
}

Test(admit, commands_drop_encrypted_vnis_on_the_vxlan_ports_first)
{
	const uint16_t ports[] = {4789, 4790}, vxports[] = {4789};
	const uint32_t vnis[] = {7, 300};
	struct drv_admit_want w = {.ports = ports,
				   .nports = 2,
				   .vxports = vxports,
				   .nvxports = 1,
				   .vnis = vnis,
				   .nvnis = 2};
	char *cmds = drv_admit_cmds(&w), *drop, *accept;

	cr_assert_not_null(cmds);
	cr_expect_not_null(strstr(cmds, "add element ip vxmesh_admit encvnis { 7, 300 }\n"));
	cr_expect_not_null(strstr(cmds, "add element ip vxmesh_admit vxports { 4789 }\n"));
	drop = strstr(cmds,
		      "udp dport @vxports @th,96,24 @encvnis counter name encvni_drops drop\n");
	accept = strstr(cmds, "ip saddr @members accept");
	cr_assert(drop && accept);
	cr_expect(drop < accept, "the VNI drop comes before any accept");
	free(cmds);
}

Test(admit_kernel, sources_outside_the_sets_are_dropped_and_counted, .init = netns_init,
     .fini = netns_fini)
{
	const uint16_t ports[] = {4789};
	struct drv_admit_want w = {.ports = ports, .nports = 1};

	apply(&w);
	cr_expect_eq(udp_through(4789, 5), 0, "a non-member's VXLAN is dropped");
	cr_expect_eq(dropped_from_lo(), 5);
	cr_expect_eq(udp_through(4790, 3), 3, "other UDP ports are not touched");
}

Test(admit_kernel, members_and_extra_prefixes_are_admitted, .init = netns_init, .fini = netns_fini)
{
	const uint16_t ports[] = {4789};
	const struct in_addr lo[] = {ip("127.0.0.1")};
	struct addr_prefix net8 = {.addr = ip("127.0.0.0"), .len = 8};
	struct drv_admit_want w = {.ports = ports, .nports = 1, .members = lo, .nmembers = 1};

	apply(&w);
	cr_expect_eq(udp_through(4789, 4), 4, "a member is admitted");
	w.nmembers = 0;
	w.extra = &net8;
	w.nextra = 1;
	apply(&w);
	cr_expect_eq(udp_through(4789, 4), 4, "an --admit prefix is admitted");
	cr_expect_eq(dropped_from_lo(), 0);
}

Test(admit_kernel, updates_keep_the_table_and_its_counters, .init = netns_init, .fini = netns_fini)
{
	const uint16_t ports[] = {4789};
	const struct in_addr m[] = {ip("192.0.2.1")};
	struct drv_admit_want w = {.ports = ports, .nports = 1};

	apply(&w);
	cr_assert_eq(udp_through(4789, 3), 0);
	w.members = m;
	w.nmembers = 1;
	apply(&w);
	apply(&w);
	cr_expect_eq(dropped_from_lo(), 3, "an update does not reset the dropped counters");
	cr_expect_eq(udp_through(4789, 2), 0, "a member removed is refused again");
	cr_expect_eq(dropped_from_lo(), 5);
}
