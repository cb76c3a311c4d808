/* pagemap.c - windows of classified pages of one process.
 *
 * maps gives the VMAs, pagemap one 8-byte entry per page at offset
 * (addr / pagesize) * 8, kpageflags and kpagecount one 8-byte value per
 * page frame at offset pfn * 8.  All four are read through the root
 * context, so a test tree can hold synthetic binary files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pagemap.h"

#define PME_PRESENT     (1ULL << 63)
#define PME_EXCLUSIVE   (1ULL << 56)
#define PME_PFN_MASK    ((1ULL << 55) - 1)

#define KPF_COMPOUND_HEAD       (1ULL << 15)
#define KPF_COMPOUND_TAIL       (1ULL << 16)
#define KPF_HUGE                (1ULL << 17)
#define KPF_KSM                 (1ULL << 21)
#define KPF_THP                 (1ULL << 22)
#define KPF_ZERO_PAGE           (1ULL << 24)

#define MAPS_LIMIT      (64u << 20)     /* 65530 VMAs with long paths */
#define BATCH           512             /* pagemap entries per pread */

struct pm_vma {
	uint64_t start, end;
};

/* One pm_read call: open files, the current batch, the THP being folded. */
struct reader {
	struct pm_window *w;
	int max;
	uint64_t psize;
	int pagemap, kflags, kcount;    /* kflags/kcount -1 without PFNs */
	bool pfns;
	struct pm_page *fold;           /* head whose tails are being skipped */
	uint64_t fold_pfn;              /* PFN the next tail must have */
	uint64_t entry[BATCH], flags[BATCH], count[BATCH];
};

/* A process that is gone shows as a missing file or ESRCH. */
static int gone(int err)
{
	return err == -ENOENT || err == -ESRCH ? -ESRCH : err;
}

static uint64_t pfn_of(uint64_t entry)
{
	return entry & PME_PRESENT ? entry & PME_PFN_MASK : 0;
}

enum pm_kind pm_classify(uint64_t entry, bool have_pfn, uint64_t flags, uint64_t count)
{
	if (!(entry & PME_PRESENT))
		return PM_ABSENT;
	if (have_pfn) {
		if (flags & KPF_ZERO_PAGE)
			return PM_ABSENT;
		if (flags & KPF_KSM)
			return PM_KSM;
		if ((flags & (KPF_THP | KPF_HUGE)) && (flags & KPF_COMPOUND_HEAD))
			return PM_THP;
		if (count > 1)
			return PM_SHARED;
		if (count == 1)
			return PM_EXCLUSIVE;
		/* count 0: raced with an unmap, or past the file; trust the entry */
	}
	return entry & PME_EXCLUSIVE ? PM_EXCLUSIVE : PM_SHARED;
}

/* Lowercase or uppercase hex digits at S into *V, *END after them; -1 if none or overflow. */
static int parse_hex(const char *s, const char **end, uint64_t *v)
{
	uint64_t x = 0;
	const char *p = s;

	for (;; p++) {
		int d;

		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'f')
			d = (*p | 0x20) - 'a' + 10;
		else
			break;
		if (x >> 60)
			return -1;
		x = x << 4 | d;
	}
	if (p == s)
		return -1;
	*v = x;
	*end = p;
	return 0;
}

/* P after N blank-separated tokens and the blanks that follow; NULL if the line ends first. */
static const char *skip_tokens(const char *p, int n)
{
	for (int i = 0; i < n; i++) {
		while (*p == ' ')
			p++;
		if (!*p)
			return NULL;
		while (*p && *p != ' ')
			p++;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Bracketed names are the kernel's own mappings, except these. */
static bool special(const char *path)
{
	return path[0] == '[' && strcmp(path, "[heap]") != 0 &&
	       strncmp(path, "[stack", 6) != 0 && strncmp(path, "[anon:", 6) != 0 &&
	       strncmp(path, "[anon_shmem:", 12) != 0;
}

/* Parses one maps line "start-end perms offset dev inode [path]" into V;
 * false for a malformed line or a VMA that cannot hold guest RAM.  PFNMAP
 * and VM_IO ranges need no test: pagemap reports them as holes. */
static bool parse_vma(const char *line, struct pm_vma *v)
{
	const char *p, *path;

	if (parse_hex(line, &p, &v->start) < 0 || *p != '-' ||
	    parse_hex(p + 1, &p, &v->end) < 0 || *p != ' ')
		return false;
	p++;
	if (strnlen(p, 5) < 5 || p[4] != ' ' || p[0] != 'r')
		return false;
	path = skip_tokens(p, 4);
	return path && !special(path) && v->start < v->end;
}

/* Appends V to W's VMA list, keeping it sorted and without overlaps. */
static int add_vma(struct pm_window *w, const struct pm_vma *v, int *cap)
{
	if (w->nvma > 0 && v->start < w->vma[w->nvma - 1].end)
		return 0;
	if (w->nvma == *cap) {
		int ncap = *cap ? *cap * 2 : 64;
		struct pm_vma *nv = realloc(w->vma, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		w->vma = nv;
		*cap = ncap;
	}
	w->vma[w->nvma++] = *v;
	return 0;
}

/* Reads PID's maps into W's VMA list. */
static int load_vmas(const struct rt_root *r, pid_t pid, struct pm_window *w)
{
	char *buf, *line, *nl;
	int cap = 0, ret = 0;
	ssize_t len;

	free(w->vma);
	w->vma = NULL;
	w->nvma = 0;
	w->pid = 0;
	len = rt_read_alloc(r, RT_PROC, &buf, MAPS_LIMIT, "%d/maps", (int)pid);
	if (len < 0)
		return gone(len);
	for (line = buf; line && *line && ret == 0; line = nl ? nl + 1 : NULL) {
		struct pm_vma v;

		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (parse_vma(line, &v))
			ret = add_vma(w, &v, &cap);
	}
	free(buf);
	if (ret == 0)
		w->pid = pid;
	return ret;
}

/* Reads LEN bytes at OFF, zero-filling past the end of the file; -errno. */
static int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, off + done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += n;
	}
	memset((char *)buf + done, 0, len - done);
	return 0;
}

/* Reads flags and count of the first N entries' frames, one pread per run
 * of consecutive PFNs (a THP is one run).  Drops to no-PFN mode when PFNs
 * are hidden (0 on a present page) or the kpage files fail. */
static void read_kpage(struct reader *rd, int n)
{
	for (int i = 0, j; i < n; i = j) {
		uint64_t pfn = pfn_of(rd->entry[i]);

		for (j = i + 1; pfn && j < n && pfn_of(rd->entry[j]) == pfn + (j - i); j++)
			;
		rd->flags[i] = rd->count[i] = 0;
		if (!pfn && (rd->entry[i] & PME_PRESENT)) {
			rd->pfns = false;
			return;
		}
		if (pfn && (pread_full(rd->kflags, &rd->flags[i], (j - i) * 8, pfn * 8) < 0 ||
		            pread_full(rd->kcount, &rd->count[i], (j - i) * 8, pfn * 8) < 0)) {
			rd->pfns = false;
			return;
		}
	}
}

/* Reads N pagemap entries from ADDR on, and their frames' data. */
static int read_batch(struct reader *rd, uint64_t addr, int n)
{
	int ret = pread_full(rd->pagemap, rd->entry, n * 8, addr / rd->psize * 8);

	if (ret < 0)
		return gone(ret);
	if (rd->pfns)
		read_kpage(rd, n);
	return 0;
}

/* True if entry I is the next tail of the THP being folded. */
static bool fold(struct reader *rd, int i)
{
	if (!rd->fold)
		return false;
	if (rd->pfns && pfn_of(rd->entry[i]) == rd->fold_pfn &&
	    (rd->flags[i] & KPF_COMPOUND_TAIL) && rd->fold->pages < UINT32_MAX) {
		rd->fold->pages++;
		rd->fold_pfn++;
		return true;
	}
	rd->fold = NULL;
	return false;
}

/* Appends entry I at ADDR to the window. */
static void add_page(struct reader *rd, uint64_t addr, int i)
{
	uint64_t e = rd->entry[i], count = rd->count[i];
	bool pfn = rd->pfns && pfn_of(e);
	struct pm_page *p = &rd->w->page[rd->w->n++];

	p->addr = addr;
	p->kind = pm_classify(e, pfn, rd->flags[i], count);
	p->pages = 1;
	if (p->kind == PM_ABSENT)
		p->mapcount = 0;
	else if (pfn && count)
		p->mapcount = count > UINT32_MAX ? UINT32_MAX : count;
	else
		p->mapcount = e & PME_EXCLUSIVE ? 1 : 0;
	if (p->kind == PM_THP) {
		rd->fold = p;
		rd->fold_pfn = pfn_of(e) + 1;
	}
}

/* Lists pages from *ADDR to END until the window is full; *ADDR = where it stopped. */
static int read_range(struct reader *rd, uint64_t *addr, uint64_t end)
{
	while (*addr < end) {
		uint64_t left = (end - *addr) / rd->psize;
		int n = left < BATCH ? (int)left : BATCH;
		int ret = read_batch(rd, *addr, n);

		if (ret < 0)
			return ret;
		for (int i = 0; i < n; i++, *addr += rd->psize) {
			if (fold(rd, i))
				continue;
			if (rd->w->n == rd->max)
				return 0;
			add_page(rd, *addr, i);
		}
		if (rd->w->n == rd->max && !rd->fold)
			return 0;
	}
	return 0;
}

/* Opens kpageflags and kpagecount; without them (no CAP_SYS_ADMIN) no PFNs. */
static void open_kpage(const struct rt_root *r, struct reader *rd)
{
	rd->kflags = rt_openfd(r, RT_PROC, O_RDONLY, "kpageflags");
	rd->kcount = rt_openfd(r, RT_PROC, O_RDONLY, "kpagecount");
	rd->pfns = rd->kflags >= 0 && rd->kcount >= 0;
}

static void close_fds(struct reader *rd)
{
	if (rd->pagemap >= 0)
		close(rd->pagemap);
	if (rd->kflags >= 0)
		close(rd->kflags);
	if (rd->kcount >= 0)
		close(rd->kcount);
}

/* Index of the first VMA ending above FROM, or W->nvma. */
static int find_vma(const struct pm_window *w, uint64_t from)
{
	int i = 0;

	while (i < w->nvma && w->vma[i].end <= from)
		i++;
	return i;
}

static int grow_window(struct pm_window *w, int max)
{
	struct pm_page *np;

	if (w->cap >= max)
		return 0;
	np = realloc(w->page, (size_t)max * sizeof(*np));
	if (!np)
		return -ENOMEM;
	w->page = np;
	w->cap = max;
	return 0;
}

/* Reads the window of VMA I from FROM on. */
static int read_window(const struct rt_root *r, pid_t pid, int i, uint64_t from,
                       struct reader *rd)
{
	struct pm_window *w = rd->w;
	uint64_t addr = from > w->vma[i].start ? from / rd->psize * rd->psize : w->vma[i].start;
	int ret;

	rd->pagemap = rt_openfd(r, RT_PROC, O_RDONLY, "%d/pagemap", (int)pid);
	if (rd->pagemap < 0)
		return gone(rd->pagemap);
	open_kpage(r, rd);
	ret = read_range(rd, &addr, w->vma[i].end);
	if (ret < 0)
		return ret;
	w->pfns = rd->pfns;
	if (addr < w->vma[i].end)
		w->next = addr;
	else
		w->next = i + 1 < w->nvma ? w->vma[i + 1].start : 0;
	return 0;
}

int pm_read(const struct rt_root *r, pid_t pid, uint64_t from, int max, struct pm_window *w)
{
	struct reader *rd;
	int i, ret;

	if (max < 1)
		return -EINVAL;
	w->n = 0;
	w->next = 0;
	w->pfns = false;
	if (from == 0 || pid != w->pid || from != w->cont) {
		ret = load_vmas(r, pid, w);
		if (ret < 0)
			return ret;
	}
	w->cont = 0;
	i = find_vma(w, from);
	if (i == w->nvma)
		return 0;
	ret = grow_window(w, max);
	rd = calloc(1, sizeof(*rd));    /* 12 KiB of batch: not on the stack */
	if (ret < 0 || !rd) {
		free(rd);
		return -ENOMEM;
	}
	rd->w = w;
	rd->max = max;
	rd->psize = sysconf(_SC_PAGESIZE);
	rd->pagemap = rd->kflags = rd->kcount = -1;
	ret = read_window(r, pid, i, from, rd);
	close_fds(rd);
	free(rd);
	if (ret < 0)
		w->n = 0;
	else
		w->cont = w->next;
	return ret;
}

void pm_window_free(struct pm_window *w)
{
	free(w->page);
	free(w->vma);
	memset(w, 0, sizeof(*w));
}
