/* SPDX-License-Identifier: MIT */
/*
 * cli: the `vxmesh` command line, a client of the control API (docs/api.md)
 * over the agent's unix socket.  Subcommands come from one table, which
 * also produces the help text.
 */
#ifndef VXMESH_CLI_H
#define VXMESH_CLI_H

/* Exit codes shared by every command. */
enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_API = 1,	  /* the agent answered with an error */
	CLI_EXIT_USAGE = 2,	  /* bad command line */
	CLI_EXIT_UNREACHABLE = 3, /* no agent on the socket */
};

/* Runs one command; argv[0] is the program name, argv[1] the command.
 * Returns an enum cli_exit value. */
int cli_main(int argc, char **argv);

#endif
