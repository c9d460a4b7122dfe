// SPDX-License-Identifier: GPL-2.0
/*
 * vbus-enet data path: the rx and tx rings of each queue pair and the
 * NAPI instance that polls both.
 *
 * Receive buffers are whole pages, one per descriptor.  The device
 * writes the packet's header and the start of its frame into the first
 * and continues into more; the driver copies the first bytes of the
 * frame into a small skb and attaches the rest of each page as a frag.
 *
 * A packet to transmit becomes a chain: its header (from a per-slot
 * array shared with the device), its linear part, then its frags.  The
 * skb is remembered at the slot of the chain's last descriptor and freed
 * when the device completes that descriptor; the ring is in order, so
 * the whole chain is done by then.  Since completions are only looked at
 * when there is work (see below), the skb is orphaned at transmit and
 * counted as sent then.
 *
 * Notifications: the rx ring's drv_signal is enabled whenever NAPI is
 * idle.  The tx ring's stays disabled: completed descriptors are
 * reclaimed at each transmit and each poll, and it is only enabled while
 * the queue is stopped for lack of descriptors.  Both signals of a pair
 * schedule the pair's NAPI, which follows lib/vbus_shm_signal.h: ack,
 * consume, enable, and poll again if work arrived meanwhile.
 *
 * The ring memory and everything the device may read stay allocated
 * until the connection is closed; only vbus_enet_queues_free(), called
 * after vbus_proxy_close(), releases them.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/etherdevice.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/tcp.h>
#include <linux/virtio_byteorder.h>
#include <linux/virtio_net.h>

#include "vbus_enet.h"

/* Retry delay of the refill work after an allocation failure. */
#define VBUS_ENET_REFILL_DELAY	(HZ / 2)

/**
 * vbus_enet_ring_alloc() - allocate and lay out a ring
 * @ring:	the ring to initialise
 * @count:	its descriptors, a power of two
 *
 * Return: 0 or -ENOMEM.
 */
int vbus_enet_ring_alloc(struct vbus_enet_ring *ring, u32 count)
{
	size_t size = VBUS_IOQ_SIZE(count);
	int ret;

	ring->mem = alloc_pages_exact(size, GFP_KERNEL | __GFP_ZERO);
	if (!ring->mem)
		return -ENOMEM;
	ring->size = size;
	atomic_long_set(&ring->signals, 0);
	ring->broken = false;
	ret = vbus_ioq_drv_init(&ring->ioq, ring->mem, size, count, 0);
	if (ret) {
		free_pages_exact(ring->mem, size);
		ring->mem = NULL;
	}
	return ret;
}

/**
 * vbus_enet_ring_free() - free a ring's memory
 * @ring:	the ring; the device must no longer use it (closed)
 */
void vbus_enet_ring_free(struct vbus_enet_ring *ring)
{
	if (ring->mem)
		free_pages_exact(ring->mem, ring->size);
	ring->mem = NULL;
}

/**
 * vbus_enet_ring_register() - hand a ring to the device
 * @priv:	the device
 * @ring:	the ring, laid out by vbus_enet_ring_alloc()
 * @id:		its VBUS_VENET_SHM_* id
 * @handler:	called for the device's notifications (atomic context)
 * @data:	the handler's private data
 *
 * Return: 0 or the negative errno of vbus_proxy_shm().
 */
int vbus_enet_ring_register(struct vbus_enet *priv,
			    struct vbus_enet_ring *ring, u32 id,
			    void (*handler)(struct vbus_proxy_signal *sig),
			    void *data)
{
	ring->sig.handler = handler;
	ring->sig.priv = data;
	return vbus_proxy_shm(priv->pdev, id, ring->mem, ring->size,
			      &ring->sig);
}

/* Mark a ring the device broke; it is not used any more. */
static void vbus_enet_ring_broke(struct vbus_enet *priv,
				 struct vbus_enet_ring *ring, const char *what,
				 unsigned int q)
{
	if (!ring->broken)
		netdev_err(priv->netdev,
			   "device broke the %s%u ring protocol; ring abandoned\n",
			   what, q);
	ring->broken = true;
}

/* Ring the device's doorbell if publishing asks for it. */
static void vbus_enet_publish(struct vbus_enet_ring *ring,
			      struct vbus_enet_stats *stats)
{
	int ret;

	if (!vbus_ioq_drv_publish(&ring->ioq))
		return;
	ret = vbus_proxy_kick(&ring->sig);
	if (ret)
		pr_debug("doorbell failed: %d\n", ret);
	u64_stats_update_begin(&stats->syncp);
	u64_stats_inc(&stats->kicks);
	u64_stats_update_end(&stats->syncp);
}

static void vbus_enet_count_drop(struct vbus_enet_stats *stats)
{
	u64_stats_update_begin(&stats->syncp);
	u64_stats_inc(&stats->drops);
	u64_stats_update_end(&stats->syncp);
}

/**
 * vbus_enet_read_stats() - read one ring's counters consistently
 * @stats:	the counters
 * @packets:	receives the packet count
 * @bytes:	receives the byte count
 * @drops:	receives the drop count
 * @kicks:	receives the doorbell count
 */
void vbus_enet_read_stats(struct vbus_enet_stats *stats, u64 *packets,
			  u64 *bytes, u64 *drops, u64 *kicks)
{
	unsigned int start;

	do {
		start = u64_stats_fetch_begin(&stats->syncp);
		*packets = u64_stats_read(&stats->packets);
		*bytes = u64_stats_read(&stats->bytes);
		*drops = u64_stats_read(&stats->drops);
		*kicks = u64_stats_read(&stats->kicks);
	} while (u64_stats_fetch_retry(&stats->syncp, start));
}

/* ---- receive ---- */

/*
 * Post pages into every free descriptor of @qp's rx ring and publish
 * them.  Called by the ring's owner.  Returns false if memory ran out.
 */
static bool vbus_enet_rx_refill(struct vbus_enet_qp *qp, gfp_t gfp)
{
	struct vbus_enet_rq *rq = &qp->rx;
	struct vbus_ioq_driver *ioq = &rq->ring.ioq;
	unsigned int posted = 0;
	bool ok = true;

	if (rq->ring.broken)
		return true;
	while (vbus_ioq_drv_free(ioq)) {
		u32 pos = ioq->avail;
		struct vbus_ioq_buf buf = {
			.cookie = pos,
			.len = PAGE_SIZE,
		};
		struct page *page;

		page = alloc_page(gfp | __GFP_NOWARN);
		if (!page) {
			ok = false;
			break;
		}
		buf.addr = vbus_proxy_addr(qp->priv->pdev, page_address(page));
		rq->pages[pos & ioq->mask] = page;
		vbus_ioq_drv_post(ioq, &buf);
		posted++;
	}
	if (posted)
		vbus_enet_publish(&rq->ring, &rq->stats);
	return ok;
}

/* Retry a refill that failed later, from process context. */
static void vbus_enet_schedule_refill(struct vbus_enet *priv)
{
	spin_lock_bh(&priv->refill_lock);
	if (priv->refill_enabled)
		schedule_delayed_work(&priv->refill, VBUS_ENET_REFILL_DELAY);
	spin_unlock_bh(&priv->refill_lock);
}

static void vbus_enet_refill_work(struct work_struct *work)
{
	struct vbus_enet *priv = container_of(to_delayed_work(work),
					      struct vbus_enet, refill);
	bool again = false;
	unsigned int q;

	for (q = 0; q < priv->queue_pairs; q++) {
		struct vbus_enet_qp *qp = &priv->qps[q];

		/* Own the ring: NAPI must not run meanwhile. */
		napi_disable(&qp->napi);
		if (!vbus_enet_rx_refill(qp, GFP_KERNEL))
			again = true;
		napi_enable(&qp->napi);
		/* Signals that came while NAPI was disabled were lost. */
		local_bh_disable();
		napi_schedule(&qp->napi);
		local_bh_enable();
	}
	if (again)
		vbus_enet_schedule_refill(priv);
}

/*
 * Apply the device's header to a received frame; skb->data is at the
 * Ethernet header.  Returns 0, or -EINVAL for a header that breaks the
 * protocol or uses a feature that was not negotiated.
 */
static int vbus_enet_rx_hdr(struct vbus_enet *priv, struct sk_buff *skb,
			    const struct vbus_venet_hdr *hdr)
{
	struct virtio_net_hdr vh = {};
	u8 flags = hdr->flags;
	u8 gso = hdr->gso_type;

	if (flags & ~(VBUS_VENET_HDR_F_NEEDS_CSUM | VBUS_VENET_HDR_F_DATA_VALID))
		return -EINVAL;
	if (flags && !vbus_enet_has(priv, VBUS_VENET_F_RX_CSUM))
		return -EINVAL;

	switch (gso & ~VBUS_VENET_GSO_ECN) {
	case VBUS_VENET_GSO_NONE:
		if (gso & VBUS_VENET_GSO_ECN)
			return -EINVAL;
		vh.gso_type = VIRTIO_NET_HDR_GSO_NONE;
		break;
	case VBUS_VENET_GSO_TCPV4:
		if (!vbus_enet_has(priv, VBUS_VENET_F_RX_TSO4))
			return -EINVAL;
		vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
		break;
	case VBUS_VENET_GSO_TCPV6:
		if (!vbus_enet_has(priv, VBUS_VENET_F_RX_TSO6))
			return -EINVAL;
		vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
		break;
	default:
		return -EINVAL;
	}
	if (gso != VBUS_VENET_GSO_NONE) {
		if (!(flags & VBUS_VENET_HDR_F_NEEDS_CSUM) || !hdr->gso_size)
			return -EINVAL;
		if (gso & VBUS_VENET_GSO_ECN) {
			if (!vbus_enet_has(priv, VBUS_VENET_F_RX_ECN))
				return -EINVAL;
			vh.gso_type |= VIRTIO_NET_HDR_GSO_ECN;
		}
	}

	if (flags & VBUS_VENET_HDR_F_NEEDS_CSUM)
		vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh.hdr_len = __cpu_to_virtio16(true, le16_to_cpu(hdr->hdr_len));
	vh.gso_size = __cpu_to_virtio16(true, le16_to_cpu(hdr->gso_size));
	vh.csum_start = __cpu_to_virtio16(true, le16_to_cpu(hdr->csum_start));
	vh.csum_offset = __cpu_to_virtio16(true,
					   le16_to_cpu(hdr->csum_offset));
	if (virtio_net_hdr_to_skb(skb, &vh, true))
		return -EINVAL;

	if ((flags & VBUS_VENET_HDR_F_DATA_VALID) &&
	    skb->ip_summed == CHECKSUM_NONE &&
	    (priv->netdev->features & NETIF_F_RXCSUM))
		skb->ip_summed = CHECKSUM_UNNECESSARY;
	return 0;
}

/* A complete packet: check it and hand it to the stack. */
static void vbus_enet_rx_deliver(struct vbus_enet_qp *qp, struct sk_buff *skb)
{
	struct vbus_enet_rq *rq = &qp->rx;
	struct net_device *dev = qp->priv->netdev;
	unsigned int len = skb->len;

	if (len < ETH_HLEN ||
	    (rq->hdr.gso_type == VBUS_VENET_GSO_NONE &&
	     len > dev->max_mtu + VBUS_VENET_FRAME_OVERHEAD) ||
	    !pskb_may_pull(skb, ETH_HLEN) ||
	    vbus_enet_rx_hdr(qp->priv, skb, &rq->hdr)) {
		net_dbg_ratelimited("%s: bad packet from the device dropped\n",
				    dev->name);
		dev_kfree_skb_any(skb);
		vbus_enet_count_drop(&rq->stats);
		return;
	}

	skb->protocol = eth_type_trans(skb, dev);
	skb_record_rx_queue(skb, qp->index);
	napi_gro_receive(&qp->napi, skb);

	u64_stats_update_begin(&rq->stats.syncp);
	u64_stats_inc(&rq->stats.packets);
	u64_stats_add(&rq->stats.bytes, len);
	u64_stats_update_end(&rq->stats.syncp);
}

/* The packet being assembled is bad: drop what it has, discard the rest. */
static void vbus_enet_rx_discard(struct vbus_enet_rq *rq)
{
	if (rq->skb)
		dev_kfree_skb_any(rq->skb);
	rq->skb = NULL;
	rq->discard = true;
}

/*
 * The first descriptor of a packet: the header and the start of the
 * frame.  Takes the page.
 */
static void vbus_enet_rx_first(struct vbus_enet_qp *qp, struct page *page,
			       unsigned int len)
{
	struct vbus_enet_rq *rq = &qp->rx;
	unsigned int hlen = sizeof(struct vbus_venet_hdr);
	unsigned int flen, copy;
	const u8 *p = page_address(page);
	struct sk_buff *skb;

	if (len < hlen || len > PAGE_SIZE) {
		put_page(page);
		vbus_enet_rx_discard(rq);
		return;
	}
	memcpy(&rq->hdr, p, hlen);
	flen = len - hlen;
	copy = min_t(unsigned int, flen, VBUS_ENET_RX_COPY);

	skb = napi_alloc_skb(&qp->napi, VBUS_ENET_RX_COPY);
	if (!skb) {
		put_page(page);
		vbus_enet_rx_discard(rq);
		return;
	}
	skb_put_data(skb, p + hlen, copy);
	if (flen > copy)
		skb_add_rx_frag(skb, 0, page, hlen + copy, flen - copy,
				PAGE_SIZE);
	else
		put_page(page);
	rq->skb = skb;
}

/* A further descriptor of a packet.  Takes the page. */
static void vbus_enet_rx_more(struct vbus_enet_rq *rq, struct page *page,
			      unsigned int len)
{
	struct sk_buff *skb = rq->skb;

	if (rq->discard || !len || len > PAGE_SIZE ||
	    rq->descs > VBUS_ENET_RX_MAX_DESCS ||
	    skb_shinfo(skb)->nr_frags >= MAX_SKB_FRAGS ||
	    skb->len + len > VBUS_VENET_MAX_FRAME) {
		put_page(page);
		vbus_enet_rx_discard(rq);
		return;
	}
	skb_add_rx_frag(skb, skb_shinfo(skb)->nr_frags, page, 0, len,
			PAGE_SIZE);
}

/*
 * Consume one completed rx descriptor holding @page.  Returns true when
 * it ended a packet (delivered or dropped).
 */
static bool vbus_enet_rx_desc(struct vbus_enet_qp *qp,
			      const struct vbus_ioq_buf *buf, struct page *page)
{
	struct vbus_enet_rq *rq = &qp->rx;
	bool more = buf->flags & VBUS_VENET_DESC_F_MORE;

	if (!rq->descs && !buf->len && !buf->flags) {
		/* A buffer returned unused. */
		put_page(page);
		return false;
	}
	rq->descs++;
	if (buf->flags & ~VBUS_VENET_DESC_F_MORE) {
		put_page(page);
		vbus_enet_rx_discard(rq);
	} else if (rq->descs == 1) {
		vbus_enet_rx_first(qp, page, buf->len);
	} else {
		vbus_enet_rx_more(rq, page, buf->len);
	}
	if (more)
		return false;

	if (rq->discard) {
		net_dbg_ratelimited("%s: bad rx chain from the device dropped\n",
				    qp->priv->netdev->name);
		vbus_enet_count_drop(&rq->stats);
	} else {
		vbus_enet_rx_deliver(qp, rq->skb);
	}
	rq->skb = NULL;
	rq->descs = 0;
	rq->discard = false;
	return true;
}

/* Receive up to @budget packets; returns how many ended. */
static int vbus_enet_rx_poll(struct vbus_enet_qp *qp, int budget)
{
	struct vbus_enet_rq *rq = &qp->rx;
	struct vbus_ioq_driver *ioq = &rq->ring.ioq;
	struct vbus_ioq_buf buf;
	int done = 0;

	if (rq->ring.broken)
		return 0;
	while (done < budget) {
		u32 slot = ioq->reclaimed & ioq->mask;
		struct page *page;
		int ret;

		ret = vbus_ioq_drv_reclaim(ioq, &buf);
		if (ret) {
			if (ret != -EAGAIN)
				vbus_enet_ring_broke(qp->priv, &rq->ring, "rx",
						     qp->index);
			break;
		}
		page = rq->pages[slot];
		rq->pages[slot] = NULL;
		if (vbus_enet_rx_desc(qp, &buf, page))
			done++;
	}
	return done;
}

/* Refill from NAPI; keep at least half the ring posted. */
static void vbus_enet_rx_refill_napi(struct vbus_enet_qp *qp)
{
	struct vbus_enet_rq *rq = &qp->rx;

	if (!vbus_enet_rx_refill(qp, GFP_ATOMIC) &&
	    vbus_ioq_drv_free(&rq->ring.ioq) > qp->priv->rx_count / 2)
		vbus_enet_schedule_refill(qp->priv);
}

/* ---- transmit ---- */

/*
 * Take back what the device completed and free the skbs.  Called with
 * the tx queue's xmit lock held; @budget as for napi_consume_skb() (0
 * outside NAPI).
 */
static void vbus_enet_tx_reclaim(struct vbus_enet_qp *qp, int budget)
{
	struct vbus_enet_sq *sq = &qp->tx;
	struct vbus_ioq_driver *ioq = &sq->ring.ioq;
	struct vbus_ioq_buf buf;

	if (sq->ring.broken)
		return;
	for (;;) {
		u32 slot = ioq->reclaimed & ioq->mask;
		struct sk_buff *skb;
		int ret;

		ret = vbus_ioq_drv_reclaim(ioq, &buf);
		if (ret) {
			if (ret != -EAGAIN)
				vbus_enet_ring_broke(qp->priv, &sq->ring, "tx",
						     qp->index);
			break;
		}
		skb = sq->skbs[slot];
		if (!skb)
			continue;
		sq->skbs[slot] = NULL;
		napi_consume_skb(skb, budget);
	}
}

static bool vbus_enet_tx_room(struct vbus_enet_sq *sq)
{
	return vbus_ioq_drv_free(&sq->ring.ioq) >= VBUS_ENET_TX_MAX_DESCS;
}

/*
 * The ring is nearly full and the queue stopped: ask for a completion
 * signal.  Completions that came before the signal was enabled are
 * reclaimed here or by the NAPI poll scheduled for them.  Called with
 * the xmit lock held.
 */
static void vbus_enet_tx_arm(struct vbus_enet_qp *qp, struct netdev_queue *txq)
{
	struct vbus_enet_sq *sq = &qp->tx;
	struct vbus_shm_signal *sig = &sq->ring.ioq.head->drv_signal;

	vbus_shm_signal_ack(sig);
	vbus_enet_tx_reclaim(qp, 0);
	if (vbus_enet_tx_room(sq)) {
		netif_tx_start_queue(txq);
		return;
	}
	if (vbus_shm_signal_enable(sig))
		napi_schedule(&qp->napi);
}

/*
 * Reclaim from NAPI and wake the queue when there is room again.
 * Returns true when the poll must run again: the queue is still stopped
 * and a completion signal was pending when it was re-enabled.
 */
static bool vbus_enet_tx_clean(struct vbus_enet_qp *qp, int budget)
{
	struct netdev_queue *txq = netdev_get_tx_queue(qp->priv->netdev,
						       qp->index);
	struct vbus_enet_sq *sq = &qp->tx;
	struct vbus_shm_signal *sig = &sq->ring.ioq.head->drv_signal;
	bool again = false;

	__netif_tx_lock(txq, raw_smp_processor_id());
	vbus_shm_signal_ack(sig);
	vbus_enet_tx_reclaim(qp, budget);
	if (netif_tx_queue_stopped(txq) && !sq->ring.broken) {
		if (vbus_enet_tx_room(sq)) {
			vbus_shm_signal_disable(sig);
			netif_tx_wake_queue(txq);
		} else {
			again = vbus_shm_signal_enable(sig);
		}
	}
	__netif_tx_unlock(txq);
	return again;
}

/* Describe @skb's offloads in @hdr; -EINVAL if they cannot be. */
static int vbus_enet_tx_hdr(struct vbus_enet *priv, struct sk_buff *skb,
			    struct vbus_venet_hdr *hdr)
{
	memset(hdr, 0, sizeof(*hdr));
	if (skb->ip_summed == CHECKSUM_PARTIAL) {
		if (!vbus_enet_has(priv, VBUS_VENET_F_TX_CSUM))
			return -EINVAL;
		hdr->flags = VBUS_VENET_HDR_F_NEEDS_CSUM;
		hdr->csum_start = cpu_to_le16(skb_checksum_start_offset(skb));
		hdr->csum_offset = cpu_to_le16(skb->csum_offset);
	}
	if (skb_is_gso(skb)) {
		struct skb_shared_info *sh = skb_shinfo(skb);
		unsigned int type = sh->gso_type;
		u8 gso;

		if (skb->ip_summed != CHECKSUM_PARTIAL ||
		    (type & ~(SKB_GSO_TCPV4 | SKB_GSO_TCPV6 | SKB_GSO_TCP_ECN)))
			return -EINVAL;
		if ((type & SKB_GSO_TCPV4) &&
		    vbus_enet_has(priv, VBUS_VENET_F_TX_TSO4))
			gso = VBUS_VENET_GSO_TCPV4;
		else if ((type & SKB_GSO_TCPV6) &&
			 vbus_enet_has(priv, VBUS_VENET_F_TX_TSO6))
			gso = VBUS_VENET_GSO_TCPV6;
		else
			return -EINVAL;
		if (type & SKB_GSO_TCP_ECN) {
			if (!vbus_enet_has(priv, VBUS_VENET_F_TX_ECN))
				return -EINVAL;
			gso |= VBUS_VENET_GSO_ECN;
		}
		hdr->gso_type = gso;
		hdr->gso_size = cpu_to_le16(sh->gso_size);
		hdr->hdr_len = cpu_to_le16(skb_transport_offset(skb) +
					   tcp_hdrlen(skb));
	}
	return 0;
}

/* Post one descriptor of a transmit chain. */
static void vbus_enet_tx_post(struct vbus_enet_sq *sq,
			      const struct vbus_proxy_device *pdev,
			      const void *ptr, unsigned int len, bool more)
{
	struct vbus_ioq_buf buf = {
		.cookie = sq->ring.ioq.avail,
		.addr = vbus_proxy_addr(pdev, ptr),
		.len = len,
		.flags = more ? VBUS_VENET_DESC_F_MORE : 0,
	};

	vbus_ioq_drv_post(&sq->ring.ioq, &buf);
	sq->unpublished++;
}

/* Publish what was posted; called with the xmit lock held. */
static void vbus_enet_tx_kick(struct vbus_enet_sq *sq)
{
	if (!sq->unpublished)
		return;
	sq->unpublished = 0;
	vbus_enet_publish(&sq->ring, &sq->stats);
}

/**
 * vbus_enet_start_xmit() - ndo_start_xmit
 * @skb:	the packet
 * @dev:	the interface
 *
 * Called with the tx queue's xmit lock held.
 *
 * Return: NETDEV_TX_OK, or NETDEV_TX_BUSY if the ring is full.
 */
netdev_tx_t vbus_enet_start_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct vbus_enet *priv = netdev_priv(dev);
	u16 q = skb_get_queue_mapping(skb);
	struct vbus_enet_qp *qp = &priv->qps[q];
	struct vbus_enet_sq *sq = &qp->tx;
	struct netdev_queue *txq = netdev_get_tx_queue(dev, q);
	struct skb_shared_info *sh = skb_shinfo(skb);
	unsigned int headlen = skb_headlen(skb);
	unsigned int nr_frags = sh->nr_frags;
	unsigned int descs, n, i;
	struct vbus_venet_hdr hdr;
	u32 slot;

	vbus_enet_tx_reclaim(qp, 0);

	if (unlikely(sq->ring.broken || !skb->len ||
		     skb->len > VBUS_VENET_MAX_FRAME ||
		     vbus_enet_tx_hdr(priv, skb, &hdr))) {
		dev_kfree_skb_any(skb);
		vbus_enet_count_drop(&sq->stats);
		if (!netdev_xmit_more())
			vbus_enet_tx_kick(sq);
		return NETDEV_TX_OK;
	}

	descs = 1 + !!headlen;
	for (i = 0; i < nr_frags; i++)
		if (skb_frag_size(&sh->frags[i]))
			descs++;
	if (unlikely(vbus_ioq_drv_free(&sq->ring.ioq) < descs)) {
		/* Only if the queue was not stopped in time. */
		netif_tx_stop_queue(txq);
		vbus_enet_tx_kick(sq);
		vbus_enet_tx_arm(qp, txq);
		return NETDEV_TX_BUSY;
	}

	/* The header, then the linear part, then the frags. */
	slot = sq->ring.ioq.avail & sq->ring.ioq.mask;
	sq->hdrs[slot] = hdr;
	n = 1;
	vbus_enet_tx_post(sq, priv->pdev, &sq->hdrs[slot], sizeof(hdr),
			  n < descs);
	if (headlen) {
		n++;
		vbus_enet_tx_post(sq, priv->pdev, skb->data, headlen,
				  n < descs);
	}
	for (i = 0; i < nr_frags; i++) {
		const skb_frag_t *frag = &sh->frags[i];

		if (!skb_frag_size(frag))
			continue;
		n++;
		vbus_enet_tx_post(sq, priv->pdev,
				  page_address(skb_frag_page(frag)) +
				  skb_frag_off(frag),
				  skb_frag_size(frag), n < descs);
	}
	sq->skbs[(sq->ring.ioq.avail - 1) & sq->ring.ioq.mask] = skb;

	u64_stats_update_begin(&sq->stats.syncp);
	u64_stats_inc(&sq->stats.packets);
	u64_stats_add(&sq->stats.bytes, skb->len);
	u64_stats_update_end(&sq->stats.syncp);

	/*
	 * Completions are only looked at when there is something to do, so
	 * the skb must not hold its socket's memory or conntrack entry
	 * until then.
	 */
	skb_tx_timestamp(skb);
	skb_orphan(skb);
	nf_reset_ct(skb);

	if (!vbus_enet_tx_room(sq)) {
		netif_tx_stop_queue(txq);
		vbus_enet_tx_arm(qp, txq);
	}
	if (!netdev_xmit_more() || netif_xmit_stopped(txq))
		vbus_enet_tx_kick(sq);
	return NETDEV_TX_OK;
}

/* ---- NAPI and signals ---- */

static int vbus_enet_poll(struct napi_struct *napi, int budget)
{
	struct vbus_enet_qp *qp = container_of(napi, struct vbus_enet_qp,
					       napi);
	struct vbus_shm_signal *sig = &qp->rx.ring.ioq.head->drv_signal;
	bool tx_again;
	int done;

	tx_again = vbus_enet_tx_clean(qp, budget);
	if (!budget)
		return 0;	/* netpoll: transmit completions only */

	vbus_shm_signal_ack(sig);
	done = vbus_enet_rx_poll(qp, budget);
	vbus_enet_rx_refill_napi(qp);

	if (tx_again)
		return budget;
	if (done < budget && napi_complete_done(napi, done) &&
	    vbus_shm_signal_enable(sig)) {
		/* Work arrived before the signal was enabled. */
		vbus_shm_signal_disable(sig);
		napi_schedule(napi);
	}
	return done;
}

static void vbus_enet_rx_signal(struct vbus_proxy_signal *psig)
{
	struct vbus_enet_qp *qp = psig->priv;

	atomic_long_inc(&qp->rx.ring.signals);
	vbus_shm_signal_disable(&qp->rx.ring.ioq.head->drv_signal);
	napi_schedule(&qp->napi);
}

static void vbus_enet_tx_signal(struct vbus_proxy_signal *psig)
{
	struct vbus_enet_qp *qp = psig->priv;

	atomic_long_inc(&qp->tx.ring.signals);
	vbus_shm_signal_disable(&qp->tx.ring.ioq.head->drv_signal);
	napi_schedule(&qp->napi);
}

/* ---- setup and teardown ---- */

static int vbus_enet_qp_alloc(struct vbus_enet *priv, struct vbus_enet_qp *qp)
{
	int ret;

	qp->rx.pages = kcalloc(priv->rx_count, sizeof(*qp->rx.pages),
			       GFP_KERNEL);
	/* Shared with the device: kcalloc() memory is direct-mapped. */
	qp->tx.hdrs = kcalloc(priv->tx_count, sizeof(*qp->tx.hdrs),
			      GFP_KERNEL);
	qp->tx.skbs = kcalloc(priv->tx_count, sizeof(*qp->tx.skbs),
			      GFP_KERNEL);
	if (!qp->rx.pages || !qp->tx.hdrs || !qp->tx.skbs)
		return -ENOMEM;
	ret = vbus_enet_ring_alloc(&qp->rx.ring, priv->rx_count);
	if (!ret)
		ret = vbus_enet_ring_alloc(&qp->tx.ring, priv->tx_count);
	if (ret)
		return ret;
	u64_stats_init(&qp->rx.stats.syncp);
	u64_stats_init(&qp->tx.stats.syncp);
	return 0;
}

static void vbus_enet_qp_free(struct vbus_enet *priv, struct vbus_enet_qp *qp)
{
	u32 i;

	if (qp->rx.pages)
		for (i = 0; i < priv->rx_count; i++)
			if (qp->rx.pages[i])
				put_page(qp->rx.pages[i]);
	if (qp->tx.skbs)
		for (i = 0; i < priv->tx_count; i++)
			dev_kfree_skb(qp->tx.skbs[i]);
	dev_kfree_skb(qp->rx.skb);
	kfree(qp->rx.pages);
	kfree(qp->tx.hdrs);
	kfree(qp->tx.skbs);
	vbus_enet_ring_free(&qp->rx.ring);
	vbus_enet_ring_free(&qp->tx.ring);
}

/**
 * vbus_enet_queues_alloc() - allocate the queue pairs and their NAPIs
 * @priv:	the device, with @queue_pairs and the ring sizes set
 *
 * On failure the caller still calls vbus_enet_queues_free().
 *
 * Return: 0 or -ENOMEM.
 */
int vbus_enet_queues_alloc(struct vbus_enet *priv)
{
	unsigned int q;
	int ret;

	spin_lock_init(&priv->refill_lock);
	INIT_DELAYED_WORK(&priv->refill, vbus_enet_refill_work);
	priv->qps = kcalloc(priv->queue_pairs, sizeof(*priv->qps), GFP_KERNEL);
	if (!priv->qps)
		return -ENOMEM;
	for (q = 0; q < priv->queue_pairs; q++) {
		struct vbus_enet_qp *qp = &priv->qps[q];

		qp->priv = priv;
		qp->index = q;
		/* A NAPI instance starts disabled: signals cannot run it. */
		netif_napi_add(priv->netdev, &qp->napi, vbus_enet_poll);
		ret = vbus_enet_qp_alloc(priv, qp);
		if (ret)
			return ret;
	}
	return 0;
}

/**
 * vbus_enet_queues_register() - hand every rx and tx ring to the device
 * @priv:	the device
 *
 * Return: 0 or the negative errno of vbus_proxy_shm().
 */
int vbus_enet_queues_register(struct vbus_enet *priv)
{
	unsigned int q;
	int ret;

	for (q = 0; q < priv->queue_pairs; q++) {
		struct vbus_enet_qp *qp = &priv->qps[q];

		ret = vbus_enet_ring_register(priv, &qp->rx.ring,
					      VBUS_VENET_SHM_RX(q),
					      vbus_enet_rx_signal, qp);
		if (ret)
			return ret;
		ret = vbus_enet_ring_register(priv, &qp->tx.ring,
					      VBUS_VENET_SHM_TX(q),
					      vbus_enet_tx_signal, qp);
		if (ret)
			return ret;
	}
	return 0;
}

/**
 * vbus_enet_queues_free() - free the queue pairs
 * @priv:	the device; the connection is closed (no signal handler
 *		runs and the device no longer reads the rings) or the
 *		rings were never registered
 *
 * Frees the rings, the pages posted for receive and the skbs still
 * being transmitted.
 */
void vbus_enet_queues_free(struct vbus_enet *priv)
{
	unsigned int q;

	if (!priv->qps)
		return;
	for (q = 0; q < priv->queue_pairs; q++) {
		struct vbus_enet_qp *qp = &priv->qps[q];

		if (qp->priv)
			netif_napi_del(&qp->napi);
		vbus_enet_qp_free(priv, qp);
	}
	kfree(priv->qps);
	priv->qps = NULL;
}

/**
 * vbus_enet_queues_start() - start the data path (ndo_open)
 * @priv:	the device
 *
 * Fills the rx rings, enables NAPI and polls each queue pair once; the
 * polls enable the notifications.
 */
void vbus_enet_queues_start(struct vbus_enet *priv)
{
	bool short_of_memory = false;
	unsigned int q;

	for (q = 0; q < priv->queue_pairs; q++)
		if (!vbus_enet_rx_refill(&priv->qps[q], GFP_KERNEL))
			short_of_memory = true;

	spin_lock_bh(&priv->refill_lock);
	priv->refill_enabled = true;
	spin_unlock_bh(&priv->refill_lock);
	if (short_of_memory)
		schedule_delayed_work(&priv->refill, VBUS_ENET_REFILL_DELAY);

	local_bh_disable();
	for (q = 0; q < priv->queue_pairs; q++) {
		napi_enable(&priv->qps[q].napi);
		napi_schedule(&priv->qps[q].napi);
	}
	local_bh_enable();
}

/**
 * vbus_enet_queues_stop() - stop the data path (ndo_stop)
 * @priv:	the device
 *
 * After it returns no poll and no refill runs.  Buffers the device owns
 * stay posted; notifications that come meanwhile leave their signal
 * disabled and are caught by the first poll after the next start.
 */
void vbus_enet_queues_stop(struct vbus_enet *priv)
{
	unsigned int q;

	spin_lock_bh(&priv->refill_lock);
	priv->refill_enabled = false;
	spin_unlock_bh(&priv->refill_lock);
	cancel_delayed_work_sync(&priv->refill);

	for (q = 0; q < priv->queue_pairs; q++)
		napi_disable(&priv->qps[q].napi);
}
