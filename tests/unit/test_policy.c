/* test_policy.c - placement decisions on hand-built hosts.
 *
 * Expected scores follow the formula in policy.c's top comment:
 * compact * (0.5 local + 0.3 CPU headroom + 0.2 memory headroom), CPU
 * capacity ncpus * 0.85, memory room free - 512 MiB + the VM's own share.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "policy.h"

#define MIB 1024ull
#define GIB (1024ull * 1024)

struct fx {
	struct pol_input in;
	int dist[POL_MAX_NODES * POL_MAX_NODES];
	struct pol_vm vm[8];
	struct pol_params p;
	struct pol_state s;
	struct pol_result r;
};

static struct fx *fx_new(int nnodes)
{
	struct fx *x = calloc(1, sizeof(*x));

	assert_non_null(x);
	x->in.nnodes = nnodes;
	x->in.dist = x->dist;
	x->in.vm = x->vm;
	for (int i = 0; i < nnodes; i++)
		for (int j = 0; j < nnodes; j++)
			x->dist[i * nnodes + j] = i == j ? 10 : 20;
	pol_params_default(&x->p);
	pol_state_init(&x->s);
	return x;
}

static void fx_free(struct fx *x)
{
	pol_result_free(&x->r);
	pol_state_free(&x->s);
	free(x);
}

static void node(struct fx *x, int i, int id, int ncpus, double busy,
                 uint64_t total, uint64_t free_kib)
{
	struct pol_node *n = &x->in.node[i];

	n->id = id;
	n->ncpus = ncpus;
	n->cpu_busy = busy;
	n->has_memory = total > 0;
	n->mem_total_kib = total;
	n->mem_free_kib = free_kib;
}

static void set_dist(struct fx *x, int a, int b, int d)
{
	x->dist[a * x->in.nnodes + b] = d;
	x->dist[b * x->in.nnodes + a] = d;
}

static struct pol_vm *vm(struct fx *x, uint64_t key, int nvcpus, double use)
{
	struct pol_vm *v = &x->vm[x->in.nvms++];

	memset(v, 0, sizeof(*v));
	v->key = key;
	v->pid = (pid_t)key;
	v->name = "vm";
	v->nvcpus = nvcpus;
	v->cpu_use = use;
	return v;
}

static int decide(struct fx *x, long pass)
{
	pol_result_free(&x->r);
	return pol_decide(&x->in, &x->p, pass, &x->s, &x->r);
}

static void assert_set(const struct idset *got, const char *want)
{
	struct idset w;
	char buf[64];

	assert_int_equal(idset_parse(&w, want), 0);
	if (!idset_equal(got, &w)) {
		idset_format(got, buf, sizeof(buf));
		fail_msg("set \"%s\", expected \"%s\"", buf, want);
	}
}

static void assert_why(const struct pol_decision *d, const char *part)
{
	if (!strstr(d->why, part))
		fail_msg("why \"%s\" lacks \"%s\"", d->why, part);
}

static void assert_near(double got, double want)
{
	if (got < want - 0.001 || got > want + 0.001)
		fail_msg("%.6f, expected %.6f", got, want);
}

static void remember(struct fx *x, uint64_t key, const char *home,
                     const char *prev, long moved_at)
{
	struct pol_memory *m;

	x->s.m = realloc(x->s.m, (x->s.n + 1) * sizeof(*m));
	assert_non_null(x->s.m);
	m = &x->s.m[x->s.n++];
	x->s.cap = x->s.n;
	m->key = key;
	assert_int_equal(idset_parse(&m->home, home), 0);
	assert_int_equal(idset_parse(&m->prev_home, prev), 0);
	m->moved_at = moved_at;
}

/* Two nodes of 8 CPUs (2 busy), 64 GiB with 32 GiB free; a 4-vCPU VM
 * using 2 CPUs with 8 GiB on node 1. */
static struct fx *two_nodes_vm_on_1(int threads0, int threads1)
{
	struct fx *x = fx_new(2);
	struct pol_vm *v;

	node(x, 0, 0, 8, 2.0, 64 * GIB, 32 * GIB);
	node(x, 1, 1, 8, 2.0, 64 * GIB, 32 * GIB);
	v = vm(x, 1, 4, 2.0);
	v->mem_kib[1] = 8 * GIB;
	v->threads_on[0] = threads0;
	v->threads_on[1] = threads1;
	return x;
}

/* The parameters are the configuration's (each key mapped, MiB to KiB),
 * and the defaults are the table's (config.c, cfg_defaults). */
static void test_defaults(void **state)
{
	struct pol_params p, q;
	struct cfg c;

	(void)state;
	cfg_defaults(&c);
	pol_params_from_cfg(&q, &c);
	pol_params_default(&p);
	assert_memory_equal(&p, &q, sizeof(p));
	c.target_utilization = 120;
	c.target_locality = 55;
	c.reserve_mb = 3;
	c.min_gain = 7;
	c.cooldown = 4;
	c.max_moves = 9;
	c.interval_budget_mb = 6;
	pol_params_from_cfg(&p, &c);
	assert_int_equal(p.target_utilization, 120);
	assert_int_equal(p.target_locality, 55);
	assert_int_equal(p.reserve_kib, 3 * MIB);
	assert_int_equal(p.min_gain, 7);
	assert_int_equal(p.cooldown, 4);
	assert_int_equal(p.max_moves, 9);
	assert_int_equal(p.budget_kib, 6 * MIB);
	assert_near(p.min_movable, 0.25);
	assert_string_equal(pol_verdict_name(POL_STAY), "stay");
	assert_string_equal(pol_verdict_name(POL_MOVE), "move");
	assert_string_equal(pol_verdict_name(POL_LEFT_ALONE), "left-alone");
}

/* Threads on both nodes, memory on 1: it is at home on 1. */
static void test_goes_where_memory_is(void **state)
{
	struct fx *x = two_nodes_vm_on_1(2, 2);
	const struct pol_decision *d;

	(void)state;
	assert_int_equal(decide(x, 0), 0);
	d = &x->r.d[0];
	assert_int_equal(x->r.n, 1);
	assert_int_equal(d->vm, 0);
	assert_int_equal(d->verdict, POL_STAY);
	assert_set(&d->home, "1");
	assert_near(d->locality, 100);
	assert_int_equal(d->to_move_kib, 0);
	assert_int_equal(d->budget_kib, 0);
	assert_why(d, "stays on 1");
	assert_int_equal(x->s.n, 1);
	assert_set(&x->s.m[0].home, "1");
	assert_int_equal(x->s.m[0].moved_at, -1);
	fx_free(x);
}

/* Threads on 0, memory on 1, node 0 fine: node 1 scores 0.722 against
 * 0.285 (local 0 + 0.3 * 4.8/6.8 + 0.2 * 23.5/64): move, nothing to copy. */
static void test_threads_follow_memory(void **state)
{
	struct fx *x = two_nodes_vm_on_1(4, 0);
	const struct pol_decision *d;

	(void)state;
	assert_int_equal(decide(x, 5), 0);
	d = &x->r.d[0];
	assert_int_equal(d->verdict, POL_MOVE);
	assert_set(&d->home, "1");
	assert_near(d->score_home, 0.285202);
	assert_near(d->score_best, 0.721967);
	assert_int_equal(d->to_move_kib, 0);
	assert_int_equal(x->r.moves, 1);
	assert_why(d, "home 1 (score 0.72) beats 0 (0.29): move");
	assert_set(&x->s.m[0].home, "1");
	assert_set(&x->s.m[0].prev_home, "0");
	assert_int_equal(x->s.m[0].moved_at, 5);
	fx_free(x);
}

/* Threads on a full node 0 (4 busy of 3.4), memory on 1: node 0 has 0.4
 * CPU for a VM using 1, so it moves without needing any gain. */
static void test_badly_placed_moves(void **state)
{
	struct fx *x = fx_new(2);
	struct pol_vm *v;
	const struct pol_decision *d;

	(void)state;
	node(x, 0, 0, 4, 4.0, 16 * GIB, 8 * GIB);
	node(x, 1, 1, 4, 0.5, 16 * GIB, 8 * GIB);
	v = vm(x, 7, 2, 1.0);
	v->threads_on[0] = 2;
	v->mem_kib[1] = 4 * GIB;
	assert_int_equal(decide(x, 0), 0);
	d = &x->r.d[0];
	assert_int_equal(d->verdict, POL_MOVE);
	assert_set(&d->home, "1");
	assert_near(d->score_best, 0.761397);
	assert_why(d, "move to 1 (score 0.76): 0 lacks CPU room");
	fx_free(x);
}

/* State home 0, 95% of memory there: stays, the rest is not worth budget. */
static void test_local_stays(void **state)
{
	struct fx *x = fx_new(2);
	struct pol_vm *v;
	const struct pol_decision *d;

	(void)state;
	node(x, 0, 0, 8, 5.0, 32 * GIB, 16 * GIB);
	node(x, 1, 1, 8, 0.0, 32 * GIB, 16 * GIB);
	v = vm(x, 3, 4, 2.0);
	v->threads_on[0] = 4;
	v->mem_kib[0] = 9 * GIB + 512 * MIB;
	v->mem_kib[1] = 512 * MIB;
	remember(x, 3, "0", "", -1);
	assert_int_equal(decide(x, 1), 0);
	d = &x->r.d[0];
	assert_int_equal(d->verdict, POL_STAY);
	assert_set(&d->home, "0");
	assert_near(d->locality, 95);
	assert_int_equal(d->to_move_kib, 512 * MIB);
	assert_int_equal(d->budget_kib, 0);
	assert_int_equal(x->r.budget_kib, 0);
	fx_free(x);
}

/* Memory half on each node, home 0.  Node 1 has more CPU free:
 * 0 scores 0.25 + 0.3 * 2.8/6.8 + 0.2 * 11.5/32 = 0.445,
 * 1 scores 0.25 + 0.3 * 3.3/6.8 + 0.2 * 11.5/32 = 0.467: 4.95% better. */
static struct fx *split_vm(void)
{
	struct fx *x = fx_new(2);
	struct pol_vm *v;

	node(x, 0, 0, 8, 4.0, 32 * GIB, 16 * GIB);
	node(x, 1, 1, 8, 2.5, 32 * GIB, 16 * GIB);
	v = vm(x, 9, 2, 1.0);
	v->threads_on[0] = 2;
	v->mem_kib[0] = 4 * GIB;
	v->mem_kib[1] = 4 * GIB;
	remember(x, 9, "0", "", -1);
	return x;
}

static void test_min_gain(void **state)
{
	struct fx *x = split_vm();
	const struct pol_decision *d;

	(void)state;
	assert_int_equal(decide(x, 4), 0);
	d = &x->r.d[0];
	assert_int_equal(d->verdict, POL_SETTLE);
	assert_set(&d->home, "0");
	assert_near(d->score_home, 0.445404);
	assert_near(d->score_best, 0.467463);
	assert_near(d->locality, 50);
	assert_int_equal(d->to_move_kib, 4 * GIB);
	assert_int_equal(d->budget_kib, 1 * GIB);
	assert_why(d, "1 (0.47) not 10% better");
	assert_why(d, "(pass budget spent)");
	fx_free(x);

	x = split_vm();
	x->p.min_gain = 4;
	assert_int_equal(decide(x, 4), 0);
	d = &x->r.d[0];
	assert_int_equal(d->verdict, POL_MOVE);
	assert_set(&d->home, "1");
	assert_int_equal(d->to_move_kib, 4 * GIB);
	assert_int_equal(d->budget_kib, 1 * GIB);
	assert_set(&x->s.m[0].prev_home, "0");
	assert_int_equal(x->s.m[0].moved_at, 4);
	fx_free(x);

	/* Local enough: a better score elsewhere does not move it. */
	x = split_vm();
	x->p.min_gain = 4;
	x->p.target_locality = 50;
	assert_int_equal(decide(x, 4), 0);
	assert_int_equal(x->r.d[0].verdict, POL_STAY);
	assert_set(&x->r.d[0].home, "0");
	fx_free(x);
}

/* Moved to 0 at pass 7, and 0 has since lost its CPU room (busy 8 of
 * 6.8, its own 2 included): the move to 1 waits for the cooldown. */
static void test_cooldown(void **state)
{
	struct fx *x = two_nodes_vm_on_1(4, 0);
	const struct pol_decision *d;

	(void)state;
	x->in.node[0].cpu_busy = 8.0;
	remember(x, 1, "0", "", 7);
	assert_int_equal(decide(x, 10), 0);
	d = &x->r.d[0];
	assert_int_equal(d->verdict, POL_HELD);
	assert_set(&d->home, "0");
	assert_int_equal(d->budget_kib, 0);
	assert_why(d, "held: cooldown, moved 3 passes ago");
	assert_int_equal(x->r.moves, 0);
	assert_set(&x->s.m[0].home, "0");
	assert_int_equal(x->s.m[0].moved_at, 7);

	assert_int_equal(decide(x, 15), 0);
	d = &x->r.d[0];
	assert_int_equal(d->verdict, POL_MOVE);
	assert_set(&d->home, "1");
	assert_int_equal(x->s.m[0].moved_at, 15);
	assert_set(&x->s.m[0].prev_home, "0");
	fx_free(x);
}

/* Came from 1 nine passes ago and 0 has lost its CPU room: cooldown (8)
 * passed, but going back to 1 waits for twice the cooldown. */
static void test_ping_pong(void **state)
{
	struct fx *x = two_nodes_vm_on_1(4, 0);
	const struct pol_decision *d;

	(void)state;
	x->in.node[0].cpu_busy = 8.0;
	remember(x, 1, "0", "1", 0);
	assert_int_equal(decide(x, 9), 0);
	d = &x->r.d[0];
	assert_int_equal(d->verdict, POL_HELD);
	assert_why(d, "held: ping-pong, 1 was home until 9 passes ago");
	assert_int_equal(decide(x, 15), 0);
	assert_int_equal(x->r.d[0].verdict, POL_HELD);
	assert_int_equal(decide(x, 16), 0);
	assert_int_equal(x->r.d[0].verdict, POL_MOVE);
	assert_set(&x->s.m[0].prev_home, "0");
	fx_free(x);
}

/* Moved from 1 to 0 nine passes ago, all 8 GiB still on 1, 0 still has
 * room: it settles on 0 (no ping-pong hold, no move back) and, moved
 * last, gets the pass's budget before VM 2, a settling VM with 1 GiB left.
 * Then a VM moved this pass (node 0 lacks CPU room, 4 GiB to take along)
 * gets the budget before the same settling VM. */
static void test_settles_after_move(void **state)
{
	struct fx *x = two_nodes_vm_on_1(4, 0);
	struct pol_vm *v;
	const struct pol_decision *d;

	(void)state;
	remember(x, 1, "0", "1", 0);
	v = vm(x, 2, 2, 1.0);
	v->threads_on[1] = 2;
	v->mem_kib[0] = 1 * GIB;
	v->mem_kib[1] = 3 * GIB;
	remember(x, 2, "1", "", -1);
	assert_int_equal(decide(x, 9), 0);
	d = &x->r.d[0];
	assert_int_equal(d->verdict, POL_SETTLE);
	assert_set(&d->home, "0");
	assert_int_equal(d->to_move_kib, 8 * GIB);
	assert_int_equal(d->budget_kib, 1 * GIB);
	assert_why(d, "memory still moving to its home");
	assert_int_equal(x->r.d[1].verdict, POL_SETTLE);
	assert_int_equal(x->r.d[1].to_move_kib, 1 * GIB);
	assert_int_equal(x->r.d[1].budget_kib, 0);
	assert_int_equal(x->r.moves, 0);
	assert_set(&x->s.m[0].home, "0");
	assert_int_equal(x->s.m[0].moved_at, 0);
	fx_free(x);

	x = two_nodes_vm_on_1(4, 0);
	x->in.node[0].cpu_busy = 8.0;
	x->vm[0].mem_kib[1] = 0;
	x->vm[0].mem_kib[0] = 4 * GIB;
	v = vm(x, 2, 2, 1.0);
	v->threads_on[1] = 2;
	v->mem_kib[0] = 1 * GIB;
	v->mem_kib[1] = 3 * GIB;
	remember(x, 2, "1", "", -1);
	assert_int_equal(decide(x, 9), 0);
	d = &x->r.d[0];
	assert_int_equal(d->verdict, POL_MOVE);
	assert_set(&d->home, "1");
	assert_int_equal(d->to_move_kib, 4 * GIB);
	assert_int_equal(d->budget_kib, 1 * GIB);
	assert_int_equal(x->r.d[1].verdict, POL_SETTLE);
	assert_int_equal(x->r.d[1].budget_kib, 0);
	fx_free(x);
}

/* Three misplaced VMs, two moves per pass: the two largest go. */
static void test_max_moves(void **state)
{
	static const uint64_t gib[3] = { 2, 6, 4 };
	struct fx *x = fx_new(2);

	(void)state;
	node(x, 0, 0, 16, 3.0, 64 * GIB, 48 * GIB);
	node(x, 1, 1, 16, 3.0, 64 * GIB, 48 * GIB);
	for (int i = 0; i < 3; i++) {
		struct pol_vm *v = vm(x, 100 + i, 2, 1.0);

		v->threads_on[0] = 2;
		v->mem_kib[1] = gib[i] * GIB;
	}
	assert_int_equal(decide(x, 0), 0);
	assert_int_equal(x->r.moves, 2);
	assert_int_equal(x->r.d[0].verdict, POL_HELD);
	assert_why(&x->r.d[0], "held: 2 moves this pass already (max 2)");
	assert_int_equal(x->r.d[1].verdict, POL_MOVE);
	assert_int_equal(x->r.d[2].verdict, POL_MOVE);
	/* The held VM has no home yet: no state for it. */
	assert_int_equal(x->s.n, 2);
	assert_int_equal(x->s.m[0].key, 101);
	assert_int_equal(x->s.m[1].key, 102);
	fx_free(x);
}

/* Four VMs settling on node 0 with 300, 500, 700 and 1500 MiB still on
 * node 1; 1024 MiB per pass goes to the smallest first. */
static void test_budget(void **state)
{
	static const uint64_t rest[4] = { 1500, 300, 700, 500 };
	static const uint64_t want[4] = { 0, 300, 224, 500 };
	struct fx *x = fx_new(2);

	(void)state;
	node(x, 0, 0, 16, 4.0, 64 * GIB, 32 * GIB);
	node(x, 1, 1, 16, 4.0, 64 * GIB, 32 * GIB);
	for (int i = 0; i < 4; i++) {
		struct pol_vm *v = vm(x, 10 + i, 1, 1.0);

		v->threads_on[0] = 1;
		v->mem_kib[0] = (i == 0 ? 2 : 1) * GIB;
		v->mem_kib[1] = rest[i] * MIB;
		remember(x, 10 + i, "0", "", -1);
	}
	for (long pass = 0; pass < 3; pass++) {
		uint64_t sum = 0;

		assert_int_equal(decide(x, pass), 0);
		for (int i = 0; i < 4; i++) {
			assert_int_equal(x->r.d[i].verdict, POL_SETTLE);
			assert_int_equal(x->r.d[i].to_move_kib, rest[i] * MIB);
			assert_int_equal(x->r.d[i].budget_kib, want[i] * MIB);
			sum += x->r.d[i].budget_kib;
		}
		assert_int_equal(sum, x->r.budget_kib);
		assert_int_equal(sum, x->p.budget_kib);
	}
	assert_why(&x->r.d[0], "0 KiB this pass (pass budget spent)");
	fx_free(x);
}

/* Home 0 has 200 MiB above the reserve: settling there gets 200 MiB.  The
 * only home with room for all of it spans both nodes (score 0.38 against
 * 0.51): not worth a move. */
static void test_reserve(void **state)
{
	struct fx *x = fx_new(2);
	struct pol_vm *v;
	const struct pol_decision *d;

	(void)state;
	node(x, 0, 0, 8, 1.0, 16 * GIB, 712 * MIB);
	node(x, 1, 1, 8, 1.0, 16 * GIB, 612 * MIB);
	v = vm(x, 5, 1, 1.0);
	v->threads_on[0] = 1;
	v->mem_kib[0] = 1 * GIB;
	v->mem_kib[1] = 1 * GIB;
	remember(x, 5, "0", "", -1);
	assert_int_equal(decide(x, 0), 0);
	d = &x->r.d[0];
	assert_int_equal(d->verdict, POL_SETTLE);
	assert_set(&d->home, "0");
	assert_near(d->score_home, 0.505882);
	assert_near(d->score_best, 0.378857);
	assert_int_equal(d->to_move_kib, 1 * GIB);
	assert_int_equal(d->budget_kib, 200 * MIB);
	assert_why(d, "200 MiB this pass (reserve)");
	fx_free(x);
}

/* Four nodes of 4 CPUs, uneven distances; a VM needing 4 CPUs on node 3
 * (3.4 there) gets 3 and its nearest, 1 (14), not 2 (25) or 0 (30). */
static void test_two_nearest_nodes(void **state)
{
	static const int d4[16] = {
		10, 21, 12, 30,
		21, 10, 30, 16,
		13, 30, 10, 25,
		30, 14, 25, 10,
	};
	struct fx *x = fx_new(4);
	struct pol_vm *v;
	const struct pol_decision *d;

	(void)state;
	memcpy(x->dist, d4, sizeof(d4));
	for (int i = 0; i < 4; i++)
		node(x, i, i, 4, i == 3 ? 4.0 : 0.0, 16 * GIB, 12 * GIB);
	v = vm(x, 1, 6, 4.0);
	v->threads_on[3] = 6;
	v->mem_kib[3] = 4 * GIB;
	assert_int_equal(decide(x, 0), 0);
	d = &x->r.d[0];
	assert_int_equal(d->verdict, POL_MOVE);
	assert_set(&d->home, "1,3");
	/* compact 10/16 * (0.5 + 0.3 * 2.8/6.8 + 0.2 * 23/32) */
	assert_near(d->score_best, 0.479549);
	assert_near(d->locality, 100);
	fx_free(x);
}

/* Node 0: CPUs and memory; 1: CPUs only; 2: memory only. */
static struct fx *odd_nodes(double busy0, double busy1, uint64_t free0)
{
	struct fx *x = fx_new(3);

	node(x, 0, 0, 4, busy0, 16 * GIB, free0);
	node(x, 1, 1, 4, busy1, 0, 0);
	node(x, 2, 2, 0, 0.0, 64 * GIB, 60 * GIB);
	set_dist(x, 0, 1, 11);
	set_dist(x, 0, 2, 12);
	set_dist(x, 1, 2, 17);
	return x;
}

static void test_memoryless_and_cpuless(void **state)
{
	struct fx *x = odd_nodes(3.0, 3.0, 12 * GIB);
	struct pol_vm *v;
	const struct pol_decision *d;

	(void)state;
	/* 6 CPUs: node 0 and the memoryless node 1 together. */
	v = vm(x, 1, 6, 6.0);
	v->threads_on[0] = 3;
	v->threads_on[1] = 3;
	v->mem_kib[0] = 2 * GIB;
	assert_int_equal(decide(x, 0), 0);
	d = &x->r.d[0];
	assert_int_equal(d->verdict, POL_STAY);
	assert_set(&d->home, "0-1");
	fx_free(x);

	/* 20 GiB, half on the CPU-less node 2, node 0 has 13.5 GiB for it:
	 * node 2 joins for memory (0.83 * (0.5 + 0.3 * 2.4/3.4 + 0.2 * 63/80)
	 * = 0.724 against 0.462). */
	x = odd_nodes(1.0, 0.0, 4 * GIB);
	v = vm(x, 2, 2, 1.0);
	v->threads_on[0] = 2;
	v->mem_kib[0] = 10 * GIB;
	v->mem_kib[2] = 10 * GIB;
	assert_int_equal(decide(x, 0), 0);
	d = &x->r.d[0];
	assert_int_equal(d->verdict, POL_MOVE);
	assert_set(&d->home, "0,2");
	assert_near(d->score_home, 0.461765);
	assert_near(d->score_best, 0.724387);
	assert_int_equal(d->to_move_kib, 0);
	fx_free(x);
}

/* A new VM whose threads run on the memoryless node 1, its 2 GiB on the
 * CPU-less node 2, node 0 nearly busy (0.4 CPUs free): its current home
 * is node 1 grown by the nearest node with CPUs and memory, 0, never {1}
 * alone.  That is also the best home (10/11 * (0.3 * 2.8/6.8 + 0.2 *
 * 9.5/16) = 0.220): it settles there. */
static void test_memoryless_threads(void **state)
{
	struct fx *x = odd_nodes(3.0, 1.0, 12 * GIB);
	struct pol_vm *v;
	const struct pol_decision *d;

	(void)state;
	v = vm(x, 1, 2, 1.0);
	v->threads_on[1] = 2;
	v->mem_kib[2] = 2 * GIB;
	assert_int_equal(decide(x, 0), 0);
	d = &x->r.d[0];
	assert_int_equal(d->verdict, POL_SETTLE);
	assert_set(&d->home, "0-1");
	assert_near(d->score_home, 0.220254);
	assert_near(d->score_best, 0.220254);
	assert_int_equal(d->to_move_kib, 2 * GIB);
	assert_int_equal(d->budget_kib, 1 * GIB);
	assert_int_equal(x->s.n, 1);
	assert_set(&x->s.m[0].home, "0-1");
	fx_free(x);
}

/* Node ids 0, 2, 5 at indices 0, 1, 2; node 2 is full. */
static void test_id_gaps(void **state)
{
	struct fx *x = fx_new(3);
	struct pol_vm *v;

	(void)state;
	node(x, 0, 0, 4, 0.5, 16 * GIB, 8 * GIB);
	node(x, 1, 2, 4, 4.0, 16 * GIB, 8 * GIB);
	node(x, 2, 5, 4, 0.5, 16 * GIB, 8 * GIB);
	v = vm(x, 50, 2, 1.0);
	v->threads_on[1] = 2;
	v->mem_kib[2] = 4 * GIB;
	v = vm(x, 40, 1, 0.5);
	v->threads_on[0] = 1;
	v->mem_kib[0] = 2 * GIB;
	assert_int_equal(decide(x, 3), 0);
	assert_int_equal(x->r.d[0].verdict, POL_MOVE);
	assert_set(&x->r.d[0].home, "5");
	assert_why(&x->r.d[0], "move to 5");
	assert_int_equal(x->r.d[1].verdict, POL_STAY);
	assert_set(&x->r.d[1].home, "0");
	assert_int_equal(x->s.n, 2);
	assert_int_equal(x->s.m[0].key, 40);
	assert_int_equal(x->s.m[1].key, 50);
	assert_set(&x->s.m[1].home, "5");
	assert_set(&x->s.m[1].prev_home, "2");
	fx_free(x);
}

/* The misplaced VM of test_threads_follow_memory, but KSM shares 12 GiB
 * and only 2 GiB is movable: 14% < 25%, not worth a move. */
static void test_mostly_shared_held(void **state)
{
	struct fx *x = two_nodes_vm_on_1(4, 0);
	const struct pol_decision *d;

	(void)state;
	x->vm[0].mem_kib[1] = 2 * GIB;
	x->vm[0].shared_kib = 12 * GIB;
	assert_int_equal(decide(x, 0), 0);
	d = &x->r.d[0];
	assert_int_equal(d->verdict, POL_HELD);
	assert_set(&d->home, "0");
	assert_why(d, "held: mostly KSM-shared, 14% movable < 25%");
	assert_int_equal(x->s.n, 0);

	x->vm[0].shared_kib = 4 * GIB;  /* 33% movable */
	assert_int_equal(decide(x, 1), 0);
	assert_int_equal(x->r.d[0].verdict, POL_MOVE);
	fx_free(x);
}

static void test_left_alone(void **state)
{
	struct fx *x = two_nodes_vm_on_1(4, 0);
	const struct pol_decision *d;

	(void)state;
	x->vm[0].left_alone = true;
	x->vm[0].left_why = "pinned by an admin";
	remember(x, 1, "1", "", 3);
	assert_int_equal(decide(x, 20), 0);
	d = &x->r.d[0];
	assert_int_equal(d->verdict, POL_LEFT_ALONE);
	assert_true(idset_empty(&d->home));
	assert_int_equal(d->budget_kib, 0);
	assert_string_equal(d->why, "left alone: pinned by an admin");
	assert_int_equal(x->r.moves, 0);
	assert_int_equal(x->s.n, 1);
	assert_set(&x->s.m[0].home, "1");
	assert_int_equal(x->s.m[0].moved_at, 3);
	fx_free(x);
}

static void test_forgets_vanished(void **state)
{
	struct fx *x = fx_new(2);
	struct pol_vm *v;

	(void)state;
	node(x, 0, 0, 8, 2.0, 32 * GIB, 16 * GIB);
	node(x, 1, 1, 8, 2.0, 32 * GIB, 16 * GIB);
	v = vm(x, 20, 1, 1.0);
	v->threads_on[1] = 1;
	v->mem_kib[1] = 1 * GIB;
	v = vm(x, 10, 1, 1.0);
	v->threads_on[0] = 1;
	v->mem_kib[0] = 1 * GIB;
	assert_int_equal(decide(x, 0), 0);
	assert_int_equal(x->s.n, 2);
	assert_int_equal(x->s.m[0].key, 10);
	assert_int_equal(x->s.m[1].key, 20);
	x->in.nvms = 1;
	assert_int_equal(decide(x, 1), 0);
	assert_int_equal(x->s.n, 1);
	assert_int_equal(x->s.m[0].key, 20);
	assert_set(&x->s.m[0].home, "1");
	fx_free(x);
}

static void expect_einval(struct fx *x, long pass)
{
	const struct pol_memory *before = x->s.m;

	assert_int_equal(decide(x, pass), -EINVAL);
	assert_int_equal(x->r.n, 0);
	assert_null(x->r.d);
	assert_ptr_equal(x->s.m, before);
	assert_int_equal(x->s.n, 1);
	assert_int_equal(x->s.m[0].moved_at, 2);
}

static void test_malformed(void **state)
{
	struct fx *x = two_nodes_vm_on_1(4, 0);

	(void)state;
	remember(x, 1, "0", "", 2);
	x->in.nnodes = 0;
	expect_einval(x, 5);
	x->in.nnodes = POL_MAX_NODES + 1;
	expect_einval(x, 5);
	x->in.nnodes = 2;
	x->in.dist = NULL;
	expect_einval(x, 5);
	x->in.dist = x->dist;
	x->in.vm = NULL;
	expect_einval(x, 5);
	x->in.vm = x->vm;
	x->in.node[1].id = 0;           /* not ascending */
	expect_einval(x, 5);
	x->in.node[1].id = 1;
	x->in.node[1].ncpus = -1;
	expect_einval(x, 5);
	x->in.node[1].ncpus = 8;
	x->dist[1] = -10;
	expect_einval(x, 5);
	x->dist[1] = 20;
	x->vm[0].mem_kib[0] = UINT64_MAX;       /* beyond any host */
	expect_einval(x, 5);
	x->vm[0].mem_kib[0] = 0;
	expect_einval(x, -1);
	vm(x, 1, 1, 1.0);               /* same key twice */
	expect_einval(x, 5);
	x->in.nvms = 1;
	assert_int_equal(pol_decide(&x->in, NULL, 5, &x->s, &x->r), -EINVAL);
	assert_int_equal(decide(x, 5), 0);
	fx_free(x);
}

/* Node 0: 1.3 CPUs and 20 GiB free; node 1: 5.8 CPUs and 10 GiB free. */
static void test_suggest(void **state)
{
	struct fx *x = fx_new(2);
	struct idset home;

	(void)state;
	node(x, 0, 0, 8, 5.5, 32 * GIB, 20 * GIB);
	node(x, 1, 1, 8, 0.0, 32 * GIB, 10 * GIB);
	assert_int_equal(pol_suggest(&x->in, &x->p, 4, 4 * GIB, &home), 0);
	assert_set(&home, "1");
	/* 9.8 GiB fits node 1 only without the reserve. */
	assert_int_equal(pol_suggest(&x->in, &x->p, 1, 9800 * MIB, &home), 0);
	assert_set(&home, "0");
	x->p.reserve_kib = 0;
	assert_int_equal(pol_suggest(&x->in, &x->p, 1, 9800 * MIB, &home), 0);
	assert_set(&home, "1");
	x->p.reserve_kib = 512 * MIB;
	assert_int_equal(pol_suggest(&x->in, &x->p, 7, 4 * GIB, &home), 0);
	assert_set(&home, "0-1");
	assert_int_equal(pol_suggest(&x->in, &x->p, 20, 1 * GIB, &home),
	                 -ENOSPC);
	assert_set(&home, "0-1");
	assert_int_equal(pol_suggest(&x->in, &x->p, -1, 0, &home), -EINVAL);
	fx_free(x);
}

/* Nothing fits: the VM stays where it is, with the reason. */
static void test_no_fit(void **state)
{
	struct fx *x = fx_new(2);
	struct pol_vm *v;
	const struct pol_decision *d;

	(void)state;
	node(x, 0, 0, 4, 4.0, 16 * GIB, 8 * GIB);
	node(x, 1, 1, 4, 4.0, 16 * GIB, 8 * GIB);
	v = vm(x, 1, 4, 4.0);
	v->threads_on[0] = 4;
	v->mem_kib[0] = 4 * GIB;
	assert_int_equal(decide(x, 0), 0);
	d = &x->r.d[0];
	assert_int_equal(d->verdict, POL_NO_FIT);
	assert_true(idset_empty(&d->home));
	assert_why(d, "no home has 4 CPUs and 4.0 GiB free above the reserve");
	assert_int_equal(x->s.n, 0);
	fx_free(x);
}

/* Demand is what a VM uses: on one-CPU nodes (0.85 CPUs of room at 85 %),
 * an idle 2-vCPU VM fits one node; one using 1.5 CPUs does not, and gets
 * two. */
static void test_demand_is_use(void **state)
{
	struct fx *x = fx_new(2);
	struct pol_vm *v;

	(void)state;
	node(x, 0, 0, 1, 0.0, 4 * GIB, 3 * GIB);
	node(x, 1, 1, 1, 0.0, 4 * GIB, 3 * GIB);
	v = vm(x, 1, 2, 0.05);
	v->mem_kib[1] = 512 * MIB;
	v->threads_on[1] = 2;
	assert_int_equal(decide(x, 0), 0);
	assert_set(&x->r.d[0].home, "1");
	/* 1.5 CPUs measured while it ran elsewhere (no thread here now) */
	v->cpu_use = 1.5;
	v->threads_on[1] = 0;
	pol_state_free(&x->s);
	pol_state_init(&x->s);
	assert_int_equal(decide(x, 0), 0);
	assert_set(&x->r.d[0].home, "0-1");
	fx_free(x);
}

/* A home a few percent over capacity (load jitter) keeps its VM: node 0
 * (2 CPUs, 1.7 at 85 %) is busy 1.75 CPUs, 1.0 of it this VM's own. */
static void test_jitter_keeps_home(void **state)
{
	struct fx *x = fx_new(2);
	struct pol_vm *v;

	(void)state;
	node(x, 0, 0, 2, 1.75, 4 * GIB, 3 * GIB);
	node(x, 1, 1, 2, 0.0, 4 * GIB, 3 * GIB);
	v = vm(x, 1, 2, 1.0);
	v->mem_kib[0] = 512 * MIB;
	v->threads_on[0] = 2;
	remember(x, 1, "0", "", -1);
	assert_int_equal(decide(x, 20), 0);
	assert_int_equal(x->r.d[0].verdict, POL_STAY);
	/* 20 % over: it has to go */
	x->in.node[0].cpu_busy = 2.05;
	assert_int_equal(decide(x, 21), 0);
	assert_int_equal(x->r.d[0].verdict, POL_MOVE);
	assert_set(&x->r.d[0].home, "1");
	fx_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_demand_is_use),
		cmocka_unit_test(test_jitter_keeps_home),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_goes_where_memory_is),
		cmocka_unit_test(test_threads_follow_memory),
		cmocka_unit_test(test_badly_placed_moves),
		cmocka_unit_test(test_local_stays),
		cmocka_unit_test(test_min_gain),
		cmocka_unit_test(test_cooldown),
		cmocka_unit_test(test_ping_pong),
		cmocka_unit_test(test_settles_after_move),
		cmocka_unit_test(test_max_moves),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_two_nearest_nodes),
		cmocka_unit_test(test_memoryless_and_cpuless),
		cmocka_unit_test(test_memoryless_threads),
		cmocka_unit_test(test_id_gaps),
		cmocka_unit_test(test_mostly_shared_held),
		cmocka_unit_test(test_left_alone),
		cmocka_unit_test(test_forgets_vanished),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_suggest),
		cmocka_unit_test(test_no_fit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
