/* Unit tests for the per-process readers.  Expected values come from
 * tests/fixtures/README.md and from the text written in each test. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "tmptree.h"

#define GIB_KIB (1024 * 1024)
#define MIB_KIB 1024

/* A fixture tree under FIXTURES, or the running host for NULL. */
static struct rt_root *open_tree(const char *name)
{
	char dir[PATH_MAX];
	struct rt_root *r;

	snprintf(dir, sizeof(dir), "%s/%s", FIXTURES, name ? name : "");
	assert_int_equal(rt_open(name ? dir : NULL, &r), 0);
	return r;
}

/* The entry of NODE in MEM, or NULL. */
static const struct proc_node_mem *node_of(const struct proc_mem *mem, int node)
{
	for (int i = 0; i < mem->nr; i++)
		if (mem->node[i].node == node)
			return &mem->node[i];
	return NULL;
}

/* A stat line with FIELD (3..52) replaced by VALUE; comm "qemu". */
static void stat_line(char *buf, size_t size, int field, const char *value)
{
	static const char *const f[] = {
		"S", "1", "77", "77", "0", "-1", "4194560", "10", "0", "1", "0",
		"111", "222", "0", "0", "20", "0", "3", "0", "333", "1000000", "444",
		"18446744073709551615", "1", "1", "0", "0", "0", "0", "0", "4096", "0",
		"0", "0", "0", "17", "7", "0", "0", "0", "0", "0", "0", "0", "0", "0",
		"0", "0", "0", "0",
	};
	size_t len = snprintf(buf, size, "77 (qemu)");

	for (int i = 3; i <= 52; i++)
		len += snprintf(buf + len, size - len, " %s",
		                i == field ? value : f[i - 3]);
	snprintf(buf + len, size - len, "\n");
}

static void stat_fields(void **state)
{
	struct proc_stat st;
	char buf[1024];

	(void)state;
	stat_line(buf, sizeof(buf), 0, NULL);
	assert_int_equal(proc_parse_stat(buf, &st), 0);
	assert_int_equal(st.pid, 77);
	assert_string_equal(st.comm, "qemu");
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.ppid, 1);
	assert_int_equal(st.utime, 111);
	assert_int_equal(st.stime, 222);
	assert_int_equal(st.num_threads, 3);
	assert_int_equal(st.starttime, 333);
	assert_int_equal(st.rss_pages, 444);
	assert_int_equal(st.processor, 7);
	assert_int_equal(st.flags, 4194560);
	assert_false(proc_stat_exiting(&st));
	/* Without its newline, and with fields a newer kernel may append. */
	buf[strlen(buf) - 1] = '\0';
	assert_int_equal(proc_parse_stat(buf, &st), 0);
	strcat(buf, " 5 6\n");
	assert_int_equal(proc_parse_stat(buf, &st), 0);
	assert_int_equal(st.processor, 7);
}

/* A zombie (Z), a dead task (X, or x before Linux 4.14) and a task in
 * do_exit() (PF_EXITING in flags, field 9, whatever its state) are exiting. */
static void stat_exiting(void **state)
{
	static const char *const states[] = { "Z", "X", "x" };
	struct proc_stat st;
	char buf[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		stat_line(buf, sizeof(buf), 3, states[i]);
		assert_int_equal(proc_parse_stat(buf, &st), 0);
		assert_true(proc_stat_exiting(&st));
	}
	stat_line(buf, sizeof(buf), 9, "4194564");      /* 0x400104: PF_EXITING */
	assert_int_equal(proc_parse_stat(buf, &st), 0);
	assert_int_equal(st.state, 'S');
	assert_true(proc_stat_exiting(&st));
	stat_line(buf, sizeof(buf), 9, "4294967296");   /* printed as %u */
	assert_int_equal(proc_parse_stat(buf, &st), -EINVAL);
}

static void stat_comm(void **state)
{
	const char *tail = " R 1 1 1 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 9 0 0 0 0 0 0 0 0 0 0 0"
	                   " 0 0 0 0 0 17 2 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
	struct proc_stat st;
	char buf[1024], longcomm[100];

	(void)state;
	snprintf(buf, sizeof(buf), "4300 (a) b (c)%s", tail);
	assert_int_equal(proc_parse_stat(buf, &st), 0);
	assert_string_equal(st.comm, "a) b (c");
	assert_int_equal(st.state, 'R');
	assert_int_equal(st.starttime, 9);
	snprintf(buf, sizeof(buf), "5 ()%s", tail);
	assert_int_equal(proc_parse_stat(buf, &st), 0);
	assert_string_equal(st.comm, "");
	snprintf(buf, sizeof(buf), "5 (x\n) 1 2 (y)%s", tail);
	assert_int_equal(proc_parse_stat(buf, &st), 0);
	assert_string_equal(st.comm, "x\n) 1 2 (y");
	memset(longcomm, 'c', 99);
	longcomm[99] = '\0';
	snprintf(buf, sizeof(buf), "5 (%s)%s", longcomm, tail);
	assert_int_equal(proc_parse_stat(buf, &st), 0);
	assert_int_equal(strlen(st.comm), PROC_COMM_LEN - 1);
}

static void stat_malformed(void **state)
{
	struct proc_stat st;
	char buf[1024];

	(void)state;
	assert_int_equal(proc_parse_stat("", &st), -EINVAL);
	assert_int_equal(proc_parse_stat("4600 garbage\n", &st), -EINVAL);
	assert_int_equal(proc_parse_stat("77 (qemu", &st), -EINVAL);
	assert_int_equal(proc_parse_stat("77 (qemu) S 1 77\n", &st), -EINVAL);
	assert_int_equal(proc_parse_stat("(qemu) S 1 77\n", &st), -EINVAL);
	/* One field short (the line ends after field 51). */
	stat_line(buf, sizeof(buf), 0, NULL);
	*strrchr(buf, ' ') = '\0';
	assert_int_equal(proc_parse_stat(buf, &st), -EINVAL);
	stat_line(buf, sizeof(buf), 14, "abc");
	assert_int_equal(proc_parse_stat(buf, &st), -EINVAL);
	stat_line(buf, sizeof(buf), 22, "-5");         /* starttime is unsigned */
	assert_int_equal(proc_parse_stat(buf, &st), -EINVAL);
	stat_line(buf, sizeof(buf), 22, "99999999999999999999");
	assert_int_equal(proc_parse_stat(buf, &st), -EINVAL);
	stat_line(buf, sizeof(buf), 39, "-1");
	assert_int_equal(proc_parse_stat(buf, &st), -EINVAL);
	stat_line(buf, sizeof(buf), 40, "1x");
	assert_int_equal(proc_parse_stat(buf, &st), -EINVAL);
	stat_line(buf, sizeof(buf), 30, "");           /* two blanks in a row */
	assert_int_equal(proc_parse_stat(buf, &st), -EINVAL);
	stat_line(buf, sizeof(buf), 3, "SS");
	assert_int_equal(proc_parse_stat(buf, &st), -EINVAL);
	stat_line(buf, sizeof(buf), 38, "-1");         /* exit_signal of a thread */
	assert_int_equal(proc_parse_stat(buf, &st), 0);
	stat_line(buf, sizeof(buf), 0, NULL);
	strcat(buf, "junk");
	assert_int_equal(proc_parse_stat(buf, &st), -EINVAL);
	stat_line(buf, sizeof(buf), 0, NULL);         /* "77 (" -> "0 (" */
	memmove(buf, buf + 1, strlen(buf));
	buf[0] = '0';
	assert_int_equal(proc_parse_stat(buf, &st), -EINVAL);
}

static void stat_fixtures(void **state)
{
	struct rt_root *r = open_tree("hostile-gaps");
	struct proc_stat st;

	(void)state;
	assert_int_equal(proc_read_stat(r, 4300, 0, &st), 0);
	assert_int_equal(st.pid, 4300);
	assert_string_equal(st.comm, "a) b (c");
	assert_int_equal(st.num_threads, 1);
	assert_int_equal(proc_read_stat(r, 4242, 4244, &st), 0);
	assert_string_equal(st.comm, "CPU 1/KVM");
	assert_int_equal(st.processor, 5);
	assert_int_equal(proc_read_stat(r, 4600, 0, &st), -EINVAL);
	assert_int_equal(proc_read_stat(r, 4242, 9999, &st), -ESRCH);
	assert_int_equal(proc_read_stat(r, 31337, 0, &st), -ESRCH);
	rt_close(r);
}

static void status_fields(void **state)
{
	struct rt_root *r = open_tree("hostile-gaps");
	struct proc_status st;
	struct idset want;

	(void)state;
	assert_int_equal(proc_read_status(r, 4242, &st), 0);
	assert_string_equal(st.name, "qemu-system-x86");
	assert_int_equal(st.uid, 0);
	assert_int_equal(st.threads, 4);
	assert_int_equal(idset_parse(&want, "0-7"), 0);
	assert_true(idset_equal(&st.cpus_allowed, &want));
	assert_int_equal(idset_parse(&want, "0,2,5"), 0);
	assert_true(idset_equal(&st.mems_allowed, &want));
	assert_int_equal(proc_read_status(r, 4300, &st), 0);
	assert_string_equal(st.name, "a) b (c");
	assert_int_equal(st.uid, 1000);
	assert_int_equal(idset_parse(&want, "4-7"), 0);
	assert_true(idset_equal(&st.cpus_allowed, &want));
	assert_int_equal(proc_read_status(r, 4500, &st), -ESRCH);
	rt_close(r);
}

static void status_truncated(void **state)
{
	struct rt_root *r = open_tree("hostile-oldkernel");
	struct proc_status st;

	(void)state;
	assert_int_equal(proc_read_status(r, 1100, &st), 0);
	assert_string_equal(st.name, "qemu-kvm");
	assert_true(idset_empty(&st.cpus_allowed));
	assert_true(idset_empty(&st.mems_allowed));
	rt_close(r);
	/* An unterminated last line is where the file was cut: not used. */
	assert_int_equal(proc_parse_status("Name:\tx\nVmRSS:\t  100 kB\n"
	                                   "Cpus_allowed_list:\t0-1", &st), 0);
	assert_string_equal(st.name, "x");
	assert_int_equal(st.vm_rss_kib, 100);
	assert_true(idset_empty(&st.cpus_allowed));
	assert_int_equal(proc_parse_status("", &st), 0);
	assert_int_equal(proc_parse_status("junk without colon\nThreads:\t2\n", &st), 0);
	assert_int_equal(st.threads, 2);
}

static void status_malformed(void **state)
{
	struct proc_status st;

	(void)state;
	assert_int_equal(proc_parse_status("VmRSS:\t  abc kB\n", &st), -EINVAL);
	assert_int_equal(proc_parse_status("VmRSS:\t  12\n", &st), -EINVAL);
	assert_int_equal(proc_parse_status("RssAnon:\t  12 MB\n", &st), -EINVAL);
	assert_int_equal(proc_parse_status("Uid:\tx\t0\t0\t0\n", &st), -EINVAL);
	assert_int_equal(proc_parse_status("Threads:\t-1\n", &st), -EINVAL);
	assert_int_equal(proc_parse_status("Cpus_allowed_list:\t0-x\n", &st), -EINVAL);
	assert_int_equal(proc_parse_status("Mems_allowed_list:\t99999\n", &st), -EINVAL);
	/* Fields we do not use are not checked. */
	assert_int_equal(proc_parse_status("VmSwap:\tjunk\nSigQ:\t?\n", &st), 0);
}

static void numa_maps_oldkernel(void **state)
{
	struct rt_root *r = open_tree("hostile-oldkernel");
	const struct proc_node_mem *n0, *n1;
	struct proc_mem mem;

	(void)state;
	/* cgroup v1 only: no v2 path, numa_maps it is. */
	assert_int_equal(proc_read_mem(r, 1000, "", true, &mem), 0);
	assert_int_equal(mem.source, PROC_MEM_NUMA_MAPS);
	assert_int_equal(mem.nr, 2);
	assert_false(mem.truncated);
	n0 = &mem.node[0];
	n1 = &mem.node[1];
	assert_int_equal(n0->node, 0);
	assert_int_equal(n1->node, 1);
	assert_int_equal(n0->anon_kib, 512 * MIB_KIB);
	assert_int_equal(n1->anon_kib, 512 * MIB_KIB);
	assert_int_equal(n0->huge_kib, 0);
	assert_int_equal(n1->huge_kib, 8 * MIB_KIB);     /* 4 pages of 2 MiB */
	assert_int_equal(n0->file_kib, 1 * MIB_KIB);
	assert_int_equal(n1->file_kib, 0);
	/* The one mapping with mapmax=20 is the 1 MiB file mapping on node 0. */
	assert_int_equal(mem.max_mapmax, 20);
	assert_int_equal(n0->shared_kib, 1 * MIB_KIB);
	assert_int_equal(n1->shared_kib, 0);
	assert_int_equal(proc_mem_total_kib(&mem), 1024 * MIB_KIB + 8 * MIB_KIB + MIB_KIB);
	rt_close(r);
}

static void numa_maps_garbage(void **state)
{
	struct rt_root *r = open_tree("hostile-noksm");
	struct proc_mem mem;

	(void)state;
	assert_int_equal(proc_read_mem(r, 2000, "/system.slice/x.service", true, &mem), 0);
	assert_int_equal(mem.source, PROC_MEM_NUMA_MAPS);
	assert_int_equal(mem.nr, 1);
	assert_int_equal(mem.node[0].node, 0);
	assert_int_equal(mem.node[0].anon_kib, 400 * MIB_KIB);
	assert_int_equal(proc_mem_total_kib(&mem), 400 * MIB_KIB);
	rt_close(r);

	memset(&mem, 0, sizeof(mem));
	assert_int_equal(proc_parse_numa_maps("garbage\nmore garbage N0=1\n", &mem), -EINVAL);
	memset(&mem, 0, sizeof(mem));
	assert_int_equal(proc_parse_numa_maps("", &mem), 0);
	assert_int_equal(mem.nr, 0);
	/* Lines without pages are valid (PROT_NONE, unfaulted). */
	assert_int_equal(proc_parse_numa_maps("7f00 default\n7f01 default file=/x\n", &mem), 0);
	assert_int_equal(mem.nr, 0);
}

static void numa_maps_classes(void **state)
{
	struct proc_mem mem;
	const struct proc_node_mem *n;

	(void)state;
	memset(&mem, 0, sizeof(mem));
	assert_int_equal(proc_parse_numa_maps(
		"1000 default file=/a\\040b mapped=3 N5=2 N0=1 kernelpagesize_kB=4\n"
		"2000 prefer (many):0-2 anon=2 dirty=2 N2=2 kernelpagesize_kB=4\n"
		"3000 interleave:0,2 anon=5 mapmax=2 N2=4 N0=1 kernelpagesize_kB=4\n"
		"4000 default file=/dev/hugepages/x huge dirty=1 N5=1 kernelpagesize_kB=1048576\n"
		"5000 default anon=1 mapmax=1 N0=1 kernelpagesize_kB=4\n",
		&mem), 0);
	assert_int_equal(mem.nr, 3);
	assert_int_equal(mem.node[0].node, 0);
	assert_int_equal(mem.node[1].node, 2);
	assert_int_equal(mem.node[2].node, 5);
	n = node_of(&mem, 0);
	assert_int_equal(n->file_kib, 4);
	assert_int_equal(n->anon_kib, 4 + 4);
	assert_int_equal(n->shared_kib, 4);
	n = node_of(&mem, 2);
	assert_int_equal(n->anon_kib, 8 + 16);
	assert_int_equal(n->shared_kib, 16);
	n = node_of(&mem, 5);
	assert_int_equal(n->file_kib, 8);
	assert_int_equal(n->huge_kib, 1048576);
	assert_int_equal(mem.max_mapmax, 2);
}

static void numa_maps_many_nodes(void **state)
{
	char line[8192];
	size_t len = snprintf(line, sizeof(line), "7f00 default anon=100");
	struct proc_mem mem;

	(void)state;
	/* 100 nodes, highest first: the 64 lowest are kept, in order. */
	for (int node = 99; node >= 0; node--)
		len += snprintf(line + len, sizeof(line) - len, " N%d=1", node);
	snprintf(line + len, sizeof(line) - len, " kernelpagesize_kB=4\n");
	memset(&mem, 0, sizeof(mem));
	assert_int_equal(proc_parse_numa_maps(line, &mem), 0);
	assert_true(mem.truncated);
	assert_int_equal(mem.nr, PROC_MAX_MEM_NODES);
	for (int i = 1; i < mem.nr; i++)
		assert_true(mem.node[i - 1].node < mem.node[i].node);
}

static void mem_cgroup_wins(void **state)
{
	struct rt_root *r = open_tree("hostile-gaps");
	const char *cg = "/machine.slice/machine-qemu\\x2d1\\x2dweb01.scope/libvirt/emulator";
	const struct proc_node_mem *n;
	struct proc_mem mem;

	(void)state;
	assert_int_equal(proc_read_mem(r, 4242, cg, true, &mem), 0);
	assert_int_equal(mem.source, PROC_MEM_CGROUP);
	n = node_of(&mem, 0);
	assert_non_null(n);
	assert_int_equal(n->anon_kib, 1 * GIB_KIB);
	assert_int_equal(n->file_kib, 1 * MIB_KIB);    /* shmem is inside file */
	n = node_of(&mem, 2);
	assert_non_null(n);
	assert_int_equal(n->anon_kib, 3 * GIB_KIB);    /* anon_thp is inside anon */
	assert_int_equal(n->file_kib, 0);
	n = node_of(&mem, 5);
	assert_true(!n || (n->anon_kib == 0 && n->file_kib == 0));
	assert_int_equal(proc_mem_total_kib(&mem), 4 * GIB_KIB + MIB_KIB);

	/* Not preferred: numa_maps (2 GiB anon on node 0 only). */
	assert_int_equal(proc_read_mem(r, 4242, cg, false, &mem), 0);
	assert_int_equal(mem.source, PROC_MEM_NUMA_MAPS);
	assert_int_equal(mem.nr, 1);
	assert_int_equal(mem.node[0].node, 0);
	assert_int_equal(mem.node[0].anon_kib, 2 * GIB_KIB);

	/* A scope without memory.numa_stat, or a shared group: numa_maps. */
	assert_int_equal(proc_read_mem(r, 4242, "/machine.slice/machine-qemu\\x2d9\\x2dx.scope",
	                               true, &mem), 0);
	assert_int_equal(mem.source, PROC_MEM_NUMA_MAPS);
	assert_int_equal(proc_read_mem(r, 4242, "/machine.slice/machine-.scope/x", true, &mem), 0);
	assert_int_equal(mem.source, PROC_MEM_NUMA_MAPS);

	/* 4300 lives in a session scope: numa_maps, 512 MiB anon on node 2. */
	assert_int_equal(proc_read_mem(r, 4300, "/user.slice/user-1000.slice/session-2.scope",
	                               true, &mem), 0);
	assert_int_equal(mem.source, PROC_MEM_NUMA_MAPS);
	assert_int_equal(mem.nr, 1);
	assert_int_equal(mem.node[0].node, 2);
	assert_int_equal(mem.node[0].anon_kib, 512 * MIB_KIB);
	assert_int_equal(mem.max_mapmax, 3);
	assert_true(mem.node[0].shared_kib > 0 && mem.node[0].shared_kib < 512 * MIB_KIB);

	/* No numa_maps while stat is there: a kernel without NUMA, no data. */
	assert_int_equal(proc_read_mem(r, 4500, "", true, &mem), 0);
	assert_int_equal(mem.source, PROC_MEM_NONE);
	assert_int_equal(mem.nr, 0);
	assert_int_equal(proc_read_mem(r, 31337, "", true, &mem), -ESRCH);
	rt_close(r);
}

static void numa_stat_malformed(void **state)
{
	struct proc_mem mem;

	(void)state;
	memset(&mem, 0, sizeof(mem));
	assert_int_equal(proc_parse_numa_stat("file N0=4096\n", &mem), -EINVAL);
	assert_int_equal(proc_parse_numa_stat("anon N0=x\nfile N0=4096\n", &mem), -EINVAL);
	assert_int_equal(proc_parse_numa_stat("anon 4096\n", &mem), -EINVAL);
	assert_int_equal(mem.nr, 0);
	assert_int_equal(mem.source, PROC_MEM_NONE);
	assert_int_equal(proc_parse_numa_stat("anon N1=8192 N0=4096\nshmem N0=4096\n"
	                                      "anon_thp N1=8192\nfile N0=4096\n", &mem), 0);
	assert_int_equal(mem.source, PROC_MEM_CGROUP);
	assert_int_equal(mem.nr, 2);
	assert_int_equal(mem.node[0].anon_kib, 4);
	assert_int_equal(mem.node[0].file_kib, 4);
	assert_int_equal(mem.node[1].anon_kib, 8);
}

static void ksm_files(void **state)
{
	struct rt_root *r = open_tree("hostile-gaps");
	struct proc_ksm k;

	(void)state;
	assert_int_equal(proc_read_ksm(r, 4242, &k), 0);
	assert_true(k.has_stat);
	assert_true(k.has_merging_pages);
	assert_int_equal(k.rmap_items, 1000);
	assert_int_equal(k.merging_pages, 262144);
	assert_true(k.has_zero_pages);
	assert_int_equal(k.zero_pages, 0);
	assert_true(k.has_profit);
	assert_int_equal(k.profit, 1000000);
	assert_int_equal(proc_read_ksm(r, 4300, &k), 0);
	assert_false(k.has_stat);
	assert_false(k.has_merging_pages);
	rt_close(r);
	r = open_tree("hostile-oldkernel");
	assert_int_equal(proc_read_ksm(r, 1000, &k), 0);
	assert_false(k.has_stat || k.has_merging_pages || k.has_profit);
	rt_close(r);
}

static void cgroup_paths(void **state)
{
	struct rt_root *r = open_tree("hostile-gaps");
	char v2[PROC_CGROUP_LEN], cs[PROC_CGROUP_LEN];

	(void)state;
	assert_int_equal(proc_read_cgroup(r, 4242, v2, sizeof(v2), cs, sizeof(cs)), 0);
	assert_string_equal(v2, "/machine.slice/machine-qemu\\x2d1\\x2dweb01.scope/libvirt/emulator");
	assert_string_equal(cs, "");
	assert_int_equal(proc_read_cgroup(r, 4242, v2, 10, cs, sizeof(cs)), -ENAMETOOLONG);
	assert_int_equal(proc_read_cgroup(r, 4500, v2, sizeof(v2), cs, sizeof(cs)), -ESRCH);
	rt_close(r);
	r = open_tree("hostile-oldkernel");
	assert_int_equal(proc_read_cgroup(r, 1000, v2, sizeof(v2), cs, sizeof(cs)), 0);
	assert_string_equal(v2, "");
	assert_string_equal(cs, "/machine.slice/machine-qemu\\x2d2\\x2dold.scope/emulator");
	rt_close(r);
}

static void threads_gaps(void **state)
{
	static const char *const comm[] = {
		"qemu-system-x86", "CPU 0/KVM", "CPU 1/KVM", "IO mon_iothread",
	};
	struct rt_root *r = open_tree("hostile-gaps");
	struct proc_info info;

	(void)state;
	memset(&info, 0, sizeof(info));
	assert_int_equal(proc_read_threads(r, 4242, &info), 0);
	assert_int_equal(info.nthreads, 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(info.threads[i].tid, 4242 + i);
		assert_string_equal(info.threads[i].comm, comm[i]);
	}
	assert_int_equal(info.threads[1].processor, 1);
	assert_int_equal(info.threads[2].processor, 5);
	proc_info_free(&info);
	assert_null(info.threads);
	assert_int_equal(proc_read_threads(r, 4500, &info), -ESRCH);
	rt_close(r);
}

static void read_whole(void **state)
{
	struct rt_root *r = open_tree("hostile-gaps");
	struct proc_info info;

	(void)state;
	assert_int_equal(proc_read(r, 4242, true, &info), 0);
	assert_string_equal(info.stat.comm, "qemu-system-x86");
	assert_int_equal(info.status.uid, 0);
	assert_int_equal(info.mem.source, PROC_MEM_CGROUP);
	assert_int_equal(proc_mem_total_kib(&info.mem), 4 * GIB_KIB + MIB_KIB);
	assert_int_equal(info.ksm.merging_pages, 262144);
	assert_int_equal(info.nthreads, 4);
	assert_string_equal(info.cgroup,
	                    "/machine.slice/machine-qemu\\x2d1\\x2dweb01.scope/libvirt/emulator");
	proc_info_free(&info);

	assert_int_equal(proc_read(r, 4300, true, &info), 0);
	assert_string_equal(info.stat.comm, "a) b (c");
	assert_int_equal(info.mem.source, PROC_MEM_NUMA_MAPS);
	assert_int_equal(info.nthreads, 1);
	assert_string_equal(info.threads[0].comm, "a) b (c");
	proc_info_free(&info);

	assert_int_equal(proc_read(r, 4400, true, &info), 0);
	assert_int_equal(proc_mem_total_kib(&info.mem), 1 * MIB_KIB);
	proc_info_free(&info);

	assert_int_equal(proc_read(r, 4500, true, &info), -ESRCH);
	assert_null(info.threads);
	assert_int_equal(proc_read(r, 4600, true, &info), -EINVAL);
	assert_int_equal(proc_read(r, 31337, true, &info), -ESRCH);
	rt_close(r);
}

/* hostile-exiting: a zombie (5100) and a process in do_exit() whose memory
 * is gone (5200) have empty ksm_stat, numa_maps and ksm_merging_pages: they
 * are gone (-ESRCH), not unreadable.  The same empty ksm_merging_pages in a
 * live process (5300) is malformed (-EINVAL). */
static void read_exiting(void **state)
{
	struct rt_root *r = open_tree("hostile-exiting");
	struct proc_info info;
	struct proc_stat st;

	(void)state;
	assert_int_equal(proc_read_stat(r, 5100, 0, &st), 0);
	assert_true(proc_stat_exiting(&st));
	assert_int_equal(proc_read(r, 5100, true, &info), -ESRCH);
	assert_null(info.threads);
	assert_int_equal(proc_read_seen(r, 5100, &st, true, &info), -ESRCH);
	assert_int_equal(proc_read_stat(r, 5200, 0, &st), 0);
	assert_int_equal(st.state, 'D');
	assert_true(proc_stat_exiting(&st));
	assert_int_equal(proc_read(r, 5200, true, &info), -ESRCH);
	assert_int_equal(proc_read_stat(r, 5300, 0, &st), 0);
	assert_false(proc_stat_exiting(&st));
	assert_int_equal(proc_read(r, 5300, true, &info), -EINVAL);
	assert_null(info.threads);
	rt_close(r);
}

static void read_old_and_noksm(void **state)
{
	struct rt_root *r = open_tree("hostile-oldkernel");
	struct proc_info info;

	(void)state;
	assert_int_equal(proc_read(r, 1000, true, &info), 0);
	assert_int_equal(info.nthreads, 3);
	assert_string_equal(info.threads[2].comm, "CPU 1/KVM");
	assert_int_equal(info.mem.source, PROC_MEM_NUMA_MAPS);
	proc_info_free(&info);
	assert_int_equal(proc_read(r, 1100, true, &info), 0);
	assert_true(idset_empty(&info.status.cpus_allowed));
	proc_info_free(&info);
	rt_close(r);

	r = open_tree("hostile-noksm");
	assert_int_equal(proc_read(r, 2000, true, &info), 0);
	assert_int_equal(info.nthreads, 2);
	assert_string_equal(info.threads[1].comm, "CPU 0/TCG");
	assert_false(info.ksm.has_stat);
	assert_int_equal(info.mem.node[0].anon_kib, 400 * MIB_KIB);
	proc_info_free(&info);
	rt_close(r);
}

/* A writable copy of hostile-gaps/proc/PID in a temporary root. */
struct copy {
	char *dir;
	struct rt_root *r;
	pid_t pid;
	const char *trigger;        /* path suffix that fires the action */
	void (*action)(struct copy *c);
	int fired;
};

/* REL = proc/PID of the copy, followed by SUB. */
static void pid_rel(char *rel, size_t size, const struct copy *c, const char *sub)
{
	int n = snprintf(rel, size, "proc/%d%s", (int)c->pid, sub);

	assert_true(n > 0 && (size_t)n < size);
}

/* (Re)places a fresh copy of hostile-gaps/proc/PID in the copy. */
static void copy_pid(struct copy *c, pid_t pid)
{
	char rel[64];

	c->pid = pid;
	pid_rel(rel, sizeof(rel), c, "");
	tt_graft(c->dir, "hostile-gaps", rel);
	rt_set_read_hook(c->r, NULL, NULL);
	c->fired = 0;
}

static int setup_copy(void **state)
{
	struct copy *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->dir = tt_copy(NULL);
	tt_mkdir(c->dir, "proc");
	assert_int_equal(rt_open(c->dir, &c->r), 0);
	*state = c;
	return 0;
}

static int teardown_copy(void **state)
{
	struct copy *c = *state;

	rt_close(c->r);
	tt_remove(c->dir);
	free(c);
	return 0;
}

static void hook(const char *path, void *data)
{
	struct copy *c = data;
	size_t n = strlen(path), m = strlen(c->trigger);

	if (!c->fired && n >= m && strcmp(path + n - m, c->trigger) == 0) {
		c->fired++;
		c->action(c);
	}
}

/* A new process took the PID: same files, later start time. */
static void reuse_pid(struct copy *c)
{
	char rel[64], path[PATH_MAX], buf[2048], out[2048], *p;
	FILE *f;
	int blanks = 0;

	pid_rel(rel, sizeof(rel), c, "/stat");
	snprintf(path, sizeof(path), "%s/%s", c->dir, rel);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	p = strrchr(buf, ')');
	assert_non_null(p);
	/* The 20th blank after the comm precedes field 22, starttime. */
	while (blanks < 20)
		blanks += *++p == ' ';
	snprintf(out, sizeof(out), "%.*s 9%s", (int)(p - buf), buf, p + 1);
	tt_put(c->dir, rel, out);
}

static void remove_pid(struct copy *c)
{
	char rel[64];

	pid_rel(rel, sizeof(rel), c, "");
	tt_drop(c->dir, rel);
}

static void remove_thread(struct copy *c)
{
	char rel[64];

	pid_rel(rel, sizeof(rel), c, "/task/4243");
	tt_drop(c->dir, rel);
}

/* The process exits while its files are read: ksm_merging_pages reads
 * empty, as the kernel gives it once the memory is released. */
static void empty_merging_pages(struct copy *c)
{
	char rel[64];

	pid_rel(rel, sizeof(rel), c, "/ksm_merging_pages");
	tt_put(c->dir, rel, "");
}

/* ... and the process is a zombie by the time stat is read again. */
static void become_zombie(struct copy *c)
{
	char rel[64], path[PATH_MAX], buf[2048], *p;
	FILE *f;

	empty_merging_pages(c);
	pid_rel(rel, sizeof(rel), c, "/stat");
	snprintf(path, sizeof(path), "%s/%s", c->dir, rel);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	p = strrchr(buf, ')');
	assert_true(p && p[1] == ' ' && p[2] == 'S');
	p[2] = 'Z';
	tt_put(c->dir, rel, buf);
}

/* ... or already reaped: its stat is gone. */
static void reaped(struct copy *c)
{
	char rel[64];

	empty_merging_pages(c);
	pid_rel(rel, sizeof(rel), c, "/stat");
	tt_drop(c->dir, rel);
}

/* An empty ksm_merging_pages met mid-read is the exit's doing when the
 * process turned out to be a zombie or gone (-ESRCH); in a process still
 * alive it is malformed (-EINVAL). */
static void exits_while_read(void **state)
{
	static void (*const action[])(struct copy *) = {
		become_zombie, reaped, empty_merging_pages,
	};
	static const int want[] = { -ESRCH, -ESRCH, -EINVAL };
	struct copy *c = *state;
	struct proc_info info;

	for (size_t i = 0; i < sizeof(action) / sizeof(action[0]); i++) {
		copy_pid(c, 4242);
		c->trigger = "/4242/ksm_merging_pages";
		c->action = action[i];
		rt_set_read_hook(c->r, hook, c);
		assert_int_equal(proc_read(c->r, 4242, true, &info), want[i]);
		assert_int_equal(c->fired, 1);
		assert_null(info.threads);
	}
}

static void pid_reused(void **state)
{
	struct copy *c = *state;
	struct proc_info info;

	copy_pid(c, 4300);
	assert_int_equal(proc_read(c->r, 4300, true, &info), 0);
	proc_info_free(&info);
	c->trigger = "/4300/status";
	c->action = reuse_pid;
	rt_set_read_hook(c->r, hook, c);
	assert_int_equal(proc_read(c->r, 4300, true, &info), -ESRCH);
	assert_int_equal(c->fired, 1);
	assert_null(info.threads);
	/* The new process itself reads fine. */
	assert_int_equal(proc_read(c->r, 4300, true, &info), 0);
	proc_info_free(&info);
}

/* proc_read_seen starts from the caller's stat: a stat read before the PID
 * was reused is caught by the final check. */
static void pid_reused_seen(void **state)
{
	struct copy *c = *state;
	struct proc_info info;
	struct proc_stat seen;

	copy_pid(c, 4300);
	assert_int_equal(proc_read_stat(c->r, 4300, 0, &seen), 0);
	assert_int_equal(proc_read_seen(c->r, 4300, &seen, true, &info), 0);
	assert_int_equal(info.stat.starttime, seen.starttime);
	proc_info_free(&info);
	reuse_pid(c);
	assert_int_equal(proc_read_seen(c->r, 4300, &seen, true, &info), -ESRCH);
	assert_null(info.threads);
}

static void pid_vanishes(void **state)
{
	static const char *const when[] = {
		"/4300/status", "/4300/cgroup", "/4300/numa_maps", "/4300/task/4300/comm",
		"/4300/task/4300/stat",
	};
	struct copy *c = *state;
	struct proc_info info;

	for (size_t i = 0; i < sizeof(when) / sizeof(when[0]); i++) {
		copy_pid(c, 4300);
		c->trigger = when[i];
		c->action = remove_pid;
		rt_set_read_hook(c->r, hook, c);
		assert_int_equal(proc_read(c->r, 4300, true, &info), -ESRCH);
		assert_int_equal(c->fired, 1);
	}
}

static void thread_vanishes(void **state)
{
	struct copy *c = *state;
	struct proc_info info;

	copy_pid(c, 4242);
	c->trigger = "/4242/task/4242/comm";
	c->action = remove_thread;
	rt_set_read_hook(c->r, hook, c);
	assert_int_equal(proc_read(c->r, 4242, false, &info), 0);
	assert_int_equal(c->fired, 1);
	assert_int_equal(info.nthreads, 3);
	assert_int_equal(info.threads[0].tid, 4242);
	assert_int_equal(info.threads[1].tid, 4244);
	assert_int_equal(info.threads[2].tid, 4245);
	/* No sys/ in the copy: the cgroup file is absent, numa_maps is used. */
	assert_int_equal(info.mem.source, PROC_MEM_NUMA_MAPS);
	proc_info_free(&info);
}

static void live_self(void **state)
{
	struct rt_root *r = open_tree(NULL);
	struct proc_info info;
	bool found = false;

	(void)state;
	assert_int_equal(proc_read(r, getpid(), true, &info), 0);
	assert_int_equal(info.stat.pid, getpid());
	assert_int_equal(info.stat.ppid, getppid());
	assert_string_equal(info.stat.comm, info.status.name);
	assert_true(info.status.threads >= 1);
	assert_false(idset_empty(&info.status.cpus_allowed));
	assert_true(info.nthreads >= 1);
	for (int i = 0; i < info.nthreads; i++)
		found |= info.threads[i].tid == getpid();
	assert_true(found);
	proc_info_free(&info);
	rt_close(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stat_fields),
		cmocka_unit_test(stat_exiting),
		cmocka_unit_test(stat_comm),
		cmocka_unit_test(stat_malformed),
		cmocka_unit_test(stat_fixtures),
		cmocka_unit_test(status_fields),
		cmocka_unit_test(status_truncated),
		cmocka_unit_test(status_malformed),
		cmocka_unit_test(numa_maps_oldkernel),
		cmocka_unit_test(numa_maps_garbage),
		cmocka_unit_test(numa_maps_classes),
		cmocka_unit_test(numa_maps_many_nodes),
		cmocka_unit_test(mem_cgroup_wins),
		cmocka_unit_test(numa_stat_malformed),
		cmocka_unit_test(ksm_files),
		cmocka_unit_test(cgroup_paths),
		cmocka_unit_test(threads_gaps),
		cmocka_unit_test(read_whole),
		cmocka_unit_test(read_exiting),
		cmocka_unit_test(read_old_and_noksm),
		cmocka_unit_test_setup_teardown(pid_reused, setup_copy, teardown_copy),
		cmocka_unit_test_setup_teardown(pid_reused_seen, setup_copy, teardown_copy),
		cmocka_unit_test_setup_teardown(pid_vanishes, setup_copy, teardown_copy),
		cmocka_unit_test_setup_teardown(thread_vanishes, setup_copy, teardown_copy),
		cmocka_unit_test_setup_teardown(exits_while_read, setup_copy, teardown_copy),
		cmocka_unit_test(live_self),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
