/* virtd.h - the libvirt worker: a thread that owns the libvirt connection.
 *
 * The thread runs libvirt's event loop, keeps the connection (reconnecting
 * with backoff, 1 s doubling to 60 s), re-lists the active domains after
 * connecting, on every lifecycle event and on request, and runs queued
 * pinning requests.  The main loop never waits on libvirt: it reads the
 * latest list under a mutex, and changes reach it through an eventfd watched
 * by an sd-event IO source, where they are logged and handed to FN.
 */
#ifndef KN_VIRTD_H
#define KN_VIRTD_H

#include <stdbool.h>

#include <systemd/sd-event.h>

#include "idset.h"
#include "root.h"
#include "virt.h"

enum virtd_kind {
	VIRTD_CONNECTED,            /* connected and listed: ndomains */
	VIRTD_CONNECT_FAILED,       /* could not connect: detail, retry_s */
	VIRTD_LOST,                 /* connection lost: detail, retry_s */
	VIRTD_DOMAINS_CHANGED,      /* re-listed after domain's event "detail"; domain ""
	                             * for "refresh", "many events", or "changed without
	                             * an event" (a second look 3 s after connecting) */
	VIRTD_PIN_DONE,             /* a virtd_pin request finished: err, detail (the CPUs
	                             * or the error text) */
	VIRTD_MEMS_DONE,            /* a virtd_set_mems request finished: err, detail */
};

struct virtd_event {
	enum virtd_kind kind;
	char domain[VM_NAME_LEN];   /* the domain concerned, "" if none */
	char detail[256];           /* "started", "stopped (migrated)", an error text */
	int err;                    /* PIN_DONE, CONNECT_FAILED, LOST: 0 or -errno */
	int ndomains;               /* CONNECTED, DOMAINS_CHANGED: active domains now */
	int retry_s;                /* CONNECT_FAILED, LOST: seconds until the next attempt */
	bool repeated;              /* CONNECT_FAILED again without success meanwhile */
};

/* Called on the main loop for each change, after it was logged. */
typedef void virtd_change_fn(void *data, const struct virtd_event *ev);

struct virtd;

/* Starts the worker on URI (NULL: libvirt's default) reading PIDs from
 * PID_DIR (NULL: none) against R, with its IO source on E; 0 or -errno.
 * R, E, FN and DATA must outlive the worker.  Connecting happens in the
 * worker: a libvirtd that is down is reported through FN, not here. */
int virtd_start(sd_event *e, const char *uri, const struct rt_root *r,
                const char *pid_dir, virtd_change_fn *fn, void *data,
                struct virtd **out);

/* A copy of the latest domain list (free with virt_dom_list_free);
 * -ENOTCONN when not connected, -ENOMEM. */
int virtd_domains(struct virtd *d, struct virt_dom_list *copy);

/* True while connected (and listed at least once). */
bool virtd_connected(struct virtd *d);

/* Queues pinning domain NAME (name or uuid) to CPUS (a later request for
 * the same domain replaces a waiting one); the result arrives as
 * VIRTD_PIN_DONE.  0, -ENOTCONN, -EAGAIN when the queue is full. */
int virtd_pin(struct virtd *d, const char *name, const struct idset *cpus);

/* Queues setting domain NAME's memory nodes to NODES (virt_set_mems);
 * the result arrives as VIRTD_MEMS_DONE.  As virtd_pin otherwise. */
int virtd_set_mems(struct virtd *d, const char *name, const struct idset *nodes);

/* Asks for a re-list; VIRTD_DOMAINS_CHANGED (detail "refresh") follows. */
void virtd_refresh(struct virtd *d);

/* How long virtd_stop waits for the worker. */
#define VIRTD_STOP_WAIT_S 5

/* Stops the worker and frees D (NULL is fine).  Waits at most
 * VIRTD_STOP_WAIT_S: a worker stuck in a libvirt call is left to finish
 * alone.  0 when the worker ended, -ETIMEDOUT when it was left. */
int virtd_stop(struct virtd *d);

/* "connected", "connect-failed", "lost", "domains-changed", "pin-done",
 * "mems-done". */
const char *virtd_kind_name(enum virtd_kind kind);

#endif
