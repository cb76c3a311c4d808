/* migrate.h - `ksm-numad --migrate PID --to NODES`: the migration engine in
 * the foreground, a safe replacement for migratepages(8). */
#ifndef KN_MIGRATE_H
#define KN_MIGRATE_H

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "root.h"

/* Moves PID's memory to the nodes listed in NODES ("1", "0-1,3") with the
 * engine and CFG's budgets; progress on a terminal, a summary on stdout.
 * With DRY_RUN nothing moves: the calls it would make are counted.
 * Returns the process exit status: 0 done (or stopped at a node's reserve),
 * 1 error, MIGRATE_GONE when the process does not exist or exited. */
#define MIGRATE_GONE 4
int migrate_cmd(const struct rt_root *r, const struct cfg *cfg, pid_t pid,
                const char *nodes, bool dry_run);

#endif
