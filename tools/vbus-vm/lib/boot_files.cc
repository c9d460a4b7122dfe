// SPDX-License-Identifier: GPL-2.0
//
// Reading the kernel and the initrd.

#include "boot_files.hh"

#include "error.hh"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace vbusvm
{

namespace
{

constexpr std::uint64_t kMaxKernel = 256ULL << 20U;

Fd open_regular(const std::string &path, const char *what, std::uint64_t &size)
{
	Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
	if (!fd) {
		throw_errno(path, std::string("open ") + what);
	}
	struct stat st {
	};
	if (::fstat(fd.get(), &st) < 0) {
		throw_errno(path, std::string("stat ") + what);
	}
	if (!S_ISREG(st.st_mode)) {
		throw Error(path, std::string("open ") + what, "not a regular file");
	}
	size = static_cast<std::uint64_t>(st.st_size);
	return fd;
}

void read_all(const Fd &fd, const std::string &path, const char *what, std::span<std::uint8_t> dest)
{
	std::size_t done = 0;
	while (done < dest.size()) {
		const auto chunk = dest.subspan(done);
		const ssize_t n =
		    ::pread(fd.get(), chunk.data(), chunk.size(), static_cast<off_t>(done));
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			throw_errno(path, std::string("read ") + what);
		}
		if (n == 0) {
			throw Error(path, std::string("read ") + what,
			            "the file shrank while reading");
		}
		done += static_cast<std::size_t>(n);
	}
}

} // namespace

BootFiles BootFiles::open(const std::string &kernel_path, const std::string &initrd_path)
{
	BootFiles files;
	files.kernel_path = kernel_path;
	std::uint64_t size = 0;
	const Fd kernel = open_regular(kernel_path, "kernel", size);
	if (size > kMaxKernel) {
		throw Error(kernel_path, "read kernel", "too large for a kernel image");
	}
	files.kernel.resize(size);
	read_all(kernel, kernel_path, "kernel", files.kernel);
	files.image = parse_bzimage(files.kernel, kernel_path);

	if (!initrd_path.empty()) {
		files.initrd_path = initrd_path;
		files.initrd = open_regular(initrd_path, "initrd", files.initrd_size);
		if (files.initrd_size == 0) {
			throw Error(initrd_path, "read initrd", "empty file");
		}
	}
	return files;
}

void BootFiles::read_initrd(std::span<std::uint8_t> dest) const
{
	read_all(initrd, initrd_path, "initrd", dest);
}

} // namespace vbusvm
