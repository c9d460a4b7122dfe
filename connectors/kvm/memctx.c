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
 * Long-term maps (rings, signals) pin the guest pages with FOLL_LONGTERM
 * and map them contiguously with vmap().  They follow the VMM's changes:
 * an mmu interval notifier over the pages' user addresses sees any
 * change of the VMM's page tables there (munmap, mremap, MAP_FIXED,
 * MADV_DONTNEED), and a new table marks every map.  Either makes the
 * core remap the region and move its device to the new pages
 * (vbus_memmap_stale()); until then the device keeps the old pages,
 * which stay pinned, so a VMM's change can never make the host touch
 * memory it no longer owns.  Pages a filesystem writes back through a
 * shared mapping are never pinned so (vkvm_vma_pinnable()).  When the
 * VMM's address space exits, the connections holding maps close
 * (vbus_memmap_gone()), so no pin outlives the mm whose RLIMIT_MEMLOCK
 * counted it, even while the VMM's file lives on in another process.
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

#include <linux/backing-dev.h>
#include <linux/highmem.h>
#include <linux/hugetlb_inline.h>
#include <linux/kthread.h>
#include <linux/capability.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include <vbus/kvm.h>
#include <vbus_memctx.h>

#include "vkvm.h"

/* The table's entries are in 4 KiB pages, as the ABI says. */
static_assert(PAGE_SIZE == 4096);

/* The largest entry a VMM may hand over (its tail beyond ours is zero). */
#define VKVM_MEM_REGION_SIZE_MAX	4096

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

static struct vkvm_memctx *to_vm(struct vbus_memctx *ctx)
{
	return container_of(ctx, struct vkvm_memctx, ctx);
}

/* The entry of @t that covers @gpa, or NULL; @t may be NULL (no table). */
static const struct vkvm_mem_range *vkvm_find(const struct vkvm_mem_table *t,
					      u64 gpa)
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
static bool vkvm_translate(struct vkvm_memctx *vm, u64 gpa,
			   unsigned long *hva, u64 *avail)
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
static int vkvm_charge_pins(struct vkvm_memctx *vm, unsigned long npages)
{
	unsigned long limit = task_rlimit(vm->task, RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	s64 pinned = atomic64_add_return(npages, &vm->mm->pinned_vm);

	if (!vm->lock_cap && pinned > limit) {
		atomic64_sub(npages, &vm->mm->pinned_vm);
		return -ENOMEM;
	}
	return 0;
}

static void vkvm_uncharge_pins(struct vkvm_memctx *vm, unsigned long npages)
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

/**
 * struct vkvm_range - a run of a map's pages at consecutive user addresses
 * @mni:	watches the VMM's page tables over the run
 * @map:	the map it belongs to
 * @first:	the index of its first page in the map
 * @npages:	its pages
 * @uaddr:	the user address of its first page
 * @seq:	@mni's sequence when the pages were looked up
 */
struct vkvm_range {
	struct mmu_interval_notifier mni;
	struct vkvm_map *map;
	unsigned long first;
	unsigned long npages;
	unsigned long uaddr;
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
 * The VMM's address space exited (MMU_NOTIFY_RELEASE): nothing can use
 * the guest's memory any more, but the VMM's file may live on (kept
 * across an execve(), passed to another process), and with it pins that
 * the exited mm's RLIMIT_MEMLOCK no longer bounds.  The core closes the
 * connection, which unpins.
 */
static bool vkvm_range_invalidate(struct mmu_interval_notifier *mni,
				  const struct mmu_notifier_range *range,
				  unsigned long cur_seq)
{
	struct vkvm_range *r = container_of(mni, struct vkvm_range, mni);

	mmu_interval_set_seq(mni, cur_seq);
	if (range->event == MMU_NOTIFY_RELEASE)
		vbus_memmap_gone(r->map->owner);
	else
		vbus_memmap_stale(r->map->owner);
	return true;
}

static const struct mmu_interval_notifier_ops vkvm_range_ops = {
	.invalidate = vkvm_range_invalidate,
};

/* The user address of every page of [gpa, gpa + npages pages). */
static int vkvm_lookup(struct vkvm_memctx *vm, u64 gpa, unsigned long npages,
		       unsigned long *hva)
{
	unsigned long i;
	u64 avail;

	for (i = 0; i < npages; i++)
		if (!vkvm_translate(vm, (gpa & PAGE_MASK) + i * PAGE_SIZE,
				    &hva[i], &avail))
			return -EFAULT;
	return 0;
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

/*
 * May @vma's pages be pinned for long?  Not those of a shared mapping of
 * a file that its filesystem writes back (or wants to hear of writes
 * to): writeback cleans and write-protects them behind the pin, and the
 * host's writes through it would go unseen.  6.1's FOLL_LONGTERM refuses
 * only fsdax; later kernels refuse these too.  Anonymous memory, a
 * private mapping (FOLL_WRITE pins its own anonymous copies), shmem (a
 * memfd, /dev/shm, a shared anonymous mapping), hugetlbfs and a file
 * system without writeback (ramfs) may be pinned.
 */
static bool vkvm_vma_pinnable(struct vm_area_struct *vma)
{
	struct file *file = vma->vm_file;

	if (!file || !(vma->vm_flags & VM_SHARED))
		return true;
	if (shmem_file(file) || is_vm_hugetlb_page(vma))
		return true;
	if (vma->vm_ops &&
	    (vma->vm_ops->page_mkwrite || vma->vm_ops->pfn_mkwrite))
		return false;
	return !mapping_can_writeback(file->f_mapping);
}

/*
 * Every VMA of [start, start + len) as vkvm_vma_pinnable() wants: 0,
 * -EFAULT where nothing is mapped, -EOPNOTSUPP otherwise.  Called with
 * the mmap lock held.
 */
static int vkvm_pinnable(struct mm_struct *mm, unsigned long start,
			 unsigned long len)
{
	unsigned long end = start + len;

	while (start < end) {
		struct vm_area_struct *vma = vma_lookup(mm, start);

		if (!vma)
			return -EFAULT;
		if (!vkvm_vma_pinnable(vma))
			return -EOPNOTSUPP;
		start = vma->vm_end;
	}
	return 0;
}

/*
 * Pin the pages of every run; 0, -EAGAIN if a run changed meanwhile,
 * -EOPNOTSUPP if one may not be pinned for long (vkvm_vma_pinnable()).
 */
static int vkvm_pin_runs(struct mm_struct *mm, struct vkvm_map *m,
			 const unsigned long *hva)
{
	unsigned long pinned = 0;
	unsigned int k;
	long ret = 0;

	for (k = 0; k < m->nranges; k++)
		m->ranges[k].seq = mmu_interval_read_begin(&m->ranges[k].mni);

	mmap_read_lock(mm);
	for (k = 0; k < m->nranges; k++) {
		struct vkvm_range *r = &m->ranges[k];

		ret = vkvm_pinnable(mm, hva[r->first], r->npages * PAGE_SIZE);
		if (ret)
			break;
		ret = pin_user_pages_remote(mm, hva[r->first], r->npages,
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
	mmap_read_unlock(mm);

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
	struct mm_struct *mm = m->vm->mm;
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
		m->ranges[k].uaddr = hva[i];
		ret = mmu_interval_notifier_insert(&m->ranges[k].mni, mm,
						   hva[i], n * PAGE_SIZE,
						   &vkvm_range_ops);
		if (ret) {
			vkvm_map_remove_ranges(m, k);
			return ret;
		}
		i += n;
	}
	ret = vkvm_pin_runs(mm, m, hva);
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
	bool current_table;
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
	mutex_lock(&vm->lock);
	gen = vm->gen;
	mutex_unlock(&vm->lock);
	ret = vkvm_lookup(vm, gpa, npages, hva);
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
	/*
	 * A table set since the lookup would not mark this map, which is
	 * not on the list yet: look again.  Once on the list, a new table
	 * marks it.
	 */
	mutex_lock(&vm->lock);
	current_table = vm->gen == gen;
	if (current_table)
		list_add(&m->node, &vm->maps);
	mutex_unlock(&vm->lock);
	if (!current_table) {
		vunmap(m->vaddr);
		unpin_user_pages(m->pages, npages);
		vkvm_map_remove_ranges(m, m->nranges);
		if (++tries < VKVM_MAP_TRIES) {
			kfree(m->pages);
			kfree(m);
			goto again;
		}
		ret = -EAGAIN;
		goto err_free;
	}
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

	/* No new table marks it once off the list... */
	mutex_lock(&vm->lock);
	list_del(&m->node);
	mutex_unlock(&vm->lock);
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
 * by the VMM's calls and by the core's remap work (on the connection's
 * thread): either way the VMM's memory cgroup pays.
 */
static int vkvm_map_into(struct vkvm_memctx *vm, u64 gpa, size_t len,
			 struct vbus_memmap *owner, struct vbus_memmap *out)
{
	struct mem_cgroup *old_memcg;
	struct vkvm_map *m;

	if (!mmget_not_zero(vm->mm))
		return -EFAULT;
	old_memcg = set_active_memcg(vm->memcg);
	m = vkvm_map_new(vm, gpa, len, owner);
	set_active_memcg(old_memcg);
	mmput(vm->mm);
	if (IS_ERR(m))
		return PTR_ERR(m);
	out->ptr = m->vaddr + offset_in_page(gpa);
	out->len = len;
	out->priv = m;
	return 0;
}

static bool vkvm_map_same_uaddr(const struct vkvm_map *a,
				const struct vkvm_map *b)
{
	unsigned int k;

	if (a->nranges != b->nranges)
		return false;
	for (k = 0; k < a->nranges; k++)
		if (a->ranges[k].uaddr != b->ranges[k].uaddr ||
		    a->ranges[k].npages != b->ranges[k].npages)
			return false;
	return true;
}

/* Does @t put every run of @m at the user addresses it has now? */
static bool vkvm_map_unmoved(const struct vkvm_map *m,
			     const struct vkvm_mem_table *t)
{
	unsigned int k;

	for (k = 0; k < m->nranges; k++) {
		const struct vkvm_range *r = &m->ranges[k];
		u64 gpa = (m->gpa & PAGE_MASK) + ((u64)r->first << PAGE_SHIFT);
		const struct vkvm_mem_range *e = vkvm_find(t, gpa);

		if (!e || e->uaddr + (unsigned long)(gpa - e->gpa) != r->uaddr ||
		    e->last - gpa < ((u64)r->npages << PAGE_SHIFT) - 1)
			return false;
	}
	return true;
}

static int vkvm_map(struct vbus_memctx *ctx, u64 addr, size_t len,
		    struct vbus_memmap *map)
{
	if (!len || len > VKVM_MAP_MAX || addr + len < addr)
		return -EINVAL;
	return vkvm_map_into(to_vm(ctx), addr, len, map, map);
}

/*
 * Map the range again.  The same pages at the same user addresses (a
 * change that moved nothing, like an mprotect()): nothing to do.  The
 * same pages at other addresses (the memory mapped twice) still need the
 * new map: its notifiers watch the addresses the table now names.
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
	if (vkvm_map_same_uaddr(m, old) &&
	    !memcmp(m->pages, old->pages, old->npages * sizeof(*m->pages))) {
		vkvm_map_free(m, false);
		return 0;
	}
	return 1;
}

static void vkvm_unmap(struct vbus_memctx *ctx, struct vbus_memmap *map)
{
	vkvm_map_free(map->priv, true);
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
	struct vkvm_map *m;
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

	/*
	 * Only the maps whose addresses the new table changes are remapped:
	 * setting the same table again costs a walk, not a remap of every
	 * ring.
	 */
	mutex_lock(&vm->lock);
	old = rcu_replace_pointer(vm->table, t, lockdep_is_held(&vm->lock));
	vm->gen++;
	list_for_each_entry(m, &vm->maps, node) {
		if (!vkvm_map_unmoved(m, t))
			vbus_memmap_stale(m->owner);
		cond_resched();
	}
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
