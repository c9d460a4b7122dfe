/* SPDX-License-Identifier: GPL-2.0 */
/*
 * venet device class: private definitions shared by its files.
 *
 * Objects and lifetimes:
 *  - struct venet_dev is the vbus device (one configfs directory).  It
 *    lives from mkdir to the core's release().
 *  - struct venet_priv is the host netdev's private area.  The netdev
 *    exists while the device is enabled: enable() registers it,
 *    disable() unregisters and frees it.
 *  - struct venet_conn is the state of one open connection, from open()
 *    to release().  A connection only exists while the device is
 *    enabled (the core closes connections before it disables a device),
 *    so between open() and close() the netdev is always there.  At most
 *    one connection exists at a time.
 *
 * Lock order: the device's state lock (enable, disable and open run
 * under it), then the core lock, then the connection's lock (call, shm,
 * close), then rtnl (only a NEGOTIATE that changes the netdev takes
 * it).  venet_dev.lock is a leaf: nothing is taken while holding it.
 * Nothing here takes one of the first three while holding rtnl, and no
 * ring handler takes any of them.
 *
 * Execution contexts of the data path:
 *  - each guest ring is a struct vbus_ring served by the core's ring
 *    engine (vbus_ring.h): its doorbells kick it, and its handler
 *    (venet_tx_serve(), venet_rx_serve(), venet_event_serve()) runs in
 *    the ring's work item, inside one memctx run, as the only user of
 *    the ring's private state; it may sleep;
 *  - packets from the guest reach the stack through the queue's NAPI
 *    context, packets to the guest leave through ndo_start_xmit, which
 *    only queues them and kicks the rx ring.
 */
#ifndef _VBUS_VENET_PRIV_H
#define _VBUS_VENET_PRIV_H

#include <linux/bitmap.h>
#include <linux/if_ether.h>
#include <linux/if_vlan.h>
#include <linux/mutex.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/u64_stats_sync.h>

#include <vbus/venet.h>
#include <vbus_device.h>
#include <vbus_page_pool.h>
#include <vbus_ring.h>
#include <vbus_venet.h>

#define VENET_DRV_NAME		"vbus-venet"

/* Limits of the configfs attributes. */
#define VENET_MIN_MTU		ETH_MIN_MTU
#define VENET_MAX_MTU		9000
#define VENET_DEF_MTU		ETH_DATA_LEN
#define VENET_MAX_QUEUES	16
#define VENET_DEF_IFNAME	"vbus-vn%d"

/* Every feature this implementation supports: all of version 1. */
#define VENET_F_SUPPORTED	VBUS_VENET_F_ALL

#define VENET_HDR_LEN		sizeof(struct vbus_venet_hdr)

/*
 * Most descriptors one host-to-guest packet may use.  With buffers of
 * at least 257 bytes the largest packet fits; a guest that posts smaller
 * ones loses the packets that do not fit (counted as errors).
 */
#define VENET_RX_MAX_CHAIN	256

/* Packets ndo_start_xmit may queue per queue before it stops the queue. */
#define VENET_XMIT_QLEN		256

/* Packets from the guest that may wait for NAPI before the work pauses. */
#define VENET_RX_BACKLOG	1024

/*
 * The largest frame that is served in the context that sends it, for a
 * guest whose rings may be served directly (the local connector's): a
 * reply or an acknowledgment that answers what the other side was just
 * given.  Larger frames, and streams, go to the connection's thread.
 */
#define VENET_DIRECT_MAX	256

/*
 * Changes of the netdev's features or queue pairs a guest may make by
 * renegotiating: this many at once, then one per VENET_RENEG_GAP
 * (conn.c, venet_reneg_wait()).
 */
#define VENET_RENEG_BURST	4
#define VENET_RENEG_GAP		(HZ / 10)

/* The device's configfs name, for messages. */
#define venet_name(vp)		config_item_name(&(vp)->vn->dev.group.cg_item)

/**
 * struct venet_cfg - the administrator's configuration of a device
 * @host_mac:	the host netdev's MAC address
 * @guest_mac:	the MAC address GET_CONFIG gives the guest
 * @ifname:	the host netdev's name, or a pattern with one "%d"
 * @mtu:	the host netdev's (maximum) MTU and the guest's maximum MTU
 * @queues:	queue pairs offered to the guest
 * @features:	VBUS_VENET_F_* the administrator allows
 */
struct venet_cfg {
	u8 host_mac[ETH_ALEN];
	u8 guest_mac[ETH_ALEN];
	char ifname[IFNAMSIZ];
	u32 mtu;
	u32 queues;
	u64 features;
};

struct venet_priv;
struct venet_conn;

/**
 * struct venet_dev - a venet device
 * @dev:	the vbus device
 * @lock:	protects @cfg, @netdev and @conn (see below)
 * @cfg:	the configuration.  Written only by attribute stores, inside
 *		vbus_device_config_begin()/end() (so only while disabled)
 *		and under @lock; read under either.
 * @netdev:	the host netdev while enabled, else NULL.  Set by enable()
 *		and cleared by disable() under @lock; a reader holding @lock
 *		sees either NULL or a registered netdev that is not freed
 *		before it drops @lock.
 * @conn:	the open connection or NULL; set by open(), cleared by
 *		close(), both under @lock.
 */
struct venet_dev {
	struct vbus_device dev;
	struct mutex lock;	/* see above */
	struct venet_cfg cfg;
	struct net_device *netdev;
	struct venet_conn *conn;
};

/**
 * struct venet_qstats - counters of one direction of one queue pair
 * @packets:	packets delivered
 * @bytes:	their bytes (Ethernet frames, without the venet header)
 * @drops:	packets dropped for lack of resources or of a link
 * @errors:	packets dropped because they broke a rule
 * @syncp:	for 64-bit reads on 32-bit hosts
 *
 * Each set is written by one context at a time: the ring's handler, or
 * close() and disable() once the ring is stopped.  The ring itself
 * counts doorbells and notifications (struct vbus_ring).
 */
struct venet_qstats {
	u64_stats_t packets;
	u64_stats_t bytes;
	u64_stats_t drops;
	u64_stats_t errors;
	struct u64_stats_sync syncp;
};

/* struct venet_queue.flags */
#define VENET_Q_THROTTLED	0	/* tx work waits for NAPI to drain */

/**
 * struct venet_queue - one queue pair of the host netdev
 * @vp:		the netdev's private area
 * @index:	the queue pair's number
 *
 * Guest to host ("rx" of the host netdev):
 * @txr:	the guest's transmit ring; its handler pops packets and
 *		hands them to NAPI
 * @tx_skb:	the packet being assembled from a chain, or NULL
 * @tx_hdr:	its venet header, validated
 * @tx_chain:	descriptors of the current chain so far
 * @tx_max:	largest frame the current chain may carry
 * @tx_drop:	discard the rest of the current chain
 * @tx_error:	... and count it as an error rather than a drop
 *		(the @tx_ fields above belong to @txr's handler; close()
 *		and disable() reset them once the ring is stopped)
 * @tx_pool:	the pages of the frames @txr's handler assembles, from
 *		enable() to disable(); only the handler allocates from it.
 *		The stack gives them back when it frees the packets, and
 *		they are used again without being cleared, where a new
 *		page would be cleared in full (init_on_alloc) only to be
 *		written over
 * @rx_list:	packets waiting for NAPI; its lock, taken with BHs off,
 *		protects it between @txr's handler and the poll
 * @napi_skbs:	packets taken by the poll; only the poll uses it
 * @napi:	delivers the packets; enabled while the netdev is up
 * @flags:	VENET_Q_* bits, atomic
 * @rx_stats:	written by @txr's handler
 *
 * Host to guest ("tx" of the host netdev):
 * @xmit_q:	packets from ndo_start_xmit; its lock protects it
 * @rxr:	the guest's receive ring; its handler copies queued
 *		packets into the guest's buffers
 * @rx_segs:	software segments of a packet waiting to go
 * @rx_skb:	the packet being written, or NULL
 * @rx_hdr:	its venet header
 * @rx_total:	bytes to write for it (header and frame)
 * @rx_off:	bytes written so far
 * @rx_chain:	buffers it occupies so far (popped, not yet completed)
 * @rx_max_chain: most buffers a packet may occupy on @rxr
 * @rx_lens:	bytes written in each of those buffers
 *		(the @rx_ fields belong to @rxr's handler, like the @tx_
 *		ones to @txr's)
 * @tx_stats:	written by @rxr's handler
 * @xmit_drops:	packets ndo_start_xmit dropped
 */
struct venet_queue {
	struct venet_priv *vp;
	unsigned int index;

	struct vbus_ring txr;
	struct sk_buff *tx_skb;
	struct vbus_venet_hdr tx_hdr;
	u32 tx_chain;
	u32 tx_max;
	bool tx_drop;
	bool tx_error;
	struct page_pool *tx_pool;
	struct sk_buff_head rx_list;
	struct sk_buff_head napi_skbs;
	struct napi_struct napi;
	unsigned long flags;
	struct venet_qstats rx_stats;

	struct sk_buff_head xmit_q;
	struct vbus_ring rxr;
	struct sk_buff_head rx_segs;
	struct sk_buff *rx_skb;
	struct vbus_venet_hdr rx_hdr;
	u32 rx_total;
	u32 rx_off;
	u32 rx_chain;
	u32 rx_max_chain;
	u32 rx_lens[VENET_RX_MAX_CHAIN];
	struct venet_qstats tx_stats;
	atomic_long_t xmit_drops;
};

/**
 * struct venet_priv - the host netdev's private area
 * @netdev:	the netdev
 * @vn:		the device; outlives the netdev
 * @nqueues:	queue pairs allocated (the queues attribute)
 * @mtu:	the mtu attribute: the guest's limit
 * @guest_mac:	the guest_mac attribute
 * @offer:	features offered to the guest (mask and dependencies
 *		applied)
 *		(the four above are fixed from enable() to disable())
 *
 * The connection's state, written by the connection's calls (under its
 * lock) and by close(), read anywhere with READ_ONCE():
 * @connected:	a connection is open
 * @guest_link:	the guest sent LINK_UP (and no LINK_DOWN since)
 * @features:	negotiated features, 0 before the first NEGOTIATE; kept
 *		when the connection closes, as the netdev's offloads are
 * @queue_pairs: negotiated queue pairs, 0 before the first NEGOTIATE;
 *		kept likewise
 * @reneg_tat:	when the next change of the two above is due at the
 *		allowed rate (venet_reneg_wait()); used by NEGOTIATE alone
 *
 * @host_up:	the netdev is up (between ndo_open and ndo_stop); written
 *		under rtnl, read by @evr's handler with READ_ONCE()
 * @evr:	the event ring; its handler sends link events
 * @ev_sent:	the link state last sent on @evr, -1 for none; belongs to
 *		@evr's handler (reset by shm() before @evr is attached)
 * @queues:	@nqueues queue pairs
 */
struct venet_priv {
	struct net_device *netdev;
	struct venet_dev *vn;
	unsigned int nqueues;
	u32 mtu;
	u8 guest_mac[ETH_ALEN];
	u64 offer;

	bool connected;
	bool guest_link;
	u64 features;
	unsigned int queue_pairs;
	unsigned long reneg_tat;

	bool host_up;
	struct vbus_ring evr;
	int ev_sent;

	struct venet_queue queues[];
};

/* Bits of struct venet_conn.registered: one per ring id. */
#define VENET_REG_EVENTS	(2 * VENET_MAX_QUEUES)
#define VENET_REG_BITS		(VENET_REG_EVENTS + 1)

/**
 * struct venet_conn - one open connection
 * @vn:		the device
 * @vp:		its netdev's private area (valid until close())
 * @conn:	the core's connection
 * @negotiated:	NEGOTIATE succeeded
 * @registered:	ring ids registered so far
 *
 * The fields are used by the connection's calls, shm() and close(),
 * which the core serialises with the connection's lock.
 */
struct venet_conn {
	struct venet_dev *vn;
	struct venet_priv *vp;
	struct vbus_connection *conn;
	bool negotiated;
	DECLARE_BITMAP(registered, VENET_REG_BITS);
};

extern const struct ethtool_ops venet_ethtool_ops;
extern const struct vbus_ring_ops venet_tx_ring_ops;
extern const struct vbus_ring_ops venet_rx_ring_ops;
extern const struct vbus_ring_ops venet_event_ring_ops;

int venet_open(struct vbus_device *dev, u32 *version,
	       struct vbus_connection *conn);

int venet_tx_pool_create(struct venet_queue *q);
void venet_queue_init(struct venet_queue *q, struct venet_priv *vp,
		      unsigned int index);
void venet_queue_reset(struct venet_queue *q);
int venet_poll(struct napi_struct *napi, int budget);
netdev_tx_t venet_start_xmit(struct sk_buff *skb, struct net_device *dev);
netdev_features_t venet_features_check(struct sk_buff *skb,
				       struct net_device *dev,
				       netdev_features_t features);
void venet_qstats_read(struct venet_qstats *s, u64 *packets, u64 *bytes,
		       u64 *drops, u64 *errors);

static inline void venet_stats_add(struct venet_qstats *s,
				   u64_stats_t *field, u64 n)
{
	u64_stats_update_begin(&s->syncp);
	u64_stats_add(field, n);
	u64_stats_update_end(&s->syncp);
}

static inline void venet_stats_packet(struct venet_qstats *s,
				      unsigned int len)
{
	u64_stats_update_begin(&s->syncp);
	u64_stats_inc(&s->packets);
	u64_stats_add(&s->bytes, len);
	u64_stats_update_end(&s->syncp);
}

#endif /* _VBUS_VENET_PRIV_H */
