// SPDX-License-Identifier: GPL-2.0
// vbus-vm: boot CPU state, page tables, CPUID.

#include <gtest/gtest.h>

#include <boot_cpu.hh>
#include <cpuid.hh>
#include <layout.hh>

#include <cstring>
#include <vector>

namespace vbusvm
{
namespace
{

std::uint64_t get64(const std::vector<std::uint8_t> &mem, std::uint64_t at)
{
	std::uint64_t v = 0;
	std::memcpy(&v, &mem.at(at), sizeof v);
	return v;
}

TEST(BootCpu, GdtHasTheBootSelectors)
{
	const auto gdt = boot_gdt();
	const kvm_segment cs = segment_from_descriptor(gdt.at(kBootCs / 8), kBootCs);
	EXPECT_EQ(cs.selector, 0x10);
	EXPECT_EQ(cs.l, 1);
	EXPECT_EQ(cs.db, 0);
	EXPECT_EQ(cs.s, 1);
	EXPECT_EQ(cs.type, 0xb); // execute/read, accessed
	EXPECT_EQ(cs.present, 1);
	EXPECT_EQ(cs.base, 0U);
	EXPECT_EQ(cs.limit, 0xffffffffU);

	const kvm_segment ds = segment_from_descriptor(gdt.at(kBootDs / 8), kBootDs);
	EXPECT_EQ(ds.selector, 0x18);
	EXPECT_EQ(ds.l, 0);
	EXPECT_EQ(ds.db, 1);
	EXPECT_EQ(ds.type, 0x3); // read/write, accessed
	EXPECT_EQ(ds.limit, 0xffffffffU);

	const kvm_segment tr = segment_from_descriptor(gdt.at(kBootTss / 8), kBootTss);
	EXPECT_EQ(tr.s, 0);
	EXPECT_EQ(tr.type, 0xb); // busy 64-bit TSS
	EXPECT_EQ(gdt.at(0), 0U);
	EXPECT_EQ(gdt.at(1), 0U);
}

TEST(BootCpu, LongMode)
{
	kvm_sregs s{};
	set_long_mode(s);
	EXPECT_EQ(s.cr0 & 0x80000001ULL, 0x80000001ULL); // PG, PE
	EXPECT_NE(s.cr4 & (1U << 5U), 0U);               // PAE
	EXPECT_EQ(s.efer & 0x500ULL, 0x500ULL);          // LME, LMA
	EXPECT_EQ(s.cr3, layout::kPml4);
	EXPECT_EQ(s.cs.selector, kBootCs);
	EXPECT_EQ(s.ds.selector, kBootDs);
	EXPECT_EQ(s.ss.selector, kBootDs);
	EXPECT_EQ(s.gdt.base, layout::kGdt);
	EXPECT_EQ(s.gdt.limit, 5 * 8 - 1);
	EXPECT_EQ(s.idt.base, layout::kIdt);

	const kvm_regs r = boot_regs(0x1000200, layout::kZeroPage);
	EXPECT_EQ(r.rip, 0x1000200U);
	EXPECT_EQ(r.rsi, layout::kZeroPage);
	EXPECT_EQ(r.rflags, 2U); // interrupts off
}

TEST(BootCpu, IdentityMapsFourGigabytes)
{
	std::vector<std::uint8_t> low(layout::kHighMem, 0);
	write_boot_tables(low);
	EXPECT_EQ(get64(low, layout::kGdt + 16), boot_gdt().at(2));
	const std::uint64_t pml4 = get64(low, layout::kPml4);
	EXPECT_EQ(pml4 & ~0xfffULL, layout::kPdpt);
	EXPECT_EQ(pml4 & 3U, 3U);
	EXPECT_EQ(get64(low, layout::kPml4 + 8), 0U);
	// Walk a few addresses.
	for (const std::uint64_t va : {0x0ULL, 0x1000000ULL, 0xfebfffffULL, 0xfffff000ULL}) {
		const std::uint64_t pdpte = get64(low, layout::kPdpt + ((va >> 30U) * 8));
		ASSERT_EQ(pdpte & 1U, 1U);
		const std::uint64_t pde =
		    get64(low, (pdpte & ~0xfffULL) + (((va >> 21U) & 511U) * 8));
		EXPECT_EQ(pde & 0x83U, 0x83U); // present, writable, 2 MiB
		EXPECT_EQ((pde & ~0x1fffffULL) | (va & 0x1fffffULL), va);
	}
	EXPECT_EQ(get64(low, layout::kPdpt + (4ULL * 8)), 0U);
}

TEST(BootCpu, MsrsFpuAndLint)
{
	const auto msrs = boot_msrs();
	bool misc = false;
	for (const auto &m : msrs) {
		if (m.index == 0x1a0) {
			misc = true;
			EXPECT_EQ(m.data, 1U); // fast strings
		}
	}
	EXPECT_TRUE(misc);
	const kvm_fpu fpu = boot_fpu();
	EXPECT_EQ(fpu.fcw, 0x37f);
	EXPECT_EQ(fpu.mxcsr, 0x1f80U);

	kvm_lapic_state lapic{};
	std::uint32_t masked = 0x10000;
	std::memcpy(&lapic.regs[0x350], &masked, 4);
	set_lint(lapic);
	std::uint32_t lint0 = 0;
	std::uint32_t lint1 = 0;
	std::memcpy(&lint0, &lapic.regs[0x350], 4);
	std::memcpy(&lint1, &lapic.regs[0x360], 4);
	EXPECT_EQ(lint0, 0x10700U); // ExtINT, mask kept
	EXPECT_EQ(lint1, 0x400U);   // NMI
}

kvm_cpuid_entry2 leaf(std::uint32_t function, std::uint32_t index = 0)
{
	kvm_cpuid_entry2 e{};
	e.function = function;
	e.index = index;
	e.eax = 0x11111111;
	e.ebx = 0x22222222;
	e.ecx = 0x3333333b;
	e.edx = 0x44444444;
	return e;
}

TEST(Cpuid, Patched)
{
	std::vector<kvm_cpuid_entry2> e = {leaf(1),      leaf(6),      leaf(0xa),
	                                   leaf(0xb, 0), leaf(0xb, 1), leaf(0x40000000)};
	patch_cpuid(e, 3, false);
	EXPECT_EQ(e[0].ebx, 0x03222222U);      // APIC id
	EXPECT_NE(e[0].ecx & (1U << 31U), 0U); // hypervisor
	EXPECT_EQ(e[1].ecx & (1U << 3U), 0U);  // no energy bias
	EXPECT_EQ(e[2].eax, 0U);               // no PMU
	EXPECT_EQ(e[3].edx, 3U);               // x2APIC id
	EXPECT_EQ(e[4].edx, 3U);
	EXPECT_EQ(e[5].eax, 0x11111111U); // KVM's leaves stay
}

TEST(Cpuid, TscDeadlineWhenKvmEmulatesIt)
{
	auto one = leaf(1);
	one.ecx = 0;
	std::vector<kvm_cpuid_entry2> without = {one};
	patch_cpuid(without, 0, false);
	EXPECT_EQ(without[0].ecx, 1U << 31U); // the hypervisor bit only

	std::vector<kvm_cpuid_entry2> with = {one, leaf(6)};
	patch_cpuid(with, 0, true);
	EXPECT_EQ(with[0].ecx, (1U << 31U) | (1U << 24U)); // and the TSC-deadline timer
	EXPECT_EQ(with[1].ecx, 0x3333333bU & ~(1U << 3U)); // leaf 6 as before
}

TEST(Cpuid, SupportedXcr0)
{
	auto one = leaf(1);
	one.ecx = 1U << 26U; // XSAVE
	auto d0 = leaf(0xd, 0);
	d0.eax = 0x207;
	d0.edx = 0;
	auto d1 = leaf(0xd, 1);
	EXPECT_EQ(supported_xcr0({one, d0, d1}), 0x207U);
	one.ecx = 0;
	EXPECT_EQ(supported_xcr0({one, d0}), 0U);
	EXPECT_EQ(supported_xcr0({}), 0U);
}

} // namespace
} // namespace vbusvm
