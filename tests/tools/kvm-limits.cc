// SPDX-License-Identifier: GPL-2.0
//
// kvm-limits: a VMM that takes all the KVM connector lets it have.
//
//   kvm-limits CONTAINER ECHO_ID counts
//   kvm-limits CONTAINER ECHO_ID memlock PAGES
//   kvm-limits CONTAINER ECHO_ID memcg CGROUP_DIR ECHO_MAX_LEN
//   kvm-limits CONTAINER ECHO_ID memexec PAGES
//   kvm-limits CONTAINER ECHO_ID filemem FILE
//
// It creates a VM without a vCPU, binds it to CONTAINER through
// /dev/vbus-kvm and makes the guest's calls itself (VBUS_KVM_CALL on a call
// page in guest memory), against the echo device ECHO_ID.
//
// counts: reads VBUS_KVM_GET_LIMITS (and checks the ioctl's size rule),
//   then hits every limit exactly: the last doorbell slot and vector index
//   are taken and the next refused, one eventfd cannot back two slots,
//   `connections` echo connections open and the next is refused, a
//   connection takes `regions` regions and no more, a region of
//   `region_len` bytes maps and one byte more does not; then the memory
//   table: its argument and entry sizes, every kind of bad entry (each
//   refused, leaving the table as it was), `mem_regions` entries and one
//   more, a table without the call page, a caller other than the VMM.
// memlock: drops CAP_IPC_LOCK and sets RLIMIT_MEMLOCK to PAGES pages
//   before the bind; a region of PAGES pages must map and show in VmPin,
//   one page more must fail with ENOMEM; closing gives the pages back, and
//   a region moved by the VMM (MADV_DONTNEED under it) stays counted once.
// memexec: as memlock, a region of PAGES pages; then the VMM execs
//   itself with its /dev/vbus-kvm file left open.  The exited address
//   space's pins must go (the host pins no more than RLIMIT_MEMLOCK for
//   memory nobody can use) while the new image still holds the file.
// filemem: a ring on a page of FILE (on a filesystem with writeback),
//   mapped shared over the guest's memory, is refused with EOPNOTSUPP;
//   a private mapping of it, and a memfd's shared page, map.
// memcg: moves itself into CGROUP_DIR (cgroup v2, memory controller on)
//   after setting up; echo connections (two ECHO_MAX_LEN buffers each)
//   must show in memory.current, and with memory.max a little above the
//   baseline, opening connections must end in ENOMEM long before the
//   connection limit, without an OOM kill, and closing them must give the
//   memory back; a device an administrator places in the container while
//   the cgroup is full must still reach the guest as a bus event.
//
// Prints one line per check and "kvm-limits: ok" at the end; exits
// non-zero after naming every failed check.

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/kvm.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
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
#include <vbus_ioq.h>
}

#include "posix.hh"
#include "vkvm_client.hh"

// The call page is the ABI's union of operations.
// NOLINTBEGIN(cppcoreguidelines-pro-type-union-access)

namespace
{

using testtools::fail;
using testtools::Fd;

constexpr size_t page = 4096;
// Guest physical layout: the call page, a ring, room for big regions.
constexpr uint64_t mem_size = 12ULL << 20;
constexpr uint64_t ring_gpa = 0x10000;
constexpr uint32_t ring_count = 16;
constexpr uint64_t big_gpa = 0x100000; // regions of many pages start here

// The administrator's side, for the device added while the cgroup is full.
constexpr const char *cfs_root = "/sys/kernel/config/vbus";
constexpr const char *late_name = "memcg-late";

// What the kernel of this version enforces, should GET_LIMITS be missing.
constexpr vbus_kvm_limits fallback_limits = {1024, 256, 1024, 64, 4ULL << 20, 1024, 512};

unsigned failures = 0;

void report(bool ok, const std::string &what)
{
	std::cout << (ok ? "ok: " : "FAILED: ") << what << "\n";
	if (!ok) {
		failures++;
	}
}

std::string errname(int err)
{
	return err == 0 ? std::string("success") : std::string(std::strerror(err));
}

// Guest memory is anonymous and touched before the memslot maps it, so
// later checks see no page faults.  No doorbell or vector until asked.
testtools::GuestMemory touched_memory()
{
	auto mem = testtools::GuestMemory::anonymous(mem_size);
	std::ranges::fill(mem.bytes(), 0);
	return mem;
}

class Vmm : public testtools::TestGuest
{
public:
	explicit Vmm(const std::string &container) : TestGuest(container, touched_memory(), 0) {}

	[[nodiscard]] int bus() { return vm().bus(); }

	// DEVOPEN of the echo device: the handle, or a negative errno.
	int64_t open_echo(uint32_t devid) { return try_dev_open(devid, VBUS_ECHO_VERSION); }

	int64_t close_conn(uint32_t handle) { return try_dev_close(handle); }

	// DEVSHM of an echo ring of @len bytes at @gpa.
	int64_t add_ring(uint32_t handle, uint64_t gpa, uint64_t len, uint64_t cookie)
	{
		testtools::RingPlace at(VBUS_ECHO_SHM_RING, gpa, ring_count);
		at.len = len;
		at.cookie = cookie;
		at.notify = false;
		testtools::Ring r;
		return try_add_ring(r, handle, at);
	}

	// Doorbell slots 0 .. @n - 1 and vector 1, for DEVSHM.
	void add_doorbells(unsigned n)
	{
		for (unsigned s = 0; s < n; s++) {
			const Fd efd = vm().add_doorbell(s);
		}
		const Fd efd = vm().add_vector(vector);
	}
};

// The errno of VBUS_KVM_GET_LIMITS at argument size @size (0: success).
int get_limits(int bus, size_t size, void *arg)
{
	const auto cmd = _IOC(_IOC_READ, VBUS_KVM_IOC_MAGIC, 0x05, size);
	return ioctl(bus, cmd, arg) < 0 ? errno : 0;
}

vbus_kvm_limits read_limits(int bus)
{
	vbus_kvm_limits l{};
	const int err = ioctl(bus, VBUS_KVM_GET_LIMITS, &l) < 0 ? errno : 0;
	report(err == 0, "VBUS_KVM_GET_LIMITS: " + errname(err));
	if (err != 0) {
		return fallback_limits;
	}
	std::cout << "limits: doorbells " << l.doorbells << ", vectors " << l.vectors
	          << ", connections " << l.connections << ", regions " << l.regions
	          << ", region_len " << l.region_len << ", events " << l.events << ", mem_regions "
	          << l.mem_regions << "\n";
	report(l.doorbells > 1 && l.vectors > 1 && l.connections > 0 && l.regions > 0 &&
	           l.region_len >= page && l.events > 0 && l.mem_regions > 2,
	       "the limits are usable");

	// The size rule: a larger argument gets zeros after the known fields,
	// a smaller one than the first published size is refused.
	std::array<uint8_t, sizeof(l) + 16> big{};
	big.fill(0xa5);
	int e = get_limits(bus, big.size(), big.data());
	bool tail_zero = true;
	for (size_t i = sizeof(l); i < big.size(); i++) {
		tail_zero = tail_zero && big.at(i) == 0;
	}
	report(e == 0 && tail_zero && std::memcmp(big.data(), &l, sizeof(l)) == 0,
	       "a larger argument gets the limits and a zeroed tail (" + errname(e) + ")");
	e = get_limits(bus, sizeof(l) - 8, big.data());
	report(e == EINVAL, "a smaller argument is refused with EINVAL (" + errname(e) + ")");
	return l;
}

void check_indexes(Vmm &vmm, const vbus_kvm_limits &l)
{
	const auto set_eventfd = testtools::vkvm_try_set_eventfd;
	const int bus = vmm.bus();
	const Fd shared(eventfd(0, EFD_CLOEXEC));
	int e = set_eventfd(bus, VBUS_KVM_SET_DOORBELL, 0, shared.get());
	report(e == 0, "doorbell 0 takes an eventfd (" + errname(e) + ")");
	e = set_eventfd(bus, VBUS_KVM_SET_DOORBELL, 1, shared.get());
	report(e == EBUSY,
	       "the same eventfd for doorbell 1 is refused with EBUSY (" + errname(e) + ")");
	e = set_eventfd(bus, VBUS_KVM_SET_DOORBELL, 0, shared.get());
	report(e == 0, "doorbell 0 may be given its own eventfd again (" + errname(e) + ")");

	unsigned bad = 0;
	for (uint32_t s = 1; s < l.doorbells; s++) {
		const Fd efd(eventfd(0, EFD_CLOEXEC));
		bad += set_eventfd(bus, VBUS_KVM_SET_DOORBELL, s, efd.get()) != 0 ? 1 : 0;
	}
	report(bad == 0, "doorbells 0 to " + std::to_string(l.doorbells - 1) + " are taken (" +
	                     std::to_string(bad) + " refused)");
	const Fd extra(eventfd(0, EFD_CLOEXEC));
	e = set_eventfd(bus, VBUS_KVM_SET_DOORBELL, l.doorbells, extra.get());
	report(e == EINVAL, "doorbell " + std::to_string(l.doorbells) +
	                        " is refused with EINVAL (" + errname(e) + ")");
	e = set_eventfd(bus, VBUS_KVM_SET_DOORBELL, UINT32_MAX, extra.get());
	report(e == EINVAL, "doorbell 2^32-1 is refused with EINVAL (" + errname(e) + ")");

	bad = 0;
	for (uint32_t v = 0; v < l.vectors; v++) {
		bad += set_eventfd(bus, VBUS_KVM_SET_VECTOR, v, extra.get()) != 0 ? 1 : 0;
	}
	report(bad == 0, "vectors 0 to " + std::to_string(l.vectors - 1) + " are taken (" +
	                     std::to_string(bad) + " refused)");
	e = set_eventfd(bus, VBUS_KVM_SET_VECTOR, l.vectors, extra.get());
	report(e == EINVAL, "vector " + std::to_string(l.vectors) + " is refused with EINVAL (" +
	                        errname(e) + ")");
}

void check_counts(Vmm &vmm, uint32_t echo, const vbus_kvm_limits &l)
{
	std::vector<uint32_t> conns;
	int64_t r = 0;
	while (conns.size() < l.connections + 1UL && (r = vmm.open_echo(echo)) >= 0) {
		conns.push_back(static_cast<uint32_t>(r));
	}
	report(conns.size() == l.connections && r == -ENOSPC,
	       std::to_string(conns.size()) + " connections open, then " +
	           errname(static_cast<int>(-r)) + " (want " + std::to_string(l.connections) +
	           ", then ENOSPC)");
	if (conns.size() < 2) {
		return;
	}

	// The regions of one connection (each takes a doorbell slot).  The
	// echo device takes one ring per connection and refuses a second
	// with EBUSY before the core's limit of l.regions is reached; no
	// device class registers that many regions, so the limit itself is
	// not reached here.
	unsigned n = 0;
	while (n < l.regions + 1 && n < l.doorbells &&
	       (r = vmm.add_ring(conns[0], ring_gpa, VBUS_IOQ_SIZE(ring_count), 0x1000 + n)) == 0) {
		n++;
	}
	report(n == 1 && r == -EBUSY, std::to_string(n) + " regions on one echo connection, then " +
	                                  errname(static_cast<int>(-r)) + " (want 1, then EBUSY)");

	// The longest region.
	r = vmm.add_ring(conns[1], big_gpa, l.region_len + 1, 0x2000);
	report(r == -EINVAL, "a region of region_len + 1 bytes is refused with EINVAL (" +
	                         errname(static_cast<int>(-r)) + ")");
	r = vmm.add_ring(conns[1], big_gpa, l.region_len, 0x2001);
	report(r == 0, "a region of region_len bytes maps (" + errname(static_cast<int>(-r)) + ")");

	unsigned bad = 0;
	for (const uint32_t h : conns) {
		bad += vmm.close_conn(h) != 0 ? 1 : 0;
	}
	report(bad == 0, "every connection closes");
}

// The errno of VBUS_KVM_SET_MEM_TABLE with an argument of @size bytes.
int set_table_sized(int bus, std::span<const uint8_t> arg)
{
	const auto cmd = _IOC(_IOC_WRITE, VBUS_KVM_IOC_MAGIC, 0x06, arg.size());
	return ioctl(bus, cmd, arg.data()) < 0 ? errno : 0;
}

// The guest memory is reachable exactly as before: the call page answers
// (HELLO) and an echo connection opens and closes.
bool guest_reachable(Vmm &vmm, uint32_t echo)
{
	const int64_t h = vmm.open_echo(echo);
	return h > 0 && vmm.close_conn(static_cast<uint32_t>(h)) == 0;
}

// VBUS_KVM_SET_MEM_TABLE: the argument rule, every refused table (which
// changes nothing), a table of mem_regions entries, a table without the
// call page, and a caller that is not the VMM.  Each refused table leaves
// out the call page, so had it been taken the next call would fail.
void check_mem_table(Vmm &vmm, uint32_t echo, const vbus_kvm_limits &l)
{
	const auto set_table = testtools::vkvm_try_set_mem_table;
	const int bus = vmm.bus();
	const std::span<uint8_t> mem = vmm.mem();
	const std::array whole{testtools::mem_region(0, mem)};
	const std::array above{testtools::mem_region(2 * page, mem.subspan(2 * page))};
	const auto want = [&](int e, int expect, const std::string &what) {
		report(e == expect && guest_reachable(vmm, echo),
		       what + ": " + errname(e) + " (want " + errname(expect) +
		           "), and the guest's memory is as before");
	};

	// The ioctl's own argument, by size.
	const auto table_arg = [](std::span<const vbus_kvm_mem_region> regions) {
		std::array<uint8_t, sizeof(vbus_kvm_mem_table) + 8> arg{};
		vbus_kvm_mem_table t{};
		t.regions = reinterpret_cast<uintptr_t>(regions.data()); // NOLINT
		t.nregions = regions.size();
		t.region_size = sizeof(vbus_kvm_mem_region);
		std::memcpy(arg.data(), &t, sizeof(t));
		return arg;
	};
	auto good = table_arg(whole);
	auto refused = table_arg(above);
	want(set_table_sized(bus, std::span(good).first(sizeof(vbus_kvm_mem_table))), 0,
	     "the exact argument");
	want(set_table_sized(bus, good), 0, "a larger argument with a zero tail");
	want(set_table_sized(bus, std::span(refused).first(8)), EINVAL, "an 8-byte argument");
	refused.back() = 1;
	want(set_table_sized(bus, refused), E2BIG, "a larger argument with garbage in its tail");

	// The entries, by size.
	want(set_table(bus, whole, 40), 0, "40-byte entries (zero tail)");
	want(set_table(bus, above, 16), EINVAL, "16-byte entries");
	want(set_table(bus, above, 8192), E2BIG, "8192-byte entries");
	{
		std::array<uint8_t, 40> e{};
		std::memcpy(e.data(), above.data(), sizeof(above[0]));
		e.back() = 0xff;
		vbus_kvm_mem_table t{};
		t.regions = reinterpret_cast<uintptr_t>(e.data()); // NOLINT
		t.nregions = 1;
		t.region_size = e.size();
		want(ioctl(bus, VBUS_KVM_SET_MEM_TABLE, &t) < 0 ? errno : 0, E2BIG,
		     "a 40-byte entry with garbage in its tail");
	}

	// Bad entries, next to a good one.
	const auto bad = [&](vbus_kvm_mem_region r, int expect, const std::string &what) {
		const std::array two{above[0], r};
		want(set_table(bus, two, 32), expect, what);
	};
	const auto fresh = [&] { return testtools::mem_region(mem.size(), mem.first(page)); };
	vbus_kvm_mem_region r = fresh();
	r.gpa += 1;
	bad(r, EINVAL, "an unaligned guest address");
	r = fresh();
	r.size = 0;
	bad(r, EINVAL, "a zero size");
	r.size = page + 1;
	bad(r, EINVAL, "an unaligned size");
	r = fresh();
	r.uaddr += 8;
	bad(r, EINVAL, "an unaligned user address");
	r = fresh();
	r.flags = 1;
	bad(r, EINVAL, "a non-zero flags");
	r = testtools::mem_region(UINT64_MAX - page + 1, mem.first(2 * page));
	bad(r, EINVAL, "guest addresses that wrap");
	r = testtools::mem_region(mem.size() - page, mem.first(page));
	bad(r, EINVAL, "an entry that overlaps another");
	r = fresh();
	r.uaddr = 0xffff888000000000ULL;
	bad(r, EFAULT, "a kernel address");

	// As many entries as the limit: single pages from guest address 0,
	// the rest in one entry, handed over back to front.
	std::vector<vbus_kvm_mem_region> many;
	for (uint32_t i = 0; i + 1 < l.mem_regions; i++) {
		many.push_back(testtools::mem_region(i * page, mem.subspan(i * page, page)));
	}
	const size_t done = many.size() * page;
	many.push_back(testtools::mem_region(done, mem.subspan(done)));
	std::ranges::reverse(many);
	want(set_table(bus, many, 32), 0,
	     std::to_string(many.size()) + " entries of the limit, out of order");
	const int64_t h = vmm.open_echo(echo);
	const int64_t ring =
	    h > 0 ? vmm.add_ring(static_cast<uint32_t>(h), ring_gpa, 3 * page, 0x3000) : h;
	report(ring == 0,
	       "a ring across single-page entries maps (" + errname(static_cast<int>(-ring)) + ")");
	if (h > 0) {
		vmm.close_conn(static_cast<uint32_t>(h));
	}
	std::vector<vbus_kvm_mem_region> over(l.mem_regions + 1UL, above[0]);
	want(set_table(bus, over, 32), E2BIG, "one entry more than the limit");

	// No entry for the call page: the call itself fails, until it is back.
	int e = set_table(bus, above, 32);
	const int call = vmm.vm().try_call(testtools::TestGuest::call_gpa);
	report(e == 0 && call == EFAULT,
	       "without an entry for the call page, VBUS_KVM_CALL fails with EFAULT (" +
	           errname(call) + ")");
	want(set_table(bus, whole, 32), 0, "the whole memory again");

	// Only the VMM sets the table or forwards calls.
	const pid_t pid = fork();
	if (pid == 0) {
		const int te = set_table(bus, whole, 32);
		const int ce = vmm.vm().try_call(testtools::TestGuest::call_gpa);
		_exit(te == EPERM && ce == EPERM ? 0 : 1);
	}
	int status = 0;
	report(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	           WEXITSTATUS(status) == 0,
	       "a child of the VMM (another mm) gets EPERM for the table and for calls");

	const Fd unbound(open("/dev/vbus-kvm", O_RDWR | O_CLOEXEC));
	e = set_table(unbound.get(), whole, 32);
	report(e == ENOTCONN, "a table before VBUS_KVM_BIND: " + errname(e) + " (want ENOTCONN)");
}

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
	if (failures != 0) {
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

// Map a page of @fd over @at, shared or private.
void map_page_over(std::span<uint8_t> at, int fd, int flags, const std::string &what)
{
	if (mmap(at.data(), page, PROT_READ | PROT_WRITE, flags | MAP_FIXED, fd, 0) == MAP_FAILED) {
		fail("mmap(MAP_FIXED) of " + what);
	}
}

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

} // namespace

int main(int argc, char **argv)
{
	const std::span args(argv, argc);
	if (args.size() < 4) {
		std::cerr << "usage: kvm-limits CONTAINER ECHO_ID counts|memlock PAGES|"
		             "memcg CGROUP_DIR ECHO_MAX_LEN|memexec PAGES|filemem FILE\n";
		return 2;
	}
	try {
		const std::string container = args[1];
		const auto echo = static_cast<uint32_t>(std::stoul(args[2]));
		const std::string mode = args[3];
		if (mode == "counts") {
			Vmm vmm(container);
			const vbus_kvm_limits l = read_limits(vmm.bus());
			check_indexes(vmm, l);
			check_counts(vmm, echo, l);
			check_mem_table(vmm, echo, l);
		} else if (mode == "memlock" && args.size() == 5) {
			check_memlock(container, echo, std::stoul(args[4]));
		} else if (mode == "memcg" && args.size() == 6) {
			check_memcg(container, echo, args[4], std::stol(args[5]));
		} else if (mode == "memexec" && args.size() == 5) {
			check_memexec(args[0], container, echo, std::stoul(args[4]));
		} else if (mode == "memexec-after" && args.size() == 6) {
			check_memexec_after(std::stol(args[4]), std::stoi(args[5]));
		} else if (mode == "filemem" && args.size() == 5) {
			check_filemem(container, echo, args[4]);
		} else {
			std::cerr << "kvm-limits: unknown mode " << mode << "\n";
			return 2;
		}
	} catch (const std::exception &ex) {
		std::cerr << "kvm-limits: " << ex.what() << "\n";
		return 1;
	}
	if (failures != 0) {
		std::cout << "kvm-limits: " << failures << " checks failed\n";
		return 1;
	}
	std::cout << "kvm-limits: ok\n";
	return 0;
}

// NOLINTEND(cppcoreguidelines-pro-type-union-access)
