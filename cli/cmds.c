// SPDX-License-Identifier: MIT
/*
 * DOC: cmds
 * The command bodies, one handler per row of cmds[] (cli.c) but help.  Each
 * builds one request of the control API and names the printer of its reply.
 * First this host's overlay and its agent (networks, endpoints, forwarding
 * entries, status, reconcile, version), then the cluster (members, join and
 * leave, tokens, the gossip keyring, address ownership, removing a dead
 * node).  Keys and tokens pass through here: what holds them is wiped.
 */
#include "cli/cli_int.h"
#include "common/nft.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "common/version.h"
#include "vxlan/encc.h"

#define CLI_POLL_MS 200
#define CLI_KEY_LEN 32

static const struct cli_kv net_kv[] = {
	{"name", F_STR},      {"vni", F_INT},	    {"subnet", F_STR},	{"gateway", F_STR},
	{"mtu", F_INT},	      {"mtu_auto", F_BOOL}, {"port", F_INT},	{"encrypted", F_BOOL},
	{"bridge", F_STR},    {"vxlan_dev", F_STR}, {"tap_dev", F_STR}, {"created", F_STR},
	{"endpoints", F_INT},
};

static const struct cli_kv ep_kv[] = {
	{"id", F_STR},	   {"network", F_STR},	   {"netns", F_STR},
	{"ifname", F_STR}, {"host_ifname", F_STR}, {"ip", F_STR},
	{"mac", F_STR},	   {"status", F_STR},	   {"created", F_STR},
};

static const struct cli_kv reconcile_kv[] = {
	{"interval_ms", F_INT}, {"runs", F_INT},   {"created", F_INT},	  {"removed", F_INT},
	{"repaired", F_INT},	{"errors", F_INT}, {"last_error", F_STR},
};

static const struct cli_kv status_kv[] = {
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
	{"admission.enabled", F_BOOL},
	{"admission.sources", F_INT},
	{"admission.extra", F_INT},
};

static int print_network(struct cli_call *c, FILE *f, json_t *reply)
{
	return cli_kv_print(c, f, reply, net_kv, ARRAY_SIZE(net_kv));
}

static int print_inspect(struct cli_call *c, FILE *f, json_t *reply)
{
	static const struct cli_kv ipam_kv[] = {
		{"ipam.capacity", F_INT}, {"ipam.leased", F_INT}, {"ipam.free", F_INT}};
	static const struct cli_col cols[] = {
		{"ID", "id", F_STR}, {"NETNS", "netns", F_STR}, {"IFNAME", "ifname", F_STR},
		{"IP", "ip", F_STR}, {"MAC", "mac", F_STR},	{"STATUS", "status", F_STR},
	};
	struct cli_kv all[ARRAY_SIZE(net_kv) + ARRAY_SIZE(ipam_kv)];
	const json_t *eps = json_object_get(reply, "endpoint_list");
	int ret;

	memcpy(all, net_kv, sizeof(net_kv));
	memcpy(all + ARRAY_SIZE(net_kv), ipam_kv, sizeof(ipam_kv));
	ret = cli_kv_print(c, f, reply, all, ARRAY_SIZE(all));
	if (ret)
		return ret;
	fputc('\n', f);
	if (!eps)
		eps = json_array(); /* absent: print the header alone */
	else
		json_incref((json_t *)eps);
	if (!eps)
		return -ENOMEM;
	ret = cli_table_print(c, f, eps, "endpoint_list", cols, ARRAY_SIZE(cols));
	json_decref((json_t *)eps);
	return ret;
}

static int print_networks(struct cli_call *c, FILE *f, json_t *reply)
{
	static const struct cli_col cols[] = {
		{"NAME", "name", F_STR},
		{"VNI", "vni", F_INT},
		{"SUBNET", "subnet", F_STR},
		{"GATEWAY", "gateway", F_STR},
		{"MTU", "mtu", F_INT},
		{"PORT", "port", F_INT},
		{"ENCRYPTED", "encrypted", F_BOOL},
		{"ENDPOINTS", "endpoints", F_INT},
	};
	return cli_table_print(c, f, json_object_get(reply, "networks"), "networks", cols,
			       ARRAY_SIZE(cols));
}

static int print_endpoint(struct cli_call *c, FILE *f, json_t *reply)
{
	return cli_kv_print(c, f, reply, ep_kv, ARRAY_SIZE(ep_kv));
}

static int print_endpoints(struct cli_call *c, FILE *f, json_t *reply)
{
	static const struct cli_col cols[] = {
		{"ID", "id", F_STR},	     {"NETWORK", "network", F_STR},
		{"NETNS", "netns", F_STR},   {"IFNAME", "ifname", F_STR},
		{"IP", "ip", F_STR},	     {"MAC", "mac", F_STR},
		{"STATUS", "status", F_STR},
	};
	return cli_table_print(c, f, json_object_get(reply, "endpoints"), "endpoints", cols,
			       ARRAY_SIZE(cols));
}

static int print_fdb(struct cli_call *c, FILE *f, json_t *reply)
{
	static const struct cli_col cols[] = {
		{"NETWORK", "network", F_STR}, {"DEV", "dev", F_STR}, {"MAC", "mac", F_STR},
		{"IP", "ip", F_STR},	       {"DST", "dst", F_STR}, {"PORT", "port", F_INT},
		{"SESSION", "session", F_STR}, {"WHY", "why", F_STR},
	};
	return cli_table_print(c, f, json_object_get(reply, "entries"), "entries", cols,
			       ARRAY_SIZE(cols));
}

static int print_deleted(struct cli_call *c, FILE *f, json_t *reply)
{
	const json_t *v = json_object_get(reply, "deleted");
	char *s;

	if (!json_is_string(v))
		return cli_malformed(c, "\"deleted\" is not a string");
	s = cli_str_clean(json_string_value(v));
	if (!s)
		return -ENOMEM;
	fprintf(f, "deleted %s %s\n", !strcmp(c->cmd->name, "net") ? "network" : "endpoint", s);
	free(s);
	return 0;
}

/* The key/value lines, then one line per source admission dropped. */
static int print_status(struct cli_call *c, FILE *f, json_t *reply)
{
	const json_t *dropped = json_object_get(json_object_get(reply, "admission"), "dropped");
	int ret = cli_kv_print(c, f, reply, status_kv, ARRAY_SIZE(status_kv));

	for (size_t i = 0; !ret && i < json_array_size(dropped); i++) {
		const json_t *d = json_array_get(dropped, i);
		const char *src = json_string_value(json_object_get(d, "source"));
		char *clean = src ? cli_str_clean(src) : NULL;

		if (!clean || !json_is_integer(json_object_get(d, "packets"))) {
			free(clean);
			return cli_malformed(c, "an admission.dropped entry");
		}
		fprintf(f, "admission.dropped:        %s (%lld packets)\n", clean,
			(long long)json_integer_value(json_object_get(d, "packets")));
		free(clean);
	}
	return ret;
}

static int print_reconcile(struct cli_call *c, FILE *f, json_t *reply)
{
	return cli_kv_print(c, f, reply, reconcile_kv, ARRAY_SIZE(reconcile_kv));
}

/* Adds the option `name` to body under the same key, as a JSON integer for
 * numeric options.  Absent options add nothing. */
static int body_add_opt(struct cli_call *c, json_t *body, const char *name, const char *key)
{
	const char *v = cli_opt_get(c, name);
	unsigned long num;
	int k;

	if (!v)
		return 0;
	if (cli_opt_find(c->cmd, name, strlen(name), &k)->kind == OPT_NUM) {
		if (cli_num_parse(v, 0, ~0UL, &num)) /* checked against the range by parse() */
			return -EINVAL;
		return json_object_set_new(body, key, json_integer((json_int_t)num)) ? -ENOMEM : 0;
	}
	return json_object_set_new(body, key, json_string(v)) ? -ENOMEM : 0;
}

int cli_cmd_net_create(struct cli_call *c)
{
	json_t *body = json_pack("{s:s}", "name", c->pos[0]);

	if (!body || body_add_opt(c, body, "subnet", "subnet") ||
	    body_add_opt(c, body, "vni", "vni") || body_add_opt(c, body, "mtu", "mtu") ||
	    body_add_opt(c, body, "gateway", "gateway") || body_add_opt(c, body, "port", "port") ||
	    (cli_opt_get(c, "encrypted") && json_object_set_new(body, "encrypted", json_true()))) {
		json_decref(body);
		return cli_oom(c);
	}
	return cli_api_run(c, "POST", "/v1/networks", body, print_network);
}

int cli_cmd_net_ls(struct cli_call *c)
{
	return cli_api_run(c, "GET", "/v1/networks", NULL, print_networks);
}

int cli_cmd_net_inspect(struct cli_call *c)
{
	return cli_api_run_path(c, "GET", "networks", c->pos[0], NULL, NULL, print_inspect);
}

int cli_cmd_net_rm(struct cli_call *c)
{
	return cli_api_run_path(c, "DELETE", "networks", c->pos[0], NULL, NULL, print_deleted);
}

int cli_cmd_ep_attach(struct cli_call *c)
{
	json_t *body =
		json_pack("{s:s, s:s}", "network", c->pos[0], "netns", cli_opt_get(c, "netns"));

	if (!body || body_add_opt(c, body, "ip", "ip") || body_add_opt(c, body, "mac", "mac") ||
	    body_add_opt(c, body, "name", "ifname")) {
		json_decref(body);
		return cli_oom(c);
	}
	return cli_api_run(c, "POST", "/v1/endpoints", body, print_endpoint);
}

int cli_cmd_ep_detach(struct cli_call *c)
{
	return cli_api_run_path(c, "DELETE", "endpoints", c->pos[0], NULL, NULL, print_deleted);
}

int cli_cmd_ep_ls(struct cli_call *c)
{
	return cli_api_run_path(c, "GET", "endpoints", NULL, cli_opt_get(c, "net"), NULL,
				print_endpoints);
}

int cli_cmd_fdb(struct cli_call *c)
{
	return cli_api_run_path(c, "GET", "fdb", NULL, c->npos ? c->pos[0] : NULL, NULL, print_fdb);
}

int cli_cmd_status(struct cli_call *c)
{
	return cli_api_run(c, "GET", "/v1/status", NULL, print_status);
}

int cli_cmd_reconcile(struct cli_call *c)
{
	return cli_api_run(c, "POST", "/v1/reconcile", NULL, print_reconcile);
}

/* Remove the admission table and stop the encrypted datapath; refused
 * while an agent answers. */
int cli_cmd_cleanup(struct cli_call *c)
{
	char why[256], ctl[PATH_MAX + 8];
	struct cli_res r;
	struct nft *n;
	int stopped;
	json_t *out;
	int ret;

	cli_api_request(c, "GET", "/v1/version", NULL, &r);
	if (r.kind == RES_OK) {
		json_decref(r.root);
		fprintf(c->err, "vxmesh: an agent answers on the socket; stop it first (it would "
				"put the table back)\n");
		return CLI_EXIT_API;
	}
	if ((ret = nft_open(&n))) {
		fprintf(c->err, "vxmesh: cannot use nftables: %s\n", strerror(-ret));
		return CLI_EXIT_API;
	}
	ret = nft_run(n, "delete table ip " VXMESH_ADMIT_TABLE, NULL, why, sizeof(why));
	nft_close(n);
	if (ret && !strstr(why, "No such file")) {
		fprintf(c->err, "vxmesh: cannot remove table ip %s: %s\n", VXMESH_ADMIT_TABLE, why);
		return CLI_EXIT_API;
	}
	snprintf(ctl, sizeof(ctl), "%s.encd", c->sock);
	stopped = vx_encc_stop_at(ctl) == 0;
	if (c->json) {
		out = json_pack("{s:[]}", "removed");
		if (out && !ret)
			json_array_append_new(json_object_get(out, "removed"),
					      json_string("table ip " VXMESH_ADMIT_TABLE));
		if (out && stopped)
			json_array_append_new(json_object_get(out, "removed"),
					      json_string("encrypted datapath"));
		ret = out ? cli_json_print(c, out) : cli_oom(c);
		json_decref(out);
		return ret;
	}
	if (!ret)
		fprintf(c->out, "removed table ip %s\n", VXMESH_ADMIT_TABLE);
	if (stopped)
		fprintf(c->out, "stopped the encrypted datapath (its TAPs went with it)\n");
	if (ret && !stopped)
		fprintf(c->out, "nothing to remove\n");
	return CLI_EXIT_OK;
}

int cli_cmd_version(struct cli_call *c)
{
	const char *agent = NULL, *state = "unreachable";
	struct cli_res r;
	const json_t *v;
	char *clean = NULL;
	json_t *out;
	int ret;

	cli_api_request(c, "GET", "/v1/version", NULL, &r);
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
		ret = out ? cli_json_print(c, out) : cli_oom(c);
		json_decref(out);
		goto out_put;
	}
	fprintf(c->out, "vxmesh %s\n", vxmesh_version);
	if (agent && (clean = cli_str_clean(agent)))
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

/* ---- the cluster -------------------------------------------------------- */

static int print_members(struct cli_call *c, FILE *f, json_t *reply)
{
	static const struct cli_col cols[] = {
		{"NAME", "name", F_STR},
		{"KIND", "kind", F_STR},
		{"ADDR", "addr", F_STR},
		{"VTEP", "vtep", F_STR},
		{"STATE", "state", F_STR},
		{"INC", "incarnation", F_INT},
		{"SEEN", "last_change_ms_ago", F_AGO},
	};
	return cli_table_print_mark(c, f, json_object_get(reply, "members"), "members", cols,
				    ARRAY_SIZE(cols), "self");
}

static int print_leave(struct cli_call *c, FILE *f, json_t *reply)
{
	if (!json_is_true(json_object_get(reply, "leaving")))
		return cli_malformed(c, "\"leaving\" is not true");
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
	static const struct cli_col cols[] = {
		{"FINGERPRINT", "fingerprint", F_STR},
		{"PRIMARY", "primary", F_BOOL},
	};
	const json_t *enc = json_object_get(reply, "encrypted");
	const struct key_op *op = key_op_find(c->cmd->sub);
	int ret;

	if (!json_is_boolean(enc))
		return cli_malformed(c, "\"encrypted\" is not a boolean");
	if (op)
		fprintf(f, "%s\n", op->done);
	ret = cli_table_print(c, f, json_object_get(reply, "keys"), "keys", cols, ARRAY_SIZE(cols));
	if (!ret && !json_is_true(enc))
		fputs("gossip is not encrypted\n", f);
	return ret;
}

static int print_ipam_net(struct cli_call *c, FILE *f, json_t *net)
{
	static const struct cli_kv kv[] = {
		{"network", F_STR},    {"subnet", F_STR},	{"local.owned", F_INT},
		{"local.free", F_INT}, {"local.leased", F_INT},
	};
	static const struct cli_col hosts[] = {
		{"HOST", "host", F_STR},   {"ID", "id", F_STR},	    {"STATE", "state", F_STR},
		{"OWNED", "owned", F_INT}, {"FREE", "free", F_INT}, {"LEASED", "leased", F_INT},
	};
	static const struct cli_col ranges[] = {
		{"START", "start", F_STR}, {"END", "end", F_STR},     {"SIZE", "size", F_INT},
		{"HOST", "host", F_STR},   {"OWNER", "owner", F_STR},
	};
	int ret = cli_kv_print(c, f, net, kv, ARRAY_SIZE(kv));

	if (!ret) {
		fputc('\n', f);
		ret = cli_table_print(c, f, json_object_get(net, "nodes"), "nodes", hosts,
				      ARRAY_SIZE(hosts));
	}
	if (!ret) {
		fputc('\n', f);
		ret = cli_table_print(c, f, json_object_get(net, "ranges"), "ranges", ranges,
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
		return cli_malformed(c, "\"networks\" is not a list");
	for (size_t i = 0; !ret && i < json_array_size(nets); i++) {
		if (i)
			fputc('\n', f);
		ret = print_ipam_net(c, f, json_array_get(nets, i));
	}
	return ret;
}

int cli_cmd_ipam(struct cli_call *c)
{
	if (c->npos)
		return cli_api_run_path(c, "GET", "ipam", c->pos[0], NULL, NULL, print_ipam);
	return cli_api_run(c, "GET", "/v1/ipam", NULL, print_ipam);
}

static int print_node_rm(struct cli_call *c, FILE *f, json_t *reply)
{
	static const struct cli_kv kv[] = {
		{"node", F_STR}, {"id", F_STR}, {"endpoints_released", F_INT}};
	static const struct cli_col cols[] = {{"NETWORK", "network", F_STR},
					      {"ADDRESSES TAKEN OVER", "addresses", F_INT}};
	int ret = cli_kv_print(c, f, reply, kv, ARRAY_SIZE(kv));

	if (!ret) {
		fputc('\n', f);
		ret = cli_table_print(c, f, json_object_get(reply, "networks"), "networks", cols,
				      ARRAY_SIZE(cols));
	}
	return ret;
}

int cli_cmd_node_rm(struct cli_call *c)
{
	return cli_api_run_path(c, "DELETE", "nodes", c->pos[0], NULL, NULL, print_node_rm);
}

int cli_cmd_members(struct cli_call *c)
{
	return cli_api_run(c, "GET", "/v1/members", NULL, print_members);
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
				return cli_usage_err(c, "ADDR must not be empty");
			if (json_array_append_new(addrs, json_stringn(p, len)))
				return cli_oom(c);
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
		return cli_malformed(c, "\"members\" is not a list");
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const json_t *m = json_array_get(arr, i);
		const json_t *state = json_object_get(m, "state");
		const json_t *self = json_object_get(m, "self");

		if (!json_is_object(m))
			return cli_malformed(c, "\"members\"[%zu] is not an object", i);
		if (!json_is_string(state))
			return cli_malformed(c, "\"state\" is not a string");
		if (!json_is_boolean(self))
			return cli_malformed(c, "\"self\" is not a boolean");
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
		char *s = cli_str_clean(json_string_value(json_array_get(addrs, i)));

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
	struct cli_res r;
	size_t others;
	long left;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += (time_t)wait_s;
	for (;;) {
		cli_api_request(c, "GET", "/v1/members", NULL, &r);
		if (r.kind != RES_OK)
			return cli_res_report(c, &r);
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

int cli_cmd_join(struct cli_call *c)
{
	const char *w = cli_opt_get(c, "wait");
	unsigned long wait_s = 5;
	json_t *addrs = json_array(), *body = NULL, *out;
	const json_t *n;
	struct cli_res r = {0};
	size_t alive = 0;
	int ret;

	if (!addrs)
		return cli_oom(c);
	if (w && cli_num_parse(w, 0, CLI_WAIT_MAX, &wait_s)) { /* checked by parse() */
		ret = cli_usage_err(c, "invalid number for --wait");
		goto out_put;
	}
	ret = join_addrs(c, addrs);
	if (ret)
		goto out_put;
	body = json_pack("{s:O}", "addrs", addrs);
	if (!body) {
		ret = cli_oom(c);
		goto out_put;
	}
	cli_api_request(c, "POST", "/v1/join", body, &r);
	if (r.kind != RES_OK) {
		ret = cli_res_report(c, &r);
		goto out_put;
	}
	n = json_object_get(r.root, "contacting");
	if (!json_is_integer(n) || json_integer_value(n) < 0) {
		cli_malformed(c, "\"contacting\" is not a count");
		ret = bad_reply(c);
		goto out_put;
	}
	if (!wait_s) {
		if (c->json)
			ret = cli_json_print(c, r.root);
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
		ret = out ? cli_json_print(c, out) : cli_oom(c);
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

int cli_cmd_leave(struct cli_call *c)
{
	return cli_api_run(c, "POST", "/v1/leave", NULL, print_leave);
}

int cli_cmd_key_generate(struct cli_call *c)
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

int cli_cmd_key_list(struct cli_call *c)
{
	return cli_api_run(c, "GET", "/v1/keys", NULL, print_keys);
}

int cli_cmd_key_change(struct cli_call *c)
{
	const struct key_op *op = key_op_find(c->cmd->sub);
	json_t *body = json_pack("{s:s}", "key", c->pos[0]);

	if (!op || !body) {
		json_decref(body);
		return cli_oom(c);
	}
	return cli_api_run(c, op->method, op->path, body, print_keys);
}

int cli_cmd_token(struct cli_call *c)
{
	const json_t *tok, *carries;
	struct cli_res r;
	char *clean;
	int ret;

	cli_api_request(c, "GET", "/v1/token", NULL, &r);
	if (r.kind != RES_OK)
		return cli_res_report(c, &r);
	tok = json_object_get(r.root, "token");
	carries = json_object_get(r.root, "carries_key");
	if (!json_is_string(tok) || !json_string_length(tok)) {
		cli_malformed(c, "\"token\" is not a non-empty string");
		ret = bad_reply(c);
	} else if (!json_is_boolean(carries)) {
		cli_malformed(c, "\"carries_key\" is not a boolean");
		ret = bad_reply(c);
	} else if (c->json) {
		ret = cli_json_print(c, r.root);
	} else if (!(clean = cli_str_clean(json_string_value(tok)))) {
		ret = cli_oom(c);
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
