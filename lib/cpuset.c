/* cpuset.c - cgroup cpuset.mems through the root context. */
#include "cpuset.h"

#include <errno.h>
#include <string.h>

#define MEMS_LEN 4096

/* Reads FILE of G's group (v2 "fs/cgroup/PATH/FILE", v1 under cpuset/). */
static int read_mems(const struct rt_root *r, const struct cs_group *g, const char *path,
                     const char *file, struct idset *out)
{
	char buf[MEMS_LEN];
	ssize_t n = rt_read(r, RT_SYS, buf, sizeof(buf), "fs/cgroup%s%s/%s",
	                    g->v1 ? "/cpuset" : "", path, file);

	if (n < 0)
		return (int)n;
	return idset_parse(out, buf);
}

static int write_mems(const struct rt_root *r, const struct cs_group *g,
                      const struct idset *mems)
{
	char buf[MEMS_LEN];
	int ret = idset_format(mems, buf, sizeof(buf));

	if (ret < 0)
		return ret;
	return rt_write(r, RT_SYS, buf, "fs/cgroup%s%s/cpuset.mems", g->v1 ? "/cpuset" : "",
	                g->path);
}

/* Only absolute paths without "." or ".." components: the path comes from
 * a file and must not lead outside the cgroup file system. */
static bool path_ok(const char *p)
{
	if (p[0] != '/')
		return false;
	for (const char *c = p; c; c = strchr(c + 1, '/'))
		if (strncmp(c, "/./", 3) == 0 || strncmp(c, "/../", 4) == 0 ||
		    strcmp(c, "/.") == 0 || strcmp(c, "/..") == 0)
			return false;
	return true;
}

/* The group's effective set; its mems when the file is absent. */
static int read_effective(const struct rt_root *r, struct cs_group *g)
{
	int ret = read_mems(r, g, g->path, g->v1 ? "cpuset.effective_mems" :
	                    "cpuset.mems.effective", &g->effective);

	if (ret == -ENOENT) {
		g->effective = g->mems;
		return 0;
	}
	return ret;
}

/* v2: climbs from the group to the root's child; empty mems = no limit there. */
static int find_v2(const struct rt_root *r, struct cs_group *g)
{
	char *slash;
	int ret;

	while (g->path[0] && strcmp(g->path, "/") != 0) {
		ret = read_mems(r, g, g->path, "cpuset.mems", &g->mems);
		if (ret < 0 && ret != -ENOENT)
			return ret;
		if (ret == 0 && !idset_empty(&g->mems)) {
			g->confined = true;
			return read_effective(r, g);
		}
		slash = strrchr(g->path, '/');
		*slash = '\0';
	}
	return 0;
}

static int find_v1(const struct rt_root *r, struct cs_group *g)
{
	int ret = read_mems(r, g, g->path, "cpuset.mems", &g->mems);

	if (ret == -ENOENT)
		return 0;
	if (ret < 0)
		return ret;
	g->confined = !idset_empty(&g->mems);
	return g->confined ? read_effective(r, g) : 0;
}

int cs_find(const struct rt_root *r, pid_t pid, struct cs_group *g)
{
	char v2[PROC_CGROUP_LEN], v1[PROC_CGROUP_LEN];
	int ret;

	memset(g, 0, sizeof(*g));
	ret = proc_read_cgroup(r, pid, v2, sizeof(v2), v1, sizeof(v1));
	if (ret < 0)
		return ret;
	g->v1 = v1[0] != '\0';
	strcpy(g->path, g->v1 ? v1 : v2);
	if (!g->path[0])
		return 0;
	if (!path_ok(g->path))
		return -EINVAL;
	ret = g->v1 ? find_v1(r, g) : find_v2(r, g);
	if (ret < 0 || !g->confined) {
		idset_clear(&g->mems);
		idset_clear(&g->effective);
		g->confined = false;
	}
	return ret;
}

/* True if every id of A is in B. */
static bool subset(const struct idset *a, const struct idset *b)
{
	struct idset both;

	idset_and(&both, a, b);
	return idset_equal(&both, a);
}

int cs_widen(const struct rt_root *r, struct cs_group *g, const struct idset *add)
{
	struct idset old = g->mems, want;
	int ret;

	idset_or(&want, &g->mems, add);
	if (idset_equal(&want, &g->mems))
		return 0;
	ret = write_mems(r, g, &want);
	if (ret < 0)
		return ret;
	g->mems = want;
	ret = read_effective(r, g);
	if (ret == 0 && subset(add, &g->effective))
		return 0;
	/* v2 takes any list, but an ancestor's set bounds the effective one. */
	if (write_mems(r, g, &old) == 0)
		g->mems = old;
	(void)read_effective(r, g);
	return ret < 0 ? ret : -EINVAL;
}

int cs_narrow(const struct rt_root *r, struct cs_group *g, const struct idset *to)
{
	int ret;

	if (idset_empty(to))
		return -EINVAL;
	ret = write_mems(r, g, to);
	if (ret < 0)
		return ret;
	g->mems = *to;
	(void)read_effective(r, g);
	return 0;
}

const char *cs_reason(int err)
{
	switch (err) {
	case -EINVAL:
		return "refused: a parent cgroup's cpuset.mems does not include "
		       "the nodes (widen it first), or a node is offline";
	case -EACCES:
		return "refused: outside the parent cgroup's cpuset.mems (v1), "
		       "or permission denied";
	case -EPERM:
		return "permission denied (root needed)";
	case -ENOENT:
	case -ENODEV:
		return "the cgroup is gone";
	case -EISDIR:
		return "cpuset.mems is not a file";
	case -EBUSY:
		return "the cgroup is busy";
	default:
		return strerror(-err);
	}
}
