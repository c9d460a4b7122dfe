// SPDX-License-Identifier: GPL-2.0
//
// An MSI-X table and pending bit array, as they appear in a memory BAR,
// and the function-level enable and mask bits of the MSI-X capability.

#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace vbusvm
{

struct MsiMessage {
	std::uint64_t address = 0;
	std::uint32_t data = 0;

	bool operator==(const MsiMessage &) const = default;
};

class MsixTable
{
public:
	static constexpr unsigned kEntrySize = 16;
	static constexpr std::uint16_t kControlEnable = 0x8000;
	static constexpr std::uint16_t kControlMaskAll = 0x4000;

	// @vectors entries (1-2048), all masked, as after reset.
	explicit MsixTable(unsigned vectors);

	[[nodiscard]] unsigned vectors() const { return vectors_; }
	// Layout in the BAR: the table at 0, the PBA after it (8-byte
	// aligned); the BAR is a power of two of at least a page.
	[[nodiscard]] std::uint32_t pba_offset() const;
	[[nodiscard]] std::uint32_t pba_size() const;
	[[nodiscard]] std::uint32_t bar_size() const;

	// A guest read of @size (1-8) bytes at @offset in the BAR.  PBA bit
	// v reads @pending(v); offsets beyond both read zero.
	[[nodiscard]] std::uint64_t read(std::uint64_t offset, unsigned size,
	                                 const std::function<bool(unsigned)> &pending) const;
	// A guest write; the PBA is read-only, and of each entry's vector
	// control only the mask bit is writable.  Returns whether an entry
	// changed.
	bool write(std::uint64_t offset, unsigned size, std::uint64_t value);

	// The message control bits of the capability (enable, mask all).
	void set_control(std::uint16_t control);
	[[nodiscard]] bool enabled() const { return enabled_; }
	[[nodiscard]] bool function_masked() const { return function_masked_; }
	[[nodiscard]] bool entry_masked(unsigned v) const;
	[[nodiscard]] MsiMessage message(unsigned v) const;
	// Whether a signal on vector @v is to be delivered now: MSI-X
	// enabled, the function not masked, the entry not masked.
	[[nodiscard]] bool deliverable(unsigned v) const;

private:
	[[nodiscard]] std::uint32_t word(unsigned v, unsigned index) const;

	unsigned vectors_;
	std::vector<std::uint8_t> table_;
	bool enabled_ = false;
	bool function_masked_ = false;
};

} // namespace vbusvm
