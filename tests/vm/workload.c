/* workload - a VM-like process for the multi-node guest that measures its
 * own stalls (interface: tests/vm/README.md, "workload").
 *
 * To a balancer it looks like qemu: comm "qemu-system-x86", threads
 * "CPU n/TCG", regions of "guest RAM" placed on one node at first touch.
 * Inside, the vCPU threads time single reads of random pages, a probe
 * thread times mmap+write+munmap (which needs the mmap lock for write), and
 * a sampler records which share of the memory sits on the vCPUs' nodes.
 * A test program, not the daemon: raw syscalls, no libnuma, static build.
 *
 * Stall durations go into per-thread log-linear histograms (128 linear
 * steps per power of two: percentiles within 0.4 %, maxima exact); each
 * thread owns its data, so nothing is shared while measuring.  A stall
 * counts in the timeline bucket where it began.
 *
 * Beyond the interface: SIGUSR1 restarts the summaries (not the timeline)
 * and adds a line "mark t_ms=N" before the timeline, for the bench.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/mempolicy.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_REGIONS 16
#define MAX_VCPUS 256
#define MAX_IDS 1024                /* node and CPU ids we handle */
#define MAX_MARKS 64
#define BUCKET_NS 100000000ULL      /* timeline step: 100 ms */
#define SAMPLE_STRIDE 64            /* locality: every 64th page */
#define QUERY_BATCH 4096
#define PROBE_LEN (64 * 1024)
#define SUB_BITS 7                  /* histogram: 2^7 steps per octave */
#define SUB (1U << SUB_BITS)
#define HIST_BUCKETS ((64 - SUB_BITS + 1) * SUB)
#define NODE_DIR "/sys/devices/system/node"

enum content { C_ZERO, C_SAME, C_UNIQUE };
static const char *const content_names[] = { "zero", "same", "unique" };

struct region {
	unsigned char *base;
	size_t pages;
	size_t filled;              /* pages populated so far */
	enum content content;
	int ksm;
};

struct opts {
	const char *comm;
	long mem_node, cpu_node;    /* -1: not given */
	long local_node;            /* -L: locality against this node; -1: the vCPUs' nodes */
	long vcpus, touch_us, probe_ms, sample_ms;
	int rt_probe;
	double duration_s;          /* 0: until SIGTERM/SIGINT */
	const char *out;
	const char *live;           /* -l: the latest locality, rewritten each sample */
	int quiet;
	int paused;                 /* -P: vCPUs wait for the first mark */
};

struct bits { uint64_t w[MAX_IDS / 64]; };

/* What one measuring thread records; only that thread writes it. */
struct stats {
	uint64_t hist[HIST_BUCKETS];
	uint64_t count, max_ns;
	uint64_t over[4];           /* > 1 ms, 10 ms, 100 ms, 1 s */
	unsigned epoch;             /* mark it last reset at */
	uint64_t *tl;               /* worst stall per 100 ms bucket, ns */
	size_t tl_len;
};

struct sample { uint64_t t_ms; double local, ksm_local; };

static struct opts o;
static struct region regions[MAX_REGIONS];
static int nregions;
static size_t page_size, total_pages;
static struct bits online;
static uint64_t t0_ns;
static atomic_int stopping;
static atomic_uint epoch;           /* SIGUSR1 count: restarts the summaries */
static int stop_fd = -1;
static pthread_t vcpu_tids[MAX_VCPUS];
static struct stats *vcpu_stats, probe_stats;
static struct sample *samples;
static size_t nsamples;
static uint64_t marks[MAX_MARKS];
static volatile uint64_t sink;      /* what the vCPUs read, so reads stay */
static int nmarks;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: workload [-n COMM] [-r SIZE:CONTENT[:ksm]]... [-M NODE] [-C NODE] [-L NODE]\n"
		"                [-t VCPUS] [-i TOUCH_US] [-w PROBE_MS] [-d SECONDS]\n"
		"                [-s SAMPLE_MS] [-o FILE] [-l FILE] [-q] [-P] [-R]\n"
		"  CONTENT: zero, same or unique; SIZE with K, M or G (default 256M:unique)\n"
		"  -L NODE: locality against NODE instead of the nodes of the vCPUs' CPUs\n"
		"  -l FILE: after each sample, FILE holds \"local_pct=N.N\" (for waiting on it)\n"
		"  -P: the vCPUs stay idle until the first SIGUSR1 (the window's start)\n"
		"  -R: the mmap probe runs SCHED_FIFO: it then times waits for the lock,\n"
		"      not turns for a CPU shared with busy threads\n"
		"SIGTERM/SIGINT or -d end the run and print the report; SIGUSR1 restarts\n"
		"the summaries and records a mark line.\n");
}

static void *xalloc(void *p, size_t size)
{
	p = realloc(p, size);
	if (!p) {
		fprintf(stderr, "workload: out of memory (%zu bytes)\n", size);
		exit(1);
	}
	return p;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- parsing ---- */

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* "512M" -> bytes, rounded up to whole pages; *end left after the suffix. */
static int parse_size(const char *s, char **end, size_t *out)
{
	unsigned long long v;
	int shift = 0;

	errno = 0;
	v = strtoull(s, end, 10);
	if (errno || *end == s || *s == '-')
		return -EINVAL;
	switch (**end) {
	case 'K': case 'k': shift = 10; break;
	case 'M': case 'm': shift = 20; break;
	case 'G': case 'g': shift = 30; break;
	}
	if (shift)
		(*end)++;
	if (v == 0 || v > (SIZE_MAX >> 1 >> shift))
		return -EINVAL;
	*out = (size_t)v << shift;
	return 0;
}

static int parse_region(const char *arg)
{
	struct region *r = &regions[nregions];
	size_t len;
	char *p;
	int i;

	if (nregions == MAX_REGIONS || parse_size(arg, &p, &len) || *p++ != ':')
		return -EINVAL;
	for (i = 0; i < 3; i++) {
		size_t n = strlen(content_names[i]);

		if (!strncmp(p, content_names[i], n) && (p[n] == '\0' || p[n] == ':'))
			break;
	}
	if (i == 3)
		return -EINVAL;
	p += strlen(content_names[i]);
	if (*p && strcmp(p, ":ksm"))
		return -EINVAL;
	*r = (struct region){ .pages = (len + page_size - 1) / page_size,
			      .content = (enum content)i, .ksm = *p != '\0' };
	nregions++;
	return 0;
}

static int parse_duration(const char *s)
{
	char *end;

	errno = 0;
	o.duration_s = strtod(s, &end);
	if (errno || end == s || *end || !(o.duration_s > 0 && o.duration_s < 1e7))
		return -EINVAL;
	return 0;
}

static int parse_opts(int argc, char **argv)
{
	int c, err = 0;

	o = (struct opts){ .comm = "qemu-system-x86", .mem_node = -1, .cpu_node = -1, .local_node = -1,
			   .vcpus = 2, .touch_us = 1000, .probe_ms = 10, .sample_ms = 500 };
	while (!err && (c = getopt(argc, argv, "n:r:M:C:L:t:i:w:d:s:o:l:qPRh")) != -1) {
		switch (c) {
		case 'n': o.comm = optarg; break;
		case 'r': err = parse_region(optarg); break;
		case 'M': err = parse_long(optarg, 0, MAX_IDS - 1, &o.mem_node); break;
		case 'C': err = parse_long(optarg, 0, MAX_IDS - 1, &o.cpu_node); break;
		case 'L': err = parse_long(optarg, 0, MAX_IDS - 1, &o.local_node); break;
		case 't': err = parse_long(optarg, 0, MAX_VCPUS, &o.vcpus); break;
		case 'i': err = parse_long(optarg, 0, 10000000, &o.touch_us); break;
		case 'w': err = parse_long(optarg, 1, 3600000, &o.probe_ms); break;
		case 'd': err = parse_duration(optarg); break;
		case 's': err = parse_long(optarg, 1, 3600000, &o.sample_ms); break;
		case 'o': o.out = optarg; break;
		case 'l': o.live = optarg; break;
		case 'q': o.quiet = 1; break;
		case 'P': o.paused = 1; break;
		case 'R': o.rt_probe = 1; break;
		case 'h': usage(stdout); exit(0);
		default: err = -EINVAL;
		}
	}
	if (err || optind != argc)
		return -EINVAL;
	return nregions ? 0 : parse_region("256M:unique");
}

/* ---- node and CPU lists ---- */

static void bit_set(struct bits *b, unsigned long i)
{
	b->w[i / 64] |= 1ULL << (i % 64);
}

static int bit_test(const struct bits *b, unsigned long i)
{
	return (b->w[i / 64] >> (i % 64)) & 1;
}

/* "0-3,8\n" -> bits; ids beyond MAX_IDS are ignored. */
static int parse_list(const char *s, struct bits *b)
{
	unsigned long lo, hi, i;
	char *end;

	memset(b, 0, sizeof(*b));
	while (*s && *s != '\n') {
		errno = 0;
		lo = hi = strtoul(s, &end, 10);
		if (errno || end == s)
			return -EINVAL;
		if (*end == '-') {
			s = end + 1;
			hi = strtoul(s, &end, 10);
			if (errno || end == s || hi < lo)
				return -EINVAL;
		}
		for (i = lo; i <= hi && i < MAX_IDS; i++)
			bit_set(b, i);
		s = *end == ',' ? end + 1 : end;
		if (*end != ',' && *end && *end != '\n')
			return -EINVAL;
	}
	return 0;
}

static int read_list(const char *path, struct bits *b)
{
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = '\0';
	return parse_list(buf, b);
}

static int node_cpus(long node, struct bits *cpus)
{
	char path[128];

	snprintf(path, sizeof(path), NODE_DIR "/node%ld/cpulist", node);
	return read_list(path, cpus);
}

static int bits_empty(const struct bits *b)
{
	size_t i;

	for (i = 0; i < MAX_IDS / 64; i++)
		if (b->w[i])
			return 0;
	return 1;
}

/* Nodes whose CPUs the vCPUs (vCPU 0, or the process without vCPUs) may run on,
 * or the -L node: a bench that compares balancers measures against a fixed target. */
static void local_nodes(struct bits *local)
{
	struct bits cpus;
	cpu_set_t set;
	long n;
	int c, r;

	memset(local, 0, sizeof(*local));
	if (o.local_node >= 0) {
		bit_set(local, o.local_node);
		return;
	}
	CPU_ZERO(&set);
	r = o.vcpus ? pthread_getaffinity_np(vcpu_tids[0], sizeof(set), &set)
		    : sched_getaffinity(getpid(), sizeof(set), &set);
	if (r)
		return;
	for (n = 0; n < MAX_IDS; n++) {
		if (!bit_test(&online, n) || node_cpus(n, &cpus))
			continue;
		for (c = 0; c < CPU_SETSIZE && c < MAX_IDS; c++)
			if (CPU_ISSET(c, &set) && bit_test(&cpus, c)) {
				bit_set(local, n);
				break;
			}
	}
}

/* ---- memory ---- */

static int set_policy(int mode, long node)
{
	struct bits mask = { { 0 } };

	if (mode == MPOL_DEFAULT)
		return syscall(SYS_set_mempolicy, MPOL_DEFAULT, NULL, 0UL) ? -errno : 0;
	bit_set(&mask, node);
	/* The kernel reads maxnode - 1 bits. */
	if (syscall(SYS_set_mempolicy, mode, mask.w, (unsigned long)MAX_IDS + 1))
		return -errno;
	return 0;
}

static int map_regions(void)
{
	struct region *r;

	for (r = regions; r < regions + nregions; r++) {
		r->base = mmap(NULL, r->pages * page_size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (r->base == MAP_FAILED) {
			fprintf(stderr, "workload: mmap of %zu pages: %s\n", r->pages, strerror(errno));
			return -1;
		}
		if (r->ksm && madvise(r->base, r->pages * page_size, MADV_MERGEABLE)) {
			perror("workload: madvise(MADV_MERGEABLE)");
			return -1;
		}
		total_pages += r->pages;
	}
	return 0;
}

static void fill_page(struct region *r, size_t i, uint64_t seed)
{
	unsigned char *p = r->base + i * page_size;
	uint64_t tag[2] = { (uint64_t)(r - regions) << 48 | i, seed };

	if (r->content == C_ZERO) {
		*(volatile uint64_t *)p = 0;        /* present, still all zero */
		return;
	}
	memset(p, r->content == C_SAME ? 0x5a : 0xa5, page_size);
	if (r->content == C_UNIQUE)
		memcpy(p, tag, sizeof(tag));
}

static int term_pending(void)
{
	sigset_t set;

	return !sigpending(&set) && (sigismember(&set, SIGTERM) || sigismember(&set, SIGINT));
}

/* Fills every region; returns 1 if SIGTERM/SIGINT came first. */
static int populate(void)
{
	uint64_t seed = now_ns() ^ ((uint64_t)getpid() << 32);
	struct region *r;

	for (r = regions; r < regions + nregions; r++)
		for (; r->filled < r->pages; r->filled++) {
			if (r->filled % 1024 == 0 && term_pending())
				return 1;
			fill_page(r, r->filled, seed);
		}
	return 0;
}

/* ---- statistics ---- */

static unsigned hist_index(uint64_t v)
{
	int shift;

	if (v < 2 * SUB)
		return (unsigned)v;
	shift = 63 - __builtin_clzll(v) - SUB_BITS;
	return (unsigned)(shift + 1) * SUB + (unsigned)((v >> shift) - SUB);
}

/* The middle of bucket i. */
static uint64_t hist_value(unsigned i)
{
	unsigned shift;

	if (i < 2 * SUB)
		return i;
	shift = i / SUB - 1;
	return ((uint64_t)(SUB + i % SUB) << shift) + (1ULL << shift) / 2;
}

/* Called before each measurement: a mark (SIGUSR1) restarts the summaries. */
static void stats_sync(struct stats *st)
{
	unsigned e = atomic_load_explicit(&epoch, memory_order_relaxed);

	if (e == st->epoch)
		return;
	memset(st->hist, 0, sizeof(st->hist));
	memset(st->over, 0, sizeof(st->over));
	st->count = st->max_ns = 0;
	st->epoch = e;
}

static void stats_add(struct stats *st, uint64_t start, uint64_t dur)
{
	size_t b = (start - t0_ns) / BUCKET_NS, n;

	st->hist[hist_index(dur)]++;
	st->count++;
	if (dur > st->max_ns)
		st->max_ns = dur;
	st->over[0] += dur > 1000000;
	st->over[1] += dur > 10000000;
	st->over[2] += dur > 100000000;
	st->over[3] += dur > 1000000000;
	if (b >= st->tl_len) {
		n = b + 1 > 2 * st->tl_len ? b + 64 : 2 * st->tl_len;
		st->tl = xalloc(st->tl, n * sizeof(*st->tl));
		memset(st->tl + st->tl_len, 0, (n - st->tl_len) * sizeof(*st->tl));
		st->tl_len = n;
	}
	if (dur > st->tl[b])
		st->tl[b] = dur;
}

static void stats_merge(struct stats *to, const struct stats *from)
{
	unsigned i;

	for (i = 0; i < HIST_BUCKETS; i++)
		to->hist[i] += from->hist[i];
	for (i = 0; i < 4; i++)
		to->over[i] += from->over[i];
	to->count += from->count;
	if (from->max_ns > to->max_ns)
		to->max_ns = from->max_ns;
}

static uint64_t percentile(const struct stats *st, double q)
{
	uint64_t want = (uint64_t)(q * (double)st->count + 0.999999), seen = 0, v;
	unsigned i;

	for (i = 0; i < HIST_BUCKETS && st->count; i++) {
		seen += st->hist[i];
		if (seen >= want && seen) {
			v = hist_value(i);
			return v < st->max_ns ? v : st->max_ns;
		}
	}
	return 0;
}

static uint64_t bucket_max(const struct stats *st, size_t b)
{
	return b < st->tl_len ? st->tl[b] : 0;
}

/* ---- threads ---- */

/* Sleeps US microseconds; returns 1 once the run is over. */
static int pause_us(long us)
{
	struct pollfd pfd = { .fd = stop_fd, .events = POLLIN };
	struct timespec ts = { us / 1000000, us % 1000000 * 1000 };

	if (atomic_load_explicit(&stopping, memory_order_relaxed))
		return 1;
	if (us == 0)
		return 0;
	return ppoll(&pfd, 1, &ts, NULL) > 0;
}

static uint64_t next_random(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static const volatile uint64_t *random_page(uint64_t *rng)
{
	size_t i = next_random(rng) % total_pages;
	struct region *r = regions;

	while (i >= r->pages)
		i -= (r++)->pages;
	return (const volatile uint64_t *)(r->base + i * page_size);
}

static void *vcpu_main(void *arg)
{
	long idx = (long)arg;
	struct stats *st = &vcpu_stats[idx];
	uint64_t rng = now_ns() ^ ((uint64_t)idx << 40) ^ 0x9e3779b97f4a7c15ULL;
	uint64_t t1, sum = 0;
	const volatile uint64_t *p;
	char name[16];

	snprintf(name, sizeof(name), "CPU %ld/TCG", idx);
	prctl(PR_SET_NAME, name, 0, 0, 0);
	/* -P: idle until the window opens, so KSM merges without competition. */
	while (o.paused && atomic_load_explicit(&epoch, memory_order_relaxed) == 0)
		if (pause_us(10000))
			return NULL;
	do {
		stats_sync(st);
		p = random_page(&rng);
		t1 = now_ns();
		sum += *p;
		stats_add(st, t1, now_ns() - t1);
	} while (!pause_us(o.touch_us));
	sink = sum;
	return NULL;
}

static void *probe_main(void *arg)
{
	struct stats *st = arg;
	uint64_t t1;
	char *p;

	prctl(PR_SET_NAME, "mmap probe", 0, 0, 0);
	if (o.rt_probe) {
		struct sched_param sp = { .sched_priority = 1 };
		int err = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);

		if (err)
			fprintf(stderr, "workload: -R: SCHED_FIFO for the probe: %s\n", strerror(err));
	}
	do {
		stats_sync(st);
		t1 = now_ns();
		p = mmap(NULL, PROBE_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != MAP_FAILED) {
			*(volatile char *)p = 1;
			munmap(p, PROBE_LEN);
		}
		stats_add(st, t1, now_ns() - t1);
	} while (!pause_us(o.probe_ms * 1000));
	return NULL;
}

/* Addresses of every SAMPLE_STRIDE-th page of the regions with ksm == KSM. */
static void **sample_pages(int ksm, size_t *n)
{
	void **v = xalloc(NULL, (total_pages / SAMPLE_STRIDE + nregions + 1) * sizeof(*v));
	struct region *r;
	size_t i;

	*n = 0;
	for (r = regions; r < regions + nregions; r++)
		for (i = 0; r->ksm == ksm && i < r->pages; i += SAMPLE_STRIDE)
			v[(*n)++] = r->base + i * page_size;
	return v;
}

/* Percentage of the pages on LOCAL nodes, -1 if none is present. */
static double query_local(void **pages, size_t n, int *status, const struct bits *local)
{
	size_t i, present = 0, on_local = 0;

	if (n == 0 || syscall(SYS_move_pages, 0, n, pages, NULL, status, 0))
		return -1;
	for (i = 0; i < n; i++) {
		if (status[i] < 0 || status[i] >= MAX_IDS)
			continue;
		present++;
		on_local += bit_test(local, (unsigned)status[i]);
	}
	return present ? 100.0 * (double)on_local / (double)present : -1;
}

/* Replaces o.live with the latest locality (write and rename: a reader
 * never sees half a line). */
static void write_live(double local)
{
	char tmp[PATH_MAX];
	FILE *f;

	if (!o.live || snprintf(tmp, sizeof(tmp), "%s.tmp", o.live) >= (int)sizeof(tmp))
		return;
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "local_pct=%.1f\n", local);
	if (fclose(f) == 0)
		rename(tmp, o.live);
}

static void *sampler_main(void *arg)
{
	size_t n[2], cap = 0;
	void **pages[2] = { sample_pages(0, &n[0]), sample_pages(1, &n[1]) };
	int *status = xalloc(NULL, (n[0] > n[1] ? n[0] : n[1]) * sizeof(int) + 1);
	struct sample s;
	struct bits local;

	(void)arg;
	prctl(PR_SET_NAME, "sampler", 0, 0, 0);
	do {
		local_nodes(&local);
		s.local = query_local(pages[0], n[0], status, &local);
		s.ksm_local = query_local(pages[1], n[1], status, &local);
		s.t_ms = (now_ns() - t0_ns) / 1000000;
		if (nsamples == cap) {
			cap = cap ? 2 * cap : 256;
			samples = xalloc(samples, cap * sizeof(*samples));
		}
		samples[nsamples++] = s;
		write_live(s.local);
	} while (!pause_us(o.sample_ms * 1000));
	free(pages[0]);
	free(pages[1]);
	free(status);
	return NULL;
}

/* Starts a thread, on the CPUs of -C's node if PIN. */
static void start_thread(pthread_t *t, void *(*fn)(void *), void *arg, int pin)
{
	pthread_attr_t attr;
	struct bits cpus;
	cpu_set_t set;
	int c, err;

	pthread_attr_init(&attr);
	if (pin && o.cpu_node >= 0 && node_cpus(o.cpu_node, &cpus) == 0) {
		CPU_ZERO(&set);
		for (c = 0; c < CPU_SETSIZE && c < MAX_IDS; c++)
			if (bit_test(&cpus, c))
				CPU_SET(c, &set);
		pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	}
	err = pthread_create(t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	if (err) {
		fprintf(stderr, "workload: cannot start a thread: %s\n", strerror(err));
		exit(1);
	}
}

/* ---- the run ---- */

static void mark(void)
{
	if (nmarks == MAX_MARKS)
		nmarks--;
	marks[nmarks++] = (now_ns() - t0_ns) / 1000000;
	atomic_fetch_add(&epoch, 1);
}

/* Waits for the end of the run (-d, SIGTERM, SIGINT); SIGUSR1 marks. */
static void wait_for_end(const sigset_t *sigs)
{
	uint64_t end = t0_ns + (uint64_t)(o.duration_s * 1e9), now;
	struct timespec ts;
	int sig;

	for (;;) {
		if (o.duration_s > 0) {
			now = now_ns();
			if (now >= end)
				return;
			ts.tv_sec = (time_t)((end - now) / 1000000000ULL);
			ts.tv_nsec = (long)((end - now) % 1000000000ULL);
			sig = sigtimedwait(sigs, NULL, &ts);
		} else {
			sig = sigwaitinfo(sigs, NULL);
		}
		if (sig == SIGUSR1)
			mark();
		else if (sig == SIGTERM || sig == SIGINT)
			return;
	}
}

static void run(const sigset_t *sigs, pthread_t *probe, pthread_t *sampler)
{
	long i;

	vcpu_stats = xalloc(NULL, ((size_t)o.vcpus + 1) * sizeof(*vcpu_stats));
	memset(vcpu_stats, 0, ((size_t)o.vcpus + 1) * sizeof(*vcpu_stats));
	t0_ns = now_ns();
	for (i = 0; i < o.vcpus; i++)
		start_thread(&vcpu_tids[i], vcpu_main, (void *)i, 1);
	start_thread(probe, probe_main, &probe_stats, 0);
	start_thread(sampler, sampler_main, NULL, 0);
	if (!o.quiet) {
		printf("workload: ready pid=%d pages=%zu\n", (int)getpid(), total_pages);
		fflush(stdout);
	}
	wait_for_end(sigs);
}

static void stop(pthread_t probe, pthread_t sampler)
{
	uint64_t one = 1;
	long i;

	atomic_store(&stopping, 1);
	if (write(stop_fd, &one, sizeof(one)) != sizeof(one))
		perror("workload: eventfd");
	for (i = 0; i < o.vcpus; i++)
		pthread_join(vcpu_tids[i], NULL);
	pthread_join(probe, NULL);
	pthread_join(sampler, NULL);
}

/* ---- the report ---- */

static uint64_t us(uint64_t ns) { return (ns + 500) / 1000; }

static void print_summary(FILE *f, const char *what, const struct stats *st)
{
	fprintf(f, "summary\twhat=%s\tcount=%llu\tmax_us=%llu\tp99_us=%llu\tp999_us=%llu"
		"\tover_1ms=%llu\tover_10ms=%llu\tover_100ms=%llu\tover_1s=%llu\n",
		what, (unsigned long long)st->count, (unsigned long long)us(st->max_ns),
		(unsigned long long)us(percentile(st, 0.99)),
		(unsigned long long)us(percentile(st, 0.999)),
		(unsigned long long)st->over[0], (unsigned long long)st->over[1],
		(unsigned long long)st->over[2], (unsigned long long)st->over[3]);
}

static void print_pct(FILE *f, const char *key, double v)
{
	if (v < 0)
		fprintf(f, "\t%s=-1", key);
	else
		fprintf(f, "\t%s=%.1f", key, v);
}

static void print_timeline(FILE *f, uint64_t runtime_ns)
{
	size_t nb = (runtime_ns + BUCKET_NS - 1) / BUCKET_NS, b, j = 0;
	uint64_t touch;
	long i;

	for (b = 0; b < nb; b++) {
		for (touch = 0, i = 0; i < o.vcpus; i++)
			if (bucket_max(&vcpu_stats[i], b) > touch)
				touch = bucket_max(&vcpu_stats[i], b);
		while (j < nsamples && samples[j].t_ms < (b + 1) * BUCKET_NS / 1000000)
			j++;
		fprintf(f, "timeline\tt_ms=%llu\ttouch_max_us=%llu\tmmap_max_us=%llu",
			(unsigned long long)(b * BUCKET_NS / 1000000),
			(unsigned long long)us(touch),
			(unsigned long long)us(bucket_max(&probe_stats, b)));
		print_pct(f, "local_pct", j ? samples[j - 1].local : -1);
		print_pct(f, "ksm_local_pct", j ? samples[j - 1].ksm_local : -1);
		fputc('\n', f);
	}
}

/* Per-node page counts of R into COUNTS[MAX_IDS]; returns the absent pages. */
static size_t count_region(const struct region *r, size_t *counts)
{
	void *pages[QUERY_BATCH];
	int status[QUERY_BATCH];
	size_t i, k, n, absent = 0;

	for (i = 0; i < r->pages; i += n) {
		n = r->pages - i < QUERY_BATCH ? r->pages - i : QUERY_BATCH;
		for (k = 0; k < n; k++) {
			pages[k] = r->base + (i + k) * page_size;
			status[k] = -ENOENT;
		}
		if (syscall(SYS_move_pages, 0, n, pages, NULL, status, 0))
			memset(status, 0xff, n * sizeof(int));      /* all -1 */
		for (k = 0; k < n; k++) {
			if (status[k] >= 0 && status[k] < MAX_IDS)
				counts[status[k]]++;
			else
				absent++;
		}
	}
	return absent;
}

/* Region lines; adds each region's pages to TOT[ksm] and LOC[ksm]. */
static void print_regions(FILE *f, const struct bits *local, size_t tot[2], size_t loc[2])
{
	static size_t counts[MAX_IDS];
	size_t absent, n;
	int i;

	for (i = 0; i < nregions; i++) {
		const struct region *r = &regions[i];

		memset(counts, 0, sizeof(counts));
		absent = count_region(r, counts);
		fprintf(f, "region\tidx=%d\tsize_mib=%zu\tcontent=%s\tksm=%d\tpages=%zu", i,
			r->pages * page_size >> 20, content_names[r->content], r->ksm, r->pages);
		for (n = 0; n < MAX_IDS; n++) {
			if (bit_test(&online, n) || counts[n])
				fprintf(f, "\tnode%zu=%zu", n, counts[n]);
			tot[r->ksm] += counts[n];
			loc[r->ksm] += bit_test(local, n) ? counts[n] : 0;
		}
		fprintf(f, "\tabsent=%zu\n", absent);
	}
}

static void report(FILE *f, uint64_t runtime_ns, const struct bits *local)
{
	struct stats *touch = &vcpu_stats[o.vcpus];     /* the spare slot: the sum */
	size_t tot[2] = { 0, 0 }, loc[2] = { 0, 0 };
	long i;
	int k;

	for (i = 0; i < o.vcpus; i++)
		stats_merge(touch, &vcpu_stats[i]);
	print_summary(f, "touch", touch);
	print_summary(f, "mmap", &probe_stats);
	for (k = 0; k < nmarks; k++)
		fprintf(f, "mark\tt_ms=%llu\n", (unsigned long long)marks[k]);
	print_timeline(f, runtime_ns);
	print_regions(f, local, tot, loc);
	fprintf(f, "final");
	print_pct(f, "local_pct", tot[0] ? 100.0 * (double)loc[0] / (double)tot[0] : -1);
	print_pct(f, "ksm_local_pct", tot[1] ? 100.0 * (double)loc[1] / (double)tot[1] : -1);
	fprintf(f, "\truntime_s=%.2f\n", (double)runtime_ns / 1e9);
}

/* Checks what can fail before the memory is populated; exits 2 on a bad setup. */
static FILE *setup(const sigset_t *sigs)
{
	struct bits cpus;
	FILE *f = stdout;

	if (read_list(NODE_DIR "/online", &online) || bits_empty(&online))
		bit_set(&online, 0);
	if (o.cpu_node >= 0 && (node_cpus(o.cpu_node, &cpus) || bits_empty(&cpus))) {
		fprintf(stderr, "workload: -C %ld: the node has no CPUs\n", o.cpu_node);
		exit(2);
	}
	if (o.out && !(f = fopen(o.out, "w"))) {
		fprintf(stderr, "workload: %s: %s\n", o.out, strerror(errno));
		exit(2);
	}
	stop_fd = eventfd(0, EFD_CLOEXEC);
	if (stop_fd < 0 || pthread_sigmask(SIG_BLOCK, sigs, NULL)) {
		perror("workload: setup");
		exit(1);
	}
	prctl(PR_SET_NAME, o.comm, 0, 0, 0);
	return f;
}

static int populate_placed(void)
{
	int err, stopped;

	if (o.mem_node >= 0 && (err = set_policy(MPOL_BIND, o.mem_node))) {
		fprintf(stderr, "workload: -M %ld: %s\n", o.mem_node, strerror(-err));
		exit(2);
	}
	stopped = populate();
	if (o.mem_node >= 0 && (err = set_policy(MPOL_DEFAULT, 0)))
		fprintf(stderr, "workload: resetting the memory policy: %s\n", strerror(-err));
	return stopped;
}

int main(int argc, char **argv)
{
	pthread_t probe, sampler;
	uint64_t runtime = 0;
	struct bits local;
	sigset_t sigs;
	FILE *f;

	page_size = (size_t)sysconf(_SC_PAGESIZE);
	if (parse_opts(argc, argv)) {
		usage(stderr);
		return 2;
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGUSR1);
	f = setup(&sigs);
	if (map_regions())
		return 1;
	if (populate_placed()) {
		o.vcpus = 0;            /* stopped while populating: nothing measured */
		vcpu_stats = xalloc(NULL, sizeof(*vcpu_stats));
		memset(vcpu_stats, 0, sizeof(*vcpu_stats));
		local_nodes(&local);
	} else {
		run(&sigs, &probe, &sampler);
		runtime = now_ns() - t0_ns;
		local_nodes(&local);    /* while vCPU 0 still exists */
		stop(probe, sampler);
	}
	report(f, runtime, &local);
	if (fflush(f) || (f != stdout && fclose(f))) {
		perror("workload: writing the report");
		return 1;
	}
	return 0;
}
