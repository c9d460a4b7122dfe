// SPDX-License-Identifier: GPL-2.0
//
// Building the machine, the vCPU threads and the exits they take.

#include "machine.hh"

#include "boot_cpu.hh"
#include "bootparams.hh"
#include "cpuid.hh"
#include "error.hh"
#include "layout.hh"
#include "mptable.hh"

#include <vbus/kvm.h>

#include <poll.h>
#include <pthread.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>
#include <thread>

namespace vbusvm
{

namespace
{

constexpr std::uint64_t kTssAddr = 0xfffbd000;
constexpr std::uint64_t kEntry64 = 0x200; // startup_64 from the load address
constexpr std::uint32_t kAllOnes = 0xffffffff;
constexpr std::uint16_t kI8042Data = 0x60;
constexpr std::uint16_t kI8042Command = 0x64;
constexpr std::uint8_t kI8042Reset = 0xfe;
// Output buffer full, input buffer empty: Linux's i8042 probe flushes 16
// bytes of ones and gives up at once, and reboot=k's wait for an empty
// input buffer ends at once.
constexpr std::uint8_t kI8042Status = 0x01;
constexpr std::uint16_t kResetControl = 0xcf9;
constexpr std::uint8_t kResetCpu = 0x04;
constexpr std::uint16_t kPostPort = 0x80;
constexpr unsigned kBridgeSlot = 1;
constexpr unsigned kReportUnknown = 10;
constexpr std::size_t kInputChunk = 256;
constexpr std::size_t kInputBacklog = 1024;
constexpr int kInputRetryMs = 50;
constexpr int kSignalBase = 128;

void ignore_signal(int /*sig*/) {}

// Where a vCPU stood, for the report of a triple fault; empty if KVM
// cannot tell.
std::string cpu_state(const Vcpu &cpu) noexcept
{
	try {
		const kvm_regs regs = cpu.regs();
		const kvm_sregs sregs = cpu.sregs();
		return " (rip " + hex(regs.rip) + ", rsp " + hex(regs.rsp) + ", cr0 " +
		       hex(sregs.cr0) + ", cr2 " + hex(sregs.cr2) + ", cr3 " + hex(sregs.cr3) +
		       ", cr4 " + hex(sregs.cr4) + ", efer " + hex(sregs.efer) + ")";
	} catch (const std::exception &) {
		return {};
	}
}

} // namespace

Machine::Machine(const Options &opts)
    : opts_(opts), files_(BootFiles::open(opts.kernel, opts.initrd)), kvm_(opts.kvm_device),
      vm_(kvm_), mem_(layout::RamLayout::for_size(opts.mem))
{
	vm_.set_tss_addr(kTssAddr);
	if (opts_.halt_poll_ns) {
		vm_.set_halt_poll_ns(*opts_.halt_poll_ns);
	}
	if (!opts_.container.empty()) {
		connector_.emplace(opts_.vbus_device, opts_.container, vm_.fd());
		log("attached to container " + opts_.container + " through " + opts_.vbus_device);
	}
	mem_.register_with(vm_);
	if (connector_) {
		connector_->set_mem_table(mem_.ranges());
	}
	vm_.create_irqchip();
	vm_.create_pit();
	load_guest();

	serial_ = std::make_unique<Uart8250>(
	    [this](std::uint8_t b) { console_output(b); },
	    [this](bool level) { vm_.irq_line(Uart8250::kCom1Irq, level); });
	pci_.attach(0, host_bridge_);
	if (connector_) {
		// The bridge offers no more slots and vectors than the kernel takes.
		const vbus_kvm_limits limits = connector_->limits();
		if (opts_.doorbells > limits.doorbells) {
			throw Error::usage("--doorbells " + std::to_string(opts_.doorbells),
			                   "the kernel allows at most " +
			                       std::to_string(limits.doorbells) +
			                       " doorbell slots per VM");
		}
		if (opts_.vectors > limits.vectors) {
			throw Error::usage("--vectors " + std::to_string(opts_.vectors),
			                   "the kernel allows at most " +
			                       std::to_string(limits.vectors) + " vectors per VM");
		}
		const auto layout =
		    BridgeLayout::make(opts_.doorbells, opts_.vectors, layout::kPciIo,
		                       static_cast<std::uint32_t>(layout::kPciMmio));
		link_ = std::make_unique<VbusLink>(vm_, mem_, *connector_, layout, stats_,
		                                   opts_.verbose);
		bridge_ = std::make_unique<VbusBridge>(layout, *link_);
		pci_.attach(kBridgeSlot, *bridge_);
		log("vbus bridge at 00:01.0: call port " + hex(layout.call_port) + ", " +
		    std::to_string(layout.doorbells) + " doorbells at " +
		    hex(layout.doorbell_port) + ", " + std::to_string(layout.vectors) +
		    " MSI-X vectors at " + hex(layout.msix_address));
	}
	setup_vcpus();
}

void Machine::log(const std::string &msg) const
{
	if (opts_.verbose) {
		std::cerr << "vbus-vm: " << msg << '\n';
	}
}

void Machine::load_guest()
{
	const KernelImage &img = files_.image;
	const std::string cmdline = opts_.cmdline();
	const BootPlacement at = place_boot_images(img, mem_.ram(), cmdline, files_.initrd_size);

	mem_.write(at.kernel_addr, files_.payload());
	if (files_.initrd_size != 0) {
		files_.read_initrd(mem_.at(at.initrd_addr, at.initrd_size));
	}
	mem_.write(at.cmdline_addr,
	           std::span(reinterpret_cast<const std::uint8_t *>(cmdline.data()), // NOLINT
	                     cmdline.size() + 1));
	mem_.write_object(layout::kZeroPage, make_zero_page(img, mem_.ram(), at));
	mem_.write(layout::kMpTable, build_mp_table(opts_.cpus, layout::kMpTable));
	write_boot_tables(mem_.at(0, layout::kHighMem));
	entry_ = at.kernel_addr + kEntry64;

	log("kernel " + files_.kernel_path + ": boot protocol " + protocol_string(img.version) +
	    ", loaded at " + hex(at.kernel_addr) + ", needs " +
	    std::to_string(img.mem_size >> 20U) + " MiB");
	if (at.initrd_size != 0) {
		log("initrd " + files_.initrd_path + ": " + std::to_string(at.initrd_size) +
		    " bytes at " + hex(at.initrd_addr));
	}
	log("memory " + std::to_string(opts_.mem >> 20U) + " MiB, " + std::to_string(opts_.cpus) +
	    " vCPUs, command line: " + cmdline);
}

void Machine::setup_vcpus()
{
	const auto supported = kvm_.supported_cpuid();
	const auto msrs = boot_msrs();
	const std::uint64_t xcr0 = supported_xcr0(supported);
	const bool tsc_deadline = kvm_.has(KVM_CAP_TSC_DEADLINE_TIMER);
	for (unsigned i = 0; i < opts_.cpus; ++i) {
		auto cpu = std::make_unique<Vcpu>(kvm_, vm_, i);
		auto cpuid = supported;
		patch_cpuid(cpuid, i, tsc_deadline);
		cpu->set_cpuid(cpuid);
		if (xcr0 != 0) {
			// All the state components on from the start, as the
			// guest will set them.  KVM sizes the XSAVE area in
			// CPUID from XCR0, and a nested guest's XSETBV may
			// never reach it (QEMU TCG does not intercept it).
			cpu->set_xcr0(xcr0);
		}
		cpu->set_msrs(msrs);
		cpu->set_fpu(boot_fpu());
		auto lapic = cpu->lapic();
		set_lint(lapic);
		cpu->set_lapic(lapic);
		if (i == 0) {
			// The BSP enters the kernel; the others wait for
			// INIT/SIPI in the in-kernel local APIC.
			auto sregs = cpu->sregs();
			set_long_mode(sregs);
			cpu->set_sregs(sregs);
			cpu->set_regs(boot_regs(entry_, layout::kZeroPage));
		}
		vcpus_.push_back(std::move(cpu));
	}
}

void Machine::stop(int status, const std::string &why, bool loud)
{
	const std::scoped_lock lock(stop_mutex_);
	if (stopping_) {
		return;
	}
	status_ = status;
	why_ = why;
	loud_ = loud;
	stopping_ = true;
	stop_event_.signal();
}

void Machine::console_output(std::uint8_t byte)
{
	while (::write(STDOUT_FILENO, &byte, 1) < 0) {
		if ((errno != EINTR && errno != EAGAIN) || stopping_) {
			return; // stdout is gone: the guest runs on
		}
		if (errno == EAGAIN) {
			pollfd p{STDOUT_FILENO, POLLOUT, 0};
			::poll(&p, 1, -1);
		}
	}
}

void Machine::unknown(const char *space, std::uint64_t addr, unsigned size, bool write)
{
	if (opts_.verbose && unknown_reported_++ < kReportUnknown) {
		std::cerr << "vbus-vm: unhandled " << space << (write ? " write " : " read ")
		          << hex(addr) << " (" << size << " bytes)"
		          << (unknown_reported_ == kReportUnknown ? "; not reporting more" : "")
		          << '\n';
	}
}

std::uint32_t Machine::pio(std::uint16_t port, unsigned size, bool write, std::uint32_t value)
{
	if (port >= Uart8250::kCom1 && port < Uart8250::kCom1 + Uart8250::kPorts) {
		++stats_.serial;
		const unsigned reg = port - Uart8250::kCom1;
		if (write) {
			serial_->write(reg, static_cast<std::uint8_t>(value));
			return 0;
		}
		return serial_->read(reg);
	}
	if (port == kResetControl && size == 1) {
		++stats_.legacy;
		if (write && (value & kResetCpu) != 0) {
			stop(kExitOk, "the guest reset the machine (port 0xcf9)");
		}
		return 0;
	}
	if (PciBus::claims(port)) {
		++stats_.pci_config;
		if (write) {
			pci_.write(port, size, value);
			return 0;
		}
		return pci_.read(port, size);
	}
	if (port == kI8042Command || port == kI8042Data) {
		++stats_.legacy;
		if (write && port == kI8042Command && (value & 0xffU) == kI8042Reset) {
			stop(kExitOk, "the guest reset the machine (i8042)");
		}
		return port == kI8042Command ? kI8042Status : kAllOnes;
	}
	if (port == Cmos::kIndexPort || port == Cmos::kDataPort) {
		++stats_.legacy;
		if (write) {
			cmos_.write(port, static_cast<std::uint8_t>(value));
			return 0;
		}
		return cmos_.read(port);
	}
	if (port == kPostPort) {
		++stats_.legacy;
		return kAllOnes;
	}
	if (bridge_) {
		std::uint32_t v = value;
		if (bridge_->pio(port, size, write, v)) {
			++stats_.bridge;
			return v;
		}
	}
	++stats_.unknown_pio;
	unknown("port", port, size, write);
	return kAllOnes;
}

void Machine::handle_pio(const Vcpu &cpu)
{
	const auto io = cpu.run_state().io; // NOLINT(cppcoreguidelines-pro-type-union-access)
	const bool write = io.direction == KVM_EXIT_IO_OUT;
	const auto data = cpu.run_bytes().subspan(io.data_offset, std::size_t{io.size} * io.count);
	for (std::size_t i = 0; i < io.count; ++i) {
		const auto item = data.subspan(i * io.size, io.size);
		std::uint32_t value = 0;
		if (write) {
			std::memcpy(&value, item.data(), item.size());
		}
		value = pio(io.port, io.size, write, value);
		if (!write) {
			std::memcpy(item.data(), &value, item.size());
		}
	}
}

void Machine::handle_mmio(const Vcpu &cpu)
{
	auto &mmio = cpu.run_state().mmio; // NOLINT(cppcoreguidelines-pro-type-union-access)
	const auto data = std::span(mmio.data).first(std::min<std::size_t>(mmio.len, 8));
	std::uint64_t value = 0;
	if (mmio.is_write != 0) {
		std::memcpy(&value, data.data(), data.size());
	}
	const auto len = static_cast<unsigned>(data.size());
	if (bridge_ && bridge_->mmio(mmio.phys_addr, len, mmio.is_write != 0, value)) {
		++stats_.msix;
	} else {
		++stats_.unknown_mmio;
		unknown("memory", mmio.phys_addr, len, mmio.is_write != 0);
		value = ~0ULL;
	}
	if (mmio.is_write == 0) {
		std::memcpy(data.data(), &value, data.size());
	}
}

bool Machine::handle_exit(const Vcpu &cpu)
{
	const kvm_run &run = cpu.run_state();
	// NOLINTBEGIN(cppcoreguidelines-pro-type-union-access): kvm_run's exit data
	switch (run.exit_reason) {
	case KVM_EXIT_IO:
		++stats_.exit_io;
		handle_pio(cpu);
		break;
	case KVM_EXIT_MMIO:
		++stats_.exit_mmio;
		handle_mmio(cpu);
		break;
	case KVM_EXIT_HLT:
		++stats_.exit_hlt;
		break;
	case KVM_EXIT_INTR:
		++stats_.interrupted;
		break;
	case KVM_EXIT_SHUTDOWN:
		++stats_.exit_shutdown;
		stop(kExitOk,
		     cpu.name() + " shut down (triple fault): the guest reset the machine" +
		         cpu_state(cpu),
		     true);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		++stats_.exit_system_event;
		if (run.system_event.type == KVM_SYSTEM_EVENT_CRASH) {
			stop(kExitFailed, cpu.name() + ": the guest crashed");
		} else {
			stop(kExitOk, cpu.name() + ": system event " +
			                  std::to_string(run.system_event.type) +
			                  " (reset or off)");
		}
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		++stats_.exit_other;
		throw Error(cpu.name(), "KVM_RUN",
		            "entry failed, hardware reason " +
		                hex(run.fail_entry.hardware_entry_failure_reason));
	case KVM_EXIT_INTERNAL_ERROR:
		++stats_.exit_other;
		throw Error(cpu.name(), "KVM_RUN",
		            "KVM internal error, suberror " +
		                std::to_string(run.internal.suberror));
	default:
		++stats_.exit_other;
		throw Error(cpu.name(), "KVM_RUN",
		            "unhandled exit reason " + std::to_string(run.exit_reason));
	}
	// NOLINTEND(cppcoreguidelines-pro-type-union-access)
	return !stopping_;
}

void Machine::vcpu_thread(const Vcpu &cpu)
{
	try {
		while (!stopping_) {
			const int err = cpu.run();
			if (err == EINTR || err == EAGAIN) {
				++stats_.interrupted;
				continue;
			}
			if (err != 0) {
				throw Error::from_errno(cpu.name(), "KVM_RUN", err);
			}
			if (!handle_exit(cpu)) {
				break;
			}
		}
	} catch (const std::exception &e) {
		stop(kExitFailed, e.what());
	}
}

void Machine::print_stats()
{
	if (bridge_) {
		stats_.doorbell_exits = bridge_->doorbell_exits();
		stats_.bridge_ignored = bridge_->ignored();
	}
	stats_.print(std::cerr);
}

void Machine::main_loop(int signal_fd)
{
	// Console input: stdin, unless it is a terminal we do not own.
	bool input = ::isatty(STDIN_FILENO) == 0 || ::tcgetpgrp(STDIN_FILENO) == ::getpgrp();
	while (!stopping_) {
		const bool want_input = input && serial_->pending() < kInputBacklog;
		std::array<pollfd, 3> fds = {{
		    {stop_event_.fd(), POLLIN, 0},
		    {signal_fd, POLLIN, 0},
		    {want_input ? STDIN_FILENO : -1, POLLIN, 0},
		}};
		const int n =
		    ::poll(fds.data(), fds.size(), input && !want_input ? kInputRetryMs : -1);
		if (n < 0 && errno != EINTR) {
			throw_errno("main loop", "poll");
		}
		if ((fds[1].revents & POLLIN) != 0) {
			signalfd_siginfo info{};
			if (::read(signal_fd, &info, sizeof info) == sizeof info &&
			    info.ssi_signo == SIGUSR1) {
				print_stats();
			} else if (info.ssi_signo != 0) {
				const auto sig = static_cast<int>(info.ssi_signo);
				const char *abbrev = ::sigabbrev_np(sig);
				stop(kSignalBase + sig,
				     "stopped by " + (abbrev != nullptr
				                          ? std::string("SIG") + abbrev
				                          : "signal " + std::to_string(sig)));
			}
		}
		if ((fds[2].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
			std::array<char, kInputChunk> buf{};
			const ssize_t got = ::read(STDIN_FILENO, buf.data(), buf.size());
			if (got > 0) {
				serial_->receive(
				    std::string_view(buf.data(), static_cast<std::size_t>(got)));
			} else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
				input = false; // end of input: the guest runs on
			}
		}
	}
}

int Machine::run()
{
	sigset_t stop_signals;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGUSR1); // prints the counters
	sigset_t old_mask;
	pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);
	const Fd signal_fd(::signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK));
	if (!signal_fd) {
		throw_errno("signalfd", "create");
	}
	// The kick that takes a vCPU out of KVM_RUN; no SA_RESTART.
	struct sigaction kick {
	};
	kick.sa_handler = ignore_signal;
	sigemptyset(&kick.sa_mask);
	::sigaction(SIGRTMIN, &kick, nullptr);
	std::signal(SIGPIPE, SIG_IGN); // NOLINT(cert-err33-c): the old handler does not matter

	std::vector<std::jthread> threads;
	for (const auto &cpu : vcpus_) {
		threads.emplace_back([this, &cpu] { vcpu_thread(*cpu); });
	}
	log("running");
	try {
		main_loop(signal_fd.get());
	} catch (const std::exception &e) {
		stop(kExitFailed, e.what());
	}
	for (std::size_t i = 0; i < threads.size(); ++i) {
		vcpus_.at(i)->request_exit();
		pthread_kill(threads.at(i).native_handle(), SIGRTMIN);
	}
	threads.clear();
	// A SIGUSR1 (or a second stop signal) that comes in from now on
	// must not kill the VMM on its way out: discard them before
	// unblocking.
	std::signal(SIGUSR1, SIG_IGN); // NOLINT(cert-err33-c): the old handler does not matter
	std::signal(SIGINT, SIG_IGN);  // NOLINT(cert-err33-c)
	std::signal(SIGTERM, SIG_IGN); // NOLINT(cert-err33-c)
	pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);

	if (opts_.stats) {
		print_stats();
	}
	// A guest's reset is the normal end and stays quiet, unless the
	// counters were asked for: then they are followed by the reason, so
	// that a report that ends with counters and no reason was printed by
	// a SIGUSR1, and the VMM died without saying why.
	if (status_ == kExitOk && !loud_ && !opts_.stats) {
		log(why_);
	} else {
		std::cerr << "vbus-vm: " << why_ << '\n';
	}
	return status_;
}

} // namespace vbusvm
