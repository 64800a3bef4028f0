// SPDX-License-Identifier: MIT
/*
 * DOC: state
 *
 * The agent's durable memory: node identity, networks, endpoints and leases in
 * one SQLite file, so a restarted agent can reconcile the kernel against what it
 * promised Docker.  Addresses are stored as text ("10.0.0.0/24", "aa:bb:..") so
 * an operator can read the file with the sqlite3 CLI; the same reason means any
 * row is re-validated on the way out and a row that does not parse is -EIO.
 * Values are always bound, never formatted into SQL.  Statements are prepared
 * on first use and cached for the life of the handle.
 */
#include "driver/state.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#define BUSY_TIMEOUT_MS 5000

/* migrations[v] takes the schema from v - 1 to v; entry 0 is unused. */
static const char *const migrations[] = {
	[1] = "CREATE TABLE node ("
	      " id TEXT NOT NULL,"
	      " name TEXT NOT NULL,"
	      " created INTEGER NOT NULL);"
	      "CREATE TABLE networks ("
	      " name TEXT PRIMARY KEY,"
	      " vni INTEGER UNIQUE NOT NULL,"
	      " subnet TEXT NOT NULL,"
	      " gateway TEXT,"
	      " mtu INTEGER NOT NULL,"
	      " port INTEGER NOT NULL,"
	      " created INTEGER NOT NULL);"
	      "CREATE TABLE endpoints ("
	      " id TEXT PRIMARY KEY,"
	      " net TEXT NOT NULL REFERENCES networks(name),"
	      " netns TEXT,"
	      " ifname TEXT,"
	      " ip TEXT,"
	      " mac TEXT,"
	      " created INTEGER);"
	      "CREATE INDEX endpoints_net ON endpoints(net);"
	      "CREATE TABLE leases ("
	      " net TEXT REFERENCES networks(name) ON DELETE CASCADE,"
	      " ip TEXT,"
	      " owner TEXT,"
	      " created INTEGER,"
	      " PRIMARY KEY (net, ip));",
	/* v2: the replicated (gossip) tables, so a restarted agent knows every
	 * remote endpoint before its first reconcile. */
	[2] = "CREATE TABLE gossip ("
	      " kind INTEGER NOT NULL,"
	      " key TEXT NOT NULL,"
	      " clock INTEGER NOT NULL,"
	      " origin TEXT NOT NULL,"
	      " owner TEXT NOT NULL,"
	      " deleted INTEGER NOT NULL,"
	      " value BLOB,"
	      " PRIMARY KEY (kind, key));",
	/* v3: each network names its address-ownership ring (cluster-wide
	 * IPAM); a small key/value table for integrations (Docker's ids). */
	[3] = "ALTER TABLE networks ADD COLUMN ring TEXT NOT NULL DEFAULT '';"
	      "CREATE TABLE kv ("
	      " ns TEXT NOT NULL,"
	      " key TEXT NOT NULL,"
	      " value TEXT NOT NULL,"
	      " PRIMARY KEY (ns, key));",
	/* v4: encrypted networks (docs/encryption.md). */
	[4] = "ALTER TABLE networks ADD COLUMN encrypted INTEGER NOT NULL DEFAULT 0;",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == DRV_STATE_SCHEMA + 1,
	       "one migration step per schema version");

enum query {
	Q_VERSION,
	Q_NODE_INIT,
	Q_NODE_GET,
	Q_NET_INSERT,
	Q_NET_DELETE,
	Q_NET_GET,
	Q_NET_LIST,
	Q_EP_INSERT,
	Q_EP_DELETE,
	Q_EP_GET,
	Q_EP_LIST,
	Q_EP_LIST_NET,
	Q_LEASE_INSERT,
	Q_LEASE_DELETE,
	Q_LEASE_LIST,
	Q_LEASE_LIST_NET,
	Q_GOSSIP_PUT,
	Q_GOSSIP_DELETE,
	Q_GOSSIP_LIST,
	Q_KV_PUT,
	Q_KV_DELETE,
	Q_KV_LIST,
	Q_COUNT,
};

#define NET_COLS   "name, vni, subnet, gateway, mtu, port, created, ring, encrypted"
#define EP_COLS	   "id, net, netns, ifname, ip, mac, created"
#define LEASE_COLS "net, ip, owner, created"

static const char *const query_sql[Q_COUNT] = {
	[Q_VERSION] = "PRAGMA user_version",
	/* One statement, so two first starts cannot both make an identity. */
	[Q_NODE_INIT] = "INSERT INTO node (id, name, created) SELECT ?1, ?2, ?3"
			" WHERE NOT EXISTS (SELECT 1 FROM node)",
	[Q_NODE_GET] = "SELECT id, name, created FROM node LIMIT 2",
	[Q_NET_INSERT] =
		"INSERT INTO networks (" NET_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[Q_NET_DELETE] = "DELETE FROM networks WHERE name = ?1",
	[Q_NET_GET] = "SELECT " NET_COLS " FROM networks WHERE name = ?1",
	[Q_NET_LIST] = "SELECT " NET_COLS " FROM networks ORDER BY name",
	[Q_EP_INSERT] = "INSERT INTO endpoints (" EP_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[Q_EP_DELETE] = "DELETE FROM endpoints WHERE id = ?1",
	[Q_EP_GET] = "SELECT " EP_COLS " FROM endpoints WHERE id = ?1",
	[Q_EP_LIST] = "SELECT " EP_COLS " FROM endpoints ORDER BY net, id",
	[Q_EP_LIST_NET] = "SELECT " EP_COLS " FROM endpoints WHERE net = ?1 ORDER BY id",
	[Q_LEASE_INSERT] = "INSERT INTO leases (" LEASE_COLS ") VALUES (?1, ?2, ?3, ?4)",
	[Q_LEASE_DELETE] = "DELETE FROM leases WHERE net = ?1 AND ip = ?2",
	[Q_LEASE_LIST] = "SELECT " LEASE_COLS " FROM leases",
	[Q_LEASE_LIST_NET] = "SELECT " LEASE_COLS " FROM leases WHERE net = ?1",
	[Q_GOSSIP_PUT] =
		"INSERT OR REPLACE INTO gossip (kind, key, clock, origin, owner, deleted, value)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[Q_GOSSIP_DELETE] = "DELETE FROM gossip WHERE kind = ?1 AND key = ?2",
	[Q_GOSSIP_LIST] = "SELECT kind, key, clock, origin, owner, deleted, value FROM gossip"
			  " ORDER BY kind, key",
	[Q_KV_PUT] = "INSERT OR REPLACE INTO kv (ns, key, value) VALUES (?1, ?2, ?3)",
	[Q_KV_DELETE] = "DELETE FROM kv WHERE ns = ?1 AND key = ?2",
	[Q_KV_LIST] = "SELECT key, value FROM kv WHERE ns = ?1 ORDER BY key",
};

struct drv_state {
	sqlite3 *db;
	sqlite3_stmt *stmt[Q_COUNT];
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int sql_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_TOOBIG:
		return -E2BIG;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
	case SQLITE_MISUSE:
		return -EINVAL;
	default: /* IOERR, CORRUPT, NOTADB, CANTOPEN, SCHEMA, ... */
		return -EIO;
	}
}

static int stmt_get(struct drv_state *st, enum query q, sqlite3_stmt **out)
{
	int rc;

	*out = NULL;
	if (!st->stmt[q]) {
		rc = sqlite3_prepare_v3(st->db, query_sql[q], -1, SQLITE_PREPARE_PERSISTENT,
					&st->stmt[q], NULL);
		if (rc != SQLITE_OK)
			return sql_errno(rc) ? sql_errno(rc) : -EIO;
	}
	*out = st->stmt[q];
	return 0;
}

/* Every use of a cached statement ends here, so none stays active across calls. */
static void stmt_put(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* Is s NUL-terminated within size bytes (and non-empty when asked)? */
static int str_ok(const char *s, size_t size, int nonempty)
{
	return memchr(s, '\0', size) && (!nonempty || s[0]);
}

static int bind_str(sqlite3_stmt *s, int i, const char *v, int null_if_empty)
{
	if (null_if_empty && !v[0])
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
}

static int bind_ip(sqlite3_stmt *s, int i, struct in_addr ip, int null_if_zero)
{
	char buf[ADDR_IP4_STRLEN];

	if (null_if_zero && !ip.s_addr)
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_text(s, i, addr_fmt_ip4(ip, buf), -1, SQLITE_TRANSIENT);
}

/* A TEXT column into dst; NULL reads as "" when nullable.  -EIO on anything else. */
static int col_str(sqlite3_stmt *s, int i, char *dst, size_t size, int nullable)
{
	const unsigned char *v;
	int len;

	switch (sqlite3_column_type(s, i)) {
	case SQLITE_NULL:
		if (!nullable)
			return -EIO;
		dst[0] = '\0';
		return 0;
	case SQLITE_TEXT:
		break;
	default:
		return -EIO;
	}
	v = sqlite3_column_text(s, i);
	len = sqlite3_column_bytes(s, i);
	if (!v)
		return -ENOMEM;
	if (len < 0 || (size_t)len >= size || memchr(v, '\0', (size_t)len))
		return -EIO;
	memcpy(dst, v, (size_t)len);
	dst[len] = '\0';
	return 0;
}

static int col_int(sqlite3_stmt *s, int i, int64_t min, int64_t max, int nullable, int64_t *out)
{
	int64_t v;

	if (sqlite3_column_type(s, i) == SQLITE_NULL && nullable) {
		*out = 0;
		return 0;
	}
	if (sqlite3_column_type(s, i) != SQLITE_INTEGER)
		return -EIO;
	v = sqlite3_column_int64(s, i);
	if (v < min || v > max)
		return -EIO;
	*out = v;
	return 0;
}

static int col_ip(sqlite3_stmt *s, int i, int nullable, struct in_addr *out)
{
	char buf[INET_ADDRSTRLEN];
	int ret;

	ret = col_str(s, i, buf, sizeof(buf), nullable);
	if (ret)
		return ret;
	if (!buf[0]) {
		out->s_addr = 0;
		return 0;
	}
	return addr_parse_ip4(buf, out) ? -EIO : 0;
}

static int exec(struct drv_state *st, const char *sql)
{
	return sql_errno(sqlite3_exec(st->db, sql, NULL, NULL, NULL));
}

static int version_get(struct drv_state *st, int *out)
{
	sqlite3_stmt *s;
	int ret, rc;

	*out = 0;
	ret = stmt_get(st, Q_VERSION, &s);
	if (ret)
		return ret;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int(s, 0);
	else
		ret = rc == SQLITE_DONE ? -EIO : sql_errno(rc);
	stmt_put(s);
	return ret;
}

/* One transaction per step; reading the version inside it keeps two agents
 * starting at once from both applying the same step. */
static int migrate(struct drv_state *st, const char *path, char *err, size_t errlen)
{
	char sql[64];
	int ret, v;

	for (;;) {
		ret = exec(st, "BEGIN IMMEDIATE");
		if (ret)
			goto err_msg;
		ret = version_get(st, &v);
		if (ret)
			goto err_rollback;
		if (v < 0) {
			seterr(err, errlen, "%s: invalid schema version %d", path, v);
			ret = -EIO;
			goto err_rollback_quiet;
		}
		if (v > DRV_STATE_SCHEMA) {
			seterr(err, errlen,
			       "state database schema version %d is newer than this vxmesh (%d)", v,
			       DRV_STATE_SCHEMA);
			ret = -EPROTO;
			goto err_rollback_quiet;
		}
		if (v == DRV_STATE_SCHEMA)
			break;
		ret = exec(st, migrations[v + 1]);
		if (ret)
			goto err_rollback;
		/* PRAGMA takes no parameters; v is our own small integer. */
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		ret = exec(st, sql);
		if (ret)
			goto err_rollback;
		ret = exec(st, "COMMIT");
		if (ret)
			goto err_rollback;
	}
	return exec(st, "COMMIT");

err_rollback:
	seterr(err, errlen, "%s: %s", path, sqlite3_errmsg(st->db));
err_rollback_quiet:
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
err_msg:
	seterr(err, errlen, "%s: %s", path, sqlite3_errmsg(st->db));
	return ret;
}

/* Before anything writes: a file this binary must not touch (another
 * program's SQLite file, a newer schema) is refused with its bytes as they
 * were, since enabling WAL or migrating would rewrite it.  An empty database
 * is a first start; one with a schema version has the tables of v1. */
static int db_check_ours(struct drv_state *st, const char *path, char *err, size_t errlen)
{
	static const char *const v1_tables[] = {"node", "networks", "endpoints", "leases"};
	sqlite3_stmt *s;
	const char *sql;
	int ret, rc, v;

	/* The first statement that reads the file: a garbage file fails here. */
	ret = version_get(st, &v);
	if (ret) {
		seterr(err, errlen, "%s: %s", path, sqlite3_errmsg(st->db));
		return ret;
	}
	if (v > DRV_STATE_SCHEMA) {
		seterr(err, errlen,
		       "state database schema version %d is newer than this vxmesh (%d)", v,
		       DRV_STATE_SCHEMA);
		return -EPROTO;
	}
	if (v < 0) {
		seterr(err, errlen, "%s: invalid schema version %d", path, v);
		return -EIO;
	}
	/* A row is a reason to refuse: any table at version 0, a missing one after. */
	sql = v ? "SELECT ?1 WHERE NOT EXISTS (SELECT 1 FROM sqlite_master"
		  " WHERE type = 'table' AND name = ?1)"
		: "SELECT name FROM sqlite_master WHERE type = 'table'";
	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	for (size_t i = 0;
	     rc == SQLITE_OK && i < (v ? sizeof(v1_tables) / sizeof(v1_tables[0]) : 1); i++) {
		if (v)
			sqlite3_bind_text(s, 1, v1_tables[i], -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			seterr(err, errlen,
			       "%s: not a vxmesh state database (schema version %d, %s table "
			       "\"%s\");"
			       " left as it is",
			       path, v, v ? "no" : "foreign",
			       (const char *)sqlite3_column_text(s, 0));
			sqlite3_finalize(s);
			return -EINVAL;
		}
		if (rc == SQLITE_DONE)
			rc = sqlite3_reset(s);
	}
	if (rc != SQLITE_OK) {
		seterr(err, errlen, "%s: %s", path, sqlite3_errmsg(st->db));
		ret = sql_errno(rc) ? sql_errno(rc) : -EIO;
	}
	sqlite3_finalize(s);
	return ret;
}

/* mkdir -p; components we create get 0700, existing ones are left alone. */
static int mkdir_p(const char *dir)
{
	char buf[PATH_MAX];
	struct stat sb;
	size_t len = strlen(dir);

	if (len == 0)
		return -EINVAL;
	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, dir, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) && errno != EEXIST)
		return -errno;
	if (stat(buf, &sb))
		return -errno;
	return S_ISDIR(sb.st_mode) ? 0 : -ENOTDIR;
}

/* Create the file ourselves so it is never briefly world-readable, whatever the
 * umask; SQLite gives the -wal and -shm files the database file's mode. */
static int db_file_prepare(const char *path)
{
	struct stat sb;
	int fd, ret = 0;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb))
		ret = -errno;
	else if (!S_ISREG(sb.st_mode))
		ret = -EINVAL;
	else if ((sb.st_mode & 07777) != 0600 && fchmod(fd, 0600))
		ret = -errno;
	close(fd);
	return ret;
}

int drv_state_open(struct drv_state **out, const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct drv_state *st;
	sqlite3_stmt *s;
	int ret, rc, n, wal = 0;

	if (err && errlen)
		err[0] = '\0';
	if (!out || !dir)
		return -EINVAL;
	*out = NULL;
	ret = mkdir_p(dir);
	if (ret) {
		seterr(err, errlen, "%s: %s", dir, strerror(-ret));
		return ret;
	}
	n = snprintf(path, sizeof(path), "%s/state.db", dir);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		seterr(err, errlen, "%s: %s", dir, strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	ret = db_file_prepare(path);
	if (ret) {
		seterr(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}

	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK) {
		ret = sql_errno(rc);
		seterr(err, errlen, "%s: %s", path,
		       st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		goto err_close;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);

	ret = db_check_ours(st, path, err, errlen);
	if (ret)
		goto err_close;
	rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode=WAL", -1, &s, NULL);
	if (rc != SQLITE_OK)
		goto err_sql;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const unsigned char *mode = sqlite3_column_text(s, 0);

		wal = mode && !strcmp((const char *)mode, "wal");
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		goto err_sql;
	if (!wal) {
		seterr(err, errlen, "%s: cannot enable write-ahead logging", path);
		ret = -EIO;
		goto err_close;
	}
	rc = sqlite3_exec(st->db, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON", NULL, NULL,
			  NULL);
	if (rc != SQLITE_OK)
		goto err_sql;

	ret = migrate(st, path, err, errlen);
	if (ret)
		goto err_close;
	*out = st;
	return 0;

err_sql:
	ret = sql_errno(rc);
	if (!ret)
		ret = -EIO;
	seterr(err, errlen, "%s: %s", path, sqlite3_errmsg(st->db));
err_close:
	drv_state_close(st);
	return ret;
}

void drv_state_close(struct drv_state *st)
{
	if (!st)
		return;
	for (int i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->db);
	free(st);
}

int drv_state_schema_version(struct drv_state *st)
{
	int ret, v;

	ret = version_get(st, &v);
	return ret ? ret : v;
}

int drv_state_begin(struct drv_state *st)
{
	if (!sqlite3_get_autocommit(st->db))
		return -EBUSY;
	return exec(st, "BEGIN IMMEDIATE");
}

/* A failed COMMIT is rolled back here, so the caller's rollback is a no-op. */
int drv_state_commit(struct drv_state *st)
{
	int ret;

	if (sqlite3_get_autocommit(st->db))
		return -EINVAL;
	ret = exec(st, "COMMIT");
	if (ret)
		drv_state_rollback(st);
	return ret;
}

void drv_state_rollback(struct drv_state *st)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

static int node_row(sqlite3_stmt *s, struct drv_node_rec *out)
{
	int64_t created;
	int ret;

	ret = col_str(s, 0, out->id, sizeof(out->id), 0);
	if (ret)
		return ret;
	if (strlen(out->id) != DRV_NODE_ID_LEN ||
	    strspn(out->id, "0123456789abcdef") != DRV_NODE_ID_LEN)
		return -EIO;
	ret = col_str(s, 1, out->name, sizeof(out->name), 0);
	if (ret)
		return ret;
	ret = col_int(s, 2, INT64_MIN, INT64_MAX, 0, &created);
	if (ret)
		return ret;
	out->created = created;
	return 0;
}

/* 0 and *out filled, -ENOENT when the table is empty, -EIO on more than one row. */
static int node_read(struct drv_state *st, struct drv_node_rec *out)
{
	sqlite3_stmt *s;
	int ret, rc;

	ret = stmt_get(st, Q_NODE_GET, &s);
	if (ret)
		return ret;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		ret = node_row(s, out);
		if (!ret && sqlite3_step(s) != SQLITE_DONE)
			ret = -EIO;
	} else {
		ret = rc == SQLITE_DONE ? -ENOENT : sql_errno(rc);
	}
	stmt_put(s);
	return ret;
}

static int node_init(struct drv_state *st)
{
	char id[DRV_NODE_ID_LEN + 1], host[HOST_NAME_MAX + 1];
	uint8_t rnd[DRV_NODE_ID_LEN / 2];
	size_t got = 0;
	sqlite3_stmt *s;
	ssize_t r;
	int ret, rc;

	while (got < sizeof(rnd)) {
		r = getrandom(rnd + got, sizeof(rnd) - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		got += (size_t)r;
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(id + 2 * i, 3, "%02x", rnd[i]);
	if (gethostname(host, sizeof(host)))
		host[0] = '\0';
	host[sizeof(((struct drv_node_rec *)0)->name) - 1] = '\0';

	ret = stmt_get(st, Q_NODE_INIT, &s);
	if (ret)
		return ret;
	rc = bind_str(s, 1, id, 0);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 2, host, 0);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 3, (int64_t)time(NULL));
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	stmt_put(s);
	return sql_errno(rc);
}

int drv_state_node_get(struct drv_state *st, struct drv_node_rec *out)
{
	int ret;

	memset(out, 0, sizeof(*out));
	ret = node_read(st, out);
	if (ret != -ENOENT)
		return ret;
	ret = node_init(st);
	if (ret)
		return ret;
	ret = node_read(st, out);
	return ret == -ENOENT ? -EIO : ret;
}

/* Run a write statement whose parameters are bound; the SQLite code is returned
 * so the caller can tell its constraints apart. */
static int step_write(sqlite3_stmt *s, int rc)
{
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	stmt_put(s);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int drv_state_net_insert(struct drv_state *st, const struct drv_net_rec *n)
{
	char subnet[ADDR_PREFIX_STRLEN];
	sqlite3_stmt *s;
	int ret, rc;

	if (!str_ok(n->name, sizeof(n->name), 1) || n->vni > VX_VNI_MAX || n->subnet.len > 32)
		return -EINVAL;
	ret = stmt_get(st, Q_NET_INSERT, &s);
	if (ret)
		return ret;
	addr_fmt_prefix(&n->subnet, subnet);
	rc = bind_str(s, 1, n->name, 0);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 2, n->vni);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 3, subnet, 0);
	if (rc == SQLITE_OK)
		rc = bind_ip(s, 4, n->gw, 1);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 5, n->mtu);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 6, n->port);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 7, n->created);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 8, n->ring, 0);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(s, 9, !!n->encrypted);
	rc = step_write(s, rc);
	switch (rc) {
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return -EEXIST;
	case SQLITE_CONSTRAINT_UNIQUE: /* vni is the only UNIQUE column */
		return -EADDRINUSE;
	default:
		return sql_errno(rc);
	}
}

static int delete_by(struct drv_state *st, enum query q, const char *key, int have_ip,
		     struct in_addr ip)
{
	sqlite3_stmt *s;
	int ret, rc;

	if (!key)
		return -EINVAL;
	ret = stmt_get(st, q, &s);
	if (ret)
		return ret;
	rc = bind_str(s, 1, key, 0);
	if (rc == SQLITE_OK && have_ip)
		rc = bind_ip(s, 2, ip, 0);
	rc = step_write(s, rc);
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return -EBUSY;
	if (rc != SQLITE_OK)
		return sql_errno(rc);
	return sqlite3_changes(st->db) ? 0 : -ENOENT;
}

int drv_state_net_delete(struct drv_state *st, const char *name)
{
	return delete_by(st, Q_NET_DELETE, name, 0, (struct in_addr){0});
}

static int net_row(sqlite3_stmt *s, void *dst)
{
	char subnet[ADDR_PREFIX_STRLEN];
	struct drv_net_rec *n = dst;
	int64_t v;
	int ret;

	ret = col_str(s, 0, n->name, sizeof(n->name), 0);
	if (ret)
		return ret;
	ret = col_int(s, 1, 0, VX_VNI_MAX, 0, &v);
	if (ret)
		return ret;
	n->vni = (uint32_t)v;
	ret = col_str(s, 2, subnet, sizeof(subnet), 0);
	if (ret)
		return ret;
	/* Not strict: hand back exactly what was stored. */
	if (addr_parse_prefix(subnet, 0, &n->subnet))
		return -EIO;
	ret = col_ip(s, 3, 1, &n->gw);
	if (ret)
		return ret;
	ret = col_int(s, 4, 0, UINT_MAX, 0, &v);
	if (ret)
		return ret;
	n->mtu = (unsigned)v;
	ret = col_int(s, 5, 0, UINT16_MAX, 0, &v);
	if (ret)
		return ret;
	n->port = (uint16_t)v;
	ret = col_int(s, 6, INT64_MIN, INT64_MAX, 0, &n->created);
	if (ret)
		return ret;
	ret = col_str(s, 7, n->ring, sizeof(n->ring), 1);
	if (ret)
		return ret;
	ret = col_int(s, 8, 0, 1, 0, &v);
	n->encrypted = (int)v;
	return ret;
}

static int get_by(struct drv_state *st, enum query q, const char *key,
		  int (*row)(sqlite3_stmt *, void *), void *out)
{
	sqlite3_stmt *s;
	int ret, rc;

	if (!key)
		return -EINVAL;
	ret = stmt_get(st, q, &s);
	if (ret)
		return ret;
	rc = bind_str(s, 1, key, 0);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		ret = row(s, out);
	else
		ret = rc == SQLITE_DONE ? -ENOENT : sql_errno(rc);
	stmt_put(s);
	return ret;
}

int drv_state_net_get(struct drv_state *st, const char *name, struct drv_net_rec *out)
{
	memset(out, 0, sizeof(*out));
	return get_by(st, Q_NET_GET, name, net_row, out);
}

/* Every row through row() into a malloc()ed array; NULL, 0 when there are none. */
static int list_run(struct drv_state *st, enum query q, const char *key, size_t elsz,
		    int (*row)(sqlite3_stmt *, void *), void **out, size_t *n)
{
	size_t cnt = 0, cap = 0;
	char *arr = NULL;
	sqlite3_stmt *s;
	int ret, rc = SQLITE_OK;

	*out = NULL;
	*n = 0;
	ret = stmt_get(st, q, &s);
	if (ret)
		return ret;
	if (key)
		rc = bind_str(s, 1, key, 0);
	if (rc != SQLITE_OK) {
		ret = sql_errno(rc);
		goto out_put;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			char *grown = ncap <= SIZE_MAX / elsz ? realloc(arr, ncap * elsz) : NULL;

			if (!grown) {
				ret = -ENOMEM;
				goto err_free;
			}
			arr = grown;
			cap = ncap;
		}
		memset(arr + cnt * elsz, 0, elsz);
		ret = row(s, arr + cnt * elsz);
		if (ret)
			goto err_free;
		cnt++;
	}
	if (rc != SQLITE_DONE) {
		ret = sql_errno(rc);
		goto err_free;
	}
	if (!cnt) {
		free(arr);
		goto out_put;
	}
	*out = arr;
	*n = cnt;
	goto out_put;

err_free:
	free(arr);
out_put:
	stmt_put(s);
	return ret;
}

int drv_state_net_list(struct drv_state *st, struct drv_net_rec **out, size_t *n)
{
	return list_run(st, Q_NET_LIST, NULL, sizeof(**out), net_row, (void **)out, n);
}

int drv_state_ep_insert(struct drv_state *st, const struct drv_ep_rec *e)
{
	char mac[ADDR_MAC_STRLEN];
	static const uint8_t zero_mac[ADDR_MAC_LEN];
	sqlite3_stmt *s;
	int ret, rc;

	if (!str_ok(e->id, sizeof(e->id), 1) || !str_ok(e->net, sizeof(e->net), 1) ||
	    !str_ok(e->netns, sizeof(e->netns), 0) || !str_ok(e->ifname, sizeof(e->ifname), 0))
		return -EINVAL;
	ret = stmt_get(st, Q_EP_INSERT, &s);
	if (ret)
		return ret;
	rc = bind_str(s, 1, e->id, 0);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 2, e->net, 0);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 3, e->netns, 1);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 4, e->ifname, 1);
	if (rc == SQLITE_OK)
		rc = bind_ip(s, 5, e->ip, 1);
	if (rc == SQLITE_OK && memcmp(e->mac, zero_mac, sizeof(zero_mac))) {
		addr_fmt_mac(e->mac, mac);
		rc = bind_str(s, 6, mac, 0);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 7, e->created);
	rc = step_write(s, rc);
	switch (rc) {
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return -EEXIST;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return -ENOENT; /* no such network */
	default:
		return sql_errno(rc);
	}
}

int drv_state_ep_delete(struct drv_state *st, const char *id)
{
	return delete_by(st, Q_EP_DELETE, id, 0, (struct in_addr){0});
}

static int ep_row(sqlite3_stmt *s, void *dst)
{
	char mac[ADDR_MAC_STRLEN];
	struct drv_ep_rec *e = dst;
	int ret;

	ret = col_str(s, 0, e->id, sizeof(e->id), 0);
	if (!ret)
		ret = col_str(s, 1, e->net, sizeof(e->net), 0);
	if (!ret)
		ret = col_str(s, 2, e->netns, sizeof(e->netns), 1);
	if (!ret)
		ret = col_str(s, 3, e->ifname, sizeof(e->ifname), 1);
	if (!ret)
		ret = col_ip(s, 4, 1, &e->ip);
	if (!ret)
		ret = col_str(s, 5, mac, sizeof(mac), 1);
	if (!ret && mac[0] && addr_parse_mac(mac, e->mac))
		ret = -EIO;
	if (!ret)
		ret = col_int(s, 6, INT64_MIN, INT64_MAX, 1, &e->created);
	return ret;
}

int drv_state_ep_get(struct drv_state *st, const char *id, struct drv_ep_rec *out)
{
	memset(out, 0, sizeof(*out));
	return get_by(st, Q_EP_GET, id, ep_row, out);
}

int drv_state_ep_list(struct drv_state *st, const char *net, struct drv_ep_rec **out, size_t *n)
{
	return list_run(st, net ? Q_EP_LIST_NET : Q_EP_LIST, net, sizeof(**out), ep_row,
			(void **)out, n);
}

int drv_state_lease_insert(struct drv_state *st, const struct drv_lease_rec *l)
{
	sqlite3_stmt *s;
	int ret, rc;

	if (!str_ok(l->net, sizeof(l->net), 1) || !str_ok(l->owner, sizeof(l->owner), 0))
		return -EINVAL;
	ret = stmt_get(st, Q_LEASE_INSERT, &s);
	if (ret)
		return ret;
	rc = bind_str(s, 1, l->net, 0);
	if (rc == SQLITE_OK)
		rc = bind_ip(s, 2, l->ip, 0);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 3, l->owner, 0);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 4, l->created);
	rc = step_write(s, rc);
	switch (rc) {
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return -EADDRINUSE;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return -ENOENT; /* no such network */
	default:
		return sql_errno(rc);
	}
}

int drv_state_lease_delete(struct drv_state *st, const char *net, struct in_addr ip)
{
	return delete_by(st, Q_LEASE_DELETE, net, 1, ip);
}

static int lease_row(sqlite3_stmt *s, void *dst)
{
	struct drv_lease_rec *l = dst;
	int ret;

	ret = col_str(s, 0, l->net, sizeof(l->net), 0);
	if (!ret)
		ret = col_ip(s, 1, 0, &l->ip);
	if (!ret)
		ret = col_str(s, 2, l->owner, sizeof(l->owner), 1);
	if (!ret)
		ret = col_int(s, 3, INT64_MIN, INT64_MAX, 1, &l->created);
	return ret;
}

/* Text order would put 10.0.0.10 before 10.0.0.9, so leases are sorted here. */
static int lease_cmp(const void *a, const void *b)
{
	const struct drv_lease_rec *x = a, *y = b;
	uint32_t xi = ntohl(x->ip.s_addr), yi = ntohl(y->ip.s_addr);
	int c = strcmp(x->net, y->net);

	if (c)
		return c;
	return (xi > yi) - (xi < yi);
}

int drv_state_lease_list(struct drv_state *st, const char *net, struct drv_lease_rec **out,
			 size_t *n)
{
	int ret;

	ret = list_run(st, net ? Q_LEASE_LIST_NET : Q_LEASE_LIST, net, sizeof(**out), lease_row,
		       (void **)out, n);
	if (!ret && *n > 1)
		qsort(*out, *n, sizeof(**out), lease_cmp);
	return ret;
}

/* ---- replicated tables ---- */

int drv_state_gossip_put(struct drv_state *st, const struct gt_entry *e)
{
	sqlite3_stmt *s;
	int ret, rc;

	if (e->clock > INT64_MAX)
		return -EOVERFLOW;
	ret = stmt_get(st, Q_GOSSIP_PUT, &s);
	if (ret)
		return ret;
	rc = sqlite3_bind_int(s, 1, e->kind);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 2, e->key, 0);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 3, (sqlite3_int64)e->clock);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 4, e->origin, 0);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 5, e->owner, 0);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(s, 6, !!e->deleted);
	if (rc == SQLITE_OK)
		rc = e->value ? sqlite3_bind_blob(s, 7, e->value, (int)e->value_len, SQLITE_STATIC)
			      : sqlite3_bind_null(s, 7);
	ret = rc == SQLITE_OK ? step_write(s, sqlite3_step(s)) : sql_errno(rc);
	stmt_put(s);
	return ret;
}

int drv_state_gossip_delete(struct drv_state *st, uint8_t kind, const char *key)
{
	sqlite3_stmt *s;
	int ret, rc;

	ret = stmt_get(st, Q_GOSSIP_DELETE, &s);
	if (ret)
		return ret;
	rc = sqlite3_bind_int(s, 1, kind);
	if (rc == SQLITE_OK)
		rc = bind_str(s, 2, key, 0);
	ret = rc == SQLITE_OK ? step_write(s, sqlite3_step(s)) : sql_errno(rc);
	stmt_put(s);
	return ret;
}

int drv_state_gossip_foreach(struct drv_state *st, drv_gossip_row_cb cb, void *arg)
{
	sqlite3_stmt *s;
	int ret, rc;

	ret = stmt_get(st, Q_GOSSIP_LIST, &s);
	if (ret)
		return ret;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct gt_entry e = {0};
		int64_t kind, clock, deleted;
		int vlen = sqlite3_column_bytes(s, 6);

		if ((ret = col_int(s, 0, 1, GT_KIND_MAX - 1, 0, &kind)) ||
		    (ret = col_str(s, 1, e.key, sizeof(e.key), 0)) ||
		    (ret = col_int(s, 2, 0, INT64_MAX, 0, &clock)) ||
		    (ret = col_str(s, 3, e.origin, sizeof(e.origin), 0)) ||
		    (ret = col_str(s, 4, e.owner, sizeof(e.owner), 0)) ||
		    (ret = col_int(s, 5, 0, 1, 0, &deleted)))
			break;
		if (vlen < 0 || vlen > GT_VALUE_MAX) {
			ret = -EIO;
			break;
		}
		e.kind = (uint8_t)kind;
		e.clock = (uint64_t)clock;
		e.deleted = (int)deleted;
		e.value =
			sqlite3_column_type(s, 6) == SQLITE_NULL ? NULL : sqlite3_column_blob(s, 6);
		e.value_len = e.value ? (size_t)vlen : 0;
		cb(arg, &e);
	}
	if (!ret && rc != SQLITE_DONE)
		ret = sql_errno(rc);
	stmt_put(s);
	return ret;
}

static int kv_bind(struct drv_state *st, enum query q, const char *ns, const char *key,
		   sqlite3_stmt **out)
{
	int ret, rc;

	ret = stmt_get(st, q, out);
	if (ret)
		return ret;
	rc = bind_str(*out, 1, ns, 0);
	if (rc == SQLITE_OK && key)
		rc = bind_str(*out, 2, key, 0);
	if (rc != SQLITE_OK) {
		stmt_put(*out);
		return sql_errno(rc);
	}
	return 0;
}

int drv_state_kv_put(struct drv_state *st, const char *ns, const char *key, const char *value)
{
	sqlite3_stmt *s;
	int ret;

	ret = kv_bind(st, Q_KV_PUT, ns, key, &s);
	if (ret)
		return ret;
	return sql_errno(step_write(s, bind_str(s, 3, value, 0)));
}

int drv_state_kv_delete(struct drv_state *st, const char *ns, const char *key)
{
	sqlite3_stmt *s;
	int ret;

	ret = kv_bind(st, Q_KV_DELETE, ns, key, &s);
	if (ret)
		return ret;
	return sql_errno(step_write(s, SQLITE_OK));
}

int drv_state_kv_foreach(struct drv_state *st, const char *ns, drv_kv_row_cb cb, void *arg)
{
	sqlite3_stmt *s;
	int ret, rc;

	ret = kv_bind(st, Q_KV_LIST, ns, NULL, &s);
	if (ret)
		return ret;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(s, 0);
		const char *v = (const char *)sqlite3_column_text(s, 1);

		if (k && v)
			cb(arg, k, v);
	}
	ret = rc == SQLITE_DONE ? 0 : sql_errno(rc);
	stmt_put(s);
	return ret;
}

/* ---- record rules ---- */

int drv_name_ok(const char *s, size_t max)
{
	size_t len = strlen(s);

	if (!len || len > max || !isalnum((unsigned char)s[0]))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return 0;
	return 1;
}

int drv_net_name_ok(const char *s)
{
	return drv_name_ok(s, VX_NET_NAME_MAX - 1);
}

int drv_net_name_check(const char *s, char *why, size_t len)
{
	if (drv_net_name_ok(s))
		return 0;
	snprintf(why, len,
		 "invalid network name \"%.80s\": use 1-%d letters, digits, '_', '.' or '-', "
		 "starting with a letter or digit",
		 s, VX_NET_NAME_MAX - 1);
	return -EINVAL;
}
