// SPDX-License-Identifier: GPL-2.0
//
// cfs-fuzz: concurrent administration of vbus through configfs, with
// garbage, while frames flow on every vbus netdev.
//
//   cfs-fuzz [--seed N] [--threads N] [--seconds S] [--keep] CFS LOCAL
//   cfs-fuzz --teardown-only CFS LOCAL
//
// CFS is /sys/kernel/config/vbus, LOCAL the local connector's
// /sys/kernel/config/vbus-local.  THREADS threads (default 4) each run
// random operations for SECONDS seconds (default 30): mkdir and rmdir of
// containers and of echo and venet devices, mkdir with bad names and in
// places where nothing may be created, links of devices (and of things
// that are not devices) into containers and their removal, writes of
// every attribute with valid values and with garbage (empty, negative,
// huge, non-numeric, overlong, non-UTF-8, with '/', ':' and spaces,
// embedded NULs), reads of every attribute, and attach and detach
// through the local connector.  One more thread brings every vbus netdev
// (host "vbus-venet" and guest "vbus-enet" side) up and sends raw frames
// on it.  Thread T draws its operations from a generator seeded with
// SEED + T, printed first, so a run can be repeated as far as the
// interleaving allows.
//
// What is checked while it runs:
//   - a write the kernel refused leaves the attribute as it was (the
//     value is read before and after, under the fuzzer's lock of that
//     attribute of that object, which writers of the attribute and
//     whatever else changes how it reads take, and mkdir and rmdir of
//     the object exclude);
//   - a value that is invalid by the documented interface is refused,
//     and a valid value that was accepted reads back as written;
//   - a mkdir with a bad name or in a place without objects fails, a link
//     to something that is not a device fails, a device name is never
//     taken in two classes at once.
// Then, with every thread stopped, the placements must agree: every
// link names a device whose "container" is that container, no device
// is linked twice, each container counts one client if the local
// connector attached it and none otherwise, and the bus of each attached
// container holds exactly the devices visible in it.  Last (unless
// --keep, or alone with --teardown-only), everything under CFS and LOCAL
// is removed (detach, unlink, disable, rmdir) and nothing may be left,
// neither in configfs nor as a vbus netdev.
//
// Prints a line per operation kind (count, successes, errors by name),
// the frames sent and the rate of operations, and "FAIL: ..." for every
// violation.  Exits 0 when nothing was violated, 1 otherwise, 2 on bad
// usage.

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <memory>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "check.hh"
#include "fs.hh"
#include "objects.hh"
#include "report.hh"
#include "traffic.hh"
#include "values.hh"
#include "worker.hh"

namespace
{

using namespace cfs_fuzz;

struct Options {
	unsigned long long seed = 0;
	bool seed_given = false;
	unsigned threads = 4;
	unsigned seconds = 30;
	bool teardown_only = false;
	bool keep = false;
	std::string cfs;
	std::string local;
};

Options parse(std::span<char *> args)
{
	Options o;
	std::vector<std::string> rest;
	for (size_t i = 1; i < args.size(); i++) {
		const std::string a = args[i];
		auto next = [&]() -> std::string {
			if (i + 1 >= args.size()) {
				throw std::invalid_argument(a + " needs a value");
			}
			return args[++i];
		};
		if (a == "--seed") {
			o.seed = std::stoull(next());
			o.seed_given = true;
		} else if (a == "--threads") {
			o.threads = static_cast<unsigned>(std::stoul(next()));
		} else if (a == "--seconds") {
			o.seconds = static_cast<unsigned>(std::stoul(next()));
		} else if (a == "--teardown-only") {
			o.teardown_only = true;
		} else if (a == "--keep") {
			o.keep = true;
		} else {
			rest.push_back(a);
		}
	}
	if (rest.size() != 2 || o.threads == 0) {
		throw std::invalid_argument("usage: cfs-fuzz [--seed N] [--threads N] [--seconds "
		                            "S] [--keep | --teardown-only] "
		                            "CFS LOCAL");
	}
	o.cfs = rest[0];
	o.local = rest[1];
	if (!o.seed_given) {
		o.seed = std::random_device{}();
	}
	return o;
}

void fuzz(const Options &opt)
{
	std::cout << "seed " << opt.seed << " threads " << opt.threads << " seconds " << opt.seconds
	          << '\n'
	          << std::flush;

	// What a new venet device offers is every feature the class supports.
	const std::string probe = opt.cfs + "/devices/venet/fzprobe";
	std::string features;
	if (sys_mkdir(probe) != 0 || read_file(probe + "/features", features) != 0 ||
	    sys_rmdir(probe) != 0) {
		throw std::runtime_error("probing venet's features at " + probe + ": " +
		                         std::strerror(errno));
	}
	venet_supported = std::stoull(features, nullptr, 16);

	Tree tree(opt.cfs, opt.local, 6, 10);
	std::vector<std::unique_ptr<Worker>> workers;
	for (unsigned t = 0; t < opt.threads; t++) {
		workers.push_back(std::make_unique<Worker>(tree, t, opt.seed + t));
	}
	std::atomic<bool> stop{false};
	std::atomic<unsigned> running{opt.threads};
	const auto start = Clock::now();
	const auto end = start + std::chrono::seconds(opt.seconds);
	std::vector<std::thread> threads;
	threads.reserve(workers.size());
	for (auto &w : workers) {
		threads.emplace_back([&w, &running, &stop, end] {
			w->run(end, stop);
			running--;
		});
	}
	TrafficCounts counts;
	std::thread sender([&stop, &counts] { traffic(stop, counts); });

	// A thread stuck in the kernel is a failure in its own right: say
	// where each one is, and give up on it.
	while (running.load() != 0) {
		std::this_thread::sleep_for(std::chrono::milliseconds(100));
		if (Clock::now() > end + std::chrono::seconds(60)) {
			report.fail("threads still running 60 s after the end");
			for (auto &w : workers) {
				std::cout << "# " << w->current() << '\n';
			}
			std::cout << std::flush;
			std::_Exit(1);
		}
	}
	const double secs = std::chrono::duration<double>(Clock::now() - start).count();
	for (auto &t : threads) {
		t.join();
	}
	stop = true;
	sender.join();

	report.print();
	const unsigned long ops = report.total();
	std::cout << "operations " << ops << " in " << static_cast<unsigned>(secs)
	          << " s: " << static_cast<unsigned long>(static_cast<double>(ops) / secs)
	          << " ops/s\n";
	std::cout << "frames sent " << counts.sent << " refused " << counts.refused
	          << " on netdevs";
	for (const auto &n : counts.netdevs) {
		std::cout << ' ' << show(n);
	}
	std::cout << '\n';

	check_consistent(tree);
	check_buses(tree);
}

} // namespace

int main(int argc, char **argv)
{
	try {
		const Options opt = parse(std::span<char *>(argv, static_cast<size_t>(argc)));
		if (!opt.teardown_only) {
			fuzz(opt);
		}
		if (!opt.keep) {
			const unsigned left = teardown(opt.cfs, opt.local);
			std::cout << "teardown: " << (left == 0 ? "everything removed" : "FAILED")
			          << '\n';
		}
		std::cout << "failures " << report.failures() << '\n';
		return report.failures() == 0 ? 0 : 1;
	} catch (const std::invalid_argument &e) {
		std::cerr << "cfs-fuzz: " << e.what() << '\n';
		return 2;
	} catch (const std::exception &e) {
		std::cerr << "cfs-fuzz: " << e.what() << '\n';
		return 1;
	}
}
