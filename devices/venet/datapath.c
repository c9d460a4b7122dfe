// SPDX-License-Identifier: GPL-2.0
/*
 * venet data path: the guest's rings and the host netdev's queues.
 *
 * Guest to host.  The tx ring's doorbell queues the queue's tx_work,
 * which pops descriptor chains, copies each packet out of the guest's
 * memory into an skb (a linear head and page fragments), completes the
 * descriptors with len 0 and hands the skbs to the queue's NAPI context
 * the way tun does: a list under a BH-safe lock and napi_schedule().
 * The poll feeds them to GRO.  When NAPI falls behind (VENET_RX_BACKLOG
 * packets waiting) the work item stops and the poll requeues it.
 *
 * Host to guest.  ndo_start_xmit queues skbs on the queue's xmit_q
 * (stopping the netdev queue when VENET_XMIT_QLEN are waiting) and
 * queues rx_work, which writes each packet, header first, into as many
 * of the guest's posted buffers as it needs and completes them once the
 * whole packet is written.  A packet waits in place when the guest has
 * posted too few buffers; the rx ring's doorbell (enabled only then)
 * resumes it.
 *
 * Every work run is bounded (VENET_WORK_BUDGET packets) and requeues
 * itself when there is more.  A guest that breaks the ring protocol
 * loses the ring until it reconnects; a bad packet is dropped and
 * counted.  Messages are rate limited.
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

/* Bytes copied into an skb's linear area before page fragments. */
#define VENET_COPYBREAK		128
#define VENET_LINEAR_MAX	1536
/* Most header bytes pulled into the linear area up front. */
#define VENET_MAX_PULL		256

static void venet_stats_add(struct venet_qstats *s, u64_stats_t *field,
			    u64 n)
{
	u64_stats_update_begin(&s->syncp);
	u64_stats_add(field, n);
	u64_stats_update_end(&s->syncp);
}

static void venet_stats_packet(struct venet_qstats *s, unsigned int len)
{
	u64_stats_update_begin(&s->syncp);
	u64_stats_inc(&s->packets);
	u64_stats_add(&s->bytes, len);
	u64_stats_update_end(&s->syncp);
}

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

/* For a work item: may the ring be used? */
static bool venet_ring_ok(struct venet_ring *ring)
{
	/* Pairs with venet_ring_attach(): the fields are valid when set. */
	if (!smp_load_acquire(&ring->attached))
		return false;
	/* Pairs with venet_ring_move(): the new view is set when clear. */
	return !smp_load_acquire(&ring->moving);
}

static void venet_ring_abandon(struct venet_priv *vp, struct venet_ring *ring,
			       const char *what, unsigned int index, int err)
{
	pr_notice_ratelimited("%s: guest broke the protocol on its %s ring %u (%d); ring abandoned\n",
			      venet_name(vp), what, index, err);
	WRITE_ONCE(ring->attached, false);
}

/*
 * Make new completions visible.  Returns true when the guest must be
 * notified.
 */
static bool venet_ring_publish(struct venet_ring *ring)
{
	if (ring->published == ring->ioq.used)
		return false;
	ring->published = ring->ioq.used;
	return vbus_ioq_dev_publish(&ring->ioq);
}

/* Publish if a batch of completions is waiting. */
static bool venet_ring_publish_batch(struct venet_ring *ring)
{
	if (ring->ioq.used - ring->published < VENET_PUBLISH_BATCH)
		return false;
	return venet_ring_publish(ring);
}

/* ---------------------------------------------------------------- */
/* guest to host */

/*
 * Check a packet's header against the rules and what was negotiated;
 * set q->tx_max to the longest frame it may carry.
 */
static bool venet_tx_hdr_ok(struct venet_queue *q,
			    const struct vbus_venet_hdr *h, u64 f)
{
	u8 gso = h->gso_type & ~VBUS_VENET_GSO_ECN;
	u16 start = le16_to_cpu(h->csum_start);

	/* DATA_VALID means nothing from the guest: it is ignored. */
	if (h->flags & ~(VBUS_VENET_HDR_F_NEEDS_CSUM |
			 VBUS_VENET_HDR_F_DATA_VALID))
		return false;
	if (memchr_inv(h->reserved, 0, sizeof(h->reserved)))
		return false;
	if (h->flags & VBUS_VENET_HDR_F_NEEDS_CSUM) {
		if (!(f & VBUS_VENET_F_TX_CSUM) || start < ETH_HLEN)
			return false;
	}
	q->tx_max = q->vp->mtu + VBUS_VENET_FRAME_OVERHEAD;
	if (h->gso_type == VBUS_VENET_GSO_NONE)
		return true;

	switch (gso) {
	case VBUS_VENET_GSO_TCPV4:
		if (!(f & VBUS_VENET_F_TX_TSO4))
			return false;
		break;
	case VBUS_VENET_GSO_TCPV6:
		if (!(f & VBUS_VENET_F_TX_TSO6))
			return false;
		break;
	default:
		return false;
	}
	if ((h->gso_type & VBUS_VENET_GSO_ECN) && !(f & VBUS_VENET_F_TX_ECN))
		return false;
	if (!(h->flags & VBUS_VENET_HDR_F_NEEDS_CSUM) || !h->gso_size ||
	    le16_to_cpu(h->gso_size) > q->vp->mtu)
		return false;
	q->tx_max = VBUS_VENET_MAX_FRAME;
	return true;
}

/* Copy @len bytes of guest memory at @addr to the end of @skb. */
static int venet_skb_fill(struct venet_queue *q, struct sk_buff *skb,
			  u64 addr, u32 len)
{
	struct vbus_memctx *ctx = q->txr.ctx;
	struct skb_shared_info *sh = skb_shinfo(skb);
	int ret;

	while (len) {
		skb_frag_t *frag;
		u32 n, pos;

		if (!skb->data_len && skb_tailroom(skb)) {
			n = min_t(u32, len, skb_tailroom(skb));
			ret = vbus_memctx_copy_from(ctx, skb_tail_pointer(skb),
						    addr, n);
			if (ret)
				return ret;
			skb_put(skb, n);
			addr += n;
			len -= n;
			continue;
		}

		frag = sh->nr_frags ? &sh->frags[sh->nr_frags - 1] : NULL;
		if (!frag || skb_frag_off(frag) + skb_frag_size(frag) ==
			     PAGE_SIZE) {
			struct page *page;

			if (sh->nr_frags == MAX_SKB_FRAGS)
				return -EMSGSIZE;
			page = alloc_page(GFP_KERNEL | __GFP_NOWARN);
			if (!page)
				return -ENOMEM;
			skb_add_rx_frag(skb, sh->nr_frags, page, 0, 0,
					PAGE_SIZE);
			frag = &sh->frags[sh->nr_frags - 1];
		}
		pos = skb_frag_off(frag) + skb_frag_size(frag);
		n = min_t(u32, len, PAGE_SIZE - pos);
		/* Pages from alloc_page(GFP_KERNEL) are never highmem. */
		ret = vbus_memctx_copy_from(ctx,
					    page_address(skb_frag_page(frag)) +
					    pos, addr, n);
		if (ret)
			return ret;
		skb_frag_size_add(frag, n);
		skb->len += n;
		skb->data_len += n;
		addr += n;
		len -= n;
	}
	return 0;
}

static void venet_tx_discard(struct venet_queue *q, bool error)
{
	kfree_skb(q->tx_skb);
	q->tx_skb = NULL;
	q->tx_drop = true;
	q->tx_error = error;
}

/*
 * Take one descriptor of the current chain.  Returns 0, or -EPROTO
 * when the chain is longer than the ring (it can never end).
 */
static int venet_tx_desc(struct venet_queue *q, const struct vbus_ioq_buf *buf,
			 u64 f)
{
	u32 off = 0, len;

	if (++q->tx_chain > q->txr.ioq.mask + 1)
		return -EPROTO;
	if (q->tx_drop)
		return 0;
	if ((buf->flags & ~VBUS_VENET_DESC_F_MORE) ||
	    buf->addr > U64_MAX - buf->len) {
		venet_tx_discard(q, true);
		return 0;
	}

	if (q->tx_chain == 1) {
		/* The header lies entirely in the first descriptor. */
		if (buf->len < VENET_HDR_LEN ||
		    vbus_memctx_copy_from(q->txr.ctx, &q->tx_hdr, buf->addr,
					  VENET_HDR_LEN) ||
		    !venet_tx_hdr_ok(q, &q->tx_hdr, f)) {
			venet_tx_discard(q, true);
			return 0;
		}
		off = VENET_HDR_LEN;
	}

	len = buf->len - off;
	if (!len)
		return 0;
	if (len > q->tx_max - (q->tx_skb ? q->tx_skb->len : 0)) {
		venet_tx_discard(q, true);
		return 0;
	}
	if (!q->tx_skb) {
		/*
		 * The first bytes of the frame: a linear area that takes
		 * all of them if they are few (a small packet, or the
		 * headers of a large one).
		 */
		u32 head = clamp_t(u32, len, VENET_COPYBREAK,
				   VENET_LINEAR_MAX);

		q->tx_skb = __netdev_alloc_skb_ip_align(q->vp->netdev, head,
							GFP_KERNEL |
							__GFP_NOWARN);
		if (!q->tx_skb) {
			venet_tx_discard(q, false);
			return 0;
		}
	}
	switch (venet_skb_fill(q, q->tx_skb, buf->addr + off, len)) {
	case 0:
		break;
	case -ENOMEM:
		venet_tx_discard(q, false);
		break;
	default:
		venet_tx_discard(q, true);
		break;
	}
	return 0;
}

/* The chain ended: turn the assembled packet into one for the stack. */
static struct sk_buff *venet_tx_finish(struct venet_queue *q)
{
	const struct vbus_venet_hdr *h = &q->tx_hdr;
	struct sk_buff *skb = q->tx_skb;
	struct virtio_net_hdr vh = {};
	u32 pull;

	q->tx_skb = NULL;
	q->tx_chain = 0;
	if (!skb && !q->tx_drop) {
		/* A chain without a single byte of frame. */
		q->tx_drop = true;
		q->tx_error = true;
	}
	if (q->tx_drop) {
		venet_stats_add(&q->rx_stats, q->tx_error ?
				&q->rx_stats.errors : &q->rx_stats.drops, 1);
		q->tx_drop = false;
		q->tx_error = false;
		return NULL;
	}

	if (skb->len < ETH_HLEN)
		goto bad;
	if (h->flags & VBUS_VENET_HDR_F_NEEDS_CSUM) {
		vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		vh.csum_start = (__force __virtio16)h->csum_start;
		vh.csum_offset = (__force __virtio16)h->csum_offset;
	}
	if (h->gso_type != VBUS_VENET_GSO_NONE) {
		if (le16_to_cpu(h->hdr_len) > skb->len)
			goto bad;
		vh.gso_type = (h->gso_type & ~VBUS_VENET_GSO_ECN) ==
			      VBUS_VENET_GSO_TCPV4 ? VIRTIO_NET_HDR_GSO_TCPV4 :
						     VIRTIO_NET_HDR_GSO_TCPV6;
		if (h->gso_type & VBUS_VENET_GSO_ECN)
			vh.gso_type |= VIRTIO_NET_HDR_GSO_ECN;
		vh.gso_size = (__force __virtio16)h->gso_size;
		vh.hdr_len = (__force __virtio16)h->hdr_len;
	}
	/* Headers in the linear area, where the stack looks for them. */
	pull = clamp_t(u32, le16_to_cpu(h->hdr_len), ETH_HLEN, VENET_MAX_PULL);
	if (!pskb_may_pull(skb, min(pull, skb->len)))
		goto bad;
	if (virtio_net_hdr_to_skb(skb, &vh, true))
		goto bad;
	/*
	 * A GSO header on a packet of one segment or less leaves it without
	 * GSO; it must then fit the MTU like any other.
	 */
	if (!skb_is_gso(skb) &&
	    skb->len > q->vp->mtu + VBUS_VENET_FRAME_OVERHEAD)
		goto bad;
	skb->protocol = eth_type_trans(skb, q->vp->netdev);
	if (skb->ip_summed == CHECKSUM_PARTIAL &&
	    !(q->vp->netdev->features & NETIF_F_RXCSUM) &&
	    !skb_is_gso(skb) && skb_checksum_help(skb))
		goto bad;
	skb_probe_transport_header(skb);
	skb_record_rx_queue(skb, q->index);
	return skb;

bad:
	kfree_skb(skb);
	venet_stats_add(&q->rx_stats, &q->rx_stats.errors, 1);
	return NULL;
}

/* Hand a batch of packets to NAPI. */
static void venet_tx_deliver(struct venet_queue *q, struct sk_buff_head *batch)
{
	if (skb_queue_empty(batch))
		return;
	local_bh_disable();
	spin_lock(&q->rx_list.lock);
	skb_queue_splice_tail_init(batch, &q->rx_list);
	spin_unlock(&q->rx_list.lock);
	napi_schedule(&q->napi);
	local_bh_enable();
}

/*
 * Is NAPI too far behind?  Then pause until the poll catches up: it
 * clears the bit and requeues the work item.
 */
static bool venet_tx_throttle(struct venet_queue *q)
{
	if (skb_queue_len_lockless(&q->rx_list) < VENET_RX_BACKLOG)
		return false;
	set_bit(VENET_Q_THROTTLED, &q->flags);
	/* Pairs with the barrier in venet_poll(). */
	smp_mb__after_atomic();
	if (skb_queue_len_lockless(&q->rx_list) < VENET_RX_BACKLOG) {
		/* The poll drained it meanwhile, and may not requeue us. */
		return !test_and_clear_bit(VENET_Q_THROTTLED, &q->flags);
	}
	return true;
}

/*
 * Serve the tx ring until it is empty (-EAGAIN), the budget is spent
 * (-EBUSY), NAPI is behind (-ENOBUFS), or the guest broke the ring
 * (-EPROTO).
 */
static int venet_tx_run(struct venet_queue *q, bool *notify)
{
	struct net_device *dev = q->vp->netdev;
	struct vbus_ioq_device *ioq = &q->txr.ioq;
	unsigned int descs = 0, packets = 0;
	u64 f = READ_ONCE(q->vp->features);
	struct sk_buff_head batch;
	struct vbus_ioq_buf buf;
	int ret;

	__skb_queue_head_init(&batch);
	for (;;) {
		if (packets >= VENET_WORK_BUDGET ||
		    descs >= VENET_WORK_DESC_BUDGET) {
			ret = -EBUSY;
			break;
		}
		if (!q->tx_chain && venet_tx_throttle(q)) {
			ret = -ENOBUFS;
			break;
		}
		ret = vbus_ioq_dev_pop(ioq, &buf);
		if (ret)
			break;
		descs++;
		ret = venet_tx_desc(q, &buf, f);
		/* The buffer is no longer read: hand it back. */
		vbus_ioq_dev_complete(ioq, 0, 0);
		*notify |= venet_ring_publish_batch(&q->txr);
		if (ret)
			break;
		if (buf.flags & VBUS_VENET_DESC_F_MORE)
			continue;

		packets++;
		if (q->tx_drop || netif_running(dev)) {
			struct sk_buff *skb = venet_tx_finish(q);

			if (skb) {
				venet_stats_packet(&q->rx_stats,
						   skb->len + ETH_HLEN);
				__skb_queue_tail(&batch, skb);
			}
		} else {
			/* The host netdev is down: the packet goes nowhere. */
			venet_tx_discard(q, false);
			venet_tx_finish(q);
		}
		if (skb_queue_len(&batch) >= NAPI_POLL_WEIGHT)
			venet_tx_deliver(q, &batch);
	}
	*notify |= venet_ring_publish(&q->txr);
	venet_tx_deliver(q, &batch);
	return ret;
}

static void venet_tx_work(struct work_struct *work)
{
	struct venet_queue *q = container_of(work, struct venet_queue,
					     tx_work);
	struct vbus_shm_signal *dev_signal;
	bool notify = false;
	int ret;

	if (!venet_ring_ok(&q->txr))
		return;
	dev_signal = &q->txr.ioq.head->dev_signal;
	/* Polling now: the guest need not ring. */
	vbus_shm_signal_disable(dev_signal);
	for (;;) {
		vbus_shm_signal_ack(dev_signal);
		ret = venet_tx_run(q, &notify);
		if (ret == -EAGAIN) {
			if (vbus_shm_signal_enable(dev_signal))
				continue;
			break;
		}
		if (ret == -EBUSY) {
			/* Out of budget: let others run, then go on. */
			queue_work(venet_wq, work);
			break;
		}
		if (ret == -ENOBUFS)
			break;	/* venet_poll() requeues us */
		venet_ring_abandon(q->vp, &q->txr, "tx", q->index, ret);
		break;
	}
	if (notify) {
		venet_stats_add(&q->rx_stats, &q->rx_stats.interrupts, 1);
		vbus_signal_notify(q->txr.signal);
	}
}

/**
 * venet_poll() - NAPI poll: deliver packets the guest sent
 * @napi:	the queue's NAPI context
 * @budget:	most packets to deliver
 *
 * Return: packets delivered.
 */
int venet_poll(struct napi_struct *napi, int budget)
{
	struct venet_queue *q = container_of(napi, struct venet_queue, napi);
	struct sk_buff *skb;
	int done = 0;

	while (done < budget) {
		if (skb_queue_empty(&q->napi_skbs)) {
			spin_lock(&q->rx_list.lock);
			skb_queue_splice_tail_init(&q->rx_list, &q->napi_skbs);
			spin_unlock(&q->rx_list.lock);
			/* Pairs with the barrier in venet_tx_throttle(). */
			smp_mb();
			if (test_bit(VENET_Q_THROTTLED, &q->flags) &&
			    test_and_clear_bit(VENET_Q_THROTTLED, &q->flags))
				queue_work(venet_wq, &q->tx_work);
			if (skb_queue_empty(&q->napi_skbs))
				break;
		}
		skb = __skb_dequeue(&q->napi_skbs);
		napi_gro_receive(napi, skb);
		done++;
	}
	if (done < budget)
		napi_complete_done(napi, done);
	return done;
}

/**
 * venet_txr_doorbell() - the guest posted packets on a tx ring
 * @signal: the ring's signal
 *
 * Atomic context.
 */
void venet_txr_doorbell(struct vbus_signal *signal)
{
	struct venet_queue *q = signal->priv;

	atomic_long_inc(&q->rx_doorbells);
	queue_work(venet_wq, &q->tx_work);
}

/* ---------------------------------------------------------------- */
/* host to guest */

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
	struct netdev_queue *txq;
	struct venet_queue *q;

	if (qi >= vp->nqueues)
		goto drop_uncounted;
	q = &vp->queues[qi];
	if (!READ_ONCE(vp->connected) || !READ_ONCE(vp->guest_link) ||
	    qi >= READ_ONCE(vp->queue_pairs) || !READ_ONCE(q->rxr.attached))
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
	if (!netdev_xmit_more() || netif_xmit_stopped(txq))
		queue_work(venet_wq, &q->rx_work);
	return NETDEV_TX_OK;

drop:
	atomic_long_inc(&q->xmit_drops);
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

		vbus_ioq_dev_complete(&q->rxr.ioq, ok ? q->rx_lens[i] : 0,
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
 * (-EBUSY), or the guest broke the ring (-EPROTO).
 */
static int venet_rx_run(struct venet_queue *q, bool *notify)
{
	struct vbus_ioq_device *ioq = &q->rxr.ioq;
	u64 f = READ_ONCE(q->vp->features);
	unsigned int packets = 0, descs = 0;
	struct vbus_ioq_buf buf;
	u32 n;
	int ret;

	for (;;) {
		if (descs >= VENET_WORK_DESC_BUDGET)
			return -EBUSY;
		if (!q->rx_skb) {
			if (packets >= VENET_WORK_BUDGET)
				return -EBUSY;
			q->rx_skb = venet_rx_next(q, f);
			if (!q->rx_skb)
				return 0;
			venet_rx_hdr(q->rx_skb, f, &q->rx_hdr);
			q->rx_total = VENET_HDR_LEN + q->rx_skb->len;
			q->rx_off = 0;
			q->rx_chain = 0;
			packets++;
		}

		ret = vbus_ioq_dev_pop(ioq, &buf);
		if (ret)
			return ret;
		descs++;
		if (!q->rx_chain && buf.len < VENET_HDR_LEN) {
			/* Too small for the header: return it unused. */
			vbus_ioq_dev_complete(ioq, 0, 0);
			continue;
		}
		n = min(buf.len, q->rx_total - q->rx_off);
		q->rx_lens[q->rx_chain++] = n;
		if (buf.addr > U64_MAX - n ||
		    venet_rx_copy(q, buf.addr, q->rx_off, n)) {
			venet_rx_complete(q, false);
			continue;
		}
		q->rx_off += n;
		if (q->rx_off == q->rx_total) {
			venet_rx_complete(q, true);
			*notify |= venet_ring_publish_batch(&q->rxr);
		} else if (q->rx_chain == q->rx_max_chain) {
			/* The guest's buffers are too small for it. */
			venet_rx_complete(q, false);
		}
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

static void venet_rx_work(struct work_struct *work)
{
	struct venet_queue *q = container_of(work, struct venet_queue,
					     rx_work);
	struct vbus_shm_signal *dev_signal;
	bool notify = false;
	int ret;

	if (!venet_ring_ok(&q->rxr))
		return;
	dev_signal = &q->rxr.ioq.head->dev_signal;
	for (;;) {
		vbus_shm_signal_ack(dev_signal);
		ret = venet_rx_run(q, &notify);
		notify |= venet_ring_publish(&q->rxr);
		venet_rx_wake(q);
		if (ret == -EAGAIN) {
			/* Out of buffers: have the guest ring when it posts. */
			if (vbus_shm_signal_enable(dev_signal))
				continue;
			break;
		}
		if (!ret) {
			/* Nothing to send: posting needs no doorbell. */
			vbus_shm_signal_disable(dev_signal);
			break;
		}
		if (ret == -EBUSY) {
			queue_work(venet_wq, work);
			break;
		}
		venet_ring_abandon(q->vp, &q->rxr, "rx", q->index, ret);
		break;
	}
	if (notify) {
		venet_stats_add(&q->tx_stats, &q->tx_stats.interrupts, 1);
		vbus_signal_notify(q->rxr.signal);
	}
}

/**
 * venet_rxr_doorbell() - the guest posted buffers on an rx ring
 * @signal: the ring's signal
 *
 * Atomic context.
 */
void venet_rxr_doorbell(struct vbus_signal *signal)
{
	struct venet_queue *q = signal->priv;

	atomic_long_inc(&q->tx_doorbells);
	queue_work(venet_wq, &q->rx_work);
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
		if (!budget--) {
			queue_work(venet_wq, work);
			break;
		}
		ret = vbus_ioq_dev_pop(&ring->ioq, &buf);
		if (ret == -EAGAIN) {
			/* Wait for a buffer; the guest rings when it posts. */
			if (vbus_shm_signal_enable(dev_signal)) {
				vbus_shm_signal_ack(dev_signal);
				continue;
			}
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
