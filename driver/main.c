// SPDX-License-Identifier: MIT
/*
 * vxmesh: one binary for the agent (`vxmesh agent`), its encrypted
 * datapath (`vxmesh encd`, started by the agent) and its CLI (every other
 * command).
 */
#include <string.h>

#include "cli/cli.h"
#include "driver/agent.h"
#include "vxlan/encd.h"

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "agent"))
		return drv_agent_main(argc, argv, 2);
	if (argc > 1 && !strcmp(argv[1], "encd"))
		return vx_encd_main(argc, argv, 2);
	return cli_main(argc, argv);
}
