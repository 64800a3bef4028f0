// SPDX-License-Identifier: MIT
/*
 * DOC: curl_dl
 * The one libcurl loader.  The table is filled in a local copy and published
 * under a mutex only when every symbol resolved, so a failed attempt leaves
 * nothing half-written for a thread that already holds the table.
 */
#include "common/curl_dl.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#define CURL_DL_LIB "libcurl.so.4"

/* Where each symbol goes, by name: a table, not thirteen dlsym() calls. */
/* clang-format off */
#define SYM(m) {.name = "curl_" #m, .off = offsetof(struct curl_dl, m)}
static const struct sym {
	const char *name;
	size_t off;
} syms[] = {
	SYM(global_init), SYM(global_cleanup), SYM(easy_init), SYM(easy_cleanup), SYM(easy_reset),
	SYM(easy_setopt), SYM(easy_perform), SYM(easy_getinfo), SYM(easy_strerror),
	SYM(easy_escape), SYM(free), SYM(slist_append), SYM(slist_free_all),
};
#undef SYM
/* clang-format on */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct curl_dl table; /* written once, under lock, before loaded is set */
static int loaded;	     /* under lock */

static int table_fill(void *lib, struct curl_dl *t, char *err, size_t len)
{
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *fn = dlsym(lib, syms[i].name);

		if (!fn) {
			snprintf(err, len, CURL_DL_LIB " lacks %s", syms[i].name);
			return -ENOENT;
		}
		/* POSIX guarantees that data and function pointers convert */
		*(void **)((char *)t + syms[i].off) = fn;
	}
	return 0;
}

int curl_dl_load(const struct curl_dl **out, char *err, size_t len)
{
	struct curl_dl t;
	void *lib;
	int ret = 0;

	*out = NULL;
	pthread_mutex_lock(&lock);
	if (loaded)
		goto out_loaded;
	lib = dlopen(CURL_DL_LIB, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		snprintf(err, len, "%s", dlerror());
		ret = -ENOENT;
		goto out_unlock;
	}
	ret = table_fill(lib, &t, err, len);
	if (ret) {
		dlclose(lib);
		goto out_unlock;
	}
	/* never dlclose()d: libcurl's global state outlives its users */
	table = t;
	loaded = 1;
out_loaded:
	*out = &table;
out_unlock:
	pthread_mutex_unlock(&lock);
	return ret;
}
