/* SPDX-License-Identifier: MIT */
/*
 * config: the agent's settings.  One table of options serves the command
 * line (--key VALUE, --key=VALUE), the config file ("key = value" lines,
 * # comments) and the --help text, so the three cannot drift apart.
 * Precedence: defaults < config file < command line.
 */
#ifndef VXMESH_CONFIG_H
#define VXMESH_CONFIG_H

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#define DRV_STATE_DIR_DEFAULT "/var/lib/vxmesh"
#define DRV_PLUGIN_SOCKET     "/run/docker/plugins/vxmesh.sock"
#define DRV_DOCKER_SOCKET     "/var/run/docker.sock"
#define DRV_DEFAULT_POOL      "10.200.0.0/16"

struct drv_config {
	char state_dir[PATH_MAX];
	char socket[PATH_MAX];
	char config_file[PATH_MAX];
	char vtep[64];	       /* local VTEP address; "" = let the kernel pick */
	unsigned vxlan_port;   /* default port of new networks */
	unsigned reconcile_ms; /* periodic reconcile interval */
	unsigned log_level;    /* enum log_level */
	/* gossip */
	char node_name[128];	 /* "" = hostname-<id prefix> */
	char bind[64];		 /* ADDR[:PORT] for gossip, default 0.0.0.0:7946 */
	char advertise[64];	 /* ADDR[:PORT] other nodes reach us at */
	char vtep_advertise[64]; /* ADDR[:PORT] other nodes send VXLAN to */
	char join[1024];	 /* ADDR[:PORT][,...] */
	char join_token[2048];
	char encrypt[64];	 /* base64 key installed at start */
	char gossip_profile[16]; /* lan (default) or local */
	/* IPAM */
	char default_pool[32]; /* subnets for networks created without one */
	unsigned default_subnet_len;
	/* admission */
	char admit[1024]; /* extra sources for the VXLAN ports: CIDR[,CIDR...] */
	int no_admission;
	/* encrypted datapath */
	unsigned enc_port;	     /* UDP port it binds */
	unsigned enc_advertise_port; /* what others send to; 0 = enc_port */
	int no_encryption;
	/* Docker */
	char plugin_socket[PATH_MAX]; /* "" = no Docker plugin */
	char docker_socket[PATH_MAX]; /* Engine API, for mirroring networks */
	int docker;		      /* serve the plugin and mirror networks */
	int log_json;
	int help;
};

void drv_config_defaults(struct drv_config *c);
/* Parse argv[first..argc).  A --config FILE is read first wherever it appears,
 * then the command line overrides it.  0 or -EINVAL with err filled. */
int drv_config_parse_args(struct drv_config *c, int argc, char **argv, int first, char *err,
			  size_t errlen) __attribute__((warn_unused_result));
/* Apply one config file.  0, -ENOENT, -EINVAL (err says file:line: problem). */
int drv_config_load_file(struct drv_config *c, const char *path, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* Write the options' help text, generated from the table. */
void drv_config_usage(FILE *f);

#endif
