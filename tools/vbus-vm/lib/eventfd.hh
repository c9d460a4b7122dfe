// SPDX-License-Identifier: GPL-2.0
//
// An owned eventfd.

#pragma once

#include "fd.hh"

#include <cstdint>

namespace vbusvm
{

class EventFd
{
public:
	// A non-blocking, close-on-exec eventfd counting from 0.
	EventFd();

	[[nodiscard]] int fd() const { return fd_.get(); }
	void signal() const noexcept;
	// Whether the count is non-zero, without consuming it.
	[[nodiscard]] bool readable() const noexcept;

private:
	Fd fd_;
};

} // namespace vbusvm
