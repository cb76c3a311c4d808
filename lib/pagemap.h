/* pagemap.h - what each page of a process is, from /proc/PID/maps,
 * /proc/PID/pagemap and (with CAP_SYS_ADMIN) /proc/kpageflags and
 * /proc/kpagecount.  Read-only: the migration planner's input.
 *
 * Pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst): 63
 * present, 62 swapped, 56 exclusively mapped, 0-54 PFN (zero without
 * CAP_SYS_ADMIN).  kpageflags: 21 KSM, 22 THP, 17 HUGE (hugetlb), 15
 * COMPOUND_HEAD, 16 COMPOUND_TAIL, 24 ZERO_PAGE.  kpagecount: the page's
 * mapcount.
 */
#ifndef KN_PAGEMAP_H
#define KN_PAGEMAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "root.h"

enum pm_kind {
	PM_ABSENT,      /* not present (never touched, swapped, or the zero page) */
	PM_EXCLUSIVE,   /* present, mapped only by this process */
	PM_THP,         /* head of a huge page (THP or hugetlb; tails are not listed);
	                 * mapcount > 1 means it is shared */
	PM_SHARED,      /* mapped more than once, not known to be KSM */
	PM_KSM,         /* a KSM page; mapcount = its number of mappings */
};

struct pm_page {
	uint64_t addr;          /* virtual address in the process */
	uint32_t mapcount;      /* from kpagecount; 1 if unknown and exclusive, 0 if unknown */
	uint32_t pages;         /* base pages covered: 1, or head + tails of a PM_THP */
	uint8_t kind;           /* enum pm_kind */
};

struct pm_vma;

/* A window of pages of one VMA, read in one go.  Zero it before first use. */
struct pm_window {
	int n;
	struct pm_page *page;   /* n entries (THP tails folded into their head) */
	uint64_t next;          /* address to continue from; 0 when the process is done */
	bool pfns;              /* PFNs were readable (kpageflags/kpagecount used) */
	/* private: the walk's VMAs, read from maps when a walk starts */
	int cap;                /* entries allocated in page */
	pid_t pid;              /* whose VMAs these are; 0 for none */
	uint64_t cont;          /* next of the last read: FROM that continues the walk */
	int nvma;
	struct pm_vma *vma;
};

/* Reads up to MAX entries of PID from address FROM on (VMAs that can hold
 * guest RAM: readable, non-empty, private or shared anonymous and file
 * mappings, not [vsyscall], [vvar], [vdso] or other special ones) into W
 * (W->page malloc'd, reused across calls); a window never leaves its VMA.
 * Every base page gets an entry, absent ones too, except THP tails, which
 * are folded into their head even past MAX.  maps is read again unless
 * the call continues the previous one (same PID, FROM == W->next != 0):
 * a walk sees the VMAs of its start, and those unmapped since read as
 * absent.  0 on success (W->n may be 0
 * with W->next 0 when nothing is left), -ESRCH if the process is gone,
 * -EINVAL if MAX < 1, -errno otherwise. */
int pm_read(const struct rt_root *r, pid_t pid, uint64_t from, int max, struct pm_window *w);

/* Frees W's buffers and zeroes it. */
void pm_window_free(struct pm_window *w);

/* Classifies one pagemap entry with its kpageflags/kpagecount values
 * (FLAGS/COUNT ignored when HAVE_PFN is false). Pure; for tests. */
enum pm_kind pm_classify(uint64_t entry, bool have_pfn, uint64_t flags, uint64_t count);

#endif
