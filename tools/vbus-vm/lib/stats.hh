// SPDX-License-Identifier: GPL-2.0
//
// Counters of what the vCPUs exited for, printed with --stats.

#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <iosfwd>

namespace vbusvm
{

struct Stats {
	using Counter = std::atomic<std::uint64_t>;
	// The calls of <vbus/kvm.h> are numbered 1 to 7.
	static constexpr std::size_t kCallOps = 8;

	// Why KVM_RUN returned to user space.
	Counter exit_io;
	Counter exit_mmio;
	Counter exit_hlt;
	Counter exit_shutdown;
	Counter exit_system_event;
	Counter exit_other;
	Counter interrupted; // by a signal: not an exit of the guest's

	// What the port and memory exits were for.
	Counter serial;     // UART registers
	Counter pci_config; // 0xcf8-0xcff
	Counter legacy;     // i8042, CMOS, POST port, reset control
	Counter bridge;     // vbus bridge BARs 0 and 1
	Counter unknown_pio;
	Counter msix; // MSI-X table and PBA
	Counter unknown_mmio;

	// The vbus bridge (filled in from it before printing).
	Counter calls;
	// By the operation in the call page: [VBUS_KVM_OP_HELLO] to
	// [VBUS_KVM_OP_RESET]; [0] for any other value, or a page that is
	// not RAM.
	std::array<Counter, kCallOps> call_ops{};
	Counter call_errors;
	Counter doorbell_exits; // BAR 1 accesses no ioeventfd took
	Counter bridge_ignored; // other BAR 0 accesses

	[[nodiscard]] std::uint64_t user_exits() const;
	// A few lines on @out, each starting with "vbus-vm: ".
	void print(std::ostream &out) const;
};

} // namespace vbusvm
