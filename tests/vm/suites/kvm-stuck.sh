# SPDX-License-Identifier: GPL-2.0
#
# A VMM whose memory never lets a host copy finish must not stall anybody
# else.  tests/tools/kvm-stuck puts the buffer of an echo ring into a
# userfaultfd range it never serves, rings the doorbell (the host's ring
# work then sleeps in that fault), drops the page under the ring (the host
# then remaps it) and closes /dev/vbus-kvm.  Only the VMM's own ring
# thread waits for the fault: no shared worker of the host does (the
# teardown and the remap wait on that thread).  Other tenants keep
# binding, opening and calling, the administrator keeps writing configfs,
# dumping netlink and unloading modules, each as fast as before (the same
# steps are timed first with nobody stuck; under emulation a plain mkdir
# takes most of a second, so the bound is 5 s, and the old code never
# finished); when the VMM is killed, its connection, pins and modules are
# released.  The same for a VMM's DEVCALL stuck in its userfaultfd, and for
# a VMM that keeps an invalidation of its address space in progress while
# its connection's regions are unmapped.
# vm-options: --timeout 300
# vm-retry: 2
. tests/vm/lib.sh

STUCK=build/cmake/tests/tools/kvm-stuck
VBUSCTL=build/cmake/tools/vbusctl/vbusctl
E=$CFS/devices/echo
S=$CFS/containers/S
O=$CFS/containers/O

kvm_host
modprobe vbus_echo && modprobe vbus_kvm
setup() {
	mkdir $S $O $E/s0 $E/o0 &&
	put $E/s0/enabled 1 && put $E/o0/enabled 1 &&
	ln -s $E/s0 $S/devices/s0 && ln -s $E/o0 $O/devices/o0
}
check "containers S and O, an echo device in each" setup
pins0=$(pins_held)

# Runs "$@" and fails when it fails or takes 5 s or more.  (A hang ends
# the run: the VM's hung-task panic or the suite's timeout.)
quick() {
	local t0 ms
	t0=${EPOCHREALTIME/[.,]/}
	"$@" >/dev/null || return 1
	ms=$(((${EPOCHREALTIME/[.,]/} - t0) / 1000))
	echo "took $ms ms"
	[ "$ms" -lt 5000 ]
}
# check "description" quick ..., then the time it took as a comment.
qcheck() {
	check "$@"
	printf '# %s\n' "$(printf '%s\n' "$t_out" | tail -n 1)"
}

# The steps below, timed with nobody stuck.
steps() {
	quick $STUCK other O "$(cat $E/o0/id)" && quick mkdir $E/x0 &&
	quick put $E/x0/max_len 128 && quick put $E/x0/enabled 1 &&
	quick sh -c "ln -s $E/x0 $O/devices/x0 && rm $O/devices/x0" &&
	quick put $E/x0/enabled 0 && quick $VBUSCTL device list &&
	quick $NLMON dump devices && quick $VBUSCTL stats && quick rmdir $E/x0
}
check "the steps, timed with nobody stuck" steps
printf '%s\n' "$t_out" | tr '\n' ' ' | sed 's/^/# baseline: /; s/$/\n/'

$STUCK hold S "$(cat $E/s0/id)" >/tmp/stuck.log 2>&1 &
stuck=$!
# Not a job of this shell: bash would print "Killed" for each of these
# VMMs when a check below kills it (exited() sees it go).
disown $stuck
check "the host's ring work faults on the VMM's userfaultfd, the ring's page goes and the VMM detaches" \
	log_wait /tmp/stuck.log '^detached' $stuck 300
sed 's/^/# /' /tmp/stuck.log
check "S has no client left" test "$(cat $S/clients)" = 0
check "s0's connection is still closing (its ring work is stuck)" \
	test "$(cat $E/s0/connections)" = 1
# The teardown waits for the stuck run for as long as the VMM lives, and
# so does the remap of the ring's page.  Neither may hold one of the
# host's shared workers meanwhile: a tenant with enough stuck connections
# would fill their workqueues and hold up everybody else's closes,
# remaps and frees, and a module's unload that flushes them would wait
# for the tenant.  The client's own thread (vbus-<pid>-<n>) is the one
# that waits, in the fault, and it must not wait in uninterruptible
# sleep (state D): a host whose hung-task detector panics, as this VM's
# does after 30 s, would go down because a tenant never served its own
# fault.
vbus_kworkers() { # the kworkers whose stack is in the vbus module
	local p comm frame
	procs_named 'kworker/*' | while read -r p comm; do
		# Read by the shell: a grep per kworker, four looks per
		# check, took half a minute of the suite under the emulator.
		while IFS= read -r frame; do
			case $frame in
			*'[vbus]'*) echo "$p $comm"; break ;;
			esac
		done 2>/dev/null <"/proc/$p/stack"
	done
}
no_kworker_waits() { # a few looks: no kworker waits in vbus
	local seen="" p
	for _ in 1 2 3 4; do
		seen="$seen$(vbus_kworkers)"
		sleep 0.2
	done
	[ -z "$seen" ] && return 0
	echo "kworkers in vbus: $seen"
	for p in $(vbus_kworkers | cut -d' ' -f1); do cat "/proc/$p/stack"; done
	return 1
}
ring_thread() { # PID: the /proc directory of the VMM's thread vbus-PID-0
	local t comm
	for t in $(ring_tids "$1"); do
		read -r comm 2>/dev/null <"/proc/$t/comm" || continue
		[ "$comm" = "vbus-$1-0" ] && echo "/proc/$t" && return 0
	done
	echo "no thread vbus-$1-0" >&2
	return 1
}
client_thread_waits() { # PID: vbus-PID-0 sleeps in the fault, not in D
	local t st
	t=$(ring_thread "$1") || return 1
	read -r _ _ st _ <"$t/stat"
	echo "vbus-$1-0 is in state $st"
	grep -q handle_userfault "$t/stack" && [ "$st" != D ]
}
check "no host worker waits for the stuck client (teardown, remap)" no_kworker_waits
check "... its own thread does, in the fault, and not in state D" client_thread_waits $stuck

qcheck "another VMM binds to O, opens o0, calls it and closes it" quick $STUCK other O "$(cat $E/o0/id)"
qcheck "mkdir of a device" quick mkdir $E/x0
qcheck "an attribute is written" quick put $E/x0/max_len 128
qcheck "another device is enabled" quick put $E/x0/enabled 1
qcheck "it is placed in O and removed again" quick sh -c "ln -s $E/x0 $O/devices/x0 && rm $O/devices/x0"
qcheck "it is disabled" quick put $E/x0/enabled 0
qcheck "vbusctl device list (configfs)" quick $VBUSCTL device list
qcheck "a netlink dump of the devices" quick $NLMON dump devices
qcheck "vbusctl stats (netlink dump)" quick $VBUSCTL stats
# A module's unload flushes the core's shared work (vbus_devclass_unregister()).
within() { # SECONDS COMMAND...: COMMAND ends within SECONDS
	local s=$1 p
	shift
	"$@" &
	p=$!
	for _ in $(seq $((s * 10))); do
		kill -0 $p 2>/dev/null || { wait $p; return; }
		sleep 0.1
	done
	echo "still running after $s s"
	return 1
}
qcheck "an unused device class loads and unloads" quick within 10 sh -c "modprobe vbus_venet && modprobe -r vbus_venet"
refused() { rm $S/devices/s0 && ! put $E/s0/enabled 0 2>/dev/null; }
check "the stuck device, unplaced, refuses to be disabled while closing" refused

exited() { # PID: the process is gone within 10 s
	timeout 10 sh -c "while kill -0 $1 2>/dev/null; do sleep 0.1; done"
}
closed() { # DEVICE: its connections finish closing within 10 s
	for _ in $(seq 100); do
		[ "$(cat $E/$1/connections)" = 0 ] && return 0
		sleep 0.1
	done
	return 1
}
check "the stuck VMM dies on SIGKILL" kill -KILL $stuck
check "... and exits" exited $stuck
check "s0's connection finishes closing" closed s0

# The same with a call: the VMM's DEVCALL faults on a userfaultfd range
# it never serves and holds its connection; the page under the
# connection's ring goes, so the host remaps it, and the device then
# leaves the container, which closes the connection under the call.
# Neither the remap nor the teardown waits for the call: both try again
# later, holding neither a shared worker nor the VMM's ring thread.
call_setup() {
	mkdir $E/s1 && put $E/s1/enabled 1 && ln -s $E/s1 $S/devices/s1
}
check "another echo device in S" call_setup
$STUCK call S "$(cat $E/s1/id)" >/tmp/call.log 2>&1 &
caller=$!
disown $caller
check "a call of the VMM's faults on its userfaultfd and sleeps, and the ring's page goes" \
	log_wait /tmp/call.log '^zapped' $caller 300
sed 's/^/# /' /tmp/call.log
check "the device leaves S while the call sleeps" rm $S/devices/s1
check "... and no host worker waits for the call" no_kworker_waits
thread_free() { # PID: vbus-PID-0 is not in vbus code (it waits for work)
	local t
	t=$(ring_thread "$1") || return 1
	grep -q '\[vbus\]' "$t/stack" || return 0
	cat "$t/stack"
	return 1
}
check "... nor does the VMM's ring thread (the remap tries again later)" thread_free $caller
# The VMM's other ioctls on its /dev/vbus-kvm wait for the stuck call
# (the connector serialises them), and must wait killably: the hung-task
# detector, set to 2 s for a while, reports a thread that waits
# uninterruptibly, and this VM panics then.  It passes over a killable
# wait, as it does over the VMM's own fault.
second_waits() { # PID: the thread of "second ioctl" waits in the connector
	local tid="" st
	for _ in $(seq 100); do
		tid=$(sed -n 's/^second ioctl: thread //p' /tmp/call.log)
		[ -n "$tid" ] && grep -q vkvm_ioctl "/proc/$1/task/$tid/stack" && break
		sleep 0.1
	done
	[ -n "$tid" ] || { echo "no second ioctl"; return 1; }
	read -r _ _ st _ <"/proc/$1/task/$tid/stat"
	echo "thread $tid is in state $st"
	grep -q vkvm_ioctl "/proc/$1/task/$tid/stack"
}
killable_wait() { # PID: the detector at 2 s for 8 s; the thread still waits
	local old
	old=$(cat /proc/sys/kernel/hung_task_timeout_secs)
	echo 2 >/proc/sys/kernel/hung_task_timeout_secs
	sleep 8
	echo "$old" >/proc/sys/kernel/hung_task_timeout_secs
	second_waits "$1"
}
check "a second ioctl of the VMM waits for the call" second_waits $caller
check "... killably: the hung-task detector at 2 s passes over it" killable_wait $caller
check "the VMM dies on SIGKILL" kill -KILL $caller
check "... and exits" exited $caller
check "s1's connection finishes closing" closed s1

# The same with the VMM's address space: an invalidation of it is always
# in progress (a VMM whose threads keep overlapping madvise() calls going
# can do that; the test module mm_hold stands in for them with one that
# waits at its gate) while the VMM closes a connection.  Unmapping the
# connection's ring removes an MMU notifier, which waits for the
# invalidations to end: on the VMM's own thread, not on a shared worker.
# That wait is uninterruptible (the kernel's; there is no killable
# removal), unlike the fault's above; mm_hold lets the invalidation go on
# after 25 s at most, within the 30 s of this VM's hung-task detector.
HOLD=/sys/module/mm_hold/parameters
inval_setup() {
	mkdir $E/s2 && put $E/s2/enabled 1 && ln -s $E/s2 $S/devices/s2 &&
	insmod tests/vm/modules/mm_hold.ko && put $HOLD/closed 1
}
check "another echo device in S; mm_hold holds invalidations" inval_setup
$STUCK inval S "$(cat $E/s2/id)" >/tmp/inval.log 2>&1 &
inval=$!
disown $inval
check "the VMM keeps an invalidation of its memory going and closes its connection" \
	log_wait /tmp/inval.log '^closed' $inval 300
sed 's/^/# /' /tmp/inval.log
# First what must be seen before mm_hold lets the invalidation go on by
# itself (a debug kernel takes seconds to look at every thread).
unmap_waits() { # PID: vbus-PID-0 waits to remove the ring's notifier
	local t
	t=$(ring_thread "$1") || return 1
	grep -q mmu_interval_notifier_remove "$t/stack" && return 0
	cat "$t/stack"
	return 1
}
check "the VMM's own thread waits for the invalidation, in the unmap" unmap_waits $inval
check "... so s2's connection is still closing" \
	test "$(cat $E/s2/connections)" = 1
check "... and no host worker waits for it" no_kworker_waits
qcheck "another VMM binds to O, opens o0, calls it and closes it meanwhile" \
	quick $STUCK other O "$(cat $E/o0/id)"
check "the invalidation ends" put $HOLD/closed 0
check "s2's connection finishes closing" closed s2
check "the VMM dies on SIGKILL" kill -KILL $inval
check "... and exits" exited $inval
check "mm_hold unloads" rmmod mm_hold

check "every pinned page is unpinned" pins_back_to "$pins0"
teardown() {
	rm $O/devices/o0 $S/devices/s2 &&
	for d in s0 s1 s2 o0; do put $E/$d/enabled 0 || return 1; done &&
	rmdir $E/s0 $E/s1 $E/s2 $E/o0 $E/x0 $S $O
}
check "tear down" teardown
unload_kvm() {
	for _ in $(seq 50); do
		modprobe -r vbus_kvm 2>/dev/null && return 0
		sleep 0.1
	done
	modprobe -r vbus_kvm
}
check "vbus_kvm unloads" unload_kvm

check "every module unloads" modprobe -r vbus_echo vbus

done_testing
