// SPDX-License-Identifier: GPL-2.0
//
// The VM's GSI routing table.  KVM_SET_GSI_ROUTING replaces the whole
// table, so it always holds KVM's default routes for the legacy
// interrupts (GSI 0-15 to the PIC except the cascade, GSI 0-23 to the
// IOAPIC) and one MSI route per deliverable MSI-X vector.

#pragma once

#include "msix.hh"

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

namespace vbusvm
{

inline constexpr unsigned kIoapicPins = 24;
inline constexpr unsigned kMsixGsiBase = 24; // vector v: GSI 24 + v

std::vector<kvm_irq_routing_entry> default_routes();
kvm_irq_routing_entry msi_route(unsigned gsi, const MsiMessage &msg);
// The default routes plus an MSI route for each deliverable vector.
std::vector<kvm_irq_routing_entry> routes_for(const MsixTable &table);

} // namespace vbusvm
