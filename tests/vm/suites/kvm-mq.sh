# SPDX-License-Identifier: GPL-2.0
#
# Multiqueue over KVM: a venet with two queue pairs in an L2 guest with
# two vCPUs (vbus-vm, nested KVM under TCG).  The guest's driver gives
# queue pair q the q-th CPU: both its rings' interrupt vectors point
# there and that CPU's transmissions use it (XPS).  Traffic both ways,
# a stream pinned to each CPU at each end (the host netdev's queue q
# given to the host's CPU q by XPS too), must use both queue pairs in
# both directions, and the interrupts must arrive on both CPUs, each
# vector on one CPU.
# vm-options: --timeout 600 --idle 320
# vm-retry: 2
. tests/vm/lib.sh
. tests/vm/l2/lib.sh

VBUSCTL=build/cmake/tools/vbusctl/vbusctl
HOST_IF=vnmq0
LOG=/tmp/l2.log
L2_ERR=/tmp/l2.err

install_modules
check "nested KVM is available" l2_load_kvm
check "vbus_venet and vbus_kvm load" sh -c 'modprobe vbus_venet && modprobe vbus_kvm'
setup() {
	$VBUSCTL container add q0 &&
	$VBUSCTL device add venet v0 ifname=$HOST_IF queues=2 --enable &&
	$VBUSCTL attach v0 q0 &&
	sysctl -qw net.ipv6.conf.$HOST_IF.disable_ipv6=1 &&
	ip addr add 10.79.0.1/24 dev $HOST_IF && ip link set $HOST_IF up
}
check "container q0 with a two-queue venet, host side $HOST_IF" setup
iperf3 -s -D -p 5201 -f m --pidfile /tmp/iperf3-0.pid
iperf3 -s -D -p 5202 -f m --pidfile /tmp/iperf3-1.pid

mapfile -t files <<<"$(l2_bin_files iperf3 ethtool taskset)"
check "the L2 initramfs builds" l2_mkinitrd /tmp/l2.img tests/vm/l2/mq-guest.sh \
	--ko guest/proxy/vbus_proxy.ko --ko guest/kvm/vbus_bridge.ko --ko guest/venet/vbus_enet.ko \
	"${files[@]}"

l2_start $LOG --kernel "$(l2_kernel)" --initrd /tmp/l2.img --mem 512M --cpus 2 \
	--container q0
check "the guest boots with 2 CPUs and its NIC binds" l2_wait $LOG '^L2-NIC=' 300
check "the guest's CPUs are 0-1" test "$(l2_value $LOG L2-CPUS)" = 0-1
check "the guest's NIC has two queue pairs" \
	test "$(l2_value $LOG L2-QUEUES)" = "rx-0 rx-1 tx-0 tx-1 "
check "transmit queue q is CPU q's (XPS)" grep -Eq '^L2-XPS=0*1 0*2$' $LOG
check "the guest pings the host" l2_wait $LOG '^L2-PING=ok' 120
g2h_done() { l2_wait $LOG '^L2-G2H-STATUS=' 180 && [ "$(l2_value $LOG L2-G2H-STATUS)" = 0/0 ]; }
check "a stream from each CPU to the host" g2h_done
host_xps() {
	echo 1 >/sys/class/net/$HOST_IF/queues/tx-0/xps_cpus &&
		echo 2 >/sys/class/net/$HOST_IF/queues/tx-1/xps_cpus
}
check "the host's CPU q sends on the host netdev's queue q (XPS)" host_xps
check "the guest's iperf3 servers are up" l2_wait $LOG '^L2-SERVER=ready' 60
taskset 1 iperf3 -c 10.79.0.2 -p 5201 -t 4 -f m >/tmp/h2g0 2>&1 &
h0=$!
taskset 2 iperf3 -c 10.79.0.2 -p 5202 -t 4 -f m >/tmp/h2g1 2>&1
rc1=$?
wait $h0
rc0=$?
tail -n 3 /tmp/h2g0 /tmp/h2g1 | sed 's/^/# /'
check "a stream from each of the host's CPUs to the guest" test $rc0/$rc1 = 0/0
h2g_done() { l2_wait $LOG '^L2-H2G-STATUS=' 60 && [ "$(l2_value $LOG L2-H2G-STATUS)" = 0/0 ]; }
check "the guest's two servers each got their stream" h2g_done
check "the guest reports its counters" l2_wait $LOG '^L2-DONE=1' 120
l2_wait_exit 60
check "vbus-vm exits 0 when the guest reboots" test "$L2_STATUS" = 0
check "the guest reported success" test "$(l2_result $LOG)" = 0

stat() { l2_value $LOG "L2-STAT-$1"; }
echo "# per queue: rx0 $(stat rx0_packets), rx1 $(stat rx1_packets)," \
	"tx0 $(stat tx0_packets), tx1 $(stat tx1_packets) packets"
both() { [ "${1:-0}" -gt 100 ] && [ "${2:-0}" -gt 100 ]; }
check "both rx queues received" both "$(stat rx0_packets)" "$(stat rx1_packets)"
check "both tx queues sent" both "$(stat tx0_packets)" "$(stat tx1_packets)"
# The interrupts each vector took during the streams, and where: the
# counts at the end less those before the streams (a vector's first
# interrupt may come before the driver points it at its queue's CPU).
# The devices notify only when a driver asks, so a few dozen interrupts
# (on the debug kernel) to a few hundred carry all the traffic.
# (The VM has no /dev/fd: no process substitution.)
sed -n 's/^L2-VECTOR0=//p' $LOG >/tmp/vectors.before
sed -n 's/^L2-VECTOR=//p' $LOG >/tmp/vectors.after
vector_deltas() {
	paste -d ' ' /tmp/vectors.before /tmp/vectors.after |
		awk 'NF == 4 { print $3 - $1, $4 - $2 }'
}
vector_deltas | awk '$1 + $2 > 0 { print "# vector, during the streams: CPU0 " $1 ", CPU1 " $2 }'
check "the guest reports each vector's interrupts before and after the streams" \
	test "$(vector_deltas | wc -l)" -gt 1 -a \
	"$(grep -c '^L2-VECTOR0=' $LOG)" = "$(grep -c '^L2-VECTOR=' $LOG)"
# A vector "on one CPU": of its interrupts, at most one or 5% on the
# other CPU.  (x86 completes an affinity change at the vector's first
# interrupt after it, which may still reach the old CPU: a transmit
# ring's vector first fires during the streams, when its queue stops;
# on the stock kernel one such took 1 interrupt on CPU 0 and 9 on 1.)
# busy_on CPU: such vectors with 5 interrupts or more on CPU;
# split_vectors: vectors with 5 or more that are on neither.
busy_on() {
	vector_deltas | awk -v c="$1" '{ t = $1 + $2; o = t - $(c + 1) }
		t >= 5 && (o <= 1 || o * 20 <= t) { n++ } END { print n + 0 }'
}
split_vectors() {
	vector_deltas | awk '{ t = $1 + $2; m = $1 < $2 ? $1 : $2 }
		t >= 5 && m > 1 && m * 20 > t { n++ } END { print n + 0 }'
}
check "interrupts arrive on CPU 0 and on CPU 1, each vector on one CPU" \
	sh -c "[ $(busy_on 0) -ge 1 ] && [ $(busy_on 1) -ge 1 ] && [ $(split_vectors) = 0 ]"

sed 's/^/# L2| /' $LOG | tail -n 40
kill "$(cat /tmp/iperf3-0.pid)" "$(cat /tmp/iperf3-1.pid)"
teardown() {
	$VBUSCTL detach v0 && $VBUSCTL device del v0 && $VBUSCTL container del q0
}
check "tear down" teardown
check "every module unloads" modprobe -r vbus_kvm vbus_venet vbus

done_testing
