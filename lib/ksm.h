/* ksm.h - the kernel's KSM state (/sys/kernel/mm/ksm) and what it means
 * for page migration.
 *
 * Every known file is optional: a file that is absent means an older kernel
 * (max_page_sharing arrived in 4.13, ksm_zero_pages in 6.5 ...) and is
 * reported as such, never as an error.
 */
#ifndef KN_KSM_H
#define KN_KSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "root.h"

enum ksm_key {
	KSM_RUN,
	KSM_PAGES_SHARED,
	KSM_PAGES_SHARING,
	KSM_PAGES_UNSHARED,
	KSM_PAGES_VOLATILE,
	KSM_FULL_SCANS,
	KSM_MAX_PAGE_SHARING,
	KSM_STABLE_NODE_CHAINS,
	KSM_STABLE_NODE_DUPS,
	KSM_STABLE_NODE_CHAINS_PRUNE_MS,
	KSM_MERGE_ACROSS_NODES,
	KSM_USE_ZERO_PAGES,
	KSM_ZERO_PAGES,
	KSM_GENERAL_PROFIT,
	KSM_PAGES_TO_SCAN,
	KSM_SLEEP_MILLISECS,
	KSM_PAGES_SKIPPED,
	KSM_SMART_SCAN,
	KSM_MAX_CPU,                    /* file advisor_max_cpu */
	KSM_NKEYS
};

struct ksm_state {
	bool present;                   /* the ksm directory exists */
	bool has[KSM_NKEYS];            /* the file exists and parsed */
	bool garbled[KSM_NKEYS];        /* the file exists but did not parse */
	int64_t val[KSM_NKEYS];         /* its value (general_profit may be < 0) */
	char advisor_mode[32];          /* selected advisor_mode, "" if absent */
	int nbad;                       /* files present but unparsable */
	char bad[4][48];                /* the first few of their names */
};

/* File name of KEY under the ksm directory ("max_page_sharing"). */
const char *ksm_key_name(enum ksm_key key);

/* Reads every KSM file that exists under R into S.  Returns 0 even when KSM
 * is absent (S->present false); -errno only for unexpected read failures
 * (S then holds every file that could be read). */
int ksm_read(const struct rt_root *r, struct ksm_state *s);

/* Value of KEY, or DEF when the file was absent. */
int64_t ksm_get(const struct ksm_state *s, enum ksm_key key, int64_t def);

#define KSM_LINE_LEN 160

/* What the state means for migration, one sentence a line: fills up to
 * MAX lines and returns their number. */
int ksm_assess(const struct ksm_state *s, char (*lines)[KSM_LINE_LEN], int max);

/* True if KSM pages may be migrated at all: the kernel bounds chains
 * (max_page_sharing exists) and KSM is present. */
bool ksm_chains_bounded(const struct ksm_state *s);

/* The knobs ksm-numad may set (set_max_page_sharing, set_use_zero_pages). */
enum ksm_knob_id { KSM_KNOB_MAX_PAGE_SHARING, KSM_KNOB_USE_ZERO_PAGES, KSM_NKNOBS };

/* What became of one knob the configuration asks for. */
enum ksm_outcome {
	KSM_KEEP,               /* not asked: the configuration says keep */
	KSM_EQUAL,              /* the kernel had the value already: not written */
	KSM_SET,                /* written by ksm-numad */
	KSM_WOULD_SET,          /* dry run: would be written */
	KSM_REFUSED,            /* max_page_sharing while KSM shares pages */
	KSM_ABSENT,             /* no such file: KSM absent or an older kernel */
	KSM_FAILED,             /* the write failed otherwise (err) */
};

struct ksm_knob {
	enum ksm_key key;               /* KSM_MAX_PAGE_SHARING or KSM_USE_ZERO_PAGES */
	enum ksm_outcome outcome;
	int64_t want;                   /* the value asked; -1 = keep */
	int64_t had;                    /* the kernel's value before; -1 = unknown */
	int64_t shared;                 /* KSM_REFUSED: pages_shared then; -1 = unknown */
	bool no_ksm;                    /* KSM_ABSENT: the whole KSM directory is */
	int err;                        /* KSM_FAILED: the errno of the write */
};

struct ksm_knobs {
	struct ksm_knob k[KSM_NKNOBS];  /* indexed by enum ksm_knob_id */
};

/* The KSM file of knob ID (KSM_MAX_PAGE_SHARING ...). */
enum ksm_key ksm_knob_key(enum ksm_knob_id id);

#define KSM_SAY_LEN 256

/* Makes the kernel's max_page_sharing MPS and use_zero_pages ZERO (-1 =
 * keep) under R: writes only a value that differs from the kernel's, and
 * max_page_sharing only while KSM shares no page (the kernel refuses it
 * otherwise); writes nothing when DRY_RUN.  K (from the last call, or
 * zeroed) receives each knob's outcome; a knob K says this daemon set, and
 * that the kernel still has as asked, stays KSM_SET.  Never fails. */
void ksm_apply(const struct rt_root *r, int64_t mps, int zero, bool dry_run,
               struct ksm_knobs *k);

/* One sentence on KNOB for the log and status ("max_page_sharing 512 (set
 * by ksm-numad; the kernel had 256)") into BUF; "" when not asked. */
void ksm_knob_say(const struct ksm_knob *knob, char *buf, size_t size);

/* Short name of OUTCOME for JSON and metrics ("set", "refused" ...). */
const char *ksm_outcome_name(enum ksm_outcome o);

#endif
