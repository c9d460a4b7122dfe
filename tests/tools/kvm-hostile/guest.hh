// SPDX-License-Identifier: GPL-2.0
//
// kvm-hostile: the guest without an operating system: its memory layout,
// the VM, the vCPU that runs a table of port writes, and one call.

#ifndef VBUS_TESTS_TOOLS_KVM_HOSTILE_GUEST_HH
#define VBUS_TESTS_TOOLS_KVM_HOSTILE_GUEST_HH

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

extern "C" {
#include <vbus/kvm.h>
}

#include "../posix.hh"
#include "../vkvm_client.hh"

// The call page is the ABI's union of operations.
// NOLINTBEGIN(cppcoreguidelines-pro-type-union-access)

namespace kvm_hostile
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
inline int64_t call(Guest &g, vbus_kvm_call c)
{
	auto *page = g.obj<vbus_kvm_call>(call_gpa);
	*page = c;
	page->result = 0x7fffffff;
	g.run({Command{call_port, 0, static_cast<uint32_t>(call_gpa >> 12)}});
	return static_cast<int64_t>(page->result);
}

inline int64_t must(int64_t r, const std::string &what)
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

inline bool is_result(int64_t r)
{
	return r == not_run || r >= -4095;
}

} // namespace kvm_hostile

// NOLINTEND(cppcoreguidelines-pro-type-union-access)

#endif // VBUS_TESTS_TOOLS_KVM_HOSTILE_GUEST_HH
