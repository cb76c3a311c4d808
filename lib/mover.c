/* mover.c - the migration engine (see mover.h).  Moves pages only through
 * move_pages (libnuma's numa_move_pages), never the whole-process call.
 * libnuma is used for that call only: what the engine reads of the host
 * (pagemap, free memory, liveness) goes through the root context. */
#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mover.h"
#include "config.h"
#include "ksm.h"
#include "proc.h"
#include "topo.h"

/* Windows read per step while looking for work, and their least size. */
#define MV_SCAN_WINDOWS 64
#define MV_WINDOW_MIN 512

static int live_call(void *ctx, const struct mv_call *c)
{
	long r;

	(void)ctx;
	r = numa_move_pages(c->pid, c->n, c->addr, c->nodes, c->status,
	                    c->nodes ? c->flags : 0);
	return r < 0 ? -errno : 0;
}

const struct mv_backend mv_live = { live_call, NULL };

uint64_t mv_clock_mono(void *data)
{
	struct timespec ts;

	(void)data;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- dry run ---- */

void mv_dry_init(struct mv_dry *d)
{
	memset(d, 0, sizeof(*d));
	d->gone_after = -1;
}

void mv_dry_free(struct mv_dry *d)
{
	free(d->rec);
	d->rec = NULL;
	d->nrec = d->rec_cap = 0;
}

static int dry_record(struct mv_dry *d, const struct mv_call *c)
{
	struct mv_dry_call *rc;

	if (d->nrec == d->rec_cap) {
		int cap = d->rec_cap ? 2 * d->rec_cap : 64;
		void *q = realloc(d->rec, sizeof(*d->rec) * (size_t)cap);

		if (!q)
			return -ENOMEM;
		d->rec = q;
		d->rec_cap = cap;
	}
	rc = &d->rec[d->nrec++];
	rc->pid = c->pid;
	rc->n = c->n;
	rc->flags = c->nodes ? c->flags : 0;
	rc->node = c->nodes && c->n ? c->nodes[0] : -1;
	rc->first = c->n ? (uint64_t)(uintptr_t)c->addr[0] : 0;
	rc->pages = c->pages;
	rc->maps = c->maps;
	rc->query = !c->nodes;
	return 0;
}

static int dry_answer(const struct mv_dry *d, const struct mv_call *c, unsigned long i)
{
	int target = c->nodes ? c->nodes[i] : -1;

	if (d->answer)
		return d->answer(d->answer_data, (uint64_t)(uintptr_t)c->addr[i], target);
	if (!c->nodes)
		return d->query_node;
	return d->page_status ? d->page_status : target;
}

static int dry_call(void *ctx, const struct mv_call *c)
{
	struct mv_dry *d = ctx;
	int r;

	if (!c->nodes && d->queries)
		return d->queries->call(d->queries->ctx, c);
	d->ncalls++;
	if (d->gone_after >= 0 && d->ncalls > d->gone_after)
		return -ESRCH;
	r = dry_record(d, c);
	if (r < 0)
		return r;
	for (unsigned long i = 0; i < c->n; i++)
		c->status[i] = dry_answer(d, c, i);
	d->now_ns += d->call_ns;
	if (c->nodes)
		d->now_ns += c->pages * d->page_ns + c->maps * d->map_ns;
	return 0;
}

struct mv_backend mv_dry_backend(struct mv_dry *d)
{
	return (struct mv_backend){ dry_call, d };
}

uint64_t mv_dry_clock(void *data)
{
	return ((const struct mv_dry *)data)->now_ns;
}

/* ---- chunk-size controller ---- */

struct mv_budget mv_budget_ms(unsigned call_ms)
{
	return (struct mv_budget){
		.call_ns = (uint64_t)call_ms * 1000000u,
		.min = MV_CHUNK_MIN,
		.max = MV_CHUNK_MAX,
	};
}

static unsigned clamp(const struct mv_budget *b, double v)
{
	if (v < b->min)
		return b->min;
	if (v > b->max)
		return b->max;
	return (unsigned)v;
}

unsigned mv_budget_next(const struct mv_budget *b, unsigned cur, uint64_t cost,
                        uint64_t ns)
{
	double fit;

	if (cost == 0)
		return clamp(b, cur);
	if (ns == 0)
		return clamp(b, 2.0 * cur);
	/* the cost that would have taken 3/4 of the budget at this call's rate */
	fit = (double)cost * 0.75 * (double)b->call_ns / (double)ns;
	if (ns > b->call_ns)
		return clamp(b, fit < cur ? fit : cur);
	if (ns < b->call_ns / 2) {
		double up = fit < 2.0 * cur ? fit : 2.0 * cur;

		return clamp(b, up > cur ? up : cur);
	}
	return clamp(b, cur);
}

/* ---- live helpers ---- */

int mv_window_pm(void *data, pid_t pid, uint64_t from, int max, struct pm_window *w)
{
	return pm_read(data, pid, from, max, w);
}

int mv_free_root(void *data, int node, uint64_t *bytes)
{
	uint64_t kib;
	int r = topo_node_free(data, node, &kib);

	if (r < 0)
		return r;
	*bytes = kib << 10;
	return 0;
}

int mv_alive_proc(void *data, pid_t pid)
{
	struct proc_stat st;
	int r = proc_read_stat(data, pid, 0, &st);

	/* Killed but not yet a zombie: its memory map is already gone (no
	 * resident page), and its pagemap reads empty. */
	if (r == -ESRCH || (r == 0 && (st.state == 'Z' || st.state == 'X' ||
	                               st.rss_pages == 0)))
		return -ESRCH;
	return 0;
}

void mv_opts_live(struct mv_opts *o, const struct rt_root *r)
{
	struct cfg d;

	memset(o, 0, sizeof(*o));
	o->backend = mv_live;
	o->window = mv_window_pm;
	o->window_data = (void *)r;
	o->clock = mv_clock_mono;
	o->free = mv_free_root;
	o->free_data = (void *)r;
	o->alive = mv_alive_proc;
	o->alive_data = (void *)r;
	cfg_defaults(&d);
	mv_opts_configure(o, &d, NULL);
}

void mv_opts_configure(struct mv_opts *o, const struct cfg *cfg,
                       const struct ksm_state *ksm)
{
	o->reserve_bytes = cfg->reserve_mb << 20;
	o->budget = mv_budget_ms(cfg->call_budget_ms);
	o->move_ksm = cfg->move_ksm_pages;
	o->ksm_max_mapcount = cfg->ksm_max_mapcount;
	o->chains_bounded = ksm && ksm_chains_bounded(ksm);
}

const char *mv_state_name(enum mv_state s)
{
	switch (s) {
	case MV_RUNNING: return "running";
	case MV_DONE: return "done";
	case MV_GONE: return "process gone";
	case MV_RESERVE: return "target node under its free-memory reserve";
	case MV_FAILED: return "failed";
	}
	return "?";
}

/* ---- the job ---- */

int mv_job_init(struct mv_job *j, pid_t pid, const struct idset *target,
                const struct mv_opts *o)
{
	int nt = idset_count(target);

	memset(j, 0, sizeof(*j));
	if (nt == 0)
		return -EINVAL;
	if (nt > PLAN_MAX_TARGETS)
		return -E2BIG;
	j->pid = pid;
	j->target = *target;
	j->o = o;
	j->state = MV_RUNNING;
	j->stop_node = -1;
	j->page_size = o->page_size ? o->page_size : (unsigned)sysconf(_SC_PAGESIZE);
	j->chunk = j->ksm_chunk = clamp(&o->budget, o->budget.min);
	plan_init(&j->plan);
	return 0;
}

void mv_job_free(struct mv_job *j)
{
	pm_window_free(&j->w);
	plan_free(&j->plan);
	free(j->node);
	free(j->qaddr);
	free(j->qstat);
	free(j->status);
	j->node = j->qstat = j->status = NULL;
	j->qaddr = NULL;
	j->qcap = 0;
}

static int buffers(struct mv_job *j, int n)
{
	void *a, *b, *c, *d;

	if (n <= j->qcap)
		return 0;
	a = realloc(j->node, sizeof(int) * (size_t)n);
	if (a)
		j->node = a;
	b = realloc(j->qaddr, sizeof(void *) * (size_t)n);
	if (b)
		j->qaddr = b;
	c = realloc(j->qstat, sizeof(int) * (size_t)n);
	if (c)
		j->qstat = c;
	d = realloc(j->status, sizeof(int) * (size_t)n);
	if (d)
		j->status = d;
	if (!a || !b || !c || !d)
		return -ENOMEM;
	j->qcap = n;
	return 0;
}

/* Node of every page of the window: one query for the present ones. */
/* The planner's rules as they stand (chunk sizes adapt, MOVE_ALL may be refused). */
static struct plan_rules rules_now(const struct mv_job *j)
{
	return (struct plan_rules){
		.target = j->target,
		.move_ksm = j->o->move_ksm && !j->no_ksm,
		.chains_bounded = j->o->chains_bounded,
		.ksm_max_mapcount = j->o->ksm_max_mapcount,
		.max_cost = j->chunk,
		.max_ksm_cost = j->ksm_chunk,
	};
}

/* Asks the kernel where the window's pages are -- only those that could
 * move: a heavily shared KSM page fills hundreds of thousands of a VM's
 * pages, and each query takes the VM's mmap lock.  The rest stay unknown
 * (-EAGAIN) and are counted as left where they are. */
static int query(struct mv_job *j, const struct plan_rules *rules)
{
	struct mv_call c = { .pid = j->pid };
	int r = buffers(j, j->w.n), k = 0;

	if (r < 0)
		return r;
	c.addr = j->qaddr;
	c.status = j->qstat;
	for (int i = 0; i < j->w.n; i++)
		if (plan_could_move(&j->w.page[i], rules))
			j->qaddr[c.n++] = (void *)(uintptr_t)j->w.page[i].addr;
	if (c.n) {
		r = j->o->backend.call(j->o->backend.ctx, &c);
		if (r < 0)
			return r;
	}
	for (int i = 0; i < j->w.n; i++) {
		const struct pm_page *pg = &j->w.page[i];

		if (pg->kind == PM_ABSENT)
			j->node[i] = -ENOENT;
		else
			j->node[i] = plan_could_move(pg, rules) ? j->qstat[k++] : -EAGAIN;
	}
	return 0;
}

static int plan_window(struct mv_job *j, const struct plan_rules *rules)
{
	int r = plan_build(&j->plan, &j->w, j->node, rules);

	if (r < 0)
		return r;
	plan_tally_add(&j->t.plan, &j->plan.tally);
	j->next_chunk = 0;
	return 0;
}

/* Reads, queries and plans the next window. */
static int next_window(struct mv_job *j)
{
	int max = j->chunk > MV_WINDOW_MIN ? (int)j->chunk : MV_WINDOW_MIN;
	struct plan_rules rules;
	uint64_t from = j->next;
	int r = j->o->window(j->o->window_data, j->pid, from, max, &j->w);

	if (r < 0)
		return r;
	if (j->w.n < 0 || j->w.n > max || (j->w.next && j->w.next <= from))
		return -EIO;            /* a source that does not advance would loop */
	rules = rules_now(j);
	r = query(j, &rules);
	if (r < 0)
		return r;
	r = plan_window(j, &rules);
	if (r < 0)
		return r;
	j->next = j->w.next;
	j->eof = j->w.next == 0;
	return 0;
}

/* True once the per-call budget has passed since T0 on the job's clock. */
static bool time_up(const struct mv_job *j, uint64_t t0)
{
	uint64_t now = j->o->clock(j->o->clock_data);

	return (now > t0 ? now - t0 : 0) >= j->o->budget.call_ns;
}

/* Reads windows from where the last step left off until one has work:
 * at least one, at most MV_SCAN_WINDOWS, and none once the step has used
 * the per-call budget of the job's clock -- pagemap reads and queries can
 * be slow on a large VM, and a step must stay short for the watchdog and
 * the pause.  1: a chunk is ready within the budget; 2: not yet (more to
 * read, or a chunk waits for the next step); 0: nothing left. */
static int scan(struct mv_job *j)
{
	uint64_t t0 = j->o->clock(j->o->clock_data);

	for (int i = 0; i < MV_SCAN_WINDOWS && !j->eof; i++) {
		int r = next_window(j);

		if (r < 0)
			return r;
		if (time_up(j, t0))
			return j->plan.nchunks || !j->eof ? 2 : 0;
		if (j->plan.nchunks)
			return 1;
	}
	return j->eof ? 0 : 2;
}

/* -ENOSPC if moving C would take a target node under the reserve. */
static int check_reserve(struct mv_job *j, const struct plan_chunk *c)
{
	uint64_t need = c->pages * j->page_size, bytes;
	struct idset seen;

	if (!j->o->free)
		return 0;
	idset_clear(&seen);
	for (int i = c->first; i < c->first + c->n; i++) {
		int node = j->plan.node[i];

		if (idset_has(&seen, node))
			continue;
		idset_add(&seen, node);
		if (j->o->free(j->o->free_data, node, &bytes) < 0)
			continue;
		if (bytes < j->o->reserve_bytes + need) {
			j->stop_node = node;
			return -ENOSPC;
		}
	}
	return 0;
}

static void account_page(struct mv_job *j, int st, int want, uint32_t pages, bool ksm)
{
	struct mv_totals *t = &j->t;

	if (st >= 0 && st == want) {
		t->moved += pages;
		if (ksm)
			t->ksm_moved += pages;
	} else if (st == -EACCES) {
		t->refused += pages;
	} else if (st == -EBUSY || st == -EAGAIN) {
		t->busy += pages;
	} else if (st == -ENOMEM) {
		t->nomem += pages;
	} else if (st == -ENOENT || st == -EFAULT) {
		t->gone += pages;
	} else {
		t->failed += pages;
	}
}

static void account(struct mv_job *j, const struct plan_chunk *c, struct mv_step *out)
{
	uint64_t before = j->t.moved;

	for (int i = 0; i < c->n; i++)
		account_page(j, j->status[i], j->plan.node[c->first + i],
		             j->plan.pages[c->first + i], c->move_all);
	out->pages = j->t.moved - before;
	out->bytes = out->pages * j->page_size;
	j->t.bytes += out->bytes;
}

/* One move call for chunk C, timed; adapts the chunk size. */
static int run_chunk(struct mv_job *j, const struct plan_chunk *c, struct mv_step *out)
{
	struct mv_call call = {
		.pid = j->pid, .n = (unsigned long)c->n,
		.addr = j->plan.addr + c->first, .nodes = j->plan.node + c->first,
		.status = j->status, .flags = c->move_all ? MPOL_MF_MOVE_ALL : MPOL_MF_MOVE,
		.pages = c->pages, .maps = c->maps,
	};
	uint64_t t0, t1;
	int r;

	if (c->move_all && j->no_ksm) {
		j->t.plan.ksm_kept += c->n;     /* planned before MOVE_ALL was refused */
		return 0;
	}
	r = check_reserve(j, c);
	if (r < 0)
		return r;
	t0 = j->o->clock(j->o->clock_data);
	r = j->o->backend.call(j->o->backend.ctx, &call);
	t1 = j->o->clock(j->o->clock_data);
	*out = (struct mv_step){ .call = true, .move_all = c->move_all, .cost = c->cost,
	                         .ns = t1 > t0 ? t1 - t0 : 0 };
	j->t.calls++;
	j->t.call_ns += out->ns;
	if (out->ns > j->t.worst_ns)
		j->t.worst_ns = out->ns;
	if (c->move_all)
		j->ksm_chunk = mv_budget_next(&j->o->budget, j->ksm_chunk, c->cost, out->ns);
	else
		j->chunk = mv_budget_next(&j->o->budget, j->chunk, c->cost, out->ns);
	if (r == 0) {
		account(j, c, out);
		return 0;
	}
	/* A process that is exiting fails the call in other ways than -ESRCH. */
	if (r != -ESRCH && r != -EPERM && j->o->alive &&
	    j->o->alive(j->o->alive_data, j->pid) == -ESRCH)
		r = -ESRCH;
	if (r != -ESRCH)
		j->t.failed += c->pages;
	if (r == -EPERM && c->move_all) {
		j->no_ksm = true;       /* no CAP_SYS_NICE: leave KSM pages, go on */
		return 0;
	}
	return r;
}

static int end_job(struct mv_job *j, int r)
{
	/* A process that is exiting also fails reads of its pages. */
	if (r < 0 && r != -ESRCH && r != -ENOSPC && j->o->alive &&
	    j->o->alive(j->o->alive_data, j->pid) == -ESRCH)
		r = -ESRCH;
	if (r == 0)
		j->state = MV_DONE;
	else if (r == -ESRCH)
		j->state = MV_GONE;
	else if (r == -ENOSPC)
		j->state = MV_RESERVE;
	else
		j->state = MV_FAILED;
	j->error = r;
	return r;
}

int mv_job_step(struct mv_job *j, struct mv_step *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	if (j->state != MV_RUNNING)
		return j->error;
	if (j->next_chunk >= j->plan.nchunks) {
		r = scan(j);
		if (r <= 0)
			return end_job(j, r);
		if (r == 2)
			return 1;
	}
	r = run_chunk(j, &j->plan.chunk[j->next_chunk++], out);
	if (r < 0)
		return end_job(j, r);
	if (j->next_chunk < j->plan.nchunks || !j->eof)
		return 1;
	return end_job(j, 0);
}
