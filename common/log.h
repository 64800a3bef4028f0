/* SPDX-License-Identifier: MIT */
/*
 * log: leveled, structured (key=value) logging to stderr, or JSON lines with
 * log_set_json().  Messages below the configured level cost one comparison.
 */
#ifndef VXMESH_LOG_H
#define VXMESH_LOG_H

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

extern enum log_level log_level_cur;

void log_set_level(enum log_level lvl);
/* "error", "warn", "info", "debug" -> 0, or -EINVAL. */
int log_level_parse(const char *s, enum log_level *out);
void log_set_json(int on);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Suppress a message printed more than burst times per interval_ms; returns 1
 * when the caller may log.  One static state per call site. */
struct log_ratelimit {
	unsigned long long window_start_ms;
	unsigned count, burst, interval_ms;
};
int log_ratelimit_ok(struct log_ratelimit *rl);

#define log_err(...)  log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_dbg(...)                                                                               \
	do {                                                                                       \
		if (log_level_cur >= LOG_LVL_DEBUG)                                                \
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__);                                       \
	} while (0)

#endif
