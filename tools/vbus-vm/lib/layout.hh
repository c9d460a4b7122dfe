// SPDX-License-Identifier: GPL-2.0
//
// The guest's physical address map.
//
//   0x000500  GDT                0x009000  PML4, 0x00a000 PDPT,
//   0x000520  IDT (empty)        0x00b000  4 page directories (4 GiB, 2 MiB pages)
//   0x007000  zero page          0x020000  kernel command line
//   0x008ff0  boot stack top     0x09fc00  reserved up to 1 MiB (MP table at 0xf0000)
//   pref_address (16 MiB)        the kernel; the initrd at the top of low RAM
//   0xc0000000 - 4 GiB           the 32-bit hole: PCI BARs (0xe0000000), IOAPIC, LAPIC
//   4 GiB -                      RAM above 3 GiB, if any

#pragma once

#include <cstdint>

namespace vbusvm::layout
{

inline constexpr std::uint64_t kGdt = 0x500;
inline constexpr std::uint64_t kIdt = 0x520;
inline constexpr std::uint64_t kZeroPage = 0x7000;
inline constexpr std::uint64_t kStackTop = 0x8ff0;
inline constexpr std::uint64_t kPml4 = 0x9000;
inline constexpr std::uint64_t kPdpt = 0xa000;
inline constexpr std::uint64_t kPageDirs = 0xb000; // 4 pages
inline constexpr std::uint64_t kCmdline = 0x20000;
inline constexpr std::uint64_t kCmdlineMax = 0x10000;
inline constexpr std::uint64_t kEbda = 0x9fc00; // reserved from here to 1 MiB
inline constexpr std::uint64_t kMpTable = 0xf0000;
inline constexpr std::uint64_t kHighMem = 0x100000;
inline constexpr std::uint64_t kHoleStart = 0xc0000000;
inline constexpr std::uint64_t k4G = 0x100000000;
inline constexpr std::uint64_t kPciMmio = 0xe0000000;
inline constexpr std::uint32_t kIoapic = 0xfec00000;
inline constexpr std::uint32_t kLapic = 0xfee00000;
inline constexpr std::uint16_t kPciIo = 0xc000;

// Where the RAM is: [0, low_end) and [4 GiB, 4 GiB + high_size).
struct RamLayout {
	std::uint64_t low_end = 0;
	std::uint64_t high_size = 0;

	static constexpr RamLayout for_size(std::uint64_t size)
	{
		if (size <= kHoleStart) {
			return {size, 0};
		}
		return {kHoleStart, size - kHoleStart};
	}
	[[nodiscard]] constexpr std::uint64_t total() const { return low_end + high_size; }
	// Whether [gpa, gpa + len) is RAM.
	[[nodiscard]] constexpr bool contains(std::uint64_t gpa, std::uint64_t len) const
	{
		if (gpa + len < gpa) {
			return false;
		}
		return gpa + len <= low_end || (gpa >= k4G && gpa + len <= k4G + high_size);
	}
	// Offset of @gpa in the one host mapping of all RAM.
	[[nodiscard]] constexpr std::uint64_t offset(std::uint64_t gpa) const
	{
		return gpa < low_end ? gpa : gpa - k4G + low_end;
	}
};

} // namespace vbusvm::layout
