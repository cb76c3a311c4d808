/* test_balance.c - snapshot to policy input, decisions to pinning and moves,
 * on hand-built snapshots with the dry-run pin and mover backends. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "balance.h"
#include "tmptree.h"

#define GIB_KIB (1024ull * 1024)
#define PG 4096u

/* Two nodes: 0 with CPUs 0-1, 1 with CPUs 2-3; 8 GiB each, 6 GiB free. */
static void topo_two(struct topo *t)
{
	static int dist[4] = { 10, 20, 20, 10 };

	memset(t, 0, sizeof(*t));
	t->nr = 2;
	t->node = calloc(2, sizeof(*t->node));
	assert_non_null(t->node);
	for (int i = 0; i < 2; i++) {
		t->node[i].id = i;
		idset_add(&t->node[i].cpus, 2 * i);
		idset_add(&t->node[i].cpus, 2 * i + 1);
		t->node[i].has_memory = true;
		t->node[i].mem_total_kib = 8 * GIB_KIB;
		t->node[i].mem_free_kib = 6 * GIB_KIB;
		idset_or(&t->online_cpus, &t->online_cpus, &t->node[i].cpus);
	}
	t->dist = dist;
}

/* VM PID with 2 vCPU threads that last ran on CPU 0 and 1 (node 0), memory
 * ANON0/ANON1 KiB on nodes 0/1 (from numa_maps), MERGED KSM pages. */
static void vm_fill(struct vm *v, pid_t pid, uint64_t anon0, uint64_t anon1, uint64_t merged)
{
	struct proc_info *in = &v->info;

	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "vm%d", (int)pid);
	v->pid = pid;
	v->nvcpus = 2;
	v->why = "test";
	in->stat.pid = pid;
	in->stat.starttime = 1000 + (uint64_t)pid;
	in->stat.utime = 500;
	idset_parse(&in->status.cpus_allowed, "0-3");
	idset_parse(&in->status.mems_allowed, "0-1");
	in->mem.source = PROC_MEM_NUMA_MAPS;
	in->mem.nr = 2;
	in->mem.node[0] = (struct proc_node_mem){ .node = 0, .anon_kib = anon0 };
	in->mem.node[1] = (struct proc_node_mem){ .node = 1, .anon_kib = anon1 };
	in->ksm.has_merging_pages = merged > 0;
	in->ksm.merging_pages = merged;
	in->nthreads = 2;
	in->threads = calloc(2, sizeof(*in->threads));
	assert_non_null(in->threads);
	for (int i = 0; i < 2; i++) {
		in->threads[i].tid = pid + 1 + i;
		in->threads[i].processor = i;
		snprintf(in->threads[i].comm, sizeof(in->threads[i].comm), "CPU %d/KVM", i);
	}
}

static void snap_init(struct snapshot *s, int nvms)
{
	memset(s, 0, sizeof(*s));
	topo_two(&s->topo);
	s->vms.n = nvms;
	s->vms.vm = calloc((size_t)nvms + 1, sizeof(*s->vms.vm));
	assert_non_null(s->vms.vm);
}

static void snap_done(struct snapshot *s)
{
	for (int i = 0; i < s->vms.n; i++)
		free(s->vms.vm[i].info.threads);
	free(s->vms.vm);
	free(s->topo.node);
}

/* CPU counters: 1000 ticks per CPU, CPUs 0-1 BUSY0 busy, CPUs 2-3 none. */
static void load_at(struct ld_sample *l, uint64_t scale, uint64_t busy0)
{
	char buf[256];

	snprintf(buf, sizeof(buf),
		 "cpu0 %llu 0 0 %llu\ncpu1 %llu 0 0 %llu\ncpu2 0 0 0 %llu\ncpu3 0 0 0 %llu\n",
		 (unsigned long long)(busy0 * scale), (unsigned long long)((1000 - busy0) * scale),
		 (unsigned long long)(busy0 * scale), (unsigned long long)((1000 - busy0) * scale),
		 (unsigned long long)(1000 * scale), (unsigned long long)(1000 * scale));
	assert_int_equal(ld_parse(buf, l), 0);
}

/* A process of N pages all on node 1 (the dry backend's query answer). */
struct fake {
	int n;
	long reads;
	uint32_t ksm_maps;              /* 0: exclusive pages; else KSM pages mapped that often */
};

static int fake_window(void *data, pid_t pid, uint64_t from, int max, struct pm_window *w)
{
	struct fake *f = data;
	uint64_t base = 1ull << 30;
	int first = from > base ? (int)((from - base) / PG) : 0, k = 0;

	(void)pid;
	f->reads++;
	free(w->page);
	w->page = calloc((size_t)max, sizeof(*w->page));
	assert_non_null(w->page);
	for (int i = first; i < f->n && k < max; i++)
		w->page[k++] = (struct pm_page){ .addr = base + (uint64_t)i * PG,
						 .mapcount = f->ksm_maps ? f->ksm_maps : 1, .pages = 1,
						 .kind = f->ksm_maps ? PM_KSM : PM_EXCLUSIVE };
	w->n = k;
	w->next = first + k < f->n ? base + (uint64_t)(first + k) * PG : 0;
	w->pfns = true;
	return 0;
}

struct rig {
	struct pin_dry pin;
	struct mv_dry dry;
	struct fake fake;
	struct mv_opts mv;
	struct bal b;
	struct cfg cfg;
	struct ksm_state ksm;
};

static void rig_init(struct rig *g, int pages)
{
	struct pin_backend pin;

	memset(g, 0, sizeof(*g));
	pin = pin_dry_backend(&g->pin);
	mv_dry_init(&g->dry);
	g->dry.query_node = 1;
	g->fake.n = pages;
	g->mv.backend = mv_dry_backend(&g->dry);
	g->mv.window = fake_window;
	g->mv.window_data = &g->fake;
	g->mv.clock = mv_dry_clock;
	g->mv.clock_data = &g->dry;
	g->mv.page_size = PG;
	bal_init(&g->b, &pin, &g->mv);
	cfg_defaults(&g->cfg);
	bal_configure(&g->b, &g->cfg, &g->ksm);
}

static void rig_free(struct rig *g)
{
	bal_free(&g->b);
	mv_dry_free(&g->dry);
	pin_dry_free(&g->pin);
}

/* bal_configure maps the configuration as the policy and the mover say
 * (pol_params_from_cfg, mv_opts_configure: --migrate uses the same), and
 * keeps the balancer's backends. */
static void configure_maps(void **state)
{
	struct pol_params p;
	struct mv_opts o;
	struct rig g;

	(void)state;
	rig_init(&g, 0);
	g.cfg.target_utilization = 120;
	g.cfg.reserve_mb = 3;
	g.cfg.interval_budget_mb = 6;
	g.cfg.call_budget_ms = 9;
	g.cfg.ksm_max_mapcount = 7;
	g.ksm.present = true;
	g.ksm.has[KSM_MAX_PAGE_SHARING] = true;
	bal_configure(&g.b, &g.cfg, &g.ksm);
	pol_params_from_cfg(&p, &g.cfg);
	o = g.mv;
	mv_opts_configure(&o, &g.cfg, &g.ksm);
	assert_memory_equal(&g.b.params, &p, sizeof(p));
	assert_int_equal(g.b.mv.reserve_bytes, o.reserve_bytes);
	assert_memory_equal(&g.b.mv.budget, &o.budget, sizeof(o.budget));
	assert_int_equal(g.b.mv.move_ksm, o.move_ksm);
	assert_int_equal(g.b.mv.ksm_max_mapcount, o.ksm_max_mapcount);
	assert_int_equal(g.b.mv.chains_bounded, o.chains_bounded);
	assert_true(g.b.mv.window == fake_window);      /* the backends stay */
	assert_int_equal(g.b.params.target_utilization, 120);
	assert_int_equal(g.b.mv.reserve_bytes, 3 << 20);
	assert_true(g.b.mv.chains_bounded);
	rig_free(&g);
}

/* The input: node load from the counters, memory minus the KSM share. */
static void input_figures(void **state)
{
	struct rig g;
	struct snapshot s;
	struct ld_sample l;

	(void)state;
	rig_init(&g, 0);
	snap_init(&s, 1);
	/* 4 GiB on node 0 and 4 GiB on node 1 in numa_maps, 2 GiB of it merged */
	vm_fill(&s.vms.vm[0], 100, 4 * GIB_KIB, 4 * GIB_KIB, 2 * GIB_KIB / 4);
	load_at(&l, 1, 500);
	assert_int_equal(bal_input(&g.b, &s, &l), 0);
	assert_int_equal(g.b.in.nnodes, 2);
	assert_int_equal(g.b.in.node[0].ncpus, 2);
	/* CPUs 0 and 1 half busy since boot: one CPU's worth */
	assert_true(g.b.in.node[0].cpu_busy > 0.99 && g.b.in.node[0].cpu_busy < 1.01);
	assert_true(g.b.in.node[1].cpu_busy < 0.01);
	assert_int_equal(g.b.in.nvms, 1);
	assert_int_equal(g.b.in.vm[0].shared_kib, 2 * GIB_KIB);
	/* a quarter of each node's memory is merged: 3 GiB movable on each */
	assert_int_equal(g.b.in.vm[0].mem_kib[0], 3 * GIB_KIB);
	assert_int_equal(g.b.in.vm[0].mem_kib[1], 3 * GIB_KIB);
	assert_int_equal(g.b.in.vm[0].threads_on[0], 2);
	assert_int_equal(g.b.in.vm[0].threads_on[1], 0);
	/* 500 ticks since it started at 1100, elapsed 1000: none yet */
	assert_true(g.b.in.vm[0].cpu_use <= 0.01);
	assert_false(g.b.in.vm[0].left_alone);
	assert_int_equal(g.b.in.vm[0].key, bal_key(100, 1100));
	ld_free(&l);
	snap_done(&s);
	rig_free(&g);
}

/* Pinned by someone else, or memory bound: left alone. */
/* Where a VM runs is where its vCPU threads ran: three other threads (a
 * qemu's main loop, RCU and I/O threads) on node 0 do not outvote two vCPUs
 * on node 1.  A process without vCPU threads counts all of them. */
static void threads_on_counts_vcpus(void **state)
{
	static const char *const other[] = { "qemu-system-x86", "call_rcu", "IO mon_iothread" };
	struct rig g;
	struct snapshot s;
	struct proc_info *in;

	(void)state;
	rig_init(&g, 0);
	snap_init(&s, 1);
	vm_fill(&s.vms.vm[0], 100, GIB_KIB, GIB_KIB, 0);
	in = &s.vms.vm[0].info;
	free(in->threads);
	in->nthreads = 5;
	in->threads = calloc(5, sizeof(*in->threads));
	assert_non_null(in->threads);
	for (int i = 0; i < 5; i++) {
		in->threads[i].tid = 101 + i;
		in->threads[i].processor = i < 2 ? 2 + i : 0;   /* vCPUs on node 1 */
		if (i < 2)
			snprintf(in->threads[i].comm, sizeof(in->threads[i].comm), "CPU %d/KVM", i);
		else
			snprintf(in->threads[i].comm, sizeof(in->threads[i].comm), "%s", other[i - 2]);
	}
	assert_int_equal(bal_input(&g.b, &s, NULL), 0);
	assert_int_equal(g.b.in.vm[0].threads_on[0], 0);
	assert_int_equal(g.b.in.vm[0].threads_on[1], 2);
	/* no thread named a vCPU: all five count */
	for (int i = 0; i < 2; i++)
		snprintf(in->threads[i].comm, sizeof(in->threads[i].comm), "worker");
	assert_int_equal(bal_input(&g.b, &s, NULL), 0);
	assert_int_equal(g.b.in.vm[0].threads_on[0], 3);
	assert_int_equal(g.b.in.vm[0].threads_on[1], 2);
	snap_done(&s);
	rig_free(&g);
}

static void admin_settings(void **state)
{
	struct rig g;
	struct snapshot s;

	(void)state;
	rig_init(&g, 0);
	snap_init(&s, 2);
	vm_fill(&s.vms.vm[0], 100, GIB_KIB, 0, 0);
	s.vms.vm[0].pinned = true;
	idset_parse(&s.vms.vm[0].info.status.cpus_allowed, "1");
	vm_fill(&s.vms.vm[1], 200, GIB_KIB, 0, 0);
	idset_parse(&s.vms.vm[1].info.status.mems_allowed, "0");
	assert_int_equal(bal_input(&g.b, &s, NULL), 0);
	assert_true(g.b.in.vm[0].left_alone);
	assert_non_null(strstr(g.b.in.vm[0].left_why, "pinned"));
	assert_true(g.b.in.vm[1].left_alone);
	assert_non_null(strstr(g.b.in.vm[1].left_why, "Mems_allowed"));
	snap_done(&s);
	rig_free(&g);
}

/* A VM whose threads run on node 0 and whose memory is all on node 1 (where
 * nothing else runs) is given node 1: threads pinned to CPUs 2-3, memory
 * moved by steps within the interval budget; its own pinning is not taken
 * for an admin's on the next pass. */
static void pass_pins_and_moves(void **state)
{
	struct rig g;
	struct snapshot s;
	struct ld_sample l;
	struct mv_step st;
	struct idset want;
	int steps = 0;

	(void)state;
	rig_init(&g, 1024);
	snap_init(&s, 1);
	vm_fill(&s.vms.vm[0], 100, 0, 2 * GIB_KIB, 0);
	load_at(&l, 1, 900);            /* node 0 busy: 1.8 CPUs */
	assert_int_equal(bal_pass(&g.b, &s, &l), 0);
	assert_int_equal(g.b.res.n, 1);
	idset_clear(&want);
	idset_add(&want, 1);
	assert_true(idset_equal(&g.b.res.d[0].home, &want));
	/* both threads pinned to node 1's CPUs */
	assert_int_equal(g.pin.n, 2);
	idset_clear(&want);
	idset_add(&want, 2);
	idset_add(&want, 3);
	assert_true(idset_equal(&g.pin.rec[0].cpus, &want));
	assert_int_equal(g.pin.rec[1].tid, 102);
	/* memory already all on node 1: nothing to move, no step */
	assert_int_equal(bal_pending(&g.b), 0);
	assert_int_equal(bal_step(&g.b, &st), 0);

	/* next pass: the VM is pinned to what we set; not an admin's pinning */
	s.vms.vm[0].pinned = true;
	s.vms.vm[0].info.status.cpus_allowed = want;
	load_at(&l, 2, 900);
	assert_int_equal(bal_pass(&g.b, &s, &l), 0);
	assert_true(g.b.res.d[0].verdict != POL_LEFT_ALONE);
	assert_int_equal(g.pin.n, 2);   /* already pinned there: no new call */
	while (bal_step(&g.b, &st) > 0)
		assert_true(++steps < 100);
	snap_done(&s);
	rig_free(&g);
}

struct dom_calls {
	int n;
	char name[VM_NAME_LEN];
	struct idset cpus;
};

static int record_dom_pin(void *ctx, const char *name, const struct idset *cpus)
{
	struct dom_calls *c = ctx;

	c->n++;
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->cpus = *cpus;
	return 0;
}

/* A libvirt domain is pinned through libvirt, never per thread; its
 * CPU and memory masks are libvirt's (not an admin's), its XML decides
 * whether it is left alone; reserved CPUs are never given; the input's
 * names and distances outlive the snapshot (ksm-numadctl reads them). */
static void domains_and_reserved(void **state)
{
	struct rig g;
	struct snapshot s;
	struct ld_sample l;
	struct dom_calls calls = { 0 };
	struct idset want;

	(void)state;
	rig_init(&g, 1024);
	g.b.dom_pin.pin = record_dom_pin;
	g.b.dom_pin.ctx = &calls;
	g.cfg.reserved_cpus = (struct idset){ 0 };
	idset_add(&g.cfg.reserved_cpus, 3);
	bal_configure(&g.b, &g.cfg, &g.ksm);
	snap_init(&s, 2);
	vm_fill(&s.vms.vm[0], 100, 0, 2 * GIB_KIB, 0);
	s.vms.vm[0].domain = true;
	snprintf(s.vms.vm[0].name, sizeof(s.vms.vm[0].name), "web");
	idset_parse(&s.vms.vm[0].info.status.mems_allowed, "0");  /* libvirt's */
	vm_fill(&s.vms.vm[1], 200, GIB_KIB, 0, 0);
	s.vms.vm[1].domain = true;
	s.vms.vm[1].leave_why = "its domain XML pins its vCPUs";
	load_at(&l, 1, 900);            /* node 0 busy: 1.8 CPUs */
	assert_int_equal(bal_pass(&g.b, &s, &l), 0);
	assert_int_equal(g.b.in.node[1].ncpus, 1);   /* CPU 3 reserved */
	assert_int_equal(g.b.res.d[0].verdict, POL_MOVE);
	assert_int_equal(g.b.res.d[1].verdict, POL_LEFT_ALONE);
	assert_string_equal(g.b.in.vm[1].left_why, "its domain XML pins its vCPUs");
	assert_int_equal(g.pin.n, 0);   /* no sched_setaffinity for a domain */
	assert_int_equal(calls.n, 1);
	assert_string_equal(calls.name, "web");
	idset_clear(&want);
	idset_add(&want, 2);
	assert_true(idset_equal(&calls.cpus, &want));
	snap_done(&s);
	assert_string_equal(g.b.in.vm[0].name, "web");
	assert_int_equal(g.b.in.dist[1], 20);
	rig_free(&g);
}

/* A domain confined by libvirt to node 0 (strict numatune: Mems_allowed 0)
 * and given home 1: its memory nodes are widened through libvirt to 0-1
 * first (asked once), and only then does its memory move; a process
 * confined the same way is an admin's business (left alone, not widened). */
static void domain_memory_nodes_widened(void **state)
{
	struct rig g;
	struct snapshot s;
	struct ld_sample l;
	struct dom_calls pins = { 0 }, mems = { 0 };
	struct idset want;

	(void)state;
	rig_init(&g, 64 * 1024);
	g.dry.query_node = 0;
	g.b.dom_pin.pin = record_dom_pin;
	g.b.dom_pin.mems = record_dom_pin;
	g.b.dom_pin.ctx = &pins;
	snap_init(&s, 1);
	/* as in move_within_budget: node 0 busy and under its reserve, so the
	 * VM goes to node 1 with its 256 MiB to move */
	vm_fill(&s.vms.vm[0], 100, 256 * 1024, 0, 0);
	s.vms.vm[0].info.stat.utime = 950;
	s.topo.node[0].mem_free_kib = 256 * 1024;
	s.vms.vm[0].domain = true;
	snprintf(s.vms.vm[0].name, sizeof(s.vms.vm[0].name), "db");
	idset_parse(&s.vms.vm[0].info.status.mems_allowed, "0");
	load_at(&l, 3, 1000);
	assert_int_equal(bal_pass(&g.b, &s, &l), 0);
	assert_int_equal(g.b.res.d[0].verdict, POL_MOVE);
	/* pinned, and asked to widen (both recorded in PINS: one callback) */
	assert_int_equal(pins.n, 2);
	idset_clear(&want);
	idset_add(&want, 0);
	idset_add(&want, 1);
	assert_true(idset_equal(&pins.cpus, &want));
	assert_int_equal(bal_pending(&g.b), 0);         /* the move waits */

	/* libvirt has not done it yet: no second request, still waiting */
	idset_parse(&s.vms.vm[0].info.status.cpus_allowed, "2-3");     /* pinned */
	g.b.dom_pin.ctx = &mems;
	load_at(&l, 4, 1000);
	assert_int_equal(bal_pass(&g.b, &s, &l), 0);
	assert_int_equal(mems.n, 0);
	assert_int_equal(bal_pending(&g.b), 0);

	/* widened: the engine gets its budget */
	idset_parse(&s.vms.vm[0].info.status.mems_allowed, "0-1");
	load_at(&l, 5, 1000);
	assert_int_equal(bal_pass(&g.b, &s, &l), 0);
	assert_int_equal(mems.n, 0);
	assert_true(bal_pending(&g.b) > 0);
	snap_done(&s);
	rig_free(&g);
}

/* libvirt as the balancer sees it: pinning recorded, widening recorded and
 * answered with MEMS_RET (0: queued; -EAGAIN: a full queue ...). */
struct fake_virt {
	struct dom_calls pins, mems;
	int mems_ret;
	long mems_pass[32];             /* the pass of each widening asked */
};

static int fake_pin(void *ctx, const char *name, const struct idset *cpus)
{
	return record_dom_pin(&((struct fake_virt *)ctx)->pins, name, cpus);
}

static int fake_mems(void *ctx, const char *name, const struct idset *nodes)
{
	struct fake_virt *f = ctx;

	record_dom_pin(&f->mems, name, nodes);
	return f->mems_ret;
}

/* Domain "db" on node 0, confined there (Mems_allowed 0), that the policy
 * sends to node 1 with memory to move on every pass (as in
 * domain_memory_nodes_widened). */
static void widen_setup(struct rig *g, struct snapshot *s, struct fake_virt *f)
{
	rig_init(g, 64 * 1024);
	g->dry.query_node = 0;
	memset(f, 0, sizeof(*f));
	g->b.dom_pin.pin = fake_pin;
	g->b.dom_pin.mems = fake_mems;
	g->b.dom_pin.ctx = f;
	snap_init(s, 1);
	vm_fill(&s->vms.vm[0], 100, 256 * 1024, 0, 0);
	s->vms.vm[0].info.stat.utime = 950;
	s->topo.node[0].mem_free_kib = 256 * 1024;
	s->vms.vm[0].domain = true;
	snprintf(s->vms.vm[0].name, sizeof(s->vms.vm[0].name), "db");
	idset_parse(&s->vms.vm[0].info.status.mems_allowed, "0");
}

/* One pass whose decision for the domain has memory to move; the number of
 * widenings asked so far, each stamped with its pass. */
static int widen_pass(struct rig *g, struct snapshot *s, struct fake_virt *f, uint64_t scale)
{
	struct ld_sample l;
	long pass = g->b.pass;
	int before = f->mems.n;

	load_at(&l, scale, 1000);
	assert_int_equal(bal_pass(&g->b, s, &l), 0);
	assert_true(g->b.res.d[0].verdict == POL_MOVE || g->b.res.d[0].verdict == POL_SETTLE);
	assert_true(g->b.res.d[0].budget_kib > 0);
	for (int i = before; i < f->mems.n && i < 32; i++)
		f->mems_pass[i] = pass;
	assert_true(f->mems.n - before <= 1);   /* never twice in a pass */
	return f->mems.n;
}

/* A widening libvirt refused is asked again on a later pass; one that took
 * (Mems_allowed shows it) is not asked again and the move gets its budget. */
static void refused_widening_asked_again(void **state)
{
	struct rig g;
	struct snapshot s;
	struct fake_virt f;
	struct vms_widening *w;
	uint64_t scale = 3;
	struct idset want;

	(void)state;
	widen_setup(&g, &s, &f);
	w = &s.vms.vm[0].widen;
	idset_parse(&want, "0-1");
	assert_int_equal(widen_pass(&g, &s, &f, scale++), 1);
	assert_true(idset_equal(&f.mems.cpus, &want));
	assert_int_equal(bal_pending(&g.b), 0);
	idset_parse(&s.vms.vm[0].info.status.cpus_allowed, "2-3");     /* pinned */

	/* libvirt has not answered: not asked again */
	w->state = VMS_WIDEN_QUEUED;
	assert_int_equal(widen_pass(&g, &s, &f, scale++), 1);
	assert_int_equal(bal_pending(&g.b), 0);

	/* libvirt refused (reconnecting): asked again at once, on the pass
	 * that learns it */
	w->state = VMS_WIDEN_FAILED;
	w->err = -ENOTCONN;
	snprintf(w->detail, sizeof(w->detail), "not connected");
	assert_int_equal(widen_pass(&g, &s, &f, scale++), 2);
	assert_true(idset_equal(&f.mems.cpus, &want));
	assert_int_equal(bal_pending(&g.b), 0);

	/* done: Mems_allowed holds node 1, the move gets its budget and
	 * nothing more is asked */
	w->state = VMS_WIDEN_DONE;
	idset_parse(&s.vms.vm[0].info.status.mems_allowed, "0-1");
	assert_int_equal(widen_pass(&g, &s, &f, scale++), 2);
	assert_true(bal_pending(&g.b) > 0);
	assert_true(idset_empty(&g.b.vm[0].widening));
	for (int i = 0; i < 3; i++)
		assert_int_equal(widen_pass(&g, &s, &f, scale++), 2);
	snap_done(&s);
	rig_free(&g);
}

/* A widening that could not even be queued (a full queue: -EAGAIN,
 * libvirt away: -ENOTCONN) is asked again, and so is one libvirt refuses,
 * less and less often: 1, 2, 4, 8, 8 passes apart. */
static void widening_retry_pace(void **state)
{
	static const long gaps[] = { 1, 2, 4, 8, 8 };
	const int asks = 1 + (int)(sizeof(gaps) / sizeof(gaps[0]));
	struct rig g;
	struct snapshot s;
	struct fake_virt f;
	uint64_t scale = 3;

	(void)state;
	widen_setup(&g, &s, &f);
	f.mems_ret = -EAGAIN;
	assert_int_equal(widen_pass(&g, &s, &f, scale++), 1);
	idset_parse(&s.vms.vm[0].info.status.cpus_allowed, "2-3");     /* pinned */
	f.mems_ret = -ENOTCONN;
	assert_int_equal(widen_pass(&g, &s, &f, scale++), 2);
	/* queued from now on, and refused by libvirt each time */
	f.mems_ret = 0;
	s.vms.vm[0].widen.state = VMS_WIDEN_FAILED;
	s.vms.vm[0].widen.err = -EIO;
	while (widen_pass(&g, &s, &f, scale++) < asks)
		assert_true(scale < 100);
	for (int i = 1; i < asks; i++)
		assert_int_equal(f.mems_pass[i] - f.mems_pass[i - 1], gaps[i - 1]);
	assert_int_equal(bal_pending(&g.b), 0);
	snap_done(&s);
	rig_free(&g);
}

/* A widening queued but never answered (its request was lost with the
 * libvirt worker) is asked again after BAL_WIDEN_LOST_PASSES passes. */
static void unanswered_widening_asked_again(void **state)
{
	struct rig g;
	struct snapshot s;
	struct fake_virt f;
	uint64_t scale = 3;

	(void)state;
	widen_setup(&g, &s, &f);
	assert_int_equal(widen_pass(&g, &s, &f, scale++), 1);
	idset_parse(&s.vms.vm[0].info.status.cpus_allowed, "2-3");     /* pinned */
	s.vms.vm[0].widen.state = VMS_WIDEN_QUEUED;
	while (widen_pass(&g, &s, &f, scale++) < 2)
		assert_true(scale < 100);
	assert_int_equal(f.mems_pass[1] - f.mems_pass[0], BAL_WIDEN_LOST_PASSES);
	snap_done(&s);
	rig_free(&g);
}

/* The same with node 1 memoryless (CPUs only) and node 2 holding memory:
 * Mems_allowed never lists a memoryless node, so a home that takes one for
 * its CPUs must not wait for it to be added. */
static void domain_home_with_memoryless_node(void **state)
{
	static int dist[9] = { 10, 20, 20, 20, 10, 20, 20, 20, 10 };
	struct rig g;
	struct snapshot s;
	struct ld_sample l;
	struct dom_calls calls = { 0 };

	(void)state;
	rig_init(&g, 64 * 1024);
	g.dry.query_node = 0;
	g.b.dom_pin.pin = record_dom_pin;
	g.b.dom_pin.mems = record_dom_pin;
	g.b.dom_pin.ctx = &calls;
	snap_init(&s, 1);
	free(s.topo.node);
	s.topo.nr = 3;
	s.topo.node = calloc(3, sizeof(*s.topo.node));
	assert_non_null(s.topo.node);
	for (int i = 0; i < 3; i++) {
		s.topo.node[i].id = i;
		s.topo.node[i].has_memory = i != 1;
		s.topo.node[i].mem_total_kib = i != 1 ? 8 * GIB_KIB : 0;
		s.topo.node[i].mem_free_kib = i != 1 ? 6 * GIB_KIB : 0;
	}
	idset_parse(&s.topo.node[0].cpus, "0-1");
	idset_parse(&s.topo.node[1].cpus, "2-3");
	idset_parse(&s.topo.online_cpus, "0-3");
	s.topo.dist = dist;
	vm_fill(&s.vms.vm[0], 100, 256 * 1024, 0, 0);
	s.vms.vm[0].info.stat.utime = 950;
	s.topo.node[0].mem_free_kib = 256 * 1024;
	s.vms.vm[0].domain = true;
	idset_parse(&s.vms.vm[0].info.status.mems_allowed, "0,2");
	load_at(&l, 3, 1000);
	assert_int_equal(bal_pass(&g.b, &s, &l), 0);
	assert_true(idset_has(&g.b.res.d[0].home, 1));      /* CPUs from node 1 */
	assert_true(idset_has(&g.b.res.d[0].home, 2));      /* memory on node 2 */
	assert_true(bal_pending(&g.b) > 0);                 /* no wait for node 1 */
	for (int i = 0; i < calls.n; i++)
		assert_false(idset_has(&calls.cpus, 1) && idset_has(&calls.cpus, 0) &&
		             idset_has(&calls.cpus, 2));
	snap_done(&s);
	rig_free(&g);
}

/* Memory and threads on node 0, where others keep 1.5 CPUs busy: no room
 * for its CPUs, so it goes to node 1;
 * the move's memory goes in steps, never more than the interval budget. */
static void move_within_budget(void **state)
{
	struct rig g;
	struct snapshot s;
	struct ld_sample l;
	struct mv_step st;
	uint64_t moved = 0;
	int steps = 0;

	(void)state;
	rig_init(&g, 64 * 1024);        /* 256 MiB of 4 KiB pages */
	g.dry.query_node = 0;
	g.cfg.interval_budget_mb = 64;
	bal_configure(&g.b, &g.cfg, &g.ksm);
	snap_init(&s, 1);
	vm_fill(&s.vms.vm[0], 100, 256 * 1024, 0, 0);
	s.vms.vm[0].info.stat.utime = 950;      /* half a CPU since it started at 1100 */
	s.topo.node[0].mem_free_kib = 256 * 1024;       /* under the 512 MiB reserve */
	load_at(&l, 3, 1000);           /* node 0's CPUs always busy, 3000 ticks */
	assert_int_equal(bal_pass(&g.b, &s, &l), 0);
	if (g.b.res.d[0].verdict == POL_MOVE || g.b.res.d[0].verdict == POL_SETTLE) {
		assert_true(g.b.res.budget_kib <= 64 * 1024);
		while (bal_step(&g.b, &st) > 0) {
			moved += st.bytes;
			assert_true(++steps < 100000);
		}
		/* the budget, give or take the last call's chunk */
		assert_true(moved <= (64ull << 20) + 4096ull * MV_CHUNK_MAX);
		assert_true(moved > 0);
	} else {
		fail_msg("expected a move to node 1, got %s: %s",
			 pol_verdict_name(g.b.res.d[0].verdict), g.b.res.d[0].why);
	}
	snap_done(&s);
	rig_free(&g);
}

/* What a finished move left behind (KSM pages over the limit) is not the
 * VM's to move: the next pass counts it as shared, and the VM is local. */
static void left_behind_counts_as_shared(void **state)
{
	struct rig g;
	struct snapshot s;
	struct ld_sample l;
	struct mv_step st;
	int steps = 0;

	(void)state;
	rig_init(&g, 16 * 1024);        /* 64 MiB of KSM pages mapped 1000 times */
	g.fake.ksm_maps = 1000;
	g.dry.query_node = 0;
	g.ksm.present = true;
	snap_init(&s, 1);
	/* 64 MiB on node 0 (the KSM pages) + 192 MiB on node 1; threads on node 1 */
	vm_fill(&s.vms.vm[0], 100, 64 * 1024, 192 * 1024, 0);
	s.vms.vm[0].info.threads[0].processor = 2;
	s.vms.vm[0].info.threads[1].processor = 3;
	load_at(&l, 1, 0);
	assert_int_equal(bal_pass(&g.b, &s, &l), 0);
	assert_int_equal(g.b.res.d[0].verdict == POL_MOVE || g.b.res.d[0].verdict == POL_SETTLE, 1);
	assert_true(g.b.res.d[0].locality < 90);
	while (bal_step(&g.b, &st) > 0)
		assert_true(++steps < 100000);
	assert_int_equal(g.b.vm[0].left_kib, 64 * 1024);
	load_at(&l, 2, 0);
	assert_int_equal(bal_pass(&g.b, &s, &l), 0);
	assert_int_equal(g.b.in.vm[0].mem_kib[0], 0);
	assert_int_equal(g.b.in.vm[0].shared_kib, 64 * 1024);
	assert_int_equal(g.b.res.d[0].verdict, POL_STAY);
	snap_done(&s);
	rig_free(&g);
}

/* A VM that vanishes between passes ends its move; one that appears is new. */
static void vms_come_and_go(void **state)
{
	struct rig g;
	struct snapshot s;
	struct mv_step st;

	(void)state;
	rig_init(&g, 1024);
	snap_init(&s, 1);
	vm_fill(&s.vms.vm[0], 100, 0, GIB_KIB, 0);
	assert_int_equal(bal_pass(&g.b, &s, NULL), 0);
	assert_int_equal(g.b.n, 1);
	snap_done(&s);
	snap_init(&s, 1);
	vm_fill(&s.vms.vm[0], 300, GIB_KIB, 0, 0);
	assert_int_equal(bal_pass(&g.b, &s, NULL), 0);
	assert_int_equal(g.b.n, 1);
	assert_int_equal(g.b.vm[0].pid, 300);
	assert_int_equal(g.b.pol.n, 1);         /* the policy forgot PID 100 too */
	while (bal_step(&g.b, &st) > 0)
		;
	snap_done(&s);
	snap_init(&s, 0);
	assert_int_equal(bal_pass(&g.b, &s, NULL), 0);
	assert_int_equal(g.b.n, 0);
	assert_int_equal(bal_step(&g.b, &st), 0);
	snap_done(&s);
	rig_free(&g);
}

/* ---- a restart: what one balancer leaves in the state file, the next takes ---- */

#define BOOT "6f0c3c1e-5b7a-4d0e-9a3e-2f6d8c1b4a90"
#define USEC 1000000ull

/* Saves FROM's state (at 100 s) as the daemon does after a pass, and has
 * TO take it as a restarted daemon does (at 100 s + INTERVALS of 1 s). */
static void restart(struct rig *from, struct rig *to, uint64_t intervals)
{
	char *tree = tt_copy(NULL), run[512];
	struct rt_root *r;
	struct st_file f;
	struct st_data d = { 0 };

	tt_put(tree, "proc/sys/kernel/random/boot_id", BOOT "\n");
	tt_mkdir(tree, "run");
	snprintf(run, sizeof(run), "%s/run", tree);
	assert_int_equal(rt_open(tree, &r), 0);
	assert_int_equal(st_open(&f, run, r), 0);
	assert_int_equal(bal_state_get(&from->b, &d), 0);
	assert_int_equal(st_save(&f, &d, 100 * USEC), 1);
	st_free(&d);
	st_close(&f);
	assert_int_equal(st_open(&f, run, r), 0);
	assert_int_equal(st_load(&f, (100 + intervals) * USEC, USEC, &d), 1);
	assert_int_equal(bal_state_put(&to->b, &d), 0);
	st_free(&d);
	st_close(&f);
	rt_close(r);
	tt_remove(tree);
}

/* The pass after a restart as the loop runs it: one that only measures,
 * then one that decides; the verdict on VM 0. */
static enum pol_verdict first_decision(struct rig *g, struct snapshot *s, uint64_t scale,
                                       uint64_t busy0)
{
	struct ld_sample l;

	load_at(&l, scale, busy0);
	assert_int_equal(bal_prime(&g->b, s, &l), 0);
	load_at(&l, scale + 1, busy0);
	assert_int_equal(bal_pass(&g->b, s, &l), 0);
	return g->b.res.d[0].verdict;
}

/* After a restart the daemon still knows the pinning it made (process
 * mode: sched_setaffinity): the VM stays managed, is not pinned again;
 * a daemon without the state takes that pinning for an admin's. */
static void restart_keeps_own_pinning(void **state)
{
	struct rig g, after, blank;
	struct snapshot s;
	struct ld_sample l;
	struct idset want;

	(void)state;
	rig_init(&g, 1024);
	snap_init(&s, 1);
	vm_fill(&s.vms.vm[0], 100, 0, 2 * GIB_KIB, 0);
	load_at(&l, 1, 900);
	assert_int_equal(bal_pass(&g.b, &s, &l), 0);
	idset_parse(&want, "2-3");
	assert_int_equal(g.pin.n, 2);
	assert_true(idset_equal(&g.pin.rec[0].cpus, &want));

	/* the kernel shows the pinning; a new daemon with the state file */
	s.vms.vm[0].pinned = true;
	s.vms.vm[0].info.status.cpus_allowed = want;
	rig_init(&after, 1024);
	restart(&g, &after, 3);
	assert_int_not_equal(first_decision(&after, &s, 2, 900), POL_LEFT_ALONE);
	assert_false(after.b.in.vm[0].left_alone);
	assert_int_equal(after.pin.n, 0);       /* already where it was put */
	assert_true(idset_equal(&after.b.vm[0].pinned, &want));

	/* the same daemon started without it: left alone for good */
	rig_init(&blank, 1024);
	assert_int_equal(first_decision(&blank, &s, 2, 900), POL_LEFT_ALONE);
	assert_non_null(strstr(blank.b.in.vm[0].left_why, "pinned by someone else"));
	snap_done(&s);
	rig_free(&blank);
	rig_free(&after);
	rig_free(&g);
}

/* An entry counts only for the same process with the same pinning: a PID
 * reused by another process (another start time) pinned to the same CPUs,
 * or the VM re-pinned by an admin since, is an admin's business. */
static void restart_entry_checked(void **state)
{
	struct rig g, after;
	struct snapshot s;
	struct ld_sample l;

	(void)state;
	rig_init(&g, 1024);
	snap_init(&s, 1);
	vm_fill(&s.vms.vm[0], 100, 0, 2 * GIB_KIB, 0);
	load_at(&l, 1, 900);
	assert_int_equal(bal_pass(&g.b, &s, &l), 0);
	assert_int_equal(g.pin.n, 2);
	s.vms.vm[0].pinned = true;
	idset_parse(&s.vms.vm[0].info.status.cpus_allowed, "2-3");

	/* PID 100 is another process now, pinned by someone to the same CPUs */
	s.vms.vm[0].info.stat.starttime += 5000;
	rig_init(&after, 1024);
	restart(&g, &after, 1);
	assert_int_equal(first_decision(&after, &s, 2, 900), POL_LEFT_ALONE);
	assert_non_null(strstr(after.b.in.vm[0].left_why, "pinned by someone else"));
	assert_int_equal(after.pin.n, 0);
	rig_free(&after);

	/* the same VM, re-pinned by an admin to CPU 3 */
	s.vms.vm[0].info.stat.starttime -= 5000;
	idset_parse(&s.vms.vm[0].info.status.cpus_allowed, "3");
	rig_init(&after, 1024);
	restart(&g, &after, 1);
	assert_int_equal(first_decision(&after, &s, 2, 900), POL_LEFT_ALONE);
	assert_int_equal(after.pin.n, 0);
	rig_free(&after);
	snap_done(&s);
	rig_free(&g);
}

/* Right after a move the old home looks better (the memory is still there
 * and the VM's departure freed its CPUs): a restarted daemon that forgot
 * the move sends the VM straight back; one that took the state file keeps
 * it settling on its new home (policy.h: settling, cooldown, ping-pong). */
static void restart_no_ping_pong(void **state)
{
	struct rig g, after, blank;
	struct snapshot s;
	struct ld_sample l;
	struct idset home1;

	(void)state;
	rig_init(&g, 64 * 1024);
	g.dry.query_node = 0;
	snap_init(&s, 1);
	/* as in move_within_budget: node 0 full, the VM goes to node 1 */
	vm_fill(&s.vms.vm[0], 100, 256 * 1024, 0, 0);
	s.vms.vm[0].info.stat.utime = 950;
	s.topo.node[0].mem_free_kib = 256 * 1024;
	load_at(&l, 3, 1000);
	assert_int_equal(bal_pass(&g.b, &s, &l), 0);
	assert_int_equal(g.b.res.d[0].verdict, POL_MOVE);
	idset_parse(&home1, "1");
	assert_true(idset_equal(&g.b.res.d[0].home, &home1));

	/* the daemon dies before any memory moved; node 0 is idle now and
	 * has room, the VM runs on node 1 where it was pinned */
	s.vms.vm[0].pinned = true;
	idset_parse(&s.vms.vm[0].info.status.cpus_allowed, "2-3");
	s.vms.vm[0].info.threads[0].processor = 2;
	s.vms.vm[0].info.threads[1].processor = 3;
	s.topo.node[0].mem_free_kib = 6 * GIB_KIB;
	rig_init(&blank, 64 * 1024);
	blank.dry.query_node = 0;
	/* (the pinning taken as ours, so that the policy decides at all) */
	blank.b.vm = calloc(1, sizeof(*blank.b.vm));
	assert_non_null(blank.b.vm);
	blank.b.n = 1;
	blank.b.vm[0].key = bal_key(100, s.vms.vm[0].info.stat.starttime);
	idset_parse(&blank.b.vm[0].pinned, "2-3");
	assert_int_equal(first_decision(&blank, &s, 4, 0), POL_MOVE);
	assert_false(idset_equal(&blank.b.res.d[0].home, &home1));

	rig_init(&after, 64 * 1024);
	after.dry.query_node = 0;
	restart(&g, &after, 2);
	assert_int_equal(first_decision(&after, &s, 4, 0), POL_SETTLE);
	assert_true(idset_equal(&after.b.res.d[0].home, &home1));
	/* the policy's clock went on from the one before: pass 0 + 1 + 2 */
	assert_int_equal(after.b.pass_base, 3);
	snap_done(&s);
	rig_free(&blank);
	rig_free(&after);
	rig_free(&g);
}

/* A VM missing from the first passes after a restart (unreadable for a
 * pass, libvirt's first list late) keeps what was restored for it for
 * BAL_RESTORED_PASSES passes; then it is dropped, and the state file with
 * it. */
static void restart_vm_late(void **state)
{
	struct rig g, after;
	struct snapshot s, none;
	struct ld_sample l;
	struct st_data d = { 0 };
	uint64_t scale = 2;

	(void)state;
	rig_init(&g, 1024);
	snap_init(&s, 1);
	snap_init(&none, 0);
	vm_fill(&s.vms.vm[0], 100, 0, 2 * GIB_KIB, 0);
	load_at(&l, 1, 900);
	assert_int_equal(bal_pass(&g.b, &s, &l), 0);
	s.vms.vm[0].pinned = true;
	idset_parse(&s.vms.vm[0].info.status.cpus_allowed, "2-3");

	/* two passes without it, then it is back: still ours, home kept */
	rig_init(&after, 1024);
	restart(&g, &after, 1);
	load_at(&l, scale++, 900);
	assert_int_equal(bal_prime(&after.b, &none, &l), 0);
	load_at(&l, scale++, 900);
	assert_int_equal(bal_pass(&after.b, &none, &l), 0);
	assert_int_equal(bal_state_get(&after.b, &d), 0);
	assert_int_equal(d.nvm, 1);     /* what waits is kept in the file too */
	st_free(&d);
	load_at(&l, scale++, 900);
	assert_int_equal(bal_pass(&after.b, &s, &l), 0);
	assert_int_not_equal(after.b.res.d[0].verdict, POL_LEFT_ALONE);
	assert_int_equal(after.b.pol.n, 1);
	assert_int_equal(after.pin.n, 0);
	rig_free(&after);

	/* gone for BAL_RESTORED_PASSES passes: dropped */
	rig_init(&after, 1024);
	restart(&g, &after, 1);
	load_at(&l, scale++, 900);
	assert_int_equal(bal_prime(&after.b, &none, &l), 0);
	for (int i = 1; i < BAL_RESTORED_PASSES; i++) {
		load_at(&l, scale++, 900);
		assert_int_equal(bal_pass(&after.b, &none, &l), 0);
	}
	assert_int_equal(bal_state_get(&after.b, &d), 0);
	assert_int_equal(d.nvm, 0);
	st_free(&d);
	load_at(&l, scale++, 900);
	assert_int_equal(bal_pass(&after.b, &s, &l), 0);
	assert_int_equal(after.b.res.d[0].verdict, POL_LEFT_ALONE);
	rig_free(&after);
	snap_done(&none);
	snap_done(&s);
	rig_free(&g);
}

/* Too many nodes for the policy: an error, nothing changed. */
static void too_many_nodes(void **state)
{
	struct rig g;
	struct snapshot s;

	(void)state;
	rig_init(&g, 0);
	snap_init(&s, 0);
	s.topo.nr = POL_MAX_NODES + 1;
	assert_int_equal(bal_input(&g.b, &s, NULL), -E2BIG);
	s.topo.nr = 2;
	snap_done(&s);
	rig_free(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(configure_maps),
		cmocka_unit_test(domains_and_reserved),
		cmocka_unit_test(domain_memory_nodes_widened),
		cmocka_unit_test(refused_widening_asked_again),
		cmocka_unit_test(widening_retry_pace),
		cmocka_unit_test(unanswered_widening_asked_again),
		cmocka_unit_test(domain_home_with_memoryless_node),
		cmocka_unit_test(input_figures),
		cmocka_unit_test(threads_on_counts_vcpus),
		cmocka_unit_test(admin_settings),
		cmocka_unit_test(pass_pins_and_moves),
		cmocka_unit_test(move_within_budget),
		cmocka_unit_test(left_behind_counts_as_shared),
		cmocka_unit_test(vms_come_and_go),
		cmocka_unit_test(too_many_nodes),
		cmocka_unit_test(restart_keeps_own_pinning),
		cmocka_unit_test(restart_entry_checked),
		cmocka_unit_test(restart_no_ping_pong),
		cmocka_unit_test(restart_vm_late),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
