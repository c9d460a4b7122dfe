// SPDX-License-Identifier: GPL-2.0
//
// Exit counters.

#include "stats.hh"

#include <ostream>
#include <sstream>

namespace vbusvm
{

std::uint64_t Stats::user_exits() const
{
	return exit_io + exit_mmio + exit_hlt + exit_shutdown + exit_system_event + exit_other;
}

void Stats::print(std::ostream &out) const
{
	// Formatted first and written in one piece: on an unbuffered
	// stream every insertion would be a write of its own, and the
	// guest's console output could come in between.
	std::ostringstream text;
	text << "vbus-vm: user exits: " << user_exits() << " (io " << exit_io << ", mmio "
	     << exit_mmio << ", hlt " << exit_hlt << ", shutdown " << exit_shutdown
	     << ", system-event " << exit_system_event << ", other " << exit_other << ")\n"
	     << "vbus-vm: port exits: serial " << serial << ", pci-config " << pci_config
	     << ", legacy " << legacy << ", vbus-bridge " << bridge << ", unhandled " << unknown_pio
	     << "\n"
	     << "vbus-vm: memory exits: msix " << msix << ", unhandled " << unknown_mmio << "\n"
	     << "vbus-vm: vbus calls: " << calls << " (failed " << call_errors
	     << "), other call-register accesses " << bridge_ignored << "\n"
	     << "vbus-vm: vbus calls by operation: hello " << call_ops[1] << ", event "
	     << call_ops[2] << ", devopen " << call_ops[3] << ", devclose " << call_ops[4]
	     << ", devcall " << call_ops[5] << ", devshm " << call_ops[6] << ", reset "
	     << call_ops[7] << ", other " << call_ops[0] << "\n"
	     << "vbus-vm: doorbell exits: " << doorbell_exits << "\n"
	     << "vbus-vm: interrupted runs: " << interrupted << '\n';
	out << text.str() << std::flush;
}

} // namespace vbusvm
