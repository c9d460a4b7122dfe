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
 *   for the copy with kthread_use_mm(), like vhost's workers;
 * - any other process (an administrator's `ip link set down` making a
 *   device write a link event): the pages are looked up in the VMM's mm
 *   with get_user_pages_remote() and copied through a temporary kernel
 *   mapping.
 * In all three the mm must still be alive (mmget_not_zero()); once the
 * VMM is exiting every access fails with -EFAULT.
 *
 * Long-term maps (rings, signals) pin the guest pages with FOLL_LONGTERM
 * and map them contiguously with vmap().
 */

#include <linux/highmem.h>
#include <linux/kthread.h>
#include <linux/kvm_host.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include <vbus_memctx.h>

#include "vkvm.h"

/* The largest region a guest may map: rings and signals are far smaller. */
#define VKVM_MAP_MAX	(4UL << 20)

struct vkvm_memctx {
	struct vbus_memctx ctx;
	struct kvm *kvm;
};

static struct kvm *to_kvm(struct vbus_memctx *ctx)
{
	return container_of(ctx, struct vkvm_memctx, ctx)->kvm;
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

static int vkvm_copy_to(struct vbus_memctx *ctx, u64 dst, const void *src,
			size_t len)
{
	return vkvm_copy(to_kvm(ctx), dst, (void *)src, len, true);
}

static int vkvm_copy_from(struct vbus_memctx *ctx, void *dst, u64 src,
			  size_t len)
{
	return vkvm_copy(to_kvm(ctx), src, dst, len, false);
}

/**
 * struct vkvm_map - a pinned, vmap()ed guest range
 * @pages:	the pinned pages
 * @npages:	how many
 * @vaddr:	their contiguous kernel mapping
 */
struct vkvm_map {
	struct page **pages;
	unsigned long npages;
	void *vaddr;
};

static long vkvm_pin(struct kvm *kvm, u64 gpa, unsigned long npages,
		     struct page **pages)
{
	unsigned long i;
	long ret = 0;

	mmap_read_lock(kvm->mm);
	for (i = 0; i < npages; i++) {
		unsigned long hva;
		int idx;

		idx = srcu_read_lock(&kvm->srcu);
		hva = gfn_to_hva(kvm, (gpa >> PAGE_SHIFT) + i);
		srcu_read_unlock(&kvm->srcu, idx);
		if (kvm_is_error_hva(hva)) {
			ret = -EFAULT;
			break;
		}
		ret = pin_user_pages_remote(kvm->mm, hva, 1,
					    FOLL_WRITE | FOLL_LONGTERM,
					    &pages[i], NULL, NULL);
		if (ret != 1) {
			ret = ret < 0 ? ret : -EFAULT;
			break;
		}
		ret = 0;
	}
	mmap_read_unlock(kvm->mm);
	if (ret && i)
		unpin_user_pages(pages, i);
	return ret;
}

static int vkvm_map(struct vbus_memctx *ctx, u64 addr, size_t len,
		    struct vbus_memmap *map)
{
	struct kvm *kvm = to_kvm(ctx);
	unsigned long npages;
	struct vkvm_map *m;
	long ret;

	if (!len || len > VKVM_MAP_MAX || addr + len < addr)
		return -EINVAL;
	npages = (offset_in_page(addr) + len + PAGE_SIZE - 1) >> PAGE_SHIFT;

	m = kzalloc(sizeof(*m), GFP_KERNEL);
	if (!m)
		return -ENOMEM;
	m->npages = npages;
	m->pages = kcalloc(npages, sizeof(*m->pages), GFP_KERNEL);
	if (!m->pages) {
		ret = -ENOMEM;
		goto err_free;
	}

	if (!mmget_not_zero(kvm->mm)) {
		ret = -EFAULT;
		goto err_free;
	}
	ret = vkvm_pin(kvm, addr, npages, m->pages);
	mmput(kvm->mm);
	if (ret)
		goto err_free;

	m->vaddr = vmap(m->pages, npages, VM_MAP, PAGE_KERNEL);
	if (!m->vaddr) {
		ret = -ENOMEM;
		goto err_unpin;
	}
	map->ptr = m->vaddr + offset_in_page(addr);
	map->len = len;
	map->priv = m;
	return 0;

err_unpin:
	unpin_user_pages(m->pages, npages);
err_free:
	kfree(m->pages);
	kfree(m);
	return ret;
}

static void vkvm_unmap(struct vbus_memctx *ctx, struct vbus_memmap *map)
{
	struct vkvm_map *m = map->priv;

	vunmap(m->vaddr);
	unpin_user_pages_dirty_lock(m->pages, m->npages, true);
	kfree(m->pages);
	kfree(m);
}

static void vkvm_memctx_release(struct vbus_memctx *ctx)
{
	struct vkvm_memctx *m = container_of(ctx, struct vkvm_memctx, ctx);

	kvm_put_kvm(m->kvm);
	kfree(m);
}

static const struct vbus_memctx_ops vkvm_memctx_ops = {
	.copy_to = vkvm_copy_to,
	.copy_from = vkvm_copy_from,
	.map = vkvm_map,
	.unmap = vkvm_unmap,
	.release = vkvm_memctx_release,
};

/**
 * vkvm_memctx_create() - the memctx of a VM
 * @kvm: the VM; the memctx takes its own reference
 *
 * Return: the memctx with one reference, or NULL.
 */
struct vbus_memctx *vkvm_memctx_create(struct kvm *kvm)
{
	struct vkvm_memctx *m = kzalloc(sizeof(*m), GFP_KERNEL);

	if (!m)
		return NULL;
	kvm_get_kvm(kvm);
	m->kvm = kvm;
	vbus_memctx_init(&m->ctx, &vkvm_memctx_ops);
	return &m->ctx;
}
