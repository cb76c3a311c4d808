/* config.c - /etc/ksm-numad.conf: defaults, parsing (inih), validation.
 *
 * inih splits the file into sections and key = value pairs, but it stops
 * short of what we promise: it reports only the first bad line, never calls
 * the handler for a syntax error, treats indented lines as continuations and
 * splits lines longer than its buffer.  So inih reads the file through
 * read_line(), a filter that counts lines, reports syntax errors itself and
 * hands inih one normalized line ("[section]", "key=value" or blank) per
 * line of the file.  on_key() then knows the line of every pair it gets.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include <ini.h>

#include "num.h"

#define MAX_FILE (1024 * 1024)
#define MAX_ERRORS 100          /* shown; the rest are only counted */
#define COMM_LEN 15             /* TASK_COMM_LEN - 1 */
#define PID_MAX 4194304         /* the kernel's PID_MAX_LIMIT */
#define SHOWN 48                /* buffer for a quoted piece of the file */
#define MSG_MAX (PATH_MAX + 512)
#define SEPARATORS ", \t\v\f\r"
#define BOOL_WORDS "yes, no, true, false, on, off, 1, 0"

enum kind { K_UINT, K_U64, K_LEVEL, K_BOOL, K_SHARING, K_ZERO, K_URI,
	    K_PATTERNS, K_PIDS, K_DIR, K_CPUS };

struct key {
	const char *section;
	const char *name;
	enum kind kind;
	size_t off;             /* of the field in struct cfg */
	uint64_t min, max;      /* K_UINT, K_U64, K_SHARING */
	const char *unit;
};

#define F(field) offsetof(struct cfg, field)

/* Grouped by section, in the order cfg_print writes them. */
static const struct key keys[] = {
	{ "daemon", "interval", K_UINT, F(interval_s), 1, 3600, "seconds" },
	{ "daemon", "log_level", K_LEVEL, F(log_level), 0, 0, NULL },
	{ "daemon", "control_dir", K_DIR, F(control_dir), 0, 0, NULL },
	{ "placement", "target_utilization", K_UINT, F(target_utilization),
	  10, 130, "percent" },
	{ "placement", "target_locality", K_UINT, F(target_locality),
	  50, 100, "percent" },
	{ "placement", "reserve_mb", K_U64, F(reserve_mb), 0, 1048576, "MiB" },
	{ "placement", "min_gain", K_UINT, F(min_gain), 0, 1000, "percent" },
	{ "placement", "cooldown", K_UINT, F(cooldown), 0, 10000, "intervals" },
	{ "placement", "max_moves", K_UINT, F(max_moves), 1, 1000, "VMs" },
	{ "placement", "reserved_cpus", K_CPUS, F(reserved_cpus), 0, 0, NULL },
	{ "migration", "call_budget_ms", K_UINT, F(call_budget_ms), 1, 100, "ms" },
	{ "migration", "pause_ms", K_UINT, F(pause_ms), 1, 1000, "ms" },
	{ "migration", "interval_budget_mb", K_U64, F(interval_budget_mb),
	  0, 1048576, "MiB" },
	{ "ksm", "move_ksm_pages", K_BOOL, F(move_ksm_pages), 0, 0, NULL },
	{ "ksm", "ksm_max_mapcount", K_UINT, F(ksm_max_mapcount),
	  1, 1048576, "mappings" },
	{ "ksm", "set_max_page_sharing", K_SHARING, F(set_max_page_sharing),
	  2, 1048576, NULL },
	{ "ksm", "set_use_zero_pages", K_ZERO, F(set_use_zero_pages), 0, 0, NULL },
	{ "vms", "libvirt_uri", K_URI, F(libvirt_uri), 0, 0, NULL },
	{ "vms", "process_names", K_PATTERNS, F(process_names), 0, 0, NULL },
	{ "vms", "exclude_names", K_PATTERNS, F(exclude_names), 0, 0, NULL },
	{ "vms", "include_pids", K_PIDS, F(include_pids), 0, 0, NULL },
	{ "vms", "exclude_pids", K_PIDS, F(exclude_pids), 0, 0, NULL },
	{ "vms", "min_memory_mb", K_U64, F(min_memory_mb), 0, 1048576, "MiB" },
	{ "vms", "scan_all", K_BOOL, F(scan_all), 0, 0, NULL },
	{ "vms", "manage_pinned_domains", K_BOOL, F(manage_pinned_domains), 0, 0, NULL },
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const sections[] = {
	"daemon", "placement", "migration", "ksm", "vms",
};

#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))

static const char *const level_names[] = {
	[LOG_ERR] = "err", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

struct parser {
	const char *name;       /* the file, for messages */
	const char *pos, *end;  /* what is left of the text */
	int line;               /* number of the line being parsed */
	bool ignore;            /* in an unknown or broken section */
	int seen[NKEYS];        /* line that set each key, 0 = none */
	int errors;
	cfg_error_fn *err;
	void *data;
	struct cfg cfg;
};

void cfg_defaults(struct cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->interval_s = 15;
	cfg->log_level = LOG_INFO;
	snprintf(cfg->control_dir, sizeof(cfg->control_dir), "%s", KN_CONTROL_DIR);
	cfg->target_utilization = 85;
	cfg->target_locality = 90;
	cfg->reserve_mb = 512;
	cfg->min_gain = 10;
	cfg->cooldown = 8;
	cfg->max_moves = 2;
	cfg->call_budget_ms = 5;
	cfg->pause_ms = 1;
	cfg->interval_budget_mb = 1024;
	cfg->move_ksm_pages = true;
	cfg->ksm_max_mapcount = 64;
	cfg->set_max_page_sharing = -1;
	cfg->set_use_zero_pages = -1;
	strcpy(cfg->libvirt_uri, "qemu:///system");
	cfg->process_names.n = 2;
	strcpy(cfg->process_names.p[0], "qemu-system-*");
	strcpy(cfg->process_names.p[1], "qemu-kvm");
	cfg->min_memory_mb = 300;
	cfg->scan_all = true;
}

static void *field(const struct cfg *cfg, const struct key *k)
{
	return (char *)cfg + k->off;
}

/* Copies N bytes of S into BUF for a message: at most 40 characters, control
 * characters shown as '?', "..." when cut. */
static const char *shown(const char *s, size_t n, char buf[SHOWN])
{
	size_t i, max = n > 40 ? 40 : n;

	for (i = 0; i < max; i++)
		buf[i] = iscntrl((unsigned char)s[i]) ? '?' : s[i];
	strcpy(buf + i, n > max ? "..." : "");
	return buf;
}

static void report(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void report(struct parser *p, const char *fmt, ...)
{
	char msg[MSG_MAX];
	va_list ap;
	int n;

	if (++p->errors > MAX_ERRORS || !p->err)
		return;
	n = snprintf(msg, sizeof(msg), "%s:%d: ", p->name, p->line);
	if (n < 0 || (size_t)n >= sizeof(msg) - 1)
		n = 0;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	va_end(ap);
	p->err(p->data, msg);
}

/* Appends to BUF the names of every section, or of the keys of SECTION. */
static const char *names(const char *section, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	if (!section) {
		for (size_t i = 0; i < NSECTIONS && len < size; i++)
			len += snprintf(buf + len, size - len, "%s[%s]",
			                i ? ", " : "", sections[i]);
		return buf;
	}
	for (size_t i = 0; i < NKEYS && len < size; i++)
		if (strcmp(keys[i].section, section) == 0)
			len += snprintf(buf + len, size - len, "%s%s",
			                len ? ", " : "", keys[i].name);
	return buf;
}

/* What KEY accepts, for the "(allowed: ...)" part of a message. */
static const char *allowed(const struct key *k, char *buf, size_t size)
{
	switch (k->kind) {
	case K_UINT:
	case K_U64:
		snprintf(buf, size, "%" PRIu64 "..%" PRIu64 " %s", k->min, k->max,
		         k->unit);
		break;
	case K_LEVEL:
		snprintf(buf, size, "err, warning, notice, info, debug");
		break;
	case K_BOOL:
		snprintf(buf, size, BOOL_WORDS);
		break;
	case K_SHARING:
		snprintf(buf, size, "keep, or %" PRIu64 "..%" PRIu64, k->min, k->max);
		break;
	case K_ZERO:
		snprintf(buf, size, "keep, or " BOOL_WORDS);
		break;
	case K_URI:
		snprintf(buf, size, "a libvirt URI such as qemu:///system, "
		         "or nothing for process mode only");
		break;
	case K_PATTERNS:
		snprintf(buf, size, "up to %d fnmatch(3) patterns of at most %d "
		         "characters, separated by commas or blanks",
		         CFG_MAX_PATTERNS, CFG_PATTERN_LEN - 1);
		break;
	case K_PIDS:
		snprintf(buf, size, "up to %d PIDs 1..%d, separated by commas or "
		         "blanks", CFG_MAX_PIDS, PID_MAX);
		break;
	case K_DIR:
		snprintf(buf, size, "an absolute directory of at most %d characters, "
		         "or nothing for no control socket", CFG_DIR_LEN - 1);
		break;
	case K_CPUS:
		snprintf(buf, size, "a CPU list such as 0-1,8, or nothing");
		break;
	}
	return buf;
}

/* Reports that the value V of K is bad: WHAT says how. */
static void bad(struct parser *p, const struct key *k, const char *v,
                size_t n, const char *what)
{
	char s[SHOWN], a[160];

	report(p, "%s: '%s' %s (allowed: %s)", k->name, shown(v, n, s), what,
	       allowed(k, a, sizeof(a)));
}

/* Parses V as a number of K's range; reports and returns -1 if it is not. */
static int get_number(struct parser *p, const struct key *k, const char *v,
                      uint64_t *out)
{
	int r = num_u64_tok(v, strlen(v), out);

	if (r == 0 && *out >= k->min && *out <= k->max)
		return 0;
	bad(p, k, v, strlen(v), r == -EINVAL ? "is not a number" :
	    "is out of range");
	return -1;
}

static int parse_bool(const char *v)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
		if (strcasecmp(v, no[i]) == 0)
			return 0;
	}
	return -1;
}

static int parse_level(const char *v)
{
	for (int l = LOG_ERR; l <= LOG_DEBUG; l++)
		if (strcasecmp(v, level_names[l]) == 0)
			return l;
	return -1;
}

/* A libvirt URI: scheme "://" rest, printable, no blanks.  "" is fine. */
static bool uri_ok(const char *v)
{
	size_t scheme = strspn(v, "abcdefghijklmnopqrstuvwxyz"
	                       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");

	if (!*v)
		return true;
	if (!isalpha((unsigned char)v[0]) || strncmp(v + scheme, "://", 3) != 0)
		return false;
	for (const char *c = v; *c; c++)
		if (!isgraph((unsigned char)*c))
			return false;
	return strlen(v) < sizeof(((struct cfg *)0)->libvirt_uri);
}

/* An absolute directory without blanks or control characters.  "" is fine. */
static bool dir_ok(const char *v)
{
	if (!*v)
		return true;
	if (v[0] != '/' || strlen(v) >= CFG_DIR_LEN)
		return false;
	for (const char *c = v; *c; c++)
		if (!isgraph((unsigned char)*c))
			return false;
	return true;
}

/* The next entry of a list at *S: its start in *TOK and its length (0 at
 * the end). */
static size_t next_entry(const char **s, const char **tok)
{
	const char *t = *s + strspn(*s, SEPARATORS);
	size_t n = strcspn(t, SEPARATORS);

	*tok = t;
	*s = t + n;
	return n;
}

/* Why the pattern T (N bytes) is refused, or NULL. */
static const char *pattern_problem(const char *t, size_t n)
{
	if (n >= CFG_PATTERN_LEN)
		return "is too long";
	if (*t == '#' || *t == ';')
		return "starts with a comment character";
	for (size_t i = 0; i < n; i++)
		if (!isgraph((unsigned char)t[i]))
			return "has a control character";
	if (n > COMM_LEN && !memchr(t, '*', n) && !memchr(t, '?', n) &&
	    !memchr(t, '[', n))
		return "can never match: process names are at most 15 characters";
	return NULL;
}

static void set_patterns(struct parser *p, const struct key *k, const char *v)
{
	struct cfg_patterns l;
	const char *tok, *why;
	size_t n;

	memset(&l, 0, sizeof(l));
	while ((n = next_entry(&v, &tok)) > 0) {
		if (l.n == CFG_MAX_PATTERNS) {
			bad(p, k, tok, n, "is one entry too many");
			return;
		}
		if ((why = pattern_problem(tok, n))) {
			bad(p, k, tok, n, why);
			return;
		}
		memcpy(l.p[l.n++], tok, n);
	}
	memcpy(field(&p->cfg, k), &l, sizeof(l));
}

static void set_pids(struct parser *p, const struct key *k, const char *v)
{
	struct cfg_pids l;
	const char *tok;
	uint64_t pid;
	size_t n;
	int r;

	memset(&l, 0, sizeof(l));
	while ((n = next_entry(&v, &tok)) > 0) {
		if (l.n == CFG_MAX_PIDS) {
			bad(p, k, tok, n, "is one entry too many");
			return;
		}
		r = num_u64_tok(tok, n, &pid);
		if (r == -EINVAL) {
			bad(p, k, tok, n, "is not a PID");
			return;
		}
		if (r < 0 || pid < 1 || pid > PID_MAX) {
			bad(p, k, tok, n, "is out of range");
			return;
		}
		l.pid[l.n++] = (pid_t)pid;
	}
	memcpy(field(&p->cfg, k), &l, sizeof(l));
}

static void set_cpus(struct parser *p, const struct key *k, const char *v,
                     struct idset *f)
{
	struct idset s;

	idset_clear(&s);
	if (*v && idset_parse(&s, v) < 0)
		bad(p, k, v, strlen(v), "is not a CPU list");
	else
		*f = s;
}

/* Sets a K_BOOL, K_LEVEL or K_ZERO key from V; -1 if V is not a word it takes. */
static int set_word(const struct key *k, void *f, const char *v)
{
	int x;

	if (k->kind == K_LEVEL) {
		x = parse_level(v);
		if (x >= 0)
			*(int *)f = x;
		return x;
	}
	if (k->kind == K_ZERO && strcasecmp(v, "keep") == 0)
		x = -1;
	else if ((x = parse_bool(v)) < 0)
		return -1;
	if (k->kind == K_BOOL)
		*(bool *)f = x;
	else
		*(int *)f = x;
	return 0;
}

static void set_value(struct parser *p, const struct key *k, const char *v)
{
	void *f = field(&p->cfg, k);
	uint64_t n;

	char a[160];

	if (!*v && k->kind != K_URI && k->kind != K_PATTERNS && k->kind != K_PIDS &&
	    k->kind != K_DIR && k->kind != K_CPUS) {
		report(p, "%s: no value (allowed: %s)", k->name,
		       allowed(k, a, sizeof(a)));
		return;
	}
	switch (k->kind) {
	case K_UINT:
		if (get_number(p, k, v, &n) == 0)
			*(unsigned *)f = (unsigned)n;
		break;
	case K_U64:
		if (get_number(p, k, v, &n) == 0)
			*(uint64_t *)f = n;
		break;
	case K_SHARING:
		if (strcasecmp(v, "keep") == 0)
			*(long *)f = -1;
		else if (get_number(p, k, v, &n) == 0)
			*(long *)f = (long)n;
		break;
	case K_LEVEL:
	case K_BOOL:
	case K_ZERO:
		if (set_word(k, f, v) < 0)
			bad(p, k, v, strlen(v), k->kind == K_LEVEL ?
			    "is not a log level" : "is not a boolean");
		break;
	case K_URI:
		if (!uri_ok(v))
			bad(p, k, v, strlen(v), "is not a libvirt URI");
		else
			strncpy(f, v, sizeof(p->cfg.libvirt_uri));
		break;
	case K_PATTERNS:
		set_patterns(p, k, v);
		break;
	case K_PIDS:
		set_pids(p, k, v);
		break;
	case K_DIR:
		if (!dir_ok(v))
			bad(p, k, v, strlen(v), "is not an absolute directory");
		else
			snprintf(f, CFG_DIR_LEN, "%s", v);
		break;
	case K_CPUS:
		set_cpus(p, k, v, f);
		break;
	}
}

static const struct key *find_key(const char *section, const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if ((!section || strcmp(keys[i].section, section) == 0) &&
		    strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static void unknown_key(struct parser *p, const char *section, const char *name)
{
	const struct key *other = find_key(NULL, name);
	char s[SHOWN], a[256];

	shown(name, strlen(name), s);
	if (!*section && other)
		report(p, "'%s' is outside any section (allowed: under [%s])",
		       s, other->section);
	else if (!*section)
		report(p, "unknown key '%s' outside any section (allowed: keys "
		       "under %s)", s, names(NULL, a, sizeof(a)));
	else if (other)
		report(p, "'%s' belongs in [%s], not in [%s] (allowed in [%s]: %s)",
		       s, other->section, section, section,
		       names(section, a, sizeof(a)));
	else
		report(p, "unknown key '%s' in [%s] (allowed: %s)", s, section,
		       names(section, a, sizeof(a)));
}

/* inih's handler: every pair comes from the line read_line() just read. */
static int on_key(void *user, const char *section, const char *name,
                  const char *value)
{
	struct parser *p = user;
	const struct key *k;

	if (p->ignore)
		return 1;
	k = *section ? find_key(section, name) : NULL;
	if (!k) {
		unknown_key(p, section, name);
		return 1;
	}
	if (p->seen[k - keys]) {
		report(p, "duplicate key '%s', first set on line %d (allowed: "
		       "each key once)", name, p->seen[k - keys]);
		return 1;
	}
	p->seen[k - keys] = p->line;
	set_value(p, k, value);
	return 1;           /* never 0: inih may be built to stop at the first */
}

/* Reports a line that is neither a section, a pair, a comment nor blank. */
static void syntax_error(struct parser *p, const char *s, size_t n,
                         const char *what)
{
	char b[SHOWN];

	report(p, "syntax error: '%s' %s (allowed: [section], key = value, "
	       "# comment, ; comment, blank line)", shown(s, n, b), what);
}

static bool name_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return false;
	return n > 0;
}

/* Trims blanks from both ends of [*S, *E). */
static void trim(const char **s, const char **e)
{
	while (*s < *e && isspace((unsigned char)**s))
		(*s)++;
	while (*e > *s && isspace((unsigned char)(*e)[-1]))
		(*e)--;
}

/* Where a comment starts in [S, E): '#' or ';' first on the line or after a
 * blank; E if there is none. */
static const char *comment(const char *s, const char *e)
{
	for (const char *c = s; c < e; c++)
		if ((*c == '#' || *c == ';') &&
		    (c == s || isspace((unsigned char)c[-1])))
			return c;
	return e;
}

static void section_line(struct parser *p, const char *s, const char *e,
                         char *out, size_t size)
{
	const char *n = s + 1, *ne = e - 1;
	char b[SHOWN], a[128];

	p->ignore = true;
	if (e - s < 2 || *ne != ']') {
		syntax_error(p, s, e - s, "has no ']' at its end");
		return;
	}
	trim(&n, &ne);
	for (size_t i = 0; i < NSECTIONS; i++) {
		if (strlen(sections[i]) == (size_t)(ne - n) &&
		    memcmp(sections[i], n, ne - n) == 0) {
			p->ignore = false;
			snprintf(out, size, "[%s]\n", sections[i]);
			return;
		}
	}
	report(p, "unknown section [%s] (allowed: %s)", shown(n, ne - n, b),
	       names(NULL, a, sizeof(a)));
}

static void pair_line(struct parser *p, const char *s, const char *e,
                      char *out, size_t size)
{
	const char *eq = memchr(s, '=', e - s), *ke, *v;

	if (!eq) {
		syntax_error(p, s, e - s, "is not key = value");
		return;
	}
	ke = eq;
	v = eq + 1;
	trim(&s, &ke);
	trim(&v, &e);
	if (s == ke) {
		syntax_error(p, s, e - s, "has no key before '='");
		return;
	}
	if (!name_ok(s, ke - s)) {
		syntax_error(p, s, ke - s, "is not a key name (letters, digits, "
		             "'_' and '-')");
		return;
	}
	if ((size_t)(ke - s) + (size_t)(e - v) + 3 > size) {
		report(p, "line too long: key and value have %zu characters "
		       "(allowed: at most %zu)", (size_t)(ke - s) + (e - v),
		       size - 3);
		return;
	}
	if (!p->ignore)
		snprintf(out, size, "%.*s=%.*s\n", (int)(ke - s), s, (int)(e - v), v);
}

/* inih's reader: one line of the file in, one normalized line out. */
static char *read_line(char *out, int size, void *stream)
{
	struct parser *p = stream;
	const char *s = p->pos, *nl, *e;

	if (p->pos >= p->end || size < 3)
		return NULL;
	nl = memchr(s, '\n', p->end - s);
	e = nl ? nl : p->end;
	p->pos = nl ? nl + 1 : p->end;
	p->line++;
	strcpy(out, "\n");
	if (p->line == 1 && e - s >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	if (memchr(s, '\0', e - s)) {
		report(p, "syntax error: a NUL byte (allowed: text)");
		return out;
	}
	e = comment(s, e);
	trim(&s, &e);
	if (s == e)
		return out;
	if (*s == '[')
		section_line(p, s, e, out, size);
	else
		pair_line(p, s, e, out, size);
	return out;
}

int cfg_load_string(const char *name, const char *text, size_t len,
                    struct cfg *out, cfg_error_fn *err, void *data)
{
	struct parser *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return -ENOMEM;
	p->name = name;
	p->pos = text;
	p->end = text + len;
	p->err = err;
	p->data = data;
	cfg_defaults(&p->cfg);
	r = ini_parse_stream(read_line, p, on_key, p);
	if (r > 0 && p->errors == 0) {
		p->line = r;        /* inih found what read_line let through */
		report(p, "syntax error (allowed: [section], key = value)");
	}
	if (p->errors > MAX_ERRORS && err) {
		char msg[MSG_MAX];

		snprintf(msg, sizeof(msg), "%s: %d more errors not shown", name,
		         p->errors - MAX_ERRORS);
		err(data, msg);
	}
	r = r < 0 ? -ENOMEM : p->errors ? -EINVAL : 0;
	if (r == 0)
		*out = p->cfg;
	free(p);
	return r;
}

/* Reads the whole file at PATH (at most MAX_FILE bytes) into *BUF. */
static ssize_t read_file(const char *path, char **buf)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	size_t len = 0;
	ssize_t n = 1;

	if (fd < 0)
		return -errno;
	*buf = malloc(MAX_FILE + 1);
	if (!*buf) {
		close(fd);
		return -ENOMEM;
	}
	while (len <= MAX_FILE && n > 0) {
		n = read(fd, *buf + len, MAX_FILE + 1 - len);
		if (n < 0 && errno == EINTR)
			n = 1;
		else if (n > 0)
			len += n;
	}
	if (n < 0)
		n = -errno;
	close(fd);
	if (n >= 0 && len > MAX_FILE)
		n = -EFBIG;
	if (n < 0) {
		free(*buf);
		return n;
	}
	return len;
}

int cfg_load(const char *path, struct cfg *out, cfg_error_fn *err, void *data)
{
	char *text = NULL;
	ssize_t len = read_file(path, &text);
	int r;

	if (len < 0) {
		if (err) {
			char msg[MSG_MAX];

			snprintf(msg, sizeof(msg), "%s: cannot read: %s", path,
			         strerror((int)-len));
			err(data, msg);
		}
		return (int)len;
	}
	r = cfg_load_string(path, text, len, out, err, data);
	free(text);
	return r;
}

/* Writes the value of K in CFG as the file spells it. */
static void format_value(const struct cfg *cfg, const struct key *k,
                         char *buf, size_t size)
{
	const void *f = field(cfg, k);
	const struct cfg_patterns *pat = f;
	const struct cfg_pids *pids = f;
	size_t len = 0;

	buf[0] = '\0';
	switch (k->kind) {
	case K_UINT:
		snprintf(buf, size, "%u", *(const unsigned *)f);
		break;
	case K_U64:
		snprintf(buf, size, "%" PRIu64, *(const uint64_t *)f);
		break;
	case K_LEVEL: {
		int l = *(const int *)f;

		snprintf(buf, size, "%s", l >= LOG_ERR && l <= LOG_DEBUG ?
		         level_names[l] : "?");
		break;
	}
	case K_BOOL:
		snprintf(buf, size, "%s", *(const bool *)f ? "yes" : "no");
		break;
	case K_SHARING:
		if (*(const long *)f < 0)
			snprintf(buf, size, "keep");
		else
			snprintf(buf, size, "%ld", *(const long *)f);
		break;
	case K_ZERO: {
		int z = *(const int *)f;

		snprintf(buf, size, "%s", z < 0 ? "keep" : z ? "yes" : "no");
		break;
	}
	case K_URI:
		snprintf(buf, size, "%s", (const char *)f);
		break;
	case K_PATTERNS:
		for (int i = 0; i < pat->n && len < size; i++)
			len += snprintf(buf + len, size - len, "%s%.*s",
			                i ? ", " : "", CFG_PATTERN_LEN, pat->p[i]);
		break;
	case K_PIDS:
		for (int i = 0; i < pids->n && len < size; i++)
			len += snprintf(buf + len, size - len, "%s%ld",
			                i ? ", " : "", (long)pids->pid[i]);
		break;
	case K_DIR:
		snprintf(buf, size, "%s", (const char *)f);
		break;
	case K_CPUS:
		idset_format(f, buf, size);
		break;
	}
}

#define VALUE_MAX (CFG_MAX_PATTERNS * (CFG_PATTERN_LEN + 2) + 1)

void cfg_print(FILE *f, const struct cfg *cfg)
{
	const char *section = NULL;
	char v[VALUE_MAX];

	fputs("# ksm-numad configuration: effective settings.\n", f);
	for (size_t i = 0; i < NKEYS; i++) {
		if (!section || strcmp(section, keys[i].section) != 0) {
			section = keys[i].section;
			fprintf(f, "\n[%s]\n", section);
		}
		format_value(cfg, &keys[i], v, sizeof(v));
		fprintf(f, "%s =%s%s\n", keys[i].name, *v ? " " : "", v);
	}
}

bool cfg_equal(const struct cfg *a, const struct cfg *b)
{
	char va[VALUE_MAX], vb[VALUE_MAX];

	for (size_t i = 0; i < NKEYS; i++) {
		format_value(a, &keys[i], va, sizeof(va));
		format_value(b, &keys[i], vb, sizeof(vb));
		if (strcmp(va, vb) != 0)
			return false;
	}
	return true;
}

bool cfg_patterns_match(const struct cfg_patterns *p, const char *comm)
{
	char pat[CFG_PATTERN_LEN];

	for (int i = 0; i < p->n && i < CFG_MAX_PATTERNS; i++) {
		snprintf(pat, sizeof(pat), "%s", p->p[i]);
		if (fnmatch(pat, comm, 0) == 0)
			return true;
	}
	return false;
}

bool cfg_pids_has(const struct cfg_pids *p, pid_t pid)
{
	for (int i = 0; i < p->n && i < CFG_MAX_PIDS; i++)
		if (p->pid[i] == pid)
			return true;
	return false;
}
