/* ctl.c - the control protocol: request parsing, the replies, the client.
 *
 * Requests come from a local root user, but are still external input: the
 * parser takes bounded tokens only, and every text a reply echoes (VM names
 * included) is escaped for its format.
 */
#include "ctl.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "idset.h"
#include "num.h"
#include "policy.h"

#define MIB_MAX (1ULL << 40)
#define NCPUS_MAX 4096
#define PID_MAX 4194304         /* the kernel's PID_MAX_LIMIT on 64-bit */
#define MAX_TOKS 4
#define ECHO_MAX 32             /* bytes of a bad token echoed in an error */
#define LIST_LEN 256

/* ---- parsing ---- */

struct toks {
	int n;
	const char *s[MAX_TOKS];
	size_t len[MAX_TOKS];
	const char *rest;               /* the line after the first token */
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Splits LINE at runs of spaces; more than MAX_TOKS tokens count as MAX_TOKS + 1. */
static void split(const char *line, struct toks *t)
{
	const char *p = line;

	memset(t, 0, sizeof(*t));
	while (*p) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		if (t->n == 1)
			t->rest = p;
		if (t->n == MAX_TOKS) {
			t->n++;
			return;
		}
		t->s[t->n] = p;
		while (*p && *p != ' ')
			p++;
		t->len[t->n] = (size_t)(p - t->s[t->n]);
		t->n++;
	}
}

static bool tok_is(const struct toks *t, int i, const char *word)
{
	return i < t->n && t->len[i] == strlen(word) && !memcmp(t->s[i], word, t->len[i]);
}

/* Token I as a number in LO..HI. */
static int tok_num(const struct toks *t, int i, uint64_t lo, uint64_t hi,
                   const char *what, uint64_t *v, char *err, size_t errlen)
{
	int r = num_u64_tok(t->s[i], t->len[i], v);

	if (r == -EINVAL)
		return fail(err, errlen, "%s '%.*s' is not a number", what,
			    (int)(t->len[i] < ECHO_MAX ? t->len[i] : ECHO_MAX), t->s[i]);
	if (r < 0 || *v < lo || *v > hi)
		return fail(err, errlen, "%s '%.*s' out of range (allowed: %" PRIu64
			    "..%" PRIu64 ")", what,
			    (int)(t->len[i] < ECHO_MAX ? t->len[i] : ECHO_MAX), t->s[i], lo, hi);
	return 0;
}

static int want_args(const struct toks *t, int n, const char *usage,
                     char *err, size_t errlen)
{
	if (t->n - 1 < n)
		return fail(err, errlen, "missing argument (usage: %s)", usage);
	if (t->n - 1 > n)
		return fail(err, errlen, "too many arguments (usage: %s)", usage);
	return 0;
}

/* status [json], vms [json]: the optional "json". */
static int parse_json_flag(const struct toks *t, struct ctl_req *q, const char *usage,
                           char *err, size_t errlen)
{
	if (t->n == 2 && tok_is(t, 1, "json")) {
		q->json = true;
		return 0;
	}
	return want_args(t, 0, usage, err, errlen);
}

/* Copies the rest of the line (spaces inside kept, trailing ones not) into DST. */
static int take_rest(const char *rest, size_t len, char *dst, size_t size,
                     const char *what, char *err, size_t errlen)
{
	while (len && rest[len - 1] == ' ')
		len--;
	if (!len)
		return fail(err, errlen, "missing %s", what);
	if (len >= size)
		return fail(err, errlen, "%s longer than %zu bytes", what, size - 1);
	memcpy(dst, rest, len);
	dst[len] = '\0';
	return 0;
}

/* explain NAME-OR-PID [json]: the name is the rest of the line (names may
 * hold spaces); a last word "json" after it asks for JSON. */
static int parse_explain(const struct toks *t, struct ctl_req *q, char *err, size_t errlen)
{
	size_t len;

	if (t->n < 2)
		return fail(err, errlen, "missing argument (usage: explain NAME-OR-PID [json])");
	len = strlen(t->rest);
	while (len && t->rest[len - 1] == ' ')
		len--;
	if (len > 5 && !memcmp(t->rest + len - 5, " json", 5)) {
		q->json = true;
		len -= 5;
	}
	return take_rest(t->rest, len, q->arg, sizeof(q->arg), "VM name", err, errlen);
}

static int parse_place(const struct toks *t, struct ctl_req *q, char *err, size_t errlen)
{
	uint64_t ncpus, mib;
	int r = want_args(t, 2, "place NCPUS MIB", err, errlen);

	if (!r)
		r = tok_num(t, 1, 1, NCPUS_MAX, "NCPUS", &ncpus, err, errlen);
	if (!r)
		r = tok_num(t, 2, 0, MIB_MAX, "MIB", &mib, err, errlen);
	if (r)
		return r;
	q->ncpus = (int)ncpus;
	q->mem_mib = mib;
	return 0;
}

static int parse_pid(const struct toks *t, struct ctl_req *q, char *err, size_t errlen)
{
	uint64_t pid;
	int r = want_args(t, 1, "include|exclude|forget PID", err, errlen);

	if (!r)
		r = tok_num(t, 1, 1, PID_MAX, "PID", &pid, err, errlen);
	if (!r)
		q->pid = (pid_t)pid;
	return r;
}

/* hook OPERATION DOMAIN: libvirt's operation names are lower-case words. */
static int parse_hook(const struct toks *t, struct ctl_req *q, char *err, size_t errlen)
{
	const char *dom;

	if (t->n < 3)
		return fail(err, errlen, "missing argument (usage: hook OPERATION DOMAIN)");
	if (t->len[1] >= sizeof(q->op))
		return fail(err, errlen, "operation longer than %zu bytes", sizeof(q->op) - 1);
	for (size_t i = 0; i < t->len[1]; i++)
		if ((t->s[1][i] < 'a' || t->s[1][i] > 'z') && t->s[1][i] != '-')
			return fail(err, errlen, "operation '%.*s' is not a word",
				    (int)t->len[1], t->s[1]);
	memcpy(q->op, t->s[1], t->len[1]);
	q->op[t->len[1]] = '\0';
	dom = t->s[2];
	return take_rest(dom, strlen(dom), q->arg, sizeof(q->arg), "domain name", err, errlen);
}

static int parse_cmd(const struct toks *t, struct ctl_req *q, char *err, size_t errlen)
{
	static const struct { const char *name; enum ctl_cmd cmd; } cmds[] = {
		{ "status", CTL_STATUS }, { "vms", CTL_VMS }, { "explain", CTL_EXPLAIN },
		{ "metrics", CTL_METRICS }, { "place", CTL_PLACE },
		{ "include", CTL_INCLUDE }, { "exclude", CTL_EXCLUDE },
		{ "forget", CTL_FORGET }, { "hook", CTL_HOOK },
	};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (!tok_is(t, 0, cmds[i].name))
			continue;
		q->cmd = cmds[i].cmd;
		switch (q->cmd) {
		case CTL_STATUS: return parse_json_flag(t, q, "status [json]", err, errlen);
		case CTL_VMS: return parse_json_flag(t, q, "vms [json]", err, errlen);
		case CTL_METRICS: return want_args(t, 0, "metrics", err, errlen);
		case CTL_EXPLAIN: return parse_explain(t, q, err, errlen);
		case CTL_PLACE: return parse_place(t, q, err, errlen);
		case CTL_HOOK: return parse_hook(t, q, err, errlen);
		default: return parse_pid(t, q, err, errlen);
		}
	}
	return fail(err, errlen, "unknown command '%.*s'",
		    (int)(t->len[0] < ECHO_MAX ? t->len[0] : ECHO_MAX), t->s[0]);
}

int ctl_parse(const char *line, size_t len, struct ctl_req *out,
              char *err, size_t errlen)
{
	char buf[CTL_REQ_MAX + 1];
	struct toks t;

	if (len && line[len - 1] == '\n')
		len--;
	if (len && line[len - 1] == '\r')
		len--;
	if (len > CTL_REQ_MAX)
		return fail(err, errlen, "request longer than %d bytes", CTL_REQ_MAX);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			return fail(err, errlen, "control character (0x%02x) in request",
				    (unsigned char)line[i]);
	memcpy(buf, line, len);
	buf[len] = '\0';
	split(buf, &t);
	if (!t.n)
		return fail(err, errlen, "empty request");
	memset(out, 0, sizeof(*out));
	return parse_cmd(&t, out, err, errlen);
}

/* ---- escaping ---- */

/* Length of the valid UTF-8 sequence at S, 0 if invalid. */
static int utf8_len(const unsigned char *s)
{
	int n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;

	if (s[0] >= 0xf8)
		return 0;
	for (int i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* S as a JSON string: quotes, backslash and control characters escaped,
 * invalid UTF-8 bytes replaced by U+FFFD. */
static void json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	fputc('"', f);
	while (*p) {
		int n = *p < 0x80 ? 1 : utf8_len(p);

		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else if (n)
			fwrite(p, 1, (size_t)n, f);
		else
			fputs("\\ufffd", f);
		p += n ? n : 1;
	}
	fputc('"', f);
}

/* A JSON number, or null when not finite. */
static void json_num(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, "%.3f", v);
	else
		fputs("null", f);
}

/* S as a Prometheus label value (backslash, quote and newline escaped). */
static void prom_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const char *p = s ? s : ""; *p; p++) {
		if (*p == '\\' || *p == '"')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* ---- what the replies read ---- */

/* One VM of the last pass: the balancer's record, its policy input (NULL
 * if that input is not this VM's) and decision (NULL: none yet). */
struct vm_view {
	const struct bal_vm *v;
	const struct pol_vm *in;
	const struct pol_decision *d;
};

static void view_vm(const struct bal *b, int i, struct vm_view *out)
{
	out->v = &b->vm[i];
	out->in = NULL;
	out->d = NULL;
	if (i < b->in.nvms && b->in.vm[i].key == out->v->key)
		out->in = &b->in.vm[i];
	for (int k = 0; out->in && k < b->res.n; k++)
		if (b->res.d[k].vm == i)
			out->d = &b->res.d[k];
}

static const char *verdict(const struct vm_view *w)
{
	return w->d ? pol_verdict_name(w->d->verdict) : "-";
}

static uint64_t mib(uint64_t kib)
{
	return kib / 1024;
}

/* NAME for a text reply: control characters (a comm may hold a newline)
 * become '?'. */
static const char *clean(const char *name, char *buf, size_t size)
{
	size_t i;

	for (i = 0; name[i] && i + 1 < size; i++)
		buf[i] = (unsigned char)name[i] < 0x20 || name[i] == 0x7f ? '?' : name[i];
	buf[i] = '\0';
	return buf;
}

static void format_set(const struct idset *s, char *buf, size_t size)
{
	if (idset_format(s, buf, size) < 0 || !buf[0])
		snprintf(buf, size, "-");
}

static bool have_input(const struct ctl_view *v)
{
	return v->bal && v->bal->in.nnodes > 0;
}

/* Capacity of a node at the target utilization, in CPUs. */
static double capacity(const struct bal *b, const struct pol_node *n)
{
	return n->ncpus * (double)b->params.target_utilization / 100.0;
}

static int64_t ksm_val(const struct ctl_view *v, enum ksm_key k)
{
	return v->ksm ? ksm_get(v->ksm, k, -1) : -1;
}

/* ---- status ---- */

static void put_uptime(FILE *f, long s)
{
	if (s >= 86400)
		fprintf(f, "%ldd ", s / 86400);
	if (s >= 3600)
		fprintf(f, "%ldh ", s / 3600 % 24);
	if (s >= 60)
		fprintf(f, "%ldm ", s / 60 % 60);
	fprintf(f, "%lds", s % 60);
}

/* The knobs the configuration asks for: set, refused, absent ... */
static void status_knobs(const struct ctl_view *v, FILE *f)
{
	char line[KSM_SAY_LEN];

	for (int i = 0; v->knobs && i < KSM_NKNOBS; i++) {
		ksm_knob_say(&v->knobs->k[i], line, sizeof(line));
		if (line[0])
			fprintf(f, "  %s\n", line);
	}
}

static void status_ksm(const struct ctl_view *v, FILE *f)
{
	char lines[12][KSM_LINE_LEN];
	int n;

	if (!v->ksm) {
		fprintf(f, "ksm: not read yet\n");
		return;
	}
	if (!v->ksm->present)
		fprintf(f, "ksm: absent\n");
	else
		fprintf(f, "ksm: run %" PRId64 ", pages_shared %" PRId64 ", pages_sharing %"
			PRId64 ", max_page_sharing %" PRId64 "\n", ksm_val(v, KSM_RUN),
			ksm_val(v, KSM_PAGES_SHARED), ksm_val(v, KSM_PAGES_SHARING),
			ksm_val(v, KSM_MAX_PAGE_SHARING));
	status_knobs(v, f);
	n = ksm_assess(v->ksm, lines, 12);
	for (int i = 0; i < n; i++)
		fprintf(f, "  %s\n", lines[i]);
}

static void status_nodes(const struct ctl_view *v, FILE *f)
{
	const struct bal *b = v->bal;

	if (!have_input(v)) {
		fprintf(f, "nodes: not observed yet\n");
		return;
	}
	fprintf(f, "nodes: capacity at %u%% target utilization\n"
		"%5s %5s %8s %9s %10s %10s\n", b->params.target_utilization,
		"node", "cpus", "busy", "capacity", "free MiB", "total MiB");
	for (int i = 0; i < b->in.nnodes; i++) {
		const struct pol_node *n = &b->in.node[i];

		fprintf(f, "%5d %5d %8.2f %9.2f %10" PRIu64 " %10" PRIu64 "\n", n->id,
			n->ncpus, n->cpu_busy, capacity(b, n), mib(n->mem_free_kib),
			mib(n->mem_total_kib));
	}
}

static void render_status(const struct ctl_view *v, FILE *f)
{
	fprintf(f, "ok\ndaemon: up ");
	put_uptime(f, v->uptime_s);
	fprintf(f, ", %s, VMs from %s, interval %u s, pass %ld\n",
		v->dry_run ? "dry run (nothing is changed)" : "live",
		v->vm_source ? v->vm_source : "?", v->cfg ? v->cfg->interval_s : 0,
		v->bal ? v->bal->pass : 0);
	if (v->priming)
		fprintf(f, "daemon: measuring CPU use, first decisions next interval\n");
	status_ksm(v, f);
	status_nodes(v, f);
}

/* "settings":{"max_page_sharing":{"asked":512,"outcome":"set","had":256,
 * "said":"..."},...}: null for a knob left alone (keep). */
static void json_knobs(const struct ctl_view *v, FILE *f)
{
	char line[KSM_SAY_LEN];

	fputs(",\"settings\":{", f);
	for (int i = 0; i < KSM_NKNOBS; i++) {
		const struct ksm_knob *n = v->knobs ? &v->knobs->k[i] : NULL;

		fprintf(f, "%s\"%s\":", i ? "," : "", ksm_key_name(ksm_knob_key(i)));
		if (!n || n->outcome == KSM_KEEP) {
			fputs("null", f);
			continue;
		}
		ksm_knob_say(n, line, sizeof(line));
		fprintf(f, "{\"asked\":%" PRId64 ",\"outcome\":\"%s\",\"had\":", n->want,
			ksm_outcome_name(n->outcome));
		if (n->had >= 0)
			fprintf(f, "%" PRId64, n->had);
		else
			fputs("null", f);
		fputs(",\"said\":", f);
		json_str(f, line);
		fputc('}', f);
	}
	fputc('}', f);
}

static void json_ksm(const struct ctl_view *v, FILE *f)
{
	static const enum ksm_key keys[] = { KSM_RUN, KSM_PAGES_SHARED, KSM_PAGES_SHARING,
		KSM_MAX_PAGE_SHARING, KSM_MERGE_ACROSS_NODES, KSM_USE_ZERO_PAGES };
	char lines[12][KSM_LINE_LEN];
	int n = v->ksm ? ksm_assess(v->ksm, lines, 12) : 0;

	fprintf(f, "\"ksm\":{\"present\":%s", v->ksm && v->ksm->present ? "true" : "false");
	for (size_t i = 0; v->ksm && i < sizeof(keys) / sizeof(keys[0]); i++) {
		fprintf(f, ",\"%s\":", ksm_key_name(keys[i]));
		if (v->ksm->has[keys[i]])
			fprintf(f, "%" PRId64, v->ksm->val[keys[i]]);
		else
			fputs("null", f);
	}
	json_knobs(v, f);
	fputs(",\"assessment\":[", f);
	for (int i = 0; i < n; i++) {
		fputs(i ? "," : "", f);
		json_str(f, lines[i]);
	}
	fputs("]}", f);
}

static void json_nodes(const struct ctl_view *v, FILE *f)
{
	const struct bal *b = v->bal;

	fputs("\"nodes\":[", f);
	for (int i = 0; have_input(v) && i < b->in.nnodes; i++) {
		const struct pol_node *n = &b->in.node[i];

		fprintf(f, "%s{\"id\":%d,\"cpus\":%d,\"cpu_busy\":", i ? "," : "", n->id,
			n->ncpus);
		json_num(f, n->cpu_busy);
		fputs(",\"capacity\":", f);
		json_num(f, capacity(b, n));
		fprintf(f, ",\"mem_free_mib\":%" PRIu64 ",\"mem_total_mib\":%" PRIu64 "}",
			mib(n->mem_free_kib), mib(n->mem_total_kib));
	}
	fputs("]", f);
}

static void render_status_json(const struct ctl_view *v, FILE *f)
{
	fprintf(f, "ok\n{\"uptime_s\":%ld,\"dry_run\":%s,\"vm_source\":", v->uptime_s,
		v->dry_run ? "true" : "false");
	json_str(f, v->vm_source);
	fprintf(f, ",\"interval_s\":%u,\"priming\":%s,\"passes\":%ld,"
		"\"target_utilization\":%u,", v->cfg ? v->cfg->interval_s : 0,
		v->priming ? "true" : "false", v->bal ? v->bal->pass : 0,
		v->bal ? v->bal->params.target_utilization : 0);
	json_ksm(v, f);
	fputc(',', f);
	json_nodes(v, f);
	fputs("}\n", f);
}

/* ---- vms ---- */

/* One row of the vms table. */
static void vm_row(const struct vm_view *w, FILE *f)
{
	char home[LIST_LEN], local[16] = "-", move[24] = "-", name[VM_NAME_LEN];

	format_set(w->d ? &w->d->home : &(struct idset){ 0 }, home, sizeof(home));
	if (w->d) {
		snprintf(local, sizeof(local), "%.1f%%", w->d->locality);
		snprintf(move, sizeof(move), "%" PRIu64, mib(w->d->to_move_kib));
	}
	fprintf(f, "%-16s %8d %-10s %-6s %6s %8" PRIu64 " %8s",
		clean(w->v->name, name, sizeof(name)), (int)w->v->pid,
		verdict(w), home, local, w->in ? mib(w->in->shared_kib) : 0, move);
	if (w->v->moving)
		fprintf(f, " yes, %" PRIu64 " MiB moved\n", w->v->job.t.bytes >> 20);
	else
		fprintf(f, " no\n");
}

static void render_vms(const struct ctl_view *v, FILE *f)
{
	int n = v->bal ? v->bal->n : 0;

	fprintf(f, "ok\n%-16s %8s %-10s %-6s %6s %8s %8s %s\n", "NAME", "PID",
		"VERDICT", "HOME", "LOCAL", "KSM MiB", "MOVE MiB", "MOVING");
	for (int i = 0; i < n; i++) {
		struct vm_view w;

		view_vm(v->bal, i, &w);
		vm_row(&w, f);
	}
	if (!n)
		fprintf(f, "(no VM)\n");
}

/* The fields vms and explain share, without braces. */
static void json_vm_fields(const struct vm_view *w, FILE *f)
{
	char home[LIST_LEN];

	format_set(w->d ? &w->d->home : &(struct idset){ 0 }, home, sizeof(home));
	fputs("\"name\":", f);
	json_str(f, w->v->name);
	fprintf(f, ",\"pid\":%d,\"verdict\":", (int)w->v->pid);
	json_str(f, w->d ? verdict(w) : NULL);
	fputs(",\"home\":", f);
	json_str(f, w->d ? home : "");
	fputs(",\"locality\":", f);
	json_num(f, w->d ? w->d->locality : NAN);
	fprintf(f, ",\"ksm_shared_mib\":%" PRIu64 ",\"to_move_mib\":%" PRIu64
		",\"moving\":%s,\"moved_bytes\":%" PRIu64,
		w->in ? mib(w->in->shared_kib) : 0, w->d ? mib(w->d->to_move_kib) : 0,
		w->v->moving ? "true" : "false", w->v->moving ? w->v->job.t.bytes : 0);
}

static void json_vm(const struct vm_view *w, FILE *f)
{
	fputc('{', f);
	json_vm_fields(w, f);
	fputc('}', f);
}

static void render_vms_json(const struct ctl_view *v, FILE *f)
{
	int n = v->bal ? v->bal->n : 0;

	fputs("ok\n{\"vms\":[", f);
	for (int i = 0; i < n; i++) {
		struct vm_view w;

		view_vm(v->bal, i, &w);
		fputs(i ? "," : "", f);
		json_vm(&w, f);
	}
	fputs("]}\n", f);
}

/* ---- explain ---- */

/* Index of the VM ARG names: a PID first, else a name; -1 none, -2 a name
 * more than one VM has. */
static int find_vm(const struct bal *b, const char *arg)
{
	uint64_t pid;
	bool is_pid = num_u64_tok(arg, strlen(arg), &pid) == 0;
	int found = -1;

	for (int i = 0; is_pid && i < b->n; i++)
		if (pid == (uint64_t)b->vm[i].pid)
			return i;
	for (int i = 0; i < b->n; i++) {
		if (strcmp(b->vm[i].name, arg))
			continue;
		if (found >= 0)
			return -2;
		found = i;
	}
	return found;
}

static void explain_memory(const struct bal *b, const struct vm_view *w, FILE *f)
{
	fputs("memory:", f);
	for (int i = 0; i < b->in.nnodes; i++)
		fprintf(f, "%s node %d %" PRIu64 " MiB", i ? "," : "", b->in.node[i].id,
			mib(w->in->mem_kib[i]));
	fprintf(f, "\nksm shared: %" PRIu64 " MiB (never moved, not counted as movable)\n",
		mib(w->in->shared_kib));
	fprintf(f, "cpu: %.2f CPUs' worth used, %d vCPUs\n", w->in->cpu_use, w->in->nvcpus);
	if (w->in->left_alone)
		fprintf(f, "left alone: %s\n", w->in->left_why ? w->in->left_why : "yes");
}

static void explain_decision(const struct bal *b, const struct vm_view *w, FILE *f)
{
	const struct pol_decision *d = w->d;
	char home[LIST_LEN];

	if (!d) {
		fprintf(f, "verdict: -\nwhy: no decision yet (the first pass measures CPU use)\n");
		return;
	}
	format_set(&d->home, home, sizeof(home));
	fprintf(f, "verdict: %s\nhome: %s\nwhy: %s\n", verdict(w), home, d->why);
	fprintf(f, "locality: %.1f%% of movable memory on the home node(s) (target %u%%)\n",
		d->locality, b->params.target_locality);
	fprintf(f, "to move: %" PRIu64 " MiB (this interval: %" PRIu64 " MiB)\n",
		mib(d->to_move_kib), mib(d->budget_kib));
	fprintf(f, "scores: home %.3f, best %.3f\n", d->score_home, d->score_best);
}

static void explain_move(const struct bal_vm *v, FILE *f)
{
	const struct mv_totals *t = &v->job.t;
	char set[LIST_LEN];

	format_set(&v->pinned, set, sizeof(set));
	fprintf(f, "pinned by ksm-numad: %s\n", idset_empty(&v->pinned) ? "no" : set);
	if (!v->moving && !t->calls) {
		fprintf(f, "move: none\n");
	} else {
		format_set(&v->job.target, set, sizeof(set));
		fprintf(f, "%s: %s, to node(s) %s: %" PRIu64 " MiB moved in %" PRIu64
			" calls, worst call %.1f ms; pages refused (shared) %" PRIu64
			", busy %" PRIu64 ", failed %" PRIu64 "\n",
			v->moving ? "move" : "last move", mv_state_name(v->job.state), set,
			t->bytes >> 20, t->calls, (double)t->worst_ns / 1e6, t->refused,
			t->busy, t->failed + t->nomem);
	}
	if (v->left_kib) {
		format_set(&v->left_home, set, sizeof(set));
		fprintf(f, "left behind: %" PRIu64 " MiB by the last move to node(s) %s "
			"(shared, KSM over the mapping limit, or refused)\n", mib(v->left_kib), set);
	}
}

static void render_explain(const struct ctl_view *v, const struct vm_view *w, FILE *f)
{
	char name[VM_NAME_LEN];

	fprintf(f, "ok\nvm: %s\npid: %d\n", clean(w->v->name, name, sizeof(name)),
		(int)w->v->pid);
	explain_decision(v->bal, w, f);
	if (w->in)
		explain_memory(v->bal, w, f);
	explain_move(w->v, f);
}

static void json_decision(const struct bal *b, const struct vm_view *w, FILE *f)
{
	const struct pol_decision *d = w->d;

	fputs(",\"why\":", f);
	json_str(f, d ? d->why : "no decision yet (the first pass measures CPU use)");
	fprintf(f, ",\"target_locality\":%u,\"move_this_interval_mib\":%" PRIu64
		",\"score_home\":", b->params.target_locality, d ? mib(d->budget_kib) : 0);
	json_num(f, d ? d->score_home : NAN);
	fputs(",\"score_best\":", f);
	json_num(f, d ? d->score_best : NAN);
}

static void json_memory(const struct bal *b, const struct vm_view *w, FILE *f)
{
	fputs(",\"memory_mib\":{", f);
	for (int i = 0; w->in && i < b->in.nnodes; i++)
		fprintf(f, "%s\"%d\":%" PRIu64, i ? "," : "", b->in.node[i].id,
			mib(w->in->mem_kib[i]));
	fputs("},\"cpu_use\":", f);
	json_num(f, w->in ? w->in->cpu_use : NAN);
	fprintf(f, ",\"vcpus\":%d,\"left_alone\":", w->in ? w->in->nvcpus : 0);
	json_str(f, w->in && w->in->left_alone ? w->in->left_why : NULL);
}

static void json_move(const struct bal_vm *v, FILE *f)
{
	const struct mv_totals *t = &v->job.t;
	char set[LIST_LEN];

	format_set(&v->pinned, set, sizeof(set));
	fputs(",\"pinned_cpus\":", f);
	json_str(f, idset_empty(&v->pinned) ? "" : set);
	fputs(",\"move\":", f);
	if (!v->moving && !t->calls) {
		fputs("null", f);
	} else {
		format_set(&v->job.target, set, sizeof(set));
		fprintf(f, "{\"live\":%s,\"state\":", v->moving ? "true" : "false");
		json_str(f, mv_state_name(v->job.state));
		fputs(",\"target\":", f);
		json_str(f, set);
		fprintf(f, ",\"bytes\":%" PRIu64 ",\"calls\":%" PRIu64 ",\"worst_ms\":",
			t->bytes, t->calls);
		json_num(f, (double)t->worst_ns / 1e6);
		fprintf(f, ",\"refused_pages\":%" PRIu64 ",\"busy_pages\":%" PRIu64
			",\"failed_pages\":%" PRIu64 "}", t->refused, t->busy, t->failed + t->nomem);
	}
	fprintf(f, ",\"left_behind_mib\":%" PRIu64, mib(v->left_kib));
}

static void render_explain_json(const struct ctl_view *v, const struct vm_view *w, FILE *f)
{
	fputs("ok\n{", f);
	json_vm_fields(w, f);
	json_decision(v->bal, w, f);
	json_memory(v->bal, w, f);
	json_move(w->v, f);
	fputs("}\n", f);
}

static void do_explain(const struct ctl_view *v, const struct ctl_req *q, FILE *f)
{
	struct vm_view w;
	int i = v->bal ? find_vm(v->bal, q->arg) : -1;

	if (i == -2) {
		fputs("error: more than one VM is named ", f);
		fputs(q->arg, f);
		fputs("; give its PID\n", f);
		return;
	}
	if (i < 0) {
		fprintf(f, "error: no VM %s\n", q->arg);
		return;
	}
	view_vm(v->bal, i, &w);
	if (q->json)
		render_explain_json(v, &w, f);
	else
		render_explain(v, &w, f);
}

/* ---- metrics ---- */

static void prom_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP ksm_numad_%s %s\n# TYPE ksm_numad_%s %s\n", name, help, name, type);
}

static void prom_val(FILE *f, double v)
{
	fprintf(f, " %.17g\n", v);
}

static void metrics_daemon(const struct ctl_view *v, FILE *f)
{
	prom_head(f, "uptime_seconds", "gauge", "Seconds since the daemon started.");
	fprintf(f, "ksm_numad_uptime_seconds %ld\n", v->uptime_s);
	prom_head(f, "dry_run", "gauge", "1 if the daemon changes nothing (--dry-run).");
	fprintf(f, "ksm_numad_dry_run %d\n", v->dry_run);
	prom_head(f, "priming", "gauge", "1 while the first pass measures CPU use.");
	fprintf(f, "ksm_numad_priming %d\n", v->priming);
	prom_head(f, "passes_total", "counter", "Balancing passes that made decisions.");
	fprintf(f, "ksm_numad_passes_total %ld\n", v->bal ? v->bal->pass : 0);
}

static void metrics_ksm(const struct ctl_view *v, FILE *f)
{
	static const struct { enum ksm_key k; const char *name, *help; } m[] = {
		{ KSM_PAGES_SHARED, "ksm_pages_shared", "KSM pages in use (pages_shared)." },
		{ KSM_PAGES_SHARING, "ksm_pages_sharing",
		  "Mappings of KSM pages, i.e. pages saved (pages_sharing)." },
	};

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		if (!v->ksm || !v->ksm->has[m[i].k])
			continue;
		prom_head(f, m[i].name, "gauge", m[i].help);
		fprintf(f, "ksm_numad_%s %" PRId64 "\n", m[i].name, v->ksm->val[m[i].k]);
	}
}

enum node_metric { NODE_CPUS, NODE_BUSY, NODE_FREE, NODE_TOTAL, NODE_NMETRICS };

static double node_value(const struct pol_node *n, enum node_metric m)
{
	switch (m) {
	case NODE_CPUS: return n->ncpus;
	case NODE_BUSY: return n->cpu_busy;
	case NODE_FREE: return (double)n->mem_free_kib * 1024;
	default: return (double)n->mem_total_kib * 1024;
	}
}

static void metrics_nodes(const struct ctl_view *v, FILE *f)
{
	static const char *const name[] = { "node_cpus", "node_cpu_busy",
		"node_memory_free_bytes", "node_memory_total_bytes" };
	static const char *const help[] = { "Online CPUs of the node.",
		"CPUs' worth busy on the node over the last interval.",
		"Free memory of the node.", "Total memory of the node." };

	for (int m = 0; have_input(v) && m < NODE_NMETRICS; m++) {
		prom_head(f, name[m], "gauge", help[m]);
		for (int i = 0; i < v->bal->in.nnodes; i++) {
			fprintf(f, "ksm_numad_%s{node=\"%d\"}", name[m], v->bal->in.node[i].id);
			prom_val(f, node_value(&v->bal->in.node[i], (enum node_metric)m));
		}
	}
}

enum vm_metric { VM_LOCALITY, VM_PENDING, VM_SHARED, VM_MOVING, VM_MOVED, VM_CALLS,
	VM_NMETRICS };

/* Value of M for W; false when there is none (no decision yet). */
static bool vm_value(const struct vm_view *w, enum vm_metric m, double *out)
{
	const struct mv_totals *t = &w->v->job.t;

	switch (m) {
	case VM_LOCALITY: *out = w->d ? w->d->locality / 100 : 0; return w->d;
	case VM_PENDING: *out = w->d ? (double)w->d->to_move_kib * 1024 : 0; return w->d;
	case VM_SHARED: *out = w->in ? (double)w->in->shared_kib * 1024 : 0; return w->in;
	case VM_MOVING: *out = w->v->moving; return true;
	case VM_MOVED: *out = (double)t->bytes; return true;
	default: *out = (double)t->calls; return true;
	}
}

static void metrics_vms(const struct ctl_view *v, FILE *f)
{
	static const char *const name[] = { "vm_locality_ratio", "vm_pending_bytes",
		"vm_ksm_shared_bytes", "vm_moving", "vm_moved_bytes_total",
		"vm_move_calls_total" };
	static const char *const help[] = {
		"Fraction of the VM's movable memory on its home nodes.",
		"Movable memory of the VM not on its home nodes.",
		"Memory of the VM that KSM shares (never moved).",
		"1 while a memory move of the VM is in progress.",
		"Bytes moved by the VM's current or last memory move.",
		"move_pages calls of the VM's current or last memory move." };
	int n = v->bal ? v->bal->n : 0;

	for (int m = 0; n && m < VM_NMETRICS; m++) {
		prom_head(f, name[m], m >= VM_MOVED ? "counter" : "gauge", help[m]);
		for (int i = 0; i < n; i++) {
			struct vm_view w;
			double val;

			view_vm(v->bal, i, &w);
			if (!vm_value(&w, (enum vm_metric)m, &val))
				continue;
			fprintf(f, "ksm_numad_%s{vm=", name[m]);
			prom_str(f, w.v->name);
			fprintf(f, ",pid=\"%d\"}", (int)w.v->pid);
			prom_val(f, val);
		}
	}
}

static void render_metrics(const struct ctl_view *v, FILE *f)
{
	fputs("ok\n", f);
	metrics_daemon(v, f);
	metrics_ksm(v, f);
	metrics_nodes(v, f);
	metrics_vms(v, f);
}

/* ---- place ---- */

static void render_place(const struct ctl_view *v, const struct ctl_req *q, FILE *f)
{
	struct idset home;
	char list[LIST_LEN];
	int r;

	if (!have_input(v) || v->priming) {
		fprintf(f, "error: no placement yet: the daemon %s; ask again after "
			"its next pass\n", have_input(v) ? "is measuring CPU use (first pass)"
			: "has not observed the host yet");
		return;
	}
	idset_clear(&home);
	r = pol_suggest(&v->bal->in, &v->bal->params, q->ncpus, q->mem_mib * 1024, &home);
	/* -ENOSPC: nothing fits, HOME is the least bad set; libvirt needs one. */
	if ((r < 0 && r != -ENOSPC) || idset_empty(&home) ||
	    idset_format(&home, list, sizeof(list)) < 0) {
		fprintf(f, "error: no node set for %d CPUs and %" PRIu64 " MiB: %s\n",
			q->ncpus, q->mem_mib, strerror(r < 0 ? -r : ENOSPC));
		return;
	}
	fprintf(f, "ok\n%s\n", list);
}

int ctl_render(const struct ctl_view *v, const struct ctl_req *q, FILE *out)
{
	switch (q->cmd) {
	case CTL_STATUS:
		(q->json ? render_status_json : render_status)(v, out);
		break;
	case CTL_VMS:
		(q->json ? render_vms_json : render_vms)(v, out);
		break;
	case CTL_EXPLAIN:
		do_explain(v, q, out);
		break;
	case CTL_METRICS:
		render_metrics(v, out);
		break;
	case CTL_PLACE:
		render_place(v, q, out);
		break;
	default:
		fputs("error: internal: this request is answered by the daemon\n", out);
		break;
	}
	return ferror(out) ? -EIO : 0;
}

/* ---- the client ---- */

int ctl_sockaddr(const char *dir, const char *name, struct sockaddr_un *addr,
                 socklen_t *len)
{
	int n;

	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	n = snprintf(addr->sun_path, sizeof(addr->sun_path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(addr->sun_path))
		return -ENAMETOOLONG;
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for EVENTS on FD until DEADLINE (ms); 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int64_t left;
	int r;

	do {
		left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
	} while ((r < 0 && errno == EINTR) || r == 0);
	return r < 0 ? -errno : 0;
}

/* A full backlog makes a non-blocking Unix connect fail with EAGAIN, which
 * poll cannot wait for: retry every 10 ms until the deadline. */
static int connect_by(int fd, const struct sockaddr_un *a, socklen_t len, int64_t deadline)
{
	const struct timespec pause = { 0, 10 * 1000000 };
	socklen_t elen = sizeof(int);
	int err = 0, r;

	while (connect(fd, (const struct sockaddr *)a, len) < 0) {
		if (errno == EINPROGRESS)
			goto wait;
		if (errno == EISCONN)
			return 0;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		if (errno == EAGAIN)
			nanosleep(&pause, NULL);
	}
	return 0;
wait:
	r = wait_fd(fd, POLLOUT, deadline);
	if (r == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		r = -errno;
	return r ? r : -err;
}

static int send_all(int fd, const char *buf, size_t len, int64_t deadline)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (n < 0) {
			int r = wait_fd(fd, POLLOUT, deadline);

			if (r < 0)
				return r;
			continue;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

#define REPLY_MAX (64 << 20)

/* Doubles *BUF's capacity *CAP, up to REPLY_MAX. */
static int grow(char **buf, size_t *cap)
{
	char *p;

	if (*cap >= REPLY_MAX)
		return -EFBIG;
	p = realloc(*buf, *cap * 2);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap *= 2;
	return 0;
}

/* Reads until end of file into a NUL-terminated malloc'ed *OUT. */
static int recv_all(int fd, int64_t deadline, char **out)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	int r = buf ? 0 : -ENOMEM;

	while (!r) {
		ssize_t n;

		if (len + 1 == cap && (r = grow(&buf, &cap)) < 0)
			break;
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n == 0)
			break;
		if (n > 0)
			len += (size_t)n;
		else if (errno == EAGAIN || errno == EINTR)
			r = wait_fd(fd, POLLIN, deadline);
		else
			r = -errno;
	}
	if (r) {
		free(buf);
		return r;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

int ctl_call(const char *dir, const char *request, int timeout_ms, char **reply)
{
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	struct sockaddr_un a;
	socklen_t alen;
	char *line;
	int fd, r = ctl_sockaddr(dir, CTL_SOCKET, &a, &alen);

	if (r < 0)
		return r;
	if (strchr(request, '\n'))
		return -EINVAL;
	if (asprintf(&line, "%s\n", request) < 0)
		return -ENOMEM;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	r = fd < 0 ? -errno : connect_by(fd, &a, alen, deadline);
	if (!r)
		r = send_all(fd, line, strlen(line), deadline);
	if (!r)
		shutdown(fd, SHUT_WR);  /* the request is complete */
	if (!r)
		r = recv_all(fd, deadline, reply);
	if (fd >= 0)
		close(fd);
	free(line);
	return r;
}

int ctl_notify(const char *dir, const char *op, const char *domain)
{
	struct sockaddr_un a;
	socklen_t alen;
	char msg[CTL_REQ_MAX + 2];
	int n, fd, r = ctl_sockaddr(dir, CTL_NOTIFY, &a, &alen);

	if (r < 0)
		return r;
	n = snprintf(msg, sizeof(msg), "hook %s %s", op, domain);
	if (n < 0 || n > CTL_REQ_MAX)
		return -EMSGSIZE;
	if (strchr(msg, '\n'))
		return -EINVAL;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (sendto(fd, msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL,
		   (const struct sockaddr *)&a, alen) < 0)
		r = -errno;
	close(fd);
	return r;
}
