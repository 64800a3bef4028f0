// SPDX-License-Identifier: MIT
/*
 * Tests for cli/: argument parsing, help, exit codes, and the API
 * exchange against a fake agent.  The fake is a thread listening on a unix
 * socket in a fresh temporary directory; it reads one HTTP request, keeps
 * it for the test to check and answers with a canned response.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/version.h"
#include "cli/cli.h"
#include "cli/cli_int.h"

#define FAKE_WAIT_MS 5000
#define REQ_MAX	     65536
#define FAKE_REQ_MAX 32
#define FAKE_REP_MAX 8

struct fake_reply {
	const char *status; /* "200 OK"; NULL: close without answering */
	const char *body;
};

/* What the client sent in one request. */
struct fake_req {
	char method[16];
	char target[512];
	char ctype[128];
	long clen; /* -1: no Content-Length */
	char *body;
};

struct fake {
	char dir[32];
	char path[64];
	int lfd, stop[2];
	pthread_t thr;
	struct fake_reply rep[FAKE_REP_MAX]; /* answered in turn; the last one repeats */
	size_t nrep;
	size_t nreq; /* requests answered; the first FAKE_REQ_MAX are kept */
	struct fake_req req[FAKE_REQ_MAX];
};

static int wait_in(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, FAKE_WAIT_MS) == 1 ? 0 : -ETIMEDOUT;
}

static void hdr_get(const char *hdrs, const char *name, char *out, size_t len)
{
	size_t n = strlen(name);

	out[0] = '\0';
	for (const char *l = strstr(hdrs, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n")) {
		if (!strncasecmp(l + 2, name, n) && l[2 + n] == ':') {
			const char *v = l + 3 + n, *e;

			while (*v == ' ')
				v++;
			e = strstr(v, "\r\n");
			snprintf(out, len, "%.*s", (int)(e ? e - v : (long)strlen(v)), v);
			return;
		}
	}
}

/* Reads one request from fd, records it and answers with the next reply. */
static void fake_serve(struct fake *f, int fd, char *buf)
{
	const struct fake_reply *rep = &f->rep[f->nreq < f->nrep ? f->nreq : f->nrep - 1];
	struct fake_req q = {0};
	char *end = NULL, clen[32], *resp = NULL;
	size_t len = 0, want;
	ssize_t n;

	memset(buf, 0, REQ_MAX + 1);
	while (!(end = strstr(buf, "\r\n\r\n")) && len < REQ_MAX) {
		if (wait_in(fd))
			return;
		n = read(fd, buf + len, REQ_MAX - len);
		if (n <= 0)
			return;
		len += (size_t)n;
	}
	if (!end)
		return;
	end[2] = '\0'; /* headers end at the last "\r\n" */
	sscanf(buf, "%15s %511s", q.method, q.target);
	hdr_get(buf, "Content-Type", q.ctype, sizeof(q.ctype));
	hdr_get(buf, "Content-Length", clen, sizeof(clen));
	q.clen = *clen ? strtol(clen, NULL, 10) : -1;
	want = q.clen > 0 ? (size_t)q.clen : 0;
	if (want > REQ_MAX - (size_t)(end + 4 - buf))
		return;
	while (len < (size_t)(end + 4 - buf) + want) {
		if (wait_in(fd))
			return;
		n = read(fd, buf + len, REQ_MAX - len);
		if (n <= 0)
			return;
		len += (size_t)n;
	}
	q.body = strndup(end + 4, want);
	/* recorded before answering: once the client has its answer, the test may look */
	if (f->nreq < FAKE_REQ_MAX)
		f->req[f->nreq] = q;
	else
		free(q.body);
	f->nreq++;
	if (rep->status && asprintf(&resp,
				    "HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
				    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
				    rep->status, strlen(rep->body), rep->body) > 0) {
		if (write(fd, resp, strlen(resp)) < 0)
			fprintf(stderr, "fake agent: write: %m\n");
		free(resp);
	}
}

/* Answers connections one at a time until fake_stop() or FAKE_WAIT_MS idle. */
static void *fake_thread(void *arg)
{
	struct fake *f = arg;
	char *buf = malloc(REQ_MAX + 1);

	while (buf) {
		struct pollfd p[2] = {{.fd = f->lfd, .events = POLLIN},
				      {.fd = f->stop[0], .events = POLLIN}};
		int fd;

		if (poll(p, 2, FAKE_WAIT_MS) <= 0 || p[1].revents || !(p[0].revents & POLLIN))
			break;
		fd = accept(f->lfd, NULL, NULL);
		if (fd < 0)
			break;
		fake_serve(f, fd, buf);
		close(fd);
	}
	free(buf);
	return NULL;
}

/* Starts a fake agent answering the replies in turn, the last one repeatedly. */
static void fake_start_seq(struct fake *f, const struct fake_reply *replies, size_t n)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(f, 0, sizeof(*f));
	cr_assert(n > 0 && n <= FAKE_REP_MAX);
	memcpy(f->rep, replies, n * sizeof(*replies));
	f->nrep = n;
	strcpy(f->dir, "/tmp/vxcli-XXXXXX");
	cr_assert_not_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/s", f->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(f->lfd, 0);
	cr_assert_eq(pipe2(f->stop, O_CLOEXEC), 0);
	cr_assert_eq(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(f->lfd, 4), 0);
	cr_assert_eq(pthread_create(&f->thr, NULL, fake_thread, f), 0);
}

static void fake_start(struct fake *f, const char *status, const char *body)
{
	const struct fake_reply one = {status, body};

	fake_start_seq(f, &one, 1);
}

/* The client is synchronous: when it returns, every request it made has been
 * answered, so stopping now loses nothing. */
static void fake_stop(struct fake *f)
{
	cr_assert_eq(write(f->stop[1], "x", 1), 1);
	pthread_join(f->thr, NULL);
	close(f->stop[0]);
	close(f->stop[1]);
	close(f->lfd);
	unlink(f->path);
	rmdir(f->dir);
}

static void fake_free(struct fake *f)
{
	for (size_t i = 0; i < f->nreq && i < FAKE_REQ_MAX; i++) {
		free(f->req[i].body);
		f->req[i].body = NULL;
	}
}

struct run {
	int rc;
	char *out, *err;
};

static struct run run_args(int argc, char **argv)
{
	struct run r = {0};
	size_t ol, el;
	FILE *out = open_memstream(&r.out, &ol), *err = open_memstream(&r.err, &el);

	cr_assert(out && err);
	r.rc = cli_run(argc, argv, out, err);
	fclose(out);
	fclose(err);
	return r;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

#define ARGV(...) ((char *[]){"vxmesh", __VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof(ARGV(__VA_ARGS__)) / sizeof(char *)) - 1)
#define RUN(...)  run_args(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__))

/* Runs one command against a fake answering status/body. */
#define RUN_FAKE(f, status, body, ...)                                                             \
	({                                                                                         \
		fake_start(f, status, body);                                                       \
		struct run r_ = RUN("--socket", (f)->path, __VA_ARGS__);                           \
		fake_stop(f);                                                                      \
		r_;                                                                                \
	})

/* ---- help ---------------------------------------------------------------- */

Test(cli_help, global_lists_every_command)
{
	static const char *want[] = {
		"net create",  "net ls",
		"net inspect", "net rm",
		"ep attach",   "ep detach",
		"ep ls",       "fdb",
		"status",      "reconcile",
		"version",     "agent          run the per-host agent (see vxmesh agent --help)",
		"help",	       "--socket PATH",
		"--json",      "  members        list the members of the cluster\n",
		"  join ",     "  leave ",
		"  token ",    "  key generate ",
		"  key list ", "  key install ",
		"  key use ",  "  key remove ",
	};
	struct run r = RUN("--help");

	cr_assert_eq(r.rc, CLI_EXIT_OK);
	cr_assert_str_empty(r.err);
	cr_assert(!strncmp(r.out, "Usage: vxmesh [--socket PATH] [--json] COMMAND", 46), "%s",
		  r.out);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert_not_null(strstr(r.out, want[i]), "missing %s", want[i]);

	/* `help`, `-h` and no-argument `help` print the same text */
	struct run h = RUN("help"), s = RUN("-h");
	cr_assert_eq(h.rc, 0);
	cr_assert_str_eq(h.out, r.out);
	cr_assert_str_eq(s.out, r.out);
	run_free(&r);
	run_free(&h);
	run_free(&s);
}

Test(cli_help, group_lists_its_subcommands_only)
{
	struct run r = RUN("net", "--help"), h = RUN("help", "net");

	cr_assert_eq(r.rc, CLI_EXIT_OK);
	cr_assert(!strncmp(r.out, "Usage: vxmesh net create NAME [--subnet CIDR]", 45), "%s",
		  r.out);
	cr_assert_not_null(strstr(r.out, "       vxmesh net ls\n"));
	cr_assert_not_null(strstr(r.out, "  net rm        delete a network\n"));
	cr_assert_null(strstr(r.out, "ep attach"));
	cr_assert_str_eq(h.out, r.out);
	run_free(&r);
	run_free(&h);
}

Test(cli_help, command_shows_usage_and_options)
{
	struct run r = RUN("net", "create", "--help"), h = RUN("help", "net", "create");
	struct run e = RUN("ep", "ls", "--net", "x", "--help"), a = RUN("help", "agent");

	cr_assert_eq(r.rc, CLI_EXIT_OK);
	cr_assert(!strncmp(r.out,
			   "Usage: vxmesh net create NAME [--subnet CIDR] [--vni N] [--mtu N] "
			   "[--gateway IP] [--port N] [--encrypted]\n\n",
			   103),
		  "%s", r.out);
	cr_assert_not_null(strstr(r.out, "  --subnet CIDR"));
	cr_assert_not_null(strstr(r.out, "  --port N"));
	cr_assert_str_eq(h.out, r.out);
	cr_assert_eq(e.rc, CLI_EXIT_OK);
	cr_assert(!strncmp(e.out, "Usage: vxmesh ep ls [--net NET]\n", 32), "%s", e.out);
	cr_assert_eq(a.rc, CLI_EXIT_OK);
	cr_assert_not_null(strstr(a.out, "vxmesh agent --help"));
	run_free(&r);
	run_free(&h);
	run_free(&e);
	run_free(&a);
}

/* ---- usage errors -------------------------------------------------------- */

struct usage_case {
	const char *args[10];
	const char *msg;   /* after "vxmesh: " */
	const char *usage; /* the line that must follow */
};

#define U_CREATE                                                                                   \
	"Usage: vxmesh net create NAME [--subnet CIDR] [--vni N] [--mtu N] [--gateway IP] "        \
	"[--port N] [--encrypted]\n"
#define U_GLOBAL "Usage: vxmesh [--socket PATH] [--json] COMMAND [ARGS...]\n"
#define U_JOIN	 "Usage: vxmesh join ADDR[:PORT]... [--wait SECONDS]\n"

static const struct usage_case usage_cases[] = {
	{{NULL}, "missing command", U_GLOBAL},
	{{"frob"}, "unknown command 'frob'", U_GLOBAL},
	{{"--vni", "5", "net", "ls"}, "unknown option '--vni'", U_GLOBAL},
	{{"-x"}, "unknown option '-x'", U_GLOBAL},
	{{"net"}, "missing net command", "Usage: vxmesh net create NAME"},
	{{"net", "frob"}, "unknown net command 'frob'", "       vxmesh net rm NAME\n"},
	{{"ep"}, "missing ep command", "Usage: vxmesh ep attach NET"},
	{{"net", "create"}, "missing NAME", U_CREATE},
	{{"net", "create", "blue", "--subnet"}, "option --subnet needs a value", U_CREATE},
	{{"net", "create", "blue", "--subnet", ""},
	 "option --subnet needs a non-empty value",
	 U_CREATE},
	{{"net", "create", "b", "--subnet", "x", "extra"}, "unexpected argument 'extra'", U_CREATE},
	{{"net", "create", "b", "--subnet", "x", "--vni", "abc"},
	 "invalid number for --vni: 'abc' (expected 1-16777215)",
	 U_CREATE},
	{{"net", "create", "b", "--subnet", "x", "--vni", "-1"},
	 "invalid number for --vni: '-1' (expected 1-16777215)",
	 U_CREATE},
	{{"net", "create", "b", "--subnet", "x", "--vni=16777216"},
	 "invalid number for --vni: '16777216' (expected 1-16777215)",
	 U_CREATE},
	{{"net", "create", "b", "--subnet", "x", "--vni", "0x10"},
	 "invalid number for --vni: '0x10' (expected 1-16777215)",
	 U_CREATE},
	{{"net", "create", "b", "--subnet", "x", "--vni", " 5"},
	 "invalid number for --vni: ' 5' (expected 1-16777215)",
	 U_CREATE},
	{{"net", "create", "b", "--subnet", "x", "--vni", "5x"},
	 "invalid number for --vni: '5x' (expected 1-16777215)",
	 U_CREATE},
	{{"net", "create", "b", "--subnet", "x", "--mtu", "0"},
	 "invalid number for --mtu: '0' (expected 1-65535)",
	 U_CREATE},
	{{"net", "create", "b", "--subnet", "x", "--mtu", "65536"},
	 "invalid number for --mtu: '65536' (expected 1-65535)",
	 U_CREATE},
	{{"net", "create", "b", "--subnet", "x", "--port", "99999999999999999999"},
	 "invalid number for --port: '99999999999999999999' (expected 1-65535)",
	 U_CREATE},
	{{"net", "create", "b", "--subnet", "x", "--vni", "1", "--vni", "2"},
	 "option --vni given more than once",
	 U_CREATE},
	{{"net", "create", "b", "--subnet", "x", "--netns", "c1"},
	 "unknown option '--netns'",
	 U_CREATE},
	{{"net", "ls", "--bogus"}, "unknown option '--bogus'", "Usage: vxmesh net ls\n"},
	{{"net", "ls", "-x"}, "unknown option '-x'", "Usage: vxmesh net ls\n"},
	{{"net", "inspect"}, "missing NAME", "Usage: vxmesh net inspect NAME\n"},
	{{"net", "inspect", ""}, "NAME must not be empty", "Usage: vxmesh net inspect NAME\n"},
	{{"net", "rm", "a", "b"}, "unexpected argument 'b'", "Usage: vxmesh net rm NAME\n"},
	{{"ep", "attach", "blue"},
	 "missing --netns",
	 "Usage: vxmesh ep attach NET --netns NS [--ip IP] [--mac MAC] [--name IFNAME]\n"},
	{{"ep", "attach", "--netns", "c1"}, "missing NET", "Usage: vxmesh ep attach NET"},
	{{"ep", "detach"}, "missing ID", "Usage: vxmesh ep detach ID\n"},
	{{"ep", "ls", "--net"}, "option --net needs a value", "Usage: vxmesh ep ls [--net NET]\n"},
	{{"ep", "ls", "blue"}, "unexpected argument 'blue'", "Usage: vxmesh ep ls [--net NET]\n"},
	{{"fdb", "a", "b"}, "unexpected argument 'b'", "Usage: vxmesh fdb [NET]\n"},
	{{"status", "now"}, "unexpected argument 'now'", "Usage: vxmesh status\n"},
	{{"reconcile", "--json=yes"}, "option --json takes no value", "Usage: vxmesh reconcile\n"},
	{{"version", "--socket"}, "option --socket needs a path", "Usage: vxmesh version\n"},
	{{"help", "nope"}, "no help for unknown command 'nope'", U_GLOBAL},
	{{"help", "status", "x"}, "no help for unknown command 'status x'", U_GLOBAL},
	{{"agent"}, "'agent' must be the first argument", "Usage: vxmesh agent [OPTIONS]\n"},
	{{"members", "x"}, "unexpected argument 'x'", "Usage: vxmesh members\n"},
	{{"join"}, "missing ADDR", U_JOIN},
	{{"join", ""}, "ADDR must not be empty", U_JOIN},
	{{"join", "192.0.2.1", ""}, "ADDR must not be empty", U_JOIN},
	{{"join", "192.0.2.1,,192.0.2.2"}, "ADDR must not be empty", U_JOIN},
	{{"join", "192.0.2.1,"}, "ADDR must not be empty", U_JOIN},
	{{"join", ",192.0.2.1"}, "ADDR must not be empty", U_JOIN},
	{{"join", "192.0.2.1", "--wait", "3601"},
	 "invalid number for --wait: '3601' (expected 0-3600)",
	 U_JOIN},
	{{"join", "192.0.2.1", "--wait", "-1"},
	 "invalid number for --wait: '-1' (expected 0-3600)",
	 U_JOIN},
	{{"join", "192.0.2.1", "--wait"}, "option --wait needs a value", U_JOIN},
	{{"leave", "now"}, "unexpected argument 'now'", "Usage: vxmesh leave\n"},
	{{"token", "x"}, "unexpected argument 'x'", "Usage: vxmesh token\n"},
	{{"key"}, "missing key command", "Usage: vxmesh key generate\n"},
	{{"key", "frob"}, "unknown key command", "       vxmesh key remove KEY\n"},
	{{"key", "install"}, "missing KEY", "Usage: vxmesh key install KEY\n"},
	{{"key", "use"}, "missing KEY", "Usage: vxmesh key use KEY\n"},
	{{"key", "remove"}, "missing KEY", "Usage: vxmesh key remove KEY\n"},
	{{"key", "remove", ""}, "KEY must not be empty", "Usage: vxmesh key remove KEY\n"},
	{{"key", "install", "a", "b"}, "too many arguments", "Usage: vxmesh key install KEY\n"},
	{{"key", "generate", "x"}, "too many arguments", "Usage: vxmesh key generate\n"},
	{{"key", "list", "x"}, "too many arguments", "Usage: vxmesh key list\n"},
	{{"key", "list", "--wait", "1"}, "unknown option '--wait'", "Usage: vxmesh key list\n"},
};

Test(cli_usage, errors_exit_2_with_problem_and_usage)
{
	for (size_t i = 0; i < sizeof(usage_cases) / sizeof(usage_cases[0]); i++) {
		const struct usage_case *uc = &usage_cases[i];
		char *argv[16] = {"vxmesh", "--socket", "/nonexistent/vxmesh-test.sock"};
		char want[256];
		int argc = 3;
		struct run r;

		for (int k = 0; uc->args[k]; k++)
			argv[argc++] = (char *)uc->args[k];
		r = run_args(argc, argv);
		snprintf(want, sizeof(want), "vxmesh: %s\n", uc->msg);
		cr_expect_eq(r.rc, CLI_EXIT_USAGE, "case %zu (%s): rc %d", i, uc->msg, r.rc);
		cr_expect(!strncmp(r.err, want, strlen(want)), "case %zu: stderr %s", i, r.err);
		cr_expect_not_null(strstr(r.err + strlen(want) - 1, uc->usage),
				   "case %zu: no usage '%s' in %s", i, uc->usage, r.err);
		cr_expect_str_empty(r.out, "case %zu", i);
		run_free(&r);
	}
}

Test(cli_usage, number_parser)
{
	static const struct {
		const char *s;
		unsigned long min, max;
		int ret;
		unsigned long val;
	} cases[] = {
		{"0", 0, 10, 0, 0},
		{"10", 0, 10, 0, 10},
		{"11", 0, 10, -EINVAL, 0},
		{"0", 1, 10, -EINVAL, 0},
		{"007", 0, 10, 0, 7},
		{"", 0, 10, -EINVAL, 0},
		{"+1", 0, 10, -EINVAL, 0},
		{"-0", 0, 10, -EINVAL, 0},
		{"1 ", 0, 10, -EINVAL, 0},
		{"4294967296", 0, 16777215, -EINVAL, 0},
		{"16777215", 0, 16777215, 0, 16777215},
		{"99999999999999999999999", 0, ~0UL, -EINVAL, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned long v = 12345;
		int ret = cli_num_parse(cases[i].s, cases[i].min, cases[i].max, &v);

		cr_expect_eq(ret, cases[i].ret, "'%s': %d", cases[i].s, ret);
		cr_expect_eq(v, ret ? 12345 : cases[i].val, "'%s': %lu", cases[i].s, v);
	}
}

/* ---- reaching the agent -------------------------------------------------- */

Test(cli_socket, missing_socket_exits_3)
{
	struct run r = RUN("net", "ls", "--socket", "/nonexistent/vxmesh-test.sock");

	cr_assert_eq(r.rc, CLI_EXIT_UNREACHABLE);
	cr_assert_str_eq(r.err, "vxmesh: cannot reach the agent at /nonexistent/vxmesh-test.sock: "
				"No such file or directory (is 'vxmesh agent' running?)\n");
	cr_assert_str_empty(r.out);
	run_free(&r);
}

Test(cli_socket, refused_connection_exits_3)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[] = "/tmp/vxcli-XXXXXX", want[256];
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct run r;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s", dir);
	/* bound but not listening: connect() gets ECONNREFUSED */
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	r = RUN("--socket", sa.sun_path, "status");
	close(fd);
	unlink(sa.sun_path);
	rmdir(dir);
	snprintf(want, sizeof(want),
		 "vxmesh: cannot reach the agent at %s: Connection refused "
		 "(is 'vxmesh agent' running?)\n",
		 sa.sun_path);
	cr_assert_eq(r.rc, CLI_EXIT_UNREACHABLE);
	cr_assert_str_eq(r.err, want);
	run_free(&r);
}

Test(cli_socket, env_is_used_and_flag_wins)
{
	struct fake f;
	struct run r;

	fake_start(&f, "200 OK", "{\"networks\": []}");
	setenv("VXMESH_SOCKET", f.path, 1);
	r = RUN("net", "ls");
	fake_stop(&f);
	cr_assert_eq(r.rc, CLI_EXIT_OK, "%s", r.err);
	cr_assert(f.nreq);
	run_free(&r);
	fake_free(&f);

	/* --socket anywhere, here after the command, beats the environment */
	setenv("VXMESH_SOCKET", "/nonexistent/vxmesh-test.sock", 1);
	fake_start(&f, "200 OK", "{\"networks\": []}");
	r = RUN("net", "ls", "--socket", f.path);
	fake_stop(&f);
	cr_assert_eq(r.rc, CLI_EXIT_OK, "%s", r.err);
	cr_assert(f.nreq);
	run_free(&r);
	fake_free(&f);
}

Test(cli_socket, connection_closed_without_answer_exits_3)
{
	struct fake f;
	struct run r = RUN_FAKE(&f, NULL, NULL, "status");

	cr_assert_eq(r.rc, CLI_EXIT_UNREACHABLE);
	cr_assert(!strncmp(r.err, "vxmesh: request to the agent at ", 32), "%s", r.err);
	cr_assert_str_empty(r.out);
	run_free(&r);
	fake_free(&f);
}

/* ---- requests ------------------------------------------------------------ */

static const char net_blue[] =
	"{\"name\": \"blue\", \"vni\": 100, \"subnet\": \"10.10.0.0/24\", \"gateway\": null,"
	" \"mtu\": 1450, \"mtu_auto\": true, \"port\": 4789, \"encrypted\": false,"
	" \"bridge\": \"vxmb100\", \"vxlan_dev\": \"vxmv100\", \"tap_dev\": null, \"created\": "
	"\"2026-11-25T17:00:00Z\", \"endpoints\": 2}";

Test(cli_net, create_sends_typed_body)
{
	struct fake f;
	struct run r = RUN_FAKE(&f, "201 Created", net_blue, "net", "create", "blue", "--subnet",
				"10.10.0.0/24", "--vni", "100", "--mtu=1400", "--gateway",
				"10.10.0.1", "--port", "4790");
	json_error_t jerr;
	json_t *b;

	cr_assert_eq(r.rc, CLI_EXIT_OK, "%s", r.err);
	cr_assert(f.nreq);
	cr_assert_str_eq(f.req[0].method, "POST");
	cr_assert_str_eq(f.req[0].target, "/v1/networks");
	cr_assert_str_eq(f.req[0].ctype, "application/json");
	b = json_loads(f.req[0].body, 0, &jerr);
	cr_assert_not_null(b, "%s", f.req[0].body);
	cr_assert_eq(json_object_size(b), 6);
	cr_assert_str_eq(json_string_value(json_object_get(b, "name")), "blue");
	cr_assert_str_eq(json_string_value(json_object_get(b, "subnet")), "10.10.0.0/24");
	cr_assert_str_eq(json_string_value(json_object_get(b, "gateway")), "10.10.0.1");
	cr_assert(json_is_integer(json_object_get(b, "vni")));
	cr_assert_eq(json_integer_value(json_object_get(b, "vni")), 100);
	cr_assert(json_is_integer(json_object_get(b, "mtu")));
	cr_assert_eq(json_integer_value(json_object_get(b, "mtu")), 1400);
	cr_assert(json_is_integer(json_object_get(b, "port")));
	cr_assert_eq(json_integer_value(json_object_get(b, "port")), 4790);
	cr_assert_str_eq(r.out, "name:      blue\n"
				"vni:       100\n"
				"subnet:    10.10.0.0/24\n"
				"gateway:   -\n"
				"mtu:       1450\n"
				"mtu_auto:  true\n"
				"port:      4789\n"
				"encrypted: false\n"
				"bridge:    vxmb100\n"
				"vxlan_dev: vxmv100\n"
				"tap_dev:   -\n"
				"created:   2026-11-25T17:00:00Z\n"
				"endpoints: 2\n");
	cr_assert_str_empty(r.err);
	json_decref(b);
	run_free(&r);
	fake_free(&f);
}

Test(cli_net, create_minimal_body)
{
	struct fake f;
	struct run r = RUN_FAKE(&f, "201 Created", net_blue, "net", "create", "blue", "--subnet",
				"10.10.0.0/24");

	cr_assert_eq(r.rc, CLI_EXIT_OK, "%s", r.err);
	cr_assert_str_eq(f.req[0].body, "{\"name\":\"blue\",\"subnet\":\"10.10.0.0/24\"}");
	run_free(&r);
	fake_free(&f);
}

Test(cli_net, api_error_message_exits_1)
{
	struct fake f;
	struct run r = RUN_FAKE(&f, "409 Conflict",
				"{\"error\": {\"code\": \"conflict\", "
				"\"message\": \"network \\\"blue\\\" already exists\"}}",
				"net", "create", "blue", "--subnet", "10.10.0.0/24");

	cr_assert_eq(r.rc, CLI_EXIT_API);
	cr_assert_str_eq(r.err, "vxmesh: network \"blue\" already exists\n");
	cr_assert_str_empty(r.out);
	run_free(&r);
	fake_free(&f);
}

Test(cli_net, api_error_without_message_exits_1)
{
	static const char *bodies[] = {"oops", "{}", "{\"error\": \"x\"}",
				       "{\"error\": {\"message\": 5}}",
				       "{\"error\": {\"message\": \"\"}}"};

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct fake f;
		struct run r = RUN_FAKE(&f, "500 Internal Server Error", bodies[i], "net", "ls");

		cr_expect_eq(r.rc, CLI_EXIT_API, "%s", bodies[i]);
		cr_expect_str_eq(r.err, "vxmesh: the agent answered HTTP 500 without an error "
					"message\n");
		cr_expect_str_empty(r.out);
		run_free(&r);
		fake_free(&f);
	}
}

Test(cli_net, ls_table_is_aligned)
{
	struct fake f;
	struct run r =
		RUN_FAKE(&f, "200 OK",
			 "{\"networks\": [{\"name\": \"blue\", \"vni\": 100, \"subnet\": "
			 "\"10.10.0.0/24\", \"gateway\": null, \"mtu\": 1450, \"port\": 4789, "
			 "\"encrypted\": false, \"endpoints\": 2, \"extra\": [1]},"
			 "{\"name\": \"green-long\", \"vni\": 7, \"subnet\": \"172.16.0.0/16\", "
			 "\"gateway\": \"172.16.0.1\", \"mtu\": 9000, \"port\": 4790, "
			 "\"encrypted\": true, \"endpoints\": 0}]}",
			 "net", "ls");

	cr_assert_eq(r.rc, CLI_EXIT_OK, "%s", r.err);
	cr_assert_str_eq(f.req[0].method, "GET");
	cr_assert_str_eq(f.req[0].target, "/v1/networks");
	cr_assert_str_eq(
		r.out,
		"NAME        VNI  SUBNET         GATEWAY     MTU   PORT  ENCRYPTED  ENDPOINTS\n"
		"blue        100  10.10.0.0/24   -           1450  4789  false      2\n"
		"green-long  7    172.16.0.0/16  172.16.0.1  9000  4790  true       0\n");
	run_free(&r);
	fake_free(&f);
}

Test(cli_net, empty_list_prints_header_only)
{
	struct fake f;
	struct run r = RUN_FAKE(&f, "200 OK", "{\"networks\": []}", "net", "ls");

	cr_assert_eq(r.rc, CLI_EXIT_OK);
	cr_assert_str_eq(r.out, "NAME  VNI  SUBNET  GATEWAY  MTU  PORT  ENCRYPTED  ENDPOINTS\n");
	run_free(&r);
	fake_free(&f);
}

Test(cli_net, json_passes_the_reply_through)
{
	struct fake f;
	struct run r = RUN_FAKE(&f, "200 OK",
				"{\"networks\":[{\"zeta\":1,\"name\":\"blue\",\"gateway\":null,"
				"\"alpha\":{\"b\":true,\"a\":[]}}],\"more\":\"x\"}",
				"--json", "net", "ls");

	cr_assert_eq(r.rc, CLI_EXIT_OK, "%s", r.err);
	cr_assert_str_eq(r.out, "{\n"
				"  \"networks\": [\n"
				"    {\n"
				"      \"zeta\": 1,\n"
				"      \"name\": \"blue\",\n"
				"      \"gateway\": null,\n"
				"      \"alpha\": {\n"
				"        \"b\": true,\n"
				"        \"a\": []\n"
				"      }\n"
				"    }\n"
				"  ],\n"
				"  \"more\": \"x\"\n"
				"}\n");
	run_free(&r);
	fake_free(&f);
}

Test(cli_net, malformed_replies_exit_1_without_output)
{
	static const struct {
		const char *body;
		const char *why;
	} cases[] = {
		{"not json", "invalid JSON"},
		{"[]", "the reply is not a JSON object"},
		{"{\"networks\": {}}", "\"networks\" is not a list"},
		{"{}", "\"networks\" is not a list"},
		{"{\"networks\": [1]}", "\"networks\"[0] is not an object"},
		{"{\"networks\": [{\"name\": \"a\"}, {\"name\": 5}]}", "\"name\" is not a string"},
		{"{\"networks\": [{\"vni\": \"100\"}]}", "\"vni\" is not an integer"},
		{"{\"networks\": [{\"vni\": 1.5}]}", "\"vni\" is not an integer"},
		{"{\"networks\": [], \"networks\": []}", "invalid JSON"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake f;
		struct run r = RUN_FAKE(&f, "200 OK", cases[i].body, "net", "ls");
		const char *lead = "vxmesh: malformed reply from the agent: ";

		cr_expect_eq(r.rc, CLI_EXIT_API, "%s", cases[i].body);
		cr_expect(!strncmp(r.err, lead, strlen(lead)), "%s", r.err);
		cr_expect_not_null(strstr(r.err, cases[i].why), "%s: %s", cases[i].body, r.err);
		cr_expect_str_empty(r.out, "%s", cases[i].body);
		run_free(&r);
		fake_free(&f);
	}
}

Test(cli_net, json_refuses_malformed_reply_too)
{
	struct fake f;
	struct run r = RUN_FAKE(&f, "200 OK", "{\"networks\": [", "net", "ls", "--json");

	cr_assert_eq(r.rc, CLI_EXIT_API);
	cr_assert_str_empty(r.out);
	run_free(&r);
	fake_free(&f);
}

Test(cli_net, inspect_prints_network_ipam_and_endpoints)
{
	struct fake f;
	struct run r =
		RUN_FAKE(&f, "200 OK",
			 "{\"name\": \"a b/c\", \"vni\": 5, \"subnet\": \"10.1.0.0/24\", "
			 "\"gateway\": \"10.1.0.1\", \"mtu\": 1450, \"mtu_auto\": false, "
			 "\"port\": 4789, \"encrypted\": false, \"bridge\": \"vxmb5\", "
			 "\"vxlan_dev\": \"vxmv5\", \"tap_dev\": null, "
			 "\"created\": \"2026-11-25T17:00:00Z\", \"endpoints\": 1, "
			 "\"ipam\": {\"capacity\": 253, \"leased\": 1, \"free\": 252}, "
			 "\"endpoint_list\": [{\"id\": \"3f9a0c12ab34\", \"network\": \"a b/c\", "
			 "\"netns\": \"/run/netns/c1\", \"ifname\": \"vx-a\", "
			 "\"ip\": \"10.1.0.2/24\", \"mac\": \"02:7e:11:22:33:44\", "
			 "\"status\": \"ok\"}]}",
			 "net", "inspect", "a b/c");

	cr_assert_eq(r.rc, CLI_EXIT_OK, "%s", r.err);
	cr_assert_str_eq(f.req[0].method, "GET");
	cr_assert_str_eq(f.req[0].target, "/v1/networks/a%20b%2Fc");
	cr_assert_str_eq(
		r.out,
		"name:          a b/c\n"
		"vni:           5\n"
		"subnet:        10.1.0.0/24\n"
		"gateway:       10.1.0.1\n"
		"mtu:           1450\n"
		"mtu_auto:      false\n"
		"port:          4789\n"
		"encrypted:     false\n"
		"bridge:        vxmb5\n"
		"vxlan_dev:     vxmv5\n"
		"tap_dev:       -\n"
		"created:       2026-11-25T17:00:00Z\n"
		"endpoints:     1\n"
		"ipam.capacity: 253\n"
		"ipam.leased:   1\n"
		"ipam.free:     252\n"
		"\n"
		"ID            NETNS          IFNAME  IP           MAC                STATUS\n"
		"3f9a0c12ab34  /run/netns/c1  vx-a    10.1.0.2/24  02:7e:11:22:33:44  ok\n");
	run_free(&r);
	fake_free(&f);
}

Test(cli_net, inspect_rejects_bad_ipam)
{
	struct fake f;
	struct run r =
		RUN_FAKE(&f, "200 OK", "{\"name\": \"x\", \"ipam\": [1]}", "net", "inspect", "x");

	cr_assert_eq(r.rc, CLI_EXIT_API);
	cr_assert_not_null(strstr(r.err, "\"ipam\" is not an object"), "%s", r.err);
	cr_assert_str_empty(r.out);
	run_free(&r);
	fake_free(&f);
}

Test(cli_net, rm_deletes_escaped_name)
{
	struct fake f;
	struct run r = RUN_FAKE(&f, "200 OK", "{\"deleted\": \"b&c\"}", "net", "rm", "b&c");

	cr_assert_eq(r.rc, CLI_EXIT_OK, "%s", r.err);
	cr_assert_str_eq(f.req[0].method, "DELETE");
	cr_assert_str_eq(f.req[0].target, "/v1/networks/b%26c");
	cr_assert_str_eq(r.out, "deleted network b&c\n");
	run_free(&r);
	fake_free(&f);
}

Test(cli_net, strings_are_made_safe_for_terminals)
{
	struct fake f;
	struct run r =
		RUN_FAKE(&f, "200 OK", "{\"deleted\": \"a\\u001b[31mb\\n\"}", "net", "rm", "a");

	cr_assert_eq(r.rc, CLI_EXIT_OK);
	cr_assert_str_eq(r.out, "deleted network a?[31mb?\n");
	run_free(&r);
	fake_free(&f);
}

/* ---- endpoints, fdb, status ---------------------------------------------- */

static const char ep_obj[] =
	"{\"id\": \"3f9a0c12ab34\", \"network\": \"blue\", \"netns\": \"/run/netns/c1\", "
	"\"ifname\": \"eth9\", \"host_ifname\": \"vxm3f9a0c12ab34\", \"ip\": \"10.10.0.5/24\", "
	"\"mac\": \"02:00:00:00:00:05\", \"status\": \"ok\", \"created\": "
	"\"2026-11-25T17:00:00Z\"}";

Test(cli_ep, attach_sends_body_and_prints_endpoint)
{
	struct fake f;
	struct run r =
		RUN_FAKE(&f, "201 Created", ep_obj, "ep", "attach", "blue", "--netns", "c1", "--ip",
			 "10.10.0.5", "--mac", "02:00:00:00:00:05", "--name", "eth9");
	json_t *b;

	cr_assert_eq(r.rc, CLI_EXIT_OK, "%s", r.err);
	cr_assert_str_eq(f.req[0].method, "POST");
	cr_assert_str_eq(f.req[0].target, "/v1/endpoints");
	cr_assert_str_eq(f.req[0].ctype, "application/json");
	b = json_loads(f.req[0].body, 0, NULL);
	cr_assert_not_null(b);
	cr_assert_eq(json_object_size(b), 5);
	cr_assert_str_eq(json_string_value(json_object_get(b, "network")), "blue");
	cr_assert_str_eq(json_string_value(json_object_get(b, "netns")), "c1");
	cr_assert_str_eq(json_string_value(json_object_get(b, "ip")), "10.10.0.5");
	cr_assert_str_eq(json_string_value(json_object_get(b, "mac")), "02:00:00:00:00:05");
	cr_assert_str_eq(json_string_value(json_object_get(b, "ifname")), "eth9");
	cr_assert_str_eq(r.out, "id:          3f9a0c12ab34\n"
				"network:     blue\n"
				"netns:       /run/netns/c1\n"
				"ifname:      eth9\n"
				"host_ifname: vxm3f9a0c12ab34\n"
				"ip:          10.10.0.5/24\n"
				"mac:         02:00:00:00:00:05\n"
				"status:      ok\n"
				"created:     2026-11-25T17:00:00Z\n");
	json_decref(b);
	run_free(&r);
	fake_free(&f);
}

Test(cli_ep, detach_and_filters)
{
	static const struct {
		const char *args[5];
		const char *method, *target, *body;
	} cases[] = {
		{{"ep", "detach", "3f9a"},
		 "DELETE",
		 "/v1/endpoints/3f9a",
		 "{\"deleted\": \"3f9a\"}"},
		{{"ep", "ls"}, "GET", "/v1/endpoints", "{\"endpoints\": []}"},
		{{"ep", "ls", "--net", "x&y z"},
		 "GET",
		 "/v1/endpoints?network=x%26y%20z",
		 "{\"endpoints\": []}"},
		{{"fdb"}, "GET", "/v1/fdb", "{\"entries\": []}"},
		{{"fdb", "blue"}, "GET", "/v1/fdb?network=blue", "{\"entries\": []}"},
		{{"status"}, "GET", "/v1/status", "{}"},
		{{"reconcile"}, "POST", "/v1/reconcile", "{}"},
		{{"version"}, "GET", "/v1/version", "{\"version\": \"1\"}"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[8] = {"vxmesh", "--socket", NULL};
		int argc = 3;
		struct fake f;
		struct run r;

		fake_start(&f, "200 OK", cases[i].body);
		argv[2] = f.path;
		for (int k = 0; cases[i].args[k]; k++)
			argv[argc++] = (char *)cases[i].args[k];
		r = run_args(argc, argv);
		fake_stop(&f);
		cr_expect_eq(r.rc, CLI_EXIT_OK, "%s: %s", cases[i].target, r.err);
		cr_expect_str_eq(f.req[0].method, cases[i].method);
		cr_expect_str_eq(f.req[0].target, cases[i].target);
		run_free(&r);
		fake_free(&f);
	}
}

Test(cli_ep, ls_table)
{
	struct fake f;
	struct run r = RUN_FAKE(&f, "200 OK",
				"{\"endpoints\": [{\"id\": \"aa\", \"network\": \"blue\", "
				"\"netns\": \"/run/netns/c1\", \"ifname\": \"vx-blue\", \"ip\": "
				"\"10.10.0.2/24\", \"mac\": \"02:7e:11:22:33:44\", \"status\": "
				"\"netns-missing\"}]}",
				"ep", "ls");

	cr_assert_eq(r.rc, CLI_EXIT_OK, "%s", r.err);
	cr_assert_str_eq(r.out,
			 "ID  NETWORK  NETNS          IFNAME   IP            MAC            "
			 "    STATUS\n"
			 "aa  blue     /run/netns/c1  vx-blue  10.10.0.2/24  02:7e:11:22:33:44  "
			 "netns-missing\n");
	run_free(&r);
	fake_free(&f);
}

Test(cli_fdb, table_with_null_ip)
{
	struct fake f;
	struct run r =
		RUN_FAKE(&f, "200 OK",
			 "{\"entries\": [{\"network\": \"blue\", \"vni\": 100, \"dev\": "
			 "\"vxmv100\", \"mac\": \"02:00:00:00:00:09\", \"ip\": null, \"dst\": "
			 "\"192.0.2.2\", \"port\": 4789, \"permanent\": true, \"why\": "
			 "\"stale (will be removed)\"}]}",
			 "fdb");

	cr_assert_eq(r.rc, CLI_EXIT_OK, "%s", r.err);
	cr_assert_str_eq(r.out,
			 "NETWORK  DEV      MAC                IP  DST        PORT  SESSION  WHY\n"
			 "blue     vxmv100  02:00:00:00:00:09  -   192.0.2.2  4789  -        "
			 "stale (will be removed)\n");
	run_free(&r);
	fake_free(&f);
}

Test(cli_status, key_value_lines)
{
	struct fake f;
	struct run r =
		RUN_FAKE(&f, "200 OK",
			 "{\"version\": \"0.1\", \"node\": {\"id\": \"ab\", \"name\": \"h1\"}, "
			 "\"uptime_s\": 12, \"state_dir\": \"/var/lib/vxmesh\", \"socket\": "
			 "\"/run/vxmesh/vxmesh.sock\", \"vtep\": \"192.0.2.1\", \"vxlan_port\": "
			 "4789, \"networks\": 2, \"endpoints\": 3, \"reconcile\": "
			 "{\"interval_ms\": 2000, \"runs\": 10, \"created\": 6, \"removed\": 0, "
			 "\"repaired\": 1, \"errors\": 0, \"last_error\": null}, "
			 "\"cluster\": {\"node_name\": \"h1-ab\", \"advertise\": "
			 "\"192.0.2.1:7946\", \"vtep_advertise\": \"192.0.2.1:4789\", "
			 "\"encrypted\": true, \"members_alive\": 3, \"members_suspect\": 1, "
			 "\"members_dead\": 0, \"remote_endpoints\": 4, \"table_clock\": 17}, "
			 "\"admission\": {\"enabled\": true, \"sources\": 3, \"extra\": 1, "
			 "\"dropped\": [{\"source\": \"192.0.2.9\", \"packets\": 20}]}}",
			 "status");

	cr_assert_eq(r.rc, CLI_EXIT_OK, "%s", r.err);
	cr_assert_str_eq(r.out, "version:                  0.1\n"
				"node.id:                  ab\n"
				"node.name:                h1\n"
				"uptime_s:                 12\n"
				"state_dir:                /var/lib/vxmesh\n"
				"socket:                   /run/vxmesh/vxmesh.sock\n"
				"vtep:                     192.0.2.1\n"
				"vxlan_port:               4789\n"
				"networks:                 2\n"
				"endpoints:                3\n"
				"reconcile.interval_ms:    2000\n"
				"reconcile.runs:           10\n"
				"reconcile.created:        6\n"
				"reconcile.removed:        0\n"
				"reconcile.repaired:       1\n"
				"reconcile.errors:         0\n"
				"reconcile.last_error:     -\n"
				"cluster.node_name:        h1-ab\n"
				"cluster.advertise:        192.0.2.1:7946\n"
				"cluster.vtep_advertise:   192.0.2.1:4789\n"
				"cluster.encrypted:        true\n"
				"cluster.members_alive:    3\n"
				"cluster.members_suspect:  1\n"
				"cluster.members_dead:     0\n"
				"cluster.remote_endpoints: 4\n"
				"cluster.table_clock:      17\n"
				"admission.enabled:        true\n"
				"admission.sources:        3\n"
				"admission.extra:          1\n"
				"admission.dropped:        192.0.2.9 (20 packets)\n");
	run_free(&r);
	fake_free(&f);
}

Test(cli_status, without_cluster_prints_dashes)
{
	struct fake f, g;
	struct run r =
		RUN_FAKE(&f, "200 OK", "{\"version\": \"0.1\", \"cluster\": null}", "status");
	struct run b = RUN_FAKE(&g, "200 OK", "{\"cluster\": {\"encrypted\": 1}}", "status");

	cr_assert_eq(r.rc, CLI_EXIT_OK, "%s", r.err);
	cr_assert_not_null(strstr(r.out, "\ncluster.node_name:        -\n"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "\ncluster.table_clock:      -\n"), "%s", r.out);
	cr_assert_eq(b.rc, CLI_EXIT_API);
	cr_assert_not_null(strstr(b.err, "\"cluster.encrypted\" is not a boolean"), "%s", b.err);
	cr_assert_str_empty(b.out);
	run_free(&r);
	run_free(&b);
	fake_free(&f);
	fake_free(&g);
}

Test(cli_status, reconcile_posts_without_body)
{
	struct fake f;
	struct run r =
		RUN_FAKE(&f, "200 OK",
			 "{\"interval_ms\": 2000, \"runs\": 11, \"created\": 0, \"removed\": 1, "
			 "\"repaired\": 0, \"errors\": 1, \"last_error\": \"netlink: busy\"}",
			 "reconcile");

	cr_assert_eq(r.rc, CLI_EXIT_OK, "%s", r.err);
	cr_assert_str_eq(f.req[0].method, "POST");
	cr_assert_eq(f.req[0].clen, 0);
	cr_assert_str_empty(f.req[0].ctype);
	cr_assert_str_eq(r.out, "interval_ms: 2000\n"
				"runs:        11\n"
				"created:     0\n"
				"removed:     1\n"
				"repaired:    0\n"
				"errors:      1\n"
				"last_error:  netlink: busy\n");
	run_free(&r);
	fake_free(&f);
}

/* ---- version ------------------------------------------------------------- */

Test(cli_version, with_agent)
{
	struct fake f;
	struct run r = RUN_FAKE(&f, "200 OK", "{\"version\": \"1.2.3\"}", "version"), j;

	char want[256];

	cr_assert_eq(r.rc, CLI_EXIT_OK);
	snprintf(want, sizeof(want), "vxmesh %s\nagent: 1.2.3\n", vxmesh_version);
	cr_assert_str_eq(r.out, want);
	fake_free(&f);
	j = RUN_FAKE(&f, "200 OK", "{\"version\": \"1.2.3\"}", "version", "--json");
	cr_assert_eq(j.rc, CLI_EXIT_OK);
	snprintf(want, sizeof(want), "{\n  \"client\": \"%s\",\n  \"agent\": \"1.2.3\"\n}\n",
		 vxmesh_version);
	cr_assert_str_eq(j.out, want);
	run_free(&r);
	run_free(&j);
	fake_free(&f);
}

Test(cli_version, unreachable_agent_still_exits_0)
{
	struct run r = RUN("--socket", "/nonexistent/vxmesh-test.sock", "version");
	struct run j = RUN("--socket", "/nonexistent/vxmesh-test.sock", "version", "--json");

	char want[256];

	cr_assert_eq(r.rc, CLI_EXIT_OK);
	snprintf(want, sizeof(want), "vxmesh %s\nagent: unreachable (No such file or directory)\n",
		 vxmesh_version);
	cr_assert_str_eq(r.out, want);
	cr_assert_eq(j.rc, CLI_EXIT_OK);
	snprintf(want, sizeof(want), "{\n  \"client\": \"%s\",\n  \"agent\": null\n}\n",
		 vxmesh_version);
	cr_assert_str_eq(j.out, want);
	run_free(&r);
	run_free(&j);
}

Test(cli_version, agent_error_is_reported)
{
	struct fake f;
	struct run r = RUN_FAKE(&f, "200 OK", "{\"version\": 3}", "version");

	cr_assert_eq(r.rc, CLI_EXIT_OK);
	cr_assert_not_null(strstr(r.out, "\nagent: error (malformed reply"), "%s", r.out);
	run_free(&r);
	fake_free(&f);
}

/* ---- cluster ------------------------------------------------------------- */

#define KEY_A "rlXjvMYzvErllKyCzfdHp7YXItdoAFI2sJQfwB7kPns="

static const char keys_enc[] =
	"{\"encrypted\": true, \"keys\": [{\"fingerprint\": \"sha256:0a1b2c3d\", \"primary\": "
	"true}, {\"fingerprint\": \"sha256:99887766\", \"primary\": false}]}";

/* Runs argv (after "vxmesh --socket PATH") against a fake answering replies. */
static struct run run_seq(struct fake *f, const struct fake_reply *replies, size_t n,
			  const char *const *args)
{
	char *argv[16] = {"vxmesh", "--socket", NULL};
	int argc = 3;
	struct run r;

	fake_start_seq(f, replies, n);
	argv[2] = f->path;
	for (int k = 0; args[k]; k++)
		argv[argc++] = (char *)args[k];
	r = run_args(argc, argv);
	fake_stop(f);
	return r;
}

Test(cli_cluster, request_shapes)
{
	static const struct {
		const char *args[6];
		const char *method, *target, *body; /* body NULL: none sent */
		const char *reply;
	} cases[] = {
		{{"members"}, "GET", "/v1/members", NULL, "{\"members\": []}"},
		{{"leave"}, "POST", "/v1/leave", NULL, "{\"leaving\": true}"},
		{{"token"},
		 "GET",
		 "/v1/token",
		 NULL,
		 "{\"token\": \"vxm1.x\", \"carries_key\": false}"},
		{{"key", "list"}, "GET", "/v1/keys", NULL, keys_enc},
		{{"key", "install", KEY_A},
		 "POST",
		 "/v1/keys",
		 "{\"key\":\"" KEY_A "\"}",
		 keys_enc},
		{{"key", "use", KEY_A},
		 "PUT",
		 "/v1/keys/primary",
		 "{\"key\":\"" KEY_A "\"}",
		 keys_enc},
		{{"key", "remove", KEY_A},
		 "DELETE",
		 "/v1/keys",
		 "{\"key\":\"" KEY_A "\"}",
		 keys_enc},
		{{"join", "192.0.2.2", "--wait", "0"},
		 "POST",
		 "/v1/join",
		 "{\"addrs\":[\"192.0.2.2\"]}",
		 "{\"contacting\": 1}"},
		{{"join", "192.0.2.2:7000,198.51.100.3", "203.0.113.9", "--wait=0"},
		 "POST",
		 "/v1/join",
		 "{\"addrs\":[\"192.0.2.2:7000\",\"198.51.100.3\",\"203.0.113.9\"]}",
		 "{\"contacting\": 3}"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct fake_reply rep = {"200 OK", cases[i].reply};
		struct fake f;
		struct run r = run_seq(&f, &rep, 1, cases[i].args);

		cr_expect_eq(r.rc, CLI_EXIT_OK, "case %zu: %s", i, r.err);
		cr_assert_eq(f.nreq, 1, "case %zu: %zu requests", i, f.nreq);
		cr_expect_str_eq(f.req[0].method, cases[i].method, "case %zu", i);
		cr_expect_str_eq(f.req[0].target, cases[i].target, "case %zu", i);
		if (cases[i].body) {
			cr_expect_str_eq(f.req[0].body, cases[i].body, "case %zu", i);
			cr_expect_eq(f.req[0].clen, (long)strlen(cases[i].body), "case %zu", i);
			cr_expect_str_eq(f.req[0].ctype, "application/json", "case %zu", i);
		} else {
			cr_expect_str_empty(f.req[0].body, "case %zu", i);
			cr_expect_str_empty(f.req[0].ctype, "case %zu", i);
		}
		/* a key given on the command line is never printed back */
		cr_expect_null(strstr(r.out, KEY_A), "case %zu", i);
		cr_expect_null(strstr(r.err, KEY_A), "case %zu", i);
		run_free(&r);
		fake_free(&f);
	}
}

Test(cli_cluster, members_table)
{
	struct fake f;
	struct run r = RUN_FAKE(
		&f, "200 OK",
		"{\"members\": ["
		"{\"name\": \"h1-3f9a0c12\", \"kind\": \"vxmesh\", \"id\": \"3f9a\", \"addr\": "
		"\"192.0.2.1:7946\", \"vtep\": \"192.0.2.1:4789\", \"state\": \"alive\", "
		"\"incarnation\": 1, \"last_change_ms_ago\": 5321, \"self\": true, \"tags\": {}},"
		"{\"name\": \"h2\", \"kind\": \"vxmesh\", \"addr\": \"192.0.2.2:7946\", \"vtep\": "
		"\"192.0.2.2:4789\", \"state\": \"suspect\", \"incarnation\": 12, "
		"\"last_change_ms_ago\": 185000, \"self\": false},"
		"{\"name\": \"serf-a\", \"kind\": \"other\", \"id\": null, \"addr\": "
		"\"198.51.100.7:7946\", \"vtep\": null, \"state\": \"dead\", \"incarnation\": 0, "
		"\"last_change_ms_ago\": 7300000, \"self\": false},"
		"{\"name\": \"h4\", \"kind\": \"vxmesh\", \"addr\": \"203.0.113.4:79\", \"vtep\": "
		"\"203.0.113.4:47\", \"state\": \"left\", \"incarnation\": 3, "
		"\"last_change_ms_ago\": 259200000, \"self\": false},"
		"{\"name\": \"h5\", \"kind\": \"vxmesh\", \"addr\": \"203.0.113.5:79\", \"vtep\": "
		"\"203.0.113.5:47\", \"state\": \"alive\", \"incarnation\": 2, "
		"\"last_change_ms_ago\": 999}]}",
		"members");

	cr_assert_eq(r.rc, CLI_EXIT_OK, "%s", r.err);
	cr_assert_str_eq(
		r.out,
		"NAME          KIND    ADDR               VTEP            STATE    INC  SEEN\n"
		"h1-3f9a0c12*  vxmesh  192.0.2.1:7946     192.0.2.1:4789  alive    1    5s ago\n"
		"h2            vxmesh  192.0.2.2:7946     192.0.2.2:4789  suspect  12   3m ago\n"
		"serf-a        other   198.51.100.7:7946  -               dead     0    2h ago\n"
		"h4            vxmesh  203.0.113.4:79     203.0.113.4:47  left     3    3d ago\n"
		"h5            vxmesh  203.0.113.5:79     203.0.113.5:47  alive    2    0s ago\n");
	run_free(&r);
	fake_free(&f);
}

Test(cli_cluster, members_json_and_malformed)
{
	static const struct {
		const char *body, *why;
	} bad[] = {
		{"{\"members\": [{\"name\": \"a\", \"last_change_ms_ago\": -1}]}",
		 "\"last_change_ms_ago\" is not a count of milliseconds"},
		{"{\"members\": [{\"name\": \"a\", \"last_change_ms_ago\": \"5s\"}]}",
		 "\"last_change_ms_ago\" is not a count of milliseconds"},
		{"{\"members\": [{\"name\": \"a\", \"self\": \"yes\"}]}",
		 "\"self\" is not a boolean"},
		{"{\"members\": {}}", "\"members\" is not a list"},
	};
	struct fake f;
	struct run r = RUN_FAKE(&f, "200 OK", "{\"members\": [{\"name\": \"a\", \"self\": true}]}",
				"members", "--json");

	cr_assert_eq(r.rc, CLI_EXIT_OK, "%s", r.err);
	cr_assert_str_eq(r.out, "{\n  \"members\": [\n    {\n      \"name\": \"a\",\n"
				"      \"self\": true\n    }\n  ]\n}\n");
	run_free(&r);
	fake_free(&f);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = RUN_FAKE(&f, "200 OK", bad[i].body, "members");
		cr_expect_eq(r.rc, CLI_EXIT_API, "%s", bad[i].body);
		cr_expect_not_null(strstr(r.err, bad[i].why), "%s: %s", bad[i].body, r.err);
		cr_expect_str_empty(r.out, "%s", bad[i].body);
		run_free(&r);
		fake_free(&f);
	}
}

#define M_SELF	"{\"name\": \"h1\", \"state\": \"alive\", \"self\": true}"
#define M_ALIVE "{\"name\": \"h2\", \"state\": \"alive\", \"self\": false}"
#define M_SUSP	"{\"name\": \"h2\", \"state\": \"suspect\", \"self\": false}"
#define M_DEAD	"{\"name\": \"h3\", \"state\": \"dead\", \"self\": false}"

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

Test(cli_join, polls_members_until_another_is_alive)
{
	static const struct fake_reply seq[] = {
		{"202 Accepted", "{\"contacting\": 3}"},
		{"200 OK", "{\"members\": [" M_SELF "]}"},
		{"200 OK", "{\"members\": [" M_SELF ", " M_SUSP "]}"},
		{"200 OK", "{\"members\": [" M_SELF ", " M_ALIVE ", " M_DEAD "]}"},
	};
	static const char *const args[] = {"join", "192.0.2.2,192.0.2.3:7946", "198.51.100.2",
					   NULL};
	struct timespec t0;
	struct fake f;
	struct run r;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = run_seq(&f, seq, 4, args);
	ms = ms_since(&t0);
	cr_assert_eq(r.rc, CLI_EXIT_OK, "%s", r.err);
	cr_assert_str_eq(r.out, "joined: 2 members alive\n");
	cr_assert_str_empty(r.err);
	cr_assert_eq(f.nreq, 4);
	cr_assert_str_eq(f.req[0].method, "POST");
	cr_assert_str_eq(f.req[0].target, "/v1/join");
	cr_assert_str_eq(f.req[0].body, "{\"addrs\":[\"192.0.2.2\",\"192.0.2.3:7946\","
					"\"198.51.100.2\"]}");
	for (size_t i = 1; i < 4; i++) {
		cr_assert_str_eq(f.req[i].method, "GET");
		cr_assert_str_eq(f.req[i].target, "/v1/members");
	}
	/* three polls, 200 ms apart */
	cr_assert(ms >= 380 && ms < 3000, "%ld ms", ms);
	run_free(&r);
	fake_free(&f);
}

Test(cli_join, json_reports_contacting_and_alive)
{
	static const struct fake_reply seq[] = {
		{"202 Accepted", "{\"contacting\": 1}"},
		{"200 OK", "{\"members\": [" M_SELF ", " M_ALIVE "]}"},
	};
	static const char *const args[] = {"--json", "join", "192.0.2.2", NULL};
	struct fake f;
	struct run r = run_seq(&f, seq, 2, args);

	cr_assert_eq(r.rc, CLI_EXIT_OK, "%s", r.err);
	cr_assert_str_eq(r.out, "{\n  \"contacting\": 1,\n  \"members_alive\": 2\n}\n");
	cr_assert_eq(f.nreq, 2);
	run_free(&r);
	fake_free(&f);
}

Test(cli_join, wait_0_does_not_poll)
{
	static const struct fake_reply seq[] = {{"202 Accepted", "{\"contacting\": 2}"}};
	static const char *const args[] = {"join", "192.0.2.2,192.0.2.3", "--wait", "0", NULL};
	static const char *const jargs[] = {"join", "192.0.2.2", "--wait=0", "--json", NULL};
	struct fake f;
	struct run r = run_seq(&f, seq, 1, args), j;

	cr_assert_eq(r.rc, CLI_EXIT_OK, "%s", r.err);
	cr_assert_eq(f.nreq, 1);
	cr_assert_str_eq(r.out, "contacting 2 address(es); 'vxmesh members' shows the result\n");
	fake_free(&f);
	j = run_seq(&f, seq, 1, jargs);
	cr_assert_eq(j.rc, CLI_EXIT_OK, "%s", j.err);
	cr_assert_eq(f.nreq, 1);
	cr_assert_str_eq(j.out, "{\n  \"contacting\": 2\n}\n");
	run_free(&r);
	run_free(&j);
	fake_free(&f);
}

Test(cli_join, timeout_exits_1_with_hint)
{
	static const struct fake_reply seq[] = {
		{"202 Accepted", "{\"contacting\": 1}"},
		{"200 OK", "{\"members\": [" M_SELF ", " M_DEAD "]}"},
	};
	static const char *const args[] = {"join", "192.0.2.2", "--wait", "1", NULL};
	static const char *const two[] = {"--json", "join", "192.0.2.2,198.51.100.2:7000",
					  "--wait", "1",    NULL};
	struct timespec t0;
	struct fake f;
	struct run r;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = run_seq(&f, seq, 2, args);
	ms = ms_since(&t0);
	cr_assert_eq(r.rc, CLI_EXIT_API);
	cr_assert_str_eq(r.err, "vxmesh: no member answered within 1s (is 192.0.2.2 reachable, "
				"and is its gossip key the same?)\n");
	cr_assert_str_empty(r.out);
	/* one poll at once, then every 200 ms for a second */
	cr_assert(f.nreq >= 4 && f.nreq <= 8, "%zu requests", f.nreq);
	cr_assert(ms >= 950 && ms < 4000, "%ld ms", ms);
	run_free(&r);
	fake_free(&f);

	r = run_seq(&f, seq, 2, two);
	cr_assert_eq(r.rc, CLI_EXIT_API);
	cr_assert_str_eq(r.err,
			 "vxmesh: no member answered within 1s (are 192.0.2.2, "
			 "198.51.100.2:7000 reachable, and is their gossip key the same?)\n");
	cr_assert_str_empty(r.out);
	run_free(&r);
	fake_free(&f);
}

Test(cli_join, errors)
{
	static const struct {
		struct fake_reply seq[2];
		size_t n;
		int rc;
		const char *err; /* prefix of stderr */
	} cases[] = {
		{{{"400 Bad Request", "{\"error\": {\"code\": \"invalid_argument\", "
				      "\"message\": \"\\\"x\\\" is not ADDR[:PORT]\"}}"}},
		 1,
		 CLI_EXIT_API,
		 "vxmesh: \"x\" is not ADDR[:PORT]\n"},
		{{{"202 Accepted", "{\"contacting\": 1}"},
		  {"500 Internal Server Error",
		   "{\"error\": {\"code\": \"internal\", \"message\": \"out of memory\"}}"}},
		 2,
		 CLI_EXIT_API,
		 "vxmesh: out of memory\n"},
		{{{"202 Accepted", "{\"contacting\": \"1\"}"}},
		 1,
		 CLI_EXIT_API,
		 "vxmesh: malformed reply from the agent: \"contacting\" is not a count\n"},
		{{{"202 Accepted", "{\"contacting\": 1}"},
		  {"200 OK", "{\"members\": [{\"state\": \"alive\"}]}"}},
		 2,
		 CLI_EXIT_API,
		 "vxmesh: malformed reply from the agent: \"self\" is not a boolean\n"},
		{{{"202 Accepted", "{\"contacting\": 1}"},
		  {"200 OK", "{\"members\": [{\"state\": 1, \"self\": false}]}"}},
		 2,
		 CLI_EXIT_API,
		 "vxmesh: malformed reply from the agent: \"state\" is not a string\n"},
		{{{"202 Accepted", "{\"contacting\": 1}"}, {NULL, NULL}},
		 2,
		 CLI_EXIT_UNREACHABLE,
		 "vxmesh: request to the agent at "},
	};
	static const char *const args[] = {"join", "192.0.2.2", NULL};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake f;
		struct run r = run_seq(&f, cases[i].seq, cases[i].n, args);

		cr_expect_eq(r.rc, cases[i].rc, "case %zu: %d %s", i, r.rc, r.err);
		cr_expect(!strncmp(r.err, cases[i].err, strlen(cases[i].err)), "case %zu: %s", i,
			  r.err);
		cr_expect_str_empty(r.out, "case %zu", i);
		cr_expect_eq(f.nreq, cases[i].n, "case %zu: %zu requests", i, f.nreq);
		run_free(&r);
		fake_free(&f);
	}

	/* no agent at all */
	struct run u = RUN("--socket", "/nonexistent/vxmesh-test.sock", "join", "192.0.2.2");
	cr_assert_eq(u.rc, CLI_EXIT_UNREACHABLE);
	run_free(&u);
}

Test(cli_leave, prints_notice)
{
	struct fake f;
	struct run r = RUN_FAKE(&f, "202 Accepted", "{\"leaving\": true}", "leave"), j, b;

	cr_assert_eq(r.rc, CLI_EXIT_OK, "%s", r.err);
	cr_assert_eq(f.req[0].clen, 0);
	cr_assert_str_eq(r.out, "leaving the cluster; the agent stops when its leave has spread\n");
	fake_free(&f);
	j = RUN_FAKE(&f, "202 Accepted", "{\"leaving\": true}", "leave", "--json");
	cr_assert_eq(j.rc, CLI_EXIT_OK);
	cr_assert_str_eq(j.out, "{\n  \"leaving\": true\n}\n");
	fake_free(&f);
	b = RUN_FAKE(&f, "202 Accepted", "{\"leaving\": 1}", "leave");
	cr_assert_eq(b.rc, CLI_EXIT_API);
	cr_assert_not_null(strstr(b.err, "\"leaving\" is not true"), "%s", b.err);
	cr_assert_str_empty(b.out);
	run_free(&r);
	run_free(&j);
	run_free(&b);
	fake_free(&f);
}

/* ---- keys and tokens ----------------------------------------------------- */

static void key_check(const char *b64, size_t len)
{
	unsigned char bin[64];
	size_t n = 0;

	cr_assert_eq(len, 44, "'%.*s'", (int)len, b64);
	cr_assert_eq(sodium_base642bin(bin, sizeof(bin), b64, len, NULL, &n, NULL,
				       sodium_base64_VARIANT_ORIGINAL),
		     0, "'%.*s'", (int)len, b64);
	cr_assert_eq(n, 32);
}

Test(cli_key, generate_is_local_random_and_32_bytes)
{
	/* no agent: the socket does not exist */
	struct run a = RUN("--socket", "/nonexistent/vxmesh-test.sock", "key", "generate");
	struct run b = RUN("--socket", "/nonexistent/vxmesh-test.sock", "key", "generate");
	struct run j =
		RUN("--socket", "/nonexistent/vxmesh-test.sock", "key", "generate", "--json");
	json_t *root;
	const char *k;

	cr_assert_eq(a.rc, CLI_EXIT_OK, "%s", a.err);
	cr_assert_str_empty(a.err);
	cr_assert_eq(a.out[strlen(a.out) - 1], '\n');
	key_check(a.out, strlen(a.out) - 1);
	key_check(b.out, strlen(b.out) - 1);
	cr_assert_str_neq(a.out, b.out);
	cr_assert_eq(j.rc, CLI_EXIT_OK);
	root = json_loads(j.out, JSON_REJECT_DUPLICATES, NULL);
	cr_assert_not_null(root, "%s", j.out);
	cr_assert_eq(json_object_size(root), 1);
	k = json_string_value(json_object_get(root, "key"));
	cr_assert_not_null(k);
	key_check(k, strlen(k));
	json_decref(root);
	run_free(&a);
	run_free(&b);
	run_free(&j);
}

Test(cli_key, list_and_changes_print_fingerprints)
{
	static const struct {
		const char *args[4];
		const char *lead;
	} cases[] = {
		{{"key", "list"}, ""},
		{{"key", "install", KEY_A}, "key installed\n"},
		{{"key", "use", KEY_A}, "key is now the primary key\n"},
		{{"key", "remove", KEY_A}, "key removed\n"},
	};
	static const char table[] = "FINGERPRINT      PRIMARY\n"
				    "sha256:0a1b2c3d  true\n"
				    "sha256:99887766  false\n";

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct fake_reply rep = {"200 OK", keys_enc};
		char want[256];
		struct fake f;
		struct run r = run_seq(&f, &rep, 1, cases[i].args);

		snprintf(want, sizeof(want), "%s%s", cases[i].lead, table);
		cr_expect_eq(r.rc, CLI_EXIT_OK, "%s", r.err);
		cr_expect_str_eq(r.out, want);
		run_free(&r);
		fake_free(&f);
	}
}

Test(cli_key, unencrypted_and_malformed)
{
	struct fake f;
	struct run r =
		RUN_FAKE(&f, "200 OK", "{\"encrypted\": false, \"keys\": []}", "key", "list");

	cr_assert_eq(r.rc, CLI_EXIT_OK, "%s", r.err);
	cr_assert_str_eq(r.out, "FINGERPRINT  PRIMARY\ngossip is not encrypted\n");
	run_free(&r);
	fake_free(&f);
	r = RUN_FAKE(&f, "200 OK", "{\"keys\": []}", "key", "list");
	cr_assert_eq(r.rc, CLI_EXIT_API);
	cr_assert_not_null(strstr(r.err, "\"encrypted\" is not a boolean"), "%s", r.err);
	cr_assert_str_empty(r.out);
	run_free(&r);
	fake_free(&f);
	r = RUN_FAKE(&f, "200 OK", "{\"encrypted\": true, \"keys\": [{\"primary\": 1}]}", "key",
		     "list");
	cr_assert_eq(r.rc, CLI_EXIT_API);
	cr_assert_not_null(strstr(r.err, "\"primary\" is not a boolean"), "%s", r.err);
	run_free(&r);
	fake_free(&f);
}

Test(cli_key, refusals_and_usage_never_echo_the_key)
{
	struct fake f;
	struct run r = RUN_FAKE(&f, "409 Conflict",
				"{\"error\": {\"code\": \"conflict\", \"message\": \"key "
				"sha256:0a1b2c3d: it is the primary key; make another primary "
				"first\"}}",
				"key", "remove", KEY_A);
	struct run u = RUN("--socket", "/nonexistent/vxmesh-test.sock", "key", KEY_A);
	struct run v = RUN("--socket", "/nonexistent/vxmesh-test.sock", "key", "use", "x", KEY_A);

	cr_assert_eq(r.rc, CLI_EXIT_API);
	cr_assert_str_eq(f.req[0].method, "DELETE");
	cr_assert_str_eq(r.err, "vxmesh: key sha256:0a1b2c3d: it is the primary key; make "
				"another primary first\n");
	cr_assert_eq(u.rc, CLI_EXIT_USAGE);
	cr_assert(!strncmp(u.err, "vxmesh: unknown key command\n", 28), "%s", u.err);
	cr_assert_null(strstr(u.err, KEY_A));
	cr_assert_eq(v.rc, CLI_EXIT_USAGE);
	cr_assert_null(strstr(v.err, KEY_A));
	run_free(&r);
	run_free(&u);
	run_free(&v);
	fake_free(&f);
}

Test(cli_token, prints_token_and_secret_note)
{
	static const char tok[] = "{\"token\": \"vxm1.eyJzZWVkcyI6W119\", \"carries_key\": true}";
	struct fake f;
	struct run r = RUN_FAKE(&f, "200 OK", tok, "token"), j, p, b;

	cr_assert_eq(r.rc, CLI_EXIT_OK, "%s", r.err);
	cr_assert_str_eq(r.out, "vxm1.eyJzZWVkcyI6W119\n");
	cr_assert_str_eq(r.err, "(this token contains the cluster key: treat it as a secret)\n");
	fake_free(&f);
	j = RUN_FAKE(&f, "200 OK", tok, "token", "--json");
	cr_assert_eq(j.rc, CLI_EXIT_OK);
	cr_assert_str_eq(j.out, "{\n  \"token\": \"vxm1.eyJzZWVkcyI6W119\",\n"
				"  \"carries_key\": true\n}\n");
	cr_assert_str_eq(j.err, "(this token contains the cluster key: treat it as a secret)\n");
	fake_free(&f);
	p = RUN_FAKE(&f, "200 OK", "{\"token\": \"vxm1.e30\", \"carries_key\": false}", "token");
	cr_assert_eq(p.rc, CLI_EXIT_OK);
	cr_assert_str_eq(p.out, "vxm1.e30\n");
	cr_assert_str_empty(p.err);
	fake_free(&f);
	b = RUN_FAKE(&f, "200 OK", "{\"token\": \"vxm1.e30\"}", "token");
	cr_assert_eq(b.rc, CLI_EXIT_API);
	cr_assert_str_eq(b.err, "vxmesh: malformed reply from the agent: \"carries_key\" is not "
				"a boolean\n");
	cr_assert_str_empty(b.out);
	run_free(&r);
	run_free(&j);
	run_free(&p);
	run_free(&b);
	fake_free(&f);
}

Test(cli_help, cluster_commands)
{
	struct run k = RUN("key", "--help"), j = RUN("join", "--help"),
		   h = RUN("help", "key", "use");

	cr_assert_eq(k.rc, CLI_EXIT_OK);
	cr_assert(!strncmp(k.out, "Usage: vxmesh key generate\n       vxmesh key list\n", 49), "%s",
		  k.out);
	cr_assert_not_null(strstr(k.out, "  key remove     remove a gossip key\n"), "%s", k.out);
	cr_assert_null(strstr(k.out, "net create"));
	cr_assert_eq(j.rc, CLI_EXIT_OK);
	cr_assert(!strncmp(j.out, "Usage: vxmesh join ADDR[:PORT]... [--wait SECONDS]\n\n", 52),
		  "%s", j.out);
	cr_assert_not_null(strstr(j.out, "  --wait SECONDS"));
	cr_assert(!strncmp(h.out, "Usage: vxmesh key use KEY\n\n", 27), "%s", h.out);
	run_free(&k);
	run_free(&j);
	run_free(&h);
}
