/* test_place.c - numad -w: NCPUS[:MB] parsing, the local answer on fixture
 * trees, and the answer of a (fake) running daemon over the control socket.
 *
 * Expected nodes come from the fixtures' facts (tests/fixtures/README.md
 * and the files themselves); neither tree has CPU counters, so every CPU
 * counts idle:
 *   guest-2node: node 0 CPUs 0-1, MemFree 453136 kB (~442 MiB); node 1
 *     CPUs 2-3, MemFree 479700 kB (~468 MiB); distance 20.
 *   hostile-gaps: node 0 CPUs 0-2 online, 1 GiB free; node 2 CPU-less,
 *     6 GiB free; node 5 CPUs 4-7, no memory; distances 0-2 20, 2-5 30,
 *     0-5 40.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "place.h"
#include "root.h"
#include "fakectl.h"

/* ---- parsing ---- */

static void parse_ok(const char *spec, int want_cpus, uint64_t want_mib)
{
	char err[160] = "";
	uint64_t mib = 99;
	int ncpus = -1;

	assert_int_equal(place_parse(spec, &ncpus, &mib, err, sizeof(err)), 0);
	assert_int_equal(ncpus, want_cpus);
	assert_int_equal(mib, want_mib);
}

static void parse_bad(const char *spec, const char *why)
{
	char err[160] = "";
	uint64_t mib = 99;
	int ncpus = -1;

	assert_int_equal(place_parse(spec, &ncpus, &mib, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, why));
	assert_int_equal(ncpus, -1);            /* untouched on error */
	assert_int_equal(mib, 99);
}

static void test_parse(void **state)
{
	(void)state;
	parse_ok("4", 4, 0);
	parse_ok("4:1024", 4, 1024);
	parse_ok("1:0", 1, 0);
	parse_ok("2.5:100", 3, 100);            /* numad's fractions round up */
	parse_ok("2.00", 2, 0);
	parse_ok("8192:1099511627776", 8192, 1ULL << 40);
	parse_bad("0", "NCPUS out of range");
	parse_bad("0:512", "NCPUS out of range");
	parse_bad("8193", "NCPUS out of range");
	parse_bad("4:1099511627777", "MB out of range");
	parse_bad("4:", "not NCPUS[:MB]");
	parse_bad("x", "not NCPUS[:MB]");
	parse_bad("4:-1", "not NCPUS[:MB]");
	parse_bad("-1", "not NCPUS[:MB]");
	parse_bad("", "not NCPUS[:MB]");
	parse_bad(":512", "not NCPUS[:MB]");
	parse_bad("4x", "not NCPUS[:MB]");
	parse_bad("4:512x", "not NCPUS[:MB]");
	parse_bad("4.:512", "not NCPUS[:MB]");
	parse_bad("4:5:6", "not NCPUS[:MB]");
	parse_bad(" 4", "not NCPUS[:MB]");
	parse_bad("99999999999999999999999", "not NCPUS[:MB]");
}

/* ---- local answers on fixture trees ---- */

struct fx {
	struct rt_root *root;
	struct cfg cfg;
};

static int open_fixture(void **state, const char *name)
{
	struct fx *f = calloc(1, sizeof(*f));
	char dir[512];

	if (!f)
		return -1;
	snprintf(dir, sizeof(dir), "%s/%s", FIXTURES, name);
	if (rt_open(dir, &f->root) < 0) {
		free(f);
		return -1;
	}
	cfg_defaults(&f->cfg);
	*state = f;
	return 0;
}

static int setup_guest(void **state) { return open_fixture(state, "guest-2node"); }
static int setup_gaps(void **state) { return open_fixture(state, "hostile-gaps"); }

static int teardown(void **state)
{
	struct fx *f = *state;

	rt_close(f->root);
	free(f);
	return 0;
}

/* Answers locally (no control directory); checks status, source and nodes. */
static void local(struct fx *f, int ncpus, uint64_t mib, int want_r, const char *want)
{
	struct idset nodes, exp;
	const char *source = NULL;

	assert_int_equal(place_answer(NULL, f->root, &f->cfg, ncpus, mib, &nodes, &source),
	                 want_r);
	assert_string_equal(source, "local");
	assert_int_equal(idset_parse(&exp, want), 0);
	if (!idset_equal(&nodes, &exp)) {
		char got[64];

		idset_format(&nodes, got, sizeof(got));
		fail_msg("%d CPUs %llu MiB: nodes '%s', expected '%s'", ncpus,
		         (unsigned long long)mib, got, want);
	}
}

/* No reserve, nodes filled to 100 %: every figure is the fixture's own. */
static void no_margins(struct fx *f)
{
	f->cfg.reserve_mb = 0;
	f->cfg.target_utilization = 100;
}

static void test_guest_one_node(void **state)
{
	struct fx *f = *state;

	no_margins(f);
	/* Both nodes have 2 idle CPUs and room for 256 MiB; node 1 has more
	 * free memory. */
	local(f, 1, 256, 0, "1");
	local(f, 2, 256, 0, "1");
	/* 512 MiB fits neither node alone (442 and 468 MiB free): both. */
	local(f, 2, 512, 0, "0-1");
	/* 3 CPUs: more than a node has. */
	local(f, 3, 0, 0, "0-1");
}

static void test_guest_no_fit(void **state)
{
	struct fx *f = *state;

	/* The default 512 MiB reserve is more than either node has free:
	 * nothing fits, and libvirt still gets the least bad set. */
	local(f, 2, 512, PLACE_NO_FIT, "0-1");
	/* More CPUs than the host has. */
	no_margins(f);
	local(f, 16, 0, PLACE_NO_FIT, "0-1");
}

static void test_gaps(void **state)
{
	struct fx *f = *state;

	no_margins(f);
	/* Node 0 is the only node with CPUs and memory. */
	local(f, 2, 512, 0, "0");
	/* 2 GiB: node 0 needs memory from its nearest node with some, 2 (the
	 * CPU-less one), not 5 (memoryless). */
	local(f, 2, 2048, 0, "0,2");
}

/* ---- the running daemon (a fake one on a socket of our own) ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void test_daemon_answers(void **state)
{
	struct fx *f = *state;
	struct idset nodes, three;
	const char *source = NULL;
	struct fake d;

	fake_start(&d, "ok\n3\n");
	assert_int_equal(place_answer(d.dir, f->root, &f->cfg, 2, 512, &nodes, &source), 0);
	fake_stop(&d);
	assert_string_equal(source, "daemon");
	assert_string_equal(d.request, "place 2 512\n");
	assert_int_equal(d.asked_ms, PLACE_DAEMON_TIMEOUT_MS);
	idset_parse(&three, "3");
	assert_true(idset_equal(&nodes, &three));
}

/* A daemon that refuses or babbles: decided here, as without one.  The
 * fake's answer always arrives (fakectl.h): "local" is the verdict on it. */
static void daemon_fails(struct fx *f, const char *reply)
{
	struct idset nodes, one;
	const char *source = NULL;
	struct fake d;

	no_margins(f);
	fake_start(&d, reply);
	assert_int_equal(place_answer(d.dir, f->root, &f->cfg, 1, 256, &nodes, &source), 0);
	fake_stop(&d);
	assert_string_equal(d.request, "place 1 256\n");
	assert_int_equal(d.asked_ms, PLACE_DAEMON_TIMEOUT_MS);
	assert_string_equal(source, "local");
	idset_parse(&one, "1");
	assert_true(idset_equal(&nodes, &one));
}

static void test_daemon_fails(void **state)
{
	daemon_fails(*state, "error: no placement yet: the daemon is measuring CPU use\n");
	daemon_fails(*state, "ok\nbanana\n");
	daemon_fails(*state, "ok\n");
	daemon_fails(*state, "ok\n0-1\nand more\n");
	daemon_fails(*state, "");
}

/* A daemon that stalls: asked with PLACE_DAEMON_TIMEOUT_MS, given up on
 * (the client hangs up; the fake holds it until then), decided here.  The
 * timeout cannot end early; that it ends at all is test_ctl's
 * test_call_timeout, how late is the scheduler's business. */
static void test_daemon_stalls(void **state)
{
	struct fx *f = *state;
	struct idset nodes, one;
	const char *source = NULL;
	struct fake d;
	uint64_t t0 = now_ms(), ms;

	no_margins(f);
	fake_start(&d, NULL);
	assert_int_equal(place_answer(d.dir, f->root, &f->cfg, 1, 256, &nodes, &source), 0);
	ms = now_ms() - t0;
	fake_stop(&d);
	assert_string_equal(d.request, "place 1 256\n");
	assert_int_equal(d.asked_ms, PLACE_DAEMON_TIMEOUT_MS);
	assert_true(d.hung_up);
	/* measured as ctl_call measures it, whole ms of CLOCK_MONOTONIC */
	if (ms < PLACE_DAEMON_TIMEOUT_MS)
		fail_msg("gave up on the daemon after %llu ms, before its %d ms",
		         (unsigned long long)ms, PLACE_DAEMON_TIMEOUT_MS);
	assert_string_equal(source, "local");
	idset_parse(&one, "1");
	assert_true(idset_equal(&nodes, &one));
}

static void test_no_daemon(void **state)
{
	struct fx *f = *state;
	char dir[] = "/tmp/kn-place.XXXXXX";
	struct idset nodes;
	const char *source = NULL;

	no_margins(f);
	assert_non_null(mkdtemp(dir));
	assert_int_equal(place_answer(dir, f->root, &f->cfg, 1, 256, &nodes, &source), 0);
	assert_string_equal(source, "local");
	assert_int_equal(place_answer("", f->root, &f->cfg, 1, 256, &nodes, &source), 0);
	assert_string_equal(source, "local");
	rmdir(dir);
}

static void test_unreadable_root(void **state)
{
	char dir[] = "/tmp/kn-place.XXXXXX";
	struct rt_root *root;
	struct idset nodes;
	const char *source;
	struct cfg cfg;

	(void)state;
	cfg_defaults(&cfg);
	assert_non_null(mkdtemp(dir));
	assert_int_equal(rt_open(dir, &root), 0);
	/* An empty tree: no topology at all; an error, and no nodes. */
	assert_true(place_answer(NULL, root, &cfg, 1, 256, &nodes, &source) < 0);
	assert_true(idset_empty(&nodes));
	rt_close(root);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test_setup_teardown(test_guest_one_node, setup_guest, teardown),
		cmocka_unit_test_setup_teardown(test_guest_no_fit, setup_guest, teardown),
		cmocka_unit_test_setup_teardown(test_gaps, setup_gaps, teardown),
		cmocka_unit_test_setup_teardown(test_daemon_answers, setup_guest, teardown),
		cmocka_unit_test_setup_teardown(test_daemon_fails, setup_guest, teardown),
		cmocka_unit_test_setup_teardown(test_daemon_stalls, setup_guest, teardown),
		cmocka_unit_test_setup_teardown(test_no_daemon, setup_guest, teardown),
		cmocka_unit_test(test_unreadable_root),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
