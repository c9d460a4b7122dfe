// SPDX-License-Identifier: GPL-2.0
/*
 * The memctx of a KVM guest: device models reach guest physical
 * addresses through KVM's memslots.
 *
 * KVM translates a guest physical address to an address in the VMM's
 * memory (gfn_to_hva, under kvm->srcu), so every access needs the VMM's
 * mm.  Three contexts reach it:
 * - the VMM's own threads (a guest call forwarded by the VMM): the mm is
 *   current, the memslot's user address is copied to or from directly;
 * - kernel threads (the device models' work items): they adopt the mm
 *   with kthread_use_mm(), like vhost's workers: for a whole run of
 *   copies between vbus_memctx_enter() and vbus_memctx_leave(), or else
 *   for each copy;
 * - any other process (an administrator's `ip link set down` making a
 *   device write a link event): the pages are looked up in the VMM's mm
 *   with get_user_pages_remote() and copied through a temporary kernel
 *   mapping.
 * In all three the mm must still be alive (mmget_not_zero()); once the
 * VMM is exiting every access fails with -EFAULT.
 *
 * Long-term maps (rings, signals) pin the guest pages with FOLL_LONGTERM
 * and map them contiguously with vmap().  They follow the VMM's changes:
 * an mmu interval notifier over the pages' user addresses sees any
 * change of the VMM's page tables there (munmap, mremap, MAP_FIXED,
 * MADV_DONTNEED), and the memslot generation, checked on every doorbell,
 * call and copy, any change of the memslots.  Either makes the core remap
 * the region and move its device to the new pages (vbus_memmap_stale());
 * until then the device keeps the old pages, which stay pinned, so a
 * VMM's change can never make the host touch memory it no longer owns.
 *
 * Accounting: the VMM pays for what its guest makes us hold.  Pinned
 * pages are added to the VMM's mm->pinned_vm (its VmPin) and refused
 * with -ENOMEM past its RLIMIT_MEMLOCK, unless it had CAP_IPC_LOCK when
 * it bound, like RDMA and io_uring pins; a remap pins the new pages
 * before it unpins the old ones, so it needs room for both for a moment
 * (else the device keeps the old pages).  The bookkeeping (page arrays,
 * maps) is charged to the VMM's memory cgroup, captured at bind time,
 * also when a remap runs in a kworker.
 */

#include <linux/highmem.h>
#include <linux/kthread.h>
#include <linux/capability.h>
#include <linux/kvm_host.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include <vbus_memctx.h>

#include "vkvm.h"

/**
 * struct vkvm_memctx - the memctx of a VM
 * @ctx:	the core's part
 * @kvm:	the VM (a reference is held)
 * @lock:	protects @maps and @slots_gen; taken with interrupts off
 *		(doorbells check the memslots from a wait-queue callback)
 * @maps:	the live long-term maps, struct vkvm_map
 * @slots_gen:	the memslot generation the maps were last checked against
 * @memcg:	the VMM's memory cgroup at bind time (a reference is held)
 * @task:	the VMM (its thread group leader, referenced): whose
 *		RLIMIT_MEMLOCK bounds the pins
 * @lock_cap:	the VMM had CAP_IPC_LOCK at bind time: pins are counted
 *		but not limited
 *
 * @memcg, @task and @lock_cap are set at creation and constant.
 */
struct vkvm_memctx {
	struct vbus_memctx ctx;
	struct kvm *kvm;
	struct mem_cgroup *memcg;
	struct task_struct *task;
	bool lock_cap;
	spinlock_t lock;	/* @maps, @slots_gen; irqsave */
	struct list_head maps;
	u64 slots_gen;
};

static struct vkvm_memctx *to_vm(struct vbus_memctx *ctx)
{
	return container_of(ctx, struct vkvm_memctx, ctx);
}

static struct kvm *to_kvm(struct vbus_memctx *ctx)
{
	return to_vm(ctx)->kvm;
}

/*
 * Count @npages more pinned pages against the VMM's RLIMIT_MEMLOCK,
 * like ib_umem_get(): -ENOMEM past it.  Any process context.
 */
static int vkvm_charge_pins(struct vkvm_memctx *vm, unsigned long npages)
{
	unsigned long limit = task_rlimit(vm->task, RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	s64 pinned = atomic64_add_return(npages, &vm->kvm->mm->pinned_vm);

	if (!vm->lock_cap && pinned > limit) {
		atomic64_sub(npages, &vm->kvm->mm->pinned_vm);
		return -ENOMEM;
	}
	return 0;
}

static void vkvm_uncharge_pins(struct vkvm_memctx *vm, unsigned long npages)
{
	atomic64_sub(npages, &vm->kvm->mm->pinned_vm);
}

/*
 * In the VMM's mm: through the memslot's user address, page by page.
 * kvm_write_guest() cannot serve here: it logs the page as dirty for the
 * running vCPU and WARNs without one (dirty logging, hence live
 * migration of a vbus guest, is not supported).
 */
static int vkvm_copy_in_mm(struct kvm *kvm, u64 gpa, void *buf, size_t len,
			   bool write)
{
	int idx, ret = 0;

	idx = srcu_read_lock(&kvm->srcu);
	while (len) {
		size_t off = offset_in_page(gpa);
		size_t n = min_t(size_t, len, PAGE_SIZE - off);
		unsigned long hva = gfn_to_hva(kvm, gpa >> PAGE_SHIFT);
		void __user *uptr = (void __user *)(hva + off);

		if (kvm_is_error_hva(hva) ||
		    (write ? copy_to_user(uptr, buf, n) :
			     copy_from_user(buf, uptr, n))) {
			ret = -EFAULT;
			break;
		}
		gpa += n;
		buf += n;
		len -= n;
	}
	srcu_read_unlock(&kvm->srcu, idx);
	return ret;
}

/* From another process: page by page through the VMM's page tables. */
static int vkvm_copy_remote(struct kvm *kvm, u64 gpa, void *buf, size_t len,
			    bool write)
{
	while (len) {
		size_t off = offset_in_page(gpa);
		size_t n = min_t(size_t, len, PAGE_SIZE - off);
		unsigned long hva;
		struct page *page;
		void *vaddr;
		long got;
		int idx;

		idx = srcu_read_lock(&kvm->srcu);
		hva = gfn_to_hva(kvm, gpa >> PAGE_SHIFT);
		srcu_read_unlock(&kvm->srcu, idx);
		if (kvm_is_error_hva(hva))
			return -EFAULT;

		mmap_read_lock(kvm->mm);
		got = get_user_pages_remote(kvm->mm, hva, 1,
					    write ? FOLL_WRITE : 0, &page,
					    NULL, NULL);
		mmap_read_unlock(kvm->mm);
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

static int vkvm_copy(struct kvm *kvm, u64 gpa, void *buf, size_t len,
		     bool write)
{
	int ret;

	if (gpa + len < gpa)
		return -EFAULT;
	if (current->mm == kvm->mm)
		return vkvm_copy_in_mm(kvm, gpa, buf, len, write);

	if (!mmget_not_zero(kvm->mm))
		return -EFAULT;
	if ((current->flags & PF_KTHREAD) && !current->mm) {
		kthread_use_mm(kvm->mm);
		ret = vkvm_copy_in_mm(kvm, gpa, buf, len, write);
		kthread_unuse_mm(kvm->mm);
	} else {
		ret = vkvm_copy_remote(kvm, gpa, buf, len, write);
	}
	mmput(kvm->mm);
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
	struct kvm *kvm = to_kvm(ctx);

	if (!(current->flags & PF_KTHREAD) || current->mm)
		return false;
	if (!mmget_not_zero(kvm->mm))
		return false;	/* the VMM is exiting: copies fail */
	kthread_use_mm(kvm->mm);
	return true;
}

static void vkvm_leave(struct vbus_memctx *ctx)
{
	struct kvm *kvm = to_kvm(ctx);

	kthread_unuse_mm(kvm->mm);
	mmput(kvm->mm);
}

static int vkvm_copy_to(struct vbus_memctx *ctx, u64 dst, const void *src,
			size_t len)
{
	vkvm_memctx_check_slots(ctx);
	return vkvm_copy(to_kvm(ctx), dst, (void *)src, len, true);
}

static int vkvm_copy_from(struct vbus_memctx *ctx, void *dst, u64 src,
			  size_t len)
{
	vkvm_memctx_check_slots(ctx);
	return vkvm_copy(to_kvm(ctx), src, dst, len, false);
}

/**
 * struct vkvm_range - a run of a map's pages at consecutive user addresses
 * @mni:	watches the VMM's page tables over the run
 * @map:	the map it belongs to
 * @first:	the index of its first page in the map
 * @npages:	its pages
 * @seq:	@mni's sequence when the pages were looked up
 */
struct vkvm_range {
	struct mmu_interval_notifier mni;
	struct vkvm_map *map;
	unsigned long first;
	unsigned long npages;
	unsigned long seq;
};

/**
 * struct vkvm_map - a pinned, vmap()ed guest range, watched for changes
 * @vm:		the memctx
 * @owner:	the core's mapping this serves (for vbus_memmap_stale())
 * @node:	in @vm->maps, under @vm->lock
 * @gpa:	the guest physical address mapped
 * @len:	its length
 * @pages:	the pinned pages
 * @npages:	how many
 * @vaddr:	their contiguous kernel mapping
 * @nranges:	entries in @ranges
 * @ranges:	one per run of consecutive user addresses (usually one)
 */
struct vkvm_map {
	struct vkvm_memctx *vm;
	struct vbus_memmap *owner;
	struct list_head node;
	u64 gpa;
	size_t len;
	struct page **pages;
	unsigned long npages;
	void *vaddr;
	unsigned int nranges;
	struct vkvm_range ranges[];
};

/*
 * The VMM changed its page tables under a run: munmap(), mremap(),
 * mmap(MAP_FIXED), madvise(MADV_DONTNEED), a changed protection...  The
 * core remaps from a work item; the pinned pages stay valid until then.
 * The VMM's exit (MMU_NOTIFY_RELEASE) moves nothing.
 */
static bool vkvm_range_invalidate(struct mmu_interval_notifier *mni,
				  const struct mmu_notifier_range *range,
				  unsigned long cur_seq)
{
	struct vkvm_range *r = container_of(mni, struct vkvm_range, mni);

	mmu_interval_set_seq(mni, cur_seq);
	if (range->event != MMU_NOTIFY_RELEASE)
		vbus_memmap_stale(r->map->owner);
	return true;
}

static const struct mmu_interval_notifier_ops vkvm_range_ops = {
	.invalidate = vkvm_range_invalidate,
};

/* KVM's memslot generation: any memslot change moves it. */
static u64 vkvm_slots_gen(struct kvm *kvm)
{
	/*
	 * The memslot sets are embedded in struct kvm and never freed
	 * before it, so a racy read is safe; it is only compared.
	 */
	return READ_ONCE(rcu_dereference_raw(kvm->memslots[0])->generation);
}

/* The user address of every page of [gpa, gpa + npages pages). */
static int vkvm_lookup(struct kvm *kvm, u64 gpa, unsigned long npages,
		       unsigned long *hva)
{
	unsigned long i;
	int idx, ret = 0;

	idx = srcu_read_lock(&kvm->srcu);
	for (i = 0; i < npages; i++) {
		hva[i] = gfn_to_hva(kvm, (gpa >> PAGE_SHIFT) + i);
		if (kvm_is_error_hva(hva[i])) {
			ret = -EFAULT;
			break;
		}
	}
	srcu_read_unlock(&kvm->srcu, idx);
	return ret;
}

static unsigned int vkvm_count_runs(const unsigned long *hva,
				    unsigned long npages)
{
	unsigned int runs = 1;
	unsigned long i;

	for (i = 1; i < npages; i++)
		if (hva[i] != hva[i - 1] + PAGE_SIZE)
			runs++;
	return runs;
}

/* Pin the pages of every run; 0, -EAGAIN if a run changed meanwhile. */
static int vkvm_pin_runs(struct kvm *kvm, struct vkvm_map *m,
			 const unsigned long *hva)
{
	unsigned long pinned = 0;
	unsigned int k;
	long ret = 0;

	for (k = 0; k < m->nranges; k++)
		m->ranges[k].seq = mmu_interval_read_begin(&m->ranges[k].mni);

	mmap_read_lock(kvm->mm);
	for (k = 0; k < m->nranges; k++) {
		struct vkvm_range *r = &m->ranges[k];

		ret = pin_user_pages_remote(kvm->mm, hva[r->first], r->npages,
					    FOLL_WRITE | FOLL_LONGTERM,
					    &m->pages[r->first], NULL, NULL);
		if (ret > 0)
			pinned += ret;
		if (ret != r->npages) {
			ret = ret < 0 ? ret : -EFAULT;
			break;
		}
		ret = 0;
	}
	mmap_read_unlock(kvm->mm);

	for (k = 0; !ret && k < m->nranges; k++)
		if (mmu_interval_read_retry(&m->ranges[k].mni, m->ranges[k].seq))
			ret = -EAGAIN;
	if (ret && pinned)
		unpin_user_pages(m->pages, pinned);
	return ret;
}

static void vkvm_map_remove_ranges(struct vkvm_map *m, unsigned int n)
{
	while (n--)
		mmu_interval_notifier_remove(&m->ranges[n].mni);
}

/* Watch each run of @hva, then pin it: a change after the lookup shows. */
static int vkvm_map_pin(struct vkvm_map *m, const unsigned long *hva)
{
	struct kvm *kvm = m->vm->kvm;
	unsigned long i = 0;
	unsigned int k;
	int ret;

	for (k = 0; k < m->nranges; k++) {
		unsigned long n = 1;

		while (i + n < m->npages && hva[i + n] == hva[i] + n * PAGE_SIZE)
			n++;
		m->ranges[k].map = m;
		m->ranges[k].first = i;
		m->ranges[k].npages = n;
		ret = mmu_interval_notifier_insert(&m->ranges[k].mni, kvm->mm,
						   hva[i], n * PAGE_SIZE,
						   &vkvm_range_ops);
		if (ret) {
			vkvm_map_remove_ranges(m, k);
			return ret;
		}
		i += n;
	}
	ret = vkvm_pin_runs(kvm, m, hva);
	if (ret)
		vkvm_map_remove_ranges(m, m->nranges);
	return ret;
}

/* How often a map is looked up again while the VMM keeps changing it. */
#define VKVM_MAP_TRIES	8

static struct vkvm_map *vkvm_map_new(struct vkvm_memctx *vm, u64 gpa,
				     size_t len, struct vbus_memmap *owner)
{
	unsigned long npages, *hva;
	unsigned int runs, tries = 0;
	struct vkvm_map *m;
	u64 gen;
	int ret;

	npages = (offset_in_page(gpa) + len + PAGE_SIZE - 1) >> PAGE_SHIFT;
	hva = kcalloc(npages, sizeof(*hva), VBUS_GFP_CLIENT);
	if (!hva)
		return ERR_PTR(-ENOMEM);
	ret = vkvm_charge_pins(vm, npages);
	if (ret)
		goto err_hva;
again:
	gen = vkvm_slots_gen(vm->kvm);
	ret = vkvm_lookup(vm->kvm, gpa, npages, hva);
	if (ret)
		goto err_charge;
	runs = vkvm_count_runs(hva, npages);
	m = kzalloc(struct_size(m, ranges, runs), VBUS_GFP_CLIENT);
	if (!m) {
		ret = -ENOMEM;
		goto err_charge;
	}
	m->vm = vm;
	m->owner = owner;
	m->gpa = gpa;
	m->len = len;
	m->npages = npages;
	m->nranges = runs;
	m->pages = kcalloc(npages, sizeof(*m->pages), VBUS_GFP_CLIENT);
	if (!m->pages) {
		ret = -ENOMEM;
		goto err_free;
	}
	ret = vkvm_map_pin(m, hva);
	if (!ret && vkvm_slots_gen(vm->kvm) != gen) {
		/* The memslots changed during the lookup: look again. */
		unpin_user_pages(m->pages, npages);
		vkvm_map_remove_ranges(m, m->nranges);
		ret = -EAGAIN;
	}
	if (ret == -EAGAIN && ++tries < VKVM_MAP_TRIES) {
		kfree(m->pages);
		kfree(m);
		goto again;
	}
	if (ret)
		goto err_free;

	m->vaddr = vmap(m->pages, npages, VM_MAP, PAGE_KERNEL);
	if (!m->vaddr) {
		ret = -ENOMEM;
		goto err_unpin;
	}
	spin_lock_irq(&vm->lock);
	list_add(&m->node, &vm->maps);
	spin_unlock_irq(&vm->lock);
	kfree(hva);
	return m;

err_unpin:
	unpin_user_pages(m->pages, npages);
	vkvm_map_remove_ranges(m, m->nranges);
err_free:
	kfree(m->pages);
	kfree(m);
err_charge:
	vkvm_uncharge_pins(vm, npages);
err_hva:
	kfree(hva);
	return ERR_PTR(ret);
}

static void vkvm_map_free(struct vkvm_map *m, bool dirty)
{
	struct vkvm_memctx *vm = m->vm;

	/* No memslot check reaches it once off the list... */
	spin_lock_irq(&vm->lock);
	list_del(&m->node);
	spin_unlock_irq(&vm->lock);
	/* ...and no invalidation once its notifiers are gone. */
	vkvm_map_remove_ranges(m, m->nranges);
	vunmap(m->vaddr);
	unpin_user_pages_dirty_lock(m->pages, m->npages, dirty);
	vkvm_uncharge_pins(vm, m->npages);
	kfree(m->pages);
	kfree(m);
}

/*
 * Map [@gpa, @gpa + @len) for @owner; the VMM's mm must be alive.  Called
 * by the VMM's calls and by the core's remap work (a kworker): either
 * way the VMM's memory cgroup pays.
 */
static int vkvm_map_into(struct vkvm_memctx *vm, u64 gpa, size_t len,
			 struct vbus_memmap *owner, struct vbus_memmap *out)
{
	struct mem_cgroup *old_memcg;
	struct vkvm_map *m;

	if (!mmget_not_zero(vm->kvm->mm))
		return -EFAULT;
	old_memcg = set_active_memcg(vm->memcg);
	m = vkvm_map_new(vm, gpa, len, owner);
	set_active_memcg(old_memcg);
	mmput(vm->kvm->mm);
	if (IS_ERR(m))
		return PTR_ERR(m);
	out->ptr = m->vaddr + offset_in_page(gpa);
	out->len = len;
	out->priv = m;
	return 0;
}

static int vkvm_map(struct vbus_memctx *ctx, u64 addr, size_t len,
		    struct vbus_memmap *map)
{
	if (!len || len > VKVM_MAP_MAX || addr + len < addr)
		return -EINVAL;
	return vkvm_map_into(to_vm(ctx), addr, len, map, map);
}

/*
 * Map the range again.  The same pages (a change that moved nothing,
 * like an mprotect() or a memslot update elsewhere): nothing to do.
 */
static int vkvm_remap(struct vbus_memctx *ctx, struct vbus_memmap *map,
		      struct vbus_memmap *moved)
{
	struct vkvm_map *old = map->priv, *m;
	int ret;

	ret = vkvm_map_into(to_vm(ctx), old->gpa, old->len, map, moved);
	if (ret)
		return ret;
	m = moved->priv;
	if (!memcmp(m->pages, old->pages, old->npages * sizeof(*m->pages))) {
		vkvm_map_free(m, false);
		return 0;
	}
	return 1;
}

static void vkvm_unmap(struct vbus_memctx *ctx, struct vbus_memmap *map)
{
	vkvm_map_free(map->priv, true);
}

/**
 * vkvm_memctx_check_slots() - notice a change of the VM's memslots
 * @ctx:	the VM's memctx
 *
 * KVM tells nobody when the VMM moves, deletes or creates a memslot;
 * the connector calls this on every doorbell, call and copy, which
 * costs a load and a compare.  When the generation moved, every map is
 * revalidated.  Any context.
 */
void vkvm_memctx_check_slots(struct vbus_memctx *ctx)
{
	struct vkvm_memctx *vm = to_vm(ctx);
	u64 gen = vkvm_slots_gen(vm->kvm);
	struct vkvm_map *m;
	unsigned long flags;

	if (likely(gen == READ_ONCE(vm->slots_gen)))
		return;
	spin_lock_irqsave(&vm->lock, flags);
	if (gen != vm->slots_gen) {
		WRITE_ONCE(vm->slots_gen, gen);
		list_for_each_entry(m, &vm->maps, node)
			vbus_memmap_stale(m->owner);
	}
	spin_unlock_irqrestore(&vm->lock, flags);
}

static void vkvm_memctx_release(struct vbus_memctx *ctx)
{
	struct vkvm_memctx *m = container_of(ctx, struct vkvm_memctx, ctx);

	kvm_put_kvm(m->kvm);
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
 * @kvm: the VM; the memctx takes its own reference
 *
 * Called by the VMM binding the VM (current): its memory cgroup, its
 * RLIMIT_MEMLOCK and its CAP_IPC_LOCK decide what it may map later.
 *
 * Return: the memctx with one reference, or NULL.
 */
struct vbus_memctx *vkvm_memctx_create(struct kvm *kvm)
{
	struct vkvm_memctx *m = kzalloc(sizeof(*m), VBUS_GFP_CLIENT);

	if (!m)
		return NULL;
	kvm_get_kvm(kvm);
	m->kvm = kvm;
	m->memcg = get_mem_cgroup_from_mm(current->mm);
	m->task = get_task_struct(current->group_leader);
	m->lock_cap = capable(CAP_IPC_LOCK);
	spin_lock_init(&m->lock);
	INIT_LIST_HEAD(&m->maps);
	m->slots_gen = vkvm_slots_gen(kvm);
	vbus_memctx_init(&m->ctx, &vkvm_memctx_ops);
	return &m->ctx;
}
