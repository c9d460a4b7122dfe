// SPDX-License-Identifier: GPL-2.0
//
// What the vbus bridge means for KVM and /dev/vbus-kvm: an ioeventfd per
// doorbell slot, an irqfd and a GSI per MSI-X vector, calls forwarded.
//
// MSI-X: vector v is GSI 24 + v.  While the vector is deliverable (MSI-X
// enabled, function and entry unmasked) its GSI has an MSI route from
// its table entry and its eventfd is assigned to it with KVM_IRQFD.
// While it is not, the irqfd is deassigned, so a signal from the host
// stays counted in the eventfd: the PBA shows it as pending, and when
// the vector is unmasked and the irqfd assigned again, KVM delivers it.

#pragma once

#include "eventfd.hh"
#include "guest_memory.hh"
#include "kvm.hh"
#include "stats.hh"
#include "vbus_bridge.hh"
#include "vbus_connector.hh"

#include <chrono>
#include <mutex>
#include <optional>
#include <vector>

namespace vbusvm
{

class VbusLink final : public BridgeBackend
{
public:
	// Creates the eventfds, registers the doorbells at the layout's
	// port with KVM and all of them with @connector, and installs the
	// routing table.
	// @mem is read for the statistics of calls (their operation).
	VbusLink(const Vm &vm, const GuestMemory &mem, const VbusConnector &connector,
	         const BridgeLayout &layout, Stats &stats, bool verbose);

	void doorbells_moved(std::optional<std::uint16_t> base) override;
	void msix_changed(const MsixTable &table) override;
	bool vector_pending(unsigned v) override;
	void call(std::uint32_t value) override;

private:
	void set_doorbells(std::uint16_t base, bool assign);

	const Vm &vm_;
	const GuestMemory &mem_;
	const VbusConnector &connector_;
	Stats &stats_;
	bool verbose_;
	std::vector<EventFd> doorbells_;
	std::vector<EventFd> vectors_;
	std::optional<std::uint16_t> doorbell_base_;
	std::vector<kvm_irq_routing_entry> routes_;
	std::vector<bool> irqfd_assigned_;
	std::mutex report_mutex_;
	std::chrono::steady_clock::time_point last_report_{};
	std::uint64_t unreported_ = 0;
};

} // namespace vbusvm
