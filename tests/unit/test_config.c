// SPDX-License-Identifier: MIT
/*
 * Unit tests for driver/config.c: defaults, the argv reader, the config-file
 * reader, their precedence and the generated usage text.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/paths.h"
#include "driver/config.h"

#define NARGS_MAX 8

static char tmpdir[64];

static void tmp_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vxmesh-test-config-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void tmp_teardown(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	cr_assert_eq(system(cmd), 0);
}

/* Write a file under tmpdir; its path goes to path. */
static void write_file(char *path, size_t len, const char *name, const char *text)
{
	FILE *f;

	snprintf(path, len, "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(text, 1, strlen(text), f), strlen(text));
	cr_assert_eq(fclose(f), 0);
}

static int parse(struct drv_config *c, const char *const *args, char *err, size_t errlen)
{
	char *argv[NARGS_MAX + 1] = {"vxmesh"};
	int argc = 1;

	for (; argc <= NARGS_MAX && args[argc - 1]; argc++)
		argv[argc] = (char *)args[argc - 1];
	return drv_config_parse_args(c, argc, argv, 1, err, errlen);
}

static void assert_cfg_eq(const struct drv_config *got, const struct drv_config *want,
			  const char *what)
{
	cr_expect_str_eq(got->state_dir, want->state_dir, "%s: state_dir", what);
	cr_expect_str_eq(got->socket, want->socket, "%s: socket", what);
	cr_expect_str_eq(got->config_file, want->config_file, "%s: config_file", what);
	cr_expect_str_eq(got->vtep, want->vtep, "%s: vtep", what);
	cr_expect_eq(got->vxlan_port, want->vxlan_port, "%s: vxlan_port %u != %u", what,
		     got->vxlan_port, want->vxlan_port);
	cr_expect_eq(got->reconcile_ms, want->reconcile_ms, "%s: reconcile_ms %u != %u", what,
		     got->reconcile_ms, want->reconcile_ms);
	cr_expect_eq(got->log_level, want->log_level, "%s: log_level %u != %u", what,
		     got->log_level, want->log_level);
	cr_expect_eq(got->log_json, want->log_json, "%s: log_json", what);
	cr_expect_eq(got->help, want->help, "%s: help", what);
}

Test(config, defaults)
{
	struct drv_config c;

	memset(&c, 0xa5, sizeof(c));
	drv_config_defaults(&c);
	cr_expect_str_eq(c.state_dir, DRV_STATE_DIR_DEFAULT);
	cr_expect_str_eq(c.socket, VXMESH_SOCKET_DEFAULT);
	cr_expect_str_eq(c.config_file, "");
	cr_expect_str_eq(c.vtep, "");
	cr_expect_eq(c.vxlan_port, 4789);
	cr_expect_eq(c.reconcile_ms, 5000);
	cr_expect_eq(c.log_level, LOG_LVL_INFO);
	cr_expect_eq(c.log_json, 0);
	cr_expect_eq(c.help, 0);
}

Test(config, no_args_keeps_defaults)
{
	struct drv_config c, want;
	char err[256] = "";

	drv_config_defaults(&c);
	drv_config_defaults(&want);
	cr_assert_eq(parse(&c, (const char *const[]){NULL}, err, sizeof(err)), 0, "%s", err);
	assert_cfg_eq(&c, &want, "no args");
}

/* ---- accepted command lines ---- */

struct good_case {
	const char *args[NARGS_MAX];
	void (*want)(struct drv_config *c); /* applied to the defaults */
};

static void w_state(struct drv_config *c)
{
	snprintf(c->state_dir, sizeof(c->state_dir), "/tmp/s");
}
static void w_state_eq(struct drv_config *c)
{
	snprintf(c->state_dir, sizeof(c->state_dir), "/a=b");
}
static void w_socket(struct drv_config *c)
{
	snprintf(c->socket, sizeof(c->socket), "/run/x.sock");
}
static void w_vtep1(struct drv_config *c)
{
	snprintf(c->vtep, sizeof(c->vtep), "192.0.2.1");
}
static void w_vtep2(struct drv_config *c)
{
	snprintf(c->vtep, sizeof(c->vtep), "198.51.100.7");
}
static void w_port1(struct drv_config *c)
{
	c->vxlan_port = 1;
}
static void w_port_max(struct drv_config *c)
{
	c->vxlan_port = 65535;
}
static void w_port_8472(struct drv_config *c)
{
	c->vxlan_port = 8472;
}
static void w_rec_min(struct drv_config *c)
{
	c->reconcile_ms = 100;
}
static void w_rec_max(struct drv_config *c)
{
	c->reconcile_ms = 3600000;
}
static void w_lvl_err(struct drv_config *c)
{
	c->log_level = LOG_LVL_ERROR;
}
static void w_lvl_warn(struct drv_config *c)
{
	c->log_level = LOG_LVL_WARN;
}
static void w_lvl_info(struct drv_config *c)
{
	c->log_level = LOG_LVL_INFO;
}
static void w_lvl_dbg(struct drv_config *c)
{
	c->log_level = LOG_LVL_DEBUG;
}
static void w_json(struct drv_config *c)
{
	c->log_json = 1;
}
static void w_none(struct drv_config *c)
{
	(void)c;
}
static void w_help(struct drv_config *c)
{
	c->help = 1;
}
static void w_many(struct drv_config *c)
{
	w_state(c);
	w_vtep1(c);
	w_port_8472(c);
	w_lvl_dbg(c);
	w_json(c);
}

static const struct good_case good_cases[] = {
	{{"--state-dir", "/tmp/s"}, w_state},
	{{"--state-dir=/tmp/s"}, w_state},
	{{"--state-dir=/a=b"}, w_state_eq},
	{{"--state-dir", "/x", "--state-dir", "/tmp/s"}, w_state}, /* last one wins */
	{{"--socket", "/run/x.sock"}, w_socket},
	{{"--socket=/run/x.sock"}, w_socket},
	{{"--vtep", "192.0.2.1"}, w_vtep1},
	{{"--vtep=198.51.100.7"}, w_vtep2},
	{{"--vxlan-port", "1"}, w_port1},
	{{"--vxlan-port=65535"}, w_port_max},
	{{"--vxlan-port", "8472"}, w_port_8472},
	{{"--reconcile-interval", "100"}, w_rec_min},
	{{"--reconcile-interval=3600000"}, w_rec_max},
	{{"--log-level", "error"}, w_lvl_err},
	{{"--log-level", "warn"}, w_lvl_warn},
	{{"--log-level=debug"}, w_lvl_dbg},
	{{"--log-level=debug", "--log-level", "info"}, w_lvl_info},
	{{"--log-json"}, w_json},
	{{"--log-json=true"}, w_json},
	{{"--log-json=yes"}, w_json},
	{{"--log-json=1"}, w_json},
	{{"--log-json=false"}, w_none},
	{{"--log-json", "--log-json=no"}, w_none},
	{{"--log-json", "--log-json=0"}, w_none},
	{{"--help"}, w_help},
	{{"-h"}, w_help},
	{{"--state-dir", "/tmp/s", "--vtep=192.0.2.1", "--vxlan-port", "8472", "--log-level",
	  "debug", "--log-json"},
	 w_many},
};

Test(config, args_good)
{
	for (size_t i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
		const struct good_case *t = &good_cases[i];
		struct drv_config c, want;
		char err[256] = "", what[64];

		snprintf(what, sizeof(what), "case %zu (%s)", i, t->args[0]);
		drv_config_defaults(&c);
		drv_config_defaults(&want);
		t->want(&want);
		cr_expect_eq(parse(&c, t->args, err, sizeof(err)), 0, "%s: %s", what, err);
		assert_cfg_eq(&c, &want, what);
	}
}

Test(config, args_first_skips_subcommand)
{
	char *argv[] = {"vxmesh", "agent", "--vxlan-port", "4790"};
	struct drv_config c;
	char err[256] = "";

	drv_config_defaults(&c);
	cr_assert_eq(drv_config_parse_args(&c, 4, argv, 2, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(c.vxlan_port, 4790);
	/* With first = 1 the subcommand is an unexpected argument. */
	cr_expect_eq(drv_config_parse_args(&c, 4, argv, 1, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "unexpected argument 'agent'"), "err: %s", err);
}

/* ---- refused command lines ---- */

struct bad_case {
	const char *args[NARGS_MAX];
	const char *err; /* substring of the message */
};

static char long_path[PATH_MAX + 32];
static char max_path[PATH_MAX + 32];

static const struct bad_case bad_cases[] = {
	{{"--nope"}, "unknown option '--nope'"},
	{{"--nope=1"}, "unknown option '--nope'"},
	{{"--state"}, "unknown option '--state'"}, /* no prefix matching */
	{{"--"}, "unknown option '--'"},
	{{"foo"}, "unexpected argument 'foo'"},
	{{"-x"}, "unexpected argument '-x'"},
	{{"--log-json", "false"}, "unexpected argument 'false'"}, /* bools take =VALUE */
	{{"--state-dir"}, "'--state-dir' needs a value (DIR)"},
	{{"--socket"}, "needs a value (PATH)"},
	{{"--vtep"}, "needs a value (ADDR)"},
	{{"--vxlan-port"}, "needs a value (PORT)"},
	{{"--reconcile-interval"}, "needs a value (MS)"},
	{{"--log-level"}, "needs a value (LEVEL)"},
	{{"--config"}, "needs a value (FILE)"},
	{{"--state-dir="}, "'state-dir': value is empty or too long"},
	{{"--socket", ""}, "'socket': value is empty or too long"},
	{{"--state-dir", long_path}, "'state-dir': value is empty or too long"},
	{{"--vtep", "256.1.1.1"}, "'256.1.1.1' is not an IPv4 address"},
	{{"--vtep", "192.0.2"}, "is not an IPv4 address"},
	{{"--vtep", "192.0.2.1/24"}, "is not an IPv4 address"},
	{{"--vtep", "192.0.2.1 "}, "is not an IPv4 address"},
	{{"--vtep", "host.example"}, "is not an IPv4 address"},
	{{"--vtep", "::1"}, "is not an IPv4 address"},
	{{"--vtep="}, "is not an IPv4 address"},
	{{"--vxlan-port", "0"}, "'vxlan-port': '0' is not a number from 1 to 65535"},
	{{"--vxlan-port", "65536"}, "is not a number from 1 to 65535"},
	{{"--vxlan-port", "-1"}, "is not a number"},
	{{"--vxlan-port", "-0"}, "is not a number"},
	{{"--vxlan-port", "+80"}, "is not a number"},
	{{"--vxlan-port", " 80"}, "is not a number"},
	{{"--vxlan-port", "80 "}, "is not a number"},
	{{"--vxlan-port", "80x"}, "is not a number"},
	{{"--vxlan-port", "0x50"}, "is not a number"},
	{{"--vxlan-port", "abc"}, "is not a number"},
	{{"--vxlan-port="}, "is not a number"},
	{{"--vxlan-port", "99999999999999999999999"}, "is not a number"},
	{{"--vxlan-port", "4294967297"}, "is not a number"}, /* 2^32 + 1 must not wrap */
	{{"--reconcile-interval", "99"}, "is not a number from 100 to 3600000"},
	{{"--reconcile-interval", "3600001"}, "is not a number from 100 to 3600000"},
	{{"--log-json=maybe"}, "'log-json': 'maybe' is not true or false"},
	{{"--log-json="}, "is not true or false"},
	{{"--log-json=TRUE "}, "is not true or false"},
	{{"--help=2"}, "is not true or false"},
	{{"--log-level", "verbose"}, "'verbose' is not error, warn, info or debug"},
	{{"--log-level="}, "is not error, warn, info or debug"},
	/* The first bad option is reported even after good ones. */
	{{"--vxlan-port", "4790", "--log-level", "loud"}, "'loud' is not error"},
};

Test(config, args_bad)
{
	memset(long_path, 'a', PATH_MAX);
	long_path[0] = '/';
	long_path[PATH_MAX] = '\0'; /* strlen == PATH_MAX: one too many for the buffer */

	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *t = &bad_cases[i];
		struct drv_config c;
		char err[512] = "";

		drv_config_defaults(&c);
		cr_expect_eq(parse(&c, t->args, err, sizeof(err)), -EINVAL,
			     "case %zu (%s %s) was accepted", i, t->args[0],
			     t->args[1] ? t->args[1] : "");
		cr_expect(strstr(err, t->err), "case %zu: err \"%s\" lacks \"%s\"", i, err, t->err);
	}
}

Test(config, args_string_at_limit)
{
	struct drv_config c;
	char err[256] = "";

	memset(max_path, 'b', PATH_MAX - 1);
	max_path[0] = '/';
	max_path[PATH_MAX - 1] = '\0';
	drv_config_defaults(&c);
	cr_assert_eq(
		parse(&c, (const char *const[]){"--state-dir", max_path, NULL}, err, sizeof(err)),
		0, "%s", err);
	cr_expect_str_eq(c.state_dir, max_path);
}

Test(config, err_truncated_safely)
{
	struct drv_config c;
	char err[8];

	drv_config_defaults(&c);
	memset(err, 'x', sizeof(err));
	cr_assert_eq(
		parse(&c, (const char *const[]){"--no-such-option-at-all", NULL}, err, sizeof(err)),
		-EINVAL);
	cr_expect_eq(err[sizeof(err) - 1], '\0');
}

/* ---- config file ---- */

TestSuite(config_file, .init = tmp_setup, .fini = tmp_teardown);

Test(config_file, forms_comments_blanks)
{
	struct drv_config c, want;
	char path[PATH_MAX], err[512] = "";

	write_file(path, sizeof(path), "a.conf",
		   "# vxmesh settings\n"
		   "\n"
		   "   \t \n"
		   "state-dir = /tmp/a   # trailing comment\n"
		   "socket /tmp/b.sock\n"
		   "vtep=192.0.2.9\n"
		   "  vxlan-port\t8472\n"
		   "reconcile-interval =250\n"
		   "log-level= debug\r\n"
		   "log-json\n"
		   "    # indented comment\n");
	drv_config_defaults(&c);
	cr_assert_eq(drv_config_load_file(&c, path, err, sizeof(err)), 0, "%s", err);
	drv_config_defaults(&want);
	snprintf(want.state_dir, sizeof(want.state_dir), "/tmp/a");
	snprintf(want.socket, sizeof(want.socket), "/tmp/b.sock");
	snprintf(want.vtep, sizeof(want.vtep), "192.0.2.9");
	want.vxlan_port = 8472;
	want.reconcile_ms = 250;
	want.log_level = LOG_LVL_DEBUG;
	want.log_json = 1;
	assert_cfg_eq(&c, &want, "file");
}

Test(config_file, bool_values_and_last_line_without_newline)
{
	struct drv_config c;
	char path[PATH_MAX], err[512] = "";

	write_file(path, sizeof(path), "b.conf", "log-json = yes\nlog-json = false\nvxlan-port 9");
	drv_config_defaults(&c);
	cr_assert_eq(drv_config_load_file(&c, path, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(c.log_json, 0);
	cr_expect_eq(c.vxlan_port, 9);
}

Test(config_file, empty_file)
{
	struct drv_config c, want;
	char path[PATH_MAX], err[512] = "";

	write_file(path, sizeof(path), "empty.conf", "");
	drv_config_defaults(&c);
	drv_config_defaults(&want);
	cr_assert_eq(drv_config_load_file(&c, path, err, sizeof(err)), 0, "%s", err);
	assert_cfg_eq(&c, &want, "empty file");
}

struct file_bad_case {
	const char *text;
	const char *err; /* expected after "<path>:" */
};

static const struct file_bad_case file_bad_cases[] = {
	{"# ok\nstate-dir = /x\nbogus = 1\n", "3: unknown option 'bogus'"},
	{"\n\n\n\nstate_dir = /x\n", "5: unknown option 'state_dir'"},
	{"config = /etc/other.conf\n", "1: unknown option 'config'"},
	{"help\n", "1: unknown option 'help'"},
	{"--vxlan-port = 1\n", "1: unknown option '--vxlan-port'"},
	{"vxlan-port = 1\nvxlan-port = 70000\n", "2: option 'vxlan-port': '70000' is not a number"},
	{"vxlan-port = 12 34\n", "1: option 'vxlan-port': '12 34' is not a number"},
	{"vxlan-port = -5\n", "1: option 'vxlan-port': '-5' is not a number"},
	{"reconcile-interval = 5s\n", "1: option 'reconcile-interval': '5s' is not a number"},
	{"vtep = 192.0.2.300\n", "1: option 'vtep': '192.0.2.300' is not an IPv4 address"},
	{"log-level = loud\n", "1: option 'log-level': 'loud' is not error"},
	{"log-json = perhaps\n", "1: option 'log-json': 'perhaps' is not true or false"},
	{"# c\nstate-dir\n", "2: option 'state-dir' needs a value (DIR)"},
	{"socket =\n", "1: option 'socket' needs a value (PATH)"},
};

Test(config_file, bad_lines_name_file_and_line)
{
	for (size_t i = 0; i < sizeof(file_bad_cases) / sizeof(file_bad_cases[0]); i++) {
		const struct file_bad_case *t = &file_bad_cases[i];
		char path[PATH_MAX], name[32], want[PATH_MAX + 128], err[PATH_MAX + 256] = "";
		struct drv_config c;

		snprintf(name, sizeof(name), "bad%zu.conf", i);
		write_file(path, sizeof(path), name, t->text);
		snprintf(want, sizeof(want), "%s:%s", path, t->err);
		drv_config_defaults(&c);
		cr_expect_eq(drv_config_load_file(&c, path, err, sizeof(err)), -EINVAL,
			     "case %zu accepted", i);
		cr_expect(strstr(err, want), "case %zu: err \"%s\" lacks \"%s\"", i, err, want);
	}
}

Test(config_file, missing_file)
{
	char path[PATH_MAX], err[PATH_MAX + 256] = "";
	struct drv_config c, want;

	snprintf(path, sizeof(path), "%s/does-not-exist.conf", tmpdir);
	drv_config_defaults(&c);
	drv_config_defaults(&want);
	cr_expect_eq(drv_config_load_file(&c, path, err, sizeof(err)), -ENOENT);
	cr_expect(strstr(err, path), "err: %s", err);
	assert_cfg_eq(&c, &want, "missing file");
}

Test(config_file, line_too_long)
{
	char path[PATH_MAX], err[PATH_MAX + 256] = "", want[PATH_MAX + 64];
	struct drv_config c;
	char *text = malloc(4096);

	cr_assert_not_null(text);
	memset(text, '#', 3000);
	snprintf(text + 3000, 4096 - 3000, "\nvxlan-port 1\n");
	write_file(path, sizeof(path), "long.conf", text);
	free(text);
	snprintf(want, sizeof(want), "%s:1: line too long", path);
	drv_config_defaults(&c);
	cr_expect_eq(drv_config_load_file(&c, path, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, want), "err: %s", err);
}

/* The reader takes lines of up to 1022 characters, with or without a newline. */
Test(config_file, longest_line)
{
	char path[PATH_MAX], err[PATH_MAX + 256] = "";
	char text[1100];
	struct drv_config c;

	for (int chars = 1022; chars <= 1023; chars++) {
		for (int nl = 0; nl <= 1; nl++) {
			int want = chars == 1022 ? 0 : -EINVAL, n;

			if (chars == 1023 && !nl)
				continue; /* unspecified: the reader has not seen EOF yet */
			n = snprintf(text, sizeof(text), "vxlan-port 7");
			memset(text + n, ' ', (size_t)(chars - n));
			snprintf(text + chars, sizeof(text) - (size_t)chars, "%s", nl ? "\n" : "");
			write_file(path, sizeof(path), "edge.conf", text);
			drv_config_defaults(&c);
			err[0] = '\0';
			cr_expect_eq(drv_config_load_file(&c, path, err, sizeof(err)), want,
				     "%d chars, nl=%d: %s", chars, nl, err);
			if (!want)
				cr_expect_eq(c.vxlan_port, 7, "%d chars, nl=%d", chars, nl);
			else
				cr_expect(strstr(err, ":1: line too long"), "err: %s", err);
		}
	}
}

/* ---- precedence: defaults < config file < command line ---- */

static const char prec_file[] = "vxlan-port = 1000\n"
				"state-dir = /from/file\n"
				"log-level = warn\n";

Test(config_file, command_line_beats_file_wherever_config_is)
{
	char path[PATH_MAX], cfgarg[PATH_MAX + 16];

	write_file(path, sizeof(path), "prec.conf", prec_file);
	snprintf(cfgarg, sizeof(cfgarg), "--config=%s", path);

	const char *const orders[][NARGS_MAX] = {
		{"--config", path, "--vxlan-port", "2000"},
		{"--vxlan-port", "2000", "--config", path},
		{"--vxlan-port=2000", cfgarg},
		{cfgarg, "--vxlan-port=2000"},
	};

	for (size_t i = 0; i < sizeof(orders) / sizeof(orders[0]); i++) {
		char err[PATH_MAX + 256] = "";
		struct drv_config c;

		drv_config_defaults(&c);
		cr_assert_eq(parse(&c, orders[i], err, sizeof(err)), 0, "order %zu: %s", i, err);
		cr_expect_eq(c.vxlan_port, 2000, "order %zu: command line must win", i);
		cr_expect_str_eq(c.state_dir, "/from/file", "order %zu", i);
		cr_expect_eq(c.log_level, LOG_LVL_WARN, "order %zu", i);
		cr_expect_str_eq(c.config_file, path, "order %zu", i);
		cr_expect_eq(c.reconcile_ms, 5000, "order %zu: default kept", i);
		cr_expect_str_eq(c.socket, VXMESH_SOCKET_DEFAULT, "order %zu: default kept", i);
	}
}

Test(config_file, bad_file_through_command_line)
{
	char path[PATH_MAX], want[PATH_MAX + 64], err[PATH_MAX + 256] = "";
	struct drv_config c;

	/* Missing file named by --config. */
	snprintf(path, sizeof(path), "%s/nope.conf", tmpdir);
	drv_config_defaults(&c);
	cr_expect_eq(parse(&c, (const char *const[]){"--config", path, NULL}, err, sizeof(err)),
		     -EINVAL);
	cr_expect(strstr(err, path), "err: %s", err);

	/* A bad line wins over a good command line: its error is reported. */
	write_file(path, sizeof(path), "bad.conf", "vxlan-port 1\nnope 2\n");
	snprintf(want, sizeof(want), "%s:2: unknown option 'nope'", path);
	drv_config_defaults(&c);
	cr_expect_eq(parse(&c, (const char *const[]){"--vxlan-port", "3", "--config", path, NULL},
			   err, sizeof(err)),
		     -EINVAL);
	cr_expect(strstr(err, want), "err: %s", err);

	/* A bad command line after a good file is still refused. */
	write_file(path, sizeof(path), "good.conf", prec_file);
	drv_config_defaults(&c);
	cr_expect_eq(parse(&c, (const char *const[]){"--config", path, "--vxlan-port", "0", NULL},
			   err, sizeof(err)),
		     -EINVAL);
	cr_expect(strstr(err, "'vxlan-port': '0' is not a number"), "err: %s", err);
}

/* An unknown option is reported before any file is read. */
Test(config_file, unknown_option_before_file)
{
	char path[PATH_MAX], err[PATH_MAX + 256] = "";
	struct drv_config c;

	snprintf(path, sizeof(path), "%s/nope.conf", tmpdir);
	drv_config_defaults(&c);
	cr_expect_eq(parse(&c, (const char *const[]){"--bogus", "--config", path, NULL}, err,
			   sizeof(err)),
		     -EINVAL);
	cr_expect(strstr(err, "unknown option '--bogus'"), "err: %s", err);
}

/* ---- usage ---- */

static const char *const usage_opts[] = {
	"--state-dir DIR",
	"--socket PATH",
	"--config FILE",
	"--vtep ADDR",
	"--vxlan-port PORT",
	"--reconcile-interval MS",
	"--node-name NAME",
	"--bind ADDR[:PORT]",
	"--advertise ADDR[:PORT]",
	"--vtep-advertise ADDR[:PORT]",
	"--join ADDR[,ADDR...]",
	"--join-token TOKEN",
	"--encrypt KEY",
	"--gossip-profile lan|local",
	"--default-pool CIDR",
	"--default-subnet-size LEN",
	"--admit CIDR[,CIDR...]",
	"--enc-port PORT",
	"--enc-advertise-port PORT",
	"--no-encryption",
	"--no-admission",
	"--docker",
	"--plugin-socket PATH",
	"--docker-socket PATH",
	"--log-level LEVEL",
	"--log-json",
	"--help",
};

Test(config, usage_lists_every_option)
{
	size_t n = sizeof(usage_opts) / sizeof(usage_opts[0]), len = 0, lines = 0;
	char *buf = NULL;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	drv_config_usage(f);
	cr_assert_eq(fclose(f), 0);
	for (size_t i = 0; i < len; i++)
		lines += buf[i] == '\n';
	cr_expect_eq(lines, n, "usage has %zu lines, want one per option (%zu):\n%s", lines, n,
		     buf);
	for (size_t i = 0; i < n; i++) {
		char name[64], *sp, line_start[80];
		struct drv_config c;
		char err[256] = "";

		snprintf(line_start, sizeof(line_start), "  %s ", usage_opts[i]);
		cr_expect(strstr(buf, line_start), "usage lacks \"%s\":\n%s", usage_opts[i], buf);
		/* Every listed option is one the parser knows. */
		snprintf(name, sizeof(name), "%s", usage_opts[i]);
		sp = strchr(name, ' ');
		if (sp)
			*sp = '\0';
		drv_config_defaults(&c);
		parse(&c, (const char *const[]){name, NULL}, err, sizeof(err));
		cr_expect(!strstr(err, "unknown option"), "%s: %s", name, err);
	}
	free(buf);
}
