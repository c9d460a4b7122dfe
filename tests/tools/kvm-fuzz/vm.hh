// SPDX-License-Identifier: GPL-2.0
//
// kvm-fuzz: the VM, its memory and the VMM's changes to its memory map.

#ifndef VBUS_TESTS_TOOLS_KVM_FUZZ_VM_HH
#define VBUS_TESTS_TOOLS_KVM_FUZZ_VM_HH

#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <utility>

extern "C" {
#include <vbus/kvm.h>
}

#include "../posix.hh"
#include "../vkvm_client.hh"
#include "common.hh"

namespace kvm_fuzz
{

using testtools::fail;
using testtools::Fd;
using testtools::GuestMemory;
using testtools::Mapping;

// What backs a page of the memslot's user addresses.
enum class Backing : uint8_t { a, b, anon, hole };

// ---- the VM and its VMM-side files

class Vm
{
public:
	explicit Vm(const std::string &container)
	    : vm_(container), a_(GuestMemory::memfd("guest-a", mem_size)),
	      b_(GuestMemory::memfd("guest-b", mem_size)), aliases_{testtools::map_memory(mem_size,
	                                                                                  a_.fd()),
	                                                            testtools::map_memory(mem_size,
	                                                                                  a_.fd())}
	{
		backing_.fill(Backing::a);
		set_slot(mem_size, 0);
		for (unsigned s = 0; s < doorbells; s++) {
			bells_.at(s) = vm_.add_doorbell(s);
		}
		for (unsigned v = 0; v < vectors; v++) {
			vectors_.at(v) = vm_.add_vector(v);
		}
	}

	// The guest's memory as the guest thread writes rings and buffers:
	// memfd a, whatever the memslot maps.
	[[nodiscard]] std::span<uint8_t> view() const { return a_.bytes(); }

	// The memslot's user addresses, where calls are written.
	[[nodiscard]] std::span<uint8_t> slot_mem() const { return aliases_.at(alias_).bytes(); }
	[[nodiscard]] bool slot_present() const { return slot_present_; }
	[[nodiscard]] uint64_t slot_base() const { return slot_base_; }
	[[nodiscard]] Backing backing(uint64_t gpa) const { return backing_.at(gpa / page); }

	// VBUS_KVM_CALL on @gpa: 0, or the ioctl's errno.
	[[nodiscard]] int call(uint64_t gpa) const { return vm_.try_call(gpa); }

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
			efd = testtools::new_eventfd(EFD_NONBLOCK, vm_.context() + ": vector " +
			                                               std::to_string(index));
		}
		const int err =
		    vm_.try_set_eventfd(VBUS_KVM_SET_VECTOR, index, none ? -1 : efd.get());
		if (err != 0) {
			return err;
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
		return vm_.try_set_eventfd(VBUS_KVM_SET_DOORBELL, index,
		                           fd_of < doorbells ? bells_.at(fd_of).get() : -1);
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
			const GuestMemory &m = with == Backing::a ? a_ : b_;
			if (with == Backing::b) {
				std::memcpy(b_.bytes().subspan(gpa).data(),
				            view().subspan(gpa).data(), n * page);
			}
			p = mmap(at, n * page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			         m.fd(), static_cast<off_t>(gpa));
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
		vm_.set_slot(slot_mem().first(size), base);
		slot_present_ = size != 0;
		slot_base_ = base;
	}

	testtools::TestVm vm_;
	GuestMemory a_;
	GuestMemory b_;
	std::array<Mapping, 2> aliases_;
	unsigned alias_ = 0;
	bool slot_present_ = false;
	uint64_t slot_base_ = 0;
	std::array<Backing, mem_size / page> backing_{};
	std::array<Fd, doorbells> bells_;
	std::array<Fd, vectors> vectors_;
};

} // namespace kvm_fuzz

#endif
