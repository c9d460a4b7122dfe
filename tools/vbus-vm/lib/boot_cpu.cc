// SPDX-License-Identifier: GPL-2.0
//
// Boot CPU state.

#include "boot_cpu.hh"

#include "layout.hh"

#include <cstring>

namespace vbusvm
{

namespace
{

constexpr std::uint64_t kCr0Pe = 1ULL << 0U;
constexpr std::uint64_t kCr0Et = 1ULL << 4U;
constexpr std::uint64_t kCr0Ne = 1ULL << 5U;
constexpr std::uint64_t kCr0Pg = 1ULL << 31U;
constexpr std::uint64_t kCr4Pae = 1ULL << 5U;
constexpr std::uint64_t kEferLme = 1ULL << 8U;
constexpr std::uint64_t kEferLma = 1ULL << 10U;
constexpr std::uint64_t kPagePresent = 1ULL << 0U;
constexpr std::uint64_t kPageWrite = 1ULL << 1U;
constexpr std::uint64_t kPageLarge = 1ULL << 7U;
constexpr std::uint64_t kPage = 0x1000;
constexpr std::uint64_t k2M = 2ULL << 20U;
constexpr unsigned kEntriesPerTable = 512;
constexpr std::uint64_t kRflagsReserved = 0x2;

enum Msr : std::uint32_t {
	kTsc = 0x10,
	kSysenterCs = 0x174,
	kSysenterEsp = 0x175,
	kSysenterEip = 0x176,
	kMiscEnable = 0x1a0,
	kMtrrDefType = 0x2ff,
	kStar = 0xc0000081,
	kLstar = 0xc0000082,
	kCstar = 0xc0000083,
	kSyscallMask = 0xc0000084,
	kKernelGsBase = 0xc0000102,
};
constexpr std::uint64_t kMiscFastString = 1;
constexpr std::uint64_t kMtrrEnableWriteBack = (1ULL << 11U) | 6;

constexpr std::uint32_t kApicLvt0 = 0x350;
constexpr std::uint32_t kApicLvt1 = 0x360;
constexpr std::uint32_t kApicModeMask = 0x700;
constexpr std::uint32_t kApicModeNmi = 0x400;
constexpr std::uint32_t kApicModeExtInt = 0x700;

// A GDT descriptor from flags (type, S, DPL, P in bits 0-7; AVL, L, D,
// G in bits 12-15), base and limit.
constexpr std::uint64_t descriptor(std::uint64_t flags, std::uint64_t base, std::uint64_t limit)
{
	return ((base & 0xff000000ULL) << 32U) | ((flags & 0xf0ffULL) << 40U) |
	       ((limit & 0xf0000ULL) << 32U) | ((base & 0x00ffffffULL) << 16U) |
	       (limit & 0x0ffffULL);
}

void put64(std::span<std::uint8_t> mem, std::uint64_t at, std::uint64_t value)
{
	std::memcpy(mem.subspan(at, sizeof value).data(), &value, sizeof value);
}

std::uint32_t get32(const kvm_lapic_state &lapic, std::uint32_t reg)
{
	std::uint32_t v = 0;
	std::memcpy(&v, std::span(lapic.regs).subspan(reg, sizeof v).data(), sizeof v);
	return v;
}

void put32(kvm_lapic_state &lapic, std::uint32_t reg, std::uint32_t v)
{
	std::memcpy(std::span(lapic.regs).subspan(reg, sizeof v).data(), &v, sizeof v);
}

} // namespace

std::array<std::uint64_t, 5> boot_gdt()
{
	return {
	    0,
	    0,
	    descriptor(0xa09b, 0, 0xfffff), // __BOOT_CS: 64-bit code, present, 4G
	    descriptor(0xc093, 0, 0xfffff), // __BOOT_DS: data, present, 4G
	    descriptor(0x808b, 0, 0xfffff), // TSS: busy 64-bit TSS
	};
}

kvm_segment segment_from_descriptor(std::uint64_t desc, std::uint16_t selector)
{
	kvm_segment s{};
	s.base = ((desc >> 16U) & 0xffffffULL) | (((desc >> 56U) & 0xffULL) << 24U);
	auto limit = static_cast<std::uint32_t>((desc & 0xffffULL) | ((desc >> 32U) & 0xf0000ULL));
	s.g = static_cast<std::uint8_t>((desc >> 55U) & 1U);
	if (s.g != 0) {
		limit = (limit << 12U) | 0xfffU;
	}
	s.limit = limit;
	s.selector = selector;
	s.type = static_cast<std::uint8_t>((desc >> 40U) & 0xfU);
	s.s = static_cast<std::uint8_t>((desc >> 44U) & 1U);
	s.dpl = static_cast<std::uint8_t>((desc >> 45U) & 3U);
	s.present = static_cast<std::uint8_t>((desc >> 47U) & 1U);
	s.avl = static_cast<std::uint8_t>((desc >> 52U) & 1U);
	s.l = static_cast<std::uint8_t>((desc >> 53U) & 1U);
	s.db = static_cast<std::uint8_t>((desc >> 54U) & 1U);
	s.unusable = s.present != 0 ? 0 : 1;
	return s;
}

void write_boot_tables(std::span<std::uint8_t> low)
{
	const auto gdt = boot_gdt();
	for (std::size_t i = 0; i < gdt.size(); ++i) {
		put64(low, layout::kGdt + (i * 8), gdt.at(i));
	}
	put64(low, layout::kIdt, 0);

	// PML4[0] -> PDPT; PDPT[0..3] -> 4 page directories of 2 MiB pages.
	const std::uint64_t table = kPagePresent | kPageWrite;
	put64(low, layout::kPml4, layout::kPdpt | table);
	const unsigned dirs = kIdentityMapped >> 30U;
	for (unsigned d = 0; d < dirs; ++d) {
		const std::uint64_t dir = layout::kPageDirs + (d * kPage);
		put64(low, layout::kPdpt + (d * 8ULL), dir | table);
		for (unsigned e = 0; e < kEntriesPerTable; ++e) {
			const std::uint64_t addr = ((d * kEntriesPerTable) + e) * k2M;
			put64(low, dir + (e * 8ULL), addr | table | kPageLarge);
		}
	}
}

void set_long_mode(kvm_sregs &sregs)
{
	const auto gdt = boot_gdt();
	sregs.gdt.base = layout::kGdt;
	sregs.gdt.limit = static_cast<std::uint16_t>((gdt.size() * 8) - 1);
	sregs.idt.base = layout::kIdt;
	sregs.idt.limit = 7;

	sregs.cs = segment_from_descriptor(gdt.at(kBootCs / 8), kBootCs);
	const kvm_segment data = segment_from_descriptor(gdt.at(kBootDs / 8), kBootDs);
	sregs.ds = data;
	sregs.es = data;
	sregs.fs = data;
	sregs.gs = data;
	sregs.ss = data;
	sregs.tr = segment_from_descriptor(gdt.at(kBootTss / 8), kBootTss);

	sregs.cr3 = layout::kPml4;
	sregs.cr4 |= kCr4Pae;
	sregs.cr0 |= kCr0Pe | kCr0Et | kCr0Ne | kCr0Pg;
	sregs.efer |= kEferLme | kEferLma;
}

kvm_regs boot_regs(std::uint64_t entry, std::uint64_t zero_page)
{
	kvm_regs regs{};
	regs.rip = entry;
	regs.rsi = zero_page;
	regs.rflags = kRflagsReserved;
	regs.rsp = layout::kStackTop;
	regs.rbp = layout::kStackTop;
	return regs;
}

std::vector<kvm_msr_entry> boot_msrs()
{
	const auto msr = [](std::uint32_t index, std::uint64_t data) {
		kvm_msr_entry e{};
		e.index = index;
		e.data = data;
		return e;
	};
	return {
	    msr(kSysenterCs, 0),
	    msr(kSysenterEsp, 0),
	    msr(kSysenterEip, 0),
	    msr(kStar, 0),
	    msr(kCstar, 0),
	    msr(kKernelGsBase, 0),
	    msr(kSyscallMask, 0),
	    msr(kLstar, 0),
	    msr(kTsc, 0),
	    msr(kMiscEnable, kMiscFastString),
	    msr(kMtrrDefType, kMtrrEnableWriteBack),
	};
}

kvm_fpu boot_fpu()
{
	kvm_fpu fpu{};
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	return fpu;
}

void set_lint(kvm_lapic_state &lapic)
{
	put32(lapic, kApicLvt0, (get32(lapic, kApicLvt0) & ~kApicModeMask) | kApicModeExtInt);
	put32(lapic, kApicLvt1, (get32(lapic, kApicLvt1) & ~kApicModeMask) | kApicModeNmi);
}

} // namespace vbusvm
