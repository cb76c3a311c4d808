/* snapshot.c - one observation of the host. */
#include "snapshot.h"

#include <errno.h>
#include <string.h>

#include "log.h"

int snap_take(const struct rt_root *r, const struct cfg *cfg, struct snapshot *s)
{
	return snap_take_domains(r, cfg, NULL, s);
}

int snap_take_domains(const struct rt_root *r, const struct cfg *cfg,
                      const struct vms_domains *doms, struct snapshot *s)
{
	int ret;

	memset(s, 0, sizeof(*s));
	ret = topo_read(r, &s->topo);
	if (ret < 0) {
		log_err("cannot read the NUMA topology under %s: %s; skipping this pass",
			rt_dir(r), strerror(-ret));
		return ret;
	}
	ret = ksm_read(r, &s->ksm);
	if (ret < 0) {
		log_warn("cannot read the KSM state under %s: %s; treating KSM as absent",
			 rt_dir(r), strerror(-ret));
		memset(&s->ksm, 0, sizeof(s->ksm));
	}
	ret = vms_scan(r, cfg, &s->topo, doms, &s->vms);
	if (ret < 0) {
		log_err("cannot list the processes under %s: %s; skipping this pass",
			rt_dir(r), strerror(-ret));
		topo_free(&s->topo);
		return ret;
	}
	return 0;
}

void snap_free(struct snapshot *s)
{
	vms_free(&s->vms);
	topo_free(&s->topo);
}
