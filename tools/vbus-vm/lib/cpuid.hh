// SPDX-License-Identifier: GPL-2.0
//
// The CPUID a vCPU sees: what KVM supports, with the vCPU's APIC id, the
// hypervisor bit, the TSC-deadline timer when KVM emulates it, and no
// energy-bias or PMU leaves.

#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

namespace vbusvm
{

// Patches @entries (from KVM_GET_SUPPORTED_CPUID) for the vCPU with
// APIC id @apic_id.  @tsc_deadline: KVM emulates the local APIC's
// TSC-deadline mode (KVM_CAP_TSC_DEADLINE_TIMER), which the supported
// CPUID does not report; without it Linux keeps the local APIC timer in
// one-shot mode and its clock events cost more exits.
void patch_cpuid(std::vector<kvm_cpuid_entry2> &entries, unsigned apic_id, bool tsc_deadline);

// The XCR0 value enabling every user state component @entries support
// (CPUID leaf 0xd, subleaf 0), or 0 without XSAVE.
std::uint64_t supported_xcr0(const std::vector<kvm_cpuid_entry2> &entries);

} // namespace vbusvm
