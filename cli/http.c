// SPDX-License-Identifier: MIT
/*
 * DOC: http
 * The CLI's side of the control API: one blocking libcurl request per call
 * over the agent's unix socket, its outcome sorted into a struct cli_res,
 * and the glue that sends a request and prints its reply.  Bodies and
 * replies may carry keys and tokens: both are wiped before they are freed.
 */
#include "cli/cli_int.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

/* libcurl is loaded on first use (curl_load()), not linked: the agent is the
 * same binary and must not carry libcurl's dependencies (OpenSSL, Kerberos,
 * LDAP: about 3.5 MB of resident memory) while it idles. */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <dlfcn.h>
#include <jansson.h>
#include <sodium.h>

/* clang-format off */
#define CURL_FNS(X)                                                                        \
	X(curl_global_init) X(curl_global_cleanup) X(curl_easy_init) X(curl_easy_cleanup)  \
	X(curl_easy_setopt) X(curl_easy_perform) X(curl_easy_getinfo) X(curl_easy_strerror) \
	X(curl_easy_escape) X(curl_free) X(curl_slist_append) X(curl_slist_free_all)
/* clang-format on */

static struct {
#define CURL_FN_PTR(name) __typeof__(name) *name;
	CURL_FNS(CURL_FN_PTR)
#undef CURL_FN_PTR
} curl_fn;

/* 0, or -ENOENT when libcurl cannot be loaded (reason in err). */
static int curl_load(char *err, size_t len)
{
	static void *lib;

	if (lib)
		return 0;
	lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		snprintf(err, len, "%s", dlerror());
		return -ENOENT;
	}
#define CURL_FN_LOAD(name)                                                                         \
	if (!(*(void **)(&curl_fn.name) = dlsym(lib, #name))) {                                    \
		snprintf(err, len, "libcurl.so.4 lacks %s", #name);                                \
		dlclose(lib);                                                                      \
		lib = NULL;                                                                        \
		return -ENOENT;                                                                    \
	}
	CURL_FNS(CURL_FN_LOAD)
#undef CURL_FN_LOAD
	return 0;
}

#define curl_global_init    curl_fn.curl_global_init
#define curl_global_cleanup curl_fn.curl_global_cleanup
#define curl_easy_init	    curl_fn.curl_easy_init
#define curl_easy_cleanup   curl_fn.curl_easy_cleanup
#undef curl_easy_setopt
#define curl_easy_setopt  curl_fn.curl_easy_setopt
#define curl_easy_perform curl_fn.curl_easy_perform
#undef curl_easy_getinfo
#define curl_easy_getinfo   curl_fn.curl_easy_getinfo
#define curl_easy_strerror  curl_fn.curl_easy_strerror
#define curl_easy_escape    curl_fn.curl_easy_escape
#define curl_free	    curl_fn.curl_free
#define curl_slist_append   curl_fn.curl_slist_append
#define curl_slist_free_all curl_fn.curl_slist_free_all

#define CLI_TIMEOUT_S 30L
#define CLI_REPLY_MAX (16u << 20)

struct rbuf {
	char *p;
	size_t len;
	bool too_big;
};

static size_t rbuf_write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct rbuf *b = ud;
	size_t n = size * nmemb;
	char *np;

	if (n > CLI_REPLY_MAX - b->len) {
		b->too_big = true;
		return 0;
	}
	np = realloc(b->p, b->len + n + 1);
	if (!np)
		return 0;
	memcpy(np + b->len, ptr, n);
	b->p = np;
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

static void res_set(struct cli_res *r, enum cli_res_kind kind, const char *msg)
{
	char *clean = cli_str_clean(msg);

	r->kind = kind;
	snprintf(r->msg, sizeof(r->msg), "%s", clean ? clean : "out of memory");
	free(clean);
}

static void res_parse(struct cli_res *r, const struct rbuf *b)
{
	json_error_t jerr;
	json_t *root, *err, *msg;
	char tmp[200];

	root = json_loadb(b->p ? b->p : "", b->len, JSON_REJECT_DUPLICATES, &jerr);
	if (r->status >= 200 && r->status < 300) {
		if (!root) {
			snprintf(tmp, sizeof(tmp), "invalid JSON: %s", jerr.text);
			res_set(r, RES_BAD, tmp);
		} else if (!json_is_object(root)) {
			res_set(r, RES_BAD, "the reply is not a JSON object");
		} else {
			r->kind = RES_OK;
			r->root = root;
			return;
		}
		json_decref(root);
		return;
	}
	err = json_object_get(root, "error");
	msg = json_object_get(err, "message");
	if (json_is_object(err) && json_is_string(msg) && json_string_length(msg)) {
		res_set(r, RES_API, json_string_value(msg));
	} else {
		snprintf(tmp, sizeof(tmp), "the agent answered HTTP %ld without an error message",
			 r->status);
		res_set(r, RES_API, tmp);
	}
	json_decref(root);
}

/* Sends one request to the agent and sorts the outcome into r. */
void cli_api_request(const struct cli_call *c, const char *method, const char *path,
		     const json_t *body, struct cli_res *r)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL, *h2;
	struct rbuf b = {0};
	char *url = NULL, *data = NULL;
	long os_errno = 0;
	CURLcode rc;
	CURL *h;

	memset(r, 0, sizeof(*r));
	if (strlen(c->sock) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		res_set(r, RES_UNREACHABLE, "socket path too long");
		return;
	}
	h = curl_easy_init();
	if (!h || asprintf(&url, "http://vxmesh%s", path) < 0) {
		url = NULL;
		res_set(r, RES_TRANSPORT, "out of memory");
		goto out_cleanup;
	}
	/* No Expect: 100-continue, and no form Content-Type on an empty POST. */
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (hdrs) {
		h2 = curl_slist_append(hdrs,
				       body ? "Content-Type: application/json" : "Content-Type:");
		if (!h2) {
			curl_slist_free_all(hdrs);
			hdrs = NULL;
		} else {
			hdrs = h2;
		}
	}
	if (body)
		data = json_dumps(body, JSON_COMPACT);
	if (!hdrs || (body && !data)) {
		res_set(r, RES_TRANSPORT, "out of memory");
		goto out_free;
	}

	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->sock);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, CLI_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, rbuf_write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	if (!strcmp(method, "POST") || data) {
		/* PUT and DELETE with a body too: POSTFIELDS sends it, and
		 * CUSTOMREQUEST below names the method. */
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, data ? (long)strlen(data) : 0L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, data ? data : "");
	}
	if (strcmp(method, "GET") && strcmp(method, "POST"))
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);

	rc = curl_easy_perform(h);
	if (rc == CURLE_COULDNT_CONNECT) {
		curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
		res_set(r, RES_UNREACHABLE,
			os_errno  ? strerror((int)os_errno)
			: *errbuf ? errbuf
				  : curl_easy_strerror(rc));
	} else if (rc == CURLE_WRITE_ERROR && b.too_big) {
		res_set(r, RES_TRANSPORT, "the reply is larger than 16 MiB");
	} else if (rc != CURLE_OK) {
		res_set(r, RES_TRANSPORT, *errbuf ? errbuf : curl_easy_strerror(rc));
	} else {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
		res_parse(r, &b);
	}

out_free:
	/* bodies and replies may carry a key or a token */
	if (data)
		sodium_memzero(data, strlen(data));
	free(data);
	if (b.p)
		sodium_memzero(b.p, b.len);
	free(b.p);
	curl_slist_free_all(hdrs);
out_cleanup:
	free(url);
	curl_easy_cleanup(h);
}

/* Prints the outcome of a failed request; returns the exit code. */
int cli_res_report(const struct cli_call *c, const struct cli_res *r)
{
	switch (r->kind) {
	case RES_OK:
		return CLI_EXIT_OK;
	case RES_API:
		fprintf(c->err, "vxmesh: %s\n", r->msg);
		return CLI_EXIT_API;
	case RES_BAD:
		fprintf(c->err, "vxmesh: malformed reply from the agent: %s\n", r->msg);
		return CLI_EXIT_API;
	case RES_UNREACHABLE:
		fprintf(c->err,
			"vxmesh: cannot reach the agent at %s: %s (is 'vxmesh agent' running?)\n",
			c->sock, r->msg);
		return CLI_EXIT_UNREACHABLE;
	case RES_TRANSPORT:
		break;
	}
	fprintf(c->err, "vxmesh: request to the agent at %s failed: %s\n", c->sock, r->msg);
	return CLI_EXIT_UNREACHABLE;
}

/* Sends the request (stealing body), then prints the reply as JSON or through
 * print.  The printer writes into memory first: nothing reaches c->out unless
 * the whole reply was well-formed.  Returns the exit code. */
int cli_api_run(struct cli_call *c, const char *method, const char *path, json_t *body,
		cli_print_fn print)
{
	struct cli_res r;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int ret;

	cli_api_request(c, method, path, body, &r);
	json_decref(body);
	if (r.kind != RES_OK)
		return cli_res_report(c, &r);
	if (c->json) {
		ret = cli_json_print(c, r.root);
		goto out_put;
	}
	f = open_memstream(&text, &len);
	if (!f) {
		fputs("vxmesh: out of memory\n", c->err);
		ret = CLI_EXIT_API;
		goto out_put;
	}
	ret = print(c, f, r.root);
	if (fclose(f) && !ret)
		ret = -ENOMEM;
	if (ret == -EPROTO) {
		fprintf(c->err, "vxmesh: malformed reply from the agent: %s\n", c->bad);
		ret = CLI_EXIT_API;
	} else if (ret) {
		fputs("vxmesh: out of memory\n", c->err);
		ret = CLI_EXIT_API;
	} else {
		fwrite(text, 1, len, c->out);
	}
	free(text);
out_put:
	json_decref(r.root);
	return ret;
}

/* "/v1/BASE/<escaped seg>[?network=<escaped q>]"; release with free(). */
static char *path_make(const char *base, const char *seg, const char *q)
{
	char *eseg = NULL, *eq = NULL, *path = NULL;

	if (seg && !(eseg = curl_easy_escape(NULL, seg, 0)))
		return NULL;
	if (q && !(eq = curl_easy_escape(NULL, q, 0)))
		goto out_free;
	if (asprintf(&path, "/v1/%s%s%s%s%s", base, eseg ? "/" : "", eseg ? eseg : "",
		     eq ? "?network=" : "", eq ? eq : "") < 0)
		path = NULL;
out_free:
	curl_free(eq);
	curl_free(eseg);
	return path;
}

int cli_api_run_path(struct cli_call *c, const char *method, const char *base, const char *seg,
		     const char *q, json_t *body, cli_print_fn print)
{
	char *path = path_make(base, seg, q);
	int ret;

	if (!path) {
		json_decref(body);
		return cli_oom(c);
	}
	ret = cli_api_run(c, method, path, body, print);
	free(path);
	return ret;
}

int cli_http_init(struct cli_call *c)
{
	char why[256];

	if (curl_load(why, sizeof(why))) {
		fprintf(c->err, "vxmesh: the CLI needs libcurl (apt-get install libcurl4): %s\n",
			why);
		return CLI_EXIT_UNREACHABLE;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		fputs("vxmesh: cannot initialise libcurl\n", c->err);
		return CLI_EXIT_UNREACHABLE;
	}
	return CLI_EXIT_OK;
}

void cli_http_fini(struct cli_call *c)
{
	curl_global_cleanup();
}
