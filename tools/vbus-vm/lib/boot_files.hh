// SPDX-License-Identifier: GPL-2.0
//
// The files a guest boots from: the kernel (read and checked at once) and
// the initrd (opened; read straight into guest memory later).

#pragma once

#include "bzimage.hh"
#include "fd.hh"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace vbusvm
{

struct BootFiles {
	std::string kernel_path;
	std::vector<std::uint8_t> kernel;
	KernelImage image;
	std::string initrd_path;
	Fd initrd;
	std::uint64_t initrd_size = 0;

	// Reads and checks @kernel_path, opens @initrd_path (if not empty);
	// throws an Error naming the file.
	static BootFiles open(const std::string &kernel_path, const std::string &initrd_path);
	// Reads the initrd into @dest (initrd_size bytes).
	void read_initrd(std::span<std::uint8_t> dest) const;
	[[nodiscard]] std::span<const std::uint8_t> payload() const
	{
		return std::span(kernel).subspan(image.payload_offset, image.payload_size);
	}
};

} // namespace vbusvm
