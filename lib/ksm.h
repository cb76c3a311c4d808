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

#endif
