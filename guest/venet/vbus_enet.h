/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vbus-enet: the guest driver of the venet device (include/uapi/vbus/venet.h).
 * Definitions shared by the driver's files:
 *   main.c	probe, remove, negotiation, net_device operations
 *   rings.c	rings, NAPI, setup and teardown
 *   rx.c	receive path and refill
 *   tx.c	transmit path
 *   events.c	the event ring (link state)
 *   ethtool.c	ethtool operations and statistics
 */
#ifndef _VBUS_ENET_H
#define _VBUS_ENET_H

#include <linux/atomic.h>
#include <linux/if_vlan.h>
#include <linux/netdevice.h>
#include <linux/spinlock.h>
#include <linux/u64_stats_sync.h>
#include <linux/workqueue.h>

#include <vbus/venet.h>
#include <vbus_ioq.h>
#include <vbus_page_pool.h>
#include <vbus_proxy.h>
#include <vbus_venet.h>

#define VBUS_ENET_DRV_NAME	"vbus-enet"

/* Descriptor counts accepted for the rx_ring and tx_ring parameters. */
#define VBUS_ENET_RING_MIN	64
#define VBUS_ENET_RING_MAX	4096
#define VBUS_ENET_RING_DEFAULT	256

/* Descriptors of the event ring. */
#define VBUS_ENET_EVENT_COUNT	16

/* Transmit: descriptors one packet may need (header, linear part, frags). */
#define VBUS_ENET_TX_MAX_DESCS	(MAX_SKB_FRAGS + 2)
/* Receive: descriptors one packet may span (the first page and frags). */
#define VBUS_ENET_RX_MAX_DESCS	(MAX_SKB_FRAGS + 1)
/* Receive: bytes of the frame copied into the skb's linear area. */
#define VBUS_ENET_RX_COPY	128

/* Every feature this driver implements. */
#define VBUS_ENET_FEATURES \
	(VBUS_VENET_F_TX_CSUM | VBUS_VENET_F_RX_CSUM | \
	 VBUS_VENET_F_TX_TSO4 | VBUS_VENET_F_TX_TSO6 | VBUS_VENET_F_TX_ECN | \
	 VBUS_VENET_F_RX_TSO4 | VBUS_VENET_F_RX_TSO6 | VBUS_VENET_F_RX_ECN | \
	 VBUS_VENET_F_MQ | VBUS_VENET_F_LINK_EVENTS)

/**
 * struct vbus_enet_ring - one IOQ shared with the device
 * @ioq:	the driver's view of the ring
 * @mem:	the shared memory (vbus_proxy_alloc_shared())
 * @addr:	its device address
 * @size:	its size in bytes, as registered
 * @sig:	the ring's signal: the device's notifications, our doorbell
 * @signals:	notifications received (the handler may run on any CPU)
 * @broken:	the device broke the ring protocol; the ring is abandoned
 *
 * @ioq and @broken are serialised by the owner of the ring: the rx
 * ring's NAPI, the tx queue's xmit lock, the event lock.
 */
struct vbus_enet_ring {
	struct vbus_ioq_driver ioq;
	void *mem;
	dma_addr_t addr;
	size_t size;
	struct vbus_proxy_signal sig;
	atomic_long_t signals;
	bool broken;
};

/**
 * struct vbus_enet_stats - counters of one ring
 * @syncp:	for readers on 32-bit
 * @packets:	packets received or transmitted
 * @bytes:	their frame bytes
 * @drops:	packets dropped (bad, or no memory)
 * @kicks:	doorbells rung
 *
 * Written by the ring's owner only (see struct vbus_enet_ring).
 */
struct vbus_enet_stats {
	struct u64_stats_sync syncp;
	u64_stats_t packets;
	u64_stats_t bytes;
	u64_stats_t drops;
	u64_stats_t kicks;
};

/**
 * struct vbus_enet_rq - a receive ring
 * @ring:	the IOQ; owned by the queue pair's NAPI, or by whoever
 *		disabled that NAPI (open, the refill work, remove)
 * @pool:	where its pages come from and go back to: a page the stack
 *		frees is used again without being cleared, where a new page
 *		would be cleared in full (init_on_alloc) only to be written
 *		over by the device
 * @pages:	by ring slot: the page posted there, NULL once reclaimed
 * @dma:	by ring slot: the device address of that page, mapped
 *		DMA_FROM_DEVICE while it is posted
 * @skb:	the packet being assembled, when its chain is incomplete
 * @hdr:	the header of that packet, copied out of shared memory
 * @descs:	descriptors of that packet consumed so far (0: none)
 * @discard:	that packet is bad: consume the rest of its chain and drop
 * @stats:	counters
 *
 * Everything here belongs to the owner of @ring.
 */
struct vbus_enet_rq {
	struct vbus_enet_ring ring;
	struct page_pool *pool;
	struct page **pages;
	dma_addr_t *dma;
	struct sk_buff *skb;
	struct vbus_venet_hdr hdr;
	unsigned int descs;
	bool discard;
	struct vbus_enet_stats stats;
};

/**
 * struct vbus_enet_tx_map - the DMA mapping of one transmit descriptor
 * @addr:	the device address of the buffer
 * @len:	its size
 * @mapped:	@addr is a mapping to undo (not for a header or a free
 *		slot)
 */
struct vbus_enet_tx_map {
	dma_addr_t addr;
	u32 len;
	bool mapped;
};

/**
 * struct vbus_enet_sq - a transmit ring
 * @ring:	the IOQ; owned by whoever holds the tx queue's xmit lock
 * @hdrs:	by ring slot: the header of the chain starting there
 *		(vbus_proxy_alloc_shared(), shared with the device)
 * @hdrs_addr:	the device address of @hdrs
 * @maps:	by ring slot: the mapping of the buffer posted there,
 *		undone when the device completes it
 * @skbs:	by ring slot: the skb whose chain ends there, or NULL
 * @unpublished: descriptors posted but not yet published
 * @stats:	counters
 *
 * Everything here is protected by the tx queue's xmit lock.
 */
struct vbus_enet_sq {
	struct vbus_enet_ring ring;
	struct vbus_venet_hdr *hdrs;
	dma_addr_t hdrs_addr;
	struct vbus_enet_tx_map *maps;
	struct sk_buff **skbs;
	unsigned int unpublished;
	struct vbus_enet_stats stats;
};

/**
 * struct vbus_enet_qp - a queue pair: one rx ring, one tx ring, one NAPI
 * @priv:	the device
 * @index:	the pair's number, also its tx queue's
 * @napi:	polls both rings
 * @rx:		the receive ring
 * @tx:		the transmit ring
 */
struct vbus_enet_qp {
	struct vbus_enet *priv;
	unsigned int index;
	struct napi_struct napi;
	struct vbus_enet_rq rx;
	struct vbus_enet_sq tx;
};

/**
 * struct vbus_enet - the driver's state, netdev_priv() of the net_device
 * @netdev:	the interface
 * @pdev:	the vbus device
 * @features:	VBUS_VENET_F_* accepted by the device (fixed after probe)
 * @queue_pairs: queue pairs in use, as accepted (fixed after probe)
 * @rx_count:	descriptors per rx ring
 * @tx_count:	descriptors per tx ring
 * @qps:	the queue pairs
 * @refill:	refills rx rings that ran short of memory
 * @refill_lock: protects @refill_enabled
 * @refill_enabled: @refill may be scheduled (the interface is up)
 * @events:	the event ring, with VBUS_VENET_F_LINK_EVENTS
 * @event_bufs:	by ring slot: the buffer posted there
 *		(vbus_proxy_alloc_shared(), always posted)
 * @event_bufs_addr: the device address of @event_bufs
 * @events_lock: serialises the event ring and protects @events_on
 * @events_on:	events are applied to @netdev (not while it registers,
 *		nor once it goes)
 * @link_work:	sends LINK_UP or LINK_DOWN, whichever @link_up says
 * @link_up:	the interface is up; written under rtnl, read by @link_work
 */
struct vbus_enet {
	struct net_device *netdev;
	struct vbus_proxy_device *pdev;
	u64 features;
	unsigned int queue_pairs;
	u32 rx_count;
	u32 tx_count;
	struct vbus_enet_qp *qps;

	struct delayed_work refill;
	spinlock_t refill_lock;		/* protects @refill_enabled */
	bool refill_enabled;

	struct vbus_enet_ring events;
	struct vbus_venet_event *event_bufs;
	dma_addr_t event_bufs_addr;
	spinlock_t events_lock;		/* the event ring, @events_on */
	bool events_on;

	struct work_struct link_work;
	bool link_up;
};

static inline bool vbus_enet_has(const struct vbus_enet *priv, u64 feature)
{
	return priv->features & feature;
}

/* Retry delay of the refill work after an allocation failure. */
#define VBUS_ENET_REFILL_DELAY	(HZ / 2)

/* rings.c */
int vbus_enet_ring_alloc(struct vbus_enet *priv, struct vbus_enet_ring *ring,
			 u32 count);
void vbus_enet_ring_free(struct vbus_enet *priv, struct vbus_enet_ring *ring);
int vbus_enet_ring_register(struct vbus_enet *priv,
			    struct vbus_enet_ring *ring, u32 id, int cpu,
			    void (*handler)(struct vbus_proxy_signal *sig),
			    void *data);
int vbus_enet_queues_alloc(struct vbus_enet *priv);
int vbus_enet_queues_register(struct vbus_enet *priv);
void vbus_enet_queues_steer(struct vbus_enet *priv);
void vbus_enet_queues_free(struct vbus_enet *priv);
void vbus_enet_queues_start(struct vbus_enet *priv);
void vbus_enet_queues_stop(struct vbus_enet *priv);
void vbus_enet_read_stats(struct vbus_enet_stats *stats, u64 *packets,
			  u64 *bytes, u64 *drops, u64 *kicks);
void vbus_enet_ring_broke(struct vbus_enet *priv, struct vbus_enet_ring *ring,
			  const char *what, unsigned int q);
void vbus_enet_publish(struct vbus_enet_ring *ring,
		       struct vbus_enet_stats *stats);
void vbus_enet_count_drop(struct vbus_enet_stats *stats);

/* rx.c */
bool vbus_enet_rx_refill(struct vbus_enet_qp *qp, gfp_t gfp);
void vbus_enet_refill_work(struct work_struct *work);
int vbus_enet_rx_poll(struct vbus_enet_qp *qp, int budget);
void vbus_enet_rx_refill_napi(struct vbus_enet_qp *qp);

/* tx.c */
void vbus_enet_tx_unmap(struct vbus_enet *priv, struct vbus_enet_tx_map *map);
bool vbus_enet_tx_clean(struct vbus_enet_qp *qp, int budget);
netdev_tx_t vbus_enet_start_xmit(struct sk_buff *skb, struct net_device *dev);

/* events.c */
int vbus_enet_events_init(struct vbus_enet *priv);
void vbus_enet_events_start(struct vbus_enet *priv);
void vbus_enet_events_stop(struct vbus_enet *priv);
void vbus_enet_events_free(struct vbus_enet *priv);

/* ethtool.c */
extern const struct ethtool_ops vbus_enet_ethtool_ops;

#endif /* _VBUS_ENET_H */
