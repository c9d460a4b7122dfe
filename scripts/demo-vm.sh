# SPDX-License-Identifier: GPL-2.0
#
# The part of `make demo` that runs inside the VM.
set -e

step() {
	echo
	echo "### $*"
}

step "kernel: $(uname -r), taint before: $(cat /proc/sys/kernel/tainted)"
step "insmod kernel/vbus/vbus.ko"
insmod kernel/vbus/vbus.ko
grep '^vbus ' /proc/modules
step "the administration tree: ls -la /sys/kernel/config/vbus"
ls -la /sys/kernel/config/vbus
step "module information"
modinfo -F description kernel/vbus/vbus.ko
step "rmmod vbus"
rmmod vbus
test ! -e /sys/kernel/config/vbus && echo "configfs tree gone"
step "taint after: $(cat /proc/sys/kernel/tainted) (4096 = out-of-tree, 8192 = unsigned)"
