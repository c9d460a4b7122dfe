# SPDX-License-Identifier: GPL-2.0
#
# The L2 side of bench/run (busybox sh, run by the L2 initramfs's /init).
# The same script runs in both guests: it takes the one NIC the guest has
# (virtio-net under QEMU, venet under vbus-vm), gives it 10.80.0.2/24,
# starts an iperf3 server and a sockperf server, and then answers the
# host's requests on the console:
#   stats N   prints "L2-STATS-N=<NIC interrupts> <tx kicks> <rx kicks>"
#   quit      powers the guest off
# Interrupts are the NIC's lines of /proc/interrupts; kicks are the
# driver's own doorbell counters from ethtool -S, by the ring they ring:
# transmit (sent packets posted) or receive (buffers posted).  Both
# drivers name them so: rx0_kicks / tx0_kicks for venet, rx_queue_0_kicks
# / tx_queue_0_kicks for virtio-net.
. /l2/lib.sh
stty -echo 2>/dev/null
echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6

virtio_nic() {
	for d in /sys/class/net/*; do
		[ "$(basename "$(readlink "$d/device/driver" 2>/dev/null)")" = virtio_net ] &&
			{ basename "$d"; return 0; }
	done
	return 1
}

IF=""
for _ in $(seq 300); do
	IF=$(vbus_nic || virtio_nic) && break
	sleep 0.1
done
[ -n "$IF" ] || { echo "L2-ERROR: no NIC appeared"; exit 1; }
DRIVER=$(basename "$(readlink "/sys/class/net/$IF/device/driver")")
case $DRIVER in
virtio_net) IRQS='virtio[0-9]+-(input|output)' ;;
*) IRQS='vbus-bridge' ;;
esac

irqs() {
	awk -v re="$IRQS" '$0 ~ re { for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) n += $i }
		END { print n + 0 }' /proc/interrupts
}

kicks() {
	ethtool -S "$IF" | awk '$1 ~ /^tx.*kicks:$/ { t += $2 } $1 ~ /^rx.*kicks:$/ { r += $2 }
		END { print t + 0, r + 0 }'
}

ip link set lo up
ip addr add 10.80.0.2/24 dev "$IF"
ip link set "$IF" up
for _ in $(seq 100); do
	[ "$(cat "/sys/class/net/$IF/carrier" 2>/dev/null)" = 1 ] && break
	sleep 0.1
done
iperf3 -s -D >/dev/null 2>&1 || { echo "L2-ERROR: iperf3 -s failed"; exit 1; }
sockperf sr -i 10.80.0.2 >/dev/null 2>&1 &
# The guest's idle driver decides whether an idle vCPU polls or halts.
IDLE=$(cat /sys/devices/system/cpu/cpuidle/current_driver 2>/dev/null) || IDLE=none
echo "L2-READY=$IF $DRIVER idle=$IDLE"

while read -r cmd arg; do
	case $cmd in
	stats) echo "L2-STATS-$arg=$(irqs) $(kicks)" ;;
	quit) break ;;
	esac
done
exit 0
