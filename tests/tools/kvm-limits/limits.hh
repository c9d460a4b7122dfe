// SPDX-License-Identifier: GPL-2.0
//
// kvm-limits: what its modes share.  main.cc holds the counts mode
// and main(), memory.cc the memory modes (memlock, memexec,
// filemem, memcg).

#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" {
#include <vbus/echo.h>
#include <vbus/kvm.h>
}

#include "../posix.hh"
#include "../vkvm_client.hh"

namespace kvm_limits
{

constexpr size_t page = 4096;
// Guest physical layout: the call page, a ring, room for big regions.
constexpr uint64_t mem_size = 12ULL << 20;
constexpr uint64_t ring_gpa = 0x10000;
constexpr uint32_t ring_count = 16;
constexpr uint64_t big_gpa = 0x100000; // regions of many pages start here

// What the kernel of this version enforces, should GET_LIMITS be missing.
constexpr vbus_kvm_limits fallback_limits = {1024, 256, 1024, 64, 4ULL << 20, 1024, 512};

// Prints one line for a check; a failed one is counted.
void report(bool ok, const std::string &what);

// The text of @err, "success" for 0.
std::string errname(int err);

// How many checks report() saw fail.
unsigned failed_checks();

// Guest memory is anonymous and touched before the memslot maps it, so
// later checks see no page faults.
testtools::GuestMemory touched_memory();

// A VMM without a vCPU; no doorbell or vector until asked.
class Vmm : public testtools::TestGuest
{
public:
	explicit Vmm(const std::string &container) : TestGuest(container, touched_memory(), 0) {}

	[[nodiscard]] int bus() { return vm().bus(); }

	// DEVOPEN of the echo device: the handle, or a negative errno.
	int64_t open_echo(uint32_t devid) { return try_dev_open(devid, VBUS_ECHO_VERSION); }

	int64_t close_conn(uint32_t handle) { return try_dev_close(handle); }

	// DEVSHM of an echo ring of @len bytes at @gpa.
	int64_t add_ring(uint32_t handle, uint64_t gpa, uint64_t len, uint64_t cookie)
	{
		testtools::RingPlace at(VBUS_ECHO_SHM_RING, gpa, ring_count);
		at.len = len;
		at.cookie = cookie;
		at.notify = false;
		testtools::Ring r;
		return try_add_ring(r, handle, at);
	}

	// Doorbell slots 0 .. @n - 1 and vector 1, for DEVSHM.
	void add_doorbells(unsigned n)
	{
		for (unsigned s = 0; s < n; s++) {
			const testtools::Fd efd = vm().add_doorbell(s);
		}
		const testtools::Fd efd = vm().add_vector(vector);
	}
};

// The memory modes (memory.cc).
void check_memlock(const std::string &container, uint32_t echo, unsigned long pages);
void check_memexec(const std::string &self, const std::string &container, uint32_t echo,
                   unsigned long pages);
void check_memexec_after(long before, int fd);
void check_filemem(const std::string &container, uint32_t echo, const std::string &path);
void check_memcg(const std::string &container, uint32_t echo, const std::string &cg, long max_len);

} // namespace kvm_limits
