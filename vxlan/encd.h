/* SPDX-License-Identifier: MIT */
/*
 * encd: the encrypted datapath process (`vxmesh encd`, vxlan/encd.c).
 */
#ifndef VXMESH_ENCD_H
#define VXMESH_ENCD_H

/* main() of `vxmesh encd`: argv[first..] are its options.  Returns the
 * exit status. */
int vx_encd_main(int argc, char **argv, int first);

#endif
