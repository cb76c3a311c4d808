/* idset.c - fixed-capacity id sets and the kernel's list syntax.
 *
 * libnuma has list parsers too (numa_parse_cpustring), but they validate
 * against the running host, which is wrong when replaying a captured tree.
 */
#include "idset.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "num.h"

#define NWORDS (IDSET_MAX / 64)

void idset_clear(struct idset *s)
{
	memset(s, 0, sizeof(*s));
}

int idset_add(struct idset *s, int id)
{
	if (id < 0 || id >= IDSET_MAX)
		return -ERANGE;
	s->w[id / 64] |= UINT64_C(1) << (id % 64);
	return 0;
}

void idset_del(struct idset *s, int id)
{
	if (id >= 0 && id < IDSET_MAX)
		s->w[id / 64] &= ~(UINT64_C(1) << (id % 64));
}

bool idset_has(const struct idset *s, int id)
{
	return id >= 0 && id < IDSET_MAX && (s->w[id / 64] >> (id % 64) & 1);
}

int idset_count(const struct idset *s)
{
	int n = 0;

	for (int i = 0; i < NWORDS; i++)
		n += __builtin_popcountll(s->w[i]);
	return n;
}

bool idset_empty(const struct idset *s)
{
	return idset_next(s, 0) < 0;
}

int idset_next(const struct idset *s, int from)
{
	if (from < 0)
		from = 0;
	for (int i = from / 64; i < NWORDS; i++) {
		uint64_t w = s->w[i];

		if (i == from / 64)
			w &= ~UINT64_C(0) << (from % 64);
		if (w)
			return i * 64 + __builtin_ctzll(w);
	}
	return -1;
}

void idset_and(struct idset *dst, const struct idset *a, const struct idset *b)
{
	for (int i = 0; i < NWORDS; i++)
		dst->w[i] = a->w[i] & b->w[i];
}

void idset_or(struct idset *dst, const struct idset *a, const struct idset *b)
{
	for (int i = 0; i < NWORDS; i++)
		dst->w[i] = a->w[i] | b->w[i];
}

bool idset_equal(const struct idset *a, const struct idset *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* Parses a decimal id at *P, advancing it; -EINVAL or -ERANGE. */
static int parse_id(const char **p, int *id)
{
	uint64_t v;
	int ret = num_u64(*p, p, &v);

	if (ret < 0)
		return ret;
	if (v >= IDSET_MAX)
		return -ERANGE;
	*id = (int)v;
	return 0;
}

int idset_parse(struct idset *s, const char *list)
{
	struct idset tmp;
	const char *p = list;

	idset_clear(&tmp);
	while (*p == ' ' || *p == '\t')
		p++;
	while (*p && *p != '\n') {
		int lo, hi, ret;

		ret = parse_id(&p, &lo);
		if (ret < 0)
			return ret;
		hi = lo;
		if (*p == '-') {
			p++;
			ret = parse_id(&p, &hi);
			if (ret < 0)
				return ret;
			if (hi < lo)
				return -EINVAL;
		}
		for (int id = lo; id <= hi; id++)
			idset_add(&tmp, id);
		if (*p == ',')
			p++;
		else if (*p && *p != '\n')
			return -EINVAL;
	}
	if (*p == '\n' && p[1] != '\0')
		return -EINVAL;
	*s = tmp;
	return 0;
}

int idset_format(const struct idset *s, char *buf, size_t size)
{
	size_t len = 0;
	int id = idset_next(s, 0);

	if (size == 0)
		return -ENOSPC;
	buf[0] = '\0';
	while (id >= 0) {
		int end = id, n;

		while (idset_has(s, end + 1))
			end++;
		if (end == id)
			n = snprintf(buf + len, size - len, "%s%d", len ? "," : "", id);
		else
			n = snprintf(buf + len, size - len, "%s%d-%d", len ? "," : "", id, end);
		if (n < 0 || (size_t)n >= size - len)
			return -ENOSPC;
		len += n;
		id = idset_next(s, end + 1);
	}
	return 0;
}
