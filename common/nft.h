/* SPDX-License-Identifier: MIT */
/*
 * nft: nftables commands from C through libnftables, for the tables vxmesh
 * owns (the agent's admission table; `vxmesh cleanup`).  One command buffer
 * is one netlink batch: it applies whole or not at all.
 *
 * libnftables exit()s when it cannot open its netlink socket, so
 * nft_open() opens one itself first and fails with -errno instead.
 */
#ifndef VXMESH_NFT_H
#define VXMESH_NFT_H

#include <stddef.h>

/* The agent's admission table, `table ip VXMESH_ADMIT_TABLE`. */
#define VXMESH_ADMIT_TABLE "vxmesh_admit"

struct nft;

/* A context in the caller's network namespace, printing JSON.  0,
 * -EPERM/-EACCES (not root), -EPROTONOSUPPORT (no nf_tables), -ENOMEM. */
int nft_open(struct nft **out) __attribute__((warn_unused_result));
void nft_close(struct nft *n);
/* Run cmds (nft syntax, several lines).  0, or -EINVAL with nft's own error
 * text in why.  *out (when not NULL) points at the JSON output, valid until
 * the next call. */
int nft_run(struct nft *n, const char *cmds, const char **out, char *why, size_t len)
	__attribute__((warn_unused_result));

#endif
