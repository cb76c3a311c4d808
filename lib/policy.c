/* policy.c - where each VM belongs (see policy.h).
 *
 * Choices made here:
 * - Demand: min(max(cpu_use, 0.1), nvcpus) CPUs (room for what a VM uses,
 *   not its allocation, as numad) and its movable memory (sum of mem_kib; what
 *   KSM shares stays where it is and is never asked for).
 * - Room for a VM on node i: CPUs ncpus * u / 100 - cpu_busy + its own use
 *   there (cpu_use split by threads_on); memory mem_free - reserve + its own
 *   memory there.  The pass keeps a working copy: every kept or new home is
 *   charged the VM's CPU use (taken off where its threads ran) and the memory
 *   still to come; memory leaving a node is credited only once observed.
 * - Candidates: each node with CPUs as a seed, grown by the nearest nodes
 *   (distance from the seed, then id) that add what is still short: CPUs
 *   (memoryless nodes too) or memory (CPU-less nodes too), then pruned of
 *   nodes it can do without.  Score = compact * (0.5 local + 0.3 CPU
 *   headroom + 0.2 memory headroom), compact = local distance / largest
 *   distance inside the set.  Fitting beats not fitting; ties go to fewer
 *   nodes, then the lower seed id.
 * - Current: the state's home; else the node where most of its threads run
 *   (then most memory, lowest id), grown over the nodes its threads ran on
 *   and, if none has memory (threads on a memoryless node), by the nearest
 *   node with CPUs and memory: a home always holds memory.  It stays valid
 *   while it has CPU room for the VM's actual use (and, for a VM with
 *   memory, a node with memory): memory never evicts a VM, the reserve only
 *   limits what moves in.  HELD and NO_FIT leave the VM there (NO_FIT
 *   reports only a home from the state).
 * - STAY when the current is valid and local; MOVE when the best beats it by
 *   min_gain (or it is not valid) and no gate says no; HELD when one does
 *   (mostly shared, cooldown, ping-pong = back to prev_home within 2 *
 *   cooldown, max_moves).  A gain too small keeps the home: SETTLE.
 * - Settling after a move: for 2 * cooldown after a move, a VM whose home
 *   is valid and has room for all its memory SETTLEs there (with budget)
 *   whatever scores better.  Right after a move the old home looks better:
 *   the memory is still there and the VM's own departure freed CPU room
 *   there; holding the VM (no budget) until the ping-pong gate opened sent
 *   it straight back.  A home that loses CPU room is left as before.
 * - Order: movable memory, then CPU demand, larger first, then input order.
 *   The budget goes to MOVE and SETTLE after all verdicts: first VMs moved
 *   within 2 * cooldown (earliest move first) so that their memory follows
 *   before that window ends, then least memory to move first; each share
 *   capped by its home's free memory above reserve.
 */
#include "policy.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define W_LOCAL 0.5
#define W_CPU 0.3
#define W_MEM 0.2
#define EPS 1e-9
#define STAY_SLACK 0.05                /* of capacity: overload a home may have and stay */
#define MIN_CPU 0.1                     /* CPUs: the least demand of a VM */
#define GIB_KIB (1024 * 1024)
#define MAX_KIB (UINT64_C(1) << 50)    /* an exbibyte: sums cannot overflow */
#define MIN_MOVABLE 0.25                /* pol_params.min_movable: not a setting */

/* The host during one pass, by node index. */
struct host {
	const struct pol_input *in;
	const struct pol_params *p;
	int n;
	double cap[POL_MAX_NODES];      /* CPUs: ncpus * u / 100 */
	double cpu_free[POL_MAX_NODES]; /* cap - busy - charged this pass */
	int64_t mem_free[POL_MAX_NODES];/* above the reserve, less claims */
	int64_t room[POL_MAX_NODES];    /* as observed, less budget handed out */
	uint64_t cpu_mask;              /* nodes with CPUs */
	uint64_t mem_mask;              /* nodes with memory */
	uint8_t order[POL_MAX_NODES][POL_MAX_NODES]; /* others, nearest first */
};

/* One VM's demand and its room on every node. */
struct need {
	const struct pol_vm *vm;        /* NULL for pol_suggest */
	double cpu, use;                /* CPUs to find, CPUs used */
	uint64_t mem;                   /* movable memory */
	double own[POL_MAX_NODES];      /* its CPU use per node */
	double cpu_av[POL_MAX_NODES];
	int64_t mem_av[POL_MAX_NODES];
};

struct cand {
	uint64_t mask;                  /* node indices */
	double cpu, cover, score;
	int64_t mem;
	bool fits;
};

enum gate { G_NONE, G_SHARED, G_COOLDOWN, G_PINGPONG, G_MAXMOVES };
enum limit { L_NONE, L_BUDGET, L_RESERVE };

/* What a decision needs besides pol_decision to explain itself. */
struct work {
	struct cand cur, best;
	bool cur_ok;
	bool settling;                  /* moved here, memory still following */
	long moved_at;                  /* pass of that move or of this MOVE; -1 */
	enum gate gate;
	enum limit limit;
	long ago;                       /* passes since the last move */
	int moves;                      /* moves granted before this VM */
	double movable;                 /* fraction of memory not shared */
	double cpu;                     /* demand, for the reasons */
	uint64_t mem;
};

static const char *const verdict_names[] = {
	[POL_STAY] = "stay", [POL_SETTLE] = "settle", [POL_MOVE] = "move",
	[POL_HELD] = "held", [POL_NO_FIT] = "no-fit",
	[POL_LEFT_ALONE] = "left-alone",
};

const char *pol_verdict_name(enum pol_verdict v)
{
	if ((unsigned)v >= sizeof(verdict_names) / sizeof(verdict_names[0]))
		return "?";
	return verdict_names[v];
}

void pol_params_from_cfg(struct pol_params *p, const struct cfg *cfg)
{
	memset(p, 0, sizeof(*p));
	p->target_utilization = cfg->target_utilization;
	p->target_locality = cfg->target_locality;
	p->reserve_kib = cfg->reserve_mb * 1024;
	p->min_gain = cfg->min_gain;
	p->cooldown = cfg->cooldown;
	p->max_moves = cfg->max_moves;
	p->budget_kib = cfg->interval_budget_mb * 1024;
	p->min_movable = MIN_MOVABLE;
}

void pol_params_default(struct pol_params *p)
{
	struct cfg d;

	cfg_defaults(&d);
	pol_params_from_cfg(p, &d);
}

void pol_state_init(struct pol_state *s)
{
	memset(s, 0, sizeof(*s));
}

void pol_state_free(struct pol_state *s)
{
	free(s->m);
	pol_state_init(s);
}

void pol_result_free(struct pol_result *out)
{
	free(out->d);
	memset(out, 0, sizeof(*out));
}

static int64_t clamp0(int64_t v)
{
	return v > 0 ? v : 0;
}

static double pos(double v)
{
	return v > 0 ? v : 0;
}

static double clamp01(double v)
{
	return v < 0 ? 0 : v > 1 ? 1 : v;
}

static double sane(double v)
{
	return v >= 0 && v < 1e12 ? v : 0;     /* also NaN */
}

static bool valid_vm(const struct pol_vm *vm, int nnodes)
{
	if (vm->shared_kib > MAX_KIB)
		return false;
	for (int i = 0; i < nnodes; i++)
		if (vm->mem_kib[i] > MAX_KIB)
			return false;
	return true;
}

static int valid_input(const struct pol_input *in)
{
	if (!in || in->nnodes < 1 || in->nnodes > POL_MAX_NODES || !in->dist)
		return -EINVAL;
	if (in->nvms < 0 || (in->nvms > 0 && !in->vm))
		return -EINVAL;
	for (int i = 0; i < in->nnodes; i++) {
		const struct pol_node *n = &in->node[i];

		if (n->id < 0 || n->id >= IDSET_MAX || n->ncpus < 0 ||
		    (i > 0 && n->id <= in->node[i - 1].id) ||
		    n->mem_free_kib > MAX_KIB || n->mem_total_kib > MAX_KIB)
			return -EINVAL;
	}
	for (int i = 0; i < in->nnodes * in->nnodes; i++)
		if (in->dist[i] < 0)
			return -EINVAL;
	for (int i = 0; i < in->nvms; i++)
		if (!valid_vm(&in->vm[i], in->nnodes))
			return -EINVAL;
	return 0;
}

static int dist(const struct host *h, int a, int b)
{
	return h->in->dist[a * h->n + b];
}

/* Other nodes by distance from SEED, then index (= id order). */
static void sort_order(struct host *h, int seed)
{
	uint8_t *o = h->order[seed];
	int k = 0;

	for (int j = 0; j < h->n; j++) {
		if (j == seed)
			continue;
		int at = k++;

		while (at > 0 && dist(h, seed, o[at - 1]) > dist(h, seed, j)) {
			o[at] = o[at - 1];
			at--;
		}
		o[at] = (uint8_t)j;
	}
}

static void host_init(struct host *h, const struct pol_input *in,
                      const struct pol_params *p)
{
	int64_t reserve = (int64_t)(p->reserve_kib < MAX_KIB ?
	                            p->reserve_kib : MAX_KIB);

	memset(h, 0, sizeof(*h));
	h->in = in;
	h->p = p;
	h->n = in->nnodes;
	for (int i = 0; i < h->n; i++) {
		const struct pol_node *n = &in->node[i];

		h->cap[i] = n->ncpus * (double)p->target_utilization / 100;
		h->cpu_free[i] = h->cap[i] - sane(n->cpu_busy);
		if (n->has_memory)
			h->mem_free[i] = (int64_t)n->mem_free_kib - reserve;
		h->room[i] = clamp0(h->mem_free[i]);
		if (n->ncpus > 0)
			h->cpu_mask |= UINT64_C(1) << i;
		if (n->has_memory)
			h->mem_mask |= UINT64_C(1) << i;
		sort_order(h, i);
	}
}

/* What a VM uses, not its allocation (numad's measure): an idle VM with 8
 * vCPUs fits on a node with one free CPU.  MIN_CPU keeps some room for a VM
 * that was idle when measured. */
static double cpu_demand(const struct pol_vm *vm)
{
	double want = sane(vm->cpu_use);
	int nv = vm->nvcpus > 0 ? vm->nvcpus : 1;

	if (want < MIN_CPU)
		want = MIN_CPU;
	return want > nv ? nv : want;
}

static void need_init(struct need *nd, const struct host *h,
                      const struct pol_vm *vm)
{
	long threads = 0;

	memset(nd, 0, sizeof(*nd));
	nd->vm = vm;
	nd->use = sane(vm->cpu_use);
	nd->cpu = cpu_demand(vm);
	for (int i = 0; i < h->n; i++) {
		nd->mem += vm->mem_kib[i];
		threads += vm->threads_on[i] > 0 ? vm->threads_on[i] : 0;
	}
	for (int i = 0; i < h->n; i++) {
		if (threads > 0 && vm->threads_on[i] > 0)
			nd->own[i] = nd->use * vm->threads_on[i] / threads;
		nd->cpu_av[i] = h->cpu_free[i] + nd->own[i];
		if (h->in->node[i].has_memory)
			nd->mem_av[i] = h->mem_free[i] + (int64_t)vm->mem_kib[i];
	}
}

#define FOREACH_BIT(i, mask) \
	for (uint64_t m_ = (mask); m_ && ((i) = __builtin_ctzll(m_), 1); \
	     m_ &= m_ - 1)

static uint64_t on_nodes(const struct need *nd, uint64_t mask)
{
	uint64_t on = 0;
	int i;

	if (!nd->vm)
		return 0;
	FOREACH_BIT(i, mask)
		on += nd->vm->mem_kib[i];
	return on;
}

static double compact(const struct host *h, uint64_t mask)
{
	int lo = 0, hi = 0, i, j;

	FOREACH_BIT(i, mask) {
		if (lo == 0 || dist(h, i, i) < lo)
			lo = dist(h, i, i);
		for (j = 0; j < h->n; j++)
			if ((mask >> j & 1) && dist(h, i, j) > hi)
				hi = dist(h, i, j);
	}
	return lo > 0 && hi > 0 ? (double)lo / hi : 1;
}

/* Fills C's sums, fit and score for the node set MASK. */
static void cand_eval(const struct host *h, const struct need *nd,
                      uint64_t mask, struct cand *c)
{
	double cap = 0, total = 0, local, hc, hm;
	int i;

	memset(c, 0, sizeof(*c));
	c->mask = mask;
	FOREACH_BIT(i, mask) {
		c->cpu += pos(nd->cpu_av[i]);
		c->mem += clamp0(nd->mem_av[i]);
		cap += h->cap[i];
		if (h->in->node[i].has_memory)
			total += (double)h->in->node[i].mem_total_kib;
	}
	c->fits = cap > 0 && c->cpu >= nd->cpu - EPS &&
	          c->mem >= (int64_t)nd->mem;
	c->cover = c->cpu / nd->cpu;
	if (nd->mem && (double)c->mem / nd->mem < c->cover)
		c->cover = (double)c->mem / nd->mem;
	local = nd->mem ? (double)on_nodes(nd, mask) / nd->mem : 1;
	hc = cap > 0 ? clamp01((c->cpu - nd->cpu) / cap) : 0;
	hm = total > 0 ? clamp01((c->mem - (double)nd->mem) / total) : 0;
	c->score = compact(h, mask) * (W_LOCAL * local + W_CPU * hc + W_MEM * hm);
}

/* Drops from ADDED (in order of addition) every node but the last that the
 * set can do without: a home has no node it does not need. */
static uint64_t prune(const struct host *h, const struct need *nd,
                      const uint8_t *added, int n, double cpu, int64_t mem)
{
	uint64_t mask = 0;
	double have_cpu = 0;
	int64_t have_mem = 0;

	for (int k = 0; k < n; k++) {
		mask |= UINT64_C(1) << added[k];
		have_cpu += pos(nd->cpu_av[added[k]]);
		have_mem += clamp0(nd->mem_av[added[k]]);
	}
	for (int k = n - 2; k >= 0; k--) {
		int j = added[k];
		uint64_t rest = mask & ~(UINT64_C(1) << j);

		if (have_cpu - pos(nd->cpu_av[j]) >= cpu - EPS &&
		    have_mem - clamp0(nd->mem_av[j]) >= mem &&
		    (rest & h->cpu_mask)) {
			mask = rest;
			have_cpu -= pos(nd->cpu_av[j]);
			have_mem -= clamp0(nd->mem_av[j]);
		}
	}
	return mask;
}

/* SEED plus its nearest nodes in ALLOW that add what is still short of
 * CPU and MEM, less those it can then do without. */
static void grow(const struct host *h, const struct need *nd, int seed,
                 double cpu, int64_t mem, uint64_t allow, struct cand *c)
{
	uint8_t added[POL_MAX_NODES];
	double have_cpu = pos(nd->cpu_av[seed]);
	int64_t have_mem = clamp0(nd->mem_av[seed]);
	int n = 0;

	added[n++] = (uint8_t)seed;
	for (int k = 0; k < h->n - 1; k++) {
		int j = h->order[seed][k];
		bool short_cpu = have_cpu < cpu - EPS, short_mem = have_mem < mem;

		if (!short_cpu && !short_mem)
			break;
		if (!(allow >> j & 1))
			continue;
		if ((short_cpu && nd->cpu_av[j] > EPS) ||
		    (short_mem && nd->mem_av[j] > 0)) {
			added[n++] = (uint8_t)j;
			have_cpu += pos(nd->cpu_av[j]);
			have_mem += clamp0(nd->mem_av[j]);
		}
	}
	cand_eval(h, nd, prune(h, nd, added, n, cpu, mem), c);
}

static bool better(const struct cand *a, const struct cand *b)
{
	if (a->fits != b->fits)
		return a->fits;
	if (!a->fits && a->cover != b->cover)
		return a->cover > b->cover;
	if (a->score != b->score)
		return a->score > b->score;
	return __builtin_popcountll(a->mask) < __builtin_popcountll(b->mask);
}

/* The best home over all seeds; mask 0 if the host has no CPU. */
static void best_home(const struct host *h, const struct need *nd,
                      struct cand *best)
{
	struct cand c;

	memset(best, 0, sizeof(*best));
	for (int s = 0; s < h->n; s++) {
		if (h->in->node[s].ncpus == 0)
			continue;
		grow(h, nd, s, nd->cpu, (int64_t)nd->mem, ~UINT64_C(0), &c);
		if (!best->mask || better(&c, best))
			*best = c;
	}
}

static uint64_t mask_of(const struct host *h, const struct idset *ids)
{
	uint64_t mask = 0;

	for (int i = 0; i < h->n; i++)
		if (idset_has(ids, h->in->node[i].id))
			mask |= UINT64_C(1) << i;
	return mask;
}

static void ids_of(const struct host *h, uint64_t mask, struct idset *ids)
{
	int i;

	idset_clear(ids);
	FOREACH_BIT(i, mask)
		idset_add(ids, h->in->node[i].id);
}

/* Where an unplaced VM is: the CPU node running most of its threads. */
static int where_now(const struct host *h, const struct pol_vm *vm)
{
	int seed = -1;

	for (int i = 0; i < h->n; i++) {
		if (h->in->node[i].ncpus == 0 ||
		    (vm->threads_on[i] <= 0 && vm->mem_kib[i] == 0))
			continue;
		if (seed < 0 || vm->threads_on[i] > vm->threads_on[seed] ||
		    (vm->threads_on[i] == vm->threads_on[seed] &&
		     vm->mem_kib[i] > vm->mem_kib[seed]))
			seed = i;
	}
	return seed;
}

/* The nodes its threads ran on, and SEED. */
static uint64_t ran_on(const struct host *h, const struct pol_vm *vm, int seed)
{
	uint64_t mask = UINT64_C(1) << seed;

	for (int i = 0; i < h->n; i++)
		if (vm->threads_on[i] > 0)
			mask |= UINT64_C(1) << i;
	return mask;
}

/* Adds to C, when the VM has memory and no node of C does, the nearest
 * node to SEED with CPUs and memory: threads on a memoryless node keep
 * their memory elsewhere, and a home must hold some. */
static void add_memory(const struct host *h, const struct need *nd, int seed,
                       struct cand *c)
{
	if (!nd->mem || (c->mask & h->mem_mask))
		return;
	for (int k = 0; k < h->n - 1; k++) {
		int j = h->order[seed][k];

		if (h->cpu_mask & h->mem_mask & UINT64_C(1) << j) {
			cand_eval(h, nd, c->mask | UINT64_C(1) << j, c);
			return;
		}
	}
}

/* The current home (state or where it runs) and whether it is valid: CPU
 * room for the VM's actual use, less STAY_SLACK of the home's capacity (so
 * load that jitters around a full node does not push VMs out), and, when it
 * has memory, a node with memory. */
static bool current(const struct host *h, const struct need *nd,
                    const struct pol_memory *m, struct cand *cur)
{
	double use = nd->use < nd->cpu ? nd->use : nd->cpu;
	uint64_t mask = m ? mask_of(h, &m->home) : 0;
	double cap = 0;
	int seed, i;

	memset(cur, 0, sizeof(*cur));
	if (mask)
		cand_eval(h, nd, mask, cur);
	else if ((seed = where_now(h, nd->vm)) >= 0) {
		grow(h, nd, seed, use, 0, ran_on(h, nd->vm, seed), cur);
		add_memory(h, nd, seed, cur);
	} else
		return false;
	FOREACH_BIT(i, cur->mask)
		cap += h->cap[i];
	return cap > 0 && cur->cpu >= use - STAY_SLACK * cap - EPS &&
	       (!nd->mem || (cur->mask & h->mem_mask));
}

/* Charges home MASK with the VM: CPU use and memory still to come. */
static void charge(struct host *h, const struct need *nd, uint64_t mask)
{
	int64_t claim = (int64_t)(nd->mem - on_nodes(nd, mask));
	int ncpus = 0, i;

	FOREACH_BIT(i, mask)
		ncpus += h->in->node[i].ncpus;
	for (i = 0; i < h->n; i++)
		h->cpu_free[i] += nd->own[i];
	FOREACH_BIT(i, mask) {
		int64_t take = clamp0(h->mem_free[i]);

		if (ncpus > 0)
			h->cpu_free[i] -= nd->use * h->in->node[i].ncpus / ncpus;
		take = take < claim ? take : claim;
		h->mem_free[i] -= take;
		claim -= take;
	}
}

static const struct pol_memory *recall(const struct pol_state *s, uint64_t key)
{
	int lo = 0, hi = s->n;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (s->m[mid].key == key)
			return &s->m[mid];
		if (s->m[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static enum gate gate(const struct host *h, const struct pol_memory *m,
                      long pass, int moves, struct work *w)
{
	const struct pol_params *p = h->p;

	if (w->movable < p->min_movable)
		return G_SHARED;
	if (m && m->moved_at >= 0) {
		w->ago = pass - m->moved_at;
		if (w->ago < (long)p->cooldown)
			return G_COOLDOWN;
		if (w->ago < 2L * p->cooldown &&
		    mask_of(h, &m->prev_home) == w->best.mask)
			return G_PINGPONG;
	}
	if ((unsigned)moves >= p->max_moves)
		return G_MAXMOVES;
	return G_NONE;
}

static bool gains(const struct pol_params *p, const struct work *w)
{
	if (!w->cur_ok)
		return true;
	return w->best.score > w->cur.score &&
	       w->best.score >= w->cur.score * (1 + p->min_gain / 100.0);
}

static void fill_home(const struct host *h, const struct need *nd,
                      uint64_t mask, struct pol_decision *d)
{
	uint64_t on = on_nodes(nd, mask);

	ids_of(h, mask, &d->home);
	d->locality = nd->mem ? 100.0 * on / nd->mem : 100;
	d->to_move_kib = mask ? nd->mem - on : 0;
}

/* Whether the VM, not local yet, settles on the home it was moved to
 * less than 2 * cooldown ago whatever now scores better (see the top
 * comment): that home still has room for its use and all its memory. */
static bool settling(const struct host *h, const struct pol_memory *m,
                     long pass, const struct work *w)
{
	return m && m->moved_at >= 0 &&
	       pass - m->moved_at < 2L * h->p->cooldown &&
	       w->cur_ok && w->cur.fits &&
	       w->cur.mask == mask_of(h, &m->home);
}

/* The verdict for one VM; returns the home to charge (0: none). */
static uint64_t verdict(const struct host *h, const struct need *nd,
                        const struct pol_memory *m, long pass, int moves,
                        struct work *w, struct pol_decision *d)
{
	uint64_t keep;

	best_home(h, nd, &w->best);
	w->cur_ok = current(h, nd, m, &w->cur);
	if (!w->cur.mask)
		w->cur = w->best, w->cur_ok = w->best.fits;
	keep = w->cur.mask;
	fill_home(h, nd, keep, d);
	if (w->cur_ok && d->locality >= h->p->target_locality) {
		d->verdict = POL_STAY;
		return keep;
	}
	w->settling = settling(h, m, pass, w);
	if (w->settling) {
		w->moved_at = m->moved_at;
		d->verdict = POL_SETTLE;
		return keep;
	}
	if (w->best.fits && w->best.mask != keep && gains(h->p, w)) {
		w->gate = gate(h, m, pass, moves, w);
		/* held by cooldown or ping-pong where it is fine: keep settling
		 * there, or it would wait without memory and later go back */
		if ((w->gate == G_COOLDOWN || w->gate == G_PINGPONG) && w->cur_ok) {
			w->gate = G_NONE;
			d->verdict = POL_SETTLE;
			return keep;
		}
		d->verdict = w->gate == G_NONE ? POL_MOVE : POL_HELD;
		if (d->verdict == POL_HELD)
			return 0;
		fill_home(h, nd, w->best.mask, d);
		w->moved_at = pass;
		return w->best.mask;
	}
	if (w->cur_ok) {
		d->verdict = POL_SETTLE;
		return keep;
	}
	d->verdict = POL_NO_FIT;
	fill_home(h, nd, m ? mask_of(h, &m->home) : 0, d);
	return 0;
}

static void decide_one(struct host *h, const struct pol_vm *vm,
                       const struct pol_memory *m, long pass, int moves,
                       struct work *w, struct pol_decision *d)
{
	struct need nd;
	uint64_t home;

	w->moved_at = -1;
	if (vm->left_alone) {
		d->verdict = POL_LEFT_ALONE;
		return;
	}
	need_init(&nd, h, vm);
	w->movable = nd.mem + vm->shared_kib ?
	             (double)nd.mem / (nd.mem + vm->shared_kib) : 1;
	w->moves = moves;
	w->cpu = nd.cpu;
	w->mem = nd.mem;
	home = verdict(h, &nd, m, pass, moves, w, d);
	d->score_home = w->cur.score;
	d->score_best = w->best.score;
	if (home)
		charge(h, &nd, home);
}

struct rank {
	int vm;
	uint64_t mem;
	double cpu;
	long moved_at;                  /* hand_budget: -1 unless just moved */
};

static int by_demand(const void *a, const void *b)
{
	const struct rank *x = a, *y = b;

	if (x->mem != y->mem)
		return x->mem > y->mem ? -1 : 1;
	if (x->cpu != y->cpu)
		return x->cpu > y->cpu ? -1 : 1;
	return x->vm - y->vm;
}

static int by_left(const void *a, const void *b)
{
	const struct rank *x = a, *y = b;

	if ((x->moved_at < 0) != (y->moved_at < 0))
		return x->moved_at < 0 ? 1 : -1;
	if (x->moved_at != y->moved_at)
		return x->moved_at < y->moved_at ? -1 : 1;
	if (x->mem != y->mem)
		return x->mem < y->mem ? -1 : 1;
	return x->vm - y->vm;
}

static int by_key(const void *a, const void *b)
{
	const struct pol_memory *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

static int by_u64(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

/* Fills R with the VMs in evaluation order; -EINVAL on a duplicate key. */
static int rank_vms(const struct host *h, struct rank *r, uint64_t *keys)
{
	const struct pol_input *in = h->in;

	for (int i = 0; i < in->nvms; i++) {
		keys[i] = in->vm[i].key;
		r[i].vm = i;
		r[i].mem = 0;
		for (int j = 0; j < h->n; j++)
			r[i].mem += in->vm[i].mem_kib[j];
		r[i].cpu = cpu_demand(&in->vm[i]);
	}
	qsort(keys, in->nvms, sizeof(*keys), by_u64);
	for (int i = 1; i < in->nvms; i++)
		if (keys[i] == keys[i - 1])
			return -EINVAL;
	qsort(r, in->nvms, sizeof(*r), by_demand);
	return 0;
}

/* Hands the pass's budget to MOVE and SETTLE, VMs just moved first (the
 * earliest move first), then least left first, never below the reserve on
 * a home node.  R is scratch space. */
static void hand_budget(struct host *h, struct pol_result *out,
                        struct work *w, struct rank *r)
{
	uint64_t left = h->p->budget_kib;
	int n = 0, i;

	for (int k = 0; k < out->n; k++) {
		const struct pol_decision *d = &out->d[k];

		if ((d->verdict == POL_MOVE || d->verdict == POL_SETTLE) &&
		    d->to_move_kib > 0)
			r[n++] = (struct rank){ .vm = k, .mem = d->to_move_kib,
			                        .moved_at = w[k].moved_at };
	}
	qsort(r, n, sizeof(*r), by_left);
	for (int k = 0; k < n; k++) {
		struct pol_decision *d = &out->d[r[k].vm];
		uint64_t mask = mask_of(h, &d->home), give, room = 0;

		give = d->to_move_kib < left ? d->to_move_kib : left;
		FOREACH_BIT(i, mask)
			room += (uint64_t)clamp0(h->room[i]);
		if (room < give)
			give = room, w[r[k].vm].limit = L_RESERVE;
		else if (give < d->to_move_kib)
			w[r[k].vm].limit = L_BUDGET;
		d->budget_kib = give;
		left -= give;
		out->budget_kib += give;
		FOREACH_BIT(i, mask) {
			uint64_t take = (uint64_t)clamp0(h->room[i]);

			take = take < give ? take : give;
			h->room[i] -= (int64_t)take;
			give -= take;
		}
	}
}

static const char *kib_str(uint64_t kib, char *buf, size_t size)
{
	if (kib >= GIB_KIB)
		snprintf(buf, size, "%.1f GiB", (double)kib / GIB_KIB);
	else if (kib >= 1024)
		snprintf(buf, size, "%" PRIu64 " MiB", kib / 1024);
	else
		snprintf(buf, size, "%" PRIu64 " KiB", kib);
	return buf;
}

static const char *set_str(const struct host *h, uint64_t mask, char *buf,
                           size_t size)
{
	struct idset ids;

	ids_of(h, mask, &ids);
	idset_format(&ids, buf, size);
	if (!mask)
		snprintf(buf, size, "none");
	return buf;
}

/* Appends to D's why, truncating. */
__attribute__((format(printf, 2, 3)))
static void put(struct pol_decision *d, const char *fmt, ...)
{
	size_t at = strlen(d->why);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->why + at, sizeof(d->why) - at, fmt, ap);
	va_end(ap);
}

#define SET(mask) set_str(h, (mask), (char[128]){ 0 }, 128)
#define KIB(kib) kib_str((kib), (char[32]){ 0 }, 32)

static void explain_memory(const struct pol_decision *dc, const struct work *w,
                           struct pol_decision *d)
{
	put(d, ", %s to move, %s this pass", KIB(dc->to_move_kib),
	    KIB(dc->budget_kib));
	if (w->limit == L_RESERVE)
		put(d, " (reserve)");
	else if (w->limit == L_BUDGET)
		put(d, " (pass budget spent)");
}

static void explain_gate(const struct host *h, const struct work *w,
                         struct pol_decision *d)
{
	switch (w->gate) {
	case G_SHARED:
		put(d, "held: mostly KSM-shared, %.0f%% movable < %.0f%%",
		    100 * w->movable, 100 * h->p->min_movable);
		break;
	case G_COOLDOWN:
		put(d, "held: cooldown, moved %ld passes ago (cooldown %u)",
		    w->ago, h->p->cooldown);
		break;
	case G_PINGPONG:
		put(d, "held: ping-pong, %s was home until %ld passes ago",
		    SET(w->best.mask), w->ago);
		break;
	default:
		put(d, "held: %d moves this pass already (max %u)", w->moves,
		    h->p->max_moves);
		break;
	}
	put(d, "; %s (%.2f) would replace %s (%.2f)", SET(w->best.mask),
	    w->best.score, SET(w->cur.mask), w->cur.score);
}

static void explain_keep(const struct host *h, const struct work *w,
                         struct pol_decision *d)
{
	put(d, "keeps %s (score %.2f)", SET(w->cur.mask), w->cur.score);
	if (w->settling)
		put(d, ", memory still moving to its home");
	else if (w->best.fits && w->best.mask != w->cur.mask)
		put(d, ", %s (%.2f) not %u%% better", SET(w->best.mask),
		    w->best.score, h->p->min_gain);
	put(d, ": %.0f%% local < %u%%", d->locality, h->p->target_locality);
	explain_memory(d, w, d);
}

static void explain(const struct host *h, const struct pol_vm *vm,
                    const struct work *w, struct pol_decision *d)
{
	d->why[0] = 0;
	switch (d->verdict) {
	case POL_LEFT_ALONE:
		put(d, "left alone: %s", vm->left_why ? vm->left_why : "marked");
		break;
	case POL_STAY:
		put(d, "stays on %s (score %.2f): %.0f%% local",
		    SET(w->cur.mask), w->cur.score, d->locality);
		break;
	case POL_SETTLE:
		explain_keep(h, w, d);
		break;
	case POL_MOVE:
		if (w->cur_ok)
			put(d, "home %s (score %.2f) beats %s (%.2f): move",
			    SET(w->best.mask), w->best.score,
			    SET(w->cur.mask), w->cur.score);
		else
			put(d, "move to %s (score %.2f): %s lacks CPU room",
			    SET(w->best.mask), w->best.score, SET(w->cur.mask));
		explain_memory(d, w, d);
		break;
	case POL_HELD:
		explain_gate(h, w, d);
		break;
	case POL_NO_FIT:
		put(d, "no home has %.0f CPUs and %s free above the reserve "
		    "(best %s: %.1f CPUs, %s)", w->cpu, KIB(w->mem),
		    SET(w->best.mask), w->best.cpu,
		    KIB((uint64_t)w->best.mem));
		break;
	}
}

/* The next state: an entry per VM that has a home, by key. */
static void next_state(const struct host *h, const struct pol_state *s,
                       const struct pol_result *out, const struct work *w,
                       long pass, struct pol_memory *m, int *n)
{
	*n = 0;
	for (int k = 0; k < out->n; k++) {
		const struct pol_decision *d = &out->d[k];
		const struct pol_memory *old = recall(s, h->in->vm[k].key);
		struct pol_memory *e = &m[*n];

		if (old)
			*e = *old;
		else if (d->verdict == POL_STAY || d->verdict == POL_SETTLE ||
		         d->verdict == POL_MOVE) {
			e->key = h->in->vm[k].key;
			idset_clear(&e->prev_home);
			e->moved_at = -1;
		} else
			continue;
		(*n)++;
		if (d->verdict == POL_STAY || d->verdict == POL_SETTLE)
			e->home = d->home;
		if (d->verdict == POL_MOVE) {
			ids_of(h, w[k].cur.mask, &e->prev_home);
			e->home = d->home;
			e->moved_at = pass;
		}
	}
	qsort(m, *n, sizeof(*m), by_key);
}

struct scratch {
	struct host h;
	struct work *w;
	struct rank *r;
	uint64_t *keys;
	struct pol_memory *m;
	struct pol_decision *d;
};

static void scratch_free(struct scratch *x)
{
	free(x->w);
	free(x->r);
	free(x->keys);
	free(x->m);
	free(x->d);
}

static int scratch_alloc(struct scratch *x, int nvms)
{
	size_t n = nvms > 0 ? (size_t)nvms : 1;

	x->w = calloc(n, sizeof(*x->w));
	x->r = calloc(n, sizeof(*x->r));
	x->keys = calloc(n, sizeof(*x->keys));
	x->m = calloc(n, sizeof(*x->m));
	x->d = calloc(n, sizeof(*x->d));
	if (x->w && x->r && x->keys && x->m && x->d)
		return 0;
	scratch_free(x);
	return -ENOMEM;
}

static void decide_all(struct scratch *x, const struct pol_state *s,
                       long pass, struct pol_result *out)
{
	const struct pol_input *in = x->h.in;

	out->n = in->nvms;
	out->d = x->d;
	for (int k = 0; k < in->nvms; k++) {
		int v = x->r[k].vm;
		const struct pol_vm *vm = &in->vm[v];

		x->d[v].vm = v;
		decide_one(&x->h, vm, recall(s, vm->key), pass, out->moves,
		           &x->w[v], &x->d[v]);
		if (x->d[v].verdict == POL_MOVE)
			out->moves++;
	}
	hand_budget(&x->h, out, x->w, x->r);
	for (int v = 0; v < in->nvms; v++)
		explain(&x->h, &in->vm[v], &x->w[v], &x->d[v]);
}

int pol_decide(const struct pol_input *in, const struct pol_params *p,
               long pass, struct pol_state *s, struct pol_result *out)
{
	struct scratch *x;
	int ret, n;

	if (out)
		memset(out, 0, sizeof(*out));
	if (!p || !s || !out || pass < 0 || valid_input(in) < 0)
		return -EINVAL;
	x = calloc(1, sizeof(*x));
	if (!x || scratch_alloc(x, in->nvms) < 0) {
		free(x);
		return -ENOMEM;
	}
	host_init(&x->h, in, p);
	ret = rank_vms(&x->h, x->r, x->keys);
	if (ret == 0) {
		decide_all(x, s, pass, out);
		next_state(&x->h, s, out, x->w, pass, x->m, &n);
		free(s->m);
		s->m = x->m;
		s->n = s->cap = n;
		x->m = NULL;
		x->d = NULL;
	}
	scratch_free(x);
	free(x);
	return ret;
}

int pol_suggest(const struct pol_input *in, const struct pol_params *p,
                int ncpus, uint64_t mem_kib, struct idset *home)
{
	struct host *h;
	struct need nd;
	struct cand best;

	if (!p || !home || ncpus < 0 || valid_input(in) < 0)
		return -EINVAL;
	h = malloc(sizeof(*h));
	if (!h)
		return -ENOMEM;
	host_init(h, in, p);
	memset(&nd, 0, sizeof(nd));
	nd.cpu = ncpus > 0 ? ncpus : 1;
	nd.mem = mem_kib;
	for (int i = 0; i < h->n; i++) {
		nd.cpu_av[i] = h->cpu_free[i];
		nd.mem_av[i] = h->mem_free[i];
	}
	best_home(h, &nd, &best);
	ids_of(h, best.mask, home);
	free(h);
	return best.fits ? 0 : -ENOSPC;
}
