// SPDX-License-Identifier: GPL-2.0
//
// l2-outl: write a 32-bit value to an I/O port, from inside an L2 guest.
//
//   l2-outl PORT VALUE
//
// vmm-boot's bridge guest rings the vbus bridge's doorbells with it.  It
// is linked statically, because that guest's initramfs has busybox and
// nothing else, and built here rather than in the test VM, where a
// compiler takes seconds under the emulator.  Exit status 1 for a wrong
// number of arguments or when iopl(3) is refused.

#include <sys/io.h>

#include <cstdlib>
#include <span>

int main(int argc, char **argv)
{
	const std::span args(argv, argc);
	if (args.size() != 3 || iopl(3) != 0) {
		return 1;
	}
	const auto port = static_cast<unsigned short>(std::strtoul(args[1], nullptr, 0));
	const auto value = static_cast<unsigned int>(std::strtoul(args[2], nullptr, 0));
	outl(value, port);
	return 0;
}
