// SPDX-License-Identifier: GPL-2.0
// vbus-vm: the exit counters as --stats and SIGUSR1 print them.

#include <gtest/gtest.h>

#include <stats.hh>

#include <ostream>
#include <sstream>
#include <streambuf>
#include <string>
#include <vector>

namespace vbusvm
{
namespace
{

// A stream buffer without a buffer, like the one behind std::cerr: it
// records every piece the stream hands it (each one a write(2) there).
class Pieces : public std::streambuf
{
public:
	std::vector<std::string> pieces;

protected:
	std::streamsize xsputn(const char *s, std::streamsize n) override
	{
		pieces.emplace_back(s, static_cast<std::size_t>(n));
		return n;
	}
	int_type overflow(int_type c) override
	{
		if (!traits_type::eq_int_type(c, traits_type::eof())) {
			pieces.emplace_back(1, traits_type::to_char_type(c));
		}
		return traits_type::not_eof(c);
	}
};

TEST(Stats, UserExitsSumsTheExitReasonsOnly)
{
	Stats s;
	s.exit_io = 5;
	s.exit_mmio = 4;
	s.exit_hlt = 3;
	s.exit_shutdown = 1;
	s.exit_system_event = 1;
	s.exit_other = 2;
	s.interrupted = 100; // a signal, not the guest
	s.serial = 7;        // what the exits were for: counted already
	EXPECT_EQ(s.user_exits(), 16U);
}

TEST(Stats, PrintsOneBlockInASingleWrite)
{
	Stats s;
	s.exit_io = 12;
	s.exit_mmio = 3;
	s.serial = 9;
	s.pci_config = 2;
	s.bridge = 1;
	s.msix = 3;
	s.calls = 4;
	s.call_ops[1] = 1;
	s.call_ops[2] = 2;
	s.call_ops[7] = 1;
	s.call_errors = 1;
	s.doorbell_exits = 0;
	s.interrupted = 6;
	Pieces buf;
	std::ostream out(&buf);
	out.setf(std::ios::unitbuf); // as std::cerr
	s.print(out);
	// One piece: the guest's console output cannot come in between.
	ASSERT_EQ(buf.pieces.size(), 1U);
	std::istringstream text(buf.pieces.front());
	std::vector<std::string> lines;
	for (std::string line; std::getline(text, line);) {
		lines.push_back(line);
	}
	const std::vector<std::string> want = {
	    "vbus-vm: user exits: 15 (io 12, mmio 3, hlt 0, shutdown 0, system-event 0, other 0)",
	    "vbus-vm: port exits: serial 9, pci-config 2, legacy 0, vbus-bridge 1, unhandled 0",
	    "vbus-vm: memory exits: msix 3, unhandled 0",
	    "vbus-vm: vbus calls: 4 (failed 1), other call-register accesses 0",
	    std::string("vbus-vm: vbus calls by operation: hello 1, event 2, devopen 0, ") +
	        "devclose 0, devcall 0, devshm 0, reset 1, other 0",
	    "vbus-vm: doorbell exits: 0",
	    "vbus-vm: interrupted runs: 6",
	};
	EXPECT_EQ(lines, want);
	EXPECT_EQ(buf.pieces.front().back(), '\n');
}

} // namespace
} // namespace vbusvm
