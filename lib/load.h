/* load.h - how busy CPUs and processes are, from the kernel's tick counters.
 *
 * A sample is one reading of the per-CPU counters of the proc stat file.
 * Rates come from two samples; with no earlier sample they are averages
 * since boot (or since the process started), so a one-shot pass still has
 * a figure.  Time is measured in the counters' own ticks (the mean of the
 * CPUs' totals), never by a clock: a replayed tree gives the same answer.
 */
#ifndef KN_LOAD_H
#define KN_LOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "root.h"

struct ld_sample {
	int ncpu;                   /* entries: CPU ids 0..ncpu-1 */
	uint64_t *busy;             /* ticks not idle or iowait, per CPU id */
	uint64_t *total;            /* all ticks, per CPU id (0: CPU not listed) */
	uint64_t elapsed;           /* ticks since boot of one CPU (mean of the listed) */
};

/* Parses the text of a proc stat file into S; -EINVAL if no cpuN line parses. */
int ld_parse(const char *buf, struct ld_sample *s);

/* Reads the proc stat file under R into S; -errno (S empty) on failure. */
int ld_read(const struct rt_root *r, struct ld_sample *s);

/* Frees what ld_parse/ld_read allocated and empties S. */
void ld_free(struct ld_sample *s);

/* Busy fraction (0..1) of CPU between PREV (NULL: boot) and CUR; -1 unknown. */
double ld_cpu_busy(const struct ld_sample *prev, const struct ld_sample *cur, int cpu);

/* CPUs' worth a process used: its utime+stime ticks went from TICKS_PREV
 * (at PREV) to TICKS_NOW (at CUR).  PREV NULL: since the process started
 * at STARTTIME (ticks after boot).  -1 when the interval is empty. */
double ld_proc_use(const struct ld_sample *prev, const struct ld_sample *cur,
                   uint64_t ticks_prev, uint64_t ticks_now, uint64_t starttime);

#endif
