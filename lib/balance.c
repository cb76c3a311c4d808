/* balance.c - from a snapshot to pinned threads and memory moves.
 *
 * Movable memory: a VM's pages that KSM merged (ksm_merging_pages) are not
 * its to move.  numa_maps counts every such mapping on the node of the KSM
 * page, so there the merged share is taken off each node in proportion;
 * a cgroup's numa_stat charges a KSM page once, so its node figures stand
 * as they are.  Either way the merged memory goes to pol_vm.shared_kib.
 * Once a move to a home has finished, what the engine left behind outside
 * that home (pages it found shared, KSM pages over the limit, refusals) is
 * known exactly and counts as shared too: it is not the VM's to move, and
 * another move would leave it again.
 */
#include "balance.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define KIB 1024ULL

uint64_t bal_key(pid_t pid, uint64_t starttime)
{
	/* PIDs fit in 22 bits (pid_max <= 4194304) */
	return (starttime << 22) | ((uint64_t)pid & 0x3fffff);
}

void bal_init(struct bal *b, const struct pin_backend *pin, const struct mv_opts *mv)
{
	memset(b, 0, sizeof(*b));
	pol_params_default(&b->params);
	pol_state_init(&b->pol);
	b->pin = *pin;
	b->mv = *mv;
}

void bal_init_host(struct bal *b, const struct rt_root *root, struct pin_dry *dry)
{
	struct pin_backend pin = dry ? pin_dry_backend(dry) : pin_live;
	struct mv_opts mv;

	mv_opts_live(&mv, root);
	bal_init(b, &pin, &mv);
	b->dry_run = dry != NULL;
}

static void stop_job(struct bal_vm *v)
{
	if (v->moving)
		mv_job_free(&v->job);
	v->moving = false;
	v->budget = 0;
}

void bal_free(struct bal *b)
{
	for (int i = 0; i < b->n; i++)
		stop_job(&b->vm[i]);
	free(b->vm);
	free(b->restored.vm);
	pol_state_free(&b->restored.pol);
	free(b->in_vm);
	ld_free(&b->load);
	pol_state_free(&b->pol);
	pol_result_free(&b->res);
	memset(b, 0, sizeof(*b));
}

void bal_configure(struct bal *b, const struct cfg *cfg, const struct ksm_state *ksm)
{
	pol_params_from_cfg(&b->params, cfg);
	mv_opts_configure(&b->mv, cfg, ksm);
	b->reserved = cfg->reserved_cpus;
}

/* The record of VM KEY from the last pass, or from the daemon before this
 * one until a pass took it over; NULL: a VM new to the balancer. */
static struct bal_vm *find(const struct bal *b, uint64_t key)
{
	for (int i = 0; i < b->n; i++)
		if (b->vm[i].key == key)
			return &b->vm[i];
	for (int i = 0; i < b->restored.n; i++)
		if (b->restored.vm[i].key == key)
			return &b->restored.vm[i];
	return NULL;
}

/* The CPUs of node I that VMs may use: all but the reserved ones. */
static void usable_cpus(const struct bal *b, const struct topo *t, int i,
                        struct idset *cpus)
{
	*cpus = t->node[i].cpus;
	IDSET_FOREACH(cpu, &b->reserved)
		idset_del(cpus, cpu);
}

/* Reserved CPUs are left out: for the policy a node whose CPUs are all
 * reserved is CPU-less. */
static void fill_nodes(struct bal *b, struct pol_input *in, const struct topo *t,
                       const struct ld_sample *prev, const struct ld_sample *cur)
{
	in->nnodes = t->nr;
	memcpy(b->dist, t->dist, (size_t)t->nr * (size_t)t->nr * sizeof(*b->dist));
	in->dist = b->dist;
	for (int i = 0; i < t->nr; i++) {
		const struct topo_node *tn = &t->node[i];
		struct pol_node *n = &in->node[i];
		struct idset cpus;

		usable_cpus(b, t, i, &cpus);
		memset(n, 0, sizeof(*n));
		n->id = tn->id;
		n->ncpus = idset_count(&cpus);
		n->has_memory = tn->has_memory;
		n->mem_total_kib = tn->mem_total_kib;
		n->mem_free_kib = tn->mem_free_kib;
		IDSET_FOREACH(cpu, &cpus) {
			double busy = cur ? ld_cpu_busy(prev, cur, cpu) : -1;

			n->cpu_busy += busy > 0 ? busy : 0;
		}
	}
}

/* Movable memory per node and the merged share (see the top comment). */
static void fill_memory(struct pol_vm *pv, const struct vm *vm, const struct topo *t)
{
	const struct proc_mem *m = &vm->info.mem;
	uint64_t total = proc_mem_total_kib(m), page_kib = (uint64_t)sysconf(_SC_PAGESIZE) / KIB;
	uint64_t shared = vm->info.ksm.merging_pages * (page_kib ? page_kib : 4);

	if (shared > total && m->source == PROC_MEM_NUMA_MAPS)
		shared = total;
	pv->shared_kib = shared;
	for (int k = 0; k < m->nr; k++) {
		const struct proc_node_mem *nm = &m->node[k];
		int i = topo_index(t, nm->node);
		uint64_t kib = nm->anon_kib + nm->file_kib + nm->huge_kib;

		if (i < 0 || i >= POL_MAX_NODES)
			continue;
		if (m->source == PROC_MEM_NUMA_MAPS && total)
			kib -= (uint64_t)((double)kib * (double)shared / (double)total);
		pv->mem_kib[i] += kib;
	}
}

/* Why an admin's setting keeps this VM out of the balancer's hands, or NULL. */
static const char *left_why(const struct vm *vm, const struct bal_vm *old, const struct topo *t)
{
	const struct proc_status *st = &vm->info.status;

	if (vm->domain)         /* its masks are libvirt's; its XML says */
		return vm->leave_why;
	if (vm->pinned && !(old && idset_equal(&old->pinned, &st->cpus_allowed)))
		return "its CPUs were pinned by someone else (Cpus_allowed_list)";
	for (int i = 0; i < t->nr; i++)
		if (t->node[i].has_memory && !idset_empty(&st->mems_allowed) &&
		    !idset_has(&st->mems_allowed, t->node[i].id))
			return "its memory is bound to some nodes (Mems_allowed_list)";
	return NULL;
}

static void take_left(struct pol_vm *pv, const struct bal_vm *old, const struct topo *t)
{
	uint64_t left = old->left_kib;

	for (int i = 0; i < t->nr && i < POL_MAX_NODES && left; i++) {
		uint64_t k;

		if (idset_has(&old->left_home, t->node[i].id))
			continue;
		k = pv->mem_kib[i] < left ? pv->mem_kib[i] : left;
		pv->mem_kib[i] -= k;
		pv->shared_kib += k;
		left -= k;
	}
}

/* Where VM's threads last ran, by node: its vCPU threads when it names
 * them (qemu's main loop, I/O and RCU threads go wherever the scheduler
 * puts them and would make where it runs a coin flip), else all threads. */
static void fill_threads_on(struct pol_vm *pv, const struct vm *vm,
                            const struct topo *t)
{
	bool vcpus_only = false;

	for (int i = 0; i < vm->info.nthreads && !vcpus_only; i++)
		vcpus_only = vms_vcpu_index(vm->info.threads[i].comm) >= 0;
	for (int i = 0; i < vm->info.nthreads; i++) {
		const struct proc_thread *th = &vm->info.threads[i];
		int n = topo_cpu_node(t, th->processor);

		if (vcpus_only && vms_vcpu_index(th->comm) < 0)
			continue;
		if (n >= 0 && n < POL_MAX_NODES)
			pv->threads_on[n]++;
	}
}

static void fill_vm(struct pol_vm *pv, const struct vm *vm, const struct bal *b,
                    const struct topo *t, const struct ld_sample *cur)
{
	const struct proc_stat *st = &vm->info.stat;
	const struct ld_sample *prev = b->have_load ? &b->load : NULL;
	const struct bal_vm *old;
	double use;

	memset(pv, 0, sizeof(*pv));
	pv->key = bal_key(vm->pid, st->starttime);
	pv->pid = vm->pid;
	pv->name = vm->name;
	pv->nvcpus = vm->nvcpus > 0 ? vm->nvcpus : (vm->info.nthreads > 0 ? vm->info.nthreads : 1);
	old = find(b, pv->key);
	use = cur ? ld_proc_use(old ? prev : NULL, cur, old ? old->ticks : 0,
				st->utime + st->stime, st->starttime) : -1;
	pv->cpu_use = use > 0 ? use : 0;
	fill_memory(pv, vm, t);
	if (old && old->left_kib)
		take_left(pv, old, t);
	fill_threads_on(pv, vm, t);
	pv->left_why = left_why(vm, old, t);
	pv->left_alone = pv->left_why != NULL;
}

int bal_input(struct bal *b, const struct snapshot *s, const struct ld_sample *load)
{
	const struct vm_list *l = &s->vms;

	if (s->topo.nr > POL_MAX_NODES)
		return -E2BIG;
	if (l->n > b->in_cap) {
		struct pol_vm *v = realloc(b->in_vm, (size_t)l->n * sizeof(*v));

		if (!v)
			return -ENOMEM;
		b->in_vm = v;
		b->in_cap = l->n;
	}
	fill_nodes(b, &b->in, &s->topo, b->have_load ? &b->load : NULL, load);
	for (int i = 0; i < l->n; i++)
		fill_vm(&b->in_vm[i], &l->vm[i], b, &s->topo, load);
	b->in.nvms = l->n;
	b->in.vm = b->in_vm;
	return 0;
}

/* Drops the restored records that FRESH took over (N VMs); all of them
 * once they waited BAL_RESTORED_PASSES passes. */
static void prune_restored(struct bal *b, const struct bal_vm *fresh, int n)
{
	int k = 0;

	if (!b->restored.vm)
		return;
	for (int i = 0; i < b->restored.n; i++) {
		bool taken = false;

		for (int j = 0; j < n && !taken; j++)
			taken = fresh[j].key == b->restored.vm[i].key;
		if (!taken)
			b->restored.vm[k++] = b->restored.vm[i];
	}
	b->restored.n = k;
	if (--b->restored.passes > 0 && (k || b->restored.pol.n))
		return;
	free(b->restored.vm);
	pol_state_free(&b->restored.pol);
	memset(&b->restored, 0, sizeof(b->restored));
}

/* Carries the memory of VMs still there into a fresh list for S; ends the
 * moves of those that are gone. */
static int sync_vms(struct bal *b, const struct snapshot *s)
{
	const struct vm_list *l = &s->vms;
	struct bal_vm *fresh = calloc((size_t)(l->n ? l->n : 1), sizeof(*fresh));

	if (!fresh)
		return -ENOMEM;
	for (int i = 0; i < l->n; i++) {
		const struct vm *vm = &l->vm[i];
		struct bal_vm *old = find(b, b->in_vm[i].key), *v = &fresh[i];

		if (old) {
			*v = *old;
			old->moving = false;    /* the job now belongs to FRESH */
		}
		v->key = b->in_vm[i].key;
		v->pid = vm->pid;
		v->starttime = vm->info.stat.starttime;
		snprintf(v->name, sizeof(v->name), "%s", vm->name);
		v->ticks = vm->info.stat.utime + vm->info.stat.stime;
		v->budget = 0;
	}
	for (int i = 0; i < b->n; i++) {
		if (b->vm[i].moving)
			log_vm(LOG_INFO, b->vm[i].name, b->vm[i].pid, -1,
			       "VM exited; its memory move ends");
		stop_job(&b->vm[i]);
	}
	free(b->vm);
	b->vm = fresh;
	b->n = b->cap = l->n;
	prune_restored(b, fresh, l->n);
	b->next = 0;
	/* The input outlives the snapshot (ksm-numadctl reads it): own names. */
	for (int i = 0; i < l->n; i++)
		b->in_vm[i].name = b->vm[i].name;
	return 0;
}

static void node_cpus(const struct bal *b, const struct topo *t,
                      const struct idset *home, struct idset *cpus)
{
	struct idset c;

	idset_clear(cpus);
	IDSET_FOREACH(id, home) {
		int i = topo_index(t, id);

		if (i < 0)
			continue;
		usable_cpus(b, t, i, &c);
		idset_or(cpus, cpus, &c);
	}
}

/* A domain is pinned through libvirt (the call is queued, so its result
 * is logged by the libvirt worker): virsh vcpupin shows what was done. */
static void pin_domain(struct bal *b, struct bal_vm *v, const struct vm *vm,
                       const struct idset *cpus, const char *list)
{
	int r = 0;

	if (!b->dry_run)
		r = b->dom_pin.pin ? b->dom_pin.pin(b->dom_pin.ctx, vm->name, cpus) : -ENOTCONN;
	if (r < 0) {
		log_vm(LOG_WARNING, vm->name, vm->pid, -1,
		       "cannot pin it through libvirt to CPUs %s: %s; trying again next interval",
		       list, strerror(-r));
		return;
	}
	v->pinned = *cpus;
	log_vm(LOG_INFO, vm->name, vm->pid, -1, "vCPUs and emulator %s to CPUs %s through libvirt",
	       b->dry_run ? "would be pinned" : "pinned", list);
}

static void pin_vm(struct bal *b, struct bal_vm *v, const struct vm *vm,
                   const struct topo *t, const struct pol_decision *d)
{
	struct idset cpus;
	char list[128];
	int r;

	node_cpus(b, t, &d->home, &cpus);
	if (idset_empty(&cpus) || idset_equal(&cpus, &vm->info.status.cpus_allowed))
		return;
	idset_format(&cpus, list, sizeof(list));
	if (vm->domain) {
		pin_domain(b, v, vm, &cpus, list);
		return;
	}
	r = pin_threads(&b->pin, &vm->info, &cpus);
	if (r < 0) {
		log_vm(LOG_WARNING, vm->name, vm->pid, -1,
		       "cannot pin its threads to CPUs %s: %s; trying again next interval",
		       list, strerror(-r));
		return;
	}
	v->pinned = cpus;
	log_vm(LOG_INFO, vm->name, vm->pid, -1, "%d thread(s) %s to CPUs %s", r,
	       b->dry_run ? "would be pinned" : "pinned", list);
}

/* Gives V's memory move BUDGET bytes this interval, towards HOME. */
static void plan_move(struct bal *b, struct bal_vm *v, const struct idset *home, uint64_t budget)
{
	if (v->moving && (!idset_equal(&v->job.target, home) || v->job.state != MV_RUNNING))
		stop_job(v);
	if (!idset_equal(&v->left_home, home))
		v->left_kib = 0;
	if (!budget)
		return;
	if (!v->moving) {
		int r = mv_job_init(&v->job, v->pid, home, &b->mv);

		if (r < 0) {
			log_vm(LOG_WARNING, v->name, v->pid, -1,
			       "cannot start moving its memory: %s", strerror(-r));
			return;
		}
		v->moving = true;
	}
	v->budget = budget;
}

/* Forgets V's widening: its memory nodes hold the home, or another set is
 * wanted now. */
static void widen_reset(struct bal_vm *v)
{
	idset_clear(&v->widening);
	v->widen_settled = false;
	v->widen_fails = 0;
	v->widen_next = 0;
}

/* Passes between the ask that failed FAILS times in a row and the next:
 * 1, 2, 4, ... at most BAL_WIDEN_MAX_WAIT. */
static long widen_wait(int fails)
{
	long w = 1;

	for (int i = 1; i < fails && w < BAL_WIDEN_MAX_WAIT; i++)
		w *= 2;
	return w < BAL_WIDEN_MAX_WAIT ? w : BAL_WIDEN_MAX_WAIT;
}

/* The widening V asked on widen_pass did not widen its memory nodes, for
 * the reason WHAT: counted, said, and asked again after its wait. */
static void widen_failed(const struct bal *b, struct bal_vm *v, int prio, const char *what)
{
	char list[128], when[48];
	long in;

	v->widen_settled = true;
	v->widen_fails++;
	v->widen_next = v->widen_pass + widen_wait(v->widen_fails);
	in = v->widen_next - b->pass;
	if (in <= 0)
		snprintf(when, sizeof(when), "now");
	else if (in == 1)
		snprintf(when, sizeof(when), "next pass");
	else
		snprintf(when, sizeof(when), "in %ld passes", in);
	idset_format(&v->widening, list, sizeof(list));
	log_vm(prio, v->name, v->pid, -1, "widening its memory nodes to %s through libvirt "
	       "failed (%s); its memory waits, asking again %s", list, what, when);
}

/* Learns from VM's snapshot what became of the widening V asked last:
 * libvirt refused it, or said it was done while Mems_allowed_list does
 * not show it, or gave no answer for BAL_WIDEN_LOST_PASSES (the request
 * was lost with the worker).  Still waiting for the answer otherwise. */
static void widen_settle(const struct bal *b, struct bal_vm *v, const struct vm *vm)
{
	const struct vms_widening *w = &vm->widen;
	char what[300], now[64];

	if (w->state == VMS_WIDEN_FAILED) {
		snprintf(what, sizeof(what), "libvirt: %s",
		         w->detail[0] ? w->detail : strerror(w->err < 0 ? -w->err : EIO));
		widen_failed(b, v, LOG_WARNING, what);
	} else if (w->state == VMS_WIDEN_DONE) {
		idset_format(&vm->info.status.mems_allowed, now, sizeof(now));
		snprintf(what, sizeof(what), "libvirt said done, Mems_allowed_list is %s", now);
		widen_failed(b, v, LOG_NOTICE, what);
	} else if (b->pass - v->widen_pass >= BAL_WIDEN_LOST_PASSES) {
		snprintf(what, sizeof(what), "no answer from libvirt in %ld passes",
		         b->pass - v->widen_pass);
		widen_failed(b, v, LOG_NOTICE, what);
	}
}

/* Asks libvirt to widen VM's memory nodes to WANT; a request that cannot
 * even be queued (libvirt away, a full queue) fails at once. */
static void widen_ask(struct bal *b, struct bal_vm *v, const struct vm *vm,
                      const struct idset *want)
{
	char list[128], what[96];
	int r = 0;

	v->widening = *want;
	v->widen_pass = b->pass;
	v->widen_settled = false;
	if (!b->dry_run)
		r = b->dom_pin.mems ? b->dom_pin.mems(b->dom_pin.ctx, vm->name, want) : -ENOTCONN;
	if (r < 0) {
		snprintf(what, sizeof(what), "not queued: %s", strerror(-r));
		widen_failed(b, v, LOG_WARNING, what);
		return;
	}
	idset_format(want, list, sizeof(list));
	if (b->dry_run)
		log_vm(LOG_INFO, vm->name, vm->pid, -1, "memory nodes would be widened to %s "
		       "through libvirt before its memory moves", list);
	else
		log_vm(LOG_INFO, vm->name, vm->pid, -1, "asked libvirt to widen its memory "
		       "nodes to %s before its memory moves", list);
}

/* A domain's memory nodes (libvirt's numatune, cpuset.mems) must hold the
 * memory nodes of HOME before the engine can move memory there:
 * move_pages(2) refuses other nodes.  They are widened through libvirt and
 * never narrowed (narrowing has the kernel migrate every page outside the
 * set at once).  A widening that did not take is asked again, at most once
 * a pass and less often after each failure (widen_wait); a dry run says it
 * once.  True while the move must wait for them. */
static bool mems_wait(struct bal *b, struct bal_vm *v, const struct vm *vm,
                      const struct topo *t, const struct idset *home)
{
	const struct idset *allowed = &vm->info.status.mems_allowed;
	struct idset want = *allowed;

	if (!vm->domain || idset_empty(allowed))
		return false;
	IDSET_FOREACH(id, home) {
		int i = topo_index(t, id);

		if (i >= 0 && t->node[i].has_memory)
			idset_add(&want, id);   /* a memoryless node is never in the set */
	}
	if (idset_equal(&want, allowed)) {
		widen_reset(v);
		return false;
	}
	if (!idset_equal(&v->widening, &want)) {
		widen_reset(v);
	} else {
		if (b->dry_run)
			return true;
		if (!v->widen_settled)
			widen_settle(b, v, vm);
		if (!v->widen_settled || b->pass < v->widen_next)
			return true;
	}
	widen_ask(b, v, vm, &want);
	return true;
}

static void act(struct bal *b, const struct snapshot *s)
{
	for (int i = 0; i < b->res.n; i++) {
		const struct pol_decision *d = &b->res.d[i];
		const struct vm *vm = &s->vms.vm[d->vm];
		struct bal_vm *v = &b->vm[d->vm];
		char home[64];

		idset_format(&d->home, home, sizeof(home));
		if (d->verdict == POL_MOVE)
			log_vm(LOG_NOTICE, vm->name, vm->pid, idset_next(&d->home, 0),
			       "new home node(s) %s: %s", home, d->why);
		else
			log_vm(LOG_DEBUG, vm->name, vm->pid, -1, "%s", d->why);
		if (d->verdict != POL_MOVE && d->verdict != POL_SETTLE && d->verdict != POL_STAY)
			continue;
		uint64_t budget = d->verdict == POL_STAY ? 0 : d->budget_kib * KIB;

		pin_vm(b, v, vm, &s->topo, d);
		if (budget && mems_wait(b, v, vm, &s->topo, &d->home))
			budget = 0;
		plan_move(b, v, &d->home, budget);
	}
}

static const struct pol_memory *recall(const struct pol_state *s, uint64_t key);
static int by_key(const void *a, const void *b);

/* Gives the policy the restored home of each VM of this pass it has none
 * for (taken out of what waits); -ENOMEM. */
static int restore_homes(struct bal *b)
{
	struct pol_state *rp = &b->restored.pol;
	int k = 0;

	for (int i = 0; i < rp->n; i++) {
		bool here = false;
		struct pol_memory *m;

		for (int j = 0; j < b->in.nvms && !here; j++)
			here = b->in.vm[j].key == rp->m[i].key;
		if (!here || recall(&b->pol, rp->m[i].key)) {
			rp->m[k++] = rp->m[i];
			continue;
		}
		m = realloc(b->pol.m, (size_t)(b->pol.n + 1) * sizeof(*m));
		if (!m)
			return -ENOMEM;
		b->pol.m = m;
		b->pol.m[b->pol.n++] = rp->m[i];
		b->pol.cap = b->pol.n;
	}
	if (k < rp->n && b->pol.n > 1)
		qsort(b->pol.m, (size_t)b->pol.n, sizeof(*b->pol.m), by_key);
	rp->n = k;
	return 0;
}

int bal_prime(struct bal *b, const struct snapshot *s, struct ld_sample *load)
{
	int r = bal_input(b, s, load);

	if (r == 0)
		r = sync_vms(b, s);
	if (r == 0 && load->ncpu > 0) {
		ld_free(&b->load);
		b->load = *load;
		b->have_load = true;
		memset(load, 0, sizeof(*load));
	}
	ld_free(load);
	return r;
}

int bal_pass(struct bal *b, const struct snapshot *s, struct ld_sample *load)
{
	int r = bal_input(b, s, load);

	if (r == 0)
		r = restore_homes(b);
	if (r == 0) {
		pol_result_free(&b->res);
		r = pol_decide(&b->in, &b->params, b->pass_base + b->pass, &b->pol, &b->res);
	}
	if (r == 0)
		r = sync_vms(b, s);
	if (r < 0) {
		if (load)
			ld_free(load);
		return r;
	}
	act(b, s);
	ld_free(&b->load);
	b->have_load = false;
	if (load) {
		b->load = *load;
		b->have_load = load->ncpu > 0;
		memset(load, 0, sizeof(*load));
	}
	b->pass++;
	return 0;
}

static void job_ended(struct bal_vm *v, int r)
{
	const struct mv_totals *t = &v->job.t;
	int prio = r == 0 || r == -ESRCH ? LOG_INFO : LOG_WARNING;

	if (r == 0) {
		uint64_t pages = t->plan.shared + t->plan.ksm_kept + t->plan.ksm_over + t->refused;

		v->left_kib = pages * (v->job.page_size ? v->job.page_size : 4096) / KIB;
		v->left_home = v->job.target;
	}

	log_vm(prio, v->name, v->pid, r == -ENOSPC ? v->job.stop_node : -1,
	       "memory move %s: %llu MiB moved in %llu calls, worst call %.1f ms",
	       mv_state_name(v->job.state), (unsigned long long)(t->bytes >> 20),
	       (unsigned long long)t->calls, (double)t->worst_ns / 1e6);
	stop_job(v);
}

int bal_step(struct bal *b, struct mv_step *out)
{
	memset(out, 0, sizeof(*out));
	for (int k = 0; k < b->n; k++) {
		struct bal_vm *v = &b->vm[(b->next + k) % b->n];
		int r;

		if (!v->moving || !v->budget)
			continue;
		b->next = (b->next + k + 1) % b->n;
		r = mv_job_step(&v->job, out);
		v->budget = out->bytes >= v->budget ? 0 : v->budget - out->bytes;
		if (r <= 0)
			job_ended(v, r);
		return 1;
	}
	return 0;
}

/* The policy's memory of the VM KEY in S, or NULL. */
static const struct pol_memory *recall(const struct pol_state *s, uint64_t key)
{
	for (int i = 0; i < s->n; i++)
		if (s->m[i].key == key)
			return &s->m[i];
	return NULL;
}

/* Adds V to D if it was pinned or placed; 0, -E2BIG, -ENOMEM. */
static int state_of(const struct bal *b, const struct bal_vm *v, struct st_data *d)
{
	const struct pol_memory *m = recall(&b->pol, v->key);

	if (!m)
		m = recall(&b->restored.pol, v->key);
	struct st_vm e = { .pid = v->pid, .starttime = v->starttime,
	                   .pinned = v->pinned, .moved_at = -1 };

	if (!m && idset_empty(&v->pinned))
		return 0;
	snprintf(e.name, sizeof(e.name), "%s", v->name);
	if (m) {
		e.home = m->home;
		e.prev_home = m->prev_home;
		e.moved_at = m->moved_at;
	}
	return st_add_vm(d, &e);
}

int bal_state_get(const struct bal *b, struct st_data *d)
{
	int r = 0;

	d->pass = b->pass_base + b->pass;
	for (int i = 0; i < b->n && r == 0; i++)
		r = state_of(b, &b->vm[i], d);
	/* Not taken by a pass yet: kept as they were. */
	for (int i = 0; i < b->restored.n && r == 0; i++)
		r = state_of(b, &b->restored.vm[i], d);
	return r;
}

static int by_key(const void *a, const void *b)
{
	const struct pol_memory *x = a, *y = b;

	return (x->key > y->key) - (x->key < y->key);
}

/* D's homes as a policy state (by ascending key, as pol_decide keeps it). */
static int put_homes(struct pol_state *s, const struct st_data *d)
{
	struct pol_memory *m = calloc((size_t)(d->nvm ? d->nvm : 1), sizeof(*m));
	int n = 0;

	if (!m)
		return -ENOMEM;
	for (int i = 0; i < d->nvm; i++) {
		const struct st_vm *e = &d->vm[i];

		if (idset_empty(&e->home))
			continue;
		m[n].key = bal_key(e->pid, e->starttime);
		m[n].home = e->home;
		m[n].prev_home = e->prev_home;
		m[n].moved_at = e->moved_at;
		n++;
	}
	qsort(m, (size_t)n, sizeof(*m), by_key);
	s->m = m;
	s->n = s->cap = n;
	return 0;
}

int bal_state_put(struct bal *b, const struct st_data *d)
{
	struct bal_vm *vm;
	int r;

	if (b->n || b->pass || b->restored.vm)
		return -EBUSY;
	vm = calloc((size_t)(d->nvm ? d->nvm : 1), sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	r = put_homes(&b->restored.pol, d);
	if (r < 0) {
		free(vm);
		return r;
	}
	for (int i = 0; i < d->nvm; i++) {
		vm[i].key = bal_key(d->vm[i].pid, d->vm[i].starttime);
		vm[i].pid = d->vm[i].pid;
		vm[i].starttime = d->vm[i].starttime;
		vm[i].pinned = d->vm[i].pinned;
		snprintf(vm[i].name, sizeof(vm[i].name), "%s", d->vm[i].name);
	}
	b->restored.vm = vm;
	b->restored.n = d->nvm;
	b->restored.passes = BAL_RESTORED_PASSES;
	b->pass_base = d->pass;
	return 0;
}

uint64_t bal_pending(const struct bal *b)
{
	uint64_t sum = 0;

	for (int i = 0; i < b->n; i++)
		if (b->vm[i].moving)
			sum += b->vm[i].budget;
	return sum;
}
