// SPDX-License-Identifier: GPL-2.0
//
// MP table construction.

#include "mptable.hh"

#include "layout.hh"

#include <initializer_list>
#include <numeric>
#include <span>
#include <string_view>

namespace vbusvm
{

namespace
{

enum EntryType : std::uint8_t {
	kProcessor = 0,
	kBus = 1,
	kIoapic = 2,
	kIntSrc = 3,
	kLintSrc = 4,
};

enum IrqType : std::uint8_t {
	kInt = 0,
	kNmi = 1,
	kExtInt = 3,
};

constexpr std::uint8_t kCpuEnabled = 1;
constexpr std::uint8_t kCpuBsp = 2;
constexpr std::uint32_t kCpuSignature = 0x600; // family 6
constexpr std::uint32_t kCpuFeatures = 0x201;  // FPU, APIC
constexpr std::uint8_t kSpecRev = 4;
constexpr std::uint8_t kAllApics = 0xff;

class Writer
{
public:
	explicit Writer(std::vector<std::uint8_t> &out) : out_(out) {}

	void u8(std::uint8_t v) { out_.push_back(v); }
	void u16(std::uint16_t v)
	{
		u8(static_cast<std::uint8_t>(v));
		u8(static_cast<std::uint8_t>(v >> 8U));
	}
	void u32(std::uint32_t v)
	{
		u16(static_cast<std::uint16_t>(v));
		u16(static_cast<std::uint16_t>(v >> 16U));
	}
	void text(std::string_view s, std::size_t width)
	{
		for (std::size_t i = 0; i < width; ++i) {
			u8(i < s.size() ? static_cast<std::uint8_t>(s[i]) : ' ');
		}
	}
	void zeros(std::size_t n) { out_.insert(out_.end(), n, 0); }

private:
	std::vector<std::uint8_t> &out_;
};

// The byte that makes @bytes sum to zero, given that it is zero now.
std::uint8_t checksum(std::span<const std::uint8_t> bytes)
{
	const unsigned sum = std::accumulate(bytes.begin(), bytes.end(), 0U);
	return static_cast<std::uint8_t>(0x100U - (sum & 0xffU));
}

void put_u16(std::vector<std::uint8_t> &buf, std::size_t at, std::uint16_t v)
{
	buf.at(at) = static_cast<std::uint8_t>(v);
	buf.at(at + 1) = static_cast<std::uint8_t>(v >> 8U);
}

} // namespace

std::vector<std::uint8_t> build_mp_table(unsigned ncpus, std::uint32_t base)
{
	std::vector<std::uint8_t> buf;
	Writer w(buf);
	const auto ioapic_id = static_cast<std::uint8_t>(ncpus);

	// Floating pointer structure.
	w.text("_MP_", 4);
	w.u32(base + static_cast<std::uint32_t>(mp::kFloatingSize)); // the table follows
	w.u8(1);                                                     // length in 16 bytes
	w.u8(kSpecRev);
	w.u8(0);    // checksum
	w.zeros(5); // feature bytes: a table is present, no IMCR
	buf.at(10) = checksum(buf);

	// Configuration table header; length, count and checksum come last.
	const std::size_t table = buf.size();
	w.text("PCMP", 4);
	w.u16(0); // length
	w.u8(kSpecRev);
	w.u8(0); // checksum
	w.text("VBUS", 8);
	w.text("VBUS-VM", 12);
	w.u32(0); // OEM table
	w.u16(0); // OEM table size
	w.u16(0); // entry count
	w.u32(layout::kLapic);
	w.u16(0); // extended table length
	w.u8(0);  // extended table checksum
	w.u8(0);

	std::uint16_t count = 0;
	for (unsigned cpu = 0; cpu < ncpus; ++cpu, ++count) {
		w.u8(kProcessor);
		w.u8(static_cast<std::uint8_t>(cpu)); // local APIC id
		w.u8(mp::kApicVersion);
		w.u8(static_cast<std::uint8_t>(kCpuEnabled | (cpu == 0 ? kCpuBsp : 0)));
		w.u32(kCpuSignature);
		w.u32(kCpuFeatures);
		w.zeros(8);
	}
	w.u8(kBus);
	w.u8(mp::kBusPci);
	w.text("PCI", 6);
	w.u8(kBus);
	w.u8(mp::kBusIsa);
	w.text("ISA", 6);
	count += 2;

	w.u8(kIoapic);
	w.u8(ioapic_id);
	w.u8(0x11); // IOAPIC version
	w.u8(1);    // usable
	w.u32(layout::kIoapic);
	++count;

	for (unsigned irq = 0; irq < mp::kIsaIrqs; ++irq) {
		if (irq == 2) {
			continue; // the PICs' cascade
		}
		w.u8(kIntSrc);
		w.u8(kInt);
		w.u16(0); // polarity and trigger: conforming to the bus
		w.u8(mp::kBusIsa);
		w.u8(static_cast<std::uint8_t>(irq));
		w.u8(ioapic_id);
		w.u8(static_cast<std::uint8_t>(irq));
		++count;
	}

	// The PIC's ExtINT to the BSP's LINT0, NMI to every LINT1.
	struct Lint {
		IrqType type;
		std::uint8_t apic;
		std::uint8_t pin;
	};
	for (const Lint &l : {Lint{kExtInt, 0, 0}, Lint{kNmi, kAllApics, 1}}) {
		w.u8(kLintSrc);
		w.u8(l.type);
		w.u16(0);
		w.u8(mp::kBusIsa);
		w.u8(0);
		w.u8(l.apic);
		w.u8(l.pin);
		++count;
	}

	put_u16(buf, table + 4, static_cast<std::uint16_t>(buf.size() - table));
	put_u16(buf, table + 34, count);
	buf.at(table + 7) = checksum(std::span(buf).subspan(table));
	return buf;
}

} // namespace vbusvm
