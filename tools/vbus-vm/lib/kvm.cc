// SPDX-License-Identifier: GPL-2.0
//
// KVM ioctls.

#include "kvm.hh"

#include "error.hh"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <memory>
#include <utility>

namespace vbusvm
{

namespace
{

constexpr int kApiVersion = 12;
constexpr std::uint64_t kPitFlags = KVM_PIT_SPEAKER_DUMMY;

struct Capability {
	unsigned cap;
	const char *name;
};

constexpr std::array<Capability, 12> kRequired = {{
    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
    {KVM_CAP_HLT, "KVM_CAP_HLT"},
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
    {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
    {KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
    {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"},
    {KVM_CAP_IRQFD, "KVM_CAP_IRQFD"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
    {KVM_CAP_PIT_STATE2, "KVM_CAP_PIT_STATE2"},
    {KVM_CAP_XCRS, "KVM_CAP_XCRS"},
}};

constexpr std::size_t kMaxCpuid = 256;
constexpr std::size_t kMaxMsrs = 32;

// struct kvm_cpuid2, kvm_msrs and kvm_irq_routing with room for their
// entries.  Not the uapi structs themselves: in C++ their
// __DECLARE_FLEX_ARRAY adds an empty struct of one byte and moves the
// entries off the offset the kernel uses (8).
constexpr std::size_t kEntriesOffset = 8;
struct CpuidTable {
	std::uint32_t nent = 0;
	std::uint32_t padding = 0;
	std::array<kvm_cpuid_entry2, kMaxCpuid> entries{};
};
static_assert(offsetof(CpuidTable, entries) == kEntriesOffset);

struct MsrTable {
	std::uint32_t nmsrs = 0;
	std::uint32_t pad = 0;
	std::array<kvm_msr_entry, kMaxMsrs> entries{};
};
static_assert(offsetof(MsrTable, entries) == kEntriesOffset);

// The ioctls that take those structs, numbered with their C size (8):
// the uapi macros would encode the C++ size and the kernel would not
// know them.
struct FlexHeader {
	std::uint32_t count;
	std::uint32_t pad;
};
constexpr unsigned long kGetSupportedCpuid = _IOWR(KVMIO, 0x05, FlexHeader);
constexpr unsigned long kSetCpuid2 = _IOW(KVMIO, 0x90, FlexHeader);
constexpr unsigned long kSetMsrs = _IOW(KVMIO, 0x89, FlexHeader);
constexpr unsigned long kSetGsiRouting = _IOW(KVMIO, 0x6a, FlexHeader);
static_assert(kGetSupportedCpuid == 0xc008ae05 && kSetCpuid2 == 0x4008ae90 &&
              kSetMsrs == 0x4008ae89 && kSetGsiRouting == 0x4008ae6a);

constexpr std::size_t kMaxRoutes = 4096; // KVM_MAX_IRQ_ROUTES on x86

struct RoutingTable {
	std::uint32_t nr = 0;
	std::uint32_t flags = 0;
	std::array<kvm_irq_routing_entry, kMaxRoutes> entries{};
};
static_assert(offsetof(RoutingTable, entries) == kEntriesOffset);

template <typename... Args> int xioctl(int fd, unsigned long request, Args... args)
{
	int ret = 0;
	do {
		ret = ::ioctl(fd, request, args...);
	} while (ret < 0 && errno == EINTR);
	return ret;
}

std::string kvm_hint(int err)
{
	switch (err) {
	case ENOENT:
	case ENODEV:
	case ENXIO:
		return "is kvm_intel or kvm_amd loaded?";
	case EACCES:
	case EPERM:
		return "no permission: is the user in the kvm group?";
	default:
		return {};
	}
}

} // namespace

Kvm::Kvm(std::string path) : path_(std::move(path))
{
	fd_ = Fd(::open(path_.c_str(), O_RDWR | O_CLOEXEC));
	if (!fd_) {
		const int err = errno;
		throw Error::from_errno(path_, "open", err, kvm_hint(err));
	}
	const int version = xioctl(fd_.get(), KVM_GET_API_VERSION, 0);
	if (version < 0) {
		throw_errno(path_, "KVM_GET_API_VERSION", "is it a KVM device?");
	}
	if (version != kApiVersion) {
		throw Error(path_, "KVM_GET_API_VERSION",
		            "API version " + std::to_string(version) + ", need " +
		                std::to_string(kApiVersion));
	}
	for (const auto &c : kRequired) {
		if (!has(c.cap)) {
			throw Error(path_, "KVM_CHECK_EXTENSION",
			            std::string(c.name) + " is not supported");
		}
	}
}

bool Kvm::has(unsigned cap) const
{
	return xioctl(fd_.get(), KVM_CHECK_EXTENSION, cap) > 0;
}

std::size_t Kvm::vcpu_mmap_size() const
{
	const int size = xioctl(fd_.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < 0) {
		throw_errno(path_, "KVM_GET_VCPU_MMAP_SIZE");
	}
	return static_cast<std::size_t>(size);
}

std::vector<kvm_cpuid_entry2> Kvm::supported_cpuid() const
{
	auto table = std::make_unique<CpuidTable>();
	table->nent = kMaxCpuid;
	if (xioctl(fd_.get(), kGetSupportedCpuid, table.get()) < 0) {
		throw_errno(path_, "KVM_GET_SUPPORTED_CPUID");
	}
	return {table->entries.begin(), std::next(table->entries.begin(), table->nent)};
}

Vm::Vm(const Kvm &kvm)
{
	fd_ = Fd(xioctl(kvm.fd(), KVM_CREATE_VM, 0));
	if (!fd_) {
		throw_errno(kvm.path(), "KVM_CREATE_VM");
	}
}

void Vm::set_tss_addr(std::uint64_t addr) const
{
	if (xioctl(fd_.get(), KVM_SET_TSS_ADDR, addr) < 0) {
		throw_errno("VM", "KVM_SET_TSS_ADDR");
	}
}

void Vm::set_halt_poll_ns(unsigned ns) const
{
	kvm_enable_cap cap{};
	cap.cap = KVM_CAP_HALT_POLL;
	cap.args[0] = ns;
	if (xioctl(fd_.get(), KVM_ENABLE_CAP, &cap) < 0) {
		throw_errno("VM", "KVM_ENABLE_CAP (KVM_CAP_HALT_POLL " + std::to_string(ns) + ")");
	}
}

void Vm::set_memory(std::uint32_t slot, std::uint64_t gpa, std::span<std::uint8_t> host) const
{
	kvm_userspace_memory_region region{};
	region.slot = slot;
	region.guest_phys_addr = gpa;
	region.memory_size = host.size();
	region.userspace_addr = reinterpret_cast<std::uintptr_t>(host.data()); // NOLINT: KVM ABI
	if (xioctl(fd_.get(), KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		throw_errno("VM", "KVM_SET_USER_MEMORY_REGION (slot " + std::to_string(slot) + ")");
	}
}

void Vm::create_irqchip() const
{
	if (xioctl(fd_.get(), KVM_CREATE_IRQCHIP, 0) < 0) {
		throw_errno("VM", "KVM_CREATE_IRQCHIP");
	}
}

void Vm::create_pit() const
{
	kvm_pit_config pit{};
	pit.flags = kPitFlags;
	if (xioctl(fd_.get(), KVM_CREATE_PIT2, &pit) < 0) {
		throw_errno("VM", "KVM_CREATE_PIT2");
	}
}

void Vm::irq_line(unsigned gsi, bool level) const
{
	kvm_irq_level irq{};
	irq.irq = gsi; // NOLINT(cppcoreguidelines-pro-type-union-access): KVM ABI
	irq.level = level ? 1 : 0;
	if (xioctl(fd_.get(), KVM_IRQ_LINE, &irq) < 0) {
		throw_errno("VM", "KVM_IRQ_LINE (GSI " + std::to_string(gsi) + ")");
	}
}

void Vm::set_routing(std::span<const kvm_irq_routing_entry> routes) const
{
	auto table = std::make_unique<RoutingTable>();
	if (routes.size() > table->entries.size()) {
		throw Error("VM", "KVM_SET_GSI_ROUTING", "too many routes");
	}
	table->nr = static_cast<std::uint32_t>(routes.size());
	std::copy(routes.begin(), routes.end(), table->entries.begin());
	if (xioctl(fd_.get(), kSetGsiRouting, table.get()) < 0) {
		throw_errno("VM", "KVM_SET_GSI_ROUTING");
	}
}

void Vm::irqfd(int fd, unsigned gsi, bool assign) const
{
	kvm_irqfd irqfd{};
	irqfd.fd = static_cast<std::uint32_t>(fd);
	irqfd.gsi = gsi;
	irqfd.flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN;
	if (xioctl(fd_.get(), KVM_IRQFD, &irqfd) < 0) {
		throw_errno("VM", std::string("KVM_IRQFD ") + (assign ? "assign" : "deassign") +
		                      " (GSI " + std::to_string(gsi) + ")");
	}
}

void Vm::ioeventfd(int fd, std::uint16_t port, unsigned len, bool assign) const
{
	kvm_ioeventfd ioev{};
	ioev.addr = port;
	ioev.len = len;
	ioev.fd = fd;
	ioev.flags = KVM_IOEVENTFD_FLAG_PIO | (assign ? 0U : KVM_IOEVENTFD_FLAG_DEASSIGN);
	if (xioctl(fd_.get(), KVM_IOEVENTFD, &ioev) < 0) {
		throw_errno("VM", std::string("KVM_IOEVENTFD ") + (assign ? "assign" : "deassign") +
		                      " (port " + std::to_string(port) + ")");
	}
}

Fd Vm::create_vcpu(unsigned id) const
{
	Fd fd(xioctl(fd_.get(), KVM_CREATE_VCPU, id));
	if (!fd) {
		throw_errno("VM", "KVM_CREATE_VCPU " + std::to_string(id));
	}
	return fd;
}

Vcpu::Vcpu(const Kvm &kvm, const Vm &vm, unsigned id)
    : id_(id), name_("vCPU " + std::to_string(id)), fd_(vm.create_vcpu(id))
{
	const std::size_t size = kvm.vcpu_mmap_size();
	void *addr = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), 0);
	if (addr == MAP_FAILED) {
		throw_errno(name_, "mmap kvm_run");
	}
	run_ = Mapping(addr, size);
}

void Vcpu::set_cpuid(std::span<const kvm_cpuid_entry2> entries) const
{
	auto table = std::make_unique<CpuidTable>();
	if (entries.size() > table->entries.size()) {
		throw Error(name_, "KVM_SET_CPUID2", "too many entries");
	}
	table->nent = static_cast<std::uint32_t>(entries.size());
	std::copy(entries.begin(), entries.end(), table->entries.begin());
	if (xioctl(fd_.get(), kSetCpuid2, table.get()) < 0) {
		throw_errno(name_, "KVM_SET_CPUID2");
	}
}

kvm_sregs Vcpu::sregs() const
{
	kvm_sregs sregs{};
	if (xioctl(fd_.get(), KVM_GET_SREGS, &sregs) < 0) {
		throw_errno(name_, "KVM_GET_SREGS");
	}
	return sregs;
}

kvm_regs Vcpu::regs() const
{
	kvm_regs regs{};
	if (xioctl(fd_.get(), KVM_GET_REGS, &regs) < 0) {
		throw_errno(name_, "KVM_GET_REGS");
	}
	return regs;
}

void Vcpu::set_sregs(const kvm_sregs &sregs) const
{
	if (xioctl(fd_.get(), KVM_SET_SREGS, &sregs) < 0) {
		throw_errno(name_, "KVM_SET_SREGS");
	}
}

void Vcpu::set_regs(const kvm_regs &regs) const
{
	if (xioctl(fd_.get(), KVM_SET_REGS, &regs) < 0) {
		throw_errno(name_, "KVM_SET_REGS");
	}
}

void Vcpu::set_fpu(const kvm_fpu &fpu) const
{
	if (xioctl(fd_.get(), KVM_SET_FPU, &fpu) < 0) {
		throw_errno(name_, "KVM_SET_FPU");
	}
}

void Vcpu::set_msrs(std::span<const kvm_msr_entry> msrs) const
{
	MsrTable table;
	if (msrs.size() > table.entries.size()) {
		throw Error(name_, "KVM_SET_MSRS", "too many MSRs");
	}
	table.nmsrs = static_cast<std::uint32_t>(msrs.size());
	std::copy(msrs.begin(), msrs.end(), table.entries.begin());
	const int set = xioctl(fd_.get(), kSetMsrs, &table);
	if (set < 0) {
		throw_errno(name_, "KVM_SET_MSRS");
	}
	if (static_cast<std::size_t>(set) < msrs.size()) {
		throw Error(name_, "KVM_SET_MSRS",
		            "MSR " + hex(msrs[static_cast<std::size_t>(set)].index) + " refused");
	}
}

void Vcpu::set_xcr0(std::uint64_t xcr0) const
{
	kvm_xcrs xcrs{};
	xcrs.nr_xcrs = 1;
	xcrs.xcrs[0].xcr = 0;
	xcrs.xcrs[0].value = xcr0;
	if (xioctl(fd_.get(), KVM_SET_XCRS, &xcrs) < 0) {
		throw_errno(name_, "KVM_SET_XCRS (XCR0 " + hex(xcr0) + ")");
	}
}

kvm_lapic_state Vcpu::lapic() const
{
	kvm_lapic_state lapic{};
	if (xioctl(fd_.get(), KVM_GET_LAPIC, &lapic) < 0) {
		throw_errno(name_, "KVM_GET_LAPIC");
	}
	return lapic;
}

void Vcpu::set_lapic(const kvm_lapic_state &lapic) const
{
	if (xioctl(fd_.get(), KVM_SET_LAPIC, &lapic) < 0) {
		throw_errno(name_, "KVM_SET_LAPIC");
	}
}

int Vcpu::run() const noexcept
{
	if (::ioctl(fd_.get(), KVM_RUN, 0) < 0) {
		return errno;
	}
	return 0;
}

void Vcpu::request_exit() const noexcept
{
	std::atomic_ref<std::uint8_t>(run_state().immediate_exit).store(1);
}

} // namespace vbusvm
