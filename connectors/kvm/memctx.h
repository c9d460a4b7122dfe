/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The KVM memctx's parts shared by memctx.c (the table, the copies) and
 * maps.c (the long-term maps).
 */
#ifndef _VBUS_KVM_MEMCTX_H
#define _VBUS_KVM_MEMCTX_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/types.h>

#include <vbus_memctx.h>

struct mem_cgroup;
struct mm_struct;
struct task_struct;

/* The table's entries are in 4 KiB pages, as the ABI says. */
static_assert(PAGE_SIZE == 4096);

/**
 * struct vkvm_mem_range - an entry of the memory table
 * @gpa:	its first guest physical address
 * @last:	its last one
 * @uaddr:	the VMM's address of @gpa
 */
struct vkvm_mem_range {
	u64 gpa;
	u64 last;
	unsigned long uaddr;
};

/**
 * struct vkvm_mem_table - the guest's memory, as the VMM last gave it
 * @rcu:	frees a replaced table after the lookups that may see it
 * @n:		entries in @r
 * @r:		sorted by guest address, without overlaps
 */
struct vkvm_mem_table {
	struct rcu_head rcu;
	unsigned int n;
	struct vkvm_mem_range r[];
};

/**
 * struct vkvm_memctx - the memctx of a VM
 * @ctx:	the core's part
 * @mm:		the VMM's mm (mmgrab()ed), the one the table's addresses
 *		are in
 * @memcg:	the VMM's memory cgroup at bind time (a reference is held)
 * @task:	the VMM (its thread group leader, referenced): whose
 *		RLIMIT_MEMLOCK bounds the pins
 * @lock_cap:	the VMM had CAP_IPC_LOCK at bind time: pins are counted
 *		but not limited
 * @table:	the memory table, NULL before the first one (no memory);
 *		read under RCU, replaced under @lock
 * @lock:	protects @table's replacement, @maps and @gen
 * @maps:	the live long-term maps, struct vkvm_map
 * @gen:	counts the tables set: a map looked up under an older one
 *		is looked up again
 *
 * @mm, @memcg, @task and @lock_cap are set at creation and constant.
 */
struct vkvm_memctx {
	struct vbus_memctx ctx;
	struct mm_struct *mm;
	struct mem_cgroup *memcg;
	struct task_struct *task;
	bool lock_cap;
	struct vkvm_mem_table __rcu *table;
	struct mutex lock;	/* @table updates, @maps, @gen */
	struct list_head maps;
	u64 gen;
};

static inline struct vkvm_memctx *to_vm(struct vbus_memctx *ctx)
{
	return container_of(ctx, struct vkvm_memctx, ctx);
}

const struct vkvm_mem_range *vkvm_find(const struct vkvm_mem_table *t, u64 gpa);
bool vkvm_translate(struct vkvm_memctx *vm, u64 gpa, unsigned long *hva,
		    u64 *avail);
int vkvm_charge_pins(struct vkvm_memctx *vm, unsigned long npages);
void vkvm_uncharge_pins(struct vkvm_memctx *vm, unsigned long npages);

/* maps.c */
int vkvm_map(struct vbus_memctx *ctx, u64 addr, size_t len,
	     struct vbus_memmap *map);
int vkvm_remap(struct vbus_memctx *ctx, struct vbus_memmap *map,
	       struct vbus_memmap *moved);
void vkvm_unmap(struct vbus_memctx *ctx, struct vbus_memmap *map);
void vkvm_maps_table_changed(struct vkvm_memctx *vm,
			     const struct vkvm_mem_table *t);

#endif /* _VBUS_KVM_MEMCTX_H */
