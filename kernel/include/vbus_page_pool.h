/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Page pools where the kernel has them.  CONFIG_PAGE_POOL has no prompt:
 * the drivers that use it select it (Debian's 6.1 flavours all have it).
 * Built against a kernel without it, the same calls use the page
 * allocator, whose pages are cleared on allocation (init_on_alloc) and
 * freed with the packet, and no pool exists.
 */
#ifndef VBUS_PAGE_POOL_H
#define VBUS_PAGE_POOL_H

#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/numa.h>
#include <linux/skbuff.h>
#include <net/page_pool.h>

#ifdef CONFIG_PAGE_POOL

/*
 * A pool of order-0 pages that keeps up to @pages free pages (besides
 * its cache of PP_ALLOC_CACHE_SIZE).  Returns the pool or an ERR_PTR.
 */
static inline struct page_pool *vbus_page_pool_create(unsigned int pages)
{
	struct page_pool_params pp = {
		.pool_size = pages,
		.nid = NUMA_NO_NODE,
	};

	return page_pool_create(&pp);
}

static inline void vbus_page_pool_destroy(struct page_pool *pool)
{
	page_pool_destroy(pool);
}

/* Only one context may allocate from a pool at a time. */
static inline struct page *vbus_page_pool_alloc(struct page_pool *pool,
						gfp_t gfp)
{
	return page_pool_alloc_pages(pool, gfp);
}

/*
 * Give back a page that is in no packet; @direct only from the context
 * that allocates from @pool, while no other can.
 */
static inline void vbus_page_pool_put(struct page_pool *pool,
				      struct page *page, bool direct)
{
	page_pool_put_full_page(pool, page, direct);
}

/* The packet's fragments go back to their pool when it is freed. */
static inline void vbus_page_pool_mark(struct sk_buff *skb)
{
	skb_mark_for_recycle(skb);
}

#else /* !CONFIG_PAGE_POOL */

static inline struct page_pool *vbus_page_pool_create(unsigned int pages)
{
	return NULL;
}

static inline void vbus_page_pool_destroy(struct page_pool *pool)
{
}

static inline struct page *vbus_page_pool_alloc(struct page_pool *pool,
						gfp_t gfp)
{
	return alloc_page(gfp);
}

static inline void vbus_page_pool_put(struct page_pool *pool,
				      struct page *page, bool direct)
{
	put_page(page);
}

static inline void vbus_page_pool_mark(struct sk_buff *skb)
{
}

#endif /* CONFIG_PAGE_POOL */

#endif /* VBUS_PAGE_POOL_H */
