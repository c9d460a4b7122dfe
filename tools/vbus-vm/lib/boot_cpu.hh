// SPDX-License-Identifier: GPL-2.0
//
// The boot CPU's state for the 64-bit boot protocol: identity-mapped
// page tables, a GDT with the __BOOT_CS (0x10) and __BOOT_DS (0x18)
// selectors boot.rst asks for, long mode, and the register, MSR, FPU and
// local APIC values every vCPU starts with.

#pragma once

#include <linux/kvm.h>

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace vbusvm
{

inline constexpr std::uint16_t kBootCs = 0x10;
inline constexpr std::uint16_t kBootDs = 0x18;
inline constexpr std::uint16_t kBootTss = 0x20;
inline constexpr std::uint64_t kIdentityMapped = 4ULL << 30; // with 2 MiB pages

// GDT entries: null, null, 64-bit code, data, TSS.
std::array<std::uint64_t, 5> boot_gdt();
// A segment register loaded from GDT entry @desc with @selector.
kvm_segment segment_from_descriptor(std::uint64_t desc, std::uint16_t selector);

// Writes the GDT, the empty IDT and the page tables into @low, the
// guest's first MiB.
void write_boot_tables(std::span<std::uint8_t> low);

// Long mode with paging from the tables above, flat segments.
void set_long_mode(kvm_sregs &sregs);
// rip at the 64-bit entry, rsi at the zero page, interrupts off.
kvm_regs boot_regs(std::uint64_t entry, std::uint64_t zero_page);
std::vector<kvm_msr_entry> boot_msrs();
kvm_fpu boot_fpu();
// LINT0 ExtINT (the PIC), LINT1 NMI.
void set_lint(kvm_lapic_state &lapic);

} // namespace vbusvm
