# vm-exits.sh - scenario 3: a VM exits in the middle of a migration (guest side).
#
# A VM with SAME MiB of KSM-merged identical pages (one long chain, so the
# whole-process migrate_pages call takes long) is killed DELAY_MS into the
# call; then the same with ksm-numad's engine (--migrate).  The call must end (moved or "no such process"), nothing may hang,
# and the VM's KSM pages must be released.
#
# usage: vm-exits.sh SAME_MIB UNIQUE_MIB DELAY_MS
. /lib/kn/common.sh

[ $# -eq 3 ] || fail "usage: vm-exits.sh SAME_MIB UNIQUE_MIB DELAY_MS"
same=$1 unique=$2 delay=$3
pages=$((same * 256))
# run_mover NAME COMMAND...: a fresh VM, the mover started, the VM killed
# DELAY_MS later; the mover must end by itself.  Sets mover_rc.
run_mover() {
	name=$1
	shift
	dir=$OUT/$name
	mkdir -p "$dir"
	wait_for 120 ksm_idle || fail "KSM pages of the previous VM are still there"
	start_workload "$dir" -r "${same}M:same:ksm" -r "${unique}M:unique" -M 0 -C 1 -t 2
	wait_for 600 merged_at_least $((pages - pages / 100)) || fail "KSM did not merge"
	ksm_state "$dir/ksm.tsv"
	mark_window "$dir"
	"$@" "$WL_PID" > "$dir/mover.out" 2>&1 &
	mover=$!
	usleep $((delay * 1000))
	kill -KILL "$WL_PID"
	event "$dir" killed
	wait_for 60 eval '! kill -0 $mover 2>/dev/null' || fail "$name still running 60 s after the VM was killed"
	wait "$mover"
	mover_rc=$?
	event "$dir" mover-done "rc=$mover_rc"
	wait "$WL_PID" 2>/dev/null
	log "$name exit $mover_rc: $(cat "$dir/mover.out")"
	wait_for 120 ksm_idle || fail "the dead VM's KSM pages were not released"
}

wholemove_to_1() { wholemove "$1" 0 1; }
engine_to_1() { ksm-numad --migrate "$1" --to 1 -c /dev/null; }

numa_balancing 0
ksm_set max_page_sharing 1048576
run_mover migrate_pages wholemove_to_1
case $mover_rc in 0|3) ;; *) fail "migrate_pages failed with status $mover_rc" ;; esac
wm_rc=$mover_rc
run_mover ksm-numad engine_to_1
case $mover_rc in 0|4) ;; *) fail "ksm-numad --migrate failed with status $mover_rc" ;; esac
echo "result	scenario=vm-exits	mover_rc=$wm_rc	engine_rc=$mover_rc	ksm_released=1" > "$OUT/result.tsv"
log "ok: both movers ended (migrate_pages $wm_rc, ksm-numad $mover_rc) and KSM released the dead VMs' pages"
