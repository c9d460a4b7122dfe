// SPDX-License-Identifier: GPL-2.0
//
// kvm-hold: a VMM that holds venet devices open until it is killed.
//
//   kvm-hold CONTAINER [VENET_ID...]
//
// It creates a VM bound to CONTAINER through /dev/vbus-kvm and opens each
// venet VENET_ID the way a guest driver does (from the VMM itself, with
// no vCPU: see vkvm_client.hh): configuration, one queue pair, its rx and
// tx rings, link up.  Then it prints "kvm-hold: ready N" (N devices) and
// waits until it is killed, or until its standard input ends, when it
// exits 0 after closing /dev/vbus-kvm.  With no VENET_ID it only binds.
// For the tests of a VM whose many connections close at once, and of
// a VMM's bind and exit.

#include <unistd.h>

#include <cstdint>
#include <iostream>
#include <span>
#include <string>
#include <vector>

#include "posix.hh"
#include "vkvm_client.hh"
#include "vkvm_venet.hh"

namespace
{

using testtools::GuestMemory;
using testtools::TestGuest;
using testtools::Venet;

constexpr uint64_t data_gpa = 0x2000; // call arguments
constexpr uint64_t rings_gpa = 0x10000;
constexpr uint64_t ring_stride = 0x1000; // a ring of ring_count fits in a page
constexpr uint32_t ring_count = 16;
constexpr size_t max_devices = 64;
constexpr uint64_t mem_size = rings_gpa + 2 * max_devices * ring_stride;

} // namespace

int main(int argc, char **argv)
{
	const std::span args(argv, argc);
	if (args.size() < 2 || args.size() - 2 > max_devices) {
		std::cerr << "usage: kvm-hold CONTAINER [VENET_ID...] (at most " << max_devices
		          << " devices)\n";
		return 2;
	}
	try {
		const size_t n = args.size() - 2;
		TestGuest g(args[1], GuestMemory::anonymous(mem_size),
		            static_cast<unsigned>(2 * n));
		std::vector<Venet> venets;
		for (size_t i = 0; i < n; i++) {
			const uint64_t rx = rings_gpa + 2 * i * ring_stride;
			venets.push_back(
			    testtools::open_venet(g, static_cast<uint32_t>(std::stoul(args[i + 2])),
			                          {data_gpa, rx, rx + ring_stride, ring_count}));
		}
		std::cout << "kvm-hold: ready " << venets.size() << "\n" << std::flush;
		char c = 0;
		while (read(STDIN_FILENO, &c, 1) > 0) {
		}
		g.vm().detach();
		return 0;
	} catch (const std::exception &ex) {
		std::cerr << "kvm-hold: " << ex.what() << "\n";
		return 1;
	}
}
