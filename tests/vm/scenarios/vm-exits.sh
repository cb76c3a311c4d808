# vm-exits.sh - scenario 3: a VM exits in the middle of a migration (guest side).
#
# A VM with SAME MiB of KSM-merged identical pages (one long chain, so the
# whole-process migrate_pages call takes long) is killed DELAY_MS into the
# call.  The call must end (moved or "no such process"), nothing may hang,
# and the VM's KSM pages must be released.
#
# usage: vm-exits.sh SAME_MIB UNIQUE_MIB DELAY_MS
. /lib/kn/common.sh

[ $# -eq 3 ] || fail "usage: vm-exits.sh SAME_MIB UNIQUE_MIB DELAY_MS"
same=$1 unique=$2 delay=$3
pages=$((same * 256))
dir=$OUT/migrate_pages
mkdir -p "$dir"
numa_balancing 0
ksm_set max_page_sharing 1048576
start_workload "$dir" -r "${same}M:same:ksm" -r "${unique}M:unique" -M 0 -C 1 -t 2
wait_for 600 merged_at_least $((pages - pages / 100)) || fail "KSM did not merge"
ksm_state "$dir/ksm.tsv"
mark_window "$dir"
wholemove "$WL_PID" 0 1 > "$dir/wholemove.tsv" 2>&1 &
mover=$!
usleep $((delay * 1000))
kill -KILL "$WL_PID"
event "$dir" killed
wait_for 60 eval '! kill -0 $mover 2>/dev/null' || fail "migrate_pages still running 60 s after the VM was killed"
wait "$mover"
rc=$?
event "$dir" mover-done "rc=$rc"
wait "$WL_PID" 2>/dev/null
log "mover exit $rc: $(cat "$dir/wholemove.tsv")"
case $rc in 0|3) ;; *) fail "the mover failed with status $rc" ;; esac
wait_for 120 ksm_idle || fail "the dead VM's KSM pages were not released"
ksm_state "$dir/ksm.tsv"
echo "result	scenario=vm-exits	mover_rc=$rc	ksm_released=1" > "$OUT/result.tsv"
log "ok: the call ended (status $rc) and KSM released the dead VM's pages"
