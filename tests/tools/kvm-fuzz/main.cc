// SPDX-License-Identifier: GPL-2.0
//
// kvm-fuzz: a hostile guest played by its VMM, for a million operations.
//
//   kvm-fuzz CONTAINER [SEED [OPS [SECONDS]]]
//
// It creates a VM with guest memory but no vCPU, binds it to CONTAINER
// through /dev/vbus-kvm and registers doorbell and vector eventfds.  The
// guest's side is then played from the VMM's own threads: calls are
// written into call pages and run with VBUS_KVM_CALL, doorbells are
// writes to the doorbell eventfds (what KVM_IOEVENTFD would do for a
// guest's port write), so every operation costs one system call and no
// VM exit.  Three threads race the host and each other:
//   - the guest thread: random calls, valid-looking (HELLO, EVENT,
//     DEVOPEN, DEVCLOSE, DEVCALL and DEVSHM of the echo and venet
//     protocols on the devices the bus events announce) and garbage
//     (random bytes, handles, lengths, addresses in and out of guest
//     memory, call pages outside it); buffers posted on the rings it
//     registered; and the VMM's memory changes under the live rings:
//     mmap(MAP_FIXED) of other memory over ring pages, MADV_DONTNEED,
//     holes, the memslot moved, deleted and put elsewhere;
//   - the doorbell thread: doorbells on random slots, assigned or not;
//   - the corrupting thread: ring headers, indices, signal words and
//     descriptors overwritten while the host serves them.
// Devices may come and go meanwhile (the test suite unplugs them): the
// guest thread learns about it from the bus events, as a guest would.
//
// Every operation is counted.  The run ends after OPS operations
// (default 1000000) or SECONDS seconds (default 120), whichever comes
// first; reaching fewer than OPS operations is a failure.  Every call
// must return a result or a negative errno, and the host must still
// answer an honest call at the end.
//
// SEED (default: random) is printed.  Each thread draws its operations
// from its own generator seeded from SEED, one draw per operation, so
// a seed gives the same sequence of operations in every run; how they
// interleave with each other and with the host is up to the scheduler.
// With KVM_FUZZ_TRACE=1 in the environment, the guest thread prints
// every operation it makes.
//
// Prints the seed, progress, the operations by kind, the call results

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>

#include "common.hh"
#include "guest.hh"
#include "racers.hh"
#include "vm.hh"

using kvm_fuzz::Clock;
using kvm_fuzz::Guest;
using kvm_fuzz::Rng;
using kvm_fuzz::Shared;
using kvm_fuzz::Vm;

int main(int argc, char **argv)
{
	const std::span args(argv, argc);
	if (argc < 2 || argc > 5) {
		std::cerr << "usage: kvm-fuzz CONTAINER [SEED [OPS [SECONDS]]]\n";
		return 2;
	}
	try {
		const std::string container = args[1];
		const uint64_t seed = argc > 2 ? std::stoull(args[2]) : std::random_device{}();
		const uint64_t target = argc > 3 ? std::stoull(args[3]) : 1000000;
		const unsigned seconds = argc > 4 ? std::stoul(args[4]) : 120;
		const char *trace = std::getenv("KVM_FUZZ_TRACE");
		std::cout << "kvm-fuzz: seed " << seed << ", " << target
		          << " operations in at most " << seconds << " s" << std::endl;

		Vm vm(container);
		Shared shared;
		Rng seeds(seed);
		Guest guest(vm, shared, seeds(), trace != nullptr && *trace == '1');
		const uint64_t bell_seed = seeds();
		const uint64_t racer_seed = seeds();

		const auto start = Clock::now();
		const auto deadline = start + std::chrono::seconds(seconds);
		{
			const std::jthread bells([&] {
				shared.guard(
				    [&] { kvm_fuzz::ring_doorbells(vm, shared, bell_seed); });
			});
			const std::jthread racer([&] {
				shared.guard(
				    [&] { kvm_fuzz::corrupt(vm.view(), shared, racer_seed); });
			});
			const std::jthread progress([&] {
				uint64_t next = 100000;
				while (!shared.stop) {
					std::this_thread::sleep_for(std::chrono::milliseconds(200));
					if (shared.total() >= next) {
						const std::chrono::duration<double> t =
						    Clock::now() - start;
						std::cout << "kvm-fuzz: " << shared.total()
						          << " operations after " << t.count()
						          << " s" << std::endl;
						next += 100000;
					}
				}
			});
			shared.guard([&] { guest.run(deadline, target); });
		}
		if (!shared.error.empty()) {
			throw std::runtime_error(shared.error);
		}
		const std::chrono::duration<double> t = Clock::now() - start;
		guest.finish();

		const uint64_t total = shared.total();
		std::cout << "kvm-fuzz: " << total << " operations in " << t.count() << " s ("
		          << static_cast<uint64_t>(static_cast<double>(total) / t.count())
		          << " ops/s): guest thread " << shared.guest_ops << ", doorbells "
		          << shared.bell_ops << ", ring corruptions " << shared.racer_ops << "\n";
		guest.report(std::cout);
		if (total < target) {
			throw std::runtime_error("only " + std::to_string(total) + " of " +
			                         std::to_string(target) + " operations in " +
			                         std::to_string(seconds) + " s");
		}
		std::cout << "kvm-fuzz: ok" << std::endl;
	} catch (const std::exception &e) {
		std::cout << std::flush;
		std::cerr << "kvm-fuzz: " << e.what() << "\n";
		return 1;
	}
	return 0;
}
