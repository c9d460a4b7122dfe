// SPDX-License-Identifier: GPL-2.0
//
// kvm-hostile: the VMM's side: ioctls that must be refused, and the
// argument rule of <vbus/kvm.h> checked for every ioctl.

#ifndef VBUS_TESTS_TOOLS_KVM_HOSTILE_ABUSE_HH
#define VBUS_TESTS_TOOLS_KVM_HOSTILE_ABUSE_HH

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iostream>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

extern "C" {
#include <vbus/kvm.h>
}

#include "guest.hh"

// The call page is the ABI's union of operations.
// NOLINTBEGIN(cppcoreguidelines-pro-type-union-access)

namespace kvm_hostile
{

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
inline unsigned long resized(unsigned long cmd, size_t usize, unsigned dir)
{
	return _IOC(dir, _IOC_TYPE(cmd), _IOC_NR(cmd), usize);
}
inline unsigned long resized(unsigned long cmd, size_t usize)
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

inline void argument_rule(Abuse &a, const RuleCase &t)
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
inline void ioctl_abuse(Guest &g, const std::string &container)
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

} // namespace kvm_hostile

// NOLINTEND(cppcoreguidelines-pro-type-union-access)

#endif // VBUS_TESTS_TOOLS_KVM_HOSTILE_ABUSE_HH
