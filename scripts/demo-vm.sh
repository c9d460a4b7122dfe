# SPDX-License-Identifier: GPL-2.0
#
# The part of `make demo` that runs inside the VM: a container with a
# venet NIC, configured with vbusctl, attached to the guest-side bus of
# the same kernel through the local connector; the host netdev and the
# guest NIC in two network namespaces, then ping and iperf3 between them.
set -e

VBUSCTL=build/cmake/tools/vbusctl/vbusctl
export SYSTEMD_IGNORE_CHROOT=1

step() {
	echo
	echo "### $*"
}

step "kernel $(uname -r); installing the vbus modules, starting udev"
mkdir -p "/lib/modules/$(uname -r)/extra/vbus"
cp kernel/vbus/vbus.ko devices/*/*.ko guest/*/*.ko connectors/*/*.ko \
	"/lib/modules/$(uname -r)/extra/vbus/"
depmod -a
/lib/systemd/systemd-udevd --daemon >/dev/null 2>&1
modprobe vbus_venet
modprobe vbus_local
$VBUSCTL device classes

step "a container and a venet NIC, configured with vbusctl"
set -x
$VBUSCTL container add demo
$VBUSCTL device add venet web0 ifname=vnweb0 mtu=9000 \
	host_mac=02:00:00:00:00:01 guest_mac=52:54:00:12:34:56 --enable
$VBUSCTL attach web0 demo
set +x
$VBUSCTL device show web0

step "the local connector attaches the container: udev loads the guest driver"
set -x
mkdir /sys/kernel/config/vbus-local/demo
udevadm settle
set +x
guest=$(ls /sys/bus/vbus-proxy/devices/demo:0/net)
echo "vbus-proxy device demo:0 ($(cat /sys/bus/vbus-proxy/devices/demo:0/type))" \
	"bound to $(basename "$(readlink /sys/bus/vbus-proxy/devices/demo:0/driver)")," \
	"guest NIC $guest"
ethtool -i "$guest" | head -n 2

step "host netdev in namespace 'host', guest NIC in namespace 'guest'"
set -x
ip netns add host
ip netns add guest
ip link set vnweb0 netns host
ip link set "$guest" netns guest
ip -n host addr add 192.168.50.1/24 dev vnweb0
ip -n guest addr add 192.168.50.2/24 dev "$guest"
ip -n host link set vnweb0 up
ip -n guest link set "$guest" up
set +x
ip netns exec guest ping -c 3 -w 10 192.168.50.1
ip netns exec host ping -c 3 -w 10 192.168.50.2

step "iperf3, 3 seconds each way"
ip netns exec host iperf3 -s -D -I /tmp/iperf.pid
sleep 0.5
ip netns exec guest iperf3 -c 192.168.50.1 -t 3 | tail -n 4
ip netns exec guest iperf3 -c 192.168.50.1 -t 3 -R | tail -n 4
kill "$(cat /tmp/iperf.pid)"

step "counters on both ends"
ip -n host -s link show vnweb0
ip -n guest -s link show "$guest"
ip netns exec guest ethtool -S "$guest" | grep -v ': 0$'
$VBUSCTL stats

step "teardown"
set -x
rmdir /sys/kernel/config/vbus-local/demo
ip netns del host
ip netns del guest
$VBUSCTL clear --yes
set +x
modprobe -r vbus_enet vbus_local vbus_proxy vbus_venet vbus
echo "taint: $(cat /proc/sys/kernel/tainted) (4096 = out-of-tree, 8192 = unsigned)"
