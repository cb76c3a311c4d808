# ksm-chain.sh - scenario 1, the field report in miniature (guest side).
#
# One VM whose RAM is SAME MiB of identical pages that KSM merges (into one
# chain when max_page_sharing is at least the page count, into dups of
# MPS mappings otherwise) plus UNIQUE MiB of ordinary memory, all on node 0,
# its vCPUs on node 1.  Each contender gets a fresh VM and WINDOW seconds.
#
# TOUCH_US is the pause of each vCPU between two touches (0: busy vCPUs).
# KSM scans fast until the VM is merged, then at the kernel's default pace
# (100 pages every 20 ms) so ksmd does not eat the CPUs during the window.
# The vCPUs stay idle until the window opens (-P), so merging is quick.
#
# Beside the VM runs its control: a twin with the same vCPU placement and
# threads but 32 MiB of unique memory only, that no contender moves (too
# small for numad, not the PID given to the others).  Both are measured in
# the same window under the same load, so the VM's stalls are judged
# against what an unmoved VM saw at the same time (DIR/control/).
#
# usage: ksm-chain.sh MPS SAME_MIB UNIQUE_MIB WINDOW TOUCH_US CONTENDER...
. /lib/kn/common.sh
. /lib/kn/contenders.sh

[ $# -ge 6 ] || fail "usage: ksm-chain.sh MPS SAME_MIB UNIQUE_MIB WINDOW TOUCH_US CONTENDER..."
mps=$1 same=$2 unique=$3 window=$4 touch=$5
shift 5
fast_scan=$(ksm_get pages_to_scan)
pages=$((same * 256))

# hook STEP CONTENDER: runs STEP_CONTENDER if the contender defines it.
hook() {
	_f="$1_$(echo "$2" | tr - _)"
	if type "$_f" >/dev/null 2>&1; then "$_f"; fi
}

run_one() {
	dir=$OUT/$1
	mkdir -p "$dir"
	numa_balancing 0
	wait_for 120 ksm_idle || fail "KSM pages of the previous VM are still there"
	[ "$(ksm_get max_page_sharing)" = "$mps" ] || ksm_set max_page_sharing "$mps"
	# A contender may change the VM's vCPU placement and load (numad needs a
	# reason to move); locality is always measured against node 1 (-L 1).
	WL_ARGS="-C 1"
	hook prepare "$1"
	ksm_set pages_to_scan "$fast_scan"
	# shellcheck disable=SC2086
	regions="-r ${unique}M:unique"
	[ "$same" -gt 0 ] && regions="-r ${same}M:same:ksm $regions"
	# shellcheck disable=SC2086
	start_workload "$dir/control" -n ctl-twin -r 32M:unique -M 0 -L 1 -t 2 -i "$touch" -P -R $WL_ARGS
	ctl_pid=$WL_PID
	# shellcheck disable=SC2086
	start_workload "$dir" $regions -M 0 -L 1 -t 2 -i "$touch" -P -R $WL_ARGS
	event "$dir" merge-wait
	# All but a few pages merged (each dup's first page is "shared", the rest "sharing").
	wait_for 600 merged_at_least $((pages - pages / 100)) ||
		fail "KSM merged only $(ksm_get pages_sharing) of $pages pages"
	ksm_state "$dir/ksm.tsv"
	ksm_set pages_to_scan 100
	hook after_merge "$1"
	log "$1: merged ($(ksm_get pages_shared) shared, $(ksm_get pages_sharing) sharing," \
	    "$(ksm_get stable_node_dups) dups); window of $window s starts"
	mark_window "$dir"
	WL_PID=$ctl_pid mark_window "$dir/control"
	"contender_$(echo "$1" | tr - _)" "$dir" "$WL_PID" 0 1 "$window"
	ksm_state "$dir/ksm.tsv"
	stop_workload
	WL_PID=$ctl_pid stop_workload
	hook cleanup "$1"
	log "$1: done: $(cat "$dir/contender.tsv")"
}

for c in "$@"; do
	run_one "$c"
done
