/* Unit tests for candidate selection (process mode) on the fixture trees.
 * Expected values come from tests/fixtures/README.md. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>

#include "vms.h"

struct scan {
	struct rt_root *r;
	struct topo t;
	struct vm_list l;
};

static void scan(struct scan *s, const char *tree, const struct cfg *cfg)
{
	char dir[512];

	snprintf(dir, sizeof(dir), "%s/%s", FIXTURES, tree);
	assert_int_equal(rt_open(dir, &s->r), 0);
	assert_int_equal(topo_read(s->r, &s->t), 0);
	assert_int_equal(vms_scan(s->r, cfg, &s->t, NULL, &s->l), 0);
}

static void done(struct scan *s)
{
	vms_free(&s->l);
	topo_free(&s->t);
	rt_close(s->r);
}

static const struct vm *find(const struct vm_list *l, pid_t pid)
{
	for (int i = 0; i < l->n; i++)
		if (l->vm[i].pid == pid)
			return &l->vm[i];
	return NULL;
}

static void vcpu_names(void **state)
{
	(void)state;
	assert_int_equal(vms_vcpu_index("CPU 0/KVM"), 0);
	assert_int_equal(vms_vcpu_index("CPU 12/TCG"), 12);
	assert_int_equal(vms_vcpu_index("CPU x/KVM"), -1);
	assert_int_equal(vms_vcpu_index("CPU 1"), -1);
	assert_int_equal(vms_vcpu_index("CPU /KVM"), -1);
	assert_int_equal(vms_vcpu_index("qemu-system-x86"), -1);
	assert_int_equal(vms_vcpu_index("CPU 99999999999/KVM"), -1);
}

static void gaps_defaults(void **state)
{
	struct scan s;
	struct cfg cfg;
	const struct vm *vm;

	(void)state;
	cfg_defaults(&cfg);
	scan(&s, "hostile-gaps", &cfg);
	assert_int_equal(s.l.n, 1);           /* only 4242: 4300 is not qemu */
	vm = find(&s.l, 4242);
	assert_non_null(vm);
	assert_string_equal(vm->name, "qemu-system-x86");
	assert_int_equal(vm->nvcpus, 2);
	assert_false(vm->pinned);             /* 0-7 covers online 0-2,4-7 */
	assert_int_equal(vm->info.mem.source, PROC_MEM_CGROUP);
	assert_int_equal(s.l.vanished, 1);    /* 4500: only stat left */
	assert_int_equal(s.l.unreadable, 1);  /* 4600: garbage stat */
	done(&s);
}

static void gaps_all_processes(void **state)
{
	struct scan s;
	struct cfg cfg;
	const struct vm *vm;

	(void)state;
	cfg_defaults(&cfg);
	cfg.process_names.n = 0;              /* numad's model: any process */
	scan(&s, "hostile-gaps", &cfg);
	assert_int_equal(s.l.n, 2);           /* 4400 is 1 MiB: too small */
	assert_int_equal(s.l.vm[0].pid, 4242);
	assert_int_equal(s.l.vm[1].pid, 4300);
	vm = &s.l.vm[1];
	assert_string_equal(vm->name, "a) b (c");
	assert_int_equal(vm->nvcpus, 0);
	assert_true(vm->pinned);              /* Cpus_allowed_list 4-7 */
	assert_int_equal(vm->info.mem.source, PROC_MEM_NUMA_MAPS);
	done(&s);
}

static void include_exclude(void **state)
{
	struct scan s;
	struct cfg cfg;

	(void)state;
	cfg_defaults(&cfg);
	cfg.exclude_pids.n = 1;
	cfg.exclude_pids.pid[0] = 4242;
	cfg.include_pids.n = 1;
	cfg.include_pids.pid[0] = 4400;       /* included whatever its size */
	scan(&s, "hostile-gaps", &cfg);
	assert_int_equal(s.l.n, 1);
	assert_int_equal(s.l.vm[0].pid, 4400);
	assert_string_equal(s.l.vm[0].why, "PID included by configuration");
	done(&s);

	cfg_defaults(&cfg);
	cfg.process_names.n = 0;
	cfg.exclude_names.n = 1;
	strcpy(cfg.exclude_names.p[0], "a)*");
	cfg.min_memory_mb = 4097;             /* 4242 has 1 GiB + 1 MiB + 3 GiB */
	scan(&s, "hostile-gaps", &cfg);
	assert_int_equal(s.l.n, 1);
	assert_int_equal(s.l.vm[0].pid, 4242);
	done(&s);
	cfg.min_memory_mb = 4098;
	scan(&s, "hostile-gaps", &cfg);
	assert_int_equal(s.l.n, 0);
	done(&s);
}

static void old_kernel(void **state)
{
	struct scan s;
	struct cfg cfg;
	const struct vm *vm;

	(void)state;
	cfg_defaults(&cfg);
	scan(&s, "hostile-oldkernel", &cfg);
	vm = find(&s.l, 1000);
	assert_non_null(vm);
	assert_string_equal(vm->name, "qemu-kvm");
	assert_int_equal(vm->nvcpus, 2);
	assert_int_equal(vm->info.mem.source, PROC_MEM_NUMA_MAPS);
	assert_false(vm->info.ksm.has_stat);
	done(&s);
}

static void no_ksm_no_numa(void **state)
{
	struct scan s;
	struct cfg cfg;
	const struct vm *vm;

	(void)state;
	cfg_defaults(&cfg);
	scan(&s, "hostile-noksm", &cfg);
	assert_int_equal(s.l.n, 1);
	vm = find(&s.l, 2000);
	assert_non_null(vm);
	assert_int_equal(vm->nvcpus, 1);
	assert_int_equal(proc_mem_total_kib(&vm->info.mem), 400 * 1024);
	done(&s);
}

/* libvirt's domains: named after the domain, candidates whatever their size
 * or name, their XML (not their CPU mask) decides whether they are left
 * alone, and a PID that started at another time is not the domain's.
 * guest-2node: PID 121 is memhog (qemu-system-x86, 256 MiB), started at
 * tick 185 (field 22 of its stat). */
static void domains(void **state)
{
	struct vms_domain d[1] = { { .name = "web", .pid = 121, .starttime = 185, .nvcpus = 4 } };
	struct vms_domains doms = { 1, d };
	struct scan s = { 0 };
	struct cfg cfg;
	const struct vm *vm;
	char dir[512];

	(void)state;
	cfg_defaults(&cfg);
	cfg.min_memory_mb = 100000;     /* no process qualifies by size */
	cfg.process_names.n = 1;
	strcpy(cfg.process_names.p[0], "nomatch");
	snprintf(dir, sizeof(dir), "%s/guest-2node", FIXTURES);
	assert_int_equal(rt_open(dir, &s.r), 0);
	assert_int_equal(topo_read(s.r, &s.t), 0);
	assert_int_equal(vms_scan(s.r, &cfg, &s.t, &doms, &s.l), 0);
	assert_int_equal(s.l.n, 1);
	vm = find(&s.l, 121);
	assert_non_null(vm);
	assert_string_equal(vm->name, "web");
	assert_true(vm->domain);
	assert_int_equal(vm->nvcpus, 4);
	assert_false(vm->pinned);
	assert_null(vm->leave_why);
	vms_free(&s.l);

	d[0].leave_why = "its XML pins its vCPUs";
	cfg.scan_all = false;
	assert_int_equal(vms_scan(s.r, &cfg, &s.t, &doms, &s.l), 0);
	assert_int_equal(s.l.n, 1);
	assert_string_equal(s.l.vm[0].leave_why, "its XML pins its vCPUs");
	vms_free(&s.l);

	d[0].starttime = 186;           /* PID reused: not the domain */
	assert_int_equal(vms_scan(s.r, &cfg, &s.t, &doms, &s.l), 0);
	assert_int_equal(s.l.n, 0);
	vms_free(&s.l);

	d[0].starttime = 185;           /* excluded by PID wins */
	cfg.exclude_pids.n = 1;
	cfg.exclude_pids.pid[0] = 121;
	assert_int_equal(vms_scan(s.r, &cfg, &s.t, &doms, &s.l), 0);
	assert_int_equal(s.l.n, 0);
	done(&s);
}

/* hostile-exiting: qemu processes that are exiting (a zombie, one in
 * do_exit()) read empty memory files; they are VMs gone (vanished), not
 * unreadable processes to warn about, be they domains or not.  A live one
 * whose ksm_merging_pages is empty is unreadable. */
static void exiting_processes(void **state)
{
	struct vms_domain d[2] = {
		{ .name = "gone", .pid = 5100, .starttime = 9100, .nvcpus = 2 },
		{ .name = "going", .pid = 5200, .nvcpus = 2 },
	};
	struct vms_domains doms = { 2, d };
	struct scan s;
	struct cfg cfg;

	(void)state;
	cfg_defaults(&cfg);
	scan(&s, "hostile-exiting", &cfg);
	assert_int_equal(s.l.n, 0);
	assert_int_equal(s.l.vanished, 2);    /* 5100, 5200 */
	assert_int_equal(s.l.unreadable, 1);  /* 5300 */
	vms_free(&s.l);
	assert_int_equal(vms_scan(s.r, &cfg, &s.t, &doms, &s.l), 0);
	assert_int_equal(s.l.n, 0);
	assert_int_equal(s.l.vanished, 2);
	assert_int_equal(s.l.unreadable, 1);
	done(&s);
}

/* scan_all = no (numad -S 0): only the included PIDs. */
static void scan_included_only(void **state)
{
	struct scan s;
	struct cfg cfg;

	(void)state;
	cfg_defaults(&cfg);
	cfg.scan_all = false;
	scan(&s, "guest-2node", &cfg);
	assert_int_equal(s.l.n, 0);
	done(&s);
	cfg.include_pids.n = 1;
	cfg.include_pids.pid[0] = 121;
	scan(&s, "guest-2node", &cfg);
	assert_int_equal(s.l.n, 1);
	assert_string_equal(s.l.vm[0].name, "qemu-system-x86");
	assert_false(s.l.vm[0].domain);
	done(&s);
}

static void live_self(void **state)
{
	struct scan s = { 0 };
	struct cfg cfg;

	(void)state;
	cfg_defaults(&cfg);
	cfg.include_pids.n = 1;
	cfg.include_pids.pid[0] = getpid();
	assert_int_equal(rt_open(NULL, &s.r), 0);
	assert_int_equal(topo_read(s.r, &s.t), 0);
	assert_int_equal(vms_scan(s.r, &cfg, &s.t, NULL, &s.l), 0);
	assert_non_null(find(&s.l, getpid()));
	done(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(vcpu_names),
		cmocka_unit_test(gaps_defaults),
		cmocka_unit_test(gaps_all_processes),
		cmocka_unit_test(include_exclude),
		cmocka_unit_test(old_kernel),
		cmocka_unit_test(no_ksm_no_numa),
		cmocka_unit_test(domains),
		cmocka_unit_test(exiting_processes),
		cmocka_unit_test(scan_included_only),
		cmocka_unit_test(live_self),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
