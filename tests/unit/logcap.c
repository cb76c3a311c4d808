/* logcap.c - a test's copy of what the code under test logged (see logcap.h). */
#include "logcap.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static struct { int prio; char text[1024]; } line[LOGCAP_LINES];
static int nlines;

void __wrap_log_msg(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void __wrap_log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	if (nlines == LOGCAP_LINES)
		return;
	va_start(ap, fmt);
	vsnprintf(line[nlines].text, sizeof(line[nlines].text), fmt, ap);
	va_end(ap);
	line[nlines].prio = prio;
	fprintf(stderr, "log <%d>: %s\n", prio, line[nlines++].text);
}

void logcap_clear(void)
{
	nlines = 0;
}

int logcap_count(void)
{
	return nlines;
}

static int has(const char *text, const char *s)
{
	return !s || strstr(text, s) != NULL;
}

const char *logcap_find(int prio, const char *a, const char *b, const char *c)
{
	for (int i = 0; i < nlines; i++)
		if (line[i].prio <= prio && has(line[i].text, a) && has(line[i].text, b) &&
		    has(line[i].text, c))
			return line[i].text;
	return NULL;
}
