// SPDX-License-Identifier: MIT
/*
 * docker: the Docker adapter's life cycle, its hooks on the core, and the
 * mirroring of vxmesh networks into dockerd through the Engine API
 * (driver/dockerc.c), so a network created on any host appears in
 * `docker network ls` everywhere.  The plugin itself is docker_plugin.c.
 */
#include "driver/docker.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/fs.h"
#include "common/reactor.h"
#include "driver/api.h"
#include "driver/cluster.h"
#include "driver/config.h"
#include "driver/core.h"
#include "driver/docker_int.h"
#include "driver/dockerc.h"
#include "driver/state.h"

/* ---- mirroring vxmesh networks into dockerd ---- */

static int creating(struct drv_docker *d, const char *name)
{
	for (size_t i = 0; i < d->ncreating; i++)
		if (!strcmp(d->creating[i]->name, name))
			return 1;
	return 0;
}

static void create_done(void *arg, int err, long status, json_t *body, const char *msg)
{
	struct mirror_req *m = arg;
	struct drv_docker *d = m->d;

	for (size_t i = 0; i < d->ncreating; i++)
		if (d->creating[i] == m) {
			d->creating[i] = d->creating[--d->ncreating];
			break;
		}
	if (err || status >= 300) {
		if (status != 409) /* created meanwhile, by the user or a previous pass */
			log_warn("docker: cannot mirror network %s into dockerd: %s", m->name,
				 err ? strerror(-err) : msg);
	} else {
		d->mirrored_in++;
		log_info("docker: network %s mirrored into dockerd", m->name);
	}
	free(m);
}

static void mirror_create(struct drv_docker *d, const struct drv_net *an)
{
	char sub[ADDR_PREFIX_STRLEN];
	struct mirror_req *m, **g;
	json_t *cfg, *body;

	addr_fmt_prefix(&an->rec.subnet, sub);
	cfg = json_pack("{s:s}", "Subnet", sub);
	if (cfg && an->rec.gw.s_addr)
		json_object_set_new(cfg, "Gateway", json_string(ADDR_IP4_STR(an->rec.gw)));
	body = json_pack("{s:s,s:s,s:b,s:{s:s,s:[o]},s:{s:s,s:s},s:{s:s}}", "Name", an->rec.name,
			 "Driver", "vxmesh", "CheckDuplicate", 1, "IPAM", "Driver", "vxmesh",
			 "Config", cfg, "Options", "vxmesh.name", an->rec.name, "vxmesh.encrypted",
			 an->rec.encrypted ? "true" : "false", "Labels", "org.vxmesh.mirrored",
			 "true");
	m = body ? calloc(1, sizeof(*m)) : NULL;
	g = m ? realloc(d->creating, (d->ncreating + 1) * sizeof(*g)) : NULL;
	if (g)
		d->creating = g;
	if (!g) {
		free(m);
		json_decref(body);
		return;
	}
	m->d = d;
	snprintf(m->name, sizeof(m->name), "%s", an->rec.name);
	if (dkc_request(d->dkc, "POST", "/networks/create", body, DOCKER_TIMEOUT_MS, create_done,
			m))
		free(m);
	else
		d->creating[d->ncreating++] = m;
	json_decref(body);
}

static void remove_done(void *arg, int err, long status, json_t *body, const char *msg)
{
	struct drv_docker *d = arg;

	static struct log_ratelimit rl;

	/* Refused while local containers still use it (the list does not say
	 * which networks have any); tried again on the next pass. */
	if (err || (status >= 300 && status != 404)) {
		if (log_ratelimit_ok(&rl))
			log_warn("docker: cannot remove a network deleted from the cluster from "
				 "dockerd yet: %s",
				 err ? strerror(-err) : msg);
	} else {
		d->mirrored_out++;
	}
}

/* Records of Docker networks dockerd no longer has (deleted while the
 * agent was down, or force-deleted by dockerd at its start after we had
 * refused DeleteNetwork) are dropped once absent from several lists in a
 * row: a network just created is listed within milliseconds. */
static void records_prune(struct drv_docker *d, const json_t *list)
{
	for (size_t i = 0; i < d->nnets;) {
		struct dk_net *n = &d->nets[i];
		int listed = 0;

		for (size_t j = 0; j < json_array_size(list) && !listed; j++)
			listed = !strcmp(n->id, dk_jstr(json_array_get(list, j), "Id") ?: "");
		n->unlisted = listed ? 0 : n->unlisted + 1;
		if (n->unlisted < PRUNE_AFTER_LISTS) {
			i++;
			continue;
		}
		log_info("docker: network %.12s (%s) is gone from dockerd; record dropped", n->id,
			 n->name[0] ? n->name : "unnamed");
		for (size_t k = 0; k < d->neps;) {
			if (strcmp(d->eps[k].net, n->id)) {
				k++;
				continue;
			}
			dk_leave(d, &d->eps[k]);
			if (d->eps[k].own_lease && n->name[0])
				dk_release_lease(d, n->name, d->eps[k].ip);
			(void)drv_state_kv_delete(d->st, NS_EP, d->eps[k].id);
			d->eps[k] = d->eps[--d->neps];
		}
		(void)drv_state_kv_delete(d->st, NS_NET, n->id);
		*n = d->nets[--d->nnets];
	}
}

int dk_list_apply(struct drv_docker *d, json_t *body)
{
	const struct drv_net *nets;
	size_t nnets;

	if (!json_is_array(body))
		return -EINVAL;
	/* In vxmesh, not in Docker: create it there. */
	nets = drv_core_nets(d->core, &nnets);
	for (size_t i = 0; i < nnets; i++) {
		const char *name = nets[i].rec.name;
		size_t j;

		for (j = 0; j < json_array_size(body); j++) {
			const json_t *dn = json_array_get(body, j);
			const struct dk_net *n = dk_net_find(d, dk_jstr(dn, "Id") ?: "");

			/* There under its own name, or under another one with -o vxmesh.name. */
			if (!strcmp(name, dk_jstr(dn, "Name") ?: "") ||
			    (n && !strcmp(n->name, name)))
				break;
		}
		if (j == json_array_size(body) && !creating(d, name))
			mirror_create(d, &nets[i]);
	}
	/* Ours in Docker, removed from the cluster: remove it there. */
	for (size_t j = 0; j < json_array_size(body); j++) {
		const json_t *dn = json_array_get(body, j);
		const char *id = dk_jstr(dn, "Id"), *name = dk_jstr(dn, "Name");
		struct dk_net *n = id ? dk_net_find(d, id) : NULL;
		char path[128];

		/* By the vxmesh name it is bound to (-o vxmesh.name may differ);
		 * not one whose binding failed (the user's, shown the error). */
		if (!n || !name || !n->name[0] || n->err[0] ||
		    drv_core_net_find(d->core, n->name) || drv_cluster_net_known(d->cl, n->name))
			continue;
		snprintf(path, sizeof(path), "/networks/%s", id);
		if (dkc_request(d->dkc, "DELETE", path, NULL, DOCKER_TIMEOUT_MS, remove_done, d))
			break;
	}
	records_prune(d, body);
	return 0;
}

static void list_done(void *arg, int err, long status, json_t *body, const char *msg)
{
	struct drv_docker *d = arg;

	d->listing = 0;
	if (err || status != 200 || dk_list_apply(d, body)) {
		static struct log_ratelimit rl;

		if (log_ratelimit_ok(&rl))
			log_warn("docker: cannot list dockerd's networks at %s: %s",
				 d->cfg->docker_socket, err ? strerror(-err) : msg);
	}
}

/*
 * dockerd sets the FORWARD policy to DROP and turns on br_netfilter, so
 * frames bridged between a container's veth and the VXLAN port of our
 * bridges are filtered by iptables and dropped.  Docker's documented hook
 * for other traffic is its DOCKER-USER chain: keep one rule there that
 * accepts what stays on vxmesh bridges.  Checked every mirror pass with
 * iptables run as a child (never through a shell), never waited for.
 */
static void fw_spawn(struct drv_docker *d, const char *op)
{
	char *argv[] = {"iptables", "-w", "5",	   (char *)op, "DOCKER-USER", "-i",
			"vxmb+",    "-o", "vxmb+", "-j",       "ACCEPT",      NULL};
	posix_spawn_file_actions_t fa;
	extern char **environ;

	if (posix_spawn_file_actions_init(&fa))
		return;
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3); /* none of our sockets */
	if (posix_spawnp(&d->fw_pid, "iptables", &fa, NULL, argv, environ)) {
		d->fw_pid = 0;
		if (!d->fw_warned++)
			log_warn("docker: cannot run iptables: traffic on vxmesh bridges may be "
				 "dropped by Docker's FORWARD policy; see docs/docker.md");
	}
	posix_spawn_file_actions_destroy(&fa);
}

static void fw_tick(struct drv_docker *d)
{
	int st;

	if (d->fw_pid) {
		pid_t r = waitpid(d->fw_pid, &st, WNOHANG);

		if (r == 0)
			return; /* still running */
		d->fw_pid = 0;
		if (r < 0 || !WIFEXITED(st))
			return;
		if (d->fw_step == 0 && WEXITSTATUS(st) == 1) {
			d->fw_step = 1; /* not there (or no chain yet): insert it */
			fw_spawn(d, "-I");
			return;
		}
		if (d->fw_step == 1) {
			static struct log_ratelimit rl;

			if (WEXITSTATUS(st) && log_ratelimit_ok(&rl))
				log_warn("docker: could not add the DOCKER-USER rule for vxmesh "
					 "bridges (is dockerd running?); retrying");
			else if (!WEXITSTATUS(st))
				log_info("docker: DOCKER-USER accepts traffic on vxmesh bridges");
		}
		d->fw_step = 0;
		return;
	}
	d->fw_step = 0;
	fw_spawn(d, "-C");
}

static void mirror_cb(struct rx_loop *loop, struct rx_timer *t, void *arg)
{
	struct drv_docker *d = arg;

	rx_timer_arm(t, MIRROR_MS, MIRROR_MS / 10);
	fw_tick(d);
	if (d->listing || !d->dkc)
		return;
	/* filters={"driver":["vxmesh"]} */
	if (dkc_request(d->dkc, "GET", "/networks?filters=%7B%22driver%22%3A%5B%22vxmesh%22%5D%7D",
			NULL, DOCKER_TIMEOUT_MS, list_done, d) == 0)
		d->listing = 1;
}

/* ---- hooks on the core ---- */

/* The set of vxmesh networks changed: mirror soon, and re-run endpoint
 * calls parked until their network arrives. */
static void nets_changed(struct drv_docker *d)
{
	if (d->mirror_timer)
		rx_timer_arm(d->mirror_timer, 100, 0);
	drv_api_retry(d->plugin);
}

static void hook_net_added(void *arg, const struct drv_net *n, int created)
{
	nets_changed(arg);
}

static void hook_net_removed(void *arg, const char *name, int destroyed)
{
	nets_changed(arg);
}

static const struct drv_core_hooks core_hooks = {
	.net_added = hook_net_added,
	.net_removed = hook_net_removed,
};

void drv_docker_wake(struct drv_docker *d)
{
	if (d)
		drv_api_retry(d->plugin);
}

/* ---- open, close, metrics ---- */

/* The plugin socket, in Docker's error style. */
static int plugin_serve(struct drv_docker *d, const char *path)
{
	int ret = fs_mkdir_parent(path, 0755);

	if (!ret)
		ret = drv_api_open(&d->plugin, d->loop, path, dk_plugin_routes, dk_plugin_nroutes,
				   d);
	if (ret) {
		log_err("docker: cannot serve the plugin on %s: %s", path,
			ret == -EADDRINUSE ? "another agent answers there" : strerror(-ret));
		return ret;
	}
	drv_api_set_style(d->plugin, API_STYLE_DOCKER);
	return 0;
}

int drv_docker_open(struct drv_docker **out, struct rx_loop *loop, struct drv_config *cfg,
		    struct drv_state *st, struct drv_core *core, const struct drv_cluster *cl)
{
	struct drv_docker *d;
	char err[256];
	int ret;

	*out = NULL;
	if (!cfg->docker && !cfg->plugin_socket[0])
		return 0;
	if (!cfg->plugin_socket[0])
		snprintf(cfg->plugin_socket, sizeof(cfg->plugin_socket), "%s", DRV_PLUGIN_SOCKET);
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	*d = (struct drv_docker){.loop = loop, .cfg = cfg, .st = st, .core = core, .cl = cl};
	if ((ret = dk_records_load(d)))
		goto err;
	d->lookup_timer = rx_timer_create(loop, dk_lookup_timer_cb, d);
	d->mirror_timer = rx_timer_create(loop, mirror_cb, d);
	if (!d->lookup_timer || !d->mirror_timer) {
		ret = -ENOMEM;
		goto err;
	}
	ret = dkc_open(&d->dkc, loop, cfg->docker_socket, err, sizeof(err));
	if (ret) {
		log_err("docker: cannot use the Docker Engine API: %s", err);
		goto err;
	}
	if ((ret = plugin_serve(d, cfg->plugin_socket)) ||
	    (ret = drv_core_hooks_add(core, &core_hooks, d)))
		goto err;
	dk_records_apply(d);
	rx_timer_arm(d->mirror_timer, 200, 0);
	log_info("docker: plugin on %s, dockerd at %s; %zu network(s), %zu endpoint(s) known",
		 cfg->plugin_socket, cfg->docker_socket, d->nnets, d->neps);
	*out = d;
	return 0;
err:
	drv_docker_close(d);
	return ret;
}

void drv_docker_close(struct drv_docker *d)
{
	if (!d)
		return;
	drv_api_close(d->plugin);
	dkc_close(d->dkc);
	rx_timer_destroy(d->lookup_timer);
	rx_timer_destroy(d->mirror_timer);
	if (d->fw_pid) {
		kill(d->fw_pid, SIGTERM);
		waitpid(d->fw_pid, NULL, 0);
	}
	for (size_t i = 0; i < d->ncreating; i++)
		free(d->creating[i]);
	free(d->creating);
	free(d->pools);
	free(d->nets);
	free(d->eps);
	free(d);
}

void drv_docker_metrics(void *arg, FILE *f)
{
	struct drv_docker *d = arg;

	fprintf(f,
		"# HELP vxmesh_docker_calls_total Docker plugin calls, and those answered with an "
		"error.\n"
		"# TYPE vxmesh_docker_calls_total counter\n"
		"vxmesh_docker_calls_total{result=\"all\"} %llu\n"
		"vxmesh_docker_calls_total{result=\"error\"} %llu\n"
		"# HELP vxmesh_docker_networks Docker networks known, by state.\n"
		"# TYPE vxmesh_docker_networks gauge\nvxmesh_docker_networks %zu\n"
		"# HELP vxmesh_docker_endpoints Docker endpoints known.\n"
		"# TYPE vxmesh_docker_endpoints gauge\nvxmesh_docker_endpoints %zu\n"
		"# HELP vxmesh_docker_mirrored_total Networks created in or removed from dockerd "
		"by mirroring.\n"
		"# TYPE vxmesh_docker_mirrored_total counter\n"
		"vxmesh_docker_mirrored_total{op=\"create\"} %llu\n"
		"vxmesh_docker_mirrored_total{op=\"remove\"} %llu\n",
		d->calls, d->errors, d->nnets, d->neps, d->mirrored_in, d->mirrored_out);
}
