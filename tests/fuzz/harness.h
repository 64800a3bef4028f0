/* SPDX-License-Identifier: MIT */
/*
 * harness: what several fuzz targets do alike.
 */
#ifndef VXMESH_FUZZ_HARNESS_H
#define VXMESH_FUZZ_HARNESS_H

#include <assert.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* An exact-size malloc()ed copy of p[0..n), so ASan sees a read one past
 * the end (libFuzzer's own buffer may be larger).  Release with free(). */
static inline uint8_t *fz_copy(const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);

	assert(c);
	memcpy(c, p, n);
	return c;
}

/* A request body as driver/api.c parses it: *body NULL when n is 0, else
 * the JSON object (release with json_decref()).  0, or -1 when the bytes
 * are no JSON object: the server answers 400 and no handler runs. */
static inline int fz_body(const uint8_t *p, size_t n, json_t **body)
{
	*body = NULL;
	if (!n)
		return 0;
	*body = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
	if (json_is_object(*body))
		return 0;
	json_decref(*body);
	*body = NULL;
	return -1;
}

/*
 * For targets whose world outlives inputs: most inputs then end with more
 * mallocs than frees, and libFuzzer runs LeakSanitizer's heap scan after
 * them; with ASan's default 256 MB quarantine in the heap that scan is most
 * of the time.  A 16 MB quarantine still catches a use after a recent free.
 */
#define FZ_SMALL_QUARANTINE                                                                        \
	const char *__asan_default_options(void);                                                  \
	const char *__asan_default_options(void)                                                   \
	{                                                                                          \
		return "quarantine_size_mb=16";                                                    \
	}

#endif
