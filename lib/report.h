/* report.h - the human-readable report of a snapshot (--oneshot --dry-run). */
#ifndef KN_REPORT_H
#define KN_REPORT_H

#include <stdio.h>

#include "root.h"
#include "snapshot.h"

/* Prints nodes, KSM state and its meaning, and every candidate VM. */
void report_print(FILE *f, const struct rt_root *r, const struct snapshot *s);

/* One line summing up the snapshot, for sd_notify STATUS= and the log. */
void report_status(char *buf, size_t size, const struct snapshot *s);

#endif
