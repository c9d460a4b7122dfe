/* SPDX-License-Identifier: GPL-2.0 */
/*
 * venet's page pools, on both ends: the host device copies a guest's
 * frames into pages of its queue's pool, the guest driver posts pages of
 * its receive ring's pool, and packets give their pages back to the pool
 * when they are freed (skb_mark_for_recycle()).  Pages from the page
 * allocator would be cleared in full first (init_on_alloc), which costs
 * nearly as much as the copy that overwrites them.
 *
 * CONFIG_PAGE_POOL has no prompt: in-tree drivers select it, and so does
 * CONFIG_BPF_SYSCALL.  Every Debian 6.1 flavour has it; an out-of-tree
 * module cannot select it, so a kernel without it is refused here.
 */
#ifndef VBUS_PAGE_POOL_H
#define VBUS_PAGE_POOL_H

#include <linux/numa.h>
#include <linux/skbuff.h>
#include <net/page_pool.h>

#ifndef CONFIG_PAGE_POOL
#error "venet needs a kernel with page pools (CONFIG_PAGE_POOL, selected by CONFIG_BPF_SYSCALL)"
#endif

/*
 * A pool of order-0 pages that keeps up to @pages free pages (besides
 * its cache of PP_ALLOC_CACHE_SIZE).  Only one context may allocate from
 * it at a time, and only that context may give a page back with
 * page_pool_put_full_page()'s allow_direct.  Returns the pool or an
 * ERR_PTR.
 */
static inline struct page_pool *vbus_page_pool_create(unsigned int pages)
{
	struct page_pool_params pp = {
		.pool_size = pages,
		.nid = NUMA_NO_NODE,
	};

	return page_pool_create(&pp);
}

#endif /* VBUS_PAGE_POOL_H */
