/* tmptree.c - temporary trees with nftw() and plain file calls, no shell:
 * fixture paths hold backslashes (machine-qemu\x2d1\x2dweb01.scope). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tmptree.h"

/* nftw() passes no user data: the copy in progress and the first failure.
 * The callbacks only record a failure; fail_msg() is called once nftw()
 * has returned, so its descriptors are closed. */
static struct {
	const char *src, *dst;
	size_t src_len;
	char failed[PATH_MAX];
	int err;
} walk;

/* BUF = DIR/REL, or DIR when REL is empty. */
static void join(char *buf, size_t size, const char *dir, const char *rel)
{
	int n = snprintf(buf, size, "%s%s%s", dir, *rel ? "/" : "", rel);

	if (n < 0 || (size_t)n >= size)
		fail_msg("path too long: %s/%s", dir, rel);
}

/* Records that PATH failed with ERR; returns -1 to stop the walk. */
static int walk_fail(const char *path, int err)
{
	walk.err = err;
	snprintf(walk.failed, sizeof(walk.failed), "%s", path);
	return -1;
}

/* Fails the test: WHAT on PATH stopped at walk.failed with walk.err. */
static void walk_report(const char *what, const char *path)
{
	if (strcmp(walk.failed, path) == 0)
		fail_msg("%s %s: %s", what, path, strerror(walk.err));
	fail_msg("%s %s: at %s: %s", what, path, walk.failed, strerror(walk.err));
}

/* Fails the test when nftw() returned RC for WHAT on PATH. */
static void walk_check(int rc, const char *what, const char *path)
{
	if (rc == 0)
		return;
	if (!walk.err)          /* nftw() itself failed, e.g. PATH is absent */
		walk_fail(path, errno);
	walk_report(what, path);
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno != EINTR)
			return -1;
		if (n > 0) {
			buf += n;
			len -= n;
		}
	}
	return 0;
}

/* Copies regular file FROM to TO; -1 with errno set. */
static int copy_file(const char *from, const char *to)
{
	char buf[8192];
	int in, out, err = 0;
	ssize_t n;

	in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		err = errno;
		close(in);
		errno = err;
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0 && write_all(out, buf, n) == 0)
		;
	if (n != 0)             /* read or write failed */
		err = errno;
	if (close(out) < 0 && !err)
		err = errno;
	close(in);
	errno = err;
	return err ? -1 : 0;
}

static int copy_link(const char *from, const char *to)
{
	char target[PATH_MAX];
	ssize_t n = readlink(from, target, sizeof(target) - 1);

	if (n < 0)
		return -1;
	target[n] = '\0';
	return symlink(target, to);
}

/* Copies with modes 0755/0644, so the copy of a read-only tree is writable. */
static int copy_one(const char *path, const struct stat *st, int type,
                    struct FTW *ftw)
{
	char to[PATH_MAX];
	int n = snprintf(to, sizeof(to), "%s%s", walk.dst, path + walk.src_len);

	(void)ftw;
	if (n < 0 || (size_t)n >= sizeof(to))
		return walk_fail(path, ENAMETOOLONG);
	if (type == FTW_D)
		return mkdir(to, 0755) < 0 && errno != EEXIST ? walk_fail(to, errno) : 0;
	if (type == FTW_SL)
		return copy_link(path, to) < 0 ? walk_fail(path, errno) : 0;
	if (type == FTW_F && S_ISREG(st->st_mode))
		return copy_file(path, to) < 0 ? walk_fail(path, errno) : 0;
	/* unreadable directory, failed stat, device, fifo, socket */
	return walk_fail(path, type == FTW_F ? ENOTSUP : EACCES);
}

/* Copies the tree SRC (a directory or a file) to DST. */
static void copy_tree(const char *src, const char *dst)
{
	walk.src = src;
	walk.src_len = strlen(src);
	walk.dst = dst;
	walk.err = 0;
	walk_check(nftw(src, copy_one, 16, FTW_PHYS), "copying", src);
}

static int remove_one(const char *path, const struct stat *st, int type,
                      struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path) < 0 ? walk_fail(path, errno) : 0;
}

/* Removes PATH and everything below it; 0 or -errno (-ENOENT if absent). */
static int remove_tree(const char *path)
{
	walk.err = 0;
	if (nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS) == 0)
		return 0;
	if (!walk.err)
		walk_fail(path, errno);
	return -walk.err;
}

/* Creates the missing directories above DIR/REL; DIR must exist. */
static void make_parents(const char *dir, const char *rel)
{
	char path[PATH_MAX];

	join(path, sizeof(path), dir, rel);
	for (char *p = path + strlen(path) - strlen(rel); (p = strchr(p, '/')); *p++ = '/') {
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			fail_msg("mkdir %s: %s", path, strerror(errno));
	}
}

char *tt_copy(const char *name)
{
	const char *tmp = getenv("TMPDIR");
	char src[PATH_MAX], *dir;

	if (asprintf(&dir, "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp",
	             program_invocation_short_name) < 0)
		fail_msg("asprintf: %s", strerror(errno));
	if (!mkdtemp(dir))
		fail_msg("mkdtemp %s: %s", dir, strerror(errno));
	if (name) {
		join(src, sizeof(src), FIXTURES, name);
		copy_tree(src, dir);
	}
	return dir;
}

void tt_graft(const char *dir, const char *name, const char *rel)
{
	char top[PATH_MAX], src[PATH_MAX], dst[PATH_MAX];
	int err;

	join(top, sizeof(top), FIXTURES, name);
	join(src, sizeof(src), top, rel);
	join(dst, sizeof(dst), dir, rel);
	err = remove_tree(dst);
	if (err < 0 && err != -ENOENT)
		walk_report("removing", dst);
	make_parents(dir, rel);
	copy_tree(src, dst);
}

void tt_put(const char *dir, const char *rel, const char *text)
{
	char path[PATH_MAX];
	int fd;

	make_parents(dir, rel);
	join(path, sizeof(path), dir, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write_all(fd, text, strlen(text)) < 0 || close(fd) < 0)
		fail_msg("writing %s: %s", path, strerror(errno));
}

void tt_mkdir(const char *dir, const char *rel)
{
	char path[PATH_MAX];

	make_parents(dir, rel);
	join(path, sizeof(path), dir, rel);
	if (mkdir(path, 0755) < 0)
		fail_msg("mkdir %s: %s", path, strerror(errno));
}

void tt_drop(const char *dir, const char *rel)
{
	char path[PATH_MAX];

	join(path, sizeof(path), dir, rel);
	if (remove_tree(path) < 0)
		walk_report("removing", path);
}

void tt_remove(char *dir)
{
	if (!dir)
		return;
	if (remove_tree(dir) < 0)
		walk_report("removing", dir);
	free(dir);
}
