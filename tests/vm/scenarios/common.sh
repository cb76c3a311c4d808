# common.sh - guest-side helpers shared by the scenarios (busybox sh).
# Sourced from /lib/kn/common.sh; results go under $OUT.

KSM=/sys/kernel/mm/ksm

log() { echo "scenario: $*"; }
fail() { echo "scenario: FAIL: $*"; exit 1; }

ksm_get() { cat "$KSM/$1" 2>/dev/null || echo -1; }

# ksm_set KEY VALUE: writes a KSM knob, failing loudly (max_page_sharing is
# refused while KSM pages exist, so it is set before each workload starts).
ksm_set() {
	echo "$2" > "$KSM/$1" 2>/dev/null || fail "cannot set ksm/$1=$2 (pages_shared $(ksm_get pages_shared))"
}

# wait_for SECONDS COMMAND...: polls COMMAND every 0.2 s.
wait_for() {
	_t=$(($1 * 5)); shift
	until "$@"; do
		_t=$((_t - 1))
		[ $_t -gt 0 ] || return 1
		sleep 0.2
	done
}

# uptime_ms: the guest's uptime in milliseconds (10 ms resolution; awk,
# because sh arithmetic reads the hundredths "08" as bad octal).
uptime_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

numa_balancing() { echo "$1" > /proc/sys/kernel/numa_balancing; }

# ksm_idle: no KSM page is left from an earlier workload.
ksm_idle() { [ "$(ksm_get pages_shared)" -eq 0 ] && [ "$(ksm_get pages_sharing)" -eq 0 ]; }

# merged_at_least N: KSM maps at least N pages (shared + sharing).
merged_at_least() { [ $(( $(ksm_get pages_shared) + $(ksm_get pages_sharing) )) -ge "$1" ]; }

# ksm_state FILE: one tab-separated line of the KSM counters.
ksm_state() {
	_line="ksm"
	for _k in pages_shared pages_sharing pages_unshared stable_node_chains \
		stable_node_dups max_page_sharing full_scans; do
		_line="$_line	$_k=$(ksm_get $_k)"
	done
	echo "$_line" >> "$1"
}

# start_workload DIR ARGS...: starts the workload with its report going to
# DIR/workload.tsv; sets WL_PID once it has populated its memory.
start_workload() {
	_dir=$1; shift
	mkdir -p "$_dir"
	: > "$_dir/workload.out"     # before the background job opens it
	workload -o "$_dir/workload.tsv" "$@" > "$_dir/workload.out" 2>&1 &
	WL_PID=$!
	wait_for 300 grep -q "^workload: ready" "$_dir/workload.out" ||
		{ cat "$_dir/workload.out"; fail "workload did not become ready"; }
	log "workload $WL_PID ready: $(grep '^workload: ready' "$_dir/workload.out")"
}

# stop_workload: SIGTERM, then wait for its report.
stop_workload() {
	kill -TERM "$WL_PID" 2>/dev/null
	wait "$WL_PID" 2>/dev/null
	_rc=$?
	[ $_rc -eq 0 ] || log "workload $WL_PID exited with status $_rc"
}

# mark_window DIR: starts the measured window: the workload restarts its
# statistics (SIGUSR1) and DIR/mark records when.
mark_window() {
	kill -USR1 "$WL_PID"
	echo "mark	uptime_ms=$(uptime_ms)" >> "$1/events.tsv"
}

# event DIR NAME [FIELDS]: records a timestamped event for the analysis.
event() {
	echo "event	name=$2	uptime_ms=$(uptime_ms)${3:+	$3}" >> "$1/events.tsv"
}

# cpu_seconds PID: utime + stime of PID in seconds (USER_HZ 100).
cpu_seconds() {
	awk '{ sub(/.*\) /, ""); printf "%.2f", ($12 + $13) / 100 }' "/proc/$1/stat" 2>/dev/null || echo -1
}

# node_cpus NODE: the CPUs of NODE, one per word.
node_cpus() {
	awk -F, '{ for (i = 1; i <= NF; i++) { n = split($i, r, "-");
		for (c = r[1]; c <= (n > 1 ? r[2] : r[1]); c++) printf "%d ", c } }' \
		"/sys/devices/system/node/node$1/cpulist"
}

# cpu_ticks NODE: "IDLE TOTAL", the summed /proc/stat ticks of NODE's CPUs.
cpu_ticks() {
	_cpus=" $(node_cpus "$1")"
	awk -v cpus="$_cpus" '$1 ~ /^cpu[0-9]+$/ && index(cpus, " " substr($1, 4) " ") {
		for (i = 2; i <= NF; i++) t += $i; idle += $5 + $6 }
		END { print idle + 0, t + 0 }' /proc/stat
}

# idle_pct NODE SECONDS: the share of NODE's CPU time that was idle over
# the next SECONDS seconds, in percent.
idle_pct() {
	_a=$(cpu_ticks "$1")
	sleep "$2"
	_b=$(cpu_ticks "$1")
	echo "$_a $_b" | awk '{ d = $4 - $2; printf "%.0f\n", (d > 0 ? 100 * ($3 - $1) / d : 100) }'
}
