// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for driver/config.c: the agent's config file and command
 * line.  Byte 0 picks:
 *   even: the rest is a config file (written to a memfd, read back through
 *         /proc/self/fd/N by drv_config_load_file);
 *   odd:  the rest is argv, one argument per line after "vxmesh agent";
 *         a --config FILE names the same memfd, holding the arguments'
 *         bytes, whatever path the input gave.
 * Every outcome is 0 or -EINVAL with a message; strings stay terminated.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "driver/config.h"

#define ARGS_MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fd = -1;
static char path[64];

static void file_set(const uint8_t *p, size_t n)
{
	if (fd < 0) {
		fd = memfd_create("fuzz_config", MFD_CLOEXEC);
		assert(fd >= 0);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	assert(ftruncate(fd, 0) == 0);
	assert(pwrite(fd, p, n, 0) == (ssize_t)n);
}

static void check(const struct drv_config *c, int ret, const char *err)
{
	assert(ret == 0 || ret == -EINVAL);
	assert(ret == 0 || *err);
	assert(memchr(c->state_dir, 0, sizeof(c->state_dir)));
	assert(memchr(c->join_token, 0, sizeof(c->join_token)));
	assert(memchr(c->vtep, 0, sizeof(c->vtep)));
	assert(c->vxlan_port >= 1 && c->vxlan_port <= 65535);
	assert(c->reconcile_ms >= 100 && c->reconcile_ms <= 3600000);
	assert(c->default_subnet_len >= 8 && c->default_subnet_len <= 30);
}

static void file(const uint8_t *p, size_t n)
{
	struct drv_config c;
	char err[256] = "";
	int ret;

	file_set(p, n);
	drv_config_defaults(&c);
	ret = drv_config_load_file(&c, path, err, sizeof(err));
	check(&c, ret, err);
}

static void args(const uint8_t *p, size_t n)
{
	char *buf = malloc(n + 1), *argv[ARGS_MAX + 3], *s, *nl;
	struct drv_config c;
	char err[256] = "";
	int argc = 0, ret;

	assert(buf);
	memcpy(buf, p, n);
	buf[n] = '\0';
	file_set(p, n);
	argv[argc++] = "vxmesh";
	argv[argc++] = "agent";
	for (s = buf; argc < ARGS_MAX + 2; s = nl + 1) {
		nl = strchr(s, '\n');
		if (nl)
			*nl = '\0';
		if (argc > 2 && !strcmp(argv[argc - 1], "--config"))
			argv[argc++] = path;
		else if (!strncmp(s, "--config=", 9))
			argv[argc++] = "--config";
		else
			argv[argc++] = s;
		if (!nl)
			break;
	}
	argv[argc] = NULL;
	drv_config_defaults(&c);
	ret = drv_config_parse_args(&c, argc, argv, 2, err, sizeof(err));
	check(&c, ret, err);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > (1 << 16))
		return 0;
	(data[0] & 1 ? args : file)(data + 1, size - 1);
	return 0;
}
