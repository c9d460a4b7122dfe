// SPDX-License-Identifier: GPL-2.0
//
// The virtual machine: KVM, RAM with the guest kernel loaded, the
// in-kernel interrupt controllers and PIT, a UART, CMOS, the PCI bus with
// the host bridge and (with --container) the vbus bridge, and one thread
// per vCPU.

#pragma once

#include "boot_files.hh"
#include "error.hh"
#include "eventfd.hh"
#include "guest_memory.hh"
#include "kvm.hh"
#include "options.hh"
#include "pci_bus.hh"
#include "serial.hh"
#include "stats.hh"
#include "vbus_bridge.hh"
#include "vbus_connector.hh"
#include "vbus_link.hh"

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace vbusvm
{

class Machine
{
public:
	// Builds the machine and loads the guest; throws an Error.
	explicit Machine(const Options &opts);
	Machine(const Machine &) = delete;
	Machine &operator=(const Machine &) = delete;
	Machine(Machine &&) = delete;
	Machine &operator=(Machine &&) = delete;
	~Machine() = default;

	// Runs the guest until it resets or powers off (0), a signal stops
	// it (128 + signal) or an error does (1, message on stderr).
	int run();

private:
	void log(const std::string &msg) const;
	void load_guest();
	void setup_vcpus();
	void vcpu_thread(const Vcpu &cpu);
	// false: this vCPU stops.
	bool handle_exit(const Vcpu &cpu);
	void handle_pio(const Vcpu &cpu);
	void handle_mmio(const Vcpu &cpu);
	std::uint32_t pio(std::uint16_t port, unsigned size, bool write, std::uint32_t value);
	void unknown(const char *space, std::uint64_t addr, unsigned size, bool write);
	// Ends the run with status; why is printed on stderr for a failure
	// or when loud (a reset nobody asked for), else only with -v.
	void stop(int status, const std::string &why, bool loud = false);
	void console_output(std::uint8_t byte);
	void main_loop(int signal_fd);
	void print_stats();

	Options opts_;
	Stats stats_;
	BootFiles files_;
	Kvm kvm_;
	Vm vm_;
	GuestMemory mem_;
	PciBus pci_;
	HostBridge host_bridge_;
	std::unique_ptr<Uart8250> serial_;
	Cmos cmos_;
	std::optional<VbusConnector> connector_;
	std::unique_ptr<VbusLink> link_;
	std::unique_ptr<VbusBridge> bridge_;
	std::vector<std::unique_ptr<Vcpu>> vcpus_;
	std::uint64_t entry_ = 0;

	EventFd stop_event_;
	std::mutex stop_mutex_;
	std::atomic<bool> stopping_ = false;
	int status_ = kExitOk;
	std::string why_;
	bool loud_ = false;
	std::atomic<unsigned> unknown_reported_ = 0;
};

} // namespace vbusvm
