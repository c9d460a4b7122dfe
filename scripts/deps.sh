#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install every Debian package the project needs, when missing.
# Idempotent: when everything is present it only asks dpkg and returns.
#
#   scripts/deps.sh                  what make check and the build need
#   scripts/deps.sh --debug-kernel   what building the debug kernel of
#                                    make check-debug needs on top of that
#   scripts/deps.sh --rt-kernel      the PREEMPT_RT kernel that make
#                                    check-rt boots
set -euo pipefail

case ${1:-} in
--debug-kernel)
	# scripts/debug-kernel: Kbuild's own tools (linux-source-6.1 is in
	# the main list)
	packages=(flex bison bc libelf-dev libssl-dev)
	;;
--rt-kernel)
	packages=(linux-image-rt-amd64 linux-headers-rt-amd64)
	;;
"")
	packages=(
		# building kernel modules against the distribution kernel
		build-essential linux-image-amd64 linux-headers-amd64 kmod
		# the other flavours the modules must build for
		# (scripts/lint/kernel-flavours)
		linux-headers-cloud-amd64 linux-headers-rt-amd64
		# lint: checkpatch.pl ships inside the kernel source tarball
		linux-source-6.1 sparse perl xz-utils
		# user space
		cmake g++ libgtest-dev libgmock-dev pkg-config
		libnl-3-dev libnl-genl-3-dev libnl-utils nlohmann-json3-dev libcli11-dev
		clang-format clang-tidy
		# the VM harness
		qemu-system-x86 busybox-static cpio gzip
		# tools used inside the VMs
		iproute2 iputils-ping ethtool iperf3 sockperf procps udev python3
		# documentation lint
		python3-docutils
	)
	;;
*)
	echo "usage: scripts/deps.sh [--debug-kernel | --rt-kernel]" >&2
	exit 2
	;;
esac

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#packages[@]} packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}" >&2
	echo "deps: run as root to install them" >&2
	exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: installed ${#missing[@]} packages"
