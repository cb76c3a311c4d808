/* Unit tests for the event loop's failures (daemon/loop.c): a step timer
 * that cannot be rescheduled, a VM source that cannot follow a reloaded
 * libvirt_uri, a pass that cannot be scheduled.
 *
 * The chrony way: this file includes loop.c to reach its statics and runs
 * its functions on a real sd-event loop, over the fixture tree guest-2node
 * and libvirt's test driver.  The binary links with -Wl,--wrap for
 * sd_event_source_set_time and virtd_start (failed on demand), for
 * bal_pending, bal_step and bal_pass (moves and pinning counted, never
 * made: nothing here changes the system) and for log_msg (recorded).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "loop.c"
#include "logcap.h"
#include "virtd.h"

#define ROOT FIXTURES "/guest-2node"
#define URI_2CELL "test://" FIXTURES "/libvirt/virt-2cell.xml"
#define URI_4CELL "test://" FIXTURES "/libvirt/virt-4cell.xml"
#define HANG_GUARD 30                   /* sd_event_run calls of at most 1 s */

static sd_event_source *time_fails;     /* set_time on it fails ... */
static int time_fails_n;                /* ... this many more times */
static int start_fails_n;               /* virtd_start fails this many more times */
static uint64_t pending;                /* what bal_pending says */
static int steps;                       /* bal_step calls */

int __real_sd_event_source_set_time(sd_event_source *s, uint64_t usec);
int __wrap_sd_event_source_set_time(sd_event_source *s, uint64_t usec);
int __real_virtd_start(sd_event *e, const char *uri, const struct rt_root *r,
                       const char *pid_dir, virtd_change_fn *fn, void *data,
                       struct virtd **out);
int __wrap_virtd_start(sd_event *e, const char *uri, const struct rt_root *r,
                       const char *pid_dir, virtd_change_fn *fn, void *data,
                       struct virtd **out);
uint64_t __wrap_bal_pending(const struct bal *b);
int __wrap_bal_step(struct bal *b, struct mv_step *out);
int __wrap_bal_pass(struct bal *b, const struct snapshot *s, struct ld_sample *load);

int __wrap_sd_event_source_set_time(sd_event_source *s, uint64_t usec)
{
	if (s == time_fails && time_fails_n > 0) {
		time_fails_n--;
		return -ENOMEM;
	}
	return __real_sd_event_source_set_time(s, usec);
}

int __wrap_virtd_start(sd_event *e, const char *uri, const struct rt_root *r,
                       const char *pid_dir, virtd_change_fn *fn, void *data,
                       struct virtd **out)
{
	if (start_fails_n > 0) {
		start_fails_n--;
		return -EMFILE;
	}
	return __real_virtd_start(e, uri, r, pid_dir, fn, data, out);
}

uint64_t __wrap_bal_pending(const struct bal *b)
{
	(void)b;
	return pending;
}

/* One move call made; more follow while something is pending. */
int __wrap_bal_step(struct bal *b, struct mv_step *out)
{
	(void)b;
	memset(out, 0, sizeof(*out));
	steps++;
	return pending > 0;
}

int __wrap_bal_pass(struct bal *b, const struct snapshot *s, struct ld_sample *load)
{
	(void)b;
	(void)s;
	ld_free(load);
	return 0;
}

/* The line at PRIO or more urgent holding A, B and C, or NULL. */
static const char *logged(int prio, const char *a, const char *b, const char *c)
{
	return logcap_find(prio, a, b, c);
}

struct t {
	struct rt_root *root;
	struct cfg cfg;
	struct loop_opts o;
	struct loop l;
};

/* The loop as loop_run sets it up, without control sockets, VMs from URI
 * ("" = processes); no pass has run, no timer is armed. */
static struct t *start(const char *uri)
{
	struct t *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	assert_int_equal(rt_open(ROOT, &t->root), 0);
	cfg_defaults(&t->cfg);
	snprintf(t->cfg.libvirt_uri, sizeof(t->cfg.libvirt_uri), "%s", uri);
	t->cfg.control_dir[0] = '\0';
	t->o = (struct loop_opts){ .root = t->root, .cfg = &t->cfg, .cfg_name = "test.conf" };
	t->l = (struct loop){ .o = &t->o, .cfg = t->cfg, .started = now_usec() };
	assert_int_equal(setup(&t->l), 0);
	assert_int_equal(vmsrc_start(t->l.e, &t->l.cfg, t->root, plan_soon, &t->l, &t->l.src), 0);
	init_bal(&t->l);
	return t;
}

static void stop(struct t *t)
{
	vmsrc_stop(t->l.src);
	bal_free(&t->l.bal);
	pin_dry_free(&t->l.pin_dry);
	sd_event_source_unref(t->l.step);
	sd_event_source_unref(t->l.timer);
	sd_event_unref(t->l.e);
	rt_close(t->root);
	free(t);
}

static int reset(void **state)
{
	(void)state;
	time_fails = NULL;
	time_fails_n = start_fails_n = 0;
	pending = 0;
	steps = 0;
	logcap_clear();
	return 0;
}

static int enabled(sd_event_source *s)
{
	int m = -1;

	assert_true(sd_event_source_get_enabled(s, &m) >= 0);
	return m;
}

/* The step timer cannot be rescheduled once: said so with the reason, no
 * move call runs until the next pass (none without its pause), and the
 * next pass starts the moves again. */
static void step_fails_once(void **state)
{
	struct t *t = start("");

	(void)state;
	pending = 1 << 20;
	start_steps(&t->l);
	assert_int_equal(enabled(t->l.step), SD_EVENT_ONESHOT);
	time_fails = t->l.step;
	time_fails_n = 1;
	assert_int_equal(sd_event_run(t->l.e, 5000000), 1);
	assert_int_equal(steps, 1);
	assert_int_equal(time_fails_n, 0);
	assert_int_equal(enabled(t->l.step), SD_EVENT_OFF);
	assert_int_equal(sd_event_run(t->l.e, 0), 0);
	assert_int_equal(steps, 1);
	assert_non_null(logged(LOG_WARNING, "cannot schedule the next memory move",
			       strerror(ENOMEM), "moves resume at the next pass"));

	pass(&t->l);                            /* the next pass */
	assert_int_equal(enabled(t->l.step), SD_EVENT_ONESHOT);
	assert_int_equal(sd_event_run(t->l.e, 5000000), 1);
	assert_int_equal(steps, 2);
	assert_int_equal(enabled(t->l.step), SD_EVENT_ONESHOT);   /* pause_ms later */
	stop(t);
}

/* The first step of a pass cannot be scheduled: said so with the reason;
 * the next pass schedules it. */
static void steps_not_started(void **state)
{
	struct t *t = start("");

	(void)state;
	pending = 1 << 20;
	time_fails = t->l.step;
	time_fails_n = 1;
	pass(&t->l);
	assert_non_null(logged(LOG_WARNING, "cannot schedule memory moves",
			       strerror(ENOMEM), "next pass"));
	assert_int_equal(enabled(t->l.step), SD_EVENT_OFF);
	pass(&t->l);
	assert_int_equal(enabled(t->l.step), SD_EVENT_ONESHOT);
	stop(t);
}

/* Runs the loop until the VM source says PREFIX and a domain count. */
static void wait_source(struct t *t, const char *uri)
{
	char want[512];

	snprintf(want, sizeof(want), "libvirt %s (", uri);
	for (int i = 0; i < HANG_GUARD; i++) {
		const char *d = vmsrc_describe(t->l.src);

		if (strncmp(d, want, strlen(want)) == 0 && d[strlen(want)] >= '0' &&
		    d[strlen(want)] <= '9')
			return;
		assert_true(sd_event_run(t->l.e, 1000000) >= 0);
	}
	fail_msg("VM source still '%s', waited for '%s'", vmsrc_describe(t->l.src), want);
}

/* A reload's libvirt_uri whose worker cannot start: said so with the
 * reason (once, not at every pass), the old source and its domains kept,
 * and a later pass switches. */
static void reconfigure_fails(void **state)
{
	struct t *t = start(URI_2CELL);
	struct cfg fresh;
	const struct vms_domains *d;
	const char *said;

	(void)state;
	wait_source(t, URI_2CELL);
	d = vmsrc_domains(t->l.src, &t->l.cfg);
	assert_non_null(d);
	assert_true(d->n > 0);
	fresh = t->l.cfg;
	snprintf(fresh.libvirt_uri, sizeof(fresh.libvirt_uri), "%s", URI_4CELL);
	start_fails_n = 2;
	assert_int_equal(apply(&t->l, &fresh), 0);
	assert_int_equal(start_fails_n, 1);
	wait_source(t, URI_2CELL);
	d = vmsrc_domains(t->l.src, &t->l.cfg);
	assert_non_null(d);
	assert_true(d->n > 0);
	said = logged(LOG_ERR, "cannot switch to libvirt_uri '" URI_4CELL "'",
		      strerror(EMFILE), "trying again at the next pass");
	assert_non_null(said);
	assert_non_null(strstr(said, "VMs still come from libvirt " URI_2CELL " ("));

	logcap_clear();
	pass(&t->l);                            /* fails again: said at debug only */
	assert_int_equal(start_fails_n, 0);
	assert_null(logged(LOG_INFO, "cannot switch", "", ""));
	assert_non_null(logged(LOG_DEBUG, "cannot switch", URI_4CELL, ""));
	assert_non_null(strstr(vmsrc_describe(t->l.src), URI_2CELL));

	pass(&t->l);                            /* starts */
	assert_non_null(logged(LOG_NOTICE, "libvirt_uri changed", URI_2CELL, URI_4CELL));
	wait_source(t, URI_4CELL);
	stop(t);
}

/* From libvirt to processes nothing can fail; back to libvirt, it starts. */
static void reconfigure_processes(void **state)
{
	struct t *t = start(URI_2CELL);
	struct cfg fresh = t->l.cfg;

	(void)state;
	fresh.libvirt_uri[0] = '\0';
	start_fails_n = 1;
	assert_int_equal(apply(&t->l, &fresh), 0);
	assert_int_equal(start_fails_n, 1);
	assert_string_equal(vmsrc_describe(t->l.src), "processes");
	snprintf(fresh.libvirt_uri, sizeof(fresh.libvirt_uri), "%s", URI_4CELL);
	start_fails_n = 0;
	assert_int_equal(apply(&t->l, &fresh), 0);
	wait_source(t, URI_4CELL);
	stop(t);
}

/* The next pass cannot be scheduled: nothing else would run one, so the
 * loop ends (the daemon exits non-zero and systemd restarts it). */
static void arm_fails(void **state)
{
	struct t *t = start("");

	(void)state;
	time_fails = t->l.timer;
	time_fails_n = 1;
	assert_true(on_timer(t->l.timer, 0, &t->l) >= 0);
	assert_non_null(logged(LOG_ERR, "cannot schedule the next pass",
			       strerror(ENOMEM), "stopping"));
	assert_int_equal(sd_event_loop(t->l.e), -ENOMEM);
	stop(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(step_fails_once, reset),
		cmocka_unit_test_setup(steps_not_started, reset),
		cmocka_unit_test_setup(reconfigure_fails, reset),
		cmocka_unit_test_setup(reconfigure_processes, reset),
		cmocka_unit_test_setup(arm_fails, reset),
	};

	log_open(LOG_TARGET_STDERR, LOG_DEBUG);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
