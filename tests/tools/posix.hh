// SPDX-License-Identifier: GPL-2.0
//
// Small POSIX helpers shared by the test programs that play a VMM: a
// file descriptor and a memory mapping that clean up after themselves,
// and an exception that carries errno's text.

#ifndef VBUS_TESTS_TOOLS_POSIX_HH
#define VBUS_TESTS_TOOLS_POSIX_HH

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>

namespace testtools
{

// Throws "what: <errno text>".
[[noreturn]] inline void fail(const std::string &what)
{
	throw std::runtime_error(what + ": " + std::strerror(errno));
}

class Fd
{
public:
	explicit Fd(int fd = -1) : fd_(fd) {}
	Fd(const Fd &) = delete;
	Fd &operator=(const Fd &) = delete;
	Fd(Fd &&o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
	Fd &operator=(Fd &&o) noexcept
	{
		std::swap(fd_, o.fd_);
		return *this;
	}
	~Fd()
	{
		if (fd_ >= 0) {
			close(fd_);
		}
	}
	[[nodiscard]] int get() const { return fd_; }

private:
	int fd_;
};

// A read-write mapping: private anonymous memory (fd < 0) or a shared
// mapping of fd.
class Mapping
{
public:
	Mapping(size_t len, int fd) : len_(len)
	{
		void *p = mmap(nullptr, len, PROT_READ | PROT_WRITE,
		               fd < 0 ? MAP_PRIVATE | MAP_ANONYMOUS : MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			fail("mmap");
		}
		ptr_ = static_cast<uint8_t *>(p);
	}
	Mapping(const Mapping &) = delete;
	Mapping &operator=(const Mapping &) = delete;
	Mapping(Mapping &&) = delete;
	Mapping &operator=(Mapping &&) = delete;
	~Mapping() { munmap(ptr_, len_); }
	[[nodiscard]] std::span<uint8_t> bytes() const { return {ptr_, len_}; }

private:
	uint8_t *ptr_ = nullptr;
	size_t len_;
};

} // namespace testtools

#endif
