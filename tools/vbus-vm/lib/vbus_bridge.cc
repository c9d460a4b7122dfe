// SPDX-License-Identifier: GPL-2.0
//
// The vbus bridge's configuration space and BARs.

#include "vbus_bridge.hh"

#include "error.hh"

#include <vbus/kvm.h>

#include <array>

namespace vbusvm
{

namespace
{

constexpr std::uint32_t kPortSpace = 0x10000;
constexpr std::uint32_t kAllOnes = 0xffffffff;
constexpr unsigned kMsixControl = 2; // in the capability
constexpr std::uint16_t kSubsystemDevice = 0x0001;

std::uint32_t align_up(std::uint32_t v, std::uint32_t align)
{
	return (v + align - 1) & ~(align - 1);
}

std::uint32_t pow2_at_least(std::uint32_t v)
{
	std::uint32_t p = 4;
	while (p < v) {
		p <<= 1U;
	}
	return p;
}

} // namespace

BridgeLayout BridgeLayout::make(unsigned doorbells, unsigned vectors, std::uint16_t io_base,
                                std::uint32_t mmio_base)
{
	BridgeLayout l;
	l.doorbells = doorbells;
	l.vectors = vectors;
	l.call_port = static_cast<std::uint16_t>(align_up(io_base, VBUS_KVM_CALL_BAR_SIZE));
	l.doorbell_port = static_cast<std::uint16_t>(
	    align_up(l.call_port + VBUS_KVM_CALL_BAR_SIZE, l.doorbell_bar_size()));
	l.msix_address = align_up(mmio_base, MsixTable(vectors).bar_size());
	return l;
}

std::uint32_t BridgeLayout::doorbell_bar_size() const
{
	return pow2_at_least(doorbells * VBUS_KVM_DOORBELL_STRIDE);
}

VbusBridge::VbusBridge(const BridgeLayout &layout, BridgeBackend &backend)
    : layout_(layout), backend_(backend),
      config_(VBUS_KVM_PCI_VENDOR, VBUS_KVM_PCI_DEVICE, VBUS_KVM_PCI_CLASS), msix_(layout.vectors),
      doorbells_at_(layout.doorbell_port)
{
	if (std::uint32_t{layout.doorbell_port} + layout.doorbell_bar_size() > kPortSpace) {
		throw Error("vbus bridge", "place BARs",
		            "the doorbells do not fit in the port space");
	}
	config_.set_subsystem(VBUS_KVM_PCI_VENDOR, kSubsystemDevice);
	config_.add_bar(VBUS_KVM_BAR_CALL, PciConfig::BarKind::io, VBUS_KVM_CALL_BAR_SIZE,
	                layout.call_port);
	config_.add_bar(VBUS_KVM_BAR_DOORBELL, PciConfig::BarKind::io, layout.doorbell_bar_size(),
	                layout.doorbell_port);
	config_.add_bar(VBUS_KVM_BAR_MSIX, PciConfig::BarKind::mem32, msix_.bar_size(),
	                layout.msix_address);

	// MSI-X capability: message control (table size - 1; enable and
	// mask all writable), table at BAR 2 offset 0, PBA behind it.
	const auto table_size = static_cast<std::uint16_t>(layout.vectors - 1);
	const std::uint32_t table = 0 | VBUS_KVM_BAR_MSIX;
	const std::uint32_t pba = msix_.pba_offset() | VBUS_KVM_BAR_MSIX;
	const std::array<std::uint8_t, 12> cap = {
	    pci::kCapMsix,
	    0,
	    static_cast<std::uint8_t>(table_size),
	    static_cast<std::uint8_t>(table_size >> 8U),
	    static_cast<std::uint8_t>(table),
	    static_cast<std::uint8_t>(table >> 8U),
	    static_cast<std::uint8_t>(table >> 16U),
	    static_cast<std::uint8_t>(table >> 24U),
	    static_cast<std::uint8_t>(pba),
	    static_cast<std::uint8_t>(pba >> 8U),
	    static_cast<std::uint8_t>(pba >> 16U),
	    static_cast<std::uint8_t>(pba >> 24U),
	};
	const std::array<std::uint8_t, 12> writable = {0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0};
	msix_cap_ = config_.add_capability(cap, writable);

	// Pre-assigned and decoding, as firmware would leave it; Linux
	// with pci=conf1 keeps the assignment.
	config_.write(pci::kCommand, 2, pci::kCommandIo | pci::kCommandMemory);
}

std::uint32_t VbusBridge::config_read(unsigned offset, unsigned size)
{
	const std::scoped_lock lock(mutex_);
	return config_.read(offset, size);
}

void VbusBridge::config_write(unsigned offset, unsigned size, std::uint32_t value)
{
	const std::scoped_lock lock(mutex_);
	const std::uint32_t old_control = config_.read(msix_cap_ + kMsixControl, 2);
	config_.write(offset, size, value);

	if (config_.read(msix_cap_ + kMsixControl, 2) != old_control) {
		apply_msix_control();
		backend_.msix_changed(msix_);
	}
	// The ioeventfds follow BAR 1 whenever I/O decoding is on.  While
	// it is off (Linux turns it off to size the BARs) they stay where
	// they are, so sizing does not re-register every slot twice.
	if (config_.io_enabled()) {
		const auto base = io_bar(VBUS_KVM_BAR_DOORBELL);
		if (base != doorbells_at_) {
			backend_.doorbells_moved(base);
			doorbells_at_ = base;
		}
	}
}

void VbusBridge::apply_msix_control()
{
	msix_.set_control(static_cast<std::uint16_t>(config_.read(msix_cap_ + kMsixControl, 2)));
}

std::optional<std::uint16_t> VbusBridge::io_bar(unsigned index) const
{
	if (!config_.io_enabled()) {
		return std::nullopt;
	}
	const std::uint32_t base = config_.bar_address(index);
	if (base == 0 || std::uint64_t{base} + config_.bar_size(index) > kPortSpace) {
		return std::nullopt;
	}
	return static_cast<std::uint16_t>(base);
}

std::optional<std::uint16_t> VbusBridge::doorbell_base() const
{
	const std::scoped_lock lock(mutex_);
	return doorbells_at_;
}

bool VbusBridge::pio(std::uint16_t port, unsigned size, bool write, std::uint32_t &value)
{
	bool is_call = false;
	bool is_bell = false;
	{
		const std::scoped_lock lock(mutex_);
		const auto call = io_bar(VBUS_KVM_BAR_CALL);
		const auto bell = io_bar(VBUS_KVM_BAR_DOORBELL);
		const bool in_call = call && port >= *call && port < *call + VBUS_KVM_CALL_BAR_SIZE;
		const bool in_bell =
		    bell && port >= *bell && port < *bell + layout_.doorbell_bar_size();
		if (!in_call && !in_bell) {
			return false;
		}
		is_call = in_call && write && size == 4 && port == *call + VBUS_KVM_REG_CALL;
		is_bell = !in_call;
	}
	if (!is_call) {
		++(is_bell ? doorbell_exits_ : ignored_);
		if (!write) {
			value = kAllOnes;
		}
		return true;
	}
	// Synchronous: the vCPU resumes when the call is done.
	++calls_;
	backend_.call(value);
	return true;
}

bool VbusBridge::mmio(std::uint64_t addr, unsigned size, bool write, std::uint64_t &value)
{
	const std::scoped_lock lock(mutex_);
	const std::uint64_t base = config_.bar_address(VBUS_KVM_BAR_MSIX);
	if (!config_.memory_enabled() || base == 0 || addr < base ||
	    addr + size > base + msix_.bar_size()) {
		return false;
	}
	if (write) {
		if (msix_.write(addr - base, size, value)) {
			backend_.msix_changed(msix_);
		}
	} else {
		value = msix_.read(addr - base, size, [this](unsigned v) {
			return !msix_.deliverable(v) && backend_.vector_pending(v);
		});
	}
	return true;
}

} // namespace vbusvm
