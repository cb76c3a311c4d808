/* numad_compat.c - numad 0.5's options on ksm-numad.
 *
 * Sources for numad's semantics: its manual, numad(8) of numad
 * 0.5+20150602 (Debian/Ubuntu), and numad.c of the same version (main()'s
 * getopt string "C:dD:hH:i:K:l:p:r:R:S:t:u:vVw:x:" and
 * parse_two_arg_values()).  Where we differ, on purpose:
 *   - values are checked strictly: numad's atoi() takes "x" as 0; here a
 *     value that is not a number is an error.  Out-of-range -u and -m,
 *     which numad ignores silently, are ignored with a warning;
 *   - -m is accepted (numad 0.5 documents it but its getopt string lacks it);
 *   - -w 0 is refused (no guest has zero vCPUs; libvirt never asks it);
 *   - -i 0 stops nothing: ksm-numad is a systemd service;
 *   - -h prints on stdout and exits 0 (numad: stderr, exit 1).
 */
#include "numad_compat.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "ctl.h"
#include "num.h"
#include "place.h"

#define PID_MAX 4194304                 /* the kernel's PID_MAX_LIMIT */
#define INTERVAL_MAX 3600U              /* [daemon] interval in config.c */
#define CLIENT_TIMEOUT_MS 2000

/* numad's options ksm-numad has no use for, and why. */
static const struct {
	char opt;
	const char *why;
} ignored[] = {
	{ 'C', "no equivalent: free memory is the kernel's MemFree, inactive "
	       "file cache is never counted as free" },
	{ 'D', "obsolete in numad 0.5 too (cgroup mount point)" },
	{ 'H', "no equivalent: ksm-numad leaves khugepaged's scan_sleep_millisecs alone" },
	{ 'K', "no equivalent: a VM's movable memory all goes to its home nodes, "
	       "interleaved or not" },
	{ 't', "no equivalent: every online CPU, hyperthreads included, counts as one" },
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static void warn(struct numad_compat *nc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void warn(struct numad_compat *nc, const char *fmt, ...)
{
	va_list ap;

	if (nc->nwarn >= NC_MAX_WARN)
		return;
	va_start(ap, fmt);
	vsnprintf(nc->warn[nc->nwarn++], NC_WARN_LEN, fmt, ap);
	va_end(ap);
}

/* A whole decimal argument in LO..HI. */
static int number(const char *arg, uint64_t lo, uint64_t hi, uint64_t *v)
{
	return num_u64_tok(arg, strlen(arg), v) < 0 || *v < lo || *v > hi ? -EINVAL : 0;
}

/* -i [MIN:]MAX: one interval here; MAX 0 is numad's "stop". */
static int opt_interval(struct numad_compat *nc, const char *arg, char *err, size_t errlen)
{
	const char *colon = strchr(arg, ':'), *max_s = colon ? colon + 1 : arg;
	uint64_t min = 0, max;

	if ((colon && num_u64_tok(arg, (size_t)(colon - arg), &min) < 0) ||
	    number(max_s, 0, INTERVAL_MAX, &max) < 0)
		return fail(err, errlen, "-i %.40s: not [MIN:]MAX seconds (allowed: "
		            "MAX 1-%u, or 0 to stop)", arg, INTERVAL_MAX);
	if (max && max < min)
		return fail(err, errlen, "-i %.40s: MAX (%llu) is below MIN (%llu)", arg,
		            (unsigned long long)max, (unsigned long long)min);
	if (colon && max)
		warn(nc, "-i %s: ksm-numad has one interval, MAX; MIN is ignored", arg);
	nc->set_interval = true;
	nc->interval_s = (unsigned)max;
	return 0;
}

/* -u and -m: numad ignores a value out of range; so do we, but say so. */
static int opt_percent(struct numad_compat *nc, int c, const char *arg,
                       unsigned lo, unsigned hi, char *err, size_t errlen)
{
	uint64_t v;

	if (number(arg, 0, 100000, &v) < 0)
		return fail(err, errlen, "-%c %.40s: not a percentage (allowed: %u-%u)",
		            c, arg, lo, hi);
	if (v < lo || v > hi) {
		warn(nc, "-%c %s: out of range %u-%u, ignored as numad does; the "
		     "configured value stays", c, arg, lo, hi);
		return 0;
	}
	if (c == 'u') {
		nc->set_utilization = true;
		nc->target_utilization = (unsigned)v;
	} else {
		nc->set_locality = true;
		nc->target_locality = (unsigned)v;
	}
	return 0;
}

static int opt_pid(struct numad_compat *nc, int c, const char *arg, char *err, size_t errlen)
{
	uint64_t pid;

	if (number(arg, 1, PID_MAX, &pid) < 0)
		return fail(err, errlen, "-%c %.40s: not a process ID (allowed: 1-%d)",
		            c, arg, PID_MAX);
	if (nc->nops >= CFG_MAX_PIDS)
		return fail(err, errlen, "-%c %s: too many -p/-x/-r (at most %d)",
		            c, arg, CFG_MAX_PIDS);
	nc->op[nc->nops].verb = c == 'p' ? NC_INCLUDE : c == 'x' ? NC_EXCLUDE : NC_FORGET;
	nc->op[nc->nops++].pid = (pid_t)pid;
	return 0;
}

static int opt_log(struct numad_compat *nc, int c, const char *arg, char *err, size_t errlen)
{
	uint64_t v = c == 'd' ? LOG_DEBUG : LOG_INFO;

	/* numad's levels are syslog priorities, as ksm-numad's are. */
	if (c == 'l' && number(arg, LOG_EMERG, LOG_DEBUG, &v) < 0)
		return fail(err, errlen, "-l %.40s: not a log level (allowed: 0-7, "
		            "syslog priorities)", arg);
	nc->set_log_level = true;
	nc->log_level = (int)v;
	return 0;
}

static int opt_settings(struct numad_compat *nc, int c, const char *arg,
                        char *err, size_t errlen)
{
	char why[160];
	uint64_t v;

	switch (c) {
	case 'S':
		if (number(arg, 0, 1, &v) < 0)
			return fail(err, errlen, "-S %.40s: allowed: 0 (only -p PIDs) or "
			            "1 (all processes)", arg);
		nc->set_scan_all = true;
		nc->scan_all = v == 1;
		return 0;
	case 'R':
		if (idset_parse(&nc->reserved_cpus, arg) < 0)
			return fail(err, errlen, "-R %.40s: not a CPU list (e.g. 0-1,8)", arg);
		nc->set_reserved = true;
		return 0;
	case 'w':
		nc->place_spec = arg;
		nc->mode = NC_ANSWER;
		if (place_parse(arg, &nc->ncpus, &nc->mem_mib, why, sizeof(why)) < 0)
			return fail(err, errlen, "-w %s", why);
		return 0;
	}
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		if (ignored[i].opt == c)
			warn(nc, "-%c %s: %s; ignored", c, arg, ignored[i].why);
	return 0;
}

static int one_option(struct numad_compat *nc, int c, const char *arg,
                      char *err, size_t errlen)
{
	switch (c) {
	case 'i':
		return opt_interval(nc, arg, err, errlen);
	case 'u':
		return opt_percent(nc, c, arg, 10, 130, err, errlen);
	case 'm':
		return opt_percent(nc, c, arg, 50, 100, err, errlen);
	case 'p': case 'x': case 'r':
		return opt_pid(nc, c, arg, err, errlen);
	case 'd': case 'v': case 'l':
		return opt_log(nc, c, arg, err, errlen);
	case ':':
		return fail(err, errlen, "option -%c needs a value", optopt);
	case '?':
		return fail(err, errlen, "unknown option -%c (numad's options: "
		            "-C -d -D -h -H -i -K -l -m -p -r -R -S -t -u -v -V -w -x)",
		            optopt ? optopt : '?');
	}
	return opt_settings(nc, c, arg, err, errlen);
}

/* What the options together ask for (-h and -V have returned already). */
static void resolve(struct numad_compat *nc)
{
	bool settings = nc->set_interval || nc->set_utilization || nc->set_locality ||
	                nc->set_log_level || nc->set_scan_all || nc->set_reserved;

	if (nc->mode == NC_ANSWER) {
		if (nc->set_interval && nc->interval_s == 0)
			warn(nc, "-i 0 with -w: only the -w question is answered");
		return;
	}
	if (nc->set_interval && nc->interval_s == 0)
		nc->mode = NC_STOP;
	else if (nc->nops > 0 && !settings)
		nc->mode = NC_SEND;
	else
		nc->mode = NC_RUN;
}

int numad_compat_parse(int argc, char **argv, struct numad_compat *out,
                       char *err, size_t errlen)
{
	int c, r;

	memset(out, 0, sizeof(*out));
	out->mode = NC_RUN;
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strncmp(argv[i], "--", 2))
			return fail(err, errlen, "unknown option '%.40s' (numad has no "
			            "long options)", argv[i]);
	optind = 0;             /* glibc: start afresh */
	opterr = 0;
	while ((c = getopt(argc, argv, "+:C:dD:hH:i:K:l:m:p:r:R:S:t:u:vVw:x:")) != -1) {
		if (c == 'h' || c == 'V') {     /* numad stops at the first of them */
			out->mode = c == 'h' ? NC_HELP : NC_VERSION;
			return 0;
		}
		r = one_option(out, c, optarg, err, errlen);
		if (r < 0)
			return r;
	}
	if (optind < argc)
		return fail(err, errlen, "unexpected argument '%.40s'", argv[optind]);
	resolve(out);
	return 0;
}

/* numad's list operations, on a PID list. */
static void pids_del(struct cfg_pids *l, pid_t pid)
{
	int k = 0;

	for (int i = 0; i < l->n; i++)
		if (l->pid[i] != pid)
			l->pid[k++] = l->pid[i];
	l->n = k;
}

static int pids_add(struct cfg_pids *l, pid_t pid)
{
	if (cfg_pids_has(l, pid))
		return 0;
	if (l->n >= CFG_MAX_PIDS)
		return -ENOSPC;
	l->pid[l->n++] = pid;
	return 0;
}

int numad_compat_apply(const struct numad_compat *nc, struct cfg *cfg)
{
	int r = 0;

	if (nc->set_interval && nc->interval_s)
		cfg->interval_s = nc->interval_s;
	if (nc->set_utilization)
		cfg->target_utilization = nc->target_utilization;
	if (nc->set_locality)
		cfg->target_locality = nc->target_locality;
	if (nc->set_log_level)
		cfg->log_level = nc->log_level;
	if (nc->set_scan_all)
		cfg->scan_all = nc->scan_all;
	if (nc->set_reserved)
		cfg->reserved_cpus = nc->reserved_cpus;
	for (int i = 0; i < nc->nops; i++) {
		const struct nc_op *o = &nc->op[i];

		pids_del(o->verb == NC_INCLUDE ? &cfg->exclude_pids : &cfg->include_pids, o->pid);
		if (o->verb == NC_FORGET)
			pids_del(&cfg->exclude_pids, o->pid);
		else if (pids_add(o->verb == NC_INCLUDE ? &cfg->include_pids
		                  : &cfg->exclude_pids, o->pid) < 0)
			r = -ENOSPC;
	}
	return r;
}

void numad_compat_usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s [OPTION]...\n"
		"numad's command line, served by ksm-numad (see ksm-numad(8)).\n"
		"\n"
		"  -w NCPUS[:MB]    print the NUMA nodes for a guest of NCPUS CPUs and MB MiB\n"
		"  -i [MIN:]MAX     seconds between passes (MIN ignored; 0: see systemctl)\n"
		"  -u PERCENT       target CPU utilization of a node (10-130)\n"
		"  -m PERCENT       target memory locality (50-100)\n"
		"  -p PID           manage PID whatever its size (running daemon: at once)\n"
		"  -x PID           never manage PID\n"
		"  -r PID           take PID off both lists\n"
		"  -S 0|1           manage only -p PIDs (0) or all candidates (1)\n"
		"  -R CPU_LIST      CPUs never given to VMs\n"
		"  -l LEVEL         log level, syslog priority 0-7 (-d: 7, -v: 6)\n"
		"  -V, -h           version, this help\n"
		"  -C, -D, -H, -K, -t  accepted for numad's sake; no effect\n",
		prog);
}

static int send_one(const char *dir, const struct nc_op *o, const char *prog, FILE *err)
{
	static const char *const verbs[] = { "include", "exclude", "forget" };
	static const char opts[] = { 'p', 'x', 'r' };
	char req[64], *reply = NULL;
	int r;

	snprintf(req, sizeof(req), "%s %d", verbs[o->verb], (int)o->pid);
	r = ctl_call(dir, req, CLIENT_TIMEOUT_MS, &reply);
	if (r == 0 && strncmp(reply, "ok", 2) != 0) {
		fprintf(err, "%s: -%c %d: the daemon says: %.*s\n", prog, opts[o->verb],
		        (int)o->pid, (int)strcspn(reply, "\n"), reply);
		r = -EINVAL;
	} else if (r < 0 && r != -ENOENT && r != -ECONNREFUSED) {
		fprintf(err, "%s: -%c %d: no answer from the daemon under %s: %s\n", prog,
		        opts[o->verb], (int)o->pid, dir, strerror(-r));
	}
	free(reply);
	return r;
}

/* Hands every PID change to the daemon; 0, -ENOENT/-ECONNREFUSED when none
 * listens (nothing sent), other -errno when one was refused. */
static int send_ops(const struct numad_compat *nc, const char *dir, const char *prog,
                    FILE *err)
{
	int ret = 0;

	for (int i = 0; i < nc->nops; i++) {
		int r = send_one(dir, &nc->op[i], prog, err);

		if (r == -ENOENT || r == -ECONNREFUSED)
			return r;
		if (r < 0)
			ret = r;
	}
	return ret;
}

static bool daemon_runs(const char *dir)
{
	char *reply = NULL;
	int r = ctl_call(dir, "status", CLIENT_TIMEOUT_MS, &reply);

	free(reply);
	return r == 0;
}

static int stop_status(const char *prog, FILE *err)
{
	fprintf(err, "%s: -i 0 stops nothing here: ksm-numad runs as a systemd "
		"service; stop it with 'systemctl stop ksm-numad'\n", prog);
	return 1;
}

/* A daemon runs: numad would hand it everything; ours takes the PIDs only. */
static int run_with_daemon(const struct numad_compat *nc, const char *dir,
                           const char *prog, FILE *err)
{
	int r = send_ops(nc, dir, prog, err);

	if (nc->set_interval || nc->set_utilization || nc->set_locality ||
	    nc->set_log_level || nc->set_scan_all || nc->set_reserved) {
		fprintf(err, "%s: ksm-numad already runs (control socket under %s) and "
			"takes no settings at run time: put them in %s and run "
			"'systemctl reload ksm-numad'\n", prog, dir, CFG_DEFAULT_PATH);
		return 1;
	}
	return r < 0 ? 1 : 0;
}

int numad_compat_client(const struct numad_compat *nc, const char *prog,
                        const char *control_dir, FILE *out, FILE *err)
{
	bool have_dir = control_dir && control_dir[0];
	int r;

	for (int i = 0; i < nc->nwarn; i++)
		fprintf(err, "%s: warning: %s\n", prog, nc->warn[i]);
	switch (nc->mode) {
	case NC_HELP:
		numad_compat_usage(out, prog);
		return 0;
	case NC_VERSION:
		fprintf(out, "%s version: %s %s (numad 0.5 command line)\n", prog,
			PACKAGE_NAME, PACKAGE_VERSION);
		return 0;
	case NC_STOP:
		return stop_status(prog, err);
	case NC_SEND:
		r = have_dir ? send_ops(nc, control_dir, prog, err) : -ENOENT;
		if (r == -ENOENT || r == -ECONNREFUSED)
			fprintf(err, "%s: no ksm-numad daemon runs%s%s: start it with "
				"'systemctl start ksm-numad', or list the PIDs in [vms] "
				"include_pids / exclude_pids of %s\n", prog,
				have_dir ? " under " : "", have_dir ? control_dir : "",
				CFG_DEFAULT_PATH);
		return r < 0 ? 1 : 0;
	case NC_ANSWER:
		if (nc->nops && have_dir && send_ops(nc, control_dir, prog, err) < 0)
			fprintf(err, "%s: warning: -p/-x/-r not handed to a daemon\n", prog);
		return NC_CONTINUE;
	case NC_RUN:
		if (have_dir && daemon_runs(control_dir))
			return run_with_daemon(nc, control_dir, prog, err);
		return NC_CONTINUE;
	}
	return NC_CONTINUE;
}
