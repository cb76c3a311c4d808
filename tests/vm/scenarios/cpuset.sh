# cpuset.sh - the engine and libvirt's strict numatune (guest side): VMs in
# cgroups whose cpuset.mems holds them on node 0 are moved to node 1.  The
# engine must widen cpuset.mems for the move, narrow it afterwards, and keep
# it wide while heavily shared KSM pages stay on node 0 (narrowing would make
# the kernel migrate them all in one go).
#
# usage: cpuset.sh
. /lib/kn/common.sh

cg=/sys/fs/cgroup/machine.slice
mkdir -p "$cg"
echo "+cpuset +memory" > "$cg/cgroup.subtree_control" || fail "cannot enable cpuset in $cg"
numa_balancing 0
ksm_set max_page_sharing 1048576

# vm NAME REGIONS...: a VM in its own cgroup with cpuset.mems 0; sets WL_PID.
vm() {
	name=$1
	shift
	dir=$OUT/$name
	mkdir -p "$dir" "$cg/$name"
	echo 0 > "$cg/$name/cpuset.mems" || fail "cannot set cpuset.mems of $name"
	sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$cg/$name" \
		workload -o "$dir/workload.tsv" "$@" -M 0 -C 1 -L 1 -t 2 > "$dir/workload.out" 2>&1 &
	WL_PID=$!
	wait_for 120 grep -q "^workload: ready" "$dir/workload.out" || fail "$name did not start"
}

# move NAME: the engine moves the VM to node 1; records cpuset.mems after.
move() {
	ksm-numad --migrate "$WL_PID" --to 1 -c /dev/null > "$OUT/$1/engine.out" 2>&1
	echo "result	vm=$1	rc=$?	mems=$(cat "$cg/$1/cpuset.mems")" >> "$OUT/result.tsv"
	log "$1: $(tail -1 "$OUT/result.tsv")"
	cat "$OUT/$1/engine.out"
	stop_workload
}

vm plain -r 128M:unique
move plain
vm shared -r 128M:unique -r 256M:same:ksm
wait_for 300 merged_at_least $((256 * 256 * 99 / 100)) || fail "KSM did not merge"
move shared
