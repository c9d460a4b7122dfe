// SPDX-License-Identifier: GPL-2.0
/*
 * venet data path: what the guest-to-host (tx.c) and host-to-guest
 * (rx.c) halves share, the event ring, and queue setup.
 *
 * Each of the guest's rings is served by one work item on venet_wq.
 * Every work run is bounded by one budget (struct venet_budget) that all
 * its rounds share, and requeues itself when there is more.  A run that
 * finds the ring empty enables the doorbell and goes round again only if
 * a descriptor is there (vbus_ioq_dev_enable()): a guest that keeps
 * setting its pending flag costs one check per doorbell it rings.  A run
 * sees its ring detached before each descriptor and stops, so close()
 * never waits for more than one descriptor.  A guest that breaks the
 * ring protocol loses the ring until it reconnects; a bad packet is
 * dropped and counted.  Messages are rate limited.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/netdevice.h>
#include <linux/skbuff.h>

#include "venet.h"

/**
 * venet_ring_attach() - make a registered ring servable
 * @ring:	the ring, detached, its work item idle
 * @ioq:	the validated ring
 * @shm:	the region that holds it
 * @signal:	the region's signal
 * @ctx:	the guest's memory
 */
void venet_ring_attach(struct venet_ring *ring, struct vbus_ioq_device *ioq,
		       struct vbus_memmap *shm, struct vbus_signal *signal,
		       struct vbus_memctx *ctx)
{
	ring->ioq = *ioq;
	ring->published = ioq->used;
	ring->shm = shm;
	ring->signal = signal;
	ring->ctx = ctx;
	ring->moving = false;
	/* The fields above are set before a work item can see the flag. */
	smp_store_release(&ring->attached, true);
}

/**
 * venet_ring_move() - follow the ring to its region's new mapping
 * @ring:	a ring attached by this connection
 * @work:	its work item, the only user of the ring's memory
 *
 * From shm_moved(): the work item is stopped, the ring's view switched
 * to @ring->shm->ptr, and the work item run once to serve what the
 * guest posted meanwhile.  The old mapping is unused on return.
 */
void venet_ring_move(struct venet_ring *ring, struct work_struct *work)
{
	WRITE_ONCE(ring->moving, true);
	/* A run that starts from now on sees @moving and returns. */
	cancel_work_sync(work);
	vbus_ioq_dev_move(&ring->ioq, ring->shm->ptr);
	/* Pairs with venet_ring_ok(): the new view is set when clear. */
	smp_store_release(&ring->moving, false);
	queue_work(venet_wq, work);
}

/**
 * venet_ring_abandon() - stop serving a ring the guest broke
 * @vp:		the device
 * @ring:	the ring, from its own work item
 * @what:	"tx", "rx" or "event", for the message
 * @index:	the ring's queue pair
 * @err:	what went wrong
 *
 * The ring stays unused until the guest reconnects.
 */
void venet_ring_abandon(struct venet_priv *vp, struct venet_ring *ring,
			const char *what, unsigned int index, int err)
{
	pr_notice_ratelimited("%s: guest broke the protocol on its %s ring %u (%d); ring abandoned\n",
			      venet_name(vp), what, index, err);
	WRITE_ONCE(ring->attached, false);
}

/* ---------------------------------------------------------------- */
/* events */

/**
 * venet_event_work() - send the link state to the guest if it changed
 * @work: struct venet_priv.event_work
 */
void venet_event_work(struct work_struct *work)
{
	struct venet_priv *vp = container_of(work, struct venet_priv,
					     event_work);
	struct venet_ring *ring = &vp->evr;
	struct vbus_shm_signal *dev_signal;
	struct vbus_venet_event ev = {};
	unsigned int budget = VENET_WORK_BUDGET;
	struct vbus_ioq_buf buf;
	int up, ret;

	if (!venet_ring_ok(ring))
		return;
	dev_signal = &ring->ioq.head->dev_signal;
	vbus_shm_signal_ack(dev_signal);
	while ((up = READ_ONCE(vp->host_up)) != vp->ev_sent) {
		if (!READ_ONCE(ring->attached))
			break;	/* detached: close() waits for us */
		if (!budget--) {
			queue_work(venet_wq, work);
			break;
		}
		ret = vbus_ioq_dev_pop(&ring->ioq, &buf);
		if (ret == -EAGAIN) {
			/*
			 * Wait for a buffer; the guest rings when it posts.
			 * Go round again only for a buffer, never for a
			 * pending flag alone.
			 */
			if (vbus_ioq_dev_enable(&ring->ioq))
				continue;
			break;
		}
		if (ret) {
			venet_ring_abandon(vp, ring, "event", 0, ret);
			break;
		}
		ev.type = cpu_to_le16(VBUS_VENET_EVENT_LINK);
		ev.value = cpu_to_le32(up);
		if (buf.len < sizeof(ev) ||
		    vbus_memctx_copy_to(ring->ctx, buf.addr, &ev, sizeof(ev))) {
			/* Not a usable buffer: return it empty. */
			vbus_ioq_dev_complete(&ring->ioq, 0, 0);
			continue;
		}
		vbus_ioq_dev_complete(&ring->ioq, sizeof(ev), 0);
		vp->ev_sent = up;
	}
	if (venet_ring_publish(ring))
		vbus_signal_notify(ring->signal);
}

/**
 * venet_evr_doorbell() - the guest posted event buffers
 * @signal: the event ring's signal
 *
 * Atomic context.
 */
void venet_evr_doorbell(struct vbus_signal *signal)
{
	struct venet_priv *vp = signal->priv;

	queue_work(venet_wq, &vp->event_work);
}

/* ---------------------------------------------------------------- */
/* queue setup */

/**
 * venet_queue_init() - initialise a queue pair of a new netdev
 * @q:		the queue pair, zeroed
 * @vp:		the netdev's private area
 * @index:	its number
 */
void venet_queue_init(struct venet_queue *q, struct venet_priv *vp,
		      unsigned int index)
{
	q->vp = vp;
	q->index = index;
	INIT_WORK(&q->tx_work, venet_tx_work);
	INIT_WORK(&q->rx_work, venet_rx_work);
	skb_queue_head_init(&q->rx_list);
	__skb_queue_head_init(&q->napi_skbs);
	skb_queue_head_init(&q->xmit_q);
	__skb_queue_head_init(&q->rx_segs);
	u64_stats_init(&q->rx_stats.syncp);
	u64_stats_init(&q->tx_stats.syncp);
	netif_napi_add(vp->netdev, &q->napi, venet_poll);
}

/**
 * venet_queue_reset() - forget a queue pair's connection state
 * @q: the queue pair, its rings detached and work items cancelled
 *
 * Drops the packets being assembled or written and those queued for
 * the guest.  Not the ones waiting for NAPI: see the callers.
 */
void venet_queue_reset(struct venet_queue *q)
{
	unsigned int dropped = skb_queue_len(&q->xmit_q) +
			       skb_queue_len(&q->rx_segs);

	kfree_skb(q->tx_skb);
	q->tx_skb = NULL;
	q->tx_chain = 0;
	q->tx_drop = false;
	q->tx_error = false;
	clear_bit(VENET_Q_THROTTLED, &q->flags);

	if (q->rx_skb)
		dropped++;
	kfree_skb(q->rx_skb);
	q->rx_skb = NULL;
	q->rx_chain = 0;
	q->rx_off = 0;
	q->rx_total = 0;
	skb_queue_purge(&q->xmit_q);
	__skb_queue_purge(&q->rx_segs);
	atomic_long_add(dropped, &q->xmit_drops);
}
