// SPDX-License-Identifier: MIT
/*
 * DOC: cli
 * The `vxmesh` client.  Every command is one row of cmds[]: the row names the
 * handler, the options it takes and the help text, so parsing, `--help` and
 * `vxmesh help` cannot drift apart.  A handler (cmds.c) builds one request of
 * the control API (docs/api.md), sends it over the agent's unix socket
 * (http.c) and prints the reply as text (print.c) or, with --json, as the
 * agent sent it.  This file owns the table, the command line and the help.
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_int.h"
#include "common/paths.h"

#define CLI_POS_MANY (-1) /* pos_max: no limit */

static int cmd_help(struct cli_call *c);

/* ---- the table ----------------------------------------------------------- */

static const struct cli_opt net_create_opts[] = {
	{.name = "subnet", .kind = OPT_STR},
	{.name = "vni", .kind = OPT_NUM, .min = 1, .max = 16777215},
	{.name = "mtu", .kind = OPT_NUM, .min = 1, .max = 65535},
	{.name = "gateway", .kind = OPT_STR},
	{.name = "port", .kind = OPT_NUM, .min = 1, .max = 65535},
	{.name = "encrypted", .kind = OPT_FLAG},
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
		.handler = cli_cmd_net_create,
		.usage = "net create NAME [--subnet CIDR] [--vni N] [--mtu N] [--gateway IP] "
			 "[--port N] [--encrypted]",
		.summary = "create a network",
		.help = "Creates the overlay network NAME (POST /v1/networks) and prints it.\n\n"
			"  --subnet CIDR   the IPv4 subnet, e.g. 10.10.0.0/24 (default: the first\n"
			"                  unused one of the agent's --default-pool that overlaps\n"
			"                  no network of the cluster and no route of the host)\n"
			"  --vni N         VXLAN network identifier, 1-16777215 (default:\n"
			"                  the lowest VNI from 1 that no network uses)\n"
			"  --mtu N         MTU of the network's interfaces, 1-65535 (default: the\n"
			"                  underlay's MTU minus 50, or minus 82 when encrypted)\n"
			"  --gateway IP    gateway address inside the subnet (default: none)\n"
			"  --port N        VXLAN UDP port, 1-65535 (default: the agent's\n"
			"                  --vxlan-port)\n"
			"  --encrypted     frames cross the underlay only sealed (AES-256-GCM or\n"
			"                  ChaCha20-Poly1305, keys from the cluster's gossip\n"
			"                  keyring) on the agents' --enc-port, never as VXLAN;\n"
			"                  every host needs the cluster key "
			"(docs/encryption.md)\n\n"
			"Example: vxmesh net create blue --subnet 10.10.0.0/24 --vni 100\n",
		.opts = net_create_opts,
		.pos = {"NAME"},
		.pos_min = 1,
		.pos_max = 1,
	},
	{
		.name = "net",
		.sub = "ls",
		.handler = cli_cmd_net_ls,
		.usage = "net ls",
		.summary = "list networks",
		.help = "Lists the networks (GET /v1/networks): name, VNI, subnet, gateway, MTU,\n"
			"VXLAN port, whether it is encrypted and the number of endpoints.\n",
	},
	{
		.name = "net",
		.sub = "inspect",
		.handler = cli_cmd_net_inspect,
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
		.handler = cli_cmd_net_rm,
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
		.handler = cli_cmd_ep_attach,
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
		.handler = cli_cmd_ep_detach,
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
		.handler = cli_cmd_ep_ls,
		.usage = "ep ls [--net NET]",
		.summary = "list endpoints",
		.help = "Lists the endpoints on this host (GET /v1/endpoints), or only those of\n"
			"network NET.  STATUS is ok, netns-missing or error: REASON.\n\n"
			"  --net NET       only endpoints of this network\n",
		.opts = ep_ls_opts,
	},
	{
		.name = "fdb",
		.handler = cli_cmd_fdb,
		.usage = "fdb [NET]",
		.summary = "show the forwarding entries the agent manages",
		.help = "Shows the VXLAN forwarding database as the agent sees it (GET /v1/fdb),\n"
			"for every network or only NET.  WHY says why a row is there: remote\n"
			"endpoint, missing (will be installed), stale (will be removed), not\n"
			"ours (left alone), or encrypted remote endpoint (an encrypted network's:\n"
			"held by the encrypted datapath, not the kernel; SESSION is the sending\n"
			"host's datapath session).\n",
		.pos = {"NET"},
		.pos_max = 1,
	},
	{
		.name = "status",
		.handler = cli_cmd_status,
		.usage = "status",
		.summary = "show the agent's status",
		.help = "Shows the agent's identity, addresses, counts and reconcile statistics\n"
			"(GET /v1/status).\n",
	},
	{
		.name = "reconcile",
		.handler = cli_cmd_reconcile,
		.usage = "reconcile",
		.summary = "run a reconcile pass now",
		.help = "Asks the agent to compare the kernel with its desired state and\n"
			"repair the difference now (POST /v1/reconcile); prints the\n"
			"reconcile statistics.\n",
	},
	{
		.name = "members",
		.handler = cli_cmd_members,
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
		.handler = cli_cmd_join,
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
		.handler = cli_cmd_leave,
		.usage = "leave",
		.summary = "leave the cluster and stop the agent",
		.help = "Asks the agent to announce that it leaves the cluster (POST /v1/leave).\n"
			"The agent exits once the announcement has spread; the other members\n"
			"then show it as left rather than dead.\n",
	},
	{
		.name = "token",
		.handler = cli_cmd_token,
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
		.handler = cli_cmd_key_generate,
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
		.handler = cli_cmd_key_list,
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
		.handler = cli_cmd_key_change,
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
		.handler = cli_cmd_key_change,
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
		.handler = cli_cmd_key_change,
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
		.handler = cli_cmd_ipam,
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
		.handler = cli_cmd_node_rm,
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
		.name = "cleanup",
		.handler = cli_cmd_cleanup,
		.usage = "cleanup",
		.summary = "remove the admission table and encrypted datapath a stopped agent left",
		.help = "Removes what the agent leaves running on purpose when it stops: the\n"
			"nftables table ip vxmesh_admit, which keeps filtering the VXLAN ports\n"
			"while the agent is down, and the encrypted datapath (vxmesh encd),\n"
			"which keeps encrypted networks forwarding (their TAPs go with it).\n"
			"Refused while an agent answers on the socket (it would put both back).\n"
			"Networks, endpoints and FDB entries are not touched.\n",
	},
	{
		.name = "version",
		.handler = cli_cmd_version,
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
		cli_pad(f, w - strlen(label) + 3);
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

/* cli_usage_err(), with a group's commands listed when only a group was
 * parsed (the list needs the table). */
static int usage_err(struct cli_call *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int usage_err(struct cli_call *c, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	if (!c->cmd && c->group) {
		fputs("vxmesh: ", c->err);
		vfprintf(c->err, fmt, ap);
		fputc('\n', c->err);
		usage_group(c->err, c->group);
		ret = CLI_EXIT_USAGE;
	} else {
		ret = cli_usage_verr(c, fmt, ap);
	}
	va_end(ap);
	return ret;
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
	o = c->cmd ? cli_opt_find(c->cmd, name, len, &k) : NULL;
	if (!o)
		return usage_err(c, "unknown option '--%.*s'", (int)len, name);
	if (o->kind == OPT_FLAG) {
		if (val)
			return usage_err(c, "option --%s takes no value", o->name);
		if (c->opt[k])
			return usage_err(c, "option --%s given more than once", o->name);
		c->opt[k] = "1";
		return 0;
	}
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
	ret = cli_http_init(c);
	if (ret)
		return ret;
	ret = c->cmd->handler(c);
	cli_http_fini(c);
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
