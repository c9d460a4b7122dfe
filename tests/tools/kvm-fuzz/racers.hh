// SPDX-License-Identifier: GPL-2.0
//
// kvm-fuzz: the threads that race the guest thread and the host: one
// rings doorbells, one corrupts the rings in guest memory.

#ifndef VBUS_TESTS_TOOLS_KVM_FUZZ_RACERS_HH
#define VBUS_TESTS_TOOLS_KVM_FUZZ_RACERS_HH

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <thread>

extern "C" {
#include <vbus_ioq.h>
}

#include "common.hh"
#include "vm.hh"

namespace kvm_fuzz
{

// ---- the doorbell thread

inline void ring_doorbells(Vm &vm, Shared &shared, uint64_t seed)
{
	Rng rng(seed);
	while (!shared.stop.load(std::memory_order_relaxed)) {
		if (shared.bell_ops.load(std::memory_order_relaxed) >
		    bell_ratio * shared.guest_ops.load(std::memory_order_relaxed) + max_lead) {
			std::this_thread::sleep_for(pause);
			continue;
		}
		Rng r(rng());
		// Mostly the slots of live rings (the low ones), in bursts.
		const auto slot =
		    static_cast<unsigned>(r.one_in(4) ? r.below(doorbells) : r.below(8));
		vm.ring(slot);
		shared.bell_ops.fetch_add(1, std::memory_order_relaxed);
	}
}

// ---- the corrupting thread

template <typename T> void scribble(std::span<uint8_t> mem, uint64_t off, T value)
{
	// NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): guest memory
	__atomic_store_n(reinterpret_cast<T *>(mem.subspan(off, sizeof(T)).data()), value,
	                 __ATOMIC_RELAXED);
}

inline void corrupt(std::span<uint8_t> mem, Shared &shared, uint64_t seed)
{
	Rng rng(seed);
	while (!shared.stop.load(std::memory_order_relaxed)) {
		const uint64_t others = shared.guest_ops.load(std::memory_order_relaxed) +
		                        shared.bell_ops.load(std::memory_order_relaxed);
		if (shared.racer_ops.load(std::memory_order_relaxed) > others + max_lead) {
			std::this_thread::sleep_for(pause);
			continue;
		}
		Rng r(rng());
		// A live ring most of the time.
		auto idx = static_cast<unsigned>(r.below(ring_pages));
		for (unsigned i = 0; i < 8 && shared.live.at(idx).load() == 0; i++) {
			idx = static_cast<unsigned>(r.below(ring_pages));
		}
		const uint32_t count = std::max<uint32_t>(shared.live.at(idx).load(), 1);
		const uint64_t base = ring_gpa + idx * page;
		const uint64_t desc =
		    base + offsetof(vbus_ioq_head, ring) + r.below(count) * sizeof(vbus_ioq_desc);
		const auto near = static_cast<uint32_t>(r.below(2 * count + 2));
		switch (r.below(12)) {
		case 0: // the published index: a little ahead, or anywhere
			scribble<uint32_t>(mem, base + offsetof(vbus_ioq_head, avail_idx),
			                   r.one_in(4) ? static_cast<uint32_t>(r()) : near);
			break;
		case 1: // the device's own index, under it
			scribble<uint32_t>(mem, base + offsetof(vbus_ioq_head, used_idx),
			                   r.one_in(4) ? static_cast<uint32_t>(r()) : near);
			break;
		case 2: // count, magic, version, flags
			scribble<uint32_t>(mem, base + 4 * r.below(4),
			                   r.one_in(2) ? static_cast<uint32_t>(r())
			                               : 1U << r.below(8));
			break;
		case 3: // the doorbell's signal: pending or enabled, set or cleared
		case 4:
			scribble<uint32_t>(
			    mem, base + offsetof(vbus_ioq_head, dev_signal) + 8 + 4 * r.below(2),
			    static_cast<uint32_t>(r.below(2)));
			break;
		case 5: // the interrupt's signal
			scribble<uint32_t>(
			    mem, base + offsetof(vbus_ioq_head, drv_signal) + 4 * r.below(4),
			    static_cast<uint32_t>(r.one_in(4) ? r() : r.below(2)));
			break;
		case 6: // a descriptor's address
			scribble<uint64_t>(mem, desc + offsetof(vbus_ioq_desc, addr),
			                   r.one_in(2) ? r() : buf_gpa + r.below(buf_len));
			break;
		case 7: // a descriptor's length
			scribble<uint32_t>(
			    mem, desc + offsetof(vbus_ioq_desc, len),
			    static_cast<uint32_t>(r.one_in(2) ? r() : r.below(70000)));
			break;
		case 8: // a descriptor's flags and reserved word
			scribble<uint32_t>(mem, desc + offsetof(vbus_ioq_desc, flags),
			                   static_cast<uint32_t>(r.below(4)));
			scribble<uint64_t>(mem, desc + offsetof(vbus_ioq_desc, reserved),
			                   r.one_in(2) ? r() : 0);
			break;
		case 9: // random words anywhere in the ring's page
			scribble<uint64_t>(mem, base + 8 * r.below(page / 8), r());
			break;
		default: // the buffers' bytes: venet headers, frames
			scribble<uint64_t>(mem, buf_gpa + 8 * r.below(buf_len / 8), r());
			break;
		}
		shared.racer_ops.fetch_add(1, std::memory_order_relaxed);
	}
}

} // namespace kvm_fuzz

#endif
