/* plan.c - the migration planner (see plan.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

/* What becomes of a page: moved (two ways) or left, and why. */
enum act {
	ACT_MOVE, ACT_KSM,
	ACT_ABSENT, ACT_ON_TARGET, ACT_SHARED, ACT_KSM_OVER, ACT_KSM_KEPT,
};

void plan_init(struct plan *p)
{
	memset(p, 0, sizeof(*p));
}

void plan_free(struct plan *p)
{
	free(p->addr);
	free(p->node);
	free(p->pages);
	free(p->maps);
	free(p->chunk);
	plan_init(p);
}

void plan_tally_add(struct plan_tally *a, const struct plan_tally *b)
{
	a->move += b->move;
	a->ksm += b->ksm;
	a->ksm_maps += b->ksm_maps;
	a->on_target += b->on_target;
	a->absent += b->absent;
	a->shared += b->shared;
	a->ksm_kept += b->ksm_kept;
	a->ksm_over += b->ksm_over;
	if (b->ksm_over_maxmap > a->ksm_over_maxmap)
		a->ksm_over_maxmap = b->ksm_over_maxmap;
}

static int grow(void **arr, size_t elem, int n)
{
	void *q = realloc(*arr, elem * (size_t)n);

	if (!q)
		return -ENOMEM;
	*arr = q;
	return 0;
}

/* Room for N entries and N chunks (a chunk holds at least one entry). */
static int reserve(struct plan *p, int n)
{
	if (n <= p->cap)
		return 0;
	if (grow((void **)&p->addr, sizeof(*p->addr), n) ||
	    grow((void **)&p->node, sizeof(*p->node), n) ||
	    grow((void **)&p->pages, sizeof(*p->pages), n) ||
	    grow((void **)&p->maps, sizeof(*p->maps), n) ||
	    grow((void **)&p->chunk, sizeof(*p->chunk), n))
		return -ENOMEM;
	p->cap = p->chunk_cap = n;
	return 0;
}

/* Base pages of an entry; hand-built windows may leave PAGES 0. */
static uint32_t page_pages(const struct pm_page *pg)
{
	if (pg->pages)
		return pg->pages;
	return pg->kind == PM_THP ? PLAN_THP_PAGES : 1;
}

/* What to do with one page on NODE.  Counts nothing: see count_left. */
static enum act decide(const struct pm_page *pg, int node, const struct plan_rules *r)
{
	if (pg->kind == PM_ABSENT || node == -ENOENT || node == -EFAULT)
		return ACT_ABSENT;
	if (node >= 0 && idset_has(&r->target, node))
		return ACT_ON_TARGET;
	if (pg->kind == PM_EXCLUSIVE || (pg->kind == PM_THP && pg->mapcount <= 1))
		return ACT_MOVE;
	if (pg->kind != PM_KSM || pg->mapcount == 0)
		return ACT_SHARED;      /* PM_SHARED, shared THPs, KSM of unknown count */
	if (pg->mapcount > r->ksm_max_mapcount)
		return ACT_KSM_OVER;
	if (!r->move_ksm || !r->chains_bounded)
		return ACT_KSM_KEPT;
	return ACT_KSM;
}

/* Counts page PG, left where it is for reason A, into T. */
static void count_left(struct plan_tally *t, const struct pm_page *pg, enum act a)
{
	uint32_t n = page_pages(pg);

	switch (a) {
	case ACT_ABSENT:
		t->absent += n;
		break;
	case ACT_ON_TARGET:
		t->on_target += n;
		break;
	case ACT_SHARED:
		t->shared += n;
		break;
	case ACT_KSM_OVER:
		t->ksm_over++;
		if (pg->mapcount > t->ksm_over_maxmap)
			t->ksm_over_maxmap = pg->mapcount;
		break;
	case ACT_KSM_KEPT:
		t->ksm_kept++;
		break;
	case ACT_MOVE:
	case ACT_KSM:
		break;
	}
}

bool plan_could_move(const struct pm_page *pg, const struct plan_rules *r)
{
	enum act a = decide(pg, -EAGAIN, r);

	return a == ACT_MOVE || a == ACT_KSM;
}

/* The least-loaded target (by pages planned to it so far). */
static int pick_target(struct plan *p, const int *tgt, int nt, uint32_t pages)
{
	int best = 0;

	for (int i = 1; i < nt; i++)
		if (p->load[i] < p->load[best])
			best = i;
	p->load[best] += pages;
	return tgt[best];
}

/* Appends one entry, opening a new chunk when the kind changes or the
 * current chunk would go over MAX_COST. */
static void append(struct plan *p, const struct pm_page *pg, int node,
                   bool ksm, uint64_t max_cost)
{
	uint32_t pages = page_pages(pg);
	uint32_t maps = ksm ? pg->mapcount : 0;
	uint64_t cost = (uint64_t)pages + maps;
	struct plan_chunk *c = p->nchunks ? &p->chunk[p->nchunks - 1] : NULL;
	int i = p->n++;

	if (!c || c->move_all != ksm || c->cost + cost > max_cost) {
		c = &p->chunk[p->nchunks++];
		memset(c, 0, sizeof(*c));
		c->first = i;
		c->move_all = ksm;
	}
	p->addr[i] = (void *)(uintptr_t)pg->addr;
	p->node[i] = node;
	p->pages[i] = pages;
	p->maps[i] = maps;
	c->n++;
	c->pages += pages;
	c->maps += maps;
	c->cost += cost;
}

static int list_targets(const struct idset *s, int *tgt)
{
	int nt = 0;

	IDSET_FOREACH(id, s) {
		if (nt == PLAN_MAX_TARGETS)
			return -E2BIG;
		tgt[nt++] = id;
	}
	return nt ? nt : -EINVAL;
}

/* Entries of kind WANT, in address order; counts what stays on the first
 * pass (WANT ACT_MOVE) only. */
static void pass(struct plan *p, const struct pm_window *w, const int *node,
                 const struct plan_rules *r, const int *tgt, int nt, enum act want)
{
	for (int i = 0; i < w->n; i++) {
		const struct pm_page *pg = &w->page[i];
		enum act a = decide(pg, node ? node[i] : -1, r);

		if (want == ACT_MOVE)
			count_left(&p->tally, pg, a);
		if (a != want)
			continue;
		append(p, pg, pick_target(p, tgt, nt, page_pages(pg)), a == ACT_KSM,
		       a == ACT_KSM && r->max_ksm_cost ? r->max_ksm_cost : r->max_cost);
		if (a == ACT_KSM) {
			p->tally.ksm++;
			p->tally.ksm_maps += pg->mapcount;
		} else {
			p->tally.move += page_pages(pg);
		}
	}
}

int plan_build(struct plan *p, const struct pm_window *w, const int *node,
               const struct plan_rules *rules)
{
	int tgt[PLAN_MAX_TARGETS];
	int nt = list_targets(&rules->target, tgt);
	int r;

	if (nt < 0)
		return nt;
	if (rules->max_cost == 0 || w->n < 0)
		return -EINVAL;
	r = reserve(p, w->n);
	if (r < 0)
		return r;
	p->n = p->nchunks = 0;
	memset(&p->tally, 0, sizeof(p->tally));
	pass(p, w, node, rules, tgt, nt, ACT_MOVE);
	pass(p, w, node, rules, tgt, nt, ACT_KSM);
	return 0;
}
