/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The KVM connector: how a KVM guest reaches a vbus container.
 *
 * Two interfaces live here.
 *
 * 1. The VMM <-> host kernel interface: the character device
 *    /dev/vbus-kvm.  A VMM opens it, binds its VM (by the VM's fd) to a
 *    container with VBUS_KVM_BIND, hands over the eventfds of its
 *    doorbells (KVM_IOEVENTFD) and of its interrupt vectors (KVM_IRQFD),
 *    and forwards the guest's calls with VBUS_KVM_CALL.  Closing the fd
 *    (or the VMM's death) detaches the guest and releases everything.
 *    An ioctl's argument size is the one encoded in its number, and
 *    nothing else (see "The ioctl argument rule" below).
 *
 * 2. The guest <-> host interface: the "vbus bridge", a PCI function the
 *    VMM exposes to the guest (vendor VBUS_KVM_PCI_VENDOR, device
 *    VBUS_KVM_PCI_DEVICE).  BAR 0 (port I/O) holds the call register,
 *    BAR 1 (port I/O) the doorbells, one 32-bit port per doorbell slot,
 *    and MSI-X carries the interrupts: vector 0 for bus events, the others
 *    for the signals the guest assigns to them.
 *
 * A call: the guest fills a struct vbus_kvm_call in a page of its memory
 * and writes that page's frame number (guest physical address >> 12) to
 * the call register.  The write exits to the VMM, which passes it to the
 * kernel with VBUS_KVM_CALL; when the guest's vCPU resumes, the call is
 * done and @result holds its outcome.  Calls are the control path.
 *
 * A doorbell (SHMSIGNAL, the data path): a 32-bit write of any value to
 * the doorbell slot's port.  The VMM registered a KVM ioeventfd on it,
 * so the write never leaves the kernel.  A slot is assigned to a signal
 * by VBUS_KVM_OP_DEVSHM; slots with no ioeventfd exit to the VMM, which
 * ignores them.
 *
 * All multi-byte fields are little-endian; all addresses are guest
 * physical addresses.
 */
#ifndef _UAPI_VBUS_KVM_H
#define _UAPI_VBUS_KVM_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* ---- the vbus bridge PCI function ---- */

/* Not assigned by the PCI-SIG: the project's own ids, see abi.rst. */
#define VBUS_KVM_PCI_VENDOR	0x7662		/* "vb" */
#define VBUS_KVM_PCI_DEVICE	0x0001
#define VBUS_KVM_PCI_CLASS	0x068000	/* bridge, other */

#define VBUS_KVM_BAR_CALL	0	/* port I/O, 16 bytes */
#define VBUS_KVM_BAR_DOORBELL	1	/* port I/O, 4 bytes per slot */
#define VBUS_KVM_BAR_MSIX	2	/* memory: MSI-X table and PBA */

/* BAR 0 registers (32-bit writes) */
#define VBUS_KVM_REG_CALL	0x0	/* write: call page frame number */
#define VBUS_KVM_CALL_BAR_SIZE	16

#define VBUS_KVM_DOORBELL_STRIDE 4	/* slot n: BAR 1 + 4 * n */

/* MSI-X vector 0: bus events are waiting (VBUS_KVM_OP_EVENT). */
#define VBUS_KVM_VECTOR_EVENTS	0

#define VBUS_KVM_VERSION	1

/* ---- guest calls ---- */

enum vbus_kvm_op {
	VBUS_KVM_OP_HELLO = 1,	/* version handshake; first call; resets */
	VBUS_KVM_OP_EVENT,	/* fetch the next bus event */
	VBUS_KVM_OP_DEVOPEN,
	VBUS_KVM_OP_DEVCLOSE,
	VBUS_KVM_OP_DEVCALL,
	VBUS_KVM_OP_DEVSHM,
	VBUS_KVM_OP_RESET,	/* close everything; no session until HELLO */
};

/*
 * Starting over.  A HELLO begins a new session: the host first closes
 * every connection the guest has open (their doorbell slots become free
 * and the host stops writing to their memory, as for DEVCLOSE), drops
 * the bus events the guest has not fetched and queues a DEVADD for every
 * device in the container, as for a guest that has just booted.  A
 * kernel that replaces the running one without a reset of the machine
 * (kexec) thus finds the bus as a first boot does.  VBUS_KVM_OP_RESET
 * (no arguments) does the same closing and dropping, queues nothing and
 * ends the session: every call but HELLO and RESET fails with -ENOTCONN
 * until the next HELLO, and no bus-event interrupt is raised meanwhile.
 * A guest issues it when it shuts down, so that the host stops writing
 * to memory the next kernel will reuse.  Both are allowed at any time; a
 * host that predates RESET answers it -EOPNOTSUPP (-ENOTCONN before a
 * HELLO).
 */

/**
 * struct vbus_kvm_hello - VBUS_KVM_OP_HELLO
 * @version:	in: the highest version the guest speaks; out: agreed
 * @reserved:	zero
 */
struct vbus_kvm_hello {
	__le32 version;
	__le32 reserved;
};

enum vbus_kvm_event_type {
	VBUS_KVM_EVENT_NONE = 0,	/* the queue is empty */
	VBUS_KVM_EVENT_DEVADD,		/* @devid of @type appeared */
	VBUS_KVM_EVENT_DEVDROP,		/* @devid left */
};

/**
 * struct vbus_kvm_event - VBUS_KVM_OP_EVENT: the oldest queued bus event
 * @type:	out: enum vbus_kvm_event_type
 * @devid:	out: the device's id in the container
 * @type_len:	in: room in @name; out: length of the type string (no
 *		NUL).  An event whose type does not fit fails with
 *		-ENAMETOOLONG and stays queued.
 * @reserved:	zero
 * @name:	out: the device's interface type, for DEVADD
 */
struct vbus_kvm_event {
	__le32 type;
	__le32 devid;
	__le32 type_len;
	__le32 reserved;
	char name[];
};

/**
 * struct vbus_kvm_devopen - VBUS_KVM_OP_DEVOPEN
 * @devid:	in: device id in the container
 * @version:	in: highest interface version the driver speaks; out: agreed
 * @handle:	out: the connection handle
 * @reserved:	zero
 */
struct vbus_kvm_devopen {
	__le32 devid;
	__le32 version;
	__le32 handle;
	__le32 reserved;
};

/**
 * struct vbus_kvm_devclose - VBUS_KVM_OP_DEVCLOSE
 * @handle:	the connection; its signals and doorbell slots go with it
 * @reserved:	zero
 */
struct vbus_kvm_devclose {
	__le32 handle;
	__le32 reserved;
};

/**
 * struct vbus_kvm_devcall - VBUS_KVM_OP_DEVCALL
 * @handle:	the connection
 * @func:	device-defined function
 * @flags:	device-defined flags
 * @len:	length of the argument buffer
 * @data:	guest physical address of the argument buffer (in and out)
 */
struct vbus_kvm_devcall {
	__le32 handle;
	__le32 func;
	__le32 flags;
	__le32 len;
	__le64 data;
};

/**
 * struct vbus_kvm_devshm - VBUS_KVM_OP_DEVSHM: register a shared region
 * @handle:	the connection
 * @id:		device-defined purpose of the region
 * @addr:	guest physical address of the region
 * @len:	its length
 * @cookie:	the guest's name for the region's notifications (opaque to
 *		the host; unique among the guest's open regions)
 * @vector:	the MSI-X vector that carries its notifications (not 0)
 * @slot:	out: the doorbell slot that signals the region
 */
struct vbus_kvm_devshm {
	__le32 handle;
	__le32 id;
	__le64 addr;
	__le64 len;
	__le64 cookie;
	__le32 vector;
	__le32 slot;
};

/**
 * struct vbus_kvm_call - the call page
 * @op:		enum vbus_kvm_op
 * @reserved:	zero
 * @result:	out: the call's result, >= 0, or a negative errno
 * @u:		the operation's arguments, at offset 16; the page's
 *		remaining bytes belong to the call (a DEVADD event's type)
 */
struct vbus_kvm_call {
	__le32 op;
	__le32 reserved;
	__le64 result;
	union {
		struct vbus_kvm_hello hello;
		struct vbus_kvm_event event;
		struct vbus_kvm_devopen devopen;
		struct vbus_kvm_devclose devclose;
		struct vbus_kvm_devcall devcall;
		struct vbus_kvm_devshm devshm;
	} u;
};

/* ---- /dev/vbus-kvm ---- */

/*
 * The ioctl argument rule.  An ioctl's argument size is the one encoded
 * in its number (_IOC_SIZE), and nothing else: the structs carry no size
 * of their own, so strace, valgrind and the kernel agree on every byte
 * the kernel reads or writes.  The kernel matches an ioctl by type,
 * number and direction, not by size, and then
 *  - refuses a size smaller than the argument's first published size
 *    (VBUS_KVM_*_SIZE_VER0) with EINVAL;
 *  - reads an _IOW/_IOWR argument of a larger size than it knows when
 *    the bytes beyond its own struct are all zero, and refuses it with
 *    E2BIG otherwise (as copy_struct_from_user() does);
 *  - writes, for an _IOR/_IOWR argument, the first min(size, its own)
 *    bytes and zeroes the rest of the caller's size.
 * _IOC_SIZE is at most 16383, so no argument makes the kernel touch more
 * user memory than that.  A struct grows only at its end; the grown
 * struct keeps the ioctl's number and gets the larger size (a new cmd
 * value), so binaries built for the old size keep working and strace
 * decodes each by its number.  An ioctl refused for its argument changes
 * nothing.
 */

#define VBUS_KVM_IOC_MAGIC	0xbc

/**
 * struct vbus_kvm_bind - VBUS_KVM_BIND: attach a VM to a container
 * @vm_fd:	the VM, from KVM_CREATE_VM
 * @container_len: length in bytes of the container's name (no NUL)
 * @container:	user address of the container's name
 *
 * The caller needs CAP_NET_ADMIN or the container's owner uid or gid.
 * It becomes the VM's VMM for the host: the guest's memory is its
 * memory, as its VBUS_KVM_SET_MEM_TABLE describes; its memory cgroup
 * and RLIMIT_MEMLOCK pay for what the guest makes the host hold; and
 * only it may forward the guest's calls.  One VM binds to one
 * container, once, and only the process that created it binds it.
 * Errors: ENOENT (no such container), EACCES (not allowed on that
 * container), EBADF or EINVAL (not a VM fd), EPERM (the VM is another
 * process's), EBUSY (this fd or this VM is bound already), EINVAL (an
 * empty name, or one with a NUL), ENAMETOOLONG.
 */
struct vbus_kvm_bind {
	__s32 vm_fd;
	__u32 container_len;
	__u64 container;
};

#define VBUS_KVM_BIND_SIZE_VER0		16	/* first published */

/**
 * struct vbus_kvm_eventfd - VBUS_KVM_SET_VECTOR / VBUS_KVM_SET_DOORBELL
 * @index:	the MSI-X vector, or the doorbell slot
 * @fd:		an eventfd: for a vector, the one given to KVM_IRQFD for
 *		it; for a slot, the one given to KVM_IOEVENTFD for its
 *		port.  -1 removes it.
 */
struct vbus_kvm_eventfd {
	__u32 index;
	__s32 fd;
};

#define VBUS_KVM_EVENTFD_SIZE_VER0	8	/* first published */

/**
 * struct vbus_kvm_guest_call - VBUS_KVM_CALL: run the guest's call
 * @gpa:	guest physical address of the call page (page-aligned)
 *
 * Returns 0 when the call ran (its result is in the guest's page), or
 * an errno when the page itself could not be used (EINVAL: not
 * page-aligned; EFAULT: not in the guest's memory table).  Only the
 * process that bound the VM forwards calls (EPERM).
 */
struct vbus_kvm_guest_call {
	__u64 gpa;
};

#define VBUS_KVM_GUEST_CALL_SIZE_VER0	8	/* first published */

/**
 * struct vbus_kvm_limits - VBUS_KVM_GET_LIMITS: what one VM may hold
 * @doorbells:	doorbell slots: VBUS_KVM_SET_DOORBELL takes indexes 0 to
 *		@doorbells - 1 (EINVAL past them)
 * @vectors:	interrupt vectors: VBUS_KVM_SET_VECTOR takes indexes 0 to
 *		@vectors - 1 (EINVAL past them)
 * @connections: open connections (DEVOPEN fails with ENOSPC past them)
 * @regions:	shared regions per connection (DEVSHM: ENOSPC); each also
 *		takes a doorbell slot
 * @region_len:	the longest shared region in bytes (DEVSHM: EINVAL)
 * @events:	bus events queued for a guest that does not fetch them;
 *		later ones are lost
 * @mem_regions: entries in the guest's memory table
 *		(VBUS_KVM_SET_MEM_TABLE: E2BIG past them)
 *
 * Implementation limits of the running kernel, which may change between
 * versions: a VMM reads them at run time.  Needs no bind.  Pinned guest
 * pages also count against the VMM's RLIMIT_MEMLOCK, and everything the
 * connector allocates for the VM against its memory cgroup (ENOMEM).
 */
struct vbus_kvm_limits {
	__u32 doorbells;
	__u32 vectors;
	__u32 connections;
	__u32 regions;
	__u64 region_len;
	__u32 events;
	__u32 mem_regions;
};

#define VBUS_KVM_LIMITS_SIZE_VER0	32	/* first published */

/**
 * struct vbus_kvm_mem_region - one range of the guest's memory
 * @gpa:	guest physical address of its first byte (4096-aligned)
 * @size:	its length in bytes (a non-zero multiple of 4096)
 * @uaddr:	where the VMM maps its first byte (4096-aligned): the
 *		memory the VMM gave KVM for these guest addresses
 * @flags:	0
 */
struct vbus_kvm_mem_region {
	__u64 gpa;
	__u64 size;
	__u64 uaddr;
	__u64 flags;
};

#define VBUS_KVM_MEM_REGION_SIZE_VER0	32	/* first published */

/**
 * struct vbus_kvm_mem_table - VBUS_KVM_SET_MEM_TABLE: the guest's memory
 * @regions:	user address of an array of @nregions entries of
 *		@region_size bytes, each a struct vbus_kvm_mem_region
 * @nregions:	its entries; 0 leaves the host no guest memory at all
 * @region_size: the size of one entry as the caller knows it, under the
 *		rule of the ioctls' arguments: at least
 *		VBUS_KVM_MEM_REGION_SIZE_VER0 (EINVAL), at most 4096
 *		(E2BIG), and any bytes beyond the kernel's struct zero
 *		(E2BIG)
 *
 * The host reaches guest memory only through this table: a guest
 * address that no entry covers is out of reach (the call or the access
 * fails with EFAULT).  The VMM sets it after VBUS_KVM_BIND and before it
 * runs the guest, and sets it again, whole, whenever it changes the
 * guest's memory map (KVM_SET_USER_MEMORY_REGION).  The new table
 * replaces the old one at once: shared regions the guest registered
 * follow it to the new memory (or keep the old pages, pinned, while the
 * new table does not cover them).  Replacing the memory behind an entry
 * in the VMM's address space (munmap, mmap MAP_FIXED) needs no new
 * table: the host notices it by itself.
 *
 * Entries must not overlap in guest addresses; their order does not
 * matter.  The caller must be the process that bound the VM (EPERM),
 * the addresses user addresses (EFAULT).  Errors: EINVAL (an address
 * or size not aligned, a zero size, a range that wraps, an overlap, a
 * non-zero @flags), E2BIG (more entries than the limit
 * VBUS_KVM_GET_LIMITS reports, or see @region_size), ENOTCONN (not
 * bound yet), ENOMEM.  A refused table changes nothing.
 */
struct vbus_kvm_mem_table {
	__u64 regions;
	__u32 nregions;
	__u32 region_size;
};

#define VBUS_KVM_MEM_TABLE_SIZE_VER0	16	/* first published */

#define VBUS_KVM_BIND		_IOW(VBUS_KVM_IOC_MAGIC, 0x01, struct vbus_kvm_bind)
#define VBUS_KVM_SET_VECTOR	_IOW(VBUS_KVM_IOC_MAGIC, 0x02, struct vbus_kvm_eventfd)
#define VBUS_KVM_SET_DOORBELL	_IOW(VBUS_KVM_IOC_MAGIC, 0x03, struct vbus_kvm_eventfd)
#define VBUS_KVM_CALL		_IOW(VBUS_KVM_IOC_MAGIC, 0x04, struct vbus_kvm_guest_call)
#define VBUS_KVM_GET_LIMITS	_IOR(VBUS_KVM_IOC_MAGIC, 0x05, struct vbus_kvm_limits)
#define VBUS_KVM_SET_MEM_TABLE	_IOW(VBUS_KVM_IOC_MAGIC, 0x06, struct vbus_kvm_mem_table)

#endif /* _UAPI_VBUS_KVM_H */
