// SPDX-License-Identifier: GPL-2.0
//
// vbus-vm: a small KVM VMM that boots a Linux guest and can attach it to
// a vbus container.  See vbus-vm(8).

#include "lib/error.hh"
#include "lib/machine.hh"
#include "lib/options.hh"

#include <exception>
#include <iostream>
#include <iterator>
#include <span>
#include <string>
#include <vector>

int main(int argc, char **argv)
{
	using namespace vbusvm;
	try {
		const std::span<char *> args(argv, static_cast<std::size_t>(argc));
		const auto opts = parse_options(
		    std::vector<std::string>(std::next(args.begin()), args.end()), std::cout);
		if (!opts) {
			return kExitOk;
		}
		Machine machine(*opts);
		return machine.run();
	} catch (const Error &e) {
		std::cerr << "vbus-vm: " << e.what() << '\n';
		if (e.kind() == Error::Kind::usage) {
			std::cerr << "vbus-vm: try 'vbus-vm --help'\n";
		}
		return e.exit_code();
	} catch (const std::exception &e) {
		std::cerr << "vbus-vm: " << e.what() << '\n';
		return kExitFailed;
	}
}
