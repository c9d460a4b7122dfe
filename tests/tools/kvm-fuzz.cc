// SPDX-License-Identifier: GPL-2.0
//
// kvm-fuzz: a hostile guest played by its VMM, for a million operations.
//
//   kvm-fuzz CONTAINER [SEED [OPS [SECONDS]]]
//
// It creates a VM with guest memory but no vCPU, binds it to CONTAINER
// through /dev/vbus-kvm and registers doorbell and vector eventfds.  The
// guest's side is then played from the VMM's own threads: calls are
// written into call pages and run with VBUS_KVM_CALL, doorbells are
// writes to the doorbell eventfds (what KVM_IOEVENTFD would do for a
// guest's port write), so every operation costs one system call and no
// VM exit.  Three threads race the host and each other:
//   - the guest thread: random calls, valid-looking (HELLO, EVENT,
//     DEVOPEN, DEVCLOSE, DEVCALL and DEVSHM of the echo and venet
//     protocols on the devices the bus events announce) and garbage
//     (random bytes, handles, lengths, addresses in and out of guest
//     memory, call pages outside it); buffers posted on the rings it
//     registered; and the VMM's memory changes under the live rings:
//     mmap(MAP_FIXED) of other memory over ring pages, MADV_DONTNEED,
//     holes, the memslot moved, deleted and put elsewhere;
//   - the doorbell thread: doorbells on random slots, assigned or not;
//   - the corrupting thread: ring headers, indices, signal words and
//     descriptors overwritten while the host serves them.
// Devices may come and go meanwhile (the test suite unplugs them): the
// guest thread learns about it from the bus events, as a guest would.
//
// Every operation is counted.  The run ends after OPS operations
// (default 1000000) or SECONDS seconds (default 120), whichever comes
// first; reaching fewer than OPS operations is a failure.  Every call
// must return a result or a negative errno, and the host must still
// answer an honest call at the end.
//
// SEED (default: random) is printed.  Each thread draws its operations
// from its own generator seeded from SEED, one draw per operation, so
// a seed gives the same sequence of operations in every run; how they
// interleave with each other and with the host is up to the scheduler.
// With KVM_FUZZ_TRACE=1 in the environment, the guest thread prints
// every operation it makes.
//
// Prints the seed, progress, the operations by kind, the call results
// by errno and the rate, then "kvm-fuzz: ok"; exits non-zero, naming
// the operation, at the first failure.

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
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

// The call page is the ABI's union of operations.
// NOLINTBEGIN(cppcoreguidelines-pro-type-union-access)

namespace
{

using testtools::fail;
using testtools::Fd;
using testtools::Mapping;
using Clock = std::chrono::steady_clock;

// ---- guest physical layout (one memslot of mem_size at gpa 0)

constexpr uint64_t page = 4096;
constexpr uint64_t mem_size = 2ULL << 20;
constexpr uint64_t call_gpa = 0x1000; // call pages
constexpr unsigned call_pages = 7;
constexpr uint64_t data_gpa = 0x10000; // call arguments
constexpr uint64_t data_len = 0x10000;
constexpr uint64_t ring_gpa = 0x20000; // one ring per page
constexpr unsigned ring_pages = 64;
constexpr uint64_t buf_gpa = 0x100000; // buffers the rings point to
constexpr uint64_t buf_len = 0x100000;
// Where the memslot goes when it is "put elsewhere".
constexpr uint64_t far_gpa = 1ULL << 32;

constexpr unsigned doorbells = 32;
constexpr unsigned vectors = 4;

// The doorbell thread makes at most bell_ratio doorbells per operation
// of the guest thread, and the corrupting thread at most one
// corruption per operation of the two others; both may run up to
// max_lead operations ahead.  So the count is not made of the cheapest
// operations, and the guest thread gets its share of the CPUs.
constexpr uint64_t bell_ratio = 8;
constexpr uint64_t max_lead = 1000;
constexpr std::chrono::microseconds pause{200};

// ---- a small, fast generator: splitmix64

class Rng
{
public:
	explicit Rng(uint64_t seed) : s_(seed) {}
	uint64_t operator()()
	{
		uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		return z ^ (z >> 31);
	}
	// Uniform in [0, n).
	uint64_t below(uint64_t n) { return (*this)() % n; }
	// True with probability 1/n.
	bool one_in(uint64_t n) { return below(n) == 0; }

private:
	uint64_t s_;
};

// ---- shared state of the three threads

struct Shared {
	std::atomic<bool> stop{false};
	std::atomic<uint64_t> guest_ops{0};
	std::atomic<uint64_t> bell_ops{0};
	std::atomic<uint64_t> racer_ops{0};
	// Ring pages the guest thread has registered (their count, or 0):
	// what the corrupting thread goes for first.
	std::array<std::atomic<uint32_t>, ring_pages> live{};
	// The first failure of any thread; every thread stops on it.
	std::mutex error_lock;
	std::string error;

	// Run @body, turning an exception into the run's failure.
	template <typename F> void guard(F body)
	{
		try {
			body();
		} catch (const std::exception &e) {
			const std::scoped_lock lock(error_lock);
			if (error.empty()) {
				error = e.what();
			}
		}
		stop = true;
	}

	[[nodiscard]] uint64_t total() const
	{
		return guest_ops.load(std::memory_order_relaxed) +
		       bell_ops.load(std::memory_order_relaxed) +
		       racer_ops.load(std::memory_order_relaxed);
	}
};

// A memfd of mem_size and one mapping of it.
struct Memfd {
	Fd fd;
	Mapping map;

	explicit Memfd(const char *name) : fd(memfd_create(name, MFD_CLOEXEC))
	{
		if (fd.get() < 0 || ftruncate(fd.get(), mem_size) < 0) {
			fail(std::string("memfd ") + name);
		}
		map = testtools::map_memory(mem_size, fd.get());
	}
};

// What backs a page of the memslot's user addresses.
enum class Backing : uint8_t { a, b, anon, hole };

// ---- the VM and its VMM-side files

class Vm
{
public:
	explicit Vm(const std::string &container)
	    : kvm_(open("/dev/kvm", O_RDWR | O_CLOEXEC)), vm_(ioctl(kvm_.get(), KVM_CREATE_VM, 0)),
	      bus_(open("/dev/vbus-kvm", O_RDWR | O_CLOEXEC)), a_("guest-a"),
	      b_("guest-b"), aliases_{testtools::map_memory(mem_size, a_.fd.get()),
	                              testtools::map_memory(mem_size, a_.fd.get())}
	{
		if (kvm_.get() < 0 || vm_.get() < 0) {
			fail("create VM");
		}
		if (bus_.get() < 0) {
			fail("open /dev/vbus-kvm");
		}
		backing_.fill(Backing::a);
		set_slot(mem_size, 0);
		testtools::vkvm_bind(bus_.get(), vm_.get(), container);
		for (unsigned s = 0; s < doorbells; s++) {
			bells_.at(s) = Fd(eventfd(0, EFD_CLOEXEC));
			if (bells_.at(s).get() < 0) {
				fail("doorbell eventfd");
			}
			testtools::vkvm_set_eventfd(bus_.get(), VBUS_KVM_SET_DOORBELL, s,
			                            bells_.at(s).get());
		}
		for (unsigned v = 0; v < vectors; v++) {
			vectors_.at(v) = Fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
			if (vectors_.at(v).get() < 0) {
				fail("vector eventfd");
			}
			testtools::vkvm_set_eventfd(bus_.get(), VBUS_KVM_SET_VECTOR, v,
			                            vectors_.at(v).get());
		}
	}

	// The guest's memory as the guest thread writes rings and buffers:
	// memfd a, whatever the memslot maps.
	[[nodiscard]] std::span<uint8_t> view() const { return a_.map.bytes(); }

	// The memslot's user addresses, where calls are written.
	[[nodiscard]] std::span<uint8_t> slot_mem() const { return aliases_.at(alias_).bytes(); }
	[[nodiscard]] bool slot_present() const { return slot_present_; }
	[[nodiscard]] uint64_t slot_base() const { return slot_base_; }
	[[nodiscard]] Backing backing(uint64_t gpa) const { return backing_.at(gpa / page); }

	// VBUS_KVM_CALL on @gpa: 0, or the ioctl's errno.
	int call(uint64_t gpa)
	{
		vbus_kvm_guest_call gc{};
		gc.gpa = gpa;
		return ioctl(bus_.get(), VBUS_KVM_CALL, &gc) < 0 ? errno : 0;
	}

	void ring(unsigned slot)
	{
		const uint64_t one = 1;
		if (write(bells_.at(slot).get(), &one, sizeof(one)) != sizeof(one)) {
			fail("doorbell " + std::to_string(slot));
		}
	}

	// Interrupts the host sent on every vector since the last drain.
	uint64_t drain_vectors()
	{
		uint64_t total = 0;
		for (const Fd &v : vectors_) {
			uint64_t n = 0;
			if (v.get() >= 0 && read(v.get(), &n, sizeof(n)) == sizeof(n)) {
				total += n;
			}
		}
		return total;
	}

	// VBUS_KVM_SET_VECTOR @index to a new eventfd, or to none (-1).
	int set_vector(unsigned index, bool none)
	{
		Fd efd;
		if (!none) {
			efd = Fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
			if (efd.get() < 0) {
				fail("vector eventfd");
			}
		}
		vbus_kvm_eventfd e{};
		e.index = index;
		e.fd = none ? -1 : efd.get();
		if (ioctl(bus_.get(), VBUS_KVM_SET_VECTOR, &e) < 0) {
			return errno;
		}
		if (index < vectors) {
			vectors_.at(index) = std::move(efd);
		}
		return 0;
	}

	// VBUS_KVM_SET_DOORBELL @index to the eventfd of slot @fd_of (or
	// none when @fd_of is out of range).
	int set_doorbell(unsigned index, unsigned fd_of)
	{
		vbus_kvm_eventfd e{};
		e.index = index;
		e.fd = fd_of < doorbells ? bells_.at(fd_of).get() : -1;
		return ioctl(bus_.get(), VBUS_KVM_SET_DOORBELL, &e) < 0 ? errno : 0;
	}

	// ---- the VMM's memory changes

	// mmap(MAP_FIXED) over @n pages of the memslot's user addresses
	// from @gpa: memfd a again, a copy in memfd b, anonymous memory,
	// or nothing (a hole).
	void replace(uint64_t gpa, uint64_t n, Backing with)
	{
		uint8_t *at = slot_mem().subspan(gpa, n * page).data();
		void *p = nullptr;
		switch (with) {
		case Backing::a:
		case Backing::b: {
			const Memfd &m = with == Backing::a ? a_ : b_;
			if (with == Backing::b) {
				std::memcpy(b_.map.bytes().subspan(gpa).data(),
				            view().subspan(gpa).data(), n * page);
			}
			p = mmap(at, n * page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			         m.fd.get(), static_cast<off_t>(gpa));
			break;
		}
		case Backing::anon:
			p = mmap(at, n * page, PROT_READ | PROT_WRITE,
			         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			break;
		case Backing::hole:
			p = mmap(at, n * page, PROT_NONE,
			         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
			break;
		}
		if (p == MAP_FAILED) {
			fail("mmap(MAP_FIXED) over guest memory");
		}
		for (uint64_t i = 0; i < n; i++) {
			backing_.at(gpa / page + i) = with;
		}
	}

	// MADV_DONTNEED on @n pages from @gpa: the page tables go, the
	// memory (a shared memfd) stays.
	void dontneed(uint64_t gpa, uint64_t n) const
	{
		if (madvise(slot_mem().subspan(gpa, n * page).data(), n * page, MADV_DONTNEED) <
		    0) {
			fail("madvise(MADV_DONTNEED)");
		}
	}

	// Everything back to memfd a.
	void restore() { replace(0, mem_size / page, Backing::a); }

	// The memslot to the other alias of memfd a (a move in the VMM's
	// address space), at guest address @base.
	void move_slot(uint64_t base)
	{
		if (slot_present_) {
			set_slot(0, slot_base_); // delete
		}
		alias_ ^= 1U;
		restore();
		set_slot(mem_size, base);
	}

	void delete_slot()
	{
		if (slot_present_) {
			set_slot(0, slot_base_);
		}
	}

private:
	void set_slot(uint64_t size, uint64_t base)
	{
		kvm_userspace_memory_region region{};
		region.guest_phys_addr = base;
		region.memory_size = size;
		region.userspace_addr = reinterpret_cast<uintptr_t>(slot_mem().data()); // NOLINT
		if (ioctl(vm_.get(), KVM_SET_USER_MEMORY_REGION, &region) < 0) {
			fail("KVM_SET_USER_MEMORY_REGION");
		}
		slot_present_ = size != 0;
		slot_base_ = base;
	}

	Fd kvm_;
	Fd vm_;
	Fd bus_;
	Memfd a_;
	Memfd b_;
	std::array<Mapping, 2> aliases_;
	unsigned alias_ = 0;
	bool slot_present_ = false;
	uint64_t slot_base_ = 0;
	std::array<Backing, mem_size / page> backing_{};
	std::array<Fd, doorbells> bells_;
	std::array<Fd, vectors> vectors_;
};

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
		c.op = static_cast<uint32_t>(r.one_in(4) ? r() : r.below(8));
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

	void hello(Rng &r)
	{
		count("hello");
		vbus_kvm_call c{};
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

// ---- the doorbell thread

void ring_doorbells(Vm &vm, Shared &shared, uint64_t seed)
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

void corrupt(std::span<uint8_t> mem, Shared &shared, uint64_t seed)
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

} // namespace

int main(int argc, char **argv)
{
	const std::span args(argv, argc);
	if (argc < 2 || argc > 5) {
		std::cerr << "usage: kvm-fuzz CONTAINER [SEED [OPS [SECONDS]]]\n";
		return 2;
	}
	try {
		const std::string container = args[1];
		const uint64_t seed = argc > 2 ? std::stoull(args[2]) : std::random_device{}();
		const uint64_t target = argc > 3 ? std::stoull(args[3]) : 1000000;
		const unsigned seconds = argc > 4 ? std::stoul(args[4]) : 120;
		const char *trace = std::getenv("KVM_FUZZ_TRACE");
		std::cout << "kvm-fuzz: seed " << seed << ", " << target
		          << " operations in at most " << seconds << " s" << std::endl;

		Vm vm(container);
		Shared shared;
		Rng seeds(seed);
		Guest guest(vm, shared, seeds(), trace != nullptr && *trace == '1');
		const uint64_t bell_seed = seeds();
		const uint64_t racer_seed = seeds();

		const auto start = Clock::now();
		const auto deadline = start + std::chrono::seconds(seconds);
		{
			const std::jthread bells(
			    [&] { shared.guard([&] { ring_doorbells(vm, shared, bell_seed); }); });
			const std::jthread racer(
			    [&] { shared.guard([&] { corrupt(vm.view(), shared, racer_seed); }); });
			const std::jthread progress([&] {
				uint64_t next = 100000;
				while (!shared.stop) {
					std::this_thread::sleep_for(std::chrono::milliseconds(200));
					if (shared.total() >= next) {
						const std::chrono::duration<double> t =
						    Clock::now() - start;
						std::cout << "kvm-fuzz: " << shared.total()
						          << " operations after " << t.count()
						          << " s" << std::endl;
						next += 100000;
					}
				}
			});
			shared.guard([&] { guest.run(deadline, target); });
		}
		if (!shared.error.empty()) {
			throw std::runtime_error(shared.error);
		}
		const std::chrono::duration<double> t = Clock::now() - start;
		guest.finish();

		const uint64_t total = shared.total();
		std::cout << "kvm-fuzz: " << total << " operations in " << t.count() << " s ("
		          << static_cast<uint64_t>(static_cast<double>(total) / t.count())
		          << " ops/s): guest thread " << shared.guest_ops << ", doorbells "
		          << shared.bell_ops << ", ring corruptions " << shared.racer_ops << "\n";
		guest.report(std::cout);
		if (total < target) {
			throw std::runtime_error("only " + std::to_string(total) + " of " +
			                         std::to_string(target) + " operations in " +
			                         std::to_string(seconds) + " s");
		}
		std::cout << "kvm-fuzz: ok" << std::endl;
	} catch (const std::exception &e) {
		std::cout << std::flush;
		std::cerr << "kvm-fuzz: " << e.what() << "\n";
		return 1;
	}
	return 0;
}

// NOLINTEND(cppcoreguidelines-pro-type-union-access)
