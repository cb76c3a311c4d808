/* Unit tests for the pagemap reader: synthetic binary pagemap, kpageflags
 * and kpagecount files in a temp tree, and the test process itself.
 * Expected values come from the layout written below, not from output. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pagemap.h"
#include "tmptree.h"

#define PS              4096ULL
#define P               (1ULL << 63)    /* present */
#define SWAP            (1ULL << 62)
#define X               (1ULL << 56)    /* exclusively mapped */
#define F_LRU           (1ULL << 5)
#define F_ANON          (1ULL << 12)
#define F_HEAD          (1ULL << 15)
#define F_TAIL          (1ULL << 16)
#define F_KSM           (1ULL << 21)
#define F_THP           (1ULL << 22)
#define F_ZERO          (1ULL << 24)

/* The synthetic process 100 (101: the same with PFNs hidden, as without
 * CAP_SYS_ADMIN).  Eligible VMAs, in order:
 *   TEXT  2 pages, page cache mapped 5 times        -> 2 x SHARED(5)
 *   HEAP  1 page                                   -> EXCLUSIVE(1)
 *   MIXED 1024 pages: 0 absent, 1 exclusive, 2 shared (2), 3 KSM (3),
 *         4 KSM (2,000,000), 5 the zero page, 6 swapped, 7-511 absent,
 *         512-1023 one THP (head + 511 tails)       -> 513 entries
 *   MEMFD 2 pages: exclusive, then a tail with no head -> 2 x EXCLUSIVE
 * A guard page, an empty VMA, [vvar], [vdso], [vsyscall] and a garbage
 * line are not listed. */
#define TEXT    0x400000ULL
#define HEAP    0x1000000ULL
#define MIXED   0x10000000ULL
#define THP     (MIXED + 512 * PS)
#define MEMFD   0x30000000ULL
#define KSM_BIG 2000000

static const char maps[] =
	"00400000-00402000 r-xp 00000000 08:01 1234       /usr/bin/qemu-system-x86_64\n"
	"00402000-00403000 ---p 00000000 00:00 0 \n"
	"01000000-01001000 rw-p 00000000 00:00 0          [heap]\n"
	"garbage\n"
	"10000000-10400000 rw-p 00000000 00:00 0 \n"
	"20000000-20000000 rw-p 00000000 00:00 0\n"
	"30000000-30002000 rw-s 00000000 00:01 77         /memfd:pc.ram (deleted)\n"
	"7ffc0000-7ffc1000 r--p 00000000 00:00 0          [vvar]\n"
	"7ffc1000-7ffc2000 r-xp 00000000 00:00 0          [vdso]\n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]";

struct fixture {
	char *dir;
	struct rt_root *r;
	struct pm_window w;
};

/* Writes N values at 8-byte slot INDEX of DIR/REL (created if absent). */
static void put_u64s(const char *dir, const char *rel, uint64_t index,
                     const uint64_t *v, size_t n)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, v, n * 8, index * 8), (ssize_t)(n * 8));
	close(fd);
}

/* Pagemap entry at ADDR of both processes (101 without its PFN), and the frame's data. */
static void page(const char *dir, uint64_t addr, uint64_t entry, uint64_t flags,
                 uint64_t count)
{
	uint64_t pfn = entry & P ? entry & ((1ULL << 55) - 1) : 0;
	uint64_t hidden = pfn ? entry & ~((1ULL << 55) - 1) : entry;

	put_u64s(dir, "proc/100/pagemap", addr / PS, &entry, 1);
	put_u64s(dir, "proc/101/pagemap", addr / PS, &hidden, 1);
	if (pfn) {
		put_u64s(dir, "proc/kpageflags", pfn, &flags, 1);
		put_u64s(dir, "proc/kpagecount", pfn, &count, 1);
	}
}

static void build_thp(const char *dir)
{
	page(dir, THP, P | X | 0x2000, F_THP | F_HEAD | F_ANON | F_LRU, 1);
	for (uint64_t i = 1; i < 512; i++)
		page(dir, THP + i * PS, P | X | (0x2000 + i), F_THP | F_TAIL | F_ANON, 1);
}

static void build(const char *dir)
{
	tt_put(dir, "proc/100/maps", maps);
	tt_put(dir, "proc/101/maps", maps);
	page(dir, TEXT, P | 0x500, F_LRU, 5);
	page(dir, TEXT + PS, P | 0x501, F_LRU, 5);
	page(dir, HEAP, P | X | 0x600, F_ANON | F_LRU, 1);
	page(dir, MIXED + 1 * PS, P | X | 0x1001, F_ANON | F_LRU, 1);
	page(dir, MIXED + 2 * PS, P | 0x1002, F_ANON | F_LRU, 2);
	page(dir, MIXED + 3 * PS, P | 0x1003, F_KSM | F_ANON, 3);
	page(dir, MIXED + 4 * PS, P | 0x1004, F_KSM | F_ANON, KSM_BIG);
	page(dir, MIXED + 5 * PS, P | 0x1800, F_ZERO, 1);
	page(dir, MIXED + 6 * PS, SWAP | 0x1234, 0, 0);
	build_thp(dir);
	page(dir, MEMFD, P | X | 0x3000, F_LRU, 1);
	page(dir, MEMFD + PS, P | X | 0x3001, F_TAIL | F_LRU, 1);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char root[PATH_MAX];

	if (sysconf(_SC_PAGESIZE) != PS)
		skip();
	f->dir = tt_copy(NULL);
	build(f->dir);
	snprintf(root, sizeof(root), "%s", f->dir);
	assert_int_equal(rt_open(root, &f->r), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pm_window_free(&f->w);
	rt_close(f->r);
	tt_remove(f->dir);
	free(f);
	return 0;
}

static void expect_page(const struct pm_page *p, uint64_t addr, enum pm_kind kind,
                        uint32_t mapcount, uint32_t pages)
{
	assert_int_equal(p->addr, addr);
	assert_int_equal(p->kind, kind);
	assert_int_equal(p->mapcount, mapcount);
	assert_int_equal(p->pages, pages);
}

static void classify(void **state)
{
	(void)state;
	assert_int_equal(pm_classify(0, true, F_KSM, 3), PM_ABSENT);
	assert_int_equal(pm_classify(SWAP | 0x55, false, 0, 0), PM_ABSENT);
	assert_int_equal(pm_classify(P | X | 1, true, F_ANON, 1), PM_EXCLUSIVE);
	assert_int_equal(pm_classify(P | 1, true, F_ANON, 2), PM_SHARED);
	assert_int_equal(pm_classify(P | 1, true, F_KSM, 256), PM_KSM);
	assert_int_equal(pm_classify(P | 1, true, F_ZERO, 1), PM_ABSENT);
	assert_int_equal(pm_classify(P | X | 1, true, F_THP | F_HEAD, 1), PM_THP);
	assert_int_equal(pm_classify(P | X | 1, true, (1ULL << 17) | F_HEAD, 1), PM_THP);
	assert_int_equal(pm_classify(P | X | 1, true, F_THP | F_TAIL, 1), PM_EXCLUSIVE);
	/* count 0 (raced with an unmap): the entry's own bit decides */
	assert_int_equal(pm_classify(P | 1, true, 0, 0), PM_SHARED);
	/* without PFNs: the exclusive bit, nothing else */
	assert_int_equal(pm_classify(P | X, false, F_KSM, 9), PM_EXCLUSIVE);
	assert_int_equal(pm_classify(P, false, F_KSM, 9), PM_SHARED);
}

/* The mixed chunk's first seven entries with PFNs. */
static void expect_mixed_head(const struct pm_window *w)
{
	expect_page(&w->page[0], MIXED, PM_ABSENT, 0, 1);
	expect_page(&w->page[1], MIXED + PS, PM_EXCLUSIVE, 1, 1);
	expect_page(&w->page[2], MIXED + 2 * PS, PM_SHARED, 2, 1);
	expect_page(&w->page[3], MIXED + 3 * PS, PM_KSM, 3, 1);
	expect_page(&w->page[4], MIXED + 4 * PS, PM_KSM, KSM_BIG, 1);
	expect_page(&w->page[5], MIXED + 5 * PS, PM_ABSENT, 0, 1);
	expect_page(&w->page[6], MIXED + 6 * PS, PM_ABSENT, 0, 1);
}

static void walk_with_pfns(void **state)
{
	struct fixture *f = *state;
	struct pm_window *w = &f->w;

	assert_int_equal(pm_read(f->r, 100, 0, 4096, w), 0);
	assert_int_equal(w->n, 2);
	assert_true(w->pfns);
	expect_page(&w->page[0], TEXT, PM_SHARED, 5, 1);
	expect_page(&w->page[1], TEXT + PS, PM_SHARED, 5, 1);
	assert_int_equal(w->next, HEAP);

	assert_int_equal(pm_read(f->r, 100, w->next, 4096, w), 0);
	assert_int_equal(w->n, 1);
	expect_page(&w->page[0], HEAP, PM_EXCLUSIVE, 1, 1);
	assert_int_equal(w->next, MIXED);

	assert_int_equal(pm_read(f->r, 100, w->next, 4096, w), 0);
	assert_int_equal(w->n, 513);
	assert_true(w->pfns);
	expect_mixed_head(w);
	for (int i = 7; i < 512; i++)
		expect_page(&w->page[i], MIXED + i * PS, PM_ABSENT, 0, 1);
	expect_page(&w->page[512], THP, PM_THP, 1, 512);
	assert_int_equal(w->next, MEMFD);

	assert_int_equal(pm_read(f->r, 100, w->next, 4096, w), 0);
	assert_int_equal(w->n, 2);
	expect_page(&w->page[0], MEMFD, PM_EXCLUSIVE, 1, 1);
	expect_page(&w->page[1], MEMFD + PS, PM_EXCLUSIVE, 1, 1);
	assert_int_equal(w->next, 0);
}

/* Expects PID's mixed chunk as seen without PFNs: 1024 entries. */
static void expect_mixed_nopfn(struct fixture *f, pid_t pid)
{
	struct pm_window *w = &f->w;

	assert_int_equal(pm_read(f->r, pid, 0, 4096, w), 0);
	assert_false(w->pfns);
	expect_page(&w->page[0], TEXT, PM_SHARED, 0, 1);
	assert_int_equal(pm_read(f->r, pid, MIXED, 4096, w), 0);
	assert_int_equal(w->n, 1024);
	assert_false(w->pfns);
	expect_page(&w->page[0], MIXED, PM_ABSENT, 0, 1);
	expect_page(&w->page[1], MIXED + PS, PM_EXCLUSIVE, 1, 1);
	for (int i = 2; i <= 5; i++)    /* shared, both KSM, the zero page */
		expect_page(&w->page[i], MIXED + i * PS, PM_SHARED, 0, 1);
	expect_page(&w->page[6], MIXED + 6 * PS, PM_ABSENT, 0, 1);
	for (int i = 512; i < 1024; i++)
		expect_page(&w->page[i], MIXED + i * PS, PM_EXCLUSIVE, 1, 1);
	assert_int_equal(w->next, MEMFD);
}

static void no_kpageflags(void **state)
{
	struct fixture *f = *state;

	tt_drop(f->dir, "proc/kpageflags");
	expect_mixed_nopfn(f, 100);
}

static void kpagecount_fails(void **state)
{
	struct fixture *f = *state;

	/* opens, but every read fails (EISDIR), like an EPERM on read */
	tt_drop(f->dir, "proc/kpagecount");
	tt_mkdir(f->dir, "proc/kpagecount");
	expect_mixed_nopfn(f, 100);
}

static void pfns_hidden(void **state)
{
	expect_mixed_nopfn(*state, 101);
}

static void small_windows(void **state)
{
	struct fixture *f = *state;
	struct pm_window *w = &f->w;
	uint64_t from = 0;
	int calls = 0, thp = 0;

	do {
		assert_int_equal(pm_read(f->r, 100, from, 1, w), 0);
		assert_int_equal(w->n, 1);
		assert_true(w->next == 0 || w->next > from);
		thp += w->page[0].kind == PM_THP;
		from = w->next;
		calls++;
	} while (from && calls < 2000);
	assert_int_equal(calls, 2 + 1 + 513 + 2);
	assert_int_equal(thp, 1);

	assert_int_equal(pm_read(f->r, 100, MIXED, 3, w), 0);
	assert_int_equal(w->n, 3);
	assert_int_equal(w->next, MIXED + 3 * PS);
	assert_int_equal(pm_read(f->r, 100, w->next, 4, w), 0);
	expect_page(&w->page[0], MIXED + 3 * PS, PM_KSM, 3, 1);
	expect_page(&w->page[1], MIXED + 4 * PS, PM_KSM, KSM_BIG, 1);
	assert_int_equal(w->next, MIXED + 7 * PS);
}

static void thp_boundaries(void **state)
{
	struct fixture *f = *state;
	struct pm_window *w = &f->w;

	/* the last page before the THP fills a window; the THP starts the next */
	assert_int_equal(pm_read(f->r, 100, THP - PS, 1, w), 0);
	expect_page(&w->page[0], THP - PS, PM_ABSENT, 0, 1);
	assert_int_equal(w->next, THP);
	/* a one-entry window still takes the whole THP */
	assert_int_equal(pm_read(f->r, 100, THP, 1, w), 0);
	assert_int_equal(w->n, 1);
	expect_page(&w->page[0], THP, PM_THP, 1, 512);
	assert_int_equal(w->next, MEMFD);
	/* a THP across two pagemap batches: read 512 pages from page 300 */
	assert_int_equal(pm_read(f->r, 100, MIXED + 300 * PS, 213, w), 0);
	assert_int_equal(w->n, 213);
	expect_page(&w->page[211], THP - PS, PM_ABSENT, 0, 1);
	expect_page(&w->page[212], THP, PM_THP, 1, 512);
	assert_int_equal(w->next, MEMFD);
	/* two absent pages fill the window just before the THP */
	assert_int_equal(pm_read(f->r, 100, MIXED + 510 * PS, 2, w), 0);
	assert_int_equal(w->n, 2);
	assert_int_equal(w->next, THP);
	/* a window starting inside the THP lists its tails as pages */
	assert_int_equal(pm_read(f->r, 100, THP + 10 * PS + 123, 2, w), 0);
	expect_page(&w->page[0], THP + 10 * PS, PM_EXCLUSIVE, 1, 1);
	expect_page(&w->page[1], THP + 11 * PS, PM_EXCLUSIVE, 1, 1);
	assert_int_equal(w->next, THP + 12 * PS);
}

static void gaps_and_end(void **state)
{
	struct fixture *f = *state;
	struct pm_window *w = &f->w;

	assert_int_equal(pm_read(f->r, 100, 0, 0, w), -EINVAL);
	/* from a guard page, an empty VMA, a gap: the next eligible VMA */
	assert_int_equal(pm_read(f->r, 100, 0x402000, 8, w), 0);
	expect_page(&w->page[0], HEAP, PM_EXCLUSIVE, 1, 1);
	assert_int_equal(pm_read(f->r, 100, 0x20000000, 8, w), 0);
	expect_page(&w->page[0], MEMFD, PM_EXCLUSIVE, 1, 1);
	/* past the last one ([vvar] and the rest are skipped) */
	assert_int_equal(pm_read(f->r, 100, 0x7ffc0000, 8, w), 0);
	assert_int_equal(w->n, 0);
	assert_int_equal(w->next, 0);
}

static void process_gone(void **state)
{
	struct fixture *f = *state;
	struct pm_window *w = &f->w;

	assert_int_equal(pm_read(f->r, 100, 0, 1, w), 0);
	assert_int_equal(w->next, TEXT + PS);
	tt_drop(f->dir, "proc/100");
	assert_int_equal(pm_read(f->r, 100, w->next, 1, w), -ESRCH);
	assert_int_equal(w->n, 0);
	assert_int_equal(pm_read(f->r, 100, 0, 1, w), -ESRCH);
	assert_int_equal(pm_read(f->r, 4242, 0, 1, w), -ESRCH);
}

static void vma_vanished(void **state)
{
	struct fixture *f = *state;
	struct pm_window *w = &f->w;
	char path[PATH_MAX];

	/* pagemap ends after the mixed chunk's page 3: the rest reads absent */
	snprintf(path, sizeof(path), "%s/proc/100/pagemap", f->dir);
	assert_int_equal(truncate(path, (MIXED / PS + 4) * 8), 0);
	assert_int_equal(pm_read(f->r, 100, MIXED, 4096, w), 0);
	assert_int_equal(w->n, 1024);
	assert_true(w->pfns);
	expect_page(&w->page[3], MIXED + 3 * PS, PM_KSM, 3, 1);
	for (int i = 4; i < 1024; i++)
		expect_page(&w->page[i], MIXED + i * PS, PM_ABSENT, 0, 1);
	assert_int_equal(w->next, MEMFD);
	assert_int_equal(pm_read(f->r, 100, w->next, 4096, w), 0);
	assert_int_equal(w->n, 2);
	assert_int_equal(w->page[1].kind, PM_ABSENT);
	assert_int_equal(w->next, 0);
}

static void maps_reread(void **state)
{
	struct fixture *f = *state;
	struct pm_window *w = &f->w;

	assert_int_equal(pm_read(f->r, 100, 0, 8, w), 0);
	assert_int_equal(w->next, HEAP);
	tt_put(f->dir, "proc/100/maps", "30000000-30001000 rw-p 00000000 00:00 0\n");
	/* continuing the walk keeps its VMAs */
	assert_int_equal(pm_read(f->r, 100, w->next, 8, w), 0);
	expect_page(&w->page[0], HEAP, PM_EXCLUSIVE, 1, 1);
	assert_int_equal(w->next, MIXED);
	/* any other start reads maps again: MEMFD is one page now */
	assert_int_equal(pm_read(f->r, 100, HEAP, 8, w), 0);
	assert_int_equal(w->n, 1);
	expect_page(&w->page[0], MEMFD, PM_EXCLUSIVE, 1, 1);
	assert_int_equal(w->next, 0);
}

/* Pages of this process from ADDR for LEN bytes, THP heads counted whole. */
static void live_pages(struct rt_root *r, struct pm_window *w, uint64_t addr,
                       uint64_t len, int want_pfns)
{
	uint64_t end = addr + len, covered = 0, from = addr / PS * PS;

	while (from && from < end) {
		assert_int_equal(pm_read(r, getpid(), from, 256, w), 0);
		assert_int_equal(w->pfns, want_pfns);
		for (int i = 0; i < w->n; i++) {
			const struct pm_page *p = &w->page[i];

			if (p->addr >= end)
				break;
			assert_true(p->kind == PM_EXCLUSIVE || p->kind == PM_THP);
			if (want_pfns)
				assert_int_equal(p->mapcount, 1);
			covered += p->pages;
		}
		from = w->next;
	}
	assert_true(covered >= (end - addr / PS * PS) / PS);
}

/* What the reader must make of a page this process only read: the kernel
 * either maps the shared zero page (6.1) or, on some kernels and
 * configurations, a fresh exclusive page (seen on 6.18).  The raw pagemap
 * entry and kpageflags, read here without the reader, say which; the zero
 * page is never worth moving (PM_ABSENT with PFNs; without them it shows as
 * a page mapped more than once, PM_SHARED), a fresh page is PM_EXCLUSIVE. */
static enum pm_kind read_fault_kind(struct rt_root *r, uintptr_t addr, int pfns)
{
	uint64_t e = 0, flags = 0;
	int fd = rt_openfd(r, RT_PROC, O_RDONLY, "%d/pagemap", (int)getpid());
	const char *what;
	enum pm_kind want;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &e, 8, (off_t)(addr / PS * 8)), 8);
	close(fd);
	assert_true(e & P);
	if (pfns) {
		fd = rt_openfd(r, RT_PROC, O_RDONLY, "kpageflags");
		assert_true(fd >= 0);
		assert_int_equal(pread(fd, &flags, 8, (off_t)((e & ((1ULL << 55) - 1)) * 8)), 8);
		close(fd);
	}
	if (pfns ? (flags & F_ZERO) != 0 : !(e & X)) {
		what = "the shared zero page";
		want = pfns ? PM_ABSENT : PM_SHARED;
	} else {
		what = "a fresh exclusive page";
		want = PM_EXCLUSIVE;
	}
	printf("# live_self: this kernel maps %s on a read fault (PFNs %s)\n", what,
	       pfns ? "readable" : "hidden");
	return want;
}

static void live_self(void **state)
{
	struct pm_window w = {0};
	struct rt_root *r;
	size_t len = 8 << 20;
	char *buf = malloc(len), *m;
	int fd, pfns;

	(void)state;
	if (sysconf(_SC_PAGESIZE) != PS)
		skip();
	assert_non_null(buf);
	memset(buf, 0x5a, len);
	assert_int_equal(rt_open(NULL, &r), 0);
	fd = rt_openfd(r, RT_PROC, O_RDONLY, "kpageflags");
	pfns = geteuid() == 0 && fd >= 0;
	if (fd >= 0)
		close(fd);
	live_pages(r, &w, (uintptr_t)buf, len, pfns);

	/* pages 0 and 2 written, 1 untouched, 3 read */
	m = mmap(NULL, 4 * PS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	m[0] = m[2 * PS] = 1;
	assert_int_equal(((volatile char *)m)[3 * PS], 0);
	assert_int_equal(pm_read(r, getpid(), (uintptr_t)m, 4, &w), 0);
	assert_int_equal(w.n, 4);
	assert_int_equal(w.page[0].kind, PM_EXCLUSIVE);
	assert_int_equal(w.page[1].kind, PM_ABSENT);
	assert_int_equal(w.page[2].kind, PM_EXCLUSIVE);
	assert_int_equal(w.page[3].kind, read_fault_kind(r, (uintptr_t)m + 3 * PS, pfns));
	munmap(m, 4 * PS);
	pm_window_free(&w);
	rt_close(r);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(classify),
		cmocka_unit_test_setup_teardown(walk_with_pfns, setup, teardown),
		cmocka_unit_test_setup_teardown(no_kpageflags, setup, teardown),
		cmocka_unit_test_setup_teardown(kpagecount_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(pfns_hidden, setup, teardown),
		cmocka_unit_test_setup_teardown(small_windows, setup, teardown),
		cmocka_unit_test_setup_teardown(thp_boundaries, setup, teardown),
		cmocka_unit_test_setup_teardown(gaps_and_end, setup, teardown),
		cmocka_unit_test_setup_teardown(process_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(vma_vanished, setup, teardown),
		cmocka_unit_test_setup_teardown(maps_reread, setup, teardown),
		cmocka_unit_test(live_self),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
