/* migrate.c - the --migrate admin command.  All the work is the mover's;
 * this file checks the arguments, paces the steps and reports. */
#include "migrate.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cpuset.h"
#include "idset.h"
#include "ksm.h"
#include "mover.h"
#include "proc.h"
#include "topo.h"

#define MIB(bytes) ((bytes) >> 20)
#define LIST_LEN 256                    /* a node list in a message */

/* Parses NODES and checks each is an online node with memory. */
static int target_nodes(const struct rt_root *r, const char *nodes, struct idset *out)
{
	struct topo t;
	int ret = idset_parse(out, nodes);

	if (ret < 0 || idset_empty(out)) {
		fprintf(stderr, "ksm-numad: --to %s: not a node list (e.g. 1 or 0-1,3)\n", nodes);
		return -EINVAL;
	}
	ret = topo_read(r, &t);
	if (ret < 0) {
		fprintf(stderr, "ksm-numad: cannot read the NUMA topology: %s\n", strerror(-ret));
		return ret;
	}
	IDSET_FOREACH(id, out) {
		int i = topo_index(&t, id);

		if (i < 0 || !t.node[i].has_memory) {
			fprintf(stderr, "ksm-numad: --to %s: node %d is %s; nothing moved\n",
				nodes, id, i < 0 ? "not online" : "memoryless");
			ret = -EINVAL;
			break;
		}
	}
	topo_free(&t);
	return ret < 0 ? ret : 0;
}

static uint64_t now_ns(void)
{
	return mv_clock_mono(NULL);     /* the engine's clock, so figures agree */
}

static void pause_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void progress(const struct mv_job *j, uint64_t t0)
{
	double s = (double)(now_ns() - t0) / 1e9;

	fprintf(stderr, "\r  %" PRIu64 " MiB moved, %.1f MB/s, %" PRIu64 " calls, worst call %.1f ms   ",
		MIB(j->t.bytes), s > 0 ? (double)j->t.bytes / 1e6 / s : 0.0, j->t.calls,
		(double)j->t.worst_ns / 1e6);
}

static void summary(const struct mv_job *j, pid_t pid, const char *nodes, bool dry,
                    uint64_t ns)
{
	const struct mv_totals *t = &j->t;
	const struct plan_tally *p = &t->plan;

	printf("ksm-numad: %s PID %d to node(s) %s: %s in %.2f s\n",
	       dry ? "dry run of moving" : "moved", pid, nodes, mv_state_name(j->state),
	       (double)ns / 1e9);
	printf("  %s %" PRIu64 " pages (%" PRIu64 " MiB), of which %" PRIu64 " KSM pages\n",
	       dry ? "would move" : "moved", t->moved, MIB(t->bytes), t->ksm_moved);
	printf("  already there %" PRIu64 ", not present %" PRIu64 "\n", p->on_target, p->absent);
	if (p->ksm_over)
		printf("  left behind: %" PRIu64 " pages mapping heavily shared KSM pages "
		       "(up to %" PRIu64 " mappings each, over ksm_max_mapcount %u: moving one "
		       "unmaps every mapping at once)\n",
		       p->ksm_over, p->ksm_over_maxmap, j->o->ksm_max_mapcount);
	if (p->ksm_kept)
		printf("  left behind: %" PRIu64 " KSM page(s) (%s)\n", p->ksm_kept,
		       j->o->chains_bounded ? "move_ksm_pages = no" :
		       "the kernel does not bound KSM chains: max_page_sharing absent");
	if (p->shared)
		printf("  left behind: %" PRIu64 " shared page(s) (mapped by other processes)\n", p->shared);
	if (t->refused || t->busy || t->nomem || t->gone || t->failed)
		printf("  refused by the kernel: %" PRIu64 " shared, %" PRIu64 " busy, %" PRIu64
		       " no memory, %" PRIu64 " gone, %" PRIu64 " other\n",
		       t->refused, t->busy, t->nomem, t->gone, t->failed);
	printf("  %" PRIu64 " move_pages calls, worst %.2f ms, %.2f s in calls\n", t->calls,
	       (double)t->worst_ns / 1e6, (double)t->call_ns / 1e9);
	if (j->state == MV_RESERVE)
		printf("  stopped: node %d would fall under its reserve of %" PRIu64 " MiB\n",
		       j->stop_node, MIB(j->o->reserve_bytes));
}

/* Steps the job to its end, pausing between calls so the VM gets its lock. */
static int run_job(struct mv_job *j, const struct cfg *cfg, bool tty)
{
	uint64_t t0 = now_ns(), last = 0;
	struct mv_step st;
	int ret;

	while ((ret = mv_job_step(j, &st)) == 1) {
		if (tty && now_ns() - last > 200000000u) {
			progress(j, t0);
			last = now_ns();
		}
		if (st.call)
			pause_ms(cfg->pause_ms);
	}
	if (tty) {
		progress(j, t0);
		fputc('\n', stderr);
	}
	return ret;
}

/* Widens PID's cpuset.mems to hold TARGET before the move (move_pages(2)
 * refuses nodes outside it); *WIDENED tells whether it did (or would).
 * -errno only when the move must not start. */
static int cpuset_widen(const struct rt_root *r, pid_t pid, const struct idset *target,
                        bool dry, struct cs_group *g, bool *widened)
{
	char from[LIST_LEN], to[LIST_LEN];
	struct idset want;
	int ret = cs_find(r, pid, g);

	*widened = false;
	if (ret < 0) {
		fprintf(stderr, "ksm-numad: cannot read the cpuset of PID %d: %s; moving without "
			"widening it\n", pid, strerror(-ret));
		return 0;
	}
	idset_or(&want, &g->mems, target);
	if (!g->confined || idset_equal(&want, &g->mems))
		return 0;
	idset_format(&g->mems, from, sizeof(from));
	idset_format(&want, to, sizeof(to));
	ret = dry ? 0 : cs_widen(r, g, target);
	if (ret < 0) {
		fprintf(stderr, "ksm-numad: cgroup %s: cannot widen cpuset.mems %s -> %s: %s; "
			"nothing moved\n", g->path, from, to, cs_reason(ret));
		return ret;
	}
	fprintf(stderr, "ksm-numad: cgroup %s: cpuset.mems %s -> %s for the move%s\n",
		g->path, from, to, dry ? " (dry run: not written)" : "");
	g->mems = want;
	*widened = true;
	return 0;
}

/* Narrows the widened cpuset.mems to the target once nothing shared is left
 * on the old nodes: the kernel would move such pages in one go. */
/* Why cpuset.mems must stay wide after job J (into BUF), or NULL. */
static const char *keep_wide(const struct mv_job *j, char *buf, size_t size)
{
	const struct plan_tally *p = &j->t.plan;
	uint64_t left = p->ksm_kept + p->shared + j->t.refused;

	if (j->state != MV_DONE)
		snprintf(buf, size, "the move ended early (%s)", mv_state_name(j->state));
	else if (p->ksm_over)
		snprintf(buf, size, "%" PRIu64 " pages still map heavily shared KSM pages on "
			 "the old node; narrowing would make the kernel move them in one go",
			 p->ksm_over);
	else if (left)
		snprintf(buf, size, "%" PRIu64 " shared or KSM pages remain on the old node; "
			 "narrowing would make the kernel move them in one go", left);
	else
		return NULL;
	return buf;
}

static void cpuset_narrow(const struct rt_root *r, struct cs_group *g, const struct mv_job *j,
                          bool dry)
{
	char now[LIST_LEN], to[LIST_LEN], why[256];
	int ret;

	idset_format(&g->mems, now, sizeof(now));
	idset_format(&j->target, to, sizeof(to));
	if (keep_wide(j, why, sizeof(why))) {
		fprintf(stderr, "ksm-numad: cpuset.mems left at %s: %s\n", now, why);
		return;
	}
	ret = dry ? 0 : cs_narrow(r, g, &j->target);
	if (ret < 0)
		fprintf(stderr, "ksm-numad: cgroup %s: cannot narrow cpuset.mems %s -> %s: %s; "
			"left at %s\n", g->path, now, to, cs_reason(ret), now);
	else
		fprintf(stderr, "ksm-numad: cgroup %s: cpuset.mems %s -> %s after the move%s\n",
			g->path, now, to, dry ? " (dry run: not written)" : "");
}

int migrate_cmd(const struct rt_root *r, const struct cfg *cfg, pid_t pid,
                const char *nodes, bool dry_run)
{
	struct ksm_state ks;
	struct proc_stat ps;
	struct idset target;
	struct mv_opts o;
	struct mv_dry dry;
	struct mv_job j;
	struct cs_group g;
	bool widened;
	uint64_t t0;
	int ret;

	if (target_nodes(r, nodes, &target) < 0)
		return 1;
	if (proc_read_stat(r, pid, 0, &ps) < 0) {
		fprintf(stderr, "ksm-numad: --migrate %d: no such process\n", pid);
		return MIGRATE_GONE;
	}
	if (ksm_read(r, &ks) < 0)
		memset(&ks, 0, sizeof(ks));
	mv_opts_live(&o, r);
	mv_opts_configure(&o, cfg, &ks);        /* as the balancer does */
	if (dry_run) {
		mv_dry_init(&dry);
		dry.queries = &mv_live;         /* where pages are is real; moves are not */
		o.backend = mv_dry_backend(&dry);
	}
	ret = mv_job_init(&j, pid, &target, &o);
	if (ret < 0) {
		fprintf(stderr, "ksm-numad: cannot start the migration: %s\n", strerror(-ret));
		if (dry_run)
			mv_dry_free(&dry);
		return 1;
	}
	if (cpuset_widen(r, pid, &target, dry_run, &g, &widened) < 0) {
		ret = -EPERM;           /* not -ESRCH or -ENOSPC: exit status 1 */
		goto out;
	}
	fprintf(stderr, "ksm-numad: moving %s (PID %d) to node(s) %s, %u ms per call at most%s\n",
		ps.comm, pid, nodes, cfg->call_budget_ms, dry_run ? " (dry run)" : "");
	t0 = now_ns();
	ret = run_job(&j, cfg, isatty(STDERR_FILENO));
	summary(&j, pid, nodes, dry_run, now_ns() - t0);
	if (widened)
		cpuset_narrow(r, &g, &j, dry_run);
out:
	mv_job_free(&j);
	if (dry_run)
		mv_dry_free(&dry);
	if (ret == -ESRCH)
		return MIGRATE_GONE;
	return ret < 0 && ret != -ENOSPC ? 1 : 0;
}
