/* test_numad_compat.c - numad 0.5's options mapped onto ksm-numad: each
 * option, its bad values and their messages, the mode the options make
 * together, the overrides on struct cfg, and the client side (help,
 * version, -i 0, PID lists for a fake running daemon). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "numad_compat.h"
#include "fakectl.h"

#define MAXARGS 32

static struct numad_compat nc;
static char err[256];

/* Parses "numad", FIRST and the NULL-terminated rest in AP. */
static int vparse(const char *first, va_list ap)
{
	char *argv[MAXARGS + 2] = { "numad" };
	int argc = 1;

	for (const char *a = first; a && argc <= MAXARGS; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	err[0] = '\0';
	return numad_compat_parse(argc, argv, &nc, err, sizeof(err));
}

/* Parses "numad" and the NULL-terminated arguments; returns the result. */
static int parse(const char *first, ...)
{
	va_list ap;
	int r;

	va_start(ap, first);
	r = vparse(first, ap);
	va_end(ap);
	return r;
}

#define assert_parses(...) assert_int_equal(parse(__VA_ARGS__, NULL), 0)

/* The parse fails with a message holding WHY. */
static void bad(const char *why, const char *first, ...)
{
	va_list ap;
	int r;

	va_start(ap, first);
	r = vparse(first, ap);
	va_end(ap);
	assert_int_equal(r, -EINVAL);
	if (!strstr(err, why))
		fail_msg("message '%s' lacks '%s'", err, why);
}

static bool warned(const char *what)
{
	for (int i = 0; i < nc.nwarn; i++)
		if (strstr(nc.warn[i], what))
			return true;
	return false;
}

static void test_w(void **state)
{
	(void)state;
	assert_parses("-w", "2:512");
	assert_int_equal(nc.mode, NC_ANSWER);
	assert_string_equal(nc.place_spec, "2:512");
	assert_int_equal(nc.ncpus, 2);
	assert_int_equal(nc.mem_mib, 512);
	assert_parses("-w4");
	assert_int_equal(nc.mode, NC_ANSWER);
	assert_int_equal(nc.ncpus, 4);
	assert_int_equal(nc.mem_mib, 0);
	/* -u applies to the local answer too; -i 0 does not stop it. */
	assert_parses("-u", "100", "-w", "1:64", "-i", "0");
	assert_int_equal(nc.mode, NC_ANSWER);
	assert_true(nc.set_utilization);
	assert_true(warned("-i 0 with -w"));
	bad("-w '0': NCPUS out of range", "-w", "0", NULL);
	bad("-w '4:': not NCPUS[:MB]", "-w", "4:", NULL);
	bad("-w 'x': not NCPUS[:MB]", "-w", "x", NULL);
	bad("option -w needs a value", "-w", NULL);
}

static void test_i(void **state)
{
	(void)state;
	assert_parses("-i", "30");
	assert_int_equal(nc.mode, NC_RUN);
	assert_true(nc.set_interval);
	assert_int_equal(nc.interval_s, 30);
	assert_int_equal(nc.nwarn, 0);
	assert_parses("-i", "5:30");
	assert_int_equal(nc.interval_s, 30);
	assert_true(warned("MIN is ignored"));
	assert_parses("-i", "0");
	assert_int_equal(nc.mode, NC_STOP);
	assert_parses("-i0:0");
	assert_int_equal(nc.mode, NC_STOP);
	assert_parses("-i", "3600");
	bad("-i 30:5: MAX (5) is below MIN (30)", "-i", "30:5", NULL);
	bad("allowed: MAX 1-3600, or 0 to stop", "-i", "3601", NULL);
	bad("-i x: not [MIN:]MAX", "-i", "x", NULL);
	bad("-i :5: not [MIN:]MAX", "-i", ":5", NULL);
	bad("-i 5:: not [MIN:]MAX", "-i", "5:", NULL);
}

static void test_u_m(void **state)
{
	(void)state;
	assert_parses("-u", "90", "-m", "95");
	assert_int_equal(nc.mode, NC_RUN);
	assert_true(nc.set_utilization && nc.set_locality);
	assert_int_equal(nc.target_utilization, 90);
	assert_int_equal(nc.target_locality, 95);
	assert_parses("-u", "130", "-m", "50");
	assert_int_equal(nc.target_utilization, 130);
	assert_int_equal(nc.target_locality, 50);
	/* Out of range: numad ignores the value; we do too, and say so. */
	assert_parses("-u", "140", "-m", "40");
	assert_false(nc.set_utilization || nc.set_locality);
	assert_true(warned("-u 140: out of range 10-130"));
	assert_true(warned("-m 40: out of range 50-100"));
	bad("-u x: not a percentage (allowed: 10-130)", "-u", "x", NULL);
	bad("-m -5: not a percentage (allowed: 50-100)", "-m", "-5", NULL);
}

static void test_pids(void **state)
{
	(void)state;
	assert_parses("-p", "1234");
	assert_int_equal(nc.mode, NC_SEND);
	assert_int_equal(nc.nops, 1);
	assert_int_equal(nc.op[0].verb, NC_INCLUDE);
	assert_int_equal(nc.op[0].pid, 1234);
	assert_parses("-p", "1", "-x", "2", "-r", "3");
	assert_int_equal(nc.mode, NC_SEND);
	assert_int_equal(nc.nops, 3);
	assert_int_equal(nc.op[1].verb, NC_EXCLUDE);
	assert_int_equal(nc.op[1].pid, 2);
	assert_int_equal(nc.op[2].verb, NC_FORGET);
	assert_int_equal(nc.op[2].pid, 3);
	/* With a setting: numad starts a daemon with its lists. */
	assert_parses("-S", "0", "-p", "1234");
	assert_int_equal(nc.mode, NC_RUN);
	bad("-p 0: not a process ID (allowed: 1-4194304)", "-p", "0", NULL);
	bad("-x 4194305: not a process ID", "-x", "4194305", NULL);
	bad("-r abc: not a process ID", "-r", "abc", NULL);
}

static void test_too_many_pids(void **state)
{
	char *argv[2 * CFG_MAX_PIDS + 4] = { "numad" };
	char pids[CFG_MAX_PIDS + 1][16];
	int argc = 1;

	(void)state;
	for (int i = 0; i <= CFG_MAX_PIDS; i++) {
		snprintf(pids[i], sizeof(pids[i]), "%d", 100 + i);
		argv[argc++] = "-p";
		argv[argc++] = pids[i];
	}
	assert_int_equal(numad_compat_parse(argc - 2, argv, &nc, err, sizeof(err)), 0);
	assert_int_equal(nc.nops, CFG_MAX_PIDS);
	assert_int_equal(numad_compat_parse(argc, argv, &nc, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "too many -p/-x/-r (at most 64)"));
}

static void test_s_r(void **state)
{
	struct idset want;

	(void)state;
	assert_parses("-S", "0");
	assert_true(nc.set_scan_all);
	assert_false(nc.scan_all);
	assert_parses("-S", "1");
	assert_true(nc.scan_all);
	bad("-S 2: allowed: 0 (only -p PIDs) or 1", "-S", "2", NULL);
	assert_parses("-R", "0-1,8");
	assert_true(nc.set_reserved);
	idset_parse(&want, "0-1,8");
	assert_true(idset_equal(&nc.reserved_cpus, &want));
	bad("-R x: not a CPU list", "-R", "x", NULL);
	bad("-R 3-1: not a CPU list", "-R", "3-1", NULL);
}

static void test_log(void **state)
{
	(void)state;
	assert_parses("-l", "5");
	assert_true(nc.set_log_level);
	assert_int_equal(nc.log_level, LOG_NOTICE);
	assert_parses("-l", "0");
	assert_int_equal(nc.log_level, LOG_EMERG);
	assert_parses("-d");
	assert_int_equal(nc.log_level, LOG_DEBUG);         /* numad: same as -l 7 */
	assert_parses("-v");
	assert_int_equal(nc.log_level, LOG_INFO);          /* numad: same as -l 6 */
	assert_parses("-d", "-v");
	assert_int_equal(nc.log_level, LOG_INFO);          /* the last one wins */
	assert_parses("-v", "-l", "7");
	assert_int_equal(nc.log_level, LOG_DEBUG);
	bad("-l 8: not a log level (allowed: 0-7", "-l", "8", NULL);
	bad("-l debug: not a log level", "-l", "debug", NULL);
}

static void test_help_version(void **state)
{
	(void)state;
	assert_parses("-V");
	assert_int_equal(nc.mode, NC_VERSION);
	assert_parses("-h");
	assert_int_equal(nc.mode, NC_HELP);
	/* numad acts on the first of them, before looking further. */
	assert_parses("-h", "-z");
	assert_int_equal(nc.mode, NC_HELP);
	assert_parses("-u", "90", "-V", "-h");
	assert_int_equal(nc.mode, NC_VERSION);
	bad("unknown option -z", "-z", "-h", NULL);
}

static void test_no_equivalent(void **state)
{
	(void)state;
	assert_parses("-C", "0", "-K", "1", "-H", "100", "-t", "20", "-D", "/cgroup");
	assert_int_equal(nc.mode, NC_RUN);
	assert_int_equal(nc.nwarn, 5);
	assert_true(warned("-C 0: no equivalent"));
	assert_true(warned("-K 1: no equivalent"));
	assert_true(warned("-H 100: no equivalent"));
	assert_true(warned("-t 20: no equivalent"));
	assert_true(warned("-D /cgroup: obsolete"));
	assert_true(warned("ignored"));
}

static void test_bad_command_lines(void **state)
{
	(void)state;
	bad("unknown option -z", "-z", NULL);
	bad("unknown option '--w' (numad has no long options)", "--w", NULL);
	bad("unknown option '--help'", "-u", "90", "--help", NULL);
	bad("option -i needs a value", "-i", NULL);
	bad("unexpected argument 'foo'", "-u", "90", "foo", NULL);
	assert_parses(NULL);
	assert_int_equal(nc.mode, NC_RUN);      /* plain "numad": the daemon */
}

static void test_apply(void **state)
{
	struct cfg cfg, def;
	struct idset want;

	(void)state;
	cfg_defaults(&cfg);
	cfg.include_pids.n = 2;
	cfg.include_pids.pid[0] = 5;
	cfg.include_pids.pid[1] = 6;
	cfg.exclude_pids.n = 1;
	cfg.exclude_pids.pid[0] = 7;
	assert_parses("-i", "5:30", "-u", "95", "-m", "80", "-d", "-S", "0", "-R", "2-3",
	              "-p", "7", "-x", "5", "-r", "6", "-p", "8");
	assert_int_equal(numad_compat_apply(&nc, &cfg), 0);
	assert_int_equal(cfg.interval_s, 30);
	assert_int_equal(cfg.target_utilization, 95);
	assert_int_equal(cfg.target_locality, 80);
	assert_int_equal(cfg.log_level, LOG_DEBUG);
	assert_false(cfg.scan_all);
	idset_parse(&want, "2-3");
	assert_true(idset_equal(&cfg.reserved_cpus, &want));
	/* -p 7 took 7 off the exclusion list, -x 5 took 5 off the inclusion
	 * list, -r 6 dropped 6; 8 added. */
	assert_int_equal(cfg.include_pids.n, 2);
	assert_int_equal(cfg.include_pids.pid[0], 7);
	assert_int_equal(cfg.include_pids.pid[1], 8);
	assert_int_equal(cfg.exclude_pids.n, 1);
	assert_int_equal(cfg.exclude_pids.pid[0], 5);
	/* Nothing given: nothing changes; -i 0 leaves the interval alone. */
	cfg_defaults(&cfg);
	cfg_defaults(&def);
	assert_parses("-i", "0", "-C", "1");
	assert_int_equal(numad_compat_apply(&nc, &cfg), 0);
	assert_true(cfg_equal(&cfg, &def));
}

static void test_apply_full(void **state)
{
	struct cfg cfg;

	(void)state;
	cfg_defaults(&cfg);
	cfg.include_pids.n = CFG_MAX_PIDS;
	for (int i = 0; i < CFG_MAX_PIDS; i++)
		cfg.include_pids.pid[i] = 1000 + i;
	assert_parses("-p", "1000", "-u", "90");
	assert_int_equal(numad_compat_apply(&nc, &cfg), 0);    /* already there */
	assert_parses("-p", "1", "-u", "90");
	assert_int_equal(numad_compat_apply(&nc, &cfg), -ENOSPC);
	assert_int_equal(cfg.target_utilization, 90);          /* the rest applied */
}

/* ---- the client side ---- */


struct out {
	char *o, *e;
	size_t olen, elen;
};

/* Runs the client on NC with control directory DIR; its output in OUT. */
static int client(const char *dir, struct out *out)
{
	FILE *o, *e;
	int r;

	memset(out, 0, sizeof(*out));
	o = open_memstream(&out->o, &out->olen);
	e = open_memstream(&out->e, &out->elen);
	assert_non_null(o);
	assert_non_null(e);
	r = numad_compat_client(&nc, "numad", dir, o, e);
	fclose(o);
	fclose(e);
	return r;
}

static void out_free(struct out *out)
{
	free(out->o);
	free(out->e);
}

static void test_client_local(void **state)
{
	char dir[] = "/tmp/kn-compat.XXXXXX";
	struct out out;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_parses("-h");
	assert_int_equal(client(dir, &out), 0);
	assert_non_null(strstr(out.o, "-w NCPUS[:MB]"));
	assert_string_equal(out.e, "");
	out_free(&out);
	assert_parses("-V");
	assert_int_equal(client(dir, &out), 0);
	assert_non_null(strstr(out.o, "numad version: ksm-numad "));
	out_free(&out);
	assert_parses("-i", "0");
	assert_int_equal(client(dir, &out), 1);
	assert_non_null(strstr(out.e, "systemctl stop ksm-numad"));
	assert_string_equal(out.o, "");
	out_free(&out);
	/* No daemon: PID lists cannot be handed over. */
	assert_parses("-p", "1234");
	assert_int_equal(client(dir, &out), 1);
	assert_non_null(strstr(out.e, "no ksm-numad daemon runs under"));
	out_free(&out);
	/* No daemon: the caller runs one, or answers -w; warnings come first. */
	assert_parses("-u", "90", "-K", "1");
	assert_int_equal(client(dir, &out), NC_CONTINUE);
	assert_non_null(strstr(out.e, "numad: warning: -K 1: no equivalent"));
	out_free(&out);
	assert_parses("-w", "2:512");
	assert_int_equal(client(dir, &out), NC_CONTINUE);
	assert_string_equal(out.o, "");
	out_free(&out);
	rmdir(dir);
}

static void test_client_daemon(void **state)
{
	struct fake d;
	struct out out;

	(void)state;
	assert_parses("-p", "1234");
	fake_start(&d, "ok\n");
	assert_int_equal(client(d.dir, &out), 0);
	fake_stop(&d);
	assert_string_equal(d.request, "include 1234\n");
	assert_string_equal(out.e, "");
	out_free(&out);

	assert_parses("-r", "77");
	fake_start(&d, "error: no such PID\n");
	assert_int_equal(client(d.dir, &out), 1);
	fake_stop(&d);
	assert_string_equal(d.request, "forget 77\n");
	assert_non_null(strstr(out.e, "-r 77: the daemon says: error: no such PID"));
	out_free(&out);

	/* A daemon runs: numad would hand it -u; ours takes no settings. */
	assert_parses("-u", "90");
	fake_start(&d, "ok\nstatus...\n");
	assert_int_equal(client(d.dir, &out), 1);
	fake_stop(&d);
	assert_string_equal(d.request, "status\n");
	assert_non_null(strstr(out.e, "takes no settings at run time"));
	out_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_w),
		cmocka_unit_test(test_i),
		cmocka_unit_test(test_u_m),
		cmocka_unit_test(test_pids),
		cmocka_unit_test(test_too_many_pids),
		cmocka_unit_test(test_s_r),
		cmocka_unit_test(test_log),
		cmocka_unit_test(test_help_version),
		cmocka_unit_test(test_no_equivalent),
		cmocka_unit_test(test_bad_command_lines),
		cmocka_unit_test(test_apply),
		cmocka_unit_test(test_apply_full),
		cmocka_unit_test(test_client_local),
		cmocka_unit_test(test_client_daemon),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
