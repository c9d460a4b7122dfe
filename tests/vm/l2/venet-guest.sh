# SPDX-License-Identifier: GPL-2.0
#
# The L2 side of tests/vm/suites/kvm-venet.sh (busybox sh, run by the L2
# initramfs's /init).  The host (L1) owns 10.77.0.1; the guest takes
# 10.77.0.2 on its first venet NIC.  Progress and results go to the
# console as KEY=value lines the suite reads.
. /l2/lib.sh
wait_vbus_nics 1 30
IF=$(vbus_nic) || { echo "L2-ERROR: no venet NIC appeared"; exit 1; }
echo "L2-KERNEL=$(uname -r)"
echo "L2-BUS=$(ls /sys/bus/vbus-proxy/devices | tr '\n' ' ')"
echo "L2-DRIVER=$(basename "$(readlink /sys/class/net/$IF/device/driver)")"
echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6
ip link set lo up
ip addr add 10.77.0.2/24 dev "$IF"
ip link set "$IF" up
for i in $(seq 50); do [ "$(cat /sys/class/net/$IF/carrier 2>/dev/null)" = 1 ] && break; sleep 0.1; done
echo "L2-NIC=$IF"
sleep 2				# the host takes its first snapshot

ping -c 3 -W 5 10.77.0.1 >/tmp/ping 2>&1 && echo "L2-PING=ok" || { cat /tmp/ping; echo "L2-PING=failed"; }
iperf3 -c 10.77.0.1 -t 5 -f m >/tmp/g2h 2>&1
echo "L2-G2H-STATUS=$?"
sed 's/^/L2-G2H: /' /tmp/g2h

echo "L2-SERVER=ready"
iperf3 -s -1 -f m >/tmp/h2g 2>&1
echo "L2-H2G-STATUS=$?"

s=/sys/class/net/$IF/statistics
echo "L2-COUNTERS=$(cat $s/rx_packets) $(cat $s/rx_bytes) $(cat $s/tx_packets) $(cat $s/tx_bytes) $(cat $s/rx_dropped) $(cat $s/tx_dropped)"
echo "L2-IRQS=$(awk '/vbus-bridge/ { for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) n += $i } END { print n + 0 }' /proc/interrupts)"
echo "L2-DONE=1"
sleep 1
