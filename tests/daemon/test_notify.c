/* test_notify.c - the daemon under a fake systemd.
 *
 * We play the service manager: a datagram socket as NOTIFY_SOCKET, the real
 * daemon binary (DAEMON_BIN) started on the hostile-gaps fixture, and the
 * sd_notify protocol checked message by message: READY=1 with a STATUS=
 * line, RELOADING=1 then READY=1 on SIGHUP (also when the new file is bad,
 * which must keep the daemon running and name FILE:LINE on stderr),
 * STOPPING=1 and exit status 0 on SIGTERM, and WATCHDOG=1 pings when
 * WATCHDOG_USEC is set.  Every wait is bounded; the child is killed when a
 * check fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

/* A hang guard, never what is tested: every wait is for a message, and
 * make check may run many tests at once on a slow or busy builder. */
#define WAIT_MS 30000

#define GOOD_CONF "[daemon]\ninterval = 1\nlog_level = info\n"
/* Line 3 is not "key = value": the reload must fail on FILE:3. */
#define BAD_CONF  "[daemon]\ninterval = 1\nthis is not a setting\n"

struct daemon {
	char dir[64];           /* mkdtemp directory holding the files below */
	char sock[96];          /* our NOTIFY_SOCKET */
	char conf[96];          /* the daemon's -c file */
	char err[96];           /* its stderr */
	int fd;                 /* bound to sock */
	pid_t pid;              /* the daemon; 0 once reaped */
	char seen[16384];       /* every message so far, for failure reports */
	char msg[4096];         /* the last message received */
};

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Replaces PATH atomically, so the daemon never reads half a file. */
static void write_file(const char *path, const char *text)
{
	char tmp[128];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	f = fopen(tmp, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rename(tmp, path), 0);
}

static void read_file(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	buf[0] = '\0';
	if (!f)
		return;
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* Prints what we know before a check fails. */
static void dump(const struct daemon *d)
{
	char err[8192];

	/* Not print_message: it truncates long texts. */
	read_file(d->err, err, sizeof(err));
	fprintf(stderr, "notify messages so far:\n%s\ndaemon stderr:\n%s\n",
		d->seen, err);
}

static int setup(void **state)
{
	struct daemon *d = calloc(1, sizeof(*d));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (!d)
		return -1;
	snprintf(d->dir, sizeof(d->dir), "/tmp/kn-notify-XXXXXX");
	if (!mkdtemp(d->dir))
		return -1;
	snprintf(d->sock, sizeof(d->sock), "%s/notify", d->dir);
	snprintf(d->conf, sizeof(d->conf), "%s/ksm-numad.conf", d->dir);
	snprintf(d->err, sizeof(d->err), "%s/stderr", d->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", d->sock);
	d->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (d->fd < 0 || bind(d->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct daemon *d = *state;
	char path[128];

	if (d->pid > 0) {
		kill(d->pid, SIGKILL);
		waitpid(d->pid, NULL, 0);
	}
	close(d->fd);
	unlink(d->sock);
	unlink(d->conf);
	unlink(d->err);
	snprintf(path, sizeof(path), "%s.new", d->conf);
	unlink(path);
	rmdir(d->dir);
	free(d);
	return 0;
}

/* In the child: stdio, environment, exec.  Never returns. */
static void exec_daemon(const struct daemon *d, int watchdog)
{
	char pid[32];
	int err = open(d->err, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
	int null = open("/dev/null", O_RDWR);

	if (err < 0 || null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
	    dup2(err, 2) < 0)
		_exit(126);
	setenv("NOTIFY_SOCKET", d->sock, 1);
	/* Whatever runs make check must not leak its own watchdog or journal. */
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	unsetenv("JOURNAL_STREAM");
	if (watchdog) {
		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		setenv("WATCHDOG_USEC", "2000000", 1);
		setenv("WATCHDOG_PID", pid, 1);
	}
	execl(DAEMON_BIN, "ksm-numad", "--root", FIXTURES "/hostile-gaps",
	      "-c", d->conf, "--log-target", "stderr", (char *)NULL);
	_exit(127);
}

static void spawn(struct daemon *d, int watchdog)
{
	write_file(d->conf, GOOD_CONF);
	d->pid = fork();
	assert_true(d->pid >= 0);
	if (d->pid == 0)
		exec_daemon(d, watchdog);
}

/* Fails the test if the daemon has exited. */
static void assert_running(struct daemon *d)
{
	int status;

	if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
		d->pid = 0;
		dump(d);
		fail_msg("the daemon exited early (status 0x%x)", status);
	}
}

/* True if one line of MSG is WANT, or starts with WANT when it ends in '='. */
static int has_line(const char *msg, const char *want)
{
	size_t wl = strlen(want);
	int prefix = wl > 0 && want[wl - 1] == '=';

	for (const char *p = msg; *p; ) {
		size_t ll = strcspn(p, "\n");

		if ((prefix ? ll > wl : ll == wl) && strncmp(p, want, wl) == 0)
			return 1;
		p += ll;
		if (*p)
			p++;
	}
	return 0;
}

/* Receives one message into d->msg within the deadline; 0 on timeout. */
static int receive(struct daemon *d, long deadline)
{
	struct pollfd pfd = { .fd = d->fd, .events = POLLIN };
	size_t used;
	ssize_t n;

	while (now_ms() < deadline) {
		/* Messages a daemon sent just before it exited are still queued:
		 * read them before concluding anything from its exit. */
		if (poll(&pfd, 1, 100) <= 0) {
			assert_running(d);
			continue;
		}
		n = recv(d->fd, d->msg, sizeof(d->msg) - 1, 0);
		if (n < 0)
			continue;
		d->msg[n] = '\0';
		used = strlen(d->seen);
		snprintf(d->seen + used, sizeof(d->seen) - used, "%s\n", d->msg);
		return 1;
	}
	return 0;
}

/* Waits for a message with a line matching WANT (see has_line). */
static void expect(struct daemon *d, const char *want)
{
	long deadline = now_ms() + WAIT_MS;

	while (receive(d, deadline)) {
		if (has_line(d->msg, want))
			return;
	}
	dump(d);
	fail_msg("no '%s' from the daemon within %d ms", want, WAIT_MS);
}

static void signal_daemon(struct daemon *d, int sig)
{
	assert_int_equal(kill(d->pid, sig), 0);
}

/* SIGTERM: STOPPING=1 and a clean exit within the deadline. */
static void stop(struct daemon *d)
{
	long deadline;
	int status = 0;

	signal_daemon(d, SIGTERM);
	expect(d, "STOPPING=1");
	for (deadline = now_ms() + WAIT_MS; now_ms() < deadline; usleep(10000)) {
		if (waitpid(d->pid, &status, WNOHANG) == d->pid)
			break;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		dump(d);
		fail_msg("the daemon did not exit with status 0 (wait status 0x%x)", status);
	}
	d->pid = 0;
}

static void stderr_contains(struct daemon *d, const char *what)
{
	char err[8192];

	read_file(d->err, err, sizeof(err));
	if (!strstr(err, what)) {
		dump(d);
		fail_msg("the daemon's stderr does not mention '%s'", what);
	}
}

static void test_ready_reload_stop(void **state)
{
	struct daemon *d = *state;
	char where[128];

	spawn(d, 0);
	expect(d, "READY=1");
	assert_true(has_line(d->msg, "STATUS="));
	/* The fixture has three online nodes (0, 2, 5): the pass worked. */
	assert_non_null(strstr(d->msg, "STATUS=3 nodes"));
	expect(d, "STATUS=");           /* the next pass, one interval later */

	signal_daemon(d, SIGHUP);
	expect(d, "RELOADING=1");
	assert_true(has_line(d->msg, "MONOTONIC_USEC="));
	expect(d, "READY=1");
	stderr_contains(d, "reloaded");

	write_file(d->conf, BAD_CONF);
	signal_daemon(d, SIGHUP);
	expect(d, "RELOADING=1");
	expect(d, "READY=1");
	snprintf(where, sizeof(where), "%s:3:", d->conf);
	stderr_contains(d, where);
	stderr_contains(d, "keeping the running configuration");
	expect(d, "STATUS=");           /* still running its passes */

	stop(d);
	assert_null(strstr(d->seen, "WATCHDOG=1"));
}

static void test_watchdog(void **state)
{
	struct daemon *d = *state;
	long deadline;
	int pings = 0;

	spawn(d, 1);
	expect(d, "READY=1");
	/* With a 2 s watchdog sd-event pings at least every 1.5 s. */
	for (deadline = now_ms() + WAIT_MS; pings < 2 && receive(d, deadline); )
		pings += has_line(d->msg, "WATCHDOG=1");
	if (pings < 2) {
		dump(d);
		fail_msg("%d WATCHDOG=1 pings, expected at least 2", pings);
	}
	stop(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ready_reload_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watchdog, setup, teardown),
	};

	/* A dead daemon must not kill us when we signal it. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
