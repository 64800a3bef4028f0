/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for common/fs.c: fs_mkdir_p() and fs_mkdir_parent() inside a
 * fresh mkdtemp() directory with umask 0, so created modes are exact.  Each
 * case lays out some directories and files, makes one call relative to the
 * temporary directory, and checks the result, the modes of what should exist
 * and the absence of what should not.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"

static char tmp[64];
static int orig_cwd = -1;

static void setup(void)
{
	umask(0);
	snprintf(tmp, sizeof(tmp), "/tmp/vxmesh-test-fs.XXXXXX");
	cr_assert_not_null(mkdtemp(tmp));
	orig_cwd = open(".", O_RDONLY | O_DIRECTORY);
	cr_assert_geq(orig_cwd, 0);
	cr_assert_eq(chdir(tmp), 0);
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void teardown(void)
{
	if (orig_cwd >= 0) {
		cr_assert_eq(fchdir(orig_cwd), 0);
		close(orig_cwd);
	}
	nftw(tmp, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

struct dir_want {
	const char *path;
	mode_t mode;
};

enum call { MKDIR_P, MKDIR_PARENT };

static const struct fs_case {
	const char *what;
	struct dir_want pre_dirs[3]; /* made before the call */
	const char *pre_files[2];
	enum call call;
	const char *path;
	mode_t mode;
	int ret;
	struct dir_want want[4]; /* directories after the call, with their modes */
	const char *absent[3];
} cases[] = {
	{"creates every missing component with the mode",
	 {{0}},
	 {0},
	 MKDIR_P,
	 "a/b/c",
	 0750,
	 0,
	 {{"a", 0750}, {"a/b", 0750}, {"a/b/c", 0750}},
	 {0}},
	{"leaves an existing component's mode alone",
	 {{"a", 0700}},
	 {0},
	 MKDIR_P,
	 "a/b",
	 0755,
	 0,
	 {{"a", 0700}, {"a/b", 0755}},
	 {0}},
	{"an existing directory is success and unchanged",
	 {{"a", 0711}},
	 {0},
	 MKDIR_P,
	 "a",
	 0700,
	 0,
	 {{"a", 0711}},
	 {0}},
	{"repeated and trailing slashes are one separator",
	 {{0}},
	 {0},
	 MKDIR_P,
	 "a//b///c//",
	 0700,
	 0,
	 {{"a", 0700}, {"a/b", 0700}, {"a/b/c", 0700}},
	 {0}},
	{"dot components are walked through",
	 {{"a", 0755}},
	 {0},
	 MKDIR_P,
	 "./a/./b",
	 0700,
	 0,
	 {{"a", 0755}, {"a/b", 0700}},
	 {0}},
	{"a file in the middle is -ENOTDIR",
	 {{0}},
	 {"f"},
	 MKDIR_P,
	 "f/x",
	 0700,
	 -ENOTDIR,
	 {{0}},
	 {"f/x"}},
	{"a file at the end is -ENOTDIR",
	 {{"a", 0755}},
	 {"a/f"},
	 MKDIR_P,
	 "a/f",
	 0700,
	 -ENOTDIR,
	 {{"a", 0755}},
	 {0}},
	{"the empty path is -EINVAL", {{0}}, {0}, MKDIR_P, "", 0700, -EINVAL, {{0}}, {0}},
	{"parent of a file path makes only its directory",
	 {{0}},
	 {0},
	 MKDIR_PARENT,
	 "p/q/sock",
	 0701,
	 0,
	 {{"p", 0701}, {"p/q", 0701}},
	 {"p/q/sock"}},
	{"parent with a trailing slash is the one above",
	 {{0}},
	 {0},
	 MKDIR_PARENT,
	 "p/q/",
	 0700,
	 0,
	 {{"p", 0700}},
	 {"p/q"}},
	{"parent with repeated slashes",
	 {{0}},
	 {0},
	 MKDIR_PARENT,
	 "p//q//r",
	 0700,
	 0,
	 {{"p", 0700}, {"p/q", 0700}},
	 {"p/q/r"}},
	{"parent of a bare name is the current directory",
	 {{0}},
	 {0},
	 MKDIR_PARENT,
	 "sock",
	 0700,
	 0,
	 {{0}},
	 {"sock"}},
	{"parent leaves existing components alone",
	 {{"p", 0750}},
	 {0},
	 MKDIR_PARENT,
	 "p/q/x",
	 0700,
	 0,
	 {{"p", 0750}, {"p/q", 0700}},
	 {"p/q/x"}},
	{"parent through a file is -ENOTDIR",
	 {{0}},
	 {"f"},
	 MKDIR_PARENT,
	 "f/q/x",
	 0700,
	 -ENOTDIR,
	 {{0}},
	 {"f/q"}},
	{"parent of the empty path is -EINVAL",
	 {{0}},
	 {0},
	 MKDIR_PARENT,
	 "",
	 0700,
	 -EINVAL,
	 {{0}},
	 {0}},
};

static void check_case(const struct fs_case *c)
{
	struct stat st;
	size_t i;
	int ret, fd;

	for (i = 0; i < 3 && c->pre_dirs[i].path; i++)
		cr_assert_eq(mkdir(c->pre_dirs[i].path, c->pre_dirs[i].mode), 0, "%s", c->what);
	for (i = 0; i < 2 && c->pre_files[i]; i++) {
		fd = open(c->pre_files[i], O_WRONLY | O_CREAT | O_EXCL, 0600);
		cr_assert_geq(fd, 0, "%s", c->what);
		close(fd);
	}
	ret = c->call == MKDIR_P ? fs_mkdir_p(c->path, c->mode) : fs_mkdir_parent(c->path, c->mode);
	cr_expect_eq(ret, c->ret, "%s: %d, want %d", c->what, ret, c->ret);
	for (i = 0; i < 4 && c->want[i].path; i++) {
		if (stat(c->want[i].path, &st) < 0) {
			cr_expect_fail("%s: %s missing", c->what, c->want[i].path);
			continue;
		}
		cr_expect(S_ISDIR(st.st_mode), "%s: %s not a directory", c->what, c->want[i].path);
		cr_expect_eq(st.st_mode & 07777, c->want[i].mode, "%s: %s has mode %o, want %o",
			     c->what, c->want[i].path, st.st_mode & 07777, c->want[i].mode);
	}
	for (i = 0; i < 3 && c->absent[i]; i++)
		cr_expect_neq(lstat(c->absent[i], &st), 0, "%s: %s exists", c->what, c->absent[i]);
}

Test(fs, mkdir_p_and_mkdir_parent_cases, .init = setup, .fini = teardown)
{
	char sub[96];

	/* each case in its own subdirectory, so they cannot see each other */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(sub, sizeof(sub), "%s/%zu", tmp, i);
		cr_assert_eq(mkdir(sub, 0755), 0);
		cr_assert_eq(chdir(sub), 0);
		check_case(&cases[i]);
	}
}

Test(fs, absolute_paths_work_from_the_root, .init = setup, .fini = teardown)
{
	char path[160], parent[160];
	struct stat st;

	snprintf(path, sizeof(path), "%s/abs/x/", tmp);
	cr_expect_eq(fs_mkdir_p(path, 0700), 0);
	cr_expect_eq(stat(path, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0700);
	snprintf(parent, sizeof(parent), "%s/abs2/y/z.sock", tmp);
	cr_expect_eq(fs_mkdir_parent(parent, 0755), 0);
	snprintf(path, sizeof(path), "%s/abs2/y", tmp);
	cr_expect_eq(stat(path, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0755);
	cr_expect_eq(fs_mkdir_p("/", 0700), 0);
	cr_expect_eq(fs_mkdir_parent("/x", 0700), 0);
	cr_expect_eq(fs_mkdir_parent("//", 0700), 0);
}

Test(fs, mkdir_errors_other_than_eexist_come_back, .init = setup, .fini = teardown)
{
	char path[300];

	/* a component longer than NAME_MAX (255) */
	memset(path, 'n', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	cr_expect_eq(fs_mkdir_p(path, 0700), -ENAMETOOLONG);
}
