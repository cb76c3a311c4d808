/* proc.h - what /proc (and the cgroup file system) says about one process.
 *
 * Readers are bounded and tolerant: a process that exits between two files
 * is normal and reported as -ESRCH, as is a PID reused by a new process
 * (its start time changed) and a process that is exiting (a zombie, or
 * PF_EXITING), whose memory files read empty.  Malformed files of a live
 * process give -EINVAL.
 */
#ifndef KN_PROC_H
#define KN_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "idset.h"
#include "root.h"

#define PROC_COMM_LEN 64            /* comm is <= 16 today; room for more */
#define PROC_MAX_MEM_NODES 64       /* distinct nodes one process uses */
#define PROC_CGROUP_LEN 512

/* /proc/PID/stat (or task/TID/stat). */
struct proc_stat {
	pid_t pid;
	char comm[PROC_COMM_LEN];   /* between the first '(' and the last ')' */
	char state;
	pid_t ppid;
	unsigned int flags;         /* the kernel's PF_* task flags */
	uint64_t utime, stime;      /* clock ticks */
	uint64_t starttime;         /* clock ticks after boot: identifies the process */
	long num_threads;
	int processor;              /* CPU it last ran on */
	uint64_t rss_pages;
};

/* /proc/PID/status: the fields we use. */
struct proc_status {
	char name[PROC_COMM_LEN];
	uid_t uid;                  /* real uid */
	uint64_t vm_rss_kib;
	uint64_t rss_anon_kib;
	long threads;
	struct idset cpus_allowed;  /* Cpus_allowed_list */
	struct idset mems_allowed;  /* Mems_allowed_list */
};

/* Memory of one process on one node. */
struct proc_node_mem {
	int node;
	uint64_t anon_kib;          /* anonymous (guest RAM for a VM) */
	uint64_t file_kib;          /* file backed, incl. shmem from numa_stat */
	uint64_t huge_kib;          /* hugetlbfs */
	uint64_t shared_kib;        /* in mappings with mapmax > 1 (numa_maps only) */
};

enum proc_mem_source { PROC_MEM_NONE, PROC_MEM_NUMA_MAPS, PROC_MEM_CGROUP };

struct proc_mem {
	enum proc_mem_source source;
	int nr;                     /* entries in node[], by ascending node */
	struct proc_node_mem node[PROC_MAX_MEM_NODES];
	uint64_t max_mapmax;        /* largest mapmax seen in numa_maps */
	bool truncated;             /* more than PROC_MAX_MEM_NODES nodes */
};

/* Per-process KSM counters (ksm_stat, ksm_merging_pages); absent = older kernel. */
struct proc_ksm {
	bool has_stat;
	bool has_merging_pages;
	uint64_t rmap_items;
	uint64_t merging_pages;
	uint64_t zero_pages;
	int64_t profit;
	bool has_profit, has_zero_pages;
};

struct proc_thread {
	pid_t tid;
	char comm[PROC_COMM_LEN];   /* "CPU 0/KVM" for a qemu vCPU */
	int processor;              /* CPU it last ran on */
};

struct proc_info {
	struct proc_stat stat;
	struct proc_status status;
	struct proc_mem mem;
	struct proc_ksm ksm;
	char cgroup[PROC_CGROUP_LEN];   /* cgroup v2 path ("" if none / v1 only) */
	char cpuset_cgroup[PROC_CGROUP_LEN]; /* v1 cpuset path ("" if none) */
	int nthreads;
	struct proc_thread *threads;    /* nthreads entries, malloc'd */
};

/* Parses the text of a stat file; -EINVAL if malformed. */
int proc_parse_stat(const char *buf, struct proc_stat *st);

/* True if ST is of a process that exited (zombie, dead) or is exiting. */
bool proc_stat_exiting(const struct proc_stat *st);

/* Reads /proc/PID/stat, or task/TID/stat when TID > 0; -ESRCH if gone. */
int proc_read_stat(const struct rt_root *r, pid_t pid, pid_t tid, struct proc_stat *st);

/* Parses the text of a status file; -EINVAL if a used field is malformed. */
int proc_parse_status(const char *buf, struct proc_status *st);

/* Reads /proc/PID/status; -ESRCH if gone. */
int proc_read_status(const struct rt_root *r, pid_t pid, struct proc_status *st);

/* Adds the per-node counts of numa_maps text to MEM (source NUMA_MAPS). */
int proc_parse_numa_maps(const char *buf, struct proc_mem *mem);

/* Adds the per-node counts of a cgroup v2 memory.numa_stat text (source CGROUP). */
int proc_parse_numa_stat(const char *buf, struct proc_mem *mem);

/* Fills MEM for PID: from its cgroup's memory.numa_stat when CGROUP names a
 * cgroup v2 group of its own (a VM scope), else from numa_maps. */
int proc_read_mem(const struct rt_root *r, pid_t pid, const char *cgroup,
                  bool prefer_cgroup, struct proc_mem *mem);

/* Total kibibytes of MEM on all nodes (anon + file + huge). */
uint64_t proc_mem_total_kib(const struct proc_mem *mem);

/* Reads ksm_stat and ksm_merging_pages; 0 when absent (flags false). */
int proc_read_ksm(const struct rt_root *r, pid_t pid, struct proc_ksm *k);

/* Reads /proc/PID/cgroup: the v2 path and the v1 cpuset path. */
int proc_read_cgroup(const struct rt_root *r, pid_t pid, char *v2, size_t v2len,
                     char *cpuset, size_t cpusetlen);

/* Lists the threads of PID with their comm and last CPU into INFO. */
int proc_read_threads(const struct rt_root *r, pid_t pid, struct proc_info *info);

/* Reads everything above for PID into INFO (cgroup memory preferred when
 * PREFER_CGROUP); -ESRCH if it vanished, is exiting, or its PID was reused
 * meanwhile. */
int proc_read(const struct rt_root *r, pid_t pid, bool prefer_cgroup, struct proc_info *info);

/* proc_read for a caller that has just read PID's stat into SEEN (NULL:
 * read it): SEEN's start time is what the final check compares with. */
int proc_read_seen(const struct rt_root *r, pid_t pid, const struct proc_stat *seen,
                   bool prefer_cgroup, struct proc_info *info);

/* Frees what proc_read allocated. */
void proc_info_free(struct proc_info *info);

#endif
