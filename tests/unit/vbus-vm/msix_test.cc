// SPDX-License-Identifier: GPL-2.0
// vbus-vm: the MSI-X table and PBA, and the GSI routes made from them.

#include <gtest/gtest.h>

#include <irq_routing.hh>
#include <msix.hh>

#include <set>

namespace vbusvm
{
namespace
{

const auto kNonePending = [](unsigned) { return false; };

// Programs entry @v as Linux does: address, upper address, data, then
// the vector control.
void program(MsixTable &t, unsigned v, std::uint32_t addr, std::uint32_t data, bool masked)
{
	const std::uint64_t e = std::uint64_t{v} * MsixTable::kEntrySize;
	t.write(e, 4, addr);
	t.write(e + 4, 4, 0);
	t.write(e + 8, 4, data);
	t.write(e + 12, 4, masked ? 1 : 0);
}

TEST(Msix, Layout)
{
	const MsixTable t(33);
	EXPECT_EQ(t.vectors(), 33U);
	EXPECT_EQ(t.pba_offset(), 33 * 16U);
	EXPECT_EQ(t.pba_size(), 8U);
	EXPECT_EQ(t.bar_size(), 4096U);

	const MsixTable big(2048);
	EXPECT_EQ(big.pba_offset(), 32768U);
	EXPECT_EQ(big.pba_size(), 256U);
	EXPECT_EQ(big.bar_size(), 65536U);

	EXPECT_ANY_THROW(MsixTable(0));
	EXPECT_ANY_THROW(MsixTable(2049));
}

TEST(Msix, EntriesStartMasked)
{
	const MsixTable t(4);
	for (unsigned v = 0; v < 4; ++v) {
		EXPECT_TRUE(t.entry_masked(v));
		EXPECT_EQ(t.read((v * 16) + 12, 4, kNonePending), 1U);
		EXPECT_EQ(t.message(v), MsiMessage{});
	}
}

TEST(Msix, DecodesMessages)
{
	MsixTable t(4);
	EXPECT_TRUE(t.write(16, 4, 0xfee01000));
	EXPECT_TRUE(t.write(20, 4, 0x12));
	EXPECT_TRUE(t.write(24, 4, 0x4041));
	EXPECT_EQ(t.message(1).address, 0x12fee01000ULL);
	EXPECT_EQ(t.message(1).data, 0x4041U);
	EXPECT_EQ(t.read(16, 8, kNonePending), 0x12fee01000ULL);
	EXPECT_EQ(t.read(24, 2, kNonePending), 0x4041U);
	EXPECT_EQ(t.read(25, 1, kNonePending), 0x40U);

	// A 64-bit write of address, and an unchanged write.
	EXPECT_TRUE(t.write(32, 8, 0xfee02000));
	EXPECT_EQ(t.message(2).address, 0xfee02000ULL);
	EXPECT_FALSE(t.write(32, 8, 0xfee02000));
}

TEST(Msix, OnlyTheMaskBitOfVectorControlIsWritable)
{
	MsixTable t(2);
	EXPECT_TRUE(t.write(12, 4, 0xfffffffe));
	EXPECT_EQ(t.read(12, 4, kNonePending), 0U);
	EXPECT_FALSE(t.entry_masked(0));
	EXPECT_TRUE(t.write(12, 4, 0xffffffff));
	EXPECT_EQ(t.read(12, 4, kNonePending), 1U);
}

TEST(Msix, PbaIsReadOnlyAndShowsPending)
{
	MsixTable t(70);
	const std::set<unsigned> pending = {0, 9, 64, 69};
	const auto probe = [&](unsigned v) { return pending.contains(v); };
	EXPECT_EQ(t.read(t.pba_offset(), 8, probe), (1ULL << 0U) | (1ULL << 9U));
	EXPECT_EQ(t.read(t.pba_offset() + 8, 8, probe), (1ULL << 0U) | (1ULL << 5U));
	EXPECT_EQ(t.read(t.pba_offset() + 1, 1, probe), 0x02U);
	EXPECT_FALSE(t.write(t.pba_offset(), 8, ~0ULL));
	EXPECT_EQ(t.read(t.pba_offset(), 8, kNonePending), 0U);
	// Beyond the PBA: reads zero, writes are dropped.
	EXPECT_EQ(t.read(t.bar_size() - 8, 8, probe), 0U);
	EXPECT_FALSE(t.write(t.bar_size() - 8, 8, ~0ULL));
}

TEST(Msix, Deliverable)
{
	MsixTable t(2);
	program(t, 0, 0xfee00000, 0x30, false);
	program(t, 1, 0xfee00000, 0x31, true);
	EXPECT_FALSE(t.deliverable(0)); // MSI-X off
	t.set_control(MsixTable::kControlEnable | MsixTable::kControlMaskAll);
	EXPECT_TRUE(t.enabled());
	EXPECT_TRUE(t.function_masked());
	EXPECT_FALSE(t.deliverable(0));
	t.set_control(MsixTable::kControlEnable);
	EXPECT_TRUE(t.deliverable(0));
	EXPECT_FALSE(t.deliverable(1));
	t.write(16 + 12, 4, 0);
	EXPECT_TRUE(t.deliverable(1));
	t.set_control(0);
	EXPECT_FALSE(t.deliverable(0));
	EXPECT_FALSE(t.deliverable(1));
}

// The union members of a route (KVM's ABI).
const kvm_irq_routing_irqchip &chip_of(const kvm_irq_routing_entry &r)
{
	return r.u.irqchip; // NOLINT(cppcoreguidelines-pro-type-union-access)
}

const kvm_irq_routing_msi &msi_of(const kvm_irq_routing_entry &r)
{
	return r.u.msi; // NOLINT(cppcoreguidelines-pro-type-union-access)
}

unsigned count(const std::vector<kvm_irq_routing_entry> &routes, std::uint32_t type,
               std::uint32_t chip)
{
	unsigned n = 0;
	for (const auto &r : routes) {
		if (r.type == type &&
		    (type != KVM_IRQ_ROUTING_IRQCHIP || chip_of(r).irqchip == chip)) {
			++n;
		}
	}
	return n;
}

TEST(Routing, DefaultRoutesLikeKvm)
{
	const auto routes = default_routes();
	EXPECT_EQ(routes.size(), 15U + 24U);
	EXPECT_EQ(count(routes, KVM_IRQ_ROUTING_IRQCHIP, KVM_IRQCHIP_PIC_MASTER), 7U);
	EXPECT_EQ(count(routes, KVM_IRQ_ROUTING_IRQCHIP, KVM_IRQCHIP_PIC_SLAVE), 8U);
	EXPECT_EQ(count(routes, KVM_IRQ_ROUTING_IRQCHIP, KVM_IRQCHIP_IOAPIC), 24U);
	for (const auto &r : routes) {
		if (chip_of(r).irqchip == KVM_IRQCHIP_IOAPIC) {
			EXPECT_EQ(chip_of(r).pin, r.gsi);
		} else if (chip_of(r).irqchip == KVM_IRQCHIP_PIC_MASTER) {
			EXPECT_EQ(chip_of(r).pin, r.gsi);
			EXPECT_NE(r.gsi, 2U); // the cascade
		} else {
			EXPECT_EQ(chip_of(r).pin, r.gsi - 8);
		}
	}
}

TEST(Routing, OneMsiRoutePerDeliverableVector)
{
	MsixTable t(33);
	program(t, 0, 0xfee00000, 0x4021, false);
	program(t, 5, 0xfee01000, 0x4035, false);
	program(t, 6, 0xfee02000, 0x4036, true);
	EXPECT_EQ(routes_for(t).size(), 39U); // MSI-X is off

	t.set_control(MsixTable::kControlEnable);
	const auto routes = routes_for(t);
	ASSERT_EQ(routes.size(), 41U);
	EXPECT_EQ(count(routes, KVM_IRQ_ROUTING_MSI, 0), 2U);
	const auto &r0 = routes.at(39);
	EXPECT_EQ(r0.type, KVM_IRQ_ROUTING_MSI);
	EXPECT_EQ(r0.gsi, kMsixGsiBase + 0);
	EXPECT_EQ(msi_of(r0).address_lo, 0xfee00000U);
	EXPECT_EQ(msi_of(r0).address_hi, 0U);
	EXPECT_EQ(msi_of(r0).data, 0x4021U);
	const auto &r5 = routes.at(40);
	EXPECT_EQ(r5.gsi, kMsixGsiBase + 5);
	EXPECT_EQ(msi_of(r5).address_lo, 0xfee01000U);
	EXPECT_EQ(msi_of(r5).data, 0x4035U);

	t.set_control(MsixTable::kControlEnable | MsixTable::kControlMaskAll);
	EXPECT_EQ(routes_for(t).size(), 39U);
}

} // namespace
} // namespace vbusvm
