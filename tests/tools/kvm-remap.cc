// SPDX-License-Identifier: GPL-2.0
//
// kvm-remap: a VMM that changes its memory map under live rings.
//
//   kvm-remap CONTAINER ECHO_ID VENET_ID IFNAME
//
// It creates a VM whose memory is a memfd, binds it to CONTAINER through
// /dev/vbus-kvm, opens the echo device ECHO_ID (see <vbus/echo.h>) and
// the venet VENET_ID (host interface IFNAME) and registers their rings,
// as a guest driver would, but from the VMM itself: calls go through
// VBUS_KVM_CALL and doorbells are written to the doorbell eventfds
// directly, so no vCPU runs.  Then, between rounds of "post a buffer to
// the echo device and a packet to the venet, ring, wait for both":
//   1. mmap(MAP_FIXED) puts a copy of guest memory (another memfd) over
//      the memslot's user addresses;
//   2. the memslot is deleted and created again over a third copy,
//      elsewhere in the VMM's address space, the second one left mapped;
//   3. the memslot is deleted: the devices must keep running on what
//      they have and fail the buffers they can no longer reach;
//   4. the memslot comes back.
// After each change the devices must serve the rings in the new memory
// and leave the old copy alone; the venet's packets must reach IFNAME.
// Prints one line per step and "kvm-remap: ok"; exits non-zero, naming
// the step, at the first failure.

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
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

// Guest physical layout.
constexpr uint64_t mem_size = 4ULL << 20;
constexpr uint64_t call_gpa = 0x1000;
constexpr uint64_t data_gpa = 0x2000;  // call arguments
constexpr uint64_t ring_gpa = 0x10000; // the echo ring
constexpr uint64_t rx_ring_gpa = 0x11000;
constexpr uint64_t tx_ring_gpa = 0x12000;
constexpr uint32_t ring_count = 16;
constexpr uint64_t buf_gpa = 0x20000;
constexpr size_t buf_len = 64;
constexpr uint64_t frame_gpa = 0x30000;
constexpr size_t frame_len = 60; // a minimal Ethernet frame
constexpr unsigned doorbells = 3;
constexpr std::chrono::milliseconds wait_limit{20000};
// How long a packet that must not arrive is waited for.
constexpr std::chrono::milliseconds absent_limit{500};

// One copy of guest memory: a memfd and the VMM's mapping of it.
struct Copy {
	Fd fd;
	Mapping map;

	explicit Copy(const char *name) : fd(memfd_create(name, MFD_CLOEXEC))
	{
		if (fd.get() < 0 || ftruncate(fd.get(), mem_size) < 0) {
			fail(std::string("memfd ") + name);
		}
		map = testtools::map_memory(mem_size, fd.get());
	}
	[[nodiscard]] std::span<uint8_t> mem() const { return map.bytes(); }
};

class Vmm
{
public:
	explicit Vmm(const std::string &container)
	    : kvm_(open("/dev/kvm", O_RDWR | O_CLOEXEC)), vm_(ioctl(kvm_.get(), KVM_CREATE_VM, 0)),
	      bus_(open("/dev/vbus-kvm", O_RDWR | O_CLOEXEC)),
	      vector_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK))
	{
		if (kvm_.get() < 0 || vm_.get() < 0) {
			fail("create VM");
		}
		if (bus_.get() < 0 || vector_.get() < 0) {
			fail("open /dev/vbus-kvm and an eventfd");
		}
		testtools::vkvm_bind(bus_.get(), vm_.get(), container);
		// A doorbell slot per ring, one vector for all.
		for (unsigned slot = 0; slot < doorbells; slot++) {
			doorbells_.at(slot) = Fd(eventfd(0, EFD_CLOEXEC));
			if (doorbells_.at(slot).get() < 0) {
				fail("doorbell eventfd");
			}
			set_eventfd(VBUS_KVM_SET_DOORBELL, slot, doorbells_.at(slot).get());
		}
		set_eventfd(VBUS_KVM_SET_VECTOR, 1, vector_.get());
	}

	// Memslot 0 at gpa 0 over @mem (empty: delete it).
	void set_slot(std::span<uint8_t> mem)
	{
		kvm_userspace_memory_region region{};
		region.memory_size = mem.size();
		region.userspace_addr = reinterpret_cast<uintptr_t>(mem.data()); // NOLINT
		if (ioctl(vm_.get(), KVM_SET_USER_MEMORY_REGION, &region) < 0) {
			fail("KVM_SET_USER_MEMORY_REGION");
		}
	}

	void set_eventfd(unsigned long req, unsigned index, int fd)
	{
		testtools::vkvm_set_eventfd(bus_.get(), req, index, fd);
	}

	// Run the call at call_gpa of @mem, the memory the memslot maps.
	int64_t call(std::span<uint8_t> mem, const vbus_kvm_call &c)
	{
		vbus_kvm_call *page = page_of(mem);
		*page = c;
		vbus_kvm_guest_call gc{};
		gc.gpa = call_gpa;
		if (ioctl(bus_.get(), VBUS_KVM_CALL, &gc) < 0) {
			fail("VBUS_KVM_CALL");
		}
		return static_cast<int64_t>(page->result);
	}

	static vbus_kvm_call *page_of(std::span<uint8_t> mem)
	{
		// NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): guest memory
		return reinterpret_cast<vbus_kvm_call *>(mem.subspan(call_gpa).data());
	}

	void ring(uint32_t slot)
	{
		const uint64_t one = 1;
		if (write(doorbells_.at(slot).get(), &one, sizeof(one)) != sizeof(one)) {
			fail("doorbell");
		}
	}

	[[nodiscard]] int vector_fd() const { return vector_.get(); }

private:
	Fd kvm_;
	Fd vm_;
	Fd bus_;
	std::array<Fd, doorbells> doorbells_;
	Fd vector_;
};

int64_t must(int64_t r, const std::string &what)
{
	if (r < 0) {
		errno = static_cast<int>(-r);
		fail(what);
	}
	return r;
}

// Wait until @done() holds; false after @limit.
template <typename F> bool wait_for(F done, std::chrono::milliseconds limit = wait_limit)
{
	const auto deadline = std::chrono::steady_clock::now() + limit;
	while (!done()) {
		if (std::chrono::steady_clock::now() > deadline) {
			return false;
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(5));
	}
	return true;
}

// DEVOPEN @devid at protocol @version; returns the connection handle.
uint32_t dev_open(Vmm &vmm, std::span<uint8_t> mem, uint32_t devid, uint32_t version,
                  const std::string &what)
{
	vbus_kvm_call c{};
	c.op = VBUS_KVM_OP_DEVOPEN;
	c.u.devopen.devid = devid;
	c.u.devopen.version = version;
	must(vmm.call(mem, c), "DEVOPEN of " + what);
	return Vmm::page_of(mem)->u.devopen.handle;
}

// A ring the VMM drives as the guest's driver would.
struct Ring {
	uint64_t gpa = 0;
	uint32_t slot = 0;
	vbus_ioq_driver q{};
};

// Lay out a ring at @gpa and register it as region @id of @handle.
Ring add_ring(Vmm &vmm, std::span<uint8_t> mem, uint32_t handle, uint32_t id, uint64_t gpa,
              const std::string &what)
{
	Ring r;
	r.gpa = gpa;
	if (vbus_ioq_drv_init(&r.q, mem.subspan(gpa).data(), VBUS_IOQ_SIZE(ring_count), ring_count,
	                      0) != 0) {
		throw std::runtime_error(what + ": ring init");
	}
	vbus_shm_signal_enable(&r.q.head->drv_signal); // notify us of completions
	vbus_kvm_call c{};
	c.op = VBUS_KVM_OP_DEVSHM;
	c.u.devshm.handle = handle;
	c.u.devshm.id = id;
	c.u.devshm.addr = gpa;
	c.u.devshm.len = VBUS_IOQ_SIZE(ring_count);
	c.u.devshm.cookie = gpa;
	c.u.devshm.vector = 1;
	must(vmm.call(mem, c), "DEVSHM of the " + what);
	r.slot = Vmm::page_of(mem)->u.devshm.slot;
	if (r.slot >= doorbells) {
		throw std::runtime_error(what + ": doorbell slot " + std::to_string(r.slot));
	}
	return r;
}

uint32_t used_idx(std::span<const uint8_t> mem, const Ring &r)
{
	// NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): guest memory
	const auto *h = reinterpret_cast<const vbus_ioq_head *>(mem.subspan(r.gpa).data());
	return le32toh(h->used_idx);
}

// Post @buf on @r in @mem, the memory the VMM now uses, ring, and wait
// for its completion there.  Returns the length the device reported.
uint32_t post_and_wait(Vmm &vmm, Ring &r, std::span<uint8_t> mem, vbus_ioq_buf buf,
                       const std::string &step)
{
	// NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): guest memory
	r.q.head = reinterpret_cast<vbus_ioq_head *>(mem.subspan(r.gpa).data());
	const uint64_t cookie = buf.cookie;
	if (vbus_ioq_drv_post(&r.q, &buf) != 0) {
		throw std::runtime_error(step + ": ring full");
	}
	vbus_ioq_drv_publish(&r.q);
	vmm.ring(r.slot);
	int ret = -EAGAIN;
	if (!wait_for([&] { return (ret = vbus_ioq_drv_reclaim(&r.q, &buf)) != -EAGAIN; })) {
		throw std::runtime_error(step +
		                         ": no completion in the memory the VMM now uses "
		                         "(used index " +
		                         std::to_string(used_idx(mem, r)) + ")");
	}
	if (ret != 0 || buf.cookie != cookie) {
		throw std::runtime_error(step + ": the device broke the ring");
	}
	return buf.len;
}

// ---- the echo device: reverses each buffer in place

struct Echo {
	uint32_t handle = 0;
	Ring ring;
	unsigned round = 0;
};

Echo open_echo(Vmm &vmm, std::span<uint8_t> mem, uint32_t devid)
{
	Echo e;
	e.handle = dev_open(vmm, mem, devid, VBUS_ECHO_VERSION, "the echo device");
	e.ring = add_ring(vmm, mem, e.handle, VBUS_ECHO_SHM_RING, ring_gpa, "echo ring");
	return e;
}

// A buffer through the echo device; returns the length it completed.
uint32_t echo_round(Vmm &vmm, Echo &e, std::span<uint8_t> mem, const std::string &step)
{
	std::string text = "round " + std::to_string(++e.round) + " " + step;
	text.resize(buf_len, '.');
	const auto data = mem.subspan(buf_gpa, buf_len);
	std::ranges::copy(text, data.begin());

	const vbus_ioq_buf buf{e.round, buf_gpa, buf_len, 0};
	const uint32_t len = post_and_wait(vmm, e.ring, mem, buf, step + " (echo)");
	if (len == buf_len) {
		std::string back(data.begin(), data.end());
		std::ranges::reverse(back);
		if (back != text) {
			throw std::runtime_error(step + ": the echo buffer came back wrong");
		}
	}
	return len;
}

// ---- the venet: packets sent on its tx ring reach the host interface

struct Venet {
	uint32_t handle = 0;
	Ring rx;
	Ring tx;
	std::string ifname;
	unsigned sent = 0;
};

int64_t venet_call(Vmm &vmm, std::span<uint8_t> mem, uint32_t handle, uint32_t func, uint32_t len)
{
	vbus_kvm_call c{};
	c.op = VBUS_KVM_OP_DEVCALL;
	c.u.devcall.handle = handle;
	c.u.devcall.func = func;
	c.u.devcall.len = len;
	c.u.devcall.data = data_gpa;
	return vmm.call(mem, c);
}

Venet open_venet(Vmm &vmm, std::span<uint8_t> mem, uint32_t devid, const std::string &ifname)
{
	Venet v;
	v.handle = dev_open(vmm, mem, devid, VBUS_VENET_VERSION, "the venet");
	v.ifname = ifname;
	must(venet_call(vmm, mem, v.handle, VBUS_VENET_CALL_GET_CONFIG, sizeof(vbus_venet_config)),
	     "GET_CONFIG");
	vbus_venet_negotiate neg{};
	neg.queue_pairs = 1;
	std::memcpy(mem.subspan(data_gpa, sizeof(neg)).data(), &neg, sizeof(neg));
	must(venet_call(vmm, mem, v.handle, VBUS_VENET_CALL_NEGOTIATE, sizeof(neg)), "NEGOTIATE");
	v.rx = add_ring(vmm, mem, v.handle, VBUS_VENET_SHM_RX(0), rx_ring_gpa, "venet rx ring");
	v.tx = add_ring(vmm, mem, v.handle, VBUS_VENET_SHM_TX(0), tx_ring_gpa, "venet tx ring");
	must(venet_call(vmm, mem, v.handle, VBUS_VENET_CALL_LINK_UP, 0), "LINK_UP");
	return v;
}

uint64_t rx_packets(const std::string &ifname)
{
	std::ifstream f("/sys/class/net/" + ifname + "/statistics/rx_packets");
	uint64_t n = 0;
	if (!(f >> n)) {
		throw std::runtime_error("cannot read the counters of " + ifname);
	}
	return n;
}

// Send one frame; true when the host interface received it (waited
// for briefly when @expected is false).
bool venet_round(Vmm &vmm, Venet &v, std::span<uint8_t> mem, bool expected, const std::string &step)
{
	const auto pkt = mem.subspan(frame_gpa, sizeof(vbus_venet_hdr) + frame_len);
	std::ranges::fill(pkt, 0); // the header: no offload
	const auto frame = pkt.subspan(sizeof(vbus_venet_hdr));
	std::ranges::fill(frame.first(6), 0xff);                                   // broadcast
	const std::array<uint8_t, 8> src_type = {0x02, 0, 0, 0, 0, 1, 0x88, 0xb5}; // local, test
	std::ranges::copy(src_type, frame.subspan(6).begin());

	const uint64_t before = rx_packets(v.ifname);
	const vbus_ioq_buf buf{++v.sent, frame_gpa, static_cast<uint32_t>(pkt.size()), 0};
	post_and_wait(vmm, v.tx, mem, buf, step + " (venet)");
	// The device hands the frame to the host's stack when it completes it.
	return wait_for([&] { return rx_packets(v.ifname) > before; },
	                expected ? wait_limit : absent_limit);
}

// ---- the steps

struct Devices {
	Echo echo;
	Venet venet;
};

// Both devices serve the rings in @mem; @reachable: the buffers are
// guest memory (else the devices must fail them).
void serve(Vmm &vmm, Devices &d, std::span<uint8_t> mem, bool reachable, const std::string &step)
{
	const uint32_t len = echo_round(vmm, d.echo, mem, step);
	if (len != (reachable ? buf_len : 0)) {
		throw std::runtime_error(step + ": the echo device completed length " +
		                         std::to_string(len));
	}
	if (venet_round(vmm, d.venet, mem, reachable, step) != reachable) {
		throw std::runtime_error(step +
		                         (reachable ? ": the packet never reached "
		                                    : ": a packet out of reach reached ") +
		                         d.venet.ifname);
	}
	std::cout << step << ": both devices served the new memory"
	          << (reachable ? "" : ", buffers refused") << "\n";
}

// The old copy must not have been served after the move.
void expect_untouched(std::span<const uint8_t> old, const Devices &d,
                      const std::array<uint32_t, 2> &used, const std::string &step)
{
	if (used_idx(old, d.echo.ring) != used[0] || used_idx(old, d.venet.tx) != used[1]) {
		throw std::runtime_error(step + ": a device still wrote the old memory");
	}
}

std::array<uint32_t, 2> used_of(std::span<const uint8_t> mem, const Devices &d)
{
	return {used_idx(mem, d.echo.ring), used_idx(mem, d.venet.tx)};
}

} // namespace

int main(int argc, char **argv)
{
	const std::span args(argv, argc);
	if (args.size() != 5) {
		std::cerr << "usage: kvm-remap CONTAINER ECHO_ID VENET_ID IFNAME\n";
		return 2;
	}
	try {
		Vmm vmm(args[1]);

		// Guest memory lives in copy a, mapped at the memslot's address.
		const Copy a("guest-a");
		const std::span<uint8_t> slot_hva = a.mem();
		vmm.set_slot(slot_hva);
		vbus_kvm_call hello{};
		hello.op = VBUS_KVM_OP_HELLO;
		hello.u.hello.version = VBUS_KVM_VERSION;
		must(vmm.call(slot_hva, hello), "HELLO");
		Devices d{
		    open_echo(vmm, slot_hva, static_cast<uint32_t>(std::stoul(args[2]))),
		    open_venet(vmm, slot_hva, static_cast<uint32_t>(std::stoul(args[3])), args[4])};
		serve(vmm, d, slot_hva, true, "first memory");

		// 1. Copy b over the same user addresses (the memslot is unchanged).
		const Copy b("guest-b");
		std::ranges::copy(a.mem(), b.mem().begin());
		const Mapping a_view = testtools::map_memory(mem_size, a.fd.get()); // a's pages
		if (mmap(slot_hva.data(), mem_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		         b.fd.get(), 0) == MAP_FAILED) {
			fail("mmap(MAP_FIXED)");
		}
		auto used = used_of(a_view.bytes(), d);
		serve(vmm, d, slot_hva, true, "mmap over the memslot");
		expect_untouched(a_view.bytes(), d, used, "mmap over the memslot");

		// 2. The memslot moves to copy c; b stays mapped where it was.
		const Copy c("guest-c");
		std::ranges::copy(slot_hva, c.mem().begin());
		vmm.set_slot({});
		vmm.set_slot(c.mem());
		used = used_of(slot_hva, d);
		serve(vmm, d, c.mem(), true, "memslot moved");
		expect_untouched(slot_hva, d, used, "memslot moved");

		// 3. No memslot: the devices keep their rings, buffers are out of reach.
		vmm.set_slot({});
		serve(vmm, d, c.mem(), false, "memslot deleted");

		// 4. The memslot is back.
		vmm.set_slot(c.mem());
		serve(vmm, d, c.mem(), true, "memslot restored");

		uint64_t n = 0;
		if (read(vmm.vector_fd(), &n, sizeof(n)) != sizeof(n) || n == 0) {
			throw std::runtime_error("the devices never notified the guest");
		}
		std::cout << "kvm-remap: ok\n";
		return 0;
	} catch (const std::exception &ex) {
		std::cerr << "kvm-remap: " << ex.what() << "\n";
		return 1;
	}
}

// NOLINTEND(cppcoreguidelines-pro-type-union-access)
