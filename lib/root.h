/* root.h - the root context: the one owner of every /sys and /proc path.
 *
 * Every reader in lib/ names a file by its file system (RT_SYS or RT_PROC)
 * and a path relative to it ("devices/system/node/online", "%d/stat").  The
 * context prefixes the root directory, so a tree captured from another host
 * (DIR/sys/..., DIR/proc/...) replays that host.  Functions return a
 * negative errno on failure and never abort on bad input.
 */
#ifndef KN_ROOT_H
#define KN_ROOT_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum rt_fs { RT_SYS, RT_PROC };

struct rt_root;

/* Opens a context on DIR ("" or NULL = the running host's / ); -errno. */
int rt_open(const char *dir, struct rt_root **out);

/* Frees the context; NULL is fine. */
void rt_close(struct rt_root *r);

/* The root directory as given ("/" for the running host). */
const char *rt_dir(const struct rt_root *r);

/* True when the context reads the running host (so PIDs are live). */
bool rt_is_live(const struct rt_root *r);

/* Writes the full path of FS-relative FMT into BUF; -ENAMETOOLONG if too long. */
int rt_path(const struct rt_root *r, enum rt_fs fs, char *buf, size_t size,
            const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Reads a whole file into BUF (NUL-terminated); returns its length, -EFBIG
 * when it does not fit in SIZE-1 bytes, -errno otherwise. */
ssize_t rt_read(const struct rt_root *r, enum rt_fs fs, char *buf, size_t size,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Reads a whole file of at most LIMIT bytes into a malloc'd NUL-terminated
 * buffer *OUT (caller frees); returns its length or -errno (-EFBIG past LIMIT). */
ssize_t rt_read_alloc(const struct rt_root *r, enum rt_fs fs, char **out,
                      size_t limit, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Reads a file holding one unsigned decimal number; -EINVAL if it does not. */
int rt_read_u64(const struct rt_root *r, enum rt_fs fs, uint64_t *out,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Writes STR to an existing file (sysfs knobs); -errno. */
int rt_write(const struct rt_root *r, enum rt_fs fs, const char *str,
             const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* True if the path exists (file or directory). */
bool rt_exists(const struct rt_root *r, enum rt_fs fs, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Opens a file descriptor on the path (O_CLOEXEC added); fd or -errno. */
int rt_openfd(const struct rt_root *r, enum rt_fs fs, int flags,
              const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Opens a directory; NULL with errno set on failure. */
DIR *rt_opendir(const struct rt_root *r, enum rt_fs fs, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Test hook: called with each full path just before rt_read/rt_read_alloc
 * open it, so a test can make a process vanish between two files. */
typedef void rt_read_hook_fn(const char *path, void *data);
void rt_set_read_hook(struct rt_root *r, rt_read_hook_fn *fn, void *data);

#endif
