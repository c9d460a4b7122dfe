// SPDX-License-Identifier: GPL-2.0
/*
 * vbus-enet data path: the rings of each queue pair, the NAPI instance
 * that polls both, and their setup and teardown.  rx.c receives, tx.c
 * transmits.
 *
 * Notifications: the rx ring's drv_signal is enabled whenever NAPI is
 * idle.  The tx ring's stays disabled: completed descriptors are
 * reclaimed at each transmit and each poll, and it is only enabled while
 * the queue is stopped for lack of descriptors.  Both signals of a pair
 * schedule the pair's NAPI, which follows lib/vbus_shm_signal.h: ack,
 * consume, enable, and poll again if work arrived meanwhile.
 *
 * Memory the device reaches goes through the DMA API (vbus_proxy.h): the
 * rings and the per-slot transmit headers are allocated shared for the
 * life of the connection, receive pages and transmitted skbs are mapped
 * while the device owns them (rx.c, tx.c).  The ring memory and every
 * buffer the device may still use stay allocated and mapped until the
 * connection is closed; only vbus_enet_queues_free(), called after
 * vbus_proxy_close(), unmaps and releases them.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpumask.h>
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
 * vbus_enet_ring_alloc() - allocate and lay out a ring
 * @priv:	the device
 * @ring:	the ring to initialise
 * @count:	its descriptors, a power of two
 *
 * Return: 0 or -ENOMEM.
 */
int vbus_enet_ring_alloc(struct vbus_enet *priv, struct vbus_enet_ring *ring,
			 u32 count)
{
	size_t size = VBUS_IOQ_SIZE(count);
	int ret;

	ring->mem = vbus_proxy_alloc_shared(priv->pdev, size, &ring->addr);
	if (!ring->mem)
		return -ENOMEM;
	ring->size = size;
	atomic_long_set(&ring->signals, 0);
	ring->broken = false;
	ret = vbus_ioq_drv_init(&ring->ioq, ring->mem, size, count, 0);
	if (ret) {
		vbus_proxy_free_shared(priv->pdev, size, ring->mem, ring->addr);
		ring->mem = NULL;
	}
	return ret;
}

/**
 * vbus_enet_ring_free() - free a ring's memory
 * @priv:	the device
 * @ring:	the ring; the device must no longer use it (closed)
 */
void vbus_enet_ring_free(struct vbus_enet *priv, struct vbus_enet_ring *ring)
{
	vbus_proxy_free_shared(priv->pdev, ring->size, ring->mem, ring->addr);
	ring->mem = NULL;
}

/**
 * vbus_enet_ring_register() - hand a ring to the device
 * @priv:	the device
 * @ring:	the ring, laid out by vbus_enet_ring_alloc()
 * @id:		its VBUS_VENET_SHM_* id
 * @cpu:	the CPU its notifications should reach, or -1 for any
 * @handler:	called for the device's notifications (atomic context)
 * @data:	the handler's private data
 *
 * Return: 0 or the negative errno of vbus_proxy_shm().
 */
int vbus_enet_ring_register(struct vbus_enet *priv,
			    struct vbus_enet_ring *ring, u32 id, int cpu,
			    void (*handler)(struct vbus_proxy_signal *sig),
			    void *data)
{
	ring->sig.handler = handler;
	ring->sig.priv = data;
	return vbus_proxy_shm(priv->pdev, id, ring->addr, ring->size, cpu,
			      &ring->sig);
}

/* Mark a ring the device broke; it is not used any more. */
void vbus_enet_ring_broke(struct vbus_enet *priv, struct vbus_enet_ring *ring,
			  const char *what, unsigned int q)
{
	if (!ring->broken)
		netdev_err(priv->netdev,
			   "device broke the %s%u ring protocol; ring abandoned\n",
			   what, q);
	ring->broken = true;
}

/* Ring the device's doorbell if publishing asks for it. */
void vbus_enet_publish(struct vbus_enet_ring *ring,
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

void vbus_enet_count_drop(struct vbus_enet_stats *stats)
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
	struct page_pool *pool;
	int ret;

	/*
	 * Room for the pages a ring's worth of packets hold while sockets
	 * queue them, beyond the ring's own.
	 */
	pool = vbus_page_pool_create(2 * priv->rx_count);
	if (IS_ERR(pool))
		return PTR_ERR(pool);
	qp->rx.pool = pool;
	qp->rx.pages = kcalloc(priv->rx_count, sizeof(*qp->rx.pages),
			       GFP_KERNEL);
	qp->rx.dma = kcalloc(priv->rx_count, sizeof(*qp->rx.dma), GFP_KERNEL);
	/* The headers are read by the device wherever they are posted. */
	qp->tx.hdrs = vbus_proxy_alloc_shared(priv->pdev, priv->tx_count *
					      sizeof(*qp->tx.hdrs),
					      &qp->tx.hdrs_addr);
	qp->tx.maps = kcalloc(priv->tx_count, sizeof(*qp->tx.maps),
			      GFP_KERNEL);
	qp->tx.skbs = kcalloc(priv->tx_count, sizeof(*qp->tx.skbs),
			      GFP_KERNEL);
	if (!qp->rx.pages || !qp->rx.dma || !qp->tx.hdrs || !qp->tx.maps ||
	    !qp->tx.skbs)
		return -ENOMEM;
	ret = vbus_enet_ring_alloc(priv, &qp->rx.ring, priv->rx_count);
	if (!ret)
		ret = vbus_enet_ring_alloc(priv, &qp->tx.ring, priv->tx_count);
	if (ret)
		return ret;
	u64_stats_init(&qp->rx.stats.syncp);
	u64_stats_init(&qp->tx.stats.syncp);
	return 0;
}

static void vbus_enet_qp_free(struct vbus_enet *priv, struct vbus_enet_qp *qp)
{
	u32 i;

	/* Every page still posted is mapped. */
	if (qp->rx.pages)
		for (i = 0; i < priv->rx_count; i++) {
			if (!qp->rx.pages[i])
				continue;
			vbus_proxy_unmap_page(priv->pdev, qp->rx.dma[i],
					      PAGE_SIZE, DMA_FROM_DEVICE);
			page_pool_put_full_page(qp->rx.pool, qp->rx.pages[i],
						false);
		}
	if (qp->tx.maps)
		for (i = 0; i < priv->tx_count; i++)
			vbus_enet_tx_unmap(priv, &qp->tx.maps[i]);
	if (qp->tx.skbs)
		for (i = 0; i < priv->tx_count; i++)
			dev_kfree_skb(qp->tx.skbs[i]);
	dev_kfree_skb(qp->rx.skb);
	kfree(qp->rx.pages);
	kfree(qp->rx.dma);
	vbus_proxy_free_shared(priv->pdev,
			       priv->tx_count * sizeof(*qp->tx.hdrs),
			       qp->tx.hdrs, qp->tx.hdrs_addr);
	kfree(qp->tx.maps);
	kfree(qp->tx.skbs);
	vbus_enet_ring_free(priv, &qp->rx.ring);
	vbus_enet_ring_free(priv, &qp->tx.ring);
	/* Pages the stack still holds go back to the kernel when freed. */
	page_pool_destroy(qp->rx.pool);
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

/*
 * With several queue pairs, pair q belongs to one CPU (the q-th online
 * CPU, wrapping around); -1 (any) with one pair.
 */
static int vbus_enet_queue_cpu(struct vbus_enet *priv, unsigned int q)
{
	return priv->queue_pairs > 1 ?
	       cpumask_local_spread(q, NUMA_NO_NODE) : -1;
}

/**
 * vbus_enet_queues_register() - hand every rx and tx ring to the device
 * @priv:	the device
 *
 * The device's notifications of both rings of a queue pair go to the
 * pair's CPU, where the transport can steer them.
 *
 * Return: 0 or the negative errno of vbus_proxy_shm().
 */
int vbus_enet_queues_register(struct vbus_enet *priv)
{
	unsigned int q;
	int cpu, ret;

	for (q = 0; q < priv->queue_pairs; q++) {
		struct vbus_enet_qp *qp = &priv->qps[q];

		cpu = vbus_enet_queue_cpu(priv, q);
		ret = vbus_enet_ring_register(priv, &qp->rx.ring,
					      VBUS_VENET_SHM_RX(q), cpu,
					      vbus_enet_rx_signal, qp);
		if (ret)
			return ret;
		ret = vbus_enet_ring_register(priv, &qp->tx.ring,
					      VBUS_VENET_SHM_TX(q), cpu,
					      vbus_enet_tx_signal, qp);
		if (ret)
			return ret;
	}
	return 0;
}

/**
 * vbus_enet_queues_steer() - make each queue pair's CPU transmit on it
 * @priv:	the device, its net_device registered
 *
 * XPS, best effort: without it the stack's hash picks the queues.  Only
 * for a registered net_device, whose unregistration frees the maps
 * (free_netdev() does not).  CPUs that come and go later keep the
 * default steering.
 */
void vbus_enet_queues_steer(struct vbus_enet *priv)
{
	unsigned int q;
	int cpu;

	for (q = 0; q < priv->queue_pairs; q++) {
		cpu = vbus_enet_queue_cpu(priv, q);
		if (cpu >= 0)
			netif_set_xps_queue(priv->netdev, cpumask_of(cpu), q);
	}
}

/**
 * vbus_enet_queues_free() - free the queue pairs
 * @priv:	the device; the connection is closed (no signal handler
 *		runs and the device no longer reads the rings) or the
 *		rings were never registered
 *
 * Frees the rings, the pages posted for receive and the skbs still
 * being transmitted, after undoing their DMA mappings.
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
