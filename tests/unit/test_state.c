/* test_state.c - the state file: written whole and read back; a file that
 * is corrupt, cut, foreign, from another boot or not a plain file of ours
 * counts as absent, and nothing in it gets through unchecked. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"
#include "tmptree.h"

#define BOOT "6f0c3c1e-5b7a-4d0e-9a3e-2f6d8c1b4a90"
#define OTHER_BOOT "0d3f1a2b-1111-4222-8333-944455556666"
#define UUID "9c1e3a4b-0f2d-4e5a-8b6c-7d8e9f0a1b2c"
#define SEC 1000000ull

struct rig {
	char *tree;                     /* proc/sys/kernel/random/boot_id, run/ */
	char run[512];                  /* the control directory */
	char file[600];                 /* run/state */
	struct rt_root *r;
	struct st_file f;
};

static int rig_setup(void **state)
{
	struct rig *g = calloc(1, sizeof(*g));

	assert_non_null(g);
	g->tree = tt_copy(NULL);
	tt_put(g->tree, "proc/sys/kernel/random/boot_id", BOOT "\n");
	tt_mkdir(g->tree, "run");
	snprintf(g->run, sizeof(g->run), "%s/run", g->tree);
	snprintf(g->file, sizeof(g->file), "%s/state", g->run);
	assert_int_equal(rt_open(g->tree, &g->r), 0);
	assert_int_equal(st_open(&g->f, g->run, g->r), 0);
	*state = g;
	return 0;
}

static int rig_teardown(void **state)
{
	struct rig *g = *state;

	st_close(&g->f);
	rt_close(g->r);
	tt_remove(g->tree);
	free(g);
	return 0;
}

/* Two VMs (one pinned with a home, one with a home only) and two domains
 * (one with its UUID and qemu, one with neither known). */
static void sample(struct st_data *d)
{
	struct st_vm v = { .pid = 4242, .starttime = 123456, .moved_at = 40 };
	struct st_dom dom = { .pid = 4300, .starttime = 777 };

	memset(d, 0, sizeof(*d));
	d->pass = 42;
	snprintf(v.name, sizeof(v.name), "qemu-system-x86");
	idset_parse(&v.pinned, "2-3");
	idset_parse(&v.home, "1");
	idset_parse(&v.prev_home, "0");
	assert_int_equal(st_add_vm(d, &v), 0);
	memset(&v, 0, sizeof(v));
	v.pid = 17;
	v.starttime = 99;
	v.moved_at = -1;
	snprintf(v.name, sizeof(v.name), "qemu web\tvm");      /* a tab: written '?' */
	idset_parse(&v.home, "0,2");
	assert_int_equal(st_add_vm(d, &v), 0);
	snprintf(dom.name, sizeof(dom.name), "kn check");
	snprintf(dom.uuid, sizeof(dom.uuid), UUID);
	idset_parse(&dom.cpus, "0");
	assert_int_equal(st_add_dom(d, &dom), 0);
	memset(&dom, 0, sizeof(dom));
	snprintf(dom.name, sizeof(dom.name), "test");
	idset_parse(&dom.cpus, "4-7");
	assert_int_equal(st_add_dom(d, &dom), 0);
}

static void put_file(const struct rig *g, const char *text, mode_t mode)
{
	FILE *f;

	unlink(g->file);
	f = fopen(g->file, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(g->file, mode), 0);
}

/* Written when it changed and only then, atomically (no temporary file
 * left, mode 0600); read back with its pass advanced by the whole
 * intervals since it was written. */
static void round_trip(void **state)
{
	struct rig *g = *state;
	struct st_data d, back;
	struct stat st;
	char tmp[640];

	sample(&d);
	assert_int_equal(st_save(&g->f, &d, 100 * SEC), 1);
	assert_int_equal(stat(g->file, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(tmp, sizeof(tmp), "%s.tmp", g->file);
	assert_int_equal(access(tmp, F_OK), -1);
	/* the same entries a pass later: not written again */
	d.pass = 43;
	assert_int_equal(st_save(&g->f, &d, 101 * SEC), 0);

	/* 3.5 intervals of 2 s after it was written: 3 passes */
	assert_int_equal(st_load(&g->f, 107 * SEC, 2 * SEC, &back), 1);
	assert_int_equal(back.pass, 42 + 3);
	assert_int_equal(back.nvm, 2);
	assert_int_equal(back.ndom, 2);
	/* by PID */
	assert_int_equal(back.vm[0].pid, 17);
	assert_int_equal(back.vm[0].starttime, 99);
	assert_string_equal(back.vm[0].name, "qemu web?vm");
	assert_true(idset_empty(&back.vm[0].pinned));
	assert_true(idset_equal(&back.vm[0].home, &d.vm[1].home));
	assert_true(idset_empty(&back.vm[0].prev_home));
	assert_int_equal(back.vm[0].moved_at, -1);
	assert_int_equal(back.vm[1].pid, 4242);
	assert_int_equal(back.vm[1].starttime, 123456);
	assert_true(idset_equal(&back.vm[1].pinned, &d.vm[0].pinned));
	assert_true(idset_equal(&back.vm[1].home, &d.vm[0].home));
	assert_true(idset_equal(&back.vm[1].prev_home, &d.vm[0].prev_home));
	assert_int_equal(back.vm[1].moved_at, 40);
	/* by name */
	assert_string_equal(back.dom[0].name, "kn check");
	assert_string_equal(back.dom[0].uuid, UUID);
	assert_int_equal(back.dom[0].pid, 4300);
	assert_int_equal(back.dom[0].starttime, 777);
	assert_true(idset_equal(&back.dom[0].cpus, &d.dom[0].cpus));
	assert_string_equal(back.dom[1].name, "test");
	assert_string_equal(back.dom[1].uuid, "");
	assert_int_equal(back.dom[1].pid, 0);
	assert_true(idset_equal(&back.dom[1].cpus, &d.dom[1].cpus));
	st_free(&back);

	/* a change is written; an empty state too (nothing pinned any more) */
	d.vm[0].moved_at = 41;
	assert_int_equal(st_save(&g->f, &d, 102 * SEC), 1);
	assert_int_equal(st_load(&g->f, 102 * SEC, 2 * SEC, &back), 1);
	assert_int_equal(back.pass, 43);
	assert_int_equal(back.vm[1].moved_at, 41);
	st_free(&back);
	st_free(&d);
	d.pass = 50;
	assert_int_equal(st_save(&g->f, &d, 103 * SEC), 1);
	assert_int_equal(st_load(&g->f, 103 * SEC, 2 * SEC, &back), 1);
	assert_int_equal(back.nvm + back.ndom, 0);
	assert_int_equal(back.pass, 50);
	st_free(&back);
}

/* No file (the first start since boot): nothing, and no complaint. */
static void absent(void **state)
{
	struct rig *g = *state;
	struct st_data back;

	assert_int_equal(st_load(&g->f, SEC, SEC, &back), 0);
	assert_int_equal(back.nvm + back.ndom, 0);
}

#define HEAD "ksm-numad state 1\nboot " BOOT "\nwritten 5000000 pass 42\n"
#define VM1 "vm 4242 123456 2-3 1 0 40 qemu\n"

/* Each of these is rejected whole, with a reason that names what is wrong. */
static void corrupt(void **state)
{
	static const struct { const char *text, *why; } cases[] = {
		{ "", "cut short" },
		{ "hello\n", "not a ksm-numad state file" },
		{ "ksm-numad state 2\nboot " BOOT "\n", "another format" },
		{ "ksm-numad state 1\nboot " OTHER_BOOT "\nwritten 1 pass 1\nend\n",
		  "another boot" },
		{ "ksm-numad state 1\nboot " BOOT "\nwritten 9000000 pass 1\nend\n",
		  "later than now" },
		{ "ksm-numad state 1\nboot " BOOT "\nwritten x pass 1\nend\n", "line 3" },
		{ HEAD VM1, "cut short" },
		{ HEAD VM1 "end", "no newline" },
		{ HEAD VM1 "end\nvm 1 2 - - - -1 x\n", "after the \"end\"" },
		{ HEAD "vm 4242 123456 2-3 1 0 43 qemu\nend\n", "line 4: PID 4242: a bad pass" },
		{ HEAD "vm 4242 123456 2-x 1 0 40 qemu\nend\n", "bad CPU or node list" },
		{ HEAD "vm 0 123456 2-3 1 0 40 qemu\nend\n", "valid PID" },
		{ HEAD "vm 4194305 1 - 1 - -1 q\nend\n", "valid PID" },
		{ HEAD "vm -3 1 - 1 - -1 q\nend\n", "valid PID" },
		{ HEAD "vm 12 1 - 1 - -2 q\nend\n", "bad pass" },
		{ HEAD "vm 12 1 - 1 -\nend\n", "bad pass" },
		{ HEAD VM1 "vm 4242 123456 - 0 - -1 again\nend\n", "PID 4242 listed twice" },
		{ HEAD "dom 1 2 - " UUID " web\nend\n", "bad CPU list" },
		{ HEAD "dom 1 2 0 not-a-uuid web\nend\n", "bad UUID" },
		{ HEAD "dom 1 2 0 - \nend\n", "name empty" },
		{ HEAD "dom 1 2 0 - web\ndom 3 4 1 - web\nend\n", "domain web listed twice" },
		{ HEAD "vm 12 1 - 1 - -1 0123456789012345678901234567890123456789"
		  "012345678901234567890123456789\nend\n", "longer than" },
		{ HEAD "pin 1 2\nend\n", "line 4: not a vm, dom or end line" },
	};
	struct st_data out;
	char why[ST_WHY_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = st_parse(cases[i].text, BOOT, 6 * SEC, SEC, &out, why, sizeof(why));

		if (r != -EINVAL || !strstr(why, cases[i].why))
			fail_msg("case %zu: %d, \"%s\" (wanted \"%s\")", i, r, why, cases[i].why);
		assert_int_equal(out.nvm + out.ndom, 0);
		assert_null(out.vm);
	}
	/* a line longer than any written */
	{
		static const char prefix[] = HEAD "vm 1 1 - 1 - -1 ";
		size_t n = 3 * 4096 + 300;
		char *t = malloc(sizeof(prefix) + n + 8);

		assert_non_null(t);
		memcpy(t, prefix, sizeof(prefix) - 1);
		memset(t + sizeof(prefix) - 1, 'x', n);
		strcpy(t + sizeof(prefix) - 1 + n, "\nend\n");
		assert_int_equal(st_parse(t, BOOT, 6 * SEC, SEC, &out, why, sizeof(why)), -EINVAL);
		assert_non_null(strstr(why, "line 4: longer than"));
		free(t);
	}
	/* and a good one, for contrast */
	assert_int_equal(st_parse(HEAD VM1 "end\n", BOOT, 6 * SEC, SEC, &out, why,
				  sizeof(why)), 0);
	assert_int_equal(out.nvm, 1);
	assert_int_equal(out.pass, 42 + 1);
	st_free(&out);
}

/* Files that are not ours to read count as absent: corrupt, from another
 * boot, writable by others, not a plain file, too large, with a NUL. */
static void unusable_files(void **state)
{
	struct rig *g = *state;
	struct st_data back;
	char other[640];
	FILE *f;

	put_file(g, HEAD VM1 "end\n", 0600);
	assert_int_equal(st_load(&g->f, 6 * SEC, SEC, &back), 1);
	st_free(&back);

	put_file(g, HEAD VM1, 0600);                            /* cut */
	assert_int_equal(st_load(&g->f, 6 * SEC, SEC, &back), 0);
	assert_int_equal(back.nvm, 0);
	put_file(g, HEAD VM1 "end\n", 0622);                    /* writable by others */
	assert_int_equal(st_load(&g->f, 6 * SEC, SEC, &back), 0);
	put_file(g, HEAD VM1 "end\n", 0600);
	/* a reboot: another boot id */
	tt_put(g->tree, "proc/sys/kernel/random/boot_id", OTHER_BOOT "\n");
	st_close(&g->f);
	assert_int_equal(st_open(&g->f, g->run, g->r), 0);
	assert_int_equal(st_load(&g->f, 6 * SEC, SEC, &back), 0);
	tt_put(g->tree, "proc/sys/kernel/random/boot_id", BOOT "\n");
	st_close(&g->f);
	assert_int_equal(st_open(&g->f, g->run, g->r), 0);

	/* a symbolic link to a good file, a directory, a FIFO */
	snprintf(other, sizeof(other), "%s/other", g->run);
	assert_int_equal(rename(g->file, other), 0);
	assert_int_equal(symlink(other, g->file), 0);
	assert_int_equal(st_load(&g->f, 6 * SEC, SEC, &back), 0);
	unlink(g->file);
	assert_int_equal(mkdir(g->file, 0700), 0);
	assert_int_equal(st_load(&g->f, 6 * SEC, SEC, &back), 0);
	rmdir(g->file);
	assert_int_equal(mkfifo(g->file, 0600), 0);
	assert_int_equal(st_load(&g->f, 6 * SEC, SEC, &back), 0);     /* never blocks */
	unlink(g->file);

	/* larger than ST_MAX_BYTES; a NUL inside */
	f = fopen(g->file, "w");
	assert_non_null(f);
	fputs(HEAD, f);
	for (int i = 0; i < ST_MAX_BYTES / 16 + 1; i++)
		fputs("vm 1 1 - 1 - -1\n", f);
	fclose(f);
	assert_int_equal(st_load(&g->f, 6 * SEC, SEC, &back), 0);
	put_file(g, HEAD VM1 "end\n", 0600);
	f = fopen(g->file, "r+");
	assert_non_null(f);
	fseek(f, 5, SEEK_SET);
	fputc('\0', f);
	fclose(f);
	assert_int_equal(st_load(&g->f, 6 * SEC, SEC, &back), 0);

	/* the next save replaces whatever was there */
	put_file(g, "garbage\n", 0600);
	back.pass = 7;
	assert_int_equal(st_save(&g->f, &back, 6 * SEC), 1);
	assert_int_equal(st_load(&g->f, 6 * SEC, SEC, &back), 1);
	assert_int_equal(back.pass, 7);
	st_free(&back);
}

/* A write that fails (the directory went away) is said and tried again:
 * the next save writes even though the entries did not change. */
static void failed_write_retried(void **state)
{
	struct rig *g = *state;
	struct st_data d, back;

	sample(&d);
	assert_int_equal(rmdir(g->run), 0);
	assert_int_equal(st_save(&g->f, &d, 10 * SEC), -ENOENT);
	assert_int_equal(mkdir(g->run, 0700), 0);
	assert_int_equal(st_save(&g->f, &d, 11 * SEC), 1);
	assert_int_equal(st_load(&g->f, 11 * SEC, SEC, &back), 1);
	assert_int_equal(back.nvm, 2);
	st_free(&back);
	st_free(&d);
}

/* No boot id (no /proc under the root): no state at all. */
static void no_boot_id(void **state)
{
	struct rig *g = *state;
	struct st_file f;

	tt_drop(g->tree, "proc/sys/kernel/random/boot_id");
	assert_int_equal(st_open(&f, g->run, g->r), -ENOENT);
	tt_put(g->tree, "proc/sys/kernel/random/boot_id", "not a uuid\n");
	assert_int_equal(st_open(&f, g->run, g->r), -EINVAL);
	st_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(round_trip, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(absent, rig_setup, rig_teardown),
		cmocka_unit_test(corrupt),
		cmocka_unit_test_setup_teardown(unusable_files, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(failed_write_retried, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(no_boot_id, rig_setup, rig_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
