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
#include "ctl.h"
#include "ctlsock.h"
#include "ksm.h"
#include "load.h"
#include "log.h"
#include "report.h"
#include "snapshot.h"
#include "state.h"
#include "vmsrc.h"

#define USEC_PER_SEC 1000000ULL
#define STATUS_LEN 256
#define SOON_USEC 200000ULL             /* a domain started or stopped: plan this soon */

struct loop {
	const struct loop_opts *o;
	sd_event *e;
	sd_event_source *timer;
	sd_event_source *step;          /* one move call per firing, pause_ms apart */
	struct cfg cfg;                 /* the running configuration */
	struct cfg_pids include, exclude; /* PIDs added at run time (numad -p, -x) */
	struct vmsrc *src;              /* libvirt's domains or processes */
	int src_err;                    /* -errno: it could not follow libvirt_uri yet */
	struct ctlsock *ctl;            /* NULL: no control socket */
	struct ksm_state ksm;           /* as the last pass read it */
	struct ksm_knobs knobs;         /* what became of set_max_page_sharing ... */
	bool priming;                   /* the last pass only measured */
	uint64_t started;               /* now_usec() at start */
	struct bal bal;
	struct pin_dry pin_dry;         /* --dry-run: what would have been pinned */
	bool load_failed;               /* the CPU counters could not be read last time */
	char status[STATUS_LEN];        /* last STATUS= text, one line */
	struct st_file state;           /* what a restarted daemon needs (closed: none) */
	char state_dir[CFG_DIR_LEN];    /* the control_dir it was opened for, or tried */
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

/* Makes timer S fire once, at USEC; 0 or -errno.  Every timer of the
 * loop is (re)scheduled here. */
static int schedule(sd_event_source *s, uint64_t usec)
{
	int r = sd_event_source_set_time(s, usec);

	return r < 0 ? r : sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

/* Starts the move calls of this interval (one per step, pause_ms apart). */
static void start_steps(struct loop *l)
{
	int r;

	if (l->o->dry_run || !bal_pending(&l->bal))
		return;
	r = schedule(l->step, now_usec());
	if (r < 0)
		log_warn("cannot schedule memory moves: %s; they wait for the next pass "
			 "in %u s", strerror(-r), l->cfg.interval_s);
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

/* The configuration of a pass: the file's, plus the PIDs included or
 * excluded at run time. */
static void effective(const struct loop *l, struct cfg *c)
{
	*c = l->cfg;
	for (int i = 0; i < l->include.n && c->include_pids.n < CFG_MAX_PIDS; i++)
		if (!cfg_pids_has(&c->include_pids, l->include.pid[i]))
			c->include_pids.pid[c->include_pids.n++] = l->include.pid[i];
	for (int i = 0; i < l->exclude.n && c->exclude_pids.n < CFG_MAX_PIDS; i++)
		if (!cfg_pids_has(&c->exclude_pids, l->exclude.pid[i]))
			c->exclude_pids.pid[c->exclude_pids.n++] = l->exclude.pid[i];
}

/* Makes the VM source follow libvirt_uri; one that cannot start leaves the
 * running source in place, and the next pass tries again. */
static void follow_uri(struct loop *l)
{
	int r = vmsrc_reconfigure(l->src, &l->cfg);

	if (r < 0)
		log_msg(r == l->src_err ? LOG_DEBUG : LOG_ERR, "cannot switch to libvirt_uri "
			"'%s': %s; VMs still come from %s, trying again at the next pass",
			l->cfg.libvirt_uri, strerror(-r), vmsrc_describe(l->src));
	l->src_err = r < 0 ? r : 0;
}

/* Whether what this daemon pins is kept for the daemon after it (state.h):
 * not in a dry run (nothing is pinned), nor without a control directory
 * of its own (none configured, or another daemon answers there). */
static bool state_wanted(const struct loop *l)
{
	return !l->o->dry_run && l->cfg.control_dir[0] && l->ctl;
}

/* Opens the state file under control_dir; false (said) if it cannot be. */
static bool state_open(struct loop *l)
{
	int r;

	st_close(&l->state);
	snprintf(l->state_dir, sizeof(l->state_dir), "%s", l->cfg.control_dir);
	r = st_open(&l->state, l->cfg.control_dir, l->o->root);
	if (r < 0)
		log_warn("no state file under %s: %s; after a restart the daemon takes its "
			 "own pinning for an admin's", l->cfg.control_dir, strerror(-r));
	return r >= 0;
}

/* At start, before the first pass: what the daemon before this one did. */
static void load_state(struct loop *l)
{
	struct st_data d;

	if (!state_wanted(l)) {
		log_msg(l->o->dry_run ? LOG_DEBUG : LOG_NOTICE, "%s: what this daemon pins "
			"is not kept across a restart", l->o->dry_run ? "dry run" :
			!l->cfg.control_dir[0] ? "control_dir is empty" : "no control socket");
		return;
	}
	if (!state_open(l) ||
	    st_load(&l->state, now_usec(), l->cfg.interval_s * USEC_PER_SEC, &d) <= 0)
		return;
	if (bal_state_put(&l->bal, &d) < 0 || vmsrc_state_put(l->src, &d) < 0)
		log_warn("%s: out of memory taking it; VMs pinned before this start may be "
			 "left alone as an admin's", l->state.path);
	else
		log_msg(d.nvm + d.ndom ? LOG_NOTICE : LOG_INFO, "%s: %d VM(s) and %d "
			"domain(s) this daemon pinned or placed before it restarted",
			l->state.path, d.nvm, d.ndom);
	st_free(&d);
}

/* After a pass: the state file follows control_dir and what changed. */
static void keep_state(struct loop *l)
{
	struct st_data d = { 0 };

	if (!state_wanted(l))
		return;
	if (strcmp(l->state_dir, l->cfg.control_dir) != 0) {
		st_remove(&l->state);
		state_open(l);
	}
	if (!l->state.dir[0])
		return;
	if (bal_state_get(&l->bal, &d) == 0 && vmsrc_state_get(l->src, &d) == 0)
		st_save(&l->state, &d, now_usec());
	else
		log_warn("too many VMs or out of memory: %s not written", l->state.path);
	st_free(&d);
}

/* One pass: observe, decide, pin, and hand the moves to the step source. */
static void pass(struct loop *l)
{
	struct snapshot s;
	struct ld_sample load;
	struct cfg c;
	bool priming;
	int r;

	/* What could not be done between passes is tried again now. */
	if (l->src_err)
		follow_uri(l);
	ctlsock_resume(l->ctl);
	effective(l, &c);
	r = snap_take_domains(l->o->root, &c, vmsrc_domains(l->src, &c), &s);

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
	l->priming = priming;
	l->ksm = s.ksm;
	set_status(l, &s, priming);
	snap_free(&s);
	log_info("%s", l->status);
	start_steps(l);
	keep_state(l);
}

static int on_step(sd_event_source *src, uint64_t usec, void *data)
{
	struct loop *l = data;
	struct mv_step st;
	int r;

	(void)usec;
	if (bal_step(&l->bal, &st) <= 0)
		return 0;
	/* The moves keep their progress: the next pass starts them again. */
	r = schedule(src, now_usec() + (uint64_t)l->cfg.pause_ms * 1000);
	if (r < 0)
		log_warn("cannot schedule the next memory move: %s; moves resume at the "
			 "next pass in %u s", strerror(-r), l->cfg.interval_s);
	return 0;
}

/* Schedules the next pass one interval from now (after the pass, not
 * before it: a slow pass never makes passes run back to back). */
static int arm(struct loop *l)
{
	uint64_t next = now_usec() + (uint64_t)l->cfg.interval_s * USEC_PER_SEC;
	int r = schedule(l->timer, next);

	/* Nothing else would ever run a pass: systemd restarts the daemon. */
	if (r < 0)
		log_err("cannot schedule the next pass: %s; stopping, for the service "
			"manager to restart the daemon", strerror(-r));
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

/* A domain started or stopped: the next pass comes within SOON_USEC
 * rather than at the end of the interval. */
static void plan_soon(void *data)
{
	struct loop *l = data;
	uint64_t soon = now_usec() + SOON_USEC, next;
	int r;

	if (sd_event_source_get_time(l->timer, &next) >= 0 && next <= soon)
		return;
	r = schedule(l->timer, soon);
	if (r < 0)
		log_warn("cannot schedule an early pass: %s; the VMs are planned at the "
			 "next interval", strerror(-r));
}

/* Logs what became of knob N; PREV is what the last (re)load found. */
static void log_knob(const struct ksm_knob *n, const struct ksm_knob *prev)
{
	char line[KSM_SAY_LEN];

	ksm_knob_say(n, line, sizeof(line));
	if (n->outcome == KSM_KEEP)
		return;
	if (n->outcome == KSM_EQUAL ||
	    (n->outcome == KSM_SET && prev->outcome == KSM_SET && prev->want == n->want))
		log_info("KSM: %s", line);
	else if (n->outcome == KSM_SET || n->outcome == KSM_WOULD_SET)
		log_notice("KSM: %s", line);
	else
		log_warn("KSM: %s; the daemon runs on", line);
}

/* Writes the KSM knobs the configuration asks for, at start and on reload,
 * and says what became of each: a refusal never stops the daemon. */
static void set_knobs(struct loop *l)
{
	struct ksm_knobs prev = l->knobs;

	ksm_apply(l->o->root, l->cfg.set_max_page_sharing, l->cfg.set_use_zero_pages,
		  l->o->dry_run, &l->knobs);
	for (int i = 0; i < KSM_NKNOBS; i++) {
		const struct ksm_knob *n = &l->knobs.k[i];

		log_knob(n, &prev.k[i]);
		/* Status shows the new value before the next pass reads it. */
		if (n->outcome == KSM_SET && l->ksm.present) {
			l->ksm.has[n->key] = true;
			l->ksm.garbled[n->key] = false;
			l->ksm.val[n->key] = n->want;
		}
	}
}

/* Starts, moves or stops the control sockets after a (re)load. */
static void control(struct loop *l, const char *old_dir);

/* Swaps in a freshly loaded configuration. */
static int apply(struct loop *l, const struct cfg *fresh)
{
	char old_dir[CFG_DIR_LEN];

	snprintf(old_dir, sizeof(old_dir), "%s", l->cfg.control_dir);
	l->cfg = *fresh;
	follow_uri(l);
	control(l, old_dir);
	log_set_level(l->cfg.log_level);
	log_notice("configuration %s reloaded: interval %u s, log level %s",
		   l->o->cfg_name, l->cfg.interval_s,
		   log_level_name(l->cfg.log_level));
	set_knobs(l);
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

/* ctl_render's view of the loop. */
static void view(struct loop *l, struct ctl_view *v)
{
	memset(v, 0, sizeof(*v));
	v->bal = &l->bal;
	v->ksm = &l->ksm;
	v->knobs = &l->knobs;
	v->cfg = &l->cfg;
	v->dry_run = l->o->dry_run;
	v->priming = l->priming;
	v->uptime_s = (long)((now_usec() - l->started) / USEC_PER_SEC);
	v->vm_source = vmsrc_describe(l->src);
}

static void pids_del(struct cfg_pids *p, pid_t pid)
{
	for (int i = 0; i < p->n; i++)
		if (p->pid[i] == pid)
			p->pid[i--] = p->pid[--p->n];
}

/* numad's -p, -x and -r at run time: they last until the daemon stops. */
static int pid_request(struct loop *l, const struct ctl_req *q, FILE *out)
{
	struct cfg_pids *add = q->cmd == CTL_INCLUDE ? &l->include : &l->exclude;

	if (q->cmd != CTL_INCLUDE)
		pids_del(&l->include, q->pid);
	if (q->cmd != CTL_EXCLUDE)
		pids_del(&l->exclude, q->pid);
	if (q->cmd != CTL_FORGET && !cfg_pids_has(add, q->pid)) {
		if (add->n == CFG_MAX_PIDS) {
			fprintf(out, "error: already %d PIDs on that list\n", CFG_MAX_PIDS);
			return 0;
		}
		add->pid[add->n++] = q->pid;
	}
	log_notice("PID %d %s at run time", (int)q->pid, q->cmd == CTL_INCLUDE ?
		   "included" : q->cmd == CTL_EXCLUDE ? "excluded" : "removed from both lists");
	fprintf(out, "ok\n");
	plan_soon(l);
	return 0;
}

static int on_request(void *data, const struct ctl_req *q, FILE *out)
{
	struct loop *l = data;
	struct ctl_view v;

	if (q->cmd == CTL_INCLUDE || q->cmd == CTL_EXCLUDE || q->cmd == CTL_FORGET)
		return pid_request(l, q, out);
	view(l, &v);
	return ctl_render(&v, q, out);
}

/* libvirt's hook: started/stopped domains are planned or forgotten at once. */
static void on_hook(void *data, const struct ctl_req *q)
{
	struct loop *l = data;

	log_info("libvirt hook: domain %s: %s", q->arg, q->op);
	if (strcmp(q->op, "started") == 0 || strcmp(q->op, "stopped") == 0 ||
	    strcmp(q->op, "release") == 0) {
		vmsrc_refresh(l->src);
		plan_soon(l);
	}
}

static void control(struct loop *l, const char *old_dir)
{
	if (l->ctl && strcmp(old_dir, l->cfg.control_dir) == 0)
		return;
	ctlsock_stop(l->ctl);
	l->ctl = NULL;
	if (!l->cfg.control_dir[0])
		return;
	/* ctlsock_start logs why it failed: the daemon runs on without it. */
	if (ctlsock_start(l->e, l->cfg.control_dir, on_request, on_hook, l, &l->ctl) >= 0)
		log_info("control sockets under %s", l->cfg.control_dir);
}

/* The balancer: live pinning and moves, or dry-run ones that only record;
 * domains are pinned through libvirt. */
static void init_bal(struct loop *l)
{
	bal_init_host(&l->bal, l->o->root, l->o->dry_run ? &l->pin_dry : NULL);
	l->bal.dom_pin.pin = vmsrc_pin;
	l->bal.dom_pin.mems = vmsrc_set_mems;
	l->bal.dom_pin.ctx = l->src;
}

int loop_run(const struct loop_opts *o)
{
	struct loop l = { .o = o, .cfg = *o->cfg, .started = now_usec() };
	int r = setup(&l);

	if (r >= 0)
		r = vmsrc_start(l.e, &l.cfg, o->root, plan_soon, &l, &l.src);
	if (r >= 0)
		control(&l, "");
	init_bal(&l);

	if (r >= 0) {
		set_knobs(&l);
		load_state(&l);
		pass(&l);
		r = arm(&l);
	}
	if (r >= 0) {
		notify_status(&l, "READY=1\n");
		r = sd_event_loop(l.e);
	}
	ctlsock_stop(l.ctl);
	vmsrc_stop(l.src);
	bal_free(&l.bal);
	pin_dry_free(&l.pin_dry);
	st_close(&l.state);
	sd_event_source_unref(l.step);
	sd_event_source_unref(l.timer);
	sd_event_unref(l.e);
	return r;
}
