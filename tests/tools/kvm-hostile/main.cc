// SPDX-License-Identifier: GPL-2.0
//
// kvm-hostile: a guest without an operating system that attacks the KVM
// connector, in the manner of the kernel's KVM selftests.
//
//   kvm-hostile CONTAINER DEVICES FOREIGN_ID [SEED [ROUNDS]]
//
// It creates a VM with a few MiB of memory and one vCPU, binds it to
// CONTAINER through /dev/vbus-kvm, registers doorbell ioeventfds and
// vector eventfds like a VMM would, and then lets a tiny real-mode guest
// execute port writes from a table: calls (the page frame of a call page
// to the call register; each exits to us and we forward it) and doorbells
// (absorbed by KVM and the connector without an exit).  The tables and
// call pages are filled with:
//   1. the valid handshake: HELLO, the bus events (DEVICES devices must
//      be announced, all of type virtual-ethernet), a venet opened,
//      negotiated and given its rings: the host must accept all of it,
//      and refuse a ring that does not start on a 64-byte boundary;
//   2. isolation: FOREIGN_ID (a device of another container) cannot be
//      opened;
//   3. ROUNDS random calls (random operations, handles, lengths, guest
//      addresses in and out of memory, random bytes everywhere);
//   4. ROUNDS doorbells on random slots, assigned or not, and on ports no
//      ioeventfd covers;
//   5. ROUNDS ring corruptions: the venet's rings overwritten with random
//      bytes, then their doorbells rung;
//   6. a valid call again, which must still work.
// Before that, the VMM's ioctls are abused: calls before a bind, a second
// bind of the VM or of the fd, a bind from a process that did not create
// the VM, non-VM and non-eventfd descriptors and unknown ioctls must all
// be refused, and every ioctl must follow the
// argument rule of <vbus/kvm.h>: short sizes and other directions
// refused, longer arguments accepted with a zero tail and refused with
// E2BIG otherwise, no byte read past the size in the ioctl's number, and
// a refused argument changes nothing.
// Every result must be a success or a negative errno.  Prints one line
// per step and "kvm-hostile: ok" at the end; exits non-zero, naming the
// step and the error, at the first failure.

#include <cstdint>
#include <cstring>
#include <exception>
#include <iostream>
#include <random>
#include <span>
#include <stdexcept>
#include <string>

extern "C" {
#include <vbus/kvm.h>
#include <vbus/venet.h>
}

#include "abuse.hh"
#include "attacks.hh"
#include "guest.hh"

// The call page is the ABI's union of operations.
// NOLINTBEGIN(cppcoreguidelines-pro-type-union-access)

using kvm_hostile::call;
using kvm_hostile::corrupt_rings;
using kvm_hostile::Guest;
using kvm_hostile::handshake;
using kvm_hostile::ioctl_abuse;
using kvm_hostile::must;
using kvm_hostile::random_calls;
using kvm_hostile::random_doorbells;
using kvm_hostile::Venet;

int main(int argc, char **argv)
{
	const std::span args(argv, argc);
	if (argc < 4) {
		std::cerr << "usage: kvm-hostile CONTAINER DEVICES FOREIGN_ID [SEED [ROUNDS]]\n";
		return 2;
	}
	try {
		const std::string container = args[1];
		const unsigned devices = std::stoul(args[2]);
		const uint32_t foreign = std::stoul(args[3]);
		const uint64_t seed = argc > 4 ? std::stoull(args[4]) : 1;
		const unsigned rounds = argc > 5 ? std::stoul(args[5]) : 10000;
		std::mt19937_64 rng(seed);

		Guest g(container);
		ioctl_abuse(g, container);
		const Venet v = handshake(g, devices);

		vbus_kvm_call c{};
		c.op = VBUS_KVM_OP_DEVOPEN;
		c.u.devopen.devid = foreign;
		c.u.devopen.version = VBUS_VENET_VERSION;
		const int64_t r = call(g, c);
		if (r != -ENODEV) {
			throw std::runtime_error("opening foreign device " +
			                         std::to_string(foreign) + " gave " +
			                         std::to_string(r) + ", not -ENODEV");
		}
		std::cout << "isolation: foreign device " << foreign << " refused (ENODEV)\n";

		corrupt_rings(g, rng, v, rounds);
		random_doorbells(g, rng, rounds);
		random_calls(g, rng, rounds);

		c = vbus_kvm_call{};
		c.op = VBUS_KVM_OP_HELLO;
		c.u.hello.version = VBUS_KVM_VERSION;
		must(call(g, c), "HELLO after the attacks");
		std::cout << "vm exits: " << g.exits << ", calls refused by the connector:";
		for (const auto &[e, n] : g.call_refused) {
			std::cout << " " << std::strerror(e) << "=" << n;
		}
		std::cout << "\nvector interrupts: " << g.vector_count(0) << " "
		          << g.vector_count(1) << " " << g.vector_count(2) << " "
		          << g.vector_count(3) << "\n";
		std::cout << "kvm-hostile: ok\n";
	} catch (const std::exception &e) {
		std::cerr << "kvm-hostile: " << e.what() << "\n";
		return 1;
	}
	return 0;
}

// NOLINTEND(cppcoreguidelines-pro-type-union-access)
