/* Unit tests for num: decimal parsing at its boundaries. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>

#include "num.h"

#define SENTINEL 0x5a5a5a5a5a5a5a5aull

/* num_u64 on S: its return, and on success the value and how many chars it took. */
static void u64_ok(const char *s, uint64_t want, size_t used)
{
	const char *end = NULL;
	uint64_t v = SENTINEL;

	assert_int_equal(num_u64(s, &end, &v), 0);
	assert_true(v == want);
	assert_ptr_equal(end, s + used);
}

static void u64_bad(const char *s, int err)
{
	const char *end = NULL;
	uint64_t v = SENTINEL;

	assert_int_equal(num_u64(s, &end, &v), err);
	assert_true(v == SENTINEL);
	assert_null(end);
}

static void s64_ok(const char *s, int64_t want, size_t used)
{
	const char *end = NULL;
	int64_t v = (int64_t)SENTINEL;

	assert_int_equal(num_s64(s, &end, &v), 0);
	assert_true(v == want);
	assert_ptr_equal(end, s + used);
}

static void s64_bad(const char *s, int err)
{
	const char *end = NULL;
	int64_t v = (int64_t)SENTINEL;

	assert_int_equal(num_s64(s, &end, &v), err);
	assert_true(v == (int64_t)SENTINEL);
	assert_null(end);
}

static void tok_ok(const char *s, size_t n, uint64_t want)
{
	uint64_t v = SENTINEL;

	assert_int_equal(num_u64_tok(s, n, &v), 0);
	assert_true(v == want);
}

static void tok_bad(const char *s, size_t n, int err)
{
	uint64_t v = SENTINEL;

	assert_int_equal(num_u64_tok(s, n, &v), err);
	assert_true(v == SENTINEL);
}

static void u64_boundaries(void **state)
{
	u64_ok("0", 0, 1);
	u64_ok("7\n", 7, 1);
	u64_ok("18446744073709551615", UINT64_MAX, 20);
	u64_ok("000000000000000000000000000042", 42, 30);
	u64_bad("18446744073709551616", -ERANGE);
	u64_bad("99999999999999999999999999", -ERANGE);
	u64_bad("184467440737095516150", -ERANGE);
}

static void u64_syntax(void **state)
{
	u64_bad("", -EINVAL);
	u64_bad(" 1", -EINVAL);
	u64_bad("\t1", -EINVAL);
	u64_bad("+1", -EINVAL);
	u64_bad("-1", -EINVAL);
	u64_bad("x1", -EINVAL);
	/* Trailing text is the caller's: END says where the digits stop. */
	u64_ok("12abc", 12, 2);
	u64_ok("0x10", 0, 1);
	u64_ok("3 kB", 3, 1);
	u64_ok("1.5", 1, 1);
}

static void s64_boundaries(void **state)
{
	s64_ok("9223372036854775807", INT64_MAX, 19);
	s64_ok("-9223372036854775808", INT64_MIN, 20);
	s64_ok("-9223372036854775807", -INT64_MAX, 20);
	s64_ok("-1", -1, 2);
	s64_ok("0", 0, 1);
	s64_ok("-0", 0, 2);
	s64_bad("9223372036854775808", -ERANGE);
	s64_bad("-9223372036854775809", -ERANGE);
	s64_bad("18446744073709551615", -ERANGE);
	s64_bad("18446744073709551616", -ERANGE);
	s64_bad("-18446744073709551616", -ERANGE);
}

static void s64_syntax(void **state)
{
	s64_bad("", -EINVAL);
	s64_bad("-", -EINVAL);
	s64_bad("--1", -EINVAL);
	s64_bad("- 1", -EINVAL);
	s64_bad("+5", -EINVAL);
	s64_bad(" -1", -EINVAL);
	s64_bad(" 1", -EINVAL);
	s64_ok("-12x", -12, 3);
	s64_ok("42\n", 42, 2);
}

static void tok_whole(void **state)
{
	/* Not NUL-terminated: only the N bytes may be read. */
	static const char digits[3] = { '4', '2', '7' };

	tok_ok(digits, sizeof(digits), 427);
	tok_ok("123456", 3, 123);
	tok_ok("0", 1, 0);
	tok_ok("18446744073709551615", 20, UINT64_MAX);
	tok_ok("18446744073709551615 kB", 20, UINT64_MAX);
	tok_bad("18446744073709551616", 20, -ERANGE);
	tok_bad("", 0, -EINVAL);
	tok_bad("12", 0, -EINVAL);
	tok_bad("12 ", 3, -EINVAL);
	tok_bad(" 12", 3, -EINVAL);
	tok_bad("1x", 2, -EINVAL);
	tok_bad("-1", 2, -EINVAL);
	tok_bad("+1", 2, -EINVAL);
}

static void tok_first_error_wins(void **state)
{
	/* Scanned left to right: the overflow comes before the junk, and
	 * the junk before the overflow. */
	tok_bad("99999999999999999999x", 21, -ERANGE);
	tok_bad("x99999999999999999999", 21, -EINVAL);
	tok_bad("1x9999999999999999999999", 24, -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(u64_boundaries),
		cmocka_unit_test(u64_syntax),
		cmocka_unit_test(s64_boundaries),
		cmocka_unit_test(s64_syntax),
		cmocka_unit_test(tok_whole),
		cmocka_unit_test(tok_first_error_wins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
