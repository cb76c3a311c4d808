/* loop.c - the daemon's event loop.
 *
 * One sd-event loop: an interval timer for the passes, signalfd sources for
 * SIGTERM/SIGINT/SIGHUP (blocked first, so nothing runs in signal context),
 * and sd-event's own watchdog pings.  sd_notify calls are no-ops when
 * NOTIFY_SOCKET is unset.
 */
#include "loop.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "balance.h"
#include "load.h"
#include "log.h"
#include "report.h"
#include "snapshot.h"

#define USEC_PER_SEC 1000000ULL
#define STATUS_LEN 256

struct loop {
	const struct loop_opts *o;
	sd_event *e;
	sd_event_source *timer;
	sd_event_source *step;          /* one move call per firing, pause_ms apart */
	struct cfg cfg;                 /* the running configuration */
	struct bal bal;
	struct pin_dry pin_dry;         /* --dry-run: what would have been pinned */
	bool load_failed;               /* the CPU counters could not be read last time */
	char status[STATUS_LEN];        /* last STATUS= text, one line */
};

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

/* Sends PREFIX (e.g. "READY=1\n", may be "") followed by the status line. */
static void notify_status(const struct loop *l, const char *prefix)
{
	sd_notifyf(0, "%sSTATUS=%s", prefix, l->status);
}

/* The CPU counters; a failure is logged once, then counted as idle CPUs. */
static void read_load(struct loop *l, struct ld_sample *load)
{
	int r = ld_read(l->o->root, load);

	if (r < 0 && !l->load_failed)
		log_warn("cannot read the CPU counters under %s: %s; CPU load counts "
			 "as zero until they can be read", rt_dir(l->o->root), strerror(-r));
	else if (r >= 0 && l->load_failed)
		log_info("CPU counters readable again");
	l->load_failed = r < 0;
}

/* Starts the move calls of this interval (one per step, pause_ms apart). */
static void start_steps(struct loop *l)
{
	if (l->o->dry_run || !bal_pending(&l->bal))
		return;
	if (sd_event_source_set_time(l->step, now_usec()) < 0 ||
	    sd_event_source_set_enabled(l->step, SD_EVENT_ONESHOT) < 0)
		log_err("cannot schedule memory moves; they wait for the next interval");
}

/* The status line: the snapshot, then the decisions (or, while PRIMING,
 * that the first decisions come next interval). */
static void set_status(struct loop *l, const struct snapshot *s, bool priming)
{
	size_t len;

	report_status(l->status, sizeof(l->status), s);
	len = strlen(l->status);
	if (priming)
		snprintf(l->status + len, sizeof(l->status) - len,
			 "; measuring CPU use, first decisions next interval");
	else
		report_status_decisions(l->status + len, sizeof(l->status) - len,
					&l->bal.res);
	/* STATUS= is one line: never let a stray newline start another field. */
	for (char *p = l->status; (p = strchr(p, '\n')); )
		*p = ' ';
}

/* One pass: observe, decide, pin, and hand the moves to the step source. */
static void pass(struct loop *l)
{
	struct snapshot s;
	struct ld_sample load;
	bool priming;
	int r = snap_take(l->o->root, &l->cfg, &s);

	if (r < 0) {
		/* snap_take has logged what failed; try again next interval. */
		snprintf(l->status, sizeof(l->status),
			 "observation failed (%s), retrying in %u s",
			 strerror(-r), l->cfg.interval_s);
		log_warn("%s", l->status);
		return;
	}
	read_load(l, &load);
	bal_configure(&l->bal, &l->cfg, &s.ksm);
	/* CPU use needs two readings: the first decisions come next time. */
	priming = !l->bal.have_load && !l->load_failed;
	r = priming ? bal_prime(&l->bal, &s, &load) : bal_pass(&l->bal, &s, &load);
	if (r < 0)
		log_err("no placement decided this interval: %s; retrying in %u s",
			strerror(-r), l->cfg.interval_s);
	set_status(l, &s, priming);
	snap_free(&s);
	log_info("%s", l->status);
	start_steps(l);
}

static int on_step(sd_event_source *src, uint64_t usec, void *data)
{
	struct loop *l = data;
	struct mv_step st;

	(void)usec;
	if (bal_step(&l->bal, &st) > 0) {
		sd_event_source_set_time(src, now_usec() + (uint64_t)l->cfg.pause_ms * 1000);
		sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
	}
	return 0;
}

/* Schedules the next pass one interval from now (after the pass, not
 * before it: a slow pass never makes passes run back to back). */
static int arm(struct loop *l)
{
	uint64_t next = now_usec() + (uint64_t)l->cfg.interval_s * USEC_PER_SEC;
	int r = sd_event_source_set_time(l->timer, next);

	if (r >= 0)
		r = sd_event_source_set_enabled(l->timer, SD_EVENT_ONESHOT);
	if (r < 0)
		log_err("cannot arm the interval timer: %s", strerror(-r));
	return r;
}

static int on_timer(sd_event_source *src, uint64_t usec, void *data)
{
	struct loop *l = data;
	int r;

	(void)src;
	(void)usec;
	pass(l);
	notify_status(l, "");
	r = arm(l);
	return r < 0 ? sd_event_exit(l->e, r) : 0;
}

static int on_stop(sd_event_source *src, const struct signalfd_siginfo *si,
                   void *data)
{
	struct loop *l = data;

	(void)src;
	log_notice("%s received, stopping",
		   si->ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
	sd_notify(0, "STOPPING=1");
	return sd_event_exit(l->e, 0);
}

/* Swaps in a freshly loaded configuration. */
static int apply(struct loop *l, const struct cfg *fresh)
{
	l->cfg = *fresh;
	log_set_level(l->cfg.log_level);
	log_notice("configuration %s reloaded: interval %u s, log level %s",
		   l->o->cfg_name, l->cfg.interval_s,
		   log_level_name(l->cfg.log_level));
	return arm(l);
}

static int on_reload(sd_event_source *src, const struct signalfd_siginfo *si,
                     void *data)
{
	struct loop *l = data;
	struct cfg fresh;
	int r;

	(void)src;
	(void)si;
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64, now_usec());
	log_info("SIGHUP received, reloading %s", l->o->cfg_name);
	r = l->o->load(l->o->load_data, &fresh);
	if (r < 0) {
		log_err("%s: not reloaded, keeping the running configuration",
			l->o->cfg_name);
		snprintf(l->status, sizeof(l->status),
			 "reload of %s failed, running configuration kept",
			 l->o->cfg_name);
	} else {
		r = apply(l, &fresh);
		if (r < 0)
			return sd_event_exit(l->e, r);
	}
	notify_status(l, "READY=1\n");
	return 0;
}

/* Blocks the signals we handle and turns them into event sources. */
static int add_signals(struct loop *l)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	sigset_t set;
	int r;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&set, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		r = sd_event_add_signal(l->e, NULL, sigs[i],
					sigs[i] == SIGHUP ? on_reload : on_stop, l);
		if (r < 0)
			return r;
	}
	return 0;
}

static int setup(struct loop *l)
{
	int r = sd_event_new(&l->e);

	if (r < 0)
		return r;
	r = add_signals(l);
	if (r < 0)
		return r;
	/* Disabled until arm(): the first pass runs before the loop. */
	r = sd_event_add_time(l->e, &l->timer, CLOCK_MONOTONIC, 0, 0, on_timer, l);
	if (r >= 0)
		r = sd_event_source_set_enabled(l->timer, SD_EVENT_OFF);
	/* Move calls: accuracy 0 so the pause between them stays as configured. */
	if (r >= 0)
		r = sd_event_add_time(l->e, &l->step, CLOCK_MONOTONIC, 0, 1, on_step, l);
	if (r >= 0)
		r = sd_event_source_set_enabled(l->step, SD_EVENT_OFF);
	if (r < 0)
		return r;
	/* Pings WATCHDOG=1 from the loop when WatchdogSec= is set; else a no-op. */
	r = sd_event_set_watchdog(l->e, 1);
	if (r > 0)
		log_debug("watchdog enabled");
	return r < 0 ? r : 0;
}

/* The balancer: live pinning and moves, or dry-run ones that only record. */
static void init_bal(struct loop *l)
{
	struct pin_backend pin = pin_live;
	struct mv_opts mv;

	mv_opts_live(&mv, l->o->root);
	if (l->o->dry_run)
		pin = pin_dry_backend(&l->pin_dry);
	bal_init(&l->bal, &pin, &mv);
	l->bal.dry_run = l->o->dry_run;
}

int loop_run(const struct loop_opts *o)
{
	struct loop l = { .o = o, .cfg = *o->cfg };
	int r = setup(&l);

	init_bal(&l);

	if (r >= 0) {
		pass(&l);
		r = arm(&l);
	}
	if (r >= 0) {
		notify_status(&l, "READY=1\n");
		r = sd_event_loop(l.e);
	}
	bal_free(&l.bal);
	pin_dry_free(&l.pin_dry);
	sd_event_source_unref(l.step);
	sd_event_source_unref(l.timer);
	sd_event_unref(l.e);
	return r;
}
