/* pin.c - pinning process threads to CPUs. */
#include "pin.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

static int set_live(void *ctx, pid_t tid, const struct idset *cpus)
{
	size_t size = CPU_ALLOC_SIZE(IDSET_MAX);
	cpu_set_t *set = CPU_ALLOC(IDSET_MAX);
	int ret = 0;

	(void)ctx;
	if (!set)
		return -ENOMEM;
	CPU_ZERO_S(size, set);
	IDSET_FOREACH(cpu, cpus)
		CPU_SET_S((size_t)cpu, size, set);
	if (sched_setaffinity(tid, size, set) < 0)
		ret = -errno;
	CPU_FREE(set);
	return ret;
}

const struct pin_backend pin_live = { set_live, NULL };

static int set_dry(void *ctx, pid_t tid, const struct idset *cpus)
{
	struct pin_dry *d = ctx;

	if (d->n == d->cap) {
		int cap = d->cap ? 2 * d->cap : 16;
		struct pin_dry_call *rec = realloc(d->rec, (size_t)cap * sizeof(*rec));

		if (!rec)
			return -ENOMEM;
		d->rec = rec;
		d->cap = cap;
	}
	d->rec[d->n].tid = tid;
	d->rec[d->n].cpus = *cpus;
	d->n++;
	return d->err;
}

struct pin_backend pin_dry_backend(struct pin_dry *d)
{
	return (struct pin_backend){ set_dry, d };
}

void pin_dry_free(struct pin_dry *d)
{
	free(d->rec);
	memset(d, 0, sizeof(*d));
}

int pin_threads(const struct pin_backend *b, const struct proc_info *info,
                const struct idset *cpus)
{
	int pinned = 0;

	if (idset_empty(cpus))
		return -EINVAL;
	if (info->nthreads == 0) {      /* no thread list: the process itself */
		int r = b->set(b->ctx, info->stat.pid, cpus);

		return r < 0 ? r : 1;
	}
	for (int i = 0; i < info->nthreads; i++) {
		int r = b->set(b->ctx, info->threads[i].tid, cpus);

		if (r == -ESRCH)
			continue;
		if (r < 0)
			return r;
		pinned++;
	}
	return pinned ? pinned : -ESRCH;
}
