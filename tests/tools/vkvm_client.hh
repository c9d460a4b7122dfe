// SPDX-License-Identifier: GPL-2.0
//
// The VMM side of /dev/vbus-kvm for the test programs: a VM without a
// vCPU bound to a container, its guest memory in a memslot, the guest's
// calls made by the VMM itself on a call page (VBUS_KVM_CALL), doorbell
// and vector eventfds, and the rings a guest driver would register.
// Errors name the object, the operation and errno's text.

#ifndef VBUS_TESTS_TOOLS_VKVM_CLIENT_HH
#define VBUS_TESTS_TOOLS_VKVM_CLIENT_HH

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern "C" {
#include <vbus/kvm.h>
#include <vbus_ioq.h>
}

#include "posix.hh"

// The call page is the ABI's union of operations.
// NOLINTBEGIN(cppcoreguidelines-pro-type-union-access)

namespace testtools
{

// Throws "what: <the text of @err>".
[[noreturn]] inline void fail_with(const std::string &what, int err)
{
	errno = err;
	fail(what);
}

// Bind the VM @vm_fd to @container through the /dev/vbus-kvm file @bus_fd.
inline void vkvm_bind(int bus_fd, int vm_fd, const std::string &container)
{
	vbus_kvm_bind bind{};
	bind.vm_fd = vm_fd;
	bind.container = reinterpret_cast<uintptr_t>(container.data()); // NOLINT
	bind.container_len = container.size();
	if (ioctl(bus_fd, VBUS_KVM_BIND, &bind) < 0) {
		fail("bind to container " + container);
	}
}

// VBUS_KVM_SET_MEM_TABLE with @regions, each entry @entry_size bytes
// (zero-padded past struct vbus_kvm_mem_region): 0 or the ioctl's errno.
inline int vkvm_try_set_mem_table(int bus_fd, std::span<const vbus_kvm_mem_region> regions,
                                  size_t entry_size = sizeof(vbus_kvm_mem_region))
{
	std::vector<uint8_t> buf(regions.size() * entry_size);
	const std::span<uint8_t> out(buf);
	for (size_t i = 0; i < regions.size(); i++) {
		const size_t n = std::min(entry_size, sizeof(vbus_kvm_mem_region));
		std::memcpy(out.subspan(i * entry_size, n).data(), &regions[i], n);
	}
	vbus_kvm_mem_table t{};
	t.regions = reinterpret_cast<uintptr_t>(buf.data()); // NOLINT
	t.nregions = static_cast<uint32_t>(regions.size());
	t.region_size = static_cast<uint32_t>(entry_size);
	return ioctl(bus_fd, VBUS_KVM_SET_MEM_TABLE, &t) < 0 ? errno : 0;
}

// One entry of the memory table: guest address @gpa backed by @mem.
inline vbus_kvm_mem_region mem_region(uint64_t gpa, std::span<uint8_t> mem)
{
	vbus_kvm_mem_region r{};
	r.gpa = gpa;
	r.size = mem.size();
	r.uaddr = reinterpret_cast<uintptr_t>(mem.data()); // NOLINT
	return r;
}

// VBUS_KVM_SET_DOORBELL or VBUS_KVM_SET_VECTOR @index to @fd (-1: none):
// 0 or the ioctl's errno.
inline int vkvm_try_set_eventfd(int bus_fd, unsigned long req, unsigned index, int fd)
{
	vbus_kvm_eventfd e{};
	e.index = index;
	e.fd = fd;
	return ioctl(bus_fd, req, &e) < 0 ? errno : 0;
}

// The same, failing with errno's text.
inline void vkvm_set_eventfd(int bus_fd, unsigned long req, unsigned index, int fd)
{
	const int err = vkvm_try_set_eventfd(bus_fd, req, index, fd);
	if (err != 0) {
		fail_with(std::string(req == VBUS_KVM_SET_VECTOR ? "vector " : "doorbell ") +
		              std::to_string(index) + ": set eventfd",
		          err);
	}
}

// A new eventfd, failing with @what.
inline Fd new_eventfd(int flags, const std::string &what)
{
	Fd fd(eventfd(0, flags | EFD_CLOEXEC));
	if (!fd) {
		fail(what + ": eventfd");
	}
	return fd;
}

// Guest memory: a memfd and the VMM's shared mapping of it, or private
// anonymous memory.
class GuestMemory
{
public:
	static GuestMemory memfd(const char *name, size_t len)
	{
		GuestMemory m;
		m.fd_ = Fd(memfd_create(name, MFD_CLOEXEC));
		if (!m.fd_ || ftruncate(m.fd_.get(), static_cast<off_t>(len)) < 0) {
			fail(std::string("memfd ") + name);
		}
		m.map_ = map_memory(len, m.fd_.get());
		return m;
	}

	static GuestMemory anonymous(size_t len)
	{
		GuestMemory m;
		m.map_ = map_memory(len, -1);
		return m;
	}

	[[nodiscard]] std::span<uint8_t> bytes() const { return map_.bytes(); }
	// The memfd (-1 for anonymous memory).
	[[nodiscard]] int fd() const { return fd_.get(); }

private:
	GuestMemory() = default;

	Fd fd_;
	Mapping map_;
};

// Wait until @done() holds, looking every @poll; false after @limit.
template <typename F>
bool wait_for(F done, std::chrono::milliseconds limit,
              std::chrono::milliseconds poll = std::chrono::milliseconds(5))
{
	const auto deadline = std::chrono::steady_clock::now() + limit;
	while (!done()) {
		if (std::chrono::steady_clock::now() > deadline) {
			return false;
		}
		std::this_thread::sleep_for(poll);
	}
	return true;
}

// A VM without a vCPU, bound to a container through /dev/vbus-kvm.
class TestVm
{
public:
	explicit TestVm(const std::string &container)
	    : container_(container), kvm_(open("/dev/kvm", O_RDWR | O_CLOEXEC)),
	      vm_(ioctl(kvm_.get(), KVM_CREATE_VM, 0)),
	      bus_(open("/dev/vbus-kvm", O_RDWR | O_CLOEXEC))
	{
		if (!kvm_ || !vm_) {
			fail("create a VM for container " + container);
		}
		if (!bus_) {
			fail("open /dev/vbus-kvm for container " + container);
		}
		vkvm_bind(bus_.get(), vm_.get(), container);
	}

	[[nodiscard]] int bus() const { return bus_.get(); }
	[[nodiscard]] const std::string &container() const { return container_; }

	// Memslot 0 at guest address @gpa over @mem (empty: delete it), and
	// the same in the memory table vbus reaches guest memory through.
	void set_slot(std::span<uint8_t> mem, uint64_t gpa = 0)
	{
		kvm_userspace_memory_region region{};
		region.guest_phys_addr = gpa;
		region.memory_size = mem.size();
		region.userspace_addr = reinterpret_cast<uintptr_t>(mem.data()); // NOLINT
		if (ioctl(vm_.get(), KVM_SET_USER_MEMORY_REGION, &region) < 0) {
			fail(context() + ": KVM_SET_USER_MEMORY_REGION of " +
			     std::to_string(mem.size()) + " bytes at " + std::to_string(gpa));
		}
		std::vector<vbus_kvm_mem_region> table;
		if (!mem.empty()) {
			table.push_back(mem_region(gpa, mem));
		}
		const int err = vkvm_try_set_mem_table(bus_.get(), table);
		if (err != 0) {
			fail_with(context() + ": VBUS_KVM_SET_MEM_TABLE of " +
			              std::to_string(mem.size()) + " bytes at " +
			              std::to_string(gpa),
			          err);
		}
	}

	void set_eventfd(unsigned long req, unsigned index, int fd) const
	{
		vkvm_set_eventfd(bus_.get(), req, index, fd);
	}
	[[nodiscard]] int try_set_eventfd(unsigned long req, unsigned index, int fd) const
	{
		return vkvm_try_set_eventfd(bus_.get(), req, index, fd);
	}

	// A new eventfd as doorbell @slot, or as vector @index.
	[[nodiscard]] Fd add_doorbell(unsigned slot) const
	{
		Fd fd = new_eventfd(0, context() + ": doorbell " + std::to_string(slot));
		set_eventfd(VBUS_KVM_SET_DOORBELL, slot, fd.get());
		return fd;
	}
	[[nodiscard]] Fd add_vector(unsigned index) const
	{
		Fd fd = new_eventfd(EFD_NONBLOCK, context() + ": vector " + std::to_string(index));
		set_eventfd(VBUS_KVM_SET_VECTOR, index, fd.get());
		return fd;
	}

	// VBUS_KVM_CALL on the call page at @gpa: 0 or the ioctl's errno.
	[[nodiscard]] int try_call(uint64_t gpa) const
	{
		vbus_kvm_guest_call gc{};
		gc.gpa = gpa;
		return ioctl(bus_.get(), VBUS_KVM_CALL, &gc) < 0 ? errno : 0;
	}

	// The call page at @gpa of @mem, the memory the memslot maps.
	static vbus_kvm_call *page(std::span<uint8_t> mem, uint64_t gpa)
	{
		// NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): guest memory
		return reinterpret_cast<vbus_kvm_call *>(
		    mem.subspan(gpa, sizeof(vbus_kvm_call)).data());
	}

	// Write @c to the call page at @gpa of @mem and run it; the call's
	// result (0, a value or a negative errno).
	[[nodiscard]] int64_t call(std::span<uint8_t> mem, uint64_t gpa,
	                           const vbus_kvm_call &c) const
	{
		vbus_kvm_call *p = page(mem, gpa);
		*p = c;
		const int err = try_call(gpa);
		if (err != 0) {
			fail_with(context() + ": VBUS_KVM_CALL of operation " +
			              std::to_string(c.op),
			          err);
		}
		return static_cast<int64_t>(p->result);
	}

	// Close /dev/vbus-kvm: the connector's release detaches the client.
	void detach() { bus_ = Fd(); }

	[[nodiscard]] std::string context() const { return "VM of container " + container_; }

private:
	std::string container_;
	Fd kvm_;
	Fd vm_;
	Fd bus_;
};

// A ring the VMM drives as the guest's driver would.
struct Ring {
	uint64_t gpa = 0;
	uint32_t slot = 0;
	vbus_ioq_driver q{};
};

// Where a ring goes and how it is registered (DEVSHM).
struct RingPlace {
	RingPlace(uint32_t id, uint64_t gpa, uint32_t count) : id(id), gpa(gpa), count(count) {}

	uint32_t id;         // the region's id on its connection
	uint64_t gpa;        // where it is laid out
	uint32_t count;      // descriptors
	uint64_t len = 0;    // the region's length (0: the ring's size)
	uint32_t start = 0;  // the first index
	uint64_t cookie = 0; // DEVSHM's cookie (0: the guest address)
	bool notify = true;  // ask for an interrupt on completions
};

// The usual test guest: a TestVm whose memory (memslot 0 at guest
// address 0) holds the call page at call_gpa; doorbell slots 0 to
// @doorbells - 1 and vector 1 each have an eventfd.  The guest's calls
// and rings are in the memory last given to map().
class TestGuest
{
public:
	static constexpr uint64_t call_gpa = 0x1000;
	static constexpr uint32_t vector = 1;

	// With memory of its own, put in the memslot, and HELLO made.
	TestGuest(const std::string &container, GuestMemory mem, unsigned doorbells)
	    : vm_(container), own_(std::move(mem))
	{
		add_eventfds(doorbells);
		map(own_->bytes());
		hello();
	}

	// Without memory yet: see map().
	TestGuest(const std::string &container, unsigned doorbells) : vm_(container)
	{
		add_eventfds(doorbells);
	}

	[[nodiscard]] TestVm &vm() { return vm_; }
	[[nodiscard]] std::span<uint8_t> mem() const { return mem_; }
	[[nodiscard]] int vector_fd() const { return vector_.get(); }

	// Memslot 0 over @mem, which the guest's calls and rings use from now.
	void map(std::span<uint8_t> mem)
	{
		vm_.set_slot(mem);
		mem_ = mem;
	}
	// Delete the memslot; calls and rings still use the same memory.
	void unmap() { vm_.set_slot({}); }

	[[nodiscard]] vbus_kvm_call *page() const { return TestVm::page(mem_, call_gpa); }

	// Run @c from the call page; returns the call's result.
	int64_t call(const vbus_kvm_call &c) { return vm_.call(mem_, call_gpa, c); }

	// @r, or a failure "@what: <errno text>" when it is a negative errno.
	static int64_t must(int64_t r, const std::string &what)
	{
		if (r < 0) {
			fail_with(what, static_cast<int>(-r));
		}
		return r;
	}

	void hello() { must(call_hello(VBUS_KVM_VERSION), vm_.context() + ": HELLO"); }

	int64_t call_hello(uint32_t version)
	{
		vbus_kvm_call c{};
		c.op = VBUS_KVM_OP_HELLO;
		c.u.hello.version = version;
		return call(c);
	}

	// DEVOPEN of @devid at protocol @version: the handle, or a negative
	// errno.
	int64_t try_dev_open(uint32_t devid, uint32_t version)
	{
		vbus_kvm_call c{};
		c.op = VBUS_KVM_OP_DEVOPEN;
		c.u.devopen.devid = devid;
		c.u.devopen.version = version;
		const int64_t r = call(c);
		return r < 0 ? r : page()->u.devopen.handle;
	}

	// The same, failing with @what (the device) in the message.
	uint32_t dev_open(uint32_t devid, uint32_t version, const std::string &what)
	{
		return static_cast<uint32_t>(must(try_dev_open(devid, version),
		                                  vm_.context() + ": DEVOPEN of " + what +
		                                      " (device " + std::to_string(devid) + ")"));
	}

	int64_t try_dev_close(uint32_t handle)
	{
		vbus_kvm_call c{};
		c.op = VBUS_KVM_OP_DEVCLOSE;
		c.u.devclose.handle = handle;
		return call(c);
	}

	void dev_close(uint32_t handle)
	{
		must(try_dev_close(handle),
		     vm_.context() + ": DEVCLOSE of connection " + std::to_string(handle));
	}

	// DEVCALL @func of connection @handle with @len bytes at @data.
	int64_t dev_call(uint32_t handle, uint32_t func, uint64_t data, uint32_t len)
	{
		vbus_kvm_call c{};
		c.op = VBUS_KVM_OP_DEVCALL;
		c.u.devcall.handle = handle;
		c.u.devcall.func = func;
		c.u.devcall.len = len;
		c.u.devcall.data = data;
		return call(c);
	}

	// Lay out @r at @at and register it as a region of @handle (DEVSHM);
	// the call's result: @r is valid when it is 0.
	int64_t try_add_ring(Ring &r, uint32_t handle, const RingPlace &at)
	{
		const uint64_t len = at.len != 0 ? at.len : VBUS_IOQ_SIZE(at.count);
		r.gpa = at.gpa;
		if (vbus_ioq_drv_init(&r.q, mem_.subspan(at.gpa).data(),
		                      std::min<uint64_t>(len, VBUS_IOQ_SIZE(at.count)), at.count,
		                      at.start) != 0) {
			throw std::runtime_error(vm_.context() + ": ring init at guest address " +
			                         std::to_string(at.gpa));
		}
		if (at.notify) {
			vbus_shm_signal_enable(&r.q.head->drv_signal); // completions interrupt
		}
		vbus_kvm_call c{};
		c.op = VBUS_KVM_OP_DEVSHM;
		c.u.devshm.handle = handle;
		c.u.devshm.id = at.id;
		c.u.devshm.addr = at.gpa;
		c.u.devshm.len = len;
		c.u.devshm.cookie = at.cookie != 0 ? at.cookie : at.gpa;
		c.u.devshm.vector = vector;
		const int64_t ret = call(c);
		if (ret == 0) {
			r.slot = page()->u.devshm.slot;
			if (!doorbells_.empty() && r.slot >= doorbells_.size()) {
				throw std::runtime_error(vm_.context() +
				                         ": a ring got doorbell slot " +
				                         std::to_string(r.slot));
			}
		}
		return ret;
	}

	// The same, failing with @what (the ring) in the message.
	Ring add_ring(uint32_t handle, const RingPlace &at, const std::string &what)
	{
		Ring r;
		must(try_add_ring(r, handle, at), vm_.context() + ": DEVSHM of the " + what);
		return r;
	}

	// Ring doorbell @slot.
	void ring(uint32_t slot) const
	{
		const uint64_t one = 1;
		if (write(doorbells_.at(slot).get(), &one, sizeof(one)) != sizeof(one)) {
			fail(vm_.context() + ": doorbell " + std::to_string(slot));
		}
	}

	// Post @buf on @r in the memory in use, ring, and wait up to @limit
	// for a completion, which replaces @buf: the ring's answer (0 or a
	// negative errno), nothing if none came.
	std::optional<int> post_and_wait(Ring &r, vbus_ioq_buf &buf,
	                                 std::chrono::milliseconds limit,
	                                 std::chrono::milliseconds poll)
	{
		// NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): guest memory
		r.q.head = reinterpret_cast<vbus_ioq_head *>(mem_.subspan(r.gpa).data());
		if (vbus_ioq_drv_post(&r.q, &buf) != 0) {
			throw std::runtime_error(vm_.context() + ": ring at guest address " +
			                         std::to_string(r.gpa) + " full");
		}
		vbus_ioq_drv_publish(&r.q);
		ring(r.slot);
		int ret = -EAGAIN;
		if (!wait_for([&] { return (ret = vbus_ioq_drv_reclaim(&r.q, &buf)) != -EAGAIN; },
		              limit, poll)) {
			return std::nullopt;
		}
		return ret;
	}

private:
	void add_eventfds(unsigned doorbells)
	{
		for (unsigned slot = 0; slot < doorbells; slot++) {
			doorbells_.push_back(vm_.add_doorbell(slot));
		}
		if (doorbells > 0) {
			vector_ = vm_.add_vector(vector);
		}
	}

	TestVm vm_;
	std::optional<GuestMemory> own_;
	std::span<uint8_t> mem_;
	std::vector<Fd> doorbells_;
	Fd vector_;
};

} // namespace testtools

// NOLINTEND(cppcoreguidelines-pro-type-union-access)

#endif
