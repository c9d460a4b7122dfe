// SPDX-License-Identifier: GPL-2.0
//
// cfs-fuzz: one fuzzing thread and its operations.

#ifndef VBUS_TESTS_TOOLS_CFS_FUZZ_WORKER_HH
#define VBUS_TESTS_TOOLS_CFS_FUZZ_WORKER_HH

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <string>
#include <vector>

#include "fs.hh"
#include "objects.hh"
#include "report.hh"
#include "values.hh"

namespace cfs_fuzz
{

class Worker
{
public:
	Worker(Tree &tree, unsigned id, unsigned long long seed) : tree_(tree), id_(id), rng_(seed)
	{
	}

	void run(Clock::time_point end, const std::atomic<bool> &stop)
	{
		while (Clock::now() < end && !stop.load()) {
			step();
		}
		doing("idle");
	}

	// What the thread is doing, for a report of a stalled run.
	std::string current()
	{
		const std::scoped_lock lock(status_mutex_);
		const auto s =
		    std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - since_);
		return "thread " + std::to_string(id_) + ": " + what_ + " (for " +
		       std::to_string(s.count()) + " s)";
	}

private:
	void doing(const std::string &what)
	{
		const std::scoped_lock lock(status_mutex_);
		what_ = what;
		since_ = Clock::now();
	}

	Object &any_container()
	{
		return *tree_.containers[uniform(rng_, 0, tree_.containers.size() - 1)];
	}
	Object &any_device() { return *tree_.devices[uniform(rng_, 0, tree_.devices.size() - 1)]; }

	void step()
	{
		using Op = void (Worker::*)();
		struct Choice {
			unsigned weight;
			Op op;
		};
		static const std::array<Choice, 12> choices = {{
		    {8, &Worker::op_mkdir},
		    {5, &Worker::op_rmdir},
		    {2, &Worker::op_mkdir_bad},
		    {2, &Worker::op_mkdir_cross_class},
		    {8, &Worker::op_link},
		    {5, &Worker::op_unlink},
		    {30, &Worker::op_write},
		    {2, &Worker::op_write_read_only},
		    {15, &Worker::op_read},
		    {4, &Worker::op_attach},
		    {3, &Worker::op_detach},
		    {1, &Worker::op_list},
		}};
		unsigned total = 0;
		for (const auto &c : choices) {
			total += c.weight;
		}
		auto r = static_cast<unsigned>(uniform(rng_, 0, total - 1));
		for (const auto &c : choices) {
			if (r < c.weight) {
				(this->*c.op)();
				return;
			}
			r -= c.weight;
		}
	}

	// mkdir of a container or device of the pool.
	void op_mkdir()
	{
		Object &o = chance(rng_, 40) ? any_container() : any_device();
		doing("mkdir " + o.path);
		const std::unique_lock lock(o.exist);
		report.count("mkdir", sys_mkdir(o.path));
	}

	// rmdir; a device is sometimes disabled first, so that it can go.
	void op_rmdir()
	{
		Object &o = chance(rng_, 40) ? any_container() : any_device();
		doing("rmdir " + o.path);
		const std::unique_lock lock(o.exist);
		if (o.kind != Kind::container && chance(rng_, 50)) {
			const std::scoped_lock attr(o.attr_locks[o.attr_index("enabled")]);
			(void)write_file(o.path + "/enabled", "0\n");
		}
		report.count("rmdir", sys_rmdir(o.path));
	}

	// mkdir with a name vbus refuses, or where nothing can be created.
	void op_mkdir_bad()
	{
		static const std::array<const char *, 8> bad = {
		    "bad*name", "a:b", "a b", "\xff\xfe", "caf\xc3\xa9", "tab\tname", "-", "x"};
		std::string name = pick<const char *>(rng_, bad);
		if (name == "x") {
			name = std::string(65, 'x'); // one past the longest
		}
		std::string path;
		switch (uniform(rng_, 0, 4)) {
		case 0:
			path = tree_.cfs + "/containers/" + name;
			break;
		case 1:
			path = tree_.cfs + "/devices/echo/" + name;
			break;
		case 2:
			path = tree_.cfs + "/devices/venet/" + name;
			break;
		case 3:
			path = any_container().path + "/devices/fzd";
			break;
		default:
			path = tree_.cfs + "/devices/fznoclass";
			break;
		}
		if (name == "-" && path.find("/devices/fz") == std::string::npos) {
			// "-" is a valid name: use it where nothing may be created.
			path = tree_.cfs + "/fzroot";
		}
		doing("mkdir (bad) " + show(path));
		const int err = sys_mkdir(path);
		report.count("mkdir_bad", err);
		if (err == 0) {
			report.fail("mkdir " + show(path) + " succeeded");
			(void)sys_rmdir(path);
		}
	}

	// A name both classes race for: at most one of them may have it.
	void op_mkdir_cross_class()
	{
		const bool venet = chance(rng_, 50);
		const auto which = uniform(rng_, 0, 1);
		const std::string name = "fzx" + std::to_string(which);
		std::shared_mutex &name_lock = tree_.cross_class.at(which);
		const std::string mine =
		    tree_.cfs + "/devices/" + (venet ? "venet/" : "echo/") + name;
		const std::string other =
		    tree_.cfs + "/devices/" + (venet ? "echo/" : "venet/") + name;
		doing("mkdir (cross-class) " + mine);
		{
			const std::shared_lock lock(name_lock);
			const int err = sys_mkdir(mine);
			report.count("mkdir_xclass", err);
			if (err != 0) {
				return;
			}
			if (exists(other)) {
				report.fail("device name " + name + " exists in both classes");
			}
		}
		const std::unique_lock lock(name_lock);
		const int rm = sys_rmdir(mine);
		if (rm != 0) {
			report.fail("rmdir " + mine + " just made: " + std::strerror(rm));
		}
	}

	void op_link()
	{
		Object &c = any_container();
		std::string target;
		std::string name;
		bool device = true;
		switch (uniform(rng_, 0, 9)) {
		case 0: // a container is not a device
			target = any_container().path;
			name = "fzl";
			device = false;
			break;
		case 1: // nor is anything else
			target = chance(rng_, 50) ? tree_.cfs + "/devices/echo"
			                          : tree_.local + "/" + any_container().name;
			name = "fzl";
			device = false;
			break;
		case 2: { // another name for the link
			Object &d = any_device();
			target = d.path;
			name = "fzl" + std::to_string(uniform(rng_, 0, 3));
			break;
		}
		default: {
			Object &d = any_device();
			target = d.path;
			name = d.name;
			break;
		}
		}
		const std::string link = c.path + "/devices/" + name;
		doing("ln -s " + target + " " + link);
		const int err = symlink(target.c_str(), link.c_str()) == 0 ? 0 : errno;
		report.count(device ? "link" : "link_bad", err);
		if (!device && err == 0) {
			report.fail("link " + link + " -> " + target + " succeeded");
			(void)unlink(link.c_str());
		}
	}

	void op_unlink()
	{
		Object &c = any_container();
		const auto links = list_dir(c.path + "/devices");
		if (links.empty()) {
			report.count("unlink_none", 0);
			return;
		}
		const std::string link =
		    c.path + "/devices/" + links[uniform(rng_, 0, links.size() - 1)];
		doing("rm " + link);
		report.count("unlink", unlink(link.c_str()) == 0 ? 0 : errno);
	}

	// A checked write: the value before, the write, the value after.
	void op_write()
	{
		Object &o = chance(rng_, 20) ? any_container() : any_device();
		const auto &attrs = o.attrs();
		const size_t i = uniform(rng_, 0, attrs.size() - 1);
		const Attr &a = attrs[i];
		Value v = a.gen(rng_);
		if (chance(rng_, 5)) {
			v = with_nul(rng_, v);
		}
		const std::string path = o.path + "/" + a.name;
		doing("write " + show(v.bytes) + " to " + path);

		const std::shared_lock exist(o.exist);
		std::vector<size_t> held = {i};
		for (const char *dep : a.also) {
			held.push_back(o.attr_index(dep));
		}
		std::sort(held.begin(), held.end());
		std::vector<std::unique_lock<std::mutex>> locks;
		locks.reserve(held.size());
		for (const size_t h : held) {
			locks.emplace_back(o.attr_locks[h]);
		}

		std::string before;
		if (read_file(path, before) != 0) {
			report.count("write_absent", 0); // no such object now
			return;
		}
		const int err = write_file(path, v.bytes);
		report.count("write_" + std::string(a.name), err);
		std::string after;
		const int rerr = read_file(path, after);
		if (rerr != 0) {
			report.fail("read of " + path + " after a write: " + std::strerror(rerr));
			return;
		}
		if (err != 0 && after != before) {
			report.fail("refused write of " + show(v.bytes) + " to " + path + " (" +
			            Report::errno_name(err) + ") changed it from " + show(before) +
			            " to " + show(after));
		}
		if (err == 0 && v.expect == Expect::invalid) {
			report.fail("invalid " + show(v.bytes) + " accepted by " + path +
			            ", which reads " + show(after));
		}
		if (err == 0 && v.expect == Expect::valid && after != v.back) {
			report.fail("wrote " + show(v.bytes) + " to " + path + ", which reads " +
			            show(after) + ", not " + show(v.back));
		}
	}

	// Read-only attributes refuse to be opened for writing.
	void op_write_read_only()
	{
		Object &o = chance(rng_, 30) ? any_container() : any_device();
		const std::string path =
		    o.path + "/" + o.read_only()[uniform(rng_, 0, o.read_only().size() - 1)];
		doing("write to read-only " + path);
		const int err = write_file(path, "1\n");
		report.count("write_ro", err);
		if (err == 0) {
			report.fail("write to read-only " + path + " succeeded");
		}
	}

	void op_read()
	{
		Object &o = chance(rng_, 30) ? any_container() : any_device();
		std::vector<std::string> names;
		for (const auto &a : o.attrs()) {
			names.emplace_back(a.name);
		}
		for (const char *r : o.read_only()) {
			names.emplace_back(r);
		}
		const std::string path = o.path + "/" + names[uniform(rng_, 0, names.size() - 1)];
		doing("read " + path);
		std::string value;
		const int err = read_file(path, value);
		report.count("read", err);
		if (err == 0 && (value.empty() || value.back() != '\n')) {
			report.fail("read of " + path + " gave " + show(value) + ", not one line");
		}
	}

	// Attach through the local connector: mkdir LOCAL/<container>.
	void op_attach()
	{
		std::string name = any_container().name;
		const bool bad = chance(rng_, 15);
		if (bad) {
			name = chance(rng_, 50) ? "fznone" : "fz\xff bad:name";
		}
		const std::string path = tree_.local + "/" + name;
		doing("attach " + show(path));
		const int err = sys_mkdir(path);
		report.count(bad ? "attach_bad" : "attach", err);
		if (bad && err == 0) {
			report.fail("attach to " + show(name) +
			            ", which is no container, succeeded");
			(void)sys_rmdir(path);
		}
	}

	void op_detach()
	{
		// Only the pool's: a container attached by someone else stays.
		auto names = list_dir(tree_.local);
		std::erase_if(names, [](const std::string &n) { return n.rfind("fz", 0) != 0; });
		if (names.empty()) {
			report.count("detach_none", 0);
			return;
		}
		const std::string path =
		    tree_.local + "/" + names[uniform(rng_, 0, names.size() - 1)];
		doing("detach " + path);
		report.count("detach", sys_rmdir(path));
	}

	void op_list()
	{
		doing("list");
		for (const char *dir : {"/containers", "/devices/echo", "/devices/venet"}) {
			(void)list_dir(tree_.cfs + dir);
		}
		report.count("list", 0);
	}

	Tree &tree_;
	unsigned id_;
	Rng rng_;
	std::mutex status_mutex_;
	std::string what_ = "starting";
	Clock::time_point since_ = Clock::now();
};

} // namespace cfs_fuzz

#endif
