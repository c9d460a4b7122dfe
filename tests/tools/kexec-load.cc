// SPDX-License-Identifier: GPL-2.0
//
// kexec-load: start another kernel in place of the running one, as
// `kexec -l` followed by `kexec -e` does, for an L2 guest whose initramfs
// has no kexec-tools.
//
//   kexec-load KERNEL INITRD CMDLINE
//
// Loads KERNEL (a bzImage) and INITRD with kexec_file_load(2) and reboots
// into them (reboot(2), LINUX_REBOOT_CMD_KEXEC): the running kernel shuts
// its devices down first.  Returns only on failure: exit status 3 with
// "kexec-load: unsupported: <errno text>" when the kernel has no
// kexec_file_load (ENOSYS), 2 for a wrong command line, 1 for any other
// error.

#include <fcntl.h>
#include <linux/reboot.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <span>
#include <string>

namespace
{

int fail(const std::string &what)
{
	const int err = errno;
	std::cerr << "kexec-load: " << (err == ENOSYS ? "unsupported: " : "") << what << ": "
	          << std::strerror(err) << "\n";
	return err == ENOSYS ? 3 : 1;
}

} // namespace

int main(int argc, char **argv)
{
	const std::span args(argv, argc);
	if (args.size() != 4) {
		std::cerr << "usage: kexec-load KERNEL INITRD CMDLINE\n";
		return 2;
	}
	const int kernel = open(args[1], O_RDONLY | O_CLOEXEC);
	if (kernel < 0) {
		return fail(std::string("open ") + args[1]);
	}
	const int initrd = open(args[2], O_RDONLY | O_CLOEXEC);
	if (initrd < 0) {
		return fail(std::string("open ") + args[2]);
	}
	const std::string cmdline = args[3];
	// The length counts the terminating NUL.
	if (syscall(SYS_kexec_file_load, kernel, initrd, cmdline.size() + 1, cmdline.c_str(),
	            0UL) != 0) {
		return fail("kexec_file_load");
	}
	sync();
	reboot(LINUX_REBOOT_CMD_KEXEC);
	return fail("reboot into the loaded kernel");
}
