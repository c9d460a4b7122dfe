# SPDX-License-Identifier: GPL-2.0
#
# A memctx keeps the module that implements it loaded until its release
# has returned, and a connection's teardown cancels the remap work queued
# for it: the last reference on a memctx may otherwise be dropped by that
# work after the module is gone, and its release() runs in freed code.
#
# tests/vm/modules/vbus_memctx_test is an in-kernel client with a memctx
# of its own; tests/vm/modules/wq_block holds back CPU 1's per-CPU work
# items.  The ring's mapping is marked stale from CPU 1, so the core's
# remap work is queued there and cannot run; the client detaches and its
# module is unloaded; then CPU 1's work runs.  The memctx must have been
# released before the module went.  (Without the fix the remap work
# drops the last reference after the unload, and the kernel oopses in
# the module's freed release().)  Then: the module cannot be unloaded
# while its memctx lives.
# vm-retry: 1
. tests/vm/lib.sh

E=$CFS/devices/echo
M=$CFS/containers/M
A=/sys/module/vbus_memctx_test/parameters
B=/sys/module/wq_block/parameters
T=tests/vm/modules

install_modules
modprobe vbus_echo
check "container M with an echo device" sh -c \
	"mkdir $M $E/m0 && echo 1 >$E/m0/enabled && ln -s $E/m0 $M/devices/m0"
check "the test modules load" sh -c \
	"insmod $T/wq_block.ko && insmod $T/vbus_memctx_test.ko"
check "the test client attaches with its own memctx and registers a ring" \
	put $A/attach M
check "CPU 1's per-CPU work items are held back" put $B/block 1
check "the ring's mapping is marked stale from CPU 1 (the core's remap work waits there)" \
	taskset -c 1 sh -c "echo 1 >$A/stale && dmesg | grep -q 'stale on CPU 1: 0'"
check "the client detaches" put $A/detach
check "its module unloads" rmmod vbus_memctx_test
released() { [ "$(dmesg | grep -c 'vbus_memctx_test: memctx released')" = 1 ]; }
check "the memctx was released before its module went" released
check "CPU 1's work items run" put $B/unblock
check "the kernel lived on" sh -c "dmesg | grep -q 'wq_block: CPU 1 unblocked'"

check "the module loads again and its client attaches" sh -c \
	"insmod $T/vbus_memctx_test.ko && echo M >$A/attach"
check_fails "it cannot be unloaded while its memctx lives" rmmod vbus_memctx_test
check "the client detaches" put $A/detach
check "the module unloads now" rmmod vbus_memctx_test
check "M removed" sh -c "rm $M/devices/m0 && echo 0 >$E/m0/enabled && rmdir $E/m0 $M"
check "every module unloads" sh -c "rmmod wq_block && modprobe -r vbus_echo vbus"

done_testing
