/* state.c - the state file (see state.h): text, one entry a line.
 *
 *   ksm-numad state 1
 *   boot 6f0c3c1e-5b7a-4d0e-9a3e-2f6d8c1b4a90     this boot's boot_id
 *   written 81234567890 pass 42                    CLOCK_MONOTONIC (us); next pass
 *   vm PID STARTTIME PINNED HOME PREV_HOME MOVED_AT NAME
 *   dom PID STARTTIME CPUS UUID NAME
 *   end
 *
 * Sets are kernel lists, "-" when empty (an unknown UUID likewise); NAME is
 * the rest of the line, control characters written as '?'.  "end" tells a
 * whole file from a cut one.  An entry whose sets do not fit a line is
 * left out: a VM unknown to the next daemon is left as an admin's, never
 * taken for ours.
 */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "num.h"

#define MAGIC "ksm-numad state 1"
#define MAGIC_ANY "ksm-numad state "
#define SET_LEN 4096                    /* one set as a kernel list */
#define LINE_LEN (3 * SET_LEN + 256)    /* the longest line read */
#define PASS_MAX (LONG_MAX / 4)
#define PID_LIMIT 4194304               /* the kernel's PID_MAX_LIMIT */
#define STARTTIME_LIMIT (UINT64_C(1) << 42)     /* bal_key keeps 42 bits */

/* Makes room for one more of N entries of SIZE bytes in *P (capacity *CAP). */
static int grow(void **p, int n, int *cap, size_t size)
{
	void *np;
	int nc;

	if (n >= ST_MAX_ENTRIES)
		return -E2BIG;
	if (n < *cap)
		return 0;
	nc = *cap ? 2 * *cap : 8;
	if (nc > ST_MAX_ENTRIES)
		nc = ST_MAX_ENTRIES;
	np = realloc(*p, (size_t)nc * size);
	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = nc;
	return 0;
}

int st_add_vm(struct st_data *d, const struct st_vm *v)
{
	void *p = d->vm;
	int r = grow(&p, d->nvm, &d->vm_cap, sizeof(*d->vm));

	d->vm = p;
	if (r == 0)
		d->vm[d->nvm++] = *v;
	return r;
}

int st_add_dom(struct st_data *d, const struct st_dom *dom)
{
	void *p = d->dom;
	int r = grow(&p, d->ndom, &d->dom_cap, sizeof(*d->dom));

	d->dom = p;
	if (r == 0)
		d->dom[d->ndom++] = *dom;
	return r;
}

void st_free(struct st_data *d)
{
	free(d->vm);
	free(d->dom);
	memset(d, 0, sizeof(*d));
}

/* ---- writing ---- */

/* S as a kernel list, "-" when empty; false if it does not fit. */
static bool set_text(const struct idset *s, char *buf, size_t size)
{
	if (idset_empty(s)) {
		snprintf(buf, size, "-");
		return true;
	}
	return idset_format(s, buf, size) >= 0;
}

/* NAME with control characters as '?', so that it stays on its line. */
static void put_name(FILE *f, const char *name)
{
	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		fputc(*c < 0x20 || *c == 0x7f ? '?' : *c, f);
	fputc('\n', f);
}

static void put_vm(FILE *f, const struct st_vm *v, char (*set)[SET_LEN])
{
	if (!set_text(&v->pinned, set[0], SET_LEN) || !set_text(&v->home, set[1], SET_LEN) ||
	    !set_text(&v->prev_home, set[2], SET_LEN))
		return;
	fprintf(f, "vm %d %" PRIu64 " %s %s %s %ld ", (int)v->pid, v->starttime, set[0],
		set[1], set[2], v->moved_at);
	put_name(f, v->name);
}

static void put_dom(FILE *f, const struct st_dom *d, char (*set)[SET_LEN])
{
	if (!set_text(&d->cpus, set[0], SET_LEN))
		return;
	fprintf(f, "dom %d %" PRIu64 " %s %s ", (int)d->pid, d->starttime, set[0],
		d->uuid[0] ? d->uuid : "-");
	put_name(f, d->name);
}

int st_format(const struct st_data *d, char **out)
{
	char (*set)[SET_LEN] = malloc(3 * SET_LEN);
	size_t len;
	FILE *f;

	*out = NULL;
	if (!set)
		return -ENOMEM;
	f = open_memstream(out, &len);
	if (!f) {
		free(set);
		return -ENOMEM;
	}
	for (int i = 0; i < d->nvm; i++)
		put_vm(f, &d->vm[i], set);
	for (int i = 0; i < d->ndom; i++)
		put_dom(f, &d->dom[i], set);
	free(set);
	if (fclose(f) != 0 || !*out) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* ---- parsing ---- */

struct parser {
	const char *p;                  /* the next line */
	int line;
	char *buf;                      /* the current line, NUL-terminated */
	char *why;
	size_t size;
};

static int bad(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Says why the file is rejected ("line N: ..."); -EINVAL. */
static int bad(struct parser *ps, const char *fmt, ...)
{
	int len = ps->line ? snprintf(ps->why, ps->size, "line %d: ", ps->line) : 0;
	va_list ap;

	if (len < 0 || (size_t)len >= ps->size)
		len = 0;
	va_start(ap, fmt);
	vsnprintf(ps->why + len, ps->size - (size_t)len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Takes the next line into PS->buf; -EINVAL if there is none, it is too
 * long or it lacks its newline (a cut file). */
static int next_line(struct parser *ps)
{
	const char *nl = strchr(ps->p, '\n');
	size_t n;

	ps->line++;
	if (!*ps->p)
		return bad(ps, "the file ends without its \"end\" line (cut short)");
	if (!nl)
		return bad(ps, "no newline at the end (cut short)");
	n = (size_t)(nl - ps->p);
	if (n >= LINE_LEN)
		return bad(ps, "longer than %d bytes", LINE_LEN);
	memcpy(ps->buf, ps->p, n);
	ps->buf[n] = '\0';
	ps->p = nl + 1;
	return 0;
}

/* The next space-separated token of *S into OUT; false if there is none
 * or it does not fit. */
static bool token(const char **s, char *out, size_t size)
{
	const char *sp = strchr(*s, ' ');
	size_t n = sp ? (size_t)(sp - *s) : strlen(*s);

	if (n == 0 || n >= size)
		return false;
	memcpy(out, *s, n);
	out[n] = '\0';
	*s += n + (sp ? 1 : 0);
	return true;
}

static bool u64_tok(const char *t, uint64_t max, uint64_t *v)
{
	return num_u64_tok(t, strlen(t), v) == 0 && *v <= max;
}

/* A set written by set_text ("-" = empty). */
static bool set_tok(const char *t, struct idset *s)
{
	if (strcmp(t, "-") == 0) {
		idset_clear(s);
		return true;
	}
	return idset_parse(s, t) == 0;
}

static bool uuid_ok(const char *u)
{
	if (strlen(u) != ST_UUID_LEN - 1)
		return false;
	for (int i = 0; u[i]; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? u[i] != '-' : !strchr("0123456789abcdefABCDEF", u[i]))
			return false;
	}
	return true;
}

/* PID and start time tokens: a PID (> 0 when REQUIRED) and its start. */
static bool pid_toks(const char **s, char *t, size_t size, bool required,
                     pid_t *pid, uint64_t *start)
{
	uint64_t p;

	if (!token(s, t, size) || !u64_tok(t, PID_LIMIT, &p) || (required && p == 0))
		return false;
	*pid = (pid_t)p;
	return token(s, t, size) && u64_tok(t, STARTTIME_LIMIT - 1, start) &&
	       (!required || *start > 0);
}

/* "vm PID STARTTIME PINNED HOME PREV MOVED NAME" (after "vm "). */
static int parse_vm(struct parser *ps, const char *s, long pass, struct st_data *out)
{
	struct st_vm v = { 0 };
	char t[SET_LEN];
	int64_t moved;
	const char *end;

	if (!pid_toks(&s, t, sizeof(t), true, &v.pid, &v.starttime))
		return bad(ps, "a VM without a valid PID and start time");
	if (!token(&s, t, sizeof(t)) || !set_tok(t, &v.pinned) ||
	    !token(&s, t, sizeof(t)) || !set_tok(t, &v.home) ||
	    !token(&s, t, sizeof(t)) || !set_tok(t, &v.prev_home))
		return bad(ps, "PID %d: a bad CPU or node list", (int)v.pid);
	if (!token(&s, t, sizeof(t)) || num_s64(t, &end, &moved) < 0 || *end ||
	    moved < -1 || moved > pass)
		return bad(ps, "PID %d: a bad pass of its last move (not -1 to %ld)",
			   (int)v.pid, pass);
	v.moved_at = (long)moved;
	if (strlen(s) >= sizeof(v.name))
		return bad(ps, "PID %d: a name longer than %d bytes", (int)v.pid, VM_NAME_LEN - 1);
	snprintf(v.name, sizeof(v.name), "%s", s);
	return st_add_vm(out, &v);
}

/* "dom PID STARTTIME CPUS UUID NAME" (after "dom "). */
static int parse_dom(struct parser *ps, const char *s, struct st_data *out)
{
	struct st_dom d = { 0 };
	char t[SET_LEN];

	if (!pid_toks(&s, t, sizeof(t), false, &d.pid, &d.starttime))
		return bad(ps, "a domain without a valid PID and start time");
	if (!token(&s, t, sizeof(t)) || !set_tok(t, &d.cpus) || idset_empty(&d.cpus))
		return bad(ps, "a domain with a bad CPU list");
	if (!token(&s, t, sizeof(t)) || (strcmp(t, "-") && !uuid_ok(t)))
		return bad(ps, "a domain with a bad UUID");
	if (strcmp(t, "-"))
		snprintf(d.uuid, sizeof(d.uuid), "%s", t);
	if (!*s || strlen(s) >= sizeof(d.name))
		return bad(ps, "a domain name empty or longer than %d bytes", VM_NAME_LEN - 1);
	snprintf(d.name, sizeof(d.name), "%s", s);
	return st_add_dom(out, &d);
}

/* The three header lines; sets *WRITTEN and OUT->pass. */
static int parse_head(struct parser *ps, const char *boot, uint64_t now,
                      uint64_t *written, struct st_data *out)
{
	char t[64];
	const char *s;
	uint64_t v;
	int r = next_line(ps);

	if (r < 0)
		return r;
	if (strcmp(ps->buf, MAGIC) != 0)
		return bad(ps, strncmp(ps->buf, MAGIC_ANY, strlen(MAGIC_ANY)) == 0 ?
			   "another format (\"%.40s\"; this daemon reads \"" MAGIC "\")" :
			   "not a ksm-numad state file (\"%.40s\")", ps->buf);
	if ((r = next_line(ps)) < 0)
		return r;
	if (strncmp(ps->buf, "boot ", 5) != 0 || strcmp(ps->buf + 5, boot) != 0)
		return bad(ps, "written in another boot (\"%.60s\", this boot is %s)", ps->buf, boot);
	if ((r = next_line(ps)) < 0)
		return r;
	s = ps->buf;
	if (!token(&s, t, sizeof(t)) || strcmp(t, "written") || !token(&s, t, sizeof(t)) ||
	    !u64_tok(t, UINT64_MAX, written) || !token(&s, t, sizeof(t)) || strcmp(t, "pass") ||
	    !token(&s, t, sizeof(t)) || !u64_tok(t, PASS_MAX, &v) || *s)
		return bad(ps, "not \"written USEC pass N\"");
	if (*written > now)
		return bad(ps, "written later than now (%" PRIu64 " > %" PRIu64 " us)", *written, now);
	out->pass = (long)v;
	return 0;
}

static int by_identity(const void *a, const void *b)
{
	const struct st_vm *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->starttime > y->starttime) - (x->starttime < y->starttime);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct st_dom *)a)->name, ((const struct st_dom *)b)->name);
}

/* Sorts the entries; -EINVAL (said) if a VM or a domain comes twice. */
static int no_twins(struct parser *ps, struct st_data *out)
{
	ps->line = 0;
	if (out->nvm > 1)
		qsort(out->vm, (size_t)out->nvm, sizeof(*out->vm), by_identity);
	for (int i = 1; i < out->nvm; i++)
		if (by_identity(&out->vm[i - 1], &out->vm[i]) == 0)
			return bad(ps, "PID %d listed twice", (int)out->vm[i].pid);
	if (out->ndom > 1)
		qsort(out->dom, (size_t)out->ndom, sizeof(*out->dom), by_name);
	for (int i = 1; i < out->ndom; i++)
		if (by_name(&out->dom[i - 1], &out->dom[i]) == 0)
			return bad(ps, "domain %s listed twice", out->dom[i].name);
	return 0;
}

static int parse_body(struct parser *ps, struct st_data *out)
{
	int r;

	while ((r = next_line(ps)) == 0) {
		if (strcmp(ps->buf, "end") == 0)
			return *ps->p ? bad(ps, "text after the \"end\" line") : 0;
		if (strncmp(ps->buf, "vm ", 3) == 0)
			r = parse_vm(ps, ps->buf + 3, out->pass, out);
		else if (strncmp(ps->buf, "dom ", 4) == 0)
			r = parse_dom(ps, ps->buf + 4, out);
		else
			r = bad(ps, "not a vm, dom or end line");
		if (r == -E2BIG)
			r = bad(ps, "more than %d entries of a kind", ST_MAX_ENTRIES);
		if (r < 0)
			return r;
	}
	return r;
}

int st_parse(const char *text, const char *boot, uint64_t now_usec,
             uint64_t interval_usec, struct st_data *out, char *why, size_t size)
{
	struct parser ps = { .p = text, .why = why, .size = size };
	uint64_t written = 0, passes;
	int r;

	memset(out, 0, sizeof(*out));
	if (size)
		why[0] = '\0';
	ps.buf = malloc(LINE_LEN);
	if (!ps.buf)
		return -ENOMEM;
	r = parse_head(&ps, boot, now_usec, &written, out);
	if (r == 0)
		r = parse_body(&ps, out);
	if (r == 0)
		r = no_twins(&ps, out);
	free(ps.buf);
	if (r < 0) {
		if (r == -ENOMEM)
			snprintf(why, size, "%s", strerror(ENOMEM));
		st_free(out);
		return r;
	}
	/* Passes that went by since: one per interval, whole intervals only. */
	passes = interval_usec ? (now_usec - written) / interval_usec : 0;
	out->pass += passes < (uint64_t)(PASS_MAX - out->pass) ? (long)passes : PASS_MAX - out->pass;
	return 0;
}

/* ---- the file ---- */

int st_open(struct st_file *f, const char *dir, const struct rt_root *r)
{
	char boot[64];
	ssize_t n;

	memset(f, 0, sizeof(*f));
	if ((size_t)snprintf(f->path, sizeof(f->path), "%s/%s", dir, ST_FILE) >= sizeof(f->path) ||
	    strlen(dir) >= sizeof(f->dir))
		return -ENAMETOOLONG;
	n = rt_read(r, RT_PROC, boot, sizeof(boot), "sys/kernel/random/boot_id");
	if (n < 0)
		return (int)n;
	boot[strcspn(boot, "\n")] = '\0';
	if (!uuid_ok(boot))
		return -EINVAL;
	snprintf(f->boot, sizeof(f->boot), "%s", boot);
	snprintf(f->dir, sizeof(f->dir), "%s", dir);
	return 0;
}

/* Why the file open as FD is not one to read (NULL: it is): a regular
 * file of this user, not writable by others, at most ST_MAX_BYTES. */
static const char *not_ours(int fd, char *why, size_t size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		snprintf(why, size, "%s", strerror(errno));
	else if (!S_ISREG(st.st_mode))
		snprintf(why, size, "not a regular file");
	else if (st.st_uid != geteuid())
		snprintf(why, size, "owned by uid %u, not by this daemon's", (unsigned)st.st_uid);
	else if (st.st_mode & (S_IWGRP | S_IWOTH))
		snprintf(why, size, "writable by others (mode %04o)", (unsigned)(st.st_mode & 07777));
	else if (st.st_size > ST_MAX_BYTES)
		snprintf(why, size, "larger than %d bytes", ST_MAX_BYTES);
	else
		return NULL;
	return why;
}

/* Reads the file open as FD (at most ST_MAX_BYTES of text) into BUF of
 * ST_MAX_BYTES + 1 bytes, NUL-terminated; NULL, or why not. */
static const char *read_text(int fd, char *buf, char *why, size_t size)
{
	const size_t max = ST_MAX_BYTES;
	size_t n = 0;
	ssize_t got;

	while (n <= max && (got = read(fd, buf + n, max + 1 - n)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			snprintf(why, size, "%s", strerror(errno));
			return why;
		}
		n += (size_t)got;
	}
	if (n > max)
		snprintf(why, size, "larger than %d bytes", ST_MAX_BYTES);
	else if (memchr(buf, '\0', n))
		snprintf(why, size, "not text (a NUL byte)");
	else {
		buf[n] = '\0';
		return NULL;
	}
	return why;
}

/* Reads PATH whole into a malloc'd *OUT (see not_ours); -ENOENT when it
 * is absent, else -errno or -EINVAL with the reason in WHY. */
static int read_file(const char *path, char **out, char *why, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK), err = errno;
	char *buf = NULL;

	if (fd < 0) {
		snprintf(why, size, "%s", err == ELOOP ? "a symbolic link (not followed)" :
			 strerror(err));
		return -err;
	}
	if (!not_ours(fd, why, size)) {
		buf = malloc(ST_MAX_BYTES + 1);
		if (!buf)
			snprintf(why, size, "%s", strerror(ENOMEM));
		else if (read_text(fd, buf, why, size)) {
			free(buf);
			buf = NULL;
		}
	}
	close(fd);
	*out = buf;
	return buf ? 0 : -EINVAL;
}

int st_load(struct st_file *f, uint64_t now_usec, uint64_t interval_usec,
            struct st_data *out)
{
	char why[ST_WHY_LEN] = "", *text = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if (!f->dir[0])
		return 0;
	r = read_file(f->path, &text, why, sizeof(why));
	if (r == -ENOENT)
		return 0;       /* the first start since boot */
	if (r == 0)
		r = st_parse(text, f->boot, now_usec, interval_usec, out, why, sizeof(why));
	free(text);
	if (r < 0) {
		log_warn("%s: %s; ignored: VMs pinned before this start count as pinned by "
			 "an admin and are left alone until that pinning is undone (taskset, "
			 "virsh vcpupin)", f->path, why);
		return 0;
	}
	return 1;
}

static int write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Writes the header, BODY and "end" to a temporary file, then renames it
 * over F's file: a reader sees the old file or the new one, never a part. */
static int write_atomic(const struct st_file *f, const char *body, long pass, uint64_t now)
{
	char tmp[sizeof(f->path) + 8], head[256];
	int fd, r, len;

	snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
	len = snprintf(head, sizeof(head), MAGIC "\nboot %s\nwritten %" PRIu64 " pass %ld\n",
		       f->boot, now, pass);
	if (unlink(tmp) < 0 && errno != ENOENT)
		return -errno;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	r = write_all(fd, head, (size_t)len);
	if (r == 0)
		r = write_all(fd, body, strlen(body));
	if (r == 0)
		r = write_all(fd, "end\n", 4);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, f->path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

int st_save(struct st_file *f, const struct st_data *d, uint64_t now_usec)
{
	char *body;
	int r;

	if (!f->dir[0])
		return -EBADF;
	r = st_format(d, &body);
	if (r == 0 && f->body && strcmp(f->body, body) == 0) {
		free(body);
		return 0;
	}
	if (r == 0)
		r = write_atomic(f, body, d->pass, now_usec);
	if (r < 0) {
		if (r != f->err)
			log_warn("cannot write %s: %s; trying again next pass (a daemon "
				 "restarted meanwhile would take its pinning since for an "
				 "admin's)", f->path, strerror(-r));
		f->err = r;
		free(body);
		return r;
	}
	if (f->err)
		log_info("%s written again", f->path);
	f->err = 0;
	free(f->body);
	f->body = body;
	return 1;
}

int st_remove(const struct st_file *f)
{
	if (!f->dir[0])
		return 0;
	return unlink(f->path) < 0 && errno != ENOENT ? -errno : 0;
}

void st_close(struct st_file *f)
{
	free(f->body);
	memset(f, 0, sizeof(*f));
}
