// SPDX-License-Identifier: GPL-2.0
/*
 * venet connections: open, the calls, ring registration and close.
 *
 * Everything here runs in process context under the connection's lock
 * (the core serialises call, shm and close of a connection); open runs
 * under the device's state lock instead.  The guest is not trusted: every
 * length, id and field it passes is checked before use.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/etherdevice.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>

#include "venet.h"

static bool venet_zero(const u8 *p, size_t len)
{
	return !memchr_inv(p, 0, len);
}

static void venet_set_carrier(struct venet_priv *vp)
{
	if (READ_ONCE(vp->connected) && READ_ONCE(vp->guest_link))
		netif_carrier_on(vp->netdev);
	else
		netif_carrier_off(vp->netdev);
}

static long venet_get_config(struct venet_conn *vc, u64 addr, u32 len)
{
	struct venet_priv *vp = vc->vp;
	struct vbus_venet_config cfg = {};
	bool mq = vp->offer & VBUS_VENET_F_MQ;

	if (len != sizeof(cfg))
		return -EINVAL;
	ether_addr_copy(cfg.mac, vp->guest_mac);
	cfg.mtu = cpu_to_le16(vp->mtu);
	cfg.max_queue_pairs = cpu_to_le16(mq ? vp->nqueues : 1);
	cfg.features = cpu_to_le64(vp->offer);
	return vbus_memctx_copy_to(vc->conn->ctx, addr, &cfg, sizeof(cfg));
}

/*
 * Changing the netdev's features or queue pairs takes rtnl, the lock of
 * every netdev on the host, and shrinking its queues waits for an RCU
 * grace period under it.  A guest can renegotiate as often as it opens
 * and closes the device, so changes are spaced, in the manner of a
 * token bucket: VENET_RENEG_BURST of them at once, then one every
 * VENET_RENEG_GAP.  A NEGOTIATE that asks for a change before its turn
 * waits for it, killably, on the guest's own calling thread: no one else
 * waits.  One that changes nothing takes no lock and never waits.
 *
 * Return: 0, or -EINTR for a caller that was killed meanwhile.
 */
static int venet_reneg_wait(struct venet_priv *vp)
{
	const unsigned long slack = (VENET_RENEG_BURST - 1) * VENET_RENEG_GAP;
	unsigned long tat = vp->reneg_tat, now = jiffies;

	/*
	 * The changes so far are never more than slack + VENET_RENEG_GAP
	 * ahead of their rate; a time due in the past, or not set yet,
	 * means a full bucket.
	 */
	if (time_before(tat, now) ||
	    time_after(tat, now + slack + VENET_RENEG_GAP))
		tat = now;
	/* Until its turn: an early wake-up sleeps again. */
	while (time_after(tat, now + slack)) {
		schedule_timeout_killable(tat - slack - now);
		if (fatal_signal_pending(current))
			return -EINTR;
		now = jiffies;
	}
	vp->reneg_tat = tat + VENET_RENEG_GAP;
	return 0;
}

/*
 * NEGOTIATE: the device accepts the features it offers among those the
 * driver wants (others are not an error: the answer tells the driver
 * what it got), minus those whose dependencies were not accepted, by
 * the rules of lib/vbus_venet.h.  The queue pairs must be possible.
 * The answer is written back before the result is committed, so a
 * failed call changes nothing and may be retried.
 *
 * The netdev keeps what was negotiated when the connection closes: the
 * next guest that asks for the same (a reconnecting or rebooted guest)
 * changes nothing, and venet_features_check() keeps packets the guest
 * cannot take from a netdev that has more offloads than it negotiated.
 */
static long venet_negotiate(struct venet_conn *vc, u64 addr, u32 len)
{
	struct venet_priv *vp = vc->vp;
	struct net_device *dev = vp->netdev;
	struct vbus_venet_negotiate neg;
	unsigned int qp;
	u64 features;
	bool change;
	int ret;

	if (len != sizeof(neg))
		return -EINVAL;
	if (vc->negotiated)
		return -EBUSY;
	ret = vbus_memctx_copy_from(vc->conn->ctx, &neg, addr, sizeof(neg));
	if (ret)
		return ret;
	if (!venet_zero(neg.reserved, sizeof(neg.reserved)))
		return -EINVAL;

	features = vbus_venet_features_accept(vp->offer,
					      le64_to_cpu(neg.features));
	qp = vbus_venet_queues_accept(features, vp->nqueues,
				      le16_to_cpu(neg.queue_pairs));
	if (!qp)
		return -EINVAL;
	change = features != vp->features || qp != vp->queue_pairs;
	if (change) {
		ret = venet_reneg_wait(vp);
		if (ret)
			return ret;
	}

	neg.features = cpu_to_le64(features);
	neg.queue_pairs = cpu_to_le16(qp);
	ret = vbus_memctx_copy_to(vc->conn->ctx, addr, &neg, sizeof(neg));
	if (ret)
		return ret;

	if (change) {
		/*
		 * The transmit queues only: the receive queues stay as many
		 * as the device has.  Packets of an earlier connection may
		 * still wait on any of them (NAPI's lists, GRO), recorded as
		 * received on it, and RPS warns of one delivered from a
		 * queue beyond the count.  Growing can fail (sysfs objects
		 * for the new queues).
		 */
		rtnl_lock();
		ret = netif_set_real_num_tx_queues(dev, qp);
		if (!ret) {
			WRITE_ONCE(vp->features, features);
			WRITE_ONCE(vp->queue_pairs, qp);
			netdev_update_features(dev);
		}
		rtnl_unlock();
		if (ret)
			return ret;
	}
	vc->negotiated = true;
	return 0;
}

static long venet_link(struct venet_conn *vc, bool up, u32 len)
{
	if (len)
		return -EINVAL;
	if (!vc->negotiated)
		return -EINVAL;
	WRITE_ONCE(vc->vp->guest_link, up);
	venet_set_carrier(vc->vp);
	return 0;
}

static long venet_call(struct vbus_connection *conn, u32 func, u64 addr,
		       u32 len, u32 flags)
{
	struct venet_conn *vc = conn->priv;

	if (flags)
		return -EINVAL;
	switch (func) {
	case VBUS_VENET_CALL_GET_CONFIG:
		return venet_get_config(vc, addr, len);
	case VBUS_VENET_CALL_NEGOTIATE:
		return venet_negotiate(vc, addr, len);
	case VBUS_VENET_CALL_LINK_UP:
		return venet_link(vc, true, len);
	case VBUS_VENET_CALL_LINK_DOWN:
		return venet_link(vc, false, len);
	default:
		return -EINVAL;
	}
}

/*
 * Register a ring.  Rings exist for the negotiated queue pairs and,
 * with LINK_EVENTS, for events; each id once per connection.
 */
static int venet_shm(struct vbus_connection *conn, u32 id,
		     struct vbus_memmap *shm, struct vbus_signal *signal)
{
	struct venet_conn *vc = conn->priv;
	struct venet_priv *vp = vc->vp;
	struct venet_queue *q = NULL;
	struct vbus_ioq_device ioq;
	struct vbus_ring *ring;
	unsigned int bit;
	int ret;

	if (!vc->negotiated)
		return -EINVAL;
	if (id == VBUS_VENET_SHM_EVENTS) {
		if (!(vp->features & VBUS_VENET_F_LINK_EVENTS))
			return -EINVAL;
		bit = VENET_REG_EVENTS;
		ring = &vp->evr;
	} else if (id < 2 * vp->queue_pairs) {
		q = &vp->queues[id / 2];
		bit = id;
		ring = id == VBUS_VENET_SHM_TX(q->index) ? &q->txr : &q->rxr;
	} else {
		return -EINVAL;
	}
	if (test_bit(bit, vc->registered))
		return -EBUSY;

	ret = vbus_ring_validate(shm, &ioq);
	if (ret)
		return ret;
	__set_bit(bit, vc->registered);

	/* The ring is stopped: its handler's state is ours until attached. */
	if (!q)
		vp->ev_sent = -1;	/* send the current state first */
	else if (ring == &q->rxr)
		q->rx_max_chain = min_t(u32, VENET_RX_MAX_CHAIN, ioq.mask + 1);
	vbus_ring_attach(ring, &ioq, conn, shm, signal);
	return 0;
}

/*
 * The connection is gone.  The core has stopped its rings (no run is in
 * progress, none starts, no kick from our own contexts reaches them):
 * forget what was queued for the guest and what the rings' handlers had
 * half done, and take the carrier down.  No rtnl: a guest may open and
 * close at will (Documentation/vbus/design.rst, "Guest-driven control
 * work").  Packets the guest sent before it closed are still the
 * stack's to take (NAPI delivers them, or ndo_stop and ndo_open drop
 * them), and the netdev keeps the negotiated features and queue pairs
 * (see venet_negotiate()).
 */
static void venet_close(struct vbus_connection *conn)
{
	struct venet_conn *vc = conn->priv;
	struct venet_priv *vp = vc->vp;
	unsigned int i;

	WRITE_ONCE(vp->connected, false);
	WRITE_ONCE(vp->guest_link, false);
	netif_carrier_off(vp->netdev);

	for (i = 0; i < vp->nqueues; i++)
		venet_queue_reset(&vp->queues[i]);
	/* Queues stopped for a guest that no longer reads them. */
	netif_tx_wake_all_queues(vp->netdev);

	mutex_lock(&vc->vn->lock);
	vc->vn->conn = NULL;
	mutex_unlock(&vc->vn->lock);
}

static void venet_conn_release(struct vbus_connection *conn)
{
	kfree(conn->priv);
}

static const struct vbus_connection_ops venet_conn_ops = {
	.call = venet_call,
	.shm = venet_shm,
	.close = venet_close,
	.release = venet_conn_release,
};

/**
 * venet_open() - a client opens a venet device
 * @dev:	the device, enabled
 * @version:	in: the client's highest protocol version; out: the one used
 * @conn:	the new connection
 *
 * Called by the core with the device's state lock held: the netdev
 * stays registered meanwhile.
 *
 * Return: 0, -EPROTONOSUPPORT for a client older than version 1, -EBUSY
 * when a connection is already open, -ENOMEM.
 */
int venet_open(struct vbus_device *dev, u32 *version,
	       struct vbus_connection *conn)
{
	struct venet_dev *vn = container_of(dev, struct venet_dev, dev);
	struct venet_conn *vc;
	struct venet_priv *vp;

	if (*version < VBUS_VENET_VERSION)
		return -EPROTONOSUPPORT;

	vc = kzalloc(sizeof(*vc), VBUS_GFP_CLIENT);
	if (!vc)
		return -ENOMEM;
	mutex_lock(&vn->lock);
	if (vn->conn || !vn->netdev) {
		mutex_unlock(&vn->lock);
		kfree(vc);
		return -EBUSY;
	}
	vp = netdev_priv(vn->netdev);
	vc->vn = vn;
	vc->vp = vp;
	vc->conn = conn;
	vn->conn = vc;
	WRITE_ONCE(vp->connected, true);
	mutex_unlock(&vn->lock);

	*version = VBUS_VENET_VERSION;
	conn->priv = vc;
	conn->ops = &venet_conn_ops;
	return 0;
}
