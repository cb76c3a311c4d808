/* simhost.h - a synthetic NUMA host for the simulation tier.
 *
 * Nodes with CPUs, memory and distances; VMs whose memory is an array of
 * 2 MiB pages, each on a node, plus 4 KiB mappings of KSM pages shared
 * between VMs.  sim_interval() runs one pass over virtual time: the real
 * policy (pol_decide) decides, the real migration engine (mv_job_step on
 * the dry-run backend) moves the simulated pages, vCPU threads follow a
 * new home at once, and every invariant is checked on the way.  Any
 * violation ends the program through sim_fail().
 */
#ifndef KN_SIMHOST_H
#define KN_SIMHOST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "idset.h"
#include "mover.h"
#include "policy.h"

#define SIM_MAX_NODES 16
#define SIM_THP_KIB 2048u               /* one entry of a VM's page array */
#define SIM_KSM_KIB 4u                  /* one KSM mapping */
#define SIM_PAGE_SIZE 4096u
#define SIM_GIB (1024u * 1024u)         /* in KiB */

/* What is running, for the messages. */
struct sim_ctx {
	const char *scenario;
	uint64_t seed;
	long interval;
	bool verbose;
};
extern struct sim_ctx sim_ctx;

/* Prints "FAIL scenario seed=N interval=I: reason" and exits 1. */
void sim_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Seeded generator (splitmix64): the same seed gives the same run. */
struct sim_rng {
	uint64_t s;
};

void sim_rng_seed(struct sim_rng *r, uint64_t seed);
uint64_t sim_rand(struct sim_rng *r);
/* Uniform in [0, 1). */
double sim_uniform(struct sim_rng *r);
/* Uniform in [LO, HI]. */
int sim_range(struct sim_rng *r, int lo, int hi);

struct sim_node {
	int id;                         /* kernel node id */
	int ncpus;
	uint64_t total_kib;             /* 0: memoryless */
	uint64_t base_kib;              /* used by the host itself */
	uint64_t used_kib;              /* base + pages of VMs + KSM pages */
	double bg_cpu;                  /* CPUs' worth busy outside the VMs */
};

/* One physical KSM page, mapped by one or more VMs. */
struct sim_ksm {
	int node;                       /* index */
	int start;                      /* index at creation */
	uint32_t moves;                 /* times it changed node */
	uint32_t mapcount;
};

struct sim_vm {
	int id;                         /* unique, never reused; key id + 1 */
	pid_t pid;
	char name[24];
	int nvcpus;
	double cpu_base, cpu_use;       /* CPUs' worth; cpu_use is what is observed */
	bool left_alone;
	bool gone;                      /* vanished; reaped by sim_reap() */
	int nthp;
	int8_t *thp;                    /* node index of each 2 MiB page, -1 absent */
	int nksm;
	int *ksm;                       /* host KSM page each 4 KiB mapping maps */
	uint64_t mem_kib[SIM_MAX_NODES];/* present 2 MiB pages per node index */
	int threads[SIM_MAX_NODES];     /* vCPU threads per node index */
	double grow;                    /* absent pages touched per interval */
	double grow_acc;
	struct idset home;              /* node ids, as the policy last gave them */
	struct idset prev_home;
	long home_at;                   /* interval of the last home change; -1 none */
	int home_changes;
	int held;                       /* POL_HELD verdicts */
	bool job_on;
	struct mv_job job;
	uint64_t moved_bytes;           /* by its jobs, all intervals */
	enum pol_verdict verdict;       /* the last decision, for failure reports */
	char why[POL_WHY_LEN];
};

/* Figures of one interval (reset by sim_interval) and of the whole run. */
struct sim_figures {
	uint64_t bytes, ksm_bytes;      /* moved this interval */
	int moves, home_changes;
	uint64_t total_bytes, total_ksm_bytes, max_bytes;
	long total_home_changes, total_moves;
	long reserve_stops, gone_jobs, calls, held, no_fit;
	uint64_t worst_call_ns;
	uint64_t decide_ns;             /* CPU time of this interval's pol_decide */
};

struct sim_host;

/* Called by sim_interval between the decisions and the moves. */
typedef void sim_hook_fn(struct sim_host *h, void *data);

struct sim_host {
	int nnodes;
	struct sim_node node[SIM_MAX_NODES];    /* by ascending id */
	int dist[SIM_MAX_NODES * SIM_MAX_NODES];
	int nvms, vcap;
	struct sim_vm **vm;             /* by ascending id */
	int next_id;
	int nksm, kcap;
	struct sim_ksm *ksm;
	struct pol_params p;
	struct pol_state st;
	struct mv_dry dry;
	struct mv_backend dry_be;
	struct mv_opts o;
	long pingpong_window;           /* A->B->A within this many intervals fails; 0 off */
	bool freeze_homes;              /* any home change fails (steady phase) */
	sim_hook_fn *after_decide;      /* between pol_decide and the moves */
	const struct pol_result *res;   /* the decisions, while the hook runs */
	void *hook_data;
	struct sim_vm **pvm;            /* input index -> VM (this pass) */
	struct sim_figures f;
	/* private */
	struct sim_vm *cur;             /* VM whose job is stepping */
	int cur_flags;
	char err[256];                  /* first violation seen in a callback */
	int pcap;
	struct pol_vm *pv;
	int dflat[SIM_MAX_NODES * SIM_MAX_NODES];
};

/* Empty host with the defaults of the table (pol_params_default(),
 * mv_opts_configure() on cfg_defaults()), KSM chains bounded. */
void sim_host_init(struct sim_host *h);
void sim_host_free(struct sim_host *h);

/* Adds a node (ids ascending); MEM_KIB 0 makes it memoryless. */
void sim_add_node(struct sim_host *h, int id, int ncpus, uint64_t mem_kib);

/* Sets the distance from index I to index J. */
void sim_set_dist(struct sim_host *h, int i, int j, int d);

/* Node index of node ID, or -1. */
int sim_node_index(const struct sim_host *h, int id);

/* A VM of NVCPUS threads using CPU, NTHP 2 MiB pages (all absent), its
 * threads spread over the node indexes in START (a bit mask). */
struct sim_vm *sim_add_vm(struct sim_host *h, int nvcpus, double cpu, int nthp,
                          uint64_t start);

/* Puts pages [FROM, FROM + N) of VM on node index WANT (present), or the
 * nearest node with room when it is full. */
void sim_place(struct sim_host *h, struct sim_vm *vm, int from, int n, int want);

/* Touches up to N absent pages of VM the way the kernel would: on the node
 * its threads mostly run on, else the nearest node with room. */
void sim_touch(struct sim_host *h, struct sim_vm *vm, int n);

/* Gives VM NMAP mappings of host KSM page K (created by sim_new_ksm). */
void sim_map_ksm(struct sim_host *h, struct sim_vm *vm, int k, int nmap);

/* A new physical KSM page on node index NODE; its index. */
int sim_new_ksm(struct sim_host *h, int node);

/* The VM vanishes now: its memory is freed, its job will find it gone. */
void sim_remove_vm(struct sim_host *h, struct sim_vm *vm);

/* Frees the VMs that vanished. */
void sim_reap(struct sim_host *h);

/* One interval: observe, decide at pass PASS, move, check. */
void sim_interval(struct sim_host *h, long pass);

/* Percent of the movable memory of the VMs (left-alone ones excepted, and
 * those EXCLUDE says no to) that is on their homes. */
double sim_locality(const struct sim_host *h, bool (*exclude)(const struct sim_vm *));

/* Prints the VMs least local, with their last decision (before a failure). */
void sim_explain(const struct sim_host *h, int max);

/* Checks that every node's use matches its pages (a full recount). */
void sim_check_books(const struct sim_host *h);

/* Free memory of node index I in KiB (0 when over-full). */
uint64_t sim_free_kib(const struct sim_host *h, int i);

#endif
