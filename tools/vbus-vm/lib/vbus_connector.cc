// SPDX-License-Identifier: GPL-2.0
//
// The /dev/vbus-kvm ioctls.

#include "vbus_connector.hh"

#include "error.hh"

#include <vbus/kvm.h>

#include <fcntl.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <utility>
#include <vector>

namespace vbusvm
{

std::string bind_hint(int err, const std::string &container)
{
	switch (err) {
	case ENOENT:
		return "no container " + container;
	case EPERM:
	case EACCES:
		return "not allowed to attach to container " + container +
		       ": needs CAP_NET_ADMIN or the container's owner";
	case EBUSY:
		return "this VM is attached already";
	case EINVAL:
	case EBADF:
		return "the kernel did not take the VM";
	default:
		return {};
	}
}

VbusConnector::VbusConnector(std::string device, const std::string &container, int vm_fd)
    : device_(std::move(device))
{
	fd_ = Fd(::open(device_.c_str(), O_RDWR | O_CLOEXEC));
	if (!fd_) {
		const int err = errno;
		throw Error::from_errno(device_, "open", err,
		                        err == ENOENT || err == ENXIO || err == ENODEV
		                            ? "load the vbus_kvm module"
		                            : "");
	}
	vbus_kvm_bind bind{};
	bind.vm_fd = vm_fd;
	bind.container = reinterpret_cast<std::uintptr_t>(container.data()); // NOLINT: ABI
	bind.container_len = static_cast<std::uint32_t>(container.size());
	if (::ioctl(fd_.get(), VBUS_KVM_BIND, &bind) < 0) {
		const int err = errno;
		throw Error::from_errno(device_, "VBUS_KVM_BIND to container '" + container + "'",
		                        err, bind_hint(err, container));
	}
}

void VbusConnector::set_doorbell(unsigned slot, int fd) const
{
	vbus_kvm_eventfd ev{};
	ev.index = slot;
	ev.fd = fd;
	if (::ioctl(fd_.get(), VBUS_KVM_SET_DOORBELL, &ev) < 0) {
		throw_errno(device_, "VBUS_KVM_SET_DOORBELL (slot " + std::to_string(slot) + ")");
	}
}

void VbusConnector::set_vector(unsigned vector, int fd) const
{
	vbus_kvm_eventfd ev{};
	ev.index = vector;
	ev.fd = fd;
	if (::ioctl(fd_.get(), VBUS_KVM_SET_VECTOR, &ev) < 0) {
		throw_errno(device_, "VBUS_KVM_SET_VECTOR (vector " + std::to_string(vector) + ")");
	}
}

void VbusConnector::set_mem_table(std::span<const GuestRange> ranges) const
{
	std::vector<vbus_kvm_mem_region> regions;
	regions.reserve(ranges.size());
	for (const GuestRange &r : ranges) {
		vbus_kvm_mem_region e{};
		e.gpa = r.gpa;
		e.size = r.host.size();
		e.uaddr = reinterpret_cast<std::uintptr_t>(r.host.data()); // NOLINT: ABI
		regions.push_back(e);
	}
	vbus_kvm_mem_table table{};
	table.regions = reinterpret_cast<std::uintptr_t>(regions.data()); // NOLINT: ABI
	table.nregions = static_cast<std::uint32_t>(regions.size());
	table.region_size = sizeof(vbus_kvm_mem_region);
	if (::ioctl(fd_.get(), VBUS_KVM_SET_MEM_TABLE, &table) < 0) {
		throw_errno(device_, "VBUS_KVM_SET_MEM_TABLE (" + std::to_string(regions.size()) +
		                         " regions)");
	}
}

vbus_kvm_limits VbusConnector::limits() const
{
	vbus_kvm_limits limits{};
	if (::ioctl(fd_.get(), VBUS_KVM_GET_LIMITS, &limits) < 0) {
		throw_errno(device_, "VBUS_KVM_GET_LIMITS");
	}
	return limits;
}

int VbusConnector::call(std::uint64_t gpa) const noexcept
{
	vbus_kvm_guest_call call{};
	call.gpa = gpa;
	if (::ioctl(fd_.get(), VBUS_KVM_CALL, &call) < 0) {
		return errno;
	}
	return 0;
}

} // namespace vbusvm
