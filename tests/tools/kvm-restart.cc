// SPDX-License-Identifier: GPL-2.0
//
// kvm-restart: a guest that starts over without the VM being reset, as a
// kernel started by kexec does.
//
//   kvm-restart CONTAINER ECHO_ID VENET_ID IFNAME
//
// A VMM without a vCPU (tests/tools/vkvm_client.hh) binds to CONTAINER,
// which holds exactly the echo device ECHO_ID and the venet VENET_ID
// (host interface IFNAME), with three doorbell slots: as many as the two
// devices' rings take.  The first "kernel" opens both devices without
// fetching the bus events its HELLO queued, gives the venet a receive
// buffer and sees the echo ring served and a frame sent on IFNAME written
// into its receive ring.  Then, without closing anything:
//   1. a second HELLO (the next kernel's) must announce both devices
//      again, once each (the first kernel's events dropped), close the old
//      connections (their handles are unknown), stop
//      the host writing to the old rings (a frame on IFNAME and an echo
//      buffer rung on the old slot leave them untouched) and free their
//      doorbell slots (the devices open again on new rings);
//   2. a RESET (a kernel shutting down) must do the same and end the
//      session: EVENT and DEVOPEN fail with ENOTCONN until the next HELLO,
//      which announces the devices again.
// Prints one line per step and "kvm-restart: ok"; exits non-zero, naming
// the step, at the first failure.

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
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

using testtools::Fd;
using testtools::GuestMemory;
using testtools::Ring;
using testtools::TestGuest;

constexpr uint64_t mem_size = 4ULL << 20;
constexpr uint64_t data_gpa = 0x2000; // call arguments
constexpr uint32_t ring_count = 16;
constexpr uint64_t buf_gpa = 0x40000;    // the echo buffer
constexpr uint64_t rx_buf_gpa = 0x50000; // the venet's receive buffers
constexpr uint32_t rx_buf_len = 2048;
constexpr unsigned doorbells = 3;
constexpr std::chrono::milliseconds wait_limit{20000};
// How long a write that must not come is waited for.
constexpr std::chrono::milliseconds absent_limit{500};

// One kernel's devices: rings laid out from @base.
struct Devices {
	uint32_t echo = 0;
	Ring echo_ring;
	testtools::Venet venet;
	uint64_t cookie = 0; // of the last buffer posted
};

uint32_t used_idx(const TestGuest &g, const Ring &r)
{
	// NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): guest memory
	const auto *h = reinterpret_cast<const vbus_ioq_head *>(g.mem().subspan(r.gpa).data());
	return le32toh(h->used_idx);
}

// Every bus event until the queue is empty: the ids of the DEVADDs,
// sorted.
std::vector<uint32_t> fetch_devadds(TestGuest &g, const std::string &step)
{
	std::vector<uint32_t> ids;
	for (;;) {
		vbus_kvm_call c{};
		c.op = VBUS_KVM_OP_EVENT;
		c.u.event.type_len = 64;
		TestGuest::must(g.call(c), step + ": EVENT");
		const auto *e = &g.page()->u.event;
		if (e->type == VBUS_KVM_EVENT_NONE) {
			std::ranges::sort(ids);
			return ids;
		}
		if (e->type != VBUS_KVM_EVENT_DEVADD) {
			throw std::runtime_error(step + ": bus event " + std::to_string(e->type) +
			                         " for device " + std::to_string(e->devid));
		}
		ids.push_back(e->devid);
	}
}

// @want: sorted.
void expect_devadds(TestGuest &g, const std::vector<uint32_t> &want, const std::string &step)
{
	const std::vector<uint32_t> got = fetch_devadds(g, step);
	if (got != want) {
		throw std::runtime_error(
		    step + ": the bus announced " + std::to_string(got.size()) +
		    " devices, not the container's " + std::to_string(want.size()) + " once each");
	}
	std::cout << step << ": both devices announced\n";
}

// Post a receive buffer on the venet's rx ring (no doorbell: the device
// looks when it has a frame).
void post_rx(TestGuest &g, Devices &d)
{
	Ring &r = d.venet.rx;
	const vbus_ioq_buf buf{++d.cookie, rx_buf_gpa, rx_buf_len, 0};
	if (vbus_ioq_drv_post(&r.q, &buf) != 0) {
		throw std::runtime_error("the venet's rx ring is full");
	}
	vbus_ioq_drv_publish(&r.q);
	g.ring(r.slot);
}

// A broadcast frame out of the host interface @ifname, towards the guest.
// Errors are ignored: a closed venet may refuse it, which is fine.
void send_frame(const std::string &ifname)
{
	const Fd s(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)));
	sockaddr_ll to{};
	to.sll_family = AF_PACKET;
	to.sll_ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
	to.sll_halen = ETH_ALEN;
	std::fill_n(std::begin(to.sll_addr), ETH_ALEN, 0xff);
	if (!s || to.sll_ifindex == 0) {
		testtools::fail("an AF_PACKET socket on " + ifname);
	}
	std::array<uint8_t, 60> frame{};
	std::fill_n(frame.begin(), 6, 0xff);                                       // broadcast
	const std::array<uint8_t, 8> src_type = {0x02, 0, 0, 0, 0, 3, 0x88, 0xb5}; // local, test
	std::ranges::copy(src_type, frame.begin() + 6);
	// NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
	(void)sendto(s.get(), frame.data(), frame.size(), 0, reinterpret_cast<sockaddr *>(&to),
	             sizeof(to));
}

// Open both devices with their rings from @base, one rx buffer posted,
// and check that the host serves them.
Devices open_devices(TestGuest &g, std::pair<uint32_t, uint32_t> ids, uint64_t base,
                     const std::string &ifname, const std::string &step)
{
	Devices d;
	d.echo = g.dev_open(ids.first, VBUS_ECHO_VERSION, "the echo device");
	d.echo_ring = g.add_ring(d.echo, {VBUS_ECHO_SHM_RING, base, ring_count}, "echo ring");
	d.venet = testtools::open_venet(g, ids.second,
	                                {data_gpa, base + 0x1000, base + 0x2000, ring_count});

	vbus_ioq_buf buf{++d.cookie, buf_gpa, 64, 0};
	const auto r = g.post_and_wait(d.echo_ring, buf, wait_limit, std::chrono::milliseconds(5));
	if (!r || *r != 0) {
		throw std::runtime_error(step + ": the echo device did not serve its ring");
	}
	post_rx(g, d);
	const uint32_t before = used_idx(g, d.venet.rx);
	send_frame(ifname);
	if (!testtools::wait_for([&] { return used_idx(g, d.venet.rx) != before; }, wait_limit)) {
		throw std::runtime_error(step + ": a frame sent on " + ifname +
		                         " never reached the rx ring");
	}
	std::cout << step << ": both devices opened and served\n";
	return d;
}

// The host must no longer touch @d's rings: a frame on @ifname and an
// echo buffer rung on the old slot leave their used indexes as they were.
void expect_let_go(TestGuest &g, Devices &d, const std::string &ifname, const std::string &step)
{
	post_rx(g, d);
	const uint32_t rx = used_idx(g, d.venet.rx);
	vbus_ioq_buf buf{++d.cookie, buf_gpa, 64, 0};
	const auto r =
	    g.post_and_wait(d.echo_ring, buf, absent_limit, std::chrono::milliseconds(5));
	send_frame(ifname);
	std::this_thread::sleep_for(absent_limit);
	if (r || used_idx(g, d.venet.rx) != rx) {
		throw std::runtime_error(step + ": the host still wrote to the old " +
		                         (r ? "echo ring" : "venet rx ring"));
	}
	const int64_t call = g.dev_call(d.venet.handle, VBUS_VENET_CALL_LINK_UP, 0, 0);
	if (call != -EBADF && call != -ENOTCONN) {
		throw std::runtime_error(step + ": a call on an old connection gave " +
		                         std::to_string(call));
	}
	std::cout << step << ": the old connections are closed and their rings left alone\n";
}

} // namespace

int main(int argc, char **argv)
{
	const std::span args(argv, argc);
	if (args.size() != 5) {
		std::cerr << "usage: kvm-restart CONTAINER ECHO_ID VENET_ID IFNAME\n";
		return 2;
	}
	try {
		const std::pair<uint32_t, uint32_t> ids{std::stoul(args[2]), std::stoul(args[3])};
		const std::vector<uint32_t> all{std::min(ids.first, ids.second),
		                                std::max(ids.first, ids.second)};
		const std::string ifname = args[4];
		// Its HELLO queued a DEVADD per device, left unfetched.
		TestGuest g(args[1], GuestMemory::memfd("guest", mem_size), doorbells);
		Devices first = open_devices(g, ids, 0x10000, ifname, "first boot");

		// 1. The next kernel says HELLO over the first one's connections.
		g.hello();
		expect_devadds(g, all, "HELLO again");
		expect_let_go(g, first, ifname, "HELLO again");
		Devices second = open_devices(g, ids, 0x20000, ifname, "HELLO again");

		// 2. That kernel shuts down.
		vbus_kvm_call c{};
		c.op = VBUS_KVM_OP_RESET;
		TestGuest::must(g.call(c), "RESET");
		expect_let_go(g, second, ifname, "RESET");
		c = vbus_kvm_call{};
		c.op = VBUS_KVM_OP_EVENT;
		const int64_t event = g.call(c);
		const int64_t open = g.try_dev_open(ids.first, VBUS_ECHO_VERSION);
		if (event != -ENOTCONN || open != -ENOTCONN) {
			throw std::runtime_error("RESET: EVENT gave " + std::to_string(event) +
			                         " and DEVOPEN " + std::to_string(open) +
			                         ", not -ENOTCONN");
		}
		std::cout << "RESET: the session ended\n";
		g.hello();
		expect_devadds(g, all, "HELLO after RESET");
		open_devices(g, ids, 0x30000, ifname, "HELLO after RESET");
		std::cout << "kvm-restart: ok\n";
		return 0;
	} catch (const std::exception &ex) {
		std::cerr << "kvm-restart: " << ex.what() << "\n";
		return 1;
	}
}

// NOLINTEND(cppcoreguidelines-pro-type-union-access)
