// SPDX-License-Identifier: GPL-2.0
//
// kvm-fuzz: the guest thread: random and garbage calls, buffers on the
// rings it registered, and the VMM's memory and eventfd changes.

#ifndef VBUS_TESTS_TOOLS_KVM_FUZZ_GUEST_HH
#define VBUS_TESTS_TOOLS_KVM_FUZZ_GUEST_HH

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

extern "C" {
#include <vbus/echo.h>
#include <vbus/kvm.h>
#include <vbus/venet.h>
#include <vbus_ioq.h>
}

#include "../posix.hh"
#include "common.hh"
#include "vm.hh"

// The call page is the ABI's union of operations.
// NOLINTBEGIN(cppcoreguidelines-pro-type-union-access)

namespace kvm_fuzz
{

using testtools::fail;

// ---- the guest thread

enum class Kind : uint8_t { echo, venet, other };

struct Conn {
	uint32_t handle;
	Kind kind;
	bool negotiated;
};

struct Ring {
	bool live = false;
	uint32_t handle = 0;
	uint32_t slot = 0;
	uint32_t id = 0;
	vbus_ioq_driver q{};
	bool lost = false; // the driver's view no longer matches
	uint64_t next_cookie = 0;
};

class Guest
{
public:
	Guest(Vm &vm, Shared &shared, uint64_t seed, bool trace)
	    : vm_(vm), shared_(shared), rng_(seed), trace_(trace)
	{
	}

	void run(Clock::time_point deadline, uint64_t target)
	{
		while (!shared_.stop.load(std::memory_order_relaxed)) {
			Rng r(rng_());
			const auto t0 = Clock::now();
			kind_ = nullptr;
			step(r);
			if (kind_ != nullptr) {
				time_[kind_] += Clock::now() - t0;
			}
			const uint64_t n =
			    shared_.guest_ops.fetch_add(1, std::memory_order_relaxed);
			if ((n & 255) == 0) {
				interrupts += vm_.drain_vectors();
				if (Clock::now() > deadline || shared_.total() >= target) {
					shared_.stop = true;
				}
			}
		}
	}

	// After the run: the memory map back as it was, and an honest call
	// must still work.
	void finish()
	{
		if (!vm_.slot_present() || vm_.slot_base() != 0) {
			vm_.move_slot(0);
		}
		vm_.restore();
		vbus_kvm_call c{};
		c.op = VBUS_KVM_OP_HELLO;
		c.u.hello.version = VBUS_KVM_VERSION;
		const auto r = call_at(call_gpa, c);
		if (!r || *r != 0) {
			throw std::runtime_error(
			    "an honest HELLO after the run gave " +
			    (r ? std::to_string(*r) : std::string("no result")));
		}
		interrupts += vm_.drain_vectors();
	}

	void report(std::ostream &out) const
	{
		out << "guest operations:";
		for (const auto &[k, n] : ops_) {
			out << " " << k << "=" << n;
		}
		out << "\nguest thread time by kind (ms):";
		for (const auto &[k, t] : time_) {
			out << " " << k << "="
			    << std::chrono::duration_cast<std::chrono::milliseconds>(t).count();
		}
		out << "\ncall results:";
		for (const auto &[r, n] : results_) {
			const char *name = r == 0   ? "ok"
			                   : r == 1 ? "not-run"
			                            : strerrorname_np(static_cast<int>(-r));
			out << " " << (name != nullptr ? name : std::to_string(r)) << "=" << n;
		}
		out << "\ndevices announced: " << announced << ", withdrawn: " << withdrawn
		    << "; connections opened: " << opened << "; rings registered: " << registered
		    << "; buffers posted: " << posted << ", completed: " << completed
		    << "; interrupts: " << interrupts << "\n";
	}

	uint64_t announced = 0;
	uint64_t withdrawn = 0;
	uint64_t opened = 0;
	uint64_t registered = 0;
	uint64_t posted = 0;
	uint64_t completed = 0;
	uint64_t interrupts = 0;

private:
	void count(const char *kind)
	{
		ops_[kind]++;
		if (kind_ == nullptr) {
			kind_ = kind;
		}
		if (trace_) {
			std::cerr << "op " << shared_.guest_ops.load() << ": " << kind << "\n";
		}
	}

	void step(Rng &r)
	{
		// Closes, memory changes and vectors replaced wait for RCU
		// grace periods and device work: they are the rarest.
		const uint64_t pick = r.below(1000);
		if (pick < 330) {
			post(r);
		} else if (pick < 460) {
			garbage_call(r);
		} else if (pick < 520) {
			event(r);
		} else if (pick < 600) {
			devopen(r);
		} else if (pick < 615) {
			devclose(r);
		} else if (pick < 815) {
			devcall(r);
		} else if (pick < 975) {
			devshm(r);
		} else if (pick < 980) {
			hello(r);
		} else if (pick < 996) {
			memory(r);
		} else {
			eventfds(r);
		}
	}

	// ---- calls

	// Runs the call @c at @gpa (written through the memslot's user
	// addresses, where the host reads it); the result, or nothing when
	// the host could not reach the page or we cannot see the result.
	std::optional<int64_t> call_at(uint64_t gpa, const vbus_kvm_call &c, size_t garbage = 0,
	                               Rng *r = nullptr)
	{
		const bool visible = vm_.slot_present() && vm_.slot_base() == 0 &&
		                     gpa + page <= mem_size && vm_.backing(gpa) != Backing::hole;
		vbus_kvm_call *p = nullptr;
		if (visible) {
			auto mem = vm_.slot_mem().subspan(gpa, page);
			for (size_t i = 0; i < garbage && r != nullptr; i += 8) {
				const uint64_t v = (*r)();
				std::memcpy(&mem[i], &v, std::min<size_t>(8, garbage - i));
			}
			// NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): guest memory
			p = reinterpret_cast<vbus_kvm_call *>(mem.data());
			*p = c;
			p->result = static_cast<uint64_t>(INT64_MIN);
		}
		const int err = vm_.call(gpa);
		if (err != 0) {
			if (err != EFAULT && !(err == EINVAL && (gpa & (page - 1)) != 0)) {
				errno = err;
				fail("VBUS_KVM_CALL at guest address " + std::to_string(gpa));
			}
			results_[1]++;
			return std::nullopt;
		}
		if (p == nullptr) {
			results_[1]++;
			return std::nullopt;
		}
		const auto res = static_cast<int64_t>(p->result);
		// Over a ring, the corrupting thread may have written there.
		if (gpa >= ring_gpa) {
			results_[1]++;
			return std::nullopt;
		}
		if (res == INT64_MIN || res < -4095) {
			throw std::runtime_error("call " + std::to_string(c.op) + " returned " +
			                         std::to_string(res) +
			                         ", neither a result nor an errno");
		}
		results_[res < 0 ? res : 0]++;
		return res;
	}

	// The call page of a structured call.
	static uint64_t page_for(Rng &r) { return call_gpa + r.below(call_pages) * page; }

	[[nodiscard]] const vbus_kvm_call *result_page(uint64_t gpa) const
	{
		// NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): guest memory
		return reinterpret_cast<const vbus_kvm_call *>(vm_.slot_mem().subspan(gpa).data());
	}

	// A guest address for call arguments: mostly the data area.
	static uint64_t data_addr(Rng &r, uint32_t len)
	{
		switch (r.below(8)) {
		case 0:
			return r(); // anywhere
		case 1:
			return mem_size - r.below(64); // across the end of memory
		case 2:
			return ring_gpa + r.below(ring_pages * page); // over the rings
		default:
			return data_gpa + r.below(data_len - std::min<uint64_t>(len, data_len / 2));
		}
	}

	void garbage_call(Rng &r)
	{
		count("garbage-call");
		vbus_kvm_call c{};
		// Not RESET (7): it ends the session until a HELLO, and the
		// calls after it would only meet ENOTCONN; hello() resets.
		c.op = static_cast<uint32_t>(r.one_in(4) ? r() : r.below(VBUS_KVM_OP_RESET));
		c.reserved = r.one_in(8) ? static_cast<uint32_t>(r()) : 0;
		std::array<uint64_t, 4> u{};
		for (auto &w : u) {
			w = r();
		}
		std::memcpy(&c.u, u.data(), sizeof(u));
		if (r.one_in(2)) {
			c.u.devcall.handle = known_handle(r);
		}
		uint64_t gpa = page_for(r);
		switch (r.below(8)) {
		case 0:
			gpa = r(); // anywhere
			break;
		case 1:
			gpa += r.below(page); // unaligned, maybe across a page
			gpa = std::min(gpa, mem_size - sizeof(c));
			break;
		case 2:
			gpa = ring_gpa + r.below(ring_pages) * page; // over a live ring
			break;
		default:
			break;
		}
		if (gpa + page > mem_size || (gpa & (page - 1)) != 0) {
			// Write through the memslot only at the call pages.
			const int err = vm_.call(gpa);
			// A call page must be page-aligned (EINVAL) and guest memory (EFAULT).
			const int want = (gpa & (page - 1)) != 0 ? EINVAL : EFAULT;
			if (err != 0 && err != want) {
				errno = err;
				fail("VBUS_KVM_CALL at guest address " + std::to_string(gpa));
			}
			results_[1]++;
			return;
		}
		call_at(gpa, c, r.one_in(2) ? page : 0, &r);
	}

	// HELLO starts the bus over, a RESET before it first (a guest kernel
	// that shuts down and the next one that boots).
	void hello(Rng &r)
	{
		count("hello");
		vbus_kvm_call c{};
		if (r.one_in(4)) {
			count("reset");
			c.op = VBUS_KVM_OP_RESET;
			call_at(page_for(r), c);
		}
		c.op = VBUS_KVM_OP_HELLO;
		c.u.hello.version = r.one_in(8) ? static_cast<uint32_t>(r()) : VBUS_KVM_VERSION;
		call_at(page_for(r), c);
	}

	// Fetch bus events: the devices the guest knows.
	void event(Rng &r)
	{
		count("event");
		const uint64_t gpa = page_for(r);
		for (int i = 0; i < 8; i++) {
			vbus_kvm_call c{};
			c.op = VBUS_KVM_OP_EVENT;
			c.u.event.type_len = r.one_in(16) ? static_cast<uint32_t>(r.below(8)) : 64;
			const auto res = call_at(gpa, c);
			if (!res || *res != 0) {
				return;
			}
			const vbus_kvm_call *p = result_page(gpa);
			const uint32_t type = p->u.event.type;
			const uint32_t devid = p->u.event.devid;
			if (type == VBUS_KVM_EVENT_NONE) {
				return;
			}
			const uint32_t len = std::min<uint32_t>(p->u.event.type_len, 64);
			// NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): guest memory
			const std::string name(reinterpret_cast<const char *>(p->u.event.name),
			                       len);
			if (type == VBUS_KVM_EVENT_DEVADD) {
				announced++;
				devices_[devid] = name == VBUS_ECHO_TYPE    ? Kind::echo
				                  : name == VBUS_VENET_TYPE ? Kind::venet
				                                            : Kind::other;
			} else if (type == VBUS_KVM_EVENT_DEVDROP) {
				withdrawn++;
				devices_.erase(devid);
			}
		}
	}

	uint32_t known_devid(Rng &r)
	{
		if (devices_.empty() || r.one_in(8)) {
			return static_cast<uint32_t>(r.one_in(2) ? r.below(16) : r());
		}
		auto it = devices_.begin();
		std::advance(it, static_cast<long>(r.below(devices_.size())));
		return it->first;
	}

	uint32_t known_handle(Rng &r)
	{
		if (conns_.empty() || r.one_in(8)) {
			return static_cast<uint32_t>(r.one_in(2) ? r.below(16) : r());
		}
		return conns_.at(r.below(conns_.size())).handle;
	}

	Conn *conn_of(uint32_t handle)
	{
		auto it = std::ranges::find(conns_, handle, &Conn::handle);
		return it == conns_.end() ? nullptr : &*it;
	}

	void devopen(Rng &r)
	{
		count("devopen");
		const uint32_t devid = known_devid(r);
		vbus_kvm_call c{};
		c.op = VBUS_KVM_OP_DEVOPEN;
		c.u.devopen.devid = devid;
		c.u.devopen.version = r.one_in(8) ? static_cast<uint32_t>(r.below(4)) : 1;
		if (r.one_in(16)) {
			c.u.devopen.handle = static_cast<uint32_t>(r());
		}
		const uint64_t gpa = page_for(r);
		const auto res = call_at(gpa, c);
		if (res && *res == 0) {
			opened++;
			const uint32_t handle = result_page(gpa)->u.devopen.handle;
			auto dev = devices_.find(devid);
			forget(handle); // a handle of a connection the host closed
			conns_.push_back(
			    Conn{handle, dev == devices_.end() ? Kind::other : dev->second, false});
		}
	}

	// The connection @handle is gone: so are its rings.
	void forget(uint32_t handle)
	{
		std::erase_if(conns_, [&](const Conn &c) { return c.handle == handle; });
		for (unsigned i = 0; i < ring_pages; i++) {
			if (rings_.at(i).live && rings_.at(i).handle == handle) {
				rings_.at(i).live = false;
				shared_.live.at(i).store(0, std::memory_order_relaxed);
			}
		}
	}

	void devclose(Rng &r)
	{
		count("devclose");
		const uint32_t handle = known_handle(r);
		vbus_kvm_call c{};
		c.op = VBUS_KVM_OP_DEVCLOSE;
		c.u.devclose.handle = handle;
		c.u.devclose.reserved = r.one_in(16) ? 1 : 0;
		const auto res = call_at(page_for(r), c);
		if (res && *res != -EINVAL) {
			forget(handle);
		}
	}

	void devcall(Rng &r)
	{
		count("devcall");
		const uint32_t handle = known_handle(r);
		Conn *conn = conn_of(handle);
		vbus_kvm_call c{};
		c.op = VBUS_KVM_OP_DEVCALL;
		c.u.devcall.handle = handle;
		c.u.devcall.flags = r.one_in(16) ? static_cast<uint32_t>(r()) : 0;
		auto func = static_cast<uint32_t>(r.below(6));
		auto len = static_cast<uint32_t>(r.one_in(8) ? r() : r.below(8192));
		const Kind kind = conn != nullptr ? conn->kind : Kind::other;
		if (kind == Kind::echo && !r.one_in(8)) {
			func = VBUS_ECHO_CALL_REVERSE;
		} else if (kind == Kind::venet && !r.one_in(8)) {
			func = 1 + static_cast<uint32_t>(r.below(4));
			if (func == VBUS_VENET_CALL_GET_CONFIG && !r.one_in(4)) {
				len = sizeof(vbus_venet_config);
			} else if (func == VBUS_VENET_CALL_NEGOTIATE && !r.one_in(4)) {
				len = sizeof(vbus_venet_negotiate);
			} else if (func >= VBUS_VENET_CALL_LINK_UP && !r.one_in(4)) {
				len = 0;
			}
		}
		c.u.devcall.func = func;
		c.u.devcall.len = len;
		c.u.devcall.data = data_addr(r, len);
		if (func == VBUS_VENET_CALL_NEGOTIATE && c.u.devcall.data >= data_gpa &&
		    c.u.devcall.data + sizeof(vbus_venet_negotiate) <= data_gpa + data_len) {
			vbus_venet_negotiate neg{};
			neg.features = r.one_in(2) ? r() : r.below(1U << 10);
			neg.queue_pairs = static_cast<uint16_t>(r.one_in(8) ? r() : 1 + r.below(3));
			std::memcpy(vm_.view().subspan(c.u.devcall.data).data(), &neg, sizeof(neg));
		}
		const auto res = call_at(page_for(r), c);
		if (res && *res == 0 && conn != nullptr && kind == Kind::venet &&
		    func == VBUS_VENET_CALL_NEGOTIATE) {
			conn->negotiated = true;
		}
	}

	// Register a ring (a region) on a connection.
	void devshm(Rng &r)
	{
		count("devshm");
		const uint32_t handle = known_handle(r);
		const Conn *conn = conn_of(handle);
		const auto idx = static_cast<unsigned>(r.below(ring_pages));
		Ring &ring = rings_.at(idx);
		const uint64_t gpa = ring_gpa + idx * page;
		const auto count = static_cast<uint32_t>(1U << r.below(7)); // 1 to 64
		const bool fresh = !ring.live || r.one_in(4); // else: the same memory twice

		vbus_ioq_driver q{};
		if (fresh) {
			vbus_ioq_drv_init(&q, vm_.view().subspan(gpa, page).data(), page, count,
			                  static_cast<uint32_t>(r.one_in(2) ? r() : 0));
			if (r.one_in(8)) { // a header the device must refuse
				auto head = vm_.view().subspan(gpa, sizeof(vbus_ioq_head));
				head[r.below(head.size())] ^=
				    static_cast<uint8_t>(1 + r.below(255));
			}
		}
		vbus_kvm_call c{};
		c.op = VBUS_KVM_OP_DEVSHM;
		c.u.devshm.handle = handle;
		auto id = static_cast<uint32_t>(r.below(4));
		const Kind kind = conn != nullptr ? conn->kind : Kind::other;
		if (kind == Kind::echo && !r.one_in(8)) {
			id = VBUS_ECHO_SHM_RING;
		} else if (kind == Kind::venet && r.one_in(8)) {
			id = r.one_in(2) ? VBUS_VENET_SHM_EVENTS : static_cast<uint32_t>(r());
		}
		c.u.devshm.id = id;
		c.u.devshm.addr = gpa;
		if (r.one_in(16)) {
			c.u.devshm.addr = r.one_in(2) ? r() : mem_size - r.below(page);
		}
		c.u.devshm.len = VBUS_IOQ_SIZE(count);
		if (r.one_in(8)) {
			c.u.devshm.len = r.one_in(2) ? r() : r.below(4 * page);
		}
		c.u.devshm.cookie = r.one_in(16) ? r.below(4) : ++cookies_;
		c.u.devshm.vector =
		    static_cast<uint32_t>(r.one_in(16) ? r.below(8) : 1 + r.below(3));
		c.u.devshm.slot = r.one_in(32) ? 1 : 0;

		const uint64_t cgpa = page_for(r);
		const auto res = call_at(cgpa, c);
		if (!res || *res != 0 || conn == nullptr || c.u.devshm.addr != gpa) {
			ring.lost |= fresh; // its memory was laid out again
			return;
		}
		registered++;
		ring.live = true;
		ring.handle = handle;
		ring.id = id;
		ring.slot = result_page(cgpa)->u.devshm.slot;
		ring.lost = !fresh;
		if (fresh) {
			ring.q = q;
		}
		shared_.live.at(idx).store(fresh ? count : 1, std::memory_order_relaxed);
	}

	// ---- the data path: buffers on a registered ring, then its doorbell

	static uint64_t buffer_addr(Rng &r)
	{
		switch (r.below(16)) {
		case 0:
			return r();
		case 1:
			return mem_size - r.below(page);
		case 2:
			return ring_gpa + r.below(ring_pages * page);
		default:
			return buf_gpa + r.below(buf_len - page);
		}
	}

	void post(Rng &r)
	{
		count("post");
		const auto start = static_cast<unsigned>(r.below(ring_pages));
		Ring *ring = nullptr;
		for (unsigned i = 0; i < ring_pages && ring == nullptr; i++) {
			Ring &c = rings_.at((start + i) % ring_pages);
			if (c.live) {
				ring = &c;
			}
		}
		if (ring == nullptr) {
			return;
		}
		const auto n = static_cast<unsigned>(1 + r.below(8));
		const bool bell = !r.one_in(8);
		if (ring->lost) { // the driver lost track: kick it anyway
			if (bell && ring->slot < doorbells) {
				vm_.ring(ring->slot);
			}
			return;
		}
		vbus_ioq_buf buf{};
		int ret = 0;
		while ((ret = vbus_ioq_drv_reclaim(&ring->q, &buf)) == 0) {
			completed++;
		}
		if (ret != -EAGAIN) {
			ring->lost = true; // corrupted under us
			return;
		}
		for (unsigned i = 0; i < n; i++) {
			buf.cookie = ++ring->next_cookie;
			buf.addr = buffer_addr(r);
			buf.len = static_cast<uint32_t>(r.one_in(16) ? r() : r.below(2048));
			buf.flags = static_cast<uint32_t>(r.one_in(4) ? r.below(2) : 0);
			if (vbus_ioq_drv_post(&ring->q, &buf) != 0) {
				break;
			}
			posted++;
		}
		const bool raise = vbus_ioq_drv_publish(&ring->q);
		if ((raise || bell) && ring->slot < doorbells) {
			vm_.ring(ring->slot);
		}
	}

	// ---- the VMM's memory map and eventfds

	void memory(Rng &r)
	{
		count("memory");
		if (!vm_.slot_present() || vm_.slot_base() != 0 || r.one_in(4)) {
			if (r.one_in(2)) {
				vm_.move_slot(0);
				count("memory:slot-moved");
			} else {
				vm_.restore();
				count("memory:restored");
			}
			if (!vm_.slot_present() || vm_.slot_base() != 0) {
				vm_.move_slot(0);
			}
			return;
		}
		// Mostly the rings and their buffers; the call and data pages
		// only get other memory, never a hole.
		const bool rings = !r.one_in(8);
		const uint64_t first = rings ? ring_gpa / page + r.below(ring_pages) : r.below(16);
		const uint64_t n =
		    std::min<uint64_t>(1 + r.below(4), ring_gpa / page + ring_pages - first);
		const uint64_t gpa = first * page;
		switch (r.below(rings ? 7 : 4)) {
		case 0:
			vm_.replace(gpa, n, Backing::a);
			count("memory:same-memfd");
			break;
		case 1:
			vm_.replace(gpa, n, Backing::b);
			count("memory:copy");
			break;
		case 2:
			vm_.replace(gpa, n, Backing::anon);
			count("memory:anonymous");
			break;
		case 3:
			vm_.dontneed(gpa, n);
			count("memory:dontneed");
			break;
		case 4:
			vm_.replace(gpa, n, Backing::hole);
			count("memory:hole");
			break;
		case 5:
			vm_.delete_slot();
			count("memory:slot-deleted");
			break;
		default:
			vm_.move_slot(far_gpa);
			count("memory:slot-elsewhere");
			break;
		}
	}

	void eventfds(Rng &r)
	{
		count("eventfd");
		switch (r.below(3)) {
		case 0: // a vector replaced or removed, maybe while in use
			vm_.set_vector(static_cast<unsigned>(r.below(vectors + 2)), r.one_in(4));
			break;
		case 1: // a doorbell re-registered: EBUSY while its slot is assigned
			vm_.set_doorbell(static_cast<unsigned>(r.below(doorbells)),
			                 static_cast<unsigned>(r.below(doorbells)));
			break;
		default: // one beyond them, set or cleared
			vm_.set_doorbell(static_cast<unsigned>(doorbells + r.below(8)),
			                 static_cast<unsigned>(r.below(2ULL * doorbells)));
			break;
		}
	}

	Vm &vm_;
	Shared &shared_;
	Rng rng_;
	bool trace_;
	std::map<uint32_t, Kind> devices_;
	std::vector<Conn> conns_;
	std::array<Ring, ring_pages> rings_{};
	uint64_t cookies_ = 100;
	std::map<std::string, uint64_t> ops_;
	const char *kind_ = nullptr; // of the operation under way
	std::map<std::string, Clock::duration> time_;
	std::map<int64_t, uint64_t> results_;
};

} // namespace kvm_fuzz

// NOLINTEND(cppcoreguidelines-pro-type-union-access)

#endif
