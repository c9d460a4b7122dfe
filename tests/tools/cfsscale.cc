// SPDX-License-Identifier: GPL-2.0
//
// cfsscale: create and destroy many vbus containers and devices through
// configfs, timing every step.
//
//   cfsscale ROOT CLASS CONTAINERS DEVICES_PER_CONTAINER GROUP [CTL_C CTL_D]
//
// For every container: mkdir it, mkdir its devices of CLASS, enable them
// and link them in.  For every GROUP containers it prints the mean time
// of each step per object ("create group=N container_us=.. lookup_us=..
// mkdir_us=.. enable_us=.. link_us=.."; lookup is a stat of an absent
// name in the class directory), then tears everything down in reverse
// ("destroy group=N unlink_us=.. rmdir_us=.. container_us=..").
//
// With CTL_C and CTL_D, two groups of another configfs subsystem whose
// items cost nothing of their own, every container and device mkdir is
// matched by a mkdir there, timed as ctl_container and ctl_device: what
// configfs itself costs as the same directories fill up, in the same run
// and the same machine state.
//
// Exits non-zero, naming the object and the error, at the first failure.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace
{

using Clock = std::chrono::steady_clock;

[[noreturn]] void fail(const std::string &op, const std::string &path)
{
	throw std::runtime_error(op + " " + path + ": " + std::strerror(errno));
}

void make_dir(const std::string &path)
{
	if (mkdir(path.c_str(), 0755) != 0) {
		fail("mkdir", path);
	}
}

void remove_dir(const std::string &path)
{
	if (rmdir(path.c_str()) != 0) {
		fail("rmdir", path);
	}
}

void write_attr(const std::string &path, const std::string &value)
{
	const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		fail("open", path);
	}
	const ssize_t n = write(fd, value.data(), value.size());
	const int saved = errno;
	close(fd);
	errno = saved;
	if (n != static_cast<ssize_t>(value.size())) {
		fail("write '" + value + "' to", path);
	}
}

struct Params {
	std::string root;
	std::string cls;
	unsigned containers = 0;
	unsigned devices = 0;
	unsigned group = 0;
	std::string ctl_containers; // empty: no control
	std::string ctl_devices;

	[[nodiscard]] std::string container(unsigned c) const
	{
		return root + "/containers/s" + std::to_string(c);
	}
	[[nodiscard]] static std::string device_name(unsigned c, unsigned d)
	{
		return "s" + std::to_string(c) + "d" + std::to_string(d);
	}
	[[nodiscard]] std::string device(unsigned c, unsigned d) const
	{
		return root + "/devices/" + cls + "/" + device_name(c, d);
	}
	[[nodiscard]] std::string link(unsigned c, unsigned d) const
	{
		return container(c) + "/devices/" + device_name(c, d);
	}
	[[nodiscard]] bool control() const { return !ctl_containers.empty(); }
	// nvmet port names are numbers.
	[[nodiscard]] std::string ctl_container(unsigned c) const
	{
		return ctl_containers + "/" + std::to_string(c + 1);
	}
	[[nodiscard]] std::string ctl_device(unsigned c, unsigned d) const
	{
		return ctl_devices + "/" + device_name(c, d);
	}
};

// Time spent in each step of one group, reported as a mean per object.
class Steps
{
public:
	explicit Steps(std::vector<std::string> names)
	    : names_(std::move(names)), total_(names_.size())
	{
	}
	template <typename F> void time(std::size_t step, F &&f)
	{
		const auto start = Clock::now();
		f();
		total_.at(step) += Clock::now() - start;
	}
	void report(const char *what, unsigned group, unsigned containers, unsigned devices)
	{
		std::cout << what << " group=" << group;
		for (std::size_t i = 0; i < names_.size(); i++) {
			if (total_[i] == Clock::duration::zero()) {
				continue;
			}
			const bool per_container = names_[i].find("container") != std::string::npos;
			const unsigned n = per_container ? containers : containers * devices;
			const auto us =
			    std::chrono::duration_cast<std::chrono::microseconds>(total_[i])
			        .count();
			std::cout << ' ' << names_[i] << "_us=" << us / n;
			total_[i] = {};
		}
		std::cout << '\n' << std::flush;
	}

private:
	std::vector<std::string> names_;
	std::vector<Clock::duration> total_;
};

void create(const Params &p)
{
	enum { kContainer, kLookup, kMkdir, kEnable, kLink, kCtlContainer, kCtlDevice };
	Steps steps(
	    {"container", "lookup", "mkdir", "enable", "link", "ctl_container", "ctl_device"});
	const std::string absent = p.root + "/devices/" + p.cls + "/absent";
	for (unsigned c = 0; c < p.containers; c++) {
		steps.time(kContainer, [&] { make_dir(p.container(c)); });
		if (p.control()) {
			steps.time(kCtlContainer, [&] { make_dir(p.ctl_container(c)); });
		}
		for (unsigned d = 0; d < p.devices; d++) {
			// What configfs alone costs: looking up a name that is not there.
			steps.time(kLookup, [&] {
				struct stat st {
				};
				if (stat(absent.c_str(), &st) == 0 || errno != ENOENT) {
					fail("stat", absent);
				}
			});
			steps.time(kMkdir, [&] { make_dir(p.device(c, d)); });
			steps.time(kEnable,
			           [&] { write_attr(p.device(c, d) + "/enabled", "1\n"); });
			steps.time(kLink, [&] {
				if (symlink(p.device(c, d).c_str(), p.link(c, d).c_str()) != 0) {
					fail("symlink", p.link(c, d));
				}
			});
			if (p.control()) {
				steps.time(kCtlDevice, [&] { make_dir(p.ctl_device(c, d)); });
			}
		}
		if ((c + 1) % p.group == 0) {
			steps.report("create", c / p.group, p.group, p.devices);
		}
	}
}

void destroy(const Params &p)
{
	enum { kUnlink, kRmdir, kContainer };
	Steps steps({"unlink", "rmdir", "container"});
	for (unsigned c = p.containers; c-- > 0;) {
		for (unsigned d = 0; d < p.devices; d++) {
			steps.time(kUnlink, [&] {
				if (unlink(p.link(c, d).c_str()) != 0) {
					fail("unlink", p.link(c, d));
				}
			});
			steps.time(kRmdir, [&] { remove_dir(p.device(c, d)); });
			if (p.control()) {
				remove_dir(p.ctl_device(c, d));
			}
		}
		steps.time(kContainer, [&] { remove_dir(p.container(c)); });
		if (p.control()) {
			remove_dir(p.ctl_container(c));
		}
		if (c % p.group == 0) {
			steps.report("destroy", c / p.group, p.group, p.devices);
		}
	}
}

} // namespace

int main(int argc, char **argv)
{
	const std::span<char *> args(argv, static_cast<std::size_t>(argc));
	if (args.size() != 6 && args.size() != 8) {
		std::cerr << "usage: cfsscale ROOT CLASS CONTAINERS DEVICES_PER_CONTAINER GROUP "
		             "[CTL_C CTL_D]\n";
		return 2;
	}
	try {
		Params p;
		p.root = args[1];
		p.cls = args[2];
		p.containers = static_cast<unsigned>(std::stoul(args[3]));
		p.devices = static_cast<unsigned>(std::stoul(args[4]));
		p.group = static_cast<unsigned>(std::stoul(args[5]));
		if (args.size() == 8) {
			p.ctl_containers = args[6];
			p.ctl_devices = args[7];
		}
		if (p.group == 0 || p.containers % p.group != 0) {
			throw std::invalid_argument("GROUP must divide CONTAINERS");
		}
		create(p);
		destroy(p);
	} catch (const std::exception &e) {
		std::cerr << "cfsscale: " << e.what() << '\n';
		return 1;
	}
	return 0;
}
