# SPDX-License-Identifier: GPL-2.0
#
# Functions for the scripts L2 guests run (busybox sh); tests/vm/l2/mkinitrd
# installs this file as /l2/lib.sh, scripts source it.
#
#   vbus_nics             how many network interfaces vbus gave the guest
#   vbus_nic              the name of the first one; fails if there is none
#   wait_vbus_nics N SECS wait until there are N; fails after SECS seconds

vbus_nics() {
	ls -d /sys/bus/vbus-proxy/devices/*/net/* 2>/dev/null | wc -l
}

vbus_nic() {
	for d in /sys/bus/vbus-proxy/devices/*/net/*; do
		[ -e "$d" ] && { basename "$d"; return 0; }
	done
	return 1
}

wait_vbus_nics() {
	for i in $(seq $(($2 * 10))); do
		[ "$(vbus_nics)" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
