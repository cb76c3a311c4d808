/* vms.h - which processes are VMs (candidates) and what they look like.
 *
 * Process mode, numad's model: every process whose command matches the
 * configured patterns (or whose PID is included) and whose memory reaches
 * the configured minimum, minus the excluded ones.  The libvirt adapter
 * adds domain names later; until then a VM is named after its command.
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

struct vm {
	char name[VM_NAME_LEN];     /* domain name, or the process's command */
	pid_t pid;
	struct proc_info info;
	int nvcpus;                 /* threads named "CPU n/KVM" or "CPU n/TCG"; 0 if none */
	bool pinned;                /* its CPUs were narrowed by someone: left alone */
	const char *why;            /* why it is a candidate (static string) */
};

struct vm_list {
	int n;
	struct vm *vm;              /* n entries, by ascending PID */
	int vanished;               /* candidates that exited while being read */
	int unreadable;             /* processes skipped for malformed files */
};

/* Scans the processes under R and reads every candidate in full into OUT;
 * -errno only when the process list itself cannot be read. */
int vms_scan(const struct rt_root *r, const struct cfg *cfg,
             const struct topo *t, struct vm_list *out);

/* Frees what vms_scan allocated. */
void vms_free(struct vm_list *l);

/* The vCPU index in a qemu thread name ("CPU 3/KVM" -> 3), or -1. */
int vms_vcpu_index(const char *thread_comm);

#endif
