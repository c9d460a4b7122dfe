# SPDX-License-Identifier: GPL-2.0
#
# The part of `make demo` that runs inside the VM: a container with an
# echo device, driven by the in-kernel test client.
set -e

CFS=/sys/kernel/config/vbus
NLMON=build/cmake/tests/tools/nlmon

step() {
	echo
	echo "### $*"
}

step "kernel $(uname -r); loading vbus and the echo device class"
insmod kernel/vbus/vbus.ko
insmod devices/echo/vbus_echo.ko
ls $CFS $CFS/devices

step "a container and an echo device, placed and enabled through configfs"
set -x
mkdir $CFS/containers/demo
mkdir $CFS/devices/echo/echo0
echo 1 >$CFS/devices/echo/echo0/enabled
ln -s $CFS/devices/echo/echo0 $CFS/containers/demo/devices/echo0
set +x
echo "echo0: id $(cat $CFS/devices/echo/echo0/id) in container $(cat $CFS/devices/echo/echo0/container)"

step "what the netlink family reports"
$NLMON dump containers
$NLMON dump devices

step "an in-kernel client attaches, calls the device and sends 20000 buffers through its ring"
insmod tests/vm/modules/vbus_testclient.ko container=demo
dmesg | grep vbus_testclient | sed 's/^\[[^]]*\] //'
rmmod vbus_testclient
$NLMON dump stats

step "teardown"
rm $CFS/containers/demo/devices/echo0
echo 0 >$CFS/devices/echo/echo0/enabled
rmdir $CFS/devices/echo/echo0 $CFS/containers/demo
rmmod vbus_echo vbus
echo "taint: $(cat /proc/sys/kernel/tainted) (4096 = out-of-tree, 8192 = unsigned)"
