// SPDX-License-Identifier: GPL-2.0
//
// GSI routes.

#include "irq_routing.hh"

namespace vbusvm
{

namespace
{

constexpr unsigned kPicPins = 16;
constexpr unsigned kCascade = 2;

kvm_irq_routing_entry irqchip_route(unsigned gsi, unsigned chip, unsigned pin)
{
	kvm_irq_routing_entry e{};
	e.gsi = gsi;
	e.type = KVM_IRQ_ROUTING_IRQCHIP;
	e.u.irqchip.irqchip = chip; // NOLINT(cppcoreguidelines-pro-type-union-access): KVM ABI
	e.u.irqchip.pin = pin;      // NOLINT(cppcoreguidelines-pro-type-union-access)
	return e;
}

} // namespace

std::vector<kvm_irq_routing_entry> default_routes()
{
	std::vector<kvm_irq_routing_entry> routes;
	for (unsigned gsi = 0; gsi < kPicPins; ++gsi) {
		if (gsi == kCascade) {
			continue;
		}
		const bool master = gsi < 8;
		routes.push_back(
		    irqchip_route(gsi, master ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
		                  master ? gsi : gsi - 8));
	}
	for (unsigned gsi = 0; gsi < kIoapicPins; ++gsi) {
		routes.push_back(irqchip_route(gsi, KVM_IRQCHIP_IOAPIC, gsi));
	}
	return routes;
}

kvm_irq_routing_entry msi_route(unsigned gsi, const MsiMessage &msg)
{
	kvm_irq_routing_entry e{};
	e.gsi = gsi;
	e.type = KVM_IRQ_ROUTING_MSI;
	// NOLINTBEGIN(cppcoreguidelines-pro-type-union-access): KVM ABI
	e.u.msi.address_lo = static_cast<std::uint32_t>(msg.address);
	e.u.msi.address_hi = static_cast<std::uint32_t>(msg.address >> 32U);
	e.u.msi.data = msg.data;
	// NOLINTEND(cppcoreguidelines-pro-type-union-access)
	return e;
}

std::vector<kvm_irq_routing_entry> routes_for(const MsixTable &table)
{
	auto routes = default_routes();
	for (unsigned v = 0; v < table.vectors(); ++v) {
		if (table.deliverable(v)) {
			routes.push_back(msi_route(kMsixGsiBase + v, table.message(v)));
		}
	}
	return routes;
}

} // namespace vbusvm
