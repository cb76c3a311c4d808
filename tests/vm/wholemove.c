/* wholemove - numad's primitive, for the bench: ONE migrate_pages(2) call on
 * a whole process, timed.
 *
 *     wholemove PID FROM_NODES TO_NODES
 *
 * prints one tab-separated line
 *     wholemove  pid=N  from=LIST  to=LIST  rc=N  errno=NAME  call_ms=N.NNN  not_moved=N
 * (errno=0 and not_moved=rc when the call succeeded, not_moved=-1 when it
 * failed) and exits 0 if the call returned >= 0, 3 if the process vanished
 * (ESRCH), 1 on any other failure, 2 on bad arguments.
 *
 * Lives in tests/ only: ksm-numad itself never calls migrate_pages(2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_NODES 1024

struct nodemask { unsigned long w[MAX_NODES / (8 * sizeof(unsigned long))]; };

static void usage(void)
{
	fprintf(stderr, "usage: wholemove PID FROM_NODES TO_NODES   (node lists like 0 or 0-1,3)\n");
}

/* "0-2,5" -> mask; -EINVAL on syntax errors, empty lists or ids >= MAX_NODES. */
static int parse_nodes(const char *s, struct nodemask *m)
{
	const unsigned bits = 8 * sizeof(unsigned long);
	unsigned long lo, hi, i;
	char *end;

	memset(m, 0, sizeof(*m));
	do {
		errno = 0;
		lo = hi = strtoul(s, &end, 10);
		if (errno || end == s || *s == '-')
			return -EINVAL;
		if (*end == '-') {
			s = end + 1;
			hi = strtoul(s, &end, 10);
			if (errno || end == s || *s == '-' || hi < lo)
				return -EINVAL;
		}
		if (hi >= MAX_NODES || (*end && *end != ','))
			return -EINVAL;
		for (i = lo; i <= hi; i++)
			m->w[i / bits] |= 1UL << (i % bits);
		s = end + 1;
	} while (*end == ',');
	return 0;
}

static int parse_pid(const char *s, pid_t *pid)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0 || v > INT32_MAX)
		return -EINVAL;
	*pid = (pid_t)v;
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static const char *errno_name(int e)
{
	static char buf[16];
	const char *name;

	if (e == 0)
		return "0";
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 32)
	name = strerrorname_np(e);
	if (name)
		return name;
#endif
	(void)name;
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

int main(int argc, char **argv)
{
	struct nodemask from, to;
	double t1, ms;
	long rc;
	pid_t pid;
	int err;

	if (argc != 4 || parse_pid(argv[1], &pid) || parse_nodes(argv[2], &from) ||
	    parse_nodes(argv[3], &to)) {
		usage();
		return 2;
	}
	t1 = now_ms();
	/* The kernel reads maxnode - 1 bits. */
	rc = syscall(SYS_migrate_pages, pid, (unsigned long)MAX_NODES + 1, from.w, to.w);
	err = rc < 0 ? errno : 0;
	ms = now_ms() - t1;
	printf("wholemove\tpid=%d\tfrom=%s\tto=%s\trc=%ld\terrno=%s\tcall_ms=%.3f\tnot_moved=%ld\n",
	       (int)pid, argv[2], argv[3], rc, errno_name(err), ms, rc < 0 ? -1L : rc);
	if (fflush(stdout))
		return 1;
	if (rc >= 0)
		return 0;
	return err == ESRCH ? 3 : 1;
}
