// SPDX-License-Identifier: GPL-2.0
//
// PCI bus 0 behind configuration mechanism #1 (ports 0xcf8-0xcff), and
// the host bridge at 00:00.0.

#pragma once

#include "pci_config.hh"

#include <array>
#include <cstdint>
#include <mutex>

namespace vbusvm
{

class PciDevice
{
public:
	PciDevice() = default;
	PciDevice(const PciDevice &) = delete;
	PciDevice &operator=(const PciDevice &) = delete;
	PciDevice(PciDevice &&) = delete;
	PciDevice &operator=(PciDevice &&) = delete;
	virtual ~PciDevice() = default;

	virtual std::uint32_t config_read(unsigned offset, unsigned size) = 0;
	virtual void config_write(unsigned offset, unsigned size, std::uint32_t value) = 0;
};

// 00:00.0: class "host bridge", so Linux's conf1 sanity check passes.
class HostBridge final : public PciDevice
{
public:
	HostBridge();
	std::uint32_t config_read(unsigned offset, unsigned size) override;
	void config_write(unsigned offset, unsigned size, std::uint32_t value) override;

private:
	PciConfig config_;
};

class PciBus
{
public:
	static constexpr std::uint16_t kAddressPort = 0xcf8;
	static constexpr std::uint16_t kDataPort = 0xcfc;
	static constexpr unsigned kSlots = 32;

	// Puts @dev (not owned; it outlives the bus) at 00:@slot.0.
	void attach(unsigned slot, PciDevice &dev);

	[[nodiscard]] static bool claims(std::uint16_t port)
	{
		return port >= kAddressPort && port < kDataPort + 4;
	}
	// An access of @size bytes to a port in 0xcf8-0xcff.  Absent
	// functions read all ones.
	std::uint32_t read(std::uint16_t port, unsigned size);
	void write(std::uint16_t port, unsigned size, std::uint32_t value);

private:
	// The function the address register selects, or nullptr.
	PciDevice *selected(unsigned &offset) const;

	std::mutex mutex_;
	std::uint32_t address_ = 0;
	std::array<PciDevice *, kSlots> slots_{};
};

} // namespace vbusvm
