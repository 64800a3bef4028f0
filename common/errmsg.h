/* SPDX-License-Identifier: MIT */
/*
 * errmsg: the optional caller-owned error buffer that fallible functions
 * fill with a one-line reason next to their -errno.
 */
#ifndef VXMESH_ERRMSG_H
#define VXMESH_ERRMSG_H

#include <stdarg.h>
#include <stddef.h>

/* vsnprintf() fmt into buf (truncated to len, always terminated); does
 * nothing when buf is NULL or len is 0. */
void errmsg_set(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The same with a va_list, for helpers that add to the message. */
void errmsg_vset(char *buf, size_t len, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#endif
