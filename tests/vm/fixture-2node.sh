# Scenario for tests/fixtures/guest-2node (run by tests/vm/guest).
# One VM-like memhog in a libvirt-like cgroup scope: 256 MiB on node 0, one
# content in every page, offered to KSM, 2 "CPU n/TCG" threads.  Waits until
# KSM has merged it, lets ksmd finish two more full scans, then captures.
set -eu

wait_for() {    # wait_for SECONDS COMMAND...: polls COMMAND every 0.5 s
	t=$(($1 * 2)); shift
	until "$@"; do
		t=$((t - 1))
		[ $t -gt 0 ] || { echo "timed out waiting for: $*"; return 1; }
		sleep 0.5
	done
}
ksm() { cat "/sys/kernel/mm/ksm/$1"; }
sharing() { [ "$(ksm pages_sharing)" -gt 0 ]; }
scans_past() { [ "$(ksm full_scans)" -ge "$1" ]; }

cg=/sys/fs/cgroup/machine.slice
mkdir -p "$cg"
echo "+cpuset +memory" > "$cg/cgroup.subtree_control"
scope="$cg/machine-qemu\\x2d1\\x2dmemhog.scope"
mkdir -p "$scope"
sh -c 'echo $$ > "$1/cgroup.procs" && exec memhog -m 256 -n 0 -t 2 -s -k' \
	sh "$scope" > /tmp/memhog.log 2>&1 &
pid=$!
wait_for 60 grep -qs ready /tmp/memhog.log
cat /tmp/memhog.log
start=$(date +%s)
wait_for 300 sharing
scans=$(ksm full_scans)
wait_for 300 scans_past $((scans + 2))
echo "ksm merged in $(( $(date +%s) - start )) s: pages_sharing $(ksm pages_sharing)" \
     "pages_shared $(ksm pages_shared) full_scans $(ksm full_scans)"
capture -p '^qemu-system-x86$' "$OUT"
echo "captured pid $pid: $(tr "\n" " " < "$OUT/CAPTURED")"
grep bind: "$OUT/proc/$pid/numa_maps"
