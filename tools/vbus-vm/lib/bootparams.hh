// SPDX-License-Identifier: GPL-2.0
//
// The zero page (struct boot_params) of the 64-bit boot protocol: the
// kernel's setup header, the command line and initrd locations, and the
// e820 memory map.

#pragma once

#include "bzimage.hh"
#include "layout.hh"

#include <asm/bootparam.h>

#include <cstdint>
#include <string>
#include <vector>

namespace vbusvm
{

struct BootPlacement {
	std::uint64_t kernel_addr = 0;
	std::uint64_t kernel_end = 0; // load address + what it needs to decompress
	std::uint64_t cmdline_addr = layout::kCmdline;
	std::uint64_t cmdline_size = 0; // without the NUL
	std::uint64_t initrd_addr = 0;
	std::uint64_t initrd_size = 0;
};

// The memory map: low RAM up to the EBDA, reserved up to 1 MiB, RAM from
// 1 MiB, RAM above 4 GiB.
std::vector<boot_e820_entry> e820_map(const layout::RamLayout &ram);

// Where the kernel, its command line and the initrd go; throws an Error
// when they do not fit in @ram or the command line is too long.
BootPlacement place_boot_images(const KernelImage &kernel, const layout::RamLayout &ram,
                                const std::string &cmdline, std::uint64_t initrd_size);

// The zero page for @kernel placed as @at.
boot_params make_zero_page(const KernelImage &kernel, const layout::RamLayout &ram,
                           const BootPlacement &at);

} // namespace vbusvm
