# SPDX-License-Identifier: GPL-2.0
#
# The L2 side of tests/vm/suites/kvm-lifecycle.sh (busybox sh).  The
# role comes from the kernel command line, l2role=hotplug or l2role=kill.
role=$(sed -n 's/.*l2role=\([a-z]*\).*/\1/p' /proc/cmdline)
. /l2/lib.sh
bus() { ls /sys/bus/vbus-proxy/devices | tr '\n' ' '; }

case $role in
hotplug)
	wait_vbus_nics 1 60 || { echo "L2-ERROR: no NIC"; exit 1; }
	echo "L2-BUS=$(bus)"
	echo "L2-VECTORS=$(grep -c vbus-bridge /proc/interrupts)"
	echo "L2-READY=1"
	wait_vbus_nics 2 300 || { echo "L2-ERROR: the hot-added NIC did not appear"; exit 1; }
	echo "L2-HOTPLUG-ADD=$(bus)"
	wait_vbus_nics 1 300 || { echo "L2-ERROR: the removed NIC did not go"; exit 1; }
	echo "L2-HOTPLUG-DEL=$(bus)"
	;;
kill)
	wait_vbus_nics 2 60 || { echo "L2-ERROR: expected two NICs"; exit 1; }
	echo "L2-BUS=$(bus)"
	IF=$(basename "$(ls -d /sys/bus/vbus-proxy/devices/*/net/* | head -n 1)")
	echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6
	ip addr add 10.78.0.2/24 dev "$IF"
	ip link set "$IF" up
	for i in $(seq 50); do ping -c 1 -W 1 10.78.0.1 >/dev/null 2>&1 && break; done
	iperf3 -c 10.78.0.1 -t 300 -f m >/tmp/iperf 2>&1 &
	sleep 3
	echo "L2-IPERF=started"
	wait
	;;
*)
	echo "L2-ERROR: no l2role on the command line"
	exit 1
	;;
esac
