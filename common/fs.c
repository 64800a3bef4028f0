// SPDX-License-Identifier: MIT
/*
 * fs: mkdir -p.  Works on a private copy of the path, cutting it at each
 * component boundary in turn, so there is no length limit of our own.
 */
#include "common/fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* mkdir that accepts an existing directory (or a symlink to one). */
static int mkdir_one(const char *dir, mode_t mode)
{
	struct stat st;

	if (mkdir(dir, mode) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	if (stat(dir, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* mkdir -p of the first len bytes of path (len > 0). */
static int mkdir_upto(const char *path, size_t len, mode_t mode)
{
	char *buf = strndup(path, len);
	char *p;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	for (p = buf; !err && *p;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		p += strcspn(p, "/");
		if (*p) {
			*p = '\0';
			err = mkdir_one(buf, mode);
			*p = '/';
		} else {
			err = mkdir_one(buf, mode);
		}
	}
	free(buf);
	return err;
}

int fs_mkdir_p(const char *dir, mode_t mode)
{
	if (!dir || !dir[0])
		return -EINVAL;
	return mkdir_upto(dir, strlen(dir), mode);
}

int fs_mkdir_parent(const char *path, mode_t mode)
{
	size_t len;

	if (!path || !path[0])
		return -EINVAL;
	len = strlen(path);
	while (len > 0 && path[len - 1] == '/') /* "a/b/" is b, held by a */
		len--;
	while (len > 0 && path[len - 1] != '/')
		len--;
	while (len > 0 && path[len - 1] == '/')
		len--;
	return len ? mkdir_upto(path, len, mode) : 0;
}
