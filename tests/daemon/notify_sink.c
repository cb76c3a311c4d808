/* notify_sink.c - a stand-in for the daemon's hook socket, for the tests:
 *
 *   notify_sink --listen-notify DIR [--count N] [--timeout SECONDS]
 *
 * binds the datagram socket DIR/notify (CTL_NOTIFY), prints each datagram
 * it receives on a line of its own (flushed at once), and exits 0 after N
 * datagrams (default 1), or 1 when SECONDS (default 30, a hang guard) pass
 * first, counted on CLOCK_MONOTONIC.  The socket file exists once it
 * listens; it is removed on exit.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

struct args {
	const char *dir;
	long count;
	long timeout_s;
};

static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "listen-notify", required_argument, NULL, 'l' },
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'l') {
			a->dir = optarg;
			continue;
		}
		if (c != 'n' && c != 't')
			return -1;
		errno = 0;
		*(c == 'n' ? &a->count : &a->timeout_s) = strtol(optarg, &end, 10);
		if (errno || end == optarg || *end || (c == 'n' ? a->count : a->timeout_s) < 1)
			return -1;
	}
	return a->dir && optind == argc ? 0 : -1;
}

static int bind_sink(const char *dir, struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int n;

	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	n = snprintf(addr->sun_path, sizeof(addr->sun_path), "%s/%s", dir, CTL_NOTIFY);
	if (fd < 0 || n < 0 || (size_t)n >= sizeof(addr->sun_path) ||
	    bind(fd, (struct sockaddr *)addr, sizeof(*addr)) < 0) {
		fprintf(stderr, "notify_sink: cannot listen on %s/%s: %s\n", dir,
			CTL_NOTIFY, strerror(errno));
		return -1;
	}
	return fd;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	struct args a = { NULL, 1, 30 };
	struct sockaddr_un addr;
	long long end;
	int fd, got = 0;

	if (parse_args(argc, argv, &a) < 0) {
		fprintf(stderr, "usage: notify_sink --listen-notify DIR [--count N] "
			"[--timeout SECONDS]\n");
		return 2;
	}
	fd = bind_sink(a.dir, &addr);
	if (fd < 0)
		return 1;
	end = now_ms() + a.timeout_s * 1000LL;
	while (got < a.count && now_ms() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char buf[CTL_REQ_MAX + 2];
		ssize_t n;

		if (poll(&p, 1, 100) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n < 0)
			continue;
		buf[n] = '\0';
		printf("%s\n", buf);
		fflush(stdout);
		got++;
	}
	close(fd);
	unlink(addr.sun_path);
	return got >= a.count ? 0 : 1;
}
