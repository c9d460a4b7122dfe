// SPDX-License-Identifier: GPL-2.0
/*
 * venet data path: what the guest-to-host (tx.c) and host-to-guest
 * (rx.c) halves share, the event ring, and queue setup.
 *
 * Each of the guest's rings is a struct vbus_ring, served by the core's
 * ring engine (vbus_ring.h): the engine answers doorbells, bounds every
 * run with one budget, re-enables doorbells without ever looping on a
 * pending flag alone, follows moved memory and stops rings on close.
 * venet supplies the handlers: the protocol and nothing else.  A guest
 * that breaks a ring's protocol loses the ring until it reconnects; a
 * bad packet is dropped and counted.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/netdevice.h>
#include <linux/skbuff.h>

#include "venet.h"

/* ---------------------------------------------------------------- */
/* events */

/*
 * Send the link state to the guest if it changed since the last event:
 * 0 once it is sent, -EAGAIN while the guest has posted no buffer.
 */
static int venet_event_serve(struct vbus_ring *ring, struct vbus_ring_budget *b)
{
	struct venet_priv *vp = ring->priv;
	struct vbus_venet_event ev = {};
	struct vbus_ioq_buf buf;
	int up, ret;

	while ((up = READ_ONCE(vp->host_up)) != vp->ev_sent) {
		ret = vbus_ring_pop(ring, b, &buf);
		if (ret)
			return ret;
		b->items--;
		ev.type = cpu_to_le16(VBUS_VENET_EVENT_LINK);
		ev.value = cpu_to_le32(up);
		if (buf.len < sizeof(ev) ||
		    vbus_memctx_copy_to(ring->ctx, buf.addr, &ev, sizeof(ev))) {
			/* Not a usable buffer: return it empty. */
			vbus_ring_complete(ring, 0, 0);
			continue;
		}
		vbus_ring_complete(ring, sizeof(ev), 0);
		vp->ev_sent = up;
	}
	return 0;
}

const struct vbus_ring_ops venet_event_ring_ops = {
	.serve = venet_event_serve,
	.kind = "event",
};

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
	vbus_ring_init(&q->txr, &venet_tx_ring_ops, &vp->vn->dev, index, q);
	vbus_ring_init(&q->rxr, &venet_rx_ring_ops, &vp->vn->dev, index, q);
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
 * @q: the queue pair, its rings stopped
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
