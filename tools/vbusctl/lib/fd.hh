// SPDX-License-Identifier: GPL-2.0
//
// An owned file descriptor.

#pragma once

#include <unistd.h>

#include <cerrno>
#include <utility>

namespace vbusctl
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

private:
	void reset()
	{
		if (fd_ >= 0) {
			::close(std::exchange(fd_, -1));
		}
	}

	int fd_ = -1;
};

} // namespace vbusctl
