// SPDX-License-Identifier: MIT
/*
 * Unit tests for driver/state.c: each test gets its own temporary state
 * directory, removed afterwards; the database is poked directly with the
 * SQLite API where a test needs a state the module would never write.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver/state.h"

static char tmpdir[64];
static char sdir[256]; /* the state dir handed to drv_state_open() */

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void setup(void)
{
	strcpy(tmpdir, "/tmp/vxmesh-test-state-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	snprintf(sdir, sizeof(sdir), "%s/state", tmpdir);
}

static void teardown(void)
{
	nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(state, .init = setup, .fini = teardown);

static struct drv_state *open_ok(void)
{
	struct drv_state *st = NULL;
	char err[256];
	int ret;

	ret = drv_state_open(&st, sdir, err, sizeof(err));
	cr_assert_eq(ret, 0, "open: %d (%s)", ret, err);
	cr_assert_not_null(st);
	return st;
}

static void db_path(char *buf, size_t len)
{
	snprintf(buf, len, "%s/state.db", sdir);
}

/* Run SQL on the database behind the module's back. */
static void raw_exec(const char *sql)
{
	char path[PATH_MAX];
	sqlite3 *db;

	db_path(path, sizeof(path));
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
	sqlite3_close(db);
}

static mode_t mode_of(const char *path)
{
	struct stat sb;

	cr_assert_eq(stat(path, &sb), 0, "stat %s: %s", path, strerror(errno));
	return sb.st_mode & 07777;
}

static struct drv_net_rec mknet(const char *name, uint32_t vni, const char *subnet, const char *gw)
{
	struct drv_net_rec n = {.vni = vni, .mtu = 1450, .port = 4789, .created = 1700000000};

	snprintf(n.name, sizeof(n.name), "%s", name);
	cr_assert_eq(addr_parse_prefix(subnet, 1, &n.subnet), 0);
	if (gw)
		cr_assert_eq(addr_parse_ip4(gw, &n.gw), 0);
	return n;
}

static struct drv_ep_rec mkep(const char *id, const char *net, const char *ip)
{
	struct drv_ep_rec e = {.mac = {0x02, 0x42, 0x0a, 0x00, 0x00, 0x02}, .created = 1700000001};

	snprintf(e.id, sizeof(e.id), "%s", id);
	snprintf(e.net, sizeof(e.net), "%s", net);
	snprintf(e.netns, sizeof(e.netns), "/var/run/docker/netns/%s", id);
	snprintf(e.ifname, sizeof(e.ifname), "vxe%s", id);
	cr_assert_eq(addr_parse_ip4(ip, &e.ip), 0);
	return e;
}

static struct drv_lease_rec mklease(const char *net, const char *ip, const char *owner)
{
	struct drv_lease_rec l = {.created = 1700000002};

	snprintf(l.net, sizeof(l.net), "%s", net);
	snprintf(l.owner, sizeof(l.owner), "%s", owner);
	cr_assert_eq(addr_parse_ip4(ip, &l.ip), 0);
	return l;
}

static void assert_net_eq(const struct drv_net_rec *a, const struct drv_net_rec *b)
{
	cr_assert_str_eq(a->name, b->name);
	cr_assert_eq(a->vni, b->vni);
	cr_assert_eq(a->subnet.addr.s_addr, b->subnet.addr.s_addr);
	cr_assert_eq(a->subnet.len, b->subnet.len);
	cr_assert_eq(a->gw.s_addr, b->gw.s_addr);
	cr_assert_eq(a->mtu, b->mtu);
	cr_assert_eq(a->port, b->port);
	cr_assert_eq(a->created, b->created);
}

static void assert_ep_eq(const struct drv_ep_rec *a, const struct drv_ep_rec *b)
{
	cr_assert_str_eq(a->id, b->id);
	cr_assert_str_eq(a->net, b->net);
	cr_assert_str_eq(a->netns, b->netns);
	cr_assert_str_eq(a->ifname, b->ifname);
	cr_assert_eq(a->ip.s_addr, b->ip.s_addr);
	cr_assert_arr_eq(a->mac, b->mac, sizeof(a->mac));
	cr_assert_eq(a->created, b->created);
}

Test(state, open_creates_private_dir_and_file)
{
	char path[PATH_MAX];
	struct drv_state *st;
	struct drv_net_rec n = mknet("n1", 100, "10.1.0.0/24", NULL);
	mode_t old = umask(0); /* the modes must not depend on the umask */

	snprintf(sdir, sizeof(sdir), "%s/a/b/state", tmpdir);
	st = open_ok();
	umask(old);
	cr_assert_eq(drv_state_schema_version(st), DRV_STATE_SCHEMA);
	cr_assert_eq(drv_state_net_insert(st, &n), 0);

	snprintf(path, sizeof(path), "%s/a", tmpdir);
	cr_assert_eq(mode_of(path), 0700);
	snprintf(path, sizeof(path), "%s/a/b", tmpdir);
	cr_assert_eq(mode_of(path), 0700);
	cr_assert_eq(mode_of(sdir), 0700);
	db_path(path, sizeof(path));
	cr_assert_eq(mode_of(path), 0600);
	strcat(path, "-wal");
	cr_assert_eq(mode_of(path), 0600, "the WAL file follows the database's mode");
	drv_state_close(st);
}

Test(state, open_tightens_loose_file_mode)
{
	char path[PATH_MAX];
	int fd;

	cr_assert_eq(mkdir(sdir, 0755), 0);
	db_path(path, sizeof(path));
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(fchmod(fd, 0644), 0);
	close(fd);
	drv_state_close(open_ok());
	cr_assert_eq(mode_of(path), 0600);
}

Test(state, open_bad_dir)
{
	char path[PATH_MAX], err[256] = "";
	struct drv_state *st = (struct drv_state *)1;
	FILE *f;

	cr_assert_eq(drv_state_open(&st, "", err, sizeof(err)), -EINVAL);
	cr_assert_null(st);

	snprintf(path, sizeof(path), "%s/file", tmpdir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fclose(f);
	cr_assert_lt(drv_state_open(&st, path, err, sizeof(err)), 0);
	cr_assert_null(st);
	cr_assert_neq(err[0], '\0');
}

Test(state, node_identity_is_made_once)
{
	struct drv_node_rec a, b;
	char host[256] = "";
	struct drv_state *st;

	st = open_ok();
	cr_assert_eq(drv_state_node_get(st, &a), 0);
	cr_assert_eq(strlen(a.id), DRV_NODE_ID_LEN);
	cr_assert_eq(strspn(a.id, "0123456789abcdef"), DRV_NODE_ID_LEN);
	cr_assert_eq(gethostname(host, sizeof(host)), 0);
	host[sizeof(a.name) - 1] = '\0';
	cr_assert_str_eq(a.name, host);
	cr_assert_gt(a.created, 0);
	cr_assert_eq(drv_state_node_get(st, &b), 0);
	cr_assert_str_eq(a.id, b.id);
	drv_state_close(st);

	st = open_ok();
	cr_assert_eq(drv_state_node_get(st, &b), 0);
	cr_assert_str_eq(a.id, b.id);
	cr_assert_str_eq(a.name, b.name);
	cr_assert_eq(a.created, b.created);
	drv_state_close(st);
}

Test(state, net_insert_get_list_delete)
{
	struct drv_net_rec in[] = {
		mknet("zeta", 300, "10.3.0.0/16", "10.3.0.1"),
		mknet("alpha", 100, "10.1.0.0/24", NULL), /* gw 0 = none */
		mknet("mid", 200, "172.16.0.0/12", "172.16.0.1"),
	};
	const size_t order[] = {1, 2, 0}; /* by name */
	struct drv_net_rec got, *list;
	struct drv_state *st;
	size_t n;

	in[2].mtu = 0;
	in[2].port = 8472;
	st = open_ok();
	cr_assert_eq(drv_state_net_list(st, &list, &n), 0);
	cr_assert_null(list);
	cr_assert_eq(n, 0);

	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		cr_assert_eq(drv_state_net_insert(st, &in[i]), 0, "insert %s", in[i].name);
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		cr_assert_eq(drv_state_net_get(st, in[i].name, &got), 0);
		assert_net_eq(&got, &in[i]);
	}
	cr_assert_eq(drv_state_net_list(st, &list, &n), 0);
	cr_assert_eq(n, 3);
	for (size_t i = 0; i < n; i++)
		assert_net_eq(&list[i], &in[order[i]]);
	free(list);

	cr_assert_eq(drv_state_net_get(st, "nope", &got), -ENOENT);
	cr_assert_eq(drv_state_net_delete(st, "mid"), 0);
	cr_assert_eq(drv_state_net_delete(st, "mid"), -ENOENT);
	cr_assert_eq(drv_state_net_get(st, "mid", &got), -ENOENT);
	cr_assert_eq(drv_state_net_list(st, &list, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(list[0].name, "alpha");
	cr_assert_str_eq(list[1].name, "zeta");
	free(list);
	drv_state_close(st);
}

Test(state, net_insert_conflicts)
{
	static const struct {
		const char *name;
		uint32_t vni;
		int want;
	} cases[] = {
		{"blue", 10, 0},
		{"blue", 11, -EEXIST},	    /* name taken */
		{"green", 10, -EADDRINUSE}, /* VNI taken */
		{"green", 11, 0},
		{"", 12, -EINVAL},
		{"red", VX_VNI_MAX + 1, -EINVAL},
	};
	struct drv_net_rec n, *list;
	struct drv_state *st;
	size_t cnt;

	st = open_ok();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = mknet(cases[i].name, cases[i].vni, "10.9.0.0/24", NULL);
		cr_assert_eq(drv_state_net_insert(st, &n), cases[i].want, "case %zu", i);
	}
	cr_assert_eq(drv_state_net_list(st, &list, &cnt), 0);
	cr_assert_eq(cnt, 2);
	cr_assert_eq(list[0].vni, 10);
	cr_assert_eq(list[1].vni, 11);
	free(list);
	drv_state_close(st);
}

Test(state, endpoint_crud)
{
	struct drv_net_rec a = mknet("a", 1, "10.1.0.0/24", NULL);
	struct drv_net_rec b = mknet("b", 2, "10.2.0.0/24", NULL);
	struct drv_ep_rec in[] = {
		mkep("bbbbbbbbbbbb", "b", "10.2.0.2"),
		mkep("cccccccccccc", "a", "10.1.0.3"),
		mkep("aaaaaaaaaaaa", "a", "10.1.0.2"),
	};
	struct drv_ep_rec bare = {.id = "dddddddddddd", .net = "b"}; /* optional fields empty */
	struct drv_ep_rec got, *list;
	struct drv_state *st;
	size_t n;

	st = open_ok();
	cr_assert_eq(drv_state_net_insert(st, &a), 0);
	cr_assert_eq(drv_state_net_insert(st, &b), 0);
	for (size_t i = 0; i < 3; i++)
		cr_assert_eq(drv_state_ep_insert(st, &in[i]), 0);
	cr_assert_eq(drv_state_ep_insert(st, &in[0]), -EEXIST);
	got = mkep("eeeeeeeeeeee", "nonet", "10.9.0.2");
	cr_assert_eq(drv_state_ep_insert(st, &got), -ENOENT, "network must exist");
	cr_assert_eq(drv_state_ep_insert(st, &bare), 0);

	cr_assert_eq(drv_state_ep_get(st, "cccccccccccc", &got), 0);
	assert_ep_eq(&got, &in[1]);
	cr_assert_eq(drv_state_ep_get(st, "dddddddddddd", &got), 0);
	assert_ep_eq(&got, &bare);
	cr_assert_eq(drv_state_ep_get(st, "ffffffffffff", &got), -ENOENT);

	cr_assert_eq(drv_state_ep_list(st, NULL, &list, &n), 0);
	cr_assert_eq(n, 4);
	assert_ep_eq(&list[0], &in[2]); /* a/aaaa */
	assert_ep_eq(&list[1], &in[1]); /* a/cccc */
	assert_ep_eq(&list[2], &in[0]); /* b/bbbb */
	assert_ep_eq(&list[3], &bare);	/* b/dddd */
	free(list);
	cr_assert_eq(drv_state_ep_list(st, "b", &list, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(list[0].id, "bbbbbbbbbbbb");
	cr_assert_str_eq(list[1].id, "dddddddddddd");
	free(list);
	cr_assert_eq(drv_state_ep_list(st, "nonet", &list, &n), 0);
	cr_assert_null(list);
	cr_assert_eq(n, 0);

	cr_assert_eq(drv_state_ep_delete(st, "aaaaaaaaaaaa"), 0);
	cr_assert_eq(drv_state_ep_delete(st, "aaaaaaaaaaaa"), -ENOENT);
	cr_assert_eq(drv_state_ep_list(st, "a", &list, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(list[0].id, "cccccccccccc");
	free(list);
	drv_state_close(st);
}

Test(state, lease_crud)
{
	struct drv_net_rec a = mknet("a", 1, "10.1.0.0/24", NULL);
	struct drv_net_rec b = mknet("b", 2, "10.2.0.0/24", NULL);
	struct drv_lease_rec in[] = {
		mklease("a", "10.1.0.10", "ep10"),
		mklease("b", "10.2.0.5", "ep-b"),
		mklease("a", "10.1.0.9", "ep9"),
		mklease("a", "10.1.0.1", "gateway"),
		mklease("b", "10.1.0.9", "same ip, other network"),
	};
	static const char *const want_a[] = {"10.1.0.1", "10.1.0.9", "10.1.0.10"};
	struct drv_lease_rec dup = mklease("a", "10.1.0.9", "someone else");
	struct drv_lease_rec nonet = mklease("zz", "10.1.0.9", "x");
	struct drv_lease_rec *list;
	struct drv_state *st;
	struct in_addr ip;
	size_t n;

	st = open_ok();
	cr_assert_eq(drv_state_net_insert(st, &a), 0);
	cr_assert_eq(drv_state_net_insert(st, &b), 0);
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		cr_assert_eq(drv_state_lease_insert(st, &in[i]), 0, "lease %zu", i);
	cr_assert_eq(drv_state_lease_insert(st, &dup), -EADDRINUSE);
	cr_assert_eq(drv_state_lease_insert(st, &nonet), -ENOENT);

	cr_assert_eq(drv_state_lease_list(st, "a", &list, &n), 0);
	cr_assert_eq(n, 3);
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(addr_parse_ip4(want_a[i], &ip), 0);
		cr_assert_eq(list[i].ip.s_addr, ip.s_addr, "numeric order at %zu", i);
		cr_assert_str_eq(list[i].net, "a");
		cr_assert_eq(list[i].created, 1700000002);
	}
	cr_assert_str_eq(list[1].owner, "ep9");
	free(list);
	cr_assert_eq(drv_state_lease_list(st, NULL, &list, &n), 0);
	cr_assert_eq(n, 5);
	cr_assert_str_eq(list[3].net, "b");
	cr_assert_str_eq(list[3].owner, "same ip, other network");
	free(list);

	cr_assert_eq(addr_parse_ip4("10.1.0.9", &ip), 0);
	cr_assert_eq(drv_state_lease_delete(st, "a", ip), 0);
	cr_assert_eq(drv_state_lease_delete(st, "a", ip), -ENOENT);
	cr_assert_eq(drv_state_lease_insert(st, &dup), 0, "a freed address can be leased again");
	cr_assert_eq(drv_state_lease_list(st, "b", &list, &n), 0);
	cr_assert_eq(n, 2, "deleting a's lease left b's alone");
	free(list);
	drv_state_close(st);
}

Test(state, net_delete_refused_while_endpoints_exist)
{
	struct drv_net_rec a = mknet("a", 1, "10.1.0.0/24", NULL), got;
	struct drv_ep_rec e = mkep("aaaaaaaaaaaa", "a", "10.1.0.2");
	struct drv_state *st;

	st = open_ok();
	cr_assert_eq(drv_state_net_insert(st, &a), 0);
	cr_assert_eq(drv_state_ep_insert(st, &e), 0);
	cr_assert_eq(drv_state_net_delete(st, "a"), -EBUSY);
	cr_assert_eq(drv_state_net_get(st, "a", &got), 0);
	cr_assert_eq(drv_state_ep_delete(st, e.id), 0);
	cr_assert_eq(drv_state_net_delete(st, "a"), 0);
	drv_state_close(st);
}

Test(state, net_delete_cascades_leases)
{
	struct drv_net_rec a = mknet("a", 1, "10.1.0.0/24", NULL);
	struct drv_net_rec b = mknet("b", 2, "10.2.0.0/24", NULL);
	struct drv_lease_rec la = mklease("a", "10.1.0.2", "x"), lb = mklease("b", "10.2.0.2", "y");
	struct drv_lease_rec *list;
	struct drv_state *st;
	size_t n;

	st = open_ok();
	cr_assert_eq(drv_state_net_insert(st, &a), 0);
	cr_assert_eq(drv_state_net_insert(st, &b), 0);
	cr_assert_eq(drv_state_lease_insert(st, &la), 0);
	cr_assert_eq(drv_state_lease_insert(st, &lb), 0);
	cr_assert_eq(drv_state_net_delete(st, "a"), 0);
	cr_assert_eq(drv_state_lease_list(st, NULL, &list, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(list[0].net, "b");
	free(list);
	/* Re-created network starts with no leases. */
	cr_assert_eq(drv_state_net_insert(st, &a), 0);
	cr_assert_eq(drv_state_lease_list(st, "a", &list, &n), 0);
	cr_assert_eq(n, 0);
	drv_state_close(st);
}

Test(state, transactions)
{
	struct drv_net_rec a = mknet("a", 1, "10.1.0.0/24", NULL), got;
	struct drv_lease_rec l = mklease("a", "10.1.0.2", "x");
	struct drv_lease_rec *list;
	struct drv_state *st;
	size_t n;

	st = open_ok();
	cr_assert_eq(drv_state_commit(st), -EINVAL, "commit without begin");
	cr_assert_eq(drv_state_begin(st), 0);
	cr_assert_eq(drv_state_begin(st), -EBUSY, "no nesting");
	cr_assert_eq(drv_state_net_insert(st, &a), 0);
	cr_assert_eq(drv_state_lease_insert(st, &l), 0);
	cr_assert_eq(drv_state_net_get(st, "a", &got), 0, "visible inside the transaction");
	drv_state_rollback(st);
	cr_assert_eq(drv_state_net_get(st, "a", &got), -ENOENT);
	cr_assert_eq(drv_state_lease_list(st, NULL, &list, &n), 0);
	cr_assert_eq(n, 0);
	drv_state_rollback(st); /* harmless outside a transaction */

	cr_assert_eq(drv_state_begin(st), 0);
	cr_assert_eq(drv_state_net_insert(st, &a), 0);
	cr_assert_eq(drv_state_lease_insert(st, &l), 0);
	cr_assert_eq(drv_state_commit(st), 0);
	drv_state_close(st);

	st = open_ok();
	cr_assert_eq(drv_state_net_get(st, "a", &got), 0);
	cr_assert_eq(drv_state_lease_list(st, "a", &list, &n), 0);
	cr_assert_eq(n, 1);
	free(list);
	drv_state_close(st);
}

Test(state, data_survives_reopen)
{
	struct drv_net_rec a = mknet("a", 4242, "10.1.0.0/24", "10.1.0.1"), gn;
	struct drv_ep_rec e = mkep("0123456789ab", "a", "10.1.0.2"), ge;
	struct drv_lease_rec l = mklease("a", "10.1.0.2", "0123456789ab"), *list;
	struct drv_state *st;
	size_t n;

	st = open_ok();
	cr_assert_eq(drv_state_net_insert(st, &a), 0);
	cr_assert_eq(drv_state_ep_insert(st, &e), 0);
	cr_assert_eq(drv_state_lease_insert(st, &l), 0);
	drv_state_close(st);

	st = open_ok();
	cr_assert_eq(drv_state_schema_version(st), DRV_STATE_SCHEMA);
	cr_assert_eq(drv_state_net_get(st, "a", &gn), 0);
	assert_net_eq(&gn, &a);
	cr_assert_eq(drv_state_ep_get(st, e.id, &ge), 0);
	assert_ep_eq(&ge, &e);
	cr_assert_eq(drv_state_lease_list(st, "a", &list, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(list[0].ip.s_addr, l.ip.s_addr);
	cr_assert_str_eq(list[0].owner, l.owner);
	free(list);
	drv_state_close(st);
}

Test(state, stored_text_is_readable_and_strictly_parsed)
{
	struct drv_net_rec a = mknet("a", 7, "10.1.0.0/24", "10.1.0.1"), got, *list;
	struct drv_ep_rec ge;
	struct drv_state *st;
	char path[PATH_MAX];
	sqlite3_stmt *s;
	sqlite3 *db;
	size_t n;

	st = open_ok();
	cr_assert_eq(drv_state_net_insert(st, &a), 0);
	drv_state_close(st);

	db_path(path, sizeof(path));
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT subnet, gateway FROM networks", -1, &s, NULL),
		     SQLITE_OK);
	cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
	cr_assert_str_eq((const char *)sqlite3_column_text(s, 0), "10.1.0.0/24");
	cr_assert_str_eq((const char *)sqlite3_column_text(s, 1), "10.1.0.1");
	sqlite3_finalize(s);
	sqlite3_close(db);

	raw_exec(
		"INSERT INTO networks VALUES ('bad', 8, '10.2.0.0/33', NULL, 1450, 4789, 0, '', 0);"
		"INSERT INTO endpoints VALUES ('badmac', 'a', NULL, NULL, '10.1.0.5', "
		"'zz:zz:zz:zz:zz:zz', 0);");
	st = open_ok();
	cr_assert_eq(drv_state_net_get(st, "bad", &got), -EIO);
	cr_assert_eq(drv_state_net_list(st, &list, &n), -EIO);
	cr_assert_null(list);
	cr_assert_eq(drv_state_ep_get(st, "badmac", &ge), -EIO);
	cr_assert_eq(drv_state_net_get(st, "a", &got), 0, "good rows still read");
	drv_state_close(st);
}

Test(state, newer_schema_is_refused)
{
	struct drv_state *st;
	char err[256] = "", want[128], sql[64];

	drv_state_close(open_ok());
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", DRV_STATE_SCHEMA + 1);
	raw_exec(sql);
	st = (struct drv_state *)1;
	cr_assert_eq(drv_state_open(&st, sdir, err, sizeof(err)), -EPROTO);
	cr_assert_null(st);
	snprintf(want, sizeof(want),
		 "state database schema version %d is newer than this vxmesh (%d)",
		 DRV_STATE_SCHEMA + 1, DRV_STATE_SCHEMA);
	cr_assert_str_eq(err, want);
}

static void write_at(const char *path, off_t off, const void *buf, size_t len, int trunc)
{
	int fd = open(path, O_WRONLY | O_CREAT | (trunc ? O_TRUNC : 0), 0600);

	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, buf, len, off), (ssize_t)len);
	close(fd);
}

Test(state, garbage_file_is_an_error)
{
	char path[PATH_MAX], err[256] = "", junk[8192];
	struct drv_state *st = (struct drv_state *)1;

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 7 + 3);
	cr_assert_eq(mkdir(sdir, 0700), 0);
	db_path(path, sizeof(path));
	write_at(path, 0, junk, sizeof(junk), 1);
	cr_assert_lt(drv_state_open(&st, sdir, err, sizeof(err)), 0);
	cr_assert_null(st);
	cr_assert_neq(err[0], '\0');
}

Test(state, corrupt_schema_page_is_an_error)
{
	char path[PATH_MAX], err[256] = "", junk[4096 - 100];
	struct drv_state *st;

	st = open_ok();
	drv_state_close(st);
	/* Keep the 100-byte header, trash the rest of page 1 (the schema b-tree). */
	memset(junk, 0xa5, sizeof(junk));
	db_path(path, sizeof(path));
	write_at(path, 100, junk, sizeof(junk), 0);
	st = (struct drv_state *)1;
	cr_assert_lt(drv_state_open(&st, sdir, err, sizeof(err)), 0);
	cr_assert_null(st);
	cr_assert_neq(err[0], '\0');
}

static size_t file_read(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	cr_assert_geq(fd, 0);
	n = read(fd, buf, len);
	close(fd);
	cr_assert_gt(n, 0);
	return (size_t)n;
}

/* Another program's SQLite file, at version 0 with its own table or at a
 * version of ours without our tables: refused, and not a byte changed. */
Test(state, foreign_database_is_refused_untouched)
{
	static const struct {
		const char *sql, *why;
	} cases[] = {
		{"CREATE TABLE foo (a INTEGER); INSERT INTO foo VALUES (1)",
		 "foreign table \"foo\""},
		{"CREATE TABLE node (id TEXT); PRAGMA user_version = 2", "no table \"networks\""},
	};
	char path[PATH_MAX], err[256], before[16384], after[16384];
	struct drv_state *st;
	size_t n;

	db_path(path, sizeof(path));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mkdir(sdir, 0700);
		unlink(path);
		raw_exec(cases[i].sql);
		n = file_read(path, before, sizeof(before));
		st = (struct drv_state *)1;
		err[0] = '\0';
		cr_assert_eq(drv_state_open(&st, sdir, err, sizeof(err)), -EINVAL, "case %zu", i);
		cr_assert_null(st);
		cr_assert(strstr(err, "not a vxmesh state database"), "%s", err);
		cr_assert(strstr(err, cases[i].why), "%s", err);
		cr_assert_eq(file_read(path, after, sizeof(after)), n);
		cr_assert_eq(memcmp(before, after, n), 0, "case %zu: the file changed", i);
	}
}

struct gossip_rows {
	struct gt_entry e[4];
	char val[4][32];
	size_t n;
};

static void gossip_row_cb(void *arg, const struct gt_entry *e)
{
	struct gossip_rows *r = arg;

	cr_assert_lt(r->n, 4);
	r->e[r->n] = *e;
	if (e->value) {
		cr_assert_lt(e->value_len, sizeof(r->val[0]));
		memcpy(r->val[r->n], e->value, e->value_len);
		r->e[r->n].value = (const uint8_t *)r->val[r->n];
	}
	r->n++;
}

Test(state, gossip_entries_upsert_list_delete)
{
	struct drv_state *st = open_ok();
	struct gt_entry a = {.kind = GT_KIND_NET,
			     .key = "blue",
			     .clock = 7,
			     .origin = "n1",
			     .owner = "n1",
			     .value = (const uint8_t *)"{}",
			     .value_len = 2};
	struct gt_entry b = {.kind = GT_KIND_EP,
			     .key = "abc",
			     .clock = 9,
			     .origin = "n2",
			     .owner = "n2",
			     .deleted = 1};
	struct gossip_rows r = {0};

	cr_assert_eq(drv_state_gossip_put(st, &a), 0);
	cr_assert_eq(drv_state_gossip_put(st, &b), 0);
	a.clock = 8; /* upsert replaces */
	cr_assert_eq(drv_state_gossip_put(st, &a), 0);
	drv_state_close(st);
	st = open_ok();
	cr_assert_eq(drv_state_gossip_foreach(st, gossip_row_cb, &r), 0);
	cr_assert_eq(r.n, 2);
	cr_assert_eq(r.e[0].kind, GT_KIND_NET);
	cr_assert_eq(r.e[0].clock, 8);
	cr_assert_eq(r.e[0].value_len, 2);
	cr_assert_eq(memcmp(r.e[0].value, "{}", 2), 0);
	cr_assert_eq(r.e[1].deleted, 1);
	cr_assert_null(r.e[1].value);
	cr_assert_eq(drv_state_gossip_delete(st, GT_KIND_EP, "abc"), 0);
	r.n = 0;
	cr_assert_eq(drv_state_gossip_foreach(st, gossip_row_cb, &r), 0);
	cr_assert_eq(r.n, 1);
	drv_state_close(st);
}

Test(state, schema_v1_is_migrated_forward)
{
	struct drv_state *st;
	struct drv_net_rec n;

	/* A v1 database with one network, as an agent of issue 2 left it. */
	drv_state_close(open_ok());
	raw_exec("DROP TABLE gossip; DROP TABLE kv; ALTER TABLE networks DROP COLUMN encrypted;"
		 "ALTER TABLE networks DROP COLUMN ring;"
		 "PRAGMA user_version = 1;"
		 "INSERT INTO networks VALUES ('blue', 100, '10.0.0.0/24', NULL, 0, 4789, 1)");
	st = open_ok();
	cr_assert_eq(drv_state_schema_version(st), DRV_STATE_SCHEMA);
	cr_assert_eq(drv_state_net_get(st, "blue", &n), 0);
	cr_assert_eq(n.vni, 100);
	cr_assert_str_eq(n.ring, "", "networks from before v3 have no ownership ring");
	cr_assert_eq(n.encrypted, 0, "networks from before v4 are plaintext");
	drv_state_close(st);
}

Test(state, encrypted_round_trips)
{
	struct drv_state *st = open_ok();
	struct drv_net_rec n = {.name = "sealed", .vni = 9, .port = 4789, .encrypted = 1}, got;

	cr_assert_eq(addr_parse_prefix("10.9.0.0/24", 1, &n.subnet), 0);
	cr_assert_eq(drv_state_net_insert(st, &n), 0);
	cr_assert_eq(drv_state_net_get(st, "sealed", &got), 0);
	cr_expect_eq(got.encrypted, 1);
	drv_state_close(st);
}

static void kv_collect(void *arg, const char *key, const char *value)
{
	char *out = arg;

	strcat(out, key);
	strcat(out, "=");
	strcat(out, value);
	strcat(out, ";");
}

Test(state, kv_upsert_delete_and_namespaces)
{
	struct drv_state *st = open_ok();
	char got[256] = "";

	cr_assert_eq(drv_state_kv_put(st, "docker.net", "b", "{\"x\":2}"), 0);
	cr_assert_eq(drv_state_kv_put(st, "docker.net", "a", "1"), 0);
	cr_assert_eq(drv_state_kv_put(st, "docker.net", "a", "3"), 0, "put is an upsert");
	cr_assert_eq(drv_state_kv_put(st, "docker.ep", "a", "other"), 0);
	cr_assert_eq(drv_state_kv_foreach(st, "docker.net", kv_collect, got), 0);
	cr_assert_str_eq(got, "a=3;b={\"x\":2};", "one namespace, sorted by key");
	cr_assert_eq(drv_state_kv_delete(st, "docker.net", "a"), 0);
	cr_assert_eq(drv_state_kv_delete(st, "docker.net", "missing"), 0);
	drv_state_close(st);
	st = open_ok();
	got[0] = '\0';
	cr_assert_eq(drv_state_kv_foreach(st, "docker.net", kv_collect, got), 0);
	cr_assert_str_eq(got, "b={\"x\":2};", "persists across reopen");
	got[0] = '\0';
	cr_assert_eq(drv_state_kv_foreach(st, "docker.ep", kv_collect, got), 0);
	cr_assert_str_eq(got, "a=other;");
	drv_state_close(st);
}

Test(state, network_ring_id_round_trips)
{
	struct drv_state *st = open_ok();
	struct drv_net_rec n = {.name = "ringed", .vni = 9, .port = 4789}, got;

	cr_assert_eq(addr_parse_prefix("10.9.0.0/24", 1, &n.subnet), 0);
	snprintf(n.ring, sizeof(n.ring), "0123456789abcdef");
	cr_assert_eq(drv_state_net_insert(st, &n), 0);
	cr_assert_eq(drv_state_net_get(st, "ringed", &got), 0);
	cr_assert_str_eq(got.ring, "0123456789abcdef");
	drv_state_close(st);
}
