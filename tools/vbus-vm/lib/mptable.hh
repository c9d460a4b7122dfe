// SPDX-License-Identifier: GPL-2.0
//
// An Intel MultiProcessor Specification 1.4 table: how Linux finds the
// CPUs, the IOAPIC and the ISA interrupt wiring without ACPI.

#pragma once

#include <cstdint>
#include <vector>

namespace vbusvm
{

// The MP table's fixed parts.
namespace mp
{
inline constexpr std::uint8_t kBusPci = 0;
inline constexpr std::uint8_t kBusIsa = 1;
inline constexpr std::uint8_t kApicVersion = 0x14;
inline constexpr unsigned kIsaIrqs = 16;
inline constexpr std::size_t kFloatingSize = 16;
inline constexpr std::size_t kHeaderSize = 44;
inline constexpr std::size_t kCpuEntrySize = 20;
inline constexpr std::size_t kEntrySize = 8; // bus, IOAPIC, interrupt entries
} // namespace mp

// The floating pointer structure followed by the configuration table, for
// placement at guest physical address @base (16-byte aligned).  CPUs have
// APIC ids 0..ncpus-1, CPU 0 is the BSP; the IOAPIC's id is @ncpus; bus
// 0 is PCI, bus 1 ISA; ISA IRQ n goes to IOAPIC pin n (as KVM's default
// GSI routing has it), except the cascade IRQ 2; LINT0 is ExtINT and LINT1
// NMI on every CPU (ExtINT to the BSP only).
std::vector<std::uint8_t> build_mp_table(unsigned ncpus, std::uint32_t base);

} // namespace vbusvm
