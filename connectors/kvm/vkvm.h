/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The KVM connector's internal interfaces.  See main.c for the object
 * lifetimes and Documentation/vbus/kvm.rst for the design.
 */
#ifndef _VBUS_KVM_VKVM_H
#define _VBUS_KVM_VKVM_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

struct eventfd_ctx;
struct kvm;
struct mem_cgroup;
struct vbus_client;
struct vbus_kvm_mem_table;
struct vbus_memctx;
struct vkvm;

/*
 * What one VM may hold: implementation limits, not ABI.  The VMM reads
 * them with VBUS_KVM_GET_LIMITS (main.c); the core bounds connections
 * and regions (VBUS_CLIENT_MAX_CONNS, VBUS_CONN_MAX_REGIONS).
 */
#define VKVM_MAX_DOORBELLS	1024	/* slot indexes 0 .. 1023 */
#define VKVM_MAX_VECTORS	256	/* vector indexes 0 .. 255 */
#define VKVM_MAX_EVENTS		1024	/* bus events queued for the guest */
#define VKVM_MAP_MAX		(4UL << 20)	/* bytes in one region */
#define VKVM_MAX_MEM_REGIONS	512	/* entries in the memory table */

/**
 * struct vkvm_vector - an interrupt vector of the guest's bridge
 * @ctx:	the eventfd KVM injects the vector for (its irqfd)
 * @work:	signals @ctx when the notification came from a context
 *		where eventfd_signal() is not allowed (inside another
 *		eventfd's wake-up)
 *
 * Looked up under RCU by the notification path; replaced and freed
 * under &struct vkvm.lock after a grace period.
 */
struct vkvm_vector {
	struct eventfd_ctx *ctx;
	struct work_struct work;
};

/**
 * struct vkvm_slot - a doorbell: a guest port KVM turns into an eventfd
 * @vkvm:	its owner
 * @ctx:	the eventfd of the port's KVM ioeventfd
 * @wait:	our entry on @ctx's wait queue: the doorbell's handler
 * @pt:		used once, to find that wait queue through vfs_poll()
 * @binding:	0 while unassigned, else %VKVM_SLOT_BOUND | the core's
 *		signal handle; written under &struct vkvm.lock, read by the
 *		handler without a lock
 * @conn:	the connection the assigned region belongs to
 * @cookie:	the region's cookie
 * @used:	assigned (under &struct vkvm.lock)
 */
struct vkvm_slot {
	struct vkvm *vkvm;
	struct eventfd_ctx *ctx;
	wait_queue_entry_t wait;
	poll_table pt;
	u64 binding;
	u32 conn;
	u64 cookie;
	bool used;
};

#define VKVM_SLOT_BOUND	BIT_ULL(32)

/**
 * struct vkvm_event - a queued bus event for the guest
 * @node:	in &struct vkvm.events
 * @type:	VBUS_KVM_EVENT_DEVADD or _DEVDROP
 * @devid:	the device
 * @name:	its interface type (DEVADD), else NULL
 */
struct vkvm_event {
	struct list_head node;
	u32 type;
	u32 devid;
	char *name;
};

/**
 * struct vkvm - one open /dev/vbus-kvm: a VM bound to a container
 * @lock:	serialises the ioctls: bind, doorbells, vectors, guest calls;
 *		taken killably (a holder may sleep in a fault on the VMM's
 *		memory for as long as the VMM pleases)
 * @kvm:	the VM, with a reference, once bound (set under @lock and
 *		the lock of the list of bound VMs before the attach; reset
 *		if the attach fails; constant afterwards)
 * @client:	the core's client, once bound (likewise)
 * @mem:	the VM's memctx
 * @node:	in the list of bound VMs, from before the attach
 * @version:	the version agreed by the guest's HELLO, 0 before it and
 *		after a RESET (written under @lock, read without it by
 *		the event callbacks)
 * @slots:	doorbell index -> struct vkvm_slot (changed under @lock)
 * @vectors:	vector index -> struct vkvm_vector (changed under @lock,
 *		read under RCU)
 * @cookies:	a guest region's cookie -> xa_mk_value(vector) (changed
 *		under @lock, read under RCU)
 * @event_lock:	protects @events and @nevents; taken in the core's event
 *		callbacks
 * @events:	struct vkvm_event, oldest first
 * @nevents:	how many, at most %VKVM_MAX_EVENTS
 * @stray_doorbells: doorbells on an unassigned slot
 */
struct vkvm {
	struct mutex lock;		/* see above */
	struct kvm *kvm;
	struct vbus_client *client;
	struct vbus_memctx *mem;
	struct list_head node;
	u32 version;
	struct xarray slots;
	struct xarray vectors;
	struct xarray cookies;
	spinlock_t event_lock;		/* see above */
	struct list_head events;
	unsigned int nevents;
	atomic_t stray_doorbells;
};

/* memctx.c */
struct vbus_memctx *vkvm_memctx_create(void);
struct mem_cgroup *vkvm_memctx_memcg(struct vbus_memctx *ctx);
int vkvm_memctx_set_table(struct vbus_memctx *ctx,
			  const struct vbus_kvm_mem_table *arg);
bool vkvm_memctx_is_vmm(struct vbus_memctx *ctx);

/* irq.c */
int vkvm_set_vector(struct vkvm *v, u32 index, int fd);
int vkvm_set_doorbell(struct vkvm *v, u32 index, int fd);
void vkvm_notify(struct vkvm *v, u32 vector);
void vkvm_irq_teardown_slots(struct vkvm *v);
void vkvm_irq_teardown_vectors(struct vkvm *v);

/* calls.c */
int vkvm_guest_call(struct vkvm *v, u64 gpa);
void vkvm_queue_event(struct vkvm *v, u32 type, u32 devid, const char *name);
void vkvm_release_conn(struct vkvm *v, u32 conn);
void vkvm_free_events(struct vkvm *v);

#endif /* _VBUS_KVM_VKVM_H */
