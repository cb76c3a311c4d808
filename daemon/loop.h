/* loop.h - the daemon's event loop (sd-event): the periodic pass, signals,
 * sd_notify and the watchdog.
 *
 * Everything the daemon does after start-up runs from this one loop; signal
 * handlers are sd-event sources, so no work happens in signal context.
 */
#ifndef KN_LOOP_H
#define KN_LOOP_H

#include <stdbool.h>

#include "config.h"
#include "root.h"

/* Loads the configuration into OUT for a reload, logging every error;
 * returns 0 or a negative errno (OUT is then undefined). */
typedef int loop_load_fn(void *data, struct cfg *out);

struct loop_opts {
	const struct rt_root *root;     /* the host (or tree) to observe */
	const struct cfg *cfg;          /* the configuration to start with (copied) */
	const char *cfg_name;           /* what SIGHUP re-reads, for messages */
	loop_load_fn *load;             /* called on SIGHUP */
	void *load_data;
	bool dry_run;                   /* decide and log, change nothing */
};

/* Runs the daemon until SIGTERM or SIGINT: a pass at once and then every
 * interval, READY=1 after the first pass, SIGHUP reloads.  Returns 0 after a
 * clean stop, a negative errno if the loop could not be set up or failed. */
int loop_run(const struct loop_opts *o);

#endif
