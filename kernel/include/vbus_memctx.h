/* SPDX-License-Identifier: GPL-2.0 */
/*
 * memctx: how a device reaches a client's memory.
 *
 * Addresses in a client's memory are plain u64 values whose meaning
 * belongs to the connector (a guest physical address for KVM, a kernel
 * virtual address for the in-kernel connectors).  Device models never
 * interpret them; they only pass them back to the memctx, which checks
 * and translates them.
 */
#ifndef _VBUS_MEMCTX_H
#define _VBUS_MEMCTX_H

#include <linux/kref.h>
#include <linux/types.h>

struct vbus_memctx;

/**
 * struct vbus_memmap - a long-term mapping of client memory
 * @ptr:	kernel address of the mapped range
 * @len:	its length
 * @priv:	the memctx's own bookkeeping
 */
struct vbus_memmap {
	void *ptr;
	size_t len;
	void *priv;
};

/**
 * struct vbus_memctx_ops - what a connector provides
 * @copy_to:	copy @len bytes from @src to client address @dst
 * @copy_from:	copy @len bytes from client address @src to @dst
 * @map:	map [@addr, @addr + @len) for long-term use by the kernel
 * @unmap:	undo @map
 * @release:	free the memctx (last reference gone)
 *
 * All may sleep.  Each returns 0 or a negative errno (-EFAULT for an
 * address outside the client's memory).
 */
struct vbus_memctx_ops {
	int (*copy_to)(struct vbus_memctx *ctx, u64 dst, const void *src,
		       size_t len);
	int (*copy_from)(struct vbus_memctx *ctx, void *dst, u64 src,
			 size_t len);
	int (*map)(struct vbus_memctx *ctx, u64 addr, size_t len,
		   struct vbus_memmap *map);
	void (*unmap)(struct vbus_memctx *ctx, struct vbus_memmap *map);
	void (*release)(struct vbus_memctx *ctx);
};

/**
 * struct vbus_memctx - a client's address space
 * @kref:	reference count; vbus_memctx_put() drops it
 * @ops:	the connector's implementation
 */
struct vbus_memctx {
	struct kref kref;
	const struct vbus_memctx_ops *ops;
};

void vbus_memctx_init(struct vbus_memctx *ctx,
		      const struct vbus_memctx_ops *ops);
void vbus_memctx_get(struct vbus_memctx *ctx);
void vbus_memctx_put(struct vbus_memctx *ctx);

static inline int vbus_memctx_copy_to(struct vbus_memctx *ctx, u64 dst,
				      const void *src, size_t len)
{
	return ctx->ops->copy_to(ctx, dst, src, len);
}

static inline int vbus_memctx_copy_from(struct vbus_memctx *ctx, void *dst,
					u64 src, size_t len)
{
	return ctx->ops->copy_from(ctx, dst, src, len);
}

struct vbus_memctx *vbus_memctx_kernel_create(void);

#endif /* _VBUS_MEMCTX_H */
