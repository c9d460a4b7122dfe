// SPDX-License-Identifier: GPL-2.0
//
// An owned file descriptor and an owned memory mapping, for the project's
// programs (vbusctl, vbus-vm, the test tools).

#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

namespace vbus_tools
{

class Fd
{
public:
	Fd() = default;
	explicit Fd(int fd) : fd_(fd) {}
	Fd(const Fd &) = delete;
	Fd &operator=(const Fd &) = delete;
	Fd(Fd &&other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
	Fd &operator=(Fd &&other) noexcept
	{
		if (this != &other) {
			reset();
			fd_ = std::exchange(other.fd_, -1);
		}
		return *this;
	}
	~Fd() { reset(); }

	[[nodiscard]] int get() const { return fd_; }
	explicit operator bool() const { return fd_ >= 0; }

	// Closes the descriptor; returns 0 or the errno of close(2).
	int close()
	{
		if (fd_ < 0) {
			return 0;
		}
		const int ret = ::close(std::exchange(fd_, -1));
		return ret < 0 ? errno : 0;
	}

	void reset()
	{
		if (fd_ >= 0) {
			::close(std::exchange(fd_, -1));
		}
	}

private:
	int fd_ = -1;
};

// A mmap(2)ed region, unmapped on destruction.
class Mapping
{
public:
	Mapping() = default;
	Mapping(void *addr, std::size_t size) : addr_(addr), size_(size) {}
	Mapping(const Mapping &) = delete;
	Mapping &operator=(const Mapping &) = delete;
	Mapping(Mapping &&other) noexcept
	    : addr_(std::exchange(other.addr_, nullptr)), size_(std::exchange(other.size_, 0))
	{
	}
	Mapping &operator=(Mapping &&other) noexcept
	{
		if (this != &other) {
			reset();
			addr_ = std::exchange(other.addr_, nullptr);
			size_ = std::exchange(other.size_, 0);
		}
		return *this;
	}
	~Mapping() { reset(); }

	[[nodiscard]] void *get() const { return addr_; }
	[[nodiscard]] std::size_t size() const { return size_; }
	[[nodiscard]] std::span<std::uint8_t> bytes() const
	{
		return {static_cast<std::uint8_t *>(addr_), size_};
	}

private:
	void reset()
	{
		if (addr_ != nullptr) {
			::munmap(std::exchange(addr_, nullptr), std::exchange(size_, 0));
		}
	}

	void *addr_ = nullptr;
	std::size_t size_ = 0;
};

} // namespace vbus_tools
