/* balance.h - one balancing pass (observe -> decide -> pin -> move) and the
 * stepping of memory moves between passes.
 *
 * The decisions are the policy's (policy.h); this module turns a snapshot
 * into the policy's input and the decisions into actions.  It remembers
 * what lasts between passes: the policy's state, the previous CPU sample
 * and each VM's CPU ticks (for rates), the CPUs it pinned each VM to (so
 * its own pinning is not taken for an admin's), and the memory moves in
 * progress, which continue where they stopped.  It changes the system only
 * through its pin backend and mover options, both of which can be dry-run.
 */
#ifndef KN_BALANCE_H
#define KN_BALANCE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "load.h"
#include "mover.h"
#include "pin.h"
#include "policy.h"
#include "snapshot.h"
#include "state.h"

struct bal_vm {
	uint64_t key;                   /* pol_vm.key */
	pid_t pid;
	uint64_t starttime;             /* of PID (key holds 42 bits of it) */
	char name[VM_NAME_LEN];
	uint64_t ticks;                 /* utime + stime at the last pass */
	struct idset pinned;            /* CPUs this module pinned it to; empty: none */
	bool moving;                    /* JOB is live */
	struct mv_job job;
	uint64_t budget;                /* bytes JOB may still move this interval */
	uint64_t left_kib;              /* what the last finished move left behind
	                                 * (shared, KSM over the limit, refused) ... */
	struct idset left_home;         /* ... when moving to this home */
	struct idset widening;          /* memory nodes asked of libvirt for a move
	                                 * (empty: none asked, or they took) ... */
	long widen_pass;                /* ... on this pass */
	bool widen_settled;             /* its outcome is known (refused, or it did not take) */
	int widen_fails;                /* asks in a row that did not widen them */
	long widen_next;                /* settled: the pass that may ask again */
};

/* Passes without an answer from libvirt after which a widening is asked
 * again (its request was lost with the libvirt worker), and the most
 * passes between two asks after failures (1, 2, 4, then this). */
#define BAL_WIDEN_LOST_PASSES 4
#define BAL_WIDEN_MAX_WAIT 8

/* Passes (measuring or deciding) that what the daemon before this one left
 * waits for its VM to show up (a process unreadable for a pass, libvirt's
 * first list late) before it is dropped. */
#define BAL_RESTORED_PASSES 4

/* Pins libvirt domain NAME's vCPUs and emulator to CPUS, or (as the mems
 * callback) widens its memory nodes to SET; 0 or -errno.  Both only queue:
 * what became of a widening comes back in the next snapshot (vm.widen). */
typedef int bal_dom_pin_fn(void *ctx, const char *name, const struct idset *set);

struct bal {
	struct pol_params params;
	struct pol_state pol;
	long pass;                      /* passes done */
	long pass_base;                 /* the policy's pass of pass 0: the passes of
	                                 * the daemons before this one (bal_state_put) */
	struct ld_sample load;          /* CPU sample of the last pass */
	bool have_load;
	int n, cap;
	struct bal_vm *vm;              /* VMs of the last pass, by snapshot order */
	struct {                        /* what the daemon before this one left
	                                 * (bal_state_put), until a pass takes it */
		int n;
		struct bal_vm *vm;      /* the pinning of each VM, by key */
		struct pol_state pol;   /* the home of each, by key */
		int passes;             /* left before the untaken ones are dropped */
	} restored;
	struct pin_backend pin;
	struct {
		bal_dom_pin_fn *pin;    /* NULL: no libvirt, domains cannot be pinned */
		bal_dom_pin_fn *mems;   /* NULL: their memory nodes cannot be widened */
		void *ctx;
	} dom_pin;
	struct mv_opts mv;
	bool dry_run;                   /* the backends only record: say "would" */
	struct idset reserved;          /* CPUs never given to VMs (reserved_cpus) */
	int next;                       /* round robin of bal_step */
	struct pol_input in;            /* the last pass's input (its own copy of names and distances) */
	int dist[POL_MAX_NODES * POL_MAX_NODES];
	struct pol_vm *in_vm;
	int in_cap;
	struct pol_result res;          /* the last pass's decisions */
};

/* Starts a balancer changing the system through PIN and MV (copied). */
void bal_init(struct bal *b, const struct pin_backend *pin, const struct mv_opts *mv);

/* Starts a balancer on the host under ROOT: live pinning and moves, or,
 * with DRY (zeroed by the caller, freed with pin_dry_free), a dry run that
 * records pinning in DRY and never starts a move. */
void bal_init_host(struct bal *b, const struct rt_root *root, struct pin_dry *dry);

/* Frees everything; moves in progress stop where they are. */
void bal_free(struct bal *b);

/* Takes the policy and migration settings of CFG, and from KSM whether
 * KSM pages may move at all (bounded chains). */
void bal_configure(struct bal *b, const struct cfg *cfg, const struct ksm_state *ksm);

/* Builds the policy's input for snapshot S and CPU sample LOAD (NULL:
 * unknown, every CPU counted idle) into B->in; -E2BIG past POL_MAX_NODES
 * nodes, -ENOMEM. */
int bal_input(struct bal *b, const struct snapshot *s, const struct ld_sample *load);

/* One pass: input, decisions (B->res), pinning, and the memory budget of
 * each move for the interval.  LOAD (NULL: unknown) is taken over (freed
 * by B).  0 or
 * -errno when no decision could be made (then nothing was changed). */
int bal_pass(struct bal *b, const struct snapshot *s, struct ld_sample *load);

/* Records S's CPU counters and VM ticks (LOAD, taken over) without
 * deciding: rates since boot would mislead a daemon that just started.
 * 0, or -errno as bal_input; then B->have_load tells if it took. */
int bal_prime(struct bal *b, const struct snapshot *s, struct ld_sample *load);

/* Makes at most one move call of one VM with budget left (round robin).
 * 1: a call was made or checked and more may follow; 0: nothing left to
 * do this interval. */
int bal_step(struct bal *b, struct mv_step *out);

/* Bytes the moves in progress may still move this interval. */
uint64_t bal_pending(const struct bal *b);

/* Adds what must survive a restart to D (state.h): each VM of the last
 * pass that it pinned or the policy gave a home, and the policy's pass
 * clock; -E2BIG, -ENOMEM (D then holds part of it). */
int bal_state_get(const struct bal *b, struct st_data *d);

/* Takes what the daemon before this one left (D, read by st_load): before
 * the first pass only (-EBUSY after), -ENOMEM.  Nothing in it is trusted:
 * an entry counts only for the process with its PID and start time, and
 * its pinning only while Cpus_allowed_list is exactly what it pinned. */
int bal_state_put(struct bal *b, const struct st_data *d);

/* The stable identity of a process: PID and start time. */
uint64_t bal_key(pid_t pid, uint64_t starttime);

#endif
