/* Unit tests for log: levels, filtering, the stderr format. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static void levels(void **state)
{
	assert_int_equal(log_parse_level("err"), LOG_ERR);
	assert_int_equal(log_parse_level("error"), LOG_ERR);
	assert_int_equal(log_parse_level("WARNING"), LOG_WARNING);
	assert_int_equal(log_parse_level("warn"), LOG_WARNING);
	assert_int_equal(log_parse_level("debug"), LOG_DEBUG);
	assert_int_equal(log_parse_level("6"), LOG_INFO);
	assert_int_equal(log_parse_level("8"), -1);
	assert_int_equal(log_parse_level("loud"), -1);
	assert_int_equal(log_parse_level(""), -1);
	assert_string_equal(log_level_name(LOG_NOTICE), "notice");
	assert_string_equal(log_level_name(42), "?");
}

/* Runs FN with stderr sent to a temp file; returns what it printed. */
static char *capture(void (*fn)(void))
{
	char path[] = "/tmp/kn-log-XXXXXX";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	static char out[1024];
	ssize_t n;

	assert_true(fd >= 0);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	fn();
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, out, sizeof(out) - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return out;
}

static void emit_some(void)
{
	log_open(LOG_TARGET_STDERR, LOG_NOTICE);
	log_info("hidden %d", 1);
	log_warn("shown %d", 2);
	log_vm(LOG_NOTICE, "web01", 4242, 1, "moved to node %d", 1);
	log_vm(LOG_DEBUG, "web01", 4242, 1, "hidden too");
	log_vm(LOG_WARNING, NULL, 77, -1, "gone");
	log_vm(LOG_WARNING, "db", 0, -1, "no PID");
}

static void filter_and_format(void **state)
{
	const char *out = capture(emit_some);

	assert_string_equal(out, "ksm-numad: warning: shown 2\n"
			    "ksm-numad: notice: web01 (PID 4242): moved to node 1\n"
			    "ksm-numad: warning: PID 77: gone\n"
			    "ksm-numad: warning: db: no PID\n");
	assert_int_equal(log_get_level(), LOG_NOTICE);
	log_set_level(99);
	assert_int_equal(log_get_level(), LOG_DEBUG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(levels),
		cmocka_unit_test(filter_and_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
