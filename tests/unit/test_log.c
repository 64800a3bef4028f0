/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for common/log.c: level names, level filtering, the text and
 * JSON line formats (stderr captured through a pipe, JSON checked by
 * jansson), escaping of hostile messages, and the rate limiter.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

/* ---- stderr capture ---- */

static int cap_pipe[2] = {-1, -1};
static int cap_saved = -1;

static void cap_begin(void)
{
	fflush(stderr);
	cr_assert_eq(pipe2(cap_pipe, O_CLOEXEC), 0);
	cap_saved = dup(STDERR_FILENO);
	cr_assert_geq(cap_saved, 0);
	cr_assert_eq(dup2(cap_pipe[1], STDERR_FILENO), STDERR_FILENO);
	close(cap_pipe[1]);
}

/* Returns what was written to stderr since cap_begin(); caller frees. */
static char *cap_end(void)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	ssize_t n;

	cr_assert_not_null(buf);
	fflush(stderr);
	dup2(cap_saved, STDERR_FILENO);
	close(cap_saved);
	while ((n = read(cap_pipe[0], buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 2) {
			cap *= 2;
			buf = realloc(buf, cap);
			cr_assert_not_null(buf);
		}
	}
	close(cap_pipe[0]);
	buf[len] = '\0';
	return buf;
}

static void reset(void)
{
	log_set_level(LOG_LVL_INFO);
	log_set_json(0);
}

/* ---- level names ---- */

Test(log, level_parse)
{
	static const struct {
		const char *in;
		int ret;
		enum log_level lvl;
	} cases[] = {
		{"error", 0, LOG_LVL_ERROR}, {"warn", 0, LOG_LVL_WARN},
		{"info", 0, LOG_LVL_INFO},   {"debug", 0, LOG_LVL_DEBUG},
		{"DEBUG", 0, LOG_LVL_DEBUG}, {"Warn", 0, LOG_LVL_WARN},
		{"warning", -EINVAL, 0},     {"", -EINVAL, 0},
		{"info ", -EINVAL, 0},	     {"inf", -EINVAL, 0},
		{"trace", -EINVAL, 0},	     {"0", -EINVAL, 0},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum log_level out = (enum log_level)99;
		int ret = log_level_parse(cases[i].in, &out);

		cr_assert_eq(ret, cases[i].ret, "\"%s\": ret %d", cases[i].in, ret);
		if (ret == 0)
			cr_assert_eq(out, cases[i].lvl, "\"%s\"", cases[i].in);
		else
			cr_assert_eq(out, (enum log_level)99, "\"%s\": out written on error",
				     cases[i].in);
	}
	cr_assert_eq(log_level_parse(NULL, &(enum log_level){0}), -EINVAL);
}

/* ---- text format ---- */

Test(log, text_line_format, .init = reset)
{
	regex_t re;
	regmatch_t m[2];
	char *out;
	struct tm tm = {0};
	time_t ts, now = time(NULL);

	cap_begin();
	log_info("peer up addr=%s port=%d", "192.0.2.1", 4789);
	out = cap_end();
	cr_assert_eq(regcomp(&re,
			     "^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})\\.[0-9]{3}Z "
			     "level=info msg=\"peer up addr=192\\.0\\.2\\.1 port=4789\"\n$",
			     REG_EXTENDED),
		     0);
	cr_assert_eq(regexec(&re, out, 2, m, 0), 0, "got: %s", out);
	regfree(&re);
	/* The timestamp is UTC wall-clock time. */
	cr_assert_not_null(strptime(out + m[1].rm_so, "%Y-%m-%dT%H:%M:%S", &tm));
	ts = timegm(&tm);
	cr_assert(ts >= now - 5 && ts <= now + 5, "timestamp %s is not now", out);
	free(out);
}

Test(log, text_escaping, .init = reset)
{
	static const struct {
		const char *msg, *want;
	} cases[] = {
		{"plain key=value", "plain key=value"},
		{"say \"hi\"", "say \\\"hi\\\""},
		{"back\\slash", "back\\\\slash"},
		{"two\nlines\r\ttab", "two\\nlines\\r\\ttab"},
		{"bell\x07 del\x7f", "bell\\x07 del\\x7f"},
		{"caf\xc3\xa9", "caf\xc3\xa9"}, /* valid UTF-8 passes */
		{"bad\xff\xc0", "bad\\xff\\xc0"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out, *msg;

		cap_begin();
		log_warn("%s", cases[i].msg);
		out = cap_end();
		msg = strstr(out, " level=warn msg=\"");
		cr_assert_not_null(msg, "case %zu: %s", i, out);
		msg += strlen(" level=warn msg=\"");
		cr_assert_eq(strlen(msg), strlen(cases[i].want) + 2, "case %zu: %s", i, out);
		cr_assert_eq(strncmp(msg, cases[i].want, strlen(cases[i].want)), 0, "case %zu: %s",
			     i, out);
		cr_assert_str_eq(msg + strlen(cases[i].want), "\"\n");
		free(out);
	}
}

Test(log, level_filter, .init = reset)
{
	char *out;

	log_set_level(LOG_LVL_WARN);
	cap_begin();
	log_info("hidden");
	log_dbg("hidden");
	log_warn("shown-warn");
	log_err("shown-err");
	out = cap_end();
	cr_assert_null(strstr(out, "hidden"), "%s", out);
	cr_assert_not_null(strstr(out, "level=warn msg=\"shown-warn\"\n"), "%s", out);
	cr_assert_not_null(strstr(out, "level=error msg=\"shown-err\"\n"), "%s", out);
	free(out);

	log_set_level(LOG_LVL_DEBUG);
	cap_begin();
	log_dbg("now %s", "shown");
	out = cap_end();
	cr_assert_not_null(strstr(out, "level=debug msg=\"now shown\"\n"), "%s", out);
	free(out);
}

Test(log, errno_preserved_and_percent_m, .init = reset)
{
	char *out;

	cap_begin();
	errno = ENOENT;
	log_err("open: %m");
	cr_assert_eq(errno, ENOENT);
	out = cap_end();
	cr_assert_not_null(strstr(out, "msg=\"open: No such file or directory\""), "%s", out);
	free(out);
}

/* ---- JSON ---- */

static json_t *log_json_line(const char *msg)
{
	json_error_t jerr;
	json_t *obj;
	char *out;

	cap_begin();
	log_info("%s", msg);
	out = cap_end();
	cr_assert_neq(strlen(out), 0);
	cr_assert_eq(strchr(out, '\n'), out + strlen(out) - 1, "not one line: %s", out);
	/* jansson rejects invalid UTF-8 and bad escapes. */
	obj = json_loads(out, JSON_REJECT_DUPLICATES, &jerr);
	cr_assert_not_null(obj, "bad JSON (%s): %s", jerr.text, out);
	cr_assert(json_is_object(obj));
	free(out);
	return obj;
}

Test(log, json_round_trips_hostile_messages, .init = reset)
{
	static const struct {
		const char *msg, *want; /* want NULL: same as msg */
	} cases[] = {
		{"plain", NULL},
		{"quote \" and backslash \\ and slash /", NULL},
		{"newline\n cr\r tab\t bs\b ff\f", NULL},
		{"ctl \x01\x02\x1f and del \x7f", NULL},
		{"utf8 caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", NULL},
		{"lone \xff byte", "lone \xef\xbf\xbd byte"},
		{"overlong \xc0\xaf", "overlong \xef\xbf\xbd\xef\xbf\xbd"},
		{"surrogate \xed\xa0\x80", "surrogate \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
		{"past max \xf4\x90\x80\x80",
		 "past max \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
		{"cut \xe2\x82", "cut \xef\xbf\xbd\xef\xbf\xbd"},
		{"{\"injected\":1}", NULL},
	};
	size_t i;

	log_set_json(1);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *want = cases[i].want ? cases[i].want : cases[i].msg;
		json_t *obj = log_json_line(cases[i].msg);

		cr_assert_eq(json_object_size(obj), 3, "case %zu", i);
		cr_assert_str_eq(json_string_value(json_object_get(obj, "level")), "info");
		cr_assert_str_eq(json_string_value(json_object_get(obj, "msg")), want, "case %zu",
				 i);
		cr_assert_not_null(json_string_value(json_object_get(obj, "ts")));
		json_decref(obj);
	}
}

Test(log, json_long_message_and_timestamp, .init = reset)
{
	static char big[5000];
	regex_t re;
	json_t *obj;

	memset(big, 'a', sizeof(big) - 1);
	big[100] = '"';
	big[4000] = '\n';
	log_set_json(1);
	obj = log_json_line(big);
	cr_assert_str_eq(json_string_value(json_object_get(obj, "msg")), big);
	cr_assert_eq(regcomp(&re,
			     "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$",
			     REG_EXTENDED | REG_NOSUB),
		     0);
	cr_assert_eq(regexec(&re, json_string_value(json_object_get(obj, "ts")), 0, NULL, 0), 0);
	regfree(&re);
	json_decref(obj);

	/* Level names in JSON too; and switching back to text works. */
	log_set_level(LOG_LVL_DEBUG);
	cap_begin();
	log_dbg("d");
	log_set_json(0);
	log_dbg("t");
	char *out = cap_end();
	cr_assert_not_null(strstr(out, "\"level\":\"debug\",\"msg\":\"d\"}\n"), "%s", out);
	cr_assert_not_null(strstr(out, "Z level=debug msg=\"t\"\n"), "%s", out);
	free(out);
}

/* ---- rate limiter ---- */

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

Test(log, ratelimit_burst_and_window)
{
	struct log_ratelimit rl = {.burst = 3, .interval_ms = 100};
	int i;

	for (i = 0; i < 3; i++)
		cr_assert_eq(log_ratelimit_ok(&rl), 1, "message %d", i);
	for (i = 0; i < 20; i++)
		cr_assert_eq(log_ratelimit_ok(&rl), 0, "message %d past burst", i);
	cr_assert_eq(rl.burst, 3, "configuration untouched");
	cr_assert_eq(rl.interval_ms, 100);
	sleep_ms(130);
	for (i = 0; i < 3; i++)
		cr_assert_eq(log_ratelimit_ok(&rl), 1, "new window, message %d", i);
	cr_assert_eq(log_ratelimit_ok(&rl), 0);
}

Test(log, ratelimit_defaults)
{
	static struct log_ratelimit rl; /* zeroed: 10 per 5000 ms */
	int i;

	for (i = 0; i < 10; i++)
		cr_assert_eq(log_ratelimit_ok(&rl), 1, "message %d", i);
	cr_assert_eq(log_ratelimit_ok(&rl), 0);
	cr_assert_eq(rl.burst, 0);
	cr_assert_eq(rl.interval_ms, 0);
	/* 150 ms is well inside the 5 s default window. */
	sleep_ms(150);
	cr_assert_eq(log_ratelimit_ok(&rl), 0);
}

Test(log, ratelimit_independent_sites)
{
	struct log_ratelimit a = {.burst = 1, .interval_ms = 10000};
	struct log_ratelimit b = {.burst = 2, .interval_ms = 10000};

	cr_assert_eq(log_ratelimit_ok(&a), 1);
	cr_assert_eq(log_ratelimit_ok(&a), 0);
	cr_assert_eq(log_ratelimit_ok(&b), 1);
	cr_assert_eq(log_ratelimit_ok(&b), 1);
	cr_assert_eq(log_ratelimit_ok(&b), 0);
}
