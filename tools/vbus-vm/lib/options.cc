// SPDX-License-Identifier: GPL-2.0
//
// Command line parsing and validation.

#include "options.hh"

#include "error.hh"

#include <CLI/CLI.hpp>

#include <cctype>
#include <charconv>
#include <limits>
#include <ostream>

namespace vbusvm
{

namespace
{

// Parses a decimal unsigned number that fills @text completely.
std::optional<std::uint64_t> parse_number(std::string_view text)
{
	std::uint64_t value = 0;
	const auto *end = text.data() + text.size(); // NOLINT(*-pointer-arithmetic)
	auto [ptr, ec] = std::from_chars(text.data(), end, value);
	if (text.empty() || ec != std::errc() || ptr != end) {
		return std::nullopt;
	}
	return value;
}

unsigned parse_count(const std::string &option, const std::string &text, unsigned min, unsigned max)
{
	const auto value = parse_number(text);
	if (!value) {
		throw Error::usage(option, "'" + text + "' is not a number");
	}
	if (*value < min || *value > max) {
		throw Error::usage(option, "'" + text + "' is out of range " + std::to_string(min) +
		                               "-" + std::to_string(max));
	}
	return static_cast<unsigned>(*value);
}

unsigned suffix_shift(std::string_view suffix)
{
	if (suffix.empty()) {
		return 20; // MiB, as QEMU's -m
	}
	std::string s;
	for (const char c : suffix) {
		s += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
	}
	if (s == "B") {
		return 0;
	}
	if (s.ends_with("IB")) {
		s.resize(s.size() - 2);
	} else if (s.size() == 2 && s[1] == 'B') {
		s.resize(1);
	}
	if (s == "K") {
		return 10;
	}
	if (s == "M") {
		return 20;
	}
	if (s == "G") {
		return 30;
	}
	if (s == "T") {
		return 40;
	}
	return 64;
}

} // namespace

std::uint64_t parse_size(const std::string &option, const std::string &text)
{
	std::size_t digits = 0;
	while (digits < text.size() &&
	       std::isdigit(static_cast<unsigned char>(text[digits])) != 0) {
		++digits;
	}
	const auto number = parse_number(std::string_view(text).substr(0, digits));
	const unsigned shift = suffix_shift(std::string_view(text).substr(digits));
	if (!number || shift >= 64) {
		throw Error::usage(option, "'" + text + "' is not a size (use e.g. 512M or 2G)");
	}
	if (*number > (std::numeric_limits<std::uint64_t>::max() >> shift)) {
		throw Error::usage(option, "'" + text + "' is too large");
	}
	return *number << shift;
}

std::optional<Options> parse_options(const std::vector<std::string> &args, std::ostream &out)
{
	Options opts;
	std::string mem;
	std::string cpus;
	std::string doorbells;
	std::string vectors;
	std::string halt_poll_ns;
	std::string append;

	CLI::App app("vbus-vm: boot a Linux guest under KVM, optionally attached to a vbus "
	             "container",
	             "vbus-vm");
	app.set_version_flag("--version", "vbus-vm 1");
	app.add_option("-k,--kernel", opts.kernel, "the guest kernel (bzImage)")
	    ->required()
	    ->type_name("BZIMAGE");
	app.add_option("-i,--initrd", opts.initrd, "an initial RAM disk")->type_name("FILE");
	auto *append_opt =
	    app.add_option("-a,--append", append,
	                   std::string("kernel command line (default: ") + kDefaultCmdline + ")")
	        ->type_name("CMDLINE");
	app.add_option("-c,--cpus", cpus, "number of vCPUs, 1-" + std::to_string(kMaxCpus) + " (1)")
	    ->type_name("N");
	app.add_option("-m,--mem", mem, "guest memory, e.g. 512M or 2G (512M)")->type_name("SIZE");
	app.add_option("--container", opts.container,
	               "attach to this vbus container through /dev/vbus-kvm")
	    ->type_name("NAME");
	app.add_option("--doorbells", doorbells, "doorbell slots of the vbus bridge (256)")
	    ->type_name("N");
	app.add_option("--vectors", vectors, "MSI-X vectors of the vbus bridge (33)")
	    ->type_name("N");
	app.add_option("--halt-poll-ns", halt_poll_ns,
	               "how long KVM polls a halted vCPU of this VM before it sleeps, 0-" +
	                   std::to_string(kMaxHaltPollNs) + " (the kvm module's halt_poll_ns)")
	    ->type_name("NS");
	app.add_flag("-v,--verbose", opts.verbose, "boot steps and unhandled accesses on stderr");
	app.add_flag("--stats", opts.stats, "exit counts on stderr at exit");
	app.add_option("--kvm-device", opts.kvm_device, "the KVM device (/dev/kvm)")
	    ->type_name("PATH");
	app.add_option("--vbus-device", opts.vbus_device, "the vbus KVM connector (/dev/vbus-kvm)")
	    ->type_name("PATH");

	try {
		std::vector<std::string> reversed(args.rbegin(), args.rend());
		app.parse(reversed);
	} catch (const CLI::ParseError &e) {
		if (e.get_exit_code() == 0) { // --help, --version
			app.exit(e, out, out);
			return std::nullopt;
		}
		throw Error::usage("command line", e.what());
	}

	if (append_opt->count() > 0) {
		opts.append = append;
	}
	if (!cpus.empty()) {
		opts.cpus = parse_count("--cpus", cpus, 1, kMaxCpus);
	}
	if (!doorbells.empty()) {
		opts.doorbells = parse_count("--doorbells", doorbells, 1, kMaxDoorbells);
	}
	if (!vectors.empty()) {
		opts.vectors = parse_count("--vectors", vectors, kMinVectors, kMaxVectors);
	}
	if (!halt_poll_ns.empty()) {
		opts.halt_poll_ns = parse_count("--halt-poll-ns", halt_poll_ns, 0, kMaxHaltPollNs);
	}
	if (!mem.empty()) {
		opts.mem = parse_size("--mem", mem);
		if (opts.mem < kMinMem || opts.mem > kMaxMem) {
			throw Error::usage("--mem", "'" + mem + "' is out of range 64M-64G");
		}
		if (opts.mem % (1ULL << 20) != 0) {
			throw Error::usage("--mem", "'" + mem + "' is not a multiple of 1M");
		}
	}
	if (opts.kernel.empty()) {
		throw Error::usage("--kernel", "no kernel given");
	}
	return opts;
}

} // namespace vbusvm
