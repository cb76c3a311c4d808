# restart.sh - scenario 6: the daemon crashes (SIGKILL) right after it gave
# a VM a new home, and is started again (guest side, issue 12).
#
# Process mode (no libvirt): a VM-like workload with its memory and its
# vCPUs on node 0, whose CPU two busy loops keep full; the daemon gives it
# node 1, pins its threads there (sched_setaffinity: its Cpus_allowed_list
# is then narrower than the host's, as an admin's pinning looks) and starts
# moving its memory, slowly (interval_budget_mb = 32).  Once the state
# file holds that, the daemon is SIGKILLed and node 0's busy loops stop:
# node 0, where most of the memory still is, is idle.  A second daemon with
# the same configuration and control directory must still manage the VM
# (not "left alone: its CPUs were pinned by someone else"), know that it
# moved it (settling on node 1, never a new home: with the move forgotten,
# node 0 would win at once) and finish the move.  A control: killed again,
# its state file removed, a third daemon takes the pinning for an admin's.
#
# Leaves in $OUT: result.tsv, daemon-1.log, daemon-2.log, daemon-3.log,
# state-1 and state-2 (the state file each daemon left), explain-2.txt and
# explain-3.txt (ksm-numadctl explain), vm/ (the workload).
. /lib/kn/common.sh

ctl=/tmp/kn-ctl
conf=/tmp/ksm-numad.conf
name=qemu-vm

cat > "$conf" <<CONF
# The shipped file but for: passes every second (this run is short), no
# libvirt in the guest, the guest's small nodes (reserve), its small VM
# (min_memory_mb), and a small budget so that the move is still under way
# when the daemon is killed.
[daemon]
interval = 1
log_level = debug
control_dir = $ctl
[placement]
reserve_mb = 64
[migration]
interval_budget_mb = 32
[vms]
libvirt_uri =
process_names = qemu-*
min_memory_mb = 100
CONF

# daemon N: starts daemon N, its log in OUT/daemon-N.log.
daemon() {
	ksm-numad -c "$conf" --log-target stderr > "$OUT/daemon-$1.log" 2>&1 &
	dpid=$!
	log "daemon $1 is PID $dpid"
}

# decided N: daemon N logged a decision on the VM (a pass after its first,
# which only measures).
decided() {
	grep "$name (PID $WL_PID): " "$OUT/daemon-$1.log" 2>/dev/null |
		grep -Eq 'left alone|keeps|stays on|new home|held|no home'
}

# in_state HOME: the state file holds the VM, pinned, with home HOME.
in_state() {
	grep -Eq "^vm $WL_PID [0-9]+ [-0-9,]+ $1 " "$ctl/state" 2>/dev/null
}

local_at_least() {
	awk -F= -v p="$1" '$1 == "local_pct" && $2 >= p { ok = 1 } END { exit !ok }' \
		"$OUT/vm/live" 2>/dev/null
}

# crash N: SIGKILL for daemon N; the state file it left into OUT/state-N.
crash() {
	kill -KILL "$dpid"
	wait "$dpid" 2>/dev/null
	event "$OUT" "daemon-$1-killed"
	cp "$ctl/state" "$OUT/state-$1" 2>/dev/null
	log "daemon $1 killed; its state: $(tr '\n' '|' < "$OUT/state-$1" 2>/dev/null)"
}

# explain N: what ksm-numadctl says of the VM, into OUT/explain-N.txt.
explain() {
	ksm-numadctl -d "$ctl" explain "$WL_PID" > "$OUT/explain-$1.txt" 2>&1 ||
		log "ksm-numadctl explain failed: $(cat "$OUT/explain-$1.txt")"
	sed 's/^/  explain: /' "$OUT/explain-$1.txt"
}

numa_balancing 0
busy=""
for cpu in $(node_cpus 0) $(node_cpus 0); do
	taskset -c "$cpu" sh -c 'while :; do :; done' &
	busy="$busy $!"
done
start_workload "$OUT/vm" -n "$name" -r 192M:unique -M 0 -C 0 -L 1 -t 2 -l "$OUT/vm/live"
echo "setup	node0_idle_pct=$(idle_pct 0 2)	local_pct=$(sed -n 's/^local_pct=//p' "$OUT/vm/live")" >> "$OUT/result.tsv"

# ---- daemon 1: the new home, the pinning, the move started; then a crash
daemon 1
wait_for 120 in_state 1 || { tail -20 "$OUT/daemon-1.log"; fail "daemon 1 did not give the VM node 1"; }
crash 1
# shellcheck disable=SC2086
kill $busy && wait $busy 2>/dev/null
echo "crash	local_pct=$(sed -n 's/^local_pct=//p' "$OUT/vm/live")	cpus=$(sed -n 's/^Cpus_allowed_list:\t//p' "/proc/$WL_PID/status")" >> "$OUT/result.tsv"

# ---- daemon 2: same configuration and control directory
daemon 2
wait_for 120 decided 2 || { tail -20 "$OUT/daemon-2.log"; fail "daemon 2 made no decision on the VM"; }
explain 2
# it goes on until the VM is local (its memory on node 1), at most 300 s
if wait_for 300 local_at_least 95; then
	event "$OUT" local
else
	log "the VM is not 95 % local 300 s after the restart"
fi
sleep 3         # a few passes more: a late move back would show
echo "daemon2	local_pct=$(sed -n 's/^local_pct=//p' "$OUT/vm/live")	cpus=$(sed -n 's/^Cpus_allowed_list:\t//p' "/proc/$WL_PID/status")" >> "$OUT/result.tsv"

# ---- the control: without its state file the next daemon is fooled
crash 2
rm -f "$ctl/state"
daemon 3
wait_for 120 decided 3 || { tail -20 "$OUT/daemon-3.log"; fail "daemon 3 made no decision on the VM"; }
explain 3
kill -TERM "$dpid"
wait "$dpid"
echo "daemon3	rc=$?" >> "$OUT/result.tsv"
stop_workload
grep "$name (PID $WL_PID): " "$OUT/daemon-1.log" "$OUT/daemon-2.log" "$OUT/daemon-3.log" |
	grep -v 'memory move' | head -20
cat "$OUT/result.tsv"
