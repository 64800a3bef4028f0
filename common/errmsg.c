// SPDX-License-Identifier: MIT
/*
 * errmsg: one helper instead of a copy per module.
 */
#include "common/errmsg.h"

#include <stdarg.h>
#include <stdio.h>

void errmsg_set(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errmsg_vset(buf, len, fmt, ap);
	va_end(ap);
}

void errmsg_vset(char *buf, size_t len, const char *fmt, va_list ap)
{
	if (!buf || !len)
		return;
	vsnprintf(buf, len, fmt, ap);
}
