// SPDX-License-Identifier: GPL-2.0
//
// The vbus bridge PCI function (include/uapi/vbus/kvm.h): BAR 0 the call
// register, BAR 1 the doorbells, BAR 2 the MSI-X table and PBA.  This is
// the guest-visible model; what it means for KVM and /dev/vbus-kvm is the
// backend's business.

#pragma once

#include "msix.hh"
#include "pci_bus.hh"
#include "pci_config.hh"

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>

namespace vbusvm
{

class BridgeBackend
{
public:
	BridgeBackend() = default;
	BridgeBackend(const BridgeBackend &) = delete;
	BridgeBackend &operator=(const BridgeBackend &) = delete;
	BridgeBackend(BridgeBackend &&) = delete;
	BridgeBackend &operator=(BridgeBackend &&) = delete;
	virtual ~BridgeBackend() = default;

	// The doorbell slots are now at port @base, or nowhere.
	virtual void doorbells_moved(std::optional<std::uint16_t> base) = 0;
	// MSI-X enable, a mask or a message changed.
	virtual void msix_changed(const MsixTable &table) = 0;
	// Whether a signal waits on vector @v (for the PBA of a masked one).
	virtual bool vector_pending(unsigned v) = 0;
	// The guest wrote @value to the call register (from its vCPU thread).
	virtual void call(std::uint32_t value) = 0;
};

struct BridgeLayout {
	unsigned doorbells = 256;
	unsigned vectors = 33;
	std::uint16_t call_port = 0;     // BAR 0
	std::uint16_t doorbell_port = 0; // BAR 1
	std::uint32_t msix_address = 0;  // BAR 2

	// BARs pre-assigned from @io_base and @mmio_base, each aligned to
	// its size.
	static BridgeLayout make(unsigned doorbells, unsigned vectors, std::uint16_t io_base,
	                         std::uint32_t mmio_base);
	[[nodiscard]] std::uint32_t doorbell_bar_size() const;
};

class VbusBridge final : public PciDevice
{
public:
	VbusBridge(const BridgeLayout &layout, BridgeBackend &backend);

	std::uint32_t config_read(unsigned offset, unsigned size) override;
	void config_write(unsigned offset, unsigned size, std::uint32_t value) override;

	// A port access; returns false when it is not for BAR 0 or 1.
	// Reads of the BARs and writes other than a 32-bit write of the call
	// register are ignored (reads return all ones) and counted: on BAR 1
	// as doorbell exits (no ioeventfd took them), on BAR 0 as ignored.
	bool pio(std::uint16_t port, unsigned size, bool write, std::uint32_t &value);
	// A memory access; returns false when it is not for BAR 2.
	bool mmio(std::uint64_t addr, unsigned size, bool write, std::uint64_t &value);

	[[nodiscard]] std::uint64_t calls() const { return calls_; }
	[[nodiscard]] std::uint64_t ignored() const { return ignored_; }
	[[nodiscard]] std::uint64_t doorbell_exits() const { return doorbell_exits_; }
	// Where the doorbell ioeventfds are now, as last told the backend.
	[[nodiscard]] std::optional<std::uint16_t> doorbell_base() const;

private:
	// The I/O BAR @index's base when I/O decoding is on and it fits the
	// 64 KiB port space.
	[[nodiscard]] std::optional<std::uint16_t> io_bar(unsigned index) const;
	void apply_msix_control();

	BridgeLayout layout_;
	BridgeBackend &backend_;
	mutable std::mutex mutex_;
	PciConfig config_;
	MsixTable msix_;
	unsigned msix_cap_ = 0;
	std::optional<std::uint16_t> doorbells_at_;
	std::atomic<std::uint64_t> calls_ = 0;
	std::atomic<std::uint64_t> ignored_ = 0;
	std::atomic<std::uint64_t> doorbell_exits_ = 0;
};

} // namespace vbusvm
