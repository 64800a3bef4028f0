/* SPDX-License-Identifier: MIT */
/*
 * DOC: log
 * One line per message on stderr, written with a single fwrite() so lines
 * from several processes sharing stderr do not tear:
 *   2026-11-25T17:00:00.123Z level=info msg="peer up addr=192.0.2.1"
 * or, after log_set_json(1):
 *   {"ts":"2026-11-25T17:00:00.123Z","level":"info","msg":"peer up addr=192.0.2.1"}
 * The message often carries bytes from outside (peer names, kernel strings),
 * so it is escaped in both forms: quotes, backslashes, control characters and
 * invalid UTF-8 never reach the output raw.  errno is preserved across calls.
 */
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define RL_BURST_DEFAULT    10
#define RL_INTERVAL_DEFAULT 5000

enum log_level log_level_cur = LOG_LVL_INFO;
static int log_json;

static const char *const level_names[] = {
	[LOG_LVL_ERROR] = "error",
	[LOG_LVL_WARN] = "warn",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
};

void log_set_level(enum log_level lvl)
{
	log_level_cur = lvl;
}

int log_level_parse(const char *s, enum log_level *out)
{
	size_t i;

	if (!s)
		return -EINVAL;
	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (!strcasecmp(s, level_names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

void log_set_json(int on)
{
	log_json = !!on;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	/* Reject overlong forms, UTF-16 surrogates and code points past U+10FFFF. */
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

static void put_escaped(FILE *f, const char *msg, int json)
{
	const unsigned char *s = (const unsigned char *)msg;
	size_t n = strlen(msg);

	while (n) {
		size_t len = utf8_seq_len(s, n);

		if (len == 0) {
			if (json)
				fputs("\\ufffd", f);
			else
				fprintf(f, "\\x%02x", s[0]);
			len = 1;
		} else if (len > 1) {
			fwrite(s, 1, len, f);
		} else if (*s == '"' || *s == '\\') {
			fputc('\\', f);
			fputc(*s, f);
		} else if (*s == '\n') {
			fputs("\\n", f);
		} else if (*s == '\r') {
			fputs("\\r", f);
		} else if (*s == '\t') {
			fputs("\\t", f);
		} else if (*s < 0x20 || *s == 0x7f) {
			fprintf(f, json ? "\\u%04x" : "\\x%02x", *s);
		} else {
			fputc(*s, f);
		}
		s += len;
		n -= len;
	}
}

static void fmt_timestamp(char buf[32])
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

static void put_line(FILE *f, enum log_level lvl, const char *msg)
{
	const char *name = (unsigned)lvl <= LOG_LVL_DEBUG ? level_names[lvl] : "debug";
	char ts[32];

	fmt_timestamp(ts);
	if (log_json)
		fprintf(f, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"", ts, name);
	else
		fprintf(f, "%s level=%s msg=\"", ts, name);
	put_escaped(f, msg, log_json);
	fputs(log_json ? "\"}\n" : "\"\n", f);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	int saved_errno = errno;
	char small[512], *heap = NULL, *line = NULL;
	const char *msg = small;
	size_t line_len = 0;
	va_list ap;
	FILE *mem;
	int n;

	if (lvl > log_level_cur)
		return;
	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		msg = "(log format error)";
	} else if ((size_t)n >= sizeof(small)) {
		heap = malloc((size_t)n + 1);
		if (heap) {
			errno = saved_errno; /* for %m */
			va_start(ap, fmt);
			vsnprintf(heap, (size_t)n + 1, fmt, ap);
			va_end(ap);
			msg = heap;
		} /* else: truncated beats nothing */
	}

	mem = open_memstream(&line, &line_len);
	if (mem) {
		put_line(mem, lvl, msg);
		if (fclose(mem) == 0)
			fwrite(line, 1, line_len, stderr);
		free(line);
	} else {
		put_line(stderr, lvl, msg);
	}
	fflush(stderr);
	free(heap);
	errno = saved_errno;
}

static unsigned long long monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000;
}

/* A window opens at the first message after the previous one has ended. */
int log_ratelimit_ok(struct log_ratelimit *rl)
{
	unsigned burst = rl->burst ? rl->burst : RL_BURST_DEFAULT;
	unsigned interval = rl->interval_ms ? rl->interval_ms : RL_INTERVAL_DEFAULT;
	unsigned long long now = monotonic_ms();

	if (rl->count == 0 || now - rl->window_start_ms >= interval) {
		rl->window_start_ms = now;
		rl->count = 0;
	}
	if (rl->count >= burst)
		return 0;
	rl->count++;
	return 1;
}
