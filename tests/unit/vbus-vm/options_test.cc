// SPDX-License-Identifier: GPL-2.0
// vbus-vm: the command line.

#include <gtest/gtest.h>

#include <error.hh>
#include <options.hh>

#include <sstream>

namespace vbusvm
{
namespace
{

Options parse(const std::vector<std::string> &args)
{
	std::ostringstream out;
	const auto opts = parse_options(args, out);
	EXPECT_TRUE(opts.has_value());
	return opts.value_or(Options{});
}

// The usage error @args give, or "" without one.
std::string usage_error(const std::vector<std::string> &args)
{
	std::ostringstream out;
	try {
		parse_options(args, out);
	} catch (const Error &e) {
		EXPECT_EQ(e.kind(), Error::Kind::usage);
		EXPECT_EQ(e.exit_code(), kExitUsage);
		return e.what();
	}
	return "";
}

TEST(Options, Defaults)
{
	const auto o = parse({"--kernel", "bzImage"});
	EXPECT_EQ(o.kernel, "bzImage");
	EXPECT_EQ(o.initrd, "");
	EXPECT_EQ(o.cpus, 1U);
	EXPECT_EQ(o.mem, 512ULL << 20U);
	EXPECT_EQ(o.doorbells, 256U);
	EXPECT_EQ(o.vectors, 33U);
	EXPECT_FALSE(o.halt_poll_ns.has_value());
	EXPECT_EQ(o.container, "");
	EXPECT_FALSE(o.verbose);
	EXPECT_FALSE(o.stats);
	EXPECT_EQ(o.kvm_device, "/dev/kvm");
	EXPECT_EQ(o.vbus_device, "/dev/vbus-kvm");
	EXPECT_EQ(o.cmdline(), "console=ttyS0 reboot=k panic=-1 acpi=off pci=conf1 quiet");
}

TEST(Options, Everything)
{
	const auto o = parse(
	    {"-k",          "bz",      "-i",           "rd", "--append",       "console=ttyS0 x",
	     "--cpus",      "4",       "--mem",        "2G", "--container",    "c0",
	     "--doorbells", "64",      "--vectors",    "9",  "--halt-poll-ns", "0",
	     "-v",          "--stats", "--kvm-device", "/k", "--vbus-device",  "/v"});
	EXPECT_EQ(o.initrd, "rd");
	EXPECT_EQ(o.cmdline(), "console=ttyS0 x");
	EXPECT_EQ(o.cpus, 4U);
	EXPECT_EQ(o.mem, 2ULL << 30U);
	EXPECT_EQ(o.container, "c0");
	EXPECT_EQ(o.doorbells, 64U);
	EXPECT_EQ(o.vectors, 9U);
	EXPECT_EQ(o.halt_poll_ns, 0U);
	EXPECT_TRUE(o.verbose);
	EXPECT_TRUE(o.stats);
	EXPECT_EQ(o.kvm_device, "/k");
	EXPECT_EQ(o.vbus_device, "/v");
}

TEST(Options, AnEmptyAppendIsAnEmptyCommandLine)
{
	EXPECT_EQ(parse({"-k", "bz", "--append", ""}).cmdline(), "");
}

TEST(Options, Sizes)
{
	EXPECT_EQ(parse_size("--mem", "512"), 512ULL << 20U);
	EXPECT_EQ(parse_size("--mem", "512M"), 512ULL << 20U);
	EXPECT_EQ(parse_size("--mem", "512m"), 512ULL << 20U);
	EXPECT_EQ(parse_size("--mem", "512MiB"), 512ULL << 20U);
	EXPECT_EQ(parse_size("--mem", "512MB"), 512ULL << 20U);
	EXPECT_EQ(parse_size("--mem", "2G"), 2ULL << 30U);
	EXPECT_EQ(parse_size("--mem", "65536K"), 64ULL << 20U);
	EXPECT_EQ(parse_size("--mem", "1T"), 1ULL << 40U);
	EXPECT_EQ(parse_size("--mem", "4096B"), 4096U);
	for (const char *bad : {"", "M", "12X", "1.5G", "-1G", "1GG", "0x100"}) {
		EXPECT_THROW(parse_size("--mem", bad), Error) << bad;
	}
	EXPECT_THROW(parse_size("--mem", "99999999999999999999"), Error);
	EXPECT_THROW(parse_size("--mem", "17179869184G"), Error);
}

TEST(Options, BadMemory)
{
	EXPECT_EQ(usage_error({"-k", "bz", "--mem", "12X"}),
	          "--mem: '12X' is not a size (use e.g. 512M or 2G)");
	EXPECT_EQ(usage_error({"-k", "bz", "--mem", "32M"}),
	          "--mem: '32M' is out of range 64M-64G");
	EXPECT_EQ(usage_error({"-k", "bz", "--mem", "65G"}),
	          "--mem: '65G' is out of range 64M-64G");
	EXPECT_EQ(usage_error({"-k", "bz", "--mem", "100000K"}),
	          "--mem: '100000K' is not a multiple of 1M");
	EXPECT_EQ(usage_error({"-k", "bz", "--mem", "64M"}), "");
}

TEST(Options, BadCounts)
{
	EXPECT_EQ(usage_error({"-k", "bz", "--cpus", "0"}), "--cpus: '0' is out of range 1-64");
	EXPECT_EQ(usage_error({"-k", "bz", "--cpus", "65"}), "--cpus: '65' is out of range 1-64");
	EXPECT_EQ(usage_error({"-k", "bz", "--cpus", "two"}), "--cpus: 'two' is not a number");
	EXPECT_EQ(usage_error({"-k", "bz", "--cpus", "-1"}), "--cpus: '-1' is not a number");
	EXPECT_EQ(usage_error({"-k", "bz", "--doorbells", "0"}),
	          "--doorbells: '0' is out of range 1-1024");
	EXPECT_EQ(usage_error({"-k", "bz", "--halt-poll-ns", "10000001"}),
	          "--halt-poll-ns: '10000001' is out of range 0-10000000");
	EXPECT_EQ(usage_error({"-k", "bz", "--halt-poll-ns", "1ms"}),
	          "--halt-poll-ns: '1ms' is not a number");
	EXPECT_EQ(usage_error({"-k", "bz", "--vectors", "2049"}),
	          "--vectors: '2049' is out of range 2-2048");
	// The guest's bridge needs a vector for signals besides vector 0.
	EXPECT_EQ(usage_error({"-k", "bz", "--vectors", "1"}),
	          "--vectors: '1' is out of range 2-2048");
}

TEST(Options, CommandLineErrors)
{
	EXPECT_NE(usage_error({}).find("--kernel is required"), std::string::npos);
	EXPECT_NE(usage_error({"-k", "bz", "--frobnicate"}).find("--frobnicate"),
	          std::string::npos);
	EXPECT_NE(usage_error({"-k", "bz", "extra"}).find("extra"), std::string::npos);
	EXPECT_NE(usage_error({"-k"}), "");
}

TEST(Options, Help)
{
	std::ostringstream out;
	EXPECT_FALSE(parse_options({"--help"}, out).has_value());
	EXPECT_NE(out.str().find("--container"), std::string::npos);
	EXPECT_NE(out.str().find("reboot=k panic=-1"), std::string::npos);
	std::ostringstream version;
	EXPECT_FALSE(parse_options({"--version"}, version).has_value());
	EXPECT_NE(version.str().find("vbus-vm"), std::string::npos);
}

} // namespace
} // namespace vbusvm
