# SPDX-License-Identifier: GPL-2.0
#
# vbus.ko loads on the distribution kernel, registers its configfs
# subsystem, unloads cleanly and taints the kernel only as an unsigned
# out-of-tree module.
# vm-retry: 2
. tests/lib/tap.sh

ko=kernel/vbus/vbus.ko
cfs=/sys/kernel/config/vbus
# Taint bits allowed: O (out-of-tree, 4096) and E (unsigned, 8192).
allowed=$((4096 | 8192))

taint_ok() {
	t=$(cat /proc/sys/kernel/tainted)
	echo "tainted=$t"
	[ $((t & ~allowed)) -eq 0 ]
}

check "kernel is untainted before loading" test "$(cat /proc/sys/kernel/tainted)" -eq 0
check "modinfo reads $ko" modinfo "$ko"
check "insmod vbus.ko" insmod "$ko"
check "vbus is listed in /proc/modules" grep -q '^vbus ' /proc/modules
check "configfs shows $cfs" test -d "$cfs"
check_fails "the subsystem root cannot be removed" rmdir "$cfs"
check "rmmod vbus" rmmod vbus
check "$cfs is gone after unload" test ! -e "$cfs"
check "no taint beyond out-of-tree/unsigned" taint_ok

cycle() {
	i=0
	while [ $i -lt 20 ]; do
		insmod "$ko" && test -d "$cfs" && rmmod vbus && test ! -e "$cfs" || return 1
		i=$((i + 1))
	done
}
check "20 load/unload cycles" cycle
check "no taint after the cycles" taint_ok

done_testing
