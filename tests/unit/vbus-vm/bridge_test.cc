// SPDX-License-Identifier: GPL-2.0
// vbus-vm: the vbus bridge PCI function against a recording backend.

#include <gtest/gtest.h>

#include <pci_config.hh>
#include <vbus_bridge.hh>

#include <vbus/kvm.h>

#include <optional>
#include <set>
#include <vector>

namespace vbusvm
{
namespace
{

class Recorder final : public BridgeBackend
{
public:
	void doorbells_moved(std::optional<std::uint16_t> base) override { moves.push_back(base); }
	void msix_changed(const MsixTable &table) override
	{
		++msix_changes;
		deliverable.clear();
		for (unsigned v = 0; v < table.vectors(); ++v) {
			if (table.deliverable(v)) {
				deliverable.insert(v);
			}
		}
	}
	bool vector_pending(unsigned v) override { return pending.contains(v); }
	void call(std::uint32_t value) override { calls.push_back(value); }

	std::vector<std::optional<std::uint16_t>> moves;
	unsigned msix_changes = 0;
	std::set<unsigned> deliverable;
	std::set<unsigned> pending;
	std::vector<std::uint32_t> calls;
};

class Bridge : public ::testing::Test
{
protected:
	Bridge() : layout(BridgeLayout::make(256, 33, 0xc000, 0xe0000000)), bridge(layout, backend)
	{
	}

	[[nodiscard]] std::uint32_t cfg(unsigned off, unsigned size = 4)
	{
		return bridge.config_read(off, size);
	}
	void set_cfg(unsigned off, std::uint32_t v, unsigned size = 4)
	{
		bridge.config_write(off, size, v);
	}
	bool out(std::uint16_t port, std::uint32_t v, unsigned size = 4)
	{
		return bridge.pio(port, size, true, v);
	}
	std::optional<std::uint32_t> in(std::uint16_t port, unsigned size = 4)
	{
		std::uint32_t v = 0;
		if (!bridge.pio(port, size, false, v)) {
			return std::nullopt;
		}
		return v;
	}
	// The MSI-X capability's offset, by walking the list.
	unsigned msix_cap()
	{
		unsigned off = cfg(pci::kCapPointer, 1);
		while (off != 0 && cfg(off, 1) != pci::kCapMsix) {
			off = cfg(off + 1, 1);
		}
		return off;
	}

	BridgeLayout layout;
	Recorder backend;
	VbusBridge bridge;
};

TEST(BridgeLayoutTest, PreassignedBars)
{
	const auto l = BridgeLayout::make(256, 33, 0xc000, 0xe0000000);
	EXPECT_EQ(l.call_port, 0xc000);
	EXPECT_EQ(l.doorbell_port, 0xc400);
	EXPECT_EQ(l.doorbell_bar_size(), 1024U);
	EXPECT_EQ(l.msix_address, 0xe0000000U);

	const auto odd = BridgeLayout::make(300, 33, 0xc000, 0xe0000000);
	EXPECT_EQ(odd.doorbell_bar_size(), 2048U); // a power of two
	EXPECT_EQ(odd.doorbell_port, 0xc800);
	EXPECT_EQ(BridgeLayout::make(1, 1, 0xc000, 0).doorbell_bar_size(), 4U);
}

TEST_F(Bridge, Identity)
{
	EXPECT_EQ(cfg(0, 2), VBUS_KVM_PCI_VENDOR);
	EXPECT_EQ(cfg(2, 2), VBUS_KVM_PCI_DEVICE);
	EXPECT_EQ(cfg(8) >> 8U, VBUS_KVM_PCI_CLASS);
	EXPECT_EQ(cfg(pci::kSubsystem, 2), VBUS_KVM_PCI_VENDOR);
	EXPECT_EQ(cfg(0x3d, 1), 0U); // no INTx pin
	// Pre-assigned and decoding.
	EXPECT_EQ(cfg(pci::kCommand, 2), pci::kCommandIo | pci::kCommandMemory);
}

TEST_F(Bridge, BarSizes)
{
	const unsigned bar0 = pci::kBar0 + (4 * VBUS_KVM_BAR_CALL);
	const unsigned bar1 = pci::kBar0 + (4 * VBUS_KVM_BAR_DOORBELL);
	const unsigned bar2 = pci::kBar0 + (4 * VBUS_KVM_BAR_MSIX);
	EXPECT_EQ(cfg(bar0), 0xc001U);
	EXPECT_EQ(cfg(bar1), 0xc401U);
	EXPECT_EQ(cfg(bar2), 0xe0000000U);

	set_cfg(pci::kCommand, 0, 2); // as Linux does before sizing
	for (const unsigned bar : {bar0, bar1, bar2}) {
		const std::uint32_t old = cfg(bar);
		set_cfg(bar, 0xffffffff);
		const std::uint32_t mask = cfg(bar);
		set_cfg(bar, old);
		const bool io = (mask & 1U) != 0;
		const std::uint32_t size = ~(mask & (io ? ~3U : ~15U)) + 1;
		if (bar == bar0) {
			EXPECT_TRUE(io);
			EXPECT_EQ(size, VBUS_KVM_CALL_BAR_SIZE);
		} else if (bar == bar1) {
			EXPECT_TRUE(io);
			EXPECT_EQ(size, 256U * VBUS_KVM_DOORBELL_STRIDE);
		} else {
			EXPECT_FALSE(io);
			EXPECT_EQ(mask & 0xfU, 0U); // 32-bit, not prefetchable
			EXPECT_EQ(size, 4096U);
		}
	}
	set_cfg(pci::kCommand, pci::kCommandIo | pci::kCommandMemory, 2);
	// Sizing with decoding off moved nothing.
	EXPECT_TRUE(backend.moves.empty());
}

TEST_F(Bridge, MsixCapability)
{
	EXPECT_NE(cfg(pci::kStatus, 2) & pci::kStatusCapList, 0U);
	const unsigned cap = msix_cap();
	ASSERT_NE(cap, 0U);
	EXPECT_EQ(cfg(cap + 2, 2) & 0x7ffU, 33U - 1);              // table size
	EXPECT_EQ(cfg(cap + 4), 0U | VBUS_KVM_BAR_MSIX);           // table at BAR 2 + 0
	EXPECT_EQ(cfg(cap + 8) & 7U, unsigned{VBUS_KVM_BAR_MSIX}); // PBA in BAR 2
	EXPECT_EQ(cfg(cap + 8) & ~7U, 33U * 16);
	// Only enable and mask-all are writable.
	set_cfg(cap + 2, 0xffff, 2);
	EXPECT_EQ(cfg(cap + 2, 2), 0xc000U | (33U - 1));
	EXPECT_EQ(backend.msix_changes, 1U);
	set_cfg(cap + 4, 0xffffffff);
	EXPECT_EQ(cfg(cap + 4), 0U | VBUS_KVM_BAR_MSIX);
}

TEST_F(Bridge, CallRegister)
{
	EXPECT_TRUE(out(0xc000 + VBUS_KVM_REG_CALL, 0x12345));
	EXPECT_EQ(backend.calls, std::vector<std::uint32_t>{0x12345});
	EXPECT_EQ(bridge.calls(), 1U);

	// Everything else on BAR 0 is ignored.
	EXPECT_TRUE(out(0xc000 + VBUS_KVM_REG_CALL, 1, 2));
	EXPECT_TRUE(out(0xc004, 1));
	EXPECT_EQ(in(0xc000), 0xffffffffU);
	EXPECT_EQ(backend.calls.size(), 1U);
	EXPECT_EQ(bridge.ignored(), 3U);
	EXPECT_EQ(bridge.doorbell_exits(), 0U);
	// Not ours.
	EXPECT_FALSE(out(0xc010 - 16 - 1, 1));
	EXPECT_FALSE(in(0xbfff));
}

TEST_F(Bridge, DoorbellAccessesThatExitAreIgnored)
{
	EXPECT_TRUE(out(0xc400, 1, 1)); // a byte: no ioeventfd matches
	EXPECT_TRUE(out(0xc7fc, 1));
	EXPECT_EQ(in(0xc404), 0xffffffffU);
	EXPECT_FALSE(out(0xc800, 1));
	EXPECT_EQ(bridge.doorbell_exits(), 3U);
	EXPECT_EQ(bridge.ignored(), 0U);
	EXPECT_TRUE(backend.calls.empty());
}

TEST_F(Bridge, NoDecodingNoAccess)
{
	set_cfg(pci::kCommand, pci::kCommandMemory, 2);
	EXPECT_FALSE(out(0xc000, 0x1));
	EXPECT_TRUE(backend.calls.empty());
	std::uint64_t v = 0;
	set_cfg(pci::kCommand, 0, 2);
	EXPECT_FALSE(bridge.mmio(0xe0000000, 4, false, v));
}

TEST_F(Bridge, DoorbellsFollowBar1)
{
	const unsigned bar1 = pci::kBar0 + (4 * VBUS_KVM_BAR_DOORBELL);
	EXPECT_EQ(bridge.doorbell_base(), 0xc400);
	set_cfg(bar1, 0xd000);
	ASSERT_EQ(backend.moves.size(), 1U);
	EXPECT_EQ(backend.moves.back(), 0xd000);
	EXPECT_EQ(bridge.doorbell_base(), 0xd000);
	EXPECT_TRUE(out(0xd000, 1, 1));
	EXPECT_FALSE(out(0xc400, 1, 1));

	// With I/O decoding off they stay; when it comes back they follow.
	set_cfg(pci::kCommand, pci::kCommandMemory, 2);
	set_cfg(bar1, 0xe000);
	EXPECT_EQ(backend.moves.size(), 1U);
	set_cfg(pci::kCommand, pci::kCommandIo | pci::kCommandMemory, 2);
	ASSERT_EQ(backend.moves.size(), 2U);
	EXPECT_EQ(backend.moves.back(), 0xe000);

	// Sizing with decoding on: unmapped, then back.
	set_cfg(bar1, 0xffffffff);
	set_cfg(bar1, 0xe000);
	ASSERT_EQ(backend.moves.size(), 4U);
	EXPECT_EQ(backend.moves.at(2), std::nullopt);
	EXPECT_EQ(backend.moves.at(3), 0xe000);
}

TEST_F(Bridge, MsixTableThroughBar2)
{
	const unsigned cap = msix_cap();
	std::uint64_t v = 0xfee00000;
	EXPECT_TRUE(bridge.mmio(0xe0000000 + 16, 4, true, v));
	v = 0x4022;
	EXPECT_TRUE(bridge.mmio(0xe0000000 + 24, 4, true, v));
	EXPECT_EQ(backend.msix_changes, 2U);
	EXPECT_TRUE(backend.deliverable.empty());

	set_cfg(cap + 2, MsixTable::kControlEnable | MsixTable::kControlMaskAll, 2);
	EXPECT_TRUE(backend.deliverable.empty());
	v = 0;
	EXPECT_TRUE(bridge.mmio(0xe0000000 + 28, 4, true, v)); // unmask entry 1
	EXPECT_TRUE(backend.deliverable.empty());
	set_cfg(cap + 2, MsixTable::kControlEnable, 2);
	EXPECT_EQ(backend.deliverable, std::set<unsigned>{1});

	v = 0;
	EXPECT_TRUE(bridge.mmio(0xe0000000 + 16, 8, false, v));
	EXPECT_EQ(v, 0xfee00000U);
	EXPECT_FALSE(bridge.mmio(0xe0001000, 4, false, v));

	// The PBA shows what waits on vectors that cannot deliver.
	backend.pending = {1, 2};
	v = 0;
	EXPECT_TRUE(bridge.mmio(0xe0000000 + (33 * 16), 8, false, v));
	EXPECT_EQ(v, 1U << 2U);
}

} // namespace
} // namespace vbusvm
