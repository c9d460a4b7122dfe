// SPDX-License-Identifier: GPL-2.0
//
// PCI configuration space emulation.

#include "pci_config.hh"

#include "error.hh"

namespace vbusvm
{

namespace
{
constexpr std::uint32_t kIoBarFlags = 0x1;
constexpr std::uint32_t kCommandWritable =
    pci::kCommandIo | pci::kCommandMemory | pci::kCommandMaster | pci::kCommandIntxDisable;
} // namespace

PciConfig::PciConfig(std::uint16_t vendor, std::uint16_t device, std::uint32_t class_code,
                     std::uint8_t revision)
{
	put(pci::kVendorId, 2, vendor, 0);
	put(pci::kVendorId + 2, 2, device, 0);
	put(pci::kClassRevision, 4, (class_code << 8U) | revision, 0);
	put(pci::kCommand, 2, 0, kCommandWritable);
	put(0x0c, 1, 0, 0xff);                // cache line size
	put(0x0d, 1, 0, 0xff);                // latency timer
	put(pci::kInterruptLine, 1, 0, 0xff); // interrupt line; pin 0: no INTx
}

void PciConfig::put(unsigned offset, unsigned size, std::uint32_t value, std::uint32_t writable)
{
	for (unsigned i = 0; i < size; ++i) {
		data_.at(offset + i) = static_cast<std::uint8_t>(value >> (8 * i));
		wmask_.at(offset + i) = static_cast<std::uint8_t>(writable >> (8 * i));
	}
}

void PciConfig::set_subsystem(std::uint16_t vendor, std::uint16_t device)
{
	put(pci::kSubsystem, 2, vendor, 0);
	put(pci::kSubsystem + 2, 2, device, 0);
}

void PciConfig::add_bar(unsigned index, BarKind kind, std::uint32_t size, std::uint32_t address)
{
	if (index >= pci::kBars || size == 0 || (size & (size - 1)) != 0 ||
	    (kind == BarKind::io && size < 4) || (kind == BarKind::mem32 && size < 16) ||
	    (address & (size - 1)) != 0) {
		throw Error("PCI", "add BAR " + std::to_string(index), "bad size or alignment");
	}
	bars_.at(index) = Bar{kind, size};
	const std::uint32_t flags = kind == BarKind::io ? kIoBarFlags : 0;
	put(pci::kBar0 + 4 * index, 4, address | flags, ~(size - 1));
}

unsigned PciConfig::add_capability(std::span<const std::uint8_t> body,
                                   std::span<const std::uint8_t> writable)
{
	const unsigned offset = next_cap_;
	if (body.size() < 2 || writable.size() != body.size() || offset + body.size() > kSize) {
		throw Error("PCI", "add capability", "no room");
	}
	for (std::size_t i = 0; i < body.size(); ++i) {
		data_.at(offset + i) = body[i];
		wmask_.at(offset + i) = writable[i];
	}
	data_.at(offset + 1) = 0;
	wmask_.at(offset + 1) = 0;
	if (last_cap_ == 0) {
		data_.at(pci::kCapPointer) = static_cast<std::uint8_t>(offset);
		data_.at(pci::kStatus) |= pci::kStatusCapList;
	} else {
		data_.at(last_cap_ + 1) = static_cast<std::uint8_t>(offset);
	}
	last_cap_ = offset;
	next_cap_ = (offset + static_cast<unsigned>(body.size()) + 3) & ~3U;
	return offset;
}

std::uint32_t PciConfig::read(unsigned offset, unsigned size) const
{
	std::uint32_t value = 0;
	for (unsigned i = 0; i < size; ++i) {
		const std::uint32_t byte = offset + i < kSize ? data_.at(offset + i) : 0xff;
		value |= byte << (8 * i);
	}
	return value;
}

void PciConfig::write(unsigned offset, unsigned size, std::uint32_t value)
{
	for (unsigned i = 0; i < size && offset + i < kSize; ++i) {
		const auto byte = static_cast<std::uint8_t>(value >> (8 * i));
		const std::uint8_t mask = wmask_.at(offset + i);
		auto &cur = data_.at(offset + i);
		cur = static_cast<std::uint8_t>((cur & ~mask) | (byte & mask));
	}
}

std::uint16_t PciConfig::command() const
{
	return static_cast<std::uint16_t>(read(pci::kCommand, 2));
}

std::uint32_t PciConfig::bar_address(unsigned index) const
{
	const auto &bar = bars_.at(index);
	if (!bar) {
		return 0;
	}
	const std::uint32_t raw = read(pci::kBar0 + 4 * index, 4);
	return raw & ~(bar->size - 1);
}

std::uint32_t PciConfig::bar_size(unsigned index) const
{
	const auto &bar = bars_.at(index);
	return bar ? bar->size : 0;
}

} // namespace vbusvm
