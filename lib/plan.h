/* plan.h - the migration planner: which pages of one pagemap window to move,
 * to which node, in which move_pages(2) chunks, and what stays behind.
 *
 * Pure: no I/O, no clock.  Cost of a chunk = base pages to copy (a huge
 * page counts its pm_page.pages, PLAN_THP_PAGES if 0) + mappings of KSM
 * pages to unmap (a KSM page mapped m times costs 1 + m).  A huge page is
 * moved whole, by its head address; a shared one (mapcount > 1) stays.
 * Exclusive pages and THPs go in chunks for MPOL_MF_MOVE; KSM pages proven
 * cheap go in chunks of their own for MPOL_MF_MOVE_ALL; shared pages not
 * known to be KSM are never planned (the kernel would refuse them anyway).
 */
#ifndef KN_PLAN_H
#define KN_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "idset.h"
#include "pagemap.h"

#define PLAN_THP_PAGES 512
#define PLAN_MAX_TARGETS 64

struct plan_rules {
	struct idset target;            /* nodes to move to (1..PLAN_MAX_TARGETS) */
	bool move_ksm;                  /* config move_ksm_pages */
	bool chains_bounded;            /* ksm_chains_bounded(): max_page_sharing exists */
	unsigned ksm_max_mapcount;      /* KSM pages mapped more often stay put */
	uint64_t max_cost;              /* cost per chunk; a chunk holds at least one page */
	uint64_t max_ksm_cost;          /* cost per KSM chunk; 0 = max_cost */
};

/* What one build found, in base pages unless named otherwise. */
struct plan_tally {
	uint64_t move;                  /* planned for MPOL_MF_MOVE */
	uint64_t ksm;                   /* KSM pages planned for MPOL_MF_MOVE_ALL */
	uint64_t ksm_maps;              /* ... and their mappings */
	uint64_t on_target;             /* already on a target node: free */
	uint64_t absent;                /* not present (or gone when queried) */
	uint64_t shared;                /* shared, not known to be KSM: left */
	uint64_t ksm_kept;              /* KSM within the limit, not allowed or chains unbounded */
	uint64_t ksm_over;              /* pages mapping KSM pages over the limit: left behind */
	uint64_t ksm_over_maxmap;       /* the largest mapcount among them (one KSM page
	                                 * may fill many of this VM's pages: no sum) */
};

struct plan_chunk {
	int first, n;                   /* entries [first, first + n) of the plan */
	bool move_all;                  /* a KSM chunk: MPOL_MF_MOVE_ALL */
	uint64_t pages;                 /* base pages to copy */
	uint64_t maps;                  /* mappings to unmap (KSM only) */
	uint64_t cost;                  /* pages + maps */
};

/* Entries of all chunks, contiguous per chunk: ADDR and NODE are the
 * arrays move_pages(2) takes.  TALLY is per build; LOAD (pages sent to each
 * target node, by index in the target set) persists across builds. */
struct plan {
	int n, cap;
	void **addr;
	int *node;                      /* target node of each entry */
	uint32_t *pages;                /* base pages of each entry */
	uint32_t *maps;                 /* mappings of each entry (0 if not KSM) */
	int nchunks, chunk_cap;
	struct plan_chunk *chunk;
	struct plan_tally tally;
	uint64_t load[PLAN_MAX_TARGETS];
};

/* Empties P (no allocation yet). */
void plan_init(struct plan *p);

/* Frees P's arrays and empties it. */
void plan_free(struct plan *p);

/* Plans window W into P (previous chunks dropped, LOAD kept).  NODE[i] is the
 * node page i is on: >= 0 known, -ENOENT or -EFAULT not present, any other
 * negative value unknown (planned anyway; the kernel answers).  NODE may be
 * NULL (all unknown).  -EINVAL on an empty target set or max_cost 0,
 * -E2BIG on more than PLAN_MAX_TARGETS targets, -ENOMEM. */
int plan_build(struct plan *p, const struct pm_window *w, const int *node,
               const struct plan_rules *rules);

/* True if PG would be moved when it is not on a target node: the only pages
 * whose node is worth asking the kernel for. */
bool plan_could_move(const struct pm_page *pg, const struct plan_rules *rules);

/* Adds tally B to A. */
void plan_tally_add(struct plan_tally *a, const struct plan_tally *b);

#endif
