/* Unit tests for cgroup cpuset.mems.  Each test builds its own small tree in
 * a temp directory; the expected values are the ones written there. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cpuset.h"
#include "tmptree.h"

#define PID 4242
#define V2 "sys/fs/cgroup/machine.slice/vm.scope"
#define V1 "sys/fs/cgroup/cpuset/machine/old"

struct t {
	char *dir;
	struct rt_root *r;
	struct cs_group g;
};

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	t->dir = tt_copy(NULL);
	tt_mkdir(t->dir, "proc");
	tt_mkdir(t->dir, "sys");
	assert_int_equal(rt_open(t->dir, &t->r), 0);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;

	rt_close(t->r);
	tt_remove(t->dir);
	free(t);
	return 0;
}

static void put_cgroup(struct t *t, const char *text)
{
	tt_put(t->dir, "proc/4242/cgroup", text);
}

/* libvirt's v2 layout: a limit on libvirt/, none on emulator/. */
static void put_v2(struct t *t, const char *mems)
{
	put_cgroup(t, "0::/machine.slice/vm.scope/libvirt/emulator\n");
	tt_put(t->dir, V2 "/cpuset.mems", "0-1\n");
	tt_put(t->dir, V2 "/libvirt/cpuset.mems", mems);
	tt_put(t->dir, V2 "/libvirt/emulator/cpuset.mems", "\n");
}

static struct idset set(const char *list)
{
	struct idset s;

	assert_int_equal(idset_parse(&s, list), 0);
	return s;
}

static void assert_set(const struct idset *s, const char *list)
{
	struct idset want = set(list);

	assert_true(idset_equal(s, &want));
}

static void assert_file(struct t *t, const char *rel, const char *text)
{
	char buf[256];

	assert_true(rt_read(t->r, RT_SYS, buf, sizeof(buf), "%s", rel) >= 0);
	assert_string_equal(buf, text);
}

static void v2_level(void **state)
{
	struct t *t = *state;

	put_v2(t, "0\n");
	tt_put(t->dir, V2 "/libvirt/cpuset.mems.effective", "0\n");
	assert_int_equal(cs_find(t->r, PID, &t->g), 0);
	assert_true(t->g.confined);
	assert_false(t->g.v1);
	assert_string_equal(t->g.path, "/machine.slice/vm.scope/libvirt");
	assert_set(&t->g.mems, "0");
	assert_set(&t->g.effective, "0");
}

static void v1_path(void **state)
{
	struct t *t = *state;

	put_cgroup(t, "7:cpuset:/machine/old/emulator\n1:name=systemd:/machine/old\n0::/\n");
	tt_put(t->dir, V1 "/emulator/cpuset.mems", "1\n");
	tt_put(t->dir, V1 "/emulator/cpuset.effective_mems", "1\n");
	tt_put(t->dir, V1 "/cpuset.mems", "0-1\n");
	assert_int_equal(cs_find(t->r, PID, &t->g), 0);
	assert_true(t->g.confined);
	assert_true(t->g.v1);
	assert_string_equal(t->g.path, "/machine/old/emulator");
	assert_set(&t->g.mems, "1");
	assert_set(&t->g.effective, "1");
}

static void not_confined(void **state)
{
	struct t *t = *state;

	/* No cpuset controller in the groups at all. */
	put_cgroup(t, "0::/machine.slice/vm.scope/libvirt/emulator\n");
	tt_put(t->dir, V2 "/libvirt/emulator/cgroup.procs", "4242\n");
	assert_int_equal(cs_find(t->r, PID, &t->g), 0);
	assert_false(t->g.confined);
	/* The controller on, but no level sets a limit. */
	tt_put(t->dir, V2 "/cpuset.mems", "\n");
	tt_put(t->dir, V2 "/libvirt/cpuset.mems", "\n");
	tt_put(t->dir, V2 "/libvirt/emulator/cpuset.mems", "\n");
	assert_int_equal(cs_find(t->r, PID, &t->g), 0);
	assert_false(t->g.confined);
	/* The root cgroup and a v1 group without the file. */
	put_cgroup(t, "0::/\n");
	assert_int_equal(cs_find(t->r, PID, &t->g), 0);
	assert_false(t->g.confined);
	put_cgroup(t, "7:cpuset:/nowhere\n");
	assert_int_equal(cs_find(t->r, PID, &t->g), 0);
	assert_false(t->g.confined);
	/* The process is gone. */
	assert_int_equal(cs_find(t->r, 4500, &t->g), -ESRCH);
}

static void widen_union(void **state)
{
	struct t *t = *state;
	struct idset one = set("1"), zero = set("0");

	put_v2(t, "0\n");
	assert_int_equal(cs_find(t->r, PID, &t->g), 0);
	/* Already allowed: nothing written (the file keeps its newline). */
	assert_int_equal(cs_widen(t->r, &t->g, &zero), 0);
	assert_file(t, "fs/cgroup/machine.slice/vm.scope/libvirt/cpuset.mems", "0\n");
	assert_int_equal(cs_widen(t->r, &t->g, &one), 0);
	assert_file(t, "fs/cgroup/machine.slice/vm.scope/libvirt/cpuset.mems", "0-1");
	assert_set(&t->g.mems, "0-1");
}

static void widen_v1(void **state)
{
	struct t *t = *state;
	struct idset add = set("3");

	put_cgroup(t, "7:cpuset:/machine/old\n");
	tt_put(t->dir, V1 "/cpuset.mems", "0\n");
	assert_int_equal(cs_find(t->r, PID, &t->g), 0);
	assert_int_equal(cs_widen(t->r, &t->g, &add), 0);
	assert_file(t, "fs/cgroup/cpuset/machine/old/cpuset.mems", "0,3");
}

/* v2 accepts the list but an ancestor keeps node 1 out of the effective set. */
static void widen_bounded(void **state)
{
	struct t *t = *state;
	struct idset one = set("1");

	put_v2(t, "0\n");
	tt_put(t->dir, V2 "/libvirt/cpuset.mems.effective", "0\n");
	assert_int_equal(cs_find(t->r, PID, &t->g), 0);
	assert_int_equal(cs_widen(t->r, &t->g, &one), -EINVAL);
	assert_file(t, "fs/cgroup/machine.slice/vm.scope/libvirt/cpuset.mems", "0");
	assert_set(&t->g.mems, "0");
	assert_true(strlen(cs_reason(-EINVAL)) > 0);
}

static void narrow_set(void **state)
{
	struct t *t = *state;
	struct idset to = set("1,3"), none = set("");

	put_v2(t, "0-3\n");
	assert_int_equal(cs_find(t->r, PID, &t->g), 0);
	assert_int_equal(cs_narrow(t->r, &t->g, &to), 0);
	assert_file(t, "fs/cgroup/machine.slice/vm.scope/libvirt/cpuset.mems", "1,3");
	assert_set(&t->g.mems, "1,3");
	assert_int_equal(cs_narrow(t->r, &t->g, &none), -EINVAL);
	assert_file(t, "fs/cgroup/machine.slice/vm.scope/libvirt/cpuset.mems", "1,3");
}

static void garbage(void **state)
{
	struct t *t = *state;
	char *big = malloc(8192);

	assert_non_null(big);
	put_v2(t, "zebra\n");
	assert_int_equal(cs_find(t->r, PID, &t->g), -EINVAL);
	assert_false(t->g.confined);
	put_v2(t, "0-99999\n");
	assert_int_equal(cs_find(t->r, PID, &t->g), -ERANGE);
	memset(big, '1', 8191);
	big[8191] = '\0';
	put_v2(t, big);
	assert_int_equal(cs_find(t->r, PID, &t->g), -EFBIG);
	free(big);
	put_v2(t, "0\n");
	tt_put(t->dir, V2 "/libvirt/cpuset.mems.effective", "0-\n");
	assert_int_equal(cs_find(t->r, PID, &t->g), -EINVAL);
	/* A path climbing out of the cgroup file system, a line without fields. */
	put_cgroup(t, "0::/machine.slice/../../../etc\n");
	assert_int_equal(cs_find(t->r, PID, &t->g), -EINVAL);
	put_cgroup(t, "0::..\n");
	assert_int_equal(cs_find(t->r, PID, &t->g), -EINVAL);
	put_cgroup(t, "garbage\n");
	assert_true(cs_find(t->r, PID, &t->g) < 0);
	assert_false(t->g.confined);
}

/* Root ignores file modes: a directory or a missing file forces the error. */
static void write_refused(void **state)
{
	struct t *t = *state;
	struct idset one = set("1");

	put_v2(t, "0\n");
	assert_int_equal(cs_find(t->r, PID, &t->g), 0);
	tt_drop(t->dir, V2 "/libvirt/cpuset.mems");
	tt_mkdir(t->dir, V2 "/libvirt/cpuset.mems");
	assert_int_equal(cs_widen(t->r, &t->g, &one), -EISDIR);
	assert_set(&t->g.mems, "0");
	assert_int_equal(cs_narrow(t->r, &t->g, &one), -EISDIR);
	tt_drop(t->dir, V2 "/libvirt/cpuset.mems");
	assert_int_equal(cs_widen(t->r, &t->g, &one), -ENOENT);
	assert_set(&t->g.mems, "0");
	assert_string_equal(cs_reason(-ENOENT), "the cgroup is gone");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(v2_level, setup, teardown),
		cmocka_unit_test_setup_teardown(v1_path, setup, teardown),
		cmocka_unit_test_setup_teardown(not_confined, setup, teardown),
		cmocka_unit_test_setup_teardown(widen_union, setup, teardown),
		cmocka_unit_test_setup_teardown(widen_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(widen_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(narrow_set, setup, teardown),
		cmocka_unit_test_setup_teardown(garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(write_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
