/* log.h - logging to the journal (structured fields) or to stderr.
 *
 * Priorities are syslog's (LOG_ERR ... LOG_DEBUG).  Under systemd the
 * journal gets MESSAGE plus VM, VM_PID and NUMA_NODE fields where given;
 * in the foreground lines go to stderr as "ksm-numad: <level>: message".
 */
#ifndef KN_LOG_H
#define KN_LOG_H

#include <syslog.h>

enum log_target { LOG_TARGET_AUTO, LOG_TARGET_STDERR, LOG_TARGET_JOURNAL };

/* Chooses the target (AUTO: journal when stderr is connected to the journal) and the level. */
void log_open(enum log_target target, int max_priority);

/* Changes the most verbose priority that is logged. */
void log_set_level(int max_priority);

/* The most verbose priority that is logged. */
int log_get_level(void);

/* Logs a message at PRIO. */
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Logs a message about a VM: VM name (NULL = none), PID (0 = none), NODE (-1 = none). */
void log_vm(int prio, const char *vm, int pid, int node, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Parses "err", "warning", "notice", "info", "debug" (or 3..7); -1 if none. */
int log_parse_level(const char *s);

/* The name of a priority ("info"). */
const char *log_level_name(int prio);

#define log_err(...)    log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)   log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)   log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)  log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
