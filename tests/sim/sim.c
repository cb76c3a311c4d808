/* sim.c - the simulation tier: scenarios over a synthetic host (simhost.h)
 * advanced in virtual time, running the real policy and the real migration
 * engine on its dry-run backend.
 *
 *   sim [--seed N] [--scenario NAME|all] [--intervals N] [-v]
 *
 * Every scenario is seeded from N (default: from the clock) and prints it;
 * random draws are never two in one expression, so a seed replays the same
 * run whatever the compiler's order of evaluation.  A failure prints "FAIL scenario seed=N interval=I: reason" and exits 1.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "simhost.h"

#define LOCAL_GOAL 95.0                 /* percent of movable memory local */
#define MIB_KIB 1024u

struct opts {
	uint64_t seed;
	long intervals;                 /* 0: each scenario's own */
};

static double mib(uint64_t bytes)
{
	return (double)bytes / (1 << 20);
}

static void begin(const char *name, uint64_t seed, struct sim_rng *r, int idx)
{
	sim_ctx.scenario = name;
	sim_ctx.seed = seed;
	sim_ctx.interval = -1;
	sim_rng_seed(r, seed ^ (0x5bd1e9955bd1e995ull * (uint64_t)(idx + 1)));
}

static void end(const char *name, struct sim_host *h, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void end(const char *name, struct sim_host *h, const char *fmt, ...)
{
	va_list ap;

	printf("sim: %s seed=%" PRIu64 " ok: ", name, sim_ctx.seed);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("; moved %.0f MiB (KSM %.1f MiB), worst interval %.0f MiB of %.0f, "
	       "%ld home changes, %ld calls, worst call %.2f ms (virtual), %ld reserve stops\n",
	       mib(h->f.total_bytes), mib(h->f.total_ksm_bytes), mib(h->f.max_bytes),
	       (double)h->p.budget_kib / MIB_KIB, h->f.total_home_changes, h->f.calls,
	       (double)h->f.worst_call_ns / 1e6, h->f.reserve_stops);
	sim_host_free(h);
}

/* Intervals enough to move every VM's movable memory once, give each a
 * home at max_moves per pass, and sit out a cooldown. */
static long bound(const struct sim_host *h)
{
	uint64_t kib = 0;
	long b;

	for (int v = 0; v < h->nvms; v++)
		for (int i = 0; i < h->nnodes; i++)
			kib += h->vm[v]->mem_kib[i];
	b = (long)((kib + h->p.budget_kib - 1) / (h->p.budget_kib ? h->p.budget_kib : 1));
	b += (h->nvms + (long)h->p.max_moves - 1) / (long)(h->p.max_moves ? h->p.max_moves : 1);
	return b + (long)h->p.cooldown + 5;
}

static void jitter(struct sim_host *h, struct sim_rng *r, double amount)
{
	for (int v = 0; v < h->nvms; v++) {
		struct sim_vm *vm = h->vm[v];

		vm->cpu_use = vm->cpu_base * (1.0 + amount * (2.0 * sim_uniform(r) - 1.0));
	}
}

/* Grows every VM that still has untouched memory. */
static void grow(struct sim_host *h)
{
	for (int v = 0; v < h->nvms; v++) {
		struct sim_vm *vm = h->vm[v];

		vm->grow_acc += vm->grow;
		if (vm->grow_acc >= 1.0) {
			sim_touch(h, vm, (int)vm->grow_acc);
			vm->grow_acc -= (int)vm->grow_acc;
		}
	}
}

/* The first N pages of VM as a scenario starts it: HOW 0 all on node FAR,
 * 1 spread over every node with memory, 2 mostly on FAR, the rest on NEAR. */
static void place(struct sim_host *h, struct sim_vm *vm, int n, int how, int far, int near)
{
	int k = 0, mem[SIM_MAX_NODES];

	for (int i = 0; i < h->nnodes; i++)
		if (h->node[i].total_kib)
			mem[k++] = i;
	if (h->node[near].total_kib == 0)
		near = far;
	if (how == 0) {
		sim_place(h, vm, 0, n, far);
	} else if (how == 1) {
		for (int i = 0; i < n; i++)
			sim_place(h, vm, i, 1, mem[i % k]);
	} else {
		sim_place(h, vm, 0, n * 7 / 10, far);
		sim_place(h, vm, n * 7 / 10, n - n * 7 / 10, near);
	}
}

/* A random node index with CPUs (memory too if MEM). */
static int any_node(const struct sim_host *h, struct sim_rng *r, bool cpus, bool mem)
{
	for (;;) {
		int i = sim_range(r, 0, h->nnodes - 1);

		if ((!cpus || h->node[i].ncpus) && (!mem || h->node[i].total_kib))
			return i;
	}
}

/* Runs LIMIT + HOLD intervals: from interval LIMIT on, locality must be at
 * the goal.  Returns the number of intervals after which it stayed there. */
static long converge(struct sim_host *h, long *pass, long limit, long hold,
                     bool (*exclude)(const struct sim_vm *))
{
	long reached = 0;

	for (long n = 0; n < limit + hold; n++) {
		double loc;

		sim_interval(h, (*pass)++);
		sim_check_books(h);
		loc = sim_locality(h, exclude);
		if (loc < LOCAL_GOAL)
			reached = n + 1;
		if (loc < LOCAL_GOAL && n >= limit - 1) {
			sim_explain(h, 10);
			sim_fail("locality %.2f%% after %ld intervals, goal %.0f%% within %ld "
			         "(capacity allows)", loc, n + 1, LOCAL_GOAL, limit);
		}
	}
	return reached;
}

/* ---- 1. converge ---- */

static void sc_converge(const struct opts *op)
{
	struct sim_host h;
	struct sim_rng r;
	struct sim_vm *pinned;
	uint64_t pinned_mem[SIM_MAX_NODES];
	long pass = 0, b, took;

	begin("converge", op->seed, &r, 0);
	sim_host_init(&h);
	for (int i = 0; i < 4; i++)
		sim_add_node(&h, i, 8, 32 * SIM_GIB);
	for (int i = 0; i < 4; i++)             /* a one-way ring: asymmetric */
		for (int k = 1; k < 4; k++)
			sim_set_dist(&h, i, (i + k) % 4, 10 + 6 * k);
	for (int v = 0; v < 12; v++) {
		int nv = v % 3 == 0 ? 4 : 1 + v % 2, at = v % 4;
		double cpu = nv * (0.5 + 0.3 * sim_uniform(&r));
		struct sim_vm *vm = sim_add_vm(&h, nv, cpu, sim_range(&r, 512, 2048), 1ull << at);

		place(&h, vm, vm->nthp, v % 3, (at + sim_range(&r, 1, 3)) % 4, at);
	}
	pinned = sim_add_vm(&h, 2, 1.0, 512, 1ull << 0);
	pinned->left_alone = true;
	place(&h, pinned, pinned->nthp, 0, 2, 0);
	memcpy(pinned_mem, pinned->mem_kib, sizeof(pinned_mem));
	h.pingpong_window = LONG_MAX;           /* static load: any return is ping-pong */
	b = bound(&h);
	printf("sim: converge seed=%" PRIu64 " nodes=4 vms=13 (1 pinned) budget=%" PRIu64
	       " MiB/interval bound=%ld intervals\n", op->seed, h.p.budget_kib / MIB_KIB, b);
	took = converge(&h, &pass, b, 20, NULL);
	if (memcmp(pinned_mem, pinned->mem_kib, sizeof(pinned_mem)) || pinned->moved_bytes ||
	    !idset_empty(&pinned->home))
		sim_fail("the pinned VM %s was moved", pinned->name);
	end("converge", &h, "locality >= %.0f%% for good after %ld intervals (bound %ld), "
	    "%.2f%% at the end", LOCAL_GOAL, took, b, sim_locality(&h, NULL));
}

/* ---- 2. steady ---- */

static void two_sockets(struct sim_host *h, int nodes, int ncpus, uint64_t mem_kib)
{
	for (int i = 0; i < nodes; i++)
		sim_add_node(h, i, ncpus, mem_kib);
	for (int i = 0; i < nodes; i++)
		for (int j = 0; j < nodes; j++)
			sim_set_dist(h, i, j, i == j ? 10 : (i < nodes / 2) == (j < nodes / 2) ? 12 : 32);
}

static void random_vms(struct sim_host *h, struct sim_rng *r, int n, int maxv, double per_cpu,
                       int min_thp, int max_thp)
{
	for (int v = 0; v < n; v++) {
		int nv = 1 << sim_range(r, 0, maxv), at = any_node(h, r, true, false);
		double cpu = nv * per_cpu * (0.6 + 0.8 * sim_uniform(r));
		struct sim_vm *vm = sim_add_vm(h, nv, cpu, sim_range(r, min_thp, max_thp), 1ull << at);
		int how = sim_range(r, 0, 2);

		place(h, vm, vm->nthp, how, any_node(h, r, false, true), at);
	}
}

static void sc_steady(const struct opts *op)
{
	struct sim_host h;
	struct sim_rng r;
	long pass = 0, n = op->intervals ? op->intervals : 1000, b, took, quiet = 0;
	double worst = 100.0;

	begin("steady", op->seed, &r, 1);
	sim_host_init(&h);
	two_sockets(&h, 8, 32, 64 * SIM_GIB);
	random_vms(&h, &r, 60, 3, 0.5, 256, 4096);
	b = bound(&h);
	printf("sim: steady seed=%" PRIu64 " nodes=8x32 CPUs vms=60 warm-up bound=%ld, then %ld intervals "
	       "of +-5%% CPU jitter\n", op->seed, b, n);
	h.pingpong_window = h.p.cooldown;
	took = converge(&h, &pass, b, 0, NULL);
	/* settled: no home change for a cooldown and a bit */
	while (quiet <= (long)h.p.cooldown + 2) {
		if (pass > 2 * b)
			sim_fail("homes still changing %ld intervals in (static load)", pass);
		jitter(&h, &r, 0.05);
		sim_interval(&h, pass++);
		quiet = h.f.home_changes ? 0 : quiet + 1;
	}
	h.freeze_homes = true;
	for (long i = 0; i < n; i++) {
		jitter(&h, &r, 0.05);
		sim_interval(&h, pass++);
		if (sim_locality(&h, NULL) < worst)
			worst = sim_locality(&h, NULL);
		if (i % 100 == 0)
			sim_check_books(&h);
	}
	end("steady", &h, "converged in %ld intervals, settled by %ld, then %ld steady intervals "
	    "with 0 home changes, locality >= %.2f%%", took, pass - n, n, worst);
}

/* ---- 3. churn ---- */

struct churn {
	struct sim_rng *r;
	bool kill_mid;                  /* a VM vanishes between decide and move */
	long arrived, vanished, mid;
};

/* A random VM still there; with RES, one about to have memory moved if any. */
static struct sim_vm *victim(struct sim_host *h, struct sim_rng *r, const struct pol_result *res)
{
	int n = 0, pick[64];

	for (int i = 0; res && i < res->n && n < 64; i++)
		if (res->d[i].budget_kib && !h->pvm[i]->gone)
			pick[n++] = i;
	if (n)
		return h->pvm[pick[sim_range(r, 0, n - 1)]];
	for (int tries = 0; tries < 100; tries++) {
		struct sim_vm *vm = h->vm[sim_range(r, 0, h->nvms - 1)];

		if (!vm->gone)
			return vm;
	}
	return NULL;
}

static void churn_mid(struct sim_host *h, void *data)
{
	struct churn *c = data;
	struct sim_vm *vm;

	if (!c->kill_mid)
		return;
	c->kill_mid = false;
	vm = victim(h, c->r, h->res);
	if (vm) {
		sim_remove_vm(h, vm);
		c->vanished++;
		c->mid++;
	}
}

/* A new VM: a quarter of its memory present as it happened to start (all
 * on one node, spread, or where it runs), the rest touched over the next
 * intervals where its threads run. */
static void arrive(struct sim_host *h, struct sim_rng *r)
{
	int nv = 1 << sim_range(r, 0, 2), at = any_node(h, r, true, false);
	double cpu = nv * (0.2 + 0.3 * sim_uniform(r));
	struct sim_vm *vm = sim_add_vm(h, nv, cpu, sim_range(r, 256, 2048), 1ull << at);
	int how = sim_range(r, 0, 2);

	if (how == 2)
		sim_touch(h, vm, vm->nthp / 4);
	else
		place(h, vm, vm->nthp / 4, how, any_node(h, r, false, true), at);
	vm->grow = vm->nthp / 10.0;
}

static void churn_events(struct sim_host *h, struct churn *c)
{
	struct sim_rng *r = c->r;

	if (h->nvms < 24 && sim_uniform(r) < 0.2) {
		arrive(h, r);
		c->arrived++;
	}
	if (h->nvms > 8 && sim_uniform(r) < 0.15) {
		if (sim_uniform(r) < 0.5) {
			c->kill_mid = true;
		} else {
			sim_remove_vm(h, victim(h, r, NULL));
			c->vanished++;
		}
	}
	if (sim_uniform(r) < 0.05) {            /* a load changes its phase */
		struct sim_vm *vm = victim(h, r, NULL);

		if (vm)
			vm->cpu_base = vm->nvcpus * (0.2 + 0.3 * sim_uniform(r));
	}
}

static void sc_churn(const struct opts *op)
{
	struct sim_host h;
	struct sim_rng r;
	struct churn c = { .r = &r };
	long n = op->intervals ? op->intervals : 300, pass = 0, tail;

	begin("churn", op->seed, &r, 2);
	sim_host_init(&h);
	two_sockets(&h, 4, 16, 64 * SIM_GIB);
	random_vms(&h, &r, 16, 2, 0.35, 256, 2048);
	h.pingpong_window = h.p.cooldown;
	h.after_decide = churn_mid;
	h.hook_data = &c;
	printf("sim: churn seed=%" PRIu64 " nodes=4 vms=16 at start, %ld intervals of arrivals "
	       "and departures\n", op->seed, n);
	for (; pass < n; pass++) {
		churn_events(&h, &c);
		grow(&h);
		jitter(&h, &r, 0.05);
		sim_interval(&h, pass);
		sim_check_books(&h);
	}
	tail = bound(&h) + 10;                  /* quiet: growth ends, nothing comes or goes */
	for (long i = 0; i < tail; i++) {
		grow(&h);
		jitter(&h, &r, 0.05);
		sim_interval(&h, pass++);
	}
	sim_check_books(&h);
	if (sim_locality(&h, NULL) < LOCAL_GOAL)
		sim_fail("locality %.2f%% after a quiet tail of %ld intervals, goal %.0f%%",
		         sim_locality(&h, NULL), tail, LOCAL_GOAL);
	end("churn", &h, "%ld arrived, %ld vanished (%ld between decide and move, %ld jobs "
	    "found them gone), locality %.2f%% after a quiet tail of %ld", c.arrived,
	    c.vanished, c.mid, h.f.gone_jobs, sim_locality(&h, NULL), tail);
}

/* ---- 4. ksm ---- */

static double min_movable;

static double movable_fraction(const struct sim_vm *vm)
{
	double thp = (double)vm->nthp * SIM_THP_KIB, ksm = (double)vm->nksm * SIM_KSM_KIB;

	return thp / (thp + ksm);
}

static bool mostly_shared(const struct sim_vm *vm)
{
	return movable_fraction(vm) < min_movable;
}

static void sc_ksm(const struct opts *op)
{
	struct sim_host h;
	struct sim_rng r;
	struct sim_vm *vm[8];
	int zero;
	long pass = 0, b, took, took2;
	uint32_t most = 0;

	begin("ksm", op->seed, &r, 3);
	sim_host_init(&h);
	two_sockets(&h, 4, 8, 16 * SIM_GIB);
	h.node[2].bg_cpu = h.node[3].bg_cpu = 6.0;      /* no CPU left there */
	min_movable = h.p.min_movable;
	zero = sim_new_ksm(&h, 2);              /* a zero page: merged everywhere */
	for (int v = 0; v < 8; v++) {
		bool shared = v >= 4;
		double cpu = 0.6 + 0.4 * sim_uniform(&r);

		vm[v] = sim_add_vm(&h, 2, cpu, shared ? 4 : sim_range(&r, 96, 160), 1ull << (v % 2));
		place(&h, vm[v], vm[v]->nthp, 0, 2 + (v + v / 2) % 2, v % 2);
		sim_map_ksm(&h, vm[v], zero, shared ? 20000 : 2000);
	}
	for (int v = 0; v < 4; v++)             /* pages two movable VMs share */
		for (int k = 0; k < 64; k++) {
			int p = sim_new_ksm(&h, vm[v]->thp[0]);

			sim_map_ksm(&h, vm[v], p, 1);
			sim_map_ksm(&h, vm[(v + 1) % 4], p, 1);
		}
	printf("sim: ksm seed=%" PRIu64 " nodes=4 vms=8 (4 mostly shared: movable %.1f%% < "
	       "min_movable %.0f%%) zero page mapped %u times, ksm_max_mapcount %u\n", op->seed,
	       100.0 * movable_fraction(vm[4]), 100.0 * min_movable, h.ksm[zero].mapcount,
	       h.o.ksm_max_mapcount);
	for (int v = 0; v < 8; v++)
		if (mostly_shared(vm[v]) != (v >= 4))
			sim_fail("scenario bug: min_movable %.2f does not split the VMs", min_movable);
	h.pingpong_window = LONG_MAX;
	b = bound(&h);
	took = converge(&h, &pass, b, 5, mostly_shared);
	/* node 0 fills up, node 2 frees: VMs on 0 must go, unless mostly shared */
	h.node[0].bg_cpu = 6.5;
	h.node[2].bg_cpu = 0.0;
	took2 = converge(&h, &pass, b, 10, mostly_shared);
	for (int v = 4; v < 8; v++)
		if (vm[v]->home_changes || (v % 2 == 0 && !vm[v]->held))
			sim_fail("%s, %.1f%% movable: %d home changes, held %d times; mostly shared "
			         "VMs are not worth moving", vm[v]->name,
			         100.0 * movable_fraction(vm[v]), vm[v]->home_changes, vm[v]->held);
	for (int k = 0; k < h.nksm; k++)
		if (h.ksm[k].moves > most)
			most = h.ksm[k].moves;
	end("ksm", &h, "movable VMs %.2f%% local after %ld intervals, again %ld after node 0 "
	    "filled up (bound %ld), mostly shared VMs held, zero page (%u mappings) left on node %d, a shared KSM page moved "
	    "at most %u times", sim_locality(&h, mostly_shared), took, took2, b,
	    h.ksm[zero].mapcount, h.node[h.ksm[zero].node].id, most);
}

/* ---- 4b. reserve ---- */

/* Between the decisions and the moves, the filler VM touches memory on the
 * node the others are being moved to: the policy's view is stale, only
 * the engine's own check can keep the reserve. */
static void fill_node(struct sim_host *h, void *data)
{
	sim_touch(h, data, 256);          /* 512 MiB */
}

static void sc_reserve(const struct opts *op)
{
	struct sim_host h;
	struct sim_rng r;
	struct sim_vm *filler;
	long pass = 0;

	begin("reserve", op->seed, &r, 6);
	sim_host_init(&h);
	two_sockets(&h, 2, 8, 8 * SIM_GIB);
	h.node[1].bg_cpu = 6.5;                 /* the VMs belong on node 0 */
	filler = sim_add_vm(&h, 1, 0.2, 4096, 1ull << 0);
	filler->left_alone = true;
	sim_place(&h, filler, 0, 1536, 0);
	for (int v = 0; v < 4; v++) {
		double cpu = 0.6 + 0.2 * sim_uniform(&r);
		struct sim_vm *vm = sim_add_vm(&h, 1, cpu, sim_range(&r, 384, 640), 1ull << 0);

		sim_place(&h, vm, 0, vm->nthp, 1);
	}
	h.after_decide = fill_node;
	h.hook_data = filler;
	h.pingpong_window = LONG_MAX;
	printf("sim: reserve seed=%" PRIu64 " nodes=2 vms=5: node 0 fills up while memory "
	       "moves to it, reserve %" PRIu64 " MiB\n", op->seed, h.p.reserve_kib / MIB_KIB);
	for (; pass < 30; pass++) {
		sim_interval(&h, pass);
		sim_check_books(&h);
	}
	if (h.f.reserve_stops == 0)
		sim_fail("no job stopped at the reserve: the scenario did not test it");
	end("reserve", &h, "node 0 ends with %" PRIu64 " MiB free (filler %" PRIu64 " MiB), "
	    "%ld jobs stopped at the reserve, no move took a node under it",
	    sim_free_kib(&h, 0) / MIB_KIB, filler->mem_kib[0] / MIB_KIB, h.f.reserve_stops);
}

/* ---- 5. scale ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void sc_scale(const struct opts *op)
{
	struct sim_host h;
	struct sim_rng r;
	uint64_t ns[20], first;

	begin("scale", op->seed, &r, 4);
	sim_host_init(&h);
	two_sockets(&h, 8, 64, 256 * SIM_GIB);
	random_vms(&h, &r, 500, 2, 0.25, 256, 2048);
	printf("sim: scale seed=%" PRIu64 " nodes=8 vms=500\n", op->seed);
	sim_interval(&h, 0);
	first = h.f.decide_ns;
	for (int i = 0; i < 20; i++) {
		jitter(&h, &r, 0.05);
		sim_interval(&h, i + 1);
		ns[i] = h.f.decide_ns;
	}
	sim_check_books(&h);
	qsort(ns, 20, sizeof(ns[0]), cmp_u64);
	printf("sim: scale figure: pol_decide CPU time, 8 nodes 500 VMs: median %.3f ms "
	       "(min %.3f, max %.3f over 20 passes; first pass %.3f ms; goal <= 10 ms)\n",
	       ns[10] / 1e6, ns[0] / 1e6, ns[19] / 1e6, first / 1e6);
	end("scale", &h, "21 intervals, locality %.2f%%", sim_locality(&h, NULL));
}

/* ---- 5b. odd topology ---- */

static void sc_odd(const struct opts *op)
{
	static const int ids[4] = { 0, 2, 5, 7 }, cpus[4] = { 8, 8, 8, 0 };
	static const int d[4][4] = {
		{ 10, 16, 12, 22 }, { 16, 10, 22, 12 }, { 12, 22, 10, 28 }, { 22, 12, 28, 10 },
	};
	struct sim_host h;
	struct sim_rng r;
	long pass = 0, b, took;

	begin("odd", op->seed, &r, 5);
	sim_host_init(&h);
	for (int i = 0; i < 4; i++)             /* 5 memoryless, 7 CPU-less */
		sim_add_node(&h, ids[i], cpus[i], ids[i] == 5 ? 0 : 24 * SIM_GIB);
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++)
			sim_set_dist(&h, i, j, d[i][j]);
	random_vms(&h, &r, 10, 2, 0.4, 256, 1536);
	h.pingpong_window = LONG_MAX;
	b = bound(&h);
	printf("sim: odd seed=%" PRIu64 " node ids 0,2,5,7 (5 memoryless, 7 CPU-less) vms=10 "
	       "bound=%ld\n", op->seed, b);
	took = converge(&h, &pass, b, 10, NULL);
	end("odd", &h, "locality %.2f%% after %ld intervals (bound %ld)", sim_locality(&h, NULL),
	    took, b);
}

/* ---- command line ---- */

static const struct scenario {
	const char *name;
	void (*run)(const struct opts *);
} scenarios[] = {
	{ "converge", sc_converge }, { "steady", sc_steady }, { "churn", sc_churn },
	{ "ksm", sc_ksm }, { "reserve", sc_reserve }, { "scale", sc_scale },
	{ "odd", sc_odd },
};

static int usage(int code)
{
	fprintf(code ? stderr : stdout,
	        "usage: sim [--seed N] [--scenario NAME|all] [--intervals N] [-v]\n"
	        "scenarios: converge steady churn ksm reserve scale odd\n");
	return code;
}

static int number(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || end == s || *end || *s == '-' ? -EINVAL : 0;
}

int main(int argc, char **argv)
{
	struct opts op = { 0 };
	const char *which = "all";
	bool seeded = false, found = false;
	uint64_t v;

	for (int i = 1; i < argc; i++) {
		bool more = i + 1 < argc;

		if (!strcmp(argv[i], "--seed") && more && number(argv[i + 1], &op.seed) == 0) {
			seeded = true;
			i++;
		} else if (!strcmp(argv[i], "--scenario") && more) {
			which = argv[++i];
		} else if (!strcmp(argv[i], "--intervals") && more && number(argv[i + 1], &v) == 0 &&
		           v > 0 && v < 10000000) {
			op.intervals = (long)v;
			i++;
		} else if (!strcmp(argv[i], "-v")) {
			sim_ctx.verbose = true;
		} else {
			return usage(strcmp(argv[i], "--help") ? 2 : 0);
		}
	}
	if (!seeded)
		op.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16);
	printf("sim: seed %" PRIu64 " (reproduce: sim --seed %" PRIu64 " --scenario %s)\n",
	       op.seed, op.seed, which);
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (!strcmp(which, "all") || !strcmp(which, scenarios[i].name)) {
			scenarios[i].run(&op);
			found = true;
		}
	if (!found)
		return usage(2);
	return 0;
}
