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
//
// This file: main() and the counts mode; memory.cc: the memory
// modes.

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

extern "C" {
#include <vbus/echo.h>
#include <vbus/kvm.h>
#include <vbus_ioq.h>
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

unsigned failures = 0;

} // namespace

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

unsigned failed_checks()
{
	return failures;
}

testtools::GuestMemory touched_memory()
{
	auto mem = testtools::GuestMemory::anonymous(mem_size);
	std::ranges::fill(mem.bytes(), 0);
	return mem;
}

namespace
{

using testtools::Fd;

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

} // namespace

} // namespace kvm_limits

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
			kvm_limits::Vmm vmm(container);
			const vbus_kvm_limits l = kvm_limits::read_limits(vmm.bus());
			kvm_limits::check_indexes(vmm, l);
			kvm_limits::check_counts(vmm, echo, l);
			kvm_limits::check_mem_table(vmm, echo, l);
		} else if (mode == "memlock" && args.size() == 5) {
			kvm_limits::check_memlock(container, echo, std::stoul(args[4]));
		} else if (mode == "memcg" && args.size() == 6) {
			kvm_limits::check_memcg(container, echo, args[4], std::stol(args[5]));
		} else if (mode == "memexec" && args.size() == 5) {
			kvm_limits::check_memexec(args[0], container, echo, std::stoul(args[4]));
		} else if (mode == "memexec-after" && args.size() == 6) {
			kvm_limits::check_memexec_after(std::stol(args[4]), std::stoi(args[5]));
		} else if (mode == "filemem" && args.size() == 5) {
			kvm_limits::check_filemem(container, echo, args[4]);
		} else {
			std::cerr << "kvm-limits: unknown mode " << mode << "\n";
			return 2;
		}
	} catch (const std::exception &ex) {
		std::cerr << "kvm-limits: " << ex.what() << "\n";
		return 1;
	}
	if (kvm_limits::failed_checks() != 0) {
		std::cout << "kvm-limits: " << kvm_limits::failed_checks() << " checks failed\n";
		return 1;
	}
	std::cout << "kvm-limits: ok\n";
	return 0;
}

// NOLINTEND(cppcoreguidelines-pro-type-union-access)
