/* test_ctl.c - the control protocol: request parsing, every reply rendered
 * from a hand-built last pass, and the client against real sockets.
 *
 * The host of the replies (figures chosen here, expectations computed by
 * hand from them):
 *   node 0: 4 CPUs, 1.5 busy, 8 GiB total, 2 GiB free
 *   node 2: 2 CPUs, 0.25 busy, 4 GiB total, 3 GiB free
 *   target_utilization 80 (capacity 3.20 and 1.60 CPUs), target_locality 90
 *   web01, PID 4242: 3 GiB on node 0, 1 GiB on node 2, 512 MiB KSM-shared;
 *     settle on node 0, 75.0 % local, 1 GiB to move (256 MiB this interval),
 *     scores 1.25 / 1.5, moving: 128 MiB in 12 calls, worst 3.1 ms, pinned 0-3
 *   we"ird\x<0xff>, PID 4300: 512 MiB on node 2, left alone (pinned by an admin)
 *   KSM: run 1, pages_shared 256, pages_sharing 65280, max_page_sharing 256
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

#define GIB_KIB (1024ULL * 1024)
#define ODD_NAME "we\"ird\\x\xff"

static struct bal b;
static struct pol_vm in_vm[2];
static struct pol_decision dec[2];
static struct ksm_state ksm;
static struct cfg cfg;
static struct ctl_view view;
static const int dist[4] = { 10, 20, 20, 10 };

static void host_nodes(void)
{
	struct pol_node *n = b.in.node;

	b.in.nnodes = 2;
	b.in.dist = dist;
	n[0] = (struct pol_node){ .id = 0, .ncpus = 4, .cpu_busy = 1.5, .has_memory = true,
		.mem_total_kib = 8 * GIB_KIB, .mem_free_kib = 2 * GIB_KIB };
	n[1] = (struct pol_node){ .id = 2, .ncpus = 2, .cpu_busy = 0.25, .has_memory = true,
		.mem_total_kib = 4 * GIB_KIB, .mem_free_kib = 3 * GIB_KIB };
}

static void host_web01(void)
{
	struct bal_vm *v = &b.vm[0];

	in_vm[0] = (struct pol_vm){ .key = 1, .pid = 4242, .name = "dangling", .nvcpus = 4,
		.cpu_use = 1.5, .shared_kib = 512 * 1024 };
	in_vm[0].mem_kib[0] = 3 * GIB_KIB;
	in_vm[0].mem_kib[1] = GIB_KIB;
	dec[0] = (struct pol_decision){ .vm = 0, .verdict = POL_SETTLE, .locality = 75.0,
		.to_move_kib = GIB_KIB, .budget_kib = 256 * 1024, .score_home = 1.25,
		.score_best = 1.5 };
	idset_add(&dec[0].home, 0);
	snprintf(dec[0].why, sizeof(dec[0].why), "settling on node 0, 75%% local");
	v->key = 1;
	v->pid = 4242;
	snprintf(v->name, sizeof(v->name), "web01");
	v->moving = true;
	v->job.state = MV_RUNNING;
	idset_add(&v->job.target, 0);
	v->job.t.bytes = 128ULL << 20;
	v->job.t.calls = 12;
	v->job.t.worst_ns = 3100000;
	idset_parse(&v->pinned, "0-3");
}

static void host_odd(void)
{
	struct bal_vm *v = &b.vm[1];

	in_vm[1] = (struct pol_vm){ .key = 2, .pid = 4300, .name = "dangling", .nvcpus = 1,
		.left_alone = true, .left_why = "pinned by an admin" };
	in_vm[1].mem_kib[1] = 512 * 1024;
	dec[1] = (struct pol_decision){ .vm = 1, .verdict = POL_LEFT_ALONE, .locality = 100 };
	snprintf(dec[1].why, sizeof(dec[1].why), "left alone: pinned by an admin");
	v->key = 2;
	v->pid = 4300;
	snprintf(v->name, sizeof(v->name), "%s", ODD_NAME);
}

static void host_ksm(void)
{
	memset(&ksm, 0, sizeof(ksm));
	ksm.present = true;
	ksm.has[KSM_RUN] = ksm.has[KSM_PAGES_SHARED] = true;
	ksm.has[KSM_PAGES_SHARING] = ksm.has[KSM_MAX_PAGE_SHARING] = true;
	ksm.val[KSM_RUN] = 1;
	ksm.val[KSM_PAGES_SHARED] = 256;
	ksm.val[KSM_PAGES_SHARING] = 65280;
	ksm.val[KSM_MAX_PAGE_SHARING] = 256;
}

static int setup_host(void **state)
{
	static struct bal_vm vms[2];

	(void)state;
	memset(&b, 0, sizeof(b));
	memset(vms, 0, sizeof(vms));
	memset(in_vm, 0, sizeof(in_vm));
	memset(dec, 0, sizeof(dec));
	pol_params_default(&b.params);
	b.params.target_utilization = 80;
	b.params.target_locality = 90;
	b.params.reserve_kib = 0;
	b.pass = 7;
	b.vm = vms;
	b.n = 2;
	host_nodes();
	host_web01();
	host_odd();
	b.in.nvms = 2;
	b.in.vm = in_vm;
	b.res.n = 2;
	b.res.d = dec;
	host_ksm();
	cfg_defaults(&cfg);
	cfg.interval_s = 15;
	view = (struct ctl_view){ .bal = &b, .ksm = &ksm, .cfg = &cfg, .dry_run = true,
		.uptime_s = 3665, .vm_source = "processes" };
	return 0;
}

/* The reply to REQUEST, as a malloc'ed string. */
static char *render(const char *request)
{
	struct ctl_req q;
	char err[128], *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(ctl_parse(request, strlen(request), &q, err, sizeof(err)), 0);
	assert_int_equal(ctl_render(&view, &q, f), 0);
	fclose(f);
	return buf;
}

/* True if TEXT has a line whose blank-separated words are WORDS's. */
static bool has_row(const char *text, const char *words)
{
	char want[512], got[512];
	const char *p = text;

	snprintf(want, sizeof(want), "%s", words);
	while (*p) {
		size_t n = 0;
		bool blank = true;

		for (; *p && *p != '\n'; p++) {
			if (*p == ' ' && blank)
				continue;
			blank = *p == ' ';
			if (n + 1 < sizeof(got))
				got[n++] = *p;
		}
		while (n && got[n - 1] == ' ')
			n--;
		got[n] = '\0';
		if (!strcmp(got, want))
			return true;
		if (*p)
			p++;
	}
	return false;
}

static void assert_has(const char *text, const char *needle)
{
	if (!strstr(text, needle))
		fail_msg("no '%s' in:\n%s", needle, text);
}

static void assert_row(const char *text, const char *words)
{
	if (!has_row(text, words))
		fail_msg("no row '%s' in:\n%s", words, text);
}

/* ---- parsing ---- */

static int parse(const char *line, struct ctl_req *q, char *err)
{
	return ctl_parse(line, strlen(line), q, err, 128);
}

static void test_parse_good(void **state)
{
	struct ctl_req q;
	char err[128];

	(void)state;
	assert_int_equal(parse("status\n", &q, err), 0);
	assert_int_equal(q.cmd, CTL_STATUS);
	assert_false(q.json);
	assert_int_equal(parse("vms json", &q, err), 0);
	assert_true(q.cmd == CTL_VMS && q.json);
	assert_int_equal(parse("  metrics  \r\n", &q, err), 0);
	assert_int_equal(q.cmd, CTL_METRICS);
	assert_int_equal(parse("explain a) b (c json", &q, err), 0);
	assert_true(q.cmd == CTL_EXPLAIN && q.json);
	assert_string_equal(q.arg, "a) b (c");
	assert_int_equal(parse("explain json", &q, err), 0);
	assert_string_equal(q.arg, "json");
	assert_false(q.json);
	assert_int_equal(parse("place 4096 1099511627776", &q, err), 0);
	assert_int_equal(q.ncpus, 4096);
	assert_true(q.mem_mib == 1ULL << 40);
	assert_int_equal(parse("place 1 0", &q, err), 0);
	assert_int_equal(parse("include 4242", &q, err), 0);
	assert_true(q.cmd == CTL_INCLUDE && q.pid == 4242);
	assert_int_equal(parse("forget 1", &q, err), 0);
	assert_int_equal(q.cmd, CTL_FORGET);
	assert_int_equal(parse("hook started my guest", &q, err), 0);
	assert_int_equal(q.cmd, CTL_HOOK);
	assert_string_equal(q.op, "started");
	assert_string_equal(q.arg, "my guest");
}

/* LINE is refused with a reason containing WHY. */
static void bad(const char *line, size_t len, const char *why)
{
	struct ctl_req q;
	char err[128] = "";

	assert_int_equal(ctl_parse(line, len, &q, err, sizeof(err)), -EINVAL);
	if (!strstr(err, why))
		fail_msg("'%s': reason '%s' lacks '%s'", line, err, why);
}

static void test_parse_bad(void **state)
{
	char big[CTL_REQ_MAX + 8], name[VM_NAME_LEN + 16];

	(void)state;
	bad("", 0, "empty");
	bad("   \n", 4, "empty");
	bad("stat", 4, "unknown command 'stat'");
	bad("STATUS", 6, "unknown command");
	bad("status xml", 10, "too many");
	bad("status json json", 16, "too many");
	bad("metrics json", 12, "too many");
	bad("explain", 7, "missing");
	bad("explain   ", 10, "missing");
	bad("place 4", 7, "missing");
	bad("place 4 100 7", 13, "too many");
	bad("place 0 100", 11, "NCPUS '0' out of range");
	bad("place 4097 100", 14, "out of range");
	bad("place 4 1099511627777", 21, "MIB");
	bad("place -1 100", 12, "not a number");
	bad("place 4 1e3", 11, "not a number");
	bad("place 4 99999999999999999999999", 31, "out of range");
	bad("include", 7, "missing");
	bad("include 12x", 11, "not a number");
	bad("exclude 0", 9, "out of range");
	bad("forget 4194305", 14, "out of range");
	bad("include 1 2", 11, "too many");
	bad("hook started", 12, "missing");
	bad("hook START x", 12, "not a word");
	bad("hook averyveryverylongoperation x", 33, "operation longer");
	bad("status\tjson", 11, "control character (0x09)");
	bad("vms\x1b[2J", 7, "control character (0x1b)");
	bad("status\0json", 11, "control character (0x00)");
	bad("status\n\n", 8, "control character (0x0a)");
	memset(big, 'a', sizeof(big));
	bad(big, CTL_REQ_MAX + 1, "longer than 1024");
	memcpy(name, "explain ", 8);
	memset(name + 8, 'n', VM_NAME_LEN);
	bad(name, 8 + VM_NAME_LEN, "longer than 63");
}

/* ---- replies ---- */

static void test_status(void **state)
{
	char *s = render("status");

	(void)state;
	assert_true(!strncmp(s, "ok\n", 3));
	assert_has(s, "up 1h 1m 5s");
	assert_has(s, "dry run");
	assert_has(s, "VMs from processes");
	assert_has(s, "interval 15 s");
	assert_has(s, "run 1, pages_shared 256, pages_sharing 65280, max_page_sharing 256");
	assert_has(s, "KSM is running (run=1)");
	assert_has(s, "80% target utilization");
	assert_row(s, "0 4 1.50 3.20 2048 8192");
	assert_row(s, "2 2 0.25 1.60 3072 4096");
	assert_null(strstr(s, "measuring"));
	free(s);
	view.priming = true;
	s = render("status");
	assert_has(s, "measuring CPU use");
	free(s);
}

static void test_vms(void **state)
{
	char *s = render("vms");

	(void)state;
	assert_row(s, "web01 4242 settle 0 75.0% 512 1024 yes, 128 MiB moved");
	assert_row(s, ODD_NAME " 4300 left-alone - 100.0% 0 0 no");
	free(s);
	/* A comm may hold a newline: it must not start a row of its own. */
	snprintf(b.vm[0].name, sizeof(b.vm[0].name), "web\n01");
	s = render("vms");
	assert_row(s, "web?01 4242 settle 0 75.0% 512 1024 yes, 128 MiB moved");
	free(s);
	s = render("explain 4242");
	assert_has(s, "vm: web?01\n");
	free(s);
}

static void test_vms_priming(void **state)
{
	char *s;

	(void)state;
	b.res.n = 0;
	s = render("vms");
	assert_row(s, "web01 4242 - - - 512 - yes, 128 MiB moved");
	free(s);
}

static void test_explain(void **state)
{
	char *s = render("explain web01");

	(void)state;
	assert_true(!strncmp(s, "ok\nvm: web01\npid: 4242\n", 23));
	assert_has(s, "verdict: settle\n");
	assert_has(s, "home: 0\n");
	assert_has(s, "why: settling on node 0, 75% local\n");
	assert_has(s, "locality: 75.0% of movable memory on the home node(s) (target 90%)");
	assert_has(s, "to move: 1024 MiB (this interval: 256 MiB)");
	assert_has(s, "scores: home 1.250, best 1.500");
	assert_has(s, "memory: node 0 3072 MiB, node 2 1024 MiB\n");
	assert_has(s, "ksm shared: 512 MiB");
	assert_has(s, "cpu: 1.50 CPUs' worth used, 4 vCPUs");
	assert_has(s, "pinned by ksm-numad: 0-3");
	assert_has(s, "move: running, to node(s) 0: 128 MiB moved in 12 calls, worst call 3.1 ms");
	assert_null(strstr(s, "dangling"));
	free(s);
	s = render("explain 4300");
	assert_has(s, "vm: " ODD_NAME "\n");
	assert_has(s, "left alone: pinned by an admin");
	assert_has(s, "move: none");
	free(s);
	s = render("explain nosuch");
	assert_string_equal(s, "error: no VM nosuch\n");
	free(s);
	snprintf(b.vm[1].name, sizeof(b.vm[1].name), "web01");
	s = render("explain web01");
	assert_true(!strncmp(s, "error: more than one VM is named web01", 38));
	free(s);
	s = render("explain 4300");     /* the PID still tells them apart */
	assert_has(s, "pid: 4300");
	free(s);
}

static void test_place(void **state)
{
	char *s;

	(void)state;
	/* 2.5 GiB fits only node 2 (3 GiB free; node 0 has 2), 1 CPU fits both. */
	s = render("place 1 2560");
	assert_string_equal(s, "ok\n2\n");
	free(s);
	/* Nothing fits: still a node set. */
	s = render("place 64 100000");
	assert_true(!strncmp(s, "ok\n", 3) && strlen(s) > 4);
	free(s);
	view.priming = true;
	s = render("place 1 100");
	assert_true(!strncmp(s, "error: no placement yet", 23));
	assert_has(s, "measuring CPU use");
	free(s);
	view.priming = false;
	b.in.nnodes = 0;
	s = render("place 1 100");
	assert_has(s, "has not observed the host yet");
	free(s);
}

/* ---- metrics ---- */

/* Every line follows the text exposition format, and a family's TYPE comes
 * before its samples. */
static void check_prom(const char *text)
{
	regex_t comment, sample;
	char line[1024], family[256] = "";
	const char *p = text + 3;

	assert_int_equal(regcomp(&comment, "^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$",
				 REG_EXTENDED), 0);
	assert_int_equal(regcomp(&sample, "^([a-zA-Z_:][a-zA-Z0-9_:]*)"
				 "(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\n]|\\\\[\\\\\"n])*\""
				 "(,[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\n]|\\\\[\\\\\"n])*\")*\\})?"
				 " -?[0-9]+(\\.[0-9]+)?(e[-+][0-9]+)?$", REG_EXTENDED), 0);
	while (*p) {
		size_t n = strcspn(p, "\n");
		regmatch_t m[2];

		assert_true(n < sizeof(line));
		memcpy(line, p, n);
		line[n] = '\0';
		p += n + (p[n] == '\n');
		if (!strncmp(line, "# TYPE ", 7))
			sscanf(line + 7, "%255s", family);
		if (line[0] == '#') {
			if (regexec(&comment, line, 0, NULL, 0))
				fail_msg("bad comment line: %s", line);
			continue;
		}
		if (regexec(&sample, line, 2, m, 0))
			fail_msg("bad sample line: %s", line);
		if ((size_t)(m[1].rm_eo - m[1].rm_so) != strlen(family) ||
		    strncmp(line, family, strlen(family)))
			fail_msg("sample outside its family %s: %s", family, line);
	}
	regfree(&comment);
	regfree(&sample);
}

static void test_metrics(void **state)
{
	char *s = render("metrics");

	(void)state;
	assert_true(!strncmp(s, "ok\n", 3));
	check_prom(s);
	assert_has(s, "# TYPE ksm_numad_node_memory_free_bytes gauge\n");
	assert_has(s, "\nksm_numad_node_memory_free_bytes{node=\"2\"} 3221225472\n");
	assert_has(s, "\nksm_numad_node_memory_total_bytes{node=\"0\"} 8589934592\n");
	assert_has(s, "\nksm_numad_node_cpu_busy{node=\"2\"} 0.25\n");
	assert_has(s, "\nksm_numad_vm_locality_ratio{vm=\"web01\",pid=\"4242\"} 0.75\n");
	assert_has(s, "\nksm_numad_vm_pending_bytes{vm=\"web01\",pid=\"4242\"} 1073741824\n");
	assert_has(s, "\nksm_numad_vm_ksm_shared_bytes{vm=\"web01\",pid=\"4242\"} 536870912\n");
	assert_has(s, "# TYPE ksm_numad_vm_moved_bytes_total counter\n");
	assert_has(s, "\nksm_numad_vm_moved_bytes_total{vm=\"web01\",pid=\"4242\"} 134217728\n");
	assert_has(s, "\nksm_numad_vm_move_calls_total{vm=\"web01\",pid=\"4242\"} 12\n");
	assert_has(s, "{vm=\"we\\\"ird\\\\x\xff\",pid=\"4300\"}");
	assert_has(s, "\nksm_numad_ksm_pages_sharing 65280\n");
	assert_has(s, "\nksm_numad_ksm_pages_shared 256\n");
	assert_has(s, "\nksm_numad_passes_total 7\n");
	free(s);
}

/* ---- JSON: a minimal validator (RFC 8259 grammar, UTF-8 not checked) ---- */

static const char *json_value(const char *p);

static const char *ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

static const char *json_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	for (; *p != '"'; p++) {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p != '\\')
			continue;
		p++;
		if (*p == 'u') {
			for (int i = 1; i <= 4; i++)
				if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
					return NULL;
			p += 4;
		} else if (!*p || !strchr("\"\\/bfnrt", *p)) {
			return NULL;
		}
	}
	return p + 1;
}

static const char *json_number(const char *p)
{
	regex_t re;
	regmatch_t m;
	const char *end = NULL;

	assert_int_equal(regcomp(&re, "^-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][-+]?[0-9]+)?",
				 REG_EXTENDED), 0);
	if (!regexec(&re, p, 1, &m, 0) && m.rm_eo > 0)
		end = p + m.rm_eo;
	regfree(&re);
	return end;
}

/* An object (CLOSE '}') or array (']'): members or values, comma-separated. */
static const char *json_list(const char *p, char close)
{
	p = ws(p + 1);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (close == '}') {
			p = json_string(p);
			if (!p || *(p = ws(p)) != ':')
				return NULL;
			p++;
		}
		p = json_value(p);
		if (!p)
			return NULL;
		p = ws(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
		p = ws(p);
	}
}

static const char *json_value(const char *p)
{
	p = ws(p);
	if (*p == '{')
		return json_list(p, '}');
	if (*p == '[')
		return json_list(p, ']');
	if (*p == '"')
		return json_string(p);
	for (const char *const *w = (const char *const[]){ "true", "false", "null", NULL };
	     *w; w++)
		if (!strncmp(p, *w, strlen(*w)))
			return p + strlen(*w);
	return json_number(p);
}

static void assert_json(const char *reply)
{
	const char *end;

	assert_true(!strncmp(reply, "ok\n", 3));
	end = json_value(reply + 3);
	if (!end || *ws(end))
		fail_msg("not one JSON value: %s", reply + 3);
}

static void test_json_validator(void **state)
{
	(void)state;
	assert_non_null(json_value("{\"a\":[1,-2.5e3,\"x\\\"\\u00ff\",true,null,{}]}"));
	assert_null(json_value("{\"a\":[1,]}"));
	assert_null(json_value("{\"a\" 1}"));
	assert_null(json_value("\"a\\x\""));
	assert_null(json_value("\"tab\there\""));
	assert_null(json_value("[01]"));
}

static void test_json(void **state)
{
	char *s;

	(void)state;
	s = render("status json");
	assert_json(s);
	assert_has(s, "\"uptime_s\":3665");
	assert_has(s, "\"dry_run\":true");
	assert_has(s, "\"pages_sharing\":65280");
	assert_has(s, "{\"id\":2,\"cpus\":2,\"cpu_busy\":0.250,\"capacity\":1.600,"
		   "\"mem_free_mib\":3072,\"mem_total_mib\":4096}");
	free(s);
	s = render("vms json");
	assert_json(s);
	assert_has(s, "{\"name\":\"web01\",\"pid\":4242,\"verdict\":\"settle\",\"home\":\"0\","
		   "\"locality\":75.000,\"ksm_shared_mib\":512,\"to_move_mib\":1024,"
		   "\"moving\":true,\"moved_bytes\":134217728}");
	assert_has(s, "\"name\":\"we\\\"ird\\\\x\\ufffd\"");
	free(s);
	s = render("explain web01 json");
	assert_json(s);
	assert_has(s, "\"why\":\"settling on node 0, 75% local\"");
	assert_has(s, "\"memory_mib\":{\"0\":3072,\"2\":1024}");
	assert_has(s, "\"calls\":12");
	free(s);
	s = render("explain 4300 json");
	assert_json(s);
	assert_has(s, "\"left_alone\":\"pinned by an admin\"");
	assert_has(s, "\"move\":null");
	free(s);
	b.res.n = 0;
	view.ksm = NULL;
	b.in.nnodes = 0;
	for (const char *const *r = (const char *const[]){ "status json", "vms json",
	     "explain web01 json", NULL }; *r; r++) {
		s = render(*r);
		assert_json(s);
		free(s);
	}
}

static void test_no_pass(void **state)
{
	char *s;

	(void)state;
	view = (struct ctl_view){ .vm_source = "processes" };
	s = render("status");
	assert_has(s, "nodes: not observed yet");
	free(s);
	s = render("vms");
	assert_has(s, "(no VM)");
	free(s);
	s = render("metrics");
	check_prom(s);
	free(s);
	s = render("explain x");
	assert_string_equal(s, "error: no VM x\n");
	free(s);
}

/* ---- the client ---- */

static char dir[64];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/kn-ctl.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int listen_on(const char *name, int type)
{
	struct sockaddr_un a;
	socklen_t len;
	int fd = socket(AF_UNIX, type, 0);

	assert_true(fd >= 0);
	assert_int_equal(ctl_sockaddr(dir, name, &a, &len), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, len), 0);
	if (type == SOCK_STREAM)
		assert_int_equal(listen(fd, 4), 0);
	return fd;
}

/* Whole ms of CLOCK_MONOTONIC, as ctl_call counts its timeout. */
static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The timeout of a call the server answers: only a hang reaches it. */
#define PATIENCE_MS 60000

/* A server in a child: reads one line, answers "ok" and the line back. */
static pid_t echo_server(int lfd)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		char buf[CTL_REQ_MAX + 2], out[CTL_REQ_MAX + 8];
		int fd = accept(lfd, NULL, NULL);
		ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

		if (n < 0)
			_exit(1);
		buf[n] = '\0';
		n = snprintf(out, sizeof(out), "ok\n%s", buf);
		_exit(write(fd, out, (size_t)n) == n ? 0 : 1);
	}
	return pid;
}

static void test_call(void **state)
{
	int lfd = listen_on(CTL_SOCKET, SOCK_STREAM), st;
	pid_t pid = echo_server(lfd);
	char *reply = NULL;

	(void)state;
	assert_int_equal(ctl_call(dir, "vms json", PATIENCE_MS, &reply), 0);
	assert_string_equal(reply, "ok\nvms json\n");
	free(reply);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(ctl_call(dir, "a\nb", 2000, &reply), -EINVAL);
	close(lfd);
	/* The socket file is left, nobody listens: a daemon that died. */
	assert_int_equal(ctl_call(dir, "status", 2000, &reply), -ECONNREFUSED);
}

/* The timeout is a promise both ways: the call never gives up before it,
 * and it does give up (the server never accepts, so nothing else ends the
 * call).  How long after it is the scheduler's business: the upper bound
 * only catches a unit slip (seconds taken for ms), not a slow machine. */
static void test_call_timeout(void **state)
{
	int lfd = listen_on(CTL_SOCKET, SOCK_STREAM);  /* listens, never accepts */
	const int timeout = 300;
	char *reply = NULL;
	int64_t t0, ms;

	(void)state;
	t0 = now_ms();
	assert_int_equal(ctl_call(dir, "status", timeout, &reply), -ETIMEDOUT);
	ms = now_ms() - t0;
	if (ms < timeout || ms >= 100 * timeout)
		fail_msg("gave up after %lld ms on a %d ms timeout", (long long)ms, timeout);
	assert_null(reply);
	close(lfd);
}

static void test_call_absent(void **state)
{
	char *reply = NULL, longdir[200];

	(void)state;
	assert_int_equal(ctl_call(dir, "status", 500, &reply), -ENOENT);
	memset(longdir, 'd', sizeof(longdir) - 1);
	longdir[sizeof(longdir) - 1] = '\0';
	assert_int_equal(ctl_call(longdir, "status", 500, &reply), -ENAMETOOLONG);
	assert_int_equal(ctl_notify(longdir, "started", "x"), -ENAMETOOLONG);
	assert_int_equal(ctl_notify(dir, "started", "x"), -ENOENT);
}

static void test_notify(void **state)
{
	int fd = listen_on(CTL_NOTIFY, SOCK_DGRAM);
	char buf[CTL_REQ_MAX + 2];
	ssize_t n;

	(void)state;
	assert_int_equal(ctl_notify(dir, "started", "my guest"), 0);
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_int_equal(n, 21);
	buf[n] = '\0';
	assert_string_equal(buf, "hook started my guest");
	assert_int_equal(ctl_notify(dir, "started", "a\nb"), -EINVAL);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test_setup(test_status, setup_host),
		cmocka_unit_test_setup(test_vms, setup_host),
		cmocka_unit_test_setup(test_vms_priming, setup_host),
		cmocka_unit_test_setup(test_explain, setup_host),
		cmocka_unit_test_setup(test_place, setup_host),
		cmocka_unit_test_setup(test_metrics, setup_host),
		cmocka_unit_test(test_json_validator),
		cmocka_unit_test_setup(test_json, setup_host),
		cmocka_unit_test_setup(test_no_pass, setup_host),
		cmocka_unit_test_setup_teardown(test_call, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_call_timeout, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_call_absent, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_notify, setup_dir, teardown_dir),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
