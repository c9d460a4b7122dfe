/* SPDX-License-Identifier: GPL-2.0 */
/*
 * IOQ ring logic, shared by the kernel and the unit tests.
 *
 * struct vbus_ioq_driver is the driver's view (it owns the memory, posts
 * buffers and reclaims them); struct vbus_ioq_device is the device's.
 * Each side keeps its own indices in private memory and only publishes
 * them, so nothing the peer writes into the shared header can move them.
 * The device copies every descriptor out of shared memory, reading each
 * field once, and checks the peer's index before trusting it: a hostile
 * driver gets -EPROTO, never an access outside the ring.
 *
 * Neither side is reentrant: callers serialise the operations of one
 * side, and the two sides may run concurrently.
 */
#ifndef _VBUS_LIB_IOQ_H
#define _VBUS_LIB_IOQ_H

#include <vbus/ioq.h>
#include <vbus_atomic.h>
#include <vbus_shm_signal.h>

#ifdef __KERNEL__
#include <linux/errno.h>
#include <linux/string.h>
#else
#include <errno.h>
#include <stddef.h>
#include <string.h>
#endif

/* A descriptor in CPU byte order, as the API passes it. */
struct vbus_ioq_buf {
	__u64 cookie;
	__u64 addr;
	__u32 len;
	__u32 flags;
};

struct vbus_ioq_driver {
	struct vbus_ioq_head *head;
	__u32 mask;
	__u32 avail;		/* next descriptor to fill */
	__u32 reclaimed;	/* next descriptor to reclaim */
};

struct vbus_ioq_device {
	struct vbus_ioq_head *head;
	__u32 mask;
	__u32 next;		/* next descriptor to consume */
	__u32 used;		/* next descriptor to complete */
};

/*
 * Copy a shared descriptor out, reading each field exactly once, so a
 * peer that rewrites it meanwhile cannot make two reads disagree.
 */
static inline void vbus_ioq_desc_read(const struct vbus_ioq_desc *d,
				      struct vbus_ioq_buf *buf)
{
	buf->cookie = le64_to_cpu(vbus_load(&d->cookie));
	buf->addr = le64_to_cpu(vbus_load(&d->addr));
	buf->len = le32_to_cpu(vbus_load(&d->len));
	buf->flags = le32_to_cpu(vbus_load(&d->flags));
}

static inline bool vbus_ioq_count_valid(__u32 count)
{
	return count && !(count & (count - 1));
}

/* Does @mem start on a VBUS_IOQ_ALIGN boundary, as a ring must? */
static inline bool vbus_ioq_aligned(const void *mem)
{
	return !((unsigned long)mem & (VBUS_IOQ_ALIGN - 1));
}

/**
 * vbus_ioq_drv_init() - lay out a ring in memory the driver owns
 * @q:		driver state to initialise
 * @mem:	the shared memory
 * @len:	its size in bytes
 * @count:	number of descriptors, a power of two
 * @start:	initial value of both indices (a restored ring resumes there)
 *
 * Return: 0, or -EINVAL if @count is not a power of two, @mem is not
 * aligned to VBUS_IOQ_ALIGN or the ring does not fit in @len bytes.
 */
static inline int vbus_ioq_drv_init(struct vbus_ioq_driver *q, void *mem,
				    size_t len, __u32 count, __u32 start)
{
	struct vbus_ioq_head *h = (struct vbus_ioq_head *)mem;

	if (!vbus_ioq_count_valid(count) || !vbus_ioq_aligned(mem) ||
	    len < sizeof(*h) ||
	    count > (len - sizeof(*h)) / sizeof(struct vbus_ioq_desc))
		return -EINVAL;

	memset(h, 0, VBUS_IOQ_SIZE(count));
	h->magic = cpu_to_le32(VBUS_IOQ_MAGIC);
	h->version = cpu_to_le32(VBUS_IOQ_VERSION);
	h->count = cpu_to_le32(count);
	h->avail_idx = cpu_to_le32(start);
	h->used_idx = cpu_to_le32(start);
	vbus_shm_signal_init(&h->dev_signal);
	vbus_shm_signal_init(&h->drv_signal);

	q->head = h;
	q->mask = count - 1;
	q->avail = start;
	q->reclaimed = start;
	return 0;
}

/* Descriptors the driver can still post. */
static inline __u32 vbus_ioq_drv_free(const struct vbus_ioq_driver *q)
{
	return q->mask + 1 - (q->avail - q->reclaimed);
}

/*
 * Has the driver taken back every descriptor the device completed so far?
 * A hint for deciding what to do next, not an order: a completion that
 * is published meanwhile is seen by the next vbus_ioq_drv_reclaim().
 */
static inline bool vbus_ioq_drv_caught_up(const struct vbus_ioq_driver *q)
{
	return le32_to_cpu(vbus_load(&q->head->used_idx)) == q->reclaimed;
}

/**
 * vbus_ioq_drv_post() - fill the next descriptor (not yet visible)
 * @q:		the driver's ring
 * @buf:	what to post
 *
 * Return: 0, or -ENOSPC when the ring is full.
 */
static inline int vbus_ioq_drv_post(struct vbus_ioq_driver *q,
				    const struct vbus_ioq_buf *buf)
{
	struct vbus_ioq_desc *d;

	if (!vbus_ioq_drv_free(q))
		return -ENOSPC;
	d = &q->head->ring[q->avail & q->mask];
	vbus_store(&d->cookie, cpu_to_le64(buf->cookie));
	vbus_store(&d->addr, cpu_to_le64(buf->addr));
	vbus_store(&d->len, cpu_to_le32(buf->len));
	vbus_store(&d->flags, cpu_to_le32(buf->flags));
	vbus_store(&d->reserved, 0);
	q->avail++;
	return 0;
}

/*
 * Make everything posted so far visible to the device.  Returns true
 * when the caller must ring the device's doorbell.
 */
static inline bool vbus_ioq_drv_publish(struct vbus_ioq_driver *q)
{
	vbus_store_release(&q->head->avail_idx, cpu_to_le32(q->avail));
	return vbus_shm_signal_raise(&q->head->dev_signal);
}

/**
 * vbus_ioq_drv_reclaim() - take back the oldest completed descriptor
 * @q:		the driver's ring
 * @buf:	receives the descriptor; @len is what the device reported and
 *		must be checked against the buffer by the caller
 *
 * Return: 0, -EAGAIN when nothing is completed, or -EPROTO when the device
 * claims to have completed descriptors that were never posted.
 */
static inline int vbus_ioq_drv_reclaim(struct vbus_ioq_driver *q,
				       struct vbus_ioq_buf *buf)
{
	__u32 used = le32_to_cpu(vbus_load_acquire(&q->head->used_idx));

	if (used == q->reclaimed)
		return -EAGAIN;
	if (used - q->reclaimed > q->avail - q->reclaimed)
		return -EPROTO;
	vbus_ioq_desc_read(&q->head->ring[q->reclaimed & q->mask], buf);
	q->reclaimed++;
	return 0;
}

/**
 * vbus_ioq_dev_attach() - validate a ring laid out by the driver
 * @q:		device state to initialise
 * @mem:	the shared memory, as mapped by the device
 * @len:	its size in bytes
 *
 * The device resumes at the ring's published used index.
 *
 * Return: 0, or -EINVAL if the memory does not hold a valid ring or is
 * not aligned to VBUS_IOQ_ALIGN.
 */
static inline int vbus_ioq_dev_attach(struct vbus_ioq_device *q, void *mem,
				      size_t len)
{
	struct vbus_ioq_head *h = (struct vbus_ioq_head *)mem;
	__u32 count;

	/*
	 * Misaligned, a signal's @pending could straddle two cache lines,
	 * and the device's atomic exchange on it would be a split lock.
	 */
	if (!vbus_ioq_aligned(mem) || len < sizeof(*h) ||
	    le32_to_cpu(vbus_load(&h->magic)) != VBUS_IOQ_MAGIC ||
	    le32_to_cpu(vbus_load(&h->version)) != VBUS_IOQ_VERSION)
		return -EINVAL;
	count = le32_to_cpu(vbus_load(&h->count));
	if (!vbus_ioq_count_valid(count) ||
	    count > (len - sizeof(*h)) / sizeof(struct vbus_ioq_desc))
		return -EINVAL;
	if (!vbus_shm_signal_valid(&h->dev_signal) ||
	    !vbus_shm_signal_valid(&h->drv_signal))
		return -EINVAL;

	q->head = h;
	q->mask = count - 1;
	q->used = le32_to_cpu(vbus_load(&h->used_idx));
	q->next = q->used;
	return 0;
}

/**
 * vbus_ioq_dev_move() - follow a ring to a new mapping of its memory
 * @q:		an attached ring
 * @mem:	the same memory, mapped elsewhere (its length unchanged)
 *
 * The device's indices carry over.  What @mem holds is not checked
 * again: every access already treats the ring as hostile.
 */
static inline void vbus_ioq_dev_move(struct vbus_ioq_device *q, void *mem)
{
	q->head = (struct vbus_ioq_head *)mem;
}

/**
 * vbus_ioq_dev_peek() - read an available descriptor, leaving it
 * @q:		the device's ring
 * @n:		which one: 0 for the next, 1 for the one after it ...
 * @buf:	receives a private copy of the descriptor
 *
 * The driver may still rewrite the descriptor: what the peek saw is a
 * hint, and vbus_ioq_dev_pop() reads it again.
 *
 * Return: 0, -EAGAIN when fewer than @n + 1 descriptors are available,
 * or -EPROTO as for vbus_ioq_dev_pop().
 */
static inline int vbus_ioq_dev_peek(const struct vbus_ioq_device *q,
				    __u32 n, struct vbus_ioq_buf *buf)
{
	__u32 avail = le32_to_cpu(vbus_load_acquire(&q->head->avail_idx));

	if (avail == q->next)
		return -EAGAIN;
	if (avail - q->used > q->mask + 1 || avail - q->next > avail - q->used)
		return -EPROTO;
	if (avail - q->next <= n)
		return -EAGAIN;
	vbus_ioq_desc_read(&q->head->ring[(q->next + n) & q->mask], buf);
	return 0;
}

/**
 * vbus_ioq_dev_pop() - consume the next available descriptor
 * @q:		the device's ring
 * @buf:	receives a private copy of the descriptor
 *
 * Return: 0, -EAGAIN when nothing is available, or -EPROTO when the
 * driver's index claims more descriptors than the ring holds.
 */
static inline int vbus_ioq_dev_pop(struct vbus_ioq_device *q,
				   struct vbus_ioq_buf *buf)
{
	int ret = vbus_ioq_dev_peek(q, 0, buf);

	if (!ret)
		q->next++;
	return ret;
}

/**
 * vbus_ioq_dev_avail() - is a descriptor waiting? (a peek, nothing popped)
 * @q:		the device's ring
 *
 * Return: true when vbus_ioq_dev_pop() would not return -EAGAIN: a
 * descriptor is available, or the driver's index is broken (the pop then
 * says -EPROTO).
 */
static inline bool vbus_ioq_dev_avail(const struct vbus_ioq_device *q)
{
	return le32_to_cpu(vbus_load_acquire(&q->head->avail_idx)) != q->next;
}

/**
 * vbus_ioq_dev_enable() - the device found the ring empty: ask for doorbells
 * @q:		the device's ring
 *
 * Enables the driver's doorbells.  When the driver's pending flag is set,
 * a signal may have been raised while they were off: acknowledge it and
 * peek at the ring.  Only a descriptor there is a reason to poll again.
 * A raise whose exchange came before the acknowledgment published its
 * descriptor before it, so the peek sees it; one that came after finds
 * the doorbells enabled and rings.  A pending flag without a descriptor
 * therefore costs one acknowledgment and one peek, never another round.
 *
 * Return: true when a descriptor waits and the caller must poll again
 * (charging that round to the budget of the run it is in).
 */
static inline bool vbus_ioq_dev_enable(struct vbus_ioq_device *q)
{
	if (!vbus_shm_signal_enable(&q->head->dev_signal))
		return false;
	vbus_shm_signal_ack(&q->head->dev_signal);
	return vbus_ioq_dev_avail(q);
}

/* Descriptors consumed but not yet completed. */
static inline __u32 vbus_ioq_dev_inflight(const struct vbus_ioq_device *q)
{
	return q->next - q->used;
}

/**
 * vbus_ioq_dev_complete() - complete the oldest consumed descriptor
 * @q:		the device's ring
 * @len:	bytes the device used (written into the buffer for receive
 *		rings, consumed from it for transmit rings)
 * @flags:	device-protocol flags reported back to the driver
 *
 * Not visible to the driver until vbus_ioq_dev_publish().
 *
 * Return: 0, or -EINVAL when no consumed descriptor is outstanding.
 */
static inline int vbus_ioq_dev_complete(struct vbus_ioq_device *q, __u32 len,
					__u32 flags)
{
	struct vbus_ioq_desc *d;

	if (!vbus_ioq_dev_inflight(q))
		return -EINVAL;
	d = &q->head->ring[q->used & q->mask];
	vbus_store(&d->len, cpu_to_le32(len));
	vbus_store(&d->flags, cpu_to_le32(flags));
	q->used++;
	return 0;
}

/*
 * Make completions visible to the driver.  Returns true when the caller
 * must notify (interrupt) the driver.
 */
static inline bool vbus_ioq_dev_publish(struct vbus_ioq_device *q)
{
	vbus_store_release(&q->head->used_idx, cpu_to_le32(q->used));
	return vbus_shm_signal_raise(&q->head->drv_signal);
}

#endif /* _VBUS_LIB_IOQ_H */
