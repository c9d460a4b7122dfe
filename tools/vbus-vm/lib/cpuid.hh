// SPDX-License-Identifier: GPL-2.0
//
// The CPUID a vCPU sees: what KVM supports, with the vCPU's APIC id, the
// hypervisor bit, and no energy-bias or PMU leaves.

#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

namespace vbusvm
{

// Patches @entries (from KVM_GET_SUPPORTED_CPUID) for the vCPU with
// APIC id @apic_id.
void patch_cpuid(std::vector<kvm_cpuid_entry2> &entries, unsigned apic_id);

// The XCR0 value enabling every user state component @entries support
// (CPUID leaf 0xd, subleaf 0), or 0 without XSAVE.
std::uint64_t supported_xcr0(const std::vector<kvm_cpuid_entry2> &entries);

} // namespace vbusvm
