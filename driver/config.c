// SPDX-License-Identifier: MIT
/*
 * config: the option table and its two readers (argv and config file).
 */
#include "driver/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/paths.h"

enum opt_type { OPT_STR, OPT_UINT, OPT_BOOL, OPT_LEVEL, OPT_ADDR };

struct opt {
	const char *name;
	enum opt_type type;
	size_t off;
	size_t size;	   /* OPT_STR/OPT_ADDR: buffer size */
	unsigned min, max; /* OPT_UINT */
	const char *arg;
	const char *help;
};

static const struct opt opts[] = {
	{"state-dir", OPT_STR, offsetof(struct drv_config, state_dir),
	 sizeof(((struct drv_config *)0)->state_dir), 0, 0, "DIR",
	 "state database directory (default " DRV_STATE_DIR_DEFAULT ")"},
	{"socket", OPT_STR, offsetof(struct drv_config, socket),
	 sizeof(((struct drv_config *)0)->socket), 0, 0, "PATH",
	 "control API socket (default " VXMESH_SOCKET_DEFAULT ")"},
	{"config", OPT_STR, offsetof(struct drv_config, config_file),
	 sizeof(((struct drv_config *)0)->config_file), 0, 0, "FILE",
	 "read options from FILE (\"key = value\" lines)"},
	{"vtep", OPT_ADDR, offsetof(struct drv_config, vtep),
	 sizeof(((struct drv_config *)0)->vtep), 0, 0, "ADDR",
	 "local VTEP (underlay) IPv4 address (default: chosen by the kernel)"},
	{"vxlan-port", OPT_UINT, offsetof(struct drv_config, vxlan_port), 0, 1, 65535, "PORT",
	 "UDP port of new networks (default 4789)"},
	{"reconcile-interval", OPT_UINT, offsetof(struct drv_config, reconcile_ms), 0, 100, 3600000,
	 "MS", "compare kernel with desired state every MS milliseconds (default 5000)"},
	{"node-name", OPT_STR, offsetof(struct drv_config, node_name),
	 sizeof(((struct drv_config *)0)->node_name), 0, 0, "NAME",
	 "gossip node name, unique in the cluster (default: hostname-<id>)"},
	{"bind", OPT_STR, offsetof(struct drv_config, bind), sizeof(((struct drv_config *)0)->bind),
	 0, 0, "ADDR[:PORT]", "gossip UDP+TCP bind address (default 0.0.0.0:7946)"},
	{"advertise", OPT_STR, offsetof(struct drv_config, advertise),
	 sizeof(((struct drv_config *)0)->advertise), 0, 0, "ADDR[:PORT]",
	 "gossip address other nodes use (NAT: the forwarded one; default: bind or route source)"},
	{"vtep-advertise", OPT_STR, offsetof(struct drv_config, vtep_advertise),
	 sizeof(((struct drv_config *)0)->vtep_advertise), 0, 0, "ADDR[:PORT]",
	 "VXLAN address and port other nodes send to (default: --vtep or --advertise, "
	 "--vxlan-port)"},
	{"join", OPT_STR, offsetof(struct drv_config, join), sizeof(((struct drv_config *)0)->join),
	 0, 0, "ADDR[,ADDR...]", "join the cluster through these members at start"},
	{"join-token", OPT_STR, offsetof(struct drv_config, join_token),
	 sizeof(((struct drv_config *)0)->join_token), 0, 0, "TOKEN",
	 "join with a token from 'vxmesh token' (seeds and cluster key)"},
	{"encrypt", OPT_STR, offsetof(struct drv_config, encrypt),
	 sizeof(((struct drv_config *)0)->encrypt), 0, 0, "KEY",
	 "install this base64 32-byte gossip key (see 'vxmesh key generate') as primary"},
	{"gossip-profile", OPT_STR, offsetof(struct drv_config, gossip_profile),
	 sizeof(((struct drv_config *)0)->gossip_profile), 0, 0, "lan|local",
	 "memberlist timing profile (default lan; local detects failures faster)"},
	{"default-pool", OPT_STR, offsetof(struct drv_config, default_pool),
	 sizeof(((struct drv_config *)0)->default_pool), 0, 0, "CIDR",
	 "subnets for networks created without one (default " DRV_DEFAULT_POOL ")"},
	{"default-subnet-size", OPT_UINT, offsetof(struct drv_config, default_subnet_len), 0, 8, 30,
	 "LEN", "prefix length of subnets taken from --default-pool (default 24)"},
	{"admit", OPT_STR, offsetof(struct drv_config, admit),
	 sizeof(((struct drv_config *)0)->admit), 0, 0, "CIDR[,CIDR...]",
	 "also accept VXLAN from these sources (a NAT that rewrites members' addresses)"},
	{"enc-port", OPT_UINT, offsetof(struct drv_config, enc_port), 0, 1, 65535, "PORT",
	 "UDP port of the encrypted datapath (default 4794)"},
	{"enc-advertise-port", OPT_UINT, offsetof(struct drv_config, enc_advertise_port), 0, 1,
	 65535, "PORT",
	 "encrypted port other nodes send to (NAT: the forwarded one; default --enc-port)"},
	{"no-encryption", OPT_BOOL, offsetof(struct drv_config, no_encryption), 0, 0, 0, NULL,
	 "run no encrypted datapath (encrypted networks are refused on this host)"},
	{"no-admission", OPT_BOOL, offsetof(struct drv_config, no_admission), 0, 0, 0, NULL,
	 "do not filter the VXLAN ports to members (anyone who reaches them can inject frames)"},
	{"docker", OPT_BOOL, offsetof(struct drv_config, docker), 0, 0, 0, NULL,
	 "serve the Docker network and IPAM plugin and mirror networks into Docker"},
	{"plugin-socket", OPT_STR, offsetof(struct drv_config, plugin_socket),
	 sizeof(((struct drv_config *)0)->plugin_socket), 0, 0, "PATH",
	 "Docker plugin socket (default " DRV_PLUGIN_SOCKET "; implies --docker)"},
	{"docker-socket", OPT_STR, offsetof(struct drv_config, docker_socket),
	 sizeof(((struct drv_config *)0)->docker_socket), 0, 0, "PATH",
	 "Docker Engine API socket (default " DRV_DOCKER_SOCKET ")"},
	{"log-level", OPT_LEVEL, offsetof(struct drv_config, log_level), 0, 0, 0, "LEVEL",
	 "error, warn, info (default) or debug"},
	{"log-json", OPT_BOOL, offsetof(struct drv_config, log_json), 0, 0, 0, NULL,
	 "log one JSON object per line"},
	{"help", OPT_BOOL, offsetof(struct drv_config, help), 0, 0, 0, NULL, "show this help"},
};

void drv_config_defaults(struct drv_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->state_dir, sizeof(c->state_dir), "%s", DRV_STATE_DIR_DEFAULT);
	snprintf(c->socket, sizeof(c->socket), "%s", VXMESH_SOCKET_DEFAULT);
	c->vxlan_port = 4789;
	c->enc_port = 4794;
	c->reconcile_ms = 5000;
	c->log_level = LOG_LVL_INFO;
	snprintf(c->bind, sizeof(c->bind), "0.0.0.0:7946");
	snprintf(c->gossip_profile, sizeof(c->gossip_profile), "lan");
	snprintf(c->default_pool, sizeof(c->default_pool), "%s", DRV_DEFAULT_POOL);
	c->default_subnet_len = 24;
	snprintf(c->docker_socket, sizeof(c->docker_socket), "%s", DRV_DOCKER_SOCKET);
}

static const struct opt *opt_find(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (strlen(opts[i].name) == len && !strncmp(opts[i].name, name, len))
			return &opts[i];
	return NULL;
}

/* Store one value; val is NULL for a bare boolean flag. */
static int opt_set(struct drv_config *c, const struct opt *o, const char *val, char *err,
		   size_t errlen)
{
	char *field = (char *)c + o->off;
	enum log_level lvl;
	struct in_addr ip;
	unsigned long v;
	char *end;

	if (!val && o->type != OPT_BOOL) {
		snprintf(err, errlen, "option '%s' needs a value (%s)", o->name, o->arg);
		return -EINVAL;
	}
	switch (o->type) {
	case OPT_ADDR:
		if (addr_parse_ip4(val, &ip)) {
			snprintf(err, errlen, "option '%s': '%s' is not an IPv4 address", o->name,
				 val);
			return -EINVAL;
		}
		/* fall through */
	case OPT_STR:
		if (!*val || strlen(val) >= o->size) {
			snprintf(err, errlen, "option '%s': value is empty or too long", o->name);
			return -EINVAL;
		}
		memcpy(field, val, strlen(val) + 1);
		return 0;
	case OPT_UINT:
		errno = 0;
		v = strtoul(val, &end, 10);
		if (errno || end == val || *end || !isdigit((unsigned char)*val) || v < o->min ||
		    v > o->max) {
			snprintf(err, errlen, "option '%s': '%s' is not a number from %u to %u",
				 o->name, val, o->min, o->max);
			return -EINVAL;
		}
		*(unsigned *)(void *)field = (unsigned)v;
		return 0;
	case OPT_BOOL:
		if (!val || !strcmp(val, "true") || !strcmp(val, "yes") || !strcmp(val, "1")) {
			*(int *)(void *)field = 1;
		} else if (!strcmp(val, "false") || !strcmp(val, "no") || !strcmp(val, "0")) {
			*(int *)(void *)field = 0;
		} else {
			snprintf(err, errlen, "option '%s': '%s' is not true or false", o->name,
				 val);
			return -EINVAL;
		}
		return 0;
	case OPT_LEVEL:
		if (log_level_parse(val, &lvl)) {
			snprintf(err, errlen, "option '%s': '%s' is not error, warn, info or debug",
				 o->name, val);
			return -EINVAL;
		}
		*(unsigned *)(void *)field = (unsigned)lvl;
		return 0;
	}
	return -EINVAL;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int drv_config_load_file(struct drv_config *c, const char *path, char *err, size_t errlen)
{
	char line[1024], msg[256];
	unsigned lineno = 0;
	int ret = 0;
	FILE *f;

	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	while (fgets(line, sizeof(line), f)) {
		char *key, *val, *p;
		const struct opt *o;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line too long", path, lineno);
			ret = -EINVAL;
			break;
		}
		if ((p = strchr(line, '#')))
			*p = '\0';
		key = trim(line);
		if (!*key)
			continue;
		val = key + strcspn(key, " \t=");
		if (*val) {
			*val++ = '\0';
			val = trim(val);
			if (*val == '=')
				val = trim(val + 1);
		}
		o = opt_find(key, strlen(key));
		if (!o || !strcmp(key, "config") || !strcmp(key, "help")) {
			snprintf(err, errlen, "%s:%u: unknown option '%s'", path, lineno, key);
			ret = -EINVAL;
			break;
		}
		if (opt_set(c, o, *val ? val : NULL, msg, sizeof(msg))) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, msg);
			ret = -EINVAL;
			break;
		}
	}
	fclose(f);
	return ret;
}

/* Walk argv; with config_only set, apply only --config (and check the rest). */
static int parse_args(struct drv_config *c, int argc, char **argv, int first, int config_only,
		      char *err, size_t errlen)
{
	for (int i = first; i < argc; i++) {
		const char *a = argv[i], *eq, *val = NULL;
		const struct opt *o;
		size_t len;

		if (strncmp(a, "--", 2) != 0) {
			if (!strcmp(a, "-h")) {
				c->help = 1;
				continue;
			}
			snprintf(err, errlen, "unexpected argument '%s'", a);
			return -EINVAL;
		}
		a += 2;
		eq = strchr(a, '=');
		len = eq ? (size_t)(eq - a) : strlen(a);
		o = opt_find(a, len);
		if (!o) {
			snprintf(err, errlen, "unknown option '--%.*s'", (int)len, a);
			return -EINVAL;
		}
		if (eq)
			val = eq + 1;
		else if (o->type != OPT_BOOL) {
			if (i + 1 >= argc) {
				snprintf(err, errlen, "option '--%s' needs a value (%s)", o->name,
					 o->arg);
				return -EINVAL;
			}
			val = argv[++i];
		}
		if (config_only != !strcmp(o->name, "config"))
			continue;
		if (opt_set(c, o, val, err, errlen))
			return -EINVAL;
	}
	return 0;
}

int drv_config_parse_args(struct drv_config *c, int argc, char **argv, int first, char *err,
			  size_t errlen)
{
	int ret;

	ret = parse_args(c, argc, argv, first, 1, err, errlen);
	if (ret)
		return ret;
	if (c->config_file[0]) {
		ret = drv_config_load_file(c, c->config_file, err, errlen);
		if (ret)
			return -EINVAL;
	}
	return parse_args(c, argc, argv, first, 0, err, errlen);
}

void drv_config_usage(FILE *f)
{
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		char left[64];

		snprintf(left, sizeof(left), "--%s%s%s", opts[i].name, opts[i].arg ? " " : "",
			 opts[i].arg ? opts[i].arg : "");
		fprintf(f, "  %-28s %s\n", left, opts[i].help);
	}
}
