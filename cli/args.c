// SPDX-License-Identifier: MIT
/*
 * args: what a command's handler asks of its parsed command line: option
 * values, numbers, and the usage error.  Apart from cli.c so that the
 * handlers (cmds.c) never call back into the table's file.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli_int.h"

int cli_num_parse(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (!s || !*s || strlen(s) > 10)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

const struct cli_opt *cli_opt_find(const struct cli_cmd *cmd, const char *name, size_t len,
				   int *idx)
{
	for (int i = 0; cmd->opts && cmd->opts[i].name; i++) {
		if (strlen(cmd->opts[i].name) == len && !strncmp(cmd->opts[i].name, name, len)) {
			*idx = i;
			return &cmd->opts[i];
		}
	}
	return NULL;
}

const char *cli_opt_get(const struct cli_call *c, const char *name)
{
	int i;

	if (!cli_opt_find(c->cmd, name, strlen(name), &i))
		return NULL;
	return c->opt[i];
}

int cli_usage_verr(struct cli_call *c, const char *fmt, va_list ap)
{
	fputs("vxmesh: ", c->err);
	vfprintf(c->err, fmt, ap);
	fputc('\n', c->err);
	if (c->cmd) {
		fprintf(c->err, "Usage: vxmesh %s\n", c->cmd->usage);
	} else {
		fprintf(c->err, "Usage: %s\n", CLI_GLOBAL_USE);
		fputs("Run 'vxmesh help' for the list of commands.\n", c->err);
	}
	return CLI_EXIT_USAGE;
}

int cli_usage_err(struct cli_call *c, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = cli_usage_verr(c, fmt, ap);
	va_end(ap);
	return ret;
}
