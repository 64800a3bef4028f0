// SPDX-License-Identifier: MIT
/*
 * encc against a fake datapath: a thread that listens on the control
 * socket, answers HELLO and records every message.  Covers the rule that
 * a restarting agent must not make the datapath drop what it has: nothing
 * is sent before vx_encc_prime(), then the whole state between SYNC_BEGIN
 * and SYNC_END, then one message per change, and again the whole state
 * after a reconnect.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/unit/fake_kernel.h"
#include "vxlan/encc.h"
#include "vxlan/encproto.h"
#include "vxlan/vxlan.h"

#define MAXMSG 64

struct fake {
	char path[108];
	int lfd, cfd;
	uint64_t session;
	uint16_t types[MAXMSG];
	size_t n;
	int hellos;
	pthread_t th;
	pthread_mutex_t mu;
	int stop;
};

static struct fake F;

static void *fake_run(void *arg)
{
	struct fake *f = arg;
	uint8_t buf[ENCP_MSG_MAX];

	while (!f->stop) {
		struct pollfd p[2] = {{.fd = f->lfd, .events = POLLIN},
				      {.fd = f->cfd, .events = POLLIN}};
		ssize_t r;

		if (poll(p, f->cfd >= 0 ? 2 : 1, 20) <= 0)
			continue;
		if (p[0].revents & POLLIN) {
			int c = accept(f->lfd, NULL, NULL);

			if (f->cfd >= 0)
				close(f->cfd);
			f->cfd = c;
			continue;
		}
		r = recv(f->cfd, buf, sizeof(buf), 0);
		if (r <= 0) {
			close(f->cfd);
			f->cfd = -1;
			continue;
		}
		struct encp_hdr h;

		memcpy(&h, buf, sizeof(h));
		pthread_mutex_lock(&f->mu);
		if (h.type == ENCP_HELLO) {
			struct encp_hello_reply rep = {.h = {ENCP_HELLO, ENCP_VERSION, sizeof(rep)},
						       .session = f->session,
						       .pid = 1,
						       .port = 4794,
						       .aead = ENC_AES256GCM};

			f->hellos++;
			send(f->cfd, &rep, sizeof(rep), MSG_NOSIGNAL);
		} else if (h.type == ENCP_STATS) {
			const char *js = "{\"session\":\"00000000000000aa\"}";

			send(f->cfd, js, strlen(js), MSG_NOSIGNAL);
		} else if (f->n < MAXMSG) {
			f->types[f->n++] = h.type;
		}
		pthread_mutex_unlock(&f->mu);
	}
	return NULL;
}

static void setup(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(&F, 0, sizeof(F));
	snprintf(F.path, sizeof(F.path), "/tmp/vxmesh-encc-%d.sock", (int)getpid());
	unlink(F.path);
	F.lfd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	F.cfd = -1;
	F.session = 0xaa;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", F.path);
	cr_assert_eq(bind(F.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(F.lfd, 4), 0);
	pthread_mutex_init(&F.mu, NULL);
	pthread_create(&F.th, NULL, fake_run, &F);
}

static void teardown(void)
{
	F.stop = 1;
	pthread_join(F.th, NULL);
	if (F.cfd >= 0)
		close(F.cfd);
	close(F.lfd);
	unlink(F.path);
}

/* Wait until the fake has recorded n messages (or 2 s passed). */
static size_t seen(size_t n)
{
	for (int i = 0; i < 200; i++) {
		size_t k;

		pthread_mutex_lock(&F.mu);
		k = F.n;
		pthread_mutex_unlock(&F.mu);
		if (k >= n)
			return k;
		usleep(10000);
	}
	return F.n;
}

static struct vx_encc *open_ok(void)
{
	struct vx_encc_config cfg = {.port = 4794};
	struct vx_encc *c;

	snprintf(cfg.ctl, sizeof(cfg.ctl), "%s", F.path);
	snprintf(cfg.exe, sizeof(cfg.exe), "/bin/false"); /* never started here */
	cr_assert_eq(vx_encc_open(&c, &cfg), 0);
	cr_expect_eq(vx_encc_session(c), 0, "no key yet: no datapath");
	return c;
}

static void fill(struct vx_encc *c)
{
	static const uint8_t keys[2][ENC_KEY_LEN] = {{1}, {2}};
	struct vx_remote r = {
		.vni = 7, .mac = {2, 0, 0, 0, 0, 9}, .vtep = {htonl(0xc0000202)}, .port = 4789};
	struct vx_encc_node nd = {
		.vtep = {htonl(0xc0000202)}, .vport = 4789, .enc_port = 4794, .session = 0xbb};

	cr_assert_eq(vx_encc_keys_set(c, keys, 2), 0);
	cr_assert_eq(vx_encc_net_put(c, 7, 1418, "vxmb7", "vxmt7"), 1);
	cr_assert_eq(vx_encc_nodes_set(c, &nd, 1), 0);
	cr_assert_eq(vx_encc_peer_put(c, &r), 0);
}

TestSuite(encc, .init = setup, .fini = teardown);

Test(encc, nothing_is_sent_before_prime_then_the_whole_state_in_one_sync)
{
	static const uint16_t want[] = {ENCP_SYNC_BEGIN, ENCP_KEYS,	ENCP_NET_PUT,
					ENCP_NODE_PUT,	 ENCP_PEER_PUT, ENCP_SYNC_END};
	struct vx_encc *c = open_ok();
	char why[256];

	fill(c);
	cr_expect_eq(vx_encc_session(c), 0xaa, "the first key attached it");
	usleep(100000);
	cr_expect_eq(F.n, 0, "a partial state would make the datapath drop what it has");
	cr_expect_eq(vx_encc_ready(c, why, sizeof(why)), 0, "%s", why);
	vx_encc_prime(c);
	cr_assert_eq(seen(6), 6);
	for (size_t i = 0; i < 6; i++)
		cr_expect_eq(F.types[i], want[i], "message %zu is %u", i, F.types[i]);
	vx_encc_close(c);
}

Test(encc, changes_after_prime_are_one_message_each_and_repeats_none)
{
	struct vx_encc *c = open_ok();
	struct vx_remote r = {.vni = 7, .mac = {2, 0, 0, 0, 0, 9}};

	fill(c);
	vx_encc_prime(c);
	seen(6);
	cr_expect_eq(vx_encc_net_put(c, 7, 1418, "vxmb7", "vxmt7"), 0, "known as it is: unsent");
	vx_encc_peer_del(c, 7, r.mac);
	vx_encc_net_del(c, 7);
	cr_assert_eq(seen(8), 8);
	cr_expect_eq(F.types[6], ENCP_PEER_DEL);
	cr_expect_eq(F.types[7], ENCP_NET_DEL);
	cr_assert_eq(vx_encc_nodes_set(c, NULL, 0), 0);
	cr_assert_eq(seen(9), 9);
	cr_expect_eq(F.types[8], ENCP_NODE_DEL, "a host no longer live is withdrawn");
	vx_encc_close(c);
}

Test(encc, a_lost_connection_is_resynced_whole_and_stats_are_json)
{
	struct vx_encc *c = open_ok();
	json_t *st;

	fill(c);
	vx_encc_prime(c);
	seen(6);
	st = vx_encc_stats(c);
	cr_assert_not_null(st);
	cr_expect_str_eq(json_string_value(json_object_get(st, "session")), "00000000000000aa");
	json_decref(st);
	/* The datapath restarts: a new session, the connection drops. */
	pthread_mutex_lock(&F.mu);
	F.session = 0xcc;
	shutdown(F.cfd, SHUT_RDWR);
	pthread_mutex_unlock(&F.mu);
	usleep(100000);
	cr_expect_eq(vx_encc_check(c), 1, "a new session is reported (to advertise it)");
	cr_expect_eq(vx_encc_session(c), 0xcc);
	cr_assert_eq(seen(12), 12);
	cr_expect_eq(F.types[6], ENCP_SYNC_BEGIN);
	cr_expect_eq(F.types[11], ENCP_SYNC_END);
	cr_expect_eq(vx_encc_check(c), 0, "connected: nothing to do");
	vx_encc_close(c);
}

Test(encc, not_ready_without_keys_or_without_a_datapath)
{
	struct vx_encc *c = open_ok();
	char why[256];

	cr_expect_eq(vx_encc_ready(c, why, sizeof(why)), -ENOKEY);
	cr_expect(strstr(why, "--encrypt") != NULL, "%s", why);
	cr_expect_eq(vx_encc_check(c), 0, "no key: no datapath started");
	cr_expect_eq(vx_encc_session(c), 0);
	cr_expect_eq(vx_encc_ready(NULL, why, sizeof(why)), -EOPNOTSUPP);
	vx_encc_close(c);
}

/* The reconciler's side: an encrypted network is a bridge and a TAP, never
 * a vxlan device, and its remote endpoints never reach a kernel FDB. */
Test(encc, vx_dp_puts_encrypted_networks_bridge_only_and_remotes_to_the_datapath)
{
	static struct fk K;
	struct vx_net_spec n = {
		.name = "sealed", .vni = 7, .port = 4789, .mtu = 1418, .encrypted = 1};
	struct vx_remote r = {.vni = 7,
			      .mac = {2, 0, 0, 0, 0, 9},
			      .ip = {htonl(0x0a000002)},
			      .vtep = {htonl(0xc0000202)}};
	struct vx_encc *c = open_ok();
	struct vx_dp *dp;
	char why[256];

	fk_init(&K);
	/* A vxlan device of this VNI left by an older run: must go. */
	fk_link_add(&K, "vxmv7", VX_KIND_VXLAN, "vxmesh:net=sealed");
	cr_assert_eq(vx_dp_create(&dp, fk_ops(), &K), 0);
	cr_assert_eq(vx_encc_keys_set(c, (const uint8_t[][ENC_KEY_LEN]){{1}}, 1), 0);
	vx_encc_prime(c);
	cr_assert_eq(seen(3), 3, "the sync: SYNC_BEGIN, KEYS, SYNC_END");
	cr_expect_eq(vx_dp_net_put(dp, &n, why, sizeof(why)), -EOPNOTSUPP,
		     "without a datapath client: refused");
	cr_expect_null(fk_link(&K, "vxmb7"), "and nothing programmed: %s", why);
	vx_dp_set_encc(dp, c);
	cr_assert_eq(vx_dp_net_put(dp, &n, why, sizeof(why)), 0, "%s", why);
	cr_expect_not_null(fk_link(&K, "vxmb7"));
	cr_expect_null(fk_link(&K, "vxmv7"), "no vxlan device for an encrypted network");
	cr_assert_eq(vx_dp_remote_put(dp, &r), 0);
	cr_expect_eq(K.nfdb, 0, "no FDB entry: the remote is the datapath's");
	cr_expect_eq(K.nneigh, 0);
	cr_assert_eq(vx_dp_reconcile(dp), 0);
	cr_expect_null(fk_link(&K, "vxmv7"));
	cr_assert_eq(seen(5), 5);
	cr_expect_eq(F.types[3], ENCP_NET_PUT);
	cr_expect_eq(F.types[4], ENCP_PEER_PUT);
	cr_assert_eq(vx_dp_remote_del(dp, 7, r.mac), 0);
	cr_assert_eq(vx_dp_net_del(dp, 7), 0);
	cr_assert_eq(seen(7), 7);
	cr_expect_eq(F.types[5], ENCP_PEER_DEL);
	cr_expect_eq(F.types[6], ENCP_NET_DEL);
	cr_expect_null(fk_link(&K, "vxmb7"));
	vx_dp_destroy(dp);
	vx_encc_close(c);
}
