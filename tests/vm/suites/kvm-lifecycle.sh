# SPDX-License-Identifier: GPL-2.0
#
# Two KVM guests on two containers at once: each sees only its own
# container's devices; a device placed in a running guest's container
# becomes a NIC there and leaves again when removed; and the other VMM,
# killed with SIGKILL in the middle of iperf3, leaves nothing behind: no
# VM, no pinned page, no connection, no attached client, and every module
# unloads.  (No step waits more than 300 s in silence, so a VM silent for
# 320 s is frozen: it is stopped and tried again at once.)
# vm-options: --timeout 600 --idle 320
# vm-retry: 2
. tests/vm/lib.sh
. tests/vm/l2/lib.sh

VBUSCTL=build/cmake/tools/vbusctl/vbusctl
C=$CFS/containers

install_modules
check "nested KVM is available" l2_load_kvm
# Warm up once, so one-time allocations are part of the baseline.
modprobe vbus_venet && modprobe vbus_kvm && modprobe -r vbus_kvm vbus_venet vbus
slab_objects >/tmp/slab0
pins0=$(pins_held)

modprobe vbus_venet && modprobe vbus_kvm
setup() {
	$VBUSCTL container add c1 && $VBUSCTL container add c2 &&
	$VBUSCTL device add venet h0 ifname=vnh0 --enable && $VBUSCTL attach h0 c1 &&
	$VBUSCTL device add venet h1 ifname=vnh1 --enable &&
	$VBUSCTL device add venet k0 ifname=vnk0 --enable && $VBUSCTL attach k0 c2 &&
	$VBUSCTL device add venet k1 ifname=vnk1 --enable && $VBUSCTL attach k1 c2 &&
	sysctl -qw net.ipv6.conf.vnk0.disable_ipv6=1 &&
	ip addr add 10.78.0.1/24 dev vnk0 && ip link set vnk0 up
}
check "c1 holds h0; c2 holds k0 and k1; h1 waits outside" setup
iperf3 -s -D -f m --pidfile /tmp/iperf3.pid

mapfile -t files <<<"$(l2_bin_files iperf3)"
check "the L2 initramfs builds" l2_mkinitrd /tmp/l2.img tests/vm/l2/lifecycle-guest.sh \
	--ko guest/proxy/vbus_proxy.ko --ko guest/kvm/vbus_bridge.ko --ko guest/venet/vbus_enet.ko \
	"${files[@]}"
boot() { # LOG ERE CONTAINER ROLE [vbus-vm args]
	l2_boot "$1" "$2" 300 --kernel "$(l2_kernel)" --initrd /tmp/l2.img --mem 384M --cpus 1 \
		--container "$3" "${@:5}" \
		--append "console=ttyS0 reboot=k panic=-1 acpi=off pci=conf1 quiet l2role=$4"
}
# One boot at a time: two nested guests booting at once under TCG have
# made one of them triple-fault in early boot now and then (and l2_boot
# starts a guest again if it does even so).
# Guest 1 is offered the connector's most MSI-X vectors, more than its
# one CPU has interrupt vectors left: its bridge takes 1 + 8 per CPU.
check_here "guest 1 boots" boot /tmp/g1.log '^L2-READY=1' c1 hotplug --vectors 256
g1=$L2_PID
vectors=$(l2_value /tmp/g1.log L2-VECTORS)
check "guest 1's bridge took 9 of the 256 vectors offered ($vectors), and works" \
	test "${vectors:-0}" = 9
check_here "guest 2 boots next to it" boot /tmp/g2.log '^L2-BUS=' c2 kill
g2=$L2_PID

# ---- isolation: each guest sees its own container only
check "guest 1 sees c1's one device only" grep -q '^L2-BUS=kvm0:0 *$' /tmp/g1.log
check "guest 2 sees c2's two devices only" grep -q '^L2-BUS=kvm0:0 kvm0:1 *$' /tmp/g2.log
check "each container has one client" \
	test "$(cat $C/c1/clients) $(cat $C/c2/clients)" = "1 1"

# ---- hotplug into guest 1
check "h1 placed in c1" $VBUSCTL attach h1 c1
L2_PID=$g1
check "a second NIC appears in guest 1" l2_wait /tmp/g1.log '^L2-HOTPLUG-ADD=kvm0:0 kvm0:1 *$' 120
check "h1 is open by guest 1" test "$(cat $CFS/devices/venet/h1/connections)" = 1
check "h1 removed from c1" $VBUSCTL detach h1
check "the NIC leaves guest 1 cleanly" l2_wait /tmp/g1.log '^L2-HOTPLUG-DEL=kvm0:0 *$' 120
check "h1 has no connection left" test "$(cat $CFS/devices/venet/h1/connections)" = 0
l2_wait_exit 120
check "guest 1 ends cleanly" test "$L2_STATUS/$(l2_result /tmp/g1.log)" = 0/0

# ---- SIGKILL in the middle of iperf3
L2_PID=$g2
check "guest 2 runs iperf3" l2_wait /tmp/g2.log '^L2-IPERF=started' 300
rx0=$(cat /sys/class/net/vnk0/statistics/rx_bytes)
sleep 2
check "traffic flows from guest 2" test "$(cat /sys/class/net/vnk0/statistics/rx_bytes)" -gt "$rx0"
check "k0 is open" test "$(cat $CFS/devices/venet/k0/connections)" = 1
pinned() { [ "$(pins_held)" -gt "$pins0" ]; }
check "guest pages are pinned for the rings" pinned
check "guest 2's VMM killed with SIGKILL" kill -KILL "$g2"
wait "$g2" 2>/dev/null
gone() {
	for _ in $(seq 100); do
		[ "$(cat $C/c2/clients)" = 0 ] && ! ls -d /sys/kernel/debug/kvm/"$g2"-* >/dev/null 2>&1 &&
			return 0
		sleep 0.1
	done
	return 1
}
mount -t debugfs none /sys/kernel/debug 2>/dev/null
check "the host released the VM and detached its client" gone
check "k0 and k1 have no connection left" \
	test "$(cat $CFS/devices/venet/k0/connections)/$(cat $CFS/devices/venet/k1/connections)" = 0/0
check "k0's host side lost its carrier" test "$(cat /sys/class/net/vnk0/carrier)" = 0
check "every pinned guest page was unpinned" pins_back_to "$pins0"
check "the other containers' devices are untouched" \
	test "$(cat $CFS/devices/venet/h0/connections)" = 0

# ---- a VMM's exit never waits for another VMM's bind.  A bind attaches
# under configfs' subsystem mutex, which a device's rmdir holds while it
# disables the device; vbus_gate (tests/vm/modules) makes that disable
# wait as long as the suite likes.
G=/sys/module/vbus_gate/parameters
HOLD=build/cmake/tests/tools/kvm-hold
gate_setup() {
	insmod tests/vm/modules/vbus_gate.ko && mkdir $CFS/devices/gate/g &&
		put $CFS/devices/gate/g/enabled 1 &&
		$VBUSCTL container add c3 && $VBUSCTL container add c4
}
check "containers c3 and c4, and a gate device" gate_setup
# wait_in PID FUNCTION SECONDS: the process's kernel stack shows
# FUNCTION, now or within SECONDS.  wait_gone PID SECONDS: the process
# is gone within SECONDS.  On failure, show where it is.
in_stack() { grep -q "$2" /proc/"$1"/stack 2>/dev/null; }
exited() { ! kill -0 "$1" 2>/dev/null; }
wait_in() { within "$3" in_stack "$1" "$2" || { cat /proc/"$1"/stack; return 1; }; }
wait_gone() { within "$2" exited "$1" || { cat /proc/"$1"/stack; return 1; }; }
# Each VMM exits when its standard input, a FIFO held open here, ends;
# no other process may hold the FIFOs.
mkfifo /tmp/vmb.in /tmp/vma.in
exec {vmb_in}<>/tmp/vmb.in {vma_in}<>/tmp/vma.in
$HOLD c3 </tmp/vmb.in {vmb_in}>&- {vma_in}>&- >/tmp/vmb.out 2>&1 &
vmb=$!
check "VMM B binds to c3" log_wait /tmp/vmb.out '^kvm-hold: ready 0$' $vmb 600
put $G/closed 1
rmdir $CFS/devices/gate/g {vmb_in}>&- {vma_in}>&- &
rmd=$!
check "the gate holds the rmdir's disable" wait_value $G/waiting 1 10
$HOLD c4 </tmp/vma.in {vmb_in}>&- {vma_in}>&- >/tmp/vma.out 2>&1 &
vma=$!
check "VMM A's bind waits for configfs" wait_in $vma vbus_client_attach 10
exec {vmb_in}>&-
check "VMM B exits meanwhile" wait_gone $vmb 8
check "... and A's bind still waits" wait_in $vma vbus_client_attach 0
put $G/closed 0
check "A's bind completes once the gate opens" log_wait /tmp/vma.out '^kvm-hold: ready 0$' $vma 300
check "the rmdir completes too" wait "$rmd"
exec {vma_in}>&-
check "VMM A exits" wait_gone $vma 60
check "vbus_gate unloads" rmmod vbus_gate

kill "$(cat /tmp/iperf3.pid)"
check "tear down" $VBUSCTL clear --yes
check "every module unloads" modprobe -r vbus_kvm vbus_venet vbus
slab_objects >/tmp/slab1
check "no slab cache grew by 200 objects" slab_grew_less_than /tmp/slab0 /tmp/slab1 200

done_testing
