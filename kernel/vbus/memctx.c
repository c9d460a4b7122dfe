// SPDX-License-Identifier: GPL-2.0
/*
 * memctx: reference counting, and the memctx of in-kernel clients.
 *
 * The kernel memctx serves clients that live in the host kernel (the
 * local connector, tests): their addresses are kernel virtual addresses
 * of memory they own.  Such clients are trusted code; the checks below
 * only keep a stray value from reaching user memory or wrapping around.
 */

#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>

#include <vbus_memctx.h>

/**
 * vbus_memctx_init() - initialise a connector's memctx
 * @ctx:	the memctx, embedded in the connector's structure
 * @ops:	its operations; @ops->release frees it
 *
 * The caller holds the first reference.  Until the release has
 * returned, the memctx holds a reference on @ops->owner; the caller is
 * code of that module, so the module is live.
 */
void vbus_memctx_init(struct vbus_memctx *ctx,
		      const struct vbus_memctx_ops *ops)
{
	kref_init(&ctx->kref);
	ctx->ops = ops;
	__module_get(ops->owner);
}
EXPORT_SYMBOL_GPL(vbus_memctx_init);

/**
 * vbus_memctx_get() - take a reference
 * @ctx: the memctx
 */
void vbus_memctx_get(struct vbus_memctx *ctx)
{
	kref_get(&ctx->kref);
}
EXPORT_SYMBOL_GPL(vbus_memctx_get);

static void vbus_memctx_release(struct kref *kref)
{
	struct vbus_memctx *ctx = container_of(kref, struct vbus_memctx, kref);
	struct module *owner = ctx->ops->owner;

	ctx->ops->release(ctx);
	/* The owner's code ran last above; it may go now. */
	module_put(owner);
}

/**
 * vbus_memctx_put() - drop a reference
 * @ctx: the memctx
 */
void vbus_memctx_put(struct vbus_memctx *ctx)
{
	kref_put(&ctx->kref, vbus_memctx_release);
}
EXPORT_SYMBOL_GPL(vbus_memctx_put);

static void *kctx_ptr(u64 addr, size_t len)
{
	if (!addr || addr + len < addr || addr < (u64)TASK_SIZE_MAX)
		return NULL;
	return (void *)(uintptr_t)addr;
}

static int kctx_copy_to(struct vbus_memctx *ctx, u64 dst, const void *src,
			size_t len)
{
	void *p = kctx_ptr(dst, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

static int kctx_copy_from(struct vbus_memctx *ctx, void *dst, u64 src,
			  size_t len)
{
	const void *p = kctx_ptr(src, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

static int kctx_map(struct vbus_memctx *ctx, u64 addr, size_t len,
		    struct vbus_memmap *map)
{
	void *p = kctx_ptr(addr, len);

	if (!p)
		return -EFAULT;
	map->ptr = p;
	map->len = len;
	map->priv = NULL;
	return 0;
}

static void kctx_release(struct vbus_memctx *ctx)
{
	kfree(ctx);
}

static const struct vbus_memctx_ops kctx_ops = {
	.copy_to = kctx_copy_to,
	.copy_from = kctx_copy_from,
	.map = kctx_map,
	.release = kctx_release,
	.owner = THIS_MODULE,
	.atomic = true,
};

/**
 * vbus_memctx_kernel_create() - a memctx over kernel virtual addresses
 *
 * For in-kernel clients, whose shared memory is their own kernel memory.
 *
 * Return: the memctx with one reference, or NULL.
 */
struct vbus_memctx *vbus_memctx_kernel_create(void)
{
	struct vbus_memctx *ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);

	if (ctx)
		vbus_memctx_init(ctx, &kctx_ops);
	return ctx;
}
EXPORT_SYMBOL_GPL(vbus_memctx_kernel_create);
