// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the wire form of gossip/table.c: what peers send in
 * table updates (one entry) and push/pull (the whole table).  Byte 0 picks:
 *   even: one entry (gt_entry_decode); an accepted entry re-encodes to the
 *         same bytes' meaning and merges into a table;
 *   odd:  a whole table (gt_merge_all) into an empty replica with the ring
 *         kind undeletable, as the agent runs it; whatever merged survives
 *         encode_all -> merge_all into a second replica byte for byte, and
 *         merging the input again changes nothing.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/table.h"
#include "tests/fuzz/harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gt_table *replica(const char *self)
{
	struct gt_table *t = NULL;

	assert(gt_create(&t, self, NULL, NULL) == 0);
	gt_set_undeletable(t, GT_KIND_RING);
	return t;
}

static void same_entry(const struct gt_entry *a, const struct gt_entry *b)
{
	assert(a->kind == b->kind && !strcmp(a->key, b->key) && a->clock == b->clock);
	assert(!strcmp(a->origin, b->origin) && !strcmp(a->owner, b->owner));
	assert(!a->deleted == !b->deleted && a->value_len == b->value_len);
	assert(!a->value_len || !memcmp(a->value, b->value, a->value_len));
}

static void one(const uint8_t *p, size_t n)
{
	struct gt_entry e, e2;
	struct gt_table *t;
	uint8_t *buf;
	size_t len;
	int ret;

	if (gt_entry_decode(p, n, &e))
		return;
	assert(e.deleted ? !e.value : e.value != NULL);
	/* What decodes is what the table accepts. */
	assert(gt_entry_encode(&e, &buf, &len) == 0);
	assert(gt_entry_decode(buf, len, &e2) == 0);
	same_entry(&e, &e2);
	t = replica("self");
	ret = gt_merge(t, &e, 1000);
	assert(ret == 1 || (ret == -EINVAL && e.deleted && e.kind == GT_KIND_RING));
	assert(gt_merge(t, &e2, 2000) <= 0);
	gt_destroy(t);
	free(buf);
}

static void all(const uint8_t *p, size_t n)
{
	struct gt_table *t = replica("self"), *t2;
	uint8_t *a, *b;
	size_t alen, blen;
	int ret;

	ret = gt_merge_all(t, p, n, 1000);
	assert(ret >= 0 || ret == -EINVAL);
	if (ret >= 0)
		assert(gt_merge_all(t, p, n, 2000) == 0);
	assert(gt_encode_all(t, &a, &alen) == 0);
	/* Malformed input merges nothing: an empty table is one byte. */
	assert(ret >= 0 || (alen == 1 && a[0] == 0x90));
	t2 = replica("other");
	assert(gt_merge_all(t2, a, alen, 3000) >= 0);
	assert(gt_encode_all(t2, &b, &blen) == 0);
	assert(alen == blen && !memcmp(a, b, alen));
	free(a);
	free(b);
	gt_destroy(t);
	gt_destroy(t2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *in;

	if (size < 1 || size > (1 << 16))
		return 0;
	in = fz_copy(data + 1, size - 1);
	(data[0] & 1 ? all : one)(in, size - 1);
	free(in);
	return 0;
}
