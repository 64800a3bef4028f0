/* SPDX-License-Identifier: MIT */
/*
 * cli_int: the seams of cli/cli.c that unit tests use.  Not part of the
 * public interface; only cli/ and tests/unit/test_cli.c include it.
 */
#ifndef VXMESH_CLI_INT_H
#define VXMESH_CLI_INT_H

#include <stdio.h>

/* cli_main() with the output streams chosen by the caller: results go to out,
 * diagnostics and usage errors to err.  Returns an enum cli_exit value. */
int cli_run(int argc, char **argv, FILE *out, FILE *err);

/* Strict decimal: digits only, no sign or spaces, min <= value <= max.
 * Returns 0 or -EINVAL. */
int cli_num_parse(const char *s, unsigned long min, unsigned long max, unsigned long *out)
	__attribute__((warn_unused_result));

#endif
