/* test_ksm.c - KSM state and assessment against the fixture trees described
 * in tests/fixtures/README.md, and hostile variants of them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "ksm.h"
#include "tmptree.h"

#define MAXLINES 16
#define KSM_DIR "sys/kernel/mm/ksm/"

static void read_dir(const char *dir, struct ksm_state *s)
{
	struct rt_root *r;

	assert_int_equal(rt_open(dir, &r), 0);
	assert_int_equal(ksm_read(r, s), 0);
	rt_close(r);
}

static void read_fixture(const char *name, struct ksm_state *s)
{
	char dir[PATH_MAX];
	int n = snprintf(dir, sizeof(dir), "%s/%s", FIXTURES, name);

	assert_true(n > 0 && (size_t)n < sizeof(dir));
	read_dir(dir, s);
}

/* Assessment lines of S, checked for length. */
static int assess(const struct ksm_state *s, char (*lines)[KSM_LINE_LEN])
{
	int n = ksm_assess(s, lines, MAXLINES);

	assert_true(n >= 1 && n <= MAXLINES);
	for (int i = 0; i < n; i++) {
		size_t len = strlen(lines[i]);

		/* shorter than the buffer minus one: nothing was truncated */
		assert_true(len > 0 && len < KSM_LINE_LEN - 1);
	}
	return n;
}

/* Asserts that some line contains PHRASE. */
static void assert_said(char (*lines)[KSM_LINE_LEN], int n, const char *phrase)
{
	for (int i = 0; i < n; i++)
		if (strstr(lines[i], phrase))
			return;
	for (int i = 0; i < n; i++)
		print_message("  %s\n", lines[i]);
	fail_msg("no line says \"%s\"", phrase);
}

static void assert_not_said(char (*lines)[KSM_LINE_LEN], int n, const char *phrase)
{
	for (int i = 0; i < n; i++)
		if (strstr(lines[i], phrase))
			fail_msg("line \"%s\" says \"%s\"", lines[i], phrase);
}

static void test_key_names(void **state)
{
	(void)state;
	assert_string_equal(ksm_key_name(KSM_RUN), "run");
	assert_string_equal(ksm_key_name(KSM_MAX_PAGE_SHARING), "max_page_sharing");
	assert_string_equal(ksm_key_name(KSM_STABLE_NODE_CHAINS_PRUNE_MS),
	                    "stable_node_chains_prune_millisecs");
	assert_string_equal(ksm_key_name(KSM_ZERO_PAGES), "ksm_zero_pages");
	assert_string_equal(ksm_key_name(KSM_MAX_CPU), "advisor_max_cpu");
	for (int k = 0; k < KSM_NKEYS; k++)
		assert_non_null(ksm_key_name(k));
	assert_non_null(ksm_key_name(KSM_NKEYS));
}

static void test_gaps(void **state)
{
	static const struct { enum ksm_key k; int64_t v; } want[] = {
		{ KSM_RUN, 1 }, { KSM_PAGES_SHARED, 100 },
		{ KSM_PAGES_SHARING, 262144 }, { KSM_PAGES_UNSHARED, 5000 },
		{ KSM_PAGES_VOLATILE, 10 }, { KSM_FULL_SCANS, 7 },
		{ KSM_MAX_PAGE_SHARING, 256 }, { KSM_STABLE_NODE_CHAINS, 4 },
		{ KSM_STABLE_NODE_DUPS, 1024 },
		{ KSM_STABLE_NODE_CHAINS_PRUNE_MS, 2000 },
		{ KSM_MERGE_ACROSS_NODES, 1 }, { KSM_USE_ZERO_PAGES, 0 },
		{ KSM_ZERO_PAGES, 0 }, { KSM_GENERAL_PROFIT, 1069547520 },
		{ KSM_PAGES_TO_SCAN, 100 }, { KSM_SLEEP_MILLISECS, 20 },
		{ KSM_SMART_SCAN, 1 },
	};
	struct ksm_state s;
	int nhas = 0;

	(void)state;
	read_fixture("hostile-gaps", &s);
	assert_true(s.present);
	assert_int_equal(s.nbad, 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_true(s.has[want[i].k]);
		assert_int_equal(s.val[want[i].k], want[i].v);
		assert_int_equal(ksm_get(&s, want[i].k, -7), want[i].v);
	}
	for (int k = 0; k < KSM_NKEYS; k++)
		nhas += s.has[k];
	assert_int_equal(nhas, sizeof(want) / sizeof(want[0]));
	assert_string_equal(s.advisor_mode, "none");
	assert_true(ksm_chains_bounded(&s));
}

static void test_gaps_assess(void **state)
{
	char lines[MAXLINES][KSM_LINE_LEN];
	struct ksm_state s;
	int n;

	(void)state;
	read_fixture("hostile-gaps", &s);
	n = assess(&s, lines);
	assert_said(lines, n, "KSM is running (run=1)");
	assert_said(lines, n, "max_page_sharing 256: one KSM page has at most 256 mappings");
	/* (100 + 262144) / 100 mappings per KSM page */
	assert_said(lines, n, "pages_shared 100, pages_sharing 262144: 2622.4 mappings per KSM page");
	assert_said(lines, n, "stable_node_chains 4, stable_node_dups 1024:");
	assert_said(lines, n, "merge_across_nodes 1: pages are merged across nodes; "
	            "a merged page lives on one node and VMs on other nodes access it remotely");
	assert_said(lines, n, "use_zero_pages 0: all-zero pages are merged like any other page");
	assert_not_said(lines, n, "never be moved");
	assert_not_said(lines, n, "Unreadable");
}

static void test_oldkernel(void **state)
{
	static const struct { enum ksm_key k; int64_t v; } want[] = {
		{ KSM_RUN, 1 }, { KSM_PAGES_SHARED, 10 }, { KSM_PAGES_SHARING, 500 },
		{ KSM_PAGES_UNSHARED, 0 }, { KSM_PAGES_VOLATILE, 0 },
		{ KSM_FULL_SCANS, 3 }, { KSM_PAGES_TO_SCAN, 100 },
		{ KSM_SLEEP_MILLISECS, 20 }, { KSM_MERGE_ACROSS_NODES, 1 },
	};
	char lines[MAXLINES][KSM_LINE_LEN];
	struct ksm_state s;
	int nhas = 0, n;

	(void)state;
	read_fixture("hostile-oldkernel", &s);
	assert_true(s.present);
	assert_int_equal(s.nbad, 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_true(s.has[want[i].k]);
		assert_int_equal(s.val[want[i].k], want[i].v);
	}
	for (int k = 0; k < KSM_NKEYS; k++)
		nhas += s.has[k];
	assert_int_equal(nhas, sizeof(want) / sizeof(want[0]));
	assert_false(s.has[KSM_MAX_PAGE_SHARING]);
	assert_int_equal(ksm_get(&s, KSM_MAX_PAGE_SHARING, -1), -1);
	assert_string_equal(s.advisor_mode, "");
	assert_false(ksm_chains_bounded(&s));

	n = assess(&s, lines);
	assert_said(lines, n, "max_page_sharing absent (kernel < 4.13): KSM chains "
	            "are unbounded, so KSM pages will never be moved");
	assert_said(lines, n, "use_zero_pages absent");
	assert_said(lines, n, "51.0 mappings per KSM page");   /* (10 + 500) / 10 */
	assert_not_said(lines, n, "stable_node");
	assert_not_said(lines, n, "Unreadable");
}

static void test_absent(void **state)
{
	char lines[MAXLINES][KSM_LINE_LEN];
	struct ksm_state s;
	int n;

	(void)state;
	read_fixture("hostile-noksm", &s);
	assert_false(s.present);
	for (int k = 0; k < KSM_NKEYS; k++)
		assert_false(s.has[k]);
	assert_int_equal(s.nbad, 0);
	assert_false(ksm_chains_bounded(&s));
	assert_int_equal(ksm_get(&s, KSM_RUN, 9), 9);
	n = assess(&s, lines);
	assert_int_equal(n, 1);
	assert_string_equal(lines[0], "KSM not available: nothing is merged; "
	                    "migration is plain page copying.");
}

static void test_garbage(void **state)
{
	char lines[MAXLINES][KSM_LINE_LEN];
	struct ksm_state s;
	char *dir;
	int n;

	(void)state;
	dir = tt_copy("hostile-gaps");
	tt_put(dir, KSM_DIR "run", "-1\n");
	tt_put(dir, KSM_DIR "pages_shared", "12abc\n");
	tt_put(dir, KSM_DIR "max_page_sharing", "banana\n");
	tt_put(dir, KSM_DIR "general_profit", "-4096\n");      /* may be negative */
	tt_put(dir, KSM_DIR "advisor_mode", "[none scan-time\n");
	read_dir(dir, &s);
	assert_true(s.present);
	assert_int_equal(s.nbad, 4);
	assert_string_equal(s.bad[0], "run");
	assert_string_equal(s.bad[1], "pages_shared");
	assert_string_equal(s.bad[2], "max_page_sharing");
	assert_string_equal(s.bad[3], "advisor_mode");
	assert_false(s.has[KSM_RUN]);
	assert_false(s.has[KSM_PAGES_SHARED]);
	assert_false(s.has[KSM_MAX_PAGE_SHARING]);
	assert_true(s.garbled[KSM_MAX_PAGE_SHARING]);
	assert_false(s.garbled[KSM_PAGES_SHARING]);
	assert_true(s.has[KSM_GENERAL_PROFIT]);
	assert_int_equal(s.val[KSM_GENERAL_PROFIT], -4096);
	assert_true(s.has[KSM_PAGES_SHARING]);
	assert_string_equal(s.advisor_mode, "");
	assert_false(ksm_chains_bounded(&s));

	n = assess(&s, lines);
	assert_said(lines, n, "KSM run state unknown");
	assert_said(lines, n, "max_page_sharing unreadable: KSM chains may be "
	            "unbounded, so KSM pages will never be moved");
	assert_said(lines, n, "Unreadable KSM files, ignored: run, pages_shared, "
	            "max_page_sharing, advisor_mode.");
	assert_not_said(lines, n, "mappings per KSM page");

	/* More bad files than are named: the rest are counted, and
	 * max_page_sharing is still known to be garbled, not absent. */
	tt_put(dir, KSM_DIR "pages_unshared", "x\n");
	tt_put(dir, KSM_DIR "full_scans", "\n");
	read_dir(dir, &s);
	assert_int_equal(s.nbad, 6);
	assert_true(s.garbled[KSM_MAX_PAGE_SHARING]);
	n = assess(&s, lines);
	assert_said(lines, n, "Unreadable KSM files, ignored: run, pages_shared, "
	            "pages_unshared, full_scans and 2 more.");
	assert_said(lines, n, "max_page_sharing unreadable");
	tt_remove(dir);
}

/* States built by hand: the assessment is a pure function of them. */
static void set(struct ksm_state *s, enum ksm_key k, int64_t v)
{
	s->has[k] = true;
	s->val[k] = v;
}

static void test_run_modes(void **state)
{
	char lines[MAXLINES][KSM_LINE_LEN];
	struct ksm_state s = { .present = true };
	int n;

	(void)state;
	set(&s, KSM_RUN, 0);
	n = assess(&s, lines);
	assert_said(lines, n, "KSM is stopped (run=0): nothing new is merged.");
	set(&s, KSM_PAGES_SHARED, 3);
	set(&s, KSM_PAGES_SHARING, 30);
	n = assess(&s, lines);
	assert_said(lines, n, "KSM is stopped (run=0): nothing new is merged, but "
	            "the pages already merged stay merged (pages_sharing 30).");
	assert_said(lines, n, "11.0 mappings per KSM page");
	set(&s, KSM_RUN, 2);
	n = assess(&s, lines);
	assert_said(lines, n, "KSM is unmerging (run=2)");
	set(&s, KSM_RUN, 7);
	n = assess(&s, lines);
	assert_said(lines, n, "KSM run=7 is not a known mode.");
	set(&s, KSM_PAGES_SHARED, 0);
	set(&s, KSM_PAGES_SHARING, 0);
	n = assess(&s, lines);
	assert_said(lines, n, "No page is merged now (pages_shared 0).");
}

static void test_nodes_and_zero(void **state)
{
	char lines[MAXLINES][KSM_LINE_LEN];
	struct ksm_state s = { .present = true };
	int n;

	(void)state;
	set(&s, KSM_RUN, 1);
	set(&s, KSM_MERGE_ACROSS_NODES, 0);
	set(&s, KSM_USE_ZERO_PAGES, 1);
	set(&s, KSM_ZERO_PAGES, 4096);
	set(&s, KSM_STABLE_NODE_CHAINS, 0);
	set(&s, KSM_STABLE_NODE_DUPS, 0);
	n = assess(&s, lines);
	assert_said(lines, n, "merge_across_nodes 0: per-node trees; pages are merged "
	            "only within a node");
	assert_said(lines, n, "use_zero_pages 1: all-zero pages are merged into the "
	            "kernel zero page, which is never migrated.");
	assert_said(lines, n, "ksm_zero_pages 4096:");
	assert_said(lines, n, "stable_node_chains 0: no KSM page has reached max_page_sharing.");
	assert_not_said(lines, n, "merged across nodes");
}

/* Extreme values still fit a line, and MAX bounds the number of lines. */
static void test_limits(void **state)
{
	char lines[MAXLINES][KSM_LINE_LEN];
	struct ksm_state s = { .present = true };
	int n;

	(void)state;
	for (int k = 0; k < KSM_NKEYS; k++)
		set(&s, k, INT64_MAX);
	set(&s, KSM_GENERAL_PROFIT, INT64_MIN);
	n = assess(&s, lines);
	assert_true(n >= 6);
	assert_int_equal(ksm_assess(&s, lines, 2), 2);
	assert_int_equal(ksm_assess(&s, lines, 0), 0);
}

static void test_live_host(void **state)
{
	char lines[MAXLINES][KSM_LINE_LEN];
	struct ksm_state s;
	struct rt_root *r;

	(void)state;
	assert_int_equal(rt_open(NULL, &r), 0);
	assert_int_equal(ksm_read(r, &s), 0);
	if (s.present)
		assert_true(s.has[KSM_RUN]);
	assess(&s, lines);
	rt_close(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_names),
		cmocka_unit_test(test_gaps),
		cmocka_unit_test(test_gaps_assess),
		cmocka_unit_test(test_oldkernel),
		cmocka_unit_test(test_absent),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_run_modes),
		cmocka_unit_test(test_nodes_and_zero),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_live_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
