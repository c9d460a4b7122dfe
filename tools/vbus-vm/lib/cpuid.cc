// SPDX-License-Identifier: GPL-2.0
//
// CPUID patching, as kvmtool and Firecracker do.

#include "cpuid.hh"

#include <cstdint>

namespace vbusvm
{

namespace
{
constexpr std::uint32_t kLeafFeatures = 0x1;
constexpr std::uint32_t kLeafPower = 0x6;
constexpr std::uint32_t kLeafPmu = 0xa;
constexpr std::uint32_t kLeafXsave = 0xd;
constexpr std::uint32_t kXsaveBit = 1U << 26U;
constexpr std::uint32_t kLeafTopology = 0xb;
constexpr std::uint32_t kLeafTopology2 = 0x1f;
constexpr std::uint32_t kHypervisorBit = 1U << 31U;
constexpr std::uint32_t kTscDeadlineBit = 1U << 24U;
constexpr std::uint32_t kEnergyBiasBit = 1U << 3U;
constexpr std::uint32_t kApicIdMask = 0x00ffffffU;
} // namespace

void patch_cpuid(std::vector<kvm_cpuid_entry2> &entries, unsigned apic_id, bool tsc_deadline)
{
	for (auto &e : entries) {
		switch (e.function) {
		case kLeafFeatures:
			e.ebx = (e.ebx & kApicIdMask) | (apic_id << 24U);
			e.ecx |= kHypervisorBit;
			if (tsc_deadline) {
				e.ecx |= kTscDeadlineBit;
			}
			break;
		case kLeafPower:
			e.ecx &= ~kEnergyBiasBit;
			break;
		case kLeafPmu:
			e.eax = 0; // no architectural PMU
			e.ebx = 0;
			e.ecx = 0;
			e.edx = 0;
			break;
		case kLeafTopology:
		case kLeafTopology2:
			e.edx = apic_id; // x2APIC id
			break;
		default:
			break;
		}
	}
}

std::uint64_t supported_xcr0(const std::vector<kvm_cpuid_entry2> &entries)
{
	bool xsave = false;
	std::uint64_t xcr0 = 0;
	for (const auto &e : entries) {
		if (e.function == kLeafFeatures) {
			xsave = (e.ecx & kXsaveBit) != 0;
		} else if (e.function == kLeafXsave && e.index == 0) {
			xcr0 = (std::uint64_t{e.edx} << 32U) | e.eax;
		}
	}
	return xsave ? xcr0 : 0;
}

} // namespace vbusvm
