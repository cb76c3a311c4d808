/* simhost.c - the synthetic host of the simulation tier (see simhost.h).
 *
 * Addresses: VM id's pages live at (id + 1) << 40; its 2 MiB pages from
 * there, its KSM mappings from KSM_OFF on (4 KiB each).  The dry-run
 * backend's answer callback decodes them back, so a mover that sent an
 * address of another VM, a tail page or a page out of range is caught.
 */
#include "simhost.h"

#include <errno.h>
#include <inttypes.h>
#include <numaif.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"

#define VM_SHIFT 40
#define KSM_OFF (1ull << 39)
#define THP_BYTES (SIM_THP_KIB * 1024ull)
#define PID_BASE 20000
#define WATERMARK_KIB (64u * 1024u)     /* first touch falls back below this */
#define MAX_STEPS 1000000               /* per job and interval: a stuck engine */
#define LIST_LEN 128

struct sim_ctx sim_ctx;

void sim_fail(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	printf("FAIL %s seed=%" PRIu64 " interval=%ld: ", sim_ctx.scenario ? sim_ctx.scenario : "?",
	       sim_ctx.seed, sim_ctx.interval);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(1);
}

/* ---- randomness ---- */

void sim_rng_seed(struct sim_rng *r, uint64_t seed)
{
	r->s = seed;
}

uint64_t sim_rand(struct sim_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

double sim_uniform(struct sim_rng *r)
{
	return (double)(sim_rand(r) >> 11) / (double)(1ull << 53);
}

int sim_range(struct sim_rng *r, int lo, int hi)
{
	return lo + (int)(sim_rand(r) % (uint64_t)(hi - lo + 1));
}

/* ---- lookups ---- */

static const char *fmt_set(const struct idset *s, char *buf)
{
	if (idset_empty(s))
		return "-";
	idset_format(s, buf, LIST_LEN);
	return buf;
}

int sim_node_index(const struct sim_host *h, int id)
{
	for (int i = 0; i < h->nnodes; i++)
		if (h->node[i].id == id)
			return i;
	return -1;
}

static struct sim_vm *find_id(const struct sim_host *h, int id)
{
	int lo = 0, hi = h->nvms - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;

		if (h->vm[mid]->id == id)
			return h->vm[mid];
		if (h->vm[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

static uint64_t vm_base(const struct sim_vm *vm)
{
	return (uint64_t)(vm->id + 1) << VM_SHIFT;
}

uint64_t sim_free_kib(const struct sim_host *h, int i)
{
	const struct sim_node *n = &h->node[i];

	return n->total_kib > n->used_kib ? n->total_kib - n->used_kib : 0;
}

/* Records the first violation seen inside an engine callback. */
static void note(struct sim_host *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(struct sim_host *h, const char *fmt, ...)
{
	va_list ap;

	if (h->err[0])
		return;
	va_start(ap, fmt);
	vsnprintf(h->err, sizeof(h->err), fmt, ap);
	va_end(ap);
}

/* ---- the engine's view: windows, answers, free memory ---- */

static int window_room(struct pm_window *w, int n)
{
	void *q;

	if (n <= w->cap)
		return 0;
	q = realloc(w->page, sizeof(*w->page) * (size_t)n);
	if (!q)
		return -ENOMEM;
	w->page = q;
	w->cap = n;
	return 0;
}

static void fill_thp(const struct sim_vm *vm, int first, int max, struct pm_window *w)
{
	uint64_t base = vm_base(vm);
	int n = vm->nthp - first < max ? vm->nthp - first : max;

	for (int i = 0; i < n; i++) {
		bool present = vm->thp[first + i] >= 0;

		w->page[i] = (struct pm_page){
			.addr = base + (uint64_t)(first + i) * THP_BYTES,
			.mapcount = present ? 1 : 0, .pages = 512,
			.kind = present ? PM_THP : PM_ABSENT,
		};
	}
	w->n = n;
	if (first + n < vm->nthp)
		w->next = base + (uint64_t)(first + n) * THP_BYTES;
	else
		w->next = vm->nksm ? base + KSM_OFF : 0;
}

static void fill_ksm(const struct sim_host *h, const struct sim_vm *vm, int first, int max,
                     struct pm_window *w)
{
	uint64_t base = vm_base(vm) + KSM_OFF;
	int n = vm->nksm - first < max ? vm->nksm - first : max;

	if (n < 0)
		n = 0;
	for (int i = 0; i < n; i++)
		w->page[i] = (struct pm_page){
			.addr = base + (uint64_t)(first + i) * SIM_PAGE_SIZE,
			.mapcount = h->ksm[vm->ksm[first + i]].mapcount, .pages = 1,
			.kind = PM_KSM,
		};
	w->n = n;
	w->next = first + n < vm->nksm ? base + (uint64_t)(first + n) * SIM_PAGE_SIZE : 0;
}

/* pm_read's contract over the simulated VM: one region of 2 MiB pages, one
 * of KSM mappings; a window never spans both. */
static int sim_window(void *data, pid_t pid, uint64_t from, int max, struct pm_window *w)
{
	struct sim_host *h = data;
	struct sim_vm *vm = find_id(h, pid - PID_BASE);
	uint64_t base;

	if (!vm || vm->gone)
		return -ESRCH;
	if (max < 1)
		return -EINVAL;
	if (window_room(w, max) < 0)
		return -ENOMEM;
	base = vm_base(vm);
	w->pfns = true;
	if (from < base)
		from = base;
	if (from < base + KSM_OFF) {
		uint64_t i = (from - base + THP_BYTES - 1) / THP_BYTES;

		if (i < (uint64_t)vm->nthp) {
			fill_thp(vm, (int)i, max, w);
			return 0;
		}
		from = base + KSM_OFF;
	}
	fill_ksm(h, vm, (int)((from - base - KSM_OFF + SIM_PAGE_SIZE - 1) / SIM_PAGE_SIZE), max, w);
	return 0;
}

static void use(struct sim_host *h, int node, int64_t kib)
{
	h->node[node].used_kib = (uint64_t)((int64_t)h->node[node].used_kib + kib);
}

/* Where a page may go: a node with memory and room, as the kernel checks. */
static int target_index(struct sim_host *h, int target, uint64_t kib)
{
	int t = sim_node_index(h, target);

	if (t < 0 || h->node[t].total_kib == 0) {
		note(h, "mover sent a page to node %d, %s", target,
		     t < 0 ? "which does not exist" : "which has no memory");
		return -ENODEV;
	}
	if (sim_free_kib(h, t) < kib)
		return -ENOMEM;
	return t;
}

static int move_thp(struct sim_host *h, struct sim_vm *vm, int i, int target)
{
	int from = vm->thp[i], t;

	if (h->node[from].id == target)
		return target;
	t = target_index(h, target, SIM_THP_KIB);
	if (t < 0)
		return t;
	vm->thp[i] = (int8_t)t;
	vm->mem_kib[from] -= SIM_THP_KIB;
	vm->mem_kib[t] += SIM_THP_KIB;
	use(h, from, -(int64_t)SIM_THP_KIB);
	use(h, t, SIM_THP_KIB);
	return target;
}

static int move_ksm(struct sim_host *h, int k, int target)
{
	struct sim_ksm *p = &h->ksm[k];
	int t;

	if (p->mapcount > 1 && !(h->cur_flags & MPOL_MF_MOVE_ALL))
		return -EACCES;         /* the kernel's own safety net */
	if (p->mapcount > h->o.ksm_max_mapcount)
		note(h, "KSM page %d mapped %u times moved (ksm_max_mapcount %u)", k,
		     p->mapcount, h->o.ksm_max_mapcount);
	if (h->node[p->node].id == target)
		return target;
	t = target_index(h, target, SIM_KSM_KIB);
	if (t < 0)
		return t;
	use(h, p->node, -(int64_t)SIM_KSM_KIB);
	use(h, t, SIM_KSM_KIB);
	p->node = t;
	p->moves++;
	return target;
}

/* The dry-run backend's per-page answer: TARGET -1 is a query. */
static int sim_answer(void *data, uint64_t addr, int target)
{
	struct sim_host *h = data;
	struct sim_vm *vm = h->cur;
	uint64_t off;
	int k;

	if (!vm || (int64_t)(addr >> VM_SHIFT) - 1 != vm->id) {
		note(h, "mover touched %#" PRIx64 ", outside the VM being moved", addr);
		return -EFAULT;
	}
	off = addr - vm_base(vm);
	if (off < KSM_OFF) {
		uint64_t i = off / THP_BYTES;

		if (off % THP_BYTES || i >= (uint64_t)vm->nthp) {
			note(h, "mover sent %#" PRIx64 ", not the head of a page of %s", addr, vm->name);
			return -EFAULT;
		}
		if (vm->thp[i] < 0)
			return -ENOENT;
		return target < 0 ? h->node[vm->thp[i]].id : move_thp(h, vm, (int)i, target);
	}
	off -= KSM_OFF;
	if (off % SIM_PAGE_SIZE || off / SIM_PAGE_SIZE >= (uint64_t)vm->nksm) {
		note(h, "mover sent %#" PRIx64 ", past the KSM mappings of %s", addr, vm->name);
		return -EFAULT;
	}
	k = vm->ksm[off / SIM_PAGE_SIZE];
	return target < 0 ? h->node[h->ksm[k].node].id : move_ksm(h, k, target);
}

/* The dry-run backend, wrapped to see the flags and the PID of each call. */
static int sim_call(void *ctx, const struct mv_call *c)
{
	struct sim_host *h = ctx;

	if (!h->cur || c->pid != h->cur->pid)
		note(h, "move call for PID %d while moving %s", (int)c->pid,
		     h->cur ? h->cur->name : "nothing");
	h->cur_flags = c->nodes ? c->flags : 0;
	return h->dry_be.call(h->dry_be.ctx, c);
}

static int sim_alive(void *data, pid_t pid)
{
	struct sim_vm *vm = find_id(data, pid - PID_BASE);

	return vm && !vm->gone ? 0 : -ESRCH;
}

static int sim_free(void *data, int node, uint64_t *bytes)
{
	int i = sim_node_index(data, node);

	if (i < 0)
		return -ENODEV;
	*bytes = sim_free_kib(data, i) * 1024;
	return 0;
}

/* ---- building the host ---- */

void sim_host_init(struct sim_host *h)
{
	struct cfg d;

	memset(h, 0, sizeof(*h));
	pol_params_default(&h->p);
	pol_state_init(&h->st);
	mv_dry_init(&h->dry);
	h->dry.answer = sim_answer;
	h->dry.answer_data = h;
	/* a page copy at ~16 GB/s, 20 us a call, 10 us a mapping (DESIGN.md) */
	h->dry.call_ns = 20000;
	h->dry.page_ns = 250;
	h->dry.map_ns = 10000;
	h->dry_be = mv_dry_backend(&h->dry);
	h->o.backend = (struct mv_backend){ sim_call, h };
	h->o.window = sim_window;
	h->o.window_data = h;
	h->o.clock = mv_dry_clock;
	h->o.clock_data = &h->dry;
	h->o.alive = sim_alive;
	h->o.alive_data = h;
	h->o.free = sim_free;
	h->o.free_data = h;
	cfg_defaults(&d);
	mv_opts_configure(&h->o, &d, NULL);
	h->o.chains_bounded = true;
	h->o.page_size = SIM_PAGE_SIZE;
}

static void free_vm(struct sim_vm *vm)
{
	if (vm->job_on)
		mv_job_free(&vm->job);
	free(vm->thp);
	free(vm->ksm);
	free(vm);
}

void sim_host_free(struct sim_host *h)
{
	for (int i = 0; i < h->nvms; i++)
		free_vm(h->vm[i]);
	free(h->vm);
	free(h->ksm);
	free(h->pv);
	free(h->pvm);
	pol_state_free(&h->st);
	mv_dry_free(&h->dry);
	memset(h, 0, sizeof(*h));
}

void sim_add_node(struct sim_host *h, int id, int ncpus, uint64_t mem_kib)
{
	struct sim_node *n;

	if (h->nnodes == SIM_MAX_NODES || (h->nnodes && h->node[h->nnodes - 1].id >= id))
		sim_fail("scenario bug: node %d out of order or too many nodes", id);
	n = &h->node[h->nnodes++];
	*n = (struct sim_node){ .id = id, .ncpus = ncpus, .total_kib = mem_kib };
	if (mem_kib)
		n->base_kib = n->used_kib = mem_kib / 64;      /* the host's own use */
	for (int i = 0; i < h->nnodes; i++) {
		h->dist[i * SIM_MAX_NODES + h->nnodes - 1] = i == h->nnodes - 1 ? 10 : 20;
		h->dist[(h->nnodes - 1) * SIM_MAX_NODES + i] = i == h->nnodes - 1 ? 10 : 20;
	}
}

void sim_set_dist(struct sim_host *h, int i, int j, int d)
{
	h->dist[i * SIM_MAX_NODES + j] = d;
}

/* Spreads VM's threads over the node indexes in MASK that have CPUs. */
static void put_threads(struct sim_host *h, struct sim_vm *vm, uint64_t mask)
{
	int idx[SIM_MAX_NODES], k = 0;

	for (int i = 0; i < h->nnodes; i++)
		if ((mask >> i & 1) && h->node[i].ncpus > 0)
			idx[k++] = i;
	if (k == 0)
		sim_fail("no node with CPUs for the threads of %s", vm->name);
	memset(vm->threads, 0, sizeof(vm->threads));
	for (int t = 0; t < vm->nvcpus; t++)
		vm->threads[idx[t % k]]++;
}

static uint64_t home_mask(const struct sim_host *h, const struct idset *home)
{
	uint64_t m = 0;

	for (int i = 0; i < h->nnodes; i++)
		if (idset_has(home, h->node[i].id))
			m |= 1ull << i;
	return m;
}

struct sim_vm *sim_add_vm(struct sim_host *h, int nvcpus, double cpu, int nthp, uint64_t start)
{
	struct sim_vm *vm = calloc(1, sizeof(*vm));

	if (!vm || !(vm->thp = malloc((size_t)nthp + 1)))
		sim_fail("out of memory");
	if (h->nvms == h->vcap) {
		int cap = h->vcap ? 2 * h->vcap : 64;
		void *q = realloc(h->vm, sizeof(*h->vm) * (size_t)cap);

		if (!q)
			sim_fail("out of memory");
		h->vm = q;
		h->vcap = cap;
	}
	vm->id = h->next_id++;
	vm->pid = PID_BASE + vm->id;
	snprintf(vm->name, sizeof(vm->name), "vm%d", vm->id);
	vm->nvcpus = nvcpus;
	vm->cpu_base = vm->cpu_use = cpu;
	vm->nthp = nthp;
	memset(vm->thp, -1, (size_t)nthp);
	vm->home_at = -1;
	put_threads(h, vm, start);
	h->vm[h->nvms++] = vm;
	return vm;
}

/* Node index AT if it has room for a page above the watermark, else the
 * nearest that has; -1 if none has. */
static int room_near(const struct sim_host *h, int at)
{
	int best = -1;

	for (int i = 0; i < h->nnodes; i++) {
		if (sim_free_kib(h, i) < SIM_THP_KIB + WATERMARK_KIB)
			continue;
		if (best < 0 || h->dist[at * SIM_MAX_NODES + i] < h->dist[at * SIM_MAX_NODES + best] ||
		    (i == at && h->dist[at * SIM_MAX_NODES + i] == h->dist[at * SIM_MAX_NODES + best]))
			best = i;
	}
	return best;
}

/* The node a first touch lands on: near the one most threads run on. */
static int touch_node(const struct sim_host *h, const struct sim_vm *vm)
{
	int at = 0;

	for (int i = 1; i < h->nnodes; i++)
		if (vm->threads[i] > vm->threads[at])
			at = i;
	return room_near(h, at);
}

void sim_place(struct sim_host *h, struct sim_vm *vm, int from, int n, int want)
{
	if (h->node[want].total_kib == 0)
		sim_fail("scenario bug: pages of %s on memoryless node index %d", vm->name, want);
	for (int i = from; i < from + n && i < vm->nthp; i++) {
		int node = room_near(h, want);

		if (vm->thp[i] >= 0) {
			vm->mem_kib[vm->thp[i]] -= SIM_THP_KIB;
			use(h, vm->thp[i], -(int64_t)SIM_THP_KIB);
		}
		if (node < 0)
			sim_fail("scenario bug: no room for %s", vm->name);
		vm->thp[i] = (int8_t)node;
		vm->mem_kib[node] += SIM_THP_KIB;
		use(h, node, SIM_THP_KIB);
	}
}

void sim_touch(struct sim_host *h, struct sim_vm *vm, int n)
{
	if (vm->gone)
		return;
	for (int i = 0; i < vm->nthp && n > 0; i++) {
		int node;

		if (vm->thp[i] >= 0)
			continue;
		node = touch_node(h, vm);
		if (node < 0)
			return;
		sim_place(h, vm, i, 1, node);
		n--;
	}
}

int sim_new_ksm(struct sim_host *h, int node)
{
	if (h->nksm == h->kcap) {
		int cap = h->kcap ? 2 * h->kcap : 64;
		void *q = realloc(h->ksm, sizeof(*h->ksm) * (size_t)cap);

		if (!q)
			sim_fail("out of memory");
		h->ksm = q;
		h->kcap = cap;
	}
	h->ksm[h->nksm] = (struct sim_ksm){ .node = node, .start = node };
	use(h, node, SIM_KSM_KIB);
	return h->nksm++;
}

void sim_map_ksm(struct sim_host *h, struct sim_vm *vm, int k, int nmap)
{
	int *q = realloc(vm->ksm, sizeof(int) * (size_t)(vm->nksm + nmap));

	if (!q)
		sim_fail("out of memory");
	vm->ksm = q;
	for (int i = 0; i < nmap; i++)
		vm->ksm[vm->nksm++] = k;
	h->ksm[k].mapcount += (uint32_t)nmap;
}

void sim_remove_vm(struct sim_host *h, struct sim_vm *vm)
{
	for (int i = 0; i < vm->nthp; i++)
		if (vm->thp[i] >= 0) {
			use(h, vm->thp[i], -(int64_t)SIM_THP_KIB);
			vm->thp[i] = -1;
		}
	for (int i = 0; i < vm->nksm; i++) {
		struct sim_ksm *p = &h->ksm[vm->ksm[i]];

		if (--p->mapcount == 0)
			use(h, p->node, -(int64_t)SIM_KSM_KIB);
	}
	vm->nksm = 0;
	memset(vm->mem_kib, 0, sizeof(vm->mem_kib));
	memset(vm->threads, 0, sizeof(vm->threads));
	vm->gone = true;
}

void sim_reap(struct sim_host *h)
{
	int k = 0;

	for (int i = 0; i < h->nvms; i++) {
		if (h->vm[i]->gone)
			free_vm(h->vm[i]);
		else
			h->vm[k++] = h->vm[i];
	}
	h->nvms = k;
}

/* ---- checks ---- */

void sim_check_books(const struct sim_host *h)
{
	uint64_t used[SIM_MAX_NODES];

	for (int i = 0; i < h->nnodes; i++)
		used[i] = h->node[i].base_kib;
	for (int k = 0; k < h->nksm; k++)
		if (h->ksm[k].mapcount)
			used[h->ksm[k].node] += SIM_KSM_KIB;
	for (int v = 0; v < h->nvms; v++) {
		const struct sim_vm *vm = h->vm[v];
		uint64_t mem[SIM_MAX_NODES] = { 0 };

		for (int i = 0; i < vm->nthp; i++)
			if (vm->thp[i] >= 0)
				mem[vm->thp[i]] += SIM_THP_KIB;
		for (int i = 0; i < h->nnodes; i++) {
			if (mem[i] != vm->mem_kib[i])
				sim_fail("books: %s has %" PRIu64 " KiB on node index %d, counted %" PRIu64,
				         vm->name, mem[i], i, vm->mem_kib[i]);
			used[i] += mem[i];
		}
	}
	for (int i = 0; i < h->nnodes; i++)
		if (used[i] != h->node[i].used_kib || used[i] > h->node[i].total_kib)
			sim_fail("books: node %d uses %" PRIu64 " KiB, counted %" PRIu64 " of %" PRIu64,
			         h->node[i].id, used[i], h->node[i].used_kib, h->node[i].total_kib);
}

static uint64_t movable_kib(const struct sim_host *h, const struct sim_vm *vm)
{
	uint64_t t = 0;

	for (int i = 0; i < h->nnodes; i++)
		t += vm->mem_kib[i];
	return t;
}

static uint64_t on_home_kib(const struct sim_host *h, const struct sim_vm *vm,
                            const struct idset *home)
{
	uint64_t t = 0;

	for (int i = 0; i < h->nnodes; i++)
		if (idset_has(home, h->node[i].id))
			t += vm->mem_kib[i];
	return t;
}

double sim_locality(const struct sim_host *h, bool (*exclude)(const struct sim_vm *))
{
	uint64_t all = 0, local = 0;

	for (int v = 0; v < h->nvms; v++) {
		const struct sim_vm *vm = h->vm[v];

		if (vm->gone || vm->left_alone || (exclude && exclude(vm)))
			continue;
		all += movable_kib(h, vm);
		local += on_home_kib(h, vm, &vm->home);
	}
	return all ? 100.0 * (double)local / (double)all : 100.0;
}

static double vm_locality(const struct sim_host *h, const struct sim_vm *vm)
{
	uint64_t all = movable_kib(h, vm);

	return all ? 100.0 * (double)on_home_kib(h, vm, &vm->home) / (double)all : 100.0;
}

/* The least local VM not in DONE, or -1. */
static int least_local(const struct sim_host *h, const bool *done)
{
	int worst = -1;

	for (int v = 0; v < h->nvms; v++)
		if (!done[v] && !h->vm[v]->left_alone && !h->vm[v]->gone &&
		    (worst < 0 || vm_locality(h, h->vm[v]) < vm_locality(h, h->vm[worst])))
			worst = v;
	return worst;
}

void sim_explain(const struct sim_host *h, int max)
{
	bool *done = calloc((size_t)h->nvms + 1, 1);
	char a[LIST_LEN];

	for (int n = 0; n < max && done; n++) {
		int v = least_local(h, done);
		const struct sim_vm *vm = v < 0 ? NULL : h->vm[v];

		if (!vm || vm_locality(h, vm) >= 100.0)
			break;
		done[v] = true;
		printf("  %s: %d vCPUs, cpu %.2f, %" PRIu64 " MiB movable, home %s, %.1f%% local, "
		       "%s: %s\n", vm->name, vm->nvcpus, vm->cpu_use, movable_kib(h, vm) / 1024,
		       fmt_set(&vm->home, a), vm_locality(h, vm), pol_verdict_name(vm->verdict),
		       vm->why);
	}
	for (int i = 0; i < h->nnodes; i++)
		printf("  node %d: %d CPUs, %" PRIu64 " of %" PRIu64 " MiB free\n", h->node[i].id,
		       h->node[i].ncpus, sim_free_kib(h, i) / 1024, h->node[i].total_kib / 1024);
	free(done);
}

/* ---- one interval ---- */

static void input_room(struct sim_host *h)
{
	if (h->nvms <= h->pcap)
		return;
	free(h->pv);
	free(h->pvm);
	h->pcap = h->nvms * 2;
	h->pv = calloc((size_t)h->pcap, sizeof(*h->pv));
	h->pvm = calloc((size_t)h->pcap, sizeof(*h->pvm));
	if (!h->pv || !h->pvm)
		sim_fail("out of memory");
}

static void input_nodes(struct sim_host *h, struct pol_input *in)
{
	in->nnodes = h->nnodes;
	for (int i = 0; i < h->nnodes; i++) {
		const struct sim_node *n = &h->node[i];

		in->node[i] = (struct pol_node){
			.id = n->id, .ncpus = n->ncpus, .cpu_busy = n->bg_cpu,
			.has_memory = n->total_kib > 0, .mem_total_kib = n->total_kib,
			.mem_free_kib = sim_free_kib(h, i),
		};
		for (int j = 0; j < h->nnodes; j++)
			h->dflat[i * h->nnodes + j] = h->dist[i * SIM_MAX_NODES + j];
	}
	in->dist = h->dflat;
}

/* The observation: what a pass of the daemon would read from the host. */
static void build_input(struct sim_host *h, struct pol_input *in)
{
	memset(in, 0, sizeof(*in));
	input_room(h);
	input_nodes(h, in);
	for (int v = 0; v < h->nvms; v++) {
		struct sim_vm *vm = h->vm[v];
		struct pol_vm *pv = &h->pv[v];

		memset(pv, 0, sizeof(*pv));
		pv->key = (uint64_t)vm->id + 1;
		pv->pid = vm->pid;
		pv->name = vm->name;
		pv->nvcpus = vm->nvcpus;
		pv->cpu_use = vm->cpu_use;
		pv->shared_kib = (uint64_t)vm->nksm * SIM_KSM_KIB;
		pv->left_alone = vm->left_alone;
		pv->left_why = vm->left_alone ? "pinned by the scenario" : NULL;
		for (int i = 0; i < h->nnodes; i++) {
			pv->mem_kib[i] = vm->mem_kib[i];
			pv->threads_on[i] = vm->threads[i];
			in->node[i].cpu_busy += vm->cpu_use * vm->threads[i] / vm->nvcpus;
		}
		h->pvm[v] = vm;
	}
	in->nvms = h->nvms;
	in->vm = h->pv;
}

/* A home holds only nodes with CPUs, and at least one with memory. */
static void check_home(const struct sim_host *h, const struct sim_vm *vm,
                       const struct pol_decision *d)
{
	char b[LIST_LEN];
	bool mem = false;

	IDSET_FOREACH(id, &d->home) {
		int i = sim_node_index(h, id);

		if (i < 0 || h->node[i].ncpus == 0)
			sim_fail("%s: home %s holds node %d, %s (%s: %s)", vm->name,
			         fmt_set(&d->home, b), id, i < 0 ? "which does not exist" :
			         "which has no CPU", pol_verdict_name(d->verdict), d->why);
		mem |= h->node[i].total_kib > 0;
	}
	if (!mem)
		sim_fail("%s: home %s has no memory (%s: %s)", vm->name, fmt_set(&d->home, b),
		         pol_verdict_name(d->verdict), d->why);
}

/* What the decision says about memory is what the host has. */
static void check_figures(const struct sim_host *h, const struct sim_vm *vm,
                          const struct pol_decision *d)
{
	uint64_t all = movable_kib(h, vm), on = on_home_kib(h, vm, &d->home);

	if (d->budget_kib > d->to_move_kib)
		sim_fail("%s: budget %" PRIu64 " KiB over its %" PRIu64 " KiB to move", vm->name,
		         d->budget_kib, d->to_move_kib);
	if (d->budget_kib && d->verdict != POL_MOVE && d->verdict != POL_SETTLE)
		sim_fail("%s: budget %" PRIu64 " KiB given with verdict %s", vm->name,
		         d->budget_kib, pol_verdict_name(d->verdict));
	if (idset_empty(&d->home))
		return;
	/* shared memory is never memory to move */
	if (d->to_move_kib != all - on)
		sim_fail("%s: to move %" PRIu64 " KiB, but %" PRIu64 " KiB of its %" PRIu64
		         " KiB movable (%" PRIu64 " KiB KSM-shared) is off its home", vm->name,
		         d->to_move_kib, all - on, all, (uint64_t)vm->nksm * SIM_KSM_KIB);
	if (all && (d->locality < 100.0 * on / all - 0.01 || d->locality > 100.0 * on / all + 0.01))
		sim_fail("%s: locality %.2f%%, host says %.2f%%", vm->name, d->locality,
		         100.0 * on / all);
}

static void check_result(struct sim_host *h, const struct pol_result *res)
{
	uint64_t budget = 0;
	int moves = 0;

	if (res->n != h->nvms)
		sim_fail("%d decisions for %d VMs", res->n, h->nvms);
	for (int i = 0; i < res->n; i++) {
		const struct pol_decision *d = &res->d[i];
		const struct sim_vm *vm = h->pvm[i];

		if (d->vm != i || d->verdict < POL_STAY || d->verdict > POL_LEFT_ALONE)
			sim_fail("decision %d: vm %d, verdict %d", i, d->vm, (int)d->verdict);
		if ((d->verdict == POL_LEFT_ALONE) != vm->left_alone)
			sim_fail("%s: verdict %s, left alone %d", vm->name,
			         pol_verdict_name(d->verdict), vm->left_alone);
		if ((d->verdict == POL_MOVE || d->verdict == POL_SETTLE) && idset_empty(&d->home))
			sim_fail("%s: verdict %s without a home", vm->name, pol_verdict_name(d->verdict));
		/* HELD and NO_FIT homes only say where the VM is now */
		if (!idset_empty(&d->home) && d->verdict <= POL_MOVE)
			check_home(h, vm, d);
		check_figures(h, vm, d);
		budget += d->budget_kib;
		moves += d->verdict == POL_MOVE;
		h->f.held += d->verdict == POL_HELD;
		h->f.no_fit += d->verdict == POL_NO_FIT;
	}
	if (moves != res->moves || budget != res->budget_kib)
		sim_fail("result counts %d moves / %" PRIu64 " KiB, decisions %d / %" PRIu64,
		         res->moves, res->budget_kib, moves, budget);
	if ((unsigned)moves > h->p.max_moves)
		sim_fail("%d moves in one pass, max_moves %u", moves, h->p.max_moves);
	if (budget > h->p.budget_kib)
		sim_fail("budgets add up to %" PRIu64 " KiB, over the %" PRIu64 " KiB per pass",
		         budget, h->p.budget_kib);
}

static void change_home(struct sim_host *h, struct sim_vm *vm, const struct idset *home,
                        long pass)
{
	char a[LIST_LEN], b[LIST_LEN], c[LIST_LEN];

	if (!idset_empty(&vm->home)) {
		if (h->freeze_homes)
			sim_fail("%s moved %s -> %s during steady load", vm->name,
			         fmt_set(&vm->home, a), fmt_set(home, b));
		if (h->pingpong_window && idset_equal(home, &vm->prev_home) &&
		    pass - vm->home_at <= h->pingpong_window)
			sim_fail("ping-pong: %s %s -> %s at interval %ld, back -> %s (window %ld)",
			         vm->name, fmt_set(&vm->prev_home, a), fmt_set(&vm->home, b),
			         vm->home_at, fmt_set(home, c), h->pingpong_window);
		vm->prev_home = vm->home;
		vm->home_changes++;
		h->f.home_changes++;
	}
	vm->home = *home;
	vm->home_at = pass;
	if (!vm->gone)
		put_threads(h, vm, home_mask(h, home));   /* threads follow at once */
}

/* Upper bound of the bytes the job's next step moves: the next chunk when
 * one is planned, else a chunk of the current size (at least one huge
 * page), and never more than the VM has off the target. */
static uint64_t step_bound(const struct sim_host *h, const struct sim_vm *vm)
{
	const struct mv_job *j = &vm->job;
	uint64_t pages = 0, cap;

	if (j->next_chunk < j->plan.nchunks)
		return j->plan.chunk[j->next_chunk].pages * SIM_PAGE_SIZE;
	cap = j->chunk > j->ksm_chunk ? j->chunk : j->ksm_chunk;
	if (cap < 512)
		cap = 512;
	for (int i = 0; i < h->nnodes; i++)
		if (!idset_has(&j->target, h->node[i].id))
			pages += vm->mem_kib[i] / 4;
	for (int i = 0; i < vm->nksm; i++) {
		const struct sim_ksm *p = &h->ksm[vm->ksm[i]];

		if (!idset_has(&j->target, h->node[p->node].id) &&
		    p->mapcount <= h->o.ksm_max_mapcount)
			pages++;
	}
	return (pages < cap ? pages : cap) * SIM_PAGE_SIZE;
}

/* No move may take a node under its reserve (or further under it). */
static void check_reserve(const struct sim_host *h, const uint64_t *before)
{
	uint64_t reserve = h->p.reserve_kib;

	for (int i = 0; i < h->nnodes; i++) {
		uint64_t now = sim_free_kib(h, i);

		if (now < before[i] && now < reserve)
			sim_fail("node %d: a move left %" PRIu64 " KiB free (was %" PRIu64
			         "), reserve %" PRIu64 " KiB", h->node[i].id, now, before[i], reserve);
	}
}

static void account_step(struct sim_host *h, struct sim_vm *vm, const struct mv_step *st)
{
	vm->moved_bytes += st->bytes;
	h->f.bytes += st->bytes;
	if (st->move_all)
		h->f.ksm_bytes += st->bytes;
	h->f.calls += st->call;
	if (st->ns > h->f.worst_call_ns)
		h->f.worst_call_ns = st->ns;
}

/* How a job's step ended: 1 go on, 0 stop. */
static int step_end(struct sim_host *h, struct sim_vm *vm, int r)
{
	if (r == 1)
		return 1;
	if (r == -ESRCH && !vm->gone)
		sim_fail("%s: job says the process is gone, it is not", vm->name);
	if (r == -ESRCH)
		h->f.gone_jobs++;
	else if (r == -ENOSPC)
		h->f.reserve_stops++;
	else if (r < 0)
		sim_fail("%s: job %s: %s", vm->name, mv_state_name(vm->job.state), strerror(-r));
	return 0;
}

/* Steps VM's job while the next step fits in LIMIT bytes. */
static void run_job(struct sim_host *h, struct sim_vm *vm, uint64_t limit)
{
	uint64_t spent = 0, before[SIM_MAX_NODES];

	for (int n = 0;; n++) {
		struct mv_step st;
		int r;

		if (n == MAX_STEPS)
			sim_fail("%s: job still stepping after %d steps", vm->name, n);
		if (spent + step_bound(h, vm) > limit)
			return;
		for (int i = 0; i < h->nnodes; i++)
			before[i] = sim_free_kib(h, i);
		h->cur = vm;
		r = mv_job_step(&vm->job, &st);
		h->cur = NULL;
		if (h->err[0])
			sim_fail("%s: %s", vm->name, h->err);
		account_step(h, vm, &st);
		spent += st.bytes;
		if (spent > limit)
			sim_fail("%s: a step moved %" PRIu64 " bytes, over the %" PRIu64 " left",
			         vm->name, st.bytes, limit - (spent - st.bytes));
		check_reserve(h, before);
		if (!step_end(h, vm, r))
			return;
	}
}

/* Moves VM's memory to HOME within BUDGET_KIB: the running job goes on if
 * its target is unchanged, else a new one starts. */
static void move_memory(struct sim_host *h, struct sim_vm *vm, const struct idset *home,
                        uint64_t budget_kib)
{
	uint64_t left = h->p.budget_kib * 1024 - h->f.bytes;
	uint64_t limit = budget_kib * 1024 < left ? budget_kib * 1024 : left;
	struct idset target;
	int r;

	idset_clear(&target);
	IDSET_FOREACH(id, home)
		if (h->node[sim_node_index(h, id)].total_kib)
			idset_add(&target, id);
	if (vm->job_on && (vm->job.state != MV_RUNNING || !idset_equal(&vm->job.target, &target))) {
		mv_job_free(&vm->job);
		vm->job_on = false;
	}
	if (!vm->job_on) {
		r = mv_job_init(&vm->job, vm->pid, &target, &h->o);
		if (r < 0)
			sim_fail("%s: mv_job_init: %s", vm->name, strerror(-r));
		vm->job_on = true;
	}
	run_job(h, vm, limit);
}

static void apply(struct sim_host *h, const struct pol_decision *d, long pass)
{
	struct sim_vm *vm = h->pvm[d->vm];
	char a[LIST_LEN], b[LIST_LEN];

	vm->verdict = d->verdict;
	vm->held += d->verdict == POL_HELD;
	snprintf(vm->why, sizeof(vm->why), "%s", d->why);

	if (d->verdict == POL_MOVE && !idset_equal(&d->home, &vm->home))
		change_home(h, vm, &d->home, pass);
	else if (d->verdict == POL_STAY || d->verdict == POL_SETTLE) {
		if (idset_empty(&vm->home))
			change_home(h, vm, &d->home, pass);     /* a first home */
		else if (!idset_equal(&d->home, &vm->home))
			sim_fail("%s: home %s -> %s with verdict %s, not move", vm->name,
			         fmt_set(&vm->home, a), fmt_set(&d->home, b),
			         pol_verdict_name(d->verdict));
	}
	if ((d->verdict == POL_MOVE || d->verdict == POL_SETTLE) && d->budget_kib)
		move_memory(h, vm, &d->home, d->budget_kib);
}

/* Host-wide invariants after the moves. */
static void check_host(const struct sim_host *h)
{
	for (int k = 0; k < h->nksm; k++) {
		const struct sim_ksm *p = &h->ksm[k];

		if (p->mapcount > h->o.ksm_max_mapcount && p->node != p->start)
			sim_fail("KSM page %d mapped %u times moved from node %d to %d", k,
			         p->mapcount, h->node[p->start].id, h->node[p->node].id);
	}
	for (int i = 0; i < h->nnodes; i++) {
		const struct sim_node *n = &h->node[i];

		if (n->total_kib == 0 && n->used_kib)
			sim_fail("memoryless node %d holds %" PRIu64 " KiB", n->id, n->used_kib);
		for (int v = 0; v < h->nvms && n->ncpus == 0; v++)
			if (h->vm[v]->threads[i])
				sim_fail("%s has threads on CPU-less node %d", h->vm[v]->name, n->id);
	}
	if (h->f.bytes > h->p.budget_kib * 1024)
		sim_fail("%" PRIu64 " bytes moved in one interval, budget %" PRIu64 " KiB",
		         h->f.bytes, h->p.budget_kib);
}

static void figures(struct sim_host *h, const struct pol_result *res)
{
	h->f.moves = res->moves;
	h->f.total_moves += res->moves;
	h->f.total_bytes += h->f.bytes;
	h->f.total_ksm_bytes += h->f.ksm_bytes;
	h->f.total_home_changes += h->f.home_changes;
	if (h->f.bytes > h->f.max_bytes)
		h->f.max_bytes = h->f.bytes;
	if (sim_ctx.verbose)
		printf("  [%ld] vms %d moves %d home changes %d moved %.1f MiB (KSM %.1f) locality %.2f%%\n",
		       sim_ctx.interval, h->nvms, res->moves, h->f.home_changes,
		       (double)h->f.bytes / (1 << 20), (double)h->f.ksm_bytes / (1 << 20),
		       sim_locality(h, NULL));
	for (int i = 0; sim_ctx.verbose && i < res->n; i++)
		if (res->d[i].verdict == POL_MOVE || res->d[i].verdict == POL_HELD)
			printf("    input VM %d: %s: %s\n", res->d[i].vm,
			       pol_verdict_name(res->d[i].verdict), res->d[i].why);
}

static void check_state(const struct sim_host *h)
{
	for (int i = 0; i < h->st.n; i++) {
		const struct sim_vm *vm = find_id(h, (int)h->st.m[i].key - 1);

		if (!vm || vm->gone)
			sim_fail("policy state remembers key %" PRIu64 ", a VM that is gone",
			         h->st.m[i].key);
	}
}

void sim_interval(struct sim_host *h, long pass)
{
	struct pol_input in;
	struct pol_result res = { 0 };
	struct timespec t0, t1;
	int r;

	sim_ctx.interval = pass;
	sim_reap(h);
	h->f.bytes = h->f.ksm_bytes = 0;
	h->f.home_changes = 0;
	h->dry.nrec = 0;
	h->o.reserve_bytes = h->p.reserve_kib * 1024;
	build_input(h, &in);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	r = pol_decide(&in, &h->p, pass, &h->st, &res);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	h->f.decide_ns = (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000ll + (t1.tv_nsec - t0.tv_nsec));
	if (r < 0)
		sim_fail("pol_decide: %s", strerror(-r));
	check_result(h, &res);
	check_state(h);
	if (h->after_decide) {
		h->res = &res;
		h->after_decide(h, h->hook_data);
		h->res = NULL;
	}
	for (int i = 0; i < res.n; i++)
		apply(h, &res.d[i], pass);
	check_host(h);
	figures(h, &res);
	pol_result_free(&res);
	sim_reap(h);
}
