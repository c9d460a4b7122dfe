// SPDX-License-Identifier: GPL-2.0
//
// The bridge's KVM and /dev/vbus-kvm side.

#include "vbus_link.hh"

#include "error.hh"
#include "irq_routing.hh"

#include <vbus/kvm.h>

#include <endian.h>

#include <cstring>
#include <iostream>

namespace vbusvm
{

namespace
{

constexpr auto kReportInterval = std::chrono::seconds(1);
constexpr unsigned kPageShift = 12;
static_assert(VBUS_KVM_OP_RESET + 1 == Stats::kCallOps, "a counter per call operation");

bool same_routes(const std::vector<kvm_irq_routing_entry> &a,
                 const std::vector<kvm_irq_routing_entry> &b)
{
	return a.size() == b.size() &&
	       std::memcmp(a.data(), b.data(), a.size() * sizeof(kvm_irq_routing_entry)) == 0;
}

} // namespace

VbusLink::VbusLink(const Vm &vm, const GuestMemory &mem, const VbusConnector &connector,
                   const BridgeLayout &layout, Stats &stats, bool verbose)
    : vm_(vm), mem_(mem), connector_(connector), stats_(stats), verbose_(verbose),
      doorbells_(layout.doorbells), vectors_(layout.vectors), irqfd_assigned_(layout.vectors, false)
{
	set_doorbells(layout.doorbell_port, true);
	doorbell_base_ = layout.doorbell_port;
	for (unsigned s = 0; s < doorbells_.size(); ++s) {
		connector_.set_doorbell(s, doorbells_.at(s).fd());
	}
	for (unsigned v = 0; v < vectors_.size(); ++v) {
		connector_.set_vector(v, vectors_.at(v).fd());
	}
	routes_ = default_routes();
	vm_.set_routing(routes_);
}

void VbusLink::set_doorbells(std::uint16_t base, bool assign)
{
	for (unsigned s = 0; s < doorbells_.size(); ++s) {
		vm_.ioeventfd(doorbells_.at(s).fd(),
		              static_cast<std::uint16_t>(base + (s * VBUS_KVM_DOORBELL_STRIDE)),
		              VBUS_KVM_DOORBELL_STRIDE, assign);
	}
}

void VbusLink::doorbells_moved(std::optional<std::uint16_t> base)
{
	if (base == doorbell_base_) {
		return;
	}
	if (doorbell_base_) {
		set_doorbells(*doorbell_base_, false);
		doorbell_base_.reset();
	}
	if (base) {
		set_doorbells(*base, true);
		doorbell_base_ = base;
	}
	if (verbose_) {
		std::cerr << "vbus-vm: doorbells "
		          << (base ? "moved to port " + hex(*base) : std::string("unmapped"))
		          << '\n';
	}
}

void VbusLink::msix_changed(const MsixTable &table)
{
	// Take away the irqfds that must not deliver before changing the
	// routes, and give them back after.
	for (unsigned v = 0; v < table.vectors(); ++v) {
		if (irqfd_assigned_.at(v) && !table.deliverable(v)) {
			vm_.irqfd(vectors_.at(v).fd(), kMsixGsiBase + v, false);
			irqfd_assigned_.at(v) = false;
		}
	}
	auto routes = routes_for(table);
	if (!same_routes(routes, routes_)) {
		vm_.set_routing(routes);
		routes_ = std::move(routes);
	}
	for (unsigned v = 0; v < table.vectors(); ++v) {
		if (!irqfd_assigned_.at(v) && table.deliverable(v)) {
			// KVM delivers at once what the eventfd counted meanwhile.
			vm_.irqfd(vectors_.at(v).fd(), kMsixGsiBase + v, true);
			irqfd_assigned_.at(v) = true;
		}
	}
}

bool VbusLink::vector_pending(unsigned v)
{
	return v < vectors_.size() && !irqfd_assigned_.at(v) && vectors_.at(v).readable();
}

void VbusLink::call(std::uint32_t value)
{
	++stats_.calls;
	const std::uint64_t gpa = std::uint64_t{value} << kPageShift;
	// For the statistics only: the kernel reads the page on its own.
	std::uint32_t op = 0;
	if (mem_.ram().contains(gpa, sizeof(op))) {
		std::memcpy(&op, mem_.at(gpa, sizeof(op)).data(), sizeof(op));
		op = le32toh(op);
	}
	++stats_.call_ops.at(op < Stats::kCallOps ? op : 0);
	const int err = connector_.call(gpa);
	if (err == 0) {
		return;
	}
	++stats_.call_errors;
	const std::scoped_lock lock(report_mutex_);
	const auto now = std::chrono::steady_clock::now();
	if (now - last_report_ < kReportInterval) {
		++unreported_;
		return;
	}
	std::cerr << "vbus-vm: " << connector_.device() << ": VBUS_KVM_CALL (page " << hex(gpa)
	          << "): " << std::strerror(err);
	if (unreported_ != 0) {
		std::cerr << " (and " << unreported_ << " more failures)";
	}
	std::cerr << '\n';
	unreported_ = 0;
	last_report_ = now;
}

} // namespace vbusvm
