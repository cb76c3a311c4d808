/* place.c - numad's -w answer.
 *
 * The contract comes from libvirt, src/util/virnuma.c,
 * virNumaGetAutoPlacementAdvice(): it runs "numad -w %d:%llu" (vCPUs, and
 * the domain's memory in KiB divided by 1024 rounded up, i.e. MiB), takes
 * the whole of stdout, and qemuProcessPrepareDomainNUMAPlacement()
 * (src/qemu/qemu_process.c) parses it with virBitmapParse(), which skips
 * blanks, so the trailing newline is fine but anything else on stdout fails
 * the domain's start, as does a non-zero exit status.  numad 0.5 prints
 * "%s\n" of its node list (numad.c, main(), the -w branch).
 *
 * numad samples the host twice, 2 seconds apart, before answering.
 * libvirt waits for the answer before it starts the guest, so we sample
 * PLACE_SAMPLE_MS (100 ms) apart: the kernel's tick counters advance
 * USER_HZ = 100 times a second per CPU, so 100 ms gives about 10 ticks per
 * CPU, a busy CPU from an idle one at 10 % resolution, which is all the
 * choice of a node needs; the snapshot is taken meanwhile.  A captured
 * tree (--root) is read once: its counters never move, so two readings
 * would call every CPU idle; one reading gives the average since boot.
 */
#include "place.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "balance.h"
#include "ctl.h"
#include "load.h"
#include "log.h"
#include "mover.h"
#include "num.h"
#include "pin.h"
#include "policy.h"
#include "snapshot.h"

#define MAX_MIB (UINT64_C(1) << 40)     /* pol_suggest takes < 2^50 KiB */
#define NS_PER_MS 1000000ULL

/* NCPUS: digits, optionally '.' and more digits (numad counts hundredths of
 * a CPU; the policy whole CPUs, so any fraction rounds up). */
static int parse_cpus(const char *s, const char **end, uint64_t *ncpus)
{
	uint64_t whole;
	bool frac = false;
	const char *p;

	if (num_u64(s, &p, &whole) < 0)
		return -EINVAL;
	if (*p == '.') {
		if (!isdigit((unsigned char)p[1]))
			return -EINVAL;
		for (p++; isdigit((unsigned char)*p); p++)
			frac |= *p != '0';
	}
	if (whole > IDSET_MAX)
		whole = IDSET_MAX + 1;  /* too many either way; no overflow below */
	*ncpus = whole + frac;
	*end = p;
	return 0;
}

int place_parse(const char *spec, int *ncpus, uint64_t *mem_mib, char *err,
                size_t errlen)
{
	const char *p;
	uint64_t cpus, mib = 0;

	if (parse_cpus(spec, &p, &cpus) < 0 ||
	    (*p == ':' && num_u64(p + 1, &p, &mib) < 0) || *p != '\0') {
		snprintf(err, errlen, "'%.40s': not NCPUS[:MB] (e.g. 4 or 4:1024)", spec);
		return -EINVAL;
	}
	if (cpus < 1 || cpus > IDSET_MAX) {
		snprintf(err, errlen, "'%.40s': NCPUS out of range (allowed: 1-%d)",
		         spec, IDSET_MAX);
		return -EINVAL;
	}
	if (mib > MAX_MIB) {
		snprintf(err, errlen, "'%.40s': MB out of range (allowed: 0-%" PRIu64 ")",
		         spec, MAX_MIB);
		return -EINVAL;
	}
	*ncpus = (int)cpus;
	*mem_mib = mib;
	return 0;
}

/* The daemon's reply: "ok\n" and one node list line, nothing else. */
static int parse_reply(const char *reply, struct idset *nodes)
{
	char list[1024];
	const char *body, *eol;
	size_t len;

	if (strncmp(reply, "ok\n", 3) != 0)
		return -EPROTO;
	body = reply + 3;
	eol = strchr(body, '\n');
	len = eol ? (size_t)(eol - body) : strlen(body);
	if (len == 0 || len >= sizeof(list) || (eol && eol[1] != '\0'))
		return -EPROTO;
	memcpy(list, body, len);
	list[len] = '\0';
	if (idset_parse(nodes, list) < 0 || idset_empty(nodes))
		return -EPROTO;
	return 0;
}

static int ask_daemon(const char *dir, int ncpus, uint64_t mem_mib,
                      struct idset *nodes)
{
	char req[64], *reply = NULL;
	int r;

	snprintf(req, sizeof(req), "place %d %" PRIu64, ncpus, mem_mib);
	r = ctl_call(dir, req, PLACE_DAEMON_TIMEOUT_MS, &reply);
	if (r == 0) {
		r = parse_reply(reply, nodes);
		if (r < 0)
			log_info("the daemon's answer under %s is not a node list "
			         "(\"%.*s\"); deciding here", dir,
			         (int)strcspn(reply, "\n"), reply);
	} else if (r != -ENOENT && r != -ECONNREFUSED) {
		log_info("the daemon under %s did not answer: %s; deciding here",
		         dir, strerror(-r));
	}
	free(reply);
	return r;
}

static void sleep_until(uint64_t deadline_ns)
{
	uint64_t now = mv_clock_mono(NULL);
	struct timespec ts;

	if (now >= deadline_ns)
		return;
	ts.tv_sec = (time_t)((deadline_ns - now) / 1000000000ULL);
	ts.tv_nsec = (long)((deadline_ns - now) % 1000000000ULL);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The policy's input for S with the CPU load of FIRST (read at T0, taken
 * over; empty if unreadable: every CPU then counts idle) and, on a live
 * host, a second reading PLACE_SAMPLE_MS later (see the top comment). */
static int sample_input(struct bal *b, const struct rt_root *root,
                        const struct snapshot *s, struct ld_sample *first,
                        uint64_t t0)
{
	struct ld_sample second = { 0 };
	int r;

	if (first->ncpu == 0)
		return bal_input(b, s, NULL);
	if (rt_is_live(root))
		sleep_until(t0 + PLACE_SAMPLE_MS * NS_PER_MS);
	if (!rt_is_live(root) || ld_read(root, &second) < 0) {
		r = bal_input(b, s, first);
		ld_free(first);
		return r;
	}
	r = bal_prime(b, s, first);
	if (r == 0)
		r = bal_input(b, s, &second);
	ld_free(&second);
	return r;
}

/* A dry-run balancer: it pins nothing and never starts a move. */
static int suggest(const struct rt_root *root, const struct cfg *cfg,
                   const struct snapshot *s, struct ld_sample *first,
                   uint64_t t0, int ncpus, uint64_t mem_mib, struct idset *nodes)
{
	struct pin_dry pd = { 0 };
	struct bal b;
	int r;

	bal_init_host(&b, root, &pd);
	bal_configure(&b, cfg, &s->ksm);
	r = sample_input(&b, root, s, first, t0);
	if (r == 0)
		r = pol_suggest(&b.in, &b.params, ncpus, mem_mib * 1024, nodes);
	bal_free(&b);
	pin_dry_free(&pd);
	return r;
}

static int decide_here(const struct rt_root *root, const struct cfg *cfg,
                       int ncpus, uint64_t mem_mib, struct idset *nodes)
{
	struct ld_sample first = { 0 };
	uint64_t t0 = mv_clock_mono(NULL);
	struct snapshot s;
	int r;

	if (ld_read(root, &first) < 0)
		log_info("cannot read the CPU counters under %s: CPU load counts as zero",
		         rt_dir(root));
	r = snap_take(root, cfg, &s);
	if (r < 0) {
		ld_free(&first);
		return r;
	}
	r = suggest(root, cfg, &s, &first, t0, ncpus, mem_mib, nodes);
	ld_free(&first);
	snap_free(&s);
	return r;
}

int place_answer(const char *control_dir, const struct rt_root *root,
                 const struct cfg *cfg, int ncpus, uint64_t mem_mib,
                 struct idset *nodes, const char **source)
{
	int r;

	idset_clear(nodes);
	*source = "daemon";
	if (control_dir && control_dir[0] &&
	    ask_daemon(control_dir, ncpus, mem_mib, nodes) == 0)
		return 0;
	*source = "local";
	idset_clear(nodes);
	r = decide_here(root, cfg, ncpus, mem_mib, nodes);
	if (r < 0 && r != -ENOSPC) {
		idset_clear(nodes);
		return r;
	}
	if (idset_empty(nodes))
		return -ENODEV;         /* no node with a CPU */
	return r == -ENOSPC ? PLACE_NO_FIT : 0;
}

int place_main(const char *spec, const char *control_dir,
               const struct rt_root *root, const struct cfg *cfg)
{
	char err[160], list[1024];
	const char *source;
	struct idset nodes;
	uint64_t mib;
	int ncpus, r;

	if (place_parse(spec, &ncpus, &mib, err, sizeof(err)) < 0) {
		fprintf(stderr, "ksm-numad: -w %s\n", err);
		return 1;
	}
	r = place_answer(control_dir, root, cfg, ncpus, mib, &nodes, &source);
	if (r >= 0 && idset_format(&nodes, list, sizeof(list)) < 0)
		r = -ENOSPC;
	if (r < 0) {
		fprintf(stderr, "ksm-numad: -w %s: no placement advice for %s: %s\n",
		        spec, rt_dir(root), strerror(-r));
		return 1;
	}
	if (r == PLACE_NO_FIT)
		log_notice("-w %s: no node set has room for %d CPU(s) and %" PRIu64
		           " MiB; answering the set that comes closest: %s", spec, ncpus, mib, list);
	log_debug("-w %s: nodes %s (decided by %s)", spec, list,
	          strcmp(source, "daemon") ? "this command" : "the running daemon");
	printf("%s\n", list);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "ksm-numad: -w: cannot write the answer: %s\n",
		        strerror(errno));
		return 1;
	}
	return 0;
}
