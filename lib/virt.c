/* virt.c - the libvirt adapter (see virt.h).
 *
 * libvirt's errors are thread-local; every failure copies the message into
 * a thread-local buffer and maps the error code onto an errno.  libvirt's
 * default error printing to stderr is replaced by a no-op once per process.
 */
#include "virt.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "num.h"
#include "proc.h"

#define PIDFILE_BUF 64
#define CMDLINE_LIMIT (1u << 20)
#define STAT_LIMIT (4u << 20)
#define PID_SLACK_S 2               /* btime is rounded to seconds and drifts */

struct virt {
	virConnectPtr conn;
	char *uri;
};

static __thread char last_error[512];
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void quiet_error(void *data, virErrorPtr err)
{
	(void)data;
	(void)err;
}

static void quiet_xml_error(void *data, const char *fmt, ...)
{
	(void)data;
	(void)fmt;
}

static void init_once_fn(void)
{
	virSetErrorFunc(NULL, quiet_error);
	xmlInitParser();
	xmlThrDefSetGenericErrorFunc(NULL, quiet_xml_error);
}

/* libxml2's error handler is per thread: set it in every calling thread. */
void virt_init(void)
{
	pthread_once(&init_once, init_once_fn);
	xmlSetGenericErrorFunc(NULL, quiet_xml_error);
}

const char *virt_last_error(void)
{
	return last_error;
}

static int code_errno(const virError *e)
{
	switch (e->code) {
	case VIR_ERR_SYSTEM_ERROR:
		if (e->int1 == ENOENT || e->int1 == ECONNREFUSED)
			return -ECONNREFUSED;
		return e->int1 > 0 ? -e->int1 : -EIO;
	case VIR_ERR_NO_CONNECT:
		return -ECONNREFUSED;
	case VIR_ERR_AUTH_FAILED:
	case VIR_ERR_AUTH_CANCELLED:
	case VIR_ERR_OPERATION_DENIED:
	case VIR_ERR_ACCESS_DENIED:
		return -EACCES;
	case VIR_ERR_NO_DOMAIN:
		return -ENOENT;
	case VIR_ERR_NO_SUPPORT:
		return -EOPNOTSUPP;
	case VIR_ERR_INVALID_ARG:
	case VIR_ERR_OPERATION_INVALID:
		return -EINVAL;
	case VIR_ERR_OPERATION_TIMEOUT:
		return -ETIMEDOUT;
	default:
		return -EIO;
	}
}

/* Records libvirt's last error of this thread; returns it as -errno. */
static int lv_error(const char *what)
{
	virErrorPtr e = virGetLastError();
	int ret = e ? code_errno(e) : -EIO;

	snprintf(last_error, sizeof(last_error), "%s: %s", what,
	         e && e->message ? e->message : "unknown libvirt error");
	virResetLastError();
	return ret;
}

int virt_open(const char *uri, struct virt **out)
{
	struct virt *v;

	virt_init();
	last_error[0] = '\0';
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->conn = virConnectOpen(uri);
	if (!v->conn) {
		free(v);
		return lv_error(uri ? uri : "default URI");
	}
	v->uri = virConnectGetURI(v->conn);
	if (!v->uri)
		v->uri = strdup(uri ? uri : "");
	*out = v;
	return 0;
}

void virt_close(struct virt *v)
{
	if (!v)
		return;
	if (v->conn)
		virConnectClose(v->conn);
	free(v->uri);
	free(v);
}

struct _virConnect *virt_conn(struct virt *v)
{
	return v->conn;
}

const char *virt_uri(const struct virt *v)
{
	return v->uri ? v->uri : "";
}

bool virt_alive(struct virt *v)
{
	return v->conn && virConnectIsAlive(v->conn) == 1;
}

/* ---- domain XML ---- */

/* The string value of XPath EXPR (wrapped in string()), malloc'd; NULL if empty. */
static char *xp_str(xmlXPathContextPtr ctx, const char *expr)
{
	char buf[256];
	xmlXPathObjectPtr o;
	char *s = NULL;

	snprintf(buf, sizeof(buf), "string(%s)", expr);
	o = xmlXPathEvalExpression((const xmlChar *)buf, ctx);
	if (o && o->type == XPATH_STRING && o->stringval && o->stringval[0])
		s = strdup((const char *)o->stringval);
	xmlXPathFreeObject(o);
	return s;
}

static bool xp_exists(xmlXPathContextPtr ctx, const char *expr)
{
	xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
	bool found = o && o->type == XPATH_NODESET && o->nodesetval &&
	             o->nodesetval->nodeNr > 0;

	xmlXPathFreeObject(o);
	return found;
}

static bool str_is(const char *s, const char *word)
{
	return s && strcmp(s, word) == 0;
}

static void parse_vcpu(xmlXPathContextPtr ctx, struct virt_dom *d)
{
	char *placement = xp_str(ctx, "/domain/vcpu/@placement");
	char *cpuset = xp_str(ctx, "/domain/vcpu/@cpuset");

	d->placement_auto = str_is(placement, "auto");
	d->xml_pinned = (cpuset && !d->placement_auto) ||
	                xp_exists(ctx, "/domain/cputune/vcpupin") ||
	                xp_exists(ctx, "/domain/cputune/emulatorpin") ||
	                xp_exists(ctx, "/domain/cputune/iothreadpin");
	free(placement);
	free(cpuset);
}

/* Without a placement attribute, numatune memory follows the vCPU placement;
 * a static placement needs a nodeset (libvirt refuses one without). */
static void parse_numatune(xmlXPathContextPtr ctx, struct virt_dom *d)
{
	char *placement = xp_str(ctx, "/domain/numatune/memory/@placement");
	char *mode = xp_str(ctx, "/domain/numatune/memory/@mode");
	char *nodeset = xp_str(ctx, "/domain/numatune/memory/@nodeset");

	if (str_is(placement, "auto"))
		d->placement_auto = true;
	d->numatune_static = !str_is(placement, "auto") &&
	                     (nodeset || xp_exists(ctx, "/domain/numatune/memnode"));
	d->numatune_strict = d->numatune_static &&
	                     (!mode || str_is(mode, "strict") || str_is(mode, "restrictive"));
	/* libvirt 9.0: "change of nodeset for running domain requires
	 * restrictive numa mode" (seen by tests/libvirt/check-libvirtd). */
	d->mems_fixed = (d->numatune_static || d->placement_auto) &&
	                (!mode || str_is(mode, "strict"));
	idset_clear(&d->mem_nodes);
	if (nodeset && idset_parse(&d->mem_nodes, nodeset) < 0)
		idset_clear(&d->mem_nodes);
	free(placement);
	free(mode);
	free(nodeset);
}

int virt_parse_xml(const char *xml, struct virt_dom *d)
{
	xmlDocPtr doc;
	xmlXPathContextPtr ctx;
	int ret = -EINVAL;

	virt_init();
	doc = xmlReadMemory(xml, (int)strnlen(xml, INT32_MAX), "domain.xml", NULL,
	                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc)
		return -EINVAL;
	ctx = xmlXPathNewContext(doc);
	if (ctx && xp_exists(ctx, "/domain")) {
		parse_vcpu(ctx, d);
		parse_numatune(ctx, d);
		ret = 0;
	}
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return ret;
}

/* ---- the qemu PID ---- */

/* Boot time, seconds since the epoch, from the btime line of stat. */
static int boot_time(const struct rt_root *r, int64_t *out)
{
	char *buf = NULL;
	ssize_t len = rt_read_alloc(r, RT_PROC, &buf, STAT_LIMIT, "stat");
	const char *p;
	uint64_t v;
	int ret = -EINVAL;

	if (len < 0)
		return (int)len;
	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, "btime ", 6) == 0) {
			const char *end;

			if (num_u64(p + 6, &end, &v) == 0 && v <= INT64_MAX &&
			    (*end == '\n' || *end == '\0')) {
				*out = (int64_t)v;
				ret = 0;
			}
			break;
		}
	}
	free(buf);
	return ret;
}

/* True if ARG is qemu's "guest=NAME" (commas doubled) alone or followed by ','. */
static bool guest_arg(const char *arg, const char *name)
{
	if (strncmp(arg, "guest=", 6) != 0)
		return false;
	arg += 6;
	for (; *name; name++) {
		if (*arg++ != *name)
			return false;
		if (*name == ',' && *arg++ != ',')
			return false;
	}
	return *arg == '\0' || (*arg == ',' && arg[1] != ',');
}

static int check_cmdline(const struct rt_root *r, pid_t pid, const char *name)
{
	char *buf = NULL;
	ssize_t len = rt_read_alloc(r, RT_PROC, &buf, CMDLINE_LIMIT, "%d/cmdline", (int)pid);
	bool found = false;

	if (len < 0)
		return len == -ENOENT ? -ESRCH : (int)len;
	for (const char *a = buf; a < buf + len && !found; a += strlen(a) + 1)
		found = guest_arg(a, name);
	free(buf);
	return found ? 0 : -ESRCH;
}

/* virt_check_pid with the boot time BTIME already read (once per list). */
static int check_pid_at(const struct rt_root *r, pid_t pid, const char *name,
                        int64_t pidfile_mtime, int64_t btime, uint64_t *starttime)
{
	struct proc_stat st;
	long hz = sysconf(_SC_CLK_TCK);
	int ret;

	if (pid <= 0 || hz <= 0)
		return -ESRCH;
	ret = proc_read_stat(r, pid, 0, &st);
	if (ret < 0)
		return ret == -ENOENT ? -ESRCH : ret;
	if (btime + (int64_t)(st.starttime / (uint64_t)hz) > pidfile_mtime + PID_SLACK_S)
		return -ESRCH;
	ret = check_cmdline(r, pid, name);
	if (ret < 0)
		return ret;
	*starttime = st.starttime;
	return 0;
}

/* PID_DIR/NAME.pid: the PID and the file's mtime; -ENOENT if absent. */
static int read_pidfile(const char *pid_dir, const char *name, pid_t *pid, int64_t *mtime)
{
	char path[4096], buf[PIDFILE_BUF];
	const char *end;
	struct stat sb;
	uint64_t v;
	ssize_t n;
	int fd, ret = -EINVAL;

	if (snprintf(path, sizeof(path), "%s/%s.pid", pid_dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	n = fstat(fd, &sb) < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		if (num_u64(buf, &end, &v) == 0 && v > 0 && v <= INT32_MAX &&
		    (*end == '\0' || *end == '\n')) {
			*pid = (pid_t)v;
			*mtime = (int64_t)sb.st_mtime;
			ret = 0;
		}
	}
	close(fd);
	return ret;
}

int virt_check_pid(const struct rt_root *r, pid_t pid, const char *name,
                   int64_t pidfile_mtime, uint64_t *starttime)
{
	int64_t btime = 0;
	int ret = boot_time(r, &btime);

	return ret < 0 ? ret : check_pid_at(r, pid, name, pidfile_mtime, btime, starttime);
}

/* BTIME < 0: the boot time is unknown, no PID can be checked. */
static void find_pid(const struct rt_root *r, const char *pid_dir, const char *name,
                     int64_t btime, struct virt_dom *d)
{
	pid_t pid;
	int64_t mtime;

	if (!pid_dir || !r || btime < 0 || read_pidfile(pid_dir, name, &pid, &mtime) < 0)
		return;
	if (check_pid_at(r, pid, name, mtime, btime, &d->starttime) == 0)
		d->pid = pid;
	else
		d->starttime = 0;
}

/* ---- listing ---- */

/* Host CPU count (highest id + 1) as libvirt's cpumaps count it. */
static int host_cpus(struct virt *v)
{
	int n = virNodeGetCPUMap(v->conn, NULL, NULL, 0);

	return n < 0 ? lv_error("virNodeGetCPUMap") : n;
}

static int read_vcpu_pins(virDomainPtr dom, int nvcpus, int ncpus, struct idset *out)
{
	int maplen = VIR_CPU_MAPLEN(ncpus);
	unsigned char *maps;
	int n;

	idset_clear(out);
	if (nvcpus <= 0)
		return 0;
	maps = calloc((size_t)nvcpus, (size_t)maplen);
	if (!maps)
		return -ENOMEM;
	n = virDomainGetVcpuPinInfo(dom, nvcpus, maps, maplen, VIR_DOMAIN_AFFECT_LIVE);
	if (n < 0)
		n = lv_error("virDomainGetVcpuPinInfo");
	for (int i = 0; i < n && i < nvcpus; i++)
		for (int c = 0; c < ncpus; c++)
			if (VIR_CPU_USED(VIR_GET_CPUMAP(maps, maplen, i), c))
				idset_add(out, c);
	free(maps);
	return n < 0 ? n : 0;
}

static void copy_name(struct virt_dom *d, const char *name)
{
	size_t len = strlen(name);

	d->name_truncated = len >= sizeof(d->name);
	snprintf(d->name, sizeof(d->name), "%s", name);
}

/* Fills D from DOM; -ENOENT/-EINVAL when it went away meanwhile. */
static int read_dom(virDomainPtr dom, int ncpus, struct virt_dom *d)
{
	virDomainInfo info;
	const char *name = virDomainGetName(dom);
	char *xml;
	int ret;

	memset(d, 0, sizeof(*d));
	if (!name || virDomainGetUUIDString(dom, d->uuid) < 0 ||
	    virDomainGetInfo(dom, &info) < 0)
		return lv_error("domain info");
	copy_name(d, name);
	d->id = (int)virDomainGetID(dom);
	d->nvcpus = info.nrVirtCpu;
	d->mem_kib = info.memory;
	/* our own live pinning shows in the live XML: judge the user's config */
	d->persistent = virDomainIsPersistent(dom) == 1;
	xml = virDomainGetXMLDesc(dom, d->persistent ? VIR_DOMAIN_XML_INACTIVE : 0);
	if (!xml)
		return lv_error(name);
	ret = virt_parse_xml(xml, d);
	free(xml);
	if (ret < 0) {
		snprintf(last_error, sizeof(last_error), "%s: unreadable domain XML", name);
		return ret;
	}
	ret = read_vcpu_pins(dom, d->nvcpus, ncpus, &d->vcpu_cpus);
	return ret == -EOPNOTSUPP ? 0 : ret;
}

static int cmp_dom(const void *a, const void *b)
{
	const struct virt_dom *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* A domain that stopped or vanished between the list and the read. */
static bool gone_meanwhile(int err)
{
	return err == -ENOENT || err == -EINVAL;
}

static int fill_list(struct virt *v, const struct rt_root *r, const char *pid_dir,
                     virDomainPtr *doms, int n, struct virt_dom_list *out)
{
	int ncpus = host_cpus(v);
	int64_t btime = -1;
	int ret = 0;

	if (ncpus < 0)
		return ncpus;
	if (r && pid_dir && boot_time(r, &btime) < 0)
		btime = -1;
	for (int i = 0; i < n && ret == 0; i++) {
		struct virt_dom *d = &out->d[out->n];
		int err = read_dom(doms[i], ncpus, d);

		if (err == 0) {
			find_pid(r, pid_dir, virDomainGetName(doms[i]), btime, d);
			out->n++;
		} else if (!gone_meanwhile(err)) {
			ret = err;
		}
	}
	return ret;
}

int virt_list(struct virt *v, const struct rt_root *r, const char *pid_dir,
              struct virt_dom_list *out)
{
	virDomainPtr *doms = NULL;
	int n, ret;

	memset(out, 0, sizeof(*out));
	n = virConnectListAllDomains(v->conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	if (n < 0)
		return lv_error("virConnectListAllDomains");
	out->d = calloc(n > 0 ? (size_t)n : 1, sizeof(*out->d));
	ret = out->d ? fill_list(v, r, pid_dir, doms, n, out) : -ENOMEM;
	for (int i = 0; i < n; i++)
		virDomainFree(doms[i]);
	free(doms);
	if (ret < 0) {
		virt_dom_list_free(out);
		return ret;
	}
	qsort(out->d, (size_t)out->n, sizeof(*out->d), cmp_dom);
	return 0;
}

void virt_dom_list_free(struct virt_dom_list *l)
{
	free(l->d);
	l->d = NULL;
	l->n = 0;
}

/* ---- pinning ---- */

static virDomainPtr lookup(struct virt *v, const char *name)
{
	virDomainPtr dom = virDomainLookupByName(v->conn, name);

	if (!dom && strlen(name) == VIRT_UUID_LEN - 1) {
		virResetLastError();
		dom = virDomainLookupByUUIDString(v->conn, name);
	}
	return dom;
}

/* CPUS as a cpumap of NCPUS bits (malloc'd); -EINVAL if empty or beyond. */
static int make_map(const struct idset *cpus, int ncpus, unsigned char **map, int *maplen)
{
	int last = -1;

	IDSET_FOREACH(c, cpus)
		last = c;
	if (last < 0 || last >= ncpus) {
		snprintf(last_error, sizeof(last_error), "CPU set %s the host's %d CPUs",
		         last < 0 ? "empty, not within" : "beyond", ncpus);
		return -EINVAL;
	}
	*maplen = VIR_CPU_MAPLEN(ncpus);
	*map = calloc(1, (size_t)*maplen);
	if (!*map)
		return -ENOMEM;
	IDSET_FOREACH(c, cpus)
		VIR_USE_CPU(*map, c);
	return 0;
}

static int pin_iothreads(virDomainPtr dom, unsigned char *map, int maplen)
{
	virDomainIOThreadInfoPtr *info = NULL;
	int n = virDomainGetIOThreadInfo(dom, &info, VIR_DOMAIN_AFFECT_LIVE);
	int ret = 0;

	if (n < 0) {
		ret = lv_error("virDomainGetIOThreadInfo");
		return ret == -EOPNOTSUPP ? 0 : ret;
	}
	for (int i = 0; i < n; i++) {
		if (ret == 0 && virDomainPinIOThread(dom, info[i]->iothread_id, map, maplen,
		                                     VIR_DOMAIN_AFFECT_LIVE) < 0)
			ret = lv_error("virDomainPinIOThread");
		virDomainIOThreadInfoFree(info[i]);
	}
	free(info);
	return ret;
}

/* Drivers that reject the live flag (the test driver) take the legacy call,
 * which libvirt documents as changing the live state. */
static int pin_vcpu(virDomainPtr dom, unsigned int vcpu, unsigned char *map, int maplen)
{
	virErrorPtr e;

	if (virDomainPinVcpuFlags(dom, vcpu, map, maplen, VIR_DOMAIN_AFFECT_LIVE) == 0)
		return 0;
	e = virGetLastError();
	if (!e || e->code != VIR_ERR_INVALID_ARG)
		return lv_error("virDomainPinVcpuFlags");
	virResetLastError();
	if (virDomainPinVcpu(dom, vcpu, map, maplen) < 0)
		return lv_error("virDomainPinVcpu");
	return 0;
}

static int pin_dom(virDomainPtr dom, unsigned char *map, int maplen)
{
	int ret;

	virDomainInfo info;

	if (virDomainGetInfo(dom, &info) < 0)
		return lv_error("virDomainGetInfo");
	for (unsigned int i = 0; i < info.nrVirtCpu; i++) {
		ret = pin_vcpu(dom, i, map, maplen);
		if (ret < 0)
			return ret;
	}
	if (virDomainPinEmulator(dom, map, maplen, VIR_DOMAIN_AFFECT_LIVE) < 0) {
		ret = lv_error("virDomainPinEmulator");
		if (ret != -EOPNOTSUPP)
			return ret;
	}
	return pin_iothreads(dom, map, maplen);
}

int virt_pin(struct virt *v, const char *name, const struct idset *cpus)
{
	unsigned char *map = NULL;
	int maplen = 0, ret;
	int ncpus = host_cpus(v);
	virDomainPtr dom;

	last_error[0] = '\0';
	if (ncpus < 0)
		return ncpus;
	ret = make_map(cpus, ncpus, &map, &maplen);
	if (ret < 0)
		return ret;
	dom = lookup(v, name);
	if (!dom) {
		free(map);
		return lv_error(name);
	}
	ret = pin_dom(dom, map, maplen);
	virDomainFree(dom);
	free(map);
	return ret;
}

int virt_set_mems(struct virt *v, const char *name, const struct idset *nodes)
{
	char list[256];
	virTypedParameter p;
	virDomainPtr dom;
	int ret;

	last_error[0] = '\0';
	if (idset_empty(nodes) || idset_format(nodes, list, sizeof(list)) < 0)
		return -EINVAL;
	memset(&p, 0, sizeof(p));
	snprintf(p.field, sizeof(p.field), "%s", VIR_DOMAIN_NUMA_NODESET);
	p.type = VIR_TYPED_PARAM_STRING;
	p.value.s = list;
	dom = lookup(v, name);
	if (!dom)
		return lv_error(name);
	ret = virDomainSetNumaParameters(dom, &p, 1, VIR_DOMAIN_AFFECT_LIVE) < 0 ?
	      lv_error(name) : 0;
	virDomainFree(dom);
	return ret;
}
