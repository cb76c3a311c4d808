# chain-growth.sh - how a whole-process migrate_pages grows with the KSM
# chain (guest side): for each size, a fresh VM with SIZE MiB of identical
# pages merged into one chain plus 16 MiB unique, memory on node 0, vCPUs on
# node 1, and one migrate_pages call to node 1.  DESIGN.md §1's table.
#
# usage: chain-growth.sh MPS SIZE_MIB...
. /lib/kn/common.sh

[ $# -ge 2 ] || fail "usage: chain-growth.sh MPS SIZE_MIB..."
mps=$1
shift
for size in "$@"; do
	dir=$OUT/migrate_pages-$size
	pages=$((size * 256))
	numa_balancing 0
	wait_for 120 ksm_idle || fail "KSM pages of the previous VM are still there"
	[ "$(ksm_get max_page_sharing)" = "$mps" ] || ksm_set max_page_sharing "$mps"
	ksm_set pages_to_scan 20000
	start_workload "$dir" -r "${size}M:same:ksm" -r 16M:unique -M 0 -C 1 -L 1 -t 2 -P
	wait_for 900 merged_at_least $((pages - pages / 100)) || fail "KSM did not merge $size MiB"
	ksm_set pages_to_scan 100
	ksm_state "$dir/ksm.tsv"
	mark_window "$dir"
	sleep 1
	wholemove "$WL_PID" 0 1 > "$dir/wholemove.tsv" 2>&1 || fail "migrate_pages failed: $(cat "$dir/wholemove.tsv")"
	sleep 2
	stop_workload
	log "$size MiB: $(cat "$dir/wholemove.tsv")"
done
