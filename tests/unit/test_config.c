/* Unit tests for config: defaults, the fixtures under tests/fixtures/conf,
 * every kind of error with its exact FILE:LINE text, ranges, round trip. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "balance.h"
#include "config.h"
#include "mover.h"
#include "pin.h"
#include "policy.h"

#define CONF FIXTURES "/conf/"
#define SHIPPED FIXTURES "/../../conf/ksm-numad.conf"
#define MANPAGE FIXTURES "/../../man/ksm-numad.conf.5"
#define MAX_MSGS 128

struct errs {
	int n;
	char msg[MAX_MSGS][1024];
};

static struct errs errs;

static void collect(void *data, const char *msg)
{
	struct errs *e = data;

	if (e->n < MAX_MSGS)
		snprintf(e->msg[e->n], sizeof(e->msg[0]), "%s", msg);
	e->n++;
}

static int load(const char *path, struct cfg *c)
{
	memset(&errs, 0, sizeof(errs));
	return cfg_load(path, c, collect, &errs);
}

static int load_str(const char *text, struct cfg *c)
{
	memset(&errs, 0, sizeof(errs));
	return cfg_load_string("t", text, strlen(text), c, collect, &errs);
}

/* Asserts that message I is "PATH:LINE: TEXT". */
static void expect(int i, const char *path, int line, const char *text)
{
	char want[1024];

	snprintf(want, sizeof(want), "%s:%d: %s", path, line, text);
	assert_true(i < errs.n);
	assert_string_equal(errs.msg[i], want);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 20);
	size_t n;

	assert_non_null(f);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* The table is cfg_defaults; every module's defaults derive from it.  The
 * test is linked with --wrap=cfg_defaults: while CHANGED is set, the table
 * gives other values, as if someone had edited it. */
void __real_cfg_defaults(struct cfg *cfg);
void __wrap_cfg_defaults(struct cfg *cfg);

static bool changed;

void __wrap_cfg_defaults(struct cfg *cfg)
{
	__real_cfg_defaults(cfg);
	if (!changed)
		return;
	cfg->target_utilization = 77;
	cfg->target_locality = 66;
	cfg->reserve_mb = 700;
	cfg->min_gain = 13;
	cfg->cooldown = 5;
	cfg->max_moves = 3;
	cfg->call_budget_ms = 7;
	cfg->interval_budget_mb = 333;
	cfg->move_ksm_pages = false;
	cfg->ksm_max_mapcount = 99;
}

/* Every field is set, whatever the memory held.  The values themselves are
 * pinned by what conf/ksm-numad.conf and ksm-numad.conf(5) say (below). */
static void defaults(void **state)
{
	struct cfg c, d;

	(void)state;
	memset(&c, 0xab, sizeof(c));
	memset(&d, 0, sizeof(d));
	cfg_defaults(&c);
	cfg_defaults(&d);
	assert_memory_equal(&c, &d, sizeof(c));
	assert_string_equal(c.control_dir, KN_CONTROL_DIR);
}

/* The policy's and the mover's defaults, and a new balancer's, are the
 * table's: changed in the table, they change with it (a copy of a value in
 * policy.c or mover.c would not). */
static void derived_defaults(void **state)
{
	struct mv_budget budget = mv_budget_ms(7);
	struct pin_dry dry = { 0 };
	struct pol_params p;
	struct mv_opts o;
	struct bal b;

	(void)state;
	changed = true;
	pol_params_default(&p);
	mv_opts_live(&o, NULL);
	bal_init_host(&b, NULL, &dry);
	changed = false;
	assert_int_equal(p.target_utilization, 77);
	assert_int_equal(p.target_locality, 66);
	assert_int_equal(p.reserve_kib, 700 * 1024);
	assert_int_equal(p.min_gain, 13);
	assert_int_equal(p.cooldown, 5);
	assert_int_equal(p.max_moves, 3);
	assert_int_equal(p.budget_kib, 333 * 1024);
	assert_int_equal(o.reserve_bytes, 700ull << 20);
	assert_memory_equal(&o.budget, &budget, sizeof(budget));
	assert_false(o.move_ksm);
	assert_int_equal(o.ksm_max_mapcount, 99);
	assert_false(o.chains_bounded);
	assert_memory_equal(&b.params, &p, sizeof(p));
	assert_int_equal(b.mv.reserve_bytes, o.reserve_bytes);
	assert_memory_equal(&b.mv.budget, &budget, sizeof(budget));
	assert_false(b.mv.move_ksm);
	assert_int_equal(b.mv.ksm_max_mapcount, 99);
	bal_free(&b);
	pin_dry_free(&dry);
}

/* The values listed at the top of good.conf. */
static void good_conf(void **state)
{
	struct cfg c;

	(void)state;
	assert_int_equal(load(CONF "good.conf", &c), 0);
	assert_int_equal(errs.n, 0);
	assert_int_equal(c.interval_s, 30);
	assert_int_equal(c.log_level, LOG_DEBUG);
	assert_int_equal(c.target_utilization, 130);
	assert_int_equal(c.target_locality, 50);
	assert_int_equal(c.reserve_mb, 2048);
	assert_int_equal(c.call_budget_ms, 2);
	assert_int_equal(c.pause_ms, 10);
	assert_int_equal(c.interval_budget_mb, 0);
	assert_false(c.move_ksm_pages);
	assert_int_equal(c.ksm_max_mapcount, 16);
	assert_int_equal(c.set_max_page_sharing, 256);
	assert_int_equal(c.set_use_zero_pages, 1);
	assert_string_equal(c.libvirt_uri, "test:///default");
	assert_int_equal(c.process_names.n, 4);
	assert_string_equal(c.process_names.p[0], "qemu-system-x86");
	assert_string_equal(c.process_names.p[1], "qemu-kvm");
	assert_string_equal(c.process_names.p[2], "kvm-[0-9]*");
	assert_string_equal(c.process_names.p[3], "a;b");
	assert_int_equal(c.exclude_names.n, 1);
	assert_string_equal(c.exclude_names.p[0], "qemu-img");
	assert_int_equal(c.include_pids.n, 2);
	assert_int_equal(c.include_pids.pid[0], 4242);
	assert_int_equal(c.include_pids.pid[1], 4300);
	assert_int_equal(c.exclude_pids.n, 1);
	assert_int_equal(c.exclude_pids.pid[0], 1);
	assert_int_equal(c.min_memory_mb, 0);
}

static void missing_file(void **state)
{
	struct cfg c;

	(void)state;
	assert_int_equal(load(CONF "missing.conf", &c), -ENOENT);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.msg[0], CONF "missing.conf: cannot read: "
	                    "No such file or directory");
	assert_int_equal(load(FIXTURES "/conf", &c), -EISDIR);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.msg[0], FIXTURES "/conf: cannot read: "
	                    "Is a directory");
}

#define SYNTAX_ALLOWED \
	" (allowed: [section], key = value, # comment, ; comment, blank line)"

static void bad_syntax(void **state)
{
	const char *f = CONF "bad-syntax.conf";
	struct cfg c;

	(void)state;
	assert_int_equal(load(f, &c), -EINVAL);
	assert_int_equal(errs.n, 5);
	expect(0, f, 4, "syntax error: 'this line has no equals sign' is not "
	       "key = value" SYNTAX_ALLOWED);
	expect(1, f, 5, "syntax error: '[placement' has no ']' at its end"
	       SYNTAX_ALLOWED);
	expect(2, f, 8, "syntax error: '[vms] trailing text' has no ']' at "
	       "its end" SYNTAX_ALLOWED);
	expect(3, f, 9, "syntax error: '= 5' has no key before '='"
	       SYNTAX_ALLOWED);
	expect(4, f, 11, "syntax error: 'bad key' is not a key name (letters, "
	       "digits, '_' and '-')" SYNTAX_ALLOWED);
}

#define PATTERNS_ALLOWED "(allowed: up to 32 fnmatch(3) patterns of at " \
	"most 63 characters, separated by commas or blanks)"
#define PIDS_ALLOWED "(allowed: up to 64 PIDs 1..4194304, separated by " \
	"commas or blanks)"
#define BOOLS "yes, no, true, false, on, off, 1, 0"

static void bad_values(void **state)
{
	const char *f = CONF "bad-values.conf";
	struct cfg c;

	(void)state;
	assert_int_equal(load(f, &c), -EINVAL);
	assert_int_equal(errs.n, 12);
	expect(0, f, 4, "interval: '0' is out of range (allowed: 1..3600 "
	       "seconds)");
	expect(1, f, 5, "log_level: 'loud' is not a log level (allowed: err, "
	       "warning, notice, info, debug)");
	expect(2, f, 8, "target_utilization: '131' is out of range (allowed: "
	       "10..130 percent)");
	expect(3, f, 10, "reserve_mb: '12abc' is not a number (allowed: "
	       "0..1048576 MiB)");
	expect(4, f, 13, "pause_ms: no value (allowed: 1..1000 ms)");
	expect(5, f, 16, "move_ksm_pages: 'maybe' is not a boolean (allowed: "
	       BOOLS ")");
	expect(6, f, 17, "set_max_page_sharing: '1' is out of range (allowed: "
	       "keep, or 2..1048576)");
	expect(7, f, 20, "libvirt_uri: '\"qemu:///system\"' is not a libvirt "
	       "URI (allowed: a libvirt URI such as qemu:///system, or nothing "
	       "for process mode only)");
	expect(8, f, 21, "process_names: 'qemu-system-x86_64' can never match: "
	       "process names are at most 15 characters " PATTERNS_ALLOWED);
	expect(9, f, 22, "exclude_names: 'G' is one entry too many "
	       PATTERNS_ALLOWED);
	expect(10, f, 23, "include_pids: '0' is out of range " PIDS_ALLOWED);
	expect(11, f, 24, "exclude_pids: '99999999999999999999999' is out of "
	       "range " PIDS_ALLOWED);
}

static void bad_keys(void **state)
{
	const char *f = CONF "bad-keys.conf";
	struct cfg c;

	(void)state;
	assert_int_equal(load(f, &c), -EINVAL);
	assert_int_equal(errs.n, 6);
	expect(0, f, 4, "'interval' is outside any section (allowed: under "
	       "[daemon])");
	expect(1, f, 5, "unknown key 'foo' outside any section (allowed: keys "
	       "under [daemon], [placement], [migration], [ksm], [vms])");
	expect(2, f, 7, "'reserve_mb' belongs in [placement], not in [daemon] "
	       "(allowed in [daemon]: interval, log_level, control_dir)");
	expect(3, f, 8, "unknown key 'intervall' in [daemon] (allowed: "
	       "interval, log_level, control_dir)");
	expect(4, f, 10, "duplicate key 'interval', first set on line 9 "
	       "(allowed: each key once)");
	expect(5, f, 11, "unknown section [general] (allowed: [daemon], "
	       "[placement], [migration], [ksm], [vms])");
}

/* A failed load leaves OUT as it was. */
static void out_untouched(void **state)
{
	static const char *const bad[] = {
		"bad-syntax.conf", "bad-values.conf", "bad-keys.conf",
	};
	struct cfg c, before;
	char path[512];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&c, 0x5a, sizeof(c));
		before = c;
		snprintf(path, sizeof(path), CONF "%s", bad[i]);
		assert_int_equal(load(path, &c), -EINVAL);
		assert_memory_equal(&c, &before, sizeof(c));
		assert_int_equal(cfg_load(path, &c, NULL, NULL), -EINVAL);
		assert_memory_equal(&c, &before, sizeof(c));
	}
}

struct range {
	const char *section, *key;
	size_t off, size;
	uint64_t min, max;
	const char *allowed;
};

#define RANGE(s, k, f, lo, hi, a) \
	{ s, k, offsetof(struct cfg, f), sizeof(((struct cfg *)0)->f), lo, hi, a }

/* The ranges ksm-numad.conf(5) documents. */
static const struct range ranges[] = {
	RANGE("daemon", "interval", interval_s, 1, 3600, "1..3600 seconds"),
	RANGE("placement", "target_utilization", target_utilization, 10, 130,
	      "10..130 percent"),
	RANGE("placement", "target_locality", target_locality, 50, 100,
	      "50..100 percent"),
	RANGE("placement", "reserve_mb", reserve_mb, 0, 1048576,
	      "0..1048576 MiB"),
	RANGE("placement", "min_gain", min_gain, 0, 1000, "0..1000 percent"),
	RANGE("placement", "cooldown", cooldown, 0, 10000, "0..10000 intervals"),
	RANGE("placement", "max_moves", max_moves, 1, 1000, "1..1000 VMs"),
	RANGE("migration", "call_budget_ms", call_budget_ms, 1, 100,
	      "1..100 ms"),
	RANGE("migration", "pause_ms", pause_ms, 1, 1000, "1..1000 ms"),
	RANGE("migration", "interval_budget_mb", interval_budget_mb, 0, 1048576,
	      "0..1048576 MiB"),
	RANGE("ksm", "ksm_max_mapcount", ksm_max_mapcount, 1, 1048576,
	      "1..1048576 mappings"),
	RANGE("ksm", "set_max_page_sharing", set_max_page_sharing, 2, 1048576,
	      "keep, or 2..1048576"),
	RANGE("vms", "min_memory_mb", min_memory_mb, 0, 1048576,
	      "0..1048576 MiB"),
};

static uint64_t get(const struct cfg *c, const struct range *r)
{
	uint32_t v32;
	uint64_t v64;

	if (r->size == 4) {
		memcpy(&v32, (const char *)c + r->off, 4);
		return v32;
	}
	memcpy(&v64, (const char *)c + r->off, 8);
	return v64;
}

/* Loads "[SECTION]\nKEY = VALUE" and checks the value or the error. */
static void try_value(const struct range *r, const char *value, bool ok)
{
	char text[256], want[512];
	struct cfg c;

	snprintf(text, sizeof(text), "[%s]\n%s = %s\n", r->section, r->key, value);
	if (ok) {
		assert_int_equal(load_str(text, &c), 0);
		assert_int_equal(get(&c, r), strtoull(value, NULL, 10));
		return;
	}
	assert_int_equal(load_str(text, &c), -EINVAL);
	assert_int_equal(errs.n, 1);
	snprintf(want, sizeof(want), "t:2: %s: '%s' is %s (allowed: %s)", r->key,
	         value, value[0] == '-' ? "not a number" : "out of range",
	         r->allowed);
	assert_string_equal(errs.msg[0], want);
}

static void boundaries(void **state)
{
	char v[32];

	(void)state;
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		const struct range *r = &ranges[i];

		snprintf(v, sizeof(v), "%llu", (unsigned long long)r->min);
		try_value(r, v, true);
		snprintf(v, sizeof(v), "%llu", (unsigned long long)r->max);
		try_value(r, v, true);
		snprintf(v, sizeof(v), "%lld", (long long)r->min - 1);
		try_value(r, v, false);
		snprintf(v, sizeof(v), "%llu", (unsigned long long)r->max + 1);
		try_value(r, v, false);
	}
	try_value(&ranges[0], "18446744073709551616", false);
}

static void words(void **state)
{
	static const char *const yes[] = { "yes", "true", "on", "1", "YES", "On" };
	static const char *const no[] = { "no", "false", "off", "0", "No", "FALSE" };
	static const char *const levels[] = { "err", "warning", "notice", "info",
	                                      "debug" };
	char text[128];
	struct cfg c;

	(void)state;
	for (int i = 0; i < 6; i++) {
		snprintf(text, sizeof(text), "[ksm]\nmove_ksm_pages=%s\n"
		         "set_use_zero_pages=%s\n", no[i], yes[i]);
		assert_int_equal(load_str(text, &c), 0);
		assert_false(c.move_ksm_pages);
		assert_int_equal(c.set_use_zero_pages, 1);
		snprintf(text, sizeof(text), "[ksm]\nmove_ksm_pages=%s\n"
		         "set_use_zero_pages=%s\n", yes[i], no[i]);
		assert_int_equal(load_str(text, &c), 0);
		assert_true(c.move_ksm_pages);
		assert_int_equal(c.set_use_zero_pages, 0);
	}
	assert_int_equal(load_str("[ksm]\nset_use_zero_pages = keep\n"
	                          "set_max_page_sharing = KEEP\n", &c), 0);
	assert_int_equal(c.set_use_zero_pages, -1);
	assert_int_equal(c.set_max_page_sharing, -1);
	for (int l = LOG_ERR; l <= LOG_DEBUG; l++) {
		snprintf(text, sizeof(text), "[daemon]\nlog_level = %s\n",
		         levels[l - LOG_ERR]);
		assert_int_equal(load_str(text, &c), 0);
		assert_int_equal(c.log_level, l);
	}
	assert_int_equal(load_str("[daemon]\nlog_level = 7\n", &c), -EINVAL);
	assert_int_equal(load_str("[ksm]\nset_use_zero_pages = 2\n", &c), -EINVAL);
	assert_string_equal(errs.msg[0], "t:2: set_use_zero_pages: '2' is not a "
	                    "boolean (allowed: keep, or " BOOLS ")");
}

/* Lists: sizes at and past their limits, separators, empty lists. */
static void lists(void **state)
{
	char text[256], pat[80];
	struct cfg c;
	int n = 0;

	(void)state;
	n = snprintf(text, sizeof(text), "[vms]\nexclude_names =");
	for (int i = 0; i < 32; i++)
		n += snprintf(text + n, sizeof(text) - n, " p%d", i);
	assert_int_equal(load_str(text, &c), 0);
	assert_int_equal(c.exclude_names.n, 32);
	assert_string_equal(c.exclude_names.p[31], "p31");
	snprintf(text + n, sizeof(text) - n, ",Z");
	assert_int_equal(load_str(text, &c), -EINVAL);
	assert_string_equal(errs.msg[0], "t:2: exclude_names: 'Z' is one entry "
	                    "too many " PATTERNS_ALLOWED);

	n = snprintf(text, sizeof(text), "[vms]\ninclude_pids =");
	for (int i = 0; i < 64; i++)
		n += snprintf(text + n, sizeof(text) - n, "%s", i % 2 ? ",9" : " 1");
	assert_int_equal(load_str(text, &c), 0);
	assert_int_equal(c.include_pids.n, 64);
	snprintf(text + n, sizeof(text) - n, " 4194305");
	assert_int_equal(load_str(text, &c), -EINVAL);
	assert_string_equal(errs.msg[0], "t:2: include_pids: '4194305' is one "
	                    "entry too many " PIDS_ALLOWED);

	memset(pat, 'x', sizeof(pat));
	pat[0] = '*';
	snprintf(text, sizeof(text), "[vms]\nprocess_names = %.63s", pat);
	assert_int_equal(load_str(text, &c), 0);
	assert_int_equal(strlen(c.process_names.p[0]), 63);
	snprintf(text, sizeof(text), "[vms]\nprocess_names = %.64s", pat);
	assert_int_equal(load_str(text, &c), -EINVAL);
	assert_string_equal(errs.msg[0], "t:2: process_names: "
	                    "'*xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' is too "
	                    "long " PATTERNS_ALLOWED);
	assert_int_equal(load_str("[vms]\nprocess_names = qemu-system-x8\n", &c), 0);
	assert_int_equal(load_str("[vms]\nprocess_names = qemu-system-x86\n", &c), 0);
	assert_int_equal(load_str("[vms]\nprocess_names = qemu-system-x86_\n", &c),
	                 -EINVAL);
	assert_int_equal(load_str("[vms]\nprocess_names = qemu-system-x86_?\n", &c), 0);
	assert_int_equal(load_str("[vms]\nexclude_names = a,;b\n", &c), -EINVAL);
	assert_string_equal(errs.msg[0], "t:2: exclude_names: ';b' starts with a "
	                    "comment character " PATTERNS_ALLOWED);

	assert_int_equal(load_str("[vms]\nprocess_names =\nlibvirt_uri = ; none\n"
	                          "include_pids = ,, ,\n", &c), 0);
	assert_int_equal(c.process_names.n, 0);
	assert_int_equal(c.include_pids.n, 0);
	assert_string_equal(c.libvirt_uri, "");
	assert_int_equal(load_str("[vms]\ninclude_pids = 1,x\n", &c), -EINVAL);
	assert_string_equal(errs.msg[0], "t:2: include_pids: 'x' is not a PID "
	                    PIDS_ALLOWED);
	assert_int_equal(load_str("[vms]\ninclude_pids = +5\n", &c), -EINVAL);
}

static void pids(void **state)
{
	struct cfg c;

	(void)state;
	assert_int_equal(load_str("[vms]\ninclude_pids = 1,2 3,,\t4194304\n"
	                          "exclude_pids = 77\n", &c), 0);
	assert_int_equal(c.include_pids.n, 4);
	assert_true(cfg_pids_has(&c.include_pids, 1));
	assert_true(cfg_pids_has(&c.include_pids, 2));
	assert_true(cfg_pids_has(&c.include_pids, 3));
	assert_true(cfg_pids_has(&c.include_pids, 4194304));
	assert_false(cfg_pids_has(&c.include_pids, 4));
	assert_false(cfg_pids_has(&c.include_pids, 0));
	assert_false(cfg_pids_has(&c.include_pids, 77));
	assert_true(cfg_pids_has(&c.exclude_pids, 77));
	cfg_defaults(&c);
	assert_false(cfg_pids_has(&c.include_pids, 1));
}

/* The keys added for numad's -R and -S, libvirt and the control socket. */
static void new_keys(void **state)
{
	struct cfg c;

	(void)state;
	cfg_defaults(&c);
	assert_string_equal(c.control_dir, KN_CONTROL_DIR);
	assert_true(idset_empty(&c.reserved_cpus));
	assert_true(c.scan_all);
	assert_false(c.manage_pinned_domains);
	assert_int_equal(load_str("[daemon]\ncontrol_dir =\n[placement]\n"
	                          "reserved_cpus = 0-1,8\n[vms]\nscan_all = no\n"
	                          "manage_pinned_domains = yes\n", &c), 0);
	assert_string_equal(c.control_dir, "");
	assert_int_equal(idset_count(&c.reserved_cpus), 3);
	assert_true(idset_has(&c.reserved_cpus, 8));
	assert_false(idset_has(&c.reserved_cpus, 2));
	assert_false(c.scan_all);
	assert_true(c.manage_pinned_domains);
	assert_int_equal(load_str("[daemon]\ncontrol_dir = run/x\n", &c), -EINVAL);
	assert_int_equal(load_str("[daemon]\ncontrol_dir = /a/very/long/directory"
	                          "/name/that/does/not/fit/in/a/unix/socket/path/"
	                          "at/all/really/not/even/when/one/tries/hard\n", &c), -EINVAL);
	assert_int_equal(load_str("[placement]\nreserved_cpus = 0-x\n", &c), -EINVAL);
}

static void pattern_match(void **state)
{
	struct cfg c;

	(void)state;
	cfg_defaults(&c);
	assert_true(cfg_patterns_match(&c.process_names, "qemu-system-x86"));
	assert_true(cfg_patterns_match(&c.process_names, "qemu-system-aar"));
	assert_true(cfg_patterns_match(&c.process_names, "qemu-system-"));
	assert_true(cfg_patterns_match(&c.process_names, "qemu-kvm"));
	assert_false(cfg_patterns_match(&c.process_names, "qemu-kvm2"));
	assert_false(cfg_patterns_match(&c.process_names, "xqemu-kvm"));
	assert_false(cfg_patterns_match(&c.process_names, "qemu-img"));
	assert_false(cfg_patterns_match(&c.process_names, ""));
	assert_false(cfg_patterns_match(&c.exclude_names, "qemu-kvm"));
	assert_int_equal(load_str("[vms]\nexclude_names = kvm-[0-9]* CPU*, ?a\n",
	                          &c), 0);
	assert_true(cfg_patterns_match(&c.exclude_names, "kvm-1"));
	assert_true(cfg_patterns_match(&c.exclude_names, "kvm-42x"));
	assert_false(cfg_patterns_match(&c.exclude_names, "kvm-x"));
	assert_true(cfg_patterns_match(&c.exclude_names, "CPU 0/KVM"));
	assert_true(cfg_patterns_match(&c.exclude_names, "ba"));
	assert_false(cfg_patterns_match(&c.exclude_names, "bba"));
}

/* Parses what cfg_print writes and checks it gives C back. */
static void check_round_trip(const struct cfg *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct cfg back;

	assert_non_null(f);
	cfg_print(f, c);
	assert_int_equal(fclose(f), 0);
	memset(&errs, 0, sizeof(errs));
	assert_int_equal(cfg_load_string("printed", text, len, &back, collect,
	                                 &errs), 0);
	assert_true(cfg_equal(c, &back));
	assert_memory_equal(c, &back, sizeof(back));
	free(text);
}

static void round_trip(void **state)
{
	struct cfg c, d;

	(void)state;
	cfg_defaults(&c);
	check_round_trip(&c);
	assert_int_equal(load(CONF "good.conf", &c), 0);
	check_round_trip(&c);
	cfg_defaults(&d);
	assert_false(cfg_equal(&c, &d));
	assert_int_equal(load_str("[vms]\nlibvirt_uri =\nprocess_names =\n"
	                          "[ksm]\nset_use_zero_pages = no\n", &c), 0);
	check_round_trip(&c);
	assert_false(cfg_equal(&c, &d));
}

/* conf/ksm-numad.conf gives the defaults and shows each of them. */
static void shipped_conf(void **state)
{
	char *shipped = slurp(SHIPPED), *printed = NULL, *line, *save = NULL;
	char want[512];
	size_t len = 0;
	FILE *f = open_memstream(&printed, &len);
	struct cfg c, d;

	(void)state;
	assert_int_equal(load(SHIPPED, &c), 0);
	cfg_defaults(&d);
	assert_true(cfg_equal(&c, &d));
	cfg_print(f, &d);
	fclose(f);
	for (line = strtok_r(printed, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '[')
			snprintf(want, sizeof(want), "\n%s\n", line);
		else if (line[0] != '#')
			snprintf(want, sizeof(want), "\n#%s\n", line);
		else
			continue;
		if (!strstr(shipped, want))
			fail_msg("%s does not have: %s", SHIPPED, want + 1);
	}
	free(printed);
	free(shipped);
}

/* ksm-numad.conf(5) has an entry for every key cfg_print writes. */
static void man_page(void **state)
{
	char *man = slurp(MANPAGE), *printed = NULL, *line, *save = NULL;
	char want[512];
	size_t len = 0;
	FILE *f = open_memstream(&printed, &len);
	struct cfg d;

	(void)state;
	cfg_defaults(&d);
	cfg_print(f, &d);
	fclose(f);
	for (line = strtok_r(printed, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#' || line[0] == '[')
			continue;
		*strchr(line, ' ') = '\0';
		snprintf(want, sizeof(want), "\n.BI \"%s = \"", line);
		if (!strstr(man, want))
			fail_msg("%s has no entry for %s", MANPAGE, line);
	}
	free(printed);
	free(man);
}

/* Number of keys in the table (the "key =" lines cfg_print writes). */
static int table_keys(void)
{
	char *printed = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&printed, &len);
	struct cfg d;
	int n = 0;

	assert_non_null(f);
	cfg_defaults(&d);
	cfg_print(f, &d);
	fclose(f);
	for (line = strtok_r(printed, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		n += line[0] != '#' && line[0] != '[';
	free(printed);
	return n;
}

/* Fails unless "KEY = VALUE" alone under [SECTION] is valid and leaves the
 * table's defaults as they are: VALUE is the default.  FILE:LINE says where
 * the documentation gave it. */
static void expect_default(const char *file, int line, const char *section,
                           const char *key, const char *value)
{
	char text[512];
	struct cfg c, d;

	snprintf(text, sizeof(text), "[%s]\n%s = %s\n", section, key, value);
	if (load_str(text, &c) != 0)
		fail_msg("%s:%d: '%s = %s' in [%s] is refused: %s", file, line, key,
		         value, section, errs.msg[0]);
	cfg_defaults(&d);
	if (!cfg_equal(&c, &d))
		fail_msg("%s:%d: documents %s = %s, but the default (config.c, "
		         "cfg_defaults) is another value", file, line, key, value);
}

/* Every commented "#key = value" line of conf/ksm-numad.conf is the table's
 * default of that key, and there is one such line per key: the shipped
 * file cannot drift from cfg_defaults. */
static void shipped_defaults(void **state)
{
	char *text = slurp(SHIPPED), *line, *save = NULL, *eq, *k, *v;
	char section[32] = "";
	int n = 0, lineno = 0;

	(void)state;
	for (line = text; line; line = save) {
		save = strchr(line, '\n');
		if (save)
			*save++ = '\0';
		lineno++;
		if (sscanf(line, "[%31[a-z]]", section) == 1 || line[0] != '#' ||
		    !(line[1] >= 'a' && line[1] <= 'z') || !(eq = strchr(line, '=')))
			continue;
		k = line + 1;
		v = eq + 1 + strspn(eq + 1, " ");
		while (eq > k && eq[-1] == ' ')
			eq--;
		*eq = '\0';
		expect_default(SHIPPED, lineno, section, k, v);
		n++;
	}
	assert_int_equal(n, table_keys());
	free(text);
}

/* The value of a "Default:" in ksm-numad.conf(5): the rest of the line, or
 * the next line without its font macro (".BR info ."); "empty" is "". */
static void man_value(const char *rest, const char *next, char *out, size_t size)
{
	const char *v = *rest ? rest : next;
	size_t n;

	if (!*rest && *v == '.')
		v += strcspn(v, " ") + strspn(v + strcspn(v, " "), " ");
	n = strlen(v);
	while (n && (v[n - 1] == '.' || v[n - 1] == ' '))
		n--;
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v++;
		n -= 2;
	}
	snprintf(out, size, "%.*s", (int)n, v);
	if (strcmp(out, "empty") == 0)
		out[0] = '\0';
}

/* Every "Default:" of ksm-numad.conf(5) is the table's default of the key
 * whose entry it ends, and every key's entry has one. */
static void man_defaults(void **state)
{
	char *text = slurp(MANPAGE), *line, *save = NULL, *next;
	char section[32] = "", key[64] = "", value[128], nextline[128];
	int n = 0, lineno = 0;

	(void)state;
	for (line = text; line; line = save) {
		save = strchr(line, '\n');
		if (save)
			*save++ = '\0';
		lineno++;
		if (sscanf(line, ".SH \"[%31[a-z]] SECTION\"", section) == 1 ||
		    sscanf(line, ".BI \"%63[a-z_] = \"", key) == 1 ||
		    strncmp(line, "Default:", 8) != 0 || !key[0])
			continue;
		next = save ? save : "";
		snprintf(nextline, sizeof(nextline), "%.*s", (int)strcspn(next, "\n"), next);
		man_value(line + 8 + strspn(line + 8, " "), nextline, value, sizeof(value));
		expect_default(MANPAGE, lineno, section, key, value);
		key[0] = '\0';
		n++;
	}
	assert_int_equal(n, table_keys());
	free(text);
}

/* ksm-numad --check-config on an empty file prints the table. */
static void check_config_empty(void **state)
{
	char path[] = "/tmp/kn-empty-XXXXXX", cmd[PATH_MAX * 2 + 64];
	char *want = NULL, got[16384];
	size_t len = 0, n;
	struct cfg d;
	int fd = mkstemp(path);
	FILE *f, *p;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	if (access(DAEMON_BIN, X_OK) < 0) {
		unlink(path);
		skip();                 /* make check builds it first */
	}
	f = open_memstream(&want, &len);
	assert_non_null(f);
	fprintf(f, "%s: OK\n", path);
	cfg_defaults(&d);
	cfg_print(f, &d);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "'%s' --check-config '%s'", DAEMON_BIN, path);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(got, 1, sizeof(got) - 1, p);
	got[n] = '\0';
	assert_int_equal(pclose(p), 0);
	unlink(path);
	assert_string_equal(got, want);
	free(want);
}

/* Odd but valid input, and hostile input that must be reported, not crash. */
static void odd_input(void **state)
{
	static const char nul[] = "[daemon]\ninterval = 1\0 0\nlog_level = info\n";
	char text[512], want[256];
	struct cfg c;

	(void)state;
	assert_int_equal(load_str("\xef\xbb\xbf[daemon]\r\ninterval = 7\r\n", &c), 0);
	assert_int_equal(c.interval_s, 7);
	assert_int_equal(load_str("[daemon]\ninterval = 8", &c), 0);
	assert_int_equal(c.interval_s, 8);
	assert_int_equal(load_str("", &c), 0);
	assert_int_equal(load_str("[ daemon ]\n   interval=9\t#x\n", &c), 0);
	assert_int_equal(c.interval_s, 9);
	/* A comment starts at a blank: this '#' is part of the value. */
	assert_int_equal(load_str("[daemon]\ninterval=9#x\n", &c), -EINVAL);
	assert_string_equal(errs.msg[0], "t:2: interval: '9#x' is not a number "
	                    "(allowed: 1..3600 seconds)");

	memset(&errs, 0, sizeof(errs));
	assert_int_equal(cfg_load_string("t", nul, sizeof(nul) - 1, &c, collect,
	                                 &errs), -EINVAL);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.msg[0], "t:2: syntax error: a NUL byte "
	                    "(allowed: text)");

	/* inih's line buffer holds INI_MAX_LINE bytes with "\n\0". */
	memset(text, 0, sizeof(text));
	strcpy(text, "[vms]\nexclude_names = ");
	memset(text + strlen(text), 'a', 300);
	assert_int_equal(load_str(text, &c), -EINVAL);
	snprintf(want, sizeof(want), "t:2: line too long: key and value have 313 "
	         "characters (allowed: at most %d)", INI_MAX_LINE - 3);
	assert_string_equal(errs.msg[0], want);
	assert_int_equal(errs.n, 1);
	assert_int_equal(load_str("[daemon]\ninterval = \x01\n", &c), -EINVAL);
	assert_string_equal(errs.msg[0], "t:2: interval: '?' is not a number "
	                    "(allowed: 1..3600 seconds)");
}

/* Every bad line is counted; the first 100 are shown. */
static void many_errors(void **state)
{
	char *text = calloc(150, 4);
	struct cfg c;

	(void)state;
	for (int i = 0; i < 150; i++)
		strcat(text, "xx\n");
	assert_int_equal(load_str(text, &c), -EINVAL);
	assert_int_equal(errs.n, 101);
	assert_string_equal(errs.msg[99], "t:100: syntax error: 'xx' is not "
	                    "key = value" SYNTAX_ALLOWED);
	assert_string_equal(errs.msg[100], "t: 50 more errors not shown");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),
		cmocka_unit_test(derived_defaults),
		cmocka_unit_test(good_conf),
		cmocka_unit_test(missing_file),
		cmocka_unit_test(bad_syntax),
		cmocka_unit_test(bad_values),
		cmocka_unit_test(bad_keys),
		cmocka_unit_test(out_untouched),
		cmocka_unit_test(boundaries),
		cmocka_unit_test(words),
		cmocka_unit_test(lists),
		cmocka_unit_test(pids),
		cmocka_unit_test(new_keys),
		cmocka_unit_test(pattern_match),
		cmocka_unit_test(round_trip),
		cmocka_unit_test(shipped_conf),
		cmocka_unit_test(man_page),
		cmocka_unit_test(shipped_defaults),
		cmocka_unit_test(man_defaults),
		cmocka_unit_test(check_config_empty),
		cmocka_unit_test(odd_input),
		cmocka_unit_test(many_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
