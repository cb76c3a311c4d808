/* virtd.c - the libvirt worker thread (see virtd.h).
 *
 * Two queues cross the thread boundary, both under one mutex: requests
 * (stop, pins, refresh) go to the worker through a pipe that libvirt's event
 * loop watches; results (struct virtd_event) come back through an eventfd
 * that sd-event watches.  Only the worker touches the connection, and all
 * logging happens on the main loop.  libvirt callbacks run inside
 * virEventRunDefaultImpl on the worker and only set flags: the connection
 * is used and closed between two turns of the loop.
 */
#include "virtd.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "log.h"

#define BACKOFF_MIN_S 1
#define BACKOFF_MAX_S 60
#define KEEPALIVE_INTERVAL_S 3
#define KEEPALIVE_COUNT 3
#define SETTLE_MS 3000                  /* a second look after connecting */
#define MAX_PINS 1024
#define MAX_EVENTS 1024
#define MAX_PENDING 64

struct pin_req {
	char name[VM_NAME_LEN];
	bool mems;                      /* memory nodes (virt_set_mems), else CPUs */
	struct idset cpus;              /* CPUs, or memory nodes */
};

struct lifecycle {
	char name[VM_NAME_LEN];
	char op[64];
};

struct virtd {
	/* set at start, read-only afterwards */
	char *uri;
	char *pid_dir;
	const struct rt_root *r;
	virtd_change_fn *fn;
	void *data;
	sd_event_source *src;
	int efd;                        /* worker -> main */
	int wake[2];                    /* main -> worker */
	pthread_t thread;

	pthread_mutex_t lock;           /* guards the fields below up to "worker only" */
	bool stop;
	bool abandoned;                 /* virtd_stop gave up waiting: the worker frees */
	bool connected;
	bool refresh;
	struct virt_dom_list list;
	struct pin_req *pins;
	int npins;
	struct virtd_event *ev;
	int nev;

	/* worker only */
	struct virt *v;
	int cb_id;
	int wake_watch;
	int timer;
	bool due;                       /* the reconnect timer fired */
	int settle_timer;
	bool settle;                    /* the settle timer fired */
	bool lost;
	char lost_why[128];
	bool dirty;
	bool failed_before;
	int backoff_s;
	struct lifecycle pending[MAX_PENDING];
	int npending;
	bool pending_overflow;
};

static pthread_once_t event_once = PTHREAD_ONCE_INIT;
static int event_impl_err;

static void register_event_impl(void)
{
	virt_init();
	event_impl_err = virEventRegisterDefaultImpl() < 0 ? -EIO : 0;
}

const char *virtd_kind_name(enum virtd_kind kind)
{
	static const char *const names[] = {
		[VIRTD_CONNECTED] = "connected",
		[VIRTD_CONNECT_FAILED] = "connect-failed",
		[VIRTD_LOST] = "lost",
		[VIRTD_DOMAINS_CHANGED] = "domains-changed",
		[VIRTD_PIN_DONE] = "pin-done",
		[VIRTD_MEMS_DONE] = "mems-done",
	};

	return (unsigned)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

/* ---- worker -> main ---- */

/* Queues EV for the main loop (the last slot is overwritten when full). */
static void post(struct virtd *d, const struct virtd_event *ev)
{
	uint64_t one = 1;

	pthread_mutex_lock(&d->lock);
	if (d->nev < MAX_EVENTS)
		d->nev++;
	d->ev[d->nev - 1] = *ev;
	pthread_mutex_unlock(&d->lock);
	if (write(d->efd, &one, sizeof(one)) < 0) {
		/* a full counter still wakes the reader */
	}
}

static void post_simple(struct virtd *d, enum virtd_kind kind, const char *dom,
                        const char *detail, int err)
{
	struct virtd_event ev = { .kind = kind, .err = err, .retry_s = d->backoff_s };

	snprintf(ev.domain, sizeof(ev.domain), "%s", dom ? dom : "");
	snprintf(ev.detail, sizeof(ev.detail), "%s", detail ? detail : "");
	pthread_mutex_lock(&d->lock);
	ev.ndomains = d->list.n;
	pthread_mutex_unlock(&d->lock);
	post(d, &ev);
}

/* ---- the connection (worker) ---- */

static void on_close(virConnectPtr conn, int reason, void *opaque)
{
	struct virtd *d = opaque;
	static const char *const why[] = {
		[VIR_CONNECT_CLOSE_REASON_ERROR] = "I/O error",
		[VIR_CONNECT_CLOSE_REASON_EOF] = "end of file (libvirtd stopped?)",
		[VIR_CONNECT_CLOSE_REASON_KEEPALIVE] = "keepalive timeout",
		[VIR_CONNECT_CLOSE_REASON_CLIENT] = "closed by client",
	};

	(void)conn;
	d->lost = true;
	snprintf(d->lost_why, sizeof(d->lost_why), "%s",
	         reason >= 0 && reason < (int)(sizeof(why) / sizeof(why[0])) && why[reason] ?
	         why[reason] : "closed");
}

static const char *lifecycle_op(int event, int detail)
{
	static const char *const ops[] = {
		"defined", "undefined", "started", "suspended", "resumed",
		"stopped", "shutdown", "pmsuspended", "crashed",
	};

	if ((event == VIR_DOMAIN_EVENT_STARTED && detail == VIR_DOMAIN_EVENT_STARTED_MIGRATED) ||
	    (event == VIR_DOMAIN_EVENT_STOPPED && detail == VIR_DOMAIN_EVENT_STOPPED_MIGRATED))
		return event == VIR_DOMAIN_EVENT_STARTED ? "started (migrated in)" :
		                                          "stopped (migrated out)";
	return event >= 0 && event < (int)(sizeof(ops) / sizeof(ops[0])) ? ops[event] : "changed";
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail,
                        void *opaque)
{
	struct virtd *d = opaque;
	const char *name = virDomainGetName(dom);

	(void)conn;
	d->dirty = true;
	if (d->npending == MAX_PENDING) {
		d->pending_overflow = true;
		return 0;
	}
	snprintf(d->pending[d->npending].name, VM_NAME_LEN, "%s", name ? name : "");
	snprintf(d->pending[d->npending].op, sizeof(d->pending[0].op), "%s",
	         lifecycle_op(event, detail));
	d->npending++;
	return 0;
}

static void on_timer(int timer, void *opaque)
{
	struct virtd *d = opaque;

	d->due = true;
	virEventUpdateTimeout(timer, -1);
}

/* A restarted libvirtd drops domains it fails to reconnect to without an
 * event, after answering the first list: look again a little later. */
static void on_settle(int timer, void *opaque)
{
	struct virtd *d = opaque;

	d->settle = true;
	virEventUpdateTimeout(timer, -1);
}

static void on_wake(int watch, int fd, int events, void *opaque)
{
	char buf[64];

	(void)watch;
	(void)events;
	(void)opaque;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

static void schedule_retry(struct virtd *d)
{
	virEventUpdateTimeout(d->timer, d->backoff_s * 1000);
}

static void next_backoff(struct virtd *d)
{
	d->backoff_s = d->backoff_s * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : d->backoff_s * 2;
}

static void set_connected(struct virtd *d, bool on)
{
	pthread_mutex_lock(&d->lock);
	d->connected = on;
	if (!on)
		virt_dom_list_free(&d->list);
	pthread_mutex_unlock(&d->lock);
}

/* Closes the connection after deregistering our callbacks. */
static void drop(struct virtd *d)
{
	virConnectPtr conn;

	if (!d->v)
		return;
	conn = virt_conn(d->v);
	if (d->cb_id >= 0)
		virConnectDomainEventDeregisterAny(conn, d->cb_id);
	virConnectUnregisterCloseCallback(conn, on_close);
	virResetLastError();
	virt_close(d->v);
	d->v = NULL;
	d->cb_id = -1;
	d->npending = 0;
	d->pending_overflow = false;
	d->settle = false;
	virEventUpdateTimeout(d->settle_timer, -1);
	set_connected(d, false);
}

static void lose(struct virtd *d, const char *why)
{
	drop(d);
	d->backoff_s = BACKOFF_MIN_S;
	post_simple(d, VIRTD_LOST, NULL, why, -ENOTCONN);
	schedule_retry(d);
	next_backoff(d);
	d->failed_before = true;        /* LOST said it: failures until reconnected are repeats */
}

static void connect_failed(struct virtd *d, int err, const char *why)
{
	struct virtd_event ev = { .kind = VIRTD_CONNECT_FAILED, .err = err,
	                          .retry_s = d->backoff_s, .repeated = d->failed_before };

	snprintf(ev.detail, sizeof(ev.detail), "%s", why);
	post(d, &ev);
	d->failed_before = true;
	schedule_retry(d);
	next_backoff(d);
}

static int watch_conn(struct virtd *d)
{
	virConnectPtr conn = virt_conn(d->v);

	d->cb_id = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
	                                            VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle),
	                                            d, NULL);
	if (d->cb_id < 0)
		return -EIO;
	if (virConnectRegisterCloseCallback(conn, on_close, d, NULL) < 0)
		return -EIO;
	/* drivers without keepalive (test driver, local ones) need none */
	if (virConnectSetKeepAlive(conn, KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT) < 0) {
		virErrorPtr e = virGetLastError();

		if (!e || e->code != VIR_ERR_NO_SUPPORT)
			return -EIO;
		virResetLastError();
	}
	return 0;
}

static void try_connect(struct virtd *d)
{
	char why[256];
	int ret;

	d->due = false;
	ret = virt_open(d->uri, &d->v);
	if (ret == 0 && (ret = watch_conn(d)) < 0) {
		snprintf(why, sizeof(why), "%s", virGetLastError() ?
		         virGetLastError()->message : "event registration failed");
		drop(d);
		connect_failed(d, ret, why);
		return;
	}
	if (ret < 0) {
		d->v = NULL;
		connect_failed(d, ret, virt_last_error());
		return;
	}
	d->lost = false;
	d->dirty = true;
	d->failed_before = false;
	d->backoff_s = BACKOFF_MIN_S;
	virEventUpdateTimeout(d->timer, -1);
}

static bool same_domains(const struct virt_dom_list *a, const struct virt_dom_list *b)
{
	if (a->n != b->n)
		return false;
	for (int i = 0; i < a->n; i++)
		if (strcmp(a->d[i].uuid, b->d[i].uuid) != 0 || a->d[i].pid != b->d[i].pid)
			return false;
	return true;
}

enum relist_why { RELIST_EVENTS, RELIST_REFRESH, RELIST_SETTLE };

/* Re-lists; posts CONNECTED the first time, DOMAINS_CHANGED per pending
 * event, for a refresh, and for a settle look that found a change. */
static void relist(struct virtd *d, enum relist_why why)
{
	struct virt_dom_list l;
	bool was, same;
	int ret = virt_list(d->v, d->r, d->pid_dir, &l);

	d->dirty = false;
	if (ret < 0) {
		char msg[300];

		snprintf(msg, sizeof(msg), "listing domains failed: %s", virt_last_error());
		lose(d, msg);
		return;
	}
	pthread_mutex_lock(&d->lock);
	was = d->connected;
	same = same_domains(&d->list, &l);
	virt_dom_list_free(&d->list);
	d->list = l;
	d->connected = true;
	pthread_mutex_unlock(&d->lock);
	if (!was) {
		post_simple(d, VIRTD_CONNECTED, NULL, virt_uri(d->v), 0);
		virEventUpdateTimeout(d->settle_timer, SETTLE_MS);
	}
	for (int i = 0; was && i < d->npending; i++)
		post_simple(d, VIRTD_DOMAINS_CHANGED, d->pending[i].name, d->pending[i].op, 0);
	if (was && why == RELIST_REFRESH)
		post_simple(d, VIRTD_DOMAINS_CHANGED, NULL, "refresh", 0);
	else if (was && why == RELIST_SETTLE && !same)
		post_simple(d, VIRTD_DOMAINS_CHANGED, NULL, "changed without an event", 0);
	else if (was && d->pending_overflow)
		post_simple(d, VIRTD_DOMAINS_CHANGED, NULL, "many events", 0);
	d->npending = 0;
	d->pending_overflow = false;
}

static int run_req(struct virtd *d, const struct pin_req *q)
{
	if (!d->v)
		return -ENOTCONN;
	return q->mems ? virt_set_mems(d->v, q->name, &q->cpus) :
	                 virt_pin(d->v, q->name, &q->cpus);
}

/* Runs the queued pins; the list is refreshed afterwards (silently). */
static void run_pins(struct virtd *d)
{
	struct pin_req *reqs;
	int n;

	pthread_mutex_lock(&d->lock);
	reqs = d->pins;
	n = d->npins;
	d->pins = NULL;
	d->npins = 0;
	pthread_mutex_unlock(&d->lock);
	for (int i = 0; i < n; i++) {
		int ret = run_req(d, &reqs[i]);
		char cpus[256];

		if (ret == 0 && idset_format(&reqs[i].cpus, cpus, sizeof(cpus)) < 0)
			snprintf(cpus, sizeof(cpus), "(a long list)");
		post_simple(d, reqs[i].mems ? VIRTD_MEMS_DONE : VIRTD_PIN_DONE, reqs[i].name,
		            ret == 0 ? cpus : ret == -ENOTCONN ? "not connected" :
		            virt_last_error(), ret);
	}
	if (n > 0 && d->v && !d->lost)
		d->dirty = true;
	free(reqs);
}

static bool take_flag(struct virtd *d, bool *flag)
{
	bool v;

	pthread_mutex_lock(&d->lock);
	v = *flag;
	*flag = false;
	pthread_mutex_unlock(&d->lock);
	return v;
}

static bool stopping(struct virtd *d)
{
	bool v;

	pthread_mutex_lock(&d->lock);
	v = d->stop;
	pthread_mutex_unlock(&d->lock);
	return v;
}

static void turn(struct virtd *d)
{
	bool refresh, settle;

	if (!d->v && d->due)
		try_connect(d);
	if (d->v && !d->lost && !virt_alive(d->v))
		on_close(NULL, VIR_CONNECT_CLOSE_REASON_ERROR, d);
	if (d->v && d->lost)
		lose(d, d->lost_why);
	run_pins(d);
	refresh = take_flag(d, &d->refresh);
	settle = d->settle;
	d->settle = false;
	if (d->v && !d->lost && (d->dirty || refresh || settle))
		relist(d, refresh ? RELIST_REFRESH : settle ? RELIST_SETTLE : RELIST_EVENTS);
}

static void free_virtd(struct virtd *d);

static void *worker(void *arg)
{
	struct virtd *d = arg;
	bool abandoned;

	d->due = true;
	while (!stopping(d)) {
		turn(d);
		if (stopping(d))
			break;
		if (virEventRunDefaultImpl() < 0)
			virResetLastError();
	}
	drop(d);
	pthread_mutex_lock(&d->lock);
	abandoned = d->abandoned;
	pthread_mutex_unlock(&d->lock);
	if (abandoned)
		free_virtd(d);
	return NULL;
}

/* ---- main loop side ---- */

static void log_event(const struct virtd *d, const struct virtd_event *ev)
{
	switch (ev->kind) {
	case VIRTD_CONNECTED:
		log_info("libvirt: connected to %s (%d domains)", ev->detail, ev->ndomains);
		break;
	case VIRTD_CONNECT_FAILED:
		log_msg(ev->repeated ? LOG_DEBUG : LOG_WARNING,
		        "libvirt: cannot connect to %s: %s; retrying in %d s",
		        d->uri ? d->uri : "the default URI", ev->detail, ev->retry_s);
		break;
	case VIRTD_LOST:
		log_warn("libvirt: connection to %s lost: %s; reconnecting in %d s",
		         d->uri ? d->uri : "the default URI", ev->detail, ev->retry_s);
		break;
	case VIRTD_DOMAINS_CHANGED:
		if (ev->domain[0])
			log_vm(LOG_INFO, ev->domain, 0, -1, "libvirt: domain %s (%d active)",
			       ev->detail, ev->ndomains);
		else
			log_debug("libvirt: domains re-listed (%s, %d active)", ev->detail,
			          ev->ndomains);
		break;
	case VIRTD_PIN_DONE:
		if (ev->err < 0)
			log_vm(LOG_WARNING, ev->domain, 0, -1, "libvirt: pinning failed: %s",
			       ev->detail);
		else
			log_vm(LOG_DEBUG, ev->domain, 0, -1, "libvirt: pinned to CPUs %s",
			       ev->detail);
		break;
	case VIRTD_MEMS_DONE:
		if (ev->err < 0)
			log_vm(LOG_INFO, ev->domain, 0, -1, "libvirt: cannot widen its memory "
			       "nodes: %s; its memory waits, asked again on a later pass",
			       ev->detail);
		else
			log_vm(LOG_INFO, ev->domain, 0, -1, "libvirt: memory nodes now %s",
			       ev->detail);
		break;
	}
}

static int on_efd(sd_event_source *src, int fd, uint32_t revents, void *data)
{
	struct virtd *d = data;
	struct virtd_event *evs;
	uint64_t cnt;
	int n;

	(void)src;
	(void)revents;
	if (read(fd, &cnt, sizeof(cnt)) < 0) {
		/* EAGAIN: a spurious wake-up */
	}
	pthread_mutex_lock(&d->lock);
	n = d->nev;
	evs = malloc(sizeof(*evs) * (size_t)(n > 0 ? n : 1));
	if (evs) {
		memcpy(evs, d->ev, sizeof(*evs) * (size_t)n);
		d->nev = 0;
	}
	pthread_mutex_unlock(&d->lock);
	if (!evs)
		return 0;
	for (int i = 0; i < n; i++) {
		log_event(d, &evs[i]);
		if (d->fn)
			d->fn(d->data, &evs[i]);
	}
	free(evs);
	return 0;
}

static void wake(struct virtd *d)
{
	if (write(d->wake[1], "x", 1) < 0) {
		/* EAGAIN: the pipe is full, the worker wakes anyway */
	}
}

static void free_virtd(struct virtd *d)
{
	if (d->wake_watch >= 0)
		virEventRemoveHandle(d->wake_watch);
	if (d->timer >= 0)
		virEventRemoveTimeout(d->timer);
	if (d->settle_timer >= 0)
		virEventRemoveTimeout(d->settle_timer);
	if (d->wake[0] >= 0)
		close(d->wake[0]);
	if (d->wake[1] >= 0)
		close(d->wake[1]);
	if (d->efd >= 0)
		close(d->efd);
	virt_dom_list_free(&d->list);
	pthread_mutex_destroy(&d->lock);
	free(d->pins);
	free(d->ev);
	free(d->uri);
	free(d->pid_dir);
	free(d);
}

static struct virtd *alloc_virtd(const char *uri, const char *pid_dir)
{
	struct virtd *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->efd = d->wake[0] = d->wake[1] = -1;
	d->wake_watch = d->timer = d->settle_timer = d->cb_id = -1;
	d->backoff_s = BACKOFF_MIN_S;
	pthread_mutex_init(&d->lock, NULL);
	d->ev = calloc(MAX_EVENTS, sizeof(*d->ev));
	d->uri = uri ? strdup(uri) : NULL;
	d->pid_dir = pid_dir ? strdup(pid_dir) : NULL;
	if (!d->ev || (uri && !d->uri) || (pid_dir && !d->pid_dir)) {
		free_virtd(d);
		return NULL;
	}
	return d;
}

static int setup_fds(struct virtd *d, sd_event *e)
{
	int ret;

	d->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->efd < 0 || pipe2(d->wake, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	d->wake_watch = virEventAddHandle(d->wake[0], VIR_EVENT_HANDLE_READABLE,
	                                  on_wake, d, NULL);
	d->timer = virEventAddTimeout(-1, on_timer, d, NULL);
	d->settle_timer = virEventAddTimeout(-1, on_settle, d, NULL);
	if (d->wake_watch < 0 || d->timer < 0 || d->settle_timer < 0)
		return -EIO;
	ret = sd_event_add_io(e, &d->src, d->efd, EPOLLIN, on_efd, d);
	return ret < 0 ? ret : 0;
}

int virtd_start(sd_event *e, const char *uri, const struct rt_root *r,
                const char *pid_dir, virtd_change_fn *fn, void *data,
                struct virtd **out)
{
	struct virtd *d;
	int ret;

	pthread_once(&event_once, register_event_impl);
	if (event_impl_err < 0)
		return event_impl_err;
	d = alloc_virtd(uri, pid_dir);
	if (!d)
		return -ENOMEM;
	d->r = r;
	d->fn = fn;
	d->data = data;
	ret = setup_fds(d, e);
	if (ret == 0)
		ret = -pthread_create(&d->thread, NULL, worker, d);
	if (ret < 0) {
		d->src = sd_event_source_unref(d->src);
		free_virtd(d);
		return ret;
	}
	*out = d;
	return 0;
}

int virtd_domains(struct virtd *d, struct virt_dom_list *copy)
{
	int ret = 0;

	memset(copy, 0, sizeof(*copy));
	pthread_mutex_lock(&d->lock);
	if (!d->connected) {
		ret = -ENOTCONN;
	} else {
		copy->d = malloc(sizeof(*copy->d) * (size_t)(d->list.n > 0 ? d->list.n : 1));
		if (copy->d) {
			memcpy(copy->d, d->list.d, sizeof(*copy->d) * (size_t)d->list.n);
			copy->n = d->list.n;
		} else {
			ret = -ENOMEM;
		}
	}
	pthread_mutex_unlock(&d->lock);
	return ret;
}

bool virtd_connected(struct virtd *d)
{
	bool v;

	pthread_mutex_lock(&d->lock);
	v = d->connected;
	pthread_mutex_unlock(&d->lock);
	return v;
}

/* Adds or replaces the request of its kind for NAME; d->lock held. */
static int queue_pin(struct virtd *d, const char *name, bool mems, const struct idset *cpus)
{
	struct pin_req *p;

	for (int i = 0; i < d->npins; i++) {
		if (strcmp(d->pins[i].name, name) == 0 && d->pins[i].mems == mems) {
			d->pins[i].cpus = *cpus;
			return 0;
		}
	}
	if (d->npins == MAX_PINS)
		return -EAGAIN;
	p = realloc(d->pins, sizeof(*p) * (size_t)(d->npins + 1));
	if (!p)
		return -ENOMEM;
	d->pins = p;
	snprintf(p[d->npins].name, VM_NAME_LEN, "%s", name);
	p[d->npins].mems = mems;
	p[d->npins].cpus = *cpus;
	d->npins++;
	return 0;
}

static int request(struct virtd *d, const char *name, bool mems, const struct idset *set)
{
	int ret;

	pthread_mutex_lock(&d->lock);
	ret = d->connected ? queue_pin(d, name, mems, set) : -ENOTCONN;
	pthread_mutex_unlock(&d->lock);
	if (ret == 0)
		wake(d);
	return ret;
}

int virtd_pin(struct virtd *d, const char *name, const struct idset *cpus)
{
	return request(d, name, false, cpus);
}

int virtd_set_mems(struct virtd *d, const char *name, const struct idset *nodes)
{
	return request(d, name, true, nodes);
}

void virtd_refresh(struct virtd *d)
{
	pthread_mutex_lock(&d->lock);
	d->refresh = true;
	pthread_mutex_unlock(&d->lock);
	wake(d);
}

int virtd_stop(struct virtd *d)
{
	struct timespec until;
	int ret;

	if (!d)
		return 0;
	d->src = sd_event_source_unref(d->src);
	pthread_mutex_lock(&d->lock);
	d->stop = true;
	pthread_mutex_unlock(&d->lock);
	wake(d);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += VIRTD_STOP_WAIT_S;
	ret = pthread_timedjoin_np(d->thread, NULL, &until);
	if (ret == 0) {
		free_virtd(d);
		return 0;
	}
	log_warn("libvirt: worker still busy in a libvirt call after %d s; not waiting",
	         VIRTD_STOP_WAIT_S);
	pthread_mutex_lock(&d->lock);
	d->abandoned = true;
	pthread_mutex_unlock(&d->lock);
	pthread_detach(d->thread);
	return -ETIMEDOUT;
}
