// SPDX-License-Identifier: GPL-2.0
//
// Small POSIX helpers shared by the test programs that play a VMM: the
// project's file descriptor and mapping owners (tools/common), a way to
// map memory, and an exception that carries errno's text.

#ifndef VBUS_TESTS_TOOLS_POSIX_HH
#define VBUS_TESTS_TOOLS_POSIX_HH

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#include "vbus_fd.hh"

namespace testtools
{

// Throws "what: <errno text>".
[[noreturn]] inline void fail(const std::string &what)
{
	throw std::runtime_error(what + ": " + std::strerror(errno));
}

using vbus_tools::Fd;
using vbus_tools::Mapping;

// A read-write mapping: private anonymous memory (fd < 0) or a shared
// mapping of fd.
inline Mapping map_memory(size_t len, int fd)
{
	void *p = mmap(nullptr, len, PROT_READ | PROT_WRITE,
	               fd < 0 ? MAP_PRIVATE | MAP_ANONYMOUS : MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		fail("mmap");
	}
	return {p, len};
}

} // namespace testtools

#endif
