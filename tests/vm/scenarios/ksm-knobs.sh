# ksm-knobs.sh - the daemon sets the KSM knobs before VMs start (guest
# side, issue 12).  The kernel is at its defaults (max_page_sharing 256,
# use_zero_pages 0) with nothing merged; the daemon starts with
# set_max_page_sharing = 512 and set_use_zero_pages = 1; then a VM-like
# workload starts and KSM merges its identical pages (into dups of 512
# mappings).  Second part, same boot: with pages shared, the configuration
# asks max_page_sharing 1024 and the daemon gets SIGHUP; the kernel refuses
# such a change while KSM shares pages, so the daemon must run on, leave the
# kernel's value alone and say in its status why.
#
# usage: ksm-knobs.sh
# Leaves in $OUT: result.tsv (one line per phase: the knobs as the kernel
# has them), status-start.txt/.json and status-reload.txt/.json (what
# `ksm-numadctl status` says), daemon.log, vm/ (the workload).
. /lib/kn/common.sh

ctl=/tmp/kn-ctl
conf=/tmp/ksm-numad.conf

# write_conf MPS: the daemon's configuration, asking max_page_sharing MPS.
write_conf() {
	cat > "$conf" <<CONF
# The shipped file but for: passes every second (this run is short), no
# libvirt in the guest, and the two KSM knobs this scenario is about.
[daemon]
interval = 1
[vms]
libvirt_uri =
[ksm]
set_max_page_sharing = $1
set_use_zero_pages = yes
CONF
}

# knobs PHASE [FIELDS]: the knobs as the kernel has them, into result.tsv.
knobs() {
	_line="knobs	phase=$1	max_page_sharing=$(ksm_get max_page_sharing)"
	_line="$_line	use_zero_pages=$(ksm_get use_zero_pages)	pages_shared=$(ksm_get pages_shared)"
	_line="$_line	pages_sharing=$(ksm_get pages_sharing)${2:+	$2}"
	echo "$_line" >> "$OUT/result.tsv"
	log "$_line"
}

# status NAME: what ksm-numadctl says, text and JSON, into OUT/status-NAME.*.
status() {
	ksm-numadctl -d "$ctl" status > "$OUT/status-$1.txt" 2>&1 ||
		log "ksm-numadctl status failed: $(cat "$OUT/status-$1.txt")"
	ksm-numadctl -d "$ctl" --json status > "$OUT/status-$1.json" 2>&1 ||
		log "ksm-numadctl --json status failed: $(cat "$OUT/status-$1.json")"
	sed -n '/^ksm:/,/^nodes:/p' "$OUT/status-$1.txt"
}

answers() { ksm-numadctl -d "$ctl" status > /dev/null 2>&1; }
reloaded() { [ "$(grep -c 'reloaded' "$OUT/daemon.log")" -ge 1 ]; }

numa_balancing 0
ksm_idle || fail "KSM shares pages before any VM started"
knobs before

write_conf 512
ksm-numad -c "$conf" --control-dir "$ctl" --log-target stderr > "$OUT/daemon.log" 2>&1 &
daemon=$!
wait_for 60 answers || { cat "$OUT/daemon.log"; fail "the daemon does not answer on $ctl"; }
knobs start
status start

# A VM-like workload: 64 MiB of identical pages offered to KSM (16,384
# pages: 32 KSM pages of 512 mappings each once merged).
start_workload "$OUT/vm" -r 64M:same:ksm -t 1
wait_for 300 merged_at_least $((16384 * 99 / 100)) ||
	fail "KSM merged only $(ksm_get pages_sharing) of 16384 pages"
knobs merged

# With pages shared, another max_page_sharing and a reload.
write_conf 1024
kill -HUP "$daemon"
# The reload is done within the signal's handler: any request after its
# log line is answered with the reloaded state.
wait_for 30 reloaded || fail "the daemon did not log the reload"
alive=0
kill -0 "$daemon" 2>/dev/null && alive=1
knobs reload "daemon_alive=$alive"
status reload

stop_workload
kill -TERM "$daemon"
wait "$daemon"
rc=$?
echo "daemon	rc=$rc" >> "$OUT/result.tsv"
log "daemon stopped with status $rc"
grep 'KSM:' "$OUT/daemon.log"
