/* num.h - bounded decimal number parsing for the readers of external text.
 *
 * No locale, no leading blanks, no '+', no base prefixes: a caller that
 * allows blanks skips them itself.  Overflow is always an error.  *V (and
 * *END) are written only on success.
 */
#ifndef KN_NUM_H
#define KN_NUM_H

#include <stddef.h>
#include <stdint.h>

/* Digits at S into *V, *END after them; -EINVAL if S has no digit, -ERANGE on overflow. */
int num_u64(const char *s, const char **end, uint64_t *v);

/* Like num_u64 with an optional '-' directly before the digits; range INT64_MIN..INT64_MAX. */
int num_s64(const char *s, const char **end, int64_t *v);

/* The whole token [S, S+N) as digits, never reading past it; -EINVAL if empty or on a
 * non-digit, -ERANGE on overflow, whichever comes first from the left. */
int num_u64_tok(const char *s, size_t n, uint64_t *v);

#endif
