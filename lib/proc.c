/* proc.c - per-process readers: stat, status, numa_maps, cgroup, KSM, threads.
 *
 * Text files are parsed line by line with bounds.  A last line without its
 * newline is a truncated file and is ignored (stat excepted: it is one line
 * whose field count is checked).
 */
#include "proc.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"

#define STAT_FIELDS 52              /* since Linux 3.5 (exit_code) */
#define STAT_BUF 2048
#define NUMA_MAPS_LIMIT (16u << 20)
#define NUMA_STAT_LIMIT (1u << 20)
#define CGROUP_LIMIT (64u << 10)
#define KSM_STAT_BUF 4096
#define MAX_THREADS 4096
#define PF_EXITING 0x00000004       /* include/linux/sched.h: in do_exit() */

/* stat fields printed as signed numbers (fs/proc/array.c). */
static const uint64_t stat_signed =
	1ull << 7 | 1ull << 8 | 1ull << 16 | 1ull << 17 | 1ull << 18 |
	1ull << 19 | 1ull << 20 | 1ull << 21 | 1ull << 38 | 1ull << 39 |
	1ull << 52;

/* A process that is gone shows as a missing file or ESRCH. */
static int gone(int err)
{
	return err == -ENOENT || err == -ESRCH ? -ESRCH : err;
}

/* A number that may be negative, stored two's complement in *V. */
static int parse_signed(const char *s, const char **end, uint64_t *v)
{
	int64_t x;

	if (*s != '-')
		return num_u64(s, end, v);
	if (num_s64(s, end, &x) < 0)
		return -EINVAL;
	*v = (uint64_t)x;
	return 0;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

/* Copies at most N bytes of S into DST of SIZE, NUL-terminated, truncating. */
static void copy_str(char *dst, size_t size, const char *s, size_t n)
{
	if (n >= size)
		n = size - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* Next line of [*P, END) with its newline; false at the end or on a last
 * line without newline (truncated file). */
static bool next_line(const char **p, const char *end, const char **line, size_t *len)
{
	const char *nl;

	if (*p >= end)
		return false;
	nl = memchr(*p, '\n', end - *p);
	if (!nl)
		return false;
	*line = *p;
	*len = nl - *p;
	*p = nl + 1;
	return true;
}

/* Next blank-separated token of [*P, END); false when none is left. */
static bool next_tok(const char **p, const char *end, const char **tok, size_t *len)
{
	const char *s = *p;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	if (s >= end)
		return false;
	*tok = s;
	while (s < end && *s != ' ' && *s != '\t')
		s++;
	*len = s - *tok;
	*p = s;
	return true;
}

static bool tok_is(const char *tok, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(tok, word, n) == 0;
}

/* If TOK starts with PREFIX, points *VAL at the rest. */
static bool tok_prefix(const char *tok, size_t n, const char *prefix,
                       const char **val, size_t *vlen)
{
	size_t pl = strlen(prefix);

	if (n < pl || memcmp(tok, prefix, pl) != 0)
		return false;
	*val = tok + pl;
	*vlen = n - pl;
	return true;
}

/* Parses the fields after the comm ("S 1 2 ..."), numbered from 3, into V. */
static int stat_fields(const char *p, uint64_t v[STAT_FIELDS + 1])
{
	int field = 3;

	if (p[0] != ' ' || p[1] == '\0' || p[1] == ' ' || p[1] == '\n' || p[2] != ' ')
		return -EINVAL;
	v[3] = (unsigned char)p[1];
	for (p += 2; *p == ' '; ) {
		uint64_t x;
		bool sig = ++field > STAT_FIELDS || (stat_signed >> field & 1);

		if ((sig ? parse_signed : num_u64)(p + 1, &p, &x) < 0)
			return -EINVAL;
		if (field <= STAT_FIELDS)
			v[field] = x;
	}
	if (field < STAT_FIELDS || (*p == '\n' && p[1] != '\0') || (*p && *p != '\n'))
		return -EINVAL;
	return 0;
}

int proc_parse_stat(const char *buf, struct proc_stat *st)
{
	const char *open = strchr(buf, '('), *close = strrchr(buf, ')'), *end;
	uint64_t v[STAT_FIELDS + 1], pid;

	if (!open || !close || close < open || open == buf || open[-1] != ' ')
		return -EINVAL;
	if (num_u64(buf, &end, &pid) < 0 || end != open - 1 || pid == 0 || pid > INT_MAX)
		return -EINVAL;
	if (stat_fields(close + 1, v) < 0)
		return -EINVAL;
	/* Negative values are stored two's complement: these checks refuse them. */
	if (v[4] > INT_MAX || v[9] > UINT_MAX || v[20] > LONG_MAX || v[39] > INT_MAX)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	st->pid = (pid_t)pid;
	copy_str(st->comm, sizeof(st->comm), open + 1, close - open - 1);
	st->state = (char)v[3];
	st->ppid = (pid_t)v[4];
	st->flags = (unsigned int)v[9];
	st->utime = v[14];
	st->stime = v[15];
	st->num_threads = (long)v[20];
	st->starttime = v[22];
	st->rss_pages = v[24];
	st->processor = (int)v[39];
	return 0;
}

/* 'x' is "dead" before Linux 4.14. */
bool proc_stat_exiting(const struct proc_stat *st)
{
	return st->state == 'Z' || st->state == 'X' || st->state == 'x' ||
	       (st->flags & PF_EXITING);
}

int proc_read_stat(const struct rt_root *r, pid_t pid, pid_t tid, struct proc_stat *st)
{
	char buf[STAT_BUF];
	ssize_t n;

	if (tid > 0)
		n = rt_read(r, RT_PROC, buf, sizeof(buf), "%d/task/%d/stat", (int)pid, (int)tid);
	else
		n = rt_read(r, RT_PROC, buf, sizeof(buf), "%d/stat", (int)pid);
	if (n == -EFBIG)
		return -EINVAL;
	if (n < 0)
		return gone(n);
	return proc_parse_stat(buf, st);
}

/* "  1234 kB" */
static int status_kib(const char *v, size_t n, uint64_t *out)
{
	const char *end = v + n, *e;

	while (v < end && *v == ' ')
		v++;
	if (v == end || num_u64(v, &e, out) < 0 || end - e != 3 || memcmp(e, " kB", 3))
		return -EINVAL;
	return 0;
}

/* "0\t0\t0\t0": the real uid is the first. */
static int status_uid(const char *v, size_t n, uid_t *uid)
{
	const char *e;
	uint64_t x;

	if (num_u64(v, &e, &x) < 0 || e > v + n || (e < v + n && *e != '\t') ||
	    x >= (uid_t)-1)
		return -EINVAL;
	*uid = (uid_t)x;
	return 0;
}

static int status_list(const char *v, size_t n, struct idset *s)
{
	char *copy = strndup(v, n);
	int ret;

	if (!copy)
		return -ENOMEM;
	ret = idset_parse(s, copy) < 0 ? -EINVAL : 0;
	free(copy);
	return ret;
}

/* Stores the value V (N bytes) of status field KEY if it is one we use. */
static int status_field(const char *key, size_t klen, const char *v, size_t n,
                        struct proc_status *st)
{
	uint64_t x;

	if (tok_is(key, klen, "Name"))
		copy_str(st->name, sizeof(st->name), v, n);
	else if (tok_is(key, klen, "Uid"))
		return status_uid(v, n, &st->uid);
	else if (tok_is(key, klen, "VmRSS"))
		return status_kib(v, n, &st->vm_rss_kib);
	else if (tok_is(key, klen, "RssAnon"))
		return status_kib(v, n, &st->rss_anon_kib);
	else if (tok_is(key, klen, "Threads")) {
		if (num_u64_tok(v, n, &x) < 0 || x > LONG_MAX)
			return -EINVAL;
		st->threads = (long)x;
	} else if (tok_is(key, klen, "Cpus_allowed_list"))
		return status_list(v, n, &st->cpus_allowed);
	else if (tok_is(key, klen, "Mems_allowed_list"))
		return status_list(v, n, &st->mems_allowed);
	return 0;
}

int proc_parse_status(const char *buf, struct proc_status *st)
{
	const char *p = buf, *end = buf + strlen(buf), *line;
	size_t len;

	memset(st, 0, sizeof(*st));
	while (next_line(&p, end, &line, &len)) {
		const char *colon = memchr(line, ':', len), *v;
		int ret;

		if (!colon)
			continue;
		v = colon + 1;
		if (v < line + len && *v == '\t')
			v++;
		ret = status_field(line, colon - line, v, line + len - v, st);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int proc_read_status(const struct rt_root *r, pid_t pid, struct proc_status *st)
{
	char *buf;
	ssize_t n;
	int ret;

	n = rt_read_alloc(r, RT_PROC, &buf, 1u << 20, "%d/status", (int)pid);
	if (n < 0)
		return gone(n);
	ret = proc_parse_status(buf, st);
	free(buf);
	return ret;
}

/* The entry of NODE in MEM, inserted in order; NULL when MEM is full. */
static struct proc_node_mem *mem_node(struct proc_mem *mem, int node)
{
	int i = 0;

	while (i < mem->nr && mem->node[i].node < node)
		i++;
	if (i < mem->nr && mem->node[i].node == node)
		return &mem->node[i];
	if (mem->nr >= PROC_MAX_MEM_NODES) {
		mem->truncated = true;
		return NULL;
	}
	memmove(&mem->node[i + 1], &mem->node[i], (mem->nr - i) * sizeof(mem->node[0]));
	memset(&mem->node[i], 0, sizeof(mem->node[i]));
	mem->node[i].node = node;
	mem->nr++;
	return &mem->node[i];
}

/* "N<node>=<count>": false if TOK is not of that form. */
static bool node_count(const char *tok, size_t n, int *node, uint64_t *count)
{
	const char *eq = memchr(tok, '=', n), *e;
	uint64_t id;

	if (n < 4 || tok[0] != 'N' || !eq)
		return false;
	if (num_u64(tok + 1, &e, &id) < 0 || e != eq || id >= IDSET_MAX)
		return false;
	if (num_u64_tok(eq + 1, tok + n - eq - 1, count) < 0)
		return false;
	*node = (int)id;
	return true;
}

struct vma_line {
	uint64_t page_kib;          /* kernelpagesize_kB */
	uint64_t mapmax;
	uint64_t max_pages;         /* largest N<node>= count */
	bool huge, anon, has_nodes;
};

static bool is_hex(const char *s, size_t n)
{
	if (n == 0 || n > 16)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdefABCDEF", s[i]) || s[i] == '\0')
			return false;
	return true;
}

/* Checks one token after the policy; unknown ones are fine. */
static bool vma_token(const char *tok, size_t n, struct vma_line *vl)
{
	const char *v;
	uint64_t x;
	size_t vn;
	int node;

	if (tok[0] == 'N' && n > 1 && tok[1] >= '0' && tok[1] <= '9') {
		if (!node_count(tok, n, &node, &x))
			return false;
		vl->has_nodes = true;
		if (x > vl->max_pages)
			vl->max_pages = x;
	} else if (tok_prefix(tok, n, "kernelpagesize_kB=", &v, &vn)) {
		return num_u64_tok(v, vn, &vl->page_kib) == 0 && vl->page_kib > 0;
	} else if (tok_prefix(tok, n, "anon=", &v, &vn)) {
		vl->anon = true;
		return num_u64_tok(v, vn, &x) == 0;
	} else if (tok_prefix(tok, n, "mapmax=", &v, &vn)) {
		return num_u64_tok(v, vn, &vl->mapmax) == 0;
	} else if (tok_is(tok, n, "huge")) {
		vl->huge = true;
	}
	return true;
}

/* Validates a numa_maps line: "<hex addr> <policy> [tokens]". */
static bool vma_check(const char *line, size_t len, struct vma_line *vl)
{
	const char *p = line, *end = line + len, *tok;
	uint64_t kib;
	size_t n;

	memset(vl, 0, sizeof(*vl));
	if (!next_tok(&p, end, &tok, &n) || !is_hex(tok, n) || !next_tok(&p, end, &tok, &n))
		return false;
	while (next_tok(&p, end, &tok, &n))
		if (!vma_token(tok, n, vl))
			return false;
	if (vl->has_nodes && (vl->page_kib == 0 ||
	                      __builtin_mul_overflow(vl->max_pages, vl->page_kib, &kib)))
		return false;
	return true;
}

/* Adds the N<node>= counts of a checked line to MEM. */
static void vma_add(const char *line, size_t len, const struct vma_line *vl,
                    struct proc_mem *mem)
{
	const char *p = line, *end = line + len, *tok;
	struct proc_node_mem *nm;
	uint64_t pages, kib;
	size_t n;
	int node;

	while (next_tok(&p, end, &tok, &n)) {
		if (tok[0] != 'N' || !node_count(tok, n, &node, &pages) || pages == 0)
			continue;
		nm = mem_node(mem, node);
		if (!nm)
			continue;
		kib = pages * vl->page_kib;
		if (vl->huge)
			nm->huge_kib = sat_add(nm->huge_kib, kib);
		else if (vl->anon)
			nm->anon_kib = sat_add(nm->anon_kib, kib);
		else
			nm->file_kib = sat_add(nm->file_kib, kib);
		if (vl->mapmax > 1)
			nm->shared_kib = sat_add(nm->shared_kib, kib);
	}
}

int proc_parse_numa_maps(const char *buf, struct proc_mem *mem)
{
	const char *p = buf, *end = buf + strlen(buf), *line;
	int good = 0, bad = 0;
	size_t len;

	while (p < end) {
		struct vma_line vl;

		if (!next_line(&p, end, &line, &len)) {
			bad++;          /* truncated last line */
			break;
		}
		if (!vma_check(line, len, &vl)) {
			bad += len > 0;
			continue;
		}
		good++;
		vma_add(line, len, &vl, mem);
		if (vl.mapmax > mem->max_mapmax)
			mem->max_mapmax = vl.mapmax;
	}
	mem->source = PROC_MEM_NUMA_MAPS;
	return good == 0 && bad > 0 ? -EINVAL : 0;
}

/* Adds one numa_stat line's "N<node>=<bytes>" to the field at OFF of each node. */
static int numa_stat_line(const char *p, const char *end, size_t off, struct proc_mem *mem)
{
	const char *tok;
	uint64_t bytes;
	size_t n;
	int node;

	while (next_tok(&p, end, &tok, &n)) {
		struct proc_node_mem *nm;
		uint64_t *field;

		if (!node_count(tok, n, &node, &bytes))
			return -EINVAL;
		if (bytes < 1024)
			continue;
		nm = mem_node(mem, node);
		if (!nm)
			continue;
		field = (uint64_t *)((char *)nm + off);
		*field = sat_add(*field, bytes / 1024);
	}
	return 0;
}

/* Only "anon" (which includes anon_thp) and "file" (which includes shmem)
 * are used: the other lines are parts of these or not user memory.
 * hugetlb pages are not in memory.numa_stat at all. */
int proc_parse_numa_stat(const char *buf, struct proc_mem *mem)
{
	const char *p = buf, *end = buf + strlen(buf), *line;
	struct proc_mem tmp = *mem;
	bool has_anon = false;
	size_t len;

	while (next_line(&p, end, &line, &len)) {
		const char *q = line, *lend = line + len, *key;
		size_t kn, off;
		int ret;

		if (!next_tok(&q, lend, &key, &kn))
			continue;
		if (tok_is(key, kn, "anon"))
			off = offsetof(struct proc_node_mem, anon_kib);
		else if (tok_is(key, kn, "file"))
			off = offsetof(struct proc_node_mem, file_kib);
		else
			continue;
		ret = numa_stat_line(q, lend, off, &tmp);
		if (ret < 0)
			return ret;
		has_anon |= off == offsetof(struct proc_node_mem, anon_kib);
	}
	if (!has_anon)
		return -EINVAL;
	tmp.source = PROC_MEM_CGROUP;
	*mem = tmp;
	return 0;
}

/* Length of CG up to and including its first "machine-*.scope" component
 * (a libvirt or machined VM scope), or 0 if it has none. */
static size_t scope_len(const char *cg)
{
	static const char pre[] = "machine-", suf[] = ".scope";
	const size_t pl = sizeof(pre) - 1, sl = sizeof(suf) - 1;
	const char *c = cg;

	while (*c) {
		size_t n;

		while (*c == '/')
			c++;
		n = strcspn(c, "/");
		if (n == 2 && memcmp(c, "..", 2) == 0)
			return 0;
		if (n > pl + sl && memcmp(c, pre, pl) == 0 && memcmp(c + n - sl, suf, sl) == 0)
			return c + n - cg;
		c += n;
	}
	return 0;
}

static int read_scope_numa_stat(const struct rt_root *r, const char *cgroup,
                                struct proc_mem *mem)
{
	size_t n;
	char *buf;
	ssize_t len;
	int ret;

	while (*cgroup == '/')
		cgroup++;
	n = scope_len(cgroup);
	if (n == 0 || n > INT_MAX)
		return -ENOENT;
	len = rt_read_alloc(r, RT_SYS, &buf, NUMA_STAT_LIMIT,
	                    "fs/cgroup/%.*s/memory.numa_stat", (int)n, cgroup);
	if (len < 0)
		return (int)len;
	ret = proc_parse_numa_stat(buf, mem);
	free(buf);
	return ret;
}

static int read_numa_maps(const struct rt_root *r, pid_t pid, struct proc_mem *mem)
{
	char *buf;
	ssize_t n;
	int ret;

	n = rt_read_alloc(r, RT_PROC, &buf, NUMA_MAPS_LIMIT, "%d/numa_maps", (int)pid);
	/* No numa_maps in a live process: a kernel without CONFIG_NUMA. */
	if (n == -ENOENT && rt_exists(r, RT_PROC, "%d/stat", (int)pid))
		return 0;
	if (n < 0)
		return gone(n);
	ret = proc_parse_numa_maps(buf, mem);
	free(buf);
	return ret;
}

int proc_read_mem(const struct rt_root *r, pid_t pid, const char *cgroup,
                  bool prefer_cgroup, struct proc_mem *mem)
{
	memset(mem, 0, sizeof(*mem));
	if (prefer_cgroup && cgroup && read_scope_numa_stat(r, cgroup, mem) == 0)
		return 0;
	memset(mem, 0, sizeof(*mem));
	return read_numa_maps(r, pid, mem);
}

uint64_t proc_mem_total_kib(const struct proc_mem *mem)
{
	uint64_t sum = 0;

	for (int i = 0; i < mem->nr; i++) {
		sum = sat_add(sum, mem->node[i].anon_kib);
		sum = sat_add(sum, mem->node[i].file_kib);
		sum = sat_add(sum, mem->node[i].huge_kib);
	}
	return sum;
}

/* One "key value" line of ksm_stat; unknown keys are ignored. */
static int ksm_stat_line(const char *line, size_t len, struct proc_ksm *k)
{
	const char *p = line, *end = line + len, *key, *v, *e;
	size_t kn, vn;
	uint64_t x;

	if (!next_tok(&p, end, &key, &kn))
		return 0;
	if (!next_tok(&p, end, &v, &vn)) {
		v = end;
		vn = 0;
	}
	if (tok_is(key, kn, "ksm_process_profit")) {
		if (vn == 0 || parse_signed(v, &e, &x) < 0 || e != v + vn)
			return -EINVAL;
		k->profit = (int64_t)x;
		k->has_profit = true;
		return 0;
	}
	if (tok_is(key, kn, "ksm_rmap_items"))
		return num_u64_tok(v, vn, &k->rmap_items);
	if (tok_is(key, kn, "ksm_merging_pages"))
		return num_u64_tok(v, vn, &k->merging_pages);
	if (tok_is(key, kn, "ksm_zero_pages")) {
		k->has_zero_pages = true;
		return num_u64_tok(v, vn, &k->zero_pages);
	}
	return 0;
}

static int read_ksm_stat(const struct rt_root *r, pid_t pid, struct proc_ksm *k)
{
	const char *p, *end, *line;
	char buf[KSM_STAT_BUF];
	ssize_t n;
	size_t len;

	n = rt_read(r, RT_PROC, buf, sizeof(buf), "%d/ksm_stat", (int)pid);
	if (n == -ENOENT)
		return 0;
	if (n < 0)
		return n == -EFBIG ? -EINVAL : gone(n);
	k->has_stat = true;
	p = buf;
	end = buf + n;
	while (next_line(&p, end, &line, &len))
		if (ksm_stat_line(line, len, k) < 0)
			return -EINVAL;
	return 0;
}

int proc_read_ksm(const struct rt_root *r, pid_t pid, struct proc_ksm *k)
{
	uint64_t pages;
	int ret;

	memset(k, 0, sizeof(*k));
	ret = read_ksm_stat(r, pid, k);
	if (ret < 0)
		return ret;
	ret = rt_read_u64(r, RT_PROC, &pages, "%d/ksm_merging_pages", (int)pid);
	if (ret == -ENOENT)
		return 0;
	if (ret < 0)
		return gone(ret);
	k->has_merging_pages = true;
	k->merging_pages = pages;
	return 0;
}

/* Copies [S, S+N) into DST of SIZE; -ENAMETOOLONG if it does not fit. */
static int copy_path(char *dst, size_t size, const char *s, size_t n)
{
	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

/* True if comma-separated LIST of N bytes names CTL. */
static bool has_controller(const char *list, size_t n, const char *ctl)
{
	const char *end = list + n;

	while (list < end) {
		const char *c = memchr(list, ',', end - list);
		size_t len = (c ? c : end) - list;

		if (tok_is(list, len, ctl))
			return true;
		list += len + 1;
	}
	return false;
}

/* "hierarchy:controllers:path" */
static int cgroup_line(const char *line, size_t len, char *v2, size_t v2len,
                       char *cpuset, size_t cpusetlen)
{
	const char *c1 = memchr(line, ':', len), *c2, *path, *end = line + len;

	if (!c1 || !(c2 = memchr(c1 + 1, ':', end - c1 - 1)))
		return -EINVAL;
	path = c2 + 1;
	if (tok_is(line, c1 - line, "0") && c2 == c1 + 1)
		return copy_path(v2, v2len, path, end - path);
	if (has_controller(c1 + 1, c2 - c1 - 1, "cpuset"))
		return copy_path(cpuset, cpusetlen, path, end - path);
	return 0;
}

int proc_read_cgroup(const struct rt_root *r, pid_t pid, char *v2, size_t v2len,
                     char *cpuset, size_t cpusetlen)
{
	const char *p, *end, *line;
	char *buf;
	ssize_t n;
	size_t len;
	int ret = 0;

	if (v2len == 0 || cpusetlen == 0)
		return -EINVAL;
	v2[0] = cpuset[0] = '\0';
	n = rt_read_alloc(r, RT_PROC, &buf, CGROUP_LIMIT, "%d/cgroup", (int)pid);
	if (n < 0)
		return gone(n);
	p = buf;
	end = buf + n;
	while (ret == 0 && next_line(&p, end, &line, &len))
		ret = cgroup_line(line, len, v2, v2len, cpuset, cpusetlen);
	free(buf);
	return ret;
}

static int cmp_tid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* The TIDs in task/ of PID, ascending, at most MAX_THREADS. */
static int list_tids(const struct rt_root *r, pid_t pid, pid_t **out, int *nr)
{
	pid_t *tids = malloc(MAX_THREADS * sizeof(*tids));
	DIR *d = rt_opendir(r, RT_PROC, "%d/task", (int)pid);
	struct dirent *de;
	int n = 0;

	if (!d || !tids) {
		int err = d ? -ENOMEM : gone(-errno);

		if (d)
			closedir(d);
		free(tids);
		return err;
	}
	while (n < MAX_THREADS && (de = readdir(d))) {
		const char *e;
		uint64_t tid;

		if (num_u64(de->d_name, &e, &tid) == 0 && *e == '\0' && tid > 0 &&
		    tid <= INT_MAX)
			tids[n++] = (pid_t)tid;
	}
	closedir(d);
	qsort(tids, n, sizeof(*tids), cmp_tid);
	*out = tids;
	*nr = n;
	return 0;
}

static int read_thread(const struct rt_root *r, pid_t pid, pid_t tid,
                       struct proc_thread *th)
{
	char comm[256];
	struct proc_stat st;
	ssize_t n;
	int ret;

	n = rt_read(r, RT_PROC, comm, sizeof(comm), "%d/task/%d/comm", (int)pid, (int)tid);
	if (n < 0)
		return n == -EFBIG ? -EINVAL : gone(n);
	if (n > 0 && comm[n - 1] == '\n')
		comm[--n] = '\0';
	ret = proc_read_stat(r, pid, tid, &st);
	if (ret < 0)
		return ret;
	th->tid = tid;
	copy_str(th->comm, sizeof(th->comm), comm, n);
	th->processor = st.processor;
	return 0;
}

int proc_read_threads(const struct rt_root *r, pid_t pid, struct proc_info *info)
{
	pid_t *tids = NULL;
	int n = 0, ret, k = 0;

	info->nthreads = 0;
	info->threads = NULL;
	ret = list_tids(r, pid, &tids, &n);
	if (ret < 0)
		return ret;
	info->threads = calloc(n ? n : 1, sizeof(*info->threads));
	if (!info->threads) {
		free(tids);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		ret = read_thread(r, pid, tids[i], &info->threads[k]);
		if (ret == -ESRCH)
			continue;       /* that thread exited meanwhile */
		if (ret < 0)
			break;
		k++;
	}
	free(tids);
	if ((ret < 0 && ret != -ESRCH) || k == 0) {
		proc_info_free(info);
		return ret < 0 && ret != -ESRCH ? ret : -ESRCH;
	}
	info->nthreads = k;
	return 0;
}

/* Everything but stat, read between the two reads of stat. */
static int read_rest(const struct rt_root *r, pid_t pid, bool prefer_cgroup,
                     struct proc_info *info)
{
	int ret;

	ret = proc_read_status(r, pid, &info->status);
	if (ret == 0)
		ret = proc_read_cgroup(r, pid, info->cgroup, sizeof(info->cgroup),
		                       info->cpuset_cgroup, sizeof(info->cpuset_cgroup));
	if (ret == 0)
		ret = proc_read_mem(r, pid, info->cgroup, prefer_cgroup, &info->mem);
	if (ret == 0)
		ret = proc_read_ksm(r, pid, &info->ksm);
	if (ret == 0)
		ret = proc_read_threads(r, pid, info);
	return ret;
}

int proc_read(const struct rt_root *r, pid_t pid, bool prefer_cgroup, struct proc_info *info)
{
	return proc_read_seen(r, pid, NULL, prefer_cgroup, info);
}

/* A last look at PID after reading its files gave RET (0 or -errno):
 * -ESRCH if it is gone, exiting, or a new process (started later than
 * FIRST), for then a malformed file was the exit's doing (a process that
 * released its memory has empty ksm_merging_pages and numa_maps); else RET,
 * or the look's own error. */
static int recheck(const struct rt_root *r, pid_t pid, const struct proc_stat *first,
                   struct proc_stat *again, int ret)
{
	int now = proc_read_stat(r, pid, 0, again);

	if (now == -ESRCH || (now == 0 && (again->starttime != first->starttime ||
	                                   proc_stat_exiting(again))))
		return -ESRCH;
	return ret < 0 ? ret : now;
}

int proc_read_seen(const struct rt_root *r, pid_t pid, const struct proc_stat *seen,
                   bool prefer_cgroup, struct proc_info *info)
{
	struct proc_stat again;
	int ret = 0;

	memset(info, 0, sizeof(*info));
	if (seen)
		info->stat = *seen;
	else
		ret = proc_read_stat(r, pid, 0, &info->stat);
	if (ret == 0 && proc_stat_exiting(&info->stat)) {
		ret = -ESRCH;
	} else if (ret == 0) {
		ret = read_rest(r, pid, prefer_cgroup, info);
		if (ret != -ESRCH && ret != -ENOMEM)
			ret = recheck(r, pid, &info->stat, &again, ret);
	}
	if (ret < 0) {
		proc_info_free(info);
		return ret;
	}
	info->stat = again;
	return 0;
}

void proc_info_free(struct proc_info *info)
{
	free(info->threads);
	info->threads = NULL;
	info->nthreads = 0;
}
