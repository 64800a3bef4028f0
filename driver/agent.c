// SPDX-License-Identifier: MIT
/*
 * agent: `vxmesh agent`, the composition root.  Opens every module in
 * order, hands each the others it may call (the core, the allocator's peer
 * operations, hooks), assembles the control API's routes from every
 * module's table, runs the loop, and closes everything in reverse.  It
 * holds no logic of its own: that lives in the core (driver/core.c) and
 * the adapters around it.
 */
#include "driver/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/reactor.h"
#include "common/version.h"
#include "driver/admit.h"
#include "driver/alloc.h"
#include "driver/api.h"
#include "driver/cluster.h"
#include "driver/config.h"
#include "driver/core.h"
#include "driver/docker.h"
#include "driver/enc_report.h"
#include "driver/routes.h"
#include "driver/state.h"
#include "vxlan/encc.h"
#include "vxlan/vxlan.h"

struct agent {
	struct drv_config cfg;
	struct rx_loop *loop;
	struct drv_state *st;
	struct vx_nl *nl;
	struct vx_dp *dp;
	struct vx_encc *enc;
	struct drv_alloc *al;
	struct drv_core *core;
	struct drv_cluster *cl;
	struct drv_admit *adm;
	struct drv_docker *dk;
	struct drv_api *api;
	struct drv_routes routes; /* the control API handlers' arg */
	struct api_route *table;  /* every module's routes */
	struct drv_node_rec node;
	struct rx_timer *reconcile_timer;
	int sig_fd;
	int lock_fd;
};

/* Callers parked on a peer (control API, Docker plugin) may try again. */
static void wake_cb(void *arg)
{
	struct agent *a = arg;

	if (a->api)
		drv_api_retry(a->api);
	drv_docker_wake(a->dk);
}

static void reconcile_cb(struct rx_loop *loop, struct rx_timer *t, void *arg)
{
	struct agent *a = arg;

	(void)vx_encc_check(a->enc);
	drv_cluster_enc_update(a->cl);
	drv_core_reconcile(a->core);
	rx_timer_arm(t, a->cfg.reconcile_ms, a->cfg.reconcile_ms / 10);
}

static void signal_cb(struct rx_loop *loop, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) == sizeof(si)) {
		log_info("signal %u received; stopping (kernel objects stay in place)",
			 si.ssi_signo);
		rx_loop_stop(loop);
	}
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: vxmesh agent [OPTIONS]\n\n"
		   "Run the per-host vxmesh agent: serve the control API, keep the kernel's\n"
		   "bridges, VXLAN devices, veth pairs, FDB and neighbour entries as the state\n"
		   "database says.  Stopping the agent leaves them in place.\n\nOptions:\n");
	drv_config_usage(f);
}

/* /v1/status with --no-admission says so. */
static void admit_off_status(void *arg, json_t *status)
{
	json_object_set_new(status, "admission", json_pack("{s:b}", "enabled", 0));
}

/* Every module's routes in one table, each with its module's handle. */
static int routes_build(struct agent *a)
{
	const struct {
		const struct api_route *r;
		size_t n;
		void *arg;
	} parts[] = {
		{drv_routes, drv_nroutes, &a->routes},
		{drv_cluster_routes, drv_cluster_nroutes, a->cl},
		{drv_alloc_routes, drv_alloc_nroutes, a->al},
	};
	size_t n = 0, k = 0;

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		n += parts[i].n;
	a->table = calloc(n, sizeof(*a->table));
	if (!a->table)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		for (size_t j = 0; j < parts[i].n; j++) {
			a->table[k] = parts[i].r[j];
			a->table[k++].arg = parts[i].arg;
		}
	return (int)k;
}

/* The encrypted datapath's client.  The datapath is adopted (or started)
 * once the cluster hands it a key; failing that is not fatal: encrypted
 * networks are refused with the reason. */
static int agent_open_enc(struct agent *a)
{
	struct vx_encc_config ec = {.port = (uint16_t)a->cfg.enc_port};

	if (a->cfg.no_encryption)
		return 0;
	if (snprintf(ec.ctl, sizeof(ec.ctl), "%s.encd", a->cfg.socket) >= (int)sizeof(ec.ctl)) {
		log_err("--socket %s is too long to name the encrypted datapath's socket after it; "
			"encrypted networks are refused",
			a->cfg.socket);
		return 0;
	}
	if (a->cfg.vtep[0] && addr_parse_ip4(a->cfg.vtep, &ec.bind))
		ec.bind.s_addr = 0;
	if (vx_encc_open(&a->enc, &ec))
		return -ENOMEM;
	vx_dp_set_encc(a->dp, a->enc);
	return 0;
}

/* Signals, the state directory (locked), the database, rtnetlink. */
static int agent_open_base(struct agent *a)
{
	char err[512], path[PATH_MAX + 16];
	sigset_t mask;
	int ret;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((ret = rx_loop_create(&a->loop))) {
		log_err("cannot create the event loop: %s", strerror(-ret));
		return ret;
	}
	a->sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	ret = a->sig_fd < 0 ? -errno : rx_io_add(a->loop, a->sig_fd, EPOLLIN, signal_cb, a);
	if (ret) {
		log_err("cannot watch signals: %s", strerror(-ret));
		return ret;
	}
	if ((ret = fs_mkdir_p(a->cfg.state_dir, 0700))) {
		log_err("cannot create state directory %s: %s", a->cfg.state_dir, strerror(-ret));
		return ret;
	}
	snprintf(path, sizeof(path), "%s/agent.lock", a->cfg.state_dir);
	a->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (a->lock_fd < 0 || flock(a->lock_fd, LOCK_EX | LOCK_NB)) {
		log_err("state directory %s is in use by another agent (%s)", a->cfg.state_dir,
			strerror(errno));
		return -EBUSY;
	}
	if ((ret = drv_state_open(&a->st, a->cfg.state_dir, err, sizeof(err)))) {
		log_err("cannot open the state database in %s: %s", a->cfg.state_dir, err);
		return ret;
	}
	if ((ret = drv_state_node_get(a->st, &a->node))) {
		log_err("cannot read the node identity: %s", strerror(-ret));
		return ret;
	}
	if ((ret = vx_nl_open(&a->nl)) || (ret = vx_dp_create(&a->dp, &vx_nl_ops, a->nl))) {
		log_err("cannot open rtnetlink: %s", strerror(-ret));
		return ret;
	}
	return agent_open_enc(a);
}

/* The allocator, the core with the stored tables, then gossip: the
 * replicated tables come back from the database before the first
 * reconcile, so remote entries survive an agent restart untouched. */
static int agent_open_core(struct agent *a)
{
	struct drv_core_config cc = {
		.vxlan_port = (uint16_t)a->cfg.vxlan_port,
		.subnet_len = (uint8_t)a->cfg.default_subnet_len,
		.ko = &vx_nl_ops,
		.ko_ctx = a->nl,
		.enc = a->enc,
	};
	int ret;

	if (a->cfg.vtep[0] && addr_parse_ip4(a->cfg.vtep, &cc.vtep))
		return -EINVAL; /* validated by the config table already */
	if (addr_parse_prefix(a->cfg.default_pool, 1, &cc.pool))
		cc.pool.len = 0; /* validated too; picking then fails */
	if ((ret = drv_alloc_open(&a->al, a->loop, a->node.id, wake_cb, a)) ||
	    (ret = drv_core_open(&a->core, &cc, &a->node, a->st, a->dp, a->al))) {
		log_err("out of memory");
		return ret;
	}
	if ((ret = drv_core_load(a->core))) {
		log_err("cannot load state: %s", strerror(-ret));
		return ret;
	}
	if ((ret = drv_cluster_open(&a->cl, a->loop, &a->cfg, a->st, a->core, a->al))) {
		log_err("cannot start gossip: %s", strerror(-ret));
		return ret;
	}
	/* Keys, networks and remote endpoints are all known now. */
	vx_encc_prime(a->enc);
	/* Admission follows the membership; without it the agent does not run
	 * unless told (--no-admission). */
	if ((ret = drv_admit_open(&a->adm, a->loop, a->core, (uint16_t)a->cfg.vxlan_port,
				  a->enc ? (uint16_t)a->cfg.enc_port : 0, a->cfg.admit,
				  !a->cfg.no_admission)))
		return ret;
	if (a->adm)
		drv_cluster_on_members(a->cl, drv_admit_members, a->adm);
	return 0;
}

/* The control API (every module's routes) and the Docker plugin. */
static int agent_serve(struct agent *a)
{
	int n, ret;

	a->routes = (struct drv_routes){
		.core = a->core, .al = a->al, .cfg = &a->cfg, .started = time(NULL)};
	a->routes.reports[a->routes.nreports++] = (struct drv_report){
		.status = drv_cluster_status, .metrics = drv_cluster_metrics, .arg = a->cl};
	a->routes.reports[a->routes.nreports++] =
		a->adm ? (struct drv_report){.status = drv_admit_status,
					     .metrics = drv_admit_metrics,
					     .arg = a->adm}
		       : (struct drv_report){.status = admit_off_status};
	if (a->enc)
		a->routes.reports[a->routes.nreports++] = (struct drv_report){
			.status = drv_enc_status, .metrics = drv_enc_metrics, .arg = a->core};
	if ((ret = fs_mkdir_parent(a->cfg.socket, 0755))) {
		log_err("cannot create the directory of %s: %s", a->cfg.socket, strerror(-ret));
		return ret;
	}
	n = routes_build(a);
	ret = n < 0 ? n : drv_api_open(&a->api, a->loop, a->cfg.socket, a->table, (size_t)n, a);
	if (ret) {
		log_err("cannot serve the control API on %s: %s", a->cfg.socket,
			ret == -EADDRINUSE ? "another agent answers there" : strerror(-ret));
		return ret;
	}
	a->routes.api = a->api;
	if ((ret = drv_docker_open(&a->dk, a->loop, &a->cfg, a->st, a->core, a->cl)))
		return ret;
	if (a->dk)
		a->routes.reports[a->routes.nreports++] =
			(struct drv_report){.metrics = drv_docker_metrics, .arg = a->dk};
	return 0;
}

static void agent_fini(struct agent *a)
{
	drv_docker_close(a->dk);
	drv_api_close(a->api);
	if (a->cl)
		drv_cluster_on_members(a->cl, NULL, NULL);
	drv_admit_close(a->adm);
	drv_cluster_close(a->cl);
	rx_timer_destroy(a->reconcile_timer);
	drv_core_close(a->core);
	drv_alloc_close(a->al);
	free(a->table);
	vx_dp_destroy(a->dp);
	vx_encc_close(a->enc); /* the datapath runs on: the next agent adopts it */
	vx_nl_close(a->nl);
	drv_state_close(a->st);
	if (a->sig_fd >= 0)
		close(a->sig_fd);
	if (a->lock_fd >= 0)
		close(a->lock_fd);
	rx_loop_destroy(a->loop);
}

int drv_agent_main(int argc, char **argv, int first)
{
	struct agent a = {.sig_fd = -1, .lock_fd = -1};
	size_t nnets, neps;
	char err[512];
	int ret;

	drv_config_defaults(&a.cfg);
	if (drv_config_parse_args(&a.cfg, argc, argv, first, err, sizeof(err))) {
		fprintf(stderr, "vxmesh agent: %s\n", err);
		usage(stderr);
		return 2;
	}
	if (a.cfg.help) {
		usage(stdout);
		return 0;
	}
	log_set_level((enum log_level)a.cfg.log_level);
	log_set_json(a.cfg.log_json);
	signal(SIGPIPE, SIG_IGN);

	if (agent_open_base(&a))
		goto err;
	log_info("vxmesh agent %s starting node=%s name=%s state=%s socket=%s", vxmesh_version,
		 a.node.id, a.node.name, a.cfg.state_dir, a.cfg.socket);
	if (agent_open_core(&a))
		goto err;
	drv_core_nets(a.core, &nnets);
	drv_core_eps(a.core, &neps);
	log_info("loaded %zu network(s) and %zu endpoint(s) from %s", nnets, neps, a.cfg.state_dir);
	/* The first full pass removes what a previous run left that is no
	 * longer wanted, and adopts the rest. */
	drv_core_reconcile(a.core);
	if (agent_serve(&a))
		goto err;
	a.reconcile_timer = rx_timer_create(a.loop, reconcile_cb, &a);
	if (!a.reconcile_timer)
		goto err;
	rx_timer_arm(a.reconcile_timer, a.cfg.reconcile_ms, a.cfg.reconcile_ms / 10);
	drv_core_nets(a.core, &nnets);
	drv_core_eps(a.core, &neps);
	log_info("ready: %zu network(s), %zu endpoint(s), reconcile every %u ms", nnets, neps,
		 a.cfg.reconcile_ms);

	ret = rx_loop_run(a.loop);
	agent_fini(&a);
	return ret ? 1 : 0;
err:
	agent_fini(&a);
	return 1;
}
