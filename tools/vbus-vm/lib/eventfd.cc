// SPDX-License-Identifier: GPL-2.0
//
// eventfd(2).

#include "eventfd.hh"

#include "error.hh"

#include <poll.h>
#include <sys/eventfd.h>

#include <cstdint>

namespace vbusvm
{

EventFd::EventFd() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC))
{
	if (!fd_) {
		throw_errno("eventfd", "create");
	}
}

void EventFd::signal() const noexcept
{
	const std::uint64_t one = 1;
	[[maybe_unused]] const auto ret = ::write(fd_.get(), &one, sizeof one);
}

bool EventFd::readable() const noexcept
{
	pollfd p{fd_.get(), POLLIN, 0};
	return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
}

} // namespace vbusvm
