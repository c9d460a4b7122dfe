// SPDX-License-Identifier: GPL-2.0
//
// The VMM side of /dev/vbus-kvm for the test programs: bind a VM to a
// container and hand eventfds to the connector, failing with errno's text.

#ifndef VBUS_TESTS_TOOLS_VKVM_CLIENT_HH
#define VBUS_TESTS_TOOLS_VKVM_CLIENT_HH

#include <sys/ioctl.h>

#include <cstdint>
#include <string>

extern "C" {
#include <vbus/kvm.h>
}

#include "posix.hh"

namespace testtools
{

// Bind the VM @vm_fd to @container through the /dev/vbus-kvm file @bus_fd.
inline void vkvm_bind(int bus_fd, int vm_fd, const std::string &container)
{
	vbus_kvm_bind bind{};
	bind.vm_fd = vm_fd;
	bind.container = reinterpret_cast<uintptr_t>(container.data()); // NOLINT
	bind.container_len = container.size();
	if (ioctl(bus_fd, VBUS_KVM_BIND, &bind) < 0) {
		fail("bind to container " + container);
	}
}

// VBUS_KVM_SET_DOORBELL or VBUS_KVM_SET_VECTOR @index to @fd.
inline void vkvm_set_eventfd(int bus_fd, unsigned long req, unsigned index, int fd)
{
	vbus_kvm_eventfd e{};
	e.index = index;
	e.fd = fd;
	if (ioctl(bus_fd, req, &e) < 0) {
		fail("set eventfd " + std::to_string(index));
	}
}

} // namespace testtools

#endif
