/* numad_compat.h - ksm-numad started as "numad": numad 0.5's command line
 * mapped onto ksm-numad, so a host can replace numad without touching
 * libvirt or scripts.
 *
 * numad's modes become: -w answers a placement question (place.h); -p,
 * -x and -r alone go to the running daemon over the control socket; -i 0
 * (numad's way to stop) only says to use systemctl; anything else runs the
 * daemon with numad's settings over the configuration file's (or, with a
 * daemon already running, hands it the PID lists, as numad does).
 * Options numad has and ksm-numad does not are accepted with a warning.
 */
#ifndef KN_NUMAD_COMPAT_H
#define KN_NUMAD_COMPAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "config.h"
#include "idset.h"

#define NC_MAX_WARN 16
#define NC_WARN_LEN 192
#define NC_CONTINUE (-1)        /* numad_compat_client: the caller goes on */

enum nc_mode {
	NC_RUN,                 /* run the daemon with the overrides */
	NC_ANSWER,              /* -w: print a node list (place_main) */
	NC_SEND,                /* only -p/-x/-r: tell the running daemon */
	NC_STOP,                /* -i 0: numad would stop; we point to systemctl */
	NC_VERSION,             /* -V */
	NC_HELP,                /* -h */
};

enum nc_verb { NC_INCLUDE, NC_EXCLUDE, NC_FORGET };     /* -p, -x, -r */

struct nc_op {
	enum nc_verb verb;
	pid_t pid;
};

struct numad_compat {
	enum nc_mode mode;
	const char *place_spec;         /* -w's argument (points into argv) */
	int ncpus;                      /* -w, parsed */
	uint64_t mem_mib;
	/* Overrides of struct cfg: each applies only when its set_ flag is. */
	bool set_interval;
	unsigned interval_s;            /* -i MAX */
	bool set_utilization;
	unsigned target_utilization;    /* -u */
	bool set_locality;
	unsigned target_locality;       /* -m */
	bool set_log_level;
	int log_level;                  /* -l, -d (7), -v (6): syslog priority */
	bool set_scan_all;
	bool scan_all;                  /* -S */
	bool set_reserved;
	struct idset reserved_cpus;     /* -R */
	int nops;
	struct nc_op op[CFG_MAX_PIDS];  /* -p, -x, -r in command-line order */
	int nwarn;
	char warn[NC_MAX_WARN][NC_WARN_LEN];    /* accepted, but not as numad */
};

/* Parses numad's options in ARGV (ARGV[0] is the program) into OUT; 0, or
 * -EINVAL with a one-line reason in ERR (ERRLEN bytes).  Uses getopt(3)
 * and resets it first. */
int numad_compat_parse(int argc, char **argv, struct numad_compat *out,
                       char *err, size_t errlen);

/* Applies NC's overrides and PID lists to CFG, in numad's order (-p takes
 * a PID off the exclusion list, -x off the inclusion list, -r off both);
 * -ENOSPC if a list overflowed CFG_MAX_PIDS (the rest of NC still applied). */
int numad_compat_apply(const struct numad_compat *nc, struct cfg *cfg);

/* numad's options as this command understands them. */
void numad_compat_usage(FILE *f, const char *prog);

/* Prints NC's warnings to ERR, then does what needs no configuration:
 * help and version (on OUT), -i 0, the PID lists for a running daemon
 * under CONTROL_DIR (NC_SEND; NC_RUN and NC_ANSWER when one runs).
 * Returns an exit status, or NC_CONTINUE when the caller must still run
 * the daemon (NC_RUN, none running) or answer -w (NC_ANSWER). */
int numad_compat_client(const struct numad_compat *nc, const char *prog,
                        const char *control_dir, FILE *out, FILE *err);

#endif
