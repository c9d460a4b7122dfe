// SPDX-License-Identifier: GPL-2.0
//
// kvm-fuzz: the guest's memory layout, the generator every thread draws
// its operations from, and the state the threads share.

#ifndef VBUS_TESTS_TOOLS_KVM_FUZZ_COMMON_HH
#define VBUS_TESTS_TOOLS_KVM_FUZZ_COMMON_HH

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <mutex>
#include <string>

namespace kvm_fuzz
{

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

} // namespace kvm_fuzz

#endif
