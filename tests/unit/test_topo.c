/* test_topo.c - topology against the fixture trees described in
 * tests/fixtures/README.md, and hostile variants of them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "tmptree.h"
#include "topo.h"

static void open_dir(const char *dir, struct rt_root **r)
{
	assert_int_equal(rt_open(dir, r), 0);
}

static void open_fixture(const char *name, struct rt_root **r)
{
	char dir[PATH_MAX];
	int n = snprintf(dir, sizeof(dir), "%s/%s", FIXTURES, name);

	assert_true(n > 0 && (size_t)n < sizeof(dir));
	open_dir(dir, r);
}

static void assert_set(const struct idset *s, const char *list)
{
	struct idset want;

	assert_int_equal(idset_parse(&want, list), 0);
	if (!idset_equal(s, &want)) {
		char got[256];

		idset_format(s, got, sizeof(got));
		fail_msg("set is \"%s\", expected \"%s\"", got, list);
	}
}

/* Asserts the distance matrix of T row by row. */
static void assert_dist(const struct topo *t, const int *want)
{
	for (int a = 0; a < t->nr; a++)
		for (int b = 0; b < t->nr; b++)
			assert_int_equal(topo_distance(t, a, b), want[a * t->nr + b]);
}

static const int gaps_dist[9] = { 10, 20, 40, 20, 10, 30, 40, 30, 10 };

static void test_gaps(void **state)
{
	struct rt_root *r;
	struct topo t;

	(void)state;
	open_fixture("hostile-gaps", &r);
	assert_int_equal(topo_read(r, &t), 0);
	assert_int_equal(t.nr, 3);
	assert_int_equal(t.node[0].id, 0);
	assert_int_equal(t.node[1].id, 2);
	assert_int_equal(t.node[2].id, 5);
	assert_set(&t.online_cpus, "0-2,4-7");
	assert_set(&t.offline_cpus, "3");
	assert_set(&t.node[0].cpus, "0-2");
	assert_set(&t.node[1].cpus, "");
	assert_set(&t.node[2].cpus, "4-7");
	assert_true(t.node[0].has_memory);
	assert_true(t.node[1].has_memory);
	assert_false(t.node[2].has_memory);
	assert_int_equal(t.node[0].mem_total_kib, 4194304);
	assert_int_equal(t.node[0].mem_free_kib, 1048576);
	assert_int_equal(t.node[0].file_kib, 524288);
	assert_int_equal(t.node[1].mem_total_kib, 8388608);
	assert_int_equal(t.node[1].mem_free_kib, 6291456);
	assert_int_equal(t.node[1].file_kib, 0);
	assert_int_equal(t.node[2].mem_total_kib, 0);
	assert_int_equal(t.node[2].mem_free_kib, 0);
	for (int i = 0; i < 3; i++)
		assert_false(t.node[i].free_unknown);
	assert_false(t.dist_missing);
	assert_dist(&t, gaps_dist);
	topo_free(&t);
	rt_close(r);
}

static void test_gaps_lookup(void **state)
{
	struct rt_root *r;
	struct topo t;

	(void)state;
	open_fixture("hostile-gaps", &r);
	assert_int_equal(topo_read(r, &t), 0);
	assert_int_equal(topo_index(&t, 0), 0);
	assert_int_equal(topo_index(&t, 2), 1);
	assert_int_equal(topo_index(&t, 5), 2);
	assert_int_equal(topo_index(&t, 1), -1);
	assert_int_equal(topo_index(&t, 7), -1);
	assert_int_equal(topo_index(&t, -1), -1);
	assert_int_equal(topo_cpu_node(&t, 0), 0);
	assert_int_equal(topo_cpu_node(&t, 2), 0);
	assert_int_equal(topo_cpu_node(&t, 3), -1);      /* offline */
	assert_int_equal(topo_cpu_node(&t, 4), 2);
	assert_int_equal(topo_cpu_node(&t, 7), 2);
	assert_int_equal(topo_cpu_node(&t, 8), -1);
	assert_int_equal(topo_cpu_node(&t, -1), -1);
	/* node 5 to node 2 by index */
	assert_int_equal(topo_distance(&t, topo_index(&t, 5), topo_index(&t, 2)), 30);
	assert_int_equal(topo_distance(&t, 0, 3), -1);
	assert_int_equal(topo_distance(&t, -1, 0), -1);
	topo_free(&t);
	rt_close(r);
}

static void test_oldkernel(void **state)
{
	static const int dist[4] = { 10, 21, 21, 10 };
	struct rt_root *r;
	struct topo t;

	(void)state;
	open_fixture("hostile-oldkernel", &r);
	assert_int_equal(topo_read(r, &t), 0);
	assert_int_equal(t.nr, 2);
	assert_int_equal(t.node[0].id, 0);
	assert_int_equal(t.node[1].id, 1);
	assert_set(&t.online_cpus, "0-3");
	assert_set(&t.offline_cpus, "");
	assert_set(&t.node[0].cpus, "0-1");
	assert_set(&t.node[1].cpus, "2-3");
	assert_true(t.node[0].has_memory);
	assert_true(t.node[1].has_memory);
	assert_int_equal(t.node[0].mem_total_kib, 2097152);
	assert_int_equal(t.node[0].mem_free_kib, 1048576);
	assert_false(t.node[0].free_unknown);
	/* node1 meminfo stops after MemTotal */
	assert_int_equal(t.node[1].mem_total_kib, 2097152);
	assert_int_equal(t.node[1].mem_free_kib, 0);
	assert_true(t.node[1].free_unknown);
	assert_false(t.dist_missing);
	assert_dist(&t, dist);
	topo_free(&t);
	rt_close(r);
}

static void test_noksm_flat(void **state)
{
	struct rt_root *r;
	struct topo t;

	(void)state;
	open_fixture("hostile-noksm", &r);
	assert_int_equal(topo_read(r, &t), 0);
	assert_int_equal(t.nr, 1);
	assert_int_equal(t.node[0].id, 0);
	assert_set(&t.online_cpus, "0-1");
	assert_set(&t.offline_cpus, "");
	assert_set(&t.node[0].cpus, "0-1");
	assert_true(t.node[0].has_memory);
	assert_int_equal(t.node[0].mem_total_kib, 1048576);
	assert_int_equal(t.node[0].mem_free_kib, 524288);
	assert_false(t.node[0].free_unknown);
	assert_int_equal(topo_distance(&t, 0, 0), 10);
	assert_false(t.dist_missing);
	assert_int_equal(topo_index(&t, 0), 0);
	assert_int_equal(topo_cpu_node(&t, 1), 0);
	topo_free(&t);
	rt_close(r);
}

/* Rows of nodes 2 and 5 replaced by ROW2 and ROW5, both unusable: they
 * become 10 local / 20 remote, the row of node 0 is kept. */
static void check_bad_rows(const char *row2, const char *row5)
{
	static const int dist[9] = { 10, 20, 40, 20, 10, 20, 20, 20, 10 };
	struct rt_root *r;
	struct topo t;
	char *dir;

	dir = tt_copy("hostile-gaps");
	tt_put(dir, "sys/devices/system/node/node2/distance", row2);
	tt_put(dir, "sys/devices/system/node/node5/distance", row5);
	open_dir(dir, &r);
	assert_int_equal(topo_read(r, &t), 0);
	assert_int_equal(t.nr, 3);
	assert_true(t.dist_missing);
	assert_dist(&t, dist);
	topo_free(&t);
	rt_close(r);
	tt_remove(dir);
}

static void test_bad_distance(void **state)
{
	(void)state;
	check_bad_rows("20 ten 30\n", "40 30\n");         /* garbage, too few */
	check_bad_rows("20 10 30 10\n", "0 30 10\n");     /* too many, out of range */
	check_bad_rows("", "40 30 10x\n");                 /* empty, trailing junk */
}

/* node/online garbled: the node directories still name nodes 0, 2, 5. */
static void test_bad_node_online(void **state)
{
	struct rt_root *r;
	struct topo t;
	char *dir;

	(void)state;
	dir = tt_copy("hostile-gaps");
	tt_put(dir, "sys/devices/system/node/online", "0,2,zz\n");
	open_dir(dir, &r);
	assert_int_equal(topo_read(r, &t), 0);
	assert_int_equal(t.nr, 3);
	assert_int_equal(t.node[1].id, 2);
	assert_int_equal(t.node[2].id, 5);
	assert_set(&t.node[0].cpus, "0-2");
	assert_dist(&t, gaps_dist);
	topo_free(&t);
	rt_close(r);
	tt_remove(dir);
}

/* Garbled node/online and no CPU information anywhere: an error, T untouched. */
static void test_nothing_usable(void **state)
{
	struct rt_root *r;
	struct topo t;
	char *dir;

	(void)state;
	dir = tt_copy("hostile-noksm");
	tt_put(dir, "sys/devices/system/cpu/online", "garbage\n");
	tt_drop(dir, "sys/devices/system/cpu/present");
	tt_mkdir(dir, "sys/devices/system/node");
	tt_put(dir, "sys/devices/system/node/online", "garbage\n");
	open_dir(dir, &r);
	memset(&t, 0x5a, sizeof(t));
	assert_int_equal(topo_read(r, &t), -EINVAL);
	assert_int_equal(t.nr, 0x5a5a5a5a);
	rt_close(r);
	tt_remove(dir);
}

/* Without cpu/online: the union of the nodes' cpulists minus cpu/offline. */
static void test_no_cpu_online(void **state)
{
	struct rt_root *r;
	struct topo t;
	char *dir;

	(void)state;
	dir = tt_copy("hostile-gaps");
	tt_drop(dir, "sys/devices/system/cpu/online");
	open_dir(dir, &r);
	assert_int_equal(topo_read(r, &t), 0);
	assert_set(&t.online_cpus, "0-2,4-7");
	assert_set(&t.node[0].cpus, "0-2");
	topo_free(&t);
	rt_close(r);

	tt_drop(dir, "sys/devices/system/cpu/offline");
	open_dir(dir, &r);
	assert_int_equal(topo_read(r, &t), 0);
	assert_set(&t.online_cpus, "0-7");
	assert_set(&t.offline_cpus, "");
	assert_set(&t.node[0].cpus, "0-3");
	topo_free(&t);
	rt_close(r);
	tt_remove(dir);
}

/* Without cpu/offline, offline CPUs are present minus online. */
static void test_offline_from_present(void **state)
{
	struct rt_root *r;
	struct topo t;
	char *dir;

	(void)state;
	dir = tt_copy("hostile-gaps");
	tt_drop(dir, "sys/devices/system/cpu/offline");
	open_dir(dir, &r);
	assert_int_equal(topo_read(r, &t), 0);
	assert_set(&t.offline_cpus, "3");
	topo_free(&t);
	rt_close(r);
	tt_remove(dir);
}

/* has_memory decides when present; without it MemTotal > 0 does. */
static void test_has_memory(void **state)
{
	struct rt_root *r;
	struct topo t;
	char *dir;

	(void)state;
	dir = tt_copy("hostile-gaps");
	tt_put(dir, "sys/devices/system/node/has_memory", "0\n");
	open_dir(dir, &r);
	assert_int_equal(topo_read(r, &t), 0);
	assert_true(t.node[0].has_memory);
	assert_false(t.node[1].has_memory);
	topo_free(&t);
	rt_close(r);

	tt_drop(dir, "sys/devices/system/node/has_memory");
	open_dir(dir, &r);
	assert_int_equal(topo_read(r, &t), 0);
	assert_true(t.node[0].has_memory);
	assert_true(t.node[1].has_memory);
	assert_false(t.node[2].has_memory);
	topo_free(&t);
	rt_close(r);
	tt_remove(dir);
}

/* Garbage in meminfo and cpulist degrades one value, never crashes. */
static void test_garbage_node_files(void **state)
{
	struct rt_root *r;
	struct topo t;
	char *dir;

	(void)state;
	dir = tt_copy("hostile-gaps");
	tt_put(dir, "sys/devices/system/node/node0/meminfo",
	    "Node 0 MemTotal:   lots kB\nNode 0 MemFree: 12x kB\n\x01\xff\n");
	tt_put(dir, "sys/devices/system/node/node5/cpulist", "4-\n");
	tt_drop(dir, "sys/devices/system/node/node2/meminfo");
	open_dir(dir, &r);
	assert_int_equal(topo_read(r, &t), 0);
	assert_int_equal(t.node[0].mem_total_kib, 0);
	assert_true(t.node[0].free_unknown);
	assert_true(t.node[0].has_memory);       /* has_memory still says so */
	assert_true(t.node[1].free_unknown);
	assert_set(&t.node[2].cpus, "");
	assert_set(&t.online_cpus, "0-2,4-7");
	topo_free(&t);
	rt_close(r);
	tt_remove(dir);
}

/* One node's free memory, read as topo_read reads it (the mover's reserve
 * check reads it this way at every call). */
static void test_node_free(void **state)
{
	struct rt_root *r;
	uint64_t kib = 7;
	char *dir;

	(void)state;
	open_fixture("hostile-gaps", &r);
	assert_int_equal(topo_node_free(r, 0, &kib), 0);
	assert_int_equal(kib, 1048576);
	assert_int_equal(topo_node_free(r, 2, &kib), 0);
	assert_int_equal(kib, 6291456);
	assert_int_equal(topo_node_free(r, 5, &kib), 0);        /* memoryless */
	assert_int_equal(kib, 0);
	kib = 7;
	assert_int_equal(topo_node_free(r, 1, &kib), -ENOENT);  /* a gap */
	assert_int_equal(topo_node_free(r, -1, &kib), -EINVAL);
	assert_int_equal(kib, 7);
	rt_close(r);

	/* node1's meminfo stops after MemTotal: no figure */
	open_fixture("hostile-oldkernel", &r);
	assert_int_equal(topo_node_free(r, 1, &kib), -EINVAL);
	assert_int_equal(kib, 7);
	rt_close(r);

	/* no node directories: node 0 is the whole host */
	open_fixture("hostile-noksm", &r);
	assert_int_equal(topo_node_free(r, 0, &kib), 0);
	assert_int_equal(kib, 524288);
	assert_int_equal(topo_node_free(r, 1, &kib), -ENOENT);
	rt_close(r);

	dir = tt_copy("hostile-gaps");
	tt_put(dir, "sys/devices/system/node/node0/meminfo",
	    "Node 0 MemTotal:   4194304 kB\nNode 0 MemFree: 12x kB\n");
	open_dir(dir, &r);
	kib = 7;
	assert_int_equal(topo_node_free(r, 0, &kib), -EINVAL);
	assert_int_equal(kib, 7);
	rt_close(r);
	tt_remove(dir);
}

static void test_live_host(void **state)
{
	struct rt_root *r;
	struct topo t;
	int with_cpus = 0;

	(void)state;
	open_dir(NULL, &r);
	assert_int_equal(topo_read(r, &t), 0);
	assert_true(t.nr >= 1);
	assert_false(idset_empty(&t.online_cpus));
	for (int i = 0; i < t.nr; i++) {
		with_cpus += !idset_empty(&t.node[i].cpus);
		assert_int_equal(topo_distance(&t, i, i), 10);
	}
	assert_true(with_cpus >= 1);
	assert_true(topo_cpu_node(&t, idset_next(&t.online_cpus, 0)) >= 0);
	topo_free(&t);
	rt_close(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gaps),
		cmocka_unit_test(test_gaps_lookup),
		cmocka_unit_test(test_oldkernel),
		cmocka_unit_test(test_noksm_flat),
		cmocka_unit_test(test_bad_distance),
		cmocka_unit_test(test_bad_node_online),
		cmocka_unit_test(test_nothing_usable),
		cmocka_unit_test(test_no_cpu_online),
		cmocka_unit_test(test_offline_from_present),
		cmocka_unit_test(test_has_memory),
		cmocka_unit_test(test_garbage_node_files),
		cmocka_unit_test(test_node_free),
		cmocka_unit_test(test_live_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
