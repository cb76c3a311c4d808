/* Unit tests for the control sockets' pause (daemon/ctlsock.c): out of
 * descriptors, accepting pauses, and it always ends, even when the timer
 * that ends it cannot be set or accepting cannot be turned back on.
 *
 * The chrony way: this file includes ctlsock.c to reach its statics.  The
 * binary links with -Wl,--wrap for sd-event's timer calls (failed on
 * demand) and for log_msg (recorded).  Running out of descriptors is real:
 * RLIMIT_NOFILE is lowered to the lowest free descriptor.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/resource.h>

#include "ctlsock.c"
#include "logcap.h"

#define HANG_GUARD 30                   /* sd_event_run calls of at most 1 s */

static struct ctlsock *cur;             /* the sockets under test */
static bool resume_fails;               /* arming the resume timer fails */
static sd_event_source *on_fails;       /* turning this source on fails, once */

int __real_sd_event_source_set_time(sd_event_source *s, uint64_t usec);
int __wrap_sd_event_source_set_time(sd_event_source *s, uint64_t usec);
int __real_sd_event_add_time(sd_event *e, sd_event_source **s, clockid_t clock,
                             uint64_t usec, uint64_t accuracy,
                             sd_event_time_handler_t callback, void *data);
int __wrap_sd_event_add_time(sd_event *e, sd_event_source **s, clockid_t clock,
                             uint64_t usec, uint64_t accuracy,
                             sd_event_time_handler_t callback, void *data);
int __real_sd_event_source_set_enabled(sd_event_source *s, int m);
int __wrap_sd_event_source_set_enabled(sd_event_source *s, int m);

int __wrap_sd_event_source_set_time(sd_event_source *s, uint64_t usec)
{
	if (resume_fails && cur && s == cur->resume)
		return -ENOMEM;
	return __real_sd_event_source_set_time(s, usec);
}

/* The resume timer as a source added when the pause begins. */
int __wrap_sd_event_add_time(sd_event *e, sd_event_source **s, clockid_t clock,
                             uint64_t usec, uint64_t accuracy,
                             sd_event_time_handler_t callback, void *data)
{
	if (resume_fails && callback == on_resume)
		return -ENOMEM;
	return __real_sd_event_add_time(e, s, clock, usec, accuracy, callback, data);
}

int __wrap_sd_event_source_set_enabled(sd_event_source *s, int m)
{
	if (s && s == on_fails && m == SD_EVENT_ON) {
		on_fails = NULL;
		return -ENOMEM;
	}
	return __real_sd_event_source_set_enabled(s, m);
}

/* A line at PRIO or more urgent holding A and B. */
static bool logged(int prio, const char *a, const char *b)
{
	return logcap_find(prio, a, b, NULL) != NULL;
}

static int answer_ok(void *data, const struct ctl_req *q, FILE *out)
{
	(void)data;
	(void)q;
	return fputs("ok\n", out) < 0 ? -EIO : 0;
}

struct t {
	char top[64], dir[80];
	sd_event *e;
	int client;
};

static int open_socks(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	snprintf(t->top, sizeof(t->top), "/tmp/kn-ctlsock-XXXXXX");
	assert_non_null(mkdtemp(t->top));
	snprintf(t->dir, sizeof(t->dir), "%s/ctl", t->top);
	assert_int_equal(sd_event_new(&t->e), 0);
	assert_int_equal(ctlsock_start(t->e, t->dir, answer_ok, NULL, NULL, &cur), 0);
	t->client = -1;
	logcap_clear();
	resume_fails = false;
	on_fails = NULL;
	*state = t;
	return 0;
}

static int close_socks(void **state)
{
	struct t *t = *state;

	if (t->client >= 0)
		close(t->client);
	ctlsock_stop(cur);
	cur = NULL;
	sd_event_unref(t->e);
	rmdir(t->top);
	free(t);
	return 0;
}

/* A client that sent its request and waits in the listen queue. */
static void connect_client(struct t *t)
{
	t->client = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(t->client >= 0);
	assert_int_equal(connect(t->client, (struct sockaddr *)&cur->ctl_addr,
				 sizeof(cur->ctl_addr)), 0);
	assert_int_equal(write(t->client, "status\n", 7), 7);
	assert_int_equal(fcntl(t->client, F_SETFL, O_NONBLOCK), 0);
}

/* Runs the loop with no descriptor left to accept the client with. */
static void run_out_of_descriptors(struct t *t)
{
	struct rlimit saved, low;
	int lowest = open("/dev/null", O_RDONLY | O_CLOEXEC);

	assert_true(lowest >= 0);
	close(lowest);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	low = saved;
	low.rlim_cur = (rlim_t)lowest;          /* every descriptor below is in use */
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	assert_int_equal(sd_event_run(t->e, 5000000), 1);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
	assert_true(logged(LOG_WARNING, "cannot accept a client", strerror(EMFILE)));
}

/* SD_EVENT_ON while the listening socket is watched, else SD_EVENT_OFF. */
static int accepting(void)
{
	int m = -1;

	assert_true(sd_event_source_get_enabled(cur->lsrc, &m) >= 0);
	return m;
}

/* Runs the loop until the client has its reply or the hang guard ends it. */
static void assert_answered(struct t *t)
{
	char buf[64];
	ssize_t n = -1;

	for (int i = 0; i < HANG_GUARD && n <= 0; i++) {
		sd_event_run(t->e, 1000000);
		n = recv(t->client, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	}
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "ok\n");
}

/* Nothing broken: the pause ends by its timer, 1 s later. */
static void pause_ends(void **state)
{
	struct t *t = *state;

	connect_client(t);
	run_out_of_descriptors(t);
	assert_true(logged(LOG_WARNING, "cannot accept a client", "pausing for 1 s"));
	assert_int_equal(accepting(), SD_EVENT_OFF);
	assert_answered(t);
	assert_int_equal(accepting(), SD_EVENT_ON);
}

/* The resume timer cannot be set: said so, and the next pass (its
 * ctlsock_resume) accepts again; until then the socket stays paused. */
static void resume_timer_fails(void **state)
{
	struct t *t = *state;

	connect_client(t);
	resume_fails = true;
	run_out_of_descriptors(t);
	resume_fails = false;
	assert_true(logged(LOG_WARNING, "pausing until the next pass", strerror(ENOMEM)));
	assert_int_equal(accepting(), SD_EVENT_OFF);
	assert_int_equal(sd_event_run(t->e, 0), 0);
	assert_int_equal(accepting(), SD_EVENT_OFF);

	ctlsock_resume(cur);                    /* the next pass */
	assert_int_equal(accepting(), SD_EVENT_ON);
	assert_answered(t);
}

/* The timer ends the pause but accepting cannot be turned on: said so,
 * and the next pass turns it on. */
static void resume_refused(void **state)
{
	struct t *t = *state;

	connect_client(t);
	run_out_of_descriptors(t);
	on_fails = cur->lsrc;
	for (int i = 0; i < HANG_GUARD && on_fails; i++)
		sd_event_run(t->e, 1000000);    /* the 1 s resume timer fires */
	assert_null(on_fails);
	assert_true(logged(LOG_WARNING, "cannot accept clients again", "next pass"));
	assert_int_equal(accepting(), SD_EVENT_OFF);

	ctlsock_resume(cur);                    /* the next pass */
	assert_int_equal(accepting(), SD_EVENT_ON);
	assert_true(logged(LOG_INFO, "accepting clients again", ""));
	assert_answered(t);
}

/* Not paused: the pass's call changes nothing. */
static void resume_idle(void **state)
{
	struct t *t = *state;

	ctlsock_resume(cur);
	ctlsock_resume(NULL);
	assert_int_equal(accepting(), SD_EVENT_ON);
	assert_int_equal(logcap_count(), 0);
	connect_client(t);
	assert_answered(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(pause_ends, open_socks, close_socks),
		cmocka_unit_test_setup_teardown(resume_timer_fails, open_socks, close_socks),
		cmocka_unit_test_setup_teardown(resume_refused, open_socks, close_socks),
		cmocka_unit_test_setup_teardown(resume_idle, open_socks, close_socks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
