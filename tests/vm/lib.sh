# SPDX-License-Identifier: GPL-2.0
#
# Helpers for the VM suites (sourced from bash, run from the project top).

. tests/lib/tap.sh

CFS=/sys/kernel/config/vbus
NLMON=build/cmake/tests/tools/nlmon

# Install the project's modules into the VM's (throw-away) root, the way
# `make install` does, so modprobe finds them.
install_modules() {
	local kver dir
	kver=$(uname -r)
	dir=/lib/modules/$kver/extra/vbus
	mkdir -p "$dir"
	cp kernel/vbus/vbus.ko devices/*/*.ko guest/*/*.ko connectors/*/*.ko "$dir/"
	# The database tests/vm/run computed on the host (depmod -a takes
	# minutes under TCG).
	if [ -f "build/vm/moddb-$kver/modules.dep" ]; then
		cp "build/vm/moddb-$kver"/modules.* "/lib/modules/$kver/"
	else
		depmod -a
	fi
}

# The emulator, not the code under test, broke down in a way only the
# suite can see (an L2 guest's triple fault with nothing on its
# console): say so in $VBUS_BREAKDOWN (default /vmshare/breakdown, the
# run's share directory).  If the command then fails, tests/vm/run
# gives the run status 124 with REASON, and a suite with vm-retry gets
# another attempt; a command that passes anyway passes.
emulator_broke() { # REASON
	echo "$1" >>"${VBUS_BREAKDOWN:-/vmshare/breakdown}"
}

# KVM turns virtualization on in every CPU (an IPI to each) when the
# first VM is created, and off again when the last one goes.  Under
# TCG a vCPU has been seen not to answer that IPI: the sender spun in
# kvm_destroy_vm() until the soft-lockup detector fired, and VMMs that
# create a VM and exit at once froze the test VM.  An idle VM held for
# the rest of the run keeps virtualization on, so a suite's VMs come
# and go without those IPIs.  Nothing in the project counts VMs.  (Its
# output goes nowhere: a caller inside $(...) must not wait for it.)
kvm_keep_on() {
	[ -n "${KVM_KEEPER:-}" ] || [ ! -c /dev/kvm ] && return 0
	python3 -c 'import fcntl, os, signal
kvm = os.open("/dev/kvm", os.O_RDWR)
vm = fcntl.ioctl(kvm, 0xAE01, 0)  # KVM_CREATE_VM
signal.pause()' </dev/null >/dev/null 2>&1 &
	KVM_KEEPER=$!
}

# For the suites of VMM test tools: the project's modules installed, KVM
# loaded with nested virtualisation, and a test that /dev/kvm is there.
kvm_host() {
	install_modules
	modprobe kvm_amd nested=1 2>/dev/null || modprobe kvm_intel nested=1
	kvm_keep_on
	check "/dev/kvm is there (nested KVM)" test -c /dev/kvm
}

# tool_test DESCRIPTION COMMAND...: a test that COMMAND succeeds, its
# output shown as comments whatever the outcome and kept in $tool_out.
tool_test() {
	local desc=$1 rc
	shift
	tool_out=$("$@" 2>&1)
	rc=$?
	printf '%s\n' "$tool_out" | sed 's/^/# /'
	check "$desc" test "$rc" = 0
}

# Pages pinned with FOLL_PIN right now (acquired - released), with the
# per-CPU counter deltas folded in first.
pins_held() {
	echo 1 >/proc/sys/vm/stat_refresh 2>/dev/null
	awk '/^nr_foll_pin_acquired/ { a = $2 } /^nr_foll_pin_released/ { r = $2 }
		END { print a - r }' /proc/vmstat
}

# Succeeds once no more pages are pinned than BASE (pins_held before);
# waits up to 5 s for unpins still under way, then says what it saw.
pins_back_to() {
	local i
	for i in $(seq 50); do
		[ "$(pins_held)" -le "$1" ] && return 0
		sleep 0.1
	done
	echo "pages pinned: $(pins_held), before: $1"
	return 1
}

# Total slab memory in kB, after dropping what can be dropped.  The
# process that holds the caches' shrink files open (slab_objects) and
# what it holds are in every measure, the first one included.
slab_kb() {
	slab_hold_shrink_files
	sync
	echo 3 >/proc/sys/vm/drop_caches
	awk '/^Slab:/ { print $2 }' /proc/meminfo
}

# Run a command and require it to fail with the given error text.
fails_with() {
	local text=$1 err
	shift
	if err=$("$@" 2>&1); then
		echo "succeeded unexpectedly"
		return 1
	fi
	case $err in
	*"$text"*) return 0 ;;
	*) echo "error was: $err"; return 1 ;;
	esac
}

# Write a value into a configfs attribute (one write, as configfs wants).
put() {
	printf '%s\n' "$2" >"$1"
}

# Active objects per slab cache, "name count" per line.  Shrinking each
# cache first also empties KASAN's quarantine of it (a debug kernel keeps
# freed objects there for a while).  The caches of kmemleak and
# debugobjects shadow every other object; they are left out.
#
# Writing a cache's shrink file opens it, and the first open of a sysfs
# file allocates a node (kernfs_open_node, one per file) that the last
# close frees only after an RCU grace period, in a batch.  A snapshot's
# own writes would leave about 200 of them behind, and whether the next
# snapshot counts them depends on RCU's timing (on a KASAN kernel they
# then wait in its quarantine, already emptied for their cache): that
# is a kmalloc cache's growth made by the measurement.  So the first
# measure (slab_objects or slab_kb) starts a process that holds every
# cache's shrink file open for the rest of the run, and snapshots
# allocate no such node.
slab_hold_shrink_files() {
	[ -e /tmp/slab-held ] && return 0
	(setsid bash -c '
		for f in /sys/kernel/slab/*/shrink; do
			{ exec {fd}>"$f"; } 2>/dev/null
		done
		touch /tmp/slab-held
		exec sleep infinity' </dev/null >/dev/null 2>&1 &)
	within 30 test -e /tmp/slab-held ||
		echo "# slab: the shrink files are not held open" >&2
}

slab_objects() {
	local f
	slab_hold_shrink_files
	sync
	echo 3 >/proc/sys/vm/drop_caches
	for f in /sys/kernel/slab/*/shrink; do
		echo 1 2>/dev/null >"$f"
	done
	awk 'NR > 2 && $1 !~ /^(kmemleak_object|debug_objects_cache)$/ {
		print $1, $2 }' /proc/slabinfo | sort
}

# Fail, naming them, if caches grew by more than $3 objects between the
# slab_objects snapshots $1 and $2.  Objects freed after an RCU grace
# period (maple tree nodes of processes that just exited, for one) may
# still count right after the work that freed them, and a debug kernel
# under emulation runs its RCU callbacks seconds late: a growth is
# measured again, into $2, for up to 10 s, and only one that stays is a
# failure.
slab_grew() {
	join "$1" "$2" | awk -v max="$3" '
		$3 - $2 >= max { print $1 ": " $2 " -> " $3; bad = 1 }
		END { exit bad }'
}
slab_grew_less_than() {
	for _ in $(seq 10); do
		slab_grew "$@" >/dev/null && return 0
		sleep 1
		slab_objects >"$2"
	done
	slab_grew "$@"
}

# within SECONDS CMD...: run CMD until it succeeds, every 0.1 s, at
# least once and for at most SECONDS of time (not a count of tries: a
# busy VM forks slowly).
within() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.1
	done
}

# reads FILE VALUE: the first line of FILE is VALUE.  A builtin read,
# not $(cat ...): under the emulator a program started costs a tenth of
# a second, and the loops that call this poll with it.
reads() {
	local v=""
	IFS= read -r v 2>/dev/null <"$1"
	[ "$v" = "$2" ]
}
# wait_value FILE VALUE SECONDS: wait for FILE to read VALUE.
wait_value() {
	within "$3" reads "$1" "$2" && return 0
	echo "$1: '$(cat "$1" 2>/dev/null)' after $3 s, not $2"
	return 1
}

# log_wait FILE ERE PID TENTHS: wait for a line of FILE matching ERE
# while process PID runs, at most TENTHS tenths of a second; on failure,
# show FILE.
log_wait() {
	for _ in $(seq "$4"); do
		grep -Eq "$2" "$1" && return 0
		kill -0 "$3" 2>/dev/null || break
		sleep 0.1
	done
	cat "$1"
	return 1
}

# cgroup_make DIR: make the cgroup DIR (under /sys/fs/cgroup), with
# cgroup2 mounted there first if it is not yet.
cgroup_make() {
	if ! grep -q ' /sys/fs/cgroup cgroup2 ' /proc/mounts; then
		mount -t cgroup2 none /sys/fs/cgroup || return 1
	fi
	mkdir "$1"
}

# cgroup_remove DIR: remove the cgroup DIR once its tasks have ended
# (within 5 s); on failure, show the ones left.
cgroup_remove() {
	within 5 rmdir "$1" 2>/dev/null && return 0
	cat "$1/cgroup.procs" "$1/cgroup.threads"
	return 1
}

# procs_named GLOB: "PID NAME" of every process and kernel thread whose
# name (its comm) matches the shell pattern GLOB.
procs_named() {
	local t c
	for t in /proc/[0-9]*; do
		c=""
		# Read by the shell itself: one program started per process
		# of the VM would take seconds under the emulator.
		IFS= read -r c 2>/dev/null <"$t/comm"
		# shellcheck disable=SC2254 # GLOB is a pattern
		case $c in
		$1) echo "${t#/proc/} $c" ;;
		esac
	done
}

# ring_tids PID: the ids of the threads that serve the rings of the
# client process PID attached (named vbus-PID-<n>).
ring_tids() {
	local t _
	procs_named "vbus-$1-*" | while read -r t _; do echo "$t"; done
}

# ring_policy PID POLICY: every ring thread of process PID has scheduling
# policy POLICY (field 41 of its stat: 0 SCHED_NORMAL, 3 SCHED_BATCH);
# prints their ids.
ring_policy() {
	local t p n=0
	for t in $(ring_tids "$1"); do
		p=$(awk '{ print $41 }' "/proc/$t/stat") || return 1
		if [ "$p" != "$2" ]; then
			echo "# thread $t: policy $p, not $2" >&2
			return 1
		fi
		echo "$t"
		n=$((n + 1))
	done
	[ "$n" -gt 0 ]
}

# ring_threads PID DIR TICKS [N]: the threads that serve the rings of the
# client process PID attached (a VMM, the local connector's mkdir) are
# named vbus-PID-<n>, there are N at least (1), every one is in the cgroup
# DIR, they used more than TICKS ticks (1/100 s) of CPU, and the
# cgroup's usage_usec covers their CPU time and PID's own while it
# lives (50 ms of slack for the ticks' rounding): threads outside it, or
# not charged to it, would leave their share out.
ring_threads() {
	local t cg ticks=0 n=0 own=0 usage want
	want="0::${2#/sys/fs/cgroup}"
	for t in $(ring_tids "$1"); do
		cg=$(cat "/proc/$t/cgroup")
		if [ "$cg" != "$want" ]; then
			echo "# $(cat "/proc/$t/comm") is in $cg, not $want"
			return 1
		fi
		ticks=$((ticks + $(awk '{ print $14 + $15 }' "/proc/$t/stat")))
		n=$((n + 1))
	done
	[ ! -r "/proc/$1/stat" ] || own=$(awk '{ print $14 + $15 }' "/proc/$1/stat")
	usage=$(awk '$1 == "usage_usec" { print $2 }' "$2/cpu.stat")
	echo "# $n ring thread(s) of process $1: $((ticks * 10)) ms of CPU;" \
		"the process itself $((own * 10)) ms; the cgroup's usage $((usage / 1000)) ms"
	[ "$n" -ge "${4:-1}" ] && [ "$ticks" -gt "$3" ] &&
		[ $(((own + ticks) * 10000 - 50000)) -le "$usage" ]
}
