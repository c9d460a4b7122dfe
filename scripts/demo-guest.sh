# SPDX-License-Identifier: GPL-2.0
#
# The guest's part of `make demo` (busybox sh, run by the guest's init):
# find the NIC that vbus gave it, ping the host, send to it with iperf3,
# then serve one iperf3 test from the host, and show its counters.
. /l2/lib.sh
wait_vbus_nics 1 30
IF=$(vbus_nic) || { echo "no vbus NIC"; exit 1; }
dev=$(basename "$(readlink -f /sys/class/net/$IF/device)")
echo "guest: PCI $(cat /sys/bus/pci/drivers/vbus-bridge/*/vendor 2>/dev/null | head -n 1):$(cat /sys/bus/pci/drivers/vbus-bridge/*/device 2>/dev/null | head -n 1)" \
	"bound to vbus-bridge; vbus-proxy device $dev, type $(cat /sys/bus/vbus-proxy/devices/$dev/type)," \
	"driver $(basename "$(readlink /sys/class/net/$IF/device/driver)"), NIC $IF"
echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6
ip link set lo up
ip addr add 192.168.50.2/24 dev "$IF"
ip link set "$IF" up
sleep 1
ip addr show "$IF"
ping -c 3 -W 5 192.168.50.1
echo "guest: iperf3 to the host, 3 seconds"
iperf3 -c 192.168.50.1 -t 3 -f m | tail -n 4
echo "guest: serving one iperf3 test"
iperf3 -s -1 -f m >/tmp/iperf 2>&1
ip -s link show "$IF"
echo "guest: interrupts of the vbus bridge (vectors that fired)"
awk '/vbus-bridge/ { n = 0; for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) n += $i; if (n) print }' /proc/interrupts
echo "guest: done, rebooting"
