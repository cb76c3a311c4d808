/* state.h - what the daemon did that must outlive it.
 *
 * A restarted daemon (a crash, an upgrade, systemctl restart) still sees
 * the pinning it made, in a process's Cpus_allowed_list or a transient
 * domain's live XML, but no longer knows that it made it: it would take
 * its own pinning for an admin's and leave those VMs alone for good.  It
 * would also forget each VM's home and when it gave it: right after a
 * move the old home, where the memory still is, scores better, and with
 * no cooldown and no ping-pong gate the VM would be sent straight back.
 * So the daemon keeps both in one file, CONTROL_DIR/state (by default
 * /run/ksm-numad/state): under /run it is gone at boot, as pinning is.
 *
 * The file is written whole to a temporary file and renamed over the old
 * one, and only when what it holds changed.  It is read with bounds; one
 * that is unreadable, malformed, too large, not owned by the daemon's
 * user, of another format or from another boot counts as absent, with a
 * warning.  Nothing in it is trusted: an entry counts only while the live
 * process (PID and start time) or domain (name, UUID, qemu's PID and start
 * time, and the CPUs pinned) still matches it; the balancer (balance.h)
 * and the VM source (daemon/vmsrc.h) check that.
 */
#ifndef KN_STATE_H
#define KN_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "idset.h"
#include "root.h"
#include "vms.h"

#define ST_FILE "state"                 /* its name under the control directory */
#define ST_MAX_BYTES (1 << 20)          /* a larger file is not ours */
#define ST_MAX_ENTRIES 4096             /* VMs, and domains, in one file */
#define ST_UUID_LEN VMS_UUID_LEN
#define ST_PATH_LEN 160
#define ST_WHY_LEN 160

/* A VM (a process, or a domain's qemu) as the balancer left it. */
struct st_vm {
	pid_t pid;
	uint64_t starttime;             /* of PID, clock ticks after boot: its identity */
	char name[VM_NAME_LEN];         /* for messages only */
	struct idset pinned;            /* CPUs its threads were pinned to; empty: none */
	struct idset home;              /* the policy's home (node ids); empty: none */
	struct idset prev_home;         /* the home before the last move */
	long moved_at;                  /* policy pass of the last move; -1: never */
};

/* A libvirt domain this daemon pinned through libvirt. */
struct st_dom {
	char name[VM_NAME_LEN];
	char uuid[ST_UUID_LEN];         /* "": unknown */
	pid_t pid;                      /* its qemu; 0: unknown */
	uint64_t starttime;             /* of PID; 0: unknown */
	struct idset cpus;              /* its vCPUs and emulator were pinned to these */
};

struct st_data {
	long pass;                      /* the policy pass of the next pass */
	int nvm, ndom;
	struct st_vm *vm;
	struct st_dom *dom;
	int vm_cap, dom_cap;            /* allocated entries */
};

/* One state file and what was last written to it. */
struct st_file {
	char dir[ST_PATH_LEN];          /* "": closed */
	char path[ST_PATH_LEN + 8];
	char boot[ST_UUID_LEN];         /* this boot's id */
	char *body;                     /* the entries as last written; NULL: none yet */
	int err;                        /* the last failed write's -errno, said once */
};

/* Appends V to D; -E2BIG past ST_MAX_ENTRIES, -ENOMEM. */
int st_add_vm(struct st_data *d, const struct st_vm *v);

/* Appends DOM to D; -E2BIG past ST_MAX_ENTRIES, -ENOMEM. */
int st_add_dom(struct st_data *d, const struct st_dom *dom);

/* Frees D's entries and empties it. */
void st_free(struct st_data *d);

/* D's entries as the file's text, into a malloc'd *OUT; 0 or -ENOMEM. */
int st_format(const struct st_data *d, char **out);

/* Parses a whole file TEXT written in this boot (BOOT) into OUT, its pass
 * advanced by the INTERVAL_USEC intervals between its writing and NOW_USEC
 * (CLOCK_MONOTONIC); -EINVAL with the reason in WHY (another boot, another
 * format, a malformed line: "line 4: bad CPU list"), -ENOMEM. */
int st_parse(const char *text, const char *boot, uint64_t now_usec,
             uint64_t interval_usec, struct st_data *out, char *why, size_t size);

/* Names the state file under DIR for the running boot (R's boot_id);
 * -ENAMETOOLONG, or -errno when the boot id cannot be read (no state). */
int st_open(struct st_file *f, const char *dir, const struct rt_root *r);

/* Reads F into OUT as st_parse does: 1 when it held something, 0 when
 * there was none or it was ignored (unreadable, corrupt, foreign: said
 * with a warning). */
int st_load(struct st_file *f, uint64_t now_usec, uint64_t interval_usec,
            struct st_data *out);

/* Writes D (at NOW_USEC) atomically unless its entries are those written
 * last: 1 written, 0 unchanged, -errno (a failure is said once, and again
 * after a success). */
int st_save(struct st_file *f, const struct st_data *d, uint64_t now_usec);

/* Removes F's file (the control directory moved); 0 or -errno. */
int st_remove(const struct st_file *f);

/* Forgets F (its file stays); a closed or zeroed F is fine. */
void st_close(struct st_file *f);

#endif
