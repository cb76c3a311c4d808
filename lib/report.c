/* report.c - what --oneshot --dry-run prints: the host as ksm-numad sees it. */
#include "report.h"

#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#define MIB(kib) ((kib) / 1024)

static void print_cpus(FILE *f, const struct idset *s)
{
	char buf[512];

	if (idset_empty(s))
		fputs("-", f);
	else if (idset_format(s, buf, sizeof(buf)) == 0)
		fputs(buf, f);
	else
		fprintf(f, "%d CPUs", idset_count(s));
}

static void print_node_row(FILE *f, const struct topo_node *n)
{
	char cpus[64] = "-";

	if (!idset_empty(&n->cpus) && idset_format(&n->cpus, cpus, sizeof(cpus)) < 0)
		snprintf(cpus, sizeof(cpus), "%d CPUs", idset_count(&n->cpus));
	fprintf(f, "  %-5d %-14s", n->id, cpus);
	if (!n->has_memory)
		fprintf(f, " %10s %10s  memoryless", "-", "-");
	else if (n->free_unknown)
		fprintf(f, " %6" PRIu64 " MiB %10s  free memory unknown (no MemFree)",
			MIB(n->mem_total_kib), "?");
	else
		fprintf(f, " %6" PRIu64 " MiB %6" PRIu64 " MiB",
			MIB(n->mem_total_kib), MIB(n->mem_free_kib));
	if (idset_empty(&n->cpus))
		fputs("  no CPUs", f);
	fputc('\n', f);
}

static void print_distances(FILE *f, const struct topo *t)
{
	fprintf(f, "Distances%s\n", t->dist_missing ?
		" (some rows unreadable: assumed 10 local, 20 remote)" : "");
	fprintf(f, "  %5s", "");
	for (int j = 0; j < t->nr; j++)
		fprintf(f, " %4d", t->node[j].id);
	fputc('\n', f);
	for (int i = 0; i < t->nr; i++) {
		fprintf(f, "  %5d", t->node[i].id);
		for (int j = 0; j < t->nr; j++)
			fprintf(f, " %4d", topo_distance(t, i, j));
		fputc('\n', f);
	}
}

static void print_nodes(FILE *f, const struct topo *t)
{
	fprintf(f, "Nodes: %d online; CPUs online ", t->nr);
	print_cpus(f, &t->online_cpus);
	if (!idset_empty(&t->offline_cpus)) {
		fputs(", offline ", f);
		print_cpus(f, &t->offline_cpus);
	}
	fprintf(f, "\n  %-5s %-14s %10s %10s\n", "node", "cpus", "memory", "free");
	for (int i = 0; i < t->nr; i++)
		print_node_row(f, &t->node[i]);
	print_distances(f, t);
}

/* Prints WORD after the words already on a line of COL columns, wrapping. */
static void print_word(FILE *f, int *col, const char *word)
{
	int len = (int)strlen(word);

	if (*col + 1 + len > 78) {
		fputs("\n   ", f);
		*col = 3;
	}
	fprintf(f, " %s", word);
	*col += 1 + len;
}

static void print_ksm_values(FILE *f, const struct ksm_state *k)
{
	char word[96];
	int col, absent = 0;

	fputs("  values:", f);
	col = 9;
	for (int i = 0; i < KSM_NKEYS; i++) {
		if (!k->has[i])
			continue;
		snprintf(word, sizeof(word), "%s=%" PRId64, ksm_key_name(i), k->val[i]);
		print_word(f, &col, word);
	}
	if (k->advisor_mode[0]) {
		snprintf(word, sizeof(word), "advisor_mode=%s", k->advisor_mode);
		print_word(f, &col, word);
	}
	fputs("\n  absent (older kernel):", f);
	col = 24;
	for (int i = 0; i < KSM_NKEYS; i++) {
		if (!k->has[i] && !k->garbled[i]) {
			print_word(f, &col, ksm_key_name(i));
			absent++;
		}
	}
	fputs(absent ? "\n" : " none\n", f);
}

static void print_ksm(FILE *f, const struct ksm_state *k)
{
	char lines[16][KSM_LINE_LEN];
	int n;

	fputs("\nKSM\n", f);
	if (k->present)
		print_ksm_values(f, k);
	n = ksm_assess(k, lines, 16);
	for (int i = 0; i < n; i++)
		fprintf(f, "  - %s\n", lines[i]);
}

static uint64_t node_kib(const struct proc_node_mem *m)
{
	return m->anon_kib + m->file_kib + m->huge_kib;
}

static const char *mem_source(enum proc_mem_source s)
{
	switch (s) {
	case PROC_MEM_CGROUP: return "cgroup memory.numa_stat";
	case PROC_MEM_NUMA_MAPS: return "numa_maps";
	default: return "no per-node data";
	}
}

static void print_vm_mem(FILE *f, const struct proc_mem *m, uint64_t rss_kib)
{
	uint64_t total = proc_mem_total_kib(m);

	fprintf(f, "    memory: %" PRIu64 " MiB on nodes (from %s), %" PRIu64 " MiB mapped (VmRSS)\n",
		MIB(total), mem_source(m->source), MIB(rss_kib));
	for (int i = 0; i < m->nr; i++) {
		const struct proc_node_mem *n = &m->node[i];
		uint64_t kib = node_kib(n);

		fprintf(f, "      node %d: %" PRIu64 " MiB (%" PRIu64 "%%)", n->node, MIB(kib),
			total ? kib * 100 / total : 0);
		if (n->huge_kib)
			fprintf(f, ", %" PRIu64 " MiB huge pages", MIB(n->huge_kib));
		if (n->shared_kib)
			fprintf(f, ", %" PRIu64 " MiB in shared mappings", MIB(n->shared_kib));
		fputc('\n', f);
	}
	if (m->truncated)
		fprintf(f, "      (more than %d nodes: the rest not shown)\n", PROC_MAX_MEM_NODES);
}

static void print_vm_threads(FILE *f, const struct topo *t, const struct vm *vm)
{
	if (vm->nvcpus)
		fputs("    vCPU threads:\n", f);
	for (int i = 0; i < vm->info.nthreads; i++) {
		const struct proc_thread *th = &vm->info.threads[i];
		int idx = topo_cpu_node(t, th->processor);

		if (vms_vcpu_index(th->comm) < 0)
			continue;
		fprintf(f, "      %s (TID %d) last ran on CPU %d", th->comm, th->tid, th->processor);
		if (idx >= 0)
			fprintf(f, " (node %d)\n", t->node[idx].id);
		else
			fputs(" (no online node)\n", f);
	}
}

static void print_vm_ksm(FILE *f, const struct proc_ksm *k)
{
	if (k->has_merging_pages)
		fprintf(f, "    KSM: %" PRIu64 " pages merged (%" PRIu64 " MiB)\n",
			k->merging_pages, k->merging_pages * (uint64_t)sysconf(_SC_PAGESIZE) >> 20);
	else if (!k->has_stat)
		fputs("    KSM: no per-process counters (kernel < 5.19 or KSM absent)\n", f);
	if (k->has_zero_pages && k->zero_pages)
		fprintf(f, "    KSM: %" PRIu64 " pages merged into the zero page\n", k->zero_pages);
}

static void print_vm(FILE *f, const struct topo *t, const struct vm *vm)
{
	const struct proc_info *in = &vm->info;

	fprintf(f, "  %s (PID %d): %d vCPUs, %d threads; %s\n", vm->name, vm->pid,
		vm->nvcpus, in->nthreads, vm->why);
	fputs("    CPUs allowed ", f);
	if (idset_empty(&in->status.cpus_allowed))
		fputs("unknown (no Cpus_allowed_list in status)", f);
	else
		print_cpus(f, &in->status.cpus_allowed);
	if (vm->pinned)
		fputs(" (pinned by an administrator: left alone)", f);
	fputs("; memory allowed on nodes ", f);
	print_cpus(f, &in->status.mems_allowed);
	fputc('\n', f);
	if (in->cgroup[0] || in->cpuset_cgroup[0])
		fprintf(f, "    cgroup %s\n", in->cgroup[0] ? in->cgroup : in->cpuset_cgroup);
	print_vm_mem(f, &in->mem, in->status.vm_rss_kib);
	print_vm_ksm(f, &in->ksm);
	print_vm_threads(f, t, vm);
}

static void print_vms(FILE *f, const struct snapshot *s)
{
	const struct vm_list *l = &s->vms;

	fprintf(f, "\nVMs and candidate processes: %d\n", l->n);
	for (int i = 0; i < l->n; i++)
		print_vm(f, &s->topo, &l->vm[i]);
	if (l->vanished)
		fprintf(f, "  (%d exited while being read: skipped)\n", l->vanished);
	if (l->unreadable)
		fprintf(f, "  (%d with unreadable or malformed files: skipped)\n", l->unreadable);
}

void report_print(FILE *f, const struct rt_root *r, const struct snapshot *s)
{
	fprintf(f, "ksm-numad %s: dry run on %s (nothing is changed)\n\n", PACKAGE_VERSION,
		rt_is_live(r) ? "this host" : rt_dir(r));
	print_nodes(f, &s->topo);
	print_ksm(f, &s->ksm);
	print_vms(f, s);
}

void report_status(char *buf, size_t size, const struct snapshot *s)
{
	uint64_t free_kib = 0;

	for (int i = 0; i < s->topo.nr; i++)
		free_kib += s->topo.node[i].mem_free_kib;
	snprintf(buf, size, "%d nodes, %" PRIu64 " MiB free, %d VMs, KSM %s",
		 s->topo.nr, MIB(free_kib), s->vms.n,
		 !s->ksm.present ? "absent" :
		 ksm_get(&s->ksm, KSM_RUN, 0) == 1 ? "running" : "not running");
}

static uint64_t movable_kib(const struct pol_vm *v, int nnodes)
{
	uint64_t sum = 0;

	for (int i = 0; i < nnodes && i < POL_MAX_NODES; i++)
		sum += v->mem_kib[i];
	return sum;
}

static void print_decision(FILE *f, const struct pol_input *in, const struct pol_decision *d)
{
	const struct pol_vm *v = &in->vm[d->vm];
	char home[128];

	idset_format(&d->home, home, sizeof(home));
	fprintf(f, "  %s (PID %d): %s", v->name, v->pid, pol_verdict_name(d->verdict));
	if (!idset_empty(&d->home))
		fprintf(f, ", home node(s) %s, %.0f%% of its movable memory there", home, d->locality);
	fputc('\n', f);
	fprintf(f, "    uses %.2f of %d CPUs; %" PRIu64 " MiB movable, %" PRIu64
		" MiB shared by KSM (not moved)\n", v->cpu_use, v->nvcpus,
		MIB(movable_kib(v, in->nnodes)), MIB(v->shared_kib));
	if (d->to_move_kib)
		fprintf(f, "    to move: %" PRIu64 " MiB, %" PRIu64 " MiB of it this interval\n",
			MIB(d->to_move_kib), MIB(d->budget_kib));
	fprintf(f, "    why: %s\n", d->why);
}

void report_decisions(FILE *f, const struct pol_input *in, const struct pol_result *res)
{
	fprintf(f, "\nDecisions: %d VMs, %d given a new home, %" PRIu64
		" MiB to move this interval\n", res->n, res->moves, MIB(res->budget_kib));
	for (int i = 0; i < res->n; i++)
		print_decision(f, in, &res->d[i]);
}

void report_status_decisions(char *buf, size_t size, const struct pol_result *res)
{
	int count[POL_LEFT_ALONE + 1] = { 0 };

	for (int i = 0; i < res->n; i++)
		if (res->d[i].verdict <= POL_LEFT_ALONE)
			count[res->d[i].verdict]++;
	snprintf(buf, size, "; %d local, %d settling, %d moved, %d held, %d no fit, %d left alone",
		 count[POL_STAY], count[POL_SETTLE], count[POL_MOVE], count[POL_HELD],
		 count[POL_NO_FIT], count[POL_LEFT_ALONE]);
}
