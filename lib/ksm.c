/* ksm.c - the kernel's KSM files and what they mean for page migration. */
#include "ksm.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "num.h"

#define KSM_DIR "kernel/mm/ksm"
#define NBAD_KEPT ((int)(sizeof(((struct ksm_state *)0)->bad) / \
                         sizeof(((struct ksm_state *)0)->bad[0])))

static const char *const key_names[KSM_NKEYS] = {
	[KSM_RUN] = "run",
	[KSM_PAGES_SHARED] = "pages_shared",
	[KSM_PAGES_SHARING] = "pages_sharing",
	[KSM_PAGES_UNSHARED] = "pages_unshared",
	[KSM_PAGES_VOLATILE] = "pages_volatile",
	[KSM_FULL_SCANS] = "full_scans",
	[KSM_MAX_PAGE_SHARING] = "max_page_sharing",
	[KSM_STABLE_NODE_CHAINS] = "stable_node_chains",
	[KSM_STABLE_NODE_DUPS] = "stable_node_dups",
	[KSM_STABLE_NODE_CHAINS_PRUNE_MS] = "stable_node_chains_prune_millisecs",
	[KSM_MERGE_ACROSS_NODES] = "merge_across_nodes",
	[KSM_USE_ZERO_PAGES] = "use_zero_pages",
	[KSM_ZERO_PAGES] = "ksm_zero_pages",
	[KSM_GENERAL_PROFIT] = "general_profit",
	[KSM_PAGES_TO_SCAN] = "pages_to_scan",
	[KSM_SLEEP_MILLISECS] = "sleep_millisecs",
	[KSM_PAGES_SKIPPED] = "pages_skipped",
	[KSM_SMART_SCAN] = "smart_scan",
	[KSM_MAX_CPU] = "advisor_max_cpu",
};

const char *ksm_key_name(enum ksm_key key)
{
	if ((unsigned)key >= KSM_NKEYS)
		return "unknown";
	return key_names[key];
}

/* Records NAME as present but unparsable. */
static void note_bad(struct ksm_state *s, const char *name)
{
	if (s->nbad < NBAD_KEPT)
		snprintf(s->bad[s->nbad], sizeof(s->bad[0]), "%s", name);
	s->nbad++;
}

/* Parses one decimal number and an optional newline; a sign only if SIGNED. */
static int parse_val(const char *buf, bool is_signed, int64_t *out)
{
	const char *end;
	int64_t v;

	if (!is_signed && *buf == '-')
		return -EINVAL;
	if (num_s64(buf, &end, &v) < 0)
		return -EINVAL;
	if (*end == '\n')
		end++;
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Copies the [selected] word of a sysfs choice list ("[none] scan-time"). */
static int parse_selected(const char *buf, char *out, size_t size)
{
	const char *open = strchr(buf, '['), *close;
	size_t len;

	if (!open || !(close = strchr(open + 1, ']')))
		return -EINVAL;
	len = close - open - 1;
	if (len == 0 || len >= size)
		return -EINVAL;
	for (size_t i = 1; i <= len; i++)
		if (!isalnum((unsigned char)open[i]) && open[i] != '-' && open[i] != '_')
			return -EINVAL;
	memcpy(out, open + 1, len);
	out[len] = '\0';
	return 0;
}

/* Reads file NAME into BUF; 1 if read, 2 if too long, 0 if absent, -errno. */
static int read_file(const struct rt_root *r, const char *name, char *buf,
                     size_t size)
{
	ssize_t n = rt_read(r, RT_SYS, buf, size, KSM_DIR "/%s", name);

	if (n == -ENOENT)
		return 0;
	if (n == -EFBIG)
		return 2;
	return n < 0 ? (int)n : 1;
}

static int read_key(const struct rt_root *r, struct ksm_state *s, enum ksm_key k)
{
	char buf[64];
	int ret = read_file(r, key_names[k], buf, sizeof(buf));

	if (ret <= 0)
		return ret;
	if (ret == 1 && parse_val(buf, k == KSM_GENERAL_PROFIT, &s->val[k]) == 0) {
		s->has[k] = true;
		return 0;
	}
	s->garbled[k] = true;
	note_bad(s, key_names[k]);
	return 0;
}

static int read_advisor(const struct rt_root *r, struct ksm_state *s)
{
	char buf[128];
	int ret = read_file(r, "advisor_mode", buf, sizeof(buf));

	if (ret <= 0)
		return ret;
	if (ret == 2 || parse_selected(buf, s->advisor_mode, sizeof(s->advisor_mode)) < 0)
		note_bad(s, "advisor_mode");
	return 0;
}

int ksm_read(const struct rt_root *r, struct ksm_state *s)
{
	int err = 0, ret;

	memset(s, 0, sizeof(*s));
	if (!rt_exists(r, RT_SYS, KSM_DIR))
		return 0;
	s->present = true;
	for (int k = 0; k < KSM_NKEYS; k++) {
		ret = read_key(r, s, k);
		if (ret < 0 && err == 0)
			err = ret;
	}
	ret = read_advisor(r, s);
	return err < 0 ? err : ret;
}

int64_t ksm_get(const struct ksm_state *s, enum ksm_key key, int64_t def)
{
	if ((unsigned)key >= KSM_NKEYS || !s->has[key])
		return def;
	return s->val[key];
}

bool ksm_chains_bounded(const struct ksm_state *s)
{
	return s->present && s->has[KSM_MAX_PAGE_SHARING];
}

/* The lines ksm_assess fills. */
struct say_buf {
	char (*lines)[KSM_LINE_LEN];
	int n, max;
};

static void say(struct say_buf *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void say(struct say_buf *o, const char *fmt, ...)
{
	va_list ap;

	if (o->n >= o->max)
		return;
	va_start(ap, fmt);
	vsnprintf(o->lines[o->n++], KSM_LINE_LEN, fmt, ap);
	va_end(ap);
}

static void say_run(const struct ksm_state *s, struct say_buf *o)
{
	int64_t sharing = ksm_get(s, KSM_PAGES_SHARING, 0);

	if (!s->has[KSM_RUN])
		say(o, "KSM run state unknown (run file absent or unreadable).");
	else if (s->val[KSM_RUN] == 0 && sharing > 0)
		say(o, "KSM is stopped (run=0): nothing new is merged, but the pages "
		    "already merged stay merged (pages_sharing %" PRId64 ").", sharing);
	else if (s->val[KSM_RUN] == 0)
		say(o, "KSM is stopped (run=0): nothing new is merged.");
	else if (s->val[KSM_RUN] == 1)
		say(o, "KSM is running (run=1): identical pages are merged as they are found.");
	else if (s->val[KSM_RUN] == 2)
		say(o, "KSM is unmerging (run=2): merged pages are being split back "
		    "into private copies.");
	else
		say(o, "KSM run=%" PRId64 " is not a known mode.", s->val[KSM_RUN]);
}

static void say_bound(const struct ksm_state *s, struct say_buf *o)
{
	int64_t max = s->val[KSM_MAX_PAGE_SHARING];

	if (s->has[KSM_MAX_PAGE_SHARING])
		say(o, "max_page_sharing %" PRId64 ": one KSM page has at most %" PRId64
		    " mappings; lightly shared KSM pages may be moved, the rest stay put.",
		    max, max);
	else if (s->garbled[KSM_MAX_PAGE_SHARING])
		say(o, "max_page_sharing unreadable: KSM chains may be unbounded, "
		    "so KSM pages will never be moved.");
	else
		say(o, "max_page_sharing absent (kernel < 4.13): KSM chains are "
		    "unbounded, so KSM pages will never be moved.");
}

/* Mappings per KSM page: every page in pages_shared has one mapping of its
 * own plus its share of pages_sharing. */
static void say_sharing(const struct ksm_state *s, struct say_buf *o)
{
	int64_t shared = s->val[KSM_PAGES_SHARED], sharing = s->val[KSM_PAGES_SHARING];
	uint64_t total;

	if (!s->has[KSM_PAGES_SHARED] || !s->has[KSM_PAGES_SHARING])
		return;
	if (shared <= 0) {
		say(o, "No page is merged now (pages_shared 0).");
		return;
	}
	total = (uint64_t)shared + (uint64_t)sharing;
	say(o, "pages_shared %" PRId64 ", pages_sharing %" PRId64 ": %" PRIu64
	    ".%u mappings per KSM page on average; moving one unmaps them all.",
	    shared, sharing, total / shared,
	    (unsigned)((total % shared) * 10.0 / shared));
}

static void say_chains(const struct ksm_state *s, struct say_buf *o)
{
	int64_t chains = s->val[KSM_STABLE_NODE_CHAINS];
	int64_t dups = s->val[KSM_STABLE_NODE_DUPS];

	if (!s->has[KSM_STABLE_NODE_CHAINS] || !s->has[KSM_STABLE_NODE_DUPS])
		return;
	if (chains == 0 && dups == 0)
		say(o, "stable_node_chains 0: no KSM page has reached max_page_sharing.");
	else
		say(o, "stable_node_chains %" PRId64 ", stable_node_dups %" PRId64
		    ": heavily shared pages were split into copies within "
		    "max_page_sharing.", chains, dups);
}

static void say_nodes(const struct ksm_state *s, struct say_buf *o)
{
	int64_t v = s->val[KSM_MERGE_ACROSS_NODES];

	if (!s->has[KSM_MERGE_ACROSS_NODES])
		return;
	if (v == 1)
		say(o, "merge_across_nodes 1: pages are merged across nodes; a merged "
		    "page lives on one node and VMs on other nodes access it remotely.");
	else if (v == 0)
		say(o, "merge_across_nodes 0: per-node trees; pages are merged only "
		    "within a node, so merged pages stay local to their VMs.");
	else
		say(o, "merge_across_nodes %" PRId64 " is not a known mode.", v);
}

static void say_zero(const struct ksm_state *s, struct say_buf *o)
{
	int64_t v = s->val[KSM_USE_ZERO_PAGES];

	if (!s->has[KSM_USE_ZERO_PAGES] && !s->garbled[KSM_USE_ZERO_PAGES])
		say(o, "use_zero_pages absent (older kernel): all-zero pages are "
		    "merged like any other page.");
	else if (s->has[KSM_USE_ZERO_PAGES] && v == 0)
		say(o, "use_zero_pages 0: all-zero pages are merged like any other "
		    "page and can form the longest KSM chains.");
	else if (s->has[KSM_USE_ZERO_PAGES])
		say(o, "use_zero_pages %" PRId64 ": all-zero pages are merged into the "
		    "kernel zero page, which is never migrated.", v);
	if (s->has[KSM_USE_ZERO_PAGES] && v != 0 && s->has[KSM_ZERO_PAGES])
		say(o, "ksm_zero_pages %" PRId64 ": mappings of the kernel zero page "
		    "made by KSM, nothing to move.", s->val[KSM_ZERO_PAGES]);
}

static void say_bad(const struct ksm_state *s, struct say_buf *o)
{
	char list[KSM_LINE_LEN] = "";
	size_t len = 0;

	if (s->nbad == 0)
		return;
	for (int i = 0; i < s->nbad && i < NBAD_KEPT; i++) {
		int n = snprintf(list + len, sizeof(list) - len, "%s%s",
		                 i ? ", " : "", s->bad[i]);

		if (n < 0 || (size_t)n >= sizeof(list) - len)
			break;
		len += n;
	}
	if (s->nbad > NBAD_KEPT)
		say(o, "Unreadable KSM files, ignored: %s and %d more.", list,
		    s->nbad - NBAD_KEPT);
	else
		say(o, "Unreadable KSM files, ignored: %s.", list);
}

int ksm_assess(const struct ksm_state *s, char (*lines)[KSM_LINE_LEN], int max)
{
	struct say_buf o = { lines, 0, max };

	if (!s->present) {
		say(&o, "KSM not available: nothing is merged; migration is plain "
		    "page copying.");
		return o.n;
	}
	say_run(s, &o);
	say_bound(s, &o);
	say_sharing(s, &o);
	say_chains(s, &o);
	say_nodes(s, &o);
	say_zero(s, &o);
	say_bad(s, &o);
	return o.n;
}

/* ---- the knobs ksm-numad sets ---- */

static const char *const outcome_names[] = {
	[KSM_KEEP] = "keep", [KSM_EQUAL] = "equal", [KSM_SET] = "set",
	[KSM_WOULD_SET] = "would-set", [KSM_REFUSED] = "refused",
	[KSM_ABSENT] = "absent", [KSM_FAILED] = "failed",
};

const char *ksm_outcome_name(enum ksm_outcome o)
{
	if ((unsigned)o >= sizeof(outcome_names) / sizeof(outcome_names[0]))
		return "unknown";
	return outcome_names[o];
}

/* The value of file NAME, or -1 if unreadable; -ENOENT into *ERR if absent. */
static int64_t read_knob(const struct rt_root *r, const char *name, int *err)
{
	uint64_t v;
	int ret = rt_read_u64(r, RT_SYS, &v, KSM_DIR "/%s", name);

	if (err)
		*err = ret;
	return ret < 0 || v > INT64_MAX ? -1 : (int64_t)v;
}

static void note_absent(const struct rt_root *r, struct ksm_knob *n)
{
	n->outcome = KSM_ABSENT;
	n->no_ksm = !rt_exists(r, RT_SYS, KSM_DIR);
}

static void write_knob(const struct rt_root *r, struct ksm_knob *n)
{
	char buf[24];
	int ret;

	snprintf(buf, sizeof(buf), "%" PRId64 "\n", n->want);
	ret = rt_write(r, RT_SYS, buf, KSM_DIR "/%s", key_names[n->key]);
	if (ret == 0) {
		n->outcome = KSM_SET;
	} else if (ret == -EBUSY && n->key == KSM_MAX_PAGE_SHARING) {
		/* KSM merged pages since pages_shared was read. */
		n->outcome = KSM_REFUSED;
		n->shared = read_knob(r, "pages_shared", NULL);
	} else if (ret == -ENOENT) {
		note_absent(r, n);
	} else {
		n->outcome = KSM_FAILED;
		n->err = -ret;
	}
}

/* Brings knob N (KEY) to WANT; PREV is what the last call found. */
static void apply_knob(const struct rt_root *r, struct ksm_knob *n, enum ksm_key key,
                       int64_t want, bool dry_run)
{
	struct ksm_knob prev = *n;
	int ret;

	*n = (struct ksm_knob){ .key = key, .outcome = KSM_KEEP, .want = want,
	                        .had = -1, .shared = -1 };
	if (want < 0)
		return;
	n->had = read_knob(r, key_names[key], &ret);
	if (ret == -ENOENT) {
		note_absent(r, n);
	} else if (n->had == want) {
		if (prev.key == key && prev.outcome == KSM_SET && prev.want == want) {
			n->outcome = KSM_SET;
			n->had = prev.had;
		} else {
			n->outcome = KSM_EQUAL;
		}
	} else if (key == KSM_MAX_PAGE_SHARING &&
	           (n->shared = read_knob(r, "pages_shared", NULL)) > 0) {
		/* The kernel would say EBUSY: not even tried. */
		n->outcome = KSM_REFUSED;
	} else if (dry_run) {
		n->outcome = KSM_WOULD_SET;
	} else {
		write_knob(r, n);
	}
}

enum ksm_key ksm_knob_key(enum ksm_knob_id id)
{
	return id == KSM_KNOB_MAX_PAGE_SHARING ? KSM_MAX_PAGE_SHARING : KSM_USE_ZERO_PAGES;
}

void ksm_apply(const struct rt_root *r, int64_t mps, int zero, bool dry_run,
               struct ksm_knobs *k)
{
	apply_knob(r, &k->k[KSM_KNOB_MAX_PAGE_SHARING],
	           ksm_knob_key(KSM_KNOB_MAX_PAGE_SHARING), mps, dry_run);
	apply_knob(r, &k->k[KSM_KNOB_USE_ZERO_PAGES],
	           ksm_knob_key(KSM_KNOB_USE_ZERO_PAGES), zero, dry_run);
}

/* V into BUF, or "unknown" when it could not be read. */
static void val_str(int64_t v, char *buf, size_t size)
{
	if (v < 0)
		snprintf(buf, size, "unknown");
	else
		snprintf(buf, size, "%" PRId64, v);
}

static void say_absent(const struct ksm_knob *n, const char *name, char *buf,
                       size_t size)
{
	if (n->no_ksm)
		snprintf(buf, size, "%s not set: KSM absent (kernel without KSM); "
			 "set_%s = %" PRId64 " ignored", name, name, n->want);
	else
		snprintf(buf, size, "%s absent (kernel older than %s): set_%s = %"
			 PRId64 " ignored%s", name,
			 n->key == KSM_MAX_PAGE_SHARING ? "4.13" : "4.11", name, n->want,
			 n->key == KSM_MAX_PAGE_SHARING ? "; KSM chains are unbounded" : "");
}

static void say_refused(const struct ksm_knob *n, const char *name, const char *had,
                        char *buf, size_t size)
{
	char why[48] = "the kernel said busy";

	if (n->shared > 0)
		snprintf(why, sizeof(why), "pages_shared %" PRId64, n->shared);
	snprintf(buf, size, "%s %s (set_%s = %" PRId64 " refused: KSM shares pages "
		 "(%s) and the kernel changes it only while none are; set it before "
		 "VMs start, or unmerge (KSM run=2), reload, then run=1)", name, had,
		 name, n->want, why);
}

void ksm_knob_say(const struct ksm_knob *n, char *buf, size_t size)
{
	const char *name = ksm_key_name(n->key);
	char had[24];

	if (size == 0)
		return;
	buf[0] = '\0';
	val_str(n->had, had, sizeof(had));
	switch (n->outcome) {
	case KSM_KEEP:
		break;
	case KSM_EQUAL:
		snprintf(buf, size, "%s %" PRId64 " (as configured; the kernel had it "
			 "already)", name, n->want);
		break;
	case KSM_SET:
		snprintf(buf, size, "%s %" PRId64 " (set by ksm-numad%s%s)", name, n->want,
			 n->had >= 0 ? "; the kernel had " : "", n->had >= 0 ? had : "");
		break;
	case KSM_WOULD_SET:
		snprintf(buf, size, "%s %s (dry run: ksm-numad would set %" PRId64 ")",
			 name, had, n->want);
		break;
	case KSM_REFUSED:
		say_refused(n, name, had, buf, size);
		break;
	case KSM_ABSENT:
		say_absent(n, name, buf, size);
		break;
	case KSM_FAILED:
		snprintf(buf, size, "%s %s (not set to %" PRId64 ": %s; ksm-numad needs "
			 "root and a writable KSM directory)", name, had, n->want,
			 strerror(n->err));
		break;
	}
}
