/* config.h - /etc/ksm-numad.conf: defaults, parsing (inih), validation.
 *
 * The daemon holds one struct cfg and passes it by const pointer; a reload
 * parses into a fresh struct and swaps only when the whole file is valid.
 * Every error is reported as "FILE:LINE: message (allowed: ...)".
 */
#ifndef KN_CONFIG_H
#define KN_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "idset.h"

#define CFG_DEFAULT_PATH SYSCONFDIR "/ksm-numad.conf"
#define CFG_MAX_PATTERNS 32
#define CFG_PATTERN_LEN 64
#define CFG_MAX_PIDS 64
#define CFG_DIR_LEN 92                  /* a socket path under it fits sun_path */

/* Where the control sockets live unless told otherwise: control_dir's
 * default, and ksm-numadctl's (-DKN_CONTROL_DIR=... overrides it). */
#ifndef KN_CONTROL_DIR
#define KN_CONTROL_DIR "/run/ksm-numad"
#endif

struct cfg_patterns {
	int n;
	char p[CFG_MAX_PATTERNS][CFG_PATTERN_LEN];
};

struct cfg_pids {
	int n;
	pid_t pid[CFG_MAX_PIDS];
};

struct cfg {
	/* [daemon] */
	unsigned interval_s;            /* seconds between passes (numad -i) */
	int log_level;                  /* syslog priority */
	char control_dir[CFG_DIR_LEN];  /* ksm-numadctl's sockets; "" = none */
	/* [placement] */
	unsigned target_utilization;    /* percent of a node's CPUs to fill (numad -u) */
	unsigned target_locality;       /* percent of memory that should be local (numad -m) */
	uint64_t reserve_mb;            /* free memory kept on every node */
	unsigned min_gain;              /* percent a new home must score above the current */
	unsigned cooldown;              /* intervals after a move before the VM moves again */
	unsigned max_moves;             /* VMs given a new home per interval */
	struct idset reserved_cpus;     /* never given to VMs (numad -R) */
	/* [migration] */
	unsigned call_budget_ms;        /* worst time one move_pages call may take */
	unsigned pause_ms;              /* pause between two calls */
	uint64_t interval_budget_mb;    /* memory moved per interval, all VMs */
	/* [ksm] */
	bool move_ksm_pages;            /* may KSM pages be moved at all */
	unsigned ksm_max_mapcount;      /* KSM pages shared more often stay put */
	long set_max_page_sharing;      /* applied at start; -1 = leave alone */
	int set_use_zero_pages;         /* applied at start; -1 = leave alone */
	/* [vms] */
	char libvirt_uri[256];          /* "" = process mode only */
	struct cfg_patterns process_names;  /* fnmatch patterns of candidate commands */
	struct cfg_patterns exclude_names;  /* never managed */
	struct cfg_pids include_pids;   /* managed whatever their size (numad -p) */
	struct cfg_pids exclude_pids;   /* never managed (numad -x) */
	uint64_t min_memory_mb;         /* smaller processes are not candidates */
	bool scan_all;                  /* every matching process; no: include_pids only (numad -S) */
	bool manage_pinned_domains;     /* domains pinned or numatuned in their XML too */
};

/* Called once per error with a complete "FILE:LINE: ..." message. */
typedef void cfg_error_fn(void *data, const char *msg);

/* Fills CFG with the built-in defaults: the one table of them.  The
 * policy's, the mover's and the balancer's defaults derive from it
 * (pol_params_default, mv_opts_live); ksm-numad.conf and
 * ksm-numad.conf(5) show it (test_config checks they do). */
void cfg_defaults(struct cfg *cfg);

/* Parses PATH over the defaults into OUT; reports every error through ERR.
 * Returns 0, -EINVAL if any line was bad (OUT then undefined), or -errno if
 * the file cannot be read (reported too).  OUT is written only on success. */
int cfg_load(const char *path, struct cfg *out, cfg_error_fn *err, void *data);

/* Same as cfg_load, for the LEN bytes at TEXT; NAME stands for the file in
 * messages.  Returns 0, -EINVAL or -ENOMEM. */
int cfg_load_string(const char *name, const char *text, size_t len,
                    struct cfg *out, cfg_error_fn *err, void *data);

/* True if both hold the same settings (what cfg_print shows). */
bool cfg_equal(const struct cfg *a, const struct cfg *b);

/* Prints the effective settings as a valid config file. */
void cfg_print(FILE *f, const struct cfg *cfg);

/* True if COMM matches one of the patterns. */
bool cfg_patterns_match(const struct cfg_patterns *p, const char *comm);

/* True if PID is in the list. */
bool cfg_pids_has(const struct cfg_pids *p, pid_t pid);

#endif
