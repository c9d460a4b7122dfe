// SPDX-License-Identifier: GPL-2.0
//
// kvm-hostile: what the guest does: the valid handshake, random calls,
// doorbells and ring corruptions.

#ifndef VBUS_TESTS_TOOLS_KVM_HOSTILE_ATTACKS_HH
#define VBUS_TESTS_TOOLS_KVM_HOSTILE_ATTACKS_HH

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

extern "C" {
#include <vbus/kvm.h>
#include <vbus/venet.h>
#include <vbus_ioq.h>
}

#include "guest.hh"

// The call page is the ABI's union of operations.
// NOLINTBEGIN(cppcoreguidelines-pro-type-union-access)

namespace kvm_hostile
{

struct Venet {
	uint32_t handle = 0;
	std::vector<uint32_t> slots;
};

// The valid handshake; returns the opened venet.
inline Venet handshake(Guest &g, unsigned devices)
{
	vbus_kvm_call c{};
	c.op = VBUS_KVM_OP_HELLO;
	c.u.hello.version = VBUS_KVM_VERSION;
	must(call(g, c), "HELLO");

	std::vector<uint32_t> ids;
	auto *page = g.obj<vbus_kvm_call>(call_gpa);
	for (;;) {
		c = vbus_kvm_call{};
		c.op = VBUS_KVM_OP_EVENT;
		c.u.event.type_len = 64;
		must(call(g, c), "EVENT");
		if (page->u.event.type == VBUS_KVM_EVENT_NONE) {
			break;
		}
		// NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): guest memory
		const std::string type(reinterpret_cast<char *>(g.at(call_gpa + 32, 64)),
		                       page->u.event.type_len); // NOLINT
		if (page->u.event.type != VBUS_KVM_EVENT_DEVADD || type != VBUS_VENET_TYPE) {
			throw std::runtime_error("unexpected bus event of type " + type);
		}
		ids.push_back(page->u.event.devid);
	}
	if (ids.size() != devices) {
		throw std::runtime_error("saw " + std::to_string(ids.size()) +
		                         " devices, expected " + std::to_string(devices));
	}
	std::cout << "handshake: " << ids.size() << " devices announced\n";

	Venet v;
	c = vbus_kvm_call{};
	c.op = VBUS_KVM_OP_DEVOPEN;
	c.u.devopen.devid = ids.front();
	c.u.devopen.version = VBUS_VENET_VERSION;
	must(call(g, c), "DEVOPEN");
	v.handle = page->u.devopen.handle;

	c = vbus_kvm_call{};
	c.op = VBUS_KVM_OP_DEVCALL;
	c.u.devcall.handle = v.handle;
	c.u.devcall.func = VBUS_VENET_CALL_GET_CONFIG;
	c.u.devcall.len = sizeof(vbus_venet_config);
	c.u.devcall.data = data_gpa;
	must(call(g, c), "GET_CONFIG");

	auto *neg = g.obj<vbus_venet_negotiate>(data_gpa);
	*neg = vbus_venet_negotiate{};
	neg->features = 0;
	neg->queue_pairs = 1;
	c.u.devcall.func = VBUS_VENET_CALL_NEGOTIATE;
	c.u.devcall.len = sizeof(vbus_venet_negotiate);
	must(call(g, c), "NEGOTIATE");

	const std::array<uint32_t, 2> ids_shm = {VBUS_VENET_SHM_RX(0), VBUS_VENET_SHM_TX(0)};
	// A ring starts on a VBUS_IOQ_ALIGN (64-byte) boundary: a valid one
	// 8 or 50 bytes past it is refused (at 50, a signal's pending word
	// would straddle two cache lines).  The library lays out rings only
	// where they may start, so each is laid out there and moved.
	const size_t ring_size = VBUS_IOQ_SIZE(ring_count);
	for (const uint64_t off : {uint64_t{8}, uint64_t{50}}) {
		vbus_ioq_driver q{};
		uint8_t *laid = g.at(ring_gpa, ring_size);
		if (vbus_ioq_drv_init(&q, laid, ring_size, ring_count, 0) != 0) {
			throw std::runtime_error("ring init");
		}
		std::memmove(g.at(ring_gpa + off, ring_size), laid, ring_size);
		c = vbus_kvm_call{};
		c.op = VBUS_KVM_OP_DEVSHM;
		c.u.devshm.handle = v.handle;
		c.u.devshm.id = ids_shm.at(0);
		c.u.devshm.addr = ring_gpa + off;
		c.u.devshm.len = ring_size;
		c.u.devshm.cookie = 99;
		c.u.devshm.vector = 1;
		const int64_t r = call(g, c);
		if (r != -EINVAL) {
			throw std::runtime_error("DEVSHM of a ring " + std::to_string(off) +
			                         " bytes past a 64-byte boundary gave " +
			                         std::to_string(r) + ", not -EINVAL");
		}
	}
	std::cout << "handshake: rings 8 and 50 bytes past a 64-byte boundary refused (EINVAL)\n";
	for (size_t i = 0; i < ids_shm.size(); i++) {
		const uint64_t gpa = ring_gpa + i * ring_stride;
		vbus_ioq_driver q{};
		if (vbus_ioq_drv_init(&q, g.at(gpa, VBUS_IOQ_SIZE(ring_count)),
		                      VBUS_IOQ_SIZE(ring_count), ring_count, 0) != 0) {
			throw std::runtime_error("ring init");
		}
		c = vbus_kvm_call{};
		c.op = VBUS_KVM_OP_DEVSHM;
		c.u.devshm.handle = v.handle;
		c.u.devshm.id = ids_shm.at(i);
		c.u.devshm.addr = gpa;
		c.u.devshm.len = VBUS_IOQ_SIZE(ring_count);
		c.u.devshm.cookie = 100 + i;
		c.u.devshm.vector = 1 + i;
		must(call(g, c), "DEVSHM");
		v.slots.push_back(page->u.devshm.slot);
	}
	std::cout << "handshake: venet " << v.handle << " open, rings on slots " << v.slots[0]
	          << " and " << v.slots[1] << "\n";
	return v;
}

inline void expect_results(Guest &g, unsigned n, const std::string &what)
{
	for (unsigned i = 0; i < n; i++) {
		const auto r = static_cast<int64_t>(
		    g.obj<vbus_kvm_call>(call_gpa + i * uint64_t{4096})->result);
		if (!is_result(r)) {
			throw std::runtime_error(what + ": result " + std::to_string(r) +
			                         " is no errno");
		}
	}
}

inline void random_calls(Guest &g, std::mt19937_64 &rng, unsigned rounds)
{
	std::map<int64_t, unsigned long> results;
	unsigned done = 0;
	while (done < rounds) {
		std::vector<Command> cmds;
		for (unsigned i = 0; i < call_pages && done < rounds; i++, done++) {
			uint64_t gpa = call_gpa + i * uint64_t{4096};
			auto bytes = std::span(g.at(gpa, 4096), 4096);
			for (auto &b : bytes) {
				b = static_cast<uint8_t>(rng());
			}
			auto *c = g.obj<vbus_kvm_call>(gpa);
			if (rng() % 4 != 0) { // mostly plausible operations
				// Not RESET: the calls after it would only meet
				// ENOTCONN (kvm-restart tests it).
				c->op = static_cast<uint32_t>(rng() % VBUS_KVM_OP_RESET);
				c->reserved = 0;
				c->u.devopen.handle = static_cast<uint32_t>(rng() % 4);
				c->u.devcall.len =
				    static_cast<uint32_t>(rng() % 2 != 0 ? rng() % 512 : rng());
				c->u.devcall.data =
				    rng() % 2 != 0 ? data_gpa + rng() % 4096 : rng();
			}
			c->result = static_cast<uint64_t>(not_run);
			auto frame = static_cast<uint32_t>(gpa >> 12);
			if (rng() % 16 == 0) { // a page outside guest memory
				frame = static_cast<uint32_t>(rng());
			}
			cmds.push_back(Command{call_port, 0, frame});
		}
		g.run(cmds);
		expect_results(g, cmds.size(), "random call");
		for (size_t i = 0; i < cmds.size(); i++) {
			auto r = static_cast<int64_t>(
			    g.obj<vbus_kvm_call>(call_gpa + i * uint64_t{4096})->result);
			results[r == not_run ? 1 : r < 0 ? r : 0]++;
		}
	}
	std::cout << "random calls: " << rounds << " sent;";
	for (const auto &[r, n] : results) {
		const std::string name = r == 0   ? "ok"
		                         : r == 1 ? "outside-memory"
		                                  : std::strerror(static_cast<int>(-r));
		std::cout << " " << name << "=" << n;
	}
	std::cout << "\n";
}

inline void random_doorbells(Guest &g, std::mt19937_64 &rng, unsigned rounds)
{
	std::vector<Command> cmds;
	const unsigned long before = g.stray_exits;
	for (unsigned i = 0; i < rounds; i++) {
		// Mostly registered slots; one in eight a port beyond them.
		const unsigned slot = rng() % 8 == 0 ? doorbells + rng() % 16 : rng() % doorbells;
		cmds.push_back(Command{static_cast<uint16_t>(doorbell_port + 4 * slot), 0,
		                       static_cast<uint32_t>(rng())});
		if (cmds.size() == max_commands) {
			g.run(cmds);
			cmds.clear();
		}
	}
	g.run(cmds);
	std::cout << "random doorbells: " << rounds << " rung, " << g.stray_exits - before
	          << " on unregistered ports exited to the VMM\n";
}

inline void corrupt_rings(Guest &g, std::mt19937_64 &rng, const Venet &v, unsigned rounds)
{
	std::vector<Command> cmds;
	for (unsigned i = 0; i < rounds; i++) {
		const unsigned r = rng() % 2;
		const uint64_t gpa = ring_gpa + r * ring_stride;
		auto ring =
		    std::span(g.at(gpa, VBUS_IOQ_SIZE(ring_count)), VBUS_IOQ_SIZE(ring_count));
		const size_t off = rng() % ring.size();
		const size_t n = 1 + rng() % 64;
		for (size_t k = off; k < off + n && k < ring.size(); k++) {
			ring[k] = static_cast<uint8_t>(rng());
		}
		if (rng() % 2 != 0) { // plausible descriptors into the buffer area
			auto *d =
			    g.obj<vbus_ioq_desc>(gpa + sizeof(vbus_ioq_head) +
			                         (rng() % ring_count) * sizeof(vbus_ioq_desc));
			d->addr = rng() % 2 != 0 ? buf_gpa + rng() % 0x10000 : rng();
			d->len = rng() % 2 != 0 ? rng() % 2048 : static_cast<uint32_t>(rng());
		}
		cmds.push_back(
		    Command{static_cast<uint16_t>(doorbell_port + 4 * v.slots.at(r)), 0, 0});
		if (cmds.size() == 256) {
			g.run(cmds);
			cmds.clear();
			usleep(1000); // let the device's work run between bursts
		}
	}
	g.run(cmds);
	std::cout << "ring corruption: " << rounds << " rounds\n";
}

} // namespace kvm_hostile

// NOLINTEND(cppcoreguidelines-pro-type-union-access)

#endif // VBUS_TESTS_TOOLS_KVM_HOSTILE_ATTACKS_HH
