// SPDX-License-Identifier: GPL-2.0
//
// MSI-X table emulation.

#include "msix.hh"

#include "error.hh"

#include <algorithm>

namespace vbusvm
{

namespace
{
constexpr unsigned kMaxVectors = 2048;
constexpr std::uint32_t kMinBar = 4096;
constexpr unsigned kCtrlByte = 12; // vector control in an entry
constexpr std::uint8_t kCtrlMask = 0x1;
} // namespace

MsixTable::MsixTable(unsigned vectors)
    : vectors_(vectors), table_(static_cast<std::size_t>(vectors) * kEntrySize, 0)
{
	if (vectors == 0 || vectors > kMaxVectors) {
		throw Error("MSI-X", "create table", std::to_string(vectors) + " vectors");
	}
	for (unsigned v = 0; v < vectors; ++v) {
		table_.at((v * kEntrySize) + kCtrlByte) = kCtrlMask;
	}
}

std::uint32_t MsixTable::pba_offset() const
{
	return (vectors_ * kEntrySize + 7) & ~7U;
}

std::uint32_t MsixTable::pba_size() const
{
	return ((vectors_ + 63) / 64) * 8;
}

std::uint32_t MsixTable::bar_size() const
{
	const std::uint32_t end = pba_offset() + pba_size();
	std::uint32_t size = kMinBar;
	while (size < end) {
		size <<= 1U;
	}
	return size;
}

std::uint64_t MsixTable::read(std::uint64_t offset, unsigned size,
                              const std::function<bool(unsigned)> &pending) const
{
	std::uint64_t value = 0;
	for (unsigned i = 0; i < size && i < 8; ++i) {
		const std::uint64_t at = offset + i;
		std::uint64_t byte = 0;
		if (at < table_.size()) {
			byte = table_.at(at);
		} else if (at >= pba_offset() && at < pba_offset() + pba_size()) {
			const auto first = static_cast<unsigned>((at - pba_offset()) * 8);
			for (unsigned bit = 0; bit < 8 && first + bit < vectors_; ++bit) {
				if (pending(first + bit)) {
					byte |= 1U << bit;
				}
			}
		}
		value |= byte << (8 * i);
	}
	return value;
}

bool MsixTable::write(std::uint64_t offset, unsigned size, std::uint64_t value)
{
	bool changed = false;
	for (unsigned i = 0; i < size && i < 8; ++i) {
		const std::uint64_t at = offset + i;
		if (at >= table_.size()) {
			continue;
		}
		const auto in_entry = static_cast<unsigned>(at % kEntrySize);
		std::uint8_t mask = 0xff;
		if (in_entry == kCtrlByte) {
			mask = kCtrlMask;
		} else if (in_entry > kCtrlByte) {
			mask = 0;
		}
		auto &cur = table_.at(at);
		const auto byte = static_cast<std::uint8_t>(value >> (8 * i));
		const auto next = static_cast<std::uint8_t>((cur & ~mask) | (byte & mask));
		changed = changed || next != cur;
		cur = next;
	}
	return changed;
}

void MsixTable::set_control(std::uint16_t control)
{
	enabled_ = (control & kControlEnable) != 0;
	function_masked_ = (control & kControlMaskAll) != 0;
}

std::uint32_t MsixTable::word(unsigned v, unsigned index) const
{
	std::uint32_t w = 0;
	for (unsigned i = 0; i < 4; ++i) {
		w |= std::uint32_t{table_.at((v * kEntrySize) + (index * 4) + i)} << (8 * i);
	}
	return w;
}

bool MsixTable::entry_masked(unsigned v) const
{
	return (table_.at((v * kEntrySize) + kCtrlByte) & kCtrlMask) != 0;
}

MsiMessage MsixTable::message(unsigned v) const
{
	return {(std::uint64_t{word(v, 1)} << 32U) | word(v, 0), word(v, 2)};
}

bool MsixTable::deliverable(unsigned v) const
{
	return enabled_ && !function_masked_ && !entry_masked(v);
}

} // namespace vbusvm
