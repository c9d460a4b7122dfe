// SPDX-License-Identifier: GPL-2.0
//
// kvm-stuck: a VMM whose memory never lets a host copy finish, and a
// well-behaved VMM next to it.
//
//   kvm-stuck hold CONTAINER ECHO_ID
//   kvm-stuck call CONTAINER ECHO_ID
//   kvm-stuck inval CONTAINER ECHO_ID
//   kvm-stuck other CONTAINER ECHO_ID
//
// Both create a VM without a vCPU, bind it to CONTAINER through
// /dev/vbus-kvm and make the guest's calls themselves with VBUS_KVM_CALL.
//
// hold: registers the upper half of guest memory with a userfaultfd that
// handles kernel-mode faults and never answers one, opens the echo device
// ECHO_ID, registers its ring in the lower half, posts a buffer in the
// upper half and rings the doorbell: the host's ring work faults there and
// sleeps until the userfaultfd goes.  Once the fault is seen on the
// userfaultfd ("stuck: ..."), the VMM drops the page under its ring
// (MADV_DONTNEED: the memory behind the ring's mapping changed, so the host
// remaps it, "zapped"), closes /dev/vbus-kvm ("detached in N ms") and
// waits, still holding the userfaultfd, to be killed.
//
// call: the same userfaultfd; opens ECHO_ID, registers its ring in the
// lower half and makes, from a second thread, a DEVCALL that reverses a
// buffer in the upper half: the call faults there and sleeps, holding its
// connection.  Once the fault is seen ("stuck: ..."), the VMM drops the
// page under its ring ("zapped": the host's remap finds the connection
// held by the call), makes from a third thread an ioctl that needs only
// the connector's per-VM lock, which the call holds (GET_LIMITS; "second
// ioctl: thread TID"), and waits, still bound, to be killed.
//
// inval: opens ECHO_ID and registers its ring in the lower half, has the
// test module mm_hold watch a page of the upper half (the suite has closed
// its gate) and drops that page from a second thread: the invalidation
// waits in mm_hold, so the VMM's address space stays in an invalidation
// ("invalidating"), as a VMM whose threads keep overlapping
// madvise(MADV_DONTNEED) calls going keeps it.  It then closes the echo
// connection ("closed in N ms"): the host unmaps the ring, which waits
// for that invalidation to end.  Waits to be killed.
//
// other: HELLO, DEVOPEN of ECHO_ID, a DEVCALL that reverses a buffer and
// DEVCLOSE; prints "other: ok in N ms".
//
// Exits non-zero with the step that failed.

#include <fcntl.h>
#include <linux/kvm.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

extern "C" {
#include <vbus/echo.h>
#include <vbus/kvm.h>
#include <vbus_ioq.h>
}

#include "posix.hh"
#include "vkvm_client.hh"

// NOLINTBEGIN(cppcoreguidelines-pro-type-union-access): the call page

namespace
{

using testtools::fail;
using testtools::Fd;
using Clock = std::chrono::steady_clock;

// Guest physical layout: the lower half is ordinary memory, the upper
// half belongs to the userfaultfd.
constexpr uint64_t mem_size = 4ULL << 20;
constexpr uint64_t data_gpa = 0x2000;
constexpr uint64_t ring_gpa = 0x10000;
constexpr uint32_t ring_count = 16;
constexpr uint64_t stuck_gpa = mem_size / 2;
constexpr size_t buf_len = 64;
constexpr size_t page_size = 4096;
constexpr int fault_wait_ms = 20000;

long elapsed_ms(Clock::time_point since)
{
	return static_cast<long>(
	    std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count());
}

// Guest memory is anonymous: the userfaultfd takes its missing pages.
class Vmm : public testtools::TestGuest
{
public:
	explicit Vmm(const std::string &container)
	    : TestGuest(container, testtools::GuestMemory::anonymous(mem_size), 1)
	{
	}

	uint32_t open_echo(uint32_t devid)
	{
		return TestGuest::dev_open(devid, VBUS_ECHO_VERSION, "the echo device");
	}

	// Close /dev/vbus-kvm: the connector's release detaches the client.
	void detach() { vm().detach(); }
};

// A userfaultfd over @range that also takes kernel-mode faults (no
// UFFD_USER_MODE_ONLY: root may) and reports missing pages.
Fd userfault(std::span<uint8_t> range)
{
	Fd uffd(static_cast<int>(syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK)));
	if (uffd.get() < 0) {
		fail("userfaultfd");
	}
	uffdio_api api{};
	api.api = UFFD_API;
	if (ioctl(uffd.get(), UFFDIO_API, &api) < 0) {
		fail("UFFDIO_API");
	}
	uffdio_register reg{};
	reg.range.start = reinterpret_cast<uintptr_t>(range.data()); // NOLINT
	reg.range.len = range.size();
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(uffd.get(), UFFDIO_REGISTER, &reg) < 0) {
		fail("UFFDIO_REGISTER");
	}
	return uffd;
}

// Wait for the host's fault on @uffd and report it; exits the process
// when none comes (a thread may be stuck: nothing can be unwound).
void await_fault(const Fd &uffd, const Vmm &vmm)
{
	pollfd pfd{uffd.get(), POLLIN, 0};
	uffd_msg msg{};
	if (poll(&pfd, 1, fault_wait_ms) != 1 ||
	    read(uffd.get(), &msg, sizeof(msg)) != sizeof(msg) ||
	    msg.event != UFFD_EVENT_PAGEFAULT) {
		std::cerr << "kvm-stuck: the host never faulted on the userfaultfd range\n";
		_exit(1);
	}
	std::cout << "stuck: the host faulted at offset 0x" << std::hex
	          << (msg.arg.pagefault.address -
	              reinterpret_cast<uintptr_t>(vmm.mem().data())) // NOLINT
	          << std::dec << " of guest memory and waits" << std::endl;
}

// The ring's page goes: its memory changed under the host's mapping,
// which the host then remaps.
void zap_ring_page(const Vmm &vmm)
{
	if (madvise(vmm.mem().subspan(ring_gpa).data(), page_size, MADV_DONTNEED) != 0) {
		fail("madvise(MADV_DONTNEED) of the ring's page");
	}
	std::cout << "zapped: the ring's page was dropped" << std::endl;
}

int hold(const std::string &container, uint32_t devid)
{
	Vmm vmm(container);
	const auto upper = vmm.mem().subspan(stuck_gpa);
	const Fd uffd = userfault(upper);

	const uint32_t handle = vmm.open_echo(devid);
	testtools::RingPlace at(VBUS_ECHO_SHM_RING, ring_gpa, ring_count);
	at.notify = false;
	testtools::Ring ring = vmm.add_ring(handle, at, "echo ring");

	// A buffer in the upper half, which has no page yet.
	vbus_ioq_buf buf{1, stuck_gpa + 0x1000, buf_len, 0};
	if (vbus_ioq_drv_post(&ring.q, &buf) != 0) {
		throw std::runtime_error("post");
	}
	vbus_ioq_drv_publish(&ring.q);
	vmm.ring(ring.slot);

	await_fault(uffd, vmm);

	zap_ring_page(vmm);

	const auto t0 = Clock::now();
	vmm.detach();
	std::cout << "detached in " << elapsed_ms(t0) << " ms" << std::endl;
	// Keep the userfaultfd, never answer it, until killed.
	for (;;) {
		pause();
	}
}

int call(const std::string &container, uint32_t devid)
{
	Vmm vmm(container);
	const auto upper = vmm.mem().subspan(stuck_gpa);
	const Fd uffd = userfault(upper);
	const uint32_t handle = vmm.open_echo(devid);
	testtools::RingPlace at(VBUS_ECHO_SHM_RING, ring_gpa, ring_count);
	at.notify = false;
	[[maybe_unused]] const testtools::Ring ring = vmm.add_ring(handle, at, "echo ring");
	// Never joined: the process waits here until it is killed.
	const std::jthread caller([&vmm, handle] {
		(void)vmm.dev_call(handle, VBUS_ECHO_CALL_REVERSE, stuck_gpa + 0x1000, buf_len);
	});
	await_fault(uffd, vmm);
	zap_ring_page(vmm);
	// Never joined either: it waits for the call until the kill.
	const std::jthread second([bus = vmm.vm().bus()] {
		std::cout << "second ioctl: thread " << gettid() << std::endl;
		vbus_kvm_limits limits{};
		(void)ioctl(bus, VBUS_KVM_GET_LIMITS, &limits);
	});
	for (;;) {
		pause();
	}
}

// Write @value to the parameter @name of the test module mm_hold.
void mm_hold_set(const std::string &name, const std::string &value)
{
	const std::string path = "/sys/module/mm_hold/parameters/" + name;
	const Fd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
	if (fd.get() < 0 ||
	    write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size())) {
		fail("write " + value + " to " + path);
	}
}

int mm_hold_waiting()
{
	const Fd fd(open("/sys/module/mm_hold/parameters/waiting", O_RDONLY | O_CLOEXEC));
	std::array<char, 16> text{};
	if (fd.get() < 0 || read(fd.get(), text.data(), text.size() - 1) <= 0) {
		fail("read /sys/module/mm_hold/parameters/waiting");
	}
	return static_cast<int>(std::stol(text.data()));
}

int inval(const std::string &container, uint32_t devid)
{
	Vmm vmm(container);
	const uint32_t handle = vmm.open_echo(devid);
	testtools::RingPlace at(VBUS_ECHO_SHM_RING, ring_gpa, ring_count);
	at.notify = false;
	[[maybe_unused]] const testtools::Ring ring = vmm.add_ring(handle, at, "echo ring");

	const std::span<uint8_t> page = vmm.mem().subspan(stuck_gpa, page_size);
	page[0] = 1; // a page to drop
	std::ostringstream watch;
	watch << std::hex << reinterpret_cast<uintptr_t>(page.data()) << ' ' << std::dec // NOLINT
	      << page_size;
	mm_hold_set("watch", watch.str());
	// Never joined: its madvise() ends when the suite opens the gate.
	const std::jthread zapper(
	    [page] {
		    if (madvise(page.data(), page.size(), MADV_DONTNEED) != 0) {
			    std::cerr
			        << "kvm-stuck: madvise(MADV_DONTNEED) of the watched page failed\n";
		    }
	    });
	const auto t0 = Clock::now();
	while (mm_hold_waiting() == 0) {
		if (elapsed_ms(t0) > fault_wait_ms) {
			std::cerr << "kvm-stuck: the invalidation never reached mm_hold\n";
			_exit(1);
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
	}
	std::cout << "invalidating: the dropped page's invalidation waits" << std::endl;

	const auto t1 = Clock::now();
	vmm.dev_close(handle);
	std::cout << "closed in " << elapsed_ms(t1) << " ms" << std::endl;
	for (;;) {
		pause();
	}
}

int other(const std::string &container, uint32_t devid)
{
	const auto t0 = Clock::now();
	Vmm vmm(container);
	const uint32_t handle = vmm.open_echo(devid);
	const std::string text = "the other tenant";
	std::ranges::copy(text, vmm.mem().subspan(data_gpa).begin());
	Vmm::must(vmm.dev_call(handle, VBUS_ECHO_CALL_REVERSE, data_gpa,
	                       static_cast<uint32_t>(text.size())),
	          "DEVCALL");
	std::string back(text.size(), '\0');
	std::ranges::copy(vmm.mem().subspan(data_gpa, text.size()), back.begin());
	std::ranges::reverse(back);
	if (back != text) {
		throw std::runtime_error("the echo call came back wrong");
	}
	vmm.dev_close(handle);
	std::cout << "other: ok in " << elapsed_ms(t0) << " ms" << std::endl;
	return 0;
}

} // namespace

int main(int argc, char **argv)
{
	const std::span args(argv, argc);
	using Mode = int (*)(const std::string &, uint32_t);
	const std::array<std::pair<const char *, Mode>, 4> modes = {{
	    {"hold", hold},
	    {"call", call},
	    {"inval", inval},
	    {"other", other},
	}};
	const auto *const mode = std::ranges::find_if(modes, [&args](const auto &m) {
		return args.size() == 4 && std::strcmp(args[1], m.first) == 0;
	});
	if (mode == modes.end()) {
		std::cerr << "usage: kvm-stuck hold|call|inval|other CONTAINER ECHO_ID\n";
		return 2;
	}
	try {
		return mode->second(args[2], static_cast<uint32_t>(std::stoul(args[3])));
	} catch (const std::exception &ex) {
		std::cerr << "kvm-stuck: " << ex.what() << "\n";
		return 1;
	}
}

// NOLINTEND(cppcoreguidelines-pro-type-union-access)
