# SPDX-License-Identifier: GPL-2.0
#
# The KVM connector against a hostile guest.  tests/tools/kvm-hostile is
# a VMM and a guest without an operating system in one program: it binds
# a VM to container A and makes its vCPU send random calls, doorbells on
# every kind of slot, bad guest addresses and corrupted venet rings, after
# abusing the VMM ioctls.  The host must answer with errors only, stay
# healthy (the harness fails the run on any WARN or oops), keep container
# B untouched, let an honest guest in afterwards and unload cleanly.  The
# permission check of the bind is enforced in the kernel.  Last, a VMM
# replaces the memory under a live ring in every way it can, and the
# device must follow; and a guest that starts over without a reset of
# the VM (kexec) must find the devices again, with its old rings let go.
# vm-options: --timeout 300
# vm-retry: 2
. tests/vm/lib.sh

HOSTILE=build/cmake/tests/tools/kvm-hostile
REMAP=build/cmake/tests/tools/kvm-remap
RESTART=build/cmake/tests/tools/kvm-restart
A=$CFS/containers/A
B=$CFS/containers/B

kvm_host

# Warm up once, so one-time allocations are part of the baseline.
modprobe vbus_venet && modprobe vbus_kvm && modprobe -r vbus_kvm vbus_venet vbus
slab_objects >/tmp/slab0

modprobe vbus_venet
check "vbus_kvm loads" modprobe vbus_kvm
check "/dev/vbus-kvm is there, for root only" \
	sh -c '[ "$(stat -c %a /dev/vbus-kvm)" = 600 ]'
setup() {
	mkdir $A $B &&
	for d in a0 b0 b1; do
		mkdir $CFS/devices/venet/$d && put $CFS/devices/venet/$d/enabled 1 || return 1
	done
	ln -s $CFS/devices/venet/a0 $A/devices/a0 &&
	ln -s $CFS/devices/venet/b0 $B/devices/b0 &&
	ln -s $CFS/devices/venet/b1 $B/devices/b1
}
check "containers A (one venet) and B (two)" setup
foreign=$(cat $CFS/devices/venet/b1/id)
VBUSCTL=build/cmake/tools/vbusctl/vbusctl
# B's devices: their counters (opens, calls, signals) and connections.
stats_b() { $VBUSCTL stats | grep -E '^b[01] '; }
stats_b >/tmp/b-before
check "B's devices are counted" test "$(wc -l </tmp/b-before)" = 2

check_fails_with "an unknown container is refused" "No such file or directory" \
	$HOSTILE nosuch 1 0
chmod 666 /dev/kvm /dev/vbus-kvm
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
check_fails_with "an unprivileged user may not bind to A" "Permission denied" \
	as_nobody $HOSTILE A 1 "$foreign" 1 10
check "the administrator makes nobody A's owner" put $A/owner_uid "$(id -u nobody)"
check "then nobody may bind to A" as_nobody $HOSTILE A 1 "$foreign" 1 10
put $A/owner_uid ''
chmod 600 /dev/kvm /dev/vbus-kvm

tool_test "a hostile guest: 20000 random calls, doorbells and ring corruptions answered with errors" \
	$HOSTILE A 1 "$foreign" 7 20000
out=$tool_out
# 10 plain refusals, then 8 argument-size refusals and 3 accepted sizes for
# each of the 4 ioctls (tests/tools/kvm-hostile/abuse.hh, argument_rule()).
check "its ioctl abuse was refused" sh -c "printf '%s\n' '$out' | grep -q 'ioctl abuse: 42 refusals'"
check "every ioctl took its argument at the exact, a larger and the largest size" \
	sh -c "printf '%s\n' '$out' | grep -q ', 12 accepted at the exact, a larger and the largest size'"
check "a ring off a 64-byte boundary was refused" \
	sh -c "printf '%s\n' '$out' | grep -q 'rings 8 and 50 bytes past a 64-byte boundary refused'"
check "it could not open B's device" sh -c "printf '%s\n' '$out' | grep -q 'isolation: foreign device'"
check "most of its calls were refused" sh -c "printf '%s\n' '$out' | grep -Eq 'Invalid argument=[0-9]{4}'"
check "second hostile guest with another seed" $HOSTILE A 1 "$foreign" 8 5000
stats_b >/tmp/b-after
check "container B saw nothing of it" cmp /tmp/b-before /tmp/b-after
check "nothing of A's guests is left attached" test "$(cat $A/clients)" = 0
check "an honest guest still gets a working venet on A" $HOSTILE A 1 "$foreign" 9 0

# A VMM that replaces guest memory under live rings (tests/tools/kvm-remap):
# an echo device and a venet must follow it to the new memory, and every
# page pinned for the rings must be unpinned in the end.
remap_setup() {
	modprobe vbus_echo && mkdir $CFS/devices/echo/e0 $R &&
	put $CFS/devices/echo/e0/enabled 1 && ln -s $CFS/devices/echo/e0 $R/devices/e0 &&
	$VBUSCTL device add venet r0 ifname=vnr0 --enable && $VBUSCTL attach r0 R &&
	ip link set vnr0 up
}
R=$CFS/containers/R
check "container R with an echo device and a venet" remap_setup
pins0=$(pins_held)
tool_test "the devices follow guest memory replaced by mmap and moved or deleted memslots" \
	$REMAP R "$(cat $CFS/devices/echo/e0/id)" "$(cat $CFS/devices/venet/r0/id)" vnr0
check "every page pinned for the rings was unpinned" pins_back_to "$pins0"
check "R has no client left" test "$(cat $R/clients)" = 0
# A guest kernel that starts over in the same VM (kexec): its HELLO, and a
# RESET at shutdown, must close what the previous kernel had open.
tool_test "a guest that starts over (HELLO again, RESET) sees the devices again; the host leaves its old rings" \
	$RESTART R "$(cat $CFS/devices/echo/e0/id)" "$(cat $CFS/devices/venet/r0/id)" vnr0
check "every page pinned for the restarted guest's rings was unpinned" pins_back_to "$pins0"
remap_teardown() {
	rm $R/devices/e0 && put $CFS/devices/echo/e0/enabled 0 &&
	rmdir $CFS/devices/echo/e0 && modprobe -r vbus_echo &&
	$VBUSCTL detach r0 && $VBUSCTL device del r0 && rmdir $R
}
check "R and its devices removed" remap_teardown

teardown() {
	rm $A/devices/a0 $B/devices/b0 $B/devices/b1 &&
	for d in a0 b0 b1; do
		put $CFS/devices/venet/$d/enabled 0 && rmdir $CFS/devices/venet/$d || return 1
	done
	rmdir $A $B
}
check "tear down" teardown
check "every module unloads" modprobe -r vbus_kvm vbus_venet vbus
slab_objects >/tmp/slab1
check "no slab cache grew by 200 objects" slab_grew_less_than /tmp/slab0 /tmp/slab1 200

done_testing
