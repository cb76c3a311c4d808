/* fakectl.c - a fake daemon on a control socket (see fakectl.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "fakectl.h"

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
		sleep(2);       /* longer than any client waits */
	}
	close(c);
	return NULL;
}

void fake_start(struct fake *d, const char *reply)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	memset(d, 0, sizeof(*d));
	strcpy(d->dir, "/tmp/kn-fakectl.XXXXXX");
	assert_non_null(mkdtemp(d->dir));
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/%s", d->dir, CTL_SOCKET);
	d->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(d->fd >= 0);
	assert_int_equal(bind(d->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(d->fd, 4), 0);
	d->reply = reply;
	assert_int_equal(pthread_create(&d->thread, NULL, serve_one, d), 0);
}

void fake_stop(struct fake *d)
{
	char path[128];

	shutdown(d->fd, SHUT_RDWR);
	pthread_join(d->thread, NULL);
	close(d->fd);
	snprintf(path, sizeof(path), "%s/%s", d->dir, CTL_SOCKET);
	unlink(path);
	rmdir(d->dir);
}
