/* test_plan.c - the migration planner on hand-built pagemap windows. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plan.h"

#define PG 4096u
#define STR(x) #x
#define XSTR(x) STR(x)
#define HUGE (512u * PG)

/* A page description: kind, mapcount, the node it is on. */
struct pd {
	uint8_t kind;
	uint32_t mapcount;
	int node;
};

#define MAXP 256

struct win {
	struct pm_page page[MAXP];
	int node[MAXP];
	struct pm_window w;
};

/* Window of N pages from 1 GiB on, a THP taking 2 MiB of address space. */
static void mkwin(struct win *x, const struct pd *pd, int n)
{
	uint64_t addr = 1ull << 30;

	assert_true(n <= MAXP);
	memset(x, 0, sizeof(*x));
	for (int i = 0; i < n; i++) {
		x->page[i].addr = addr;
		x->page[i].kind = pd[i].kind;
		x->page[i].mapcount = pd[i].mapcount;
		x->page[i].pages = pd[i].kind == PM_THP ? 512 : 1;
		x->node[i] = pd[i].node;
		addr += pd[i].kind == PM_THP ? HUGE : PG;
	}
	x->w.n = n;
	x->w.page = x->page;
	x->w.pfns = true;
}

static struct plan_rules rules(int target, uint64_t max_cost)
{
	struct plan_rules r = {
		.move_ksm = true, .chains_bounded = true,
		.ksm_max_mapcount = 64, .max_cost = max_cost,
	};

	idset_clear(&r.target);
	assert_int_equal(idset_add(&r.target, target), 0);
	return r;
}

static void *addr_of(const struct win *x, int i)
{
	return (void *)(uintptr_t)x->page[i].addr;
}

static void mixed(void **state)
{
	static const struct pd pd[] = {
		{ PM_EXCLUSIVE, 1, 1 },         /* 0: moved */
		{ PM_EXCLUSIVE, 1, 0 },         /* 1: already local */
		{ PM_ABSENT, 0, -ENOENT },      /* 2: absent */
		{ PM_THP, 1, 1 },               /* 3: moved whole, 512 pages */
		{ PM_SHARED, 2, 1 },            /* 4: shared, not KSM: left */
		{ PM_KSM, 10, 1 },              /* 5: cheap KSM: MOVE_ALL chunk */
		{ PM_KSM, 2000000, 1 },         /* 6: left behind */
		{ PM_EXCLUSIVE, 1, 1 },         /* 7: moved */
	};
	struct plan_rules r = rules(0, 4096);
	struct plan p;
	struct win x;

	(void)state;
	mkwin(&x, pd, 8);
	plan_init(&p);
	assert_int_equal(plan_build(&p, &x.w, x.node, &r), 0);

	assert_int_equal(p.n, 4);
	assert_int_equal(p.nchunks, 2);
	assert_false(p.chunk[0].move_all);
	assert_int_equal(p.chunk[0].first, 0);
	assert_int_equal(p.chunk[0].n, 3);
	assert_ptr_equal(p.addr[0], addr_of(&x, 0));
	assert_ptr_equal(p.addr[1], addr_of(&x, 3));
	assert_ptr_equal(p.addr[2], addr_of(&x, 7));
	assert_int_equal(p.chunk[0].pages, 514);
	assert_int_equal(p.chunk[0].maps, 0);
	assert_int_equal(p.chunk[0].cost, 514);
	assert_true(p.chunk[1].move_all);
	assert_int_equal(p.chunk[1].first, 3);
	assert_int_equal(p.chunk[1].n, 1);
	assert_ptr_equal(p.addr[3], addr_of(&x, 5));
	assert_int_equal(p.chunk[1].pages, 1);
	assert_int_equal(p.chunk[1].maps, 10);
	assert_int_equal(p.chunk[1].cost, 11);
	for (int i = 0; i < p.n; i++)
		assert_int_equal(p.node[i], 0);

	assert_int_equal(p.tally.move, 514);
	assert_int_equal(p.tally.ksm, 1);
	assert_int_equal(p.tally.ksm_maps, 10);
	assert_int_equal(p.tally.on_target, 1);
	assert_int_equal(p.tally.absent, 1);
	assert_int_equal(p.tally.shared, 1);
	assert_int_equal(p.tally.ksm_kept, 0);
	assert_int_equal(p.tally.ksm_over, 1);
	assert_int_equal(p.tally.ksm_over_maxmap, 2000000);
	plan_free(&p);
}

/* The field report's page: never planned, whatever else allows it. */
static void ksm_two_million(void **state)
{
	static const struct pd pd[] = { { PM_KSM, 2000000, 1 } };
	struct plan_rules r = rules(0, 1u << 30);
	struct plan p;
	struct win x;

	(void)state;
	r.ksm_max_mapcount = 1000000;
	mkwin(&x, pd, 1);
	plan_init(&p);
	assert_int_equal(plan_build(&p, &x.w, x.node, &r), 0);
	assert_int_equal(p.n, 0);
	assert_int_equal(p.nchunks, 0);
	assert_int_equal(p.tally.ksm_over, 1);
	assert_int_equal(p.tally.ksm_over_maxmap, 2000000);
	assert_int_equal(p.tally.ksm, 0);
	plan_free(&p);
}

static void thp_once(void **state)
{
	static const struct pd pd[] = {
		{ PM_THP, 1, 1 }, { PM_THP, 1, 1 }, { PM_EXCLUSIVE, 1, 1 },
	};
	struct plan_rules r = rules(0, 16);     /* smaller than a THP */
	struct plan p;
	struct win x;

	(void)state;
	mkwin(&x, pd, 3);
	plan_init(&p);
	assert_int_equal(plan_build(&p, &x.w, x.node, &r), 0);
	assert_int_equal(p.n, 3);               /* one address per THP */
	assert_int_equal(p.nchunks, 3);         /* never split, never two per chunk */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(p.chunk[i].n, 1);
		assert_int_equal(p.chunk[i].pages, PLAN_THP_PAGES);
		assert_ptr_equal(p.addr[p.chunk[i].first], addr_of(&x, i));
	}
	assert_int_equal(p.chunk[2].pages, 1);
	assert_int_equal(p.tally.move, 2 * PLAN_THP_PAGES + 1);

	/* the entry's own size counts (a larger huge page), 512 if not given */
	x.page[0].pages = 1024;
	x.page[1].pages = 0;
	assert_int_equal(plan_build(&p, &x.w, x.node, &r), 0);
	assert_int_equal(p.chunk[0].pages, 1024);
	assert_int_equal(p.chunk[1].pages, PLAN_THP_PAGES);

	/* a shared huge page stays */
	x.page[0].mapcount = 2;
	assert_int_equal(plan_build(&p, &x.w, x.node, &r), 0);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.tally.shared, 1024);
	assert_ptr_equal(p.addr[0], addr_of(&x, 1));
	plan_free(&p);
}

static void absent_pages(void **state)
{
	static const struct pd pd[] = {
		{ PM_ABSENT, 0, 1 },            /* not present in pagemap */
		{ PM_EXCLUSIVE, 1, -ENOENT },   /* gone when queried */
		{ PM_EXCLUSIVE, 1, -EFAULT },
		{ PM_EXCLUSIVE, 1, -1 },        /* unknown: planned, the kernel answers */
	};
	struct plan_rules r = rules(0, 64);
	struct plan p;
	struct win x;

	(void)state;
	mkwin(&x, pd, 4);
	plan_init(&p);
	assert_int_equal(plan_build(&p, &x.w, x.node, &r), 0);
	assert_int_equal(p.tally.absent, 3);
	assert_int_equal(p.n, 1);
	assert_ptr_equal(p.addr[0], addr_of(&x, 3));

	/* no node at all: every present page is planned */
	assert_int_equal(plan_build(&p, &x.w, NULL, &r), 0);
	assert_int_equal(p.tally.absent, 1);
	assert_int_equal(p.n, 3);
	plan_free(&p);
}

static void local_is_free(void **state)
{
	static const struct pd pd[] = {
		{ PM_EXCLUSIVE, 1, 0 }, { PM_THP, 1, 0 }, { PM_KSM, 2000000, 0 },
		{ PM_KSM, 3, 0 }, { PM_SHARED, 2, 0 },
	};
	struct plan_rules r = rules(0, 4096);
	struct plan p;
	struct win x;

	(void)state;
	mkwin(&x, pd, 5);
	plan_init(&p);
	assert_int_equal(plan_build(&p, &x.w, x.node, &r), 0);
	assert_int_equal(p.n, 0);
	assert_int_equal(p.nchunks, 0);
	assert_int_equal(p.tally.on_target, 1 + PLAN_THP_PAGES + 3);
	assert_int_equal(p.tally.ksm_over, 0);  /* on target: nothing left behind */
	assert_int_equal(p.tally.shared, 0);
	plan_free(&p);
}

/* Planned KSM pages of window X under R: -1 if none, else their chunk count. */
static int ksm_chunks(const struct win *x, const struct plan_rules *r, struct plan *p)
{
	int n = 0;

	assert_int_equal(plan_build(p, &x->w, x->node, r), 0);
	for (int i = 0; i < p->nchunks; i++)
		n += p->chunk[i].move_all;
	return n;
}

static void ksm_gates(void **state)
{
	static const struct pd pd[] = { { PM_KSM, 64, 1 } };
	struct plan_rules r = rules(0, 4096);
	struct plan p;
	struct win x;

	(void)state;
	mkwin(&x, pd, 1);
	plan_init(&p);
	assert_int_equal(ksm_chunks(&x, &r, &p), 1);    /* allowed, bounded, cheap */
	assert_int_equal(p.tally.ksm_maps, 64);

	r.move_ksm = false;
	assert_int_equal(ksm_chunks(&x, &r, &p), 0);
	assert_int_equal(p.tally.ksm_kept, 1);

	r.move_ksm = true;
	r.chains_bounded = false;                       /* kernel < 4.13 */
	assert_int_equal(ksm_chunks(&x, &r, &p), 0);
	assert_int_equal(p.tally.ksm_kept, 1);

	r.chains_bounded = true;
	r.ksm_max_mapcount = 63;                        /* not cheap */
	assert_int_equal(ksm_chunks(&x, &r, &p), 0);
	assert_int_equal(p.tally.ksm_over, 1);
	assert_int_equal(p.tally.ksm_over_maxmap, 64);

	x.page[0].mapcount = 0;                         /* KSM of unknown count */
	assert_int_equal(ksm_chunks(&x, &r, &p), 0);
	assert_int_equal(p.tally.shared, 1);
	plan_free(&p);
}

/* A long mix: MOVE_ALL chunks hold KSM pages only, MOVE chunks none, chunks
 * respect the cost bound unless one entry alone exceeds it, order is kept. */
static int index_of(const struct win *x, const void *addr)
{
	for (int q = 0; q < x->w.n; q++)
		if (x->page[q].addr == (uintptr_t)addr)
			return q;
	return -1;
}

static void move_all_only_ksm(void **state)
{
	static const uint8_t kinds[] = { PM_EXCLUSIVE, PM_KSM, PM_THP, PM_EXCLUSIVE,
	                                 PM_SHARED, PM_KSM, PM_ABSENT };
	struct plan_rules r = rules(0, 40);
	struct pd pd[MAXP];
	struct plan p;
	struct win x;
	int seen = 0, last[2] = { -1, -1 };

	(void)state;
	for (int i = 0; i < MAXP; i++)
		pd[i] = (struct pd){ kinds[i % 7], kinds[i % 7] == PM_KSM ? 1 + i % 13 : 1, 1 };
	mkwin(&x, pd, MAXP);
	plan_init(&p);
	assert_int_equal(plan_build(&p, &x.w, x.node, &r), 0);
	assert_true(p.nchunks > 2);
	for (int c = 0; c < p.nchunks; c++) {
		const struct plan_chunk *ch = &p.chunk[c];

		assert_int_equal(ch->first, seen);
		assert_true(ch->cost <= r.max_cost || ch->n == 1);
		if (c > 0)      /* MOVE chunks first, then MOVE_ALL ones */
			assert_true(ch->move_all >= p.chunk[c - 1].move_all);
		for (int i = ch->first; i < ch->first + ch->n; i++) {
			int q = index_of(&x, p.addr[i]);

			assert_true(q > last[ch->move_all]);    /* address order kept */
			last[ch->move_all] = q;
			assert_int_equal(ch->move_all, x.page[q].kind == PM_KSM);
			assert_int_equal(p.maps[i], ch->move_all ? x.page[q].mapcount : 0);
		}
		seen += ch->n;
	}
	assert_int_equal(seen, p.n);
	/* 256 = 36 x 7 + 4: i % 7 in 0..3 occurs 37 times, in 4..6 36 times */
	assert_int_equal(p.tally.ksm, 37 + 36);
	assert_int_equal(p.tally.move, 37 * PLAN_THP_PAGES + 74);
	plan_free(&p);
}

static void chunk_by_cost(void **state)
{
	struct plan_rules r = rules(0, 16);
	struct pd pd[100];
	struct plan p;
	struct win x;

	(void)state;
	for (int i = 0; i < 100; i++)
		pd[i] = (struct pd){ PM_EXCLUSIVE, 1, 1 };
	mkwin(&x, pd, 100);
	plan_init(&p);
	assert_int_equal(plan_build(&p, &x.w, x.node, &r), 0);
	assert_int_equal(p.nchunks, 7);         /* 6 x 16 + 4 */
	for (int c = 0; c < 6; c++) {
		assert_int_equal(p.chunk[c].first, 16 * c);
		assert_int_equal(p.chunk[c].n, 16);
		assert_int_equal(p.chunk[c].cost, 16);
	}
	assert_int_equal(p.chunk[6].n, 4);
	for (int i = 0; i < 100; i++)
		assert_ptr_equal(p.addr[i], addr_of(&x, i));
	plan_free(&p);
}

static void targets_least_loaded(void **state)
{
	static const struct pd pd[] = {
		{ PM_EXCLUSIVE, 1, 0 }, { PM_EXCLUSIVE, 1, 0 },
		{ PM_EXCLUSIVE, 1, 0 }, { PM_EXCLUSIVE, 1, 0 },
	};
	static const struct pd big[] = {
		{ PM_THP, 1, 0 }, { PM_EXCLUSIVE, 1, 0 }, { PM_EXCLUSIVE, 1, 0 },
	};
	struct plan_rules r = rules(1, 4096);
	struct plan p;
	struct win x;

	(void)state;
	assert_int_equal(idset_add(&r.target, 3), 0);
	mkwin(&x, pd, 4);
	plan_init(&p);
	assert_int_equal(plan_build(&p, &x.w, x.node, &r), 0);
	assert_int_equal(p.node[0], 1);
	assert_int_equal(p.node[1], 3);
	assert_int_equal(p.node[2], 1);
	assert_int_equal(p.node[3], 3);
	/* loads now 2 and 2: the THP goes to 1, what follows to 3 */
	mkwin(&x, big, 3);
	assert_int_equal(plan_build(&p, &x.w, x.node, &r), 0);
	assert_int_equal(p.node[0], 1);
	assert_int_equal(p.node[1], 3);
	assert_int_equal(p.node[2], 3);
	/* a page on either target is local */
	x.node[1] = 3;
	assert_int_equal(plan_build(&p, &x.w, x.node, &r), 0);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.tally.on_target, 1);
	plan_free(&p);
}

static void bad_rules(void **state)
{
	static const struct pd pd[] = { { PM_EXCLUSIVE, 1, 1 } };
	struct plan_rules r = rules(0, 0);
	struct plan p;
	struct win x;

	(void)state;
	mkwin(&x, pd, 1);
	plan_init(&p);
	assert_int_equal(plan_build(&p, &x.w, x.node, &r), -EINVAL);
	r.max_cost = 16;
	idset_clear(&r.target);
	assert_int_equal(plan_build(&p, &x.w, x.node, &r), -EINVAL);
	for (int i = 0; i <= PLAN_MAX_TARGETS; i++)
		assert_int_equal(idset_add(&r.target, i), 0);
	assert_int_equal(plan_build(&p, &x.w, x.node, &r), -E2BIG);
	/* an empty window is fine */
	x.w.n = 0;
	r = rules(0, 16);
	assert_int_equal(plan_build(&p, &x.w, x.node, &r), 0);
	assert_int_equal(p.nchunks, 0);
	plan_free(&p);
}

static void tally_add(void **state)
{
	struct plan_tally a = { 1, 2, 3, 4, 5, 6, 7, 8, 9 }, b = a;

	(void)state;
	plan_tally_add(&a, &b);
	assert_int_equal(a.move, 2);
	assert_int_equal(a.ksm_over_maxmap, 9);   /* the larger, not the sum */
	assert_int_equal(a.ksm_kept, 14);
}

/* Every path that counts a page left where it is, through both entry
 * points: plan_could_move (no tally) and plan_build (the plan's tally, and
 * the pass for KSM chunks, which counts nothing). */
static const struct pd every_path[] = {
	{ PM_ABSENT, 0, -ENOENT },
	{ PM_EXCLUSIVE, 1, 0 },                 /* on target */
	{ PM_SHARED, 2, 1 },
	{ PM_THP, 2, 1 },                       /* a shared THP */
	{ PM_KSM, 0, 1 },                       /* KSM of unknown count */
	{ PM_KSM, 500, 1 },                     /* over the limit */
	{ PM_KSM, 8, 1 },                       /* kept when chains are unbounded */
	{ PM_EXCLUSIVE, 1, 1 },
};

/* Runs the planner over EVERY_PATH; the number of pages it could move. */
static int plan_every_path(bool chains_bounded)
{
	struct plan_rules r = rules(0, 16);
	struct plan p;
	struct win x;
	int n = (int)(sizeof(every_path) / sizeof(every_path[0])), could = 0;

	r.chains_bounded = chains_bounded;
	mkwin(&x, every_path, n);
	for (int i = 0; i < n; i++)
		could += plan_could_move(&x.page[i], &r);
	plan_init(&p);
	if (plan_build(&p, &x.w, x.node, &r) < 0)
		could = -1;
	plan_free(&p);
	return could;
}

/* Exit statuses of the child under valgrind (others are valgrind's own). */
#define VG_ERRORS 99            /* memcheck found errors */
#define VG_WRONG 98             /* the child's figures are wrong */
#define VG_NOEXEC 127           /* no valgrind */

/* The child's side of tally_initialised (no cmocka in there). */
static int tally_child(void)
{
	return plan_every_path(true) == 3 && plan_every_path(false) == 2 ? 0 : VG_WRONG;
}

/* No count is ever added into a tally nobody initialised: the planner runs
 * in a child under valgrind, which reports any jump on an uninitialised
 * value (decide() once counted into a local tally left uninitialised when
 * the caller passed none).  Skipped without valgrind, or when valgrind
 * cannot run this binary (3.19 cannot read clang 14's DWARF 5). */
static void tally_initialised(void **state)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	struct plan_rules r = rules(0, 16);
	struct plan p;
	struct win x;
	int status;
	pid_t pid;

	(void)state;
	/* in this process first: the figures */
	mkwin(&x, every_path, (int)(sizeof(every_path) / sizeof(every_path[0])));
	plan_init(&p);
	assert_int_equal(plan_build(&p, &x.w, x.node, &r), 0);
	assert_int_equal(p.tally.absent, 1);
	assert_int_equal(p.tally.on_target, 1);
	assert_int_equal(p.tally.shared, 512 + 1 + 1);
	assert_int_equal(p.tally.ksm_over, 1);
	assert_int_equal(p.tally.ksm_over_maxmap, 500);
	assert_int_equal(p.tally.ksm, 1);
	assert_int_equal(p.tally.move, 1);
	plan_free(&p);

	assert_true(n > 0);
	self[n] = '\0';
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execlp("valgrind", "valgrind", "-q", "--error-exitcode=" XSTR(VG_ERRORS),
		       self, "--tally-child", (char *)NULL);
		_exit(VG_NOEXEC);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	status = WEXITSTATUS(status);
	print_message("valgrind on the planner's tallies: exit status %d\n", status);
	if (status != 0 && status != VG_ERRORS && status != VG_WRONG)
		skip();                         /* no valgrind, or valgrind failed */
	assert_int_equal(status, 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mixed),
		cmocka_unit_test(ksm_two_million),
		cmocka_unit_test(thp_once),
		cmocka_unit_test(absent_pages),
		cmocka_unit_test(local_is_free),
		cmocka_unit_test(ksm_gates),
		cmocka_unit_test(move_all_only_ksm),
		cmocka_unit_test(chunk_by_cost),
		cmocka_unit_test(targets_least_loaded),
		cmocka_unit_test(bad_rules),
		cmocka_unit_test(tally_add),
		cmocka_unit_test(tally_initialised),
	};

	if (argc == 2 && strcmp(argv[1], "--tally-child") == 0)
		return tally_child();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
