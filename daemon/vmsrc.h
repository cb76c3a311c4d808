/* vmsrc.h - where the daemon's VMs come from: libvirt's domains, through
 * the libvirt worker (daemon/virtd.h), or, with no libvirt configured or
 * reachable yet, processes chosen as numad chooses them (lib/vms.h).
 *
 * Once libvirt answered, its last domain list stays in use while the
 * connection is lost (their PIDs are checked by start time each pass), so
 * a libvirtd restart never turns domains into anonymous processes.
 */
#ifndef KN_VMSRC_H
#define KN_VMSRC_H

#include <systemd/sd-event.h>

#include "config.h"
#include "idset.h"
#include "root.h"
#include "state.h"
#include "vms.h"

#ifndef KN_LIBVIRT_PID_DIR
#define KN_LIBVIRT_PID_DIR "/run/libvirt/qemu"
#endif

struct vmsrc;

/* Called on the main loop when the domains changed (a domain started or
 * stopped, libvirt (re)connected): the daemon plans at once. */
typedef void vmsrc_change_fn(void *data);

/* Starts the source for CFG's libvirt_uri ("" = processes only) on E;
 * 0 or -errno.  R, E, FN and DATA must outlive it. */
int vmsrc_start(sd_event *e, const struct cfg *cfg, const struct rt_root *r,
                vmsrc_change_fn *fn, void *data, struct vmsrc **out);

/* Follows a reloaded CFG (a changed libvirt_uri reconnects); 0, or -errno
 * when the new source cannot start (the running one is kept, unchanged). */
int vmsrc_reconfigure(struct vmsrc *s, const struct cfg *cfg);

/* The domains for this pass, or NULL for process mode; valid until the
 * next call.  CFG decides which domains are left alone; each carries what
 * became of its last widening asked through vmsrc_set_mems. */
const struct vms_domains *vmsrc_domains(struct vmsrc *s, const struct cfg *cfg);

/* bal_dom_pin_fn: queues pinning domain NAME to CPUS (CTX is the vmsrc). */
int vmsrc_pin(void *ctx, const char *name, const struct idset *cpus);

/* bal_dom_pin_fn: queues widening domain NAME's memory nodes to NODES;
 * libvirt's answer shows in the domain's widen of the next list. */
int vmsrc_set_mems(void *ctx, const char *name, const struct idset *nodes);

/* Adds the domains this daemon pinned through libvirt (those of the last
 * list) to D; -E2BIG, -ENOMEM. */
int vmsrc_state_get(const struct vmsrc *s, struct st_data *d);

/* Takes the domains the daemon before this one pinned (D, read by
 * st_load); -ENOMEM.  Each counts as pinned by this daemon only while the
 * live domain has the same UUID and qemu (PID and start time) where known,
 * and its vCPUs are pinned to exactly those CPUs. */
int vmsrc_state_put(struct vmsrc *s, const struct st_data *d);

/* One line for status: "libvirt qemu:///system (3 domains)", "processes
 * (libvirt qemu:///system not reachable)", "processes". */
const char *vmsrc_describe(struct vmsrc *s);

/* Asks libvirt for a fresh list (a hook said a domain started or stopped). */
void vmsrc_refresh(struct vmsrc *s);

/* Stops the worker and frees S; NULL is fine. */
void vmsrc_stop(struct vmsrc *s);

#endif
