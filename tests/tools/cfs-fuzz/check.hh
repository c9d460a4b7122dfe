// SPDX-License-Identifier: GPL-2.0
//
// cfs-fuzz: after the run: the placements must agree, and teardown
// must leave nothing behind.

#ifndef VBUS_TESTS_TOOLS_CFS_FUZZ_CHECK_HH
#define VBUS_TESTS_TOOLS_CFS_FUZZ_CHECK_HH

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../posix.hh"
#include "fs.hh"
#include "objects.hh"
#include "report.hh"
#include "traffic.hh"

namespace cfs_fuzz
{

using testtools::Fd;

inline void check_consistent(const Tree &tree)
{
	std::map<std::string, std::string> linked; // device path -> container
	const std::string croot = tree.cfs + "/containers";
	for (const auto &c : list_dir(croot)) {
		const std::string dir = cat({croot, "/", c, "/devices"});
		for (const auto &l : list_dir(dir)) {
			std::array<char, 4096> buf{};
			const ssize_t n =
			    readlink(cat({dir, "/", l}).c_str(), buf.data(), buf.size() - 1);
			if (n < 0) {
				report.fail(cat({"placement: readlink ", dir, "/", l, ": ",
				                 std::strerror(errno)}));
				continue;
			}
			// ../../../devices/<class>/<name>
			std::string target(buf.data(), static_cast<size_t>(n));
			const auto at = target.find("devices/");
			target = tree.cfs + "/" + target.substr(at == std::string::npos ? 0 : at);
			if (!linked.emplace(target, c).second) {
				report.fail(cat({"placement: ", target, " is linked from ",
				                 linked[target], " and ", c}));
			}
		}
		std::string clients;
		if (read_file(cat({croot, "/", c, "/clients"}), clients) == 0) {
			const bool attached = exists(cat({tree.local, "/", c}));
			if (clients != (attached ? "1\n" : "0\n")) {
				report.fail("placement: container " + c + " counts " +
				            show(clients) +
				            " clients; attached through the local connector: " +
				            (attached ? "yes" : "no"));
			}
		}
	}
	for (const char *cls : {"echo", "venet"}) {
		const std::string root = cat({tree.cfs, "/devices/", cls});
		for (const auto &d : list_dir(root)) {
			const std::string path = cat({root, "/", d});
			std::string container;
			std::string id;
			(void)read_file(path + "/container", container);
			(void)read_file(path + "/id", id);
			const auto it = linked.find(path);
			const std::string want = it == linked.end() ? "\n" : it->second + "\n";
			if (container != want) {
				report.fail("placement: " + path + " reads container " +
				            show(container) + ", its links say " + show(want));
			}
			if ((id == "\n") != (want == "\n")) {
				report.fail("placement: " + path + " has id " + show(id) +
				            " with container " + show(container));
			}
		}
	}
}

// With nothing running, each attached container's bus holds exactly its
// visible devices (placed there and enabled), as "<container>:<id>", once
// the hotplug events queued to it have been handled.
inline void check_buses(const Tree &tree)
{
	std::set<std::string> want;
	std::set<std::string> attached;
	for (const auto &c : list_dir(tree.local)) {
		attached.insert(c);
	}
	for (const char *cls : {"echo", "venet"}) {
		const std::string root = cat({tree.cfs, "/devices/", cls});
		for (const auto &d : list_dir(root)) {
			std::string container;
			std::string id;
			std::string enabled;
			(void)read_file(cat({root, "/", d, "/container"}), container);
			(void)read_file(cat({root, "/", d, "/id"}), id);
			(void)read_file(cat({root, "/", d, "/enabled"}), enabled);
			if (container.size() > 1 &&
			    attached.contains(container.substr(0, container.size() - 1)) &&
			    enabled == "1\n") {
				want.insert(cat({container.substr(0, container.size() - 1), ":",
				                 id.substr(0, id.size() - 1)}));
			}
		}
	}
	std::set<std::string> have;
	for (int i = 0; i < 100; i++) {
		have.clear();
		for (const auto &n : list_dir("/sys/bus/vbus-proxy/devices")) {
			const auto colon = n.rfind(':');
			if (colon != std::string::npos && attached.contains(n.substr(0, colon))) {
				have.insert(n);
			}
		}
		if (have == want) {
			return;
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(100));
	}
	std::string missing;
	std::string extra;
	for (const auto &n : want) {
		if (!have.contains(n)) {
			missing.append(" ").append(n);
		}
	}
	for (const auto &n : have) {
		if (!want.contains(n)) {
			extra.append(" ").append(n);
		}
	}
	report.fail(cat({"placement: after 10 s the local buses lack [", missing, " ] and have [",
	                 extra, " ] too many"}));
}

// Remove everything under CFS and LOCAL; returns the number of failures.
inline unsigned teardown(const std::string &cfs, const std::string &local)
{
	unsigned failed = 0;
	auto must = [&failed](int err, const std::string &what) {
		if (err != 0) {
			report.fail("teardown: " + what + ": " + std::strerror(err));
			failed++;
		}
	};
	for (const auto &n : list_dir(local)) {
		must(sys_rmdir(cat({local, "/", n})), "detach " + n);
	}
	const std::string croot = cfs + "/containers";
	for (const auto &c : list_dir(croot)) {
		for (const auto &l : list_dir(cat({croot, "/", c, "/devices"}))) {
			const std::string link = cat({croot, "/", c, "/devices/", l});
			must(unlink(link.c_str()) == 0 ? 0 : errno, "rm " + link);
		}
	}
	for (const auto &cls : list_dir(cfs + "/devices")) {
		const std::string root = cat({cfs, "/devices/", cls});
		for (const auto &d : list_dir(root)) {
			must(write_file(cat({root, "/", d, "/enabled"}), "0\n"), "disable " + d);
			must(sys_rmdir(cat({root, "/", d})), cat({"rmdir ", root, "/", d}));
		}
	}
	for (const auto &c : list_dir(croot)) {
		must(sys_rmdir(cat({croot, "/", c})), "rmdir container " + c);
	}

	// Nothing may be left.
	std::vector<std::string> left = list_dir(local);
	for (const auto &c : list_dir(croot)) {
		left.push_back("container " + c);
	}
	for (const auto &cls : list_dir(cfs + "/devices")) {
		for (const auto &d : list_dir(cat({cfs, "/devices/", cls}))) {
			left.push_back(cat({"device ", cls, "/", d}));
		}
	}
	const Fd ctl(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	// Netdevs go away as their devices are disabled; unregistering may
	// still be under way for a moment.
	for (int i = 0; i < 50 && ctl && !vbus_netdevs(ctl.get()).empty(); i++) {
		std::this_thread::sleep_for(std::chrono::milliseconds(100));
	}
	if (ctl) {
		for (const auto &[index, name] : vbus_netdevs(ctl.get())) {
			left.push_back("netdev " + show(name));
		}
	}
	for (const auto &l : left) {
		report.fail("teardown: left behind: " + l);
		failed++;
	}
	return failed;
}

} // namespace cfs_fuzz

#endif
