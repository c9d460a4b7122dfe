// SPDX-License-Identifier: GPL-2.0
/*
 * The venet device class: a virtual Ethernet NIC whose host side is an
 * ordinary netdev.  See include/uapi/vbus/venet.h for the protocol.
 *
 * This file holds the class, the devices' configfs attributes and the
 * host netdev's lifetime and netdev operations.  conn.c serves the
 * connection (calls and ring registration), tx.c the rings from guest to
 * host, rx.c those from host to guest, datapath.c what both share and
 * the event ring, and ethtool.c the ethtool operations.
 *
 * Attributes (all fixed while the device is enabled):
 *   host_mac	the host netdev's MAC address (random by default)
 *   guest_mac	the guest's MAC address (random by default)
 *   ifname	the host netdev's name; a pattern with one "%d" lets the
 *		kernel pick the number (default "vbus-vn%d").  Reads give
 *		the netdev's actual name while enabled.
 *   mtu	68 to 9000 (default 1500): the netdev's MTU and maximum
 *		MTU, and the guest's maximum MTU
 *   queues	queue pairs offered to the guest, 1 to 16 (default 1)
 *   features	the VBUS_VENET_F_* the guest may get, in hex (default:
 *		all the device supports)
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/etherdevice.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "venet.h"

/* Offloads the host netdev can have; venet_fix_features() trims them. */
#define VENET_HW_FEATURES	(NETIF_F_SG | NETIF_F_HW_CSUM | NETIF_F_TSO | \
				 NETIF_F_TSO6 | NETIF_F_TSO_ECN | \
				 NETIF_F_RXCSUM)

static struct venet_dev *to_venet(struct vbus_device *dev)
{
	return container_of(dev, struct venet_dev, dev);
}

static struct venet_dev *item_to_venet(struct config_item *item)
{
	return to_venet(vbus_device_from_item(item));
}

/* ---------------------------------------------------------------- */
/* netdev operations */

static void venet_purge_rx(struct venet_queue *q)
{
	skb_queue_purge(&q->rx_list);
	__skb_queue_purge(&q->napi_skbs);
}

static int venet_ndo_open(struct net_device *dev)
{
	struct venet_priv *vp = netdev_priv(dev);
	unsigned int i;

	for (i = 0; i < vp->nqueues; i++) {
		struct venet_queue *q = &vp->queues[i];

		/*
		 * NAPI is disabled: drop what a run that raced ndo_stop
		 * queued for it while the netdev was down.  A run may
		 * queue more before NAPI is enabled (the netdev counts as
		 * running already), and its napi_schedule() then did
		 * nothing: schedule it here.
		 */
		venet_purge_rx(q);
		napi_enable(&q->napi);
		if (!skb_queue_empty_lockless(&q->rx_list)) {
			local_bh_disable();
			napi_schedule(&q->napi);
			local_bh_enable();
		}
	}
	netif_tx_start_all_queues(dev);
	WRITE_ONCE(vp->host_up, true);
	vbus_ring_kick(&vp->evr);
	/* Resume guest rings that waited for NAPI while the netdev was down. */
	for (i = 0; i < vp->nqueues; i++) {
		clear_bit(VENET_Q_THROTTLED, &vp->queues[i].flags);
		vbus_ring_kick(&vp->queues[i].txr);
	}
	return 0;
}

static int venet_ndo_stop(struct net_device *dev)
{
	struct venet_priv *vp = netdev_priv(dev);
	unsigned int i;

	WRITE_ONCE(vp->host_up, false);
	vbus_ring_kick(&vp->evr);
	for (i = 0; i < vp->nqueues; i++) {
		struct venet_queue *q = &vp->queues[i];

		napi_disable(&q->napi);
		venet_purge_rx(q);
		/*
		 * A ring that waited for the poll would wait until the next
		 * ndo_open: resume it, it drops what the guest sends now.
		 */
		if (test_and_clear_bit(VENET_Q_THROTTLED, &q->flags))
			vbus_ring_kick(&q->txr);
	}
	return 0;
}

/**
 * venet_qstats_read() - a consistent copy of a queue's counters
 * @s:		the counters
 * @packets:	out
 * @bytes:	out
 * @drops:	out
 * @errors:	out
 */
void venet_qstats_read(struct venet_qstats *s, u64 *packets, u64 *bytes,
		       u64 *drops, u64 *errors)
{
	unsigned int start;

	do {
		start = u64_stats_fetch_begin(&s->syncp);
		*packets = u64_stats_read(&s->packets);
		*bytes = u64_stats_read(&s->bytes);
		*drops = u64_stats_read(&s->drops);
		*errors = u64_stats_read(&s->errors);
	} while (u64_stats_fetch_retry(&s->syncp, start));
}

static void venet_get_stats64(struct net_device *dev,
			      struct rtnl_link_stats64 *stats)
{
	struct venet_priv *vp = netdev_priv(dev);
	u64 packets, bytes, drops, errors;
	unsigned int i;

	for (i = 0; i < vp->nqueues; i++) {
		struct venet_queue *q = &vp->queues[i];

		venet_qstats_read(&q->rx_stats, &packets, &bytes, &drops,
				  &errors);
		stats->rx_packets += packets;
		stats->rx_bytes += bytes;
		stats->rx_dropped += drops;
		stats->rx_errors += errors;
		venet_qstats_read(&q->tx_stats, &packets, &bytes, &drops,
				  &errors);
		stats->tx_packets += packets;
		stats->tx_bytes += bytes;
		stats->tx_dropped += drops + atomic_long_read(&q->xmit_drops);
		stats->tx_errors += errors;
	}
}

/*
 * The offloads the host netdev may have are those the guest negotiated:
 * sending partial checksums and TSO frames to the guest needs its RX_*
 * features, and rx-checksumming says the guest may send partial
 * checksums (TX_CSUM).  Before the first guest there are none; then
 * those of the last negotiation.  Called under rtnl; conn.c calls
 * netdev_update_features() when a NEGOTIATE changes them.
 */
static netdev_features_t venet_fix_features(struct net_device *dev,
					    netdev_features_t features)
{
	struct venet_priv *vp = netdev_priv(dev);
	u64 f = READ_ONCE(vp->features);

	if (!(f & VBUS_VENET_F_RX_CSUM))
		features &= ~NETIF_F_HW_CSUM;
	if (!(f & VBUS_VENET_F_RX_TSO4))
		features &= ~NETIF_F_TSO;
	if (!(f & VBUS_VENET_F_RX_TSO6))
		features &= ~NETIF_F_TSO6;
	if (!(f & VBUS_VENET_F_RX_ECN))
		features &= ~NETIF_F_TSO_ECN;
	if (!(f & VBUS_VENET_F_TX_CSUM))
		features &= ~NETIF_F_RXCSUM;
	return features;
}

static const struct net_device_ops venet_netdev_ops = {
	.ndo_open = venet_ndo_open,
	.ndo_stop = venet_ndo_stop,
	.ndo_start_xmit = venet_start_xmit,
	.ndo_features_check = venet_features_check,
	.ndo_fix_features = venet_fix_features,
	.ndo_get_stats64 = venet_get_stats64,
	.ndo_set_mac_address = eth_mac_addr,
	.ndo_validate_addr = eth_validate_addr,
};

/* ---------------------------------------------------------------- */
/* enable and disable: the host netdev */

static u64 venet_offer(const struct venet_cfg *cfg)
{
	u64 offer = cfg->features & VENET_F_SUPPORTED;

	if (cfg->queues < 2)
		offer &= ~VBUS_VENET_F_MQ;
	return vbus_venet_features_fix(offer);
}

static void venet_free_netdev(struct net_device *dev)
{
	struct venet_priv *vp = netdev_priv(dev);
	unsigned int i;

	/* No connection is open: the core stopped every ring. */
	for (i = 0; i < vp->nqueues; i++) {
		struct venet_queue *q = &vp->queues[i];

		venet_queue_reset(q);
		venet_purge_rx(q);
		page_pool_destroy(q->tx_pool);
	}
	free_netdev(dev);
}

static int venet_enable(struct vbus_device *vdev)
{
	struct venet_dev *vn = to_venet(vdev);
	const struct venet_cfg *cfg = &vn->cfg;
	struct venet_priv *vp;
	struct net_device *dev;
	unsigned int i;
	int ret;

	/* The configuration cannot change: the state lock is held. */
	dev = alloc_etherdev_mqs(struct_size(vp, queues, cfg->queues),
				 cfg->queues, cfg->queues);
	if (!dev)
		return -ENOMEM;
	vp = netdev_priv(dev);
	vp->netdev = dev;
	vp->vn = vn;
	vp->nqueues = cfg->queues;
	vp->mtu = cfg->mtu;
	ether_addr_copy(vp->guest_mac, cfg->guest_mac);
	vp->offer = venet_offer(cfg);
	vp->ev_sent = -1;
	vbus_ring_init(&vp->evr, &venet_event_ring_ops, vdev, 0, vp);
	for (i = 0; i < vp->nqueues; i++)
		venet_queue_init(&vp->queues[i], vp, i);
	/* Every queue is initialised: venet_free_netdev() resets them all. */
	for (i = 0; i < vp->nqueues; i++) {
		ret = venet_tx_pool_create(&vp->queues[i]);
		if (ret) {
			venet_free_netdev(dev);
			return ret;
		}
	}

	strscpy(dev->name, cfg->ifname, sizeof(dev->name));
	eth_hw_addr_set(dev, cfg->host_mac);
	dev->netdev_ops = &venet_netdev_ops;
	dev->ethtool_ops = &venet_ethtool_ops;
	dev->priv_flags |= IFF_LIVE_ADDR_CHANGE;
	/*
	 * The transmit path queues every skb it is given (rx.c), so it
	 * cannot be given one skb twice: no shared skbs (pktgen's burst and
	 * clone_skb), as with tun and veth.
	 */
	dev->priv_flags &= ~IFF_TX_SKB_SHARING;
	dev->hw_features = VENET_HW_FEATURES;
	dev->features = VENET_HW_FEATURES | NETIF_F_HIGHDMA |
			NETIF_F_GSO_ROBUST;
	dev->vlan_features = dev->features & ~NETIF_F_RXCSUM;
	dev->min_mtu = VENET_MIN_MTU;
	dev->max_mtu = cfg->mtu;
	dev->mtu = cfg->mtu;
	netif_carrier_off(dev);

	/* Fixes the features: none of the offloads until a guest comes. */
	ret = register_netdev(dev);
	if (ret) {
		pr_info("%s: cannot register netdev '%s': %d\n",
			config_item_name(&vdev->group.cg_item), cfg->ifname,
			ret);
		venet_free_netdev(dev);
		return ret;
	}

	mutex_lock(&vn->lock);
	vn->netdev = dev;
	mutex_unlock(&vn->lock);
	return 0;
}

static void venet_disable(struct vbus_device *vdev)
{
	struct venet_dev *vn = to_venet(vdev);
	struct net_device *dev;

	mutex_lock(&vn->lock);
	dev = vn->netdev;
	vn->netdev = NULL;
	mutex_unlock(&vn->lock);
	if (!dev)
		return;
	/* No connection is open: no ring is attached. */
	unregister_netdev(dev);
	venet_free_netdev(dev);
}

static void venet_release(struct vbus_device *vdev)
{
	struct venet_dev *vn = to_venet(vdev);

	mutex_destroy(&vn->lock);
	kfree(vn);
}

static const struct vbus_device_ops venet_dev_ops = {
	.enable = venet_enable,
	.disable = venet_disable,
	.open = venet_open,
	.release = venet_release,
};

/* ---------------------------------------------------------------- */
/* attributes */

/*
 * Begin changing a device's configuration: fails with -EBUSY while the
 * device is enabled.  On success the caller holds the core's config
 * section and the device's lock until venet_cfg_end().
 */
static struct venet_dev *venet_cfg_begin(struct config_item *item)
{
	struct venet_dev *vn = item_to_venet(item);
	int ret;

	ret = vbus_device_config_begin(&vn->dev);
	if (ret)
		return ERR_PTR(ret);
	mutex_lock(&vn->lock);
	return vn;
}

static void venet_cfg_end(struct venet_dev *vn)
{
	mutex_unlock(&vn->lock);
	vbus_device_config_end(&vn->dev);
}

/* Copy an attribute write without its trailing newline. */
static int venet_strarg(char *buf, size_t size, const char *page,
			size_t count)
{
	if (count && page[count - 1] == '\n')
		count--;
	if (!count || count >= size)
		return -EINVAL;
	memcpy(buf, page, count);
	buf[count] = '\0';
	return 0;
}

static int venet_parse_mac(const char *page, size_t count, u8 *mac)
{
	char buf[3 * ETH_ALEN];

	if (venet_strarg(buf, sizeof(buf), page, count) ||
	    strlen(buf) != 3 * ETH_ALEN - 1 || !mac_pton(buf, mac) ||
	    !is_valid_ether_addr(mac))
		return -EINVAL;
	return 0;
}

static ssize_t venet_mac_show(struct config_item *item, char *page,
			      bool guest)
{
	struct venet_dev *vn = item_to_venet(item);
	u8 mac[ETH_ALEN];

	mutex_lock(&vn->lock);
	ether_addr_copy(mac, guest ? vn->cfg.guest_mac : vn->cfg.host_mac);
	mutex_unlock(&vn->lock);
	return sprintf(page, "%pM\n", mac);
}

static ssize_t venet_mac_store(struct config_item *item, const char *page,
			       size_t count, bool guest)
{
	struct venet_dev *vn;
	u8 mac[ETH_ALEN];

	if (venet_parse_mac(page, count, mac))
		return -EINVAL;
	vn = venet_cfg_begin(item);
	if (IS_ERR(vn))
		return PTR_ERR(vn);
	ether_addr_copy(guest ? vn->cfg.guest_mac : vn->cfg.host_mac, mac);
	venet_cfg_end(vn);
	return count;
}

static ssize_t venet_host_mac_show(struct config_item *item, char *page)
{
	return venet_mac_show(item, page, false);
}

static ssize_t venet_host_mac_store(struct config_item *item,
				    const char *page, size_t count)
{
	return venet_mac_store(item, page, count, false);
}

static ssize_t venet_guest_mac_show(struct config_item *item, char *page)
{
	return venet_mac_show(item, page, true);
}

static ssize_t venet_guest_mac_store(struct config_item *item,
				     const char *page, size_t count)
{
	return venet_mac_store(item, page, count, true);
}

static ssize_t venet_ifname_show(struct config_item *item, char *page)
{
	struct venet_dev *vn = item_to_venet(item);
	netdevice_tracker tracker;
	struct net_device *dev;
	char name[IFNAMSIZ];

	mutex_lock(&vn->lock);
	dev = vn->netdev;
	if (dev)
		netdev_hold(dev, &tracker, GFP_KERNEL);
	else
		strscpy(name, vn->cfg.ifname, sizeof(name));
	mutex_unlock(&vn->lock);
	if (dev) {
		/*
		 * Renames happen under rtnl, which is never taken under
		 * vn->lock: that stays a leaf, taken by venet_open() with
		 * the device's state lock held.  The reference keeps the
		 * netdev.
		 */
		rtnl_lock();
		strscpy(name, dev->name, sizeof(name));
		rtnl_unlock();
		netdev_put(dev, &tracker);
	}
	return sprintf(page, "%s\n", name);
}

static ssize_t venet_ifname_store(struct config_item *item, const char *page,
				  size_t count)
{
	struct venet_dev *vn;
	char name[IFNAMSIZ];
	const char *pct;

	if (venet_strarg(name, sizeof(name), page, count) ||
	    !dev_valid_name(name))
		return -EINVAL;
	/* At most one "%d", as register_netdev() accepts. */
	pct = strchr(name, '%');
	if (pct && (pct[1] != 'd' || strchr(pct + 2, '%')))
		return -EINVAL;
	vn = venet_cfg_begin(item);
	if (IS_ERR(vn))
		return PTR_ERR(vn);
	strscpy(vn->cfg.ifname, name, sizeof(vn->cfg.ifname));
	venet_cfg_end(vn);
	return count;
}

static ssize_t venet_u32_show(struct config_item *item, char *page,
			      const u32 *field)
{
	struct venet_dev *vn = item_to_venet(item);
	u32 val;

	mutex_lock(&vn->lock);
	val = *field;
	mutex_unlock(&vn->lock);
	return sprintf(page, "%u\n", val);
}

static ssize_t venet_mtu_show(struct config_item *item, char *page)
{
	return venet_u32_show(item, page, &item_to_venet(item)->cfg.mtu);
}

static ssize_t venet_mtu_store(struct config_item *item, const char *page,
			       size_t count)
{
	struct venet_dev *vn;
	u32 val;

	if (kstrtou32(page, 10, &val) || val < VENET_MIN_MTU ||
	    val > VENET_MAX_MTU)
		return -EINVAL;
	vn = venet_cfg_begin(item);
	if (IS_ERR(vn))
		return PTR_ERR(vn);
	vn->cfg.mtu = val;
	venet_cfg_end(vn);
	return count;
}

static ssize_t venet_queues_show(struct config_item *item, char *page)
{
	return venet_u32_show(item, page, &item_to_venet(item)->cfg.queues);
}

static ssize_t venet_queues_store(struct config_item *item, const char *page,
				  size_t count)
{
	struct venet_dev *vn;
	u32 val;

	if (kstrtou32(page, 10, &val) || !val || val > VENET_MAX_QUEUES)
		return -EINVAL;
	vn = venet_cfg_begin(item);
	if (IS_ERR(vn))
		return PTR_ERR(vn);
	vn->cfg.queues = val;
	venet_cfg_end(vn);
	return count;
}

static ssize_t venet_features_show(struct config_item *item, char *page)
{
	struct venet_dev *vn = item_to_venet(item);
	u64 val;

	mutex_lock(&vn->lock);
	val = vn->cfg.features;
	mutex_unlock(&vn->lock);
	return sprintf(page, "0x%llx\n", val);
}

static ssize_t venet_features_store(struct config_item *item,
				    const char *page, size_t count)
{
	struct venet_dev *vn;
	u64 val;

	if (kstrtou64(page, 16, &val) || (val & ~VENET_F_SUPPORTED))
		return -EINVAL;
	vn = venet_cfg_begin(item);
	if (IS_ERR(vn))
		return PTR_ERR(vn);
	vn->cfg.features = val;
	venet_cfg_end(vn);
	return count;
}

CONFIGFS_ATTR(venet_, host_mac);
CONFIGFS_ATTR(venet_, guest_mac);
CONFIGFS_ATTR(venet_, ifname);
CONFIGFS_ATTR(venet_, mtu);
CONFIGFS_ATTR(venet_, queues);
CONFIGFS_ATTR(venet_, features);

static struct configfs_attribute *venet_attrs[] = {
	&venet_attr_host_mac,
	&venet_attr_guest_mac,
	&venet_attr_ifname,
	&venet_attr_mtu,
	&venet_attr_queues,
	&venet_attr_features,
	NULL,
};

/* ---------------------------------------------------------------- */
/* the class */

static struct vbus_device *venet_create(struct vbus_devclass *dc,
					const char *name)
{
	struct venet_dev *vn = kzalloc(sizeof(*vn), GFP_KERNEL);

	if (!vn)
		return ERR_PTR(-ENOMEM);
	vbus_device_init(&vn->dev, dc, VBUS_VENET_TYPE, &venet_dev_ops);
	mutex_init(&vn->lock);
	eth_random_addr(vn->cfg.host_mac);
	eth_random_addr(vn->cfg.guest_mac);
	strscpy(vn->cfg.ifname, VENET_DEF_IFNAME, sizeof(vn->cfg.ifname));
	vn->cfg.mtu = VENET_DEF_MTU;
	vn->cfg.queues = 1;
	vn->cfg.features = VENET_F_SUPPORTED;
	return &vn->dev;
}

static const struct vbus_devclass_ops venet_class_ops = {
	.create = venet_create,
};

static struct vbus_devclass venet_class = {
	.name = "venet",
	.owner = THIS_MODULE,
	.ops = &venet_class_ops,
	.attrs = venet_attrs,
};

static int __init venet_init(void)
{
	return vbus_devclass_register(&venet_class);
}

static void __exit venet_exit(void)
{
	/* No device exists: each pins the module. */
	vbus_devclass_unregister(&venet_class);
}

module_init(venet_init);
module_exit(venet_exit);

MODULE_DESCRIPTION("vbus venet device class: a virtual Ethernet NIC");
MODULE_LICENSE("GPL");
