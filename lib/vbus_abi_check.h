/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Compile-time checks of every ABI layout in include/uapi/vbus/: sizes,
 * offsets and the absence of implicit padding.  Included by the kernel
 * core and by the unit tests, so both sides agree on every byte.
 */
#ifndef _VBUS_LIB_ABI_CHECK_H
#define _VBUS_LIB_ABI_CHECK_H

#ifdef __KERNEL__
#include <linux/build_bug.h>
#include <linux/stddef.h>
#else
#include <assert.h>
#include <stddef.h>
#endif

#include <vbus/ioq.h>
#include <vbus/kvm.h>
#include <vbus/shm_signal.h>
#include <vbus/venet.h>

#define VBUS_ABI_SIZE(type, size) \
	static_assert(sizeof(type) == (size), #type " size")
#define VBUS_ABI_OFFSET(type, member, off) \
	static_assert(offsetof(type, member) == (off), #type "." #member " offset")

VBUS_ABI_SIZE(struct vbus_shm_signal, 16);
VBUS_ABI_OFFSET(struct vbus_shm_signal, magic, 0);
VBUS_ABI_OFFSET(struct vbus_shm_signal, version, 4);
VBUS_ABI_OFFSET(struct vbus_shm_signal, enabled, 8);
VBUS_ABI_OFFSET(struct vbus_shm_signal, pending, 12);

VBUS_ABI_SIZE(struct vbus_ioq_desc, 32);
VBUS_ABI_OFFSET(struct vbus_ioq_desc, cookie, 0);
VBUS_ABI_OFFSET(struct vbus_ioq_desc, addr, 8);
VBUS_ABI_OFFSET(struct vbus_ioq_desc, len, 16);
VBUS_ABI_OFFSET(struct vbus_ioq_desc, flags, 20);
VBUS_ABI_OFFSET(struct vbus_ioq_desc, reserved, 24);

VBUS_ABI_SIZE(struct vbus_ioq_head, 256);
VBUS_ABI_OFFSET(struct vbus_ioq_head, magic, 0);
VBUS_ABI_OFFSET(struct vbus_ioq_head, version, 4);
VBUS_ABI_OFFSET(struct vbus_ioq_head, count, 8);
VBUS_ABI_OFFSET(struct vbus_ioq_head, flags, 12);
VBUS_ABI_OFFSET(struct vbus_ioq_head, avail_idx, 64);
VBUS_ABI_OFFSET(struct vbus_ioq_head, used_idx, 128);
VBUS_ABI_OFFSET(struct vbus_ioq_head, dev_signal, 192);
VBUS_ABI_OFFSET(struct vbus_ioq_head, drv_signal, 208);
VBUS_ABI_OFFSET(struct vbus_ioq_head, ring, 256);

VBUS_ABI_SIZE(struct vbus_venet_config, 24);
VBUS_ABI_OFFSET(struct vbus_venet_config, mac, 0);
VBUS_ABI_OFFSET(struct vbus_venet_config, mtu, 6);
VBUS_ABI_OFFSET(struct vbus_venet_config, max_queue_pairs, 8);
VBUS_ABI_OFFSET(struct vbus_venet_config, reserved, 10);
VBUS_ABI_OFFSET(struct vbus_venet_config, features, 16);

VBUS_ABI_SIZE(struct vbus_venet_negotiate, 16);
VBUS_ABI_OFFSET(struct vbus_venet_negotiate, features, 0);
VBUS_ABI_OFFSET(struct vbus_venet_negotiate, queue_pairs, 8);
VBUS_ABI_OFFSET(struct vbus_venet_negotiate, reserved, 10);

VBUS_ABI_SIZE(struct vbus_venet_hdr, 16);
VBUS_ABI_OFFSET(struct vbus_venet_hdr, flags, 0);
VBUS_ABI_OFFSET(struct vbus_venet_hdr, gso_type, 1);
VBUS_ABI_OFFSET(struct vbus_venet_hdr, hdr_len, 2);
VBUS_ABI_OFFSET(struct vbus_venet_hdr, gso_size, 4);
VBUS_ABI_OFFSET(struct vbus_venet_hdr, csum_start, 6);
VBUS_ABI_OFFSET(struct vbus_venet_hdr, csum_offset, 8);
VBUS_ABI_OFFSET(struct vbus_venet_hdr, reserved, 10);

VBUS_ABI_SIZE(struct vbus_venet_event, 16);
VBUS_ABI_OFFSET(struct vbus_venet_event, type, 0);
VBUS_ABI_OFFSET(struct vbus_venet_event, reserved, 2);
VBUS_ABI_OFFSET(struct vbus_venet_event, value, 4);
VBUS_ABI_OFFSET(struct vbus_venet_event, reserved2, 8);

VBUS_ABI_SIZE(struct vbus_kvm_hello, 8);
VBUS_ABI_SIZE(struct vbus_kvm_event, 16);
VBUS_ABI_OFFSET(struct vbus_kvm_event, type_len, 8);
VBUS_ABI_OFFSET(struct vbus_kvm_event, name, 16);
VBUS_ABI_SIZE(struct vbus_kvm_devopen, 16);
VBUS_ABI_SIZE(struct vbus_kvm_devclose, 8);
VBUS_ABI_SIZE(struct vbus_kvm_devcall, 24);
VBUS_ABI_OFFSET(struct vbus_kvm_devcall, data, 16);
VBUS_ABI_SIZE(struct vbus_kvm_devshm, 40);
VBUS_ABI_OFFSET(struct vbus_kvm_devshm, addr, 8);
VBUS_ABI_OFFSET(struct vbus_kvm_devshm, len, 16);
VBUS_ABI_OFFSET(struct vbus_kvm_devshm, cookie, 24);
VBUS_ABI_OFFSET(struct vbus_kvm_devshm, vector, 32);
VBUS_ABI_OFFSET(struct vbus_kvm_devshm, slot, 36);
VBUS_ABI_SIZE(struct vbus_kvm_call, 56);
VBUS_ABI_OFFSET(struct vbus_kvm_call, result, 8);
VBUS_ABI_OFFSET(struct vbus_kvm_call, u, 16);
VBUS_ABI_SIZE(struct vbus_kvm_bind, 16);
VBUS_ABI_OFFSET(struct vbus_kvm_bind, vm_fd, 0);
VBUS_ABI_OFFSET(struct vbus_kvm_bind, container_len, 4);
VBUS_ABI_OFFSET(struct vbus_kvm_bind, container, 8);
VBUS_ABI_SIZE(struct vbus_kvm_limits, 32);
VBUS_ABI_OFFSET(struct vbus_kvm_limits, doorbells, 0);
VBUS_ABI_OFFSET(struct vbus_kvm_limits, vectors, 4);
VBUS_ABI_OFFSET(struct vbus_kvm_limits, connections, 8);
VBUS_ABI_OFFSET(struct vbus_kvm_limits, regions, 12);
VBUS_ABI_OFFSET(struct vbus_kvm_limits, region_len, 16);
VBUS_ABI_OFFSET(struct vbus_kvm_limits, events, 24);
VBUS_ABI_OFFSET(struct vbus_kvm_limits, mem_regions, 28);
VBUS_ABI_SIZE(struct vbus_kvm_mem_region, 32);
VBUS_ABI_OFFSET(struct vbus_kvm_mem_region, gpa, 0);
VBUS_ABI_OFFSET(struct vbus_kvm_mem_region, size, 8);
VBUS_ABI_OFFSET(struct vbus_kvm_mem_region, uaddr, 16);
VBUS_ABI_OFFSET(struct vbus_kvm_mem_region, flags, 24);
VBUS_ABI_SIZE(struct vbus_kvm_mem_table, 16);
VBUS_ABI_OFFSET(struct vbus_kvm_mem_table, regions, 0);
VBUS_ABI_OFFSET(struct vbus_kvm_mem_table, nregions, 8);
VBUS_ABI_OFFSET(struct vbus_kvm_mem_table, region_size, 12);
VBUS_ABI_SIZE(struct vbus_kvm_eventfd, 8);
VBUS_ABI_OFFSET(struct vbus_kvm_eventfd, index, 0);
VBUS_ABI_OFFSET(struct vbus_kvm_eventfd, fd, 4);
VBUS_ABI_SIZE(struct vbus_kvm_guest_call, 8);
VBUS_ABI_OFFSET(struct vbus_kvm_guest_call, gpa, 0);

/*
 * Each ioctl's number encodes its argument's size, and nothing else
 * does; a size never shrinks below the first published one.
 */
#define VBUS_ABI_IOCTL(cmd, nr, type) \
	static_assert((cmd) == _IOW(VBUS_KVM_IOC_MAGIC, nr, type), #cmd " encoding")
VBUS_ABI_IOCTL(VBUS_KVM_BIND, 1, struct vbus_kvm_bind);
VBUS_ABI_IOCTL(VBUS_KVM_SET_VECTOR, 2, struct vbus_kvm_eventfd);
VBUS_ABI_IOCTL(VBUS_KVM_SET_DOORBELL, 3, struct vbus_kvm_eventfd);
VBUS_ABI_IOCTL(VBUS_KVM_CALL, 4, struct vbus_kvm_guest_call);
VBUS_ABI_IOCTL(VBUS_KVM_SET_MEM_TABLE, 6, struct vbus_kvm_mem_table);
static_assert(VBUS_KVM_GET_LIMITS ==
	      _IOR(VBUS_KVM_IOC_MAGIC, 5, struct vbus_kvm_limits),
	      "VBUS_KVM_GET_LIMITS encoding");
static_assert(VBUS_KVM_BIND_SIZE_VER0 == 16 && VBUS_KVM_EVENTFD_SIZE_VER0 == 8 &&
	      VBUS_KVM_GUEST_CALL_SIZE_VER0 == 8 &&
	      VBUS_KVM_LIMITS_SIZE_VER0 == 32 &&
	      VBUS_KVM_MEM_TABLE_SIZE_VER0 == 16 &&
	      VBUS_KVM_MEM_REGION_SIZE_VER0 == 32, "first published sizes");
static_assert(sizeof(struct vbus_kvm_bind) >= VBUS_KVM_BIND_SIZE_VER0 &&
	      sizeof(struct vbus_kvm_eventfd) >= VBUS_KVM_EVENTFD_SIZE_VER0 &&
	      sizeof(struct vbus_kvm_guest_call) >= VBUS_KVM_GUEST_CALL_SIZE_VER0 &&
	      sizeof(struct vbus_kvm_limits) >= VBUS_KVM_LIMITS_SIZE_VER0 &&
	      sizeof(struct vbus_kvm_mem_table) >= VBUS_KVM_MEM_TABLE_SIZE_VER0 &&
	      sizeof(struct vbus_kvm_mem_region) >= VBUS_KVM_MEM_REGION_SIZE_VER0,
	      "ioctl arguments only grow");

/*
 * venet's shared-memory ids: a queue index is 16 bits wide (the __le16
 * queue_pairs), and every ring id of every such queue lies below the
 * event ring's.
 */
static_assert(sizeof(((struct vbus_venet_negotiate *)0)->queue_pairs) == 2,
	      "venet queue index width");
static_assert(VBUS_VENET_SHM_TX(0xffffU) < VBUS_VENET_SHM_EVENTS,
	      "venet ring ids below the event ring's");

#endif /* _VBUS_LIB_ABI_CHECK_H */
