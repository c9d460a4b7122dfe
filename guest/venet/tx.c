// SPDX-License-Identifier: GPL-2.0
/*
 * vbus-enet transmit path.  A packet to transmit becomes a chain: its
 * header (from a per-slot array shared with the device), its linear
 * part, then its frags.  The linear part and the frags are mapped
 * DMA_TO_DEVICE before anything is posted, each mapping recorded at the
 * slot of its descriptor and undone when the device completes that
 * descriptor; a packet that cannot be mapped is dropped.  The skb is
 * remembered at the slot of the chain's last descriptor and freed when
 * the device completes that descriptor; the ring is in order, so the
 * whole chain is done by then.
 * Since completions are only looked at when there is work (see
 * rings.c), the skb is orphaned at transmit and counted as sent then.
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

/**
 * vbus_enet_tx_unmap() - undo the mapping of a transmit descriptor
 * @priv:	the device
 * @map:	the descriptor's mapping; left unmapped
 */
void vbus_enet_tx_unmap(struct vbus_enet *priv, struct vbus_enet_tx_map *map)
{
	if (map->mapped)
		vbus_proxy_unmap_page(priv->pdev, map->addr, map->len,
				      DMA_TO_DEVICE);
	map->mapped = false;
}

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
		vbus_enet_tx_unmap(qp->priv, &sq->maps[slot]);
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
bool vbus_enet_tx_clean(struct vbus_enet_qp *qp, int budget)
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

/*
 * Map @skb's linear part and frags into the mappings of the slots that
 * follow the header's, @first.  On failure nothing stays mapped.
 */
static int vbus_enet_tx_map_skb(struct vbus_enet *priv,
				struct vbus_enet_sq *sq, struct sk_buff *skb,
				u32 first)
{
	struct skb_shared_info *sh = skb_shinfo(skb);
	unsigned int headlen = skb_headlen(skb);
	u32 mask = sq->ring.ioq.mask;
	struct vbus_enet_tx_map *map;
	u32 next = first + 1;
	unsigned int i;

	if (headlen) {
		map = &sq->maps[next++ & mask];
		if (vbus_proxy_map(priv->pdev, skb->data, headlen,
				   DMA_TO_DEVICE, &map->addr))
			goto err;
		map->len = headlen;
		map->mapped = true;
	}
	for (i = 0; i < sh->nr_frags; i++) {
		const skb_frag_t *frag = &sh->frags[i];

		if (!skb_frag_size(frag))
			continue;
		map = &sq->maps[next++ & mask];
		if (vbus_proxy_map_page(priv->pdev, skb_frag_page(frag),
					skb_frag_off(frag), skb_frag_size(frag),
					DMA_TO_DEVICE, &map->addr))
			goto err;
		map->len = skb_frag_size(frag);
		map->mapped = true;
	}
	return 0;

err:
	/* The slot that failed is not marked mapped. */
	for (i = first + 1; i != next; i++)
		vbus_enet_tx_unmap(priv, &sq->maps[i & mask]);
	return -ENOMEM;
}

/* Post one descriptor of a transmit chain. */
static void vbus_enet_tx_post(struct vbus_enet_sq *sq, u64 addr,
			      unsigned int len, bool more)
{
	struct vbus_ioq_buf buf = {
		.cookie = sq->ring.ioq.avail,
		.addr = addr,
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
	const struct vbus_enet_tx_map *map;
	struct vbus_venet_hdr hdr;
	unsigned int descs, n;
	u32 slot, mask;

	vbus_enet_tx_reclaim(qp, 0);

	if (unlikely(sq->ring.broken || !skb->len ||
		     skb->len > VBUS_VENET_MAX_FRAME ||
		     vbus_enet_tx_hdr(priv, skb, &hdr)))
		goto drop;

	descs = 1 + !!headlen;
	for (n = 0; n < nr_frags; n++)
		if (skb_frag_size(&sh->frags[n]))
			descs++;
	if (unlikely(vbus_ioq_drv_free(&sq->ring.ioq) < descs)) {
		/* Only if the queue was not stopped in time. */
		netif_tx_stop_queue(txq);
		vbus_enet_tx_kick(sq);
		vbus_enet_tx_arm(qp, txq);
		return NETDEV_TX_BUSY;
	}

	/* The header, then the linear part, then the frags. */
	mask = sq->ring.ioq.mask;
	slot = sq->ring.ioq.avail & mask;
	if (unlikely(vbus_enet_tx_map_skb(priv, sq, skb, slot))) {
		net_dbg_ratelimited("%s: cannot map a packet for the device; dropped\n",
				    dev->name);
		goto drop;
	}
	sq->hdrs[slot] = hdr;
	vbus_enet_tx_post(sq, sq->hdrs_addr + slot * sizeof(hdr), sizeof(hdr),
			  descs > 1);
	for (n = 1; n < descs; n++) {
		map = &sq->maps[(slot + n) & mask];
		vbus_enet_tx_post(sq, map->addr, map->len, n + 1 < descs);
	}
	sq->skbs[(sq->ring.ioq.avail - 1) & mask] = skb;

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

drop:
	dev_kfree_skb_any(skb);
	vbus_enet_count_drop(&sq->stats);
	if (!netdev_xmit_more())
		vbus_enet_tx_kick(sq);
	return NETDEV_TX_OK;
}
