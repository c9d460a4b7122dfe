// SPDX-License-Identifier: GPL-2.0
//
// kvm-remap: a VMM that changes its memory map under live rings.
//
//   kvm-remap CONTAINER ECHO_ID VENET_ID IFNAME
//
// It creates a VM whose memory is a memfd, binds it to CONTAINER through
// /dev/vbus-kvm, opens the echo device ECHO_ID (see <vbus/echo.h>) and
// the venet VENET_ID (host interface IFNAME) and registers their rings,
// as a guest driver would, but from the VMM itself: calls go through
// VBUS_KVM_CALL and doorbells are written to the doorbell eventfds
// directly, so no vCPU runs.  Then, between rounds of "post a buffer to
// the echo device and a packet to the venet, ring, wait for both":
//   1. mmap(MAP_FIXED) puts a copy of guest memory (another memfd) over
//      the memslot's user addresses;
//   2. the memslot is deleted and created again over a third copy,
//      elsewhere in the VMM's address space, the second one left mapped;
//   3. the memslot is deleted: the devices must keep running on what
//      they have and fail the buffers they can no longer reach;
//   4. the memslot comes back;
//   5. the memslot (and the memory table) move to a second mapping of
//      the same memfd, then a fourth copy is put over that mapping
//      (MAP_FIXED): the devices must notice the second mapping's change;
//   6. the memslot is deleted, a fifth copy is put over its addresses
//      while nothing covers them (the devices cannot follow yet), and
//      the memslot comes back at the same addresses: the table that
//      brings it back must move the devices to the fifth copy.
// Each memslot change sets the memory table (VBUS_KVM_SET_MEM_TABLE) to
// the same runs, as a VMM must.
// After each change the devices must serve the rings in the new memory
// and leave the old copy alone; the venet's packets must reach IFNAME.
// Prints one line per step and "kvm-remap: ok"; exits non-zero, naming
// the step, at the first failure.

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include <vbus/echo.h>
#include <vbus/kvm.h>
#include <vbus/venet.h>
#include <vbus_ioq.h>
}

#include "posix.hh"
#include "vkvm_client.hh"
#include "vkvm_venet.hh"

// The call page is the ABI's union of operations.
// NOLINTBEGIN(cppcoreguidelines-pro-type-union-access)

namespace
{

using testtools::fail;
using testtools::GuestMemory;
using testtools::Mapping;
using testtools::Ring;
using testtools::TestGuest;

// Guest physical layout.
constexpr uint64_t mem_size = 4ULL << 20;
constexpr uint64_t data_gpa = 0x2000;  // call arguments
constexpr uint64_t ring_gpa = 0x10000; // the echo ring
constexpr uint64_t rx_ring_gpa = 0x11000;
constexpr uint64_t tx_ring_gpa = 0x12000;
constexpr uint32_t ring_count = 16;
constexpr uint64_t buf_gpa = 0x20000;
constexpr size_t buf_len = 64;
constexpr uint64_t frame_gpa = 0x30000;
constexpr size_t frame_len = 60; // a minimal Ethernet frame
constexpr unsigned doorbells = 3;
constexpr std::chrono::milliseconds wait_limit{20000};
// How long a packet that must not arrive is waited for.
constexpr std::chrono::milliseconds absent_limit{500};

GuestMemory copy(const char *name)
{
	return GuestMemory::memfd(name, mem_size);
}

uint32_t used_idx(std::span<const uint8_t> mem, const Ring &r)
{
	// NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): guest memory
	const auto *h = reinterpret_cast<const vbus_ioq_head *>(mem.subspan(r.gpa).data());
	return le32toh(h->used_idx);
}

// Post @buf on @r in the memory the guest now uses, ring, and wait for
// its completion there.  Returns the length the device reported.
uint32_t post_and_wait(TestGuest &g, Ring &r, vbus_ioq_buf buf, const std::string &step)
{
	const uint64_t cookie = buf.cookie;
	const auto ret = g.post_and_wait(r, buf, wait_limit, std::chrono::milliseconds(5));
	if (!ret) {
		throw std::runtime_error(step +
		                         ": no completion in the memory the VMM now uses "
		                         "(used index " +
		                         std::to_string(used_idx(g.mem(), r)) + ")");
	}
	if (*ret != 0 || buf.cookie != cookie) {
		throw std::runtime_error(step + ": the device broke the ring");
	}
	return buf.len;
}

// ---- the echo device: reverses each buffer in place

struct Echo {
	uint32_t handle = 0;
	Ring ring;
	unsigned round = 0;
};

Echo open_echo(TestGuest &g, uint32_t devid)
{
	Echo e;
	e.handle = g.dev_open(devid, VBUS_ECHO_VERSION, "the echo device");
	e.ring = g.add_ring(e.handle, {VBUS_ECHO_SHM_RING, ring_gpa, ring_count}, "echo ring");
	return e;
}

// A buffer through the echo device; returns the length it completed.
uint32_t echo_round(TestGuest &g, Echo &e, const std::string &step)
{
	const auto mem = g.mem();
	std::string text = "round " + std::to_string(++e.round) + " " + step;
	text.resize(buf_len, '.');
	const auto data = mem.subspan(buf_gpa, buf_len);
	std::ranges::copy(text, data.begin());

	const vbus_ioq_buf buf{e.round, buf_gpa, buf_len, 0};
	const uint32_t len = post_and_wait(g, e.ring, buf, step + " (echo)");
	if (len == buf_len) {
		std::string back(data.begin(), data.end());
		std::ranges::reverse(back);
		if (back != text) {
			throw std::runtime_error(step + ": the echo buffer came back wrong");
		}
	}
	return len;
}

// ---- the venet: packets sent on its tx ring reach the host interface

struct Venet : testtools::Venet {
	std::string ifname;
	unsigned sent = 0;
};

Venet open_venet(TestGuest &g, uint32_t devid, const std::string &ifname)
{
	Venet v;
	static_cast<testtools::Venet &>(v) =
	    testtools::open_venet(g, devid, {data_gpa, rx_ring_gpa, tx_ring_gpa, ring_count});
	v.ifname = ifname;
	return v;
}

uint64_t rx_packets(const std::string &ifname)
{
	std::ifstream f("/sys/class/net/" + ifname + "/statistics/rx_packets");
	uint64_t n = 0;
	if (!(f >> n)) {
		throw std::runtime_error("cannot read the counters of " + ifname);
	}
	return n;
}

// Send one frame; true when the host interface received it (waited
// for briefly when @expected is false).
bool venet_round(TestGuest &g, Venet &v, bool expected, const std::string &step)
{
	const auto mem = g.mem();
	const auto pkt = mem.subspan(frame_gpa, sizeof(vbus_venet_hdr) + frame_len);
	std::ranges::fill(pkt, 0); // the header: no offload
	const auto frame = pkt.subspan(sizeof(vbus_venet_hdr));
	std::ranges::fill(frame.first(6), 0xff);                                   // broadcast
	const std::array<uint8_t, 8> src_type = {0x02, 0, 0, 0, 0, 1, 0x88, 0xb5}; // local, test
	std::ranges::copy(src_type, frame.subspan(6).begin());

	const uint64_t before = rx_packets(v.ifname);
	const vbus_ioq_buf buf{++v.sent, frame_gpa, static_cast<uint32_t>(pkt.size()), 0};
	post_and_wait(g, v.tx, buf, step + " (venet)");
	// The device hands the frame to the host's stack when it completes it.
	return testtools::wait_for([&] { return rx_packets(v.ifname) > before; },
	                           expected ? wait_limit : absent_limit);
}

// ---- the steps

struct Devices {
	Echo echo;
	Venet venet;
};

// Both devices serve the rings in the memory the guest uses;
// @reachable: the buffers are guest memory (else the devices must fail
// them).
void serve(TestGuest &g, Devices &d, bool reachable, const std::string &step)
{
	const uint32_t len = echo_round(g, d.echo, step);
	if (len != (reachable ? buf_len : 0)) {
		throw std::runtime_error(step + ": the echo device completed length " +
		                         std::to_string(len));
	}
	if (venet_round(g, d.venet, reachable, step) != reachable) {
		throw std::runtime_error(step +
		                         (reachable ? ": the packet never reached "
		                                    : ": a packet out of reach reached ") +
		                         d.venet.ifname);
	}
	std::cout << step << ": both devices served the new memory"
	          << (reachable ? "" : ", buffers refused") << "\n";
}

// The old copy must not have been served after the move.
void expect_untouched(std::span<const uint8_t> old, const Devices &d,
                      const std::array<uint32_t, 2> &used, const std::string &step)
{
	if (used_idx(old, d.echo.ring) != used[0] || used_idx(old, d.venet.tx) != used[1]) {
		throw std::runtime_error(step + ": a device still wrote the old memory");
	}
}

std::array<uint32_t, 2> used_of(std::span<const uint8_t> mem, const Devices &d)
{
	return {used_idx(mem, d.echo.ring), used_idx(mem, d.venet.tx)};
}

} // namespace

int main(int argc, char **argv)
{
	const std::span args(argv, argc);
	if (args.size() != 5) {
		std::cerr << "usage: kvm-remap CONTAINER ECHO_ID VENET_ID IFNAME\n";
		return 2;
	}
	try {
		TestGuest g(args[1], doorbells);

		// Guest memory lives in copy a, mapped at the memslot's address.
		const GuestMemory a = copy("guest-a");
		const std::span<uint8_t> slot_hva = a.bytes();
		g.map(slot_hva);
		g.hello();
		Devices d{open_echo(g, static_cast<uint32_t>(std::stoul(args[2]))),
		          open_venet(g, static_cast<uint32_t>(std::stoul(args[3])), args[4])};
		serve(g, d, true, "first memory");

		// 1. Copy b over the same user addresses (the memslot is unchanged).
		const GuestMemory b = copy("guest-b");
		std::ranges::copy(a.bytes(), b.bytes().begin());
		const Mapping a_view = testtools::map_memory(mem_size, a.fd()); // a's pages
		if (mmap(slot_hva.data(), mem_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		         b.fd(), 0) == MAP_FAILED) {
			fail("mmap(MAP_FIXED)");
		}
		auto used = used_of(a_view.bytes(), d);
		serve(g, d, true, "mmap over the memslot");
		expect_untouched(a_view.bytes(), d, used, "mmap over the memslot");

		// 2. The memslot moves to copy c; b stays mapped where it was.
		const GuestMemory c = copy("guest-c");
		std::ranges::copy(slot_hva, c.bytes().begin());
		g.unmap();
		g.map(c.bytes());
		used = used_of(slot_hva, d);
		serve(g, d, true, "memslot moved");
		expect_untouched(slot_hva, d, used, "memslot moved");

		// 3. No memslot: the devices keep their rings, buffers are out of reach.
		g.unmap();
		serve(g, d, false, "memslot deleted");

		// 4. The memslot is back.
		g.map(c.bytes());
		serve(g, d, true, "memslot restored");

		// 5. The memslot and the table move to a second mapping of the
		// same memory: the pages are the same, the addresses are not...
		const Mapping c_alias = testtools::map_memory(mem_size, c.fd());
		g.unmap();
		g.map(c_alias.bytes());
		serve(g, d, true, "the same memory at other addresses");
		// ... so replacing the memory there must move the devices too.
		const GuestMemory e = copy("guest-e");
		std::ranges::copy(c_alias.bytes(), e.bytes().begin());
		if (mmap(c_alias.bytes().data(), mem_size, PROT_READ | PROT_WRITE,
		         MAP_SHARED | MAP_FIXED, e.fd(), 0) == MAP_FAILED) {
			fail("mmap(MAP_FIXED) over the second mapping");
		}
		used = used_of(c.bytes(), d);
		serve(g, d, true, "mmap over the second mapping");
		expect_untouched(c.bytes(), d, used, "mmap over the second mapping");

		// 6. No memslot, and meanwhile copy f replaces e at its addresses.
		g.unmap();
		serve(g, d, false, "memslot deleted again");
		const GuestMemory f = copy("guest-f");
		std::ranges::copy(c_alias.bytes(), f.bytes().begin());
		const Mapping e_view = testtools::map_memory(mem_size, e.fd()); // e's pages
		if (mmap(c_alias.bytes().data(), mem_size, PROT_READ | PROT_WRITE,
		         MAP_SHARED | MAP_FIXED, f.fd(), 0) == MAP_FAILED) {
			fail("mmap(MAP_FIXED) with no memslot");
		}
		// The mmap makes the devices try to follow at once, on their
		// connection's thread; no entry covers the addresses, so they
		// keep e.  Let that attempt end before the memslot is back (were
		// it later, it would follow f and this step would prove nothing).
		std::this_thread::sleep_for(std::chrono::milliseconds(500));
		used = used_of(e_view.bytes(), d);
		g.map(c_alias.bytes());
		serve(g, d, true, "memslot back over replaced memory");
		expect_untouched(e_view.bytes(), d, used, "memslot back over replaced memory");

		uint64_t n = 0;
		if (read(g.vector_fd(), &n, sizeof(n)) != sizeof(n) || n == 0) {
			throw std::runtime_error("the devices never notified the guest");
		}
		std::cout << "kvm-remap: ok\n";
		return 0;
	} catch (const std::exception &ex) {
		std::cerr << "kvm-remap: " << ex.what() << "\n";
		return 1;
	}
}

// NOLINTEND(cppcoreguidelines-pro-type-union-access)
