/* ctlsock.h - the daemon's side of the control sockets (ctl.h's protocol).
 *
 * A stream socket for requests and replies and a datagram socket for the
 * libvirt hook's notices, both under one root-only directory, served from
 * the sd-event loop without ever blocking it: every client has a deadline,
 * a bounded request buffer and a reply written as the socket takes it, and
 * only CTLSOCK_CLIENTS are served at once (when all are taken, the oldest
 * client still sending its request makes room for a new one; when all are
 * being answered, the new one gets "error: busy").
 */
#ifndef KN_CTLSOCK_H
#define KN_CTLSOCK_H

#include <stdio.h>

#include <systemd/sd-event.h>

#include "ctl.h"

#define CTLSOCK_CLIENTS 16
#define CTLSOCK_TIMEOUT_MS 2000

struct ctlsock;

/* Writes the whole reply to Q (from "ok" or "error: ..." on) to OUT;
 * 0, or -errno (then the client gets "error: internal error"). */
typedef int ctlsock_fn(void *data, const struct ctl_req *q, FILE *out);

/* A hook notice Q (Q->cmd is CTL_HOOK), from either socket. */
typedef void ctlsock_notify_fn(void *data, const struct ctl_req *q);

/* Creates DIR (0700; an existing one must be a directory we own), replaces
 * a stale socket (-EADDRINUSE if a daemon still answers there), binds both
 * sockets (0600) and serves them on E, calling HANDLE and NOTIFY with DATA.
 * 0 and *OUT, or -errno (logged, nothing left behind). */
int ctlsock_start(sd_event *e, const char *dir, ctlsock_fn *handle,
                  ctlsock_notify_fn *notify, void *data, struct ctlsock **out);

/* Accepts clients again if a pause (out of descriptors) could not set the
 * timer that ends it; called at every pass.  NULL is a no-op. */
void ctlsock_resume(struct ctlsock *c);

/* Drops every client, closes and removes the sockets (and DIR if it made
 * it); NULL is a no-op. */
void ctlsock_stop(struct ctlsock *c);

#endif
