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

#include <linux/gfp.h>
#include <linux/kref.h>
#include <linux/types.h>

/*
 * How memory a client makes the host allocate is allocated (connections,
 * regions, signals, device buffers, a connector's bookkeeping): charged
 * to the caller's memory cgroup, or to the one a connector made active,
 * and failed with -ENOMEM, silently and without the OOM killer, when
 * that cgroup is full: a guest's request gets an error, it never makes
 * the host kill a process.
 */
#define VBUS_GFP_CLIENT	(GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL | __GFP_NOWARN)

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
 * @remap:	map again the range @map covers, when the client's memory
 *		map changed under it (optional): 0 when it still maps the
 *		same memory, 1 with the new mapping in @moved, or a negative
 *		errno (the range is not the client's memory now); @map stays
 *		valid in every case
 * @unmap:	undo @map or @remap
 * @enter:	the calling thread is about to make a run of copies
 *		(optional): make them cheaper, and return true when @leave
 *		must undo it.  Runs do not nest.
 * @leave:	end the run @enter prepared; the thread keeps nothing of
 *		the client's afterwards
 * @release:	free the memctx (last reference gone)
 * @owner:	the module that implements these operations
 * @atomic:	@copy_to and @copy_from never sleep, and the memory never
 *		moves (no @remap, no @enter): the client's memory is the
 *		kernel's own.  Rings of such a client may be served in the
 *		context that kicks them (vbus_ring.h), and its thread never
 *		busy-polls them (ring.c).
 *
 * All may sleep, unless @atomic says otherwise.  Each returns 0 or a
 * negative errno (-EFAULT for an address outside the client's memory),
 * @enter and @leave excepted.
 *
 * A memctx whose memory can change behind a mapping (a VMM may replace
 * the memory of a running guest) calls vbus_memmap_stale() for the
 * mapping when that happens, from any context; the core then calls
 * @remap on the connection's ring thread and, if the mapping moved,
 * moves the device over to the new one before it calls @unmap on the
 * old.  A memctx whose memory is gone for good (a VMM's address space
 * exited while its file lives on) calls vbus_memmap_gone() instead: the
 * core closes the connection that holds the mapping, which unmaps it,
 * so no page stays pinned for memory nobody can use.
 *
 * A memctx pins @owner from vbus_memctx_init() until its release has
 * returned: the core's connections, their teardown and remap work items
 * hold references that can outlive the client (a VMM's file), and the
 * last one may be dropped from any of them.  So a module cannot be
 * unloaded while a memctx it implements lives; it creates them on
 * behalf of clients (an open file, a configfs item), never for itself
 * from its init.
 */
struct vbus_memctx_ops {
	int (*copy_to)(struct vbus_memctx *ctx, u64 dst, const void *src,
		       size_t len);
	int (*copy_from)(struct vbus_memctx *ctx, void *dst, u64 src,
			 size_t len);
	int (*map)(struct vbus_memctx *ctx, u64 addr, size_t len,
		   struct vbus_memmap *map);
	int (*remap)(struct vbus_memctx *ctx, struct vbus_memmap *map,
		     struct vbus_memmap *moved);
	void (*unmap)(struct vbus_memctx *ctx, struct vbus_memmap *map);
	bool (*enter)(struct vbus_memctx *ctx);
	void (*leave)(struct vbus_memctx *ctx);
	void (*release)(struct vbus_memctx *ctx);
	struct module *owner;
	bool atomic;
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

/**
 * vbus_memctx_enter() - start a run of copies from one thread
 * @ctx:	the memctx
 *
 * A work item that copies packet after packet brackets its loop with
 * vbus_memctx_enter() and vbus_memctx_leave(), which lets the memctx
 * prepare once what every copy would otherwise prepare for itself (the
 * KVM memctx adopts the VMM's mm in a kernel thread).  Copies work
 * without it.  Runs do not nest.  May sleep.
 *
 * Return: the token for vbus_memctx_leave().
 */
static inline bool vbus_memctx_enter(struct vbus_memctx *ctx)
{
	return ctx->ops->enter ? ctx->ops->enter(ctx) : false;
}

/**
 * vbus_memctx_leave() - end a run of copies
 * @ctx:	the memctx
 * @entered:	what vbus_memctx_enter() returned
 *
 * May sleep.
 */
static inline void vbus_memctx_leave(struct vbus_memctx *ctx, bool entered)
{
	if (entered)
		ctx->ops->leave(ctx);
}

struct vbus_memctx *vbus_memctx_kernel_create(void);

void vbus_memmap_stale(struct vbus_memmap *map);
void vbus_memmap_gone(struct vbus_memmap *map);

#endif /* _VBUS_MEMCTX_H */
