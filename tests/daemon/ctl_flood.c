/* ctl_flood.c - misbehaving control-socket clients for tests/daemon/check-ctl.
 *
 *   ctl_flood DIR send TEXT      sends TEXT and '\n' as is, prints the reply
 *   ctl_flood DIR big N          sends N bytes without a newline, prints the reply
 *   ctl_flood DIR hold N MS      opens N connections and sends nothing
 *   ctl_flood DIR partial N MS   N connections send "stat" (no newline) and stall
 *   ctl_flood DIR noread N MS    N connections ask for metrics and never read
 *   ctl_flood DIR dgram TEXT     sends TEXT as one datagram to the notify socket
 *   ctl_flood DIR dgram-big N    sends a datagram of N bytes
 *   ctl_flood DIR dgram-fill N   sends notices without waiting until the
 *                                kernel refuses one, at most N
 *
 * hold, partial and noread print "held K" once K connections are made,
 * then keep them open until the daemon has closed every one, or MS pass (a
 * hang guard), and print "closed C of K, after MIN-MAX ms" (times from each
 * connect(2) to the daemon's close, seen as a hang-up without reading).
 * dgram-fill prints "queued K, then EAGAIN" (or another error), or
 * "queued K, none refused".
 *
 * Prints what happened on stdout; exit 0 unless the helper itself failed
 * (2).  Nothing here trusts the daemon to answer: every wait has a bound.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

#define READ_TIMEOUT_S 30          /* a hang guard: the daemon answers at once */
#define MAX_HELD 256

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int sock(const char *dir, const char *name, int type)
{
	struct sockaddr_un a;
	socklen_t len;
	struct timeval tv = { READ_TIMEOUT_S, 0 };
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

	if (fd < 0 || ctl_sockaddr(dir, name, &a, &len) < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends BUF (errors ignored: the daemon may close early) and prints the reply. */
static int exchange(const char *dir, const char *buf, size_t len)
{
	char reply[4096];
	size_t got = 0;
	ssize_t n;
	int fd = sock(dir, CTL_SOCKET, SOCK_STREAM);

	if (fd < 0) {
		perror("ctl_flood: connect");
		return 2;
	}
	send(fd, buf, len, MSG_NOSIGNAL);
	while (got < sizeof(reply) - 1 && (n = recv(fd, reply + got, sizeof(reply) - 1 - got, 0)) > 0)
		got += (size_t)n;
	reply[got] = '\0';
	fputs(reply, stdout);
	close(fd);
	return 0;
}

static int send_big(const char *dir, long n)
{
	char *buf = malloc((size_t)n);
	int r;

	if (!buf)
		return 2;
	memset(buf, 'x', (size_t)n);
	r = exchange(dir, buf, (size_t)n);
	free(buf);
	return r;
}

/* Waits until the daemon has closed each of the N connections in FD (made
 * at T0), or MS pass; reports how many it closed and when. */
static void await_close(const int *fd, const int64_t *t0, int n, long ms)
{
	struct pollfd p[MAX_HELD];
	int64_t end = now_us() + (int64_t)ms * 1000, lo = -1, hi = -1, t;
	int open = n, closed = 0;

	for (int i = 0; i < n; i++)
		p[i] = (struct pollfd){ .fd = fd[i], .events = POLLRDHUP };
	while (open > 0 && (t = now_us()) < end) {
		int r = poll(p, (nfds_t)n, (int)((end - t + 999) / 1000));

		if (r < 0 && errno != EINTR)
			break;
		t = now_us();
		for (int i = 0; r > 0 && i < n; i++) {
			/* A hang-up with our end still open: the daemon closed it. */
			if (!(p[i].revents & (POLLRDHUP | POLLHUP | POLLERR)))
				continue;
			p[i].fd = -1;
			open--;
			closed++;
			lo = lo < 0 || t - t0[i] < lo ? t - t0[i] : lo;
			hi = t - t0[i] > hi ? t - t0[i] : hi;
		}
	}
	printf("closed %d of %d, after %lld-%lld ms\n", closed, n,
	       (long long)(lo < 0 ? -1 : lo / 1000), (long long)(hi < 0 ? -1 : hi / 1000));
}

/* N connections that send REQUEST (NULL: nothing) and never read, held
 * until the daemon closes them or MS pass. */
static int hold(const char *dir, long n, long ms, const char *request)
{
	int fd[MAX_HELD];
	int64_t t0[MAX_HELD];
	int held = 0;

	if (n > MAX_HELD)
		return 2;
	for (long i = 0; i < n; i++) {
		t0[held] = now_us();
		fd[held] = sock(dir, CTL_SOCKET, SOCK_STREAM);
		if (fd[held] < 0)
			continue;
		if (request)
			send(fd[held], request, strlen(request), MSG_NOSIGNAL);
		held++;                 /* left open until we exit */
	}
	printf("held %d\n", held);
	fflush(stdout);
	await_close(fd, t0, held, ms);
	return 0;
}

static int dgram(const char *dir, const char *buf, size_t len)
{
	int fd = sock(dir, CTL_NOTIFY, SOCK_DGRAM);

	if (fd < 0 || send(fd, buf, len, 0) < 0) {
		perror("ctl_flood: notify");
		return 2;
	}
	close(fd);
	printf("sent %zu\n", len);
	return 0;
}

static int dgram_big(const char *dir, long n)
{
	char *buf = malloc((size_t)n);
	int r;

	if (!buf)
		return 2;
	memset(buf, 'y', (size_t)n);
	r = dgram(dir, buf, (size_t)n);
	free(buf);
	return r;
}

/* Notices sent without waiting until the kernel refuses one (the queue of
 * a listener that does not read is full), at most N. */
static int dgram_fill(const char *dir, long n)
{
	static const char msg[] = "hook prepare ctl-flood-fill";
	int fd = sock(dir, CTL_NOTIFY, SOCK_DGRAM);
	long k;

	if (fd < 0) {
		perror("ctl_flood: notify");
		return 2;
	}
	for (k = 0; k < n; k++)
		if (send(fd, msg, sizeof(msg) - 1, MSG_DONTWAIT) < 0)
			break;
	if (k < n)
		printf("queued %ld, then %s\n", k, errno == EAGAIN ? "EAGAIN" : strerror(errno));
	else
		printf("queued %ld, none refused\n", k);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 2 ? argv[1] : NULL, *mode = argc > 2 ? argv[2] : "";
	long a = argc > 3 ? strtol(argv[3], NULL, 10) : 0;
	long b = argc > 4 ? strtol(argv[4], NULL, 10) : 0;

	if (!strcmp(mode, "send") && argc == 4) {
		size_t len = strlen(argv[3]);
		char *line = malloc(len + 2);

		if (!line)
			return 2;
		memcpy(line, argv[3], len);
		line[len] = '\n';
		return exchange(dir, line, len + 1);
	}
	if (!strcmp(mode, "big") && argc == 4 && a > 0)
		return send_big(dir, a);
	if (!strcmp(mode, "hold") && argc == 5 && a > 0)
		return hold(dir, a, b, NULL);
	if (!strcmp(mode, "partial") && argc == 5 && a > 0)
		return hold(dir, a, b, "stat");
	if (!strcmp(mode, "noread") && argc == 5 && a > 0)
		return hold(dir, a, b, "metrics\n");
	if (!strcmp(mode, "dgram") && argc == 4)
		return dgram(dir, argv[3], strlen(argv[3]));
	if (!strcmp(mode, "dgram-big") && argc == 4 && a > 0)
		return dgram_big(dir, a);
	if (!strcmp(mode, "dgram-fill") && argc == 4 && a > 0)
		return dgram_fill(dir, a);
	fprintf(stderr, "usage: ctl_flood DIR send TEXT | big N | hold N MS | partial N MS "
		"| noread N MS "
		"| dgram TEXT | dgram-big N | dgram-fill N\n");
	return 2;
}
