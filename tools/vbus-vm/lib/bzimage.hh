// SPDX-License-Identifier: GPL-2.0
//
// The Linux x86 boot protocol (Documentation/x86/boot.rst): the setup
// header of a bzImage, checked for what the 64-bit entry needs.

#pragma once

#include <asm/bootparam.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace vbusvm
{

// The oldest protocol with a 64-bit entry point (xloadflags, 2.12).
inline constexpr std::uint16_t kMinBootProtocol = 0x020c;

struct KernelImage {
	setup_header hdr{};             // as in the file, to copy into the zero page
	std::size_t hdr_len = 0;        // bytes of it the kernel defines (from 0x1f1)
	std::uint16_t version = 0;      // boot protocol, e.g. 0x020f for 2.15
	std::size_t payload_offset = 0; // the protected-mode kernel in the file
	std::size_t payload_size = 0;
	std::uint64_t load_addr = 0;   // where it goes: pref_address
	std::uint64_t mem_size = 0;    // what it needs from load_addr: init_size
	std::uint32_t cmdline_max = 0; // longest command line, without the NUL
	std::uint32_t initrd_addr_max = 0;
};

// Parses @file (a whole bzImage) named @name for messages.  Throws an
// Error for a file that is not a bzImage, is truncated or too old.
KernelImage parse_bzimage(std::span<const std::uint8_t> file, const std::string &name);

// "2.15" for 0x020f.
std::string protocol_string(std::uint16_t version);

} // namespace vbusvm
