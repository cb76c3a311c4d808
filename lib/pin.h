/* pin.h - the pinning adapter for processes: which CPUs a VM's threads may
 * run on (sched_setaffinity per thread).  libvirt domains are pinned through
 * libvirt instead (the libvirt adapter).  Live and dry-run backends.
 */
#ifndef KN_PIN_H
#define KN_PIN_H

#include <sys/types.h>

#include "idset.h"
#include "proc.h"

/* Allows thread TID to run on CPUS only; 0 or -errno (-ESRCH: gone). */
typedef int pin_backend_fn(void *ctx, pid_t tid, const struct idset *cpus);

struct pin_backend {
	pin_backend_fn *set;
	void *ctx;
};

/* The live backend: sched_setaffinity(2). */
extern const struct pin_backend pin_live;

/* The dry-run backend: records every call, answers ERR (0 = success). */
struct pin_dry_call {
	pid_t tid;
	struct idset cpus;
};

struct pin_dry {
	int err;
	int n, cap;
	struct pin_dry_call *rec;
};

/* A backend on D (D->err 0, nothing recorded yet when D is zeroed). */
struct pin_backend pin_dry_backend(struct pin_dry *d);

/* Frees D's record and zeroes it. */
void pin_dry_free(struct pin_dry *d);

/* Pins every thread of INFO to CPUS; threads that exited meanwhile are
 * skipped.  The number of threads pinned, or -errno of the first failure
 * other than a vanished thread (-ESRCH when every thread is gone). */
int pin_threads(const struct pin_backend *b, const struct proc_info *info,
                const struct idset *cpus);

#endif
