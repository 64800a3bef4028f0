/* SPDX-License-Identifier: MIT */
/*
 * DOC: mpread, a bounded msgpack reader
 *
 * Everything msgpack that comes from a peer is read with this, not with
 * msgpack-c's unpacker: the unpacker sizes its allocations from the array
 * and map counts on the wire before reading the elements, so five bytes can
 * ask for gigabytes.  This reader walks a caller's buffer, checks every count
 * and length against the bytes left before trusting it, allocates nothing,
 * and skips nested values without recursion.  Callers validate fields against
 * their own policy tables.  (gossip/wire.c keeps its own in-place reader.)
 */
#ifndef VXMESH_MPREAD_H
#define VXMESH_MPREAD_H

#include <stddef.h>
#include <stdint.h>

/* Deepest nesting mpr_skip() can be limited to; MPR_DEPTH_ANY: no limit. */
#define MPR_DEPTH_MAX 64u
#define MPR_DEPTH_ANY (~0u)

enum mpr_type {
	MPR_NIL,
	MPR_BOOL,
	MPR_UINT,
	MPR_NEG,
	MPR_FLOAT,
	MPR_STR,
	MPR_BIN,
	MPR_ARRAY,
	MPR_MAP,
	MPR_EXT
};

/* A cursor: the next byte and how many are left.  Points into the caller's
 * buffer, which must outlive every mpr_obj read from it. */
struct mpr {
	const uint8_t *p;
	size_t left;
};

/* One object's header, as mpr_head() read it. */
struct mpr_obj {
	enum mpr_type type;
	/* MPR_BOOL, MPR_UINT: the value (non-negative signed encodings are
	 * MPR_UINT); MPR_NEG: the value as (uint64_t)(int64_t);
	 * MPR_ARRAY: elements that follow; MPR_MAP: key/value pairs that follow. */
	uint64_t u;
	/* MPR_STR, MPR_BIN, MPR_FLOAT (big-endian), MPR_EXT (type byte first):
	 * the body, inside the caller's buffer and already consumed. */
	const uint8_t *ptr;
	size_t len;
};

void mpr_init(struct mpr *r, const uint8_t *buf, size_t len);

/*
 * Reads one header into *o.  Strings, binaries, floats and extensions are
 * consumed whole; an array or map leaves its elements to be read next, and
 * its count must fit in the bytes left (a map needs two per pair).  Returns 0,
 * or -EBADMSG when the input is truncated or uses the unassigned byte 0xc1;
 * on error r is left somewhere inside the object.
 */
int mpr_head(struct mpr *r, struct mpr_obj *o) __attribute__((warn_unused_result));

/*
 * Skips one whole value of any shape in time linear in its bytes.  Refuses
 * any object nested deeper than depth_max (the value itself is depth 0).
 * Returns 0, -EBADMSG when the value is malformed, truncated or too deep, or
 * -EINVAL when depth_max is neither MPR_DEPTH_ANY nor at most MPR_DEPTH_MAX.
 */
int mpr_skip(struct mpr *r, unsigned int depth_max) __attribute__((warn_unused_result));

/* One known key of a map read by mpr_map_read(): the type its value must
 * have and bounds on that value (MPR_UINT, MPR_BOOL) or on its length (MPR_STR,
 * MPR_BIN). */
struct mpr_field {
	const char *name;
	enum mpr_type type;
	uint64_t min, max;
};

/*
 * Reads a map whose keys are strings, checking it against pol[0..n), n <= 32:
 * the value of key pol[i].name goes to val[i] and sets bit i of *seen; values
 * of other keys are skipped, at any depth.  A key that is not a string, a
 * repeated key, a value of the wrong type or out of bounds, or an MPR_STR
 * value holding a NUL byte (callers make C strings of them) is refused.
 * Returns 0, -EBADMSG, or -EINVAL when n > 32.
 */
int mpr_map_read(struct mpr *r, const struct mpr_field *pol, unsigned int n, struct mpr_obj *val,
		 uint32_t *seen) __attribute__((warn_unused_result));

#endif
