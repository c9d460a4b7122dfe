// SPDX-License-Identifier: GPL-2.0
// vbus-vm: memory map, placement of kernel, initrd and command line, and
// the zero page.

#include <gtest/gtest.h>

#include <bootparams.hh>
#include <error.hh>
#include <layout.hh>

#include <cstddef>
#include <cstring>
#include <span>
#include <string>

namespace vbusvm
{
namespace
{

constexpr std::uint64_t kMiB = 1ULL << 20U;
constexpr std::uint64_t kGiB = 1ULL << 30U;

KernelImage debian_like()
{
	KernelImage k;
	k.version = 0x020f;
	k.hdr.version = 0x020f;
	k.hdr.header = 0x53726448;
	k.hdr.loadflags = LOADED_HIGH;
	k.hdr.setup_sects = 27;
	k.hdr_len = 0x7b;
	k.load_addr = 16 * kMiB;
	k.mem_size = 63 * kMiB;
	k.cmdline_max = 2047;
	k.initrd_addr_max = 0x7fffffff;
	return k;
}

TEST(E820, SmallMachine)
{
	const auto map = e820_map(layout::RamLayout::for_size(512 * kMiB));
	ASSERT_EQ(map.size(), 3U);
	EXPECT_EQ(map[0].addr, 0U);
	EXPECT_EQ(map[0].size, 0x9fc00U);
	EXPECT_EQ(map[0].type, 1U);
	EXPECT_EQ(map[1].addr, 0x9fc00U);
	EXPECT_EQ(map[1].addr + map[1].size, 0x100000U);
	EXPECT_EQ(map[1].type, 2U);
	EXPECT_EQ(map[2].addr, 0x100000U);
	EXPECT_EQ(map[2].addr + map[2].size, 512 * kMiB);
	EXPECT_EQ(map[2].type, 1U);
}

TEST(E820, LargeMachineSkipsTheHole)
{
	const auto ram = layout::RamLayout::for_size(5 * kGiB);
	EXPECT_EQ(ram.low_end, 3 * kGiB);
	EXPECT_EQ(ram.high_size, 2 * kGiB);
	const auto map = e820_map(ram);
	ASSERT_EQ(map.size(), 4U);
	EXPECT_EQ(map[2].addr + map[2].size, 3 * kGiB);
	EXPECT_EQ(map[3].addr, 4 * kGiB);
	EXPECT_EQ(map[3].size, 2 * kGiB);
	EXPECT_EQ(map[3].type, 1U);

	EXPECT_TRUE(ram.contains(3 * kGiB - 4096, 4096));
	EXPECT_FALSE(ram.contains(3 * kGiB - 4096, 4097));
	EXPECT_FALSE(ram.contains(layout::kPciMmio, 4));
	EXPECT_TRUE(ram.contains(6 * kGiB - 1, 1));
	EXPECT_FALSE(ram.contains(6 * kGiB, 1));
	EXPECT_EQ(ram.offset(4 * kGiB), 3 * kGiB);
}

TEST(Placement, InitrdAtTheTopOfLowRam)
{
	const auto ram = layout::RamLayout::for_size(512 * kMiB);
	const auto at = place_boot_images(debian_like(), ram, "console=ttyS0", 1000000);
	EXPECT_EQ(at.kernel_addr, 16 * kMiB);
	EXPECT_EQ(at.kernel_end, 79 * kMiB);
	EXPECT_EQ(at.initrd_size, 1000000U);
	EXPECT_EQ(at.initrd_addr % 4096, 0U);
	EXPECT_LE(at.initrd_addr + at.initrd_size, 512 * kMiB);
	EXPECT_GT(at.initrd_addr + at.initrd_size, 512 * kMiB - 4096);
	EXPECT_EQ(at.cmdline_addr, layout::kCmdline);
	EXPECT_EQ(at.cmdline_size, 13U);
}

TEST(Placement, InitrdBelowTheKernelsLimit)
{
	auto k = debian_like();
	k.initrd_addr_max = 0x0fffffff; // 256 MiB
	const auto at = place_boot_images(k, layout::RamLayout::for_size(2 * kGiB), "", 4096);
	EXPECT_EQ(at.initrd_addr, 256 * kMiB - 4096);
}

TEST(Placement, NoInitrd)
{
	const auto at =
	    place_boot_images(debian_like(), layout::RamLayout::for_size(128 * kMiB), "", 0);
	EXPECT_EQ(at.initrd_addr, 0U);
	EXPECT_EQ(at.initrd_size, 0U);
}

TEST(Placement, TooLittleMemory)
{
	try {
		place_boot_images(debian_like(), layout::RamLayout::for_size(64 * kMiB), "", 0);
		FAIL() << "no error";
	} catch (const Error &e) {
		EXPECT_EQ(e.kind(), Error::Kind::failed);
		EXPECT_NE(std::string(e.what()).find("raise --mem"), std::string::npos);
	}
	// The kernel fits, the initrd does not.
	EXPECT_THROW(
	    place_boot_images(debian_like(), layout::RamLayout::for_size(80 * kMiB), "", 2 * kMiB),
	    Error);
}

TEST(Placement, CommandLineTooLong)
{
	const std::string longest(2047, 'x');
	const auto ram = layout::RamLayout::for_size(512 * kMiB);
	EXPECT_NO_THROW(place_boot_images(debian_like(), ram, longest, 0));
	try {
		place_boot_images(debian_like(), ram, longest + "x", 0);
		FAIL() << "no error";
	} catch (const Error &e) {
		EXPECT_EQ(e.kind(), Error::Kind::usage);
		EXPECT_EQ(e.object(), "--append");
	}
}

TEST(ZeroPage, Contents)
{
	const auto k = debian_like();
	const auto ram = layout::RamLayout::for_size(512 * kMiB);
	const auto at = place_boot_images(k, ram, "console=ttyS0", 3 * kMiB);
	const boot_params bp = make_zero_page(k, ram, at);

	EXPECT_EQ(bp.hdr.header, 0x53726448U);
	EXPECT_EQ(bp.hdr.version, 0x020f);
	EXPECT_EQ(bp.hdr.setup_sects, 27);
	EXPECT_EQ(bp.hdr.type_of_loader, 0xff);
	EXPECT_EQ(bp.hdr.cmd_line_ptr, layout::kCmdline);
	EXPECT_EQ(bp.ext_cmd_line_ptr, 0U);
	EXPECT_EQ(bp.hdr.ramdisk_image, at.initrd_addr);
	EXPECT_EQ(bp.hdr.ramdisk_size, 3 * kMiB);
	EXPECT_EQ(bp.ext_ramdisk_image, 0U);
	EXPECT_EQ(bp.hdr.code32_start, 16 * kMiB);
	EXPECT_NE(bp.hdr.loadflags & LOADED_HIGH, 0);

	ASSERT_EQ(bp.e820_entries, 3);
	const auto map = e820_map(ram);
	for (std::size_t i = 0; i < map.size(); ++i) {
		boot_e820_entry e{};
		std::memcpy(&e,
		            std::as_bytes(std::span(&bp, 1))
		                .subspan(offsetof(boot_params, e820_table) + (i * sizeof e))
		                .data(),
		            sizeof e);
		EXPECT_EQ(e.addr, map[i].addr);
		EXPECT_EQ(e.size, map[i].size);
		EXPECT_EQ(e.type, map[i].type);
	}
	// The setup code's fields stay zero: no real mode, no video.
	EXPECT_EQ(bp.screen_info.orig_video_lines, 0);
	EXPECT_EQ(bp.screen_info.orig_video_cols, 0);
}

} // namespace
} // namespace vbusvm
