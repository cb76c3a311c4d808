/* test_load.c - CPU use from tick counters. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>

#include "load.h"

/* Two CPUs listed (0 and 2: CPU 1 offline), a kernel with all ten fields.
 * CPU 0: user 100 nice 0 system 50 idle 800 iowait 50 irq 0 softirq 0
 * steal 0 guest 30 guest_nice 0 -> total 1000 (guest is inside user), busy 150.
 * CPU 2: total 600 + 400 idle = 1000, busy 600. */
static const char stat_a[] =
	"cpu  700 0 100 1200 50 0 0 0 30 0\n"
	"cpu0 100 0 50 800 50 0 0 0 30 0\n"
	"cpu2 600 0 0 400 0 0 0 0 0 0\n"
	"intr 12345 1 2 3\n"
	"ctxt 999\n";

/* 1000 ticks later on each CPU: CPU 0 busy +500, CPU 2 busy +250. */
static const char stat_b[] =
	"cpu  1450 0 250 1950 50 0 0 0 30 0\n"
	"cpu0 500 0 150 1300 50 0 0 0 30 0\n"
	"cpu2 850 0 0 1150 0 0 0 0 0 0\n";

static void test_parse(void **state)
{
	struct ld_sample s;

	(void)state;
	assert_int_equal(ld_parse(stat_a, &s), 0);
	assert_int_equal(s.ncpu, 3);
	assert_int_equal(s.total[0], 1000);
	assert_int_equal(s.busy[0], 150);
	assert_int_equal(s.total[1], 0);
	assert_int_equal(s.busy[2], 600);
	assert_int_equal(s.elapsed, 1000);
	assert_true(ld_cpu_busy(NULL, &s, 1) < 0);      /* not listed */
	assert_true(ld_cpu_busy(NULL, &s, 7) < 0);      /* beyond */
	assert_true(fabs(ld_cpu_busy(NULL, &s, 0) - 0.15) < 1e-9);
	ld_free(&s);
}

static void test_rates(void **state)
{
	struct ld_sample a, b;

	(void)state;
	assert_int_equal(ld_parse(stat_a, &a), 0);
	assert_int_equal(ld_parse(stat_b, &b), 0);
	assert_true(fabs(ld_cpu_busy(&a, &b, 0) - 0.5) < 1e-9);
	assert_true(fabs(ld_cpu_busy(&a, &b, 2) - 0.25) < 1e-9);
	/* a process that used 1500 ticks in the 1000 elapsed: 1.5 CPUs */
	assert_true(fabs(ld_proc_use(&a, &b, 2000, 3500, 10) - 1.5) < 1e-9);
	/* since its start at tick 200 of a 2000-tick uptime, 900 ticks: 0.5 */
	assert_true(fabs(ld_proc_use(NULL, &b, 0, 900, 200) - 0.5) < 1e-9);
	/* the same sample twice: no interval */
	assert_true(ld_proc_use(&b, &b, 5, 5, 0) < 0);
	assert_true(ld_cpu_busy(&b, &b, 0) < 0);
	ld_free(&a);
	ld_free(&b);
}

static void test_hostile(void **state)
{
	struct ld_sample s;

	(void)state;
	assert_int_equal(ld_parse("", &s), -EINVAL);
	assert_int_equal(ld_parse("cpu  1 2 3 4\nintr 5\n", &s), -EINVAL);
	assert_int_equal(ld_parse("cpu0 1 2\ncpux 1 2 3 4\ncpu99999 1 2 3 4\n", &s), -EINVAL);
	/* a 2.6-era line with only four fields still counts */
	assert_int_equal(ld_parse("cpu0 10 0 10 80\ncpu1 18446744073709551616 0 0 0\n", &s), 0);
	assert_int_equal(s.ncpu, 1);    /* the overflowing line is skipped */
	assert_true(fabs(ld_cpu_busy(NULL, &s, 0) - 0.2) < 1e-9);
	ld_free(&s);
}

static void test_counter_reset(void **state)
{
	struct ld_sample a, b;

	(void)state;
	/* CPU 0 went offline and back: its counters restarted below the old ones */
	assert_int_equal(ld_parse("cpu0 900 0 0 100\n", &a), 0);
	assert_int_equal(ld_parse("cpu0 30 0 0 70\n", &b), 0);
	assert_true(fabs(ld_cpu_busy(&a, &b, 0) - 0.3) < 1e-9);
	ld_free(&a);
	ld_free(&b);
}

static void test_read_missing(void **state)
{
	struct rt_root *r = NULL;
	struct ld_sample s;

	(void)state;
	assert_int_equal(rt_open(FIXTURES "/guest-2node", &r), 0);
	assert_int_equal(ld_read(r, &s), -ENOENT);     /* the capture has no stat file */
	assert_int_equal(s.ncpu, 0);
	rt_close(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_rates),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_counter_reset),
		cmocka_unit_test(test_read_missing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
