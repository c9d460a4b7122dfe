// SPDX-License-Identifier: GPL-2.0
//
// The guest's RAM: one anonymous mapping registered with KVM as one or
// two memory slots (below the 32-bit hole, above 4 GiB).

#pragma once

#include "fd.hh"
#include "layout.hh"

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace vbusvm
{

class Vm;

// A run of guest RAM: guest physical address and the host bytes there.
struct GuestRange {
	std::uint64_t gpa;
	std::span<std::uint8_t> host;
};

class GuestMemory
{
public:
	explicit GuestMemory(const layout::RamLayout &ram);

	[[nodiscard]] const layout::RamLayout &ram() const { return ram_; }
	// The host bytes of [gpa, gpa + len); throws unless it is RAM.
	[[nodiscard]] std::span<std::uint8_t> at(std::uint64_t gpa, std::uint64_t len) const;
	void write(std::uint64_t gpa, std::span<const std::uint8_t> bytes) const;
	template <typename T> void write_object(std::uint64_t gpa, const T &obj) const
	{
		std::memcpy(at(gpa, sizeof obj).data(), &obj, sizeof obj);
	}
	// The runs of RAM, one per KVM memory slot (slot = index).
	[[nodiscard]] std::vector<GuestRange> ranges() const;
	void register_with(const Vm &vm) const;

private:
	layout::RamLayout ram_;
	Mapping map_;
};

} // namespace vbusvm
