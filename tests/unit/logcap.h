/* logcap.h - a test's copy of what the code under test logged.
 *
 * Linked with -Wl,--wrap=log_msg: every log_msg call is kept (up to
 * LOGCAP_LINES lines) and echoed on stderr, so a test can assert what an
 * operator would have read. */
#ifndef KN_LOGCAP_H
#define KN_LOGCAP_H

#define LOGCAP_LINES 256

/* Forgets every line kept so far. */
void logcap_clear(void);

/* How many lines were kept since the last logcap_clear. */
int logcap_count(void);

/* The first line at PRIO or more urgent holding A, B and C (NULL or "" for
 * any), or NULL. */
const char *logcap_find(int prio, const char *a, const char *b, const char *c);

#endif
