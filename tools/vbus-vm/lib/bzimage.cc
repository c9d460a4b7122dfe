// SPDX-License-Identifier: GPL-2.0
//
// bzImage header parsing.

#include "bzimage.hh"

#include "error.hh"

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace vbusvm
{

namespace
{

constexpr std::size_t kHdrOffset = 0x1f1;       // struct setup_header in the file
constexpr std::size_t kHdrLenOffset = 0x201;    // jump's offset byte: header end - 0x202
constexpr std::uint32_t kHdrMagic = 0x53726448; // "HdrS"
constexpr std::uint16_t kBootFlag = 0xaa55;
constexpr std::uint8_t kDefaultSetupSects = 4; // setup_sects 0 means 4
constexpr std::size_t kSector = 512;
constexpr std::uint64_t kLegacyLoadAddr = 0x100000;

} // namespace

std::string protocol_string(std::uint16_t version)
{
	const unsigned minor = version & 0xffU;
	return std::to_string(version >> 8U) + "." + (minor < 10 ? "0" : "") +
	       std::to_string(minor);
}

KernelImage parse_bzimage(std::span<const std::uint8_t> file, const std::string &name)
{
	KernelImage img;
	if (file.size() < kHdrLenOffset + 1) {
		throw Error(name, "read kernel", "too small for a bzImage");
	}
	// The header runs to 0x202 + the byte at 0x201 (the setup code's jump).
	const std::size_t end = 0x202 + file[kHdrLenOffset];
	img.hdr_len = std::min({end - kHdrOffset, sizeof(setup_header), file.size() - kHdrOffset});
	std::memcpy(&img.hdr, file.subspan(kHdrOffset).data(), img.hdr_len);

	if (img.hdr.header != kHdrMagic) {
		throw Error(name, "read kernel", "not a bzImage: no HdrS signature at 0x202");
	}
	if (img.hdr.boot_flag != kBootFlag) {
		throw Error(name, "read kernel", "not a bzImage: no 0xaa55 boot flag");
	}
	img.version = img.hdr.version;
	if (img.version < kMinBootProtocol) {
		throw Error(name, "read kernel",
		            "boot protocol " + protocol_string(img.version) +
		                " is too old: 64-bit entry needs " +
		                protocol_string(kMinBootProtocol));
	}
	if ((img.hdr.xloadflags & XLF_KERNEL_64) == 0) {
		throw Error(name, "read kernel", "the kernel has no 64-bit entry point");
	}
	if ((img.hdr.loadflags & LOADED_HIGH) == 0) {
		throw Error(name, "read kernel", "not a bzImage: a zImage loads below 1 MiB");
	}

	const std::size_t sects =
	    img.hdr.setup_sects == 0 ? kDefaultSetupSects : img.hdr.setup_sects;
	img.payload_offset = (sects + 1) * kSector;
	if (img.payload_offset >= file.size()) {
		throw Error(name, "read kernel",
		            "truncated: no protected-mode kernel after the setup code");
	}
	img.payload_size = file.size() - img.payload_offset;
	// syssize is rounded up to 16 bytes, hence the slack.
	if (img.hdr.syssize != 0 && std::uint64_t{img.hdr.syssize} * 16 > img.payload_size + 16) {
		throw Error(name, "read kernel",
		            "truncated: the header announces " +
		                std::to_string(std::uint64_t{img.hdr.syssize} * 16) +
		                " bytes of kernel, the file has " +
		                std::to_string(img.payload_size));
	}

	img.load_addr = img.hdr.pref_address != 0 ? img.hdr.pref_address : kLegacyLoadAddr;
	img.mem_size = std::max<std::uint64_t>(img.hdr.init_size, img.payload_size);
	img.cmdline_max = img.hdr.cmdline_size;
	img.initrd_addr_max = img.hdr.initrd_addr_max;
	return img;
}

} // namespace vbusvm
