// SPDX-License-Identifier: GPL-2.0
/*
 * vbus-enet receive path.  Receive buffers are whole pages, one per
 * descriptor, from the ring's page pool, mapped DMA_FROM_DEVICE when
 * posted and unmapped when the device completes them (or at teardown,
 * rings.c).  Packets are marked for recycling: the pages go back to the
 * pool when the stack frees them, and a page the driver no longer needs
 * goes back at once.  The device writes the packet's header and the
 * start of its frame into the first and continues into more; the driver
 * copies the first bytes of the frame into a small skb and attaches the
 * rest of each page as a frag.
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

#include <vbus_napi.h>

#include "vbus_enet.h"

/*
 * Post pages into every free descriptor of @qp's rx ring and publish
 * them.  Called by the ring's owner.  Returns false if memory or DMA
 * mapping space ran out (a later refill tries again).
 */
bool vbus_enet_rx_refill(struct vbus_enet_qp *qp, gfp_t gfp)
{
	struct vbus_proxy_device *pdev = qp->priv->pdev;
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
		dma_addr_t addr;

		page = page_pool_alloc_pages(rq->pool, gfp | __GFP_NOWARN);
		if (!page) {
			ok = false;
			break;
		}
		if (vbus_proxy_map_page(pdev, page, 0, PAGE_SIZE,
					DMA_FROM_DEVICE, &addr)) {
			page_pool_put_full_page(rq->pool, page, false);
			ok = false;
			break;
		}
		buf.addr = addr;
		rq->pages[pos & ioq->mask] = page;
		rq->dma[pos & ioq->mask] = addr;
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

void vbus_enet_refill_work(struct work_struct *work)
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
	/* Alone: no other packet is complete behind it. */
	vbus_napi_receive(&qp->napi, skb,
			  vbus_ioq_drv_caught_up(&rq->ring.ioq));

	u64_stats_update_begin(&rq->stats.syncp);
	u64_stats_inc(&rq->stats.packets);
	u64_stats_add(&rq->stats.bytes, len);
	u64_stats_update_end(&rq->stats.syncp);
}

/* A page the driver is done with, from the NAPI poll that owns @rq. */
static void vbus_enet_rx_put(struct vbus_enet_rq *rq, struct page *page)
{
	page_pool_put_full_page(rq->pool, page, true);
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
		vbus_enet_rx_put(rq, page);
		vbus_enet_rx_discard(rq);
		return;
	}
	memcpy(&rq->hdr, p, hlen);
	flen = len - hlen;
	copy = min_t(unsigned int, flen, VBUS_ENET_RX_COPY);

	skb = napi_alloc_skb(&qp->napi, VBUS_ENET_RX_COPY);
	if (!skb) {
		vbus_enet_rx_put(rq, page);
		vbus_enet_rx_discard(rq);
		return;
	}
	skb_mark_for_recycle(skb);
	skb_put_data(skb, p + hlen, copy);
	if (flen > copy)
		skb_add_rx_frag(skb, 0, page, hlen + copy, flen - copy,
				PAGE_SIZE);
	else
		vbus_enet_rx_put(rq, page);
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
		vbus_enet_rx_put(rq, page);
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
		vbus_enet_rx_put(rq, page);
		return false;
	}
	rq->descs++;
	if (buf->flags & ~VBUS_VENET_DESC_F_MORE) {
		vbus_enet_rx_put(rq, page);
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
int vbus_enet_rx_poll(struct vbus_enet_qp *qp, int budget)
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
		/* The CPU sees what the device wrote once it is unmapped. */
		vbus_proxy_unmap_page(qp->priv->pdev, rq->dma[slot], PAGE_SIZE,
				      DMA_FROM_DEVICE);
		if (vbus_enet_rx_desc(qp, &buf, page))
			done++;
	}
	return done;
}

/* Refill from NAPI; keep at least half the ring posted. */
void vbus_enet_rx_refill_napi(struct vbus_enet_qp *qp)
{
	struct vbus_enet_rq *rq = &qp->rx;

	if (!vbus_enet_rx_refill(qp, GFP_ATOMIC) &&
	    vbus_ioq_drv_free(&rq->ring.ioq) > qp->priv->rx_count / 2)
		vbus_enet_schedule_refill(qp->priv);
}
