/* topo.h - NUMA topology: nodes, their online CPUs, memory and distances.
 *
 * Node ids may have gaps; nodes are kept in id order and addressed by index.
 * A memoryless node has has_memory false; a CPU-less node has no CPUs.
 */
#ifndef KN_TOPO_H
#define KN_TOPO_H

#include <stdbool.h>
#include <stdint.h>

#include "idset.h"
#include "root.h"

struct topo_node {
	int id;                     /* kernel node id */
	struct idset cpus;          /* online CPUs of the node */
	bool has_memory;            /* in has_memory (or, lacking it, MemTotal > 0) */
	uint64_t mem_total_kib;     /* MemTotal of the node's meminfo */
	uint64_t mem_free_kib;      /* MemFree (0 when free_unknown) */
	bool free_unknown;          /* meminfo unreadable or without MemFree */
	uint64_t file_kib;          /* FilePages (reclaimable in part) */
};

struct topo {
	int nr;                     /* number of online nodes */
	struct topo_node *node;     /* nr entries, by ascending id */
	int *dist;                  /* nr * nr SLIT distances, by index */
	struct idset online_cpus;   /* all online CPUs */
	struct idset offline_cpus;  /* present but offline CPUs (reported only) */
	bool dist_missing;          /* a distance row absent or malformed: that
	                             * row set to 10 local / 20 remote */
};

/* Reads the topology under R into T; -errno (T untouched) only when no
 * online CPU could be found at all.  A host without node directories
 * (CONFIG_NUMA=n) reads as one node 0 with the memory of the proc meminfo. */
int topo_read(const struct rt_root *r, struct topo *t);

/* MemFree of node ID, as topo_read reads it, into *KIB: the node's meminfo
 * (the proc meminfo for node 0 of a host without node directories);
 * -ENOENT, -EINVAL if it has no MemFree line or a garbled one, -errno. */
int topo_node_free(const struct rt_root *r, int id, uint64_t *kib);

/* Frees what topo_read allocated. */
void topo_free(struct topo *t);

/* Index of node ID, or -1. */
int topo_index(const struct topo *t, int id);

/* Distance between the nodes at indexes A and B; -1 for a bad index. */
int topo_distance(const struct topo *t, int a, int b);

/* Index of the node holding CPU, or -1. */
int topo_cpu_node(const struct topo *t, int cpu);

#endif
