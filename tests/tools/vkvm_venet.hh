// SPDX-License-Identifier: GPL-2.0
//
// A venet opened by a test VMM (vkvm_client.hh) the way the guest's driver
// opens it: its configuration read, one queue pair negotiated, its rx and
// tx rings registered and its link up.  Errors name the device and the
// step.

#ifndef VBUS_TESTS_TOOLS_VKVM_VENET_HH
#define VBUS_TESTS_TOOLS_VKVM_VENET_HH

#include <cstdint>
#include <cstring>
#include <string>

extern "C" {
#include <vbus/venet.h>
}

#include "vkvm_client.hh"

namespace testtools
{

// Where a venet's calls and rings go in guest memory.
struct VenetPlace {
	uint64_t data_gpa; // call arguments (the largest is vbus_venet_config)
	uint64_t rx_gpa;   // the rx ring
	uint64_t tx_gpa;   // the tx ring
	uint32_t count;    // descriptors per ring
};

struct Venet {
	uint32_t handle = 0;
	Ring rx;
	Ring tx;
};

inline Venet open_venet(TestGuest &g, uint32_t devid, const VenetPlace &at)
{
	const std::string what = "the venet (device " + std::to_string(devid) + ")";
	Venet v;
	v.handle = g.dev_open(devid, VBUS_VENET_VERSION, "the venet");
	const auto call = [&](uint32_t func, uint32_t len, const char *name) {
		TestGuest::must(g.dev_call(v.handle, func, at.data_gpa, len), what + ": " + name);
	};
	call(VBUS_VENET_CALL_GET_CONFIG, sizeof(vbus_venet_config), "GET_CONFIG");
	vbus_venet_negotiate neg{};
	neg.queue_pairs = 1;
	std::memcpy(g.mem().subspan(at.data_gpa, sizeof(neg)).data(), &neg, sizeof(neg));
	call(VBUS_VENET_CALL_NEGOTIATE, sizeof(neg), "NEGOTIATE");
	v.rx = g.add_ring(v.handle, {VBUS_VENET_SHM_RX(0), at.rx_gpa, at.count}, what + " rx ring");
	v.tx = g.add_ring(v.handle, {VBUS_VENET_SHM_TX(0), at.tx_gpa, at.count}, what + " tx ring");
	call(VBUS_VENET_CALL_LINK_UP, 0, "LINK_UP");
	return v;
}

} // namespace testtools

#endif
