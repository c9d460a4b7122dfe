// SPDX-License-Identifier: GPL-2.0
//
// /dev/kvm, a VM and its vCPUs: owned file descriptors whose ioctls throw
// an Error naming the object and the ioctl.

#pragma once

#include "fd.hh"

#include <linux/kvm.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace vbusvm
{

class Kvm
{
public:
	// Opens @path (normally /dev/kvm) and checks the API version and
	// the capabilities vbus-vm needs.
	explicit Kvm(std::string path);

	[[nodiscard]] int fd() const { return fd_.get(); }
	[[nodiscard]] const std::string &path() const { return path_; }
	[[nodiscard]] std::size_t vcpu_mmap_size() const;
	[[nodiscard]] std::vector<kvm_cpuid_entry2> supported_cpuid() const;
	// Whether KVM_CHECK_EXTENSION reports capability @cap.
	[[nodiscard]] bool has(unsigned cap) const;

private:
	std::string path_;
	Fd fd_;
};

class Vm
{
public:
	explicit Vm(const Kvm &kvm);

	[[nodiscard]] int fd() const { return fd_.get(); }
	void set_tss_addr(std::uint64_t addr) const;
	// KVM_CAP_HALT_POLL: KVM polls a halted vCPU of this VM for at most @ns.
	void set_halt_poll_ns(unsigned ns) const;
	void set_memory(std::uint32_t slot, std::uint64_t gpa, std::span<std::uint8_t> host) const;
	void create_irqchip() const;
	void create_pit() const;
	// Drives GSI @gsi's line (the in-kernel PIC and IOAPIC).
	void irq_line(unsigned gsi, bool level) const;
	void set_routing(std::span<const kvm_irq_routing_entry> routes) const;
	void irqfd(int fd, unsigned gsi, bool assign) const;
	// A 32-bit port write to @port signals @fd without an exit.
	void ioeventfd(int fd, std::uint16_t port, unsigned len, bool assign) const;
	[[nodiscard]] Fd create_vcpu(unsigned id) const;

private:
	Fd fd_;
};

class Vcpu
{
public:
	Vcpu(const Kvm &kvm, const Vm &vm, unsigned id);

	[[nodiscard]] unsigned id() const { return id_; }
	[[nodiscard]] const std::string &name() const { return name_; }
	// The shared run structure and the bytes it spans (for PIO data).
	[[nodiscard]] kvm_run &run_state() const { return *static_cast<kvm_run *>(run_.get()); }
	[[nodiscard]] std::span<std::uint8_t> run_bytes() const { return run_.bytes(); }

	void set_cpuid(std::span<const kvm_cpuid_entry2> entries) const;
	[[nodiscard]] kvm_sregs sregs() const;
	void set_sregs(const kvm_sregs &sregs) const;
	[[nodiscard]] kvm_regs regs() const;
	void set_regs(const kvm_regs &regs) const;
	void set_fpu(const kvm_fpu &fpu) const;
	void set_msrs(std::span<const kvm_msr_entry> msrs) const;
	void set_xcr0(std::uint64_t xcr0) const;
	[[nodiscard]] kvm_lapic_state lapic() const;
	void set_lapic(const kvm_lapic_state &lapic) const;

	// KVM_RUN: 0 or the errno (EINTR when kicked).
	[[nodiscard]] int run() const noexcept;
	// Makes the current or next KVM_RUN return EINTR (with a signal to
	// the vCPU's thread).
	void request_exit() const noexcept;

private:
	unsigned id_;
	std::string name_;
	Fd fd_;
	Mapping run_;
};

} // namespace vbusvm
