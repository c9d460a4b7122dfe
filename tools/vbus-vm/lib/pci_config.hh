// SPDX-License-Identifier: GPL-2.0
//
// A PCI type 0 configuration space (256 bytes): read-only identity,
// writable command and BARs with size masks, and a capability list.

#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

namespace vbusvm
{

namespace pci
{
inline constexpr unsigned kVendorId = 0x00;
inline constexpr unsigned kCommand = 0x04;
inline constexpr unsigned kStatus = 0x06;
inline constexpr unsigned kClassRevision = 0x08;
inline constexpr unsigned kHeaderType = 0x0e;
inline constexpr unsigned kBar0 = 0x10;
inline constexpr unsigned kSubsystem = 0x2c;
inline constexpr unsigned kCapPointer = 0x34;
inline constexpr unsigned kInterruptLine = 0x3c;
inline constexpr std::uint16_t kCommandIo = 0x1;
inline constexpr std::uint16_t kCommandMemory = 0x2;
inline constexpr std::uint16_t kCommandMaster = 0x4;
inline constexpr std::uint16_t kCommandIntxDisable = 0x400;
inline constexpr std::uint16_t kStatusCapList = 0x10;
inline constexpr unsigned kBars = 6;
inline constexpr unsigned kCapMsix = 0x11;
} // namespace pci

class PciConfig
{
public:
	static constexpr unsigned kSize = 256;
	enum class BarKind { io, mem32 };

	PciConfig(std::uint16_t vendor, std::uint16_t device, std::uint32_t class_code,
	          std::uint8_t revision = 0);

	void set_subsystem(std::uint16_t vendor, std::uint16_t device);
	// BAR @index decodes @size bytes (a power of two) at @address.
	void add_bar(unsigned index, BarKind kind, std::uint32_t size, std::uint32_t address);
	// Appends a capability to the list and returns its offset.  @body
	// starts with the capability id and a placeholder for the next
	// pointer; @writable (same length) has the bits the guest may write.
	unsigned add_capability(std::span<const std::uint8_t> body,
	                        std::span<const std::uint8_t> writable);

	// A guest access of @size (1, 2 or 4) bytes at @offset.  Accesses
	// past the end read ones and are not written.
	[[nodiscard]] std::uint32_t read(unsigned offset, unsigned size) const;
	void write(unsigned offset, unsigned size, std::uint32_t value);

	[[nodiscard]] std::uint16_t command() const;
	[[nodiscard]] bool io_enabled() const { return (command() & pci::kCommandIo) != 0; }
	[[nodiscard]] bool memory_enabled() const { return (command() & pci::kCommandMemory) != 0; }
	// The address BAR @index holds now (whether or not it decodes).
	[[nodiscard]] std::uint32_t bar_address(unsigned index) const;
	[[nodiscard]] std::uint32_t bar_size(unsigned index) const;

private:
	void put(unsigned offset, unsigned size, std::uint32_t value, std::uint32_t writable);

	struct Bar {
		BarKind kind;
		std::uint32_t size;
	};

	std::array<std::uint8_t, kSize> data_{};
	std::array<std::uint8_t, kSize> wmask_{};
	std::array<std::optional<Bar>, pci::kBars> bars_{};
	unsigned next_cap_ = 0x40;
	unsigned last_cap_ = 0;
};

} // namespace vbusvm
