/* num.c - bounded decimal number parsing. */
#include "num.h"

#include <errno.h>
#include <stdbool.h>

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int num_u64_tok(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;

	if (n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (!is_digit(s[i]))
			return -EINVAL;
		if (x > (UINT64_MAX - d) / 10)
			return -ERANGE;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

int num_u64(const char *s, const char **end, uint64_t *v)
{
	size_t n = 0;
	int ret;

	while (is_digit(s[n]))
		n++;
	ret = num_u64_tok(s, n, v);
	if (ret == 0)
		*end = s + n;
	return ret;
}

int num_s64(const char *s, const char **end, int64_t *v)
{
	bool neg = *s == '-';
	const char *e;
	uint64_t mag;
	int ret;

	ret = num_u64(s + neg, &e, &mag);
	if (ret < 0)
		return ret;
	if (mag > (uint64_t)INT64_MAX + neg)
		return -ERANGE;
	/* -INT64_MIN does not fit in int64_t: negate one less, then step down. */
	*v = neg && mag ? -(int64_t)(mag - 1) - 1 : (int64_t)mag;
	*end = e;
	return 0;
}
