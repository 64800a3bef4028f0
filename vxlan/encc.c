// SPDX-License-Identifier: MIT
/*
 * encc: the agent's client of the encrypted datapath (see encc.h).
 */
#include "vxlan/encc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/vec.h"
#include "vxlan/encproto.h"
#include "vxlan/vxlan.h"

#define START_WAIT_MS 3000
#define STATS_WAIT_MS 1000

struct vx_encc {
	struct vx_encc_config cfg;
	int fd;
	int primed; /* the agent's desired state is complete: sync it */
	uint64_t session;
	uint16_t port;
	char err[320];
	struct encp_keys keys;
	struct encp_net *nets;
	size_t nnets, capnets;
	struct encp_node *nodes;
	size_t nnodes, capnodes;
	struct encp_peer *peers;
	size_t npeers, cappeers;
};

static void hdr(struct encp_hdr *h, enum encp_type t, size_t len)
{
	h->type = (uint16_t)t;
	h->version = ENCP_VERSION;
	h->len = (uint32_t)len;
}

static void drop(struct vx_encc *c, const char *what)
{
	if (c->fd < 0)
		return;
	log_warn("encrypted datapath: lost the control connection (%s); reconnecting", what);
	close(c->fd);
	c->fd = -1;
}

static int msg_send(struct vx_encc *c, const void *m, size_t len)
{
	/* Before the first sync a partial state would make the datapath drop
	 * what a restarted agent has not loaded yet. */
	if (c->fd < 0 || !c->primed)
		return -ENOTCONN;
	if (send(c->fd, m, len, MSG_NOSIGNAL) == (ssize_t)len)
		return 0;
	drop(c, strerror(errno));
	return -EPIPE;
}

static int try_connect(struct vx_encc *c)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	/* A stuck datapath must not stall the agent: a send that cannot go
	 * within a second drops the connection (resynced later). */
	struct timeval tv = {.tv_sec = 1};
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->cfg.ctl);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

/* Wait up to ms for one message on fd.  Its length, or -errno. */
static ssize_t recv_wait(int fd, void *buf, size_t len, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int r = poll(&p, 1, ms);

	if (r <= 0)
		return r ? -errno : -ETIMEDOUT;
	r = (int)recv(fd, buf, len, MSG_DONTWAIT);
	return r < 0 ? -errno : r;
}

/* Start `vxmesh encd` detached (double fork: it is nobody's child, and it
 * outlives the agent by design). */
static int spawn(struct vx_encc *c)
{
	char port[8], exe[256], bind[INET_ADDRSTRLEN];
	const char *argv[16];
	size_t k = 0;
	pid_t pid;
	int st;

	snprintf(exe, sizeof(exe), "%s", c->cfg.exe[0] ? c->cfg.exe : "/proc/self/exe");
	snprintf(port, sizeof(port), "%u", c->cfg.port);
	argv[k++] = "vxmesh";
	argv[k++] = "encd";
	argv[k++] = "--ctl";
	argv[k++] = c->cfg.ctl;
	argv[k++] = "--port";
	argv[k++] = port;
	if (c->cfg.bind.s_addr) {
		argv[k++] = "--bind";
		argv[k++] = inet_ntop(AF_INET, &c->cfg.bind, bind, sizeof(bind));
	}
	for (size_t i = 0; i < 4 && c->cfg.extra[i]; i++)
		argv[k++] = c->cfg.extra[i];
	argv[k] = NULL;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		sigset_t all;

		if (fork() != 0)
			_exit(0);
		setsid();
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return 0;
}

static void resync(struct vx_encc *c)
{
	struct encp_hdr h;

	hdr(&h, ENCP_SYNC_BEGIN, sizeof(h));
	if (msg_send(c, &h, sizeof(h)) || msg_send(c, &c->keys, sizeof(c->keys)))
		return;
	for (size_t i = 0; i < c->nnets; i++)
		if (msg_send(c, &c->nets[i], sizeof(c->nets[i])))
			return;
	for (size_t i = 0; i < c->nnodes; i++)
		if (msg_send(c, &c->nodes[i], sizeof(c->nodes[i])))
			return;
	for (size_t i = 0; i < c->npeers; i++)
		if (msg_send(c, &c->peers[i], sizeof(c->peers[i])))
			return;
	hdr(&h, ENCP_SYNC_END, sizeof(h));
	(void)msg_send(c, &h, sizeof(h));
}

/* Connect, starting the datapath when nobody answers; HELLO; resync. */
static int attach(struct vx_encc *c)
{
	struct encp_hello_reply r;
	struct encp_hdr h;
	int fd = try_connect(c), started = 0;
	ssize_t n;

	if (fd == -ENOENT || fd == -ECONNREFUSED) {
		if ((fd = spawn(c)) < 0) {
			snprintf(c->err, sizeof(c->err), "cannot start the encrypted datapath: %s",
				 strerror(-fd));
			return fd;
		}
		started = 1;
		for (int waited = 0; waited < START_WAIT_MS; waited += 20) {
			struct timespec ts = {0, 20 * 1000 * 1000};

			nanosleep(&ts, NULL);
			if ((fd = try_connect(c)) >= 0 || (fd != -ENOENT && fd != -ECONNREFUSED))
				break;
		}
	}
	if (fd < 0) {
		snprintf(c->err, sizeof(c->err),
			 "the encrypted datapath does not answer on %s: %s%s", c->cfg.ctl,
			 strerror(-fd), started ? " (it failed to start: see its log lines)" : "");
		return fd;
	}
	hdr(&h, ENCP_HELLO, sizeof(h));
	if (send(fd, &h, sizeof(h), MSG_NOSIGNAL) != sizeof(h) ||
	    (n = recv_wait(fd, &r, sizeof(r), START_WAIT_MS)) != (ssize_t)sizeof(r) ||
	    r.h.type != ENCP_HELLO || r.h.version != ENCP_VERSION) {
		snprintf(c->err, sizeof(c->err),
			 "the encrypted datapath on %s speaks another version; stop it "
			 "(vxmesh cleanup) or restart the host's datapath",
			 c->cfg.ctl);
		close(fd);
		return -EPROTO;
	}
	c->fd = fd;
	c->port = r.port;
	if (c->session != r.session)
		log_info("encrypted datapath: %s pid %u, session %016llx, port %u",
			 started ? "started" : "adopted", r.pid, (unsigned long long)r.session,
			 r.port);
	c->session = r.session;
	c->err[0] = '\0';
	if (c->primed)
		resync(c);
	return c->fd >= 0 ? 0 : -EPIPE;
}

int vx_encc_open(struct vx_encc **out, const struct vx_encc_config *cfg)
{
	struct vx_encc *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->cfg = *cfg;
	c->fd = -1;
	hdr(&c->keys.h, ENCP_KEYS, sizeof(c->keys));
	*out = c;
	return 0;
}

void vx_encc_prime(struct vx_encc *c)
{
	if (!c || c->primed)
		return;
	c->primed = 1;
	resync(c);
}

void vx_encc_close(struct vx_encc *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	sodium_memzero(&c->keys, sizeof(c->keys));
	free(c->nets);
	free(c->nodes);
	free(c->peers);
	free(c);
}

void vx_encc_shutdown(struct vx_encc *c)
{
	struct encp_hdr h;

	if (c && c->fd >= 0) {
		hdr(&h, ENCP_EXIT, sizeof(h));
		(void)send(c->fd, &h, sizeof(h), MSG_NOSIGNAL);
	}
	vx_encc_close(c);
}

int vx_encc_stop_at(const char *ctl)
{
	struct vx_encc c = {0};
	struct encp_hdr h;
	int fd, ret;

	snprintf(c.cfg.ctl, sizeof(c.cfg.ctl), "%s", ctl);
	if ((fd = try_connect(&c)) < 0)
		return fd == -ECONNREFUSED ? -ENOENT : fd;
	hdr(&h, ENCP_EXIT, sizeof(h));
	ret = send(fd, &h, sizeof(h), MSG_NOSIGNAL) == sizeof(h) ? 0 : -EIO;
	close(fd);
	return ret;
}

int vx_encc_ready(const struct vx_encc *c, char *why, size_t len)
{
	if (!c) {
		snprintf(why, len, "this agent runs without an encrypted datapath");
		return -EOPNOTSUPP;
	}
	if (!c->keys.n) {
		snprintf(why, len,
			 "no cluster key to encrypt with: start the agents with --encrypt "
			 "KEY (or join with a token that carries one)");
		return -ENOKEY;
	}
	if (c->fd < 0) {
		snprintf(why, len, "%s",
			 c->err[0] ? c->err : "the encrypted datapath is not running");
		return -ENOTCONN;
	}
	return 0;
}

uint64_t vx_encc_session(const struct vx_encc *c)
{
	return c && c->fd >= 0 ? c->session : 0;
}

uint16_t vx_encc_port(const struct vx_encc *c)
{
	return !c ? 0 : c->port ? c->port : c->cfg.port;
}

int vx_encc_check(struct vx_encc *c)
{
	uint64_t before;
	char b;

	if (!c)
		return 0;
	/* A closed peer reads as EOF. */
	if (c->fd >= 0 && recv(c->fd, &b, 1, MSG_DONTWAIT | MSG_PEEK) == 0)
		drop(c, "the datapath exited");
	if (c->fd >= 0 || !c->keys.n)
		return 0; /* connected, or nothing to seal with: no datapath needed */
	before = c->session;
	if (attach(c)) {
		static struct log_ratelimit rl;

		if (log_ratelimit_ok(&rl))
			log_err("encrypted datapath: %s", c->err);
		return 0;
	}
	return c->session != before;
}

int vx_encc_keys_set(struct vx_encc *c, const uint8_t (*keys)[ENC_KEY_LEN], unsigned n)
{
	if (n > ENCP_KEYS_MAX)
		n = ENCP_KEYS_MAX;
	sodium_memzero(c->keys.keys, sizeof(c->keys.keys));
	memcpy(c->keys.keys, keys, (size_t)n * ENC_KEY_LEN);
	c->keys.n = n;
	/* The first key starts (or adopts) the datapath: without one it
	 * could seal nothing, so a plaintext cluster runs none. */
	if (c->fd < 0 && n && attach(c))
		log_err("encrypted datapath: %s (encrypted networks are refused until it runs)",
			c->err);
	(void)msg_send(c, &c->keys, sizeof(c->keys));
	return 0;
}

int vx_encc_net_put(struct vx_encc *c, uint32_t vni, unsigned mtu, const char *bridge,
		    const char *tap)
{
	struct encp_net m = {.vni = vni, .mtu = mtu};
	size_t i;

	hdr(&m.h, ENCP_NET_PUT, sizeof(m));
	snprintf(m.bridge, sizeof(m.bridge), "%s", bridge);
	snprintf(m.tap, sizeof(m.tap), "%s", tap);
	for (i = 0; i < c->nnets && c->nets[i].vni != vni; i++)
		;
	if (i < c->nnets && !memcmp(&c->nets[i], &m, sizeof(m)))
		return 0;
	if (i == c->nnets) {
		if (vec_grow((void **)&c->nets, &c->capnets, c->nnets + 1, sizeof(*c->nets)))
			return -ENOMEM;
		c->nnets++;
	}
	c->nets[i] = m;
	(void)msg_send(c, &m, sizeof(m));
	return 1;
}

void vx_encc_net_del(struct vx_encc *c, uint32_t vni)
{
	for (size_t i = 0; i < c->nnets; i++)
		if (c->nets[i].vni == vni) {
			struct encp_net m = c->nets[i];

			hdr(&m.h, ENCP_NET_DEL, sizeof(m));
			c->nets[i] = c->nets[--c->nnets];
			(void)msg_send(c, &m, sizeof(m));
			break;
		}
	for (size_t i = c->npeers; i-- > 0;)
		if (c->peers[i].vni == vni)
			c->peers[i] = c->peers[--c->npeers];
}

static int node_same(const struct encp_node *a, const struct vx_encc_node *b)
{
	return a->vtep.s_addr == b->vtep.s_addr && a->vport == b->vport;
}

int vx_encc_nodes_set(struct vx_encc *c, const struct vx_encc_node *nodes, size_t n)
{
	struct encp_node *want = calloc(n ? n : 1, sizeof(*want));

	if (!want)
		return -ENOMEM;
	for (size_t j = 0; j < n; j++) {
		want[j] = (struct encp_node){.vtep = nodes[j].vtep,
					     .vport = nodes[j].vport,
					     .enc_port = nodes[j].enc_port,
					     .session = nodes[j].session};
		hdr(&want[j].h, ENCP_NODE_PUT, sizeof(want[j]));
	}
	for (size_t i = 0; i < c->nnodes; i++) {
		size_t j;

		for (j = 0; j < n && !node_same(&c->nodes[i], &nodes[j]); j++)
			;
		if (j == n) {
			struct encp_node m = c->nodes[i];

			hdr(&m.h, ENCP_NODE_DEL, sizeof(m));
			(void)msg_send(c, &m, sizeof(m));
		}
	}
	for (size_t j = 0; j < n; j++) {
		size_t i;

		for (i = 0; i < c->nnodes && !node_same(&c->nodes[i], &nodes[j]); i++)
			;
		if (i == c->nnodes || memcmp(&c->nodes[i], &want[j], sizeof(want[j])))
			(void)msg_send(c, &want[j], sizeof(want[j]));
	}
	free(c->nodes);
	c->nodes = want;
	c->nnodes = c->capnodes = n;
	return 0;
}

static size_t peer_find(const struct vx_encc *c, uint32_t vni, const uint8_t mac[6])
{
	for (size_t i = 0; i < c->npeers; i++)
		if (c->peers[i].vni == vni && !memcmp(c->peers[i].mac, mac, 6))
			return i;
	return (size_t)-1;
}

int vx_encc_peer_put(struct vx_encc *c, const struct vx_remote *r)
{
	struct encp_peer m = {.vni = r->vni, .ip = r->ip, .vtep = r->vtep, .vport = r->port};
	size_t i = peer_find(c, r->vni, r->mac);

	hdr(&m.h, ENCP_PEER_PUT, sizeof(m));
	memcpy(m.mac, r->mac, 6);
	if (i == (size_t)-1) {
		if (vec_grow((void **)&c->peers, &c->cappeers, c->npeers + 1, sizeof(*c->peers)))
			return -ENOMEM;
		i = c->npeers++;
	}
	c->peers[i] = m;
	(void)msg_send(c, &m, sizeof(m));
	return 0;
}

void vx_encc_peer_del(struct vx_encc *c, uint32_t vni, const uint8_t mac[6])
{
	size_t i = peer_find(c, vni, mac);
	struct encp_peer m;

	if (i == (size_t)-1)
		return;
	m = c->peers[i];
	hdr(&m.h, ENCP_PEER_DEL, sizeof(m));
	c->peers[i] = c->peers[--c->npeers];
	(void)msg_send(c, &m, sizeof(m));
}

json_t *vx_encc_stats(struct vx_encc *c)
{
	static char buf[ENCP_MSG_MAX];
	struct encp_hdr h;
	ssize_t n;

	if (!c || c->fd < 0)
		return NULL;
	hdr(&h, ENCP_STATS, sizeof(h));
	if (send(c->fd, &h, sizeof(h), MSG_NOSIGNAL) != sizeof(h)) {
		drop(c, strerror(errno));
		return NULL;
	}
	n = recv_wait(c->fd, buf, sizeof(buf) - 1, STATS_WAIT_MS);
	if (n <= 0) {
		drop(c, n ? strerror((int)-n) : "closed");
		return NULL;
	}
	return json_loadb(buf, (size_t)n, 0, NULL);
}
