// SPDX-License-Identifier: GPL-2.0
/*
 * venet data path, guest to host.  The tx ring's handler pops descriptor
 * chains, copies each packet out of the guest's memory into an skb (a
 * linear head and page fragments from the queue's page pool, which gets
 * them back when the stack frees the packet), completes the descriptors
 * with len 0 and hands the skbs to the queue's NAPI context the way tun
 * does: a list under a BH-safe lock and napi_schedule().  The poll feeds
 * them to GRO.  When NAPI falls behind (VENET_RX_BACKLOG packets
 * waiting) the handler pauses and the poll kicks the ring again.  For an
 * in-kernel guest (the local connector) a small frame that answers the
 * host is served from the guest's doorbell itself (venet_tx_direct()),
 * allocating atomically then.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/etherdevice.h>
#include <linux/highmem.h>
#include <linux/if_vlan.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <linux/virtio_net.h>

#include <vbus_napi.h>

#include "venet.h"

/* Bytes copied into an skb's linear area before page fragments. */
#define VENET_COPYBREAK		128
#define VENET_LINEAR_MAX	1536
/* Free pages a queue's pool keeps for reuse, besides its cache. */
#define VENET_TX_POOL_PAGES	256
/* Most header bytes pulled into the linear area up front. */
#define VENET_MAX_PULL		256

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
			  u64 addr, u32 len, gfp_t gfp)
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
			page = page_pool_alloc_pages(q->tx_pool,
						     gfp | __GFP_NOWARN);
			if (!page)
				return -ENOMEM;
			skb_add_rx_frag(skb, sh->nr_frags, page, 0, 0,
					PAGE_SIZE);
			frag = &sh->frags[sh->nr_frags - 1];
		}
		pos = skb_frag_off(frag) + skb_frag_size(frag);
		n = min_t(u32, len, PAGE_SIZE - pos);
		/* Pages allocated without __GFP_HIGHMEM are never highmem. */
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
			 u64 f, gfp_t gfp)
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
							gfp | __GFP_NOWARN);
		if (!q->tx_skb) {
			venet_tx_discard(q, false);
			return 0;
		}
		/* Its fragments come from @tx_pool and go back to it. */
		skb_mark_for_recycle(q->tx_skb);
	}
	switch (venet_skb_fill(q, q->tx_skb, buf->addr + off, len, gfp)) {
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

/**
 * venet_tx_pool_create() - create the page pool of a queue's frames
 * @q:	the queue pair, initialised
 *
 * The pool keeps up to VENET_TX_POOL_PAGES free pages for reuse, besides
 * a cache of 128, and lives until the netdev is freed; pages still in
 * packets then return to the kernel when those are freed.
 *
 * Return: 0, or a negative errno.
 */
int venet_tx_pool_create(struct venet_queue *q)
{
	struct page_pool *pool = vbus_page_pool_create(VENET_TX_POOL_PAGES);

	if (IS_ERR(pool))
		return PTR_ERR(pool);
	q->tx_pool = pool;
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
 * clears the bit and kicks the ring again.
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
 * (-EBUSY), NAPI is behind (-ENOBUFS), the ring is stopped (-ESHUTDOWN),
 * or the guest broke the ring (-EPROTO).
 */
static int venet_tx_serve(struct vbus_ring *ring, struct vbus_ring_budget *b)
{
	struct venet_queue *q = ring->priv;
	struct net_device *dev = q->vp->netdev;
	u64 f = READ_ONCE(q->vp->features);
	struct sk_buff_head batch;
	struct vbus_ioq_buf buf;
	int ret;

	__skb_queue_head_init(&batch);
	for (;;) {
		if (!q->tx_chain && venet_tx_throttle(q)) {
			ret = -ENOBUFS;
			break;
		}
		ret = vbus_ring_pop(ring, b, &buf);
		if (ret)
			break;
		ret = venet_tx_desc(q, &buf, f, vbus_ring_gfp(b));
		/* What the guest handed over is what the run may take. */
		vbus_ring_charge(b, buf.len);
		/* The buffer is no longer read: hand it back. */
		vbus_ring_complete(ring, 0, 0);
		vbus_ring_publish_batch(ring);
		if (ret)
			break;
		if (buf.flags & VBUS_VENET_DESC_F_MORE)
			continue;

		b->items--;
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
	if (!skb_queue_empty(&batch)) {
		venet_tx_deliver(q, &batch);
		/* The host answers what it got (replies, acknowledgments). */
		vbus_ring_expect(&q->rxr);
	}
	return ret;
}

/* Descriptors venet_tx_direct() looks at: a header and two parts. */
#define VENET_DIRECT_DESCS	3

/*
 * A doorbell of a tx ring that may be served directly: serve it at once
 * if what waits is one small frame that answers what the guest was just
 * given (a reply, an acknowledgment), as veth delivers inline; anything
 * else, a stream, goes to the connection's thread.
 */
static bool venet_tx_direct(struct vbus_ring *ring)
{
	struct venet_queue *q = ring->priv;
	struct vbus_ioq_buf buf;
	u64 len = 0;
	u32 i;

	if (!vbus_ring_expected(ring) || q->tx_chain)
		return false;
	for (i = 0; i < VENET_DIRECT_DESCS; i++) {
		if (vbus_ring_peek(ring, i, &buf))
			return false;
		len += buf.len;
		if (!(buf.flags & VBUS_VENET_DESC_F_MORE))
			return len <= VENET_HDR_LEN + VENET_DIRECT_MAX;
	}
	return false;
}

const struct vbus_ring_ops venet_tx_ring_ops = {
	.serve = venet_tx_serve,
	.direct = venet_tx_direct,
	.kind = "tx",
	.flags = VBUS_RING_F_POLL | VBUS_RING_F_ATOMIC,
};

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
				vbus_ring_kick(&q->txr);
			if (skb_queue_empty(&q->napi_skbs))
				break;
		}
		skb = __skb_dequeue(&q->napi_skbs);
		/* Alone: nothing waits behind it, here or from the ring. */
		vbus_napi_receive(napi, skb,
				  skb_queue_empty(&q->napi_skbs) &&
				  skb_queue_empty_lockless(&q->rx_list));
		done++;
	}
	if (done < budget)
		napi_complete_done(napi, done);
	return done;
}
