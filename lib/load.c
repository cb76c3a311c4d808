/* load.c - CPU use from tick counters. */
#include "load.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/types.h>
#include <string.h>

#include "num.h"

#define LD_MAX_CPUS 8192
#define LD_STAT_LIMIT (4u << 20)   /* the file grows ~150 bytes per CPU */
#define LD_FIELDS 10                /* user nice system idle iowait irq softirq steal guest guest_nice */

/* Parses "cpuN f1 f2 ..." (LINE at "cpu"); the CPU id or -1. */
static int parse_cpu_line(const char *line, uint64_t *busy, uint64_t *total)
{
	const char *p = line + 3;
	uint64_t v[LD_FIELDS] = { 0 }, id;
	int i;

	if (*p < '0' || *p > '9')
		return -1;
	if (num_u64(p, &p, &id) < 0 || id >= LD_MAX_CPUS || (*p != ' ' && *p != '\t'))
		return -1;
	for (i = 0; i < LD_FIELDS; i++) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (num_u64(p, &p, &v[i]) < 0)
			break;
	}
	if (i < 4)              /* user nice system idle: the least any kernel has */
		return -1;
	/* guest and guest_nice are already counted in user and nice */
	*total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
	*busy = *total - v[3] - v[4];
	return (int)id;
}

static int grow(struct ld_sample *s, int id)
{
	uint64_t *b, *t;
	int n = id + 1;

	if (n <= s->ncpu)
		return 0;
	b = realloc(s->busy, (size_t)n * sizeof(*b));
	if (!b)
		return -ENOMEM;
	s->busy = b;
	t = realloc(s->total, (size_t)n * sizeof(*t));
	if (!t)
		return -ENOMEM;
	s->total = t;
	memset(b + s->ncpu, 0, (size_t)(n - s->ncpu) * sizeof(*b));
	memset(t + s->ncpu, 0, (size_t)(n - s->ncpu) * sizeof(*t));
	s->ncpu = n;
	return 0;
}

int ld_parse(const char *buf, struct ld_sample *s)
{
	uint64_t busy, total, sum = 0;
	int listed = 0;

	memset(s, 0, sizeof(*s));
	for (const char *line = buf; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		int id;

		if (strncmp(line, "cpu", 3) != 0)
			continue;
		id = parse_cpu_line(line, &busy, &total);
		if (id < 0)
			continue;
		if (grow(s, id) < 0) {
			ld_free(s);
			return -ENOMEM;
		}
		s->busy[id] = busy;
		s->total[id] = total;
		sum += total;
		listed++;
	}
	if (!listed) {
		ld_free(s);
		return -EINVAL;
	}
	s->elapsed = sum / (uint64_t)listed;
	return 0;
}

int ld_read(const struct rt_root *r, struct ld_sample *s)
{
	char *buf = NULL;
	ssize_t len = rt_read_alloc(r, RT_PROC, &buf, LD_STAT_LIMIT, "stat");

	int ret;

	memset(s, 0, sizeof(*s));
	if (len < 0)
		return (int)len;
	ret = ld_parse(buf, s);
	free(buf);
	return ret;
}

void ld_free(struct ld_sample *s)
{
	free(s->busy);
	free(s->total);
	memset(s, 0, sizeof(*s));
}

double ld_cpu_busy(const struct ld_sample *prev, const struct ld_sample *cur, int cpu)
{
	uint64_t b0 = 0, t0 = 0;

	if (cpu < 0 || cpu >= cur->ncpu || cur->total[cpu] == 0)
		return -1;
	if (prev && cpu < prev->ncpu) {
		b0 = prev->busy[cpu];
		t0 = prev->total[cpu];
	}
	/* counters that went back (CPU hot-unplugged and back): start over */
	if (cur->total[cpu] < t0 || cur->busy[cpu] < b0)
		b0 = t0 = 0;
	if (cur->total[cpu] == t0)
		return -1;
	return (double)(cur->busy[cpu] - b0) / (double)(cur->total[cpu] - t0);
}

double ld_proc_use(const struct ld_sample *prev, const struct ld_sample *cur,
                   uint64_t ticks_prev, uint64_t ticks_now, uint64_t starttime)
{
	uint64_t from = prev ? prev->elapsed : starttime;

	if (!prev)
		ticks_prev = 0;
	if (cur->elapsed <= from || ticks_now < ticks_prev)
		return -1;
	return (double)(ticks_now - ticks_prev) / (double)(cur->elapsed - from);
}
