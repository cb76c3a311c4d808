/* virt_probe - drives lib/virt.c and daemon/virtd.c against a real libvirtd.
 *
 *   virt_probe [-c URI] [-p PIDDIR] list          one line per active domain
 *   virt_probe [-c URI] pin DOMAIN CPULIST        pins through virt_pin
 *   virt_probe [-c URI] mems DOMAIN NODELIST      memory nodes through virt_set_mems
 *   virt_probe [-c URI] [-p PIDDIR] watch [SECS]  runs virtd, one line per event
 *
 * Used by tests/libvirt/check-libvirtd; exit 0 on success, 1 on failure.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "idset.h"
#include "log.h"
#include "root.h"
#include "virt.h"
#include "virtd.h"

static void print_dom(const char *prefix, const struct virt_dom *d)
{
	char cpus[256], nodes[256];

	idset_format(&d->vcpu_cpus, cpus, sizeof(cpus));
	idset_format(&d->mem_nodes, nodes, sizeof(nodes));
	printf("%sname=%s uuid=%s pid=%d starttime=%llu nvcpus=%d mem_kib=%llu persistent=%d "
	       "xml_pinned=%d numatune_static=%d numatune_strict=%d placement_auto=%d "
	       "mems_fixed=%d mem_nodes=%s vcpu_cpus=%s\n", prefix, d->name, d->uuid,
	       (int)d->pid, (unsigned long long)d->starttime, d->nvcpus,
	       (unsigned long long)d->mem_kib, d->persistent, d->xml_pinned,
	       d->numatune_static, d->numatune_strict, d->placement_auto, d->mems_fixed,
	       nodes[0] ? nodes : "-", cpus[0] ? cpus : "-");
}

static int do_list(const char *uri, const char *pid_dir, const struct rt_root *r)
{
	struct virt_dom_list l;
	struct virt *v;
	int ret = virt_open(uri, &v);

	if (ret < 0) {
		fprintf(stderr, "virt_probe: %s (%s)\n", virt_last_error(), strerror(-ret));
		return 1;
	}
	ret = virt_list(v, r, pid_dir, &l);
	if (ret < 0)
		fprintf(stderr, "virt_probe: %s (%s)\n", virt_last_error(), strerror(-ret));
	for (int i = 0; ret == 0 && i < l.n; i++)
		print_dom("", &l.d[i]);
	if (ret == 0)
		virt_dom_list_free(&l);
	virt_close(v);
	return ret < 0;
}

/* pin: virt_pin to the CPUs in LIST; mems: virt_set_mems to the nodes. */
static int do_pin(const char *uri, const char *name, const char *list, bool mems)
{
	struct idset cpus;
	struct virt *v;
	int ret;

	if (idset_parse(&cpus, list) < 0) {
		fprintf(stderr, "virt_probe: bad list %s\n", list);
		return 1;
	}
	ret = virt_open(uri, &v);
	if (ret == 0) {
		ret = mems ? virt_set_mems(v, name, &cpus) : virt_pin(v, name, &cpus);
		virt_close(v);
	}
	if (ret < 0)
		fprintf(stderr, "virt_probe: %s (%s)\n", virt_last_error(), strerror(-ret));
	return ret < 0;
}

struct watch {
	struct virtd *d;
};

static void on_change(void *data, const struct virtd_event *ev)
{
	struct watch *w = data;
	struct virt_dom_list l;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	printf("%lld.%03ld %s domain=%s detail=%s err=%d ndomains=%d retry_s=%d\n",
	       (long long)ts.tv_sec, ts.tv_nsec / 1000000, virtd_kind_name(ev->kind),
	       ev->domain[0] ? ev->domain : "-", ev->detail[0] ? ev->detail : "-",
	       ev->err, ev->ndomains, ev->retry_s);
	if (virtd_domains(w->d, &l) == 0) {
		for (int i = 0; i < l.n; i++)
			print_dom("  ", &l.d[i]);
		virt_dom_list_free(&l);
	}
	fflush(stdout);
}

static int on_quit(sd_event_source *s, uint64_t usec, void *data)
{
	(void)usec;
	(void)data;
	return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int do_watch(const char *uri, const char *pid_dir, const struct rt_root *r, int secs)
{
	struct watch w = { 0 };
	sd_event *e = NULL;
	sigset_t ss;
	uint64_t now;
	int ret;

	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	ret = sd_event_default(&e);
	if (ret >= 0)
		ret = sd_event_add_signal(e, NULL, SIGTERM, NULL, NULL);
	if (ret >= 0)
		ret = sd_event_add_signal(e, NULL, SIGINT, NULL, NULL);
	if (ret >= 0 && secs > 0 && sd_event_now(e, CLOCK_MONOTONIC, &now) >= 0)
		ret = sd_event_add_time(e, NULL, CLOCK_MONOTONIC,
		                        now + (uint64_t)secs * 1000000, 0, on_quit, NULL);
	if (ret >= 0)
		ret = virtd_start(e, uri, r, pid_dir, on_change, &w, &w.d);
	if (ret >= 0)
		ret = sd_event_loop(e);
	virtd_stop(w.d);
	sd_event_unref(e);
	if (ret < 0)
		fprintf(stderr, "virt_probe: watch: %s\n", strerror(-ret));
	return ret < 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: virt_probe [-c URI] [-p PIDDIR] list | pin DOMAIN CPUS | "
	        "mems DOMAIN NODES | watch [SECONDS]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *uri = NULL, *pid_dir = NULL;
	struct rt_root *r;
	int opt, ret;

	while ((opt = getopt(argc, argv, "c:p:")) != -1) {
		if (opt == 'c')
			uri = optarg;
		else if (opt == 'p')
			pid_dir = optarg;
		else
			return usage();
	}
	if (optind >= argc)
		return usage();
	log_open(LOG_TARGET_STDERR, LOG_DEBUG);
	if (rt_open(NULL, &r) < 0)
		return 1;
	if (strcmp(argv[optind], "list") == 0)
		ret = do_list(uri, pid_dir, r);
	else if (strcmp(argv[optind], "pin") == 0 && optind + 2 < argc)
		ret = do_pin(uri, argv[optind + 1], argv[optind + 2], false);
	else if (strcmp(argv[optind], "mems") == 0 && optind + 2 < argc)
		ret = do_pin(uri, argv[optind + 1], argv[optind + 2], true);
	else if (strcmp(argv[optind], "watch") == 0)
		ret = do_watch(uri, pid_dir, r, optind + 1 < argc ? atoi(argv[optind + 1]) : 0);
	else
		ret = usage();
	rt_close(r);
	return ret;
}
