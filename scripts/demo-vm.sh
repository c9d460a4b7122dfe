# SPDX-License-Identifier: GPL-2.0
#
# The part of `make demo` that runs inside the VM (the "host"): a
# container with a venet NIC, configured with vbusctl; vbus-vm boots a
# Linux guest (the same kernel, nested under KVM) with the container
# attached; the guest's NIC comes from the host's vbus; ping and iperf3
# between host and guest; the counters of both ends; a clean teardown.
set -e

VBUSCTL=build/cmake/tools/vbusctl/vbusctl
VBUS_VM=build/cmake/tools/vbus-vm/vbus-vm
LOG=/tmp/guest.log
kver=$(uname -r)

step() {
	echo
	echo "### $*"
}

step "host: kernel $kver; installing the vbus modules, loading KVM"
mkdir -p "/lib/modules/$kver/extra/vbus"
cp kernel/vbus/vbus.ko devices/*/*.ko guest/*/*.ko connectors/*/*.ko \
	"/lib/modules/$kver/extra/vbus/"
cp "build/vm/moddb-$kver"/modules.* "/lib/modules/$kver/"	# depmod, run on the host
modprobe kvm_amd nested=1 2>/dev/null || modprobe kvm_intel nested=1
modprobe vbus_venet
modprobe vbus_kvm
ls -l /dev/kvm /dev/vbus-kvm

step "host: a container and a venet NIC, configured with vbusctl"
set -x
$VBUSCTL container add demo
$VBUSCTL device add venet web0 ifname=vnweb0 \
	host_mac=02:00:00:00:00:01 guest_mac=52:54:00:12:34:56 --enable
$VBUSCTL attach web0 demo
sysctl -qw net.ipv6.conf.vnweb0.disable_ipv6=1
ip addr add 192.168.50.1/24 dev vnweb0
ip link set vnweb0 up
set +x
$VBUSCTL device show web0

step "host: a guest initramfs (busybox, the guest modules, iperf3)"
. tests/vm/l2/lib.sh
mapfile -t files <<<"$(l2_bin_files iperf3)"
tests/vm/l2/mkinitrd --script scripts/demo-guest.sh \
	--ko guest/proxy/vbus_proxy.ko --ko guest/kvm/vbus_bridge.ko \
	--ko guest/venet/vbus_enet.ko "${files[@]}" "$kver" /tmp/guest.img
ls -l /tmp/guest.img

step "host: vbus-vm boots the guest with container 'demo' attached (its console is marked 'guest|')"
iperf3 -s -D -f m -I /tmp/iperf.pid
set -x
$VBUS_VM --kernel "/boot/vmlinuz-$kver" --initrd /tmp/guest.img --mem 512M --cpus 1 \
	--container demo --stats >$LOG 2>&1 &
set +x
vm=$!
tail -n +1 -f $LOG --pid $vm | sed -u 's/^/  guest| /' &
for _ in $(seq 1200); do
	grep -q '^guest: serving one iperf3 test' $LOG && break
	kill -0 $vm 2>/dev/null || break
	sleep 0.1
done
sleep 1

step "host: ping the guest, iperf3 to it for 3 seconds"
ping -c 3 -W 5 192.168.50.2
iperf3 -c 192.168.50.2 -t 3 -f m | tail -n 4 | tee /tmp/h2g
wait $vm
sleep 0.5

step "host: counters of the host side (the guest's are above)"
ip -s link show vnweb0
$VBUSCTL stats web0

step "summary"
g2h=$(sed -n 's/.* \([0-9.]*\) Mbits\/sec .*receiver$/\1/p' $LOG | head -n 1)
h2g=$(sed -n 's/.* \([0-9.]*\) Mbits\/sec .*receiver$/\1/p' /tmp/h2g)
echo "guest -> host: ${g2h:-?} Mbit/s, host -> guest: ${h2g:-?} Mbit/s (nested KVM under TCG:"
echo "absolute numbers mean little, see bench/); vbus-vm exit counts:"
grep '^vbus-vm:' $LOG | sed 's/^/  /'

step "teardown"
kill "$(cat /tmp/iperf.pid)"
set -x
$VBUSCTL clear --yes
set +x
modprobe -r vbus_kvm vbus_venet vbus
echo "taint: $(cat /proc/sys/kernel/tainted) (4096 = out-of-tree, 8192 = unsigned)"
