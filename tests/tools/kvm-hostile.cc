// SPDX-License-Identifier: GPL-2.0
//
// kvm-hostile: a guest without an operating system that attacks the KVM
// connector, in the manner of the kernel's KVM selftests.
//
//   kvm-hostile CONTAINER DEVICES FOREIGN_ID [SEED [ROUNDS]]
//
// It creates a VM with a few MiB of memory and one vCPU, binds it to
// CONTAINER through /dev/vbus-kvm, registers doorbell ioeventfds and
// vector eventfds like a VMM would, and then lets a tiny real-mode guest
// execute port writes from a table: calls (the page frame of a call page
// to the call register; each exits to us and we forward it) and doorbells
// (absorbed by KVM and the connector without an exit).  The tables and
// call pages are filled with:
//   1. the valid handshake: HELLO, the bus events (DEVICES devices must
//      be announced, all of type virtual-ethernet), a venet opened,
//      negotiated and given its rings: the host must accept all of it,
//      and refuse a ring that does not start on a 64-byte boundary;
//   2. isolation: FOREIGN_ID (a device of another container) cannot be
//      opened;
//   3. ROUNDS random calls (random operations, handles, lengths, guest
//      addresses in and out of memory, random bytes everywhere);
//   4. ROUNDS doorbells on random slots, assigned or not, and on ports no
//      ioeventfd covers;
//   5. ROUNDS ring corruptions: the venet's rings overwritten with random
//      bytes, then their doorbells rung;
//   6. a valid call again, which must still work.
// Before that, the VMM's ioctls are abused: calls before a bind, a second
// bind of the VM or of the fd, a bind from a process that did not create
// the VM, non-VM and non-eventfd descriptors and unknown ioctls must all
// be refused, and every ioctl must follow the
// argument rule of <vbus/kvm.h>: short sizes and other directions
// refused, longer arguments accepted with a zero tail and refused with
// E2BIG otherwise, no byte read past the size in the ioctl's number, and
// a refused argument changes nothing.
// Every result must be a success or a negative errno.  Prints one line
// per step and "kvm-hostile: ok" at the end; exits non-zero, naming the
// step and the error, at the first failure.

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

extern "C" {
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
constexpr uint64_t mem_size = 8ULL << 20;
constexpr uint64_t code_gpa = 0x1000;
constexpr uint64_t table_gpa = 0x10000; // DS base, 64 KiB of commands
constexpr uint64_t call_gpa = 0x20000;  // call pages
constexpr unsigned call_pages = 32;
constexpr uint64_t data_gpa = 0x40000;  // call arguments
constexpr uint64_t ring_gpa = 0x100000; // venet rings
constexpr uint32_t ring_count = 64;
constexpr uint64_t ring_stride = 0x10000;
constexpr uint64_t buf_gpa = 0x200000; // packet buffers

// Guest ports.
constexpr uint16_t call_port = 0x1000;
constexpr uint16_t doorbell_port = 0x2000;
constexpr unsigned doorbells = 16;
constexpr unsigned vectors = 4;
constexpr uint16_t done_port = 0x3ff;

struct Command {
	uint16_t port;
	uint16_t pad;
	uint32_t value;
};
constexpr size_t max_commands = 0x10000 / sizeof(Command) - 1;

// mov si,0; l: mov dx,[si]; mov eax,[si+4]; out dx,eax; add si,8; jmp l
constexpr std::array<uint8_t, 16> guest_code = {
    0xbe, 0x00, 0x00, 0x8b, 0x14, 0x66, 0x8b, 0x44, 0x04, 0x66, 0xef, 0x83, 0xc6, 0x08, 0xeb, 0xf3,
};

class Guest
{
public:
	explicit Guest(const std::string &container)
	    : kvm_(open("/dev/kvm", O_RDWR | O_CLOEXEC)), vm_(ioctl(kvm_.get(), KVM_CREATE_VM, 0)),
	      mem_(testtools::map_memory(mem_size, -1))
	{
		if (kvm_.get() < 0 || vm_.get() < 0) {
			fail("create VM");
		}
		kvm_userspace_memory_region region{};
		region.memory_size = mem_size;
		region.userspace_addr = reinterpret_cast<uintptr_t>(mem_.bytes().data()); // NOLINT
		if (ioctl(vm_.get(), KVM_SET_USER_MEMORY_REGION, &region) < 0) {
			fail("KVM_SET_USER_MEMORY_REGION");
		}
		vcpu_ = Fd(ioctl(vm_.get(), KVM_CREATE_VCPU, 0));
		if (vcpu_.get() < 0) {
			fail("KVM_CREATE_VCPU");
		}
		const int run_size = ioctl(kvm_.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
		if (run_size < 0) {
			fail("KVM_GET_VCPU_MMAP_SIZE");
		}
		run_map_ = testtools::map_memory(run_size, vcpu_.get());
		std::memcpy(at(code_gpa, guest_code.size()), guest_code.data(), guest_code.size());

		bus_ = Fd(open("/dev/vbus-kvm", O_RDWR | O_CLOEXEC));
		if (bus_.get() < 0) {
			fail("open /dev/vbus-kvm");
		}
		testtools::vkvm_bind(bus_.get(), vm_.get(), container);
		const std::array table{testtools::mem_region(0, mem_.bytes())};
		errno = testtools::vkvm_try_set_mem_table(bus_.get(), table);
		if (errno != 0) {
			fail("VBUS_KVM_SET_MEM_TABLE");
		}
		for (unsigned s = 0; s < doorbells; s++) {
			Fd efd(eventfd(0, EFD_CLOEXEC));
			kvm_ioeventfd io{};
			io.addr = doorbell_port + 4 * s;
			io.len = 4;
			io.fd = efd.get();
			io.flags = KVM_IOEVENTFD_FLAG_PIO;
			if (efd.get() < 0 || ioctl(vm_.get(), KVM_IOEVENTFD, &io) < 0) {
				fail("doorbell ioeventfd");
			}
			set_eventfd(VBUS_KVM_SET_DOORBELL, s, efd.get());
			eventfds_.push_back(std::move(efd));
		}
		for (unsigned v = 0; v < vectors; v++) {
			Fd efd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
			if (efd.get() < 0) {
				fail("vector eventfd");
			}
			set_eventfd(VBUS_KVM_SET_VECTOR, v, efd.get());
			vector_fds_.push_back(std::move(efd));
		}
	}

	uint8_t *at(uint64_t gpa, size_t len)
	{
		if (gpa + len > mem_size) {
			throw std::runtime_error("guest address out of range");
		}
		return &mem_.bytes()[gpa];
	}

	template <typename T> T *obj(uint64_t gpa)
	{
		// NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): guest memory
		return reinterpret_cast<T *>(at(gpa, sizeof(T)));
	}

	// Run the guest over @cmds; calls are forwarded as a VMM would.
	void run(const std::vector<Command> &cmds)
	{
		if (cmds.size() > max_commands) {
			throw std::runtime_error("too many commands");
		}
		auto *table = obj<Command>(table_gpa);
		std::span<Command> t(table, cmds.size() + 1);
		std::copy(cmds.begin(), cmds.end(), t.begin());
		t[cmds.size()] = Command{done_port, 0, 0};

		kvm_sregs sregs{};
		if (ioctl(vcpu_.get(), KVM_GET_SREGS, &sregs) < 0) {
			fail("KVM_GET_SREGS");
		}
		sregs.cs.base = 0;
		sregs.cs.selector = 0;
		sregs.ds.base = table_gpa;
		sregs.ds.selector = table_gpa >> 4;
		if (ioctl(vcpu_.get(), KVM_SET_SREGS, &sregs) < 0) {
			fail("KVM_SET_SREGS");
		}
		kvm_regs regs{};
		regs.rip = code_gpa;
		regs.rflags = 2;
		if (ioctl(vcpu_.get(), KVM_SET_REGS, &regs) < 0) {
			fail("KVM_SET_REGS");
		}

		auto *run = reinterpret_cast<kvm_run *>(run_map_.bytes().data()); // NOLINT
		for (;;) {
			if (ioctl(vcpu_.get(), KVM_RUN, 0) < 0) {
				fail("KVM_RUN");
			}
			if (run->exit_reason != KVM_EXIT_IO) {
				throw std::runtime_error("unexpected exit " +
				                         std::to_string(run->exit_reason));
			}
			exits++;
			const uint16_t port = run->io.port;
			if (port == done_port) {
				return;
			}
			uint32_t value = 0;
			std::memcpy(&value, run_map_.bytes().data() + run->io.data_offset,
			            4); // NOLINT
			if (port == call_port) {
				vbus_kvm_guest_call c{};
				c.gpa = static_cast<uint64_t>(value) << 12;
				if (ioctl(bus_.get(), VBUS_KVM_CALL, &c) < 0) {
					call_refused[errno]++;
				}
			} else {
				stray_exits++;
			}
		}
	}

	uint64_t vector_count(unsigned v)
	{
		uint64_t n = 0;
		if (read(vector_fds_.at(v).get(), &n, sizeof(n)) != sizeof(n)) {
			return 0;
		}
		return n;
	}

	[[nodiscard]] int vm_fd() const { return vm_.get(); }
	[[nodiscard]] int bus_fd() const { return bus_.get(); }

	unsigned long exits = 0;
	unsigned long stray_exits = 0;
	std::map<int, unsigned long> call_refused;

private:
	void set_eventfd(unsigned long req, unsigned index, int fd)
	{
		testtools::vkvm_set_eventfd(bus_.get(), req, index, fd);
	}

	Fd kvm_;
	Fd vm_;
	Mapping mem_;
	Fd vcpu_;
	Mapping run_map_;
	Fd bus_;
	std::vector<Fd> eventfds_;
	std::vector<Fd> vector_fds_;
};

// One call through call page 0, executed by the guest.
int64_t call(Guest &g, vbus_kvm_call c)
{
	auto *page = g.obj<vbus_kvm_call>(call_gpa);
	*page = c;
	page->result = 0x7fffffff;
	g.run({Command{call_port, 0, static_cast<uint32_t>(call_gpa >> 12)}});
	return static_cast<int64_t>(page->result);
}

int64_t must(int64_t r, const std::string &what)
{
	if (r < 0) {
		errno = static_cast<int>(-r);
		fail(what);
	}
	return r;
}

// What a call page holds when the call never ran (its frame was outside
// guest memory, so the connector could not read it).
constexpr int64_t not_run = INT64_MIN;

bool is_result(int64_t r)
{
	return r == not_run || r >= -4095;
}

struct Venet {
	uint32_t handle = 0;
	std::vector<uint32_t> slots;
};

// The valid handshake; returns the opened venet.
Venet handshake(Guest &g, unsigned devices)
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

void expect_results(Guest &g, unsigned n, const std::string &what)
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

void random_calls(Guest &g, std::mt19937_64 &rng, unsigned rounds)
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
				c->op = static_cast<uint32_t>(rng() % 8);
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

void random_doorbells(Guest &g, std::mt19937_64 &rng, unsigned rounds)
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

void corrupt_rings(Guest &g, std::mt19937_64 &rng, const Venet &v, unsigned rounds)
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

// The abuse of the VMM ioctls, counted: refusals as documented, and
// valid arguments accepted at each size.
class Abuse
{
public:
	Abuse() : buf_(testtools::map_memory(arg_room + page, -1))
	{
		// The last page is a guard: every argument ends right before
		// it, so a read past _IOC_SIZE faults instead of passing.
		if (mprotect(&buf_.bytes()[arg_room], page, PROT_NONE) < 0) {
			fail("mprotect");
		}
	}

	// ioctl() must fail with @err.
	void refused(int ret, int err, const std::string &what)
	{
		if (ret >= 0 || errno != err) {
			throw std::runtime_error(what + ": expected " + std::strerror(err) +
			                         ", got " +
			                         (ret >= 0 ? "success" : std::strerror(errno)));
		}
		refusals++;
	}

	// ioctl() must succeed.
	void accepted(int ret, const std::string &what)
	{
		if (ret < 0) {
			fail(what);
		}
		acceptances++;
	}

	// @arg as the first bytes of an argument of @usize bytes ending at
	// the guard page, zero after @arg, with a non-zero byte at
	// @garbage_at if that is inside; readable only up to @readable
	// bytes when that is less than @usize.
	void *place(std::span<const uint8_t> arg, size_t usize, size_t garbage_at = SIZE_MAX,
	            size_t readable = SIZE_MAX)
	{
		const size_t start = arg_room - std::min(usize, readable);
		std::span<uint8_t> dst = buf_.bytes().subspan(start, arg_room - start);
		std::ranges::fill(dst, 0);
		std::copy_n(arg.begin(), std::min(arg.size(), dst.size()), dst.begin());
		if (garbage_at < dst.size()) {
			dst[garbage_at] = 0xa5;
		}
		return dst.data();
	}

	static constexpr size_t ioc_max = (1U << _IOC_SIZEBITS) - 1; // 16383
	unsigned refusals = 0;
	unsigned acceptances = 0;

private:
	static constexpr size_t page = 4096;
	static constexpr size_t arg_room = 4 * page; // > ioc_max
	Mapping buf_;
};

// @cmd with another direction or size.
unsigned long resized(unsigned long cmd, size_t usize, unsigned dir)
{
	return _IOC(dir, _IOC_TYPE(cmd), _IOC_NR(cmd), usize);
}
unsigned long resized(unsigned long cmd, size_t usize)
{
	return resized(cmd, usize, _IOC_DIR(cmd));
}

// The ioctl argument rule of <vbus/kvm.h>, for one ioctl: the size is
// the number's and nothing else.  @make gives a valid argument for one
// attempt (and prepares what it needs), @run issues the ioctl, @changed
// says whether the last attempt took effect (and undoes it).
struct RuleCase {
	std::string name;
	unsigned long cmd;
	size_t ver0;
	std::function<std::vector<uint8_t>()> make;
	std::function<int(unsigned long, void *)> run;
	std::function<bool()> changed;
};

void argument_rule(Abuse &a, const RuleCase &t)
{
	const size_t size = _IOC_SIZE(t.cmd);
	const auto refused = [&](size_t usize, int err, const std::string &what,
	                         size_t garbage_at = SIZE_MAX, size_t readable = SIZE_MAX,
	                         unsigned long cmd = 0) {
		const std::vector<uint8_t> arg = t.make();
		void *p = a.place(arg, usize, garbage_at, readable);
		a.refused(t.run(cmd != 0 ? cmd : resized(t.cmd, usize), p), err,
		          t.name + ": " + what);
		if (t.changed()) {
			throw std::runtime_error(t.name + ": " + what +
			                         ": refused, yet it changed state");
		}
	};
	const auto accepted = [&](size_t usize, const std::string &what) {
		const std::vector<uint8_t> arg = t.make();
		a.accepted(t.run(resized(t.cmd, usize), a.place(arg, usize)), t.name + ": " + what);
		if (!t.changed()) {
			throw std::runtime_error(t.name + ": " + what +
			                         ": accepted, yet no effect");
		}
	};

	// Short: below the first published size.
	refused(0, EINVAL, "size 0");
	refused(t.ver0 - 1, EINVAL, "one byte short");
	// Another direction is another ioctl.
	refused(size, ENOTTY, "as _IOWR", SIZE_MAX, SIZE_MAX,
	        resized(t.cmd, size, _IOC_READ | _IOC_WRITE));
	refused(size, ENOTTY, "as _IO", SIZE_MAX, SIZE_MAX, resized(t.cmd, size, _IOC_NONE));
	// Larger, with garbage anywhere in the tail: E2BIG.
	refused(size + 8, E2BIG, "8 more bytes, the last not zero", size + 7);
	const size_t first_extra = size;
	refused(Abuse::ioc_max, E2BIG, "16383 bytes, the first extra not zero", first_extra);
	refused(Abuse::ioc_max, E2BIG, "16383 bytes, the last not zero", Abuse::ioc_max - 1);
	// The whole size is read, from the caller's memory: a tail that
	// is not there faults.
	refused(size + 8, EFAULT, "8 more bytes in unmapped memory", SIZE_MAX, size);
	// Exact, and larger with a zero tail (up to the largest size an
	// ioctl number can carry): accepted, read to its end and no
	// further (every argument ends at a guard page).
	accepted(size, "the exact size");
	accepted(size + 8, "8 more zero bytes");
	accepted(Abuse::ioc_max, "16383 bytes, zero after the struct");
}

template <typename T> std::vector<uint8_t> bytes_of(const T &t)
{
	std::vector<uint8_t> v(sizeof(T));
	std::memcpy(v.data(), &t, sizeof(T));
	return v;
}

// The VMM side of the ABI refuses what it must.
void ioctl_abuse(Guest &g, const std::string &container)
{
	Abuse a;
	const Fd other(open("/dev/vbus-kvm", O_RDWR | O_CLOEXEC));
	if (other.get() < 0) {
		fail("open /dev/vbus-kvm");
	}
	vbus_kvm_guest_call gc{};
	gc.gpa = call_gpa;
	a.refused(ioctl(other.get(), VBUS_KVM_CALL, &gc), ENOTCONN, "call before bind");

	vbus_kvm_bind b{};
	b.vm_fd = g.vm_fd();
	b.container = reinterpret_cast<uintptr_t>(container.data()); // NOLINT
	b.container_len = container.size();
	a.refused(ioctl(other.get(), VBUS_KVM_BIND, &b), EBUSY, "second bind of the VM");
	a.refused(ioctl(g.bus_fd(), VBUS_KVM_BIND, &b), EBUSY, "second bind of the fd");
	b.vm_fd = other.get();
	a.refused(ioctl(other.get(), VBUS_KVM_BIND, &b), EINVAL, "bind of a non-VM fd");

	vbus_kvm_eventfd e{};
	e.index = 7;
	e.fd = other.get();
	a.refused(ioctl(g.bus_fd(), VBUS_KVM_SET_VECTOR, &e), EINVAL,
	          "a vector that is no eventfd");
	e.fd = -2;
	a.refused(ioctl(g.bus_fd(), VBUS_KVM_SET_DOORBELL, &e), EINVAL, "a doorbell with fd -2");
	a.refused(ioctl(g.bus_fd(), _IO(VBUS_KVM_IOC_MAGIC, 0x7f)), ENOTTY, "an unknown ioctl");
	a.refused(ioctl(g.bus_fd(), _IOW(VBUS_KVM_IOC_MAGIC, 0x7f, vbus_kvm_bind), &b), ENOTTY,
	          "an unknown number with an argument");
	gc.gpa = call_gpa + 8;
	a.refused(ioctl(g.bus_fd(), VBUS_KVM_CALL, &gc), EINVAL, "a call page not page-aligned");

	// VBUS_KVM_CALL: a HELLO in the call page; it ran when the page
	// holds its result.
	auto *page = g.obj<vbus_kvm_call>(call_gpa);
	argument_rule(a, {"VBUS_KVM_CALL", VBUS_KVM_CALL, VBUS_KVM_GUEST_CALL_SIZE_VER0,
	                  [&] {
		                  *page = vbus_kvm_call{};
		                  page->op = VBUS_KVM_OP_HELLO;
		                  page->u.hello.version = VBUS_KVM_VERSION;
		                  page->result = static_cast<uint64_t>(not_run);
		                  vbus_kvm_guest_call c{};
		                  c.gpa = call_gpa;
		                  return bytes_of(c);
	                  },
	                  [&](unsigned long cmd, void *p) { return ioctl(g.bus_fd(), cmd, p); },
	                  [&] { return static_cast<int64_t>(page->result) != not_run; }});

	// VBUS_KVM_SET_VECTOR: vector 5, not wired before.  A DEVSHM that
	// names it (with no connection) fails with EINVAL while it is not
	// wired, and gets as far as the unknown handle (EBADF) when it is.
	const Fd vec_efd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	const auto vector_wired = [&] {
		vbus_kvm_call c{};
		c.op = VBUS_KVM_OP_DEVSHM;
		c.u.devshm.handle = 0xdead;
		c.u.devshm.vector = 5;
		c.u.devshm.addr = ring_gpa;
		c.u.devshm.len = 4096;
		c.u.devshm.cookie = 0xc0ffee;
		const int64_t r = call(g, c);
		if (r != -EINVAL && r != -EBADF) {
			throw std::runtime_error("DEVSHM probe of vector 5: " + std::to_string(r));
		}
		return r == -EBADF;
	};
	argument_rule(
	    a, {"VBUS_KVM_SET_VECTOR", VBUS_KVM_SET_VECTOR, VBUS_KVM_EVENTFD_SIZE_VER0,
	        [&] {
		        vbus_kvm_eventfd ev{};
		        ev.index = 5;
		        ev.fd = vec_efd.get();
		        return bytes_of(ev);
	        },
	        [&](unsigned long cmd, void *p) { return ioctl(g.bus_fd(), cmd, p); },
	        [&] {
		        const bool wired = vector_wired();
		        testtools::vkvm_set_eventfd(g.bus_fd(), VBUS_KVM_SET_VECTOR, 5, -1);
		        if (vector_wired()) {
			        throw std::runtime_error("vector 5 still wired after removal");
		        }
		        return wired;
	        }});

	// VBUS_KVM_SET_DOORBELL: slot 16, which no port reaches.  Once the
	// slot holds an eventfd, the connector consumes what is written to
	// it; before, the count stays for us to read.
	const Fd db_efd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	const auto slot_hooked = [&] {
		const uint64_t one = 1;
		uint64_t n = 0;
		if (write(db_efd.get(), &one, sizeof(one)) != sizeof(one)) {
			fail("eventfd write");
		}
		const bool hooked = read(db_efd.get(), &n, sizeof(n)) < 0 && errno == EAGAIN;
		return hooked;
	};
	argument_rule(
	    a, {"VBUS_KVM_SET_DOORBELL", VBUS_KVM_SET_DOORBELL, VBUS_KVM_EVENTFD_SIZE_VER0,
	        [&] {
		        vbus_kvm_eventfd ev{};
		        ev.index = doorbells;
		        ev.fd = db_efd.get();
		        return bytes_of(ev);
	        },
	        [&](unsigned long cmd, void *p) { return ioctl(g.bus_fd(), cmd, p); },
	        [&] {
		        const bool hooked = slot_hooked();
		        testtools::vkvm_set_eventfd(g.bus_fd(), VBUS_KVM_SET_DOORBELL, doorbells,
		                                    -1);
		        if (slot_hooked()) {
			        throw std::runtime_error("slot 16 still hooked after removal");
		        }
		        return hooked;
	        }});

	// VBUS_KVM_BIND: a new VM and a new file for every attempt; a
	// bound file answers a call with EFAULT (no guest memory there),
	// an unbound one with ENOTCONN.
	Fd kvm(open("/dev/kvm", O_RDWR | O_CLOEXEC));
	Fd vm;
	Fd bus;
	if (kvm.get() < 0) {
		fail("open /dev/kvm");
	}
	argument_rule(a, {"VBUS_KVM_BIND", VBUS_KVM_BIND, VBUS_KVM_BIND_SIZE_VER0,
	                  [&] {
		                  vm = Fd(ioctl(kvm.get(), KVM_CREATE_VM, 0));
		                  bus = Fd(open("/dev/vbus-kvm", O_RDWR | O_CLOEXEC));
		                  if (vm.get() < 0 || bus.get() < 0) {
			                  fail("a VM and a /dev/vbus-kvm file for a bind");
		                  }
		                  vbus_kvm_bind bb{};
		                  bb.vm_fd = vm.get();
		                  bb.container =
		                      reinterpret_cast<uintptr_t>(container.data()); // NOLINT
		                  bb.container_len = container.size();
		                  return bytes_of(bb);
	                  },
	                  [&](unsigned long cmd, void *p) { return ioctl(bus.get(), cmd, p); },
	                  [&] {
		                  vbus_kvm_guest_call c{};
		                  c.gpa = call_gpa;
		                  const bool bound =
		                      ioctl(bus.get(), VBUS_KVM_CALL, &c) < 0 && errno == EFAULT;
		                  bus = Fd();
		                  vm = Fd();
		                  return bound;
	                  }});

	// VBUS_KVM_BIND from a process that holds the VM's fd but did not
	// create the VM (a child that inherited it): EPERM, and the VM is
	// still free for its creator.
	vm = Fd(ioctl(kvm.get(), KVM_CREATE_VM, 0));
	if (vm.get() < 0) {
		fail("KVM_CREATE_VM for a bind from a child");
	}
	vbus_kvm_bind cb{};
	cb.vm_fd = vm.get();
	cb.container = reinterpret_cast<uintptr_t>(container.data()); // NOLINT
	cb.container_len = container.size();
	const pid_t child = fork();
	if (child < 0) {
		fail("fork");
	}
	if (child == 0) {
		// Only async-signal-safe calls here: the exit status is the
		// bind's errno, 0 for a success.
		const int fd = open("/dev/vbus-kvm", O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			_exit(255);
		}
		_exit(ioctl(fd, VBUS_KVM_BIND, &cb) == 0 ? 0 : errno);
	}
	int status = 0;
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status)) {
		throw std::runtime_error("the child that binds the VM did not exit");
	}
	if (WEXITSTATUS(status) == 255) {
		throw std::runtime_error("the child could not open /dev/vbus-kvm");
	}
	errno = WEXITSTATUS(status);
	a.refused(errno == 0 ? 0 : -1, EPERM,
	          "VBUS_KVM_BIND of the VM from a child of its creator");
	bus = Fd(open("/dev/vbus-kvm", O_RDWR | O_CLOEXEC));
	if (bus.get() < 0 || ioctl(bus.get(), VBUS_KVM_BIND, &cb) != 0) {
		fail("VBUS_KVM_BIND of that VM by its creator");
	}
	bus = Fd();
	vm = Fd();

	std::cout << "ioctl abuse: " << a.refusals << " refusals as documented, " << a.acceptances
	          << " accepted at the exact, a larger and the largest size\n";
}

} // namespace

int main(int argc, char **argv)
{
	const std::span args(argv, argc);
	if (argc < 4) {
		std::cerr << "usage: kvm-hostile CONTAINER DEVICES FOREIGN_ID [SEED [ROUNDS]]\n";
		return 2;
	}
	try {
		const std::string container = args[1];
		const unsigned devices = std::stoul(args[2]);
		const uint32_t foreign = std::stoul(args[3]);
		const uint64_t seed = argc > 4 ? std::stoull(args[4]) : 1;
		const unsigned rounds = argc > 5 ? std::stoul(args[5]) : 10000;
		std::mt19937_64 rng(seed);

		Guest g(container);
		ioctl_abuse(g, container);
		const Venet v = handshake(g, devices);

		vbus_kvm_call c{};
		c.op = VBUS_KVM_OP_DEVOPEN;
		c.u.devopen.devid = foreign;
		c.u.devopen.version = VBUS_VENET_VERSION;
		const int64_t r = call(g, c);
		if (r != -ENODEV) {
			throw std::runtime_error("opening foreign device " +
			                         std::to_string(foreign) + " gave " +
			                         std::to_string(r) + ", not -ENODEV");
		}
		std::cout << "isolation: foreign device " << foreign << " refused (ENODEV)\n";

		corrupt_rings(g, rng, v, rounds);
		random_doorbells(g, rng, rounds);
		random_calls(g, rng, rounds);

		c = vbus_kvm_call{};
		c.op = VBUS_KVM_OP_HELLO;
		c.u.hello.version = VBUS_KVM_VERSION;
		must(call(g, c), "HELLO after the attacks");
		std::cout << "vm exits: " << g.exits << ", calls refused by the connector:";
		for (const auto &[e, n] : g.call_refused) {
			std::cout << " " << std::strerror(e) << "=" << n;
		}
		std::cout << "\nvector interrupts: " << g.vector_count(0) << " "
		          << g.vector_count(1) << " " << g.vector_count(2) << " "
		          << g.vector_count(3) << "\n";
		std::cout << "kvm-hostile: ok\n";
	} catch (const std::exception &e) {
		std::cerr << "kvm-hostile: " << e.what() << "\n";
		return 1;
	}
	return 0;
}

// NOLINTEND(cppcoreguidelines-pro-type-union-access)
