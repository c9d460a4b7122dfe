// SPDX-License-Identifier: GPL-2.0
/*
 * The memctx of a KVM guest: device models reach guest physical
 * addresses through the memory table the VMM gives
 * (VBUS_KVM_SET_MEM_TABLE), as vhost does with VHOST_SET_MEM_TABLE.
 *
 * The table maps guest physical ranges to addresses in the VMM's memory,
 * so every access needs the VMM's mm, the one that bound the VM.  Three
 * contexts reach it:
 * - the VMM's own threads (a guest call forwarded by the VMM): the mm is
 *   current, the user address is copied to or from directly;
 * - kernel threads (the rings' workers): they adopt the mm with
 *   kthread_use_mm(), like vhost's workers: for a whole run of copies
 *   between vbus_memctx_enter() and vbus_memctx_leave(), or else for
 *   each copy;
 * - any other process (an administrator's `ip link set down` making a
 *   device write a link event): the pages are looked up in the VMM's mm
 *   with get_user_pages_remote() and copied through a temporary kernel
 *   mapping.
 * In all three the mm must still be alive (mmget_not_zero()); once the
 * VMM is exiting every access fails with -EFAULT.  Nothing here reads
 * KVM's own structures: the VM is only the identity the VMM bound.
 *
 * The table is replaced whole, under RCU: a lookup sees the old table or
 * the new one.  A copy that looked up the old one may still reach the
 * VMM's memory the old table named; that is the VMM racing itself, and
 * the memory is its own.
 *
 * Long-term maps (rings, signals) are maps.c's.
 *
 * Accounting: the VMM pays for what its guest makes us hold.  Pinned
 * pages are added to the VMM's mm->pinned_vm (its VmPin) and refused
 * with -ENOMEM past its RLIMIT_MEMLOCK, unless it had CAP_IPC_LOCK when
 * it bound, like RDMA and io_uring pins; a remap pins the new pages
 * before it unpins the old ones, so it needs room for both for a moment
 * (else the device keeps the old pages).  The table and the bookkeeping
 * (page arrays, maps) are charged to the VMM's memory cgroup, captured
 * at bind time, also when a remap runs in a kworker.
 */

#include <linux/highmem.h>
#include <linux/kthread.h>
#include <linux/capability.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>

#include <vbus/kvm.h>
#include <vbus_memctx.h>

#include "memctx.h"
#include "vkvm.h"

/* The largest entry a VMM may hand over (its tail beyond ours is zero). */
#define VKVM_MEM_REGION_SIZE_MAX	4096

/* The entry of @t that covers @gpa, or NULL; @t may be NULL (no table). */
const struct vkvm_mem_range *vkvm_find(const struct vkvm_mem_table *t, u64 gpa)
{
	unsigned int lo = 0, hi = t ? t->n : 0;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (gpa < t->r[mid].gpa)
			hi = mid;
		else if (gpa > t->r[mid].last)
			lo = mid + 1;
		else
			return &t->r[mid];
	}
	return NULL;
}

/*
 * The VMM's address of @gpa, and in @avail the bytes that follow it in
 * the same entry; false if no entry covers it.
 */
bool vkvm_translate(struct vkvm_memctx *vm, u64 gpa, unsigned long *hva,
		    u64 *avail)
{
	const struct vkvm_mem_range *r;

	rcu_read_lock();
	r = vkvm_find(rcu_dereference(vm->table), gpa);
	if (r) {
		*hva = r->uaddr + (unsigned long)(gpa - r->gpa);
		*avail = r->last - gpa + 1;
	}
	rcu_read_unlock();
	return r;
}

/*
 * Count @npages more pinned pages against the VMM's RLIMIT_MEMLOCK,
 * like ib_umem_get(): -ENOMEM past it.  Any process context.
 */
int vkvm_charge_pins(struct vkvm_memctx *vm, unsigned long npages)
{
	unsigned long limit = task_rlimit(vm->task, RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	s64 pinned = atomic64_add_return(npages, &vm->mm->pinned_vm);

	if (!vm->lock_cap && pinned > limit) {
		atomic64_sub(npages, &vm->mm->pinned_vm);
		return -ENOMEM;
	}
	return 0;
}

void vkvm_uncharge_pins(struct vkvm_memctx *vm, unsigned long npages)
{
	atomic64_sub(npages, &vm->mm->pinned_vm);
}

/*
 * In the VMM's mm: straight to or from its addresses, entry by entry.
 * The writes are not logged in KVM's dirty bitmap, so live migration of
 * a vbus guest is not supported.
 */
static int vkvm_copy_in_mm(struct vkvm_memctx *vm, u64 gpa, void *buf,
			   size_t len, bool write)
{
	while (len) {
		unsigned long hva;
		void __user *uptr;
		u64 avail;
		size_t n;

		if (!vkvm_translate(vm, gpa, &hva, &avail))
			return -EFAULT;
		n = min_t(u64, len, avail);
		uptr = (void __user *)hva;
		if (write ? copy_to_user(uptr, buf, n) :
			    copy_from_user(buf, uptr, n))
			return -EFAULT;
		gpa += n;
		buf += n;
		len -= n;
	}
	return 0;
}

/* From another process: page by page through the VMM's page tables. */
static int vkvm_copy_remote(struct vkvm_memctx *vm, u64 gpa, void *buf,
			    size_t len, bool write)
{
	while (len) {
		size_t off = offset_in_page(gpa);
		size_t n = min_t(size_t, len, PAGE_SIZE - off);
		unsigned long hva;
		struct page *page;
		void *vaddr;
		u64 avail;
		long got;

		if (!vkvm_translate(vm, gpa, &hva, &avail))
			return -EFAULT;

		mmap_read_lock(vm->mm);
		got = get_user_pages_remote(vm->mm, hva, 1,
					    write ? FOLL_WRITE : 0, &page,
					    NULL, NULL);
		mmap_read_unlock(vm->mm);
		if (got != 1)
			return -EFAULT;

		vaddr = kmap_local_page(page);
		if (write)
			memcpy(vaddr + off, buf, n);
		else
			memcpy(buf, vaddr + off, n);
		kunmap_local(vaddr);
		if (write)
			set_page_dirty_lock(page);
		put_page(page);

		gpa += n;
		buf += n;
		len -= n;
	}
	return 0;
}

static int vkvm_copy(struct vkvm_memctx *vm, u64 gpa, void *buf, size_t len,
		     bool write)
{
	int ret;

	if (gpa + len < gpa)
		return -EFAULT;
	if (current->mm == vm->mm)
		return vkvm_copy_in_mm(vm, gpa, buf, len, write);

	if (!mmget_not_zero(vm->mm))
		return -EFAULT;
	if ((current->flags & PF_KTHREAD) && !current->mm) {
		kthread_use_mm(vm->mm);
		ret = vkvm_copy_in_mm(vm, gpa, buf, len, write);
		kthread_unuse_mm(vm->mm);
	} else {
		ret = vkvm_copy_remote(vm, gpa, buf, len, write);
	}
	mmput(vm->mm);
	return ret;
}

/*
 * A kernel thread about to copy packet after packet adopts the VMM's mm
 * once for the whole run; its copies then take the first branch of
 * vkvm_copy().  The reference keeps the mm's page tables until
 * vkvm_leave(), even if the VMM exits meanwhile.
 */
static bool vkvm_enter(struct vbus_memctx *ctx)
{
	struct vkvm_memctx *vm = to_vm(ctx);

	if (!(current->flags & PF_KTHREAD) || current->mm)
		return false;
	if (!mmget_not_zero(vm->mm))
		return false;	/* the VMM is exiting: copies fail */
	kthread_use_mm(vm->mm);
	return true;
}

static void vkvm_leave(struct vbus_memctx *ctx)
{
	struct vkvm_memctx *vm = to_vm(ctx);

	kthread_unuse_mm(vm->mm);
	mmput(vm->mm);
}

static int vkvm_copy_to(struct vbus_memctx *ctx, u64 dst, const void *src,
			size_t len)
{
	return vkvm_copy(to_vm(ctx), dst, (void *)src, len, true);
}

static int vkvm_copy_from(struct vbus_memctx *ctx, void *dst, u64 src,
			  size_t len)
{
	return vkvm_copy(to_vm(ctx), src, dst, len, false);
}

static int vkvm_range_cmp(const void *a, const void *b)
{
	const struct vkvm_mem_range *x = a, *y = b;

	return x->gpa < y->gpa ? -1 : x->gpa > y->gpa;
}

/* One entry of the VMM's table, checked; see struct vbus_kvm_mem_region. */
static int vkvm_read_region(const struct vbus_kvm_mem_table *arg,
			    unsigned int i, struct vkvm_mem_range *r)
{
	const void __user *u = u64_to_user_ptr(arg->regions) +
			       (size_t)i * arg->region_size;
	struct vbus_kvm_mem_region e;
	int ret;

	ret = copy_struct_from_user(&e, sizeof(e), u, arg->region_size);
	if (ret)
		return ret;
	if (e.flags || !e.size || !PAGE_ALIGNED(e.gpa) ||
	    !PAGE_ALIGNED(e.size) || !PAGE_ALIGNED(e.uaddr) ||
	    e.gpa + e.size - 1 < e.gpa)
		return -EINVAL;
	if (e.uaddr + e.size < e.uaddr ||
	    !access_ok(u64_to_user_ptr(e.uaddr), e.size))
		return -EFAULT;
	r->gpa = e.gpa;
	r->last = e.gpa + e.size - 1;
	r->uaddr = e.uaddr;
	return 0;
}

/**
 * vkvm_memctx_set_table() - VBUS_KVM_SET_MEM_TABLE
 * @ctx:	the VM's memctx
 * @arg:	the ioctl's argument
 *
 * Reads and checks the whole table before it changes anything; then
 * every lookup from now on uses it, and every long-term map whose guest
 * range the table now puts at other user addresses (or nowhere) is
 * remapped by the core.  Called by the VMM; its memory cgroup of the
 * bind pays for the table.
 *
 * Return: 0, or a negative errno and nothing changed.
 */
int vkvm_memctx_set_table(struct vbus_memctx *ctx,
			  const struct vbus_kvm_mem_table *arg)
{
	struct vkvm_memctx *vm = to_vm(ctx);
	struct vkvm_mem_table *t, *old;
	struct mem_cgroup *old_memcg;
	unsigned int i;
	int ret;

	if (current->mm != vm->mm)
		return -EPERM;
	if (arg->region_size < VBUS_KVM_MEM_REGION_SIZE_VER0)
		return -EINVAL;
	if (arg->region_size > VKVM_MEM_REGION_SIZE_MAX ||
	    arg->nregions > VKVM_MAX_MEM_REGIONS)
		return -E2BIG;

	old_memcg = set_active_memcg(vm->memcg);
	t = kvzalloc(struct_size(t, r, arg->nregions), VBUS_GFP_CLIENT);
	set_active_memcg(old_memcg);
	if (!t)
		return -ENOMEM;
	t->n = arg->nregions;
	for (i = 0; i < t->n; i++) {
		ret = vkvm_read_region(arg, i, &t->r[i]);
		if (ret)
			goto err;
	}
	sort(t->r, t->n, sizeof(t->r[0]), vkvm_range_cmp, NULL);
	for (i = 1; i < t->n; i++) {
		if (t->r[i].gpa <= t->r[i - 1].last) {
			ret = -EINVAL;
			goto err;
		}
	}

	mutex_lock(&vm->lock);
	old = rcu_replace_pointer(vm->table, t, lockdep_is_held(&vm->lock));
	vm->gen++;
	vkvm_maps_table_changed(vm, t);
	mutex_unlock(&vm->lock);
	if (old)
		kvfree_rcu(old, rcu);
	return 0;

err:
	kvfree(t);
	return ret;
}

/**
 * vkvm_memctx_is_vmm() - is current the VM's VMM?
 * @ctx:	the VM's memctx
 *
 * Return: whether current runs in the mm that bound the VM, the one the
 * memory table's addresses are in.
 */
bool vkvm_memctx_is_vmm(struct vbus_memctx *ctx)
{
	return current->mm == to_vm(ctx)->mm;
}

static void vkvm_memctx_release(struct vbus_memctx *ctx)
{
	struct vkvm_memctx *m = container_of(ctx, struct vkvm_memctx, ctx);

	/* Nothing looks any more: no map, no copy, no caller. */
	kvfree(rcu_dereference_protected(m->table, true));
	mmdrop(m->mm);
	put_task_struct(m->task);
	mem_cgroup_put(m->memcg);
	kfree(m);
}

static const struct vbus_memctx_ops vkvm_memctx_ops = {
	.copy_to = vkvm_copy_to,
	.copy_from = vkvm_copy_from,
	.map = vkvm_map,
	.remap = vkvm_remap,
	.unmap = vkvm_unmap,
	.enter = vkvm_enter,
	.leave = vkvm_leave,
	.release = vkvm_memctx_release,
	.owner = THIS_MODULE,
};

/**
 * vkvm_memctx_memcg() - the memory cgroup a VM's allocations are charged to
 * @ctx:	the VM's memctx
 *
 * Return: the VMM's memory cgroup at bind time (NULL without memcg);
 * valid while @ctx is.
 */
struct mem_cgroup *vkvm_memctx_memcg(struct vbus_memctx *ctx)
{
	return to_vm(ctx)->memcg;
}

/**
 * vkvm_memctx_create() - the memctx of a VM
 *
 * Called by the VMM binding the VM (current): its memory is the guest's
 * (once it gives a table), and its memory cgroup, its RLIMIT_MEMLOCK
 * and its CAP_IPC_LOCK decide what it may map later.
 *
 * Return: the memctx with one reference, and no memory yet, or NULL.
 */
struct vbus_memctx *vkvm_memctx_create(void)
{
	struct vkvm_memctx *m = kzalloc(sizeof(*m), VBUS_GFP_CLIENT);

	if (!m)
		return NULL;
	mmgrab(current->mm);
	m->mm = current->mm;
	m->memcg = get_mem_cgroup_from_mm(current->mm);
	m->task = get_task_struct(current->group_leader);
	m->lock_cap = capable(CAP_IPC_LOCK);
	mutex_init(&m->lock);
	INIT_LIST_HEAD(&m->maps);
	vbus_memctx_init(&m->ctx, &vkvm_memctx_ops);
	return &m->ctx;
}
