// SPDX-License-Identifier: GPL-2.0
/*
 * vbus-enet event ring: with VBUS_VENET_F_LINK_EVENTS the device reports
 * its link state through buffers the driver keeps posted, and the
 * carrier follows.
 *
 * Every buffer stays posted: the ring holds VBUS_ENET_EVENT_COUNT
 * descriptors and each reclaimed one is reposted at once, so the buffer
 * of ring slot i is always event_bufs[i].  Since they stay posted for
 * good, the buffers are one allocation shared for the connection's life
 * (vbus_proxy_alloc_shared()) rather than mapped at each post.  The
 * ring's drv_signal stays enabled; the handler acknowledges it before it
 * looks for events, so an event published after that look raises a new
 * notification.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/netdevice.h>

#include "vbus_enet.h"

static void vbus_enet_event_post(struct vbus_enet *priv)
{
	struct vbus_ioq_driver *ioq = &priv->events.ioq;
	struct vbus_ioq_buf buf = {
		.cookie = ioq->avail,
		.addr = priv->event_bufs_addr + (ioq->avail & ioq->mask) *
			sizeof(struct vbus_venet_event),
		.len = sizeof(struct vbus_venet_event),
	};

	vbus_ioq_drv_post(ioq, &buf);
}

static void vbus_enet_event_apply(struct vbus_enet *priv,
				  const struct vbus_venet_event *ev)
{
	switch (le16_to_cpu(ev->type)) {
	case VBUS_VENET_EVENT_LINK:
		if (le32_to_cpu(ev->value))
			netif_carrier_on(priv->netdev);
		else
			netif_carrier_off(priv->netdev);
		break;
	default:
		/* Unknown events are ignored. */
		break;
	}
}

/*
 * Consume every completed event and repost its buffer; events_lock held.
 * Returns true when the device's doorbell must be rung (after the lock is
 * dropped: the device may answer the doorbell with a signal at once).
 */
static bool vbus_enet_events_process(struct vbus_enet *priv)
{
	struct vbus_ioq_driver *ioq = &priv->events.ioq;
	struct vbus_venet_event ev;
	struct vbus_ioq_buf buf;
	unsigned int reposted = 0;
	int ret;

	if (priv->events.broken)
		return false;
	vbus_shm_signal_ack(&ioq->head->drv_signal);
	for (;;) {
		u32 slot = ioq->reclaimed & ioq->mask;

		ret = vbus_ioq_drv_reclaim(ioq, &buf);
		if (ret)
			break;
		memcpy(&ev, &priv->event_bufs[slot], sizeof(ev));
		if (buf.len == sizeof(ev))
			vbus_enet_event_apply(priv, &ev);
		else
			netdev_dbg(priv->netdev, "event of %u bytes ignored\n",
				   buf.len);
		vbus_enet_event_post(priv);
		reposted++;
	}
	if (ret != -EAGAIN) {
		netdev_err(priv->netdev,
			   "device broke the event ring protocol; ring abandoned\n");
		priv->events.broken = true;
	}
	return reposted && vbus_ioq_drv_publish(ioq);
}

/* Apply what the ring holds, if events are on (@start: turn them on). */
static void vbus_enet_events_poll(struct vbus_enet *priv, bool start)
{
	unsigned long flags;
	bool kick = false;
	int ret;

	spin_lock_irqsave(&priv->events_lock, flags);
	if (start)
		priv->events_on = true;
	if (priv->events_on)
		kick = vbus_enet_events_process(priv);
	spin_unlock_irqrestore(&priv->events_lock, flags);
	if (kick) {
		ret = vbus_proxy_kick(&priv->events.sig);
		if (ret)
			netdev_dbg(priv->netdev, "event doorbell failed: %d\n",
				   ret);
	}
}

static void vbus_enet_events_signal(struct vbus_proxy_signal *sig)
{
	struct vbus_enet *priv = sig->priv;

	atomic_long_inc(&priv->events.signals);
	vbus_enet_events_poll(priv, false);
}

/**
 * vbus_enet_events_init() - set up the event ring (LINK_EVENTS only)
 * @priv:	the device, its net_device allocated but not registered
 *
 * Posts every buffer before handing the ring to the device, which sends
 * the current link state at once.  On failure the caller still calls
 * vbus_enet_events_free() after closing the connection.
 *
 * Return: 0, -ENOMEM, or the negative errno of vbus_proxy_shm().
 */
int vbus_enet_events_init(struct vbus_enet *priv)
{
	struct vbus_ioq_driver *ioq = &priv->events.ioq;
	unsigned int i;
	int ret;

	spin_lock_init(&priv->events_lock);
	if (!vbus_enet_has(priv, VBUS_VENET_F_LINK_EVENTS))
		return 0;

	priv->event_bufs = vbus_proxy_alloc_shared(priv->pdev,
						   VBUS_ENET_EVENT_COUNT *
						   sizeof(*priv->event_bufs),
						   &priv->event_bufs_addr);
	if (!priv->event_bufs)
		return -ENOMEM;
	ret = vbus_enet_ring_alloc(priv, &priv->events, VBUS_ENET_EVENT_COUNT);
	if (ret)
		return ret;
	for (i = 0; i < VBUS_ENET_EVENT_COUNT; i++)
		vbus_enet_event_post(priv);
	vbus_ioq_drv_publish(ioq);
	vbus_shm_signal_enable(&ioq->head->drv_signal);
	priv->events_on = true;

	ret = vbus_enet_ring_register(priv, &priv->events,
				      VBUS_VENET_SHM_EVENTS, -1,
				      vbus_enet_events_signal, priv);
	if (ret)
		return ret;
	/*
	 * The buffers were published before the device enabled its
	 * doorbell; ring it once so that it looks at them whatever it did
	 * at registration.
	 */
	ret = vbus_proxy_kick(&priv->events.sig);
	if (ret)
		netdev_dbg(priv->netdev, "event doorbell failed: %d\n", ret);
	return 0;
}

/**
 * vbus_enet_events_start() - apply events to the net_device again
 * @priv:	the device, its net_device registered
 *
 * Applies the events that came while they were stopped.
 */
void vbus_enet_events_start(struct vbus_enet *priv)
{
	if (vbus_enet_has(priv, VBUS_VENET_F_LINK_EVENTS))
		vbus_enet_events_poll(priv, true);
}

/**
 * vbus_enet_events_stop() - stop applying events to the net_device
 * @priv:	the device
 *
 * Called before the net_device is registered (until
 * vbus_enet_events_start()) and before it is unregistered; events that
 * come meanwhile are left on the ring.
 */
void vbus_enet_events_stop(struct vbus_enet *priv)
{
	unsigned long flags;

	spin_lock_irqsave(&priv->events_lock, flags);
	priv->events_on = false;
	spin_unlock_irqrestore(&priv->events_lock, flags);
}

/**
 * vbus_enet_events_free() - free the event ring
 * @priv:	the device; the connection is closed or the ring was never
 *		registered
 */
void vbus_enet_events_free(struct vbus_enet *priv)
{
	vbus_enet_ring_free(priv, &priv->events);
	vbus_proxy_free_shared(priv->pdev, VBUS_ENET_EVENT_COUNT *
			       sizeof(*priv->event_bufs), priv->event_bufs,
			       priv->event_bufs_addr);
	priv->event_bufs = NULL;
}
