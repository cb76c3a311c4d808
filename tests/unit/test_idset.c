/* Unit tests for idset: the kernel's list syntax in and out. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>

#include "idset.h"

static void parse_ranges(void **state)
{
	struct idset s;

	assert_int_equal(idset_parse(&s, "0-3,8,10-11\n"), 0);
	assert_int_equal(idset_count(&s), 7);
	assert_true(idset_has(&s, 0) && idset_has(&s, 3) && idset_has(&s, 8));
	assert_false(idset_has(&s, 4));
	assert_false(idset_has(&s, 9));
	assert_true(idset_has(&s, 11));
	assert_int_equal(idset_next(&s, 4), 8);
	assert_int_equal(idset_next(&s, 12), -1);
}

static void parse_empty(void **state)
{
	struct idset s;

	assert_int_equal(idset_parse(&s, "\n"), 0);
	assert_true(idset_empty(&s));
	assert_int_equal(idset_parse(&s, ""), 0);
	assert_int_equal(idset_count(&s), 0);
}

static void parse_bad_keeps_set(void **state)
{
	static const char *const bad[] = {
		"1-", "-1", "3-1", "a", "1,,2", "1 2", "0-3\ngarbage", "1-2-3",
	};
	struct idset s;

	assert_int_equal(idset_parse(&s, "5"), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(idset_parse(&s, bad[i]), -EINVAL);
		assert_true(idset_has(&s, 5));
		assert_int_equal(idset_count(&s), 1);
	}
	assert_int_equal(idset_parse(&s, "8192"), -ERANGE);
	assert_int_equal(idset_parse(&s, "99999999999999999999"), -ERANGE);
}

static void format_roundtrip(void **state)
{
	struct idset s, t;
	char buf[64];

	idset_clear(&s);
	assert_int_equal(idset_format(&s, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	for (int id = 0; id < 4; id++)
		idset_add(&s, id);
	idset_add(&s, 63);
	idset_add(&s, 64);
	idset_add(&s, 8191);
	assert_int_equal(idset_format(&s, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0-3,63-64,8191");
	assert_int_equal(idset_parse(&t, buf), 0);
	assert_true(idset_equal(&s, &t));
	assert_int_equal(idset_format(&s, buf, 6), -ENOSPC);
}

static void set_ops(void **state)
{
	struct idset a, b, c;

	idset_parse(&a, "0-7");
	idset_parse(&b, "4-11");
	idset_and(&c, &a, &b);
	assert_int_equal(idset_count(&c), 4);
	assert_int_equal(idset_next(&c, 0), 4);
	idset_or(&c, &a, &b);
	assert_int_equal(idset_count(&c), 12);
	idset_del(&c, 0);
	idset_del(&c, -1);
	idset_del(&c, IDSET_MAX);
	assert_false(idset_has(&c, 0));
	assert_int_equal(idset_add(&c, -1), -ERANGE);
	assert_int_equal(idset_add(&c, IDSET_MAX), -ERANGE);
	assert_false(idset_has(&c, -3));

	int n = 0, last = -1;
	IDSET_FOREACH(id, &c) {
		assert_true(id > last);
		last = id;
		n++;
	}
	assert_int_equal(n, 11);
	assert_int_equal(last, 11);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_ranges),
		cmocka_unit_test(parse_empty),
		cmocka_unit_test(parse_bad_keeps_set),
		cmocka_unit_test(format_roundtrip),
		cmocka_unit_test(set_ops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
