# several-vms.sh - scenario 2: several VMs with mixed unique and shared
# memory, placed badly on the 4-node topology (guest side).
#
# Each VM's memory is put on one node and its vCPUs on another; the bed
# checks that it got exactly that, then measures for WINDOW seconds with the
# contenders given (the baseline first).
#
# For the balancers (ksm-numad's daemon, numad) two busy loops per CPU keep
# node 0's CPUs full, as other work on a host would: a VM whose memory is on
# node 0 cannot make node 0 its home, so its memory has to move.  How busy
# node 0 is gets measured before the window (DIR/busy.tsv), so the check
# knows the decision was not a close call.
#
# Every VM has a twin: the same vCPU and memory nodes and threads, 32 MiB
# of unique memory, a name no balancer manages and a size below numad's
# threshold.  The twins are measured in the same window under the same
# load: the VMs' stalls are judged against theirs (DIR/twin-NAME/).
#
# --big (the bench) makes every VM larger than 300 MB, numad's compile-time
# threshold for a process worth managing (tests/vm/README.md, "numad in the
# guest"); it needs 1 GiB per node.  numad also leaves alone, during its
# first 300 s of uptime, processes it did not bind itself (the same
# section): its window starts once the guest is up 310 s.
#
# --settle (the check) keeps the daemon running after the window until every
# VM is 95 % local by its own measure (at most 300 s more): where they end
# is checked, not how fast a loaded host copies pages.
#
# usage: several-vms.sh [--big] [--settle] WINDOW CONTENDER...
. /lib/kn/common.sh
. /lib/kn/contenders.sh

# name  memory-node  vcpu-node  regions
vms="web:0:1:192M:unique,64M:same:ksm
db:1:2:256M:unique
batch:2:0:64M:unique,128M:zero:ksm"
if [ "$1" = --big ]; then
	vms="web:0:1:320M:unique,64M:same:ksm
db:1:2:352M:unique
batch:2:0:160M:unique,192M:zero:ksm"
	shift
fi
if [ "$1" = --settle ]; then
	SETTLE_WHEN=all_local
	shift
fi
[ $# -ge 2 ] || fail "usage: several-vms.sh [--big] [--settle] WINDOW CONTENDER..."
window=$1
shift

run_contender() {
	c=$1
	numa_balancing 0
	wait_for 120 ksm_idle || fail "KSM pages of the previous VMs are still there"
	all="" twins=""
	for spec in $vms; do
		name=${spec%%:*} rest=${spec#*:}
		mem=${rest%%:*} rest=${rest#*:}
		cpu=${rest%%:*} regions=${rest#*:}
		dir=$OUT/$c/$name
		args=""
		for r in $(echo "$regions" | tr , ' '); do args="$args -r $r"; done
		start_workload "$OUT/$c/twin-$name" -n "twin-$name" -r 32M:unique -M "$mem" -C "$cpu" -t 2
		twins="$twins $name:$WL_PID"
		# shellcheck disable=SC2086
		start_workload "$dir" -n "qemu-$name" $args -M "$mem" -C "$cpu" -t 2 -l "$dir/live"
		eval "pid_$name=$WL_PID"
		all="$all $name:$WL_PID:$mem:$cpu"
	done
	wait_for 300 merged_at_least $(( (64 + 128) * 256 * 95 / 100 )) || log "KSM merged less than expected"
	if [ "$c" = numad ]; then
		log "numad: waiting until the guest is up 310 s (numad's start-up rule)"
		wait_for 400 uptime_past 310000
	fi
	busy=""
	if [ "$c" = ksm-numad-daemon ] || [ "$c" = numad ]; then
		for cpu in $(node_cpus 0) $(node_cpus 0); do
			taskset -c "$cpu" sh -c 'while :; do :; done' &
			busy="$busy $!"
		done
		echo "busy	node=0	idle_pct=$(idle_pct 0 2)" > "$OUT/$c/busy.tsv"
		log "$c: node 0 busy: $(cat "$OUT/$c/busy.tsv")"
	fi
	for v in $all; do
		name=${v%%:*} rest=${v#*:} pid=${rest%%:*}
		WL_PID=$pid mark_window "$OUT/$c/$name"
	done
	for v in $twins; do WL_PID=${v#*:} mark_window "$OUT/$c/twin-${v%%:*}"; done
	"contender_$(echo "$c" | tr - _)" "$OUT/$c" "" "" "" "$window"
	# shellcheck disable=SC2086
	[ -n "$busy" ] && kill $busy && wait $busy 2>/dev/null
	[ "$c" = numad ] && cleanup_numad
	for v in $all $twins; do
		v=${v#*:}
		WL_PID=${v%%:*} stop_workload
	done
}

uptime_past() { [ "$(uptime_ms)" -ge "$1" ]; }

# all_local: every VM of this contender is at least 95 % local by its own
# latest sample (workload -l).
all_local() {
	for v in $all; do
		awk -F= '$1 == "local_pct" && $2 >= 95 { ok = 1 } END { exit !ok }' \
			"$OUT/$c/${v%%:*}/live" 2>/dev/null || return 1
	done
}

for c in "$@"; do run_contender "$c"; done
