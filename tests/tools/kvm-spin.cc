// SPDX-License-Identifier: GPL-2.0
//
// kvm-spin: a guest that spins on its rings, and what it may cost the host.
//
//   kvm-spin all   CONTAINER ECHO_ID VENET_ID IFNAME SECONDS
//   kvm-spin echo  CONTAINER ECHO_ID SECONDS
//   kvm-spin tx    CONTAINER VENET_ID IFNAME SECONDS
//   kvm-spin rx    CONTAINER VENET_ID IFNAME SECONDS
//   kvm-spin event CONTAINER VENET_ID IFNAME SECONDS
//   kvm-spin peer  CONTAINER ECHO_ID
//   kvm-spin moved CONTAINER ECHO_ID
//   kvm-spin stream CONTAINER ECHO_ID COUNT
//
// Like kvm-remap, each mode is a VMM that plays its guest itself: calls go
// through VBUS_KVM_CALL, doorbells are written to the doorbell eventfds
// and shared memory is written from threads; no vCPU runs.
//
// all, echo, tx, rx, event: a child process binds a VM to CONTAINER and
// registers, empty, the rings of that kind (all: the echo device's ring
// and the venet's tx, rx and event rings at once); then a process per CPU
// sharing its guest memory writes 1 into every ring's pending flag
// without pause (counting the times it found one acknowledged: at least
// once, or the host and the spinners never met), and a thread rings
// every ring's doorbell every DOORBELL_PERIOD.  rx:
// the host sends a frame to IFNAME (AF_PACKET), so the device holds a
// packet for a guest that posts no buffer.  event: a thread takes IFNAME
// down and up again and again (with rx too, it sends a frame after each
// up).  Meanwhile the parent measures the CPU time of the host's
// kworkers and ring threads over SECONDS and requires it below
// worker_limit of one CPU for each ring.  Then the child closes each device (DEVCLOSE, from a
// thread other than the spinning ones), registers the rings again and keeps spinning, and the
// parent SIGKILLs it.  Each must finish within a second.
//
// peer: an honest client of CONTAINER's echo device that sends one buffer
// after another through its ring until SIGTERM, then reports the slowest
// round trip; one that takes a second or more fails it.
//
// moved: an echo ring of one page, then a second ring of 16384 entries
// (refused: one ring per connection), then the VMM replaces the page of
// the first ring (mmap MAP_FIXED).  The device must follow that ring, and
// only that one, and keep echoing on it.
//
// stream: COUNT buffers through an echo ring, each posted as soon as the
// one before came back, the doorbell rung only when the device asks for
// it (vbus_ioq_drv_publish()), as a driver that sends a stream does.
// Prints how many doorbells it took (the suite compares ring_poll_us
// settings of the ring engine).
//
// Prints what it measured and "kvm-spin MODE: ok"; exits non-zero with
// the reason at the first failure.

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/kvm.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <span>
#include <sstream>
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

// The peer runs until SIGTERM.
namespace
{
volatile std::sig_atomic_t peer_stop = 0;
} // namespace

extern "C" void on_sigterm(int /*sig*/)
{
	peer_stop = 1;
}

// The call page is the ABI's union of operations.
// NOLINTBEGIN(cppcoreguidelines-pro-type-union-access)

namespace
{

using testtools::fail;
using testtools::Fd;
using testtools::GuestMemory;
using testtools::Ring;
using testtools::RingPlace;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Guest physical layout.
constexpr uint64_t mem_size = 4ULL << 20;
constexpr uint64_t data_gpa = 0x2000;  // call arguments
constexpr uint64_t ring_gpa = 0x10000; // the spinning rings: one page each from here
constexpr uint64_t big_ring_gpa = 0x100000;
constexpr uint64_t buf_gpa = 0x20000;
constexpr uint64_t acks_gpa = 0x3000; // the spinners' counts of acks seen, one u64 per CPU
constexpr size_t buf_len = 64;
constexpr uint32_t ring_count = 64; // one page
constexpr uint32_t big_ring_count = 16384;
constexpr uint64_t page = 4096;
constexpr unsigned doorbells = 8;

// How often the spinning guest rings each ring.  A guest pays a VM exit
// for each doorbell; a VMM could ring faster than any guest, so it does
// not.
constexpr milliseconds doorbell_period{2};
// Most host worker CPU time the spinning guest may cause, in per cent of one
// CPU for each spinning ring: its doorbells, the honest peer's traffic
// and the host's own work.  A ring whose work item went round while the
// flag stayed set took 100% and tripped the soft-lockup detector.
constexpr double worker_limit = 10.0;
// DEVCLOSE and SIGKILL each finish within this.
constexpr milliseconds teardown_limit{1000};
// The peer's round trips must each take less.
constexpr milliseconds round_trip_limit{1000};
constexpr milliseconds wait_limit{20000};

// The VMM of a spinning guest, of the peer and of moved: guest memory
// in a memfd, a doorbell eventfd per slot.
class Vmm : public testtools::TestGuest
{
public:
	explicit Vmm(const std::string &container)
	    : TestGuest(container, GuestMemory::memfd("guest", mem_size), doorbells)
	{
	}
};

int64_t venet_call(Vmm &vmm, uint32_t handle, uint32_t func, uint32_t len)
{
	return vmm.dev_call(handle, func, data_gpa, len);
}

// Post a buffer of text on the echo ring @r and check it comes back
// reversed; returns false if the device did not complete it in @limit.
bool echo_round(Vmm &vmm, Ring &r, uint64_t cookie, milliseconds limit = wait_limit)
{
	std::string text = "buffer " + std::to_string(cookie);
	text.resize(buf_len, '.');
	const auto data = vmm.mem().subspan(buf_gpa, buf_len);
	std::ranges::copy(text, data.begin());
	vbus_ioq_buf buf{cookie, buf_gpa, buf_len, 0};
	const auto ret = vmm.post_and_wait(r, buf, limit, milliseconds(1));
	if (!ret) {
		return false;
	}
	if (*ret != 0 || buf.cookie != cookie || buf.len != buf_len) {
		throw std::runtime_error("the echo device broke the ring (length " +
		                         std::to_string(buf.len) + ")");
	}
	std::string back(data.begin(), data.end());
	std::ranges::reverse(back);
	if (back != text) {
		throw std::runtime_error("the echo buffer came back wrong");
	}
	return true;
}

// ---- measuring the host

// CPU time (user + system, in clock ticks) of every kworker thread and
// of every thread that serves rings (vbus-<pid>-<n>, vbus-k<id>-<n>).
uint64_t host_worker_ticks()
{
	uint64_t total = 0;
	const std::unique_ptr<DIR, int (*)(DIR *)> proc(opendir("/proc"), closedir);
	if (!proc) {
		fail("/proc");
	}
	while (const dirent *p = readdir(proc.get())) {
		// Kernel threads are processes of one thread each.
		const std::string name(static_cast<const char *>(p->d_name));
		if (name.empty() || name[0] < '1' || name[0] > '9') {
			continue;
		}
		std::ifstream f("/proc/" + name + "/stat");
		std::string line;
		if (!std::getline(f, line)) {
			continue; // gone meanwhile
		}
		const auto open = line.find('(');
		const auto close = line.rfind(')');
		if (open == std::string::npos || close == std::string::npos ||
		    (line.compare(open + 1, 7, "kworker") != 0 &&
		     line.compare(open + 1, 5, "vbus-") != 0)) {
			continue;
		}
		// After the name: state, then fields 4 to 13, then utime, stime.
		std::istringstream rest(line.substr(close + 2));
		std::string field;
		for (int i = 3; i <= 13; i++) {
			rest >> field;
		}
		uint64_t utime = 0;
		uint64_t stime = 0;
		rest >> utime >> stime;
		total += utime + stime;
	}
	return total;
}

double ms_since(Clock::time_point t)
{
	return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// ---- the spinning guest

enum class Kind { echo, tx, rx, event };

struct SpinArgs {
	std::vector<Kind> kinds;
	std::string container;
	uint32_t echo_id = 0;
	uint32_t venet_id = 0;
	std::string ifname;
	unsigned seconds = 0;

	[[nodiscard]] bool has(Kind k) const { return std::ranges::find(kinds, k) != kinds.end(); }
	[[nodiscard]] bool has_venet() const
	{
		return has(Kind::tx) || has(Kind::rx) || has(Kind::event);
	}
};

// The devices opened and their rings registered, empty, as a spinning
// guest wants them.
struct Spinner {
	std::vector<uint32_t> handles;
	std::vector<Ring> rings;
};

void set_link(int sock, const std::string &ifname, bool up)
{
	ifreq ifr{};
	ifname.copy(static_cast<char *>(ifr.ifr_name), IFNAMSIZ - 1);
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0) {
		fail("SIOCGIFFLAGS " + ifname);
	}
	if (up) {
		ifr.ifr_flags = static_cast<int16_t>(ifr.ifr_flags | IFF_UP);
	} else {
		ifr.ifr_flags = static_cast<int16_t>(ifr.ifr_flags & ~IFF_UP);
	}
	if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0) {
		fail("SIOCSIFFLAGS " + ifname);
	}
}

// Send one broadcast frame out of @ifname: the host's netdev, so the
// venet queues it for the guest.  False if the link was down.
bool send_frame(const std::string &ifname)
{
	const Fd s(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)));
	if (s.get() < 0) {
		fail("AF_PACKET socket");
	}
	sockaddr_ll to{};
	to.sll_family = AF_PACKET;
	to.sll_ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
	to.sll_halen = ETH_ALEN;
	std::fill_n(std::begin(to.sll_addr), ETH_ALEN, 0xff);
	if (to.sll_ifindex == 0) {
		fail("no interface " + ifname);
	}
	std::array<uint8_t, 60> frame{};
	std::fill_n(frame.begin(), 6, 0xff);                                       // broadcast
	const std::array<uint8_t, 8> src_type = {0x02, 0, 0, 0, 0, 2, 0x88, 0xb5}; // local, test
	std::ranges::copy(src_type, frame.begin() + 6);
	// NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
	if (sendto(s.get(), frame.data(), frame.size(), 0, reinterpret_cast<sockaddr *>(&to),
	           sizeof(to)) == static_cast<ssize_t>(frame.size())) {
		return true;
	}
	if (errno != ENETDOWN) {
		fail("send a frame on " + ifname);
	}
	return false;
}

uint64_t tx_dropped(const std::string &ifname)
{
	std::ifstream f("/sys/class/net/" + ifname + "/statistics/tx_dropped");
	uint64_t n = 0;
	f >> n;
	return n;
}

Spinner spin_setup(Vmm &vmm, const SpinArgs &a, bool flapping = false)
{
	Spinner s;
	const auto next_gpa = [&] { return ring_gpa + s.rings.size() * page; };
	if (a.has(Kind::echo)) {
		const uint32_t h = vmm.dev_open(a.echo_id, VBUS_ECHO_VERSION, "the echo device");
		s.handles.push_back(h);
		s.rings.push_back(
		    vmm.add_ring(h, {VBUS_ECHO_SHM_RING, next_gpa(), ring_count}, "echo ring"));
	}
	if (!a.has_venet()) {
		return s;
	}
	const uint32_t h = vmm.dev_open(a.venet_id, VBUS_VENET_VERSION, "the venet");
	s.handles.push_back(h);
	Vmm::must(venet_call(vmm, h, VBUS_VENET_CALL_GET_CONFIG, sizeof(vbus_venet_config)),
	          "GET_CONFIG");
	vbus_venet_negotiate neg{};
	neg.queue_pairs = htole16(1);
	if (a.has(Kind::event)) {
		neg.features = htole64(VBUS_VENET_F_LINK_EVENTS);
	}
	std::memcpy(vmm.mem().subspan(data_gpa, sizeof(neg)).data(), &neg, sizeof(neg));
	Vmm::must(venet_call(vmm, h, VBUS_VENET_CALL_NEGOTIATE, sizeof(neg)), "NEGOTIATE");
	std::memcpy(&neg, vmm.mem().subspan(data_gpa, sizeof(neg)).data(), sizeof(neg));
	if (a.has(Kind::event) && (le64toh(neg.features) & VBUS_VENET_F_LINK_EVENTS) == 0) {
		throw std::runtime_error("the venet refused link events");
	}
	const std::array<std::pair<Kind, uint32_t>, 3> regions = {{
	    {Kind::tx, VBUS_VENET_SHM_TX(0)},
	    {Kind::rx, VBUS_VENET_SHM_RX(0)},
	    {Kind::event, VBUS_VENET_SHM_EVENTS},
	}};
	for (const auto &[kind, id] : regions) {
		if (a.has(kind)) {
			s.rings.push_back(
			    vmm.add_ring(h, {id, next_gpa(), ring_count}, "venet ring"));
		}
	}
	Vmm::must(venet_call(vmm, h, VBUS_VENET_CALL_LINK_UP, 0), "LINK_UP");
	if (a.has(Kind::rx)) {
		// A packet for a guest that posts no buffer: the device holds it.
		// (With the link flapping, the flapping thread sends them.)
		const uint64_t dropped = tx_dropped(a.ifname);
		if (!send_frame(a.ifname) && !flapping) {
			throw std::runtime_error("the link of " + a.ifname + " is down");
		}
		if (!flapping && tx_dropped(a.ifname) != dropped) {
			throw std::runtime_error("the venet dropped the frame for the guest");
		}
	}
	return s;
}

// Write a byte on @fd; read one from @fd within @limit (false: none).
void put_byte(int fd, char c)
{
	if (write(fd, &c, 1) != 1) {
		fail("pipe");
	}
}

bool get_byte(int fd, char &c, milliseconds limit)
{
	pollfd p{fd, POLLIN, 0};
	if (poll(&p, 1, static_cast<int>(limit.count())) != 1) {
		return false;
	}
	return read(fd, &c, 1) == 1;
}

// Run the calling thread on @cpu only.
void pin_to(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0) {
		fail("sched_setaffinity");
	}
}

// The spinning guest: "pending" over and over, on an empty ring.  A
// process of its own that shares guest memory with the VMM and holds
// none of its files, so it goes on when the VMM is killed, as a guest
// vCPU thread would if the VMM's other threads died first.  It stops
// 5 s after the VMM is gone, should nobody kill it.
// It counts in @acks the times it found a flag cleared: the host's work
// acknowledged it, so the host and the spinner did meet.
[[noreturn]] void spin_pending(const std::vector<vbus_ioq_head *> &heads, uint64_t &acks, pid_t vmm)
{
	close_range(3, ~0U, 0);
	std::vector<std::atomic_ref<uint32_t>> flags;
	flags.reserve(heads.size());
	for (vbus_ioq_head *head : heads) {
		flags.emplace_back(head->dev_signal.pending);
	}
	std::atomic_ref<uint64_t> seen(acks);
	auto orphaned = Clock::time_point::max();
	for (uint64_t i = 1;; i++) {
		for (auto &flag : flags) {
			if (flag.exchange(htole32(1), std::memory_order_relaxed) == 0) {
				seen.fetch_add(1, std::memory_order_relaxed);
			}
		}
		if ((i & 0xfffff) != 0) {
			continue;
		}
		if (getppid() == vmm) {
			continue;
		}
		orphaned = std::min(orphaned, Clock::now());
		if (Clock::now() - orphaned > std::chrono::seconds(5)) {
			_exit(0);
		}
	}
}

// The child: set up, spin, and on the parent's word close and spin again.
[[noreturn]] void spin_child(const SpinArgs &a, int to_parent, int from_parent)
{
	try {
		// The parent ends the spinner below through this process group.
		if (setpgid(0, 0) < 0) {
			fail("setpgid");
		}
		Vmm vmm(a.container);
		Spinner s = spin_setup(vmm, a);
		std::vector<vbus_ioq_head *> heads;
		heads.reserve(s.rings.size());
		for (const Ring &r : s.rings) {
			heads.push_back(r.q.head); // in guest memory
		}
		// Before any thread starts: a process of its own on every CPU
		// writes the flags, as a guest's vCPUs would, so that a work item
		// runs beside a writer wherever its doorbell queued it.
		const int cpus = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
		const auto acks = vmm.mem().subspan(acks_gpa, page);
		std::ranges::fill(acks, 0);
		// NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): guest memory
		const std::span<uint64_t> seen(reinterpret_cast<uint64_t *>(acks.data()),
		                               page / sizeof(uint64_t));
		for (int cpu = 0; cpu < cpus; cpu++) {
			if (fork() == 0) {
				pin_to(cpu);
				spin_pending(heads, seen[cpu], getppid());
			}
		}
		// The rings' doorbell slots; a second setup below gets the same
		// ones, as it registers the same regions in the same order.
		std::vector<uint32_t> slots;
		for (const Ring &r : s.rings) {
			slots.push_back(r.slot);
		}
		std::atomic<uint64_t> rung{0};
		const std::jthread bell([&](const std::stop_token &st) {
			while (!st.stop_requested()) {
				for (const uint32_t slot : slots) {
					vmm.ring(slot);
					rung++;
				}
				std::this_thread::sleep_for(doorbell_period);
			}
		});
		std::jthread link;
		if (a.has(Kind::event)) {
			link = std::jthread([&](const std::stop_token &st) {
				const Fd sock(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
				bool up = true;
				while (!st.stop_requested()) {
					up = !up;
					set_link(sock.get(), a.ifname, up);
					if (up && a.has(Kind::rx)) {
						send_frame(a.ifname);
					}
					std::this_thread::sleep_for(milliseconds(20));
				}
				set_link(sock.get(), a.ifname, true);
			});
		}
		put_byte(to_parent, 'S');

		char c = 0;
		if (!get_byte(from_parent, c, milliseconds((a.seconds + 60) * 1000))) {
			throw std::runtime_error("no word from the parent");
		}
		uint64_t met = 0;
		for (int cpu = 0; cpu < cpus; cpu++) {
			met += std::atomic_ref<uint64_t>(seen[cpu]).load();
		}
		std::cout << "the spinners found a flag acknowledged " << met << " times"
		          << std::endl;
		if (met == 0) {
			throw std::runtime_error("the host never acknowledged a spinner's flag");
		}
		for (const uint32_t handle : s.handles) {
			const auto t = Clock::now();
			vmm.dev_close(handle);
			std::cout << "DEVCLOSE of connection " << handle
			          << " while the guest spins took " << static_cast<int>(ms_since(t))
			          << " ms (" << rung.load() << " doorbells rung)" << std::endl;
			if (Clock::now() - t > teardown_limit) {
				throw std::runtime_error("DEVCLOSE took a second or more");
			}
		}
		// Again, for the SIGKILL.
		const Spinner again = spin_setup(vmm, a, a.has(Kind::event));
		for (size_t i = 0; i < again.rings.size(); i++) {
			if (again.rings[i].slot != slots[i] ||
			    again.rings[i].gpa != s.rings[i].gpa) {
				throw std::runtime_error("the rings came back on other doorbells");
			}
		}
		put_byte(to_parent, 'K');
		// Spin until killed.
		std::this_thread::sleep_for(std::chrono::hours(1));
	} catch (const std::exception &ex) {
		std::cerr << "kvm-spin: " << ex.what() << "\n";
		std::cout.flush();
		_exit(1);
	}
	_exit(1);
}

int spin(const SpinArgs &a, const std::string &mode)
{
	std::array<int, 2> up{};
	std::array<int, 2> down{};
	if (pipe2(up.data(), O_CLOEXEC) < 0 || pipe2(down.data(), O_CLOEXEC) < 0) {
		fail("pipe");
	}
	const Fd up_r(up[0]);
	const Fd up_w(up[1]);
	const Fd down_r(down[0]);
	const Fd down_w(down[1]);
	std::cout.flush();
	const pid_t child = fork();
	if (child < 0) {
		fail("fork");
	}
	if (child == 0) {
		spin_child(a, up_w.get(), down_r.get());
	}
	// The VMM and its spinner.
	const auto reap = [&] {
		kill(-child, SIGKILL);
		kill(child, SIGKILL);
		waitpid(child, nullptr, 0);
	};
	try {
		char c = 0;
		if (!get_byte(up_r.get(), c, wait_limit) || c != 'S') {
			throw std::runtime_error("the spinning guest did not start");
		}
		const long hz = sysconf(_SC_CLK_TCK);
		const uint64_t t0 = host_worker_ticks();
		const auto start = Clock::now();
		std::this_thread::sleep_for(std::chrono::seconds(a.seconds));
		const uint64_t t1 = host_worker_ticks();
		const double wall = ms_since(start);
		const double cpu_ms =
		    static_cast<double>(t1 - t0) * 1000.0 / static_cast<double>(hz);
		const double share = 100.0 * cpu_ms / wall;
		const double limit = worker_limit * static_cast<double>(a.kinds.size());
		std::cout << mode << ": the guest spun on " << a.kinds.size() << " ring(s) for "
		          << static_cast<int>(wall) << " ms; host worker CPU time "
		          << static_cast<int>(cpu_ms) << " ms (" << std::lround(share)
		          << "% of one CPU, limit " << static_cast<int>(limit) << "%)\n";
		if (share > limit) {
			throw std::runtime_error(
			    "the spinning guest kept the host's kworkers busy");
		}

		put_byte(down_w.get(), 'C');
		if (!get_byte(up_r.get(), c, milliseconds(10000)) || c != 'K') {
			throw std::runtime_error("DEVCLOSE or the second setup failed or hung");
		}
		std::this_thread::sleep_for(milliseconds(500));
		const auto t = Clock::now();
		kill(child, SIGKILL);
		int status = 0;
		waitpid(child, &status, 0);
		const double kill_ms = ms_since(t);
		std::cout << "SIGKILL of the spinning VMM: gone after " << static_cast<int>(kill_ms)
		          << " ms\n";
		if (kill_ms >= static_cast<double>(teardown_limit.count())) {
			throw std::runtime_error("the spinning VMM took a second or more to die");
		}
		kill(-child, SIGKILL); // its spinner
	} catch (const std::exception &ex) {
		reap();
		std::cerr << "kvm-spin " << mode << ": " << ex.what() << "\n";
		return 1;
	}
	std::cout << "kvm-spin " << mode << ": ok\n";
	return 0;
}

// ---- an honest client of another container

int peer(const std::string &container, uint32_t devid)
{
	if (std::signal(SIGTERM, on_sigterm) == SIG_ERR) {
		fail("SIGTERM handler");
	}
	try {
		Vmm vmm(container);
		const uint32_t handle = vmm.dev_open(devid, VBUS_ECHO_VERSION, "the echo device");
		Ring r =
		    vmm.add_ring(handle, {VBUS_ECHO_SHM_RING, ring_gpa, ring_count}, "echo ring");
		uint64_t n = 0;
		double worst = 0;
		std::cout << "peer: ready" << std::endl;
		while (peer_stop == 0) {
			const auto t = Clock::now();
			if (!echo_round(vmm, r, ++n, round_trip_limit)) {
				throw std::runtime_error("round trip " + std::to_string(n) +
				                         " took a second or more");
			}
			worst = std::max(worst, ms_since(t));
			std::this_thread::sleep_for(milliseconds(10));
		}
		std::cout << "peer: " << n << " round trips, the slowest "
		          << static_cast<int>(worst) << " ms\n";
		if (n == 0) {
			throw std::runtime_error("no round trip");
		}
	} catch (const std::exception &ex) {
		std::cerr << "kvm-spin peer: " << ex.what() << "\n";
		return 1;
	}
	std::cout << "kvm-spin peer: ok\n";
	return 0;
}

// ---- finding the ring a move is for

int moved(const std::string &container, uint32_t devid)
{
	try {
		Vmm vmm(container);
		const uint32_t handle = vmm.dev_open(devid, VBUS_ECHO_VERSION, "the echo device");
		// Both rings start at an index whose descriptor lies, in a ring
		// of 16384, past the first ring's page.
		const uint32_t start = (page + 64) / sizeof(vbus_ioq_desc);
		RingPlace at(VBUS_ECHO_SHM_RING, ring_gpa, ring_count);
		at.len = page;
		at.start = start;
		Ring first;
		Vmm::must(vmm.try_add_ring(first, handle, at), "DEVSHM of a one-page ring");
		if (!echo_round(vmm, first, 1)) {
			throw std::runtime_error("the first ring is not served");
		}
		at.gpa = big_ring_gpa;
		at.count = big_ring_count;
		at.len = 0;
		Ring second;
		const int64_t ret = vmm.try_add_ring(second, handle, at);
		std::cout << "a second ring of " << big_ring_count << " entries: "
		          << (ret == 0 ? "accepted" : std::strerror(static_cast<int>(-ret)))
		          << "\n";
		// Whatever the answer, the move below must stay within the first ring.

		// The VMM replaces the first ring's page by a copy of it.
		const GuestMemory copy = GuestMemory::memfd("ring-page", page);
		const auto ring_page = vmm.mem().subspan(ring_gpa, page);
		std::ranges::copy(ring_page, copy.bytes().begin());
		if (mmap(ring_page.data(), page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		         copy.fd(), 0) == MAP_FAILED) {
			fail("mmap(MAP_FIXED) over the first ring");
		}
		for (uint64_t n = 2; n < 2 + 2 * ring_count; n++) {
			if (!echo_round(vmm, first, n)) {
				throw std::runtime_error(
				    "the ring is not served in its new page (buffer " +
				    std::to_string(n) + ")");
			}
		}
		std::cout << "the device follows the ring into its new page: " << 2 * ring_count
		          << " buffers echoed\n";
		vmm.dev_close(handle);
		if (ret != -EBUSY) {
			throw std::runtime_error("a second ring on one connection was not refused "
			                         "with EBUSY");
		}
	} catch (const std::exception &ex) {
		std::cerr << "kvm-spin moved: " << ex.what() << "\n";
		return 1;
	}
	std::cout << "kvm-spin moved: ok\n";
	return 0;
}

// ---- a stream without pauses

int stream(const std::string &container, uint32_t devid, uint64_t count)
{
	try {
		Vmm vmm(container);
		const uint32_t handle = vmm.dev_open(devid, VBUS_ECHO_VERSION, "the echo device");
		RingPlace at(VBUS_ECHO_SHM_RING, ring_gpa, ring_count);
		at.notify = false; // the stream watches the ring itself
		Ring r = vmm.add_ring(handle, at, "echo ring");
		uint64_t rung = 0;
		for (uint64_t n = 1; n <= count; n++) {
			vbus_ioq_buf buf{n, buf_gpa, buf_len, 0};
			if (vbus_ioq_drv_post(&r.q, &buf) != 0) {
				throw std::runtime_error("the echo ring is full");
			}
			if (vbus_ioq_drv_publish(&r.q)) {
				vmm.ring(r.slot);
				rung++;
			}
			const auto t = Clock::now();
			int ret = 0;
			while ((ret = vbus_ioq_drv_reclaim(&r.q, &buf)) == -EAGAIN) {
				if (Clock::now() - t > round_trip_limit) {
					throw std::runtime_error("buffer " + std::to_string(n) +
					                         " not back within a second");
				}
			}
			if (ret != 0 || buf.cookie != n || buf.len != buf_len) {
				throw std::runtime_error(
				    "the echo device broke the ring at buffer " +
				    std::to_string(n));
			}
		}
		std::cout << "stream: " << count << " buffers, " << rung << " doorbells\n";
		vmm.dev_close(handle);
	} catch (const std::exception &ex) {
		std::cerr << "kvm-spin stream: " << ex.what() << "\n";
		return 1;
	}
	std::cout << "kvm-spin stream: ok\n";
	return 0;
}

int usage()
{
	std::cerr << "usage: kvm-spin all CONTAINER ECHO_ID VENET_ID IFNAME SECONDS\n"
	             "       kvm-spin echo CONTAINER ECHO_ID SECONDS\n"
	             "       kvm-spin tx|rx|event CONTAINER VENET_ID IFNAME SECONDS\n"
	             "       kvm-spin peer|moved CONTAINER ECHO_ID\n"
	             "       kvm-spin stream CONTAINER ECHO_ID COUNT\n";
	return 2;
}

} // namespace

int main(int argc, char **argv)
{
	const std::vector<std::string> args(argv + 1, argv + argc); // NOLINT
	if (args.empty()) {
		return usage();
	}
	const std::string &mode = args[0];
	try {
		if ((mode == "peer" || mode == "moved") && args.size() == 3) {
			const auto devid = static_cast<uint32_t>(std::stoul(args[2]));
			return mode == "peer" ? peer(args[1], devid) : moved(args[1], devid);
		}
		if (mode == "stream" && args.size() == 4) {
			return stream(args[1], static_cast<uint32_t>(std::stoul(args[2])),
			              std::stoull(args[3]));
		}
		SpinArgs a;
		const auto id = [](const std::string &arg) {
			return static_cast<uint32_t>(std::stoul(arg));
		};
		if (mode == "all" && args.size() == 6) {
			a.kinds = std::vector<Kind>{Kind::echo, Kind::tx, Kind::rx, Kind::event};
			a.echo_id = id(args[2]);
			a.venet_id = id(args[3]);
			a.ifname = args[4];
		} else if (mode == "echo" && args.size() == 4) {
			a.kinds = std::vector<Kind>{Kind::echo};
			a.echo_id = id(args[2]);
		} else if ((mode == "tx" || mode == "rx" || mode == "event") && args.size() == 5) {
			a.kinds = std::vector<Kind>{mode == "tx"   ? Kind::tx
			                            : mode == "rx" ? Kind::rx
			                                           : Kind::event};
			a.venet_id = id(args[2]);
			a.ifname = args[3];
		} else {
			return usage();
		}
		a.container = args[1];
		a.seconds = id(args.back());
		return spin(a, mode);
	} catch (const std::exception &ex) {
		std::cerr << "kvm-spin: " << ex.what() << "\n";
		return 1;
	}
}

// NOLINTEND(cppcoreguidelines-pro-type-union-access)
