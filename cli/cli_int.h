/* SPDX-License-Identifier: MIT */
/*
 * cli_int: what the files of cli/ share, and the seams tests/unit/test_cli.c
 * uses.  Not part of the public interface (that is cli/cli.h): only the files
 * of cli/ and the unit test include it.
 *   cli.c    the command table, argument parsing, dispatch and help
 *   http.c   the request to the agent over its unix socket (libcurl)
 *   print.c  the table and key/value printers, text and JSON
 *   cmds.c   the command bodies
 */
#ifndef VXMESH_CLI_INT_H
#define VXMESH_CLI_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>

#include "cli/cli.h"

struct curl_dl;

#define CLI_POS_MAX  2 /* positional names in a row; the last one repeats */
#define CLI_OPT_MAX  6
#define CLI_WAIT_MAX 3600

#define ARRAY_SIZE(a)  (sizeof(a) / sizeof((a)[0]))
#define CLI_GLOBAL_USE "vxmesh [--socket PATH] [--json] COMMAND [ARGS...]"

/* ---- the command table and the parsed command line (cli.c) ---- */

enum cli_opt_kind { OPT_STR, OPT_NUM, OPT_FLAG /* no value; set = "1" */ };

struct cli_opt {
	const char *name; /* without the leading "--" */
	enum cli_opt_kind kind;
	unsigned long min, max; /* OPT_NUM only */
	bool required;
};

struct cli_call;

struct cli_cmd {
	const char *name;
	const char *sub; /* NULL: a command without subcommands */
	int (*handler)(struct cli_call *c);
	const char *usage; /* after "vxmesh " */
	const char *summary;
	const char *help;
	const struct cli_opt *opts;   /* ends with a NULL name; NULL for none */
	const char *pos[CLI_POS_MAX]; /* positional argument names, for errors */
	int pos_min, pos_max;	      /* pos_max CLI_POS_MANY: no limit */
	bool secret;		      /* arguments may be keys: errors never quote them */
};

struct cli_call {
	const struct cli_cmd *cmd;
	const char *group; /* command word of a command with subcommands */
	const char *sock;
	const struct curl_dl *cu; /* set by cli_http_init() */
	bool json, help;
	FILE *out, *err;
	const char **pos; /* argc entries */
	int npos;
	const char *opt[CLI_OPT_MAX];
	char bad[192]; /* what was wrong with a malformed reply */
};

/* cli_main() with the output streams chosen by the caller: results go to out,
 * diagnostics and usage errors to err.  Returns an enum cli_exit value. */
int cli_run(int argc, char **argv, FILE *out, FILE *err);

/* Strict decimal: digits only, no sign or spaces, min <= value <= max.
 * Returns 0 or -EINVAL. */
int cli_num_parse(const char *s, unsigned long min, unsigned long max, unsigned long *out)
	__attribute__((warn_unused_result));

/* The option of cmd called name (len bytes, no "--"), its index in *idx;
 * NULL when cmd has none such. */
const struct cli_opt *cli_opt_find(const struct cli_cmd *cmd, const char *name, size_t len,
				   int *idx);
/* The value given for option name of c's command, or NULL. */
const char *cli_opt_get(const struct cli_call *c, const char *name);
/* Prints "vxmesh: <problem>" and the command's usage (the global one when
 * no command was parsed; cli.c lists a group's commands itself).  Returns
 * CLI_EXIT_USAGE. */
int cli_usage_err(struct cli_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cli_usage_verr(struct cli_call *c, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Handlers of the rows of cmds[] (cmds.c); each returns an enum cli_exit. */
int cli_cmd_cleanup(struct cli_call *c);
int cli_cmd_net_create(struct cli_call *c);
int cli_cmd_net_ls(struct cli_call *c);
int cli_cmd_net_inspect(struct cli_call *c);
int cli_cmd_net_rm(struct cli_call *c);
int cli_cmd_ep_attach(struct cli_call *c);
int cli_cmd_ep_detach(struct cli_call *c);
int cli_cmd_ep_ls(struct cli_call *c);
int cli_cmd_fdb(struct cli_call *c);
int cli_cmd_status(struct cli_call *c);
int cli_cmd_reconcile(struct cli_call *c);
int cli_cmd_version(struct cli_call *c);
int cli_cmd_members(struct cli_call *c);
int cli_cmd_join(struct cli_call *c);
int cli_cmd_leave(struct cli_call *c);
int cli_cmd_key_generate(struct cli_call *c);
int cli_cmd_key_list(struct cli_call *c);
int cli_cmd_key_change(struct cli_call *c);
int cli_cmd_token(struct cli_call *c);
int cli_cmd_ipam(struct cli_call *c);
int cli_cmd_node_rm(struct cli_call *c);

/* ---- requests to the agent (http.c) ---- */

enum cli_res_kind {
	RES_OK,		 /* 2xx with a JSON object */
	RES_API,	 /* the agent answered with an error */
	RES_BAD,	 /* the answer is not what docs/api.md promises */
	RES_UNREACHABLE, /* nobody accepted the connection */
	RES_TRANSPORT,	 /* connected, but the exchange failed */
};

struct cli_res {
	enum cli_res_kind kind;
	long status;
	json_t *root;  /* RES_OK: the reply; release with json_decref() */
	char msg[256]; /* RES_API: the agent's message; others: the reason */
};

/* Formats a well-formed reply onto f; 0, -EPROTO (c->bad says why), -ENOMEM. */
typedef int (*cli_print_fn)(struct cli_call *c, FILE *f, json_t *reply);

/* Loads libcurl for the requests of one command; cli_http_fini() undoes it.
 * CLI_EXIT_OK, or CLI_EXIT_UNREACHABLE after saying why on c->err. */
int cli_http_init(struct cli_call *c) __attribute__((warn_unused_result));
void cli_http_fini(struct cli_call *c);
/* Sends one request to the agent and sorts the outcome into r; on RES_OK
 * r->root is a new reference, release it with json_decref(). */
void cli_api_request(const struct cli_call *c, const char *method, const char *path,
		     const json_t *body, struct cli_res *r);
/* Prints the outcome of a failed request; returns the exit code. */
int cli_res_report(const struct cli_call *c, const struct cli_res *r);
/* Sends the request (stealing body), then prints the reply as JSON or through
 * print.  The printer writes into memory first: nothing reaches c->out unless
 * the whole reply was well-formed.  Returns the exit code. */
int cli_api_run(struct cli_call *c, const char *method, const char *path, json_t *body,
		cli_print_fn print);
/* cli_api_run() on "/v1/BASE[/SEG][?network=Q]", SEG and Q URL-escaped. */
int cli_api_run_path(struct cli_call *c, const char *method, const char *base, const char *seg,
		     const char *q, json_t *body, cli_print_fn print);

/* ---- printers (print.c) ---- */

enum cli_fkind {
	F_STR,
	F_INT,
	F_BOOL,
	F_AGO, /* milliseconds, printed as "5s ago" */
};

struct cli_col {
	const char *head;
	const char *key;
	enum cli_fkind kind;
};

struct cli_kv {
	const char *path; /* dotted: "node.id" */
	enum cli_fkind kind;
};
/* A copy of s fit for a terminal, control bytes turned into '?'; release
 * with free().  NULL when out of memory. */
char *cli_str_clean(const char *s);
/* Writes n spaces. */
void cli_pad(FILE *f, size_t n);
/* Records in c->bad what was wrong with a reply; returns -EPROTO. */
int cli_malformed(struct cli_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Says "out of memory" on c->err; returns CLI_EXIT_API. */
int cli_oom(struct cli_call *c);
/* Prints root as indented JSON on c->out; returns the exit code. */
int cli_json_print(struct cli_call *c, const json_t *root);
/* Prints arr, a list of objects, as aligned columns under a header; a row
 * whose boolean key mark is true gets a "*" after its first cell.  what names
 * arr in errors.  0, -EPROTO (c->bad says why), -ENOMEM, -EINVAL (over 8
 * columns). */
int cli_table_print_mark(struct cli_call *c, FILE *f, const json_t *arr, const char *what,
			 const struct cli_col *cols, size_t ncols, const char *mark);
/* cli_table_print_mark() without a mark. */
int cli_table_print(struct cli_call *c, FILE *f, const json_t *arr, const char *what,
		    const struct cli_col *cols, size_t ncols);
/* Prints the n fields of obj as "path: value" lines, values aligned; a
 * dotted path looks into nested objects.  0, -EPROTO, -ENOMEM, -EINVAL. */
int cli_kv_print(struct cli_call *c, FILE *f, const json_t *obj, const struct cli_kv *fields,
		 size_t n);

#endif
