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
