/* place.h - numad's -w: the NUMA nodes a guest about to start should get.
 *
 * libvirt asks this for a domain with placement='auto' (it runs
 * "numad -w VCPUS:MIB" and reads a node list from stdout).  The running
 * daemon answers from what it knows; without one, the answer is computed
 * here from the host's current state.
 */
#ifndef KN_PLACE_H
#define KN_PLACE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "idset.h"
#include "root.h"

/* How long the running daemon may take to answer before we decide alone. */
#define PLACE_DAEMON_TIMEOUT_MS 500

/* The CPU sample of a local answer spans this long (see place.c). */
#define PLACE_SAMPLE_MS 100

/* place_answer: nothing fits; NODES is the least bad set. */
#define PLACE_NO_FIT 1

/* Parses numad's "NCPUS[:MB]" (NCPUS may carry a fraction, "2.5", rounded
 * up) into *NCPUS (>= 1) and *MEM_MIB (0 when MB is absent); -EINVAL with
 * a one-line reason in ERR (ERRLEN bytes) otherwise. */
int place_parse(const char *spec, int *ncpus, uint64_t *mem_mib, char *err,
                size_t errlen);

/* The home for a guest needing NCPUS CPUs and MEM_MIB MiB, into NODES:
 * asked of the daemon listening under CONTROL_DIR (NULL or "": not asked),
 * else computed from ROOT with CFG's placement settings.  *SOURCE is set
 * to "daemon" or "local".  0, PLACE_NO_FIT (NODES still holds an answer),
 * or -errno when no answer is possible (NODES then empty). */
int place_answer(const char *control_dir, const struct rt_root *root,
                 const struct cfg *cfg, int ncpus, uint64_t mem_mib,
                 struct idset *nodes, const char **source);

/* The whole -w mode: parses SPEC, answers, prints the node list and a
 * newline on stdout (nothing else), messages on stderr.  Returns the exit
 * status: 0 with an answer, 1 without. */
int place_main(const char *spec, const char *control_dir,
               const struct rt_root *root, const struct cfg *cfg);

#endif
