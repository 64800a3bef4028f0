/* SPDX-License-Identifier: MIT */
/*
 * curl_dl: libcurl, loaded with dlopen() on first use instead of linked.  The
 * agent and the CLI are one binary, and the agent must not carry libcurl's
 * dependencies (OpenSSL, Kerberos, LDAP: about 3.5 MB resident) unless it
 * talks to Docker.  One table of function pointers serves every user.
 */
#ifndef VXMESH_CURL_DL_H
#define VXMESH_CURL_DL_H

#include <stddef.h>

/* The table's types come from libcurl's own prototypes.  Without type
 * checking, curl_easy_setopt() and curl_easy_getinfo() are plain functions. */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

/* Each member is the libcurl function of the same name with "curl_" before
 * it: cu->easy_init() is curl_easy_init(). */
struct curl_dl {
	__typeof__(curl_global_init) *global_init;
	__typeof__(curl_global_cleanup) *global_cleanup;
	__typeof__(curl_easy_init) *easy_init;
	__typeof__(curl_easy_cleanup) *easy_cleanup;
	__typeof__(curl_easy_reset) *easy_reset;
	__typeof__(curl_easy_setopt) *easy_setopt;
	__typeof__(curl_easy_perform) *easy_perform;
	__typeof__(curl_easy_getinfo) *easy_getinfo;
	__typeof__(curl_easy_strerror) *easy_strerror;
	__typeof__(curl_easy_escape) *easy_escape;
	__typeof__(curl_free) *free;
	__typeof__(curl_slist_append) *slist_append;
	__typeof__(curl_slist_free_all) *slist_free_all;
};

/* Loads libcurl.so.4 once and points *out at the table, which stays valid and
 * unchanged for the life of the process (the library is never unloaded).
 * Safe to call from any thread; a thread that only uses a table it was handed
 * needs no lock.  0, or -ENOENT when the library or one of its functions is
 * missing: then err holds dlerror()'s text or "libcurl.so.4 lacks curl_X",
 * and a later call tries again. */
int curl_dl_load(const struct curl_dl **out, char *err, size_t len)
	__attribute__((warn_unused_result));

#endif
