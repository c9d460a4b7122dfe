# SPDX-License-Identifier: GPL-2.0
#
# The L2 side of tests/vm/suites/kvm-mq.sh (busybox sh, run by the L2
# initramfs's /init): a guest with two vCPUs and a venet with two queue
# pairs.  The host (L1) owns 10.79.0.1; the guest takes 10.79.0.2.  It
# sends with one iperf3 stream pinned to each CPU, receives one stream
# from each of the host's CPUs, then reports its per-queue counters and,
# for each vbus-bridge interrupt vector, the interrupts each CPU took
# before and after the streams.
. /l2/lib.sh
wait_vbus_nics 1 30
IF=$(vbus_nic) || { echo "L2-ERROR: no venet NIC appeared"; exit 1; }
echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6
ip link set lo up
ip addr add 10.79.0.2/24 dev "$IF"
ip link set "$IF" up
for i in $(seq 50); do [ "$(cat /sys/class/net/$IF/carrier 2>/dev/null)" = 1 ] && break; sleep 0.1; done
echo "L2-CPUS=$(cat /sys/devices/system/cpu/online)"
echo "L2-QUEUES=$(ls /sys/class/net/$IF/queues | tr '\n' ' ')"
echo "L2-XPS=$(cat /sys/class/net/$IF/queues/tx-0/xps_cpus) $(cat /sys/class/net/$IF/queues/tx-1/xps_cpus)"
echo "L2-NIC=$IF"

ping -c 3 -W 5 10.79.0.1 >/tmp/ping 2>&1 && echo "L2-PING=ok" || { cat /tmp/ping; echo "L2-PING=failed"; }
# The vectors' counts before the streams: the host looks at what the
# streams added, after every vector was pointed at its CPU.
vectors() { # TAG
	awk -v tag="$1" '/vbus-bridge/ { print tag "=" $2 " " $3 }' /proc/interrupts
}
vectors L2-VECTOR0
# One stream from each CPU: XPS sends each on its CPU's queue.
taskset 1 iperf3 -c 10.79.0.1 -p 5201 -t 4 -f m >/tmp/g2h0 2>&1 &
p0=$!
taskset 2 iperf3 -c 10.79.0.1 -p 5202 -t 4 -f m >/tmp/g2h1 2>&1
s1=$?
wait $p0
echo "L2-G2H-STATUS=$?/$s1"

iperf3 -s -1 -p 5201 -f m >/tmp/h2g0 2>&1 &
p0=$!
iperf3 -s -1 -p 5202 -f m >/tmp/h2g1 2>&1 &
p1=$!
sleep 1
echo "L2-SERVER=ready"
wait $p0
s0=$?
wait $p1
echo "L2-H2G-STATUS=$s0/$?"

ethtool -S "$IF" | sed -n 's/^ *\([rt]x[01]_packets\): \([0-9]*\)$/L2-STAT-\1=\2/p'
# "L2-VECTOR=<CPU0 count> <CPU1 count>" per vbus-bridge vector
vectors L2-VECTOR
echo "L2-DONE=1"
sleep 1
