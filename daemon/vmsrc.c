/* vmsrc.c - libvirt's domains or processes: the VM source of each pass. */
#include "vmsrc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "virtd.h"

#define DESCRIBE_LEN 384

/* A domain this daemon pinned, and which qemu it was (UUID, PID and
 * start time; unknown ones are not compared). */
struct pinned {
	char name[VM_NAME_LEN];
	char uuid[VMS_UUID_LEN];
	pid_t pid;
	uint64_t starttime;
	struct idset cpus;
};

/* The last widening of a domain's memory nodes asked of the worker. */
struct widened {
	char name[VM_NAME_LEN];
	struct vms_widening w;
};

struct vmsrc {
	sd_event *e;
	const struct rt_root *r;
	vmsrc_change_fn *fn;
	void *data;
	char uri[sizeof(((struct cfg *)0)->libvirt_uri)];
	struct virtd *virtd;            /* NULL: processes only */
	bool listed;                    /* libvirt answered at least once */
	bool fallback_said;             /* "managing processes meanwhile" logged */
	struct pinned *pinned;          /* domains this daemon pinned, and where */
	int npinned;
	struct widened *widened;        /* what became of each domain's last widening */
	int nwidened;
	struct vms_domain *dom;         /* the last list libvirt gave */
	int ndom;
	struct vms_domains view;
	char describe[DESCRIBE_LEN];
};

static struct pinned *find_pinned(const struct vmsrc *s, const char *name)
{
	for (int i = 0; i < s->npinned; i++)
		if (strcmp(s->pinned[i].name, name) == 0)
			return &s->pinned[i];
	return NULL;
}

/* True if D's vCPU pinning is what this daemon set: a transient domain
 * has only its live XML, where our own pinning shows as <vcpupin>.  The
 * same domain (UUID) and the same qemu (PID, start time), where known. */
static bool pinned_by_us(const struct vmsrc *s, const struct virt_dom *d)
{
	const struct pinned *p = find_pinned(s, d->name);

	if (!p || !idset_equal(&p->cpus, &d->vcpu_cpus))
		return false;
	if (p->uuid[0] && d->uuid[0] && strcmp(p->uuid, d->uuid) != 0)
		return false;
	return !p->starttime || !d->starttime ||
	       (p->pid == d->pid && p->starttime == d->starttime);
}

/* Why domain D's XML keeps it out of our hands, or NULL.  A domain with
 * placement='auto' asked for a placement (numad -w) and is managed, as
 * long as libvirt can widen its memory nodes for a move. */
static const char *leave_why(const struct vmsrc *s, const struct virt_dom *d,
                             const struct cfg *cfg)
{
	if (cfg->manage_pinned_domains)
		return NULL;
	/* Its vCPUs could move, its memory could not follow. */
	if (d->mems_fixed)
		return "libvirt fixes its memory nodes (<numatune> mode strict) and cannot "
		       "change them while it runs; mode='restrictive' can be (manage_pinned_domains = no)";
	if (d->placement_auto)
		return NULL;
	if (d->xml_pinned && !pinned_by_us(s, d))
		return "its domain XML pins its vCPUs or emulator (manage_pinned_domains = no)";
	if (d->numatune_static)
		return "its domain XML fixes its memory nodes with <numatune> (manage_pinned_domains = no)";
	return NULL;
}

static struct widened *find_widened(const struct vmsrc *s, const char *name)
{
	for (int i = 0; i < s->nwidened; i++)
		if (strcmp(s->widened[i].name, name) == 0)
			return &s->widened[i];
	return NULL;
}

/* Records that domain NAME's widening is now in state W; dropped when
 * memory runs out (the balancer then asks again after its wait). */
static void set_widened(struct vmsrc *s, const char *name, const struct vms_widening *w)
{
	struct widened *p = find_widened(s, name);

	if (!p) {
		p = realloc(s->widened, (size_t)(s->nwidened + 1) * sizeof(*p));
		if (!p)
			return;
		s->widened = p;
		p = &s->widened[s->nwidened++];
		snprintf(p->name, sizeof(p->name), "%s", name);
	}
	p->w = *w;
}

static bool listed(const struct vmsrc *s, const char *name)
{
	for (int j = 0; j < s->ndom; j++)
		if (strcmp(s->dom[j].name, name) == 0)
			return true;
	return false;
}

/* Forgets the widenings and the pinning of domains no longer in the kept
 * list (a domain started again is another qemu). */
static void prune(struct vmsrc *s)
{
	int k = 0;

	for (int i = 0; i < s->nwidened; i++)
		if (listed(s, s->widened[i].name))
			s->widened[k++] = s->widened[i];
	s->nwidened = k;
	k = 0;
	for (int i = 0; i < s->npinned; i++)
		if (listed(s, s->pinned[i].name))
			s->pinned[k++] = s->pinned[i];
	s->npinned = k;
}

/* A VIRTD_MEMS_DONE: the answer to the widening asked last for its domain. */
static void widen_done(struct vmsrc *s, const struct virtd_event *ev)
{
	struct vms_widening w = { .state = VMS_WIDEN_DONE };

	if (!find_widened(s, ev->domain))
		return;         /* asked of a worker since stopped, or pruned */
	if (ev->err < 0) {
		w.state = VMS_WIDEN_FAILED;
		w.err = ev->err;
		snprintf(w.detail, sizeof(w.detail), "%s", ev->detail);
	}
	set_widened(s, ev->domain, &w);
}

/* Replaces the kept list with the worker's latest; false if it had none. */
static bool take_list(struct vmsrc *s, const struct cfg *cfg)
{
	struct virt_dom_list l = { 0 };
	struct vms_domain *nd;

	if (virtd_domains(s->virtd, &l) < 0)
		return false;
	nd = calloc(l.n ? l.n : 1, sizeof(*nd));
	if (!nd) {
		virt_dom_list_free(&l);
		return false;
	}
	for (int i = 0; i < l.n; i++) {
		snprintf(nd[i].name, sizeof(nd[i].name), "%s", l.d[i].name);
		snprintf(nd[i].uuid, sizeof(nd[i].uuid), "%s", l.d[i].uuid);
		nd[i].pid = l.d[i].pid;
		nd[i].starttime = l.d[i].starttime;
		nd[i].nvcpus = l.d[i].nvcpus;
		nd[i].leave_why = leave_why(s, &l.d[i], cfg);
	}
	free(s->dom);
	s->dom = nd;
	s->ndom = l.n;
	virt_dom_list_free(&l);
	prune(s);
	return true;
}

static void on_virtd(void *data, const struct virtd_event *ev)
{
	struct vmsrc *s = data;

	switch (ev->kind) {
	case VIRTD_CONNECTED:
	case VIRTD_DOMAINS_CHANGED:
		s->listed = true;
		s->fn(s->data);
		break;
	case VIRTD_CONNECT_FAILED:
		if (!s->listed && !s->fallback_said) {
			log_notice("libvirt %s is not reachable: managing processes named "
				   "by process_names until it answers", s->uri);
			s->fallback_said = true;
		}
		break;
	case VIRTD_LOST:
		if (s->listed)
			log_notice("libvirt %s lost: keeping its last %d domain(s) and "
				   "their placement; pinning waits for the reconnection",
				   s->uri, s->ndom);
		break;
	case VIRTD_MEMS_DONE:
		widen_done(s, ev);
		break;
	case VIRTD_PIN_DONE:
		break;
	}
}

static int start_virtd(struct vmsrc *s, const struct cfg *cfg)
{
	int r;

	snprintf(s->uri, sizeof(s->uri), "%s", cfg->libvirt_uri);
	s->listed = s->fallback_said = false;
	free(s->dom);
	s->dom = NULL;
	s->ndom = 0;
	/* A new worker never answers the old one's requests. */
	free(s->widened);
	s->widened = NULL;
	s->nwidened = 0;
	if (!s->uri[0]) {
		log_info("libvirt_uri is empty: VMs are processes named by process_names");
		return 0;
	}
	if (s->virtd)
		return 0;       /* vmsrc_reconfigure started it */
	r = virtd_start(s->e, s->uri, s->r, KN_LIBVIRT_PID_DIR, on_virtd, s, &s->virtd);
	if (r < 0)
		log_err("cannot start the libvirt worker for %s: %s; managing processes "
			"instead", s->uri, strerror(-r));
	return r;
}

int vmsrc_start(sd_event *e, const struct cfg *cfg, const struct rt_root *r,
                vmsrc_change_fn *fn, void *data, struct vmsrc **out)
{
	struct vmsrc *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->e = e;
	s->r = r;
	s->fn = fn;
	s->data = data;
	start_virtd(s, cfg);
	*out = s;
	return 0;
}

int vmsrc_reconfigure(struct vmsrc *s, const struct cfg *cfg)
{
	struct virtd *fresh = NULL;
	int r;

	if (strcmp(s->uri, cfg->libvirt_uri) == 0)
		return 0;
	/* The new worker first: one that cannot start leaves the old source. */
	if (cfg->libvirt_uri[0]) {
		r = virtd_start(s->e, cfg->libvirt_uri, s->r, KN_LIBVIRT_PID_DIR, on_virtd,
				s, &fresh);
		if (r < 0)
			return r;
	}
	log_notice("libvirt_uri changed from '%s' to '%s'", s->uri, cfg->libvirt_uri);
	virtd_stop(s->virtd);
	s->virtd = fresh;
	return start_virtd(s, cfg);
}

const struct vms_domains *vmsrc_domains(struct vmsrc *s, const struct cfg *cfg)
{
	if (!s->virtd)
		return NULL;
	if (!take_list(s, cfg) && !s->listed)
		return NULL;
	for (int i = 0; i < s->ndom; i++) {
		const struct widened *w = find_widened(s, s->dom[i].name);

		s->dom[i].widen = w ? w->w : (struct vms_widening){ .state = VMS_WIDEN_NONE };
	}
	/* Not connected now: the list libvirt gave last. */
	s->view.n = s->ndom;
	s->view.d = s->dom;
	return &s->view;
}

/* Adds an entry for domain NAME to the pinned list; NULL when memory
 * runs out (its pinning then looks like an admin's). */
static struct pinned *add_pinned(struct vmsrc *s, const char *name)
{
	struct pinned *p = realloc(s->pinned, (size_t)(s->npinned + 1) * sizeof(*p));

	if (!p)
		return NULL;
	s->pinned = p;
	p = &s->pinned[s->npinned++];
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	return p;
}

/* Remembers that NAME, the qemu of the kept list, was pinned to CPUS (the
 * daemon after this one learns it from vmsrc_state_get). */
static void remember(struct vmsrc *s, const char *name, const struct idset *cpus)
{
	struct pinned *p = find_pinned(s, name);

	if (!p && !(p = add_pinned(s, name)))
		return;
	p->cpus = *cpus;
	p->uuid[0] = '\0';
	p->pid = 0;
	p->starttime = 0;
	for (int i = 0; i < s->ndom; i++) {
		if (strcmp(s->dom[i].name, name) != 0)
			continue;
		snprintf(p->uuid, sizeof(p->uuid), "%s", s->dom[i].uuid);
		p->pid = s->dom[i].pid;
		p->starttime = s->dom[i].starttime;
	}
}

int vmsrc_pin(void *ctx, const char *name, const struct idset *cpus)
{
	struct vmsrc *s = ctx;
	int r = s->virtd ? virtd_pin(s->virtd, name, cpus) : -ENOTCONN;

	if (r >= 0)
		remember(s, name, cpus);
	return r;
}

int vmsrc_set_mems(void *ctx, const char *name, const struct idset *nodes)
{
	static const struct vms_widening queued = { .state = VMS_WIDEN_QUEUED };
	struct vmsrc *s = ctx;
	int r = s->virtd ? virtd_set_mems(s->virtd, name, nodes) : -ENOTCONN;

	if (r >= 0)
		set_widened(s, name, &queued);
	return r;
}

int vmsrc_state_get(const struct vmsrc *s, struct st_data *d)
{
	for (int i = 0; i < s->npinned; i++) {
		const struct pinned *p = &s->pinned[i];
		struct st_dom e = { .pid = p->pid, .starttime = p->starttime, .cpus = p->cpus };
		int r;

		snprintf(e.name, sizeof(e.name), "%s", p->name);
		snprintf(e.uuid, sizeof(e.uuid), "%s", p->uuid);
		r = st_add_dom(d, &e);
		if (r < 0)
			return r;
	}
	return 0;
}

int vmsrc_state_put(struct vmsrc *s, const struct st_data *d)
{
	for (int i = 0; i < d->ndom; i++) {
		const struct st_dom *e = &d->dom[i];
		struct pinned *p = find_pinned(s, e->name);

		if (!p && !(p = add_pinned(s, e->name)))
			return -ENOMEM;
		snprintf(p->uuid, sizeof(p->uuid), "%s", e->uuid);
		p->pid = e->pid;
		p->starttime = e->starttime;
		p->cpus = e->cpus;
	}
	return 0;
}

const char *vmsrc_describe(struct vmsrc *s)
{
	if (!s->virtd)
		snprintf(s->describe, sizeof(s->describe), "processes");
	else if (virtd_connected(s->virtd))
		snprintf(s->describe, sizeof(s->describe), "libvirt %s (%d domain(s))",
			 s->uri, s->ndom);
	else if (s->listed)
		snprintf(s->describe, sizeof(s->describe), "libvirt %s (reconnecting; "
			 "its last %d domain(s) kept)", s->uri, s->ndom);
	else
		snprintf(s->describe, sizeof(s->describe), "processes (libvirt %s not "
			 "reachable)", s->uri);
	return s->describe;
}

void vmsrc_refresh(struct vmsrc *s)
{
	if (s->virtd)
		virtd_refresh(s->virtd);
}

void vmsrc_stop(struct vmsrc *s)
{
	if (!s)
		return;
	virtd_stop(s->virtd);
	free(s->dom);
	free(s->pinned);
	free(s->widened);
	free(s);
}
