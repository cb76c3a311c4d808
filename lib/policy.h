/* policy.h - where each VM belongs: placement decisions, pure.
 *
 * Input: one observation reduced to numbers (nodes with CPUs, CPU load and
 * memory; VMs with their CPU use and memory per node), the parameters, the
 * state the previous pass left, and the pass number (virtual time: the
 * policy never reads a clock and does no I/O).  Output: one decision per
 * VM, with its reasons, and the state for the next pass.
 *
 * Meanings (numad's -u and -m):
 *   - a node's CPU capacity is ncpus * target_utilization / 100 CPUs;
 *   - a VM is local when >= target_locality percent of its movable memory
 *     is on its home nodes;
 *   - movable memory excludes what KSM shares (pol_vm.shared_kib): that
 *     memory neither counts towards a VM's gain nor towards the work of a
 *     move, and a VM mostly shared is not worth moving.
 * A home is one node when the VM fits one, else the best node plus its
 * nearest neighbours by distance until it fits: memoryless nodes may join
 * for their CPUs, CPU-less nodes for their memory.
 */
#ifndef KN_POLICY_H
#define KN_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "idset.h"

#define POL_MAX_NODES 64
#define POL_WHY_LEN 256

struct pol_node {
	int id;                         /* kernel node id */
	int ncpus;                      /* online CPUs (0: CPU-less node) */
	double cpu_busy;                /* CPUs' worth busy last interval, every process */
	bool has_memory;
	uint64_t mem_total_kib;
	uint64_t mem_free_kib;
};

struct pol_vm {
	uint64_t key;                   /* stable identity (PID and start time) */
	pid_t pid;
	const char *name;               /* for the reasons; not owned */
	int nvcpus;                     /* vCPUs, or threads when unknown (>= 1) */
	double cpu_use;                 /* CPUs' worth used last interval */
	uint64_t mem_kib[POL_MAX_NODES];/* movable memory per node, by node index */
	uint64_t shared_kib;            /* memory KSM shares (anywhere): never moved */
	int threads_on[POL_MAX_NODES];  /* its vCPU threads (all if none is named one) last on each node index */
	bool left_alone;                /* pinned by an admin, excluded or marked */
	const char *left_why;           /* why, when left_alone (static string) */
};

struct pol_input {
	int nnodes;
	struct pol_node node[POL_MAX_NODES];    /* by ascending id */
	const int *dist;                /* nnodes * nnodes SLIT distances, by index */
	int nvms;
	const struct pol_vm *vm;        /* nvms entries */
};

struct pol_params {
	unsigned target_utilization;    /* percent (config target_utilization) */
	unsigned target_locality;       /* percent (config target_locality) */
	uint64_t reserve_kib;           /* free memory kept on every node */
	unsigned min_gain;              /* percent of score a new home must beat the current by */
	unsigned cooldown;              /* passes after a move before the VM may move again */
	unsigned max_moves;             /* VMs given a new home per pass */
	uint64_t budget_kib;            /* memory moved per pass, all VMs (0: none) */
	double min_movable;             /* fraction of memory that must be movable to move a VM */
};

struct cfg;

/* Fills P from CFG's [placement] and [migration] settings: the one mapping
 * of the configuration onto the policy (min_movable is the policy's own). */
void pol_params_from_cfg(struct pol_params *p, const struct cfg *cfg);

/* Fills P from the table of defaults (config.h, cfg_defaults). */
void pol_params_default(struct pol_params *p);

/* What a VM remembers between passes. */
struct pol_memory {
	uint64_t key;
	struct idset home;              /* node ids; empty: no home yet */
	struct idset prev_home;         /* the home before the last move */
	long moved_at;                  /* pass of the last home change; -1 never */
};

struct pol_state {
	int n, cap;
	struct pol_memory *m;           /* by ascending key */
};

enum pol_verdict {
	POL_STAY,                       /* home kept, memory local enough */
	POL_SETTLE,                     /* home kept (or a better one not min_gain better,
	                                 * or moved there < 2 * cooldown ago), memory
	                                 * still being moved there */
	POL_MOVE,                       /* new home this pass */
	POL_HELD,                       /* would move, but mostly shared, cooldown, ping-pong or cap says no */
	POL_NO_FIT,                     /* no home has room: left where it is */
	POL_LEFT_ALONE,                 /* pinned, excluded or marked by an admin */
};

struct pol_decision {
	int vm;                         /* index in pol_input.vm */
	enum pol_verdict verdict;
	struct idset home;              /* node ids (empty for LEFT_ALONE / NO_FIT without home) */
	double locality;                /* percent of movable memory on HOME now */
	uint64_t to_move_kib;           /* movable memory not on HOME */
	uint64_t budget_kib;            /* of which this pass may move (within params budget) */
	double score_home, score_best;  /* current home's score and the best found */
	char why[POL_WHY_LEN];          /* one line: scores, what blocked a move */
};

struct pol_result {
	int n;
	struct pol_decision *d;         /* one per VM, in input order */
	int moves;                      /* POL_MOVE verdicts */
	uint64_t budget_kib;            /* sum of budget_kib */
};

/* Empties S (no allocation yet). */
void pol_state_init(struct pol_state *s);

/* Frees S's memory and empties it. */
void pol_state_free(struct pol_state *s);

/* Decides every VM of IN at pass PASS (>= 0, increasing) with P, reading
 * and updating S (VMs no longer in IN are forgotten); fills OUT.
 * -EINVAL on a malformed input (no node, more than POL_MAX_NODES, missing
 * or negative distances, node ids not ascending, duplicate VM keys, memory
 * above 2^50 KiB), -ENOMEM; S is unchanged on error. */
int pol_decide(const struct pol_input *in, const struct pol_params *p,
               long pass, struct pol_state *s, struct pol_result *out);

/* Frees what pol_decide put in OUT. */
void pol_result_free(struct pol_result *out);

/* Verdict name for reports ("stay", "settle", "move", ...). */
const char *pol_verdict_name(enum pol_verdict v);

/* The home pol_decide would give a new VM needing NCPUS CPUs and MEM_KIB
 * of memory on IN's host, as node ids into HOME (numad -w); -ENOSPC when
 * nothing fits (HOME then holds the least bad set). */
int pol_suggest(const struct pol_input *in, const struct pol_params *p,
                int ncpus, uint64_t mem_kib, struct idset *home);

#endif
