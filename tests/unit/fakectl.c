/* fakectl.c - a fake daemon on a control socket (see fakectl.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "fakectl.h"

static struct fake *current;           /* the fake between start and stop */

int __real_ctl_call(const char *dir, const char *request, int timeout_ms, char **reply);
int __wrap_ctl_call(const char *dir, const char *request, int timeout_ms, char **reply);

/* ctl_call as the client calls it (-Wl,--wrap=ctl_call): a call to an
 * answering fake waits for the answer, not for the scheduler. */
int __wrap_ctl_call(const char *dir, const char *request, int timeout_ms, char **reply)
{
	struct fake *d = current;

	if (d && dir && strcmp(dir, d->dir) == 0) {
		d->asked_ms = timeout_ms;
		if (d->reply)
			timeout_ms = FAKE_PATIENCE_MS;
	}
	return __real_ctl_call(dir, request, timeout_ms, reply);
}

/* Blocks until the peer of C closes its end (it already shut down writing). */
static bool wait_hangup(int c)
{
	struct pollfd p = { .fd = c, .events = 0 };     /* HUP and ERR only */

	for (;;) {
		int r = poll(&p, 1, -1);

		if (r < 0 && errno != EINTR)
			return false;
		if (r > 0)
			return (p.revents & (POLLHUP | POLLERR)) != 0;
	}
}

static void *serve_one(void *data)
{
	struct fake *d = data;
	int c = accept(d->fd, NULL, NULL);
	ssize_t n, len = 0;

	if (c < 0)
		return NULL;
	while (len < (ssize_t)sizeof(d->request) - 1 &&
	       (n = read(c, d->request + len, sizeof(d->request) - 1 - (size_t)len)) > 0)
		len += n;
	d->request[len] = '\0';
	if (d->reply) {
		if (write(c, d->reply, strlen(d->reply)) < 0)
			d->request[0] = '\0';
	} else {
		d->hung_up = wait_hangup(c);    /* the client's timeout ends this */
	}
	close(c);
	return NULL;
}

void fake_start(struct fake *d, const char *reply)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	memset(d, 0, sizeof(*d));
	d->asked_ms = -1;
	strcpy(d->dir, "/tmp/kn-fakectl.XXXXXX");
	assert_non_null(mkdtemp(d->dir));
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/%s", d->dir, CTL_SOCKET);
	d->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(d->fd >= 0);
	assert_int_equal(bind(d->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(d->fd, 4), 0);
	d->reply = reply;
	assert_int_equal(pthread_create(&d->thread, NULL, serve_one, d), 0);
	current = d;
}

void fake_stop(struct fake *d)
{
	char path[128];

	current = NULL;
	shutdown(d->fd, SHUT_RDWR);
	pthread_join(d->thread, NULL);
	close(d->fd);
	snprintf(path, sizeof(path), "%s/%s", d->dir, CTL_SOCKET);
	unlink(path);
	rmdir(d->dir);
}
