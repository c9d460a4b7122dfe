// SPDX-License-Identifier: GPL-2.0
//
// /dev/vbus-kvm: the host kernel's side of the vbus bridge.  Opening it
// and binding the VM attaches the guest to a container; closing it (this
// object's destruction, or the VMM's death) detaches it.

#pragma once

#include "fd.hh"
#include "guest_memory.hh"

#include <vbus/kvm.h>

#include <cstdint>
#include <span>
#include <string>

namespace vbusvm
{

class VbusConnector
{
public:
	// Opens @device and binds the VM @vm_fd to @container.
	VbusConnector(std::string device, const std::string &container, int vm_fd);

	[[nodiscard]] const std::string &device() const { return device_; }
	// Hands the kernel the eventfd of doorbell slot @slot (the one given
	// to KVM_IOEVENTFD) or of MSI-X vector @vector (the one given to
	// KVM_IRQFD).
	void set_doorbell(unsigned slot, int fd) const;
	void set_vector(unsigned vector, int fd) const;
	// Tells the kernel where the guest's memory is (VBUS_KVM_SET_MEM_TABLE):
	// the same runs the VM's memory slots have.
	void set_mem_table(std::span<const GuestRange> ranges) const;
	// What the kernel lets one VM hold (VBUS_KVM_GET_LIMITS).
	[[nodiscard]] vbus_kvm_limits limits() const;
	// Runs the guest's call whose page is at @gpa: 0 or an errno.
	[[nodiscard]] int call(std::uint64_t gpa) const noexcept;

private:
	std::string device_;
	Fd fd_;
};

// The message for a failed VBUS_KVM_BIND to @container.
std::string bind_hint(int err, const std::string &container);

} // namespace vbusvm
