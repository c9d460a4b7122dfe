/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vbus IOQ: the shared-memory descriptor ring between a driver (the side
 * that owns the memory and posts buffers, usually the guest) and a device
 * (the side that consumes and completes them, usually the host).
 *
 * The ring is in order.  The driver fills descriptors and publishes them
 * by advancing @avail_idx; the device consumes them in the same order,
 * writes the bytes it used into each descriptor's @len and hands them
 * back by advancing @used_idx.  Descriptor i (modulo @count) belongs to
 * the device while used_idx <= i < avail_idx in free-running u32
 * arithmetic, and to the driver otherwise: ownership passes with the
 * indices, never with per-descriptor flags.
 *
 * Each index sits on a cache line of its own, written by one side only.
 * Two shm-signals suppress notifications: @dev_signal is raised by the
 * driver when it publishes (a doorbell to the device), @drv_signal by the
 * device when it completes (an interrupt to the driver).
 *
 * All fields are little-endian.  Documentation/vbus/abi.rst has the byte
 * layout.
 */
#ifndef _UAPI_VBUS_IOQ_H
#define _UAPI_VBUS_IOQ_H

#include <linux/types.h>
#include <vbus/shm_signal.h>

#define VBUS_IOQ_MAGIC		0x76696f71	/* "vioq" */
#define VBUS_IOQ_VERSION	1
/*
 * A ring starts on a boundary of this many bytes, a cache line: each
 * index then has its line to itself, and no atomic access to a signal
 * crosses two lines.
 */
#define VBUS_IOQ_ALIGN		64

/**
 * struct vbus_ioq_desc - one buffer
 * @cookie:	opaque to the device, which returns it unchanged
 * @addr:	buffer address in the driver's memory, as the connector
 *		defines it (a guest physical address under KVM)
 * @len:	buffer size when posted; bytes used when completed
 * @flags:	defined by the device protocol using the ring
 * @reserved:	zero
 */
struct vbus_ioq_desc {
	__le64 cookie;
	__le64 addr;
	__le32 len;
	__le32 flags;
	__le64 reserved;
};

/**
 * struct vbus_ioq_head - ring header, followed by @count descriptors
 * @magic:	%VBUS_IOQ_MAGIC
 * @version:	%VBUS_IOQ_VERSION
 * @count:	number of descriptors, a power of two
 * @flags:	zero
 * @pad0:	zero
 * @avail_idx:	written by the driver: descriptors published so far
 * @pad1:	zero
 * @used_idx:	written by the device: descriptors completed so far
 * @pad2:	zero
 * @dev_signal:	driver to device: new descriptors are available
 * @drv_signal:	device to driver: descriptors were completed
 * @pad3:	zero
 * @ring:	the descriptors
 */
struct vbus_ioq_head {
	__le32 magic;
	__le32 version;
	__le32 count;
	__le32 flags;
	__u8 pad0[48];
	__le32 avail_idx;
	__u8 pad1[60];
	__le32 used_idx;
	__u8 pad2[60];
	struct vbus_shm_signal dev_signal;
	struct vbus_shm_signal drv_signal;
	__u8 pad3[32];
	struct vbus_ioq_desc ring[];
};

/* Bytes of shared memory a ring of @count descriptors occupies. */
#define VBUS_IOQ_SIZE(count) \
	(sizeof(struct vbus_ioq_head) + (count) * sizeof(struct vbus_ioq_desc))

#endif /* _UAPI_VBUS_IOQ_H */
