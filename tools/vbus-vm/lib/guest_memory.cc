// SPDX-License-Identifier: GPL-2.0
//
// Guest RAM.

#include "guest_memory.hh"

#include "error.hh"
#include "kvm.hh"

#include <sys/mman.h>

#include <algorithm>

namespace vbusvm
{

GuestMemory::GuestMemory(const layout::RamLayout &ram) : ram_(ram)
{
	void *addr = ::mmap(nullptr, ram.total(), PROT_READ | PROT_WRITE,
	                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (addr == MAP_FAILED) {
		throw_errno("guest memory", "mmap " + std::to_string(ram.total() >> 20U) + " MiB");
	}
	map_ = Mapping(addr, ram.total());
	::madvise(addr, ram.total(), MADV_HUGEPAGE);
}

std::span<std::uint8_t> GuestMemory::at(std::uint64_t gpa, std::uint64_t len) const
{
	if (!ram_.contains(gpa, len)) {
		throw Error("guest memory", "access " + hex(gpa) + "+" + hex(len), "not RAM");
	}
	return map_.bytes().subspan(ram_.offset(gpa), len);
}

void GuestMemory::write(std::uint64_t gpa, std::span<const std::uint8_t> bytes) const
{
	std::ranges::copy(bytes, at(gpa, bytes.size()).begin());
}

std::vector<GuestRange> GuestMemory::ranges() const
{
	std::vector<GuestRange> r{{0, map_.bytes().subspan(0, ram_.low_end)}};
	if (ram_.high_size != 0) {
		r.push_back({layout::k4G, map_.bytes().subspan(ram_.low_end)});
	}
	return r;
}

void GuestMemory::register_with(const Vm &vm) const
{
	std::uint32_t slot = 0;
	for (const GuestRange &r : ranges()) {
		vm.set_memory(slot++, r.gpa, r.host);
	}
}

} // namespace vbusvm
