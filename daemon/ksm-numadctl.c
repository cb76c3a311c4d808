/* ksm-numadctl.c - asks the running ksm-numad over its control socket.
 *
 * Exit statuses (ksm-numadctl(8)): 0 the daemon answered "ok" (or a notice
 * was handed over, or could not be: `notify` never fails), 1 usage or an
 * "error:" answer, 3 no daemon answers.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "num.h"

enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_NODAEMON = 3 };

#define TIMEOUT_DEFAULT_MS 5000
#define TIMEOUT_MAX_MS 600000

struct opts {
	const char *dir;
	bool json;
	int timeout_ms;
};

static const struct option long_opts[] = {
	{ "dir", required_argument, NULL, 'd' },
	{ "json", no_argument, NULL, 'j' },
	{ "timeout", required_argument, NULL, 't' },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ksm-numadctl [OPTION]... COMMAND\n"
		"Ask the running ksm-numad daemon.\n\n"
		"Commands:\n"
		"  status               the daemon, KSM and what it means, the nodes\n"
		"  vms                  every VM: home nodes, locality, KSM share, moves\n"
		"  explain VM           why a VM (name or PID) is where it is\n"
		"  metrics              Prometheus text format\n"
		"  place NCPUS MIB      the nodes a new VM of that size would get\n"
		"  include PID          manage PID whatever its size (numad -p)\n"
		"  exclude PID          never manage PID (numad -x)\n"
		"  forget PID           drop PID from both lists (numad -r)\n"
		"  notify OP DOMAIN     pass a libvirt hook event on, never waiting\n\n"
		"Options:\n"
		"  -d, --dir DIR        control directory (default %s)\n"
		"  -j, --json           JSON output (status, vms, explain)\n"
		"  -t, --timeout MS     give up after MS milliseconds (default %d)\n"
		"  -V, --version        print the version\n"
		"  -h, --help           print this help\n", KN_CONTROL_DIR, TIMEOUT_DEFAULT_MS);
}

static int parse_timeout(const char *s, int *out)
{
	uint64_t v;

	if (num_u64_tok(s, strlen(s), &v) < 0 || v < 1 || v > TIMEOUT_MAX_MS) {
		fprintf(stderr, "ksm-numadctl: --timeout '%s': not a number of "
			"milliseconds in 1..%d\n", s, TIMEOUT_MAX_MS);
		return -EINVAL;
	}
	*out = (int)v;
	return 0;
}

/* -1: go on; else the exit status. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	int c;

	while ((c = getopt_long(argc, argv, "+d:jt:Vh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'd': o->dir = optarg; break;
		case 'j': o->json = true; break;
		case 't':
			if (parse_timeout(optarg, &o->timeout_ms) < 0)
				return EXIT_ERROR;
			break;
		case 'V': printf("ksm-numadctl %s\n", PACKAGE_VERSION); return EXIT_OK;
		case 'h': usage(stdout); return EXIT_OK;
		default:
			fprintf(stderr, "Try 'ksm-numadctl --help' for more information.\n");
			return EXIT_ERROR;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_ERROR;
	}
	return -1;
}

/* Arguments each command takes; the daemon checks their syntax. */
static int nargs(const char *cmd)
{
	static const struct { const char *name; int n; } cmds[] = {
		{ "status", 0 }, { "vms", 0 }, { "metrics", 0 }, { "explain", 1 },
		{ "place", 2 }, { "include", 1 }, { "exclude", 1 }, { "forget", 1 },
		{ "notify", 2 },
	};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmd, cmds[i].name))
			return cmds[i].n;
	return -1;
}

static int check_cmd(int argc, char **argv, const struct opts *o)
{
	const char *cmd = argv[0];
	int n = nargs(cmd);

	if (n < 0) {
		fprintf(stderr, "ksm-numadctl: unknown command '%s'\n"
			"Try 'ksm-numadctl --help' for more information.\n", cmd);
		return -1;
	}
	if (argc - 1 != n) {
		fprintf(stderr, "ksm-numadctl: %s takes %d argument%s\n", cmd, n,
			n == 1 ? "" : "s");
		return -1;
	}
	if (o->json && strcmp(cmd, "status") && strcmp(cmd, "vms") && strcmp(cmd, "explain")) {
		fprintf(stderr, "ksm-numadctl: --json goes with status, vms and explain\n");
		return -1;
	}
	return 0;
}

/* Prints the reply: the body to stdout, an "error:" line to stderr. */
static int print_reply(const char *reply)
{
	const char *body = strchr(reply, '\n');

	if (!strncmp(reply, "ok\n", 3) || !strcmp(reply, "ok")) {
		fputs(body ? body + 1 : "", stdout);
		return fflush(stdout) == 0 ? EXIT_OK : EXIT_ERROR;
	}
	if (!strncmp(reply, "error:", 6)) {
		fprintf(stderr, "ksm-numadctl: %.*s\n", (int)(body ? body - reply : (long)strlen(reply)),
			reply);
		return EXIT_ERROR;
	}
	fprintf(stderr, "ksm-numadctl: unexpected reply from the daemon\n");
	return EXIT_ERROR;
}

static int call(const struct opts *o, const char *request)
{
	char *reply = NULL;
	int r = ctl_call(o->dir, request, o->timeout_ms, &reply);

	if (r == -ENOENT || r == -ECONNREFUSED) {
		fprintf(stderr, "ksm-numadctl: no daemon listens on %s/%s: is ksm-numad "
			"running? (systemctl status ksm-numad)\n", o->dir, CTL_SOCKET);
		return EXIT_NODAEMON;
	}
	if (r == -ETIMEDOUT) {
		fprintf(stderr, "ksm-numadctl: %s/%s: no answer within %d ms\n", o->dir,
			CTL_SOCKET, o->timeout_ms);
		return EXIT_NODAEMON;
	}
	if (r < 0) {
		fprintf(stderr, "ksm-numadctl: %s/%s: %s\n", o->dir, CTL_SOCKET, strerror(-r));
		return r == -EACCES || r == -EPERM ? EXIT_NODAEMON : EXIT_ERROR;
	}
	r = print_reply(reply);
	free(reply);
	return r;
}

/* The request line: the words joined by spaces, " json" if asked. */
static char *request(int argc, char **argv, bool json)
{
	size_t len = 8;
	char *line;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	line = malloc(len);
	if (!line)
		return NULL;
	line[0] = '\0';
	for (int i = 0; i < argc; i++) {
		strcat(line, i ? " " : "");
		strcat(line, argv[i]);
	}
	if (json)
		strcat(line, " json");
	return line;
}

int main(int argc, char **argv)
{
	struct opts o = { .dir = KN_CONTROL_DIR, .timeout_ms = TIMEOUT_DEFAULT_MS };
	char *line;
	int r = parse_args(argc, argv, &o);

	if (r >= 0)
		return r;
	argc -= optind;
	argv += optind;
	if (check_cmd(argc, argv, &o) < 0)
		return EXIT_ERROR;
	/* The libvirt hook: hand the notice over or drop it, never wait. */
	if (!strcmp(argv[0], "notify")) {
		ctl_notify(o.dir, argv[1], argv[2]);
		return EXIT_OK;
	}
	line = request(argc, argv, o.json);
	if (!line) {
		fprintf(stderr, "ksm-numadctl: out of memory\n");
		return EXIT_ERROR;
	}
	r = call(&o, line);
	free(line);
	return r;
}
