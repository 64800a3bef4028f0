// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the Docker plugin's requests: every handler of
 * dk_plugin_routes[] (NetworkDriver and IpamDriver, driver/docker_plugin.c)
 * called in-process as driver/api.c calls them, with the body parsed the
 * way it parses it, on the adapter of tests/fuzz/docker_world.h over a
 * core on the fake kernel.  The world is made anew every RESET_EVERY
 * inputs, so what inputs create stays bounded.
 *
 * Input: calls, each [route][len hi][len lo][body]; a body that does not
 * parse to a JSON object is answered by the server and skipped here.
 * FUZZ_VERBOSE=1 prints each call's status.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/docker_world.h"
#include "tests/fuzz/harness.h"

#define RESET_EVERY 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
FZ_SMALL_QUARANTINE

static struct docker_world w;
static unsigned inputs;
static int verbose;

static void world_fini(void)
{
	dw_close(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (1 << 16))
		return 0;
	if (!w.d) {
		dw_process_init();
		verbose = getenv("FUZZ_VERBOSE") != NULL;
		dw_open(&w, "/dev/shm/vxmesh-fuzz-plugin-XXXXXX");
		atexit(world_fini);
	} else if (++inputs % RESET_EVERY == 0) {
		dw_close(&w);
		dw_open(&w, "/dev/shm/vxmesh-fuzz-plugin-XXXXXX");
	}
	for (size_t off = 0; off + 3 <= size;) {
		const struct api_route *r = &dk_plugin_routes[data[off] % dk_plugin_nroutes];
		size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
		json_t *body = NULL;
		unsigned status;

		off += 3;
		if (len > size - off)
			len = size - off;
		if (!fz_body(data + off, len, &body)) {
			status = dw_call(&w, r, body);
			if (verbose)
				printf("%s -> %u\n", r->path, status);
		}
		off += len;
		json_decref(body);
	}
	return 0;
}
