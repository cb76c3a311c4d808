/* vms.h - which processes are VMs (candidates) and what they look like.
 *
 * Process mode, numad's model: every process whose command matches the
 * configured patterns (or whose PID is included) and whose memory reaches
 * the configured minimum, minus the excluded ones.  With libvirt, the qemu
 * process of every domain the adapter found is a VM whatever its size,
 * named after its domain; what the domain XML fixed decides whether it is
 * left alone (its Cpus/Mems_allowed are libvirt's, not an admin's).
 */
#ifndef KN_VMS_H
#define KN_VMS_H

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "proc.h"
#include "root.h"
#include "topo.h"

#define VM_NAME_LEN 64
#define VMS_UUID_LEN 37             /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" + NUL */

/* What became of the last widening of a domain's memory nodes this daemon
 * asked of libvirt (the balancer asks again when it did not take). */
enum vms_widen {
	VMS_WIDEN_NONE,             /* none asked (since the libvirt worker started) */
	VMS_WIDEN_QUEUED,           /* asked; libvirt has not answered yet */
	VMS_WIDEN_DONE,             /* libvirt set them */
	VMS_WIDEN_FAILED,           /* libvirt refused or could not be reached: err, detail */
};

struct vms_widening {
	enum vms_widen state;
	int err;                    /* FAILED: -errno */
	char detail[256];           /* FAILED: libvirt's error text */
};

struct vm {
	char name[VM_NAME_LEN];     /* domain name, or the process's command */
	pid_t pid;
	struct proc_info info;
	int nvcpus;                 /* the domain's vCPUs, or threads named "CPU n/KVM"
	                             * or "CPU n/TCG"; 0 if none */
	bool pinned;                /* its CPUs were narrowed by someone: left alone */
	bool domain;                /* a libvirt domain: pinned through libvirt */
	const char *leave_why;      /* domain: why its XML keeps it out of our hands, or NULL */
	const char *why;            /* why it is a candidate (static string) */
	struct vms_widening widen;  /* domain: its last widening of memory nodes */
};

/* A libvirt domain as the VM list needs it (from the libvirt adapter). */
struct vms_domain {
	char name[VM_NAME_LEN];
	char uuid[VMS_UUID_LEN];    /* libvirt's; "" unknown */
	pid_t pid;                  /* qemu's PID (0: unknown, not a candidate) */
	uint64_t starttime;         /* of PID, checked against /proc (0: not checked) */
	int nvcpus;
	const char *leave_why;      /* left alone, and why (static string); NULL: managed */
	struct vms_widening widen;  /* its last widening of memory nodes */
};

struct vms_domains {
	int n;
	const struct vms_domain *d;
};

struct vm_list {
	int n;
	struct vm *vm;              /* n entries, by ascending PID */
	int vanished;               /* candidates that exited while being read */
	int unreadable;             /* processes skipped for malformed files */
};

/* Scans the processes under R and reads every candidate in full into OUT;
 * DOMS (NULL: no libvirt) names the domains' processes.  -errno only when
 * the process list itself cannot be read. */
int vms_scan(const struct rt_root *r, const struct cfg *cfg, const struct topo *t,
             const struct vms_domains *doms, struct vm_list *out);

/* Frees what vms_scan allocated. */
void vms_free(struct vm_list *l);

/* The vCPU index in a qemu thread name ("CPU 3/KVM" -> 3), or -1. */
int vms_vcpu_index(const char *thread_comm);

#endif
