/* main.c - ksm-numad: command line, configuration and the modes
 * (--check-config, --oneshot --dry-run, the daemon).
 *
 * Exit statuses are documented in ksm-numad(8); keep the two in step.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "balance.h"
#include "config.h"
#include "load.h"
#include "log.h"
#include "num.h"
#include "loop.h"
#include "migrate.h"
#include "numad_compat.h"
#include "place.h"
#include "report.h"
#include "root.h"
#include "snapshot.h"

enum {
	EXIT_OK = 0,
	EXIT_ERROR = 1,         /* usage, configuration, unreadable root/topology */
	EXIT_COMBINATION = 2,   /* a combination of options not supported (yet) */
	EXIT_RUNTIME = 3,       /* the daemon failed after start-up */
	PARSE_CONTINUE = -1,    /* parse_args: go on with the chosen mode */
};

/* The same range as [daemon] interval in lib/config.c. */
#define INTERVAL_MAX 3600U

struct opts {
	const char *config;     /* -c FILE; NULL = CFG_DEFAULT_PATH, may be absent */
	const char *root;       /* --root DIR; NULL = this host */
	const char *check_file; /* --check-config FILE */
	bool check;
	bool oneshot;
	bool dry_run;
	bool verbose;
	unsigned interval_s;    /* -i; 0 = from the configuration */
	pid_t migrate_pid;      /* --migrate PID; 0 = not given */
	const char *to;         /* --to NODES */
	const char *control_dir;/* --control-dir DIR; NULL = the file's */
	const char *place;      /* -w NCPUS[:MB] */
	const struct numad_compat *nc;  /* started as numad: its options */
	enum log_target target;
};

enum {
	OPT_ROOT = 256,
	OPT_ONESHOT,
	OPT_DRY_RUN,
	OPT_CHECK,
	OPT_MIGRATE,
	OPT_TO,
	OPT_LOG_TARGET,
	OPT_CONTROL_DIR,
};

static const struct option long_opts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "oneshot", no_argument, NULL, OPT_ONESHOT },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ "check-config", optional_argument, NULL, OPT_CHECK },
	{ "interval", required_argument, NULL, 'i' },
	{ "migrate", required_argument, NULL, OPT_MIGRATE },
	{ "to", required_argument, NULL, OPT_TO },
	{ "log-target", required_argument, NULL, OPT_LOG_TARGET },
	{ "control-dir", required_argument, NULL, OPT_CONTROL_DIR },
	{ "place", required_argument, NULL, 'w' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ksm-numad [OPTION]...\n"
		"Keep KVM guests on the NUMA nodes where their vCPUs run, without\n"
		"stalling them on KSM-shared pages.\n"
		"\n"
		"  -c, --config FILE          configuration file (default %s)\n"
		"      --root DIR             observe the sys/ and proc/ trees under DIR\n"
		"      --oneshot              one pass, then exit (needs --dry-run for now)\n"
		"      --dry-run              observe and report, change nothing\n"
		"      --check-config [FILE]  check the configuration, print the settings\n"
		"  -i, --interval SECONDS     seconds between passes, 1-%u (overrides the file)\n"
		"  -w, --place NCPUS[:MB]     print the nodes a new guest should get (numad -w,\n"
		"                             libvirt's placement='auto') and exit\n"
		"      --migrate PID --to NODES  move PID's memory to NODES with the engine\n"
		"                             (chunked move_pages, heavy KSM pages left;\n"
		"                             with --dry-run: count, move nothing)\n"
		"      --log-target TARGET    auto, stderr or journal\n"
		"      --control-dir DIR      control sockets under DIR (default: the\n"
		"                             file's control_dir; none with --root)\n"
		"  -v, --verbose              log at debug level\n"
		"  -V, --version              print the version and exit\n"
		"  -h, --help                 print this help and exit\n"
		"\n"
		"Without --oneshot or --check-config, runs as a daemon in the foreground\n"
		"(systemd Type=notify).  See ksm-numad(8).\n",
		CFG_DEFAULT_PATH, INTERVAL_MAX);
}

static int parse_interval(const char *s, unsigned *out)
{
	uint64_t v;

	if (num_u64_tok(s, strlen(s), &v) < 0 || v < 1 || v > INTERVAL_MAX) {
		fprintf(stderr, "ksm-numad: --interval %s: not a number of seconds "
			"(allowed: 1-%u)\n", s, INTERVAL_MAX);
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

static int parse_pid(const char *s, pid_t *out)
{
	uint64_t v;

	if (num_u64_tok(s, strlen(s), &v) < 0 || v < 1 || v > INT32_MAX) {
		fprintf(stderr, "ksm-numad: --migrate %s: not a process ID\n", s);
		return -EINVAL;
	}
	*out = (pid_t)v;
	return 0;
}

static int parse_target(const char *s, enum log_target *out)
{
	static const char *const names[] = {
		[LOG_TARGET_AUTO] = "auto",
		[LOG_TARGET_STDERR] = "stderr",
		[LOG_TARGET_JOURNAL] = "journal",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum log_target)i;
			return 0;
		}
	}
	fprintf(stderr, "ksm-numad: --log-target %s: unknown target "
		"(allowed: auto, stderr, journal)\n", s);
	return -EINVAL;
}

/* Handles one option; returns PARSE_CONTINUE or an exit status. */
static int parse_one(int c, int argc, char **argv, struct opts *o)
{
	switch (c) {
	case 'c':
		o->config = optarg;
		break;
	case OPT_ROOT:
		o->root = optarg;
		break;
	case OPT_ONESHOT:
		o->oneshot = true;
		break;
	case OPT_DRY_RUN:
		o->dry_run = true;
		break;
	case 'v':
		o->verbose = true;
		break;
	case OPT_CHECK:
		/* Accept "--check-config FILE" as well as "--check-config=FILE". */
		if (!optarg && optind < argc && argv[optind][0] != '-')
			optarg = argv[optind++];
		o->check = true;
		o->check_file = optarg;
		break;
	case 'i':
		return parse_interval(optarg, &o->interval_s) < 0 ? EXIT_ERROR : PARSE_CONTINUE;
	case OPT_MIGRATE:
		return parse_pid(optarg, &o->migrate_pid) < 0 ? EXIT_ERROR : PARSE_CONTINUE;
	case OPT_TO:
		o->to = optarg;
		break;
	case 'w':
		o->place = optarg;
		break;
	case OPT_LOG_TARGET:
		return parse_target(optarg, &o->target) < 0 ? EXIT_ERROR : PARSE_CONTINUE;
	case OPT_CONTROL_DIR:
		if (optarg[0] != '/' || strlen(optarg) >= CFG_DIR_LEN) {
			fprintf(stderr, "ksm-numad: --control-dir %s: not an absolute "
				"directory of at most %d characters\n", optarg, CFG_DIR_LEN - 1);
			return EXIT_ERROR;
		}
		o->control_dir = optarg;
		break;
	case 'V':
		printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
		return EXIT_OK;
	case 'h':
		usage(stdout);
		return EXIT_OK;
	default:        /* getopt has said what was wrong */
		fprintf(stderr, "Try 'ksm-numad --help' for more information.\n");
		return EXIT_ERROR;
	}
	return PARSE_CONTINUE;
}

/* Rejects arguments and combinations we do not run. */
static int check_combination(int argc, char **argv, const struct opts *o)
{
	if (optind < argc) {
		fprintf(stderr, "ksm-numad: unexpected argument '%s'\n"
			"Try 'ksm-numad --help' for more information.\n", argv[optind]);
		return EXIT_ERROR;
	}
	if (o->check && (o->oneshot || o->dry_run)) {
		fprintf(stderr, "ksm-numad: --check-config cannot be combined with "
			"--oneshot or --dry-run\n");
		return EXIT_COMBINATION;
	}
	if (!o->migrate_pid != !o->to) {
		fprintf(stderr, "ksm-numad: --migrate PID and --to NODES go together\n");
		return EXIT_ERROR;
	}
	if (o->migrate_pid && (o->oneshot || o->check)) {
		fprintf(stderr, "ksm-numad: --migrate cannot be combined with --oneshot "
			"or --check-config\n");
		return EXIT_COMBINATION;
	}
	if (o->place && (o->oneshot || o->check || o->migrate_pid)) {
		fprintf(stderr, "ksm-numad: -w cannot be combined with --oneshot, "
			"--check-config or --migrate\n");
		return EXIT_COMBINATION;
	}
	if (o->oneshot && !o->dry_run) {
		fprintf(stderr, "ksm-numad: --oneshot needs --dry-run: one pass cannot "
			"finish a move (run the daemon, or --migrate PID --to NODES)\n");
		return EXIT_COMBINATION;
	}
	return PARSE_CONTINUE;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	int c, r;

	/* Short options stay few; numad's whole set is numad_compat's. */
	while ((c = getopt_long(argc, argv, "c:i:w:vVh", long_opts, NULL)) != -1) {
		r = parse_one(c, argc, argv, o);
		if (r != PARSE_CONTINUE)
			return r;
	}
	return check_combination(argc, argv, o);
}

/* Command-line settings win over the file's, at start and on every reload.
 * A daemon watching another root (--root) must not take the host daemon's
 * sockets (it has none unless --control-dir names them) nor its libvirt. */
static void apply_overrides(const struct opts *o, struct cfg *cfg)
{
	if (o->interval_s)
		cfg->interval_s = o->interval_s;
	if (o->control_dir)
		snprintf(cfg->control_dir, sizeof(cfg->control_dir), "%s", o->control_dir);
	else if (o->root)
		cfg->control_dir[0] = '\0';
	/* libvirt's PIDs are this host's, not those of a tree under --root. */
	if (o->root)
		cfg->libvirt_uri[0] = '\0';
	if (o->verbose)
		cfg->log_level = LOG_DEBUG;
}

static const char *cfg_path(const struct opts *o)
{
	return o->config ? o->config : CFG_DEFAULT_PATH;
}

static void log_cfg_error(void *data, const char *msg)
{
	(void)data;
	log_err("%s", msg);
}

/* The daemon's and --oneshot's configuration: a missing default file means
 * the built-in defaults; a file named with -c must exist and be valid. */
static int load_cfg(void *data, struct cfg *out)
{
	const struct opts *o = data;
	int r;

	if (!o->config && access(CFG_DEFAULT_PATH, F_OK) < 0 && errno == ENOENT) {
		log_notice("%s does not exist: running with the built-in defaults",
			   CFG_DEFAULT_PATH);
		cfg_defaults(out);
	} else {
		r = cfg_load(cfg_path(o), out, log_cfg_error, NULL);
		if (r < 0)
			return r;
	}
	apply_overrides(o, out);
	/* numad's options win over the file, on every reload too. */
	if (o->nc && numad_compat_apply(o->nc, out) < 0)
		log_warn("more than %d PIDs on numad's -p/-x lists: the rest are ignored",
			 CFG_MAX_PIDS);
	return 0;
}

static int flush_stdout(void)
{
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "ksm-numad: cannot write the output: %s\n", strerror(errno));
		return EXIT_ERROR;
	}
	return EXIT_OK;
}

static void print_cfg_error(void *data, const char *msg)
{
	int *nerr = data;

	fprintf(stderr, "%s\n", msg);
	(*nerr)++;
}

static int run_check(const struct opts *o)
{
	const char *path = o->check_file ? o->check_file : cfg_path(o);
	struct cfg cfg;
	int nerr = 0;
	int r = cfg_load(path, &cfg, print_cfg_error, &nerr);

	if (r < 0) {
		if (nerr == 0)
			fprintf(stderr, "%s: %s\n", path, strerror(-r));
		return EXIT_ERROR;
	}
	apply_overrides(o, &cfg);
	printf("%s: OK\n", path);
	cfg_print(stdout, &cfg);
	return flush_stdout();
}

/* One dry-run pass of the balancer on S, printed.  CPU use is the average
 * since boot (or since each VM started): there is no earlier sample. */
static int decide_once(const struct rt_root *root, const struct cfg *cfg,
                       const struct snapshot *s)
{
	struct pin_dry pd = { 0 };
	struct ld_sample load;
	struct bal b;
	int r;

	if (ld_read(root, &load) < 0)
		log_warn("cannot read the CPU counters under %s: CPU load counts as zero",
			 rt_dir(root));
	bal_init_host(&b, root, &pd);
	bal_configure(&b, cfg, &s->ksm);
	r = bal_pass(&b, s, &load);
	if (r < 0)
		log_err("no decision possible: %s", strerror(-r));
	else
		report_decisions(stdout, &b.in, &b.res);
	bal_free(&b);
	pin_dry_free(&pd);
	return r;
}

static int run_oneshot(const struct rt_root *root, const struct cfg *cfg)
{
	struct snapshot s;
	int r = snap_take(root, cfg, &s);

	if (r < 0) {
		log_err("cannot observe %s: %s; nothing to report",
			rt_dir(root), strerror(-r));
		return EXIT_ERROR;
	}
	report_print(stdout, root, &s);
	r = decide_once(root, cfg, &s);
	snap_free(&s);
	return r < 0 ? EXIT_ERROR : flush_stdout();
}

static int run_daemon(struct opts *o, const struct rt_root *root, const struct cfg *cfg)
{
	struct loop_opts lo = {
		.root = root,
		.cfg = cfg,
		.cfg_name = cfg_path(o),
		.load = load_cfg,
		.load_data = o,
		.dry_run = o->dry_run || !rt_is_live(root),
	};
	int r;

	log_notice("%s %s starting: balancing %s every %u s%s", PACKAGE_NAME,
		   PACKAGE_VERSION, rt_dir(root), cfg->interval_s,
		   lo.dry_run ? " (dry run: decisions are logged, nothing is changed)" : "");
	r = loop_run(&lo);
	if (r < 0) {
		log_err("event loop failed: %s; exiting", strerror(-r));
		return EXIT_RUNTIME;
	}
	log_info("stopped");
	return EXIT_OK;
}

/* Loads the configuration and opens the root; an exit status on failure. */
static int start(struct opts *o, struct cfg *cfg, struct rt_root **root)
{
	int r;

	/* -w's stdout is libvirt's answer: every message goes to stderr. */
	log_open(o->place ? LOG_TARGET_STDERR : o->target, o->verbose ? LOG_DEBUG : LOG_INFO);
	if (load_cfg(o, cfg) < 0) {
		log_err("%s: invalid configuration, not starting", cfg_path(o));
		return EXIT_ERROR;
	}
	/* -w is libvirt's question: only what goes wrong is worth saying. */
	log_set_level(o->place && !o->verbose ? LOG_WARNING : cfg->log_level);
	r = rt_open(o->root, root);
	if (r < 0) {
		log_err("cannot open root directory %s: %s", o->root ? o->root : "/",
			strerror(-r));
		return EXIT_ERROR;
	}
	return PARSE_CONTINUE;
}

static int run(struct opts *o)
{
	struct rt_root *root;
	struct cfg cfg;
	int r = start(o, &cfg, &root);

	if (r != PARSE_CONTINUE)
		return r;
	if (o->place)
		r = place_main(o->place, cfg.control_dir, root, &cfg);
	else if (o->migrate_pid)
		r = migrate_cmd(root, &cfg, o->migrate_pid, o->to, o->dry_run);
	else
		r = o->oneshot ? run_oneshot(root, &cfg) : run_daemon(o, root, &cfg);
	rt_close(root);
	return r;
}

/* Started as "numad" (./configure --enable-numad-compat): numad's options. */
static int run_as_numad(int argc, char **argv)
{
	struct opts o = { .target = LOG_TARGET_AUTO };
	struct numad_compat nc;
	struct cfg cfg;
	char err[256];
	int r;

	if (numad_compat_parse(argc, argv, &nc, err, sizeof(err)) < 0) {
		fprintf(stderr, "numad (ksm-numad): %s\nTry 'numad -h' for more "
			"information.\n", err);
		return EXIT_ERROR;
	}
	cfg_defaults(&cfg);     /* for the control directory only */
	if (cfg_load(CFG_DEFAULT_PATH, &cfg, NULL, NULL) < 0)
		cfg_defaults(&cfg);
	r = numad_compat_client(&nc, "numad", cfg.control_dir, stdout, stderr);
	if (r != NC_CONTINUE)
		return r == EXIT_OK ? flush_stdout() : r;
	o.place = nc.mode == NC_ANSWER ? nc.place_spec : NULL;
	o.nc = &nc;
	return run(&o);
}

static bool called_numad(const char *argv0)
{
	const char *base = strrchr(argv0, '/');

	return strcmp(base ? base + 1 : argv0, "numad") == 0;
}

int main(int argc, char **argv)
{
	struct opts o = { .target = LOG_TARGET_AUTO };
	int r;

	if (argc > 0 && called_numad(argv[0]))
		return run_as_numad(argc, argv);
	r = parse_args(argc, argv, &o);
	if (r != PARSE_CONTINUE)
		return r == EXIT_OK ? flush_stdout() : r;
	if (o.check)
		return run_check(&o);
	return run(&o);
}
