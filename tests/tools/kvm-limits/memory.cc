// SPDX-License-Identifier: GPL-2.0
//
// kvm-limits' memory modes (memlock, memexec, filemem, memcg): what a
// VMM's regions cost it, in RLIMIT_MEMLOCK, in pins after an exec, in
// file pages and in its memory cgroup.  The modes are described in
// main.cc.

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <map>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include <vbus/echo.h>
#include <vbus/kvm.h>
}

#include "../posix.hh"
#include "../vkvm_client.hh"
#include "limits.hh"

// The call page is the ABI's union of operations.
// NOLINTBEGIN(cppcoreguidelines-pro-type-union-access)

namespace kvm_limits
{

namespace
{

using testtools::fail;
using testtools::Fd;

// The administrator's side, for the device added while the cgroup is full.
constexpr const char *cfs_root = "/sys/kernel/config/vbus";
constexpr const char *late_name = "memcg-late";

// VmPin of this process, in kB.
long vm_pin_kb()
{
	std::ifstream f("/proc/self/status");
	std::string line;
	while (std::getline(f, line)) {
		if (line.rfind("VmPin:", 0) == 0) {
			return std::stol(line.substr(6));
		}
	}
	throw std::runtime_error("no VmPin in /proc/self/status");
}

// Wait until VmPin is @kb; false after 3 s.
bool vm_pin_becomes(long kb)
{
	for (int i = 0; i < 300; i++) {
		if (vm_pin_kb() == kb) {
			return true;
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
	}
	return false;
}

void drop_ipc_lock()
{
	__user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
	std::array<__user_cap_data_struct, 2> data{};
	if (syscall(SYS_capget, &hdr, data.data()) < 0) {
		fail("capget");
	}
	const uint32_t bit = 1U << CAP_IPC_LOCK; // CAP_IPC_LOCK < 32
	data[0].effective &= ~bit;
	data[0].permitted &= ~bit;
	data[0].inheritable &= ~bit;
	if (syscall(SYS_capset, &hdr, data.data()) < 0) {
		fail("capset");
	}
}

// Without CAP_IPC_LOCK, with RLIMIT_MEMLOCK at @pages pages.
void limit_memlock(unsigned long pages)
{
	drop_ipc_lock();
	const rlimit rl{pages * page, pages * page};
	if (setrlimit(RLIMIT_MEMLOCK, &rl) < 0) {
		fail("setrlimit(RLIMIT_MEMLOCK)");
	}
}

} // namespace

void check_memlock(const std::string &container, uint32_t echo, unsigned long pages)
{
	limit_memlock(pages);
	Vmm vmm(container);
	vmm.add_doorbells(4);
	const long kb = static_cast<long>(pages * page / 1024);
	const long base = vm_pin_kb();
	report(base == 0, "VmPin starts at 0 kB (" + std::to_string(base) + ")");

	const int64_t a = vmm.open_echo(echo);
	const int64_t b = vmm.open_echo(echo);
	if (a < 0 || b < 0) {
		throw std::runtime_error("DEVOPEN of the echo device failed");
	}
	int64_t r = vmm.add_ring(static_cast<uint32_t>(a), big_gpa, pages * page, 1);
	report(r == 0, "a region of RLIMIT_MEMLOCK's " + std::to_string(pages) + " pages maps (" +
	                   errname(static_cast<int>(-r)) + ")");
	long pin = vm_pin_kb();
	report(pin == kb,
	       "VmPin shows it: " + std::to_string(pin) + " kB (want " + std::to_string(kb) + ")");
	r = vmm.add_ring(static_cast<uint32_t>(b), ring_gpa, page, 2);
	report(r == -ENOMEM,
	       "one page more is refused with ENOMEM (" + errname(static_cast<int>(-r)) + ")");
	pin = vm_pin_kb();
	report(pin == kb, "and VmPin did not move: " + std::to_string(pin) + " kB");

	r = vmm.close_conn(static_cast<uint32_t>(a));
	report(r == 0 && vm_pin_becomes(0),
	       "closing the connection unpins: VmPin " + std::to_string(vm_pin_kb()) + " kB");
	r = vmm.add_ring(static_cast<uint32_t>(b), ring_gpa, page, 2);
	report(r == 0, "then a page maps again (" + errname(static_cast<int>(-r)) + ")");

	// The VMM drops the page under the ring: the region is remapped to a
	// new page, which is counted instead of the old one, not besides it.
	if (madvise(vmm.mem().subspan(ring_gpa).data(), page, MADV_DONTNEED) < 0) {
		fail("madvise(MADV_DONTNEED)");
	}
	std::this_thread::sleep_for(std::chrono::milliseconds(300));
	report(vm_pin_becomes(4), "after the ring's page moved VmPin is " +
	                              std::to_string(vm_pin_kb()) + " kB (want 4)");
	r = vmm.close_conn(static_cast<uint32_t>(b));
	report(r == 0 && vm_pin_becomes(0),
	       "closing the last connection unpins: VmPin " + std::to_string(vm_pin_kb()) + " kB");
}

namespace
{

// Pages pinned in the whole system (FOLL_PIN), as tests/vm/lib.sh counts.
long pins_held()
{
	std::ofstream("/proc/sys/vm/stat_refresh") << "1\n";
	std::ifstream f("/proc/vmstat");
	std::string key;
	long value = 0;
	long acquired = -1;
	long released = -1;
	while (f >> key >> value) {
		if (key == "nr_foll_pin_acquired") {
			acquired = value;
		} else if (key == "nr_foll_pin_released") {
			released = value;
		}
	}
	if (acquired < 0 || released < 0) {
		throw std::runtime_error("no nr_foll_pin_* in /proc/vmstat");
	}
	return acquired - released;
}

} // namespace

// Phase 1 of memexec: pin @pages pages, then exec @self with the
// VMM's file left open, for check_memexec_after().
void check_memexec(const std::string &self, const std::string &container, uint32_t echo,
                   unsigned long pages)
{
	limit_memlock(pages);
	const long before = pins_held();
	Vmm vmm(container);
	vmm.add_doorbells(4);
	const int64_t a = vmm.open_echo(echo);
	if (a < 0) {
		throw std::runtime_error("DEVOPEN of the echo device failed");
	}
	const int64_t r = vmm.add_ring(static_cast<uint32_t>(a), big_gpa, pages * page, 1);
	const long held = pins_held();
	report(r == 0 && held - before >= static_cast<long>(pages),
	       "a region of RLIMIT_MEMLOCK's " + std::to_string(pages) + " pages maps (" +
	           errname(static_cast<int>(-r)) + "), " + std::to_string(held - before) +
	           " pages pinned");
	if (failed_checks() != 0) {
		return;
	}
	std::cout << std::flush;
	if (fcntl(vmm.bus(), F_SETFD, 0) < 0) {
		fail("fcntl(F_SETFD) of /dev/vbus-kvm");
	}
	const std::string before_s = std::to_string(before);
	const std::string fd_s = std::to_string(vmm.bus());
	const std::array<const char *, 7> argv{self.c_str(),    container.c_str(), "0",
	                                       "memexec-after", before_s.c_str(),  fd_s.c_str(),
	                                       nullptr};
	// NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): execv's prototype
	execv("/proc/self/exe", const_cast<char *const *>(argv.data()));
	fail("execv(/proc/self/exe)");
}

// Phase 2 of memexec: the new image, holding the old VMM's file @fd.
void check_memexec_after(long before, int fd)
{
	report(fcntl(fd, F_GETFD) >= 0,
	       "the VMM's /dev/vbus-kvm file is still open after execve()");
	long held = pins_held();
	for (int i = 0; i < 100 && held > before; i++) {
		std::this_thread::sleep_for(std::chrono::milliseconds(50));
		held = pins_held();
	}
	report(held <= before, "the exited address space's pins are gone while its file is open: " +
	                           std::to_string(held) + " pages pinned, " +
	                           std::to_string(before) + " before");
	close(fd);
}

namespace
{

// Map a page of @fd over @at, shared or private.
void map_page_over(std::span<uint8_t> at, int fd, int flags, const std::string &what)
{
	if (mmap(at.data(), page, PROT_READ | PROT_WRITE, flags | MAP_FIXED, fd, 0) == MAP_FAILED) {
		fail("mmap(MAP_FIXED) of " + what);
	}
}

} // namespace

// A ring on a shared page of @path (a file its filesystem writes back)
// is refused; on a private mapping of it, or a memfd's page, it maps.
void check_filemem(const std::string &container, uint32_t echo, const std::string &path)
{
	Vmm vmm(container);
	vmm.add_doorbells(4);
	const int64_t a = vmm.open_echo(echo);
	if (a < 0) {
		throw std::runtime_error("DEVOPEN of the echo device failed");
	}
	const auto handle = static_cast<uint32_t>(a);
	const auto ring_page = vmm.mem().subspan(ring_gpa, page);
	const Fd file(open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
	if (!file || ftruncate(file.get(), page) < 0) {
		fail("create " + path);
	}
	map_page_over(ring_page, file.get(), MAP_SHARED, path);
	int64_t r = vmm.add_ring(handle, ring_gpa, page, 1);
	report(r == -EOPNOTSUPP, "a ring on a shared page of " + path + " is refused: " +
	                             errname(static_cast<int>(-r)) + " (want EOPNOTSUPP)");
	report(vm_pin_kb() == 0,
	       "and nothing stays pinned: VmPin " + std::to_string(vm_pin_kb()) + " kB");

	map_page_over(ring_page, file.get(), MAP_PRIVATE, path + " (private)");
	r = vmm.add_ring(handle, ring_gpa, page, 2);
	report(r == 0,
	       "on a private mapping of it the ring maps (" + errname(static_cast<int>(-r)) + ")");
	r = vmm.close_conn(handle);
	report(r == 0, "the connection closes (" + errname(static_cast<int>(-r)) + ")");

	const int64_t b = vmm.open_echo(echo);
	const auto copy = testtools::GuestMemory::memfd("ring-page", page);
	map_page_over(ring_page, copy.fd(), MAP_SHARED, "a memfd");
	r = b < 0 ? b : vmm.add_ring(static_cast<uint32_t>(b), ring_gpa, page, 3);
	report(r == 0,
	       "on a memfd's shared page the ring maps (" + errname(static_cast<int>(-r)) + ")");
	r = b < 0 ? b : vmm.close_conn(static_cast<uint32_t>(b));
	report(r == 0, "the connection closes (" + errname(static_cast<int>(-r)) + ")");
}

namespace
{

// A cgroup v2 file's first number, or a key's ("max 3") in a flat keyed file.
long cg_read(const std::string &dir, const std::string &file, const std::string &key = "")
{
	std::ifstream f(dir + "/" + file);
	std::string line;
	while (std::getline(f, line)) {
		std::istringstream in(line);
		if (key.empty()) {
			long v = 0;
			in >> v;
			return v;
		}
		std::string k;
		long v = 0;
		if (in >> k >> v && k == key) {
			return v;
		}
	}
	throw std::runtime_error("cannot read " + dir + "/" + file + " " + key);
}

void cg_write(const std::string &dir, const std::string &file, const std::string &value)
{
	const Fd fd(open((dir + "/" + file).c_str(), O_WRONLY | O_CLOEXEC));
	if (fd.get() < 0 ||
	    write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size())) {
		fail("write " + value + " to " + dir + "/" + file);
	}
}

// A process outside the VMM's cgroup that, told to with SIGUSR1, makes an
// echo device, enables it and places it in @container, as an
// administrator would, and exits with 0 if every step worked.  A standard
// signal needs no memory to be sent, and waitpid() none to learn the
// result, so the VMM can use both while its cgroup is full.
class Placer
{
public:
	explicit Placer(const std::string &container)
	    : dev_(std::string(cfs_root) + "/devices/echo/" + late_name),
	      link_(std::string(cfs_root) + "/containers/" + container + "/devices/" + late_name)
	{
		sigemptyset(&set_);
		sigaddset(&set_, SIGUSR1);
		if (sigprocmask(SIG_BLOCK, &set_, nullptr) < 0) {
			fail("sigprocmask");
		}
		pid_ = fork();
		if (pid_ < 0) {
			fail("fork");
		}
		if (pid_ == 0) {
			int sig = 0;
			_exit(sigwait(&set_, &sig) == 0 && place() ? 0 : 1);
		}
	}
	Placer(const Placer &) = delete;
	Placer &operator=(const Placer &) = delete;
	Placer(Placer &&) = delete;
	Placer &operator=(Placer &&) = delete;
	~Placer()
	{
		if (pid_ > 0) {
			kill(pid_, SIGKILL);
			waitpid(pid_, nullptr, 0);
		}
	}

	// Places the device now and waits: whether every step worked.
	bool place_now()
	{
		int status = 0;
		if (kill(pid_, SIGUSR1) < 0 || waitpid(pid_, &status, 0) != pid_) {
			return false;
		}
		pid_ = 0;
		return WIFEXITED(status) && WEXITSTATUS(status) == 0;
	}

	// Its id in the container.
	[[nodiscard]] uint32_t id() const
	{
		std::ifstream f(dev_ + "/id");
		uint32_t id = 0;
		if (!(f >> id)) {
			throw std::runtime_error("cannot read " + dev_ + "/id");
		}
		return id;
	}

	// Takes it out of the container and removes it.
	void remove() const
	{
		if (unlink(link_.c_str()) < 0 || !write_file(dev_ + "/enabled", "0") ||
		    rmdir(dev_.c_str()) < 0) {
			fail("remove " + dev_);
		}
	}

private:
	static bool write_file(const std::string &path, const std::string &value)
	{
		const Fd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
		return fd.get() >= 0 && write(fd.get(), value.data(), value.size()) ==
		                            static_cast<ssize_t>(value.size());
	}

	[[nodiscard]] bool place() const
	{
		return mkdir(dev_.c_str(), 0755) == 0 && write_file(dev_ + "/enabled", "1") &&
		       symlink(dev_.c_str(), link_.c_str()) == 0;
	}

	std::string dev_;
	std::string link_;
	sigset_t set_{};
	pid_t pid_ = 0;
};

// The devices the bus events announce, fetched until none is left: id ->
// interface type (a DEVDROP cancels the device's DEVADD).
std::map<uint32_t, std::string> fetch_devices(Vmm &vmm)
{
	std::map<uint32_t, std::string> devices;
	for (;;) {
		vbus_kvm_call c{};
		c.op = VBUS_KVM_OP_EVENT;
		c.u.event.type_len = 64;
		const int64_t r = vmm.call(c);
		if (r < 0) {
			throw std::runtime_error("EVENT: " + errname(static_cast<int>(-r)));
		}
		const vbus_kvm_event &ev = vmm.page()->u.event;
		if (ev.type == VBUS_KVM_EVENT_NONE) {
			return devices;
		}
		if (ev.type == VBUS_KVM_EVENT_DEVADD) {
			devices[ev.devid] = std::string(&ev.name[0], ev.type_len);
		} else {
			devices.erase(ev.devid);
		}
	}
}

} // namespace

void check_memcg(const std::string &container, uint32_t echo, const std::string &cg, long max_len)
{
	// Forked first: it stays in the cgroup it was started in.
	Placer placer(container);
	Vmm vmm(container);
	const vbus_kvm_limits l = fallback_limits;
	std::vector<uint32_t> conns;
	conns.reserve(l.connections + 1);
	// Two buffers per connection, and some for the connection itself.
	const long per_conn = 2 * max_len;

	cg_write(cg, "cgroup.procs", std::to_string(getpid()));
	const long base = cg_read(cg, "memory.current");
	constexpr unsigned probe = 8;
	for (unsigned i = 0; i < probe; i++) {
		const int64_t r = vmm.open_echo(echo);
		if (r < 0) {
			throw std::runtime_error("DEVOPEN of the echo device: " +
			                         errname(static_cast<int>(-r)));
		}
		conns.push_back(static_cast<uint32_t>(r));
	}
	const long grown = cg_read(cg, "memory.current") - base;
	report(grown >= probe * per_conn,
	       std::to_string(probe) + " connections are charged " + std::to_string(grown / 1024) +
	           " KiB (want >= " + std::to_string(probe * per_conn / 1024) + ")");
	for (const uint32_t h : conns) {
		vmm.close_conn(h);
	}
	conns.clear();

	// The memcg keeps up to a charge batch (64 pages) per CPU precharged:
	// memory.current counts it, and a charge at the limit drains it first.
	const long stock = 64L * static_cast<long>(page) * sysconf(_SC_NPROCESSORS_ONLN);
	// Connections are freed after an RCU grace period: wait until those
	// just closed are gone, so that the limit below is not set over them.
	long now = cg_read(cg, "memory.current");
	for (int i = 0; i < 200 && now - base >= per_conn + stock; i++) {
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
		now = cg_read(cg, "memory.current");
	}
	// A few connections' worth above what the group holds now.
	const long headroom = 16 * per_conn;
	const long most = (headroom + stock) / per_conn;
	cg_write(cg, "memory.max", std::to_string(now + headroom));
	const long max_before = cg_read(cg, "memory.events", "max");
	// No output, no file opened until the connections are closed again: the
	// group is full meanwhile.
	int64_t r = 0;
	while (conns.size() < l.connections + 1UL && (r = vmm.open_echo(echo)) >= 0) {
		conns.push_back(static_cast<uint32_t>(r));
	}
	const size_t opened = conns.size();
	// The group is full: an administrator adds a device to the container.
	const bool placed = placer.place_now();
	for (const uint32_t h : conns) {
		vmm.close_conn(h);
	}
	conns.clear();
	report(r == -ENOMEM && opened <= static_cast<size_t>(most),
	       std::to_string(opened) + " connections opened in " +
	           std::to_string(headroom / 1024) + " KiB, then " + errname(static_cast<int>(-r)) +
	           " (want ENOMEM after at most " + std::to_string(most) +
	           ", the per-CPU precharge included)");
	report(cg_read(cg, "memory.events", "max") > max_before,
	       "memory.events counted the group at its max");
	report(cg_read(cg, "memory.events", "oom") == 0 &&
	           cg_read(cg, "memory.events", "oom_kill") == 0,
	       "without an OOM or an OOM kill");
	const long slack = per_conn + stock;
	long after = cg_read(cg, "memory.current");
	for (int i = 0; i < 200 && after - now >= slack; i++) {
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
		after = cg_read(cg, "memory.current");
	}
	report(after - now < slack,
	       "closing them gave the memory back: " + std::to_string((after - now) / 1024) +
	           " KiB left (want < " + std::to_string(slack / 1024) + ")");
	cg_write(cg, "memory.max", "max");

	// Its bus event was queued while the VMM's cgroup was at memory.max.
	report(placed, "a device placed in the container while the VMM's cgroup was full");
	const uint32_t late = placer.id();
	const std::map<uint32_t, std::string> devices = fetch_devices(vmm);
	report(devices.contains(late) && devices.at(late) == VBUS_ECHO_TYPE,
	       "... reached the guest as DEVADD of device " + std::to_string(late) + " (" +
	           std::to_string(devices.size()) + " devices announced)");
	placer.remove();
}

} // namespace kvm_limits

// NOLINTEND(cppcoreguidelines-pro-type-union-access)
