/* report.h - the human-readable report of a snapshot (--oneshot --dry-run). */
#ifndef KN_REPORT_H
#define KN_REPORT_H

#include <stdio.h>

#include "policy.h"
#include "root.h"
#include "snapshot.h"

/* Prints nodes, KSM state and its meaning, and every candidate VM. */
void report_print(FILE *f, const struct rt_root *r, const struct snapshot *s);

/* One line summing up the snapshot, for sd_notify STATUS= and the log. */
void report_status(char *buf, size_t size, const struct snapshot *s);

/* Prints each VM's decision with its reasons (IN and RES from one pass). */
void report_decisions(FILE *f, const struct pol_input *in, const struct pol_result *res);

/* Appends "; N VMs: a local, b settling, c moved, d held" to a status line. */
void report_status_decisions(char *buf, size_t size, const struct pol_result *res);

#endif
