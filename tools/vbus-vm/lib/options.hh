// SPDX-License-Identifier: GPL-2.0
//
// The command line of vbus-vm: what to boot, the machine's shape, and the
// vbus container to attach to.

#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace vbusvm
{

// Used when --append is not given.  reboot=k makes a reboot (and with
// panic=-1 a panic) end the VMM through the i8042 reset line; acpi=off and
// pci=conf1 match the machine: an MP table and configuration mechanism #1.
inline constexpr const char *kDefaultCmdline =
    "console=ttyS0 reboot=k panic=-1 acpi=off pci=conf1 quiet";

inline constexpr unsigned kMaxCpus = 64;
inline constexpr std::uint64_t kMinMem = 64ULL << 20;
inline constexpr std::uint64_t kMaxMem = 64ULL << 30;
inline constexpr unsigned kMaxDoorbells = 1024;
// The longest per-VM halt polling --halt-poll-ns takes (10 ms).
inline constexpr unsigned kMaxHaltPollNs = 10000000;
// Vector 0 carries bus events; the guest's bridge driver wants at least
// one more for the signals of its devices (Documentation/vbus/abi.rst).
inline constexpr unsigned kMinVectors = 2;
inline constexpr unsigned kMaxVectors = 2048;

struct Options {
	std::string kernel;
	std::string initrd;
	std::optional<std::string> append;
	std::string container; // empty: no vbus bridge
	unsigned cpus = 1;
	std::uint64_t mem = 512ULL << 20;
	unsigned doorbells = 256;
	unsigned vectors = 33;
	// KVM_CAP_HALT_POLL for this VM; unset: the kvm module's halt_poll_ns.
	std::optional<unsigned> halt_poll_ns;
	bool verbose = false;
	bool stats = false;
	std::string kvm_device = "/dev/kvm";
	std::string vbus_device = "/dev/vbus-kvm";

	// The guest's kernel command line.
	[[nodiscard]] std::string cmdline() const { return append.value_or(kDefaultCmdline); }
};

// A memory size: a number with an optional K, M, G or T suffix (binary;
// "B" and "iB" may follow); a number alone means MiB, as for QEMU's -m.
// Throws a usage Error naming @option.
std::uint64_t parse_size(const std::string &option, const std::string &text);

// Parses the arguments (without the program name).  Returns nullopt when
// --help or --version was printed on @out; throws a usage Error.
std::optional<Options> parse_options(const std::vector<std::string> &args, std::ostream &out);

} // namespace vbusvm
