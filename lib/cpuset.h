/* cpuset.h - a process's cgroup cpuset.mems, widened for a move, narrowed after.
 *
 * libvirt's strict numatune confines a VM with cpuset.mems; move_pages(2)
 * refuses target nodes outside it.  The mover's caller widens the set to
 * old + new before a move and narrows it to the new nodes after.  Narrowing
 * makes the kernel migrate every page still outside the set in one go (v2
 * always, v1 with cpuset.memory_migrate=1), so callers narrow only when no
 * heavily shared page was left behind.  All I/O goes through the root context.
 */
#ifndef KN_CPUSET_H
#define KN_CPUSET_H

#include <stdbool.h>
#include <sys/types.h>

#include "idset.h"
#include "proc.h"
#include "root.h"

struct cs_group {
	bool confined;                  /* a cpuset.mems limit applies */
	bool v1;                        /* the v1 cpuset hierarchy */
	char path[PROC_CGROUP_LEN];     /* group path inside its hierarchy ("/machine.slice/...") */
	struct idset mems;              /* cpuset.mems */
	struct idset effective;         /* cpuset.mems.effective (v1 effective_mems); = mems if absent */
};

/* Finds PID's cpuset group: v1 when it has a v1 cpuset path, else the deepest
 * v2 ancestor-or-self whose cpuset.mems is non-empty (none: not confined).
 * 0, -ESRCH if the process is gone, -EINVAL on a malformed file, -errno. */
int cs_find(const struct rt_root *r, pid_t pid, struct cs_group *g);

/* Writes cpuset.mems = mems | ADD (nothing when it holds ADD already) and
 * updates G; the kernel's -EINVAL/-EACCES when it refuses, -EINVAL when an
 * ancestor keeps the nodes out of the effective set (the old value is then
 * put back), -errno otherwise. */
int cs_widen(const struct rt_root *r, struct cs_group *g, const struct idset *add);

/* Writes cpuset.mems = TO (non-empty) and updates G; -errno. */
int cs_narrow(const struct rt_root *r, struct cs_group *g, const struct idset *to);

/* Why a cs_widen/cs_narrow error happened, for messages. */
const char *cs_reason(int err);

#endif
