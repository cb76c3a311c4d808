/* ctlsock.c - the control sockets: accept, read one request line, answer,
 * close; datagrams from the libvirt hook.
 *
 * A client is read and written only when epoll says so, with MSG_DONTWAIT,
 * so a client that stalls, floods or never reads costs one slot until its
 * deadline and nothing else.
 */
#include "ctlsock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define USEC_PER_MSEC 1000ULL
#define ACCEPT_BURST 64                 /* connections or datagrams per wake-up */
#define BACKLOG 32
#define PAUSE_USEC (1000 * USEC_PER_MSEC) /* accept paused when out of descriptors */

struct client {
	struct ctlsock *c;
	int slot;
	int fd;
	sd_event_source *io, *deadline;
	char in[CTL_REQ_MAX + 1];       /* the line and its '\n' */
	size_t inlen;
	char *out;                      /* the reply, once there is one */
	size_t outlen, outpos;
	uint64_t since;                 /* accepted at (CLOCK_MONOTONIC, us) */
};

struct ctlsock {
	sd_event *e;
	char *dir;
	bool made_dir;
	struct sockaddr_un ctl_addr, notify_addr;
	int lfd, nfd;
	sd_event_source *lsrc, *nsrc, *resume;
	bool stuck;                     /* accepting paused, nothing but the next pass ends it */
	ctlsock_fn *handle;
	ctlsock_notify_fn *notify;
	void *data;
	struct client *client[CTLSOCK_CLIENTS];
};

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- clients ---- */

static void drop(struct client *cl)
{
	cl->c->client[cl->slot] = NULL;
	sd_event_source_disable_unref(cl->io);
	sd_event_source_disable_unref(cl->deadline);
	close(cl->fd);
	free(cl->out);
	free(cl);
}

/* Sends what the socket takes of the reply; drops the client when done or
 * when it went away. */
static void send_some(struct client *cl)
{
	while (cl->outpos < cl->outlen) {
		ssize_t n = send(cl->fd, cl->out + cl->outpos, cl->outlen - cl->outpos,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;         /* EPOLLOUT brings us back */
		if (n < 0) {
			log_debug("control: client went away: %s", strerror(errno));
			break;
		}
		cl->outpos += (size_t)n;
	}
	drop(cl);
}

/* Takes REPLY (LEN bytes, malloc'ed) and starts sending it. */
static void reply(struct client *cl, char *text, size_t len)
{
	cl->out = text;
	cl->outlen = len;
	if (sd_event_source_set_io_events(cl->io, EPOLLOUT) < 0) {
		drop(cl);
		return;
	}
	send_some(cl);
}

static void reply_str(struct client *cl, const char *text)
{
	char *copy = strdup(text);

	if (!copy) {
		drop(cl);
		return;
	}
	reply(cl, copy, strlen(copy));
}

/* The daemon's answer to Q, rendered into memory. */
static void answer(struct client *cl, const struct ctl_req *q)
{
	struct ctlsock *c = cl->c;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int r;

	if (!f) {
		reply_str(cl, "error: internal error: out of memory\n");
		return;
	}
	if (q->cmd == CTL_HOOK) {
		if (c->notify)
			c->notify(c->data, q);
		r = fputs("ok\n", f) < 0 ? -EIO : 0;
	} else {
		r = c->handle(c->data, q, f);
	}
	if (fclose(f) != 0 || r < 0) {
		log_warn("control: cannot answer a request: %s",
			 strerror(r < 0 ? -r : errno));
		free(buf);
		reply_str(cl, "error: internal error\n");
		return;
	}
	reply(cl, buf, len);
}

static void request(struct client *cl, size_t len)
{
	struct ctl_req q;
	char err[256], msg[300];

	if (ctl_parse(cl->in, len, &q, err, sizeof(err)) < 0) {
		log_debug("control: bad request: %s", err);
		snprintf(msg, sizeof(msg), "error: %s\n", err);
		reply_str(cl, msg);
		return;
	}
	answer(cl, &q);
}

/* Reads what is there; a full line (or end of file) is the request. */
static void read_some(struct client *cl)
{
	for (;;) {
		ssize_t n = recv(cl->fd, cl->in + cl->inlen, sizeof(cl->in) - cl->inlen,
				 MSG_DONTWAIT);
		char *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0 || (n == 0 && !cl->inlen)) {
			drop(cl);
			return;
		}
		nl = memchr(cl->in + cl->inlen, '\n', (size_t)n);
		cl->inlen += (size_t)n;
		if (nl || n == 0) {
			request(cl, nl ? (size_t)(nl - cl->in) : cl->inlen);
			return;
		}
		if (cl->inlen == sizeof(cl->in)) {
			log_debug("control: request longer than %d bytes", CTL_REQ_MAX);
			reply_str(cl, "error: request longer than 1024 bytes\n");
			return;
		}
	}
}

static int on_client(sd_event_source *s, int fd, uint32_t events, void *data)
{
	struct client *cl = data;

	(void)s;
	(void)fd;
	if (cl->out)
		send_some(cl);
	else if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		read_some(cl);
	return 0;
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *data)
{
	struct client *cl = data;

	(void)s;
	(void)usec;
	log_debug("control: client dropped after %d ms without %s", CTLSOCK_TIMEOUT_MS,
		  cl->out ? "reading its reply" : "a complete request");
	drop(cl);
	return 0;
}

static int add_client(struct ctlsock *c, int slot, int fd)
{
	struct client *cl = calloc(1, sizeof(*cl));
	int r;

	if (!cl)
		return -ENOMEM;
	cl->c = c;
	cl->slot = slot;
	cl->fd = fd;
	cl->since = now_usec();
	c->client[slot] = cl;
	r = sd_event_add_io(c->e, &cl->io, fd, EPOLLIN, on_client, cl);
	if (r >= 0)
		r = sd_event_add_time(c->e, &cl->deadline, CLOCK_MONOTONIC,
				      now_usec() + CTLSOCK_TIMEOUT_MS * USEC_PER_MSEC, 0,
				      on_deadline, cl);
	if (r < 0)
		drop(cl);
	return r;
}

/* A free slot; when all are taken, the slot of the oldest client still
 * sending its request (a stalled client yields to a new one), else -1. */
static int free_slot(struct ctlsock *c)
{
	int oldest = -1;

	for (int i = 0; i < CTLSOCK_CLIENTS; i++) {
		if (!c->client[i])
			return i;
		if (!c->client[i]->out &&
		    (oldest < 0 || c->client[i]->since < c->client[oldest]->since))
			oldest = i;
	}
	if (oldest >= 0) {
		log_debug("control: %d clients, dropping the oldest incomplete one",
			  CTLSOCK_CLIENTS);
		drop(c->client[oldest]);
	}
	return oldest;
}

/* ---- the listening sockets ---- */

/* Ends a pause of accepting; one that cannot end is left to the next pass
 * (ctlsock_resume). */
static void accept_again(struct ctlsock *c)
{
	int r = sd_event_source_set_enabled(c->lsrc, SD_EVENT_ON);

	if (r < 0 && !c->stuck)
		log_warn("control: cannot accept clients again: %s; trying again at the "
			 "next pass", strerror(-r));
	else if (r >= 0 && c->stuck)
		log_info("control: accepting clients again");
	c->stuck = r < 0;
}

static int on_resume(sd_event_source *s, uint64_t usec, void *data)
{
	(void)s;
	(void)usec;
	accept_again(data);
	return 0;
}

/* Out of file descriptors: the socket stays readable, so stop listening
 * for a while rather than spin; if the timer that ends the pause cannot be
 * set, the next pass ends it. */
static void pause_accept(struct ctlsock *c, int err)
{
	int r = sd_event_source_set_enabled(c->lsrc, SD_EVENT_OFF);

	if (r < 0) {
		log_warn("control: cannot accept a client: %s; nor pause accepting: %s",
			 strerror(err), strerror(-r));
		return;
	}
	r = sd_event_source_set_time(c->resume, now_usec() + PAUSE_USEC);
	if (r >= 0)
		r = sd_event_source_set_enabled(c->resume, SD_EVENT_ONESHOT);
	c->stuck = r < 0;
	if (r < 0)
		log_warn("control: cannot accept a client: %s; pausing until the next pass "
			 "(the 1 s timer cannot be set: %s)", strerror(err), strerror(-r));
	else
		log_warn("control: cannot accept a client: %s; pausing for 1 s", strerror(err));
}

void ctlsock_resume(struct ctlsock *c)
{
	if (c && c->stuck)
		accept_again(c);
}

static int on_accept(sd_event_source *s, int lfd, uint32_t events, void *data)
{
	struct ctlsock *c = data;

	(void)s;
	(void)events;
	for (int k = 0; k < ACCEPT_BURST; k++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), slot;

		if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			       errno == ENOMEM))
			pause_accept(c, errno);
		if (fd < 0)
			return 0;       /* EAGAIN, or the client gave up already */
		slot = free_slot(c);
		if (slot < 0) {
			log_debug("control: %d clients awaiting their replies, refusing one",
				  CTLSOCK_CLIENTS);
			send(fd, "error: busy\n", 12, MSG_DONTWAIT | MSG_NOSIGNAL);
			close(fd);
		} else if (add_client(c, slot, fd) < 0) {
			log_warn("control: cannot serve a client: out of memory");
		}
	}
	return 0;
}

static void notice(struct ctlsock *c, const char *buf, size_t len)
{
	struct ctl_req q;
	char err[256];

	if (ctl_parse(buf, len, &q, err, sizeof(err)) < 0) {
		log_debug("control: ignoring a notice: %s", err);
		return;
	}
	if (q.cmd != CTL_HOOK) {
		log_debug("control: ignoring a notice that is not a hook notice");
		return;
	}
	if (c->notify)
		c->notify(c->data, &q);
}

static int on_notice(sd_event_source *s, int fd, uint32_t events, void *data)
{
	char buf[CTL_REQ_MAX + 2];

	(void)s;
	(void)events;
	for (int k = 0; k < ACCEPT_BURST; k++) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 0;
		if ((size_t)n > CTL_REQ_MAX + 1)
			log_debug("control: ignoring a notice of %zd bytes", n);
		else
			notice(data, buf, (size_t)n);
	}
	return 0;
}

/* ---- set-up ---- */

/* DIR exists as a directory of ours, closed to others. */
static int make_dir(struct ctlsock *c)
{
	struct stat st;

	if (mkdir(c->dir, 0700) == 0) {
		c->made_dir = true;
		return 0;
	}
	if (errno != EEXIST || lstat(c->dir, &st) < 0) {
		log_err("control: cannot create %s: %s", c->dir, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
		log_err("control: %s is not a directory owned by uid %u; not using it",
			c->dir, (unsigned)geteuid());
		return -EPERM;
	}
	if ((st.st_mode & 077) && chmod(c->dir, 0700) < 0) {
		log_err("control: cannot close %s to other users: %s", c->dir, strerror(errno));
		return -errno;
	}
	return 0;
}

/* Removes a socket left by a daemon that died; -EADDRINUSE if one answers. */
static int clear_stale(const struct sockaddr_un *a, int type)
{
	struct stat st;
	int fd, r = 0;

	if (lstat(a->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		log_err("control: %s exists and is not a socket", a->sun_path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)a, sizeof(*a)) == 0 || errno == EAGAIN) {
		log_err("control: another daemon answers on %s", a->sun_path);
		r = -EADDRINUSE;
	}
	close(fd);
	if (!r && unlink(a->sun_path) < 0 && errno != ENOENT)
		r = -errno;
	return r;
}

static int bind_one(struct ctlsock *c, const char *name, int type,
                    struct sockaddr_un *a, int *fdp)
{
	socklen_t len;
	int fd, r = ctl_sockaddr(c->dir, name, a, &len);

	if (r < 0) {
		log_err("control: %s/%s: path too long for a socket", c->dir, name);
		return r;
	}
	r = clear_stale(a, type);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (const struct sockaddr *)a, len) < 0 ||
	    chmod(a->sun_path, 0600) < 0 || (type == SOCK_STREAM && listen(fd, BACKLOG) < 0)) {
		r = -errno;
		log_err("control: cannot listen on %s: %s", a->sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return r;
	}
	*fdp = fd;
	return 0;
}

static int setup(struct ctlsock *c)
{
	int r = make_dir(c);

	if (r >= 0)
		r = bind_one(c, CTL_SOCKET, SOCK_STREAM, &c->ctl_addr, &c->lfd);
	if (r >= 0)
		r = bind_one(c, CTL_NOTIFY, SOCK_DGRAM, &c->notify_addr, &c->nfd);
	if (r >= 0)
		r = sd_event_add_io(c->e, &c->lsrc, c->lfd, EPOLLIN, on_accept, c);
	if (r >= 0)
		r = sd_event_add_io(c->e, &c->nsrc, c->nfd, EPOLLIN, on_notice, c);
	/* Made now, so that running out of descriptors or memory later never
	 * leaves accepting paused for good. */
	if (r >= 0)
		r = sd_event_add_time(c->e, &c->resume, CLOCK_MONOTONIC, 0, 0, on_resume, c);
	if (r >= 0)
		r = sd_event_source_set_enabled(c->resume, SD_EVENT_OFF);
	/* Both sockets bound: what failed is sd-event's. */
	if (r < 0 && c->nfd >= 0)
		log_err("control: cannot watch the sockets: %s", strerror(-r));
	return r;
}

int ctlsock_start(sd_event *e, const char *dir, ctlsock_fn *handle,
                  ctlsock_notify_fn *notify, void *data, struct ctlsock **out)
{
	struct ctlsock *c = calloc(1, sizeof(*c));
	int r;

	if (!c || !(c->dir = strdup(dir))) {
		log_err("control: cannot serve %s: out of memory", dir);
		free(c);
		return -ENOMEM;
	}
	c->e = sd_event_ref(e);
	c->lfd = c->nfd = -1;
	c->handle = handle;
	c->notify = notify;
	c->data = data;
	r = setup(c);
	if (r < 0) {
		ctlsock_stop(c);
		return r;
	}
	log_debug("control: listening on %s", c->ctl_addr.sun_path);
	*out = c;
	return 0;
}

static void close_sock(int fd, const struct sockaddr_un *a)
{
	if (fd < 0)
		return;
	close(fd);
	unlink(a->sun_path);
}

void ctlsock_stop(struct ctlsock *c)
{
	if (!c)
		return;
	for (int i = 0; i < CTLSOCK_CLIENTS; i++)
		if (c->client[i])
			drop(c->client[i]);
	sd_event_source_disable_unref(c->lsrc);
	sd_event_source_disable_unref(c->nsrc);
	sd_event_source_disable_unref(c->resume);
	close_sock(c->lfd, &c->ctl_addr);
	close_sock(c->nfd, &c->notify_addr);
	if (c->made_dir)
		rmdir(c->dir);
	sd_event_unref(c->e);
	free(c->dir);
	free(c);
}
