// SPDX-License-Identifier: GPL-2.0
//
// vbusctl: the administration tool of vbus.  See vbusctl(8).

#include "context.hh"

#include "../lib/error.hh"

#include <exception>
#include <iostream>
#include <iterator>
#include <span>
#include <string>
#include <vector>

int main(int argc, char **argv)
{
	try {
		const std::span<char *> args(argv, static_cast<std::size_t>(argc));
		return vbusctl::run(std::vector<std::string>(std::next(args.begin()), args.end()),
		                    std::cout, std::cerr);
	} catch (const std::exception &e) {
		std::cerr << "vbusctl: " << e.what() << '\n';
		return vbusctl::kExitFailed;
	}
}
