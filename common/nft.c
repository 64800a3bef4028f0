// SPDX-License-Identifier: MIT
/*
 * nft: a thin libnftables wrapper (see nft.h).
 */
#include "common/nft.h"

#include <errno.h>
#include <linux/netlink.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct nft {
	struct nft_ctx *ctx;
};

int nft_open(struct nft **out)
{
	struct nft *n;
	int fd;

	/* What libnftables would otherwise exit() on. */
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (fd < 0)
		return -errno;
	close(fd);
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!n->ctx) {
		free(n);
		return -ENOMEM;
	}
	nft_ctx_output_set_flags(n->ctx, NFT_CTX_OUTPUT_JSON);
	if (nft_ctx_buffer_output(n->ctx) || nft_ctx_buffer_error(n->ctx)) {
		nft_close(n);
		return -ENOMEM;
	}
	*out = n;
	return 0;
}

void nft_close(struct nft *n)
{
	if (!n)
		return;
	nft_ctx_free(n->ctx);
	free(n);
}

int nft_run(struct nft *n, const char *cmds, const char **out, char *why, size_t len)
{
	int ret = nft_run_cmd_from_buffer(n->ctx, cmds);
	const char *err = nft_ctx_get_error_buffer(n->ctx);

	if (out)
		*out = nft_ctx_get_output_buffer(n->ctx);
	if (!ret)
		return 0;
	if (why && len) {
		/* nft's message is several lines (the command, a caret line): the first. */
		size_t l = err ? strcspn(err, "\n") : 0;

		snprintf(why, len, "%.*s", (int)l, l ? err : "nftables refused the command");
	}
	return -EINVAL;
}
