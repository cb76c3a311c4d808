/* log.c - journal or stderr logging. */
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

static const char *const level_names[] = {
	[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
	[LOG_ERR] = "err", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

static bool use_journal;
static int max_level = LOG_INFO;

/* True if stderr is the journal stream systemd gave us (JOURNAL_STREAM=dev:ino). */
static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

void log_open(enum log_target target, int max_priority)
{
	use_journal = target == LOG_TARGET_JOURNAL ||
		      (target == LOG_TARGET_AUTO && stderr_is_journal());
	log_set_level(max_priority);
}

void log_set_level(int max_priority)
{
	if (max_priority < LOG_EMERG)
		max_priority = LOG_EMERG;
	if (max_priority > LOG_DEBUG)
		max_priority = LOG_DEBUG;
	max_level = max_priority;
}

int log_get_level(void)
{
	return max_level;
}

const char *log_level_name(int prio)
{
	if (prio < LOG_EMERG || prio > LOG_DEBUG)
		return "?";
	return level_names[prio];
}

int log_parse_level(const char *s)
{
	for (int p = LOG_EMERG; p <= LOG_DEBUG; p++)
		if (strcasecmp(s, level_names[p]) == 0)
			return p;
	if (strcasecmp(s, "error") == 0)
		return LOG_ERR;
	if (strcasecmp(s, "warn") == 0)
		return LOG_WARNING;
	if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
		return s[0] - '0';
	return -1;
}

/* Adds "FIELD=value" to IOV unless it is empty; returns the new count. */
static int add_field(struct iovec *iov, int n, char *buf, size_t size,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int add_field(struct iovec *iov, int n, char *buf, size_t size,
                     const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (len < 0)
		return n;
	iov[n].iov_base = buf;
	iov[n].iov_len = (size_t)len < size ? (size_t)len : size - 1;
	return n + 1;
}

/* Sends one message with optional VM fields to the chosen target. */
static void emit(int prio, const char *vm, int pid, int node, const char *msg)
{
	char fmsg[1100], fprio[16], fvm[96], fpid[32], fnode[32];
	struct iovec iov[6];
	int n = 0;

	if (!use_journal) {
		fprintf(stderr, "ksm-numad: %s: %s\n", log_level_name(prio), msg);
		return;
	}
	n = add_field(iov, n, fmsg, sizeof(fmsg), "MESSAGE=%s", msg);
	n = add_field(iov, n, fprio, sizeof(fprio), "PRIORITY=%d", prio);
	iov[n].iov_base = (char *)"SYSLOG_IDENTIFIER=ksm-numad";
	iov[n++].iov_len = strlen("SYSLOG_IDENTIFIER=ksm-numad");
	if (vm)
		n = add_field(iov, n, fvm, sizeof(fvm), "VM=%s", vm);
	if (pid > 0)
		n = add_field(iov, n, fpid, sizeof(fpid), "VM_PID=%d", pid);
	if (node >= 0)
		n = add_field(iov, n, fnode, sizeof(fnode), "NUMA_NODE=%d", node);
	sd_journal_sendv(iov, n);
}

/* The message names its VM itself ("web01 (PID 4242): ..."): the fields
 * are for filtering, and journalctl shows only MESSAGE by default. */
void log_vm(int prio, const char *vm, int pid, int node, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int len = 0;

	if (prio > max_level)
		return;
	if (vm && pid > 0)
		len = snprintf(msg, sizeof(msg), "%s (PID %d): ", vm, pid);
	else if (vm || pid > 0)
		len = vm ? snprintf(msg, sizeof(msg), "%s: ", vm)
			 : snprintf(msg, sizeof(msg), "PID %d: ", pid);
	if (len < 0 || (size_t)len >= sizeof(msg))
		len = 0;
	va_start(ap, fmt);
	vsnprintf(msg + len, sizeof(msg) - (size_t)len, fmt, ap);
	va_end(ap);
	emit(prio, vm, pid, node, msg);
}

void log_msg(int prio, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (prio > max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit(prio, NULL, 0, -1, msg);
}
