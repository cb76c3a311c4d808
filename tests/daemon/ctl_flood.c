/* ctl_flood.c - misbehaving control-socket clients for tests/daemon/check-ctl.
 *
 *   ctl_flood DIR send TEXT      sends TEXT and '\n' as is, prints the reply
 *   ctl_flood DIR big N          sends N bytes without a newline, prints the reply
 *   ctl_flood DIR hold N MS      opens N connections, sends nothing, holds them MS
 *   ctl_flood DIR partial N MS   N connections send "stat" (no newline) and stall
 *   ctl_flood DIR noread N MS    N connections ask for metrics and never read
 *   ctl_flood DIR dgram TEXT     sends TEXT as one datagram to the notify socket
 *   ctl_flood DIR dgram-big N    sends a datagram of N bytes
 *
 * Prints what happened on stdout; exit 0 unless the helper itself failed
 * (2).  Nothing here trusts the daemon to answer: every read has a timeout.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

#define READ_TIMEOUT_S 5

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

/* N connections that send REQUEST (NULL: nothing) and never read, held MS. */
static int hold(const char *dir, long n, long ms, const char *request)
{
	struct timespec t = { ms / 1000, ms % 1000 * 1000000 };
	int held = 0;

	for (long i = 0; i < n; i++) {
		int fd = sock(dir, CTL_SOCKET, SOCK_STREAM);

		if (fd < 0)
			continue;
		if (request)
			send(fd, request, strlen(request), MSG_NOSIGNAL);
		held++;                 /* left open until we exit */
	}
	printf("held %d\n", held);
	fflush(stdout);
	nanosleep(&t, NULL);
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
	fprintf(stderr, "usage: ctl_flood DIR send TEXT | big N | hold N MS | partial N MS "
		"| noread N MS "
		"| dgram TEXT | dgram-big N\n");
	return 2;
}
