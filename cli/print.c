// SPDX-License-Identifier: MIT
/*
 * DOC: print
 * The text printers every command shares: aligned tables of JSON lists and
 * "key: value" blocks of JSON objects, both reading only fields whose type
 * they checked, and the --json printer.  Replies are outside input: a wrong
 * type fails the whole print with -EPROTO and the reason in c->bad.
 */
#include "cli/cli_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A copy of s fit for a terminal: control bytes become '?'. */
char *cli_str_clean(const char *s)
{
	char *d = strdup(s);

	if (!d)
		return NULL;
	for (unsigned char *p = (unsigned char *)d; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
	return d;
}

/* Columns a string takes: UTF-8 continuation bytes take none. */
static size_t str_width(const char *s)
{
	size_t w = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p & 0xc0) != 0x80)
			w++;
	return w;
}

void cli_pad(FILE *f, size_t n)
{
	while (n--)
		fputc(' ', f);
}

int cli_malformed(struct cli_call *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->bad, sizeof(c->bad), fmt, ap);
	va_end(ap);
	return -EPROTO;
}

int cli_oom(struct cli_call *c)
{
	fputs("vxmesh: out of memory\n", c->err);
	return CLI_EXIT_API;
}

int cli_json_print(struct cli_call *c, const json_t *root)
{
	char *s = json_dumps(root, JSON_INDENT(2));

	if (!s)
		return cli_oom(c);
	fprintf(c->out, "%s\n", s);
	free(s);
	return CLI_EXIT_OK;
}

static void ago_fmt(json_int_t ms, char *buf, size_t len)
{
	json_int_t s = ms / 1000;

	if (s < 60)
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT "s ago", s);
	else if (s < 3600)
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT "m ago", s / 60);
	else if (s < 86400)
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT "h ago", s / 3600);
	else
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT "d ago", s / 86400);
}

/* Formats one field; NULL or JSON null prints as "-".  Returns 0, -EPROTO on
 * a wrong type (with c->bad set) or -ENOMEM. */
static int field_fmt(struct cli_call *c, const json_t *v, enum cli_fkind kind, const char *name,
		     char **out)
{
	char num[32];

	*out = NULL;
	if (!v || json_is_null(v)) {
		*out = strdup("-");
	} else if (kind == F_STR) {
		if (!json_is_string(v))
			return cli_malformed(c, "\"%s\" is not a string", name);
		*out = cli_str_clean(json_string_value(v));
	} else if (kind == F_INT) {
		if (!json_is_integer(v))
			return cli_malformed(c, "\"%s\" is not an integer", name);
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		*out = strdup(num);
	} else if (kind == F_AGO) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return cli_malformed(c, "\"%s\" is not a count of milliseconds", name);
		ago_fmt(json_integer_value(v), num, sizeof(num));
		*out = strdup(num);
	} else {
		if (!json_is_boolean(v))
			return cli_malformed(c, "\"%s\" is not a boolean", name);
		*out = strdup(json_is_true(v) ? "true" : "false");
	}
	return *out ? 0 : -ENOMEM;
}

static int cell_mark(struct cli_call *c, const json_t *row, const char *mark, char **cell)
{
	const json_t *m = json_object_get(row, mark);
	char *s;

	if (!m || json_is_null(m) || json_is_false(m))
		return 0;
	if (!json_is_true(m))
		return cli_malformed(c, "\"%s\" is not a boolean", mark);
	if (asprintf(&s, "%s*", *cell) < 0)
		return -ENOMEM;
	free(*cell);
	*cell = s;
	return 0;
}

/* Prints arr, a list of objects, as aligned columns under a header.  A row
 * whose boolean key `mark` is true gets a "*" after its first cell. */
int cli_table_print_mark(struct cli_call *c, FILE *f, const json_t *arr, const char *what,
			 const struct cli_col *cols, size_t ncols, const char *mark)
{
	size_t nrows, w[8] = {0};
	char **cells;
	int ret = 0;

	if (ncols > ARRAY_SIZE(w))
		return -EINVAL;
	if (!json_is_array(arr))
		return cli_malformed(c, "\"%s\" is not a list", what);
	nrows = json_array_size(arr);
	cells = calloc(nrows * ncols + 1, sizeof(*cells));
	if (!cells)
		return -ENOMEM;
	for (size_t j = 0; j < ncols; j++)
		w[j] = str_width(cols[j].head);
	for (size_t i = 0; i < nrows && !ret; i++) {
		const json_t *row = json_array_get(arr, i);

		if (!json_is_object(row)) {
			ret = cli_malformed(c, "\"%s\"[%zu] is not an object", what, i);
			break;
		}
		for (size_t j = 0; j < ncols && !ret; j++) {
			char **cell = &cells[i * ncols + j];

			ret = field_fmt(c, json_object_get(row, cols[j].key), cols[j].kind,
					cols[j].key, cell);
			if (!ret && !j && mark)
				ret = cell_mark(c, row, mark, cell);
			if (!ret && str_width(*cell) > w[j])
				w[j] = str_width(*cell);
		}
	}
	for (size_t i = 0; i <= nrows && !ret; i++) {
		for (size_t j = 0; j < ncols; j++) {
			const char *s = i ? cells[(i - 1) * ncols + j] : cols[j].head;

			fputs(s, f);
			if (j + 1 < ncols)
				cli_pad(f, w[j] - str_width(s) + 2);
		}
		fputc('\n', f);
	}
	for (size_t i = 0; i < nrows * ncols; i++)
		free(cells[i]);
	free(cells);
	return ret;
}

int cli_table_print(struct cli_call *c, FILE *f, const json_t *arr, const char *what,
		    const struct cli_col *cols, size_t ncols)
{
	return cli_table_print_mark(c, f, arr, what, cols, ncols, NULL);
}

static int kv_lookup(struct cli_call *c, const json_t *obj, const char *path, const json_t **out)
{
	char key[64];

	*out = NULL;
	while (obj) {
		const char *dot = strchr(path, '.');
		size_t len = dot ? (size_t)(dot - path) : strlen(path);

		snprintf(key, sizeof(key), "%.*s", (int)len, path);
		obj = json_object_get(obj, key);
		if (!dot)
			break;
		if (obj && !json_is_null(obj) && !json_is_object(obj))
			return cli_malformed(c, "\"%s\" is not an object", key);
		path = dot + 1;
	}
	*out = obj;
	return 0;
}

/* Prints "key: value" lines, values aligned. */
int cli_kv_print(struct cli_call *c, FILE *f, const json_t *obj, const struct cli_kv *fields,
		 size_t n)
{
	char *vals[32] = {0};
	size_t w = 0;
	int ret = 0;

	if (n > ARRAY_SIZE(vals))
		return -EINVAL;
	for (size_t i = 0; i < n && !ret; i++) {
		const json_t *v;

		ret = kv_lookup(c, obj, fields[i].path, &v);
		if (!ret)
			ret = field_fmt(c, v, fields[i].kind, fields[i].path, &vals[i]);
		if (strlen(fields[i].path) > w)
			w = strlen(fields[i].path);
	}
	for (size_t i = 0; i < n && !ret; i++) {
		fprintf(f, "%s:", fields[i].path);
		cli_pad(f, w - strlen(fields[i].path) + 1);
		fprintf(f, "%s\n", vals[i]);
	}
	for (size_t i = 0; i < n; i++)
		free(vals[i]);
	return ret;
}
