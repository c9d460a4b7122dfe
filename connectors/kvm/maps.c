// SPDX-License-Identifier: GPL-2.0
/*
 * The KVM memctx's long-term maps (rings, signals): the guest pages are
 * pinned with FOLL_LONGTERM and mapped contiguously with vmap().
 *
 * They follow the VMM's changes: an mmu interval notifier over the
 * pages' user addresses sees any change of the VMM's page tables there
 * (munmap, mremap, MAP_FIXED, MADV_DONTNEED), and a new table marks
 * every map it moves.  Either makes the core remap the region and move
 * its device to the new pages (vbus_memmap_stale()); until then the
 * device keeps the old pages, which stay pinned, so a VMM's change can
 * never make the host touch memory it no longer owns.  Pages a
 * filesystem writes back through a shared mapping are never pinned so
 * (vkvm_vma_pinnable()).  When the VMM's address space exits, the
 * connections holding maps close (vbus_memmap_gone()), so no pin
 * outlives the mm whose RLIMIT_MEMLOCK counted it, even while the VMM's
 * file lives on in another process.  Accounting: memctx.c's header.
 */

#include <linux/backing-dev.h>
#include <linux/hugetlb_inline.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include <vbus_memctx.h>

#include "memctx.h"
#include "vkvm.h"

/**
 * struct vkvm_range - a run of a map's pages at consecutive user addresses
 * @mni:	watches the VMM's page tables over the run
 * @map:	the map it belongs to
 * @first:	the index of its first page in the map
 * @npages:	its pages
 * @uaddr:	the user address of its first page
 * @seq:	@mni's sequence when the pages were looked up, or when a
 *		remap found them unchanged; @mni's is another once the VMM
 *		changed its page tables over the run since.  Written by the
 *		connection's thread, read by a new table (under @vm->lock)
 * @reseq:	@mni's sequence before a remap's lookup (the connection's
 *		thread's): @seq if the remap finds the same pages
 */
struct vkvm_range {
	struct mmu_interval_notifier mni;
	struct vkvm_map *map;
	unsigned long first;
	unsigned long npages;
	unsigned long uaddr;
	unsigned long seq;
	unsigned long reseq;
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

/*
 * Does @t put every run of @m at the user addresses it has now, with the
 * pages it has?  Not if the VMM changed its page tables there since the
 * pages were looked up: a remap that could not follow then (no entry
 * covered the run, nothing was mapped there yet) left @m on the old
 * pages, and this table is the next chance to follow.
 */
static bool vkvm_map_unmoved(struct vkvm_map *m,
			     const struct vkvm_mem_table *t)
{
	unsigned int k;

	for (k = 0; k < m->nranges; k++) {
		struct vkvm_range *r = &m->ranges[k];
		u64 gpa = (m->gpa & PAGE_MASK) + ((u64)r->first << PAGE_SHIFT);
		const struct vkvm_mem_range *e = vkvm_find(t, gpa);

		if (!e || e->uaddr + (unsigned long)(gpa - e->gpa) != r->uaddr ||
		    e->last - gpa < ((u64)r->npages << PAGE_SHIFT) - 1)
			return false;
		if (mmu_interval_check_retry(&r->mni, READ_ONCE(r->seq)))
			return false;
	}
	return true;
}

/*
 * A new table: every map whose addresses @t changes is remapped by the
 * core.  Setting the same table again costs a walk, not a remap of every
 * ring.  @vm->lock held.
 */
void vkvm_maps_table_changed(struct vkvm_memctx *vm,
			     const struct vkvm_mem_table *t)
{
	struct vkvm_map *m;

	lockdep_assert_held(&vm->lock);
	list_for_each_entry(m, &vm->maps, node) {
		if (!vkvm_map_unmoved(m, t))
			vbus_memmap_stale(m->owner);
		cond_resched();
	}
}

int vkvm_map(struct vbus_memctx *ctx, u64 addr, size_t len,
	     struct vbus_memmap *map)
{
	if (!len || len > VKVM_MAP_MAX || addr + len < addr)
		return -EINVAL;
	return vkvm_map_into(to_vm(ctx), addr, len, map, map);
}

/*
 * Map the range again.  The same pages at the same user addresses (a
 * change that moved nothing, like an mprotect()): nothing to do, and
 * the old map counts as looked up now (vkvm_map_unmoved()).  The same
 * pages at other addresses (the memory mapped twice) still need the new
 * map: its notifiers watch the addresses the table now names.
 */
int vkvm_remap(struct vbus_memctx *ctx, struct vbus_memmap *map,
	       struct vbus_memmap *moved)
{
	struct vkvm_map *old = map->priv, *m;
	unsigned int k;
	int ret;

	for (k = 0; k < old->nranges; k++)
		old->ranges[k].reseq =
			mmu_interval_read_begin(&old->ranges[k].mni);
	ret = vkvm_map_into(to_vm(ctx), old->gpa, old->len, map, moved);
	if (ret)
		return ret;
	m = moved->priv;
	if (vkvm_map_same_uaddr(m, old) &&
	    !memcmp(m->pages, old->pages, old->npages * sizeof(*m->pages))) {
		for (k = 0; k < old->nranges; k++)
			WRITE_ONCE(old->ranges[k].seq, old->ranges[k].reseq);
		vkvm_map_free(m, false);
		return 0;
	}
	return 1;
}

void vkvm_unmap(struct vbus_memctx *ctx, struct vbus_memmap *map)
{
	vkvm_map_free(map->priv, true);
}
