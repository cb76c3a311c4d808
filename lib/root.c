/* root.c - the root context.  The only file that spells out /sys and /proc. */
#include "root.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "num.h"

struct rt_root {
	char dir[PATH_MAX];     /* without trailing slash; "" for the host */
	rt_read_hook_fn *hook;
	void *hook_data;
};

int rt_open(const char *dir, struct rt_root **out)
{
	struct rt_root *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	if (dir && *dir && strcmp(dir, "/") != 0) {
		size_t n = strlen(dir);
		struct stat st;

		errno = 0;
		while (n > 1 && dir[n - 1] == '/')
			n--;
		if (n >= sizeof(r->dir)) {
			free(r);
			return -ENAMETOOLONG;
		}
		memcpy(r->dir, dir, n);
		if (stat(r->dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
			int err = errno;

			free(r);
			return -(err ? err : ENOTDIR);
		}
	}
	*out = r;
	return 0;
}

void rt_close(struct rt_root *r)
{
	free(r);
}

const char *rt_dir(const struct rt_root *r)
{
	return r->dir[0] ? r->dir : "/";
}

bool rt_is_live(const struct rt_root *r)
{
	return r->dir[0] == '\0';
}

void rt_set_read_hook(struct rt_root *r, rt_read_hook_fn *fn, void *data)
{
	r->hook = fn;
	r->hook_data = data;
}

static int vpath(const struct rt_root *r, enum rt_fs fs, char *buf, size_t size,
                 const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
static int vpath(const struct rt_root *r, enum rt_fs fs, char *buf, size_t size,
                 const char *fmt, va_list ap)
{
	int n = snprintf(buf, size, "%s%s/", r->dir, fs == RT_SYS ? "/sys" : "/proc");
	int m;

	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	m = vsnprintf(buf + n, size - n, fmt, ap);
	if (m < 0 || (size_t)m >= size - n)
		return -ENAMETOOLONG;
	return 0;
}

int rt_path(const struct rt_root *r, enum rt_fs fs, char *buf, size_t size,
            const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vpath(r, fs, buf, size, fmt, ap);
	va_end(ap);
	return ret;
}

/* Opens PATH for reading after running the test hook. */
static int open_read(const struct rt_root *r, const char *path)
{
	int fd;

	if (r->hook)
		r->hook(path, r->hook_data);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	return fd < 0 ? -errno : fd;
}

/* Reads FD to the end into BUF of SIZE; length, -EFBIG or -errno. */
static ssize_t read_all(int fd, char *buf, size_t size)
{
	size_t len = 0;

	for (;;) {
		ssize_t n = read(fd, buf + len, size - 1 - len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += n;
		if (len == size - 1) {
			char c;

			n = read(fd, &c, 1);
			if (n > 0)
				return -EFBIG;
			break;
		}
	}
	buf[len] = '\0';
	return len;
}

static ssize_t vread(const struct rt_root *r, enum rt_fs fs, char *buf,
                     size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 5, 0)));
static ssize_t vread(const struct rt_root *r, enum rt_fs fs, char *buf,
                     size_t size, const char *fmt, va_list ap)
{
	char path[PATH_MAX];
	ssize_t ret;
	int fd;

	if (size == 0)
		return -EINVAL;
	ret = vpath(r, fs, path, sizeof(path), fmt, ap);
	if (ret < 0)
		return ret;
	fd = open_read(r, path);
	if (fd < 0)
		return fd;
	ret = read_all(fd, buf, size);
	close(fd);
	return ret;
}

ssize_t rt_read(const struct rt_root *r, enum rt_fs fs, char *buf, size_t size,
                const char *fmt, ...)
{
	va_list ap;
	ssize_t ret;

	va_start(ap, fmt);
	ret = vread(r, fs, buf, size, fmt, ap);
	va_end(ap);
	return ret;
}

/* Grows *BUF of *CAP bytes, to LIMIT+1 bytes at most; -EFBIG when it is
 * that size already.  The first call always allocates, even for a LIMIT of
 * 0 (one byte: the NUL of an empty file). */
static int grow(char **buf, size_t *cap, size_t limit)
{
	size_t ncap = *cap ? *cap * 2 : 16384;
	char *nb;

	if (ncap - 1 > limit)   /* not ncap > limit + 1: LIMIT may be SIZE_MAX */
		ncap = limit + 1;
	if (ncap <= *cap)
		return -EFBIG;
	nb = realloc(*buf, ncap);
	if (!nb)
		return -ENOMEM;
	*buf = nb;
	*cap = ncap;
	return 0;
}

ssize_t rt_read_alloc(const struct rt_root *r, enum rt_fs fs, char **out,
                      size_t limit, const char *fmt, ...)
{
	char path[PATH_MAX];
	size_t cap = 0, len = 0;
	char *buf = NULL;
	va_list ap;
	int fd, ret;

	va_start(ap, fmt);
	ret = vpath(r, fs, path, sizeof(path), fmt, ap);
	va_end(ap);
	if (ret < 0)
		return ret;
	fd = open_read(r, path);
	if (fd < 0)
		return fd;
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			char c;

			ret = grow(&buf, &cap, limit);
			if (ret == 0)
				continue;       /* room now, unless LIMIT is 0 */
			/* At the limit: only an error if there is more to read. */
			if (ret == -EFBIG && read(fd, &c, 1) == 0)
				ret = 0;
			break;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : 0;
			break;
		}
		len += n;
	}
	close(fd);
	if (ret < 0) {
		free(buf);
		return ret;
	}
	buf[len] = '\0';
	*out = buf;
	return len;
}

int rt_read_u64(const struct rt_root *r, enum rt_fs fs, uint64_t *out,
                const char *fmt, ...)
{
	const char *end;
	char buf[64];
	uint64_t v;
	va_list ap;
	ssize_t n;

	va_start(ap, fmt);
	n = vread(r, fs, buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return n == -EFBIG ? -EINVAL : (int)n;
	if (num_u64(buf, &end, &v) < 0)
		return -EINVAL;
	while (*end == '\n' || *end == ' ')
		end++;
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

int rt_write(const struct rt_root *r, enum rt_fs fs, const char *str,
             const char *fmt, ...)
{
	char path[PATH_MAX];
	size_t len = strlen(str);
	va_list ap;
	ssize_t n;
	int fd, ret;

	va_start(ap, fmt);
	ret = vpath(r, fs, path, sizeof(path), fmt, ap);
	va_end(ap);
	if (ret < 0)
		return ret;
	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_TRUNC);
	if (fd < 0)
		return -errno;
	n = write(fd, str, len);
	ret = n < 0 ? -errno : (size_t)n == len ? 0 : -EIO;
	if (close(fd) < 0 && ret == 0)
		ret = -errno;
	return ret;
}

bool rt_exists(const struct rt_root *r, enum rt_fs fs, const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vpath(r, fs, path, sizeof(path), fmt, ap);
	va_end(ap);
	return ret == 0 && access(path, F_OK) == 0;
}

int rt_openfd(const struct rt_root *r, enum rt_fs fs, int flags,
              const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;
	int ret, fd;

	va_start(ap, fmt);
	ret = vpath(r, fs, path, sizeof(path), fmt, ap);
	va_end(ap);
	if (ret < 0)
		return ret;
	fd = open(path, flags | O_CLOEXEC | O_NOCTTY);
	return fd < 0 ? -errno : fd;
}

DIR *rt_opendir(const struct rt_root *r, enum rt_fs fs, const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vpath(r, fs, path, sizeof(path), fmt, ap);
	va_end(ap);
	if (ret < 0) {
		errno = -ret;
		return NULL;
	}
	return opendir(path);
}
