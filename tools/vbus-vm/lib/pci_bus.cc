// SPDX-License-Identifier: GPL-2.0
//
// Configuration mechanism #1 and the host bridge.

#include "pci_bus.hh"

#include "error.hh"

namespace vbusvm
{

namespace
{
constexpr std::uint16_t kRedHatVendor = 0x1b36;
constexpr std::uint16_t kQemuHostBridge = 0x0008;
constexpr std::uint32_t kClassHostBridge = 0x060000;
constexpr std::uint32_t kEnable = 0x80000000;
constexpr std::uint32_t kAddressMask = 0x80fffffc;
constexpr std::uint32_t kAllOnes = 0xffffffff;
} // namespace

HostBridge::HostBridge() : config_(kRedHatVendor, kQemuHostBridge, kClassHostBridge)
{
	config_.set_subsystem(kRedHatVendor, kQemuHostBridge);
}

std::uint32_t HostBridge::config_read(unsigned offset, unsigned size)
{
	return config_.read(offset, size);
}

void HostBridge::config_write(unsigned offset, unsigned size, std::uint32_t value)
{
	config_.write(offset, size, value);
}

void PciBus::attach(unsigned slot, PciDevice &dev)
{
	if (slot >= kSlots || slots_.at(slot) != nullptr) {
		throw Error("PCI", "attach device at slot " + std::to_string(slot), "slot taken");
	}
	slots_.at(slot) = &dev;
}

PciDevice *PciBus::selected(unsigned &offset) const
{
	if ((address_ & kEnable) == 0) {
		return nullptr;
	}
	const unsigned bus = (address_ >> 16U) & 0xffU;
	const unsigned slot = (address_ >> 11U) & 0x1fU;
	const unsigned function = (address_ >> 8U) & 0x7U;
	if (bus != 0 || function != 0) {
		return nullptr;
	}
	offset = address_ & 0xfcU;
	return slots_.at(slot);
}

std::uint32_t PciBus::read(std::uint16_t port, unsigned size)
{
	const std::scoped_lock lock(mutex_);
	if (port < kDataPort) {
		return port == kAddressPort && size == 4 ? address_ : kAllOnes;
	}
	unsigned offset = 0;
	PciDevice *dev = selected(offset);
	if (dev == nullptr) {
		return kAllOnes;
	}
	return dev->config_read(offset + (port - kDataPort), size);
}

void PciBus::write(std::uint16_t port, unsigned size, std::uint32_t value)
{
	const std::scoped_lock lock(mutex_);
	if (port < kDataPort) {
		// Only a 32-bit write is the address; Linux's probe writes a
		// byte to 0xcfb, which selects nothing here.
		if (port == kAddressPort && size == 4) {
			address_ = value & kAddressMask;
		}
		return;
	}
	unsigned offset = 0;
	PciDevice *dev = selected(offset);
	if (dev != nullptr) {
		dev->config_write(offset + (port - kDataPort), size, value);
	}
}

} // namespace vbusvm
