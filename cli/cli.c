// SPDX-License-Identifier: MIT
/*
 * DOC: cli
 * The `vxmesh` client.  Every command is one row of cmds[]: the row names the
 * handler, the options it takes and the help text, so parsing, `--help` and
 * `vxmesh help` cannot drift apart.  A handler builds one request of the
 * control API (docs/api.md), sends it over the agent's unix socket with
 * libcurl and prints the reply as text or, with --json, as the agent sent it.
 * Replies are outside input: every field a printer reads is type-checked, and
 * a printer writes into a buffer first so a malformed reply prints nothing.
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>

/* libcurl is loaded on first use (curl_load()), not linked: the agent is the
 * same binary and must not carry libcurl's dependencies (OpenSSL, Kerberos,
 * LDAP: about 3.5 MB of resident memory) while it idles. */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <dlfcn.h>
#include <jansson.h>
#include <sodium.h>

#include "common/paths.h"
#include "common/version.h"
#include "cli/cli_int.h"

/* clang-format off */
#define CURL_FNS(X)                                                                        \
	X(curl_global_init) X(curl_global_cleanup) X(curl_easy_init) X(curl_easy_cleanup)  \
	X(curl_easy_setopt) X(curl_easy_perform) X(curl_easy_getinfo) X(curl_easy_strerror) \
	X(curl_easy_escape) X(curl_free) X(curl_slist_append) X(curl_slist_free_all)
/* clang-format on */

static struct {
#define CURL_FN_PTR(name) __typeof__(name) *name;
	CURL_FNS(CURL_FN_PTR)
#undef CURL_FN_PTR
} curl_fn;

/* 0, or -ENOENT when libcurl cannot be loaded (reason in err). */
static int curl_load(char *err, size_t len)
{
	static void *lib;

	if (lib)
		return 0;
	lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		snprintf(err, len, "%s", dlerror());
		return -ENOENT;
	}
#define CURL_FN_LOAD(name)                                                                         \
	if (!(*(void **)(&curl_fn.name) = dlsym(lib, #name))) {                                    \
		snprintf(err, len, "libcurl.so.4 lacks %s", #name);                                \
		dlclose(lib);                                                                      \
		lib = NULL;                                                                        \
		return -ENOENT;                                                                    \
	}
	CURL_FNS(CURL_FN_LOAD)
#undef CURL_FN_LOAD
	return 0;
}

#define curl_global_init    curl_fn.curl_global_init
#define curl_global_cleanup curl_fn.curl_global_cleanup
#define curl_easy_init	    curl_fn.curl_easy_init
#define curl_easy_cleanup   curl_fn.curl_easy_cleanup
#undef curl_easy_setopt
#define curl_easy_setopt  curl_fn.curl_easy_setopt
#define curl_easy_perform curl_fn.curl_easy_perform
#undef curl_easy_getinfo
#define curl_easy_getinfo   curl_fn.curl_easy_getinfo
#define curl_easy_strerror  curl_fn.curl_easy_strerror
#define curl_easy_escape    curl_fn.curl_easy_escape
#define curl_free	    curl_fn.curl_free
#define curl_slist_append   curl_fn.curl_slist_append
#define curl_slist_free_all curl_fn.curl_slist_free_all

#define CLI_TIMEOUT_S  30L
#define CLI_REPLY_MAX  (16u << 20)
#define CLI_POS_MAX    2    /* positional names in a row; the last one repeats */
#define CLI_POS_MANY   (-1) /* pos_max: no limit */
#define CLI_OPT_MAX    6
#define CLI_GLOBAL_USE "vxmesh [--socket PATH] [--json] COMMAND [ARGS...]"
#define CLI_WAIT_MAX   3600
#define CLI_POLL_MS    200
#define CLI_KEY_LEN    32

enum opt_kind { OPT_STR, OPT_NUM };

struct cli_opt {
	const char *name; /* without the leading "--" */
	enum opt_kind kind;
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
	bool json, help;
	FILE *out, *err;
	const char **pos; /* argc entries */
	int npos;
	const char *opt[CLI_OPT_MAX];
	char bad[192]; /* what was wrong with a malformed reply */
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int cmd_net_create(struct cli_call *c);
static int cmd_net_ls(struct cli_call *c);
static int cmd_net_inspect(struct cli_call *c);
static int cmd_net_rm(struct cli_call *c);
static int cmd_ep_attach(struct cli_call *c);
static int cmd_ep_detach(struct cli_call *c);
static int cmd_ep_ls(struct cli_call *c);
static int cmd_fdb(struct cli_call *c);
static int cmd_status(struct cli_call *c);
static int cmd_reconcile(struct cli_call *c);
static int cmd_version(struct cli_call *c);
static int cmd_members(struct cli_call *c);
static int cmd_join(struct cli_call *c);
static int cmd_leave(struct cli_call *c);
static int cmd_key_generate(struct cli_call *c);
static int cmd_key_list(struct cli_call *c);
static int cmd_key_change(struct cli_call *c);
static int cmd_token(struct cli_call *c);
static int cmd_help(struct cli_call *c);
static int cmd_ipam(struct cli_call *c);
static int cmd_node_rm(struct cli_call *c);

/* ---- the table ----------------------------------------------------------- */

static const struct cli_opt net_create_opts[] = {
	{.name = "subnet", .kind = OPT_STR},
	{.name = "vni", .kind = OPT_NUM, .min = 1, .max = 16777215},
	{.name = "mtu", .kind = OPT_NUM, .min = 1, .max = 65535},
	{.name = "gateway", .kind = OPT_STR},
	{.name = "port", .kind = OPT_NUM, .min = 1, .max = 65535},
	{0},
};
static const struct cli_opt ep_attach_opts[] = {
	{.name = "netns", .kind = OPT_STR, .required = true},
	{.name = "ip", .kind = OPT_STR},
	{.name = "mac", .kind = OPT_STR},
	{.name = "name", .kind = OPT_STR},
	{0},
};
static const struct cli_opt ep_ls_opts[] = {{.name = "net", .kind = OPT_STR}, {0}};
static const struct cli_opt join_opts[] = {
	{.name = "wait", .kind = OPT_NUM, .min = 0, .max = CLI_WAIT_MAX},
	{0},
};

static const struct cli_cmd cmds[] = {
	{
		.name = "net",
		.sub = "create",
		.handler = cmd_net_create,
		.usage = "net create NAME [--subnet CIDR] [--vni N] [--mtu N] [--gateway IP] "
			 "[--port N]",
		.summary = "create a network",
		.help = "Creates the overlay network NAME (POST /v1/networks) and prints it.\n\n"
			"  --subnet CIDR   the IPv4 subnet, e.g. 10.10.0.0/24 (default: the first\n"
			"                  unused one of the agent's --default-pool that overlaps\n"
			"                  no network of the cluster and no route of the host)\n"
			"  --vni N         VXLAN network identifier, 1-16777215 (default:\n"
			"                  the lowest VNI from 1 that no network uses)\n"
			"  --mtu N         MTU of the network's interfaces, 1-65535 (default: the\n"
			"                  underlay's MTU minus 50)\n"
			"  --gateway IP    gateway address inside the subnet (default: none)\n"
			"  --port N        VXLAN UDP port, 1-65535 (default: the agent's\n"
			"                  --vxlan-port)\n\n"
			"Example: vxmesh net create blue --subnet 10.10.0.0/24 --vni 100\n",
		.opts = net_create_opts,
		.pos = {"NAME"},
		.pos_min = 1,
		.pos_max = 1,
	},
	{
		.name = "net",
		.sub = "ls",
		.handler = cmd_net_ls,
		.usage = "net ls",
		.summary = "list networks",
		.help = "Lists the networks (GET /v1/networks): name, VNI, subnet, gateway, MTU,\n"
			"VXLAN port and the number of endpoints.\n",
	},
	{
		.name = "net",
		.sub = "inspect",
		.handler = cmd_net_inspect,
		.usage = "net inspect NAME",
		.summary = "show a network, its endpoints and address use",
		.help = "Shows the network NAME (GET /v1/networks/NAME): its settings, the kernel\n"
			"devices that carry it, the address pool (capacity, leased, free) and the\n"
			"table of its endpoints.\n",
		.pos = {"NAME"},
		.pos_min = 1,
		.pos_max = 1,
	},
	{
		.name = "net",
		.sub = "rm",
		.handler = cmd_net_rm,
		.usage = "net rm NAME",
		.summary = "delete a network",
		.help = "Deletes the network NAME (DELETE /v1/networks/NAME).  The agent refuses\n"
			"while the network still has endpoints; detach them first.\n",
		.pos = {"NAME"},
		.pos_min = 1,
		.pos_max = 1,
	},
	{
		.name = "ep",
		.sub = "attach",
		.handler = cmd_ep_attach,
		.usage = "ep attach NET --netns NS [--ip IP] [--mac MAC] [--name IFNAME]",
		.summary = "attach a network namespace to a network",
		.help = "Creates an endpoint of network NET inside a network namespace\n"
			"(POST /v1/endpoints) and prints it: id, address, MAC, interface.\n\n"
			"  --netns NS      a name under /run/netns or an absolute path (required)\n"
			"  --ip IP         the address to lease, a plain address inside\n"
			"                  the subnet (default: the next free one)\n"
			"  --mac MAC       the interface's MAC (default: random, locally\n"
			"                  administered)\n"
			"  --name IFNAME   the interface name inside the namespace (default:\n"
			"                  vx-NET, cut to 15 bytes)\n\n"
			"Example: vxmesh ep attach blue --netns c1 --ip 10.10.0.5\n",
		.opts = ep_attach_opts,
		.pos = {"NET"},
		.pos_min = 1,
		.pos_max = 1,
	},
	{
		.name = "ep",
		.sub = "detach",
		.handler = cmd_ep_detach,
		.usage = "ep detach ID",
		.summary = "detach an endpoint",
		.help = "Deletes the endpoint ID (DELETE /v1/endpoints/ID): removes its interface\n"
			"and releases its address.\n",
		.pos = {"ID"},
		.pos_min = 1,
		.pos_max = 1,
	},
	{
		.name = "ep",
		.sub = "ls",
		.handler = cmd_ep_ls,
		.usage = "ep ls [--net NET]",
		.summary = "list endpoints",
		.help = "Lists the endpoints on this host (GET /v1/endpoints), or only those of\n"
			"network NET.  STATUS is ok, netns-missing or error: REASON.\n\n"
			"  --net NET       only endpoints of this network\n",
		.opts = ep_ls_opts,
	},
	{
		.name = "fdb",
		.handler = cmd_fdb,
		.usage = "fdb [NET]",
		.summary = "show the forwarding entries the agent manages",
		.help = "Shows the VXLAN forwarding database as the agent sees it (GET /v1/fdb),\n"
			"for every network or only NET.  WHY says why a row is there: remote\n"
			"endpoint, missing (will be installed), stale (will be removed) or not\n"
			"ours (left alone).\n",
		.pos = {"NET"},
		.pos_max = 1,
	},
	{
		.name = "status",
		.handler = cmd_status,
		.usage = "status",
		.summary = "show the agent's status",
		.help = "Shows the agent's identity, addresses, counts and reconcile statistics\n"
			"(GET /v1/status).\n",
	},
	{
		.name = "reconcile",
		.handler = cmd_reconcile,
		.usage = "reconcile",
		.summary = "run a reconcile pass now",
		.help = "Asks the agent to compare the kernel with its desired state and\n"
			"repair the difference now (POST /v1/reconcile); prints the\n"
			"reconcile statistics.\n",
	},
	{
		.name = "members",
		.handler = cmd_members,
		.usage = "members",
		.summary = "list the members of the cluster",
		.help = "Lists the members of the gossip cluster as this agent sees them\n"
			"(GET /v1/members).  NAME is marked with * for this agent; KIND is vxmesh\n"
			"for agents and other for anything else in the cluster (serf agents);\n"
			"STATE is alive, suspect, dead or left; INC the member's incarnation;\n"
			"SEEN how long ago its state last changed.\n",
	},
	{
		.name = "join",
		.handler = cmd_join,
		.usage = "join ADDR[:PORT]... [--wait SECONDS]",
		.summary = "join a cluster through one or more of its members",
		.help = "Asks the agent to contact the cluster members at ADDR[:PORT] (POST\n"
			"/v1/join); ADDR is an IPv4 address, PORT defaults to 7946.  Addresses\n"
			"may also be given as a comma-separated list.  Then waits until a member\n"
			"other than this agent is alive (GET /v1/members every 200 ms) and prints\n"
			"how many members are alive.  Exits 1 if none answers in time.\n\n"
			"  --wait SECONDS  how long to wait, 0-3600 (default: 5); 0 returns as\n"
			"                  soon as the agent has started contacting them\n\n"
			"Example: vxmesh join 192.0.2.2 192.0.2.3:7946\n",
		.opts = join_opts,
		.pos = {"ADDR"},
		.pos_min = 1,
		.pos_max = CLI_POS_MANY,
	},
	{
		.name = "leave",
		.handler = cmd_leave,
		.usage = "leave",
		.summary = "leave the cluster and stop the agent",
		.help = "Asks the agent to announce that it leaves the cluster (POST /v1/leave).\n"
			"The agent exits once the announcement has spread; the other members\n"
			"then show it as left rather than dead.\n",
	},
	{
		.name = "token",
		.handler = cmd_token,
		.usage = "token",
		.summary = "print a join token for another host's agent",
		.help = "Prints a token (GET /v1/token) for 'vxmesh agent --join-token TOKEN' on\n"
			"another host: it carries this agent's gossip address and, when gossip is\n"
			"encrypted, the primary key.  Such a token is a secret; a note on stderr\n"
			"says so.\n",
	},
	{
		.name = "key",
		.sub = "generate",
		.handler = cmd_key_generate,
		.usage = "key generate",
		.summary = "print a new random gossip key",
		.help = "Prints a new random 32-byte key, base64-encoded, for 'vxmesh agent\n"
			"--encrypt KEY' and 'vxmesh key install KEY'.  Runs locally: no agent is\n"
			"needed.  Keep the key secret.\n",
		.secret = true,
	},
	{
		.name = "key",
		.sub = "list",
		.handler = cmd_key_list,
		.usage = "key list",
		.summary = "list the gossip keys by fingerprint",
		.help = "Lists the gossip keys the agent holds (GET /v1/keys) by fingerprint; the\n"
			"keys themselves are never shown.  The PRIMARY key encrypts; the others\n"
			"are accepted when decrypting.\n",
		.secret = true,
	},
	{
		.name = "key",
		.sub = "install",
		.handler = cmd_key_change,
		.usage = "key install KEY",
		.summary = "add a gossip key, accepted but not yet used",
		.help = "Adds KEY to the agent's keyring (POST /v1/keys): messages encrypted with\n"
			"it are accepted, while the agent keeps encrypting with the primary\n"
			"key.\n\n"
			"Rotating the key without downtime: 'key install NEW' on every node, then\n"
			"'key use NEW' on every node, then 'key remove OLD' on every node.\n",
		.pos = {"KEY"},
		.pos_min = 1,
		.pos_max = 1,
		.secret = true,
	},
	{
		.name = "key",
		.sub = "use",
		.handler = cmd_key_change,
		.usage = "key use KEY",
		.summary = "make an installed gossip key the primary one",
		.help = "Makes the installed key KEY the one the agent encrypts with\n"
			"(PUT /v1/keys/primary).\n",
		.pos = {"KEY"},
		.pos_min = 1,
		.pos_max = 1,
		.secret = true,
	},
	{
		.name = "key",
		.sub = "remove",
		.handler = cmd_key_change,
		.usage = "key remove KEY",
		.summary = "remove a gossip key",
		.help = "Removes KEY from the agent's keyring (DELETE /v1/keys).  The agent\n"
			"refuses to remove the primary key: make another key primary first.\n",
		.pos = {"KEY"},
		.pos_min = 1,
		.pos_max = 1,
		.secret = true,
	},
	{
		.name = "ipam",
		.handler = cmd_ipam,
		.usage = "ipam [NETWORK]",
		.summary = "show who owns which addresses",
		.help = "Shows cluster-wide address ownership (GET /v1/ipam[/NETWORK]): for each\n"
			"network the ranges of its subnet and the host that owns each one, and\n"
			"per host the addresses it owns, has free and has leased.  Hosts give\n"
			"each other space on demand; a dead host keeps its ranges until\n"
			"'vxmesh node rm' hands them to the host it runs on.\n",
		.pos = {"NETWORK"},
		.pos_max = 1,
	},
	{
		.name = "node",
		.sub = "rm",
		.handler = cmd_node_rm,
		.usage = "node rm NAME",
		.summary = "remove a dead host: take over its addresses",
		.help = "Removes the dead member NAME (DELETE /v1/nodes/NAME): the address ranges\n"
			"it owned in every network become this host's, its endpoints are\n"
			"withdrawn everywhere and their addresses released, and its node id is\n"
			"retired (if it ever comes back it refuses to allocate until its state\n"
			"directory is removed).  Refused while NAME is alive or suspect.\n\n"
			"Run it once, on one host, for a host that is gone for good, after its\n"
			"last changes had time to spread (a minute).  NAME may also be a node id\n"
			"as 'vxmesh ipam' shows it.\n",
		.pos = {"NAME"},
		.pos_min = 1,
		.pos_max = 1,
	},
	{
		.name = "version",
		.handler = cmd_version,
		.usage = "version",
		.summary = "show the client's and the agent's version",
		.help = "Prints the client's version and the agent's (GET /v1/version).  Succeeds\n"
			"even when the agent cannot be reached; its line then says why.\n",
	},
	{
		/* dispatched by main() before cli_main(); listed for the help */
		.name = "agent",
		.usage = "agent [OPTIONS]",
		.summary = "run the per-host agent (see vxmesh agent --help)",
		.help = "Runs the agent that owns this host's overlay state, gossips with the\n"
			"other agents of its cluster and serves the control API.  Its options\n"
			"are listed by 'vxmesh agent --help'.\n",
	},
	{
		.name = "help",
		.handler = cmd_help,
		.usage = "help [COMMAND [SUBCOMMAND]]",
		.summary = "show help",
		.help = "Shows the list of commands, or the help of one command.\n",
		.pos = {"COMMAND", "SUBCOMMAND"},
		.pos_max = 2,
	},
};
#define NCMDS ARRAY_SIZE(cmds)

/* ---- small helpers ------------------------------------------------------ */

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

/* A copy of s fit for a terminal: control bytes become '?'. */
static char *str_clean(const char *s)
{
	char *d = strdup(s);

	if (!d)
		return NULL;
	for (unsigned char *p = (unsigned char *)d; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
	return d;
}

/* Columns a string takes: UTF-8 continuation bytes take none. */
static size_t str_width(const char *s)
{
	size_t w = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p & 0xc0) != 0x80)
			w++;
	return w;
}

static void pad(FILE *f, size_t n)
{
	while (n--)
		fputc(' ', f);
}

__attribute__((format(printf, 2, 3))) static int malformed(struct cli_call *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->bad, sizeof(c->bad), fmt, ap);
	va_end(ap);
	return -EPROTO;
}

static const struct cli_opt *opt_find(const struct cli_cmd *cmd, const char *name, size_t len,
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

static const char *opt_get(const struct cli_call *c, const char *name)
{
	int i;

	if (!opt_find(c->cmd, name, strlen(name), &i))
		return NULL;
	return c->opt[i];
}

/* ---- help ---------------------------------------------------------------- */

static void cmd_label(const struct cli_cmd *cmd, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", cmd->name, cmd->sub ? " " : "", cmd->sub ? cmd->sub : "");
}

static void help_list(FILE *f, const char *group)
{
	char label[64];
	size_t w = 0;

	for (size_t i = 0; i < NCMDS; i++) {
		if (group && strcmp(cmds[i].name, group))
			continue;
		cmd_label(&cmds[i], label, sizeof(label));
		if (strlen(label) > w)
			w = strlen(label);
	}
	for (size_t i = 0; i < NCMDS; i++) {
		if (group && strcmp(cmds[i].name, group))
			continue;
		cmd_label(&cmds[i], label, sizeof(label));
		fprintf(f, "  %s", label);
		pad(f, w - strlen(label) + 3);
		fprintf(f, "%s\n", cmds[i].summary);
	}
}

static void help_global(FILE *f)
{
	fprintf(f, "Usage: %s\n\n", CLI_GLOBAL_USE);
	fputs("Manage VXLAN overlay networks through the local vxmesh agent.\n\nCommands:\n", f);
	help_list(f, NULL);
	fputs("\nOptions accepted anywhere on the command line:\n"
	      "  --socket PATH   the agent's control socket (default: $VXMESH_SOCKET,\n"
	      "                  else " VXMESH_SOCKET_DEFAULT ")\n"
	      "  --json          print the agent's JSON reply instead of text\n"
	      "  -h, --help      show help for the command\n"
	      "\nExit status: 0 success, 1 the agent refused the request (or no member\n"
	      "answered a join in time), 2 bad command line, 3 the agent is unreachable.\n"
	      "Run 'vxmesh help COMMAND [SUBCOMMAND]' for details on one command.\n",
	      f);
}

static void usage_group(FILE *f, const char *group)
{
	const char *lead = "Usage:";

	for (size_t i = 0; i < NCMDS; i++) {
		if (strcmp(cmds[i].name, group))
			continue;
		fprintf(f, "%s vxmesh %s\n", lead, cmds[i].usage);
		lead = "      ";
	}
}

static void help_group(FILE *f, const char *group)
{
	usage_group(f, group);
	fputs("\nCommands:\n", f);
	help_list(f, group);
	fprintf(f, "\nRun 'vxmesh %s COMMAND --help' for details on one command.\n", group);
}

static void help_cmd(FILE *f, const struct cli_cmd *cmd)
{
	fprintf(f, "Usage: vxmesh %s\n\n%s", cmd->usage, cmd->help);
}

static bool is_group(const char *name)
{
	for (size_t i = 0; i < NCMDS; i++)
		if (!strcmp(cmds[i].name, name) && cmds[i].sub)
			return true;
	return false;
}

static bool is_secret_group(const char *name)
{
	for (size_t i = 0; i < NCMDS; i++)
		if (!strcmp(cmds[i].name, name) && cmds[i].sub && cmds[i].secret)
			return true;
	return false;
}

/* The name of positional argument i; the last name repeats. */
static const char *pos_name(const struct cli_cmd *cmd, int i)
{
	int k = i < CLI_POS_MAX ? i : CLI_POS_MAX - 1;

	while (k > 0 && !cmd->pos[k])
		k--;
	return cmd->pos[k];
}

static const struct cli_cmd *cmd_find(const char *name, const char *sub)
{
	for (size_t i = 0; i < NCMDS; i++) {
		if (strcmp(cmds[i].name, name))
			continue;
		if (!cmds[i].sub || (sub && !strcmp(cmds[i].sub, sub)))
			return &cmds[i];
	}
	return NULL;
}

/* ---- command line -------------------------------------------------------- */

/* Prints "vxmesh: <problem>" and the usage that fits what was parsed so far. */
__attribute__((format(printf, 2, 3))) static int usage_err(struct cli_call *c, const char *fmt, ...)
{
	va_list ap;

	fputs("vxmesh: ", c->err);
	va_start(ap, fmt);
	vfprintf(c->err, fmt, ap);
	va_end(ap);
	fputc('\n', c->err);
	if (c->cmd) {
		fprintf(c->err, "Usage: vxmesh %s\n", c->cmd->usage);
	} else if (c->group) {
		usage_group(c->err, c->group);
	} else {
		fprintf(c->err, "Usage: %s\n", CLI_GLOBAL_USE);
		fputs("Run 'vxmesh help' for the list of commands.\n", c->err);
	}
	return CLI_EXIT_USAGE;
}

static int parse_word(struct cli_call *c, const char *a)
{
	if (!c->group) {
		if (is_group(a)) {
			c->group = a;
			return 0;
		}
		c->cmd = cmd_find(a, NULL);
		if (!c->cmd)
			return usage_err(c, "unknown command '%s'", a);
		return 0;
	}
	c->cmd = cmd_find(c->group, a);
	if (!c->cmd && is_secret_group(c->group)) /* the word may be a mistyped key */
		return usage_err(c, "unknown %s command", c->group);
	if (!c->cmd)
		return usage_err(c, "unknown %s command '%s'", c->group, a);
	return 0;
}

static int parse_opt(struct cli_call *c, int argc, char **argv, int *i)
{
	const char *a = argv[*i], *name, *eq, *val = NULL;
	const struct cli_opt *o;
	unsigned long num;
	size_t len;
	int k;

	if (strncmp(a, "--", 2))
		return usage_err(c, "unknown option '%s'", a);
	name = a + 2;
	eq = strchr(name, '=');
	len = eq ? (size_t)(eq - name) : strlen(name);
	if (eq)
		val = eq + 1;

	if (len == 4 && !strncmp(name, "json", 4)) {
		if (val)
			return usage_err(c, "option --json takes no value");
		c->json = true;
		return 0;
	}
	if (len == 6 && !strncmp(name, "socket", 6)) {
		if (!val && *i + 1 < argc)
			val = argv[++*i];
		if (!val || !*val)
			return usage_err(c, "option --socket needs a path");
		c->sock = val;
		return 0;
	}
	o = c->cmd ? opt_find(c->cmd, name, len, &k) : NULL;
	if (!o)
		return usage_err(c, "unknown option '--%.*s'", (int)len, name);
	if (!val && *i + 1 < argc)
		val = argv[++*i];
	if (!val)
		return usage_err(c, "option --%s needs a value", o->name);
	if (c->opt[k])
		return usage_err(c, "option --%s given more than once", o->name);
	if (!*val)
		return usage_err(c, "option --%s needs a non-empty value", o->name);
	if (o->kind == OPT_NUM && cli_num_parse(val, o->min, o->max, &num))
		return usage_err(c, "invalid number for --%s: '%s' (expected %lu-%lu)", o->name,
				 val, o->min, o->max);
	c->opt[k] = val;
	return 0;
}

/* Fills c from argv.  Returns CLI_EXIT_OK with c->cmd set (or c->help set, in
 * which case c->cmd/c->group say how far the command was named), or
 * CLI_EXIT_USAGE after printing the problem. */
static int parse(struct cli_call *c, int argc, char **argv)
{
	bool dashdash = false;
	int ret;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!dashdash && a[0] == '-' && a[1]) {
			if (!strcmp(a, "--")) {
				dashdash = true;
				continue;
			}
			if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
				c->help = true;
				return CLI_EXIT_OK;
			}
			ret = parse_opt(c, argc, argv, &i);
			if (ret)
				return ret;
			continue;
		}
		if (!c->cmd) {
			ret = parse_word(c, a);
			if (ret)
				return ret;
			continue;
		}
		if (c->npos == c->cmd->pos_max && c->cmd->secret)
			return usage_err(c, "too many arguments");
		if (c->npos == c->cmd->pos_max)
			return usage_err(c, "unexpected argument '%s'", a);
		if (!*a)
			return usage_err(c, "%s must not be empty", pos_name(c->cmd, c->npos));
		c->pos[c->npos++] = a;
	}
	if (!c->cmd && c->group)
		return usage_err(c, "missing %s command", c->group);
	if (!c->cmd)
		return usage_err(c, "missing command");
	if (c->npos < c->cmd->pos_min)
		return usage_err(c, "missing %s", pos_name(c->cmd, c->npos));
	for (int k = 0; c->cmd->opts && c->cmd->opts[k].name; k++)
		if (c->cmd->opts[k].required && !c->opt[k])
			return usage_err(c, "missing --%s", c->cmd->opts[k].name);
	return CLI_EXIT_OK;
}

/* ---- HTTP ---------------------------------------------------------------- */

enum res_kind {
	RES_OK,		 /* 2xx with a JSON object */
	RES_API,	 /* the agent answered with an error */
	RES_BAD,	 /* the answer is not what docs/api.md promises */
	RES_UNREACHABLE, /* nobody accepted the connection */
	RES_TRANSPORT,	 /* connected, but the exchange failed */
};

struct api_res {
	enum res_kind kind;
	long status;
	json_t *root;  /* RES_OK: the reply; release with json_decref() */
	char msg[256]; /* RES_API: the agent's message; others: the reason */
};

struct rbuf {
	char *p;
	size_t len;
	bool too_big;
};

static size_t rbuf_write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct rbuf *b = ud;
	size_t n = size * nmemb;
	char *np;

	if (n > CLI_REPLY_MAX - b->len) {
		b->too_big = true;
		return 0;
	}
	np = realloc(b->p, b->len + n + 1);
	if (!np)
		return 0;
	memcpy(np + b->len, ptr, n);
	b->p = np;
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

static void res_set(struct api_res *r, enum res_kind kind, const char *msg)
{
	char *clean = str_clean(msg);

	r->kind = kind;
	snprintf(r->msg, sizeof(r->msg), "%s", clean ? clean : "out of memory");
	free(clean);
}

static void res_parse(struct api_res *r, const struct rbuf *b)
{
	json_error_t jerr;
	json_t *root, *err, *msg;
	char tmp[200];

	root = json_loadb(b->p ? b->p : "", b->len, JSON_REJECT_DUPLICATES, &jerr);
	if (r->status >= 200 && r->status < 300) {
		if (!root) {
			snprintf(tmp, sizeof(tmp), "invalid JSON: %s", jerr.text);
			res_set(r, RES_BAD, tmp);
		} else if (!json_is_object(root)) {
			res_set(r, RES_BAD, "the reply is not a JSON object");
		} else {
			r->kind = RES_OK;
			r->root = root;
			return;
		}
		json_decref(root);
		return;
	}
	err = json_object_get(root, "error");
	msg = json_object_get(err, "message");
	if (json_is_object(err) && json_is_string(msg) && json_string_length(msg)) {
		res_set(r, RES_API, json_string_value(msg));
	} else {
		snprintf(tmp, sizeof(tmp), "the agent answered HTTP %ld without an error message",
			 r->status);
		res_set(r, RES_API, tmp);
	}
	json_decref(root);
}

/* Sends one request to the agent and sorts the outcome into r. */
static void api_request(const struct cli_call *c, const char *method, const char *path,
			const json_t *body, struct api_res *r)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL, *h2;
	struct rbuf b = {0};
	char *url = NULL, *data = NULL;
	long os_errno = 0;
	CURLcode rc;
	CURL *h;

	memset(r, 0, sizeof(*r));
	if (strlen(c->sock) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		res_set(r, RES_UNREACHABLE, "socket path too long");
		return;
	}
	h = curl_easy_init();
	if (!h || asprintf(&url, "http://vxmesh%s", path) < 0) {
		url = NULL;
		res_set(r, RES_TRANSPORT, "out of memory");
		goto out_cleanup;
	}
	/* No Expect: 100-continue, and no form Content-Type on an empty POST. */
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (hdrs) {
		h2 = curl_slist_append(hdrs,
				       body ? "Content-Type: application/json" : "Content-Type:");
		if (!h2) {
			curl_slist_free_all(hdrs);
			hdrs = NULL;
		} else {
			hdrs = h2;
		}
	}
	if (body)
		data = json_dumps(body, JSON_COMPACT);
	if (!hdrs || (body && !data)) {
		res_set(r, RES_TRANSPORT, "out of memory");
		goto out_free;
	}

	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->sock);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, CLI_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, rbuf_write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	if (!strcmp(method, "POST") || data) {
		/* PUT and DELETE with a body too: POSTFIELDS sends it, and
		 * CUSTOMREQUEST below names the method. */
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, data ? (long)strlen(data) : 0L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, data ? data : "");
	}
	if (strcmp(method, "GET") && strcmp(method, "POST"))
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);

	rc = curl_easy_perform(h);
	if (rc == CURLE_COULDNT_CONNECT) {
		curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
		res_set(r, RES_UNREACHABLE,
			os_errno  ? strerror((int)os_errno)
			: *errbuf ? errbuf
				  : curl_easy_strerror(rc));
	} else if (rc == CURLE_WRITE_ERROR && b.too_big) {
		res_set(r, RES_TRANSPORT, "the reply is larger than 16 MiB");
	} else if (rc != CURLE_OK) {
		res_set(r, RES_TRANSPORT, *errbuf ? errbuf : curl_easy_strerror(rc));
	} else {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
		res_parse(r, &b);
	}

out_free:
	/* bodies and replies may carry a key or a token */
	if (data)
		sodium_memzero(data, strlen(data));
	free(data);
	if (b.p)
		sodium_memzero(b.p, b.len);
	free(b.p);
	curl_slist_free_all(hdrs);
out_cleanup:
	free(url);
	curl_easy_cleanup(h);
}

/* Prints the outcome of a failed request; returns the exit code. */
static int res_report(const struct cli_call *c, const struct api_res *r)
{
	switch (r->kind) {
	case RES_OK:
		return CLI_EXIT_OK;
	case RES_API:
		fprintf(c->err, "vxmesh: %s\n", r->msg);
		return CLI_EXIT_API;
	case RES_BAD:
		fprintf(c->err, "vxmesh: malformed reply from the agent: %s\n", r->msg);
		return CLI_EXIT_API;
	case RES_UNREACHABLE:
		fprintf(c->err,
			"vxmesh: cannot reach the agent at %s: %s (is 'vxmesh agent' running?)\n",
			c->sock, r->msg);
		return CLI_EXIT_UNREACHABLE;
	case RES_TRANSPORT:
		break;
	}
	fprintf(c->err, "vxmesh: request to the agent at %s failed: %s\n", c->sock, r->msg);
	return CLI_EXIT_UNREACHABLE;
}

static int json_print(struct cli_call *c, const json_t *root)
{
	char *s = json_dumps(root, JSON_INDENT(2));

	if (!s) {
		fputs("vxmesh: out of memory\n", c->err);
		return CLI_EXIT_API;
	}
	fprintf(c->out, "%s\n", s);
	free(s);
	return CLI_EXIT_OK;
}

typedef int (*printer_fn)(struct cli_call *c, FILE *f, json_t *reply);

/* Sends the request (stealing body), then prints the reply as JSON or through
 * print.  The printer writes into memory first: nothing reaches c->out unless
 * the whole reply was well-formed.  Returns the exit code. */
static int api_run(struct cli_call *c, const char *method, const char *path, json_t *body,
		   printer_fn print)
{
	struct api_res r;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int ret;

	api_request(c, method, path, body, &r);
	json_decref(body);
	if (r.kind != RES_OK)
		return res_report(c, &r);
	if (c->json) {
		ret = json_print(c, r.root);
		goto out_put;
	}
	f = open_memstream(&text, &len);
	if (!f) {
		fputs("vxmesh: out of memory\n", c->err);
		ret = CLI_EXIT_API;
		goto out_put;
	}
	ret = print(c, f, r.root);
	if (fclose(f) && !ret)
		ret = -ENOMEM;
	if (ret == -EPROTO) {
		fprintf(c->err, "vxmesh: malformed reply from the agent: %s\n", c->bad);
		ret = CLI_EXIT_API;
	} else if (ret) {
		fputs("vxmesh: out of memory\n", c->err);
		ret = CLI_EXIT_API;
	} else {
		fwrite(text, 1, len, c->out);
	}
	free(text);
out_put:
	json_decref(r.root);
	return ret;
}

/* ---- printers ------------------------------------------------------------ */

enum fkind {
	F_STR,
	F_INT,
	F_BOOL,
	F_AGO, /* milliseconds, printed as "5s ago" */
};

static void ago_fmt(json_int_t ms, char *buf, size_t len)
{
	json_int_t s = ms / 1000;

	if (s < 60)
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT "s ago", s);
	else if (s < 3600)
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT "m ago", s / 60);
	else if (s < 86400)
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT "h ago", s / 3600);
	else
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT "d ago", s / 86400);
}

/* Formats one field; NULL or JSON null prints as "-".  Returns 0, -EPROTO on
 * a wrong type (with c->bad set) or -ENOMEM. */
static int field_fmt(struct cli_call *c, const json_t *v, enum fkind kind, const char *name,
		     char **out)
{
	char num[32];

	*out = NULL;
	if (!v || json_is_null(v)) {
		*out = strdup("-");
	} else if (kind == F_STR) {
		if (!json_is_string(v))
			return malformed(c, "\"%s\" is not a string", name);
		*out = str_clean(json_string_value(v));
	} else if (kind == F_INT) {
		if (!json_is_integer(v))
			return malformed(c, "\"%s\" is not an integer", name);
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		*out = strdup(num);
	} else if (kind == F_AGO) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return malformed(c, "\"%s\" is not a count of milliseconds", name);
		ago_fmt(json_integer_value(v), num, sizeof(num));
		*out = strdup(num);
	} else {
		if (!json_is_boolean(v))
			return malformed(c, "\"%s\" is not a boolean", name);
		*out = strdup(json_is_true(v) ? "true" : "false");
	}
	return *out ? 0 : -ENOMEM;
}

struct col {
	const char *head;
	const char *key;
	enum fkind kind;
};

static int cell_mark(struct cli_call *c, const json_t *row, const char *mark, char **cell)
{
	const json_t *m = json_object_get(row, mark);
	char *s;

	if (!m || json_is_null(m) || json_is_false(m))
		return 0;
	if (!json_is_true(m))
		return malformed(c, "\"%s\" is not a boolean", mark);
	if (asprintf(&s, "%s*", *cell) < 0)
		return -ENOMEM;
	free(*cell);
	*cell = s;
	return 0;
}

/* Prints arr, a list of objects, as aligned columns under a header.  A row
 * whose boolean key `mark` is true gets a "*" after its first cell. */
static int table_print_mark(struct cli_call *c, FILE *f, const json_t *arr, const char *what,
			    const struct col *cols, size_t ncols, const char *mark)
{
	size_t nrows, w[8] = {0};
	char **cells;
	int ret = 0;

	if (ncols > ARRAY_SIZE(w))
		return -EINVAL;
	if (!json_is_array(arr))
		return malformed(c, "\"%s\" is not a list", what);
	nrows = json_array_size(arr);
	cells = calloc(nrows * ncols + 1, sizeof(*cells));
	if (!cells)
		return -ENOMEM;
	for (size_t j = 0; j < ncols; j++)
		w[j] = str_width(cols[j].head);
	for (size_t i = 0; i < nrows && !ret; i++) {
		const json_t *row = json_array_get(arr, i);

		if (!json_is_object(row)) {
			ret = malformed(c, "\"%s\"[%zu] is not an object", what, i);
			break;
		}
		for (size_t j = 0; j < ncols && !ret; j++) {
			char **cell = &cells[i * ncols + j];

			ret = field_fmt(c, json_object_get(row, cols[j].key), cols[j].kind,
					cols[j].key, cell);
			if (!ret && !j && mark)
				ret = cell_mark(c, row, mark, cell);
			if (!ret && str_width(*cell) > w[j])
				w[j] = str_width(*cell);
		}
	}
	for (size_t i = 0; i <= nrows && !ret; i++) {
		for (size_t j = 0; j < ncols; j++) {
			const char *s = i ? cells[(i - 1) * ncols + j] : cols[j].head;

			fputs(s, f);
			if (j + 1 < ncols)
				pad(f, w[j] - str_width(s) + 2);
		}
		fputc('\n', f);
	}
	for (size_t i = 0; i < nrows * ncols; i++)
		free(cells[i]);
	free(cells);
	return ret;
}

static int table_print(struct cli_call *c, FILE *f, const json_t *arr, const char *what,
		       const struct col *cols, size_t ncols)
{
	return table_print_mark(c, f, arr, what, cols, ncols, NULL);
}

struct kv {
	const char *path; /* dotted: "node.id" */
	enum fkind kind;
};

static int kv_lookup(struct cli_call *c, const json_t *obj, const char *path, const json_t **out)
{
	char key[64];

	*out = NULL;
	while (obj) {
		const char *dot = strchr(path, '.');
		size_t len = dot ? (size_t)(dot - path) : strlen(path);

		snprintf(key, sizeof(key), "%.*s", (int)len, path);
		obj = json_object_get(obj, key);
		if (!dot)
			break;
		if (obj && !json_is_null(obj) && !json_is_object(obj))
			return malformed(c, "\"%s\" is not an object", key);
		path = dot + 1;
	}
	*out = obj;
	return 0;
}

/* Prints "key: value" lines, values aligned. */
static int kv_print(struct cli_call *c, FILE *f, const json_t *obj, const struct kv *fields,
		    size_t n)
{
	char *vals[32] = {0};
	size_t w = 0;
	int ret = 0;

	if (n > ARRAY_SIZE(vals))
		return -EINVAL;
	for (size_t i = 0; i < n && !ret; i++) {
		const json_t *v;

		ret = kv_lookup(c, obj, fields[i].path, &v);
		if (!ret)
			ret = field_fmt(c, v, fields[i].kind, fields[i].path, &vals[i]);
		if (strlen(fields[i].path) > w)
			w = strlen(fields[i].path);
	}
	for (size_t i = 0; i < n && !ret; i++) {
		fprintf(f, "%s:", fields[i].path);
		pad(f, w - strlen(fields[i].path) + 1);
		fprintf(f, "%s\n", vals[i]);
	}
	for (size_t i = 0; i < n; i++)
		free(vals[i]);
	return ret;
}

static const struct kv net_kv[] = {
	{"name", F_STR},      {"vni", F_INT},	    {"subnet", F_STR},	  {"gateway", F_STR},
	{"mtu", F_INT},	      {"mtu_auto", F_BOOL}, {"port", F_INT},	  {"bridge", F_STR},
	{"vxlan_dev", F_STR}, {"created", F_STR},   {"endpoints", F_INT},
};

static const struct kv ep_kv[] = {
	{"id", F_STR},	   {"network", F_STR},	   {"netns", F_STR},
	{"ifname", F_STR}, {"host_ifname", F_STR}, {"ip", F_STR},
	{"mac", F_STR},	   {"status", F_STR},	   {"created", F_STR},
};

static const struct kv reconcile_kv[] = {
	{"interval_ms", F_INT}, {"runs", F_INT},   {"created", F_INT},	  {"removed", F_INT},
	{"repaired", F_INT},	{"errors", F_INT}, {"last_error", F_STR},
};

static const struct kv status_kv[] = {
	{"version", F_STR},
	{"node.id", F_STR},
	{"node.name", F_STR},
	{"uptime_s", F_INT},
	{"state_dir", F_STR},
	{"socket", F_STR},
	{"vtep", F_STR},
	{"vxlan_port", F_INT},
	{"networks", F_INT},
	{"endpoints", F_INT},
	{"reconcile.interval_ms", F_INT},
	{"reconcile.runs", F_INT},
	{"reconcile.created", F_INT},
	{"reconcile.removed", F_INT},
	{"reconcile.repaired", F_INT},
	{"reconcile.errors", F_INT},
	{"reconcile.last_error", F_STR},
	{"cluster.node_name", F_STR},
	{"cluster.advertise", F_STR},
	{"cluster.vtep_advertise", F_STR},
	{"cluster.encrypted", F_BOOL},
	{"cluster.members_alive", F_INT},
	{"cluster.members_suspect", F_INT},
	{"cluster.members_dead", F_INT},
	{"cluster.remote_endpoints", F_INT},
	{"cluster.table_clock", F_INT},
};

static int print_network(struct cli_call *c, FILE *f, json_t *reply)
{
	return kv_print(c, f, reply, net_kv, ARRAY_SIZE(net_kv));
}

static int print_inspect(struct cli_call *c, FILE *f, json_t *reply)
{
	static const struct kv ipam_kv[] = {
		{"ipam.capacity", F_INT}, {"ipam.leased", F_INT}, {"ipam.free", F_INT}};
	static const struct col cols[] = {
		{"ID", "id", F_STR}, {"NETNS", "netns", F_STR}, {"IFNAME", "ifname", F_STR},
		{"IP", "ip", F_STR}, {"MAC", "mac", F_STR},	{"STATUS", "status", F_STR},
	};
	struct kv all[ARRAY_SIZE(net_kv) + ARRAY_SIZE(ipam_kv)];
	const json_t *eps = json_object_get(reply, "endpoint_list");
	int ret;

	memcpy(all, net_kv, sizeof(net_kv));
	memcpy(all + ARRAY_SIZE(net_kv), ipam_kv, sizeof(ipam_kv));
	ret = kv_print(c, f, reply, all, ARRAY_SIZE(all));
	if (ret)
		return ret;
	fputc('\n', f);
	if (!eps)
		eps = json_array(); /* absent: print the header alone */
	else
		json_incref((json_t *)eps);
	if (!eps)
		return -ENOMEM;
	ret = table_print(c, f, eps, "endpoint_list", cols, ARRAY_SIZE(cols));
	json_decref((json_t *)eps);
	return ret;
}

static int print_networks(struct cli_call *c, FILE *f, json_t *reply)
{
	static const struct col cols[] = {
		{"NAME", "name", F_STR},
		{"VNI", "vni", F_INT},
		{"SUBNET", "subnet", F_STR},
		{"GATEWAY", "gateway", F_STR},
		{"MTU", "mtu", F_INT},
		{"PORT", "port", F_INT},
		{"ENDPOINTS", "endpoints", F_INT},
	};
	return table_print(c, f, json_object_get(reply, "networks"), "networks", cols,
			   ARRAY_SIZE(cols));
}

static int print_endpoint(struct cli_call *c, FILE *f, json_t *reply)
{
	return kv_print(c, f, reply, ep_kv, ARRAY_SIZE(ep_kv));
}

static int print_endpoints(struct cli_call *c, FILE *f, json_t *reply)
{
	static const struct col cols[] = {
		{"ID", "id", F_STR},	     {"NETWORK", "network", F_STR},
		{"NETNS", "netns", F_STR},   {"IFNAME", "ifname", F_STR},
		{"IP", "ip", F_STR},	     {"MAC", "mac", F_STR},
		{"STATUS", "status", F_STR},
	};
	return table_print(c, f, json_object_get(reply, "endpoints"), "endpoints", cols,
			   ARRAY_SIZE(cols));
}

static int print_fdb(struct cli_call *c, FILE *f, json_t *reply)
{
	static const struct col cols[] = {
		{"NETWORK", "network", F_STR}, {"DEV", "dev", F_STR}, {"MAC", "mac", F_STR},
		{"IP", "ip", F_STR},	       {"DST", "dst", F_STR}, {"PORT", "port", F_INT},
		{"WHY", "why", F_STR},
	};
	return table_print(c, f, json_object_get(reply, "entries"), "entries", cols,
			   ARRAY_SIZE(cols));
}

static int print_deleted(struct cli_call *c, FILE *f, json_t *reply)
{
	const json_t *v = json_object_get(reply, "deleted");
	char *s;

	if (!json_is_string(v))
		return malformed(c, "\"deleted\" is not a string");
	s = str_clean(json_string_value(v));
	if (!s)
		return -ENOMEM;
	fprintf(f, "deleted %s %s\n", !strcmp(c->cmd->name, "net") ? "network" : "endpoint", s);
	free(s);
	return 0;
}

static int print_status(struct cli_call *c, FILE *f, json_t *reply)
{
	return kv_print(c, f, reply, status_kv, ARRAY_SIZE(status_kv));
}

static int print_reconcile(struct cli_call *c, FILE *f, json_t *reply)
{
	return kv_print(c, f, reply, reconcile_kv, ARRAY_SIZE(reconcile_kv));
}

static int print_members(struct cli_call *c, FILE *f, json_t *reply)
{
	static const struct col cols[] = {
		{"NAME", "name", F_STR},
		{"KIND", "kind", F_STR},
		{"ADDR", "addr", F_STR},
		{"VTEP", "vtep", F_STR},
		{"STATE", "state", F_STR},
		{"INC", "incarnation", F_INT},
		{"SEEN", "last_change_ms_ago", F_AGO},
	};
	return table_print_mark(c, f, json_object_get(reply, "members"), "members", cols,
				ARRAY_SIZE(cols), "self");
}

static int print_leave(struct cli_call *c, FILE *f, json_t *reply)
{
	if (!json_is_true(json_object_get(reply, "leaving")))
		return malformed(c, "\"leaving\" is not true");
	fputs("leaving the cluster; the agent stops when its leave has spread\n", f);
	return 0;
}

/* The key commands that change the keyring, and what each prints first. */
static const struct key_op {
	const char *sub, *method, *path, *done;
} key_ops[] = {
	{"install", "POST", "/v1/keys", "key installed"},
	{"use", "PUT", "/v1/keys/primary", "key is now the primary key"},
	{"remove", "DELETE", "/v1/keys", "key removed"},
};

static const struct key_op *key_op_find(const char *sub)
{
	for (size_t i = 0; sub && i < ARRAY_SIZE(key_ops); i++)
		if (!strcmp(key_ops[i].sub, sub))
			return &key_ops[i];
	return NULL;
}

static int print_keys(struct cli_call *c, FILE *f, json_t *reply)
{
	static const struct col cols[] = {
		{"FINGERPRINT", "fingerprint", F_STR},
		{"PRIMARY", "primary", F_BOOL},
	};
	const json_t *enc = json_object_get(reply, "encrypted");
	const struct key_op *op = key_op_find(c->cmd->sub);
	int ret;

	if (!json_is_boolean(enc))
		return malformed(c, "\"encrypted\" is not a boolean");
	if (op)
		fprintf(f, "%s\n", op->done);
	ret = table_print(c, f, json_object_get(reply, "keys"), "keys", cols, ARRAY_SIZE(cols));
	if (!ret && !json_is_true(enc))
		fputs("gossip is not encrypted\n", f);
	return ret;
}

/* ---- handlers ------------------------------------------------------------ */

static int oom(struct cli_call *c)
{
	fputs("vxmesh: out of memory\n", c->err);
	return CLI_EXIT_API;
}

/* Adds the option `name` to body under the same key, as a JSON integer for
 * numeric options.  Absent options add nothing. */
static int body_add_opt(struct cli_call *c, json_t *body, const char *name, const char *key)
{
	const char *v = opt_get(c, name);
	unsigned long num;
	int k;

	if (!v)
		return 0;
	if (opt_find(c->cmd, name, strlen(name), &k)->kind == OPT_NUM) {
		if (cli_num_parse(v, 0, ~0UL, &num)) /* checked against the range by parse() */
			return -EINVAL;
		return json_object_set_new(body, key, json_integer((json_int_t)num)) ? -ENOMEM : 0;
	}
	return json_object_set_new(body, key, json_string(v)) ? -ENOMEM : 0;
}

/* "/v1/BASE/<escaped seg>[?network=<escaped q>]"; release with free(). */
static char *path_make(const char *base, const char *seg, const char *q)
{
	char *eseg = NULL, *eq = NULL, *path = NULL;

	if (seg && !(eseg = curl_easy_escape(NULL, seg, 0)))
		return NULL;
	if (q && !(eq = curl_easy_escape(NULL, q, 0)))
		goto out_free;
	if (asprintf(&path, "/v1/%s%s%s%s%s", base, eseg ? "/" : "", eseg ? eseg : "",
		     eq ? "?network=" : "", eq ? eq : "") < 0)
		path = NULL;
out_free:
	curl_free(eq);
	curl_free(eseg);
	return path;
}

static int run_path(struct cli_call *c, const char *method, const char *base, const char *seg,
		    const char *q, json_t *body, printer_fn print)
{
	char *path = path_make(base, seg, q);
	int ret;

	if (!path) {
		json_decref(body);
		return oom(c);
	}
	ret = api_run(c, method, path, body, print);
	free(path);
	return ret;
}

static int cmd_net_create(struct cli_call *c)
{
	json_t *body = json_pack("{s:s}", "name", c->pos[0]);

	if (!body || body_add_opt(c, body, "subnet", "subnet") ||
	    body_add_opt(c, body, "vni", "vni") || body_add_opt(c, body, "mtu", "mtu") ||
	    body_add_opt(c, body, "gateway", "gateway") || body_add_opt(c, body, "port", "port")) {
		json_decref(body);
		return oom(c);
	}
	return api_run(c, "POST", "/v1/networks", body, print_network);
}

static int cmd_net_ls(struct cli_call *c)
{
	return api_run(c, "GET", "/v1/networks", NULL, print_networks);
}

static int cmd_net_inspect(struct cli_call *c)
{
	return run_path(c, "GET", "networks", c->pos[0], NULL, NULL, print_inspect);
}

static int cmd_net_rm(struct cli_call *c)
{
	return run_path(c, "DELETE", "networks", c->pos[0], NULL, NULL, print_deleted);
}

static int cmd_ep_attach(struct cli_call *c)
{
	json_t *body = json_pack("{s:s, s:s}", "network", c->pos[0], "netns", opt_get(c, "netns"));

	if (!body || body_add_opt(c, body, "ip", "ip") || body_add_opt(c, body, "mac", "mac") ||
	    body_add_opt(c, body, "name", "ifname")) {
		json_decref(body);
		return oom(c);
	}
	return api_run(c, "POST", "/v1/endpoints", body, print_endpoint);
}

static int cmd_ep_detach(struct cli_call *c)
{
	return run_path(c, "DELETE", "endpoints", c->pos[0], NULL, NULL, print_deleted);
}

static int cmd_ep_ls(struct cli_call *c)
{
	return run_path(c, "GET", "endpoints", NULL, opt_get(c, "net"), NULL, print_endpoints);
}

static int cmd_fdb(struct cli_call *c)
{
	return run_path(c, "GET", "fdb", NULL, c->npos ? c->pos[0] : NULL, NULL, print_fdb);
}

static int cmd_status(struct cli_call *c)
{
	return api_run(c, "GET", "/v1/status", NULL, print_status);
}

static int cmd_reconcile(struct cli_call *c)
{
	return api_run(c, "POST", "/v1/reconcile", NULL, print_reconcile);
}

static int cmd_version(struct cli_call *c)
{
	const char *agent = NULL, *state = "unreachable";
	struct api_res r;
	const json_t *v;
	char *clean = NULL;
	json_t *out;
	int ret;

	api_request(c, "GET", "/v1/version", NULL, &r);
	if (r.kind == RES_OK) {
		v = json_object_get(r.root, "version");
		if (json_is_string(v)) {
			agent = json_string_value(v);
		} else {
			r.kind = RES_BAD;
			snprintf(r.msg, sizeof(r.msg), "malformed reply: no \"version\" string");
		}
	}
	if (r.kind == RES_API || r.kind == RES_BAD)
		state = "error";
	if (c->json) {
		out = json_pack("{s:s, s:s?}", "client", vxmesh_version, "agent", agent);
		ret = out ? json_print(c, out) : oom(c);
		json_decref(out);
		goto out_put;
	}
	fprintf(c->out, "vxmesh %s\n", vxmesh_version);
	if (agent && (clean = str_clean(agent)))
		fprintf(c->out, "agent: %s\n", clean);
	else
		fprintf(c->out, "agent: %s (%s)\n", agent ? "error" : state,
			agent ? "out of memory" : r.msg);
	free(clean);
	ret = CLI_EXIT_OK;
out_put:
	json_decref(r.root);
	return ret;
}

static int print_ipam_net(struct cli_call *c, FILE *f, json_t *net)
{
	static const struct kv kv[] = {
		{"network", F_STR},    {"subnet", F_STR},	{"local.owned", F_INT},
		{"local.free", F_INT}, {"local.leased", F_INT},
	};
	static const struct col hosts[] = {
		{"HOST", "host", F_STR},   {"ID", "id", F_STR},	    {"STATE", "state", F_STR},
		{"OWNED", "owned", F_INT}, {"FREE", "free", F_INT}, {"LEASED", "leased", F_INT},
	};
	static const struct col ranges[] = {
		{"START", "start", F_STR}, {"END", "end", F_STR},     {"SIZE", "size", F_INT},
		{"HOST", "host", F_STR},   {"OWNER", "owner", F_STR},
	};
	int ret = kv_print(c, f, net, kv, ARRAY_SIZE(kv));

	if (!ret) {
		fputc('\n', f);
		ret = table_print(c, f, json_object_get(net, "nodes"), "nodes", hosts,
				  ARRAY_SIZE(hosts));
	}
	if (!ret) {
		fputc('\n', f);
		ret = table_print(c, f, json_object_get(net, "ranges"), "ranges", ranges,
				  ARRAY_SIZE(ranges));
	}
	return ret;
}

static int print_ipam(struct cli_call *c, FILE *f, json_t *reply)
{
	json_t *nets = json_object_get(reply, "networks");
	int ret = 0;

	if (!nets)
		return print_ipam_net(c, f, reply);
	if (!json_is_array(nets))
		return malformed(c, "\"networks\" is not a list");
	for (size_t i = 0; !ret && i < json_array_size(nets); i++) {
		if (i)
			fputc('\n', f);
		ret = print_ipam_net(c, f, json_array_get(nets, i));
	}
	return ret;
}

static int cmd_ipam(struct cli_call *c)
{
	if (c->npos)
		return run_path(c, "GET", "ipam", c->pos[0], NULL, NULL, print_ipam);
	return api_run(c, "GET", "/v1/ipam", NULL, print_ipam);
}

static int print_node_rm(struct cli_call *c, FILE *f, json_t *reply)
{
	static const struct kv kv[] = {
		{"node", F_STR}, {"id", F_STR}, {"endpoints_released", F_INT}};
	static const struct col cols[] = {{"NETWORK", "network", F_STR},
					  {"ADDRESSES TAKEN OVER", "addresses", F_INT}};
	int ret = kv_print(c, f, reply, kv, ARRAY_SIZE(kv));

	if (!ret) {
		fputc('\n', f);
		ret = table_print(c, f, json_object_get(reply, "networks"), "networks", cols,
				  ARRAY_SIZE(cols));
	}
	return ret;
}

static int cmd_node_rm(struct cli_call *c)
{
	return run_path(c, "DELETE", "nodes", c->pos[0], NULL, NULL, print_node_rm);
}

static int cmd_members(struct cli_call *c)
{
	return api_run(c, "GET", "/v1/members", NULL, print_members);
}

static int bad_reply(struct cli_call *c)
{
	fprintf(c->err, "vxmesh: malformed reply from the agent: %s\n", c->bad);
	return CLI_EXIT_API;
}

/* Splits the ADDR arguments, each maybe a comma-separated list, into addrs. */
static int join_addrs(struct cli_call *c, json_t *addrs)
{
	for (int i = 0; i < c->npos; i++) {
		const char *p = c->pos[i];

		for (;;) {
			size_t len = strcspn(p, ",");

			if (!len)
				return usage_err(c, "ADDR must not be empty");
			if (json_array_append_new(addrs, json_stringn(p, len)))
				return oom(c);
			if (!p[len])
				break;
			p += len + 1;
		}
	}
	return CLI_EXIT_OK;
}

/* Counts the alive members of a /v1/members reply, and those other than self. */
static int members_alive(struct cli_call *c, const json_t *reply, size_t *alive, size_t *others)
{
	const json_t *arr = json_object_get(reply, "members");

	*alive = *others = 0;
	if (!json_is_array(arr))
		return malformed(c, "\"members\" is not a list");
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const json_t *m = json_array_get(arr, i);
		const json_t *state = json_object_get(m, "state");
		const json_t *self = json_object_get(m, "self");

		if (!json_is_object(m))
			return malformed(c, "\"members\"[%zu] is not an object", i);
		if (!json_is_string(state))
			return malformed(c, "\"state\" is not a string");
		if (!json_is_boolean(self))
			return malformed(c, "\"self\" is not a boolean");
		if (strcmp(json_string_value(state), "alive"))
			continue;
		(*alive)++;
		if (json_is_false(self))
			(*others)++;
	}
	return 0;
}

static long ms_until(const struct timespec *end)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(end->tv_sec - now.tv_sec) * 1000 + (end->tv_nsec - now.tv_nsec) / 1000000;
}

static void join_timeout_report(struct cli_call *c, const json_t *addrs, unsigned long wait_s)
{
	size_t n = json_array_size(addrs);

	fprintf(c->err, "vxmesh: no member answered within %lus (%s ", wait_s,
		n > 1 ? "are" : "is");
	for (size_t i = 0; i < n; i++) {
		char *s = str_clean(json_string_value(json_array_get(addrs, i)));

		fprintf(c->err, "%s%s", i ? ", " : "", s ? s : "?");
		free(s);
	}
	fprintf(c->err, " reachable, and is %s gossip key the same?)\n", n > 1 ? "their" : "its");
}

/* Polls /v1/members until a member other than self is alive, or wait_s
 * seconds have passed.  Returns the exit code; *alive counts alive members. */
static int join_wait(struct cli_call *c, const json_t *addrs, unsigned long wait_s, size_t *alive)
{
	struct timespec end;
	struct api_res r;
	size_t others;
	long left;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += (time_t)wait_s;
	for (;;) {
		api_request(c, "GET", "/v1/members", NULL, &r);
		if (r.kind != RES_OK)
			return res_report(c, &r);
		ret = members_alive(c, r.root, alive, &others);
		json_decref(r.root);
		if (ret)
			return bad_reply(c);
		if (others)
			return CLI_EXIT_OK;
		left = ms_until(&end);
		if (left <= 0) {
			join_timeout_report(c, addrs, wait_s);
			return CLI_EXIT_API;
		}
		if (left > CLI_POLL_MS)
			left = CLI_POLL_MS;
		nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = left * 1000000L}, NULL);
	}
}

static int cmd_join(struct cli_call *c)
{
	const char *w = opt_get(c, "wait");
	unsigned long wait_s = 5;
	json_t *addrs = json_array(), *body = NULL, *out;
	const json_t *n;
	struct api_res r = {0};
	size_t alive = 0;
	int ret;

	if (!addrs)
		return oom(c);
	if (w && cli_num_parse(w, 0, CLI_WAIT_MAX, &wait_s)) { /* checked by parse() */
		ret = usage_err(c, "invalid number for --wait");
		goto out_put;
	}
	ret = join_addrs(c, addrs);
	if (ret)
		goto out_put;
	body = json_pack("{s:O}", "addrs", addrs);
	if (!body) {
		ret = oom(c);
		goto out_put;
	}
	api_request(c, "POST", "/v1/join", body, &r);
	if (r.kind != RES_OK) {
		ret = res_report(c, &r);
		goto out_put;
	}
	n = json_object_get(r.root, "contacting");
	if (!json_is_integer(n) || json_integer_value(n) < 0) {
		malformed(c, "\"contacting\" is not a count");
		ret = bad_reply(c);
		goto out_put;
	}
	if (!wait_s) {
		if (c->json)
			ret = json_print(c, r.root);
		else
			fprintf(c->out,
				"contacting %" JSON_INTEGER_FORMAT
				" address(es); 'vxmesh members' shows the result\n",
				json_integer_value(n));
		goto out_put;
	}
	ret = join_wait(c, addrs, wait_s, &alive);
	if (ret)
		goto out_put;
	if (c->json) {
		out = json_pack("{s:O, s:I}", "contacting", n, "members_alive", (json_int_t)alive);
		ret = out ? json_print(c, out) : oom(c);
		json_decref(out);
	} else {
		fprintf(c->out, "joined: %zu members alive\n", alive);
	}
out_put:
	json_decref(r.root);
	json_decref(body);
	json_decref(addrs);
	return ret;
}

static int cmd_leave(struct cli_call *c)
{
	return api_run(c, "POST", "/v1/leave", NULL, print_leave);
}

static int cmd_key_generate(struct cli_call *c)
{
	char b64[sodium_base64_ENCODED_LEN(CLI_KEY_LEN, sodium_base64_VARIANT_ORIGINAL)];
	uint8_t key[CLI_KEY_LEN];

	if (sodium_init() < 0) {
		fputs("vxmesh: cannot initialise libsodium\n", c->err);
		return CLI_EXIT_API;
	}
	randombytes_buf(key, sizeof(key));
	sodium_bin2base64(b64, sizeof(b64), key, sizeof(key), sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(key, sizeof(key));
	/* printed by hand: a JSON library would leave copies of the key in the heap */
	if (c->json)
		fprintf(c->out, "{\n  \"key\": \"%s\"\n}\n", b64);
	else
		fprintf(c->out, "%s\n", b64);
	sodium_memzero(b64, sizeof(b64));
	return CLI_EXIT_OK;
}

static int cmd_key_list(struct cli_call *c)
{
	return api_run(c, "GET", "/v1/keys", NULL, print_keys);
}

static int cmd_key_change(struct cli_call *c)
{
	const struct key_op *op = key_op_find(c->cmd->sub);
	json_t *body = json_pack("{s:s}", "key", c->pos[0]);

	if (!op || !body) {
		json_decref(body);
		return oom(c);
	}
	return api_run(c, op->method, op->path, body, print_keys);
}

static int cmd_token(struct cli_call *c)
{
	const json_t *tok, *carries;
	struct api_res r;
	char *clean;
	int ret;

	api_request(c, "GET", "/v1/token", NULL, &r);
	if (r.kind != RES_OK)
		return res_report(c, &r);
	tok = json_object_get(r.root, "token");
	carries = json_object_get(r.root, "carries_key");
	if (!json_is_string(tok) || !json_string_length(tok)) {
		malformed(c, "\"token\" is not a non-empty string");
		ret = bad_reply(c);
	} else if (!json_is_boolean(carries)) {
		malformed(c, "\"carries_key\" is not a boolean");
		ret = bad_reply(c);
	} else if (c->json) {
		ret = json_print(c, r.root);
	} else if (!(clean = str_clean(json_string_value(tok)))) {
		ret = oom(c);
	} else {
		fprintf(c->out, "%s\n", clean);
		sodium_memzero(clean, strlen(clean));
		free(clean);
		ret = CLI_EXIT_OK;
	}
	if (ret == CLI_EXIT_OK && json_is_true(carries))
		fputs("(this token contains the cluster key: treat it as a secret)\n", c->err);
	json_decref(r.root);
	return ret;
}

static int cmd_help(struct cli_call *c)
{
	const struct cli_cmd *cmd;

	if (!c->npos) {
		help_global(c->out);
		return CLI_EXIT_OK;
	}
	if (is_group(c->pos[0]) && c->npos == 1) {
		help_group(c->out, c->pos[0]);
		return CLI_EXIT_OK;
	}
	cmd = cmd_find(c->pos[0], c->npos > 1 ? c->pos[1] : NULL);
	if (!cmd || (!cmd->sub && c->npos > 1)) {
		c->cmd = NULL;
		return usage_err(c, "no help for unknown command '%s%s%s'", c->pos[0],
				 c->npos > 1 ? " " : "", c->npos > 1 ? c->pos[1] : "");
	}
	help_cmd(c->out, cmd);
	return CLI_EXIT_OK;
}

/* ---- entry points -------------------------------------------------------- */

/* Parses argv into c and runs the command.  Returns the exit code. */
static int cli_call_run(struct cli_call *c, int argc, char **argv)
{
	const char *env = getenv("VXMESH_SOCKET");
	int ret;

	ret = parse(c, argc, argv);
	if (ret)
		return ret;
	if (c->help) {
		if (c->cmd)
			help_cmd(c->out, c->cmd);
		else if (c->group)
			help_group(c->out, c->group);
		else
			help_global(c->out);
		return CLI_EXIT_OK;
	}
	if (!c->cmd->handler)
		return usage_err(c, "'agent' must be the first argument");
	if (!c->sock)
		c->sock = env && *env ? env : VXMESH_SOCKET_DEFAULT;
	{
		char why[256];

		if (curl_load(why, sizeof(why))) {
			fprintf(c->err,
				"vxmesh: the CLI needs libcurl (apt-get install libcurl4): %s\n",
				why);
			return CLI_EXIT_UNREACHABLE;
		}
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		fputs("vxmesh: cannot initialise libcurl\n", c->err);
		return CLI_EXIT_UNREACHABLE;
	}
	ret = c->cmd->handler(c);
	curl_global_cleanup();
	return ret;
}

int cli_run(int argc, char **argv, FILE *out, FILE *err)
{
	struct cli_call c = {.out = out, .err = err};
	int ret;

	c.pos = calloc((size_t)(argc > 0 ? argc : 0) + 1, sizeof(*c.pos));
	if (!c.pos) {
		fputs("vxmesh: out of memory\n", err);
		return CLI_EXIT_API;
	}
	ret = cli_call_run(&c, argc, argv);
	free(c.pos);
	fflush(out);
	return ret;
}

int cli_main(int argc, char **argv)
{
	return cli_run(argc, argv, stdout, stderr);
}
