/* memhog - a VM-like test workload for the multi-node guest (tests/vm/guest).
 *
 * To ksm-numad it looks like a qemu process: its comm is "qemu-system-x86"
 * and it runs threads named "CPU n/TCG".  It maps anonymous memory, binds it
 * to one node, fills it (one content for every page, or a unique one per
 * page), optionally offers it to KSM, prints a ready line and stays alive
 * until killed.  Raw syscalls instead of libnuma keep it a static binary.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/mempolicy.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64
#define MAX_NODE 1023               /* bits in the mbind mask, minus one */
#define TOUCH_PAGES 64              /* pages a thread reads per tick */
#define TOUCH_TICK_NS 200000000L    /* 200 ms between ticks */

struct opts {
	long mib;
	long node;                  /* -1: no binding */
	long threads;
	int same;
	int mergeable;
};

static unsigned char *mem;
static size_t mem_len;
static size_t page_size;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: memhog [-m MiB] [-n NODE] [-t THREADS] [-s] [-k]\n"
		"  -m MiB      anonymous memory to allocate (default 64)\n"
		"  -n NODE     bind it to NODE with mbind(MPOL_BIND) (default: no binding)\n"
		"  -t THREADS  threads named \"CPU n/TCG\" that read it (default 1)\n"
		"  -s          same content in every page (default: unique pages)\n"
		"  -k          madvise(MADV_MERGEABLE): offer the memory to KSM\n"
		"Prints \"memhog: ready pid=PID\" when filled; runs until killed.\n");
}

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

static int parse_opts(int argc, char **argv, struct opts *o)
{
	int c;

	*o = (struct opts){ .mib = 64, .node = -1, .threads = 1 };
	while ((c = getopt(argc, argv, "m:n:t:skh")) != -1) {
		switch (c) {
		case 'm':
			if (parse_long(optarg, 1, LONG_MAX >> 20, &o->mib))
				return -EINVAL;
			break;
		case 'n':
			if (parse_long(optarg, 0, MAX_NODE - 1, &o->node))
				return -EINVAL;
			break;
		case 't':
			if (parse_long(optarg, 0, MAX_THREADS, &o->threads))
				return -EINVAL;
			break;
		case 's':
			o->same = 1;
			break;
		case 'k':
			o->mergeable = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -EINVAL;
		}
	}
	return optind == argc ? 0 : -EINVAL;
}

static int bind_node(void *addr, size_t len, int node)
{
	unsigned long mask[(MAX_NODE + 1) / (8 * sizeof(unsigned long))] = { 0 };
	const unsigned bits = 8 * sizeof(unsigned long);

	mask[node / bits] |= 1UL << (node % bits);
	/* The kernel reads maxnode - 1 bits. */
	if (syscall(SYS_mbind, addr, len, MPOL_BIND, mask,
		    (unsigned long)MAX_NODE + 2, 0UL) < 0)
		return -errno;
	return 0;
}

static void fill(int same)
{
	uint64_t tag[2] = { 0, (uint64_t)getpid() };
	size_t off;

	for (off = 0; off < mem_len; off += page_size) {
		memset(mem + off, same ? 0x5a : 0xa5, page_size);
		if (!same) {
			tag[0] = off / page_size;
			memcpy(mem + off, tag, sizeof(tag));
		}
	}
}

/* A "vCPU": reads a few pages every tick (reads keep KSM merges intact). */
static void *vcpu_main(void *arg)
{
	long idx = (long)arg;
	size_t npages = mem_len / page_size;
	size_t next = (size_t)idx * (npages / MAX_THREADS);
	struct timespec tick = { 0, TOUCH_TICK_NS };
	volatile unsigned char sink;
	char name[16];
	int i;

	snprintf(name, sizeof(name), "CPU %ld/TCG", idx);
	prctl(PR_SET_NAME, name, 0, 0, 0);
	for (;;) {
		for (i = 0; i < TOUCH_PAGES; i++) {
			sink = mem[next * page_size];
			next = (next + 1) % npages;
		}
		(void)sink;
		nanosleep(&tick, NULL);
	}
	return NULL;
}

static int setup_memory(const struct opts *o)
{
	int err;

	mem_len = (size_t)o->mib << 20;
	mem = mmap(NULL, mem_len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("memhog: mmap");
		return -1;
	}
	if (o->node >= 0 && (err = bind_node(mem, mem_len, (int)o->node))) {
		fprintf(stderr, "memhog: mbind to node %ld: %s\n", o->node, strerror(-err));
		return -1;
	}
	if (o->mergeable && madvise(mem, mem_len, MADV_MERGEABLE)) {
		perror("memhog: madvise(MADV_MERGEABLE)");
		return -1;
	}
	fill(o->same);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	pthread_t tid;
	long i;
	int err;

	if (parse_opts(argc, argv, &o)) {
		usage(stderr);
		return 2;
	}
	prctl(PR_SET_NAME, "qemu-system-x86", 0, 0, 0);
	page_size = (size_t)sysconf(_SC_PAGESIZE);
	if (setup_memory(&o))
		return 1;
	for (i = 0; i < o.threads; i++) {
		err = pthread_create(&tid, NULL, vcpu_main, (void *)i);
		if (err) {
			fprintf(stderr, "memhog: thread %ld: %s\n", i, strerror(err));
			return 1;
		}
	}
	printf("memhog: ready pid=%d mib=%ld node=%ld threads=%ld same=%d mergeable=%d\n",
	       (int)getpid(), o.mib, o.node, o.threads, o.same, o.mergeable);
	fflush(stdout);
	for (;;)
		pause();
}
