// SPDX-License-Identifier: GPL-2.0
// vbus-vm: the MP table.

#include <gtest/gtest.h>

#include <mptable.hh>

#include <cstdint>
#include <numeric>
#include <vector>

namespace vbusvm
{
namespace
{

constexpr std::uint32_t kBase = 0xf0000;

unsigned sum(const std::vector<std::uint8_t> &b, std::size_t from, std::size_t len)
{
	return std::accumulate(b.begin() + static_cast<std::ptrdiff_t>(from),
	                       b.begin() + static_cast<std::ptrdiff_t>(from + len), 0U) &
	       0xffU;
}

std::uint16_t u16(const std::vector<std::uint8_t> &b, std::size_t at)
{
	return static_cast<std::uint16_t>(b.at(at) | (b.at(at + 1) << 8U));
}

std::uint32_t u32(const std::vector<std::uint8_t> &b, std::size_t at)
{
	return u16(b, at) | (std::uint32_t{u16(b, at + 2)} << 16U);
}

struct Entry {
	std::size_t offset;
	std::uint8_t type;
};

// The entries of the table, by walking it as Linux's parser does.
std::vector<Entry> entries(const std::vector<std::uint8_t> &b)
{
	std::vector<Entry> out;
	std::size_t at = mp::kFloatingSize + mp::kHeaderSize;
	const std::size_t end = mp::kFloatingSize + u16(b, mp::kFloatingSize + 4);
	while (at < end) {
		const std::uint8_t type = b.at(at);
		out.push_back({at, type});
		at += type == 0 ? mp::kCpuEntrySize : mp::kEntrySize;
	}
	EXPECT_EQ(at, end);
	return out;
}

class MpTable : public ::testing::TestWithParam<unsigned>
{
};

TEST_P(MpTable, ChecksumsAndCounts)
{
	const unsigned ncpus = GetParam();
	const auto b = build_mp_table(ncpus, kBase);

	// Floating pointer: "_MP_", pointer to the table, 1 paragraph, 1.4.
	ASSERT_GE(b.size(), mp::kFloatingSize + mp::kHeaderSize);
	EXPECT_EQ(std::string(b.begin(), b.begin() + 4), "_MP_");
	EXPECT_EQ(u32(b, 4), kBase + mp::kFloatingSize);
	EXPECT_EQ(b.at(8), 1);
	EXPECT_EQ(b.at(9), 4);
	EXPECT_EQ(sum(b, 0, mp::kFloatingSize), 0U);

	// Table header: "PCMP", length, checksum over the whole table.
	const std::size_t t = mp::kFloatingSize;
	EXPECT_EQ(std::string(b.begin() + t, b.begin() + t + 4), "PCMP");
	const std::size_t len = u16(b, t + 4);
	EXPECT_EQ(t + len, b.size());
	EXPECT_EQ(sum(b, t, len), 0U);
	EXPECT_EQ(u32(b, t + 36), 0xfee00000U); // local APIC

	const auto all = entries(b);
	EXPECT_EQ(u16(b, t + 34), all.size());
	// CPUs, 2 buses, 1 IOAPIC, 15 ISA interrupts, 2 local interrupts.
	EXPECT_EQ(all.size(), ncpus + 2 + 1 + 15 + 2);

	unsigned cpus = 0;
	unsigned bsp = 0;
	for (const auto &e : all) {
		if (e.type != 0) {
			continue;
		}
		EXPECT_EQ(b.at(e.offset + 1), cpus);  // APIC id
		EXPECT_NE(b.at(e.offset + 3) & 1, 0); // enabled
		if ((b.at(e.offset + 3) & 2) != 0) {
			++bsp;
			EXPECT_EQ(cpus, 0U);
		}
		++cpus;
	}
	EXPECT_EQ(cpus, ncpus);
	EXPECT_EQ(bsp, 1U);
}

INSTANTIATE_TEST_SUITE_P(Cpus, MpTable, ::testing::Values(1U, 2U, 4U, 64U));

TEST(MpTableLayout, BusesIoapicAndIsaInterrupts)
{
	const unsigned ncpus = 2;
	const auto b = build_mp_table(ncpus, kBase);
	std::vector<std::string> buses;
	std::vector<unsigned> isa_irqs;
	unsigned ioapics = 0;
	unsigned lints = 0;
	for (const auto &e : entries(b)) {
		switch (e.type) {
		case 1: {
			const std::string name(
			    b.begin() + static_cast<std::ptrdiff_t>(e.offset + 2),
			    b.begin() + static_cast<std::ptrdiff_t>(e.offset + 8));
			buses.push_back(std::to_string(b.at(e.offset + 1)) + ":" + name);
			break;
		}
		case 2:
			++ioapics;
			EXPECT_EQ(b.at(e.offset + 1), ncpus); // IOAPIC id after the CPUs
			EXPECT_EQ(b.at(e.offset + 3), 1);     // usable
			EXPECT_EQ(u32(b, e.offset + 4), 0xfec00000U);
			break;
		case 3:
			EXPECT_EQ(b.at(e.offset + 1), 0);                  // mp_INT
			EXPECT_EQ(b.at(e.offset + 4), mp::kBusIsa);        // source bus
			EXPECT_EQ(b.at(e.offset + 5), b.at(e.offset + 7)); // IRQ n -> pin n
			EXPECT_EQ(b.at(e.offset + 6), ncpus);              // to the IOAPIC
			isa_irqs.push_back(b.at(e.offset + 5));
			break;
		case 4:
			++lints;
			EXPECT_EQ(b.at(e.offset + 1), lints == 1 ? 3 : 1); // ExtINT, then NMI
			EXPECT_EQ(b.at(e.offset + 7), lints - 1);          // LINT0, LINT1
			break;
		default:
			break;
		}
	}
	EXPECT_EQ(buses, (std::vector<std::string>{"0:PCI   ", "1:ISA   "}));
	EXPECT_EQ(ioapics, 1U);
	EXPECT_EQ(lints, 2U);
	EXPECT_EQ(isa_irqs,
	          (std::vector<unsigned>{0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}));
}

} // namespace
} // namespace vbusvm
