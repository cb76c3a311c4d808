/* test_ksm.c - KSM state and assessment against the fixture trees described
 * in tests/fixtures/README.md, and hostile variants of them; the knobs
 * ksm-numad sets (ksm_apply) on copies of those trees. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

/* ---- the knobs: set_max_page_sharing, set_use_zero_pages ---- */

/* The test links with -Wl,--wrap=rt_write: every write of a KSM knob is
 * counted, and a test may make the kernel refuse one file's write with an
 * errno (EBUSY as when KSM merged pages between the daemon's read and its
 * write, EACCES as in a sandbox that left the directory read-only). */
static struct {
	int mps, zero;          /* writes of max_page_sharing, use_zero_pages */
	const char *fail;       /* file whose write fails, NULL none */
	int err;                /* with this errno */
	const char *dir;        /* the tree, for MERGE */
	const char *merge;      /* pages_shared written when FAIL fails */
} wr;

int __real_rt_write(const struct rt_root *r, enum rt_fs fs, const char *str,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int __wrap_rt_write(const struct rt_root *r, enum rt_fs fs, const char *str,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

int __wrap_rt_write(const struct rt_root *r, enum rt_fs fs, const char *str,
                    const char *fmt, ...)
{
	char rel[PATH_MAX];
	const char *name;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	name = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
	wr.mps += strcmp(name, "max_page_sharing") == 0;
	wr.zero += strcmp(name, "use_zero_pages") == 0;
	if (wr.fail && strcmp(name, wr.fail) == 0) {
		if (wr.merge)
			tt_put(wr.dir, KSM_DIR "pages_shared", wr.merge);
		return -wr.err;
	}
	return __real_rt_write(r, fs, str, "%s", rel);
}

static int reset_writes(void **state)
{
	(void)state;
	memset(&wr, 0, sizeof(wr));
	return 0;
}

/* A copy of guest-2node as the host is before any VM starts: KSM runs,
 * nothing is merged (max_page_sharing 256, use_zero_pages 0). */
static char *idle_host(void)
{
	char *dir = tt_copy("guest-2node");

	tt_put(dir, KSM_DIR "pages_shared", "0\n");
	tt_put(dir, KSM_DIR "pages_sharing", "0\n");
	tt_put(dir, KSM_DIR "stable_node_chains", "0\n");
	tt_put(dir, KSM_DIR "stable_node_dups", "0\n");
	return dir;
}

static void apply(const char *dir, int64_t mps, int zero, bool dry_run,
                  struct ksm_knobs *k)
{
	struct rt_root *r;

	assert_int_equal(rt_open(dir, &r), 0);
	ksm_apply(r, mps, zero, dry_run, k);
	rt_close(r);
}

/* Asserts that DIR's KSM file NAME holds TEXT. */
static void assert_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX], buf[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/" KSM_DIR "%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		fail_msg("%s: %s", path, strerror(errno));
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	assert_string_equal(buf, text);
}

static void assert_no_file(const char *dir, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/" KSM_DIR "%s", dir, name);
	assert_int_equal(access(path, F_OK), -1);
}

/* Asserts that what knob N says starts with PHRASE (and holds MORE, if
 * given), in a line that was not cut. */
static void assert_knob_says(const struct ksm_knob *n, const char *phrase,
                             const char *more)
{
	char line[KSM_SAY_LEN];

	ksm_knob_say(n, line, sizeof(line));
	assert_true(strlen(line) < sizeof(line) - 1);
	if (strncmp(line, phrase, strlen(phrase)) != 0 || (more && !strstr(line, more)))
		fail_msg("knob says \"%s\", not \"%s...%s\"", line, phrase, more ? more : "");
}

#define MPS(k) (&(k).k[KSM_KNOB_MAX_PAGE_SHARING])
#define ZERO(k) (&(k).k[KSM_KNOB_USE_ZERO_PAGES])

/* Before VMs start: both written, and the kernel then has them. */
static void test_apply_sets(void **state)
{
	struct ksm_knobs k = { 0 };
	char line[KSM_SAY_LEN] = "x";
	struct ksm_state s;
	char *dir = idle_host();

	(void)state;
	apply(dir, 512, 1, false, &k);
	assert_int_equal(MPS(k)->outcome, KSM_SET);
	assert_int_equal(MPS(k)->had, 256);
	assert_int_equal(ZERO(k)->outcome, KSM_SET);
	assert_int_equal(ZERO(k)->had, 0);
	assert_int_equal(wr.mps, 1);
	assert_int_equal(wr.zero, 1);
	assert_file(dir, "max_page_sharing", "512\n");
	assert_file(dir, "use_zero_pages", "1\n");
	read_dir(dir, &s);
	assert_int_equal(ksm_get(&s, KSM_MAX_PAGE_SHARING, -1), 512);
	assert_int_equal(ksm_get(&s, KSM_USE_ZERO_PAGES, -1), 1);
	assert_knob_says(MPS(k), "max_page_sharing 512 (set by ksm-numad; the kernel had 256)", NULL);
	assert_knob_says(ZERO(k), "use_zero_pages 1 (set by ksm-numad; the kernel had 0)", NULL);
	assert_string_equal(ksm_outcome_name(MPS(k)->outcome), "set");

	/* A reload with the same values: nothing written, still ours. */
	apply(dir, 512, 1, false, &k);
	assert_int_equal(wr.mps, 1);
	assert_int_equal(wr.zero, 1);
	assert_int_equal(MPS(k)->outcome, KSM_SET);
	assert_knob_says(MPS(k), "max_page_sharing 512 (set by ksm-numad; the kernel had 256)", NULL);

	/* Another value while still nothing is shared: written again. */
	apply(dir, 1024, 0, false, &k);
	assert_int_equal(wr.mps, 2);
	assert_int_equal(wr.zero, 2);
	assert_file(dir, "max_page_sharing", "1024\n");
	assert_knob_says(MPS(k), "max_page_sharing 1024 (set by ksm-numad; the kernel had 512)", NULL);

	/* keep: the kernel's values stay, nothing is written or said. */
	apply(dir, -1, -1, false, &k);
	assert_int_equal(wr.mps, 2);
	assert_int_equal(wr.zero, 2);
	assert_int_equal(MPS(k)->outcome, KSM_KEEP);
	assert_int_equal(ZERO(k)->outcome, KSM_KEEP);
	ksm_knob_say(MPS(k), line, sizeof(line));
	assert_string_equal(line, "");
	assert_file(dir, "max_page_sharing", "1024\n");
	tt_remove(dir);
}

/* The kernel has the values already: nothing is written. */
static void test_apply_equal(void **state)
{
	struct ksm_knobs k = { 0 };
	char *dir = idle_host();

	(void)state;
	tt_put(dir, KSM_DIR "max_page_sharing", "512\n");
	tt_put(dir, KSM_DIR "use_zero_pages", "1\n");
	apply(dir, 512, 1, false, &k);
	assert_int_equal(wr.mps, 0);
	assert_int_equal(wr.zero, 0);
	assert_int_equal(MPS(k)->outcome, KSM_EQUAL);
	assert_int_equal(ZERO(k)->outcome, KSM_EQUAL);
	assert_knob_says(MPS(k), "max_page_sharing 512 (as configured; the kernel had it already)", NULL);
	assert_knob_says(ZERO(k), "use_zero_pages 1 (as configured", NULL);

	/* Pages shared do not matter when there is nothing to change. */
	tt_put(dir, KSM_DIR "pages_shared", "256\n");
	apply(dir, 512, 1, false, &k);
	assert_int_equal(wr.mps, 0);
	assert_int_equal(MPS(k)->outcome, KSM_EQUAL);
	tt_remove(dir);
}

/* KSM shares pages (guest-2node: pages_shared 256): the kernel would say
 * EBUSY, so max_page_sharing is not even tried; use_zero_pages may be
 * written any time. */
static void test_apply_refused(void **state)
{
	struct ksm_knobs k = { 0 };
	char *dir = tt_copy("guest-2node");

	(void)state;
	apply(dir, 512, 1, false, &k);
	assert_int_equal(MPS(k)->outcome, KSM_REFUSED);
	assert_int_equal(MPS(k)->shared, 256);
	assert_int_equal(MPS(k)->had, 256);
	assert_int_equal(wr.mps, 0);
	assert_file(dir, "max_page_sharing", "256\n");
	assert_knob_says(MPS(k), "max_page_sharing 256 (set_max_page_sharing = 512 refused: "
	                 "KSM shares pages (pages_shared 256)", "set it before VMs start");
	assert_string_equal(ksm_outcome_name(MPS(k)->outcome), "refused");
	assert_int_equal(ZERO(k)->outcome, KSM_SET);
	assert_int_equal(wr.zero, 1);
	assert_file(dir, "use_zero_pages", "1\n");

	/* Set at start, then another value on reload while pages are shared. */
	tt_put(dir, KSM_DIR "max_page_sharing", "512\n");
	apply(dir, 1024, 1, false, &k);
	assert_int_equal(MPS(k)->outcome, KSM_REFUSED);
	assert_int_equal(wr.mps, 0);
	assert_knob_says(MPS(k), "max_page_sharing 512 (set_max_page_sharing = 1024 refused", NULL);
	tt_remove(dir);
}

/* Nothing shared when read, but KSM merged before the write: the kernel's
 * EBUSY is a refusal like the other, with the pages_shared of then. */
static void test_apply_busy(void **state)
{
	struct ksm_knobs k = { 0 };
	char *dir = idle_host();

	(void)state;
	wr.fail = "max_page_sharing";
	wr.err = EBUSY;
	wr.dir = dir;
	wr.merge = "8\n";
	apply(dir, 512, 1, false, &k);
	assert_int_equal(wr.mps, 1);
	assert_int_equal(MPS(k)->outcome, KSM_REFUSED);
	assert_int_equal(MPS(k)->shared, 8);
	assert_knob_says(MPS(k), "max_page_sharing 256 (set_max_page_sharing = 512 refused: "
	                 "KSM shares pages (pages_shared 8)", NULL);
	assert_int_equal(ZERO(k)->outcome, KSM_SET);

	/* Busy with nothing shared to show (stable nodes still being freed). */
	wr.merge = NULL;
	tt_put(dir, KSM_DIR "pages_shared", "0\n");
	apply(dir, 512, 1, false, &k);
	assert_int_equal(MPS(k)->outcome, KSM_REFUSED);
	assert_knob_says(MPS(k), "max_page_sharing 256 (set_max_page_sharing = 512 refused: "
	                 "KSM shares pages (the kernel said busy)", NULL);
	tt_remove(dir);
}

/* A write the kernel (or the sandbox) refuses otherwise: said with the
 * reason and what the daemon needs; the other knob is still set. */
static void test_apply_failed(void **state)
{
	struct ksm_knobs k = { 0 };
	char *dir = idle_host();

	(void)state;
	wr.fail = "use_zero_pages";
	wr.err = EACCES;
	apply(dir, 512, 1, false, &k);
	assert_int_equal(MPS(k)->outcome, KSM_SET);
	assert_int_equal(ZERO(k)->outcome, KSM_FAILED);
	assert_int_equal(ZERO(k)->err, EACCES);
	assert_file(dir, "use_zero_pages", "0\n");
	assert_knob_says(ZERO(k), "use_zero_pages 0 (not set to 1: Permission denied; "
	                 "ksm-numad needs root and a writable KSM directory)", NULL);
	assert_string_equal(ksm_outcome_name(ZERO(k)->outcome), "failed");
	tt_remove(dir);
}

/* Kernels before 4.13 have no max_page_sharing, before 4.11 no
 * use_zero_pages; a kernel without KSM has neither.  Nothing is created. */
static void test_apply_absent(void **state)
{
	struct ksm_knobs k = { 0 };
	char *dir = tt_copy("hostile-oldkernel");

	(void)state;
	apply(dir, 512, 1, false, &k);
	assert_int_equal(wr.mps + wr.zero, 0);
	assert_int_equal(MPS(k)->outcome, KSM_ABSENT);
	assert_false(MPS(k)->no_ksm);
	assert_int_equal(ZERO(k)->outcome, KSM_ABSENT);
	assert_no_file(dir, "max_page_sharing");
	assert_no_file(dir, "use_zero_pages");
	assert_knob_says(MPS(k), "max_page_sharing absent (kernel older than 4.13): "
	                 "set_max_page_sharing = 512 ignored; KSM chains are unbounded", NULL);
	assert_knob_says(ZERO(k), "use_zero_pages absent (kernel older than 4.11): "
	                 "set_use_zero_pages = 1 ignored", NULL);
	assert_string_equal(ksm_outcome_name(MPS(k)->outcome), "absent");
	tt_remove(dir);

	dir = tt_copy("hostile-noksm");
	apply(dir, 512, 0, false, &k);
	assert_int_equal(wr.mps + wr.zero, 0);
	assert_int_equal(MPS(k)->outcome, KSM_ABSENT);
	assert_true(MPS(k)->no_ksm);
	assert_int_equal(ZERO(k)->outcome, KSM_ABSENT);
	assert_knob_says(MPS(k), "max_page_sharing not set: KSM absent (kernel without "
	                 "KSM); set_max_page_sharing = 512 ignored", NULL);
	assert_knob_says(ZERO(k), "use_zero_pages not set: KSM absent", NULL);
	tt_remove(dir);
}

/* A dry run writes nothing and says what it would do, or that the kernel
 * would refuse. */
static void test_apply_dry_run(void **state)
{
	struct ksm_knobs k = { 0 };
	char *dir = idle_host();

	(void)state;
	apply(dir, 512, 1, true, &k);
	assert_int_equal(wr.mps + wr.zero, 0);
	assert_int_equal(MPS(k)->outcome, KSM_WOULD_SET);
	assert_int_equal(ZERO(k)->outcome, KSM_WOULD_SET);
	assert_file(dir, "max_page_sharing", "256\n");
	assert_knob_says(MPS(k), "max_page_sharing 256 (dry run: ksm-numad would set 512)", NULL);
	tt_put(dir, KSM_DIR "pages_shared", "3\n");
	apply(dir, 512, 1, true, &k);
	assert_int_equal(MPS(k)->outcome, KSM_REFUSED);
	assert_int_equal(wr.mps + wr.zero, 0);
	tt_remove(dir);
}

/* Unreadable values: the kernel decides (the write is tried). */
static void test_apply_garbled(void **state)
{
	struct ksm_knobs k = { 0 };
	char *dir = idle_host();

	(void)state;
	tt_put(dir, KSM_DIR "max_page_sharing", "banana\n");
	tt_put(dir, KSM_DIR "pages_shared", "x\n");
	apply(dir, 512, -1, false, &k);
	assert_int_equal(wr.mps, 1);
	assert_int_equal(MPS(k)->outcome, KSM_SET);
	assert_int_equal(MPS(k)->had, -1);
	assert_knob_says(MPS(k), "max_page_sharing 512 (set by ksm-numad)", NULL);
	tt_remove(dir);
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
		cmocka_unit_test_setup(test_apply_sets, reset_writes),
		cmocka_unit_test_setup(test_apply_equal, reset_writes),
		cmocka_unit_test_setup(test_apply_refused, reset_writes),
		cmocka_unit_test_setup(test_apply_busy, reset_writes),
		cmocka_unit_test_setup(test_apply_failed, reset_writes),
		cmocka_unit_test_setup(test_apply_absent, reset_writes),
		cmocka_unit_test_setup(test_apply_dry_run, reset_writes),
		cmocka_unit_test_setup(test_apply_garbled, reset_writes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
