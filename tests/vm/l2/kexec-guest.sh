# SPDX-License-Identifier: GPL-2.0
#
# The L2 side of tests/vm/suites/kvm-kexec.sh (busybox sh).  The first
# kernel (no l2boot= on its command line) brings its venet NIC up, pings
# the host and starts /next/vmlinuz with /next/initrd by kexec, adding
# l2boot=2 to its own command line; the second kernel, started from the
# same script, must find the NIC again and ping the host through it.
boot=$(sed -n 's/.*l2boot=\([0-9]*\).*/\1/p' /proc/cmdline)
boot=${boot:-1}
. /l2/lib.sh
echo "L2-BOOT=$boot"
wait_vbus_nics 1 60 || { echo "L2-ERROR: no venet NIC in boot $boot"; exit 1; }
IF=$(vbus_nic)
echo "L2-BUS$boot=$(ls /sys/bus/vbus-proxy/devices | tr '\n' ' ')"
echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6
ip addr add 10.79.0.2/24 dev "$IF"
ip link set "$IF" up
for i in $(seq 50); do ping -c 1 -W 1 10.79.0.1 >/dev/null 2>&1 && break; done
if ping -c 3 -W 5 10.79.0.1 >/tmp/ping 2>&1; then
	echo "L2-PING$boot=ok"
else
	cat /tmp/ping
	echo "L2-PING$boot=failed"
	exit 1
fi
[ "$boot" = 1 ] || exit 0

# The host sends to us meanwhile: its frames keep arriving until the
# bridge's shutdown has closed the NIC on the host's side.
echo "L2-KEXEC=now"
/kexec-load /next/vmlinuz /next/initrd "$(cat /proc/cmdline) l2boot=2"
echo "L2-KEXEC-STATUS=$?"
exit 1
