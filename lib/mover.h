/* mover.h - the migration engine: the only code that moves memory.
 *
 * A job moves one process's memory to a target node set, one move_pages(2)
 * call per mv_job_step(), chunk sizes adapted so every call stays within
 * the per-call time budget.  The caller owns the pause between steps and the
 * MB-per-interval budget (each step reports the bytes it moved).  Pages go
 * through a backend: live (libnuma's numa_move_pages) or dry-run (records
 * calls, answers as configured, advances a virtual clock).  Never
 * the whole-process migrate_pages syscall.
 */
#ifndef KN_MOVER_H
#define KN_MOVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "idset.h"
#include "pagemap.h"
#include "plan.h"
#include "root.h"

/* One move_pages(2) call.  NODES NULL = a query (STATUS gets each page's
 * node or -errno).  PAGES and MAPS are the plan's cost (simulation only). */
struct mv_call {
	pid_t pid;
	unsigned long n;
	void **addr;
	const int *nodes;
	int *status;
	int flags;                      /* MPOL_MF_MOVE or MPOL_MF_MOVE_ALL */
	uint64_t pages, maps;
};

/* Performs C; 0 (per-page results in C->status) or -errno for the whole
 * call (-ESRCH: the process is gone). */
typedef int mv_backend_fn(void *ctx, const struct mv_call *c);

struct mv_backend {
	mv_backend_fn *call;
	void *ctx;
};

/* The live backend: numa_move_pages(2). */
extern const struct mv_backend mv_live;

/* Monotonic time in nanoseconds. */
typedef uint64_t mv_clock_fn(void *data);

/* CLOCK_MONOTONIC (DATA unused). */
uint64_t mv_clock_mono(void *data);

/* The dry-run backend.  Every page of a move lands on its target unless
 * ANSWER (or PAGE_STATUS, a -errno for every page) says otherwise; a query
 * reports QUERY_NODE.  After GONE_AFTER calls (-1 never) every call fails
 * with -ESRCH.  Each call advances NOW_NS by CALL_NS + PAGES * PAGE_NS +
 * MAPS * MAP_NS (use mv_dry_clock as the job's clock). */
struct mv_dry_call {
	pid_t pid;
	unsigned long n;
	int flags;
	int node;                       /* target of the first page; -1 for a query */
	uint64_t first;                 /* address of the first page */
	uint64_t pages, maps;
	bool query;
};

/* Per-page answer: status for ADDR moved to TARGET (node, or -1 for a query). */
typedef int mv_dry_answer_fn(void *data, uint64_t addr, int target);

struct mv_dry {
	int query_node;
	int page_status;
	long gone_after;
	mv_dry_answer_fn *answer;
	void *answer_data;
	const struct mv_backend *queries; /* if set, queries go there (--dry-run on a live process) */
	uint64_t call_ns, page_ns, map_ns;
	uint64_t now_ns;
	long ncalls;                    /* every call, recorded or not */
	int nrec, rec_cap;
	struct mv_dry_call *rec;
};

/* Defaults: query_node 0, success, never gone, no cost, nothing recorded. */
void mv_dry_init(struct mv_dry *d);

/* Frees the record. */
void mv_dry_free(struct mv_dry *d);

/* A backend on D. */
struct mv_backend mv_dry_backend(struct mv_dry *d);

/* D's virtual clock (a mv_clock_fn, DATA = the struct mv_dry). */
uint64_t mv_dry_clock(void *data);

/* The chunk-size controller: pure.  Sizes are plan costs (~base pages). */
struct mv_budget {
	uint64_t call_ns;               /* per-call budget (config call_budget_ms) */
	unsigned min, max;              /* bounds of the chunk size */
};

#define MV_CHUNK_MIN 16
#define MV_CHUNK_MAX 4096

/* Budget of CALL_MS per call, bounds MV_CHUNK_MIN..MV_CHUNK_MAX. */
struct mv_budget mv_budget_ms(unsigned call_ms);

/* Next chunk size after a call of COST that took NS at chunk size CUR:
 * aims at 3/4 of the budget, shrinks in proportion when over it, grows at
 * most 2x when under half of it, stays within the bounds. */
unsigned mv_budget_next(const struct mv_budget *b, unsigned cur, uint64_t cost,
                        uint64_t ns);

/* Source of pagemap windows: pm_read's contract. */
typedef int mv_window_fn(void *data, pid_t pid, uint64_t from, int max,
                         struct pm_window *w);

/* pm_read on the root context DATA (a struct rt_root *). */
int mv_window_pm(void *data, pid_t pid, uint64_t from, int max, struct pm_window *w);

/* Free memory of NODE into *BYTES; 0 or -errno (then not checked). */
typedef int mv_free_fn(void *data, int node, uint64_t *bytes);

/* 0 if PID is alive, -ESRCH if it is gone or exiting (a zombie has no
 * memory left: move_pages then fails with -EINVAL, not -ESRCH). */
typedef int mv_alive_fn(void *data, pid_t pid);

/* mv_alive_fn on a root context (DATA): /proc/PID/stat exists, state not Z/X. */
int mv_alive_proc(void *data, pid_t pid);

/* mv_free_fn on a root context (DATA): MemFree of the node's meminfo, read
 * as the topology reader reads it (topo_node_free), so a --root tree drives
 * the reserve check as it drives the planner. */
int mv_free_root(void *data, int node, uint64_t *bytes);

/* Everything a job needs besides the process and its targets. */
struct mv_opts {
	struct mv_backend backend;
	mv_window_fn *window;
	void *window_data;
	mv_clock_fn *clock;
	void *clock_data;
	mv_alive_fn *alive;             /* NULL: a failed call is taken at its word */
	void *alive_data;
	mv_free_fn *free;               /* NULL: no reserve check */
	void *free_data;
	uint64_t reserve_bytes;         /* config reserve_mb */
	struct mv_budget budget;
	bool move_ksm;                  /* config move_ksm_pages */
	bool chains_bounded;            /* ksm_chains_bounded() */
	unsigned ksm_max_mapcount;
	unsigned page_size;             /* 0: the host's */
};

struct cfg;
struct ksm_state;

/* Live backend, pm_read on R, monotonic clock, free memory from R, and the
 * settings mv_opts_configure takes from the table of defaults (config.h,
 * cfg_defaults); KSM chains unbounded until the caller says otherwise. */
void mv_opts_live(struct mv_opts *o, const struct rt_root *r);

/* Sets O's settings from CFG (reserve_mb, call_budget_ms, move_ksm_pages,
 * ksm_max_mapcount) and chains_bounded from KSM (NULL: unbounded); the
 * backend, sources and clock stay.  The one mapping of the configuration
 * onto the engine, for the balancer and --migrate alike. */
void mv_opts_configure(struct mv_opts *o, const struct cfg *cfg,
                       const struct ksm_state *ksm);

enum mv_state { MV_RUNNING, MV_DONE, MV_GONE, MV_RESERVE, MV_FAILED };

/* Totals of a job, in base pages unless named otherwise. */
struct mv_totals {
	struct plan_tally plan;         /* what the planner found, window by window */
	uint64_t moved;                 /* landed on the target */
	uint64_t ksm_moved;             /* of which KSM pages */
	uint64_t refused;               /* -EACCES: shared after all */
	uint64_t busy;                  /* -EBUSY, -EAGAIN */
	uint64_t nomem;                 /* -ENOMEM */
	uint64_t gone;                  /* -ENOENT, -EFAULT */
	uint64_t failed;                /* anything else, or a whole call failed */
	uint64_t calls;                 /* move calls */
	uint64_t call_ns, worst_ns;     /* their total and worst duration */
	uint64_t bytes;                 /* bytes moved */
};

struct mv_job {
	pid_t pid;
	struct idset target;
	const struct mv_opts *o;
	enum mv_state state;
	int error;                      /* -errno that ended the job, 0 */
	int stop_node;                  /* MV_RESERVE: the node under its reserve */
	uint64_t next;                  /* address the next window starts at */
	bool eof;                       /* no window left */
	bool no_ksm;                    /* MOVE_ALL refused (-EPERM): KSM left */
	unsigned chunk;                 /* chunk size of MPOL_MF_MOVE calls */
	unsigned ksm_chunk;             /* ... of MPOL_MF_MOVE_ALL calls (their own rate) */
	unsigned page_size;
	int next_chunk;                 /* next chunk of the plan to run */
	struct pm_window w;
	int *node;                      /* node of each window page */
	void **qaddr;                   /* query buffers */
	int *qstat, *status;
	int qcap;
	struct plan plan;
	struct mv_totals t;
};

/* What one step did. */
struct mv_step {
	bool call;                      /* a move call was made */
	bool move_all;                  /* ... with MPOL_MF_MOVE_ALL */
	uint64_t pages;                 /* base pages moved */
	uint64_t bytes;                 /* bytes moved (count against the interval budget) */
	uint64_t ns;                    /* duration of the call */
	uint64_t cost;                  /* planned cost of the chunk */
};

/* Starts a job moving PID to TARGET with O (which must outlive the job);
 * -EINVAL on an empty target set. */
int mv_job_init(struct mv_job *j, pid_t pid, const struct idset *target,
                const struct mv_opts *o);

/* Frees the job's buffers (the totals stay readable). */
void mv_job_free(struct mv_job *j);

/* Reads windows from where the last step stopped until one has work, for at
 * most the per-call budget of O's clock (and at least one window), then
 * makes at most one move call -- none if the reading used the budget up.
 * 1: more remains; 0: done; -ESRCH: the process is gone;
 * -ENOSPC: a target node fell under the reserve (J->stop_node); other
 * -errno: failed.  Once ended, returns the same value again. */
int mv_job_step(struct mv_job *j, struct mv_step *out);

/* State name for messages ("running", "done", "process gone", ...). */
const char *mv_state_name(enum mv_state s);

#endif
