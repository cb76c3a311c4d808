/* idset.h - fixed-capacity sets of small ids (CPUs, NUMA nodes).
 *
 * Kernel list syntax ("0-3,8,10-11") in and out.  Capacity covers the
 * largest CPU and node ids Debian's kernels are built for.
 */
#ifndef KN_IDSET_H
#define KN_IDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IDSET_MAX 8192

struct idset {
	uint64_t w[IDSET_MAX / 64];
};

/* Empties the set. */
void idset_clear(struct idset *s);

/* Adds ID; -ERANGE if it is negative or >= IDSET_MAX. */
int idset_add(struct idset *s, int id);

/* Removes ID (out-of-range ids are ignored). */
void idset_del(struct idset *s, int id);

/* True if ID is in the set. */
bool idset_has(const struct idset *s, int id);

/* Number of ids in the set. */
int idset_count(const struct idset *s);

/* True if the set has no id. */
bool idset_empty(const struct idset *s);

/* Smallest id >= FROM in the set, or -1. Iterate with idset_next(s, id + 1). */
int idset_next(const struct idset *s, int from);

/* DST = A & B (DST may alias either). */
void idset_and(struct idset *dst, const struct idset *a, const struct idset *b);

/* DST = A | B (DST may alias either). */
void idset_or(struct idset *dst, const struct idset *a, const struct idset *b);

/* True if both sets hold the same ids. */
bool idset_equal(const struct idset *a, const struct idset *b);

/* Parses a kernel list ("0-3,5\n"; empty = empty set); -EINVAL on bad syntax,
 * -ERANGE on ids out of range.  S is unchanged on error. */
int idset_parse(struct idset *s, const char *list);

/* Formats as a kernel list ("0-3,5"; "" when empty); -ENOSPC if truncated. */
int idset_format(const struct idset *s, char *buf, size_t size);

#define IDSET_FOREACH(id, s) \
	for (int id = idset_next((s), 0); id >= 0; id = idset_next((s), id + 1))

#endif
