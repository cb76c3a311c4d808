# selftest-workload.sh - proves tests/vm/workload and tests/vm/wholemove in
# the guest (guest side, busybox sh; run by tests/vm/guest).
#
# A VM-like workload with 512 MiB of identical pages offered to KSM and
# 128 MiB of unique pages, all first-touched on node 0, its vCPUs on node 1.
# Once KSM has merged the 512 MiB into one chain (max_page_sharing must be at
# least 131072), mode `move' makes one migrate_pages(2) call on the whole
# process (numad's primitive) and mode `baseline' does nothing; then the
# workload finishes its 25 s and both outputs are printed and checked:
#   - the unique pages are all on node 1 after a move, all on node 0 without;
#   - locality goes from ~0 % to ~100 % with a move and stays ~0 % without;
#   - with a move, the worst stall is of the order of the call's duration.
#
# Host side:
#   gcc -static -O2 -pthread -Wall -Wextra -o /tmp/wl tests/vm/workload.c
#   gcc -static -O2 -Wall -Wextra -o /tmp/wm tests/vm/wholemove.c
#   tests/vm/guest --nodes 2 --smp 2 --mem 2048 \
#       --add /tmp/wl:/bin/workload --add /tmp/wm:/bin/wholemove \
#       --ksm run=1,pages_to_scan=20000,sleep_millisecs=10,max_page_sharing=1048576 \
#       --run tests/vm/selftest-workload.sh --out DIR -- move|baseline
set -u

mode=${1:-move}
same_pages=131072               # 512 MiB
ksm_dir=/sys/kernel/mm/ksm
report=$OUT/workload.tsv

say() { echo "selftest: $*"; }
fail() { say "FAIL: $*"; failed=1; }
ksm() { cat "$ksm_dir/$1"; }
sharing_at_least() { [ "$(ksm pages_sharing)" -ge "$1" ]; }
ready() { grep -q '^workload: ready' /tmp/workload.out; }

# wait_for SECONDS COMMAND...: polls COMMAND every 0.1 s.
wait_for() {
	_t=$(($1 * 10)); shift
	until "$@"; do
		_t=$((_t - 1))
		[ $_t -gt 0 ] || return 1
		sleep 0.1
	done
}

# uptime_ms: the guest's uptime in milliseconds (10 ms resolution).  Not
# shell arithmetic on the hundredths: "08" and "09" are bad octal numbers.
uptime_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

# field FILE TYPE MATCH KEY: KEY's value on the first TYPE line containing MATCH.
field() {
	awk -F'\t' -v type="$2" -v m="$3" -v key="$4" '
		$1 == type && (m == "" || index($0, m)) {
			for (i = 2; i <= NF; i++)
				if (index($i, key "=") == 1) { print substr($i, length(key) + 2); exit }
		}' "$1"
}

# locality FILE first|last: local_pct of the first or last timeline line with a sample.
locality() {
	awk -F'\t' -v which="$2" '
		$1 == "timeline" {
			for (i = 2; i <= NF; i++) if ($i ~ /^local_pct=/) v = substr($i, 11)
			if (v != "-1") { last = v; if (first == "") first = v }
		}
		END { print (which == "first" ? first : last) }' "$1"
}

# worst_bucket FILE: t_ms of the timeline bucket with the worst stall, and the stall.
worst_bucket() {
	awk -F'\t' '
		$1 == "timeline" {
			for (i = 2; i <= NF; i++) {
				split($i, kv, "=")
				if (kv[1] == "t_ms") t = kv[2]
				if (kv[1] ~ /_max_us$/ && kv[2] + 0 > w) { w = kv[2] + 0; wt = t }
			}
		}
		END { printf "t_ms=%s worst_us=%s\n", wt, w }' "$1"
}

ms() { awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }

case $mode in move|baseline) ;; *) say "usage: selftest-workload.sh move|baseline"; exit 2 ;; esac
failed=0
echo 0 > /proc/sys/kernel/numa_balancing 2>/dev/null   # no automatic moves
say "mode $mode; ksm run=$(ksm run) max_page_sharing=$(ksm max_page_sharing)" \
    "pages_to_scan=$(ksm pages_to_scan) sleep_millisecs=$(ksm sleep_millisecs);" \
    "numa_balancing=$(cat /proc/sys/kernel/numa_balancing)"

workload -r 512M:same:ksm -r 128M:unique -M 0 -C 1 -t 2 -d 25 -o "$report" \
	> /tmp/workload.out 2>&1 &
pid=$!
wait_for 120 ready || { cat /tmp/workload.out; say "FAIL: workload not ready"; exit 1; }
t_ready=$(uptime_ms)
say "$(cat /tmp/workload.out) (uptime ${t_ready} ms)"

if wait_for 60 sharing_at_least $((same_pages - 100)); then
	say "merged at t=$(( $(uptime_ms) - t_ready )) ms: pages_shared $(ksm pages_shared)" \
	    "pages_sharing $(ksm pages_sharing) full_scans $(ksm full_scans)"
else
	fail "KSM merged only $(ksm pages_sharing) pages in 60 s"
fi
kill -0 $pid 2>/dev/null || fail "the workload ended before the move (raise -d)"

if [ "$mode" = move ]; then
	sleep 1                 # a quiet second before the call in the timeline
	t_call=$(( $(uptime_ms) - t_ready ))
	wholemove $pid 0 1 > "$OUT/wholemove.tsv"
	rc=$?
	say "wholemove exit $rc at t=${t_call} ms (+-100 ms): $(cat "$OUT/wholemove.tsv")"
	[ $rc -eq 0 ] || fail "wholemove exited $rc"
	say "after the call: pages_shared $(ksm pages_shared) pages_sharing $(ksm pages_sharing)"
fi
wait $pid
rc=$?
[ $rc -eq 0 ] || fail "workload exited $rc"

echo "--- workload stdout"
cat /tmp/workload.out
echo "--- workload report (timeline thinned to every 10th line and lines with a stall > 5 ms)"
awk -F'\t' '$1 != "timeline" { print; next }
	{ split($3, a, "="); split($4, b, "="); n++ }
	n % 10 == 1 || a[2] > 5000 || b[2] > 5000' "$report"
echo "---"

unique_pages=$(field "$report" region content=unique pages)
unique_n0=$(field "$report" region content=unique node0)
unique_n1=$(field "$report" region content=unique node1)
ksm_n1=$(field "$report" region content=same node1)
touch_max=$(field "$report" summary what=touch max_us)
touch_p999=$(field "$report" summary what=touch p999_us)
mmap_max=$(field "$report" summary what=mmap max_us)
mmap_p999=$(field "$report" summary what=mmap p999_us)
first=$(locality "$report" first)
last=$(locality "$report" last)
call_ms=$(field "$OUT/wholemove.tsv" wholemove "" call_ms 2>/dev/null)
say "result mode=$mode call_ms=${call_ms:--} worst_touch_ms=$(ms "$touch_max")" \
    "worst_mmap_ms=$(ms "$mmap_max") p999_touch_ms=$(ms "$touch_p999")" \
    "p999_mmap_ms=$(ms "$mmap_p999") local_first=$first local_last=$last" \
    "worst_bucket($(worst_bucket "$report"))"

ge "$first" 5 && fail "locality before the move is $first %, expected ~0"
if [ "$mode" = move ]; then
	[ "$unique_n1" = "$unique_pages" ] || fail "unique pages on node 1: $unique_n1 of $unique_pages"
	[ "$ksm_n1" = "$same_pages" ] || fail "KSM region on node 1: $ksm_n1 of $same_pages"
	ge "$last" 95 || fail "locality after the move is $last %, expected ~100"
	worst=$mmap_max
	ge "$touch_max" "$worst" && worst=$touch_max
	ge "$worst" "$(awk -v c="$call_ms" 'BEGIN { print c * 500 }')" ||
		fail "worst stall $(ms "$worst") ms is not of the order of the call ($call_ms ms)"
	ge "$(awk -v c="$call_ms" 'BEGIN { print c * 3000 }')" "$worst" ||
		fail "worst stall $(ms "$worst") ms is far above the call ($call_ms ms)"
else
	[ "$unique_n0" = "$unique_pages" ] || fail "unique pages on node 0: $unique_n0 of $unique_pages"
	ge "$last" 5 && fail "locality without a move is $last %, expected ~0"
fi
[ $failed = 0 ] && say "ok" || say "FAILED"
exit $failed
