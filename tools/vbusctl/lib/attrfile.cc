// SPDX-License-Identifier: GPL-2.0
//
// One attribute file, one system call per value.

#include "attrfile.hh"

#include "fd.hh"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>

namespace vbusctl
{

int read_attribute(const std::filesystem::path &file, std::string &value)
{
	const Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
	if (!fd) {
		return errno;
	}
	value.clear();
	std::array<char, 4096> buf{};
	for (;;) {
		const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			return errno;
		}
		if (n == 0) {
			break;
		}
		value.append(buf.data(), static_cast<std::size_t>(n));
	}
	if (!value.empty() && value.back() == '\n') {
		value.pop_back();
	}
	return 0;
}

int write_attribute(const std::filesystem::path &file, std::string_view value)
{
	Fd fd(::open(file.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
	if (!fd) {
		return errno;
	}
	std::string line(value);
	line += '\n';
	ssize_t n = 0;
	do {
		n = ::write(fd.get(), line.data(), line.size());
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		return errno;
	}
	if (static_cast<std::size_t>(n) != line.size()) {
		return EIO; // configfs takes a value in one write or not at all
	}
	return fd.close();
}

} // namespace vbusctl
