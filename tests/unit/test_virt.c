/* Unit tests for the libvirt adapter (lib/virt.c) and worker (daemon/virtd.c)
 * on libvirt's test driver.  Expected values come from the comments in
 * tests/fixtures/libvirt/virt-2cell.xml and virt-4cell.xml.
 *
 * Events need the domain changes to happen in the worker's own driver
 * state: test:///default is shared by all connections of one process (a
 * node file is not), so the event tests use it.  Connection loss cannot be
 * provoked on the test driver: tests/libvirt/check-libvirtd kills a real
 * libvirtd for that.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>

#include "log.h"
#include "tmptree.h"
#include "virt.h"
#include "virtd.h"

/* vmsrc (daemon/vmsrc.c) on the test driver, reading no PID files. */
#define KN_LIBVIRT_PID_DIR NULL
#include "vmsrc.c"

#define URI_2CELL "test://" FIXTURES "/libvirt/virt-2cell.xml"
#define URI_4CELL "test://" FIXTURES "/libvirt/virt-4cell.xml"
#define LONG_NAME "a-very-long-domain-name-that-does-not-fit-the-sixty-four-byte-buffer-x"
#define LONG_UUID "11111111-2222-3333-4444-00000000000a"

static struct virt *open_uri(const char *uri)
{
	struct virt *v = NULL;
	int ret = virt_open(uri, &v);

	if (ret < 0)
		fail_msg("virt_open %s: %d %s", uri, ret, virt_last_error());
	return v;
}

static const struct virt_dom *find(const struct virt_dom_list *l, const char *name)
{
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->d[i].name, name) == 0)
			return &l->d[i];
	return NULL;
}

static void assert_cpus(const struct idset *s, const char *list)
{
	char buf[256];

	assert_int_equal(idset_format(s, buf, sizeof(buf)), 0);
	assert_string_equal(buf, list);
}

static struct idset set_of(const char *list)
{
	struct idset s;

	assert_int_equal(idset_parse(&s, list), 0);
	return s;
}

/* The union of the live pinning of every vCPU of NAME, read with libvirt itself. */
static void pin_info(struct virt *v, const char *name, int nvcpus, const char *expect_each)
{
	virDomainPtr dom = virDomainLookupByName(virt_conn(v), name);
	int ncpus = virNodeGetCPUMap(virt_conn(v), NULL, NULL, 0);
	int maplen = VIR_CPU_MAPLEN(ncpus);
	unsigned char maps[64 * 16] = { 0 };

	assert_non_null(dom);
	assert_true(nvcpus * maplen <= (int)sizeof(maps));
	assert_int_equal(virDomainGetVcpuPinInfo(dom, nvcpus, maps, maplen, 0), nvcpus);
	for (int i = 0; i < nvcpus; i++) {
		struct idset s;

		idset_clear(&s);
		for (int c = 0; c < ncpus; c++)
			if (VIR_CPU_USED(VIR_GET_CPUMAP(maps, maplen, i), c))
				idset_add(&s, c);
		assert_cpus(&s, expect_each);
	}
	virDomainFree(dom);
}

/* ---- discovery ---- */

static void test_list_2cell(void **state)
{
	struct virt *v = open_uri(URI_2CELL);
	struct virt_dom_list l;
	const struct virt_dom *d;

	(void)state;
	assert_int_equal(virt_list(v, NULL, NULL, &l), 0);
	assert_int_equal(l.n, 9);                     /* 10 domains, "off" shut off */
	assert_null(find(&l, "off"));
	for (int i = 1; i < l.n; i++)
		assert_true(strcmp(l.d[i - 1].name, l.d[i].name) < 0);

	d = find(&l, "plain");
	assert_non_null(d);
	assert_string_equal(d->uuid, "11111111-2222-3333-4444-000000000001");
	assert_int_equal(d->nvcpus, 2);
	assert_int_equal(d->mem_kib, 512 * 1024);
	assert_int_equal(d->pid, 0);
	assert_true(d->persistent);
	assert_false(d->xml_pinned || d->numatune_static || d->numatune_strict ||
	             d->placement_auto || d->name_truncated);
	assert_true(idset_empty(&d->mem_nodes));

	d = find(&l, "cpuset");
	assert_non_null(d);
	assert_int_equal(d->nvcpus, 4);
	assert_true(d->xml_pinned);
	assert_cpus(&d->vcpu_cpus, "0-3");

	d = find(&l, "vcpupin");
	assert_non_null(d);
	assert_true(d->xml_pinned);
	assert_cpus(&d->vcpu_cpus, "5-6");

	d = find(&l, "emupin");
	assert_non_null(d);
	assert_true(d->xml_pinned);
	assert_false(d->numatune_static);
	virt_dom_list_free(&l);
	assert_null(l.d);
	virt_close(v);
}

static void test_list_numatune(void **state)
{
	struct virt *v = open_uri(URI_2CELL);
	struct virt_dom_list l;
	const struct virt_dom *d;

	(void)state;
	assert_int_equal(virt_list(v, NULL, NULL, &l), 0);
	d = find(&l, "strict");
	assert_non_null(d);
	assert_true(d->numatune_static && d->numatune_strict);
	assert_false(d->xml_pinned || d->placement_auto);
	assert_cpus(&d->mem_nodes, "1");

	d = find(&l, "preferred");
	assert_non_null(d);
	assert_true(d->numatune_static);
	assert_false(d->numatune_strict);
	assert_cpus(&d->mem_nodes, "0");

	d = find(&l, "auto");
	assert_non_null(d);
	assert_int_equal(d->nvcpus, 3);
	assert_true(d->placement_auto);
	assert_false(d->xml_pinned || d->numatune_static);

	d = find(&l, "automem");
	assert_non_null(d);
	assert_true(d->placement_auto);
	assert_false(d->numatune_static || d->xml_pinned);
	virt_dom_list_free(&l);
	virt_close(v);
}

static void test_long_name(void **state)
{
	struct virt *v = open_uri(URI_2CELL);
	struct virt_dom_list l;
	const struct virt_dom *d = NULL;
	struct idset cpus = set_of("2");

	(void)state;
	assert_int_equal(virt_list(v, NULL, NULL, &l), 0);
	for (int i = 0; i < l.n; i++)
		if (strcmp(l.d[i].uuid, LONG_UUID) == 0)
			d = &l.d[i];
	assert_non_null(d);
	assert_true(d->name_truncated);
	assert_int_equal(strlen(d->name), VM_NAME_LEN - 1);
	assert_memory_equal(d->name, LONG_NAME, VM_NAME_LEN - 1);
	/* the truncated name is no domain; the uuid is */
	assert_int_equal(virt_pin(v, d->name, &cpus), -ENOENT);
	assert_int_equal(virt_pin(v, d->uuid, &cpus), 0);
	pin_info(v, LONG_NAME, 1, "2");
	virt_dom_list_free(&l);
	virt_close(v);
}

/* ---- pinning ---- */

static void test_pin_2cell(void **state)
{
	struct virt *v = open_uri(URI_2CELL);
	struct idset cpus = set_of("4-7");          /* the second cell's CPUs */
	struct virt_dom_list l;

	(void)state;
	pin_info(v, "plain", 2, "0-7");
	assert_int_equal(virt_pin(v, "plain", &cpus), 0);
	pin_info(v, "plain", 2, "4-7");
	assert_int_equal(virt_list(v, NULL, NULL, &l), 0);
	assert_cpus(&find(&l, "plain")->vcpu_cpus, "4-7");
	/* others untouched */
	assert_cpus(&find(&l, "auto")->vcpu_cpus, "0-7");
	virt_dom_list_free(&l);
	virt_close(v);
}

static void test_pin_errors(void **state)
{
	struct virt *v = open_uri(URI_2CELL);
	struct idset empty, beyond = set_of("3,8"), ok = set_of("1");

	(void)state;
	idset_clear(&empty);
	assert_int_equal(virt_pin(v, "plain", &empty), -EINVAL);
	assert_int_equal(virt_pin(v, "plain", &beyond), -EINVAL);
	assert_true(strlen(virt_last_error()) > 0);
	assert_int_equal(virt_pin(v, "no-such-domain", &ok), -ENOENT);
	assert_non_null(strstr(virt_last_error(), "no-such-domain"));
	/* shut off: libvirt refuses a live pin */
	assert_true(virt_pin(v, "off", &ok) < 0);
	pin_info(v, "plain", 2, "0-7");
	virt_close(v);
}

/* The test driver's CPU map is fixed at 8 CPUs whatever the node file says,
 * so on the 4-cell node the last cells' CPUs 8-15 are out of its reach. */
static void test_4cell(void **state)
{
	struct virt *v = open_uri(URI_4CELL);
	struct idset cell1 = set_of("4-7"), cell3 = set_of("12-15");
	struct virt_dom_list l;
	virNodeInfo ni;

	(void)state;
	assert_int_equal(virNodeGetInfo(virt_conn(v), &ni), 0);
	assert_int_equal(ni.nodes, 4);
	assert_int_equal(ni.cpus, 16);
	assert_int_equal(virt_list(v, NULL, NULL, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.d[0].name, "big");
	assert_int_equal(l.d[0].nvcpus, 8);
	assert_int_equal(l.d[0].mem_kib, 4 * 1024 * 1024);
	assert_string_equal(l.d[1].name, "small");
	assert_int_equal(l.d[1].nvcpus, 1);
	virt_dom_list_free(&l);
	assert_int_equal(virt_pin(v, "big", &cell1), 0);
	pin_info(v, "big", 8, "4-7");
	assert_int_equal(virt_pin(v, "big", &cell3), -EINVAL);
	pin_info(v, "big", 8, "4-7");
	pin_info(v, "small", 1, "0-7");
	virt_close(v);
}

static void test_open_fails(void **state)
{
	struct virt *v = NULL;

	(void)state;
	assert_true(virt_open("test:///no/such/node.xml", &v) < 0);
	assert_null(v);
	assert_non_null(strstr(virt_last_error(), "/no/such/node.xml"));
}

/* ---- domain XML ---- */

static void test_parse_xml(void **state)
{
	struct virt_dom d;

	(void)state;
	memset(&d, 0, sizeof(d));
	assert_int_equal(virt_parse_xml("<domain><vcpu placement='auto' cpuset='0-1'>2</vcpu>"
	                                "</domain>", &d), 0);
	assert_true(d.placement_auto);
	assert_false(d.xml_pinned);            /* libvirt's cpuset under placement auto */
	assert_true(d.mems_fixed);             /* numatune follows: mode strict */
	assert_int_equal(virt_parse_xml("<domain><vcpu placement='auto'>2</vcpu><numatune>"
	                                "<memory mode='restrictive' placement='auto'/>"
	                                "</numatune></domain>", &d), 0);
	assert_true(d.placement_auto);
	assert_false(d.mems_fixed);            /* restrictive: widened live */
	assert_int_equal(virt_parse_xml("<domain><vcpu>2</vcpu></domain>", &d), 0);
	assert_false(d.mems_fixed);            /* no numatune: not confined */
	assert_int_equal(virt_parse_xml("<domain><cputune><iothreadpin iothread='1' "
	                                "cpuset='1'/></cputune></domain>", &d), 0);
	assert_true(d.xml_pinned);
	assert_int_equal(virt_parse_xml("<domain><numatune><memnode cellid='0' mode='strict' "
	                                "nodeset='1'/></numatune></domain>", &d), 0);
	assert_true(d.numatune_static && d.numatune_strict);
	assert_true(d.mems_fixed);
	assert_true(idset_empty(&d.mem_nodes));
	assert_int_equal(virt_parse_xml("<domain><numatune><memory mode='interleave' "
	                                "nodeset='0-1,^1'/></numatune></domain>", &d), 0);
	assert_true(d.numatune_static);
	assert_false(d.numatune_strict);
	assert_false(d.mems_fixed);            /* interleave: no cgroup confinement */
	assert_true(idset_empty(&d.mem_nodes)); /* exclusion syntax: not parsed */
	assert_int_equal(virt_parse_xml("<network/>", &d), -EINVAL);
	assert_int_equal(virt_parse_xml("<domain><vcpu", &d), -EINVAL);
	assert_int_equal(virt_parse_xml("", &d), -EINVAL);
}

/* ---- the qemu PID ---- */

struct pidtree {
	char *dir;
	struct rt_root *r;
	char piddir[PATH_MAX];
};

static long hz(void)
{
	return sysconf(_SC_CLK_TCK);
}

/* A process PID started START seconds after a boot at BTIME, with ARGS. */
static void put_proc(const char *dir, int pid, long start, const char *args, size_t argslen)
{
	char rel[64], stat[512], path[PATH_MAX];
	FILE *f;

	snprintf(rel, sizeof(rel), "proc/%d/stat", pid);
	snprintf(stat, sizeof(stat), "%d (qemu-system-x86) S 1 %d %d 0 -1 4194560 100 0 0 0 "
	         "10 20 0 0 20 0 5 0 %ld 100000000 2000 18446744073709551615 1 1 0 0 0 0 0 "
	         "4096 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n", pid, pid, pid, start * hz());
	tt_put(dir, rel, stat);
	snprintf(path, sizeof(path), "%s/proc/%d/cmdline", dir, pid);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(args, 1, argslen, f), argslen);
	fclose(f);
}

static void put_pidfile(struct pidtree *t, const char *name, const char *text, time_t mtime)
{
	char rel[128], path[PATH_MAX];
	struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };

	snprintf(rel, sizeof(rel), "run/%s.pid", name);
	tt_put(t->dir, rel, text);
	snprintf(path, sizeof(path), "%s/%s", t->dir, rel);
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

#define BTIME 1700000000L
#define QEMU_ARGS(name) "/usr/bin/qemu-system-x86_64\0-name\0guest=" name ",debug-threads=on\0-S"

static int pid_setup(void **state)
{
	struct pidtree *t = calloc(1, sizeof(*t));

	t->dir = tt_copy(NULL);
	tt_put(t->dir, "proc/stat", "cpu  1 2 3 4 5 6 7 0 0 0\nbtime 1700000000\nprocesses 9\n");
	put_proc(t->dir, 4242, 500, QEMU_ARGS("plain"), sizeof(QEMU_ARGS("plain")));
	put_proc(t->dir, 4343, 900, QEMU_ARGS("plain"), sizeof(QEMU_ARGS("plain")));
	put_proc(t->dir, 4444, 500, QEMU_ARGS("plainer"), sizeof(QEMU_ARGS("plainer")));
	put_proc(t->dir, 4545, 500, QEMU_ARGS("a,,b"), sizeof(QEMU_ARGS("a,,b")));
	assert_int_equal(rt_open(t->dir, &t->r), 0);
	snprintf(t->piddir, sizeof(t->piddir), "%s/run", t->dir);
	*state = t;
	return 0;
}

static int pid_teardown(void **state)
{
	struct pidtree *t = *state;

	rt_close(t->r);
	tt_remove(t->dir);
	free(t);
	return 0;
}

static void test_check_pid(void **state)
{
	struct pidtree *t = *state;
	uint64_t st = 0;

	/* started at BTIME+500, pid file written a second later: ours */
	assert_int_equal(virt_check_pid(t->r, 4242, "plain", BTIME + 501, &st), 0);
	assert_int_equal(st, (uint64_t)(500 * hz()));
	/* a pid file older than the process: the PID was reused */
	assert_int_equal(virt_check_pid(t->r, 4343, "plain", BTIME + 501, &st), -ESRCH);
	/* "guest=plainer" is not "guest=plain" */
	assert_int_equal(virt_check_pid(t->r, 4444, "plain", BTIME + 501, &st), -ESRCH);
	/* qemu doubles commas in the name */
	assert_int_equal(virt_check_pid(t->r, 4545, "a,b", BTIME + 501, &st), 0);
	assert_int_equal(virt_check_pid(t->r, 4545, "a", BTIME + 501, &st), -ESRCH);
	/* no such process */
	assert_int_equal(virt_check_pid(t->r, 4646, "plain", BTIME + 501, &st), -ESRCH);
}

static void test_list_pid(void **state)
{
	struct pidtree *t = *state;
	struct virt *v = open_uri(URI_2CELL);
	struct virt_dom_list l;

	put_pidfile(t, "plain", "4242\n", BTIME + 501);
	put_pidfile(t, "cpuset", "4343", BTIME + 501);     /* reused PID */
	put_pidfile(t, "strict", "garbage\n", BTIME + 501);
	put_pidfile(t, "auto", "4242\n", BTIME + 501);     /* another domain's qemu */
	assert_int_equal(virt_list(v, t->r, t->piddir, &l), 0);
	assert_int_equal(find(&l, "plain")->pid, 4242);
	assert_int_equal(find(&l, "plain")->starttime, (uint64_t)(500 * hz()));
	assert_int_equal(find(&l, "cpuset")->pid, 0);
	assert_int_equal(find(&l, "cpuset")->starttime, 0);
	assert_int_equal(find(&l, "strict")->pid, 0);
	assert_int_equal(find(&l, "auto")->pid, 0);
	assert_int_equal(find(&l, "vcpupin")->pid, 0);      /* no pid file */
	virt_dom_list_free(&l);
	virt_close(v);
}

/* ---- the worker ---- */

#define MAX_SEEN 64

/* Only against a hang: every wait below ends on an event, the longest
 * (a 4 s backoff) in seconds. */
#define HANG_MS 60000

struct watch {
	sd_event *e;
	struct virtd *d;
	int n;
	struct virtd_event seen[MAX_SEEN];
	int64_t at[MAX_SEEN];           /* now_ms() when seen */
};

/* Whole ms of CLOCK_MONOTONIC, the clock of libvirt's (GLib's) timers. */
static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_change(void *data, const struct virtd_event *ev)
{
	struct watch *w = data;

	if (w->n == MAX_SEEN)
		return;
	w->at[w->n] = now_ms();
	w->seen[w->n++] = *ev;
}

/* Index of the first event from FROM on of KIND (and DOMAIN, DETAIL if given), or -1. */
static int seen(const struct watch *w, int from, enum virtd_kind kind, const char *domain,
                const char *detail)
{
	for (int i = from; i < w->n; i++)
		if (w->seen[i].kind == kind &&
		    (!domain || strcmp(w->seen[i].domain, domain) == 0) &&
		    (!detail || strcmp(w->seen[i].detail, detail) == 0))
			return i;
	return -1;
}

/* Runs the loop until such an event arrives; its index. */
static int wait_for(struct watch *w, int from, enum virtd_kind kind, const char *domain,
                    const char *detail)
{
	int64_t hang = now_ms() + HANG_MS;
	int i;

	while ((i = seen(w, from, kind, domain, detail)) < 0) {
		if (now_ms() > hang)
			fail_msg("no %s event (%s %s) in %d s", virtd_kind_name(kind),
			         domain ? domain : "", detail ? detail : "", HANG_MS / 1000);
		assert_true(sd_event_run(w->e, 100000) >= 0);
	}
	return i;
}

/* Runs the loop until the worker's list has domain NAME's vCPUs on CPUS
 * (it re-lists after pinning without an event of its own). */
static void wait_vcpus(struct watch *w, const char *name, const char *cpus)
{
	int64_t hang = now_ms() + HANG_MS;
	char got[256];

	for (;;) {
		struct virt_dom_list l;

		assert_int_equal(virtd_domains(w->d, &l), 0);
		assert_non_null(find(&l, name));
		assert_int_equal(idset_format(&find(&l, name)->vcpu_cpus, got, sizeof(got)), 0);
		virt_dom_list_free(&l);
		if (strcmp(got, cpus) == 0)
			return;
		if (now_ms() > hang)
			fail_msg("%s: vCPUs on %s, not %s, after %d s", name, got, cpus,
			         HANG_MS / 1000);
		assert_true(sd_event_run(w->e, 20000) >= 0);
	}
}

static struct watch *watch_start(const char *uri)
{
	struct watch *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	assert_int_equal(sd_event_new(&w->e), 0);
	assert_int_equal(virtd_start(w->e, uri, NULL, NULL, on_change, w, &w->d), 0);
	return w;
}

/* Stops the worker: it must end, not be left running. */
static void watch_stop(struct watch *w)
{
	assert_int_equal(virtd_stop(w->d), 0);
	sd_event_unref(w->e);
	free(w);
}

static const char evt_xml[] =
	"<domain type='test'><name>evt</name><memory unit='MiB'>128</memory>"
	"<vcpu>2</vcpu><os><type>hvm</type></os></domain>";

static void test_virtd_events(void **state)
{
	struct watch *w = watch_start("test:///default");
	struct virt *v = open_uri("test:///default");     /* same driver state */
	struct virt_dom_list l;
	virDomainPtr dom;
	int i;

	(void)state;
	i = wait_for(w, 0, VIRTD_CONNECTED, NULL, NULL);
	assert_int_equal(w->seen[i].ndomains, 1);          /* test:///default's "test" */
	assert_true(virtd_connected(w->d));
	assert_int_equal(virtd_domains(w->d, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.d[0].name, "test");
	virt_dom_list_free(&l);

	dom = virDomainCreateXML(virt_conn(v), evt_xml, 0);
	assert_non_null(dom);
	i = wait_for(w, i + 1, VIRTD_DOMAINS_CHANGED, "evt", "started");
	assert_int_equal(w->seen[i].ndomains, 2);
	assert_int_equal(virtd_domains(w->d, &l), 0);
	assert_int_equal(l.n, 2);
	assert_non_null(find(&l, "evt"));
	assert_int_equal(find(&l, "evt")->nvcpus, 2);
	assert_false(find(&l, "evt")->persistent);
	virt_dom_list_free(&l);

	assert_int_equal(virDomainDestroy(dom), 0);
	virDomainFree(dom);
	i = wait_for(w, i + 1, VIRTD_DOMAINS_CHANGED, "evt", "stopped");
	assert_int_equal(w->seen[i].ndomains, 1);
	assert_int_equal(virtd_domains(w->d, &l), 0);
	assert_null(find(&l, "evt"));
	virt_dom_list_free(&l);

	virtd_refresh(w->d);
	assert_true(wait_for(w, i + 1, VIRTD_DOMAINS_CHANGED, NULL, "refresh") > i);
	virt_close(v);
	watch_stop(w);
}

static void test_virtd_pin(void **state)
{
	struct watch *w = watch_start("test:///default");
	struct virt *v = open_uri("test:///default");
	struct idset cpus = set_of("1"), cpus2 = set_of("2-3");
	int i;

	(void)state;
	wait_for(w, 0, VIRTD_CONNECTED, NULL, NULL);
	assert_int_equal(virtd_pin(w->d, "test", &cpus), 0);
	assert_int_equal(virtd_pin(w->d, "nope", &cpus), 0);
	i = wait_for(w, 0, VIRTD_PIN_DONE, "test", NULL);
	assert_int_equal(w->seen[i].err, 0);
	assert_string_equal(w->seen[i].detail, "1");
	pin_info(v, "test", 2, "1");
	i = wait_for(w, 0, VIRTD_PIN_DONE, "nope", NULL);
	assert_int_equal(w->seen[i].err, -ENOENT);
	assert_non_null(strstr(w->seen[i].detail, "nope"));

	/* the list follows the pinning */
	assert_int_equal(virtd_pin(w->d, "test", &cpus2), 0);
	i = wait_for(w, i + 1, VIRTD_PIN_DONE, "test", NULL);
	assert_string_equal(w->seen[i].detail, "2-3");
	wait_vcpus(w, "test", "2-3");
	virt_close(v);
	watch_stop(w);
}

static void on_src_change(void *data)
{
	(*(int *)data)++;
}

/* Domain NAME in the source's list for a pass, or NULL. */
static const struct vms_domain *src_dom(struct vmsrc *s, const struct cfg *cfg,
                                        const char *name)
{
	const struct vms_domains *l = vmsrc_domains(s, cfg);

	for (int i = 0; l && i < l->n; i++)
		if (strcmp(l->d[i].name, name) == 0)
			return &l->d[i];
	return NULL;
}

/* Runs E until domain NAME's widening is answered; the list's entry. */
static const struct vms_domain *wait_widen(sd_event *e, struct vmsrc *s,
                                           const struct cfg *cfg, const char *name)
{
	int64_t hang = now_ms() + HANG_MS;
	const struct vms_domain *d;

	while ((d = src_dom(s, cfg, name)) && d->widen.state == VMS_WIDEN_QUEUED) {
		if (now_ms() > hang)
			fail_msg("%s: no answer to its widening in %d s", name, HANG_MS / 1000);
		assert_true(sd_event_run(e, 100000) >= 0);
	}
	assert_non_null(d);
	return d;
}

/* What became of a widening of a domain's memory nodes reaches the pass
 * (the balancer asks again when it did not take): queued at once, then
 * done, or failed with libvirt's error (an empty node set, which
 * virt_set_mems refuses). */
static void test_vmsrc_widen(void **state)
{
	struct idset nodes = set_of("0"), none = { 0 };
	const struct vms_domain *d;
	struct vmsrc *s = NULL;
	struct cfg cfg;
	sd_event *e = NULL;
	int changes = 0;
	int64_t hang = now_ms() + HANG_MS;

	(void)state;
	cfg_defaults(&cfg);
	snprintf(cfg.libvirt_uri, sizeof(cfg.libvirt_uri), "test:///default");
	assert_int_equal(sd_event_new(&e), 0);
	assert_int_equal(vmsrc_start(e, &cfg, NULL, on_src_change, &changes, &s), 0);
	while (changes == 0) {          /* connected and listed */
		if (now_ms() > hang)
			fail_msg("vmsrc: no domain list in %d s", HANG_MS / 1000);
		assert_true(sd_event_run(e, 100000) >= 0);
	}
	d = src_dom(s, &cfg, "test");
	assert_non_null(d);
	assert_int_equal(d->widen.state, VMS_WIDEN_NONE);

	assert_int_equal(vmsrc_set_mems(s, "test", &nodes), 0);
	assert_int_equal(src_dom(s, &cfg, "test")->widen.state, VMS_WIDEN_QUEUED);
	d = wait_widen(e, s, &cfg, "test");
	assert_int_equal(d->widen.state, VMS_WIDEN_DONE);
	assert_int_equal(d->widen.err, 0);

	assert_int_equal(vmsrc_set_mems(s, "test", &none), 0);
	d = wait_widen(e, s, &cfg, "test");
	assert_int_equal(d->widen.state, VMS_WIDEN_FAILED);
	assert_int_equal(d->widen.err, -EINVAL);
	vmsrc_stop(s);
	sd_event_unref(e);
}

/* A transient domain's live XML shows the daemon's own pinning as
 * <vcpupin>.  After a restart the daemon knows it from the state the one
 * before left (vmsrc_state_get, then _put): the domain stays managed while
 * it is the same domain (UUID), the same qemu (PID, start time) and pinned
 * exactly there.  Re-pinned by an admin, recreated under its name, or
 * another qemu: an admin's pinning, left alone.  No state: left alone. */
static void test_vmsrc_restart(void **state)
{
	static const char uuid[] = "9c1e3a4b-0f2d-4e5a-8b6c-7d8e9f0a1b2c";
	struct vms_domain listed = { .name = "web", .pid = 4300, .starttime = 777 };
	struct virt_dom live = { .name = "web", .pid = 4300, .starttime = 777,
	                         .xml_pinned = true };
	struct vmsrc before = { 0 }, after = { 0 }, blank = { 0 };
	struct st_data d = { 0 };
	const char *why = "its domain XML pins its vCPUs or emulator";
	struct cfg cfg;

	(void)state;
	cfg_defaults(&cfg);
	snprintf(listed.uuid, sizeof(listed.uuid), "%s", uuid);
	snprintf(live.uuid, sizeof(live.uuid), "%s", uuid);
	live.vcpu_cpus = set_of("2-3");
	before.dom = &listed;
	before.ndom = 1;
	remember(&before, "web", &live.vcpu_cpus);      /* as vmsrc_pin does */
	assert_null(leave_why(&before, &live, &cfg));
	assert_int_equal(vmsrc_state_get(&before, &d), 0);
	assert_int_equal(d.ndom, 1);
	assert_string_equal(d.dom[0].uuid, uuid);
	assert_int_equal(d.dom[0].pid, 4300);
	assert_int_equal(d.dom[0].starttime, 777);

	assert_int_equal(vmsrc_state_put(&after, &d), 0);
	assert_null(leave_why(&after, &live, &cfg));
	assert_non_null(strstr(leave_why(&blank, &live, &cfg), why));
	/* re-pinned by an admin: not ours any more */
	live.vcpu_cpus = set_of("3");
	assert_non_null(strstr(leave_why(&after, &live, &cfg), why));
	live.vcpu_cpus = set_of("2-3");
	/* destroyed and created again under the same name */
	live.uuid[0] = 'a';
	assert_non_null(strstr(leave_why(&after, &live, &cfg), why));
	live.uuid[0] = uuid[0];
	/* the same domain, another qemu */
	live.starttime = 778;
	assert_non_null(strstr(leave_why(&after, &live, &cfg), why));
	/* qemu unknown (libvirt's test driver has none): not compared */
	live.pid = 0;
	live.starttime = 0;
	assert_null(leave_why(&after, &live, &cfg));

	/* a domain gone from libvirt's list is forgotten */
	before.ndom = 0;
	prune(&before);
	st_free(&d);
	assert_int_equal(vmsrc_state_get(&before, &d), 0);
	assert_int_equal(d.ndom, 0);
	st_free(&d);
	free(before.pinned);
	free(after.pinned);
}

/* The backoff, 1 s doubling (virtd.h): each failed attempt reports the
 * delay it set before the next, and the next comes no sooner.  A timer
 * never fires early, so these lower bounds hold under any load; nothing
 * bounds how late an attempt may come.  The last backoff is longer than
 * virtd_stop waits: the worker ends in time only because the stop request
 * wakes it, not its timer. */
static void test_virtd_reconnect(void **state)
{
	static const int backoff_s[] = { 1, 2, 4, 8 };
	int64_t t0 = now_ms(), due = t0;
	struct watch *w = watch_start("test:///no/such/node.xml");
	struct idset cpus = set_of("0");
	struct virt_dom_list l;
	int i = -1;

	(void)state;
	for (int k = 0; k < 4; k++) {
		i = wait_for(w, i + 1, VIRTD_CONNECT_FAILED, NULL, NULL);
		if (w->at[i] < due)
			fail_msg("attempt %d after %lld ms, before its backoff ended (%lld ms)",
			         k + 1, (long long)(w->at[i] - t0), (long long)(due - t0));
		assert_int_equal(w->seen[i].repeated, k > 0);
		assert_int_equal(w->seen[i].retry_s, backoff_s[k]);
		assert_int_equal(seen(w, 0, VIRTD_CONNECTED, NULL, NULL), -1);
		assert_false(virtd_connected(w->d));
		assert_int_equal(virtd_domains(w->d, &l), -ENOTCONN);
		assert_int_equal(virtd_pin(w->d, "test", &cpus), -ENOTCONN);
		due += backoff_s[k] * 1000;
	}
	assert_true(backoff_s[3] > VIRTD_STOP_WAIT_S);
	watch_stop(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_2cell),
		cmocka_unit_test(test_list_numatune),
		cmocka_unit_test(test_long_name),
		cmocka_unit_test(test_pin_2cell),
		cmocka_unit_test(test_pin_errors),
		cmocka_unit_test(test_4cell),
		cmocka_unit_test(test_open_fails),
		cmocka_unit_test(test_parse_xml),
		cmocka_unit_test_setup_teardown(test_check_pid, pid_setup, pid_teardown),
		cmocka_unit_test_setup_teardown(test_list_pid, pid_setup, pid_teardown),
		cmocka_unit_test(test_virtd_events),
		cmocka_unit_test(test_virtd_pin),
		cmocka_unit_test(test_vmsrc_widen),
		cmocka_unit_test(test_vmsrc_restart),
		cmocka_unit_test(test_virtd_reconnect),
	};

	log_open(LOG_TARGET_STDERR, LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
