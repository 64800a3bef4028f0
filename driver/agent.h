/* SPDX-License-Identifier: MIT */
/*
 * agent: `vxmesh agent`, the per-host daemon.  The only module that knows
 * all the others: it turns control-API calls into state-database rows, IPAM
 * leases and datapath (vxlan/) changes, and reconciles the kernel
 * periodically.
 */
#ifndef VXMESH_AGENT_H
#define VXMESH_AGENT_H

/* Runs the agent until SIGINT/SIGTERM.  argv[first..] are its options.
 * Returns a process exit code. */
int drv_agent_main(int argc, char **argv, int first);

#endif
