// SPDX-License-Identifier: GPL-2.0
/*
 * vbus-enet transmit path.  A packet to transmit becomes a chain: its
 * header (from a per-slot array shared with the device), its linear
 * part, then its frags.  The skb is remembered at the slot of the
 * chain's last descriptor and freed when the device completes that
 * descriptor; the ring is in order, so the whole chain is done by then.
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
