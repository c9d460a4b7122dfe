# SPDX-License-Identifier: GPL-2.0
#
# A memctx keeps the module that implements it loaded until its release
# has returned, and the core remaps a client's regions on the client's own
# ring thread: a remap waiting on a worker every client shares could be
# held up by anybody, and could drop the last reference on a memctx after
# its module is gone (its release() would run in freed code).
#
# tests/vm/modules/vbus_memctx_test is an in-kernel client with a memctx
# of its own; tests/vm/modules/wq_block holds back CPU 1's per-CPU work
# items.  The ring's mapping is marked stale from CPU 1 and is remapped
# all the same, on the client's thread (vbus-<pid>-0); the client
# detaches and its module is unloaded; then CPU 1's work runs.  The
# memctx must have been released before the module went.  (When the
# remap was a per-CPU work item, it waited behind the held-back CPU and
# only the teardown's cancel kept it from dropping the last reference
# after the unload.)  Then: the module cannot be unloaded while its
# memctx lives.  Last, closes that cancel a remap as it retries: the
# remap took a reference of its own, and a cancel that met its timer
# (which then drops the item, and the cancel reports nothing pending)
# leaked the connection with its memctx.
# vm-retry: 2
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
check "the ring's mapping is marked stale from CPU 1" \
	taskset -c 1 sh -c "echo 1 >$A/stale && dmesg | grep -q 'stale on CPU 1: 0'"
remapped() { # the remap ran, on the client's ring thread
	for _ in $(seq 50); do
		dmesg | grep -q 'vbus_memctx_test: remap on ' && break
		sleep 0.1
	done
	dmesg | grep 'vbus_memctx_test: remap on '
	dmesg | grep -Eq 'vbus_memctx_test: remap on vbus-[0-9]+-0$'
}
check "... and remapped on the client's own thread, CPU 1's workers held back or not" remapped
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
# An untrusted client closes its connection and detaches while the
# device's notification is still in the client's signal op (the module
# holds it there for 6 s, longer than both wait for the device): the
# detach may give up waiting for the device, but it must not return
# before that op is over.
check "a detach returns only once a notification that found its connection open is over" \
	put $A/late M
dmesg | grep 'vbus_memctx_test: late:'
# The close cancels a remap that retries a jiffy later, as its timer
# fires (the module times it): each connection must still be freed, its
# memctx released.  Both CPUs stay busy meanwhile (at the lowest
# priority): with the other CPU idle, the leak below was not seen.
spin() { nice -n 19 taskset -c "$1" sh -c 'while :; do :; done' & }
spin 0; s0=$!; spin 1; s1=$!
check "300 closes that cancel a retrying remap each free their connection" \
	put $A/race "M 300"
kill $s0 $s1
dmesg | grep 'vbus_memctx_test: race:'
check "the module unloads now" rmmod vbus_memctx_test
check "M removed" sh -c "rm $M/devices/m0 && echo 0 >$E/m0/enabled && rmdir $E/m0 $M"
check "every module unloads" sh -c "rmmod wq_block && modprobe -r vbus_echo vbus"

done_testing
