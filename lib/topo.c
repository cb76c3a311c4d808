/* topo.c - NUMA topology from devices/system/node and devices/system/cpu.
 *
 * Every file is optional: a missing or garbled file degrades one value
 * (a node without CPUs, a distance row of 10/20, free memory unknown),
 * never the whole topology.
 */
#include "topo.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"

#define NODE_DIR "devices/system/node"
#define CPU_DIR "devices/system/cpu"
#define LIST_MAX 65536          /* id lists and distance rows */
#define MEMINFO_MAX 65536
#define DIST_LOCAL 10
#define DIST_REMOTE 20
#define DIST_MAX 255            /* SLIT: 255 = unreachable */
#define NODES_MAX 1024          /* the kernel's MAX_NUMNODES on Debian */

/* What devices/system/cpu says; the *_ok flags tell which files parsed. */
struct cpu_info {
	struct idset online, offline, present;
	bool online_ok, offline_ok, present_ok;
	int err;                /* why cpu/online could not be used */
};

/* Reads the kernel id list at PATH under RT_SYS into S; -errno. */
static int read_set(const struct rt_root *r, struct idset *s, const char *path)
{
	char *buf;
	ssize_t n = rt_read_alloc(r, RT_SYS, &buf, LIST_MAX, "%s", path);
	int ret;

	if (n < 0)
		return n;
	ret = idset_parse(s, buf);
	free(buf);
	return ret;
}

static void read_cpus(const struct rt_root *r, struct cpu_info *ci)
{
	memset(ci, 0, sizeof(*ci));
	ci->err = read_set(r, &ci->online, CPU_DIR "/online");
	ci->online_ok = ci->err == 0;
	ci->offline_ok = read_set(r, &ci->offline, CPU_DIR "/offline") == 0;
	ci->present_ok = read_set(r, &ci->present, CPU_DIR "/present") == 0;
}

/* Skips the "Node N " prefix of a node meminfo line. */
static const char *skip_node_prefix(const char *p)
{
	if (strncmp(p, "Node ", 5) != 0)
		return p;
	p += 5;
	while (isdigit((unsigned char)*p))
		p++;
	return *p == ' ' ? p + 1 : p;
}

/* Parses " 1234 kB" (the unit is optional) up to the end of the line. */
static int parse_kib(const char *p, uint64_t *kib)
{
	const char *end;
	uint64_t v;

	while (*p == ' ' || *p == '\t')
		p++;
	if (num_u64(p, &end, &v) < 0)
		return -EINVAL;
	if (strncmp(end, " kB", 3) == 0)
		end += 3;
	if (*end != '\n' && *end != '\0')
		return -EINVAL;
	*kib = v;
	return 0;
}

/* Value of KEY in meminfo TEXT (proc or node format); -ENOENT when the line
 * is absent, -EINVAL when it is garbled.  *KIB is unchanged on error. */
static int meminfo_get(const char *text, const char *key, uint64_t *kib)
{
	size_t klen = strlen(key);

	for (const char *p = text; p && *p; ) {
		const char *q = skip_node_prefix(p);

		if (strncmp(q, key, klen) == 0 && q[klen] == ':')
			return parse_kib(q + klen + 1, kib);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -ENOENT;
}

/* Fills the memory fields of N from meminfo TEXT. */
static void parse_meminfo(const char *text, struct topo_node *n)
{
	static const char *const cache[] = { "Buffers", "Cached", "SwapCached" };
	uint64_t v;

	meminfo_get(text, "MemTotal", &n->mem_total_kib);
	n->free_unknown = meminfo_get(text, "MemFree", &n->mem_free_kib) < 0;
	if (meminfo_get(text, "FilePages", &n->file_kib) == 0)
		return;
	/* The proc meminfo has no FilePages: it is split in three there. */
	for (size_t i = 0; i < sizeof(cache) / sizeof(cache[0]); i++)
		if (meminfo_get(text, cache[i], &v) == 0)
			n->file_kib += v;
}

/* Reads the meminfo at PATH (FS) into N; N's memory stays 0 if absent. */
static void read_meminfo(const struct rt_root *r, enum rt_fs fs,
                         const char *path, struct topo_node *n)
{
	char *buf;

	n->free_unknown = true;
	if (rt_read_alloc(r, fs, &buf, MEMINFO_MAX, "%s", path) < 0)
		return;
	parse_meminfo(buf, n);
	free(buf);
}

/* Reads MemFree of the meminfo at PATH (FS) into *KIB; -errno. */
static int read_memfree(const struct rt_root *r, enum rt_fs fs, const char *path,
                        uint64_t *kib)
{
	char *buf;
	ssize_t n = rt_read_alloc(r, fs, &buf, MEMINFO_MAX, "%s", path);
	int ret;

	if (n < 0)
		return (int)n;
	ret = meminfo_get(buf, "MemFree", kib);
	free(buf);
	return ret == -ENOENT ? -EINVAL : ret;
}

int topo_node_free(const struct rt_root *r, int id, uint64_t *kib)
{
	char path[64];

	if (id < 0)
		return -EINVAL;
	if (!rt_exists(r, RT_SYS, NODE_DIR))
		return id == 0 ? read_memfree(r, RT_PROC, "meminfo", kib) : -ENOENT;
	snprintf(path, sizeof(path), NODE_DIR "/node%d/meminfo", id);
	return read_memfree(r, RT_SYS, path, kib);
}

/* Parses NR distances from TEXT into ROW; false on garbage or a wrong count. */
static bool parse_dist_row(const char *text, int *row, int nr)
{
	const char *p = text;

	for (int k = 0; k < nr; k++) {
		uint64_t v;

		while (*p == ' ' || *p == '\t')
			p++;
		if (num_u64(p, &p, &v) < 0 || v < DIST_LOCAL || v > DIST_MAX)
			return false;
		row[k] = (int)v;
	}
	while (isspace((unsigned char)*p))
		p++;
	return *p == '\0';
}

/* Reads the distance row of the node at index I; 10/20 if unusable. */
static void read_dist_row(const struct rt_root *r, struct topo *t, int i)
{
	int *row = t->dist + (size_t)i * t->nr;
	char *buf;
	bool ok = false;

	if (rt_read_alloc(r, RT_SYS, &buf, LIST_MAX, NODE_DIR "/node%d/distance",
	                  t->node[i].id) >= 0) {
		ok = parse_dist_row(buf, row, t->nr);
		free(buf);
	}
	if (ok)
		return;
	for (int k = 0; k < t->nr; k++)
		row[k] = k == i ? DIST_LOCAL : DIST_REMOTE;
	t->dist_missing = true;
}

/* Parses "nodeN" (digits only) into *ID. */
static bool node_dir_id(const char *name, int *id)
{
	uint64_t v;

	if (strncmp(name, "node", 4) != 0 ||
	    num_u64_tok(name + 4, strlen(name + 4), &v) < 0 || v >= IDSET_MAX)
		return false;
	*id = (int)v;
	return true;
}

/* Online node ids: node/online, or failing that the nodeN directories. */
static int read_node_ids(const struct rt_root *r, struct idset *ids)
{
	int ret = read_set(r, ids, NODE_DIR "/online");
	struct dirent *de;
	DIR *d;

	if (ret == 0 && !idset_empty(ids) && idset_count(ids) <= NODES_MAX)
		return 0;
	idset_clear(ids);
	d = rt_opendir(r, RT_SYS, NODE_DIR);
	if (!d)
		return ret < 0 ? ret : -ENOENT;
	while ((de = readdir(d))) {
		int id;

		if (node_dir_id(de->d_name, &id) && idset_count(ids) < NODES_MAX)
			idset_add(ids, id);
	}
	closedir(d);
	if (idset_empty(ids))
		return ret < 0 ? ret : -ENOENT;
	return 0;
}

/* Allocates NR nodes and their distance matrix in T. */
static int alloc_nodes(struct topo *t, int nr)
{
	t->nr = nr;
	t->node = calloc(nr, sizeof(*t->node));
	t->dist = calloc((size_t)nr * nr, sizeof(*t->dist));
	return t->node && t->dist ? 0 : -ENOMEM;
}

/* One node per id in IDS, with its cpulist (not yet restricted to the
 * online CPUs), memory and distances. */
static int read_nodes(const struct rt_root *r, const struct idset *ids,
                      struct topo *t)
{
	struct idset has_mem;
	bool has_mem_ok;
	char path[64];
	int i = 0;

	if (alloc_nodes(t, idset_count(ids)) < 0)
		return -ENOMEM;
	has_mem_ok = read_set(r, &has_mem, NODE_DIR "/has_memory") == 0;
	IDSET_FOREACH(id, ids) {
		struct topo_node *n = &t->node[i++];

		n->id = id;
		snprintf(path, sizeof(path), NODE_DIR "/node%d/cpulist", id);
		if (read_set(r, &n->cpus, path) < 0)
			idset_clear(&n->cpus);
		snprintf(path, sizeof(path), NODE_DIR "/node%d/meminfo", id);
		read_meminfo(r, RT_SYS, path, n);
		n->has_memory = has_mem_ok ? idset_has(&has_mem, id)
		                           : n->mem_total_kib > 0;
	}
	for (i = 0; i < t->nr; i++)
		read_dist_row(r, t, i);
	return 0;
}

/* CONFIG_NUMA=n: one node 0 holding every CPU and the proc meminfo. */
static int read_flat(const struct rt_root *r, struct topo *t)
{
	struct topo_node *n;

	if (alloc_nodes(t, 1) < 0)
		return -ENOMEM;
	n = &t->node[0];
	read_meminfo(r, RT_PROC, "meminfo", n);
	n->has_memory = n->mem_total_kib > 0;
	t->dist[0] = DIST_LOCAL;
	return 0;
}

/* Settles the online and offline CPU sets, then each node's CPUs.  Without
 * cpu/online the CPUs are the nodes' (or, flat, the present ones) minus
 * those known offline. */
static void settle_cpus(const struct cpu_info *ci, bool flat, struct topo *t)
{
	struct idset *on = &t->online_cpus;

	if (ci->online_ok) {
		*on = ci->online;
	} else {
		idset_clear(on);
		if (flat && ci->present_ok)
			*on = ci->present;
		for (int i = 0; i < t->nr; i++)
			idset_or(on, on, &t->node[i].cpus);
		IDSET_FOREACH(cpu, &ci->offline)
			idset_del(on, cpu);
	}
	idset_clear(&t->offline_cpus);
	if (ci->offline_ok) {
		t->offline_cpus = ci->offline;
	} else if (ci->present_ok && ci->online_ok) {
		IDSET_FOREACH(cpu, &ci->present)
			if (!idset_has(on, cpu))
				idset_add(&t->offline_cpus, cpu);
	}
	if (flat)
		t->node[0].cpus = *on;
	for (int i = 0; i < t->nr; i++)
		idset_and(&t->node[i].cpus, &t->node[i].cpus, on);
}

int topo_read(const struct rt_root *r, struct topo *t)
{
	struct cpu_info ci;
	struct topo nt = { 0 };
	struct idset ids;
	bool flat = true;
	int ret, err;

	read_cpus(r, &ci);
	err = ci.err;
	if (rt_exists(r, RT_SYS, NODE_DIR)) {
		ret = read_node_ids(r, &ids);
		flat = ret < 0;
		if (ret < 0 && err == 0)
			err = ret;
	}
	ret = flat ? read_flat(r, &nt) : read_nodes(r, &ids, &nt);
	if (ret == 0) {
		settle_cpus(&ci, flat, &nt);
		if (idset_empty(&nt.online_cpus))
			ret = err < 0 ? err : -ENODATA;
	}
	if (ret < 0) {
		topo_free(&nt);
		return ret;
	}
	*t = nt;
	return 0;
}

void topo_free(struct topo *t)
{
	free(t->node);
	free(t->dist);
	t->node = NULL;
	t->dist = NULL;
	t->nr = 0;
}

int topo_index(const struct topo *t, int id)
{
	for (int i = 0; i < t->nr; i++)
		if (t->node[i].id == id)
			return i;
	return -1;
}

int topo_distance(const struct topo *t, int a, int b)
{
	if (a < 0 || b < 0 || a >= t->nr || b >= t->nr)
		return -1;
	return t->dist[(size_t)a * t->nr + b];
}

int topo_cpu_node(const struct topo *t, int cpu)
{
	for (int i = 0; i < t->nr; i++)
		if (idset_has(&t->node[i].cpus, cpu))
			return i;
	return -1;
}
