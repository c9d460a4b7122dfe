// SPDX-License-Identifier: GPL-2.0
//
// kvm-flood: a guest that hands its venet's transmit ring many large
// frames with one doorbell.
//
//   kvm-flood CONTAINER VENET_ID FRAMES BYTES
//
// A VMM without a vCPU, which plays its guest itself (as kvm-spin does),
// opens the venet VENET_ID of CONTAINER, negotiates one queue pair
// without offloads and posts FRAMES descriptors on the transmit ring,
// each the venet header and a frame of BYTES bytes (no GSO: the host
// copies each frame, then drops it as an error when it is longer than
// the MTU).  It publishes them at once, rings one doorbell and waits
// until every descriptor is back.  What one run of the host's ring took
// of them, the suite reads from ethtool -S (rx0_budget_stops).
//
// Prints "kvm-flood: FRAMES frames of BYTES bytes back" and "kvm-flood:
// ok"; exits non-zero with the reason otherwise.

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <exception>
#include <iostream>
#include <span>
#include <stdexcept>
#include <string>

extern "C" {
#include <vbus/venet.h>
#include <vbus_ioq.h>
}

#include "posix.hh"
#include "vkvm_client.hh"
#include "vkvm_venet.hh"

namespace
{

using testtools::GuestMemory;
using testtools::TestGuest;

// Guest physical layout.
constexpr uint64_t mem_size = 4ULL << 20;
constexpr uint64_t data_gpa = 0x2000; // call arguments
constexpr uint64_t rx_ring_gpa = 0x10000;
constexpr uint64_t tx_ring_gpa = 0x20000;
constexpr uint32_t ring_count = 256;
constexpr uint64_t frame_gpa = 0x100000; // every descriptor's bytes
constexpr unsigned doorbells = 2;        // the rx and the tx ring's
constexpr auto wait_limit = std::chrono::seconds(30);

int flood(const std::string &container, uint32_t devid, uint32_t frames, uint32_t bytes)
{
	if (frames == 0 || frames >= ring_count || bytes == 0 ||
	    bytes > mem_size - frame_gpa - sizeof(vbus_venet_hdr)) {
		throw std::invalid_argument(
		    "FRAMES must be 1 to " + std::to_string(ring_count - 1) + ", BYTES 1 to " +
		    std::to_string(mem_size - frame_gpa - sizeof(vbus_venet_hdr)));
	}
	TestGuest g(container, GuestMemory::anonymous(mem_size), doorbells);
	testtools::Venet v =
	    testtools::open_venet(g, devid, {data_gpa, rx_ring_gpa, tx_ring_gpa, ring_count});

	// A header without offloads, then a broadcast frame of @bytes.
	const uint32_t len = sizeof(vbus_venet_hdr) + bytes;
	const std::span<uint8_t> pkt = g.mem().subspan(frame_gpa, len);
	std::ranges::fill(pkt, 0);
	std::ranges::fill(pkt.subspan(sizeof(vbus_venet_hdr), 6), 0xff);

	for (uint32_t n = 1; n <= frames; n++) {
		vbus_ioq_buf buf{n, frame_gpa, len, 0};
		if (vbus_ioq_drv_post(&v.tx.q, &buf) != 0) {
			throw std::runtime_error("the tx ring is full at frame " +
			                         std::to_string(n));
		}
	}
	vbus_ioq_drv_publish(&v.tx.q);
	g.ring(v.tx.slot);

	uint32_t back = 0;
	const bool done = testtools::wait_for(
	    [&] {
		    vbus_ioq_buf buf{};
		    while (vbus_ioq_drv_reclaim(&v.tx.q, &buf) != -EAGAIN) {
			    back++;
		    }
		    return back == frames;
	    },
	    wait_limit, std::chrono::milliseconds(5));
	if (!done) {
		throw std::runtime_error(std::to_string(back) + " of " + std::to_string(frames) +
		                         " descriptors back after 30 s");
	}
	std::cout << "kvm-flood: " << frames << " frames of " << bytes << " bytes back\n";
	g.dev_close(v.handle);
	return 0;
}

} // namespace

int main(int argc, char **argv)
{
	const std::span args(argv, argc);
	if (args.size() != 5) {
		std::cerr << "usage: kvm-flood CONTAINER VENET_ID FRAMES BYTES\n";
		return 2;
	}
	try {
		flood(args[1], static_cast<uint32_t>(std::stoul(args[2])),
		      static_cast<uint32_t>(std::stoul(args[3])),
		      static_cast<uint32_t>(std::stoul(args[4])));
	} catch (const std::exception &ex) {
		std::cerr << "kvm-flood: " << ex.what() << "\n";
		return 1;
	}
	std::cout << "kvm-flood: ok\n";
	return 0;
}
