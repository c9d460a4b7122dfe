// SPDX-License-Identifier: GPL-2.0
/*
 * venet data path, host to guest.  ndo_start_xmit queues skbs on the
 * queue's xmit_q (stopping the netdev queue when VENET_XMIT_QLEN are
 * waiting) and kicks the rx ring, whose handler writes each packet,
 * header first, into as many of the guest's posted buffers as it needs
 * and completes them once the whole packet is written.  A packet waits
 * in place when the guest has posted too few buffers; the rx ring's
 * doorbell (enabled only then) resumes it.  For an in-kernel guest (the
 * local connector) ndo_start_xmit delivers a small frame that answers
 * the guest itself, as veth delivers inline; nothing in the handler
 * sleeps.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/etherdevice.h>
#include <linux/highmem.h>
#include <linux/if_vlan.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <linux/virtio_net.h>

#include "venet.h"

/**
 * venet_start_xmit() - queue a packet for the guest
 * @skb:	the packet
 * @dev:	the host netdev
 *
 * Return: NETDEV_TX_OK; the packet is queued or dropped.
 */
netdev_tx_t venet_start_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct venet_priv *vp = netdev_priv(dev);
	unsigned int qi = skb_get_queue_mapping(skb);
	unsigned int len = skb->len;
	struct netdev_queue *txq;
	struct venet_queue *q;

	if (qi >= vp->nqueues)
		goto drop_uncounted;
	q = &vp->queues[qi];
	if (!READ_ONCE(vp->connected) || !READ_ONCE(vp->guest_link) ||
	    qi >= READ_ONCE(vp->queue_pairs) || !vbus_ring_live(&q->rxr))
		goto drop;

	skb_tx_timestamp(skb);
	/* The guest may keep it for as long as it likes. */
	if (skb_orphan_frags_rx(skb, GFP_ATOMIC))
		goto drop;
	skb_orphan(skb);
	nf_reset_ct(skb);

	skb_queue_tail(&q->xmit_q, skb);
	txq = netdev_get_tx_queue(dev, qi);
	if (skb_queue_len_lockless(&q->xmit_q) >= VENET_XMIT_QLEN) {
		netif_tx_stop_queue(txq);
		/* Pairs with the barrier in venet_rx_wake(). */
		smp_mb__after_atomic();
		if (skb_queue_len_lockless(&q->xmit_q) < VENET_XMIT_QLEN)
			netif_tx_start_queue(txq);
	}
	if (netdev_xmit_more() && !netif_xmit_stopped(txq))
		return NETDEV_TX_OK;
	/*
	 * One small frame that answers the guest: delivered from here, for
	 * a guest whose rings may be served directly; the thread takes the
	 * rest.
	 */
	if (len <= VENET_DIRECT_MAX && skb_queue_len_lockless(&q->xmit_q) == 1 &&
	    vbus_ring_expected(&q->rxr))
		vbus_ring_serve_now(&q->rxr);
	else
		vbus_ring_kick(&q->rxr);
	return NETDEV_TX_OK;

drop:
	atomic_long_inc(&q->xmit_drops);
	dev_kfree_skb_any(skb);
	/* Those queued before it with xmit_more wait for the kick it owed. */
	if (!netdev_xmit_more() && !skb_queue_empty_lockless(&q->xmit_q))
		vbus_ring_kick(&q->rxr);
	return NETDEV_TX_OK;

drop_uncounted:
	dev_kfree_skb_any(skb);
	return NETDEV_TX_OK;
}

static bool venet_gso_ok(const struct sk_buff *skb, u64 f)
{
	unsigned int t = skb_shinfo(skb)->gso_type & ~SKB_GSO_DODGY;

	if (t & ~(SKB_GSO_TCPV4 | SKB_GSO_TCPV6 | SKB_GSO_TCP_ECN))
		return false;
	if ((t & SKB_GSO_TCPV4) && !(f & VBUS_VENET_F_RX_TSO4))
		return false;
	if ((t & SKB_GSO_TCPV6) && !(f & VBUS_VENET_F_RX_TSO6))
		return false;
	if ((t & SKB_GSO_TCP_ECN) && !(f & VBUS_VENET_F_RX_ECN))
		return false;
	return !skb_has_frag_list(skb) && skb->ip_summed == CHECKSUM_PARTIAL;
}

/**
 * venet_features_check() - offloads the guest can take for this packet
 * @skb:	a packet on its way to ndo_start_xmit
 * @dev:	the host netdev
 * @features:	what the stack would use
 *
 * Return: @features without what the guest did not negotiate, so that
 * the stack segments and checksums in software what the guest cannot.
 */
netdev_features_t venet_features_check(struct sk_buff *skb,
				       struct net_device *dev,
				       netdev_features_t features)
{
	struct venet_priv *vp = netdev_priv(dev);
	u64 f = READ_ONCE(vp->features);

	if (!(f & VBUS_VENET_F_RX_CSUM))
		features &= ~(NETIF_F_CSUM_MASK | NETIF_F_GSO_MASK);
	if (skb_is_gso(skb) && !venet_gso_ok(skb, f))
		features &= ~NETIF_F_GSO_MASK;
	return features;
}

/*
 * The next packet for the guest, made fit for it: segmented and
 * checksummed in software if it carries offloads the guest did not
 * negotiate (only a packet queued while the features changed can).
 */
static struct sk_buff *venet_rx_next(struct venet_queue *q, u64 f)
{
	u32 max_frame = q->vp->mtu + VBUS_VENET_FRAME_OVERHEAD;
	struct sk_buff *skb, *segs, *next;

	for (;;) {
		skb = __skb_dequeue(&q->rx_segs);
		if (!skb)
			skb = skb_dequeue(&q->xmit_q);
		if (!skb)
			return NULL;

		if (skb_is_gso(skb) && skb->ip_summed != CHECKSUM_PARTIAL)
			goto drop;	/* the stack never sends these */
		if (skb_is_gso(skb) && !venet_gso_ok(skb, f)) {
			netdev_features_t feat = NETIF_F_SG;

			if (f & VBUS_VENET_F_RX_CSUM)
				feat |= NETIF_F_HW_CSUM;
			segs = skb_gso_segment(skb, feat);
			if (IS_ERR_OR_NULL(segs))
				goto drop;
			consume_skb(skb);
			skb_list_walk_safe(segs, skb, next) {
				skb_mark_not_on_list(skb);
				__skb_queue_tail(&q->rx_segs, skb);
			}
			continue;
		}
		if (skb->ip_summed == CHECKSUM_PARTIAL &&
		    !(f & VBUS_VENET_F_RX_CSUM) && skb_checksum_help(skb))
			goto drop;
		if (skb_has_frag_list(skb) && __skb_linearize(skb))
			goto drop;
		if (skb->len < ETH_HLEN ||
		    skb->len > (skb_is_gso(skb) ? VBUS_VENET_MAX_FRAME :
				max_frame))
			goto drop;
		return skb;
drop:
		kfree_skb(skb);
		venet_stats_add(&q->tx_stats, &q->tx_stats.errors, 1);
	}
}

/* The venet header of a packet venet_rx_next() accepted. */
static void venet_rx_hdr(const struct sk_buff *skb, u64 f,
			 struct vbus_venet_hdr *h)
{
	memset(h, 0, sizeof(*h));
	if (skb_is_gso(skb)) {
		const struct skb_shared_info *sh = skb_shinfo(skb);

		h->gso_type = (sh->gso_type & SKB_GSO_TCPV4) ?
			      VBUS_VENET_GSO_TCPV4 : VBUS_VENET_GSO_TCPV6;
		if (sh->gso_type & SKB_GSO_TCP_ECN)
			h->gso_type |= VBUS_VENET_GSO_ECN;
		h->gso_size = cpu_to_le16(sh->gso_size);
		h->hdr_len = cpu_to_le16(skb_tcp_all_headers(skb));
	}
	if (skb->ip_summed == CHECKSUM_PARTIAL) {
		h->flags = VBUS_VENET_HDR_F_NEEDS_CSUM;
		h->csum_start = cpu_to_le16(skb_checksum_start_offset(skb));
		h->csum_offset = cpu_to_le16(skb->csum_offset);
	} else if (skb->ip_summed == CHECKSUM_UNNECESSARY &&
		   (f & VBUS_VENET_F_RX_CSUM)) {
		h->flags = VBUS_VENET_HDR_F_DATA_VALID;
	}
}

/* Copy @len bytes of @skb from @off to guest address @addr. */
static int venet_skb_copy_out(struct vbus_memctx *ctx,
			      const struct sk_buff *skb, u32 off, u64 addr,
			      u32 len)
{
	const struct skb_shared_info *sh = skb_shinfo(skb);
	u32 head = skb_headlen(skb);
	unsigned int i;
	int ret;

	if (off < head) {
		u32 n = min(len, head - off);

		ret = vbus_memctx_copy_to(ctx, addr, skb->data + off, n);
		if (ret)
			return ret;
		addr += n;
		len -= n;
		off = 0;
	} else {
		off -= head;
	}

	for (i = 0; len && i < sh->nr_frags; i++) {
		const skb_frag_t *frag = &sh->frags[i];
		u32 size = skb_frag_size(frag);
		u32 p_off, p_len, copied, n;
		struct page *p;

		if (off >= size) {
			off -= size;
			continue;
		}
		n = min(len, size - off);
		skb_frag_foreach_page(frag, skb_frag_off(frag) + off, n,
				      p, p_off, p_len, copied) {
			void *vaddr = kmap_local_page(p);

			ret = vbus_memctx_copy_to(ctx, addr, vaddr + p_off,
						  p_len);
			kunmap_local(vaddr);
			if (ret)
				return ret;
			addr += p_len;
		}
		len -= n;
		off = 0;
	}
	return len ? -EFAULT : 0;
}

/* Write bytes [off, off + len) of the current packet (header first). */
static int venet_rx_copy(struct venet_queue *q, u64 addr, u32 off, u32 len)
{
	struct vbus_memctx *ctx = q->rxr.ctx;
	int ret;

	if (off < VENET_HDR_LEN) {
		u32 n = min_t(u32, len, VENET_HDR_LEN - off);

		ret = vbus_memctx_copy_to(ctx, addr, (u8 *)&q->rx_hdr + off, n);
		if (ret)
			return ret;
		addr += n;
		off += n;
		len -= n;
	}
	if (!len)
		return 0;
	return venet_skb_copy_out(ctx, q->rx_skb, off - VENET_HDR_LEN, addr,
				  len);
}

/* Complete the buffers of the current packet: @ok, or returned empty. */
static void venet_rx_complete(struct venet_queue *q, bool ok)
{
	u32 i;

	for (i = 0; i < q->rx_chain; i++) {
		bool more = ok && i + 1 < q->rx_chain;

		vbus_ring_complete(&q->rxr, ok ? q->rx_lens[i] : 0,
				   more ? VBUS_VENET_DESC_F_MORE : 0);
	}
	if (ok)
		venet_stats_packet(&q->tx_stats, q->rx_skb->len);
	else
		venet_stats_add(&q->tx_stats, &q->tx_stats.errors, 1);
	if (ok)
		consume_skb(q->rx_skb);
	else
		kfree_skb(q->rx_skb);
	q->rx_skb = NULL;
	q->rx_chain = 0;
}

/*
 * Write queued packets into the guest's buffers until none is queued
 * (0), the guest has no buffer left (-EAGAIN), the budget is spent
 * (-EBUSY), the ring is stopped (-ESHUTDOWN), or the guest broke the
 * ring (-EPROTO).
 */
static int venet_rx_run(struct venet_queue *q, struct vbus_ring_budget *b)
{
	struct vbus_ring *ring = &q->rxr;
	u64 f = READ_ONCE(q->vp->features);
	struct vbus_ioq_buf buf;
	u32 n;
	int ret;

	for (;;) {
		if (!q->rx_skb) {
			if (!vbus_ring_live(ring))
				return -ESHUTDOWN;
			if (vbus_ring_spent(b))
				return -EBUSY;
			q->rx_skb = venet_rx_next(q, f);
			if (!q->rx_skb)
				return 0;
			venet_rx_hdr(q->rx_skb, f, &q->rx_hdr);
			q->rx_total = VENET_HDR_LEN + q->rx_skb->len;
			q->rx_off = 0;
			q->rx_chain = 0;
		}

		ret = vbus_ring_pop(ring, b, &buf);
		if (ret)
			return ret;
		if (!q->rx_chain && buf.len < VENET_HDR_LEN) {
			/* Too small for the header: return it unused. */
			vbus_ring_complete(ring, 0, 0);
			continue;
		}
		n = min(buf.len, q->rx_total - q->rx_off);
		q->rx_lens[q->rx_chain++] = n;
		vbus_ring_charge(b, n);
		if (buf.addr > U64_MAX - n ||
		    venet_rx_copy(q, buf.addr, q->rx_off, n)) {
			venet_rx_complete(q, false);
		} else {
			q->rx_off += n;
			if (q->rx_off == q->rx_total)
				venet_rx_complete(q, true);
			else if (q->rx_chain == q->rx_max_chain)
				/* The guest's buffers are too small for it. */
				venet_rx_complete(q, false);
			else
				continue;	/* the packet goes on */
		}
		/* A whole packet is completed: the guest may see it. */
		b->items--;
		vbus_ring_publish_batch(ring);
	}
}

/* Wake the netdev queue once the backlog has drained enough. */
static void venet_rx_wake(struct venet_queue *q)
{
	struct netdev_queue *txq = netdev_get_tx_queue(q->vp->netdev,
						       q->index);

	/* Pairs with the barrier in venet_start_xmit(). */
	smp_mb();
	if (netif_tx_queue_stopped(txq) &&
	    skb_queue_len_lockless(&q->xmit_q) < VENET_XMIT_QLEN / 2)
		netif_tx_wake_queue(txq);
}

static int venet_rx_serve(struct vbus_ring *ring, struct vbus_ring_budget *b)
{
	struct venet_queue *q = ring->priv;
	unsigned int items = b->items;
	int ret = venet_rx_run(q, b);

	venet_rx_wake(q);
	/* The guest answers what it got (acknowledgments, replies). */
	if (b->items != items)
		vbus_ring_expect(&q->txr);
	return ret;
}

const struct vbus_ring_ops venet_rx_ring_ops = {
	.serve = venet_rx_serve,
	.kind = "rx",
	.flags = VBUS_RING_F_ATOMIC,
};
