/* snapshot.h - one observation of the host: topology, KSM, VMs.
 *
 * Everything the decision code sees comes from a snapshot, and a snapshot
 * is a function of the files under the root context.
 */
#ifndef KN_SNAPSHOT_H
#define KN_SNAPSHOT_H

#include "config.h"
#include "ksm.h"
#include "root.h"
#include "topo.h"
#include "vms.h"

struct snapshot {
	struct topo topo;
	struct ksm_state ksm;
	struct vm_list vms;
};

/* Observes the host under R with CFG's selection rules; -errno (and a log
 * line naming what failed) when the topology cannot be read. */
int snap_take(const struct rt_root *r, const struct cfg *cfg, struct snapshot *s);

/* The same, with DOMS naming libvirt's domains among the processes. */
int snap_take_domains(const struct rt_root *r, const struct cfg *cfg,
                      const struct vms_domains *doms, struct snapshot *s);

/* Frees what snap_take allocated. */
void snap_free(struct snapshot *s);

#endif
