# host.sh - host-side helpers for the guest tier and the bench (bash).
# Sourced by tests/vm/check-vm and tests/bench/run.

vm_src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
vm_bin=${top_builddir:-$vm_src/../..}/tests/vm/bin
vm_daemon=${top_builddir:-$vm_src/../..}/daemon/ksm-numad

# build_guest_tools: static workload and wholemove for the guest, rebuilt
# when their source is newer.
build_guest_tools() {
	[[ -x $vm_daemon ]] || { echo "build ksm-numad first ($vm_daemon is missing)"; return 1; }
	mkdir -p "$vm_bin"
	local p
	for p in workload wholemove; do
		if [[ ! -x $vm_bin/$p || $vm_src/$p.c -nt $vm_bin/$p ]]; then
			gcc -static -O2 -pthread -Wall -Wextra -o "$vm_bin/$p" "$vm_src/$p.c" ||
				{ echo "cannot build $p for the guest (gcc -static needs libc6-dev)"; return 1; }
		fi
	done
}

# boot SCENARIO OUTDIR [GUEST-OPTIONS...] -- [SCENARIO-ARGS...]: boots the
# guest with the tools and tests/vm/scenarios, runs SCENARIO.sh, and leaves
# its output in OUTDIR (the console in OUTDIR/console.log).  Returns the
# guest script's status (77: qemu or the kernel is missing).
boot() {
	local scenario=$1 out=$2
	shift 2
	rm -rf "$out" && mkdir -p "$out"
	"$vm_src/guest" --add "$vm_bin/workload:/bin/workload" \
		--add "$vm_bin/wholemove:/bin/wholemove" \
		--add "$vm_src/scenarios:/lib/kn" \
		--add "$vm_daemon:/bin/ksm-numad" \
		--run "$vm_src/scenarios/$scenario.sh" --out "$out" \
		--log "$out/console.log" "$@"
}

# tsv_field FILE TYPE KEY: the value of KEY=... on the first TYPE line.
tsv_field() {
	awk -F'\t' -v type="$2" -v key="$3" '
		$1 == type { for (i = 2; i <= NF; i++)
			if (index($i, key "=") == 1) { print substr($i, length(key) + 2); exit } }' "$1" 2>/dev/null
}

# numad_bin: prints the path of Debian's numad binary, unpacked from its
# package into the cache (never installed: that would start numad.service
# on this host).
numad_bin() {
	local cache=${KSM_NUMAD_CACHE:-${HOME:-/tmp}/.cache/ksm-numad}/numad deb
	if [[ ! -x $cache/root/usr/bin/numad ]]; then
		mkdir -p "$cache" && rm -rf "$cache/root" "$cache"/*.deb
		(cd "$cache" && apt-get download numad >/dev/null 2>&1) ||
			(apt-get update -qq >/dev/null 2>&1 && cd "$cache" && apt-get download numad >/dev/null 2>&1) ||
			{ echo "cannot download Debian's numad package" >&2; return 1; }
		deb=$(ls "$cache"/numad_*.deb | head -1)
		dpkg -x "$deb" "$cache/root" || return 1
		basename "$deb" > "$cache/root/PACKAGE"
	fi
	echo "$cache/root/usr/bin/numad"
}

# to_pct WORKLOAD_TSV PCT: seconds from the window mark until the local share
# of the VM's memory first reached PCT percent, or "never".
to_pct() {
	awk -F'\t' -v pct="$2" '
		$1 == "mark" { for (i = 2; i <= NF; i++) if ($i ~ /^t_ms=/) m = substr($i, 6) + 0; next }
		$1 == "timeline" && m != "" {
			for (i = 2; i <= NF; i++) {
				if ($i ~ /^t_ms=/) t = substr($i, 6) + 0
				if ($i ~ /^local_pct=/) l = substr($i, 11) + 0
			}
			if (t >= m && l >= pct) { printf "%.1f", (t - m) / 1000; found = 1; exit }
		}
		END { if (!found) print "never" }' "$1"
}