# contenders.sh - the balancers the bench compares, guest side (busybox sh).
# Each contender_NAME DIR PID FROM TO WINDOW runs while the workload PID is
# measured, for WINDOW seconds in all, and writes DIR/contender.tsv:
#   contender	name=NAME	status=ran|not-yet|failed	cpu_s=N.NN	...

# The kernel's automatic NUMA balancing is on by default on a multi-node
# Debian kernel; every contender but numa_balancing runs with it off.
contender_none() {
	sleep "$5"
	echo "contender	name=none	status=ran	cpu_s=0" > "$1/contender.tsv"
}

# numad's primitive: one migrate_pages(2) on the whole process.
contender_migrate_pages() {
	_t0=$(uptime_ms)
	event "$1" call-start
	wholemove "$2" "$3" "$4" > "$1/wholemove.tsv" 2>&1
	_rc=$?
	event "$1" call-end
	_ms=$(awk -F'\t' '{ for (i = 1; i <= NF; i++) if ($i ~ /^call_ms=/) print substr($i, 9) }' "$1/wholemove.tsv")
	_left=$(( $5 * 1000 - ($(uptime_ms) - _t0) ))
	[ $_left -gt 0 ] && sleep $(( (_left + 999) / 1000 ))
	# Its CPU time is the call itself (the kernel works in its context).
	echo "contender	name=migrate_pages	status=$([ $_rc -eq 0 ] && echo ran || echo failed)	cpu_s=$(awk -v ms="${_ms:-0}" 'BEGIN { printf "%.2f", ms / 1000 }')	rc=$_rc" > "$1/contender.tsv"
}

# The kernel's automatic NUMA balancing: on for the window, off after.
# Its work is done by the workload's own threads (NUMA hinting faults and
# task_numa_work), so no separate CPU figure exists for it.
contender_numa_balancing() {
	numa_balancing 1
	sleep "$5"
	numa_balancing 0
	echo "contender	name=numa_balancing	status=ran	cpu_s=-" > "$1/contender.tsv"
}

# ksm-numad's migration engine, in the foreground (the daemon's policy
# that would decide this move is a later issue): chunked move_pages within
# the per-call budget, heavily shared KSM pages left where they are.
contender_ksm_numad() {
	_t0=$(uptime_ms)
	event "$1" engine-start
	time -f "cpu %U %S" ksm-numad --migrate "$2" --to "$4" -c /dev/null \
		> "$1/engine.out" 2> "$1/engine.err"
	_rc=$?
	event "$1" engine-end "rc=$_rc"
	_cpu=$(awk '$1 == "cpu" { printf "%.2f", $2 + $3 }' "$1/engine.err")
	_left=$(( $5 * 1000 - ($(uptime_ms) - _t0) ))
	[ $_left -gt 0 ] && sleep $(( (_left + 999) / 1000 ))
	echo "contender	name=ksm-numad	status=$([ $_rc -eq 0 ] && echo ran || echo failed)	cpu_s=${_cpu:--}	rc=$_rc" > "$1/contender.tsv"
}

# Debian's numad 0.5, the real binary.  numad only moves a process that uses
# more than half a CPU and 300 MB, toward the node with more free CPU and
# memory, and in its first 300 s of uptime only when the move "evens things
# out" (its bypass rule: the VM's RSS, which counts every KSM mapping, must be
# below the free-memory gap between the nodes).  So its VM starts with its
# vCPUs on node 0 (busy: the bench runs every VM with busy vCPUs), node 0 is saturated by a busy loop per CPU and a ballast
# that opens the memory gap; numad then moves the VM to node 1: threads with
# sched_setaffinity, memory with one migrate_pages(2) call.  tests/vm/README.md
# ("numad") has the reasoning and the source references.
NUMAD_BALLAST_MIB=1300

prepare_numad() { WL_ARGS="-C 0"; }

after_merge_numad() {
	_busy=""
	# Two busy loops per node-0 CPU: node 0 has no free CPU, and the VM's
	# share stays near 70 % of a CPU, inside the bypass window (it must be
	# below the free-CPU gap minus 25 %; the gap is ~120-150 % here).
	for _cpu in $(node_cpus 0) $(node_cpus 0); do
		taskset -c "$_cpu" sh -c 'while :; do :; done' &
		_busy="$_busy $!"
	done
	memhog -m "$NUMAD_BALLAST_MIB" -n 0 > /tmp/ballast.log 2>&1 &
	_ballast=$!
	wait_for 120 grep -q ready /tmp/ballast.log || fail "the ballast did not start"
	NUMAD_EXTRA_PIDS="$_busy $_ballast"
}

cleanup_numad() {
	# A bare "wait" would wait for every child, the VMs included.
	if [ -n "$NUMAD_EXTRA_PIDS" ]; then
		# shellcheck disable=SC2086
		kill $NUMAD_EXTRA_PIDS 2>/dev/null
		# shellcheck disable=SC2086
		wait $NUMAD_EXTRA_PIDS 2>/dev/null
	fi
	[ -s /var/run/numad.pid ] && kill "$(cat /var/run/numad.pid)" 2>/dev/null
	rm -f /var/run/numad.pid
}

numad_moved() { grep -q "moved to node" /var/log/numad.log 2>/dev/null; }

contender_numad() {
	mkdir -p /var/run /var/log
	rm -f /var/log/numad.log /var/run/numad.pid
	_t0=$(uptime_ms)
	event "$1" numad-start
	# -i 1:2: scan every 1-2 s instead of 5-15 s (the only wait numad lets us
	# shorten); -H 0: leave khugepaged alone; -v: log candidates and moves.
	numad -i 1:2 -H 0 -v || fail "numad did not start"
	if wait_for "$5" numad_moved; then
		event "$1" numad-moved
	else
		log "numad did not move the VM within $5 s"
	fi
	_left=$(( $5 * 1000 - ($(uptime_ms) - _t0) ))
	[ $_left -gt 0 ] && sleep $(( (_left + 999) / 1000 ))
	_pid=$(cat /var/run/numad.pid 2>/dev/null)
	_cpu=$(cpu_seconds "${_pid:-0}")
	cp /var/log/numad.log "$1/numad.log" 2>/dev/null
	echo "contender	name=numad	status=$(numad_moved && echo ran || echo did-not-move)	cpu_s=$_cpu	moves=$(grep -c 'moved to node' "$1/numad.log" 2>/dev/null)" > "$1/contender.tsv"
}

# ksm-numad's daemon as it runs in production (process mode: no libvirt in
# the guest), every INTERVAL_S seconds (default 1), for WINDOW seconds; when
# the scenario sets SETTLE_WHEN (a command), then until that command is true,
# at most SETTLE_S seconds more (default 300): on a loaded host the same
# moves take longer, and the checks are about where the VMs end, not how
# fast a loaded machine copies pages.  Its log goes to DIR/daemon.log.
# FROM and TO are unused: it decides itself.
contender_ksm_numad_daemon() {
	cat > /tmp/ksm-numad.conf <<CONF
# Where this differs from the shipped file, and why: a window of 30 s needs
# passes every second, not every 15; the decisions go to the log; the guest
# has no libvirt; its nodes hold 768 MiB, where the production reserve
# (512 MiB) would leave no room to move into; its VMs are small.
[daemon]
interval = ${KN_INTERVAL:-1}
log_level = debug
[placement]
reserve_mb = 64
[vms]
libvirt_uri =
process_names = qemu-*
min_memory_mb = 100
CONF
	event "$1" daemon-start
	ksm-numad -c /tmp/ksm-numad.conf --log-target stderr > "$1/daemon.log" 2>&1 &
	_pid=$!
	sleep "$5"
	if [ -n "${SETTLE_WHEN:-}" ]; then
		if wait_for "${SETTLE_S:-300}" $SETTLE_WHEN; then
			event "$1" settled
		else
			log "not settled ($SETTLE_WHEN) within ${SETTLE_S:-300} s after the window"
		fi
	fi
	_cpu=$(cpu_seconds "$_pid")
	kill -TERM "$_pid"
	wait "$_pid"
	_rc=$?
	event "$1" daemon-end "rc=$_rc"
	echo "contender	name=ksm-numad-daemon	status=$([ $_rc -eq 0 ] && echo ran || echo failed)	cpu_s=$_cpu	rc=$_rc" > "$1/contender.tsv"
}

