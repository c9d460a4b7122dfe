// SPDX-License-Identifier: GPL-2.0
//
// Placement of the boot images and the zero page.

#include "bootparams.hh"

#include "error.hh"

#include <algorithm>
#include <cstring>

namespace vbusvm
{

namespace
{

constexpr std::uint32_t kE820Ram = 1;
constexpr std::uint32_t kE820Reserved = 2;
constexpr std::uint64_t kInitrdAlign = 0x1000;
constexpr std::uint8_t kLoaderUndefined = 0xff;

std::string mib(std::uint64_t bytes)
{
	return std::to_string((bytes + (1ULL << 20) - 1) >> 20) + " MiB";
}

} // namespace

std::vector<boot_e820_entry> e820_map(const layout::RamLayout &ram)
{
	std::vector<boot_e820_entry> map;
	map.push_back({0, layout::kEbda, kE820Ram});
	map.push_back({layout::kEbda, layout::kHighMem - layout::kEbda, kE820Reserved});
	map.push_back({layout::kHighMem, ram.low_end - layout::kHighMem, kE820Ram});
	if (ram.high_size != 0) {
		map.push_back({layout::k4G, ram.high_size, kE820Ram});
	}
	return map;
}

BootPlacement place_boot_images(const KernelImage &kernel, const layout::RamLayout &ram,
                                const std::string &cmdline, std::uint64_t initrd_size)
{
	BootPlacement at;
	if (cmdline.size() > kernel.cmdline_max || cmdline.size() >= layout::kCmdlineMax) {
		throw Error::usage("--append",
		                   "the command line has " + std::to_string(cmdline.size()) +
		                       " bytes; the kernel takes at most " +
		                       std::to_string(std::min<std::uint64_t>(
		                           kernel.cmdline_max, layout::kCmdlineMax - 1)));
	}
	at.cmdline_size = cmdline.size();

	at.kernel_addr = kernel.load_addr;
	at.kernel_end = kernel.load_addr + kernel.mem_size;
	if (at.kernel_addr < layout::kHighMem || !ram.contains(at.kernel_addr, kernel.mem_size)) {
		throw Error("guest memory", "load kernel",
		            "the kernel needs memory up to " + mib(at.kernel_end) + ", there is " +
		                mib(ram.low_end) + " below 3 GiB (raise --mem)");
	}

	if (initrd_size != 0) {
		// The highest page-aligned place below the kernel's limit and
		// the end of low RAM, as boot loaders do.
		const std::uint64_t limit =
		    std::min<std::uint64_t>(std::uint64_t{kernel.initrd_addr_max} + 1, ram.low_end);
		if (initrd_size > limit) {
			throw Error("guest memory", "load initrd",
			            "the initrd (" + mib(initrd_size) + ") does not fit below " +
			                mib(limit) + " (raise --mem)");
		}
		at.initrd_addr = (limit - initrd_size) & ~(kInitrdAlign - 1);
		at.initrd_size = initrd_size;
		if (at.initrd_addr < at.kernel_end) {
			throw Error("guest memory", "load initrd",
			            "the kernel (up to " + mib(at.kernel_end) +
			                ") and the initrd (" + mib(initrd_size) +
			                ") do not fit in " + mib(limit) + " (raise --mem)");
		}
	}
	return at;
}

boot_params make_zero_page(const KernelImage &kernel, const layout::RamLayout &ram,
                           const BootPlacement &at)
{
	boot_params bp{};
	std::memcpy(&bp.hdr, &kernel.hdr, kernel.hdr_len);
	bp.hdr.type_of_loader = kLoaderUndefined;
	bp.hdr.loadflags &= static_cast<std::uint8_t>(~QUIET_FLAG);
	bp.hdr.vid_mode = 0xffff; // "normal"
	bp.hdr.code32_start = static_cast<std::uint32_t>(at.kernel_addr);
	bp.hdr.cmd_line_ptr = static_cast<std::uint32_t>(at.cmdline_addr);
	bp.ext_cmd_line_ptr = static_cast<std::uint32_t>(at.cmdline_addr >> 32U);
	bp.hdr.ramdisk_image = static_cast<std::uint32_t>(at.initrd_addr);
	bp.ext_ramdisk_image = static_cast<std::uint32_t>(at.initrd_addr >> 32U);
	bp.hdr.ramdisk_size = static_cast<std::uint32_t>(at.initrd_size);
	bp.ext_ramdisk_size = static_cast<std::uint32_t>(at.initrd_size >> 32U);

	const auto map = e820_map(ram);
	bp.e820_entries = static_cast<std::uint8_t>(map.size());
	std::memcpy(&bp.e820_table[0], map.data(), map.size() * sizeof(boot_e820_entry));
	return bp;
}

} // namespace vbusvm
