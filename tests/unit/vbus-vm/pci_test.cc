// SPDX-License-Identifier: GPL-2.0
// vbus-vm: PCI configuration space and configuration mechanism #1.

#include <gtest/gtest.h>

#include <pci_bus.hh>
#include <pci_config.hh>

#include <array>

namespace vbusvm
{
namespace
{

PciConfig device()
{
	PciConfig c(0x1234, 0x5678, 0x020000, 3);
	c.add_bar(0, PciConfig::BarKind::io, 16, 0xc000);
	c.add_bar(2, PciConfig::BarKind::mem32, 4096, 0xe0000000);
	return c;
}

TEST(PciConfig, Identity)
{
	const PciConfig c = device();
	EXPECT_EQ(c.read(0, 4), 0x56781234U);
	EXPECT_EQ(c.read(0, 2), 0x1234U);
	EXPECT_EQ(c.read(2, 2), 0x5678U);
	EXPECT_EQ(c.read(8, 4), 0x02000003U); // class and revision
	EXPECT_EQ(c.read(0x0e, 1), 0U);       // header type 0
}

TEST(PciConfig, IdentityIsReadOnly)
{
	PciConfig c = device();
	c.write(0, 4, 0xffffffff);
	c.write(8, 4, 0);
	c.write(0x2c, 4, 0xffffffff);
	EXPECT_EQ(c.read(0, 4), 0x56781234U);
	EXPECT_EQ(c.read(8, 4), 0x02000003U);
	EXPECT_EQ(c.read(0x2c, 4), 0U);
}

TEST(PciConfig, CommandRegisterKeepsOnlyItsWritableBits)
{
	PciConfig c = device();
	c.write(pci::kCommand, 2, 0xffff);
	EXPECT_EQ(c.command(), pci::kCommandIo | pci::kCommandMemory | pci::kCommandMaster |
	                           pci::kCommandIntxDisable);
	EXPECT_TRUE(c.io_enabled());
	EXPECT_TRUE(c.memory_enabled());
	c.write(pci::kCommand, 2, pci::kCommandMemory);
	EXPECT_FALSE(c.io_enabled());
	EXPECT_TRUE(c.memory_enabled());
	// A dword write to command and status changes no status bit.
	c.write(pci::kCommand, 4, 0xffff0000);
	EXPECT_EQ(c.read(pci::kStatus, 2), 0U);
	EXPECT_EQ(c.command(), 0);
}

TEST(PciConfig, BarSizing)
{
	PciConfig c = device();
	EXPECT_EQ(c.read(pci::kBar0, 4), 0xc001U);
	c.write(pci::kBar0, 4, 0xffffffff);
	EXPECT_EQ(c.read(pci::kBar0, 4), 0xfffffff1U); // 16 bytes of I/O
	c.write(pci::kBar0, 4, 0xc000);
	EXPECT_EQ(c.read(pci::kBar0, 4), 0xc001U);
	EXPECT_EQ(c.bar_address(0), 0xc000U);

	c.write(pci::kBar0 + 8, 4, 0xffffffff);
	EXPECT_EQ(c.read(pci::kBar0 + 8, 4), 0xfffff000U); // 4 KiB of 32-bit memory
	c.write(pci::kBar0 + 8, 4, 0xd0000000);
	EXPECT_EQ(c.bar_address(2), 0xd0000000U);
	EXPECT_EQ(c.bar_size(2), 4096U);

	// Unimplemented BARs and the ROM read zero even after all ones.
	for (unsigned off : {pci::kBar0 + 4, pci::kBar0 + 12, 0x30U}) {
		c.write(off, 4, 0xffffffff);
		EXPECT_EQ(c.read(off, 4), 0U) << off;
	}
	// Unaligned addresses are cut to the BAR's size.
	c.write(pci::kBar0, 4, 0xc00f);
	EXPECT_EQ(c.bar_address(0), 0xc000U);
}

TEST(PciConfig, BadBarsAreRefused)
{
	PciConfig c(1, 2, 3);
	EXPECT_ANY_THROW(c.add_bar(0, PciConfig::BarKind::io, 24, 0));
	EXPECT_ANY_THROW(c.add_bar(0, PciConfig::BarKind::io, 16, 0xc008));
	EXPECT_ANY_THROW(c.add_bar(6, PciConfig::BarKind::io, 16, 0));
	EXPECT_ANY_THROW(c.add_bar(0, PciConfig::BarKind::mem32, 8, 0));
}

TEST(PciConfig, CapabilityList)
{
	PciConfig c = device();
	EXPECT_EQ(c.read(pci::kStatus, 2) & pci::kStatusCapList, 0U);
	const std::array<std::uint8_t, 4> first = {0x09, 0xee, 0xaa, 0xbb};
	const std::array<std::uint8_t, 4> ro = {0, 0, 0, 0};
	const std::array<std::uint8_t, 6> second = {0x11, 0, 1, 2, 3, 4};
	const std::array<std::uint8_t, 6> rw = {0, 0, 0xff, 0, 0, 0};
	const unsigned a = c.add_capability(first, ro);
	const unsigned b = c.add_capability(second, rw);

	EXPECT_NE(c.read(pci::kStatus, 2) & pci::kStatusCapList, 0U);
	EXPECT_EQ(c.read(pci::kCapPointer, 1), a);
	EXPECT_EQ(a, 0x40U);
	EXPECT_EQ(c.read(a, 1), 0x09U);
	EXPECT_EQ(c.read(a + 1, 1), b); // the placeholder became the link
	EXPECT_EQ(b % 4, 0U);
	EXPECT_EQ(c.read(b, 1), 0x11U);
	EXPECT_EQ(c.read(b + 1, 1), 0U); // end of list
	c.write(a, 4, 0);
	EXPECT_EQ(c.read(a, 4), 0xbbaa0000U | (b << 8U) | 0x09U);
	c.write(b, 4, 0xffffffff);
	EXPECT_EQ(c.read(b + 2, 1), 0xffU);
	EXPECT_EQ(c.read(b + 3, 1), 2U);
}

TEST(PciConfig, InterruptLineIsWritablePinIsNot)
{
	PciConfig c = device();
	c.write(pci::kInterruptLine, 2, 0xffff);
	EXPECT_EQ(c.read(pci::kInterruptLine, 1), 0xffU);
	EXPECT_EQ(c.read(pci::kInterruptLine + 1, 1), 0U);
}

TEST(PciConfig, AccessesPastTheEnd)
{
	PciConfig c = device();
	EXPECT_EQ(c.read(0xfe, 4), 0xffff0000U);
	c.write(0xfe, 4, 0x12345678); // no crash
}

class Conf1 : public ::testing::Test
{
protected:
	Conf1() { bus.attach(0, host); }

	std::uint32_t config(unsigned bus_no, unsigned slot, unsigned fn, unsigned off,
	                     unsigned size)
	{
		bus.write(PciBus::kAddressPort, 4,
		          0x80000000U | (bus_no << 16U) | (slot << 11U) | (fn << 8U) |
		              (off & 0xfcU));
		return bus.read(static_cast<std::uint16_t>(PciBus::kDataPort + (off & 3U)), size);
	}

	HostBridge host;
	PciBus bus;
};

TEST_F(Conf1, AddressRegisterReadsBack)
{
	bus.write(PciBus::kAddressPort, 4, 0x80000000);
	EXPECT_EQ(bus.read(PciBus::kAddressPort, 4), 0x80000000U);
	bus.write(PciBus::kAddressPort, 4, 0x80000803);
	EXPECT_EQ(bus.read(PciBus::kAddressPort, 4), 0x80000800U);
	// Linux's probe writes a byte to 0xcfb: that is no address.
	bus.write(0xcfb, 1, 0x01);
	EXPECT_EQ(bus.read(PciBus::kAddressPort, 4), 0x80000800U);
	EXPECT_EQ(bus.read(0xcfa, 2), 0xffffffffU);
}

TEST_F(Conf1, HostBridgePassesLinuxsSanityCheck)
{
	EXPECT_EQ(config(0, 0, 0, 0x0a, 2), 0x0600U); // class: host bridge
	EXPECT_EQ(config(0, 0, 0, 0, 4), 0x00081b36U);
	EXPECT_EQ(config(0, 0, 0, 0x0e, 1), 0U);
}

TEST_F(Conf1, AbsentFunctionsReadAllOnes)
{
	EXPECT_EQ(config(0, 1, 0, 0, 4), 0xffffffffU);
	EXPECT_EQ(config(0, 0, 1, 0, 4), 0xffffffffU);
	EXPECT_EQ(config(1, 0, 0, 0, 4), 0xffffffffU);
	EXPECT_EQ(config(0, 31, 0, 0, 2), 0xffffffffU);
	// Without the enable bit, nothing is selected.
	bus.write(PciBus::kAddressPort, 4, 0);
	EXPECT_EQ(bus.read(PciBus::kDataPort, 4), 0xffffffffU);
}

TEST_F(Conf1, ByteAndWordAccessesThroughTheDataPorts)
{
	EXPECT_EQ(config(0, 0, 0, 0, 1), 0x36U);
	EXPECT_EQ(config(0, 0, 0, 1, 1), 0x1bU);
	EXPECT_EQ(config(0, 0, 0, 2, 2), 0x0008U);
	EXPECT_EQ(config(0, 0, 0, 3, 1), 0x00U);
	config(0, 0, 0, pci::kCommand, 2);
	bus.write(PciBus::kDataPort, 2, pci::kCommandMemory);
	EXPECT_EQ(config(0, 0, 0, pci::kCommand, 2), pci::kCommandMemory);
}

TEST_F(Conf1, SlotsAreUnique)
{
	HostBridge other;
	EXPECT_ANY_THROW(bus.attach(0, other));
	EXPECT_ANY_THROW(bus.attach(32, other));
	bus.attach(5, other);
	EXPECT_EQ(config(0, 5, 0, 0, 4), 0x00081b36U);
}

} // namespace
} // namespace vbusvm
