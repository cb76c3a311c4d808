/* policy_bench.c - CPU time of one pol_decide pass on a synthetic host.
 *
 * 8 nodes of 128 CPUs and 768 GiB (two sockets of four), 500 VMs with
 * seeded random sizes and placements; 20 passes carrying the state, median
 * CPU time printed.
 * Figures only, no pass/fail.  Usage: policy_bench [SEED]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy.h"

#define NODES 8
#define VMS 500
#define PASSES 20
#define GIB (1024ull * 1024)

static int dist[NODES * NODES];
static struct pol_vm vms[VMS];

static void make_host(struct pol_input *in)
{
	memset(in, 0, sizeof(*in));
	in->nnodes = NODES;
	in->dist = dist;
	for (int i = 0; i < NODES; i++) {
		in->node[i].id = i;
		in->node[i].ncpus = 128;
		in->node[i].has_memory = true;
		in->node[i].mem_total_kib = 768 * GIB;
		in->node[i].mem_free_kib = 768 * GIB;
		for (int j = 0; j < NODES; j++)
			dist[i * NODES + j] = i == j ? 10 : i / 4 == j / 4 ? 16 : 32;
	}
}

/* A VM mostly on one node, some of it elsewhere; charges the host. */
static void make_vm(struct pol_input *in, struct pol_vm *v, int k)
{
	int home = rand() % NODES, other = rand() % NODES;
	uint64_t mem = (1 + rand() % 16) * GIB;
	uint64_t away = mem * (rand() % 40) / 100;

	memset(v, 0, sizeof(*v));
	v->key = 1000 + k;
	v->pid = 1000 + k;
	v->name = "bench";
	v->nvcpus = 1 + rand() % 8;
	v->cpu_use = v->nvcpus * (rand() % 50) / 100.0;
	v->mem_kib[home] = mem - away;
	v->mem_kib[other] += away;
	v->shared_kib = mem * (rand() % 30) / 100;
	v->threads_on[rand() % 4 ? home : other] = v->nvcpus;
	v->left_alone = rand() % 50 == 0;
	for (int i = 0; i < NODES; i++) {
		in->node[i].mem_free_kib -= v->mem_kib[i];
		if (v->threads_on[i])
			in->node[i].cpu_busy += v->cpu_use;
	}
}

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int by_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	unsigned seed = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1;
	struct pol_input in;
	struct pol_params p;
	struct pol_state s;
	struct pol_result r = { 0 };
	double t[PASSES];
	int count[POL_LEFT_ALONE + 1] = { 0 };

	srand(seed);
	make_host(&in);
	for (int k = 0; k < VMS; k++)
		make_vm(&in, &vms[k], k);
	in.nvms = VMS;
	in.vm = vms;
	pol_params_default(&p);
	pol_state_init(&s);
	for (int i = 0; i < PASSES; i++) {
		double t0;

		pol_result_free(&r);
		t0 = cpu_seconds();
		if (pol_decide(&in, &p, i, &s, &r) < 0) {
			fprintf(stderr, "pol_decide failed\n");
			return 1;
		}
		t[i] = cpu_seconds() - t0;
	}
	for (int k = 0; k < r.n; k++)
		count[r.d[k].verdict]++;
	qsort(t, PASSES, sizeof(t[0]), by_double);
	printf("seed %u: %d nodes, %d VMs, %d passes\n", seed, NODES, VMS, PASSES);
	printf("pol_decide CPU time: median %.3f ms, min %.3f ms, max %.3f ms "
	       "(goal <= 10 ms)\n", t[PASSES / 2] * 1e3, t[0] * 1e3,
	       t[PASSES - 1] * 1e3);
	printf("last pass:");
	for (int v = 0; v <= POL_LEFT_ALONE; v++)
		printf(" %s %d", pol_verdict_name(v), count[v]);
	printf(", budget %llu MiB\n", (unsigned long long)r.budget_kib / 1024);
	pol_result_free(&r);
	pol_state_free(&s);
	return 0;
}
