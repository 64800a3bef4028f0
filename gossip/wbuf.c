// SPDX-License-Identifier: MIT
/*
 * wbuf: the growable (or fixed) output buffer every encoder of the memberlist
 * codec writes into (wire.c, lzw.c, stream.c); its own file so that those
 * files need not call each other for it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/wire_int.h"

int wbuf_write(void *data, const char *b, size_t n)
{
	struct wbuf *w = data;

	if (w->err)
		return -1;
	if (w->dyn && n > w->max - w->len) {
		w->err = -E2BIG;
		return -1;
	}
	if (n > w->cap - w->len) {
		size_t ncap = w->cap ? w->cap : 256;
		uint8_t *np;

		if (!w->dyn) {
			w->err = -ENOSPC;
			return -1;
		}
		while (ncap - w->len < n)
			ncap = ncap > w->max / 2 ? w->max : ncap * 2;
		np = realloc(w->p, ncap);
		if (!np) {
			w->err = -ENOMEM;
			return -1;
		}
		w->p = np;
		w->cap = ncap;
	}
	memcpy(w->p + w->len, b, n);
	w->len += n;
	return 0;
}
