/* SPDX-License-Identifier: MIT */
/*
 * tap: TAP output for the simulation programs (tests/run.sh counts the
 * "ok N" / "not ok N" lines).  Header-only: each program is one file.
 */
#ifndef VXMESH_SIM_TAP_H
#define VXMESH_SIM_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static int failures, tapn;

static void tap(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void tap(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", ok ? "" : "not ", ++tapn);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		failures++;
}

static void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

#endif
