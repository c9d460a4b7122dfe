# SPDX-License-Identifier: GPL-2.0
#
# A guest kernel that starts another one in its place (kexec), with no
# reset of the VM.  The bridge's shutdown tells the host to close the
# first kernel's devices (RESET), and the second kernel's HELLO finds
# them again (Documentation/vbus/kvm.rst, "A guest kernel that starts
# over"): the second kernel must get its venet NIC back and reach the
# host through it, while the host kept sending to the first one.
# vm-options: --timeout 600 --idle 320
# vm-retry: 2
. tests/vm/lib.sh
. tests/vm/l2/lib.sh

VBUSCTL=build/cmake/tools/vbusctl/vbusctl
KEXEC=build/cmake/tests/tools/kexec-load
LOG=/tmp/l2.log
# vbus-vm's counters (--stats, at exit) in a file of their own.
L2_ERR=/tmp/l2.err

install_modules
check "nested KVM is available" l2_load_kvm
modprobe vbus_venet && modprobe vbus_kvm
setup() {
	$VBUSCTL container add c1 &&
	$VBUSCTL device add venet h0 ifname=vnh0 --enable && $VBUSCTL attach h0 c1 &&
	sysctl -qw net.ipv6.conf.vnh0.disable_ipv6=1 &&
	ip addr add 10.79.0.1/24 dev vnh0 && ip link set vnh0 up
}
check "c1 holds the venet h0" setup

# The second kernel's initramfs goes inside the first one's.
guest_modules=(--ko guest/proxy/vbus_proxy.ko --ko guest/kvm/vbus_bridge.ko
	--ko guest/venet/vbus_enet.ko)
mapfile -t files <<<"$(l2_bin_files $KEXEC)"
initrds() {
	l2_mkinitrd /tmp/l2-next.img tests/vm/l2/kexec-guest.sh "${guest_modules[@]}" &&
	l2_mkinitrd /tmp/l2.img tests/vm/l2/kexec-guest.sh "${guest_modules[@]}" \
		--file "$(l2_kernel):/next/vmlinuz" --file /tmp/l2-next.img:/next/initrd \
		--file "$KEXEC:/kexec-load" "${files[@]}"
}
check "the L2 initramfs builds, with the next kernel inside" initrds
# nox2apic: a kernel started by kexec finds the local APIC in the mode
# the last one left it; in x2APIC mode, 6.1 reads the APIC's id through
# the memory-mapped page it has not mapped yet when the machine has an MP
# table and no ACPI (vbus-vm's), and faults in early boot.
check_here "the first kernel boots and pings the host" \
	l2_boot $LOG '^L2-PING1=' 300 --kernel "$(l2_kernel)" --initrd /tmp/l2.img \
	--mem 512M --cpus 1 --container c1 --stats \
	--append "console=ttyS0 reboot=k panic=-1 acpi=off pci=conf1 nox2apic quiet"
check "... through its venet" l2_expect $LOG '^L2-PING1=ok$'
check "h0 is open by the first kernel" test "$(cat $CFS/devices/venet/h0/connections)" = 1

# Frames for the guest while it changes kernels.
ping -q -i 0.05 10.79.0.2 >/dev/null 2>&1 &
pinger=$!
l2_wait $LOG '^L2-(BOOT=2|KEXEC-STATUS=)' 300
kill $pinger 2>/dev/null
wait $pinger 2>/dev/null
if grep -q '^L2-KEXEC-STATUS=3$' $LOG; then
	# A kernel without kexec_file_load (the debug kernel's configuration).
	ok "the second kernel finds its venet again # SKIP $(grep -m1 'kexec-load:' $LOG)"
	l2_stop
else
	check "the first kernel starts the second one with kexec" l2_expect $LOG '^L2-BOOT=2$'
	check "the second kernel finds the venet on its bus" \
		l2_wait $LOG '^L2-BUS2=kvm0:0 *$' 300
	check "... and pings the host through it" l2_wait $LOG '^L2-PING2=ok$' 300
	l2_wait_exit 120
	check "vbus-vm exits 0 when the second kernel reboots" test "$L2_STATUS" = 0
	# Each kernel's bridge said HELLO at probe; the first kernel's
	# shutdown said RESET (the second one's reboot says it too).
	calls=$(grep -m1 '^vbus-vm: vbus calls by operation:' $L2_ERR)
	echo "# $calls"
	check "each kernel said HELLO once and each shutdown RESET" \
		sh -c "printf '%s\n' '$calls' | grep -q 'hello 2, .* reset 2,'"
	check "... and the host took each RESET" \
		sh -c "! grep 'did not reset the bus' $LOG"
	check "the second kernel reported success" test "$(l2_result $LOG)" = 0
	check "the device was opened once by each kernel" \
		sh -c "$VBUSCTL stats | grep -Eq '^h0 +2 '"
fi
check "h0 has no connection left" test "$(cat $CFS/devices/venet/h0/connections)" = 0

check "tear down" $VBUSCTL clear --yes
check "every module unloads" modprobe -r vbus_kvm vbus_venet vbus

done_testing
