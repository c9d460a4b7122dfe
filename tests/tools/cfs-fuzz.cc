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

#include <dirent.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <shared_mutex>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "posix.hh"

namespace
{

using Clock = std::chrono::steady_clock;
using testtools::Fd;
using Rng = std::mt19937_64;

// ---------------------------------------------------------------- //
// what the run found

class Report
{
public:
	void fail(const std::string &what)
	{
		const std::scoped_lock lock(mutex_);
		failures_++;
		if (failures_ <= 50) {
			std::cout << "FAIL: " << what << '\n' << std::flush;
		}
	}
	void count(const std::string &op, int err)
	{
		const std::scoped_lock lock(mutex_);
		auto &c = ops_[op];
		c.n++;
		if (err == 0) {
			c.ok++;
		} else {
			c.errors[err]++;
		}
	}
	[[nodiscard]] unsigned failures() const
	{
		const std::scoped_lock lock(mutex_);
		return failures_;
	}
	[[nodiscard]] unsigned long total() const
	{
		const std::scoped_lock lock(mutex_);
		unsigned long n = 0;
		for (const auto &[op, c] : ops_) {
			n += c.n;
		}
		return n;
	}
	void print() const
	{
		const std::scoped_lock lock(mutex_);
		for (const auto &[op, c] : ops_) {
			std::cout << "op " << op << " n=" << c.n << " ok=" << c.ok;
			for (const auto &[err, n] : c.errors) {
				std::cout << ' ' << errno_name(err) << '=' << n;
			}
			std::cout << '\n';
		}
	}

	static std::string errno_name(int err)
	{
		switch (err) {
		case EINVAL:
			return "EINVAL";
		case EBUSY:
			return "EBUSY";
		case EEXIST:
			return "EEXIST";
		case ENOENT:
			return "ENOENT";
		case EPERM:
			return "EPERM";
		case EACCES:
			return "EACCES";
		case ENOTEMPTY:
			return "ENOTEMPTY";
		case EFAULT:
			return "EFAULT";
		case ENAMETOOLONG:
			return "ENAMETOOLONG";
		case ENOSPC:
			return "ENOSPC";
		case ENFILE:
			return "ENFILE";
		case ENOMEM:
			return "ENOMEM";
		case EXDEV:
			return "EXDEV";
		case ENOTDIR:
			return "ENOTDIR";
		case EISDIR:
			return "EISDIR";
		case EIO:
			return "EIO";
		default:
			return "errno" + std::to_string(err);
		}
	}

private:
	struct Counts {
		unsigned long n = 0;
		unsigned long ok = 0;
		std::map<int, unsigned long> errors;
	};
	mutable std::mutex mutex_;
	std::map<std::string, Counts> ops_;
	unsigned failures_ = 0;
};

Report report;

// Printable form of a value that may hold any byte.
std::string show(const std::string &s)
{
	std::string out = "'";
	for (const char ch : s.substr(0, 80)) {
		const auto c = static_cast<unsigned char>(ch);
		if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
			out += ch;
		} else {
			std::array<char, 8> buf{};
			(void)std::snprintf(buf.data(), buf.size(), "\\x%02x", c);
			out += buf.data();
		}
	}
	if (s.size() > 80) {
		out += "...(" + std::to_string(s.size()) + " bytes)";
	}
	return out + "'";
}

// The parts, concatenated.
std::string cat(std::initializer_list<std::string_view> parts)
{
	std::string s;
	for (const auto part : parts) {
		s.append(part);
	}
	return s;
}

// ---------------------------------------------------------------- //
// file system access; each returns 0 or an errno

int read_file(const std::string &path, std::string &out)
{
	const Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
	if (!fd) {
		return errno;
	}
	std::array<char, 8192> buf{};
	out.clear();
	for (;;) {
		const ssize_t n = read(fd.get(), buf.data(), buf.size());
		if (n < 0) {
			return errno;
		}
		if (n == 0) {
			return 0;
		}
		out.append(buf.data(), static_cast<size_t>(n));
	}
}

// One write(2) of the whole value, as configfs wants; a short write is
// an error (EIO) since configfs took a truncated value.
int write_file(const std::string &path, const std::string &value)
{
	const Fd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
	if (!fd) {
		return errno;
	}
	const ssize_t n = write(fd.get(), value.data(), value.size());
	if (n < 0) {
		return errno;
	}
	return static_cast<size_t>(n) == value.size() ? 0 : EIO;
}

int sys_mkdir(const std::string &path)
{
	return mkdir(path.c_str(), 0755) == 0 ? 0 : errno;
}

int sys_rmdir(const std::string &path)
{
	return rmdir(path.c_str()) == 0 ? 0 : errno;
}

// Names in a directory (no "." or ".."); empty if it cannot be read.
std::vector<std::string> list_dir(const std::string &path)
{
	std::vector<std::string> names;
	const std::unique_ptr<DIR, int (*)(DIR *)> dir(opendir(path.c_str()), closedir);
	if (!dir) {
		return names;
	}
	while (const dirent *e = readdir(dir.get())) {
		const std::string name(static_cast<const char *>(e->d_name));
		if (name != "." && name != "..") {
			names.push_back(name);
		}
	}
	return names;
}

bool exists(const std::string &path)
{
	struct stat st {
	};
	return lstat(path.c_str(), &st) == 0;
}

// ---------------------------------------------------------------- //
// values

enum class Expect {
	valid,   // must read back as `back` when accepted
	invalid, // must be refused
	any,     // either; only "refused changes nothing" applies
};

struct Value {
	std::string bytes;
	Expect expect = Expect::any;
	std::string back; // what a read gives after it was accepted
};

Value valid(std::string v, std::string back)
{
	return {std::move(v) + "\n", Expect::valid, std::move(back) + "\n"};
}

Value valid(const std::string &v)
{
	return valid(v, v);
}

Value invalid(std::string v)
{
	return {std::move(v), Expect::invalid, {}};
}

Value any(std::string v)
{
	return {std::move(v), Expect::any, {}};
}

template <typename T> T pick(Rng &rng, std::span<const T> items)
{
	std::uniform_int_distribution<size_t> d(0, items.size() - 1);
	return items[d(rng)];
}

unsigned long long uniform(Rng &rng, unsigned long long lo, unsigned long long hi)
{
	std::uniform_int_distribution<unsigned long long> d(lo, hi);
	return d(rng);
}

bool chance(Rng &rng, unsigned percent)
{
	return uniform(rng, 0, 99) < percent;
}

// Garbage that no attribute of vbus accepts.
Value garbage(Rng &rng)
{
	switch (uniform(rng, 0, 9)) {
	case 0:
		return invalid(""); // configfs: EFAULT
	case 1:
		return invalid("\n"); // (owner_* take it: see owner_value)
	case 2:
		return invalid("-1\n");
	case 3:
		return invalid("99999999999999999999999\n");
	case 4:
		return invalid(chance(rng, 50) ? "nonsense\n" : "yes\n");
	case 5:
		return invalid(std::string(uniform(rng, 100, 5000), '7'));
	case 6:
		return invalid("\xff\xfe\x80\n");
	case 7:
		return invalid("a/b:c d\n");
	case 8:
		return invalid("\n\n\n");
	default:
		return invalid("1 2\n");
	}
}

// Everything else; NUL ends what the kernel parses, so what follows it
// may or may not matter: such values are "any".
Value with_nul(Rng &rng, const Value &v)
{
	std::string b = v.bytes;
	b.insert(uniform(rng, 0, b.size()), 1, '\0');
	return any(b);
}

Value owner_value(Rng &rng)
{
	switch (uniform(rng, 0, 7)) {
	case 0:
		return valid("", "");
	case 1:
		return valid("0");
	case 2:
		return valid(std::to_string(uniform(rng, 1, 70000)));
	case 3:
		return valid("4294967294");
	case 4:
		return invalid("4294967295\n");
	case 5:
		return invalid("nobody\n");
	case 6:
		return any(" 1000 \n");
	default: {
		// White space alone clears the owner, like an empty value.
		Value g = garbage(rng);
		const bool blank = g.bytes.find_first_not_of('\n') == std::string::npos;
		return blank && !g.bytes.empty() ? valid("", "") : g;
	}
	}
}

Value enabled_value(Rng &rng)
{
	switch (uniform(rng, 0, 9)) {
	case 0:
	case 1:
	case 2:
		return valid("1");
	case 3:
	case 4:
	case 5:
		return valid("0");
	case 6:
		return invalid("2\n");
	case 7:
		return invalid("maybe\n");
	case 8:
		return invalid(chance(rng, 50) ? "yes\n" : "off\n"); // 0 or 1 only
	default:
		return garbage(rng);
	}
}

Value max_len_value(Rng &rng)
{
	switch (uniform(rng, 0, 7)) {
	case 0:
		return valid("1");
	case 1:
		return valid("65536");
	case 2: {
		const auto n = uniform(rng, 1, 65536);
		return valid(std::to_string(n));
	}
	case 3:
		return valid("0x100", "256");
	case 4:
		return invalid("0\n");
	case 5:
		return invalid("65537\n");
	case 6:
		return invalid("4294967296\n");
	default:
		return garbage(rng);
	}
}

std::string mac_string(Rng &rng, unsigned first)
{
	std::array<char, 32> buf{};
	(void)std::snprintf(buf.data(), buf.size(), "%02x:%02x:%02x:%02x:%02x:%02x", first,
	                    static_cast<unsigned>(uniform(rng, 0, 255)),
	                    static_cast<unsigned>(uniform(rng, 0, 255)),
	                    static_cast<unsigned>(uniform(rng, 0, 255)),
	                    static_cast<unsigned>(uniform(rng, 0, 255)),
	                    static_cast<unsigned>(uniform(rng, 0, 255)));
	return buf.data();
}

Value mac_value(Rng &rng)
{
	switch (uniform(rng, 0, 7)) {
	case 0:
	case 1:
		return valid(mac_string(rng, 0x52));
	case 2: {
		std::string upper = mac_string(rng, 0x02);
		std::string lower = upper;
		std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
		return valid(upper, lower);
	}
	case 3:
		return invalid(mac_string(rng, 0x01) + "\n"); // multicast
	case 4:
		return invalid("00:00:00:00:00:00\n");
	case 5:
		return invalid("52:54:00:12:34\n");
	case 6:
		return invalid("52:54:00:12:34:56:78\n");
	default:
		return garbage(rng);
	}
}

Value ifname_value(Rng &rng)
{
	static const std::array<const char *, 6> taken = {"lo",   "fzn0",  "fzn1",
	                                                  "fzn2", "fzn%d", "vbus-vn%d"};
	switch (uniform(rng, 0, 9)) {
	case 0:
	case 1:
		return valid(pick<const char *>(rng, taken));
	case 2:
		return valid("fz\xc3\x28\xff" + std::to_string(uniform(rng, 0, 9)));
	case 3:
		return valid("fz-15-chars-abc");
	case 4:
		return invalid("fz-16-chars-abcd\n");
	case 5:
		return invalid("fz%d%d\n");
	case 6:
		return invalid(chance(rng, 50) ? "fz:1\n" : "fz 1\n");
	case 7:
		return invalid(chance(rng, 50) ? ".\n" : "..\n");
	case 8:
		return invalid("fz%s\n");
	default: {
		// A netdev name may hold any byte but '/', ':' and white space.
		Value g = garbage(rng);
		if (g.bytes == "-1\n" || g.bytes == "\xff\xfe\x80\n" || g.bytes == "yes\n" ||
		    g.bytes == "nonsense\n") {
			g.expect = Expect::any;
		}
		return g;
	}
	}
}

Value mtu_value(Rng &rng)
{
	switch (uniform(rng, 0, 6)) {
	case 0:
		return valid("68");
	case 1:
		return valid("9000");
	case 2:
		return valid(std::to_string(uniform(rng, 68, 9000)));
	case 3:
		return invalid("67\n");
	case 4:
		return invalid("9001\n");
	case 5:
		return invalid("0x5dc\n");
	default:
		return garbage(rng);
	}
}

Value queues_value(Rng &rng)
{
	switch (uniform(rng, 0, 5)) {
	case 0:
	case 1:
		return valid(std::to_string(uniform(rng, 1, 16)));
	case 2:
		return invalid("0\n");
	case 3:
		return invalid("17\n");
	case 4:
		return invalid("4294967297\n");
	default:
		return garbage(rng);
	}
}

// The feature bits the class supports: the default of a new device.
std::atomic<unsigned long long> venet_supported{0};

Value features_value(Rng &rng)
{
	const unsigned long long all = venet_supported.load();
	std::array<char, 32> buf{};
	switch (uniform(rng, 0, 5)) {
	case 0:
	case 1: {
		const unsigned long long v = all & uniform(rng, 0, ~0ULL);
		(void)std::snprintf(buf.data(), buf.size(), "0x%llx", v);
		return valid(chance(rng, 50) ? buf.data() : buf.data() + 2, buf.data());
	}
	case 2:
		return valid("0", "0x0");
	case 3:
		if (~all != 0) {
			(void)std::snprintf(buf.data(), buf.size(), "0x%llx", ~all);
			return invalid(std::string(buf.data()) + "\n");
		}
		return garbage(rng);
	case 4:
		return invalid("0x1ffffffffffffffff\n");
	default:
		return garbage(rng);
	}
}

// ---------------------------------------------------------------- //
// the objects

enum class Kind { container, echo, venet };

struct Attr {
	const char *name;
	Value (*gen)(Rng &);
	// Attributes whose reading this one's writes change besides itself
	// (venet's ifname reads as the netdev's name while enabled).
	std::vector<const char *> also;
};

const std::vector<Attr> container_attrs = {
    {"owner_uid", owner_value, {}},
    {"owner_gid", owner_value, {}},
};
const std::vector<Attr> echo_attrs = {
    {"enabled", enabled_value, {}},
    {"max_len", max_len_value, {}},
};
const std::vector<Attr> venet_attrs = {
    {"enabled", enabled_value, {"ifname"}},
    {"host_mac", mac_value, {}},
    {"guest_mac", mac_value, {}},
    {"ifname", ifname_value, {}},
    {"mtu", mtu_value, {}},
    {"queues", queues_value, {}},
    {"features", features_value, {}},
};
const std::vector<const char *> container_ro = {"clients"};
const std::vector<const char *> device_ro = {"id", "container", "type", "connections"};

struct Object {
	Kind kind;
	std::string name;
	std::string path;
	// Exclusive for mkdir and rmdir, shared for checked writes: the object
	// does not come and go while a write is checked.
	std::shared_mutex exist;
	// One per attribute of attrs(), held while a write is checked.
	std::vector<std::mutex> attr_locks;

	Object(Kind k, std::string n, std::string p)
	    : kind(k), name(std::move(n)), path(std::move(p)), attr_locks(attrs().size())
	{
	}

	[[nodiscard]] const std::vector<Attr> &attrs() const
	{
		return kind == Kind::container ? container_attrs
		       : kind == Kind::echo    ? echo_attrs
		                               : venet_attrs;
	}
	[[nodiscard]] const std::vector<const char *> &read_only() const
	{
		return kind == Kind::container ? container_ro : device_ro;
	}
	[[nodiscard]] size_t attr_index(const char *name) const
	{
		const auto &a = attrs();
		for (size_t i = 0; i < a.size(); i++) {
			if (std::strcmp(a[i].name, name) == 0) {
				return i;
			}
		}
		throw std::logic_error(std::string("no attribute ") + name);
	}
};

struct Tree {
	std::string cfs;
	std::string local;
	std::vector<std::unique_ptr<Object>> containers;
	std::vector<std::unique_ptr<Object>> devices;
	// The names two classes race for (op_mkdir_cross_class).  vbus frees
	// a device's name inside rmdir(2), and the directory is gone when
	// rmdir(2) returns: a check that both classes have the name must not
	// overlap an rmdir of it.  mkdirs and checks hold the lock shared
	// (they race each other), an rmdir holds it alone.
	std::array<std::shared_mutex, 2> cross_class;

	Tree(std::string c, std::string l, unsigned ncontainers, unsigned ndevices)
	    : cfs(std::move(c)), local(std::move(l))
	{
		for (unsigned i = 0; i < ncontainers; i++) {
			const std::string name = "fzc" + std::to_string(i);
			containers.push_back(std::make_unique<Object>(Kind::container, name,
			                                              cfs + "/containers/" + name));
		}
		for (unsigned i = 0; i < ndevices; i++) {
			const bool venet = i % 2 == 1;
			const std::string name = (venet ? "fzv" : "fze") + std::to_string(i);
			devices.push_back(std::make_unique<Object>(
			    venet ? Kind::venet : Kind::echo, name,
			    cfs + "/devices/" + (venet ? "venet/" : "echo/") + name));
		}
	}
};

// ---------------------------------------------------------------- //
// one fuzzing thread

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

// ---------------------------------------------------------------- //
// traffic on every vbus netdev

void set_ifname(ifreq &ifr, const std::string &name)
{
	name.copy(static_cast<char *>(ifr.ifr_name), IFNAMSIZ - 1);
}

// The driver of a netdev ("vbus-venet", "vbus-enet", ...), or "".
std::string netdev_driver(int sock, const std::string &name)
{
	ethtool_drvinfo info{};
	info.cmd = ETHTOOL_GDRVINFO;
	ifreq ifr{};
	set_ifname(ifr, name);
	// NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the ioctl's ABI
	ifr.ifr_data = reinterpret_cast<char *>(&info);
	if (ioctl(sock, SIOCETHTOOL, &ifr) != 0) {
		return "";
	}
	return static_cast<const char *>(info.driver);
}

// Netdevs of vbus: the host side of venet and the guest driver's.
std::vector<std::pair<unsigned, std::string>> vbus_netdevs(int sock)
{
	std::vector<std::pair<unsigned, std::string>> found;
	using Names = struct if_nameindex;
	const std::unique_ptr<Names, void (*)(Names *)> list(if_nameindex(), if_freenameindex);
	if (!list) {
		return found;
	}
	// NOLINTNEXTLINE(cppcoreguidelines-pro-bounds-pointer-arithmetic): a C array
	for (const Names *i = list.get(); i->if_index != 0; i++) {
		const std::string drv = netdev_driver(sock, i->if_name);
		if (drv.rfind("vbus-", 0) == 0) {
			found.emplace_back(i->if_index, i->if_name);
		}
	}
	return found;
}

struct TrafficCounts {
	unsigned long sent = 0;
	unsigned long refused = 0;
	std::set<std::string> netdevs;
};

void traffic(const std::atomic<bool> &stop, TrafficCounts &counts)
{
	const Fd ctl(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	const Fd raw(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
	if (!ctl || !raw) {
		report.fail(std::string("traffic: socket: ") + std::strerror(errno));
		return;
	}
	std::array<unsigned char, 1514> frame{};
	std::fill_n(frame.begin(), 6, 0xff); // broadcast
	frame[6] = 0x02;                     // locally administered source
	frame[12] = 0x88;                    // local experimental
	frame[13] = 0xb5;                    // ethertype 0x88b5
	unsigned size = 60;
	while (!stop.load()) {
		for (const auto &[index, name] : vbus_netdevs(ctl.get())) {
			counts.netdevs.insert(name);
			ifreq ifr{};
			set_ifname(ifr, name);
			if (ioctl(ctl.get(), SIOCGIFFLAGS, &ifr) == 0 &&
			    (ifr.ifr_flags & IFF_UP) == 0) {
				ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
				(void)ioctl(ctl.get(), SIOCSIFFLAGS, &ifr);
			}
			sockaddr_ll to{};
			to.sll_family = AF_PACKET;
			to.sll_ifindex = static_cast<int>(index);
			to.sll_halen = ETH_ALEN;
			std::fill_n(std::begin(to.sll_addr), ETH_ALEN, 0xff);
			for (int n = 0; n < 16; n++) {
				size = size >= 1400 ? 60 : size + 97;
				if (sendto(
				        raw.get(), frame.data(), size, 0,
				        // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
				        reinterpret_cast<const sockaddr *>(&to),
				        sizeof(to)) == static_cast<ssize_t>(size)) {
					counts.sent++;
				} else {
					counts.refused++;
				}
			}
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(20));
	}
}

// ---------------------------------------------------------------- //
// after the run

// With nothing running, the placements must agree with each other.
void check_consistent(const Tree &tree)
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
void check_buses(const Tree &tree)
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
unsigned teardown(const std::string &cfs, const std::string &local)
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
