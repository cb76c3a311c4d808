/* virt.h - the libvirt adapter: a synchronous view of one libvirt connection.
 *
 * Lists the active domains with what placement needs (qemu PID, vCPU count,
 * how the domain XML constrains placement, current vCPU pinning) and pins
 * through libvirt's live calls so `virsh vcpupin` shows what was done.
 * Every call may block on libvirtd: the daemon calls these only from the
 * libvirt worker thread (daemon/virtd.h), never from the main loop.
 * One struct virt is used by one thread at a time.
 */
#ifndef KN_VIRT_H
#define KN_VIRT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "idset.h"
#include "root.h"
#include "vms.h"

#define VIRT_UUID_LEN VMS_UUID_LEN

struct virt;
struct _virConnect;                 /* libvirt's virConnectPtr points to one */

struct virt_dom {
	char name[VM_NAME_LEN];     /* domain name (truncated: see name_truncated) */
	bool name_truncated;        /* longer than VM_NAME_LEN-1: address it by uuid */
	char uuid[VIRT_UUID_LEN];
	int id;                     /* libvirt's domain id (-1 unknown) */
	pid_t pid;                  /* qemu's PID, validated; 0 unknown (test driver) */
	uint64_t starttime;         /* of PID, clock ticks after boot; 0 if pid is 0 */
	int nvcpus;                 /* current (live) vCPU count */
	uint64_t mem_kib;           /* current memory (virDomainGetInfo) */
	bool persistent;            /* defined: the XML flags below come from its config;
	                             * transient: from the live XML, which shows our own pins */
	bool xml_pinned;            /* <vcpu cpuset=..> (not auto), <vcpupin>, <emulatorpin>,
	                             * <iothreadpin> */
	bool numatune_static;       /* <numatune> memory/memnode with a nodeset, placement static */
	bool numatune_strict;       /* ... and its memory mode is strict (or restrictive) */
	bool placement_auto;        /* vcpu or numatune placement='auto' (numad -w asked) */
	bool mems_fixed;            /* libvirt confines its memory (numatune mode strict,
	                             * the default, with a nodeset or placement auto) and
	                             * refuses to change the nodes while it runs; only
	                             * mode='restrictive' can be widened live */
	struct idset mem_nodes;     /* numatune nodeset as in the XML; empty if none/unparsed */
	struct idset vcpu_cpus;     /* union of the live pinning of all vCPUs */
};

struct virt_dom_list {
	int n;
	struct virt_dom *d;         /* n entries, by name */
};

/* Process-wide set-up, idempotent: silences libvirt's and libxml2's printing
 * to stderr (messages come from virt_last_error instead).  virt_open calls it. */
void virt_init(void);

/* The message of the last failed libvirt call made by this thread ("" if none). */
const char *virt_last_error(void);

/* Opens URI (NULL: libvirt's default) into *OUT; -errno on failure (-ECONNREFUSED
 * when libvirtd is not reachable, -EACCES on auth), text in virt_last_error(). */
int virt_open(const char *uri, struct virt **out);

/* Closes the connection and frees V; NULL is fine. */
void virt_close(struct virt *v);

/* The underlying virConnectPtr (for event registration by the worker). */
struct _virConnect *virt_conn(struct virt *v);

/* The URI libvirt reports for the connection (or the one asked for). */
const char *virt_uri(const struct virt *v);

/* True while the connection is usable (virConnectIsAlive). */
bool virt_alive(struct virt *v);

/* Lists the active domains into OUT (caller frees with virt_dom_list_free).
 * PID_DIR (NULL, or R NULL: skip) holds libvirt's NAME.pid files; a PID is taken only
 * if the process lives under R, its cmdline names guest=NAME and it started
 * before the pid file was written.  Domains that vanish meanwhile are
 * skipped; -errno only when the list itself cannot be had. */
int virt_list(struct virt *v, const struct rt_root *r, const char *pid_dir,
              struct virt_dom_list *out);

/* Pins every vCPU, the emulator and any IOThreads of domain NAME (name or
 * uuid) to CPUS, live; 0 or -errno (-ENOENT: no such domain, -EINVAL: CPUS
 * empty or beyond the host's CPUs). */
int virt_pin(struct virt *v, const char *name, const struct idset *cpus);

/* Sets domain NAME's memory nodes (numatune nodeset, cpuset.mems) to NODES,
 * live: the daemon only ever widens them, so that the engine may move the
 * memory (narrowing would have the kernel migrate every page at once).
 * 0 or -errno (libvirt refuses it for a non-strict numatune mode). */
int virt_set_mems(struct virt *v, const char *name, const struct idset *nodes);

/* Fills D's XML-derived fields (xml_pinned, numatune_*, placement_auto,
 * mem_nodes) from domain XML text; -EINVAL if it is not a domain XML. */
int virt_parse_xml(const char *xml, struct virt_dom *d);

/* Checks that PID is domain NAME's qemu (cmdline has guest=NAME, started no
 * later than PIDFILE_MTIME, seconds since the epoch); fills *STARTTIME.
 * 0, -ESRCH if gone or another process. */
int virt_check_pid(const struct rt_root *r, pid_t pid, const char *name,
                   int64_t pidfile_mtime, uint64_t *starttime);

/* Frees the list and zeroes it. */
void virt_dom_list_free(struct virt_dom_list *l);

#endif
