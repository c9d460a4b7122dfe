# SPDX-License-Identifier: GPL-2.0
#
# What a VMM may take through the KVM connector (tests/tools/kvm-limits, a
# VMM without a vCPU that makes its guest's calls itself):
# - the limits VBUS_KVM_GET_LIMITS reports are the ones enforced: each is
#   hit exactly (the limit succeeds, one more fails), and one eventfd
#   cannot back two doorbell slots;
# - pinned guest pages count against the VMM's RLIMIT_MEMLOCK (without
#   CAP_IPC_LOCK) and show in its VmPin, also across a remap; they go
#   when the VMM's address space does, even if its file lives on (an
#   execve() that keeps it), and a shared page of a file its filesystem
#   writes back (ext4 here) is never pinned for long;
# - what the VMM makes the host allocate is charged to its memory cgroup:
#   at memory.max its calls fail with ENOMEM, no OOM kill, and closing
#   gives the memory back; a device placed meanwhile still reaches its
#   guest as a bus event (queued without reclaim under the core's lock).
# Nothing stays pinned or attached, and every module unloads.
# vm-options: --timeout 240
# vm-retry: 2
. tests/vm/lib.sh

LIMITS=build/cmake/tests/tools/kvm-limits
L=$CFS/containers/L
CG=/sys/fs/cgroup/vbus-limits

kvm_host

setup() {
	modprobe vbus_echo && modprobe vbus_kvm && mkdir $L &&
	mkdir $CFS/devices/echo/e0 $CFS/devices/echo/big &&
	put $CFS/devices/echo/big/max_len 65536 &&
	for d in e0 big; do
		put $CFS/devices/echo/$d/enabled 1 &&
		ln -s $CFS/devices/echo/$d $L/devices/$d || return 1
	done
}
check "container L with an echo device of 4 KiB and one of 64 KiB buffers" setup
e0=$(cat $CFS/devices/echo/e0/id)
big=$(cat $CFS/devices/echo/big/id)
pins0=$(pins_held)

tool_test "every limit VBUS_KVM_GET_LIMITS reports is enforced exactly" $LIMITS L "$e0" counts
check "L has no client left" test "$(cat $L/clients)" = 0

tool_test "pins count against RLIMIT_MEMLOCK and show in VmPin" $LIMITS L "$e0" memlock 16
tool_test "pins go with the VMM's address space, its file kept across execve()" \
	$LIMITS L "$e0" memexec 16
check "L has no client left" test "$(cat $L/clients)" = 0
EXT4=/tmp/vbus-limits-ext4
ext4_up() {
	modprobe loop && modprobe ext4 && truncate -s 8M $EXT4.img && mkfs.ext4 -q -F $EXT4.img &&
		mkdir -p $EXT4 && mount -o loop $EXT4.img $EXT4
}
ext4_down() { umount $EXT4 && rmdir $EXT4 && rm $EXT4.img; }
check "an ext4 file system for an ordinary file" ext4_up
tool_test "a ring on a shared page of an ext4 file is refused" \
	$LIMITS L "$e0" filemem $EXT4/guest-page
check "the ext4 file system goes" ext4_down

cgroup_setup() {
	cgroup_make $CG && grep -qw memory /sys/fs/cgroup/cgroup.controllers &&
		put /sys/fs/cgroup/cgroup.subtree_control +memory
}
check "a memory cgroup for the VMM" cgroup_setup
tool_test "the VMM's allocations are charged to its memory cgroup" $LIMITS L "$big" memcg $CG 65536
check "the cgroup is empty and goes away" rmdir $CG

check "every page pinned was unpinned" pins_back_to "$pins0"
check "L has no client left" test "$(cat $L/clients)" = 0
teardown() {
	for d in e0 big; do
		rm $L/devices/$d && put $CFS/devices/echo/$d/enabled 0 &&
		rmdir $CFS/devices/echo/$d || return 1
	done
	rmdir $L
}
check "tear down" teardown
check "every module unloads" modprobe -r vbus_kvm vbus_echo vbus

done_testing
