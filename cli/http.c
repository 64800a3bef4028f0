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

#include <sodium.h>

#include "common/curl_dl.h"

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
	const struct curl_dl *cu = c->cu;
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
	h = cu->easy_init();
	if (!h || asprintf(&url, "http://vxmesh%s", path) < 0) {
		url = NULL;
		res_set(r, RES_TRANSPORT, "out of memory");
		goto out_cleanup;
	}
	/* No Expect: 100-continue, and no form Content-Type on an empty POST. */
	hdrs = cu->slist_append(hdrs, "Expect:");
	if (hdrs) {
		h2 = cu->slist_append(hdrs,
				      body ? "Content-Type: application/json" : "Content-Type:");
		if (!h2) {
			cu->slist_free_all(hdrs);
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

	cu->easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->sock);
	cu->easy_setopt(h, CURLOPT_URL, url);
	cu->easy_setopt(h, CURLOPT_NOPROXY, "*");
	cu->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	cu->easy_setopt(h, CURLOPT_TIMEOUT, CLI_TIMEOUT_S);
	cu->easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	cu->easy_setopt(h, CURLOPT_WRITEFUNCTION, rbuf_write_cb);
	cu->easy_setopt(h, CURLOPT_WRITEDATA, &b);
	cu->easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	if (!strcmp(method, "POST") || data) {
		/* PUT and DELETE with a body too: POSTFIELDS sends it, and
		 * CUSTOMREQUEST below names the method. */
		cu->easy_setopt(h, CURLOPT_POST, 1L);
		cu->easy_setopt(h, CURLOPT_POSTFIELDSIZE, data ? (long)strlen(data) : 0L);
		cu->easy_setopt(h, CURLOPT_POSTFIELDS, data ? data : "");
	}
	if (strcmp(method, "GET") && strcmp(method, "POST"))
		cu->easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);

	rc = cu->easy_perform(h);
	if (rc == CURLE_COULDNT_CONNECT) {
		cu->easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
		res_set(r, RES_UNREACHABLE,
			os_errno  ? strerror((int)os_errno)
			: *errbuf ? errbuf
				  : cu->easy_strerror(rc));
	} else if (rc == CURLE_WRITE_ERROR && b.too_big) {
		res_set(r, RES_TRANSPORT, "the reply is larger than 16 MiB");
	} else if (rc != CURLE_OK) {
		res_set(r, RES_TRANSPORT, *errbuf ? errbuf : cu->easy_strerror(rc));
	} else {
		cu->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
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
	cu->slist_free_all(hdrs);
out_cleanup:
	free(url);
	cu->easy_cleanup(h);
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
static char *path_make(const struct curl_dl *cu, const char *base, const char *seg, const char *q)
{
	char *eseg = NULL, *eq = NULL, *path = NULL;

	if (seg && !(eseg = cu->easy_escape(NULL, seg, 0)))
		return NULL;
	if (q && !(eq = cu->easy_escape(NULL, q, 0)))
		goto out_free;
	if (asprintf(&path, "/v1/%s%s%s%s%s", base, eseg ? "/" : "", eseg ? eseg : "",
		     eq ? "?network=" : "", eq ? eq : "") < 0)
		path = NULL;
out_free:
	cu->free(eq);
	cu->free(eseg);
	return path;
}

int cli_api_run_path(struct cli_call *c, const char *method, const char *base, const char *seg,
		     const char *q, json_t *body, cli_print_fn print)
{
	char *path = path_make(c->cu, base, seg, q);
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

	/* dlopen()ed, not linked: see common/curl_dl.h */
	if (curl_dl_load(&c->cu, why, sizeof(why))) {
		fprintf(c->err, "vxmesh: the CLI needs libcurl (apt-get install libcurl4): %s\n",
			why);
		return CLI_EXIT_UNREACHABLE;
	}
	if (c->cu->global_init(CURL_GLOBAL_DEFAULT)) {
		fputs("vxmesh: cannot initialise libcurl\n", c->err);
		return CLI_EXIT_UNREACHABLE;
	}
	return CLI_EXIT_OK;
}

void cli_http_fini(struct cli_call *c)
{
	c->cu->global_cleanup();
}
