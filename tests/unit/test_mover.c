/* test_mover.c - the chunk-size controller, jobs on the dry-run backend over
 * synthetic processes (virtual time), and one live move_pages call on this
 * process's own memory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ksm.h"
#include "mover.h"
#include "proc.h"
#include "root.h"
#include "tmptree.h"
#include "topo.h"

#define PG 4096u
#define HUGE (512u * PG)
#define US 1000ull
#define MS 1000000ull

/* ---- the controller ---- */

/* Chunk sizes over CALLS calls costing FIXED + cost * PER ns each. */
static unsigned converge(const struct mv_budget *b, unsigned cur, uint64_t fixed,
                         uint64_t per, int calls, uint64_t *worst_late)
{
	*worst_late = 0;
	for (int i = 0; i < calls; i++) {
		uint64_t ns = fixed + cur * per;
		unsigned next = mv_budget_next(b, cur, cur, ns);

		assert_true(next <= 2 * cur || next == b->min);
		assert_true(next >= b->min && next <= b->max);
		if (i >= 3 && ns > *worst_late)
			*worst_late = ns;
		cur = next;
	}
	return cur;
}

static void budget_under(void **state)
{
	struct mv_budget b = mv_budget_ms(5);
	uint64_t worst, ns;
	unsigned c;

	(void)state;
	/* 1 us a page, 20 us a call: 3/4 of 5 ms is ~3730 pages */
	c = converge(&b, MV_CHUNK_MIN, 20 * US, 1 * US, 30, &worst);
	ns = 20 * US + c * US;
	assert_true(ns <= 5 * MS);
	assert_true(ns >= 5 * MS / 2);
	assert_true(worst <= 5 * MS);
	/* from the top bound down, the same */
	c = converge(&b, MV_CHUNK_MAX, 20 * US, 1 * US, 30, &worst);
	assert_true(20 * US + c * US <= 5 * MS);
	/* fast pages: the upper bound */
	assert_int_equal(converge(&b, MV_CHUNK_MIN, 0, 100, 30, &worst), MV_CHUNK_MAX);
}

static void budget_over(void **state)
{
	struct mv_budget b = mv_budget_ms(5);
	uint64_t worst;
	unsigned c;

	(void)state;
	/* 100 us a page: ~37 pages fit; from 4096 one call over, then within */
	assert_true(mv_budget_next(&b, 4096, 4096, 4096 * 100 * US) <= 50);
	c = converge(&b, MV_CHUNK_MAX, 0, 100 * US, 20, &worst);
	assert_true(c >= 25 && c <= 50);
	assert_true(worst <= 5 * MS);
	/* 1 ms a page: nothing fits; the lower bound */
	assert_int_equal(converge(&b, 512, 0, 1 * MS, 10, &worst), MV_CHUNK_MIN);
}

static void budget_edges(void **state)
{
	struct mv_budget b = mv_budget_ms(5);

	(void)state;
	assert_int_equal(mv_budget_next(&b, 100, 100, 3 * MS), 100);   /* in band */
	assert_int_equal(mv_budget_next(&b, 100, 0, 0), 100);          /* no cost */
	assert_int_equal(mv_budget_next(&b, 100, 100, 0), 200);        /* unmeasurable */
	assert_int_equal(mv_budget_next(&b, 5000, 10, 1), MV_CHUNK_MAX);
	assert_int_equal(mv_budget_next(&b, 1, 1, 10 * MS), MV_CHUNK_MIN);
	/* a short chunk (end of a window) measured fast does not shrink it */
	assert_int_equal(mv_budget_next(&b, 1000, 10, 2 * MS), 1000);
	/* a THP-sized chunk over budget at cur 16 stays at the floor */
	assert_int_equal(mv_budget_next(&b, 16, 512, 20 * MS), MV_CHUNK_MIN);
}

/* The engine's settings are the configuration's (MiB to bytes, ms to a
 * budget), KSM chains bounded as the kernel says; mv_opts_live's are the
 * table's (config.c, cfg_defaults). */
static void opts_from_cfg(void **state)
{
	struct mv_budget budget = mv_budget_ms(9);
	struct ksm_state ks = { .present = true };
	struct mv_opts o, p;
	struct cfg c;

	(void)state;
	cfg_defaults(&c);
	mv_opts_live(&o, NULL);
	memset(&p, 0, sizeof(p));
	mv_opts_configure(&p, &c, NULL);
	assert_int_equal(o.reserve_bytes, p.reserve_bytes);
	assert_memory_equal(&o.budget, &p.budget, sizeof(p.budget));
	assert_int_equal(o.move_ksm, p.move_ksm);
	assert_int_equal(o.ksm_max_mapcount, p.ksm_max_mapcount);
	assert_int_equal(o.chains_bounded, p.chains_bounded);
	c.reserve_mb = 3;
	c.call_budget_ms = 9;
	c.move_ksm_pages = !c.move_ksm_pages;
	c.ksm_max_mapcount = 7;
	mv_opts_configure(&o, &c, &ks);
	assert_int_equal(o.reserve_bytes, 3 << 20);
	assert_memory_equal(&o.budget, &budget, sizeof(budget));
	assert_int_equal(o.move_ksm, c.move_ksm_pages);
	assert_int_equal(o.ksm_max_mapcount, 7);
	assert_false(o.chains_bounded);         /* KSM without max_page_sharing */
	ks.has[KSM_MAX_PAGE_SHARING] = true;
	mv_opts_configure(&o, &c, &ks);
	assert_true(o.chains_bounded);
	assert_true(o.backend.call == mv_live.call);    /* the rest stays */
	assert_true(o.clock == mv_clock_mono);
}

/* ---- a synthetic process ---- */

struct proc {
	int n;
	struct pm_page *page;           /* ascending addresses */
	long reads;                     /* windows handed out */
	long gone_at;                   /* read number that finds it gone, -1 never */
	bool stuck;                     /* returns the same window forever */
};

static int proc_window(void *data, pid_t pid, uint64_t from, int max, struct pm_window *w)
{
	struct proc *p = data;
	int i = 0, k = 0;

	(void)pid;
	if (p->gone_at >= 0 && p->reads >= p->gone_at)
		return -ESRCH;
	p->reads++;
	while (i < p->n && p->page[i].addr < from)
		i++;
	free(w->page);
	w->page = calloc((size_t)max, sizeof(*w->page));
	assert_non_null(w->page);
	for (; i < p->n && k < max; i++)
		w->page[k++] = p->page[i];
	w->n = k;
	w->next = i < p->n ? p->page[i].addr : 0;
	if (p->stuck)
		w->next = from ? from : 1;
	w->pfns = true;
	return 0;
}

/* N pages from 1 GiB on, kind KIND (a THP spans 2 MiB). */
static void proc_fill(struct proc *p, int n, uint8_t kind, uint32_t mapcount)
{
	uint64_t addr = 1ull << 30;

	memset(p, 0, sizeof(*p));
	p->gone_at = -1;
	p->n = n;
	p->page = calloc((size_t)n, sizeof(*p->page));
	assert_non_null(p->page);
	for (int i = 0; i < n; i++) {
		p->page[i] = (struct pm_page){ .addr = addr, .mapcount = mapcount,
					       .pages = kind == PM_THP ? 512 : 1, .kind = kind };
		addr += kind == PM_THP ? HUGE : PG;
	}
}

struct rig {
	struct proc proc;
	struct mv_dry dry;
	struct mv_opts o;
	struct mv_job job;
	struct idset target;
};

/* Pages on node 1, moving to node 0; 1 us a page, 10 us a mapping, 20 us a call. */
static void rig_init(struct rig *g)
{
	mv_dry_init(&g->dry);
	g->dry.query_node = 1;
	g->dry.call_ns = 20 * US;
	g->dry.page_ns = 1 * US;
	g->dry.map_ns = 10 * US;
	memset(&g->o, 0, sizeof(g->o));
	g->o.backend = mv_dry_backend(&g->dry);
	g->o.window = proc_window;
	g->o.window_data = &g->proc;
	g->o.clock = mv_dry_clock;
	g->o.clock_data = &g->dry;
	g->o.budget = mv_budget_ms(5);
	g->o.move_ksm = true;
	g->o.chains_bounded = true;
	g->o.ksm_max_mapcount = 64;
	g->o.page_size = PG;
	idset_clear(&g->target);
	idset_add(&g->target, 0);
}

static void rig_start(struct rig *g)
{
	assert_int_equal(mv_job_init(&g->job, 4242, &g->target, &g->o), 0);
}

static void rig_free(struct rig *g)
{
	mv_job_free(&g->job);
	mv_dry_free(&g->dry);
	free(g->proc.page);
}

/* Steps until the job ends (bounded); returns the last result. */
static int run(struct rig *g, int *steps)
{
	struct mv_step s;
	int r, n = 0;

	do {
		r = mv_job_step(&g->job, &s);
		assert_true(++n < 100000);
		/* in virtual time only: a live call lasts as long as the scheduler lets it */
		if (s.call && g->o.clock == mv_dry_clock)
			assert_true(s.ns <= 5 * MS || s.cost > g->job.o->budget.max);
	} while (r == 1);
	if (steps)
		*steps = n;
	return r;
}

static long move_calls(const struct mv_dry *d, int flags)
{
	long n = 0;

	for (int i = 0; i < d->nrec; i++)
		n += !d->rec[i].query && d->rec[i].flags == flags;
	return n;
}

static void job_moves_all(void **state)
{
	struct rig g;
	uint64_t pages = 0;
	int first = -1;

	(void)state;
	rig_init(&g);
	proc_fill(&g.proc, 20000, PM_EXCLUSIVE, 1);
	rig_start(&g);
	assert_int_equal(run(&g, NULL), 0);
	assert_int_equal(g.job.state, MV_DONE);
	assert_int_equal(g.job.t.moved, 20000);
	assert_int_equal(g.job.t.bytes, 20000ull * PG);
	assert_int_equal(g.job.t.plan.move, 20000);
	assert_int_equal(move_calls(&g.dry, MPOL_MF_MOVE_ALL), 0);
	for (int i = 0; i < g.dry.nrec; i++) {
		const struct mv_dry_call *c = &g.dry.rec[i];

		assert_int_equal(c->pid, 4242);
		if (c->query)
			continue;
		assert_int_equal(c->flags, MPOL_MF_MOVE);
		assert_int_equal(c->node, 0);
		if (first < 0)
			first = (int)c->n;
		pages += c->pages;
	}
	assert_int_equal(pages, 20000);
	assert_int_equal(first, MV_CHUNK_MIN);  /* starts small */
	assert_int_equal(g.job.t.calls, move_calls(&g.dry, MPOL_MF_MOVE));
	assert_true(g.job.t.worst_ns <= 5 * MS);
	assert_true(g.job.chunk > 1000);        /* grew toward the budget */
	/* ended: the same answer again, no more calls */
	{
		struct mv_step s;
		long calls = g.dry.ncalls;

		assert_int_equal(mv_job_step(&g.job, &s), 0);
		assert_int_equal(g.dry.ncalls, calls);
		assert_false(s.call);
	}
	rig_free(&g);
}

/* Status by address: page i gets STATUSES[i % 8]; queries say node 1. */
static const int statuses[8] = { 0, -EACCES, -EBUSY, -EAGAIN, -ENOMEM, -ENOENT,
                                 -EFAULT, -EINVAL };

static int by_addr(void *data, uint64_t addr, int target)
{
	int i = (int)(((addr - (1ull << 30)) / PG) % 8);

	(void)data;
	if (target < 0)
		return 1;
	return statuses[i] == 0 ? target : statuses[i];
}

static void job_statuses(void **state)
{
	struct rig g;

	(void)state;
	rig_init(&g);
	g.dry.answer = by_addr;
	proc_fill(&g.proc, 800, PM_EXCLUSIVE, 1);
	rig_start(&g);
	assert_int_equal(run(&g, NULL), 0);
	assert_int_equal(g.job.t.moved, 100);
	assert_int_equal(g.job.t.refused, 100);
	assert_int_equal(g.job.t.busy, 200);
	assert_int_equal(g.job.t.nomem, 100);
	assert_int_equal(g.job.t.gone, 200);
	assert_int_equal(g.job.t.failed, 100);
	assert_int_equal(g.job.t.bytes, 100ull * PG);
	rig_free(&g);
}

/* A VM-like process: THPs, exclusive pages, cheap KSM pages, one huge chain,
 * shared pages, holes, some pages already local. */
static void vm_like(struct proc *p)
{
	uint64_t addr = 1ull << 30;

	proc_fill(p, 3000, PM_EXCLUSIVE, 1);
	for (int i = 0; i < p->n; i++) {
		struct pm_page *pg = &p->page[i];

		pg->addr = addr;
		if (i % 100 == 0) {
			pg->kind = PM_THP;
			pg->pages = 512;
		}
		else if (i % 10 == 1)
			*pg = (struct pm_page){ .addr = addr, .mapcount = 8, .pages = 1,
						.kind = PM_KSM };
		else if (i % 10 == 2)
			pg->kind = PM_SHARED;
		else if (i % 10 == 3)
			pg->kind = PM_ABSENT;
		if (i == 1501)
			*pg = (struct pm_page){ .addr = addr, .mapcount = 262144,
						.pages = 1, .kind = PM_KSM };
		addr += pg->kind == PM_THP ? HUGE : PG;
	}
}

/* Pages the job asked the kernel to locate. */
static unsigned long queried(const struct mv_dry *d)
{
	unsigned long n = 0;

	for (int i = 0; i < d->nrec; i++)
		if (d->rec[i].query)
			n += d->rec[i].n;
	return n;
}

static void job_ksm(void **state)
{
	struct rig g;
	unsigned long widest = 0;

	(void)state;
	rig_init(&g);
	vm_like(&g.proc);
	rig_start(&g);
	assert_int_equal(run(&g, NULL), 0);
	/* 30 THPs, 299 + 1 KSM, 300 shared, 300 absent, 2070 exclusive */
	assert_int_equal(g.job.t.plan.ksm_over, 1);
	assert_int_equal(g.job.t.plan.ksm_over_maxmap, 262144);
	assert_int_equal(g.job.t.plan.ksm, 299);
	assert_int_equal(g.job.t.plan.ksm_maps, 299 * 8);
	assert_int_equal(g.job.t.plan.shared, 300);
	assert_int_equal(g.job.t.plan.absent, 300);
	assert_int_equal(g.job.t.plan.move, 30 * 512 + 3000 - 30 - 900);
	assert_int_equal(g.job.t.ksm_moved, 299);
	assert_int_equal(g.job.t.moved, 30 * 512 + 3000 - 30 - 900 + 299);
	assert_true(move_calls(&g.dry, MPOL_MF_MOVE_ALL) > 0);
	for (int i = 0; i < g.dry.nrec; i++) {
		if (g.dry.rec[i].flags != MPOL_MF_MOVE_ALL)
			continue;
		assert_int_equal(g.dry.rec[i].maps, 8 * g.dry.rec[i].n);
		widest = widest > g.dry.rec[i].n ? widest : g.dry.rec[i].n;
	}
	assert_true(widest > 1);        /* KSM chunks grow at their own rate */
	assert_true(g.job.ksm_chunk < g.job.chunk);
	/* Only pages that could move are located: not the absent, shared or
	 * heavily shared KSM ones (30 THPs + 2070 exclusive + 299 KSM). */
	assert_int_equal(queried(&g.dry), 30 + 2070 + 299);
	rig_free(&g);

	/* kernel without max_page_sharing: not one MOVE_ALL call */
	rig_init(&g);
	vm_like(&g.proc);
	g.o.chains_bounded = false;
	rig_start(&g);
	assert_int_equal(run(&g, NULL), 0);
	assert_int_equal(move_calls(&g.dry, MPOL_MF_MOVE_ALL), 0);
	assert_int_equal(g.job.t.plan.ksm_kept, 299);
	assert_int_equal(g.job.t.ksm_moved, 0);
	rig_free(&g);
}

/* A backend refusing MOVE_ALL as a process without CAP_SYS_NICE sees it. */
static int no_nice(void *ctx, const struct mv_call *c)
{
	struct mv_backend inner = mv_dry_backend(ctx);

	if (c->nodes && c->flags == MPOL_MF_MOVE_ALL)
		return -EPERM;
	return inner.call(inner.ctx, c);
}

static void job_move_all_refused(void **state)
{
	struct rig g;

	(void)state;
	rig_init(&g);
	g.o.backend = (struct mv_backend){ no_nice, &g.dry };
	vm_like(&g.proc);
	rig_start(&g);
	assert_int_equal(run(&g, NULL), 0);     /* goes on without KSM pages */
	assert_true(g.job.no_ksm);
	assert_int_equal(g.job.t.ksm_moved, 0);
	assert_int_equal(g.job.t.moved, 30 * 512 + 3000 - 30 - 900);
	rig_free(&g);
}

static void job_gone(void **state)
{
	struct rig g;
	struct mv_step s;

	(void)state;
	/* gone at a move call */
	rig_init(&g);
	proc_fill(&g.proc, 20000, PM_EXCLUSIVE, 1);
	g.dry.gone_after = 7;
	rig_start(&g);
	assert_int_equal(run(&g, NULL), -ESRCH);
	assert_int_equal(g.job.state, MV_GONE);
	assert_true(g.job.t.moved > 0 && g.job.t.moved < 20000);
	assert_int_equal(mv_job_step(&g.job, &s), -ESRCH);
	assert_string_equal(mv_state_name(g.job.state), "process gone");
	rig_free(&g);

	/* gone when reading its pagemap */
	rig_init(&g);
	proc_fill(&g.proc, 20000, PM_EXCLUSIVE, 1);
	g.proc.gone_at = 3;
	rig_start(&g);
	assert_int_equal(run(&g, NULL), -ESRCH);
	assert_int_equal(g.job.state, MV_GONE);
	assert_int_equal(g.proc.reads, 3);
	rig_free(&g);
}

/* A process that is exiting: its move calls fail with -EINVAL (no mm). */
static struct mv_backend exiting_inner;
static int exiting_moves;

static int exiting_call(void *ctx, const struct mv_call *c)
{
	if (c->nodes && ++exiting_moves > 3)
		return -EINVAL;
	return exiting_inner.call(ctx, c);
}

static int says_gone(void *data, pid_t pid)
{
	(void)data;
	(void)pid;
	return -ESRCH;
}

static int says_alive(void *data, pid_t pid)
{
	(void)data;
	(void)pid;
	return 0;
}

static void job_exiting(void **state)
{
	struct rig g;

	(void)state;
	for (int alive = 0; alive < 2; alive++) {
		rig_init(&g);
		proc_fill(&g.proc, 20000, PM_EXCLUSIVE, 1);
		exiting_inner = g.o.backend;
		exiting_moves = 0;
		g.o.backend = (struct mv_backend){ exiting_call, g.o.backend.ctx };
		g.o.alive = alive ? says_alive : says_gone;
		rig_start(&g);
		/* Gone: the job ends as "process gone", not "failed". */
		assert_int_equal(run(&g, NULL), alive ? -EINVAL : -ESRCH);
		assert_int_equal(g.job.state, alive ? MV_FAILED : MV_GONE);
		if (alive)
			assert_true(g.job.t.failed > 0);
		else
			assert_int_equal(g.job.t.failed, 0);
		rig_free(&g);
	}
}

/* mv_alive_proc: a zombie, or a task whose memory map is gone (killed,
 * exiting, no resident page: field 24 of its stat) counts as gone. */
static void alive_proc(void **state)
{
	static const char *const stat[] = {
		"77 (qemu) R 1 77 77 0 -1 0 0 0 0 0 5 5 0 0 20 0 3 0 100 1000 250 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
		"77 (qemu) R 1 77 77 0 -1 0 0 0 0 0 5 5 0 0 20 0 3 0 100 0 0 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
		"77 (qemu) Z 1 77 77 0 -1 0 0 0 0 0 5 5 0 0 20 0 3 0 100 0 0 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
	};
	char *dir = tt_copy(NULL);
	struct rt_root *r;

	(void)state;
	assert_int_equal(rt_open(dir, &r), 0);
	assert_int_equal(mv_alive_proc(r, 77), -ESRCH);        /* no such PID */
	for (int i = 0; i < 3; i++) {
		tt_put(dir, "proc/77/stat", stat[i]);
		assert_int_equal(mv_alive_proc(r, 77), i == 0 ? 0 : -ESRCH);
	}
	rt_close(r);
	tt_remove(dir);
}

/* The process is killed between two windows: its pagemap reads empty
 * (-EIO here, a source that does not advance).  Gone, not failed. */
static int exiting_reads;

static int exiting_window(void *data, pid_t pid, uint64_t from, int max,
                          struct pm_window *w)
{
	if (++exiting_reads > 1)
		return -EIO;
	return proc_window(data, pid, from, max, w);
}

static void job_exiting_between_windows(void **state)
{
	struct rig g;

	(void)state;
	for (int alive = 0; alive < 2; alive++) {
		rig_init(&g);
		proc_fill(&g.proc, 200000, PM_EXCLUSIVE, 1);
		exiting_reads = 0;
		g.o.window = exiting_window;
		g.o.alive = alive ? says_alive : says_gone;
		rig_start(&g);
		assert_int_equal(run(&g, NULL), alive ? -EIO : -ESRCH);
		assert_int_equal(g.job.state, alive ? MV_FAILED : MV_GONE);
		rig_free(&g);
	}
}

/* Free memory of node 0: 512 MiB reserve + 100 pages, less what moved. */
static int shrinking_free(void *data, int node, uint64_t *bytes)
{
	const struct mv_job *j = data;

	assert_int_equal(node, 0);
	*bytes = (512ull << 20) + 100 * PG - j->t.bytes;
	return 0;
}

static void job_reserve(void **state)
{
	struct rig g;

	(void)state;
	rig_init(&g);
	proc_fill(&g.proc, 20000, PM_EXCLUSIVE, 1);
	g.o.free = shrinking_free;
	g.o.free_data = &g.job;
	g.o.reserve_bytes = 512ull << 20;
	rig_start(&g);
	assert_int_equal(run(&g, NULL), -ENOSPC);
	assert_int_equal(g.job.state, MV_RESERVE);
	assert_int_equal(g.job.stop_node, 0);
	assert_true(g.job.t.moved > 0 && g.job.t.moved <= 100);
	rig_free(&g);
}

/* ---- free memory from the root context ---- */

#define NODE_MEMINFO "sys/devices/system/node/node%d/meminfo"

/* Writes node ID's meminfo in tree DIR: FREE_MIB MiB free of 16 GiB. */
static void put_free(const char *dir, int id, unsigned free_mib)
{
	char rel[128], text[256];

	snprintf(rel, sizeof(rel), NODE_MEMINFO, id);
	snprintf(text, sizeof(text), "Node %d MemTotal:       16777216 kB\n"
	         "Node %d MemFree:        %8u kB\n"
	         "Node %d MemUsed:               0 kB\n", id, id, free_mib * 1024u, id);
	tt_put(dir, rel, text);
}

/* The daemon's options (mv_opts_live) on the tree R, with the dry backend,
 * the synthetic process and virtual time of the rig: pages on node FROM. */
static void rig_on_tree(struct rig *g, const struct rt_root *r, int from, int to)
{
	rig_init(g);
	mv_opts_live(&g->o, r);
	g->dry.query_node = from;
	g->o.backend = mv_dry_backend(&g->dry);
	g->o.window = proc_window;
	g->o.window_data = &g->proc;
	g->o.clock = mv_dry_clock;
	g->o.clock_data = &g->dry;
	g->o.alive = NULL;
	g->o.page_size = PG;
	idset_clear(&g->target);
	idset_add(&g->target, to);
}

/* After 1,000 pages moved, the tree says the target has 100 MiB left. */
struct draining {
	const char *dir;
	int node;
	long moved;
};

static int draining_answer(void *data, uint64_t addr, int target)
{
	struct draining *d = data;

	(void)addr;
	if (target < 0)
		return 1 - d->node;
	if (++d->moved == 1000)
		put_free(d->dir, d->node, 100);
	return target;
}

/* The engine's reserve check reads free memory where the rest of the daemon
 * does: the root context's node meminfo (a --root tree drives it too), not
 * libnuma's view of the running host.  The tree says the target node has
 * 100 MiB free, under the 512 MiB reserve: the move stops before its first
 * call; with 8 GiB free it goes through; and a node whose free memory falls
 * mid-move stops it there (read at every call, not once). */
static void job_reserve_from_tree(void **state)
{
	char *dir = tt_copy("guest-2node");
	struct draining drain = { .dir = dir };
	struct rt_root *r;
	struct rig g;

	(void)state;
	assert_int_equal(rt_open(dir, &r), 0);
	for (int to = 0; to < 2; to++) {
		put_free(dir, to, 100);
		put_free(dir, 1 - to, 8192);
		rig_on_tree(&g, r, 1 - to, to);
		assert_int_equal(g.o.reserve_bytes, 512ull << 20);
		proc_fill(&g.proc, 20000, PM_EXCLUSIVE, 1);
		rig_start(&g);
		assert_int_equal(run(&g, NULL), -ENOSPC);
		assert_int_equal(g.job.state, MV_RESERVE);
		assert_int_equal(g.job.stop_node, to);
		assert_int_equal(g.job.t.calls, 0);
		rig_free(&g);

		put_free(dir, to, 8192);
		rig_on_tree(&g, r, 1 - to, to);
		proc_fill(&g.proc, 20000, PM_EXCLUSIVE, 1);
		rig_start(&g);
		assert_int_equal(run(&g, NULL), 0);
		assert_int_equal(g.job.t.moved, 20000);
		rig_free(&g);

		drain.node = to;
		drain.moved = 0;
		rig_on_tree(&g, r, 1 - to, to);
		g.dry.answer = draining_answer;
		g.dry.answer_data = &drain;
		proc_fill(&g.proc, 20000, PM_EXCLUSIVE, 1);
		rig_start(&g);
		assert_int_equal(run(&g, NULL), -ENOSPC);
		assert_int_equal(g.job.stop_node, to);
		assert_true(g.job.t.moved >= 1000 && g.job.t.moved < 20000);
		rig_free(&g);
	}
	rt_close(r);
	tt_remove(dir);
}

/* The caller's MB-per-interval budget: stop stepping, resume later. */
static void job_deferred(void **state)
{
	struct rig g;
	struct mv_step s;
	uint64_t spent = 0;
	int r, intervals = 0;

	(void)state;
	rig_init(&g);
	g.dry.page_ns = 20 * US;                /* chunks of ~190 pages, < 1 MiB */
	proc_fill(&g.proc, 20000, PM_EXCLUSIVE, 1);
	rig_start(&g);
	do {
		spent = 0;
		intervals++;
		do {
			r = mv_job_step(&g.job, &s);
			spent += s.bytes;
		} while (r == 1 && spent < (16ull << 20));
		assert_true(spent < (17ull << 20));
	} while (r == 1 && intervals < 100);
	assert_int_equal(r, 0);
	assert_int_equal(intervals, 5);         /* 80,000 KiB at 16 MiB an interval */
	assert_int_equal(g.job.t.moved, 20000);
	rig_free(&g);
}

/* All local: no move call; windows are scanned in bounded steps. */
static void job_all_local(void **state)
{
	struct rig g;
	int steps;

	(void)state;
	rig_init(&g);
	g.dry.query_node = 0;
	proc_fill(&g.proc, 100000, PM_EXCLUSIVE, 1);
	rig_start(&g);
	assert_int_equal(run(&g, &steps), 0);
	assert_int_equal(g.job.t.calls, 0);
	assert_int_equal(g.job.t.plan.on_target, 100000);
	assert_true(steps > 1 && steps < 10);
	rig_free(&g);
}

/* A pagemap source whose every read takes READ_NS of the rig's virtual
 * time, and which checks that each read starts where the last one ended. */
struct slow {
	struct rig *g;
	uint64_t read_ns;
	uint64_t expect_from;           /* the previous window's next */
	long reads;
	bool skipped;                   /* a read did not resume at expect_from */
};

static int slow_window(void *data, pid_t pid, uint64_t from, int max, struct pm_window *w)
{
	struct slow *sl = data;
	int r = proc_window(&sl->g->proc, pid, from, max, w);

	sl->reads++;
	sl->skipped |= from != sl->expect_from;
	sl->expect_from = w->next;
	sl->g->dry.now_ns += sl->read_ns;
	return r;
}

/* Steps G's job to its end; checks every step against the 5 ms budget:
 * a step's reading stops once the budget is used up (it may overrun by
 * the one read that used it up), and a step that used it up makes no move
 * call.  Returns the number of steps. */
static int run_slow(struct rig *g, struct slow *sl)
{
	struct mv_step s;
	int r, n = 0;

	do {
		uint64_t t0 = g->dry.now_ns;
		long reads = sl->reads;
		uint64_t took;

		r = mv_job_step(&g->job, &s);
		took = g->dry.now_ns - t0;
		assert_true(++n < 100000);
		if (reads != sl->reads)
			assert_true(took - s.ns <= 5 * MS + sl->read_ns + 100 * US);
		if (took - s.ns > 5 * MS)
			assert_false(s.call);
	} while (r == 1);
	assert_int_equal(r, 0);
	assert_false(sl->skipped);
	return n;
}

/* Slow pagemap reads (a huge VM, a loaded host): a step's scan is bounded
 * by the budget in the job's clock, not only by a count of windows, and
 * the next step resumes at the next window, none read twice or skipped. */
static void job_slow_scan(void **state)
{
	struct rig g;
	struct slow sl = { .g = &g, .read_ns = 2 * MS };
	int steps;

	(void)state;
	/* all local, 2 ms a read: 3 windows a step (6 ms), not 64 (128 ms) */
	rig_init(&g);
	g.dry.query_node = 0;
	proc_fill(&g.proc, 100000, PM_EXCLUSIVE, 1);
	g.o.window = slow_window;
	g.o.window_data = &sl;
	rig_start(&g);
	steps = run_slow(&g, &sl);
	assert_int_equal(sl.reads, (100000 + 511) / 512);
	assert_int_equal(steps, (sl.reads + 2) / 3);
	assert_int_equal(g.job.t.plan.on_target, 100000);
	assert_int_equal(g.job.t.calls, 0);
	rig_free(&g);

	/* work in every window, 6 ms a read (over the budget on its own): a
	 * step reads one window, the next moves what it found */
	sl = (struct slow){ .g = &g, .read_ns = 6 * MS };
	rig_init(&g);
	proc_fill(&g.proc, 5000, PM_EXCLUSIVE, 1);
	g.o.window = slow_window;
	g.o.window_data = &sl;
	rig_start(&g);
	run_slow(&g, &sl);
	assert_int_equal(g.job.t.moved, 5000);
	assert_int_equal(g.job.t.plan.move, 5000);
	rig_free(&g);
}

static void job_bad_source(void **state)
{
	struct rig g;
	struct idset none;

	(void)state;
	rig_init(&g);
	proc_fill(&g.proc, 100, PM_EXCLUSIVE, 1);
	g.proc.stuck = true;
	rig_start(&g);
	assert_int_equal(run(&g, NULL), -EIO);
	assert_int_equal(g.job.state, MV_FAILED);
	mv_job_free(&g.job);
	idset_clear(&none);
	assert_int_equal(mv_job_init(&g.job, 1, &none, &g.o), -EINVAL);
	rig_free(&g);
}

/* ---- live: this process's own buffer ---- */

/* The nodes this process may move its pages to, read as the daemon reads
 * them: in its Mems_allowed (cpuset) and with memory; move_pages refuses
 * any other (-EACCES, -ENODEV).  Node 0 need be neither. */
static void usable_nodes(struct idset *out)
{
	struct rt_root *r;
	struct proc_status st;
	struct topo t;

	idset_clear(out);
	assert_int_equal(rt_open(NULL, &r), 0);
	assert_int_equal(proc_read_status(r, getpid(), &st), 0);
	assert_int_equal(topo_read(r, &t), 0);
	for (int i = 0; i < t.nr; i++)
		if (t.node[i].has_memory && idset_has(&st.mems_allowed, t.node[i].id))
			idset_add(out, t.node[i].id);
	topo_free(&t);
	rt_close(r);
}

/* Asks where C's pages are (a query) and checks that all are on NODE. */
static void assert_all_on(struct mv_call *c, int node)
{
	const int *nodes = c->nodes;

	c->nodes = NULL;
	for (unsigned long i = 0; i < c->n; i++)
		c->status[i] = -1;
	assert_int_equal(mv_live.call(mv_live.ctx, c), 0);
	for (unsigned long i = 0; i < c->n; i++)
		assert_int_equal(c->status[i], node);
	c->nodes = nodes;
}

static void live_own_buffer(void **state)
{
	enum { N = 64 };
	char *buf, list[256];
	void *addr[N];
	int nodes[N], status[N], from, to;
	struct mv_call c = { .pid = getpid(), .n = N, .addr = addr, .status = status };
	struct idset usable;
	struct rig g;

	(void)state;
	if (numa_available() < 0)
		skip();
	usable_nodes(&usable);
	if (idset_empty(&usable))
		fail_msg("no node with memory in this process's Mems_allowed");
	assert_int_equal(idset_format(&usable, list, sizeof(list)), 0);
	buf = aligned_alloc(PG, N * PG);
	assert_non_null(buf);
	/* pages unlike any other, so KSM (prctl-inherited merging) leaves them alone */
	memset(buf, 1, N * PG);
	for (int i = 0; i < N; i++) {
		int id[2] = { getpid(), i };

		addr[i] = buf + (size_t)i * PG;
		memcpy(addr[i], id, sizeof(id));
		status[i] = -1;
	}
	c.nodes = NULL;                         /* where the first page is now */
	assert_int_equal(mv_live.call(mv_live.ctx, &c), 0);
	from = status[0];
	assert_true(from >= 0);
	/* elsewhere if this process may use another node, else where it is */
	to = idset_next(&usable, 0);
	while (to == from && idset_next(&usable, to + 1) >= 0)
		to = idset_next(&usable, to + 1);
	print_message("live move_pages: node %d to node %d (may use nodes %s)\n", from, to,
	              list);
	for (int i = 0; i < N; i++) {
		nodes[i] = to;
		status[i] = -1;
	}
	c.nodes = nodes;
	c.flags = MPOL_MF_MOVE;
	assert_int_equal(mv_live.call(mv_live.ctx, &c), 0);
	for (int i = 0; i < N; i++)
		assert_int_equal(status[i], to);
	assert_all_on(&c, to);

	/* a job on the live backend over a window of this buffer: all there */
	rig_init(&g);
	idset_clear(&g.target);
	idset_add(&g.target, to);
	memset(&g.proc, 0, sizeof(g.proc));
	g.proc.gone_at = -1;
	g.proc.n = N;
	g.proc.page = calloc(N, sizeof(*g.proc.page));
	assert_non_null(g.proc.page);
	for (int i = 0; i < N; i++)
		g.proc.page[i] = (struct pm_page){ .addr = (uintptr_t)addr[i],
			.mapcount = 1, .pages = 1, .kind = PM_EXCLUSIVE };
	g.o.backend = mv_live;
	g.o.clock = mv_clock_mono;
	g.o.page_size = 0;
	assert_int_equal(mv_job_init(&g.job, getpid(), &g.target, &g.o), 0);
	assert_int_equal(run(&g, NULL), 0);
	assert_int_equal(g.job.t.plan.on_target, N);
	assert_int_equal(g.job.t.failed, 0);
	rig_free(&g);

	c.pid = 0x3ffffff0;                     /* no such process */
	assert_int_equal(mv_live.call(mv_live.ctx, &c), -ESRCH);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(budget_under),
		cmocka_unit_test(budget_over),
		cmocka_unit_test(budget_edges),
		cmocka_unit_test(opts_from_cfg),
		cmocka_unit_test(job_moves_all),
		cmocka_unit_test(job_statuses),
		cmocka_unit_test(job_ksm),
		cmocka_unit_test(job_move_all_refused),
		cmocka_unit_test(job_gone),
		cmocka_unit_test(job_exiting),
		cmocka_unit_test(job_exiting_between_windows),
		cmocka_unit_test(alive_proc),
		cmocka_unit_test(job_reserve),
		cmocka_unit_test(job_reserve_from_tree),
		cmocka_unit_test(job_deferred),
		cmocka_unit_test(job_all_local),
		cmocka_unit_test(job_slow_scan),
		cmocka_unit_test(job_bad_source),
		cmocka_unit_test(live_own_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
