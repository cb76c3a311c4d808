/* vms.c - candidate VMs in process mode (numad's model). */
#include "vms.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "num.h"

int vms_vcpu_index(const char *comm)
{
	const char *end;
	uint64_t idx;

	if (strncmp(comm, "CPU ", 4) != 0 || num_u64(comm + 4, &end, &idx) < 0 ||
	    idx > INT_MAX / 10 || *end != '/')
		return -1;
	return (int)idx;
}

/* Why PID with command COMM is looked at, or NULL when it is not. */
static const char *selected(const struct cfg *cfg, pid_t pid, const char *comm)
{
	if (cfg_pids_has(&cfg->exclude_pids, pid))
		return NULL;
	if (cfg_patterns_match(&cfg->exclude_names, comm))
		return NULL;
	if (cfg_pids_has(&cfg->include_pids, pid))
		return "PID included by configuration";
	if (!cfg->scan_all)
		return NULL;
	if (cfg->process_names.n == 0)
		return "any process (process_names is empty)";
	if (cfg_patterns_match(&cfg->process_names, comm))
		return "command matches process_names";
	return NULL;
}

/* A process's size: what it maps (VmRSS counts every KSM mapping, where a
 * cgroup charges a merged page once) or its per-node total if larger. */
static uint64_t mem_kib(const struct proc_info *info)
{
	uint64_t kib = proc_mem_total_kib(&info->mem);

	return kib > info->status.vm_rss_kib ? kib : info->status.vm_rss_kib;
}

/* True if someone narrowed the process's CPUs below the online set. */
static bool is_pinned(const struct proc_info *info, const struct topo *t)
{
	struct idset allowed;

	if (idset_empty(&info->status.cpus_allowed))
		return false;       /* unknown (old kernel, truncated status) */
	idset_and(&allowed, &info->status.cpus_allowed, &t->online_cpus);
	return !idset_equal(&allowed, &t->online_cpus);
}

static void fill_vm(struct vm *vm, pid_t pid, const char *why, const struct topo *t,
                    const struct vms_domain *dom)
{
	vm->pid = pid;
	vm->why = why;
	snprintf(vm->name, sizeof(vm->name), "%s", dom ? dom->name : vm->info.stat.comm);
	vm->nvcpus = 0;
	for (int i = 0; i < vm->info.nthreads; i++)
		if (vms_vcpu_index(vm->info.threads[i].comm) >= 0)
			vm->nvcpus++;
	if (dom && dom->nvcpus > 0)
		vm->nvcpus = dom->nvcpus;
	/* A domain's CPU and memory masks are libvirt's doing, not an admin's. */
	vm->domain = dom != NULL;
	vm->leave_why = dom ? dom->leave_why : NULL;
	if (dom)
		vm->widen = dom->widen;
	vm->pinned = !dom && is_pinned(&vm->info, t);
}

/* The domain whose qemu runs as PID (started at STARTTIME), or NULL. */
static const struct vms_domain *domain_of(const struct vms_domains *doms, pid_t pid,
                                          uint64_t starttime)
{
	for (int i = 0; doms && i < doms->n; i++)
		if (doms->d[i].pid == pid &&
		    (!doms->d[i].starttime || doms->d[i].starttime == starttime))
			return &doms->d[i];
	return NULL;
}

/* Appends VM to L, taking over its allocations; -ENOMEM (VM freed). */
static int append(struct vm_list *l, struct vm *vm)
{
	struct vm *nv = realloc(l->vm, (l->n + 1) * sizeof(*nv));

	if (!nv) {
		proc_info_free(&vm->info);
		return -ENOMEM;
	}
	l->vm = nv;
	l->vm[l->n++] = *vm;
	return 0;
}

/* Reads one process; appends it to L if it is a candidate.  -ENOMEM only. */
static int consider(const struct rt_root *r, const struct cfg *cfg,
                    const struct topo *t, const struct vms_domains *doms,
                    pid_t pid, struct vm_list *l)
{
	const struct vms_domain *dom;
	struct proc_stat st;
	struct vm vm = { 0 };
	const char *why;
	int ret;

	ret = proc_read_stat(r, pid, 0, &st);
	if (ret == -ESRCH)
		return 0;
	if (ret < 0) {
		l->unreadable++;
		log_debug("skipping PID %d: its stat file is unreadable (%s)", pid, strerror(-ret));
		return 0;
	}
	dom = domain_of(doms, pid, st.starttime);
	why = dom && !cfg_pids_has(&cfg->exclude_pids, pid) ? "libvirt domain" :
	      selected(cfg, pid, st.comm);
	if (!why)
		return 0;
	ret = proc_read_seen(r, pid, &st, true, &vm.info);
	if (ret == -ESRCH) {
		l->vanished++;
		return 0;
	}
	if (ret < 0) {
		l->unreadable++;
		log_info("skipping %s (PID %d): its /proc files are unreadable (%s); retrying next pass",
			 st.comm, pid, strerror(-ret));
		return 0;
	}
	if (!dom && !cfg_pids_has(&cfg->include_pids, pid) &&
	    mem_kib(&vm.info) < cfg->min_memory_mb * 1024) {
		proc_info_free(&vm.info);
		return 0;
	}
	fill_vm(&vm, pid, why, t, dom);
	return append(l, &vm);
}

static int by_pid(const void *a, const void *b)
{
	const struct vm *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* The PID named by a /proc entry, or 0 if it is not a process directory. */
static pid_t entry_pid(const char *name)
{
	uint64_t v;

	if (num_u64_tok(name, strlen(name), &v) < 0 || v == 0 || v > INT_MAX)
		return 0;
	return (pid_t)v;
}

int vms_scan(const struct rt_root *r, const struct cfg *cfg, const struct topo *t,
             const struct vms_domains *doms, struct vm_list *out)
{
	struct vm_list l = { 0 };
	struct dirent *de;
	DIR *d;
	int ret = 0;

	d = rt_opendir(r, RT_PROC, "%s", "");
	if (!d)
		return -errno;
	while (ret == 0 && (de = readdir(d))) {
		pid_t pid = entry_pid(de->d_name);

		if (pid > 0)
			ret = consider(r, cfg, t, doms, pid, &l);
	}
	closedir(d);
	if (ret < 0) {
		vms_free(&l);
		return ret;
	}
	if (l.n > 1)
		qsort(l.vm, l.n, sizeof(*l.vm), by_pid);
	*out = l;
	return 0;
}

void vms_free(struct vm_list *l)
{
	for (int i = 0; i < l->n; i++)
		proc_info_free(&l->vm[i].info);
	free(l->vm);
	memset(l, 0, sizeof(*l));
}
