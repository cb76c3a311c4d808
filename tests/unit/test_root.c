/* Unit tests for the root context: paths, bounded reads, errors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "root.h"
#include "tmptree.h"

struct tmpdir {
	char *dir;
	struct rt_root *r;
};

static int setup(void **state)
{
	struct tmpdir *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	t->dir = tt_copy(NULL);
	tt_put(t->dir, "sys/num", "42\n");
	tt_put(t->dir, "sys/neg", "-1\n");
	tt_put(t->dir, "sys/text", "hello world\n");
	tt_put(t->dir, "sys/empty", "");
	tt_put(t->dir, "proc/big", "0123456789abcdef0123456789abcdef");
	assert_int_equal(rt_open(t->dir, &t->r), 0);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tmpdir *t = *state;

	rt_close(t->r);
	tt_remove(t->dir);
	free(t);
	return 0;
}

static void paths(void **state)
{
	struct tmpdir *t = *state;
	char buf[PATH_MAX], want[PATH_MAX];
	struct rt_root *live;

	assert_int_equal(rt_path(t->r, RT_PROC, buf, sizeof(buf), "%d/stat", 42), 0);
	snprintf(want, sizeof(want), "%s/proc/42/stat", t->dir);
	assert_string_equal(buf, want);
	assert_int_equal(rt_path(t->r, RT_SYS, buf, 10, "devices/system/node"), -ENAMETOOLONG);
	assert_false(rt_is_live(t->r));
	assert_string_equal(rt_dir(t->r), t->dir);

	assert_int_equal(rt_open(NULL, &live), 0);
	assert_true(rt_is_live(live));
	assert_string_equal(rt_dir(live), "/");
	assert_int_equal(rt_path(live, RT_SYS, buf, sizeof(buf), "kernel/mm"), 0);
	assert_string_equal(buf, "/sys/kernel/mm");
	rt_close(live);
}

static void open_errors(void **state)
{
	struct tmpdir *t = *state;
	struct rt_root *r = NULL;
	char file[PATH_MAX];

	assert_int_equal(rt_open("/nonexistent/kn-root", &r), -ENOENT);
	snprintf(file, sizeof(file), "%s/sys/num", t->dir);
	assert_int_equal(rt_open(file, &r), -ENOTDIR);
	assert_null(r);
}

static void reads(void **state)
{
	struct tmpdir *t = *state;
	char buf[8];
	uint64_t v;

	assert_int_equal(rt_read_u64(t->r, RT_SYS, &v, "num"), 0);
	assert_int_equal(v, 42);
	assert_int_equal(rt_read_u64(t->r, RT_SYS, &v, "neg"), -EINVAL);
	assert_int_equal(rt_read_u64(t->r, RT_SYS, &v, "text"), -EINVAL);
	assert_int_equal(rt_read_u64(t->r, RT_SYS, &v, "empty"), -EINVAL);
	assert_int_equal(rt_read_u64(t->r, RT_SYS, &v, "missing"), -ENOENT);
	assert_int_equal(rt_read(t->r, RT_SYS, buf, sizeof(buf), "num"), 3);
	assert_string_equal(buf, "42\n");
	assert_int_equal(rt_read(t->r, RT_SYS, buf, sizeof(buf), "text"), -EFBIG);
	assert_int_equal(rt_read(t->r, RT_SYS, buf, 4, "num"), 3);
	assert_true(rt_exists(t->r, RT_PROC, "big"));
	assert_false(rt_exists(t->r, RT_PROC, "nothing"));
}

static void read_alloc_limits(void **state)
{
	struct tmpdir *t = *state;
	char *buf = NULL;

	assert_int_equal(rt_read_alloc(t->r, RT_PROC, &buf, 1 << 20, "big"), 32);
	assert_string_equal(buf, "0123456789abcdef0123456789abcdef");
	free(buf);
	assert_int_equal(rt_read_alloc(t->r, RT_PROC, &buf, 32, "big"), 32);
	free(buf);
	buf = NULL;
	assert_int_equal(rt_read_alloc(t->r, RT_PROC, &buf, 31, "big"), -EFBIG);
	assert_null(buf);
	assert_int_equal(rt_read_alloc(t->r, RT_SYS, &buf, 100, "empty"), 0);
	assert_string_equal(buf, "");
	free(buf);
}

/* A limit of 0 bytes: an empty file fits (an empty string, not NULL), any
 * byte is too many. */
static void read_alloc_limit_zero(void **state)
{
	struct tmpdir *t = *state;
	char *buf = NULL;

	assert_int_equal(rt_read_alloc(t->r, RT_SYS, &buf, 0, "empty"), 0);
	assert_non_null(buf);
	assert_string_equal(buf, "");
	free(buf);
	buf = NULL;
	assert_int_equal(rt_read_alloc(t->r, RT_SYS, &buf, 0, "num"), -EFBIG);
	assert_null(buf);
	assert_int_equal(rt_read_alloc(t->r, RT_SYS, &buf, 0, "missing"), -ENOENT);
	assert_null(buf);
}

static void write_and_dirs(void **state)
{
	struct tmpdir *t = *state;
	uint64_t v;
	DIR *d;
	int fd;

	assert_int_equal(rt_write(t->r, RT_SYS, "256", "num"), 0);
	assert_int_equal(rt_read_u64(t->r, RT_SYS, &v, "num"), 0);
	assert_int_equal(v, 256);
	assert_int_equal(rt_write(t->r, RT_SYS, "1", "missing"), -ENOENT);
	d = rt_opendir(t->r, RT_PROC, "%s", "");
	assert_non_null(d);
	closedir(d);
	assert_null(rt_opendir(t->r, RT_PROC, "nope"));
	assert_int_equal(errno, ENOENT);
	fd = rt_openfd(t->r, RT_PROC, O_RDONLY, "big");
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(rt_openfd(t->r, RT_PROC, O_RDONLY, "nope"), -ENOENT);
}

/* The hook sees the full path and can make the file vanish before the read. */
static void vanish(const char *path, void *data)
{
	int *calls = data;

	(*calls)++;
	unlink(path);
}

static void read_hook(void **state)
{
	struct tmpdir *t = *state;
	char buf[16];
	int calls = 0;

	rt_set_read_hook(t->r, vanish, &calls);
	assert_int_equal(rt_read(t->r, RT_SYS, buf, sizeof(buf), "num"), -ENOENT);
	assert_int_equal(calls, 1);
	rt_set_read_hook(t->r, NULL, NULL);
	assert_false(rt_exists(t->r, RT_SYS, "num"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(paths, setup, teardown),
		cmocka_unit_test_setup_teardown(open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(reads, setup, teardown),
		cmocka_unit_test_setup_teardown(read_alloc_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(read_alloc_limit_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(write_and_dirs, setup, teardown),
		cmocka_unit_test_setup_teardown(read_hook, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
