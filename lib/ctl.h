/* ctl.h - the control protocol: what ksm-numadctl, `ksm-numad -w` and the
 * libvirt hook ask the running daemon, and the replies, rendered from what
 * the daemon knows (a view of its last pass).  Parsing and rendering are
 * pure; ctl_call is the client side of the socket.
 *
 * Wire format (stream socket CTL_SOCKET under the control directory):
 * the client sends one request line of at most CTL_REQ_MAX bytes ending in
 * '\n' and reads the reply until end of file.  The reply's first line is
 * "ok" or "error: TEXT"; the body follows.  Requests:
 *   status [json] | vms [json] | explain NAME-OR-PID [json] | metrics
 *   place NCPUS MIB           body: a node list ("0-1,3"), numad -w's answer
 *   include PID | exclude PID | forget PID      numad -p / -x / -r
 * Hook notices (datagram socket CTL_NOTIFY under the same directory), one
 * datagram, no reply:  hook OPERATION DOMAIN   (libvirt's qemu hook args).
 */
#ifndef KN_CTL_H
#define KN_CTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "balance.h"
#include "config.h"
#include "ksm.h"

#define CTL_REQ_MAX 1024
#define CTL_SOCKET "control"
#define CTL_NOTIFY "notify"

enum ctl_cmd {
	CTL_STATUS,
	CTL_VMS,
	CTL_EXPLAIN,
	CTL_METRICS,
	CTL_PLACE,
	CTL_INCLUDE,
	CTL_EXCLUDE,
	CTL_FORGET,
	CTL_HOOK,
};

struct ctl_req {
	enum ctl_cmd cmd;
	bool json;
	char arg[VM_NAME_LEN];          /* explain: VM name or PID; hook: domain */
	char op[16];                    /* hook: operation (prepare, started, ...) */
	int ncpus;                      /* place */
	uint64_t mem_mib;               /* place */
	pid_t pid;                      /* include, exclude, forget */
};

/* Parses one request (LEN bytes, no trailing newline needed) into OUT;
 * -EINVAL with a one-line reason in ERR (ERRLEN bytes) when malformed. */
int ctl_parse(const char *line, size_t len, struct ctl_req *out,
              char *err, size_t errlen);

/* What the daemon knows, for the replies: its last pass. */
struct ctl_view {
	const struct bal *bal;          /* input, decisions and moves of the last pass */
	const struct ksm_state *ksm;    /* KSM as last read */
	const struct ksm_knobs *knobs;  /* what became of the KSM knobs asked; NULL: none */
	const struct cfg *cfg;          /* the running configuration */
	bool dry_run;
	bool priming;                   /* no decisions yet: measuring CPU use */
	long uptime_s;                  /* seconds since the daemon started */
	const char *vm_source;          /* "libvirt qemu:///system" or "processes" */
};

/* Writes the whole reply to request Q ("ok" line and body, or "error: ..."
 * line) to OUT; include/exclude/forget/hook are answered by the daemon
 * itself, not here.  0, or -errno on a write error. */
int ctl_render(const struct ctl_view *v, const struct ctl_req *q, FILE *out);

/* Client: sends REQUEST to the daemon's socket under DIR and reads the reply
 * into a malloc'ed, NUL-terminated *REPLY, giving up after TIMEOUT_MS in
 * all.  0; -ENOENT/-ECONNREFUSED when no daemon listens; -ETIMEDOUT. */
int ctl_call(const char *dir, const char *request, int timeout_ms, char **reply);

/* The address of socket NAME (CTL_SOCKET, CTL_NOTIFY) under DIR into ADDR
 * and its length into LEN; -ENAMETOOLONG if the path does not fit. */
int ctl_sockaddr(const char *dir, const char *name, struct sockaddr_un *addr,
                 socklen_t *len);

/* Client: sends one hook notice datagram to DIR without waiting; 0 or -errno. */
int ctl_notify(const char *dir, const char *op, const char *domain);

#endif
