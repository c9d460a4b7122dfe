// SPDX-License-Identifier: GPL-2.0
/*
 * vbus-enet: the guest driver of the venet virtual Ethernet device.
 *
 * Binds to vbus-proxy devices of type "virtual-ethernet", negotiates
 * features and queue pairs with the device (include/uapi/vbus/venet.h)
 * and registers one net_device per device.  This file holds probe and
 * remove and the net_device operations; rings.c the rings, NAPI and
 * their setup, rx.c and tx.c the receive and transmit paths, events.c
 * the link events, ethtool.c the ethtool operations.
 *
 * Module parameters rx_ring and tx_ring set the descriptors per ring
 * (a power of two from 64 to 4096, default 256).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpumask.h>
#include <linux/etherdevice.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/slab.h>

#include <vbus_venet.h>

#include "vbus_enet.h"

static unsigned int rx_ring = VBUS_ENET_RING_DEFAULT;
module_param(rx_ring, uint, 0444);
MODULE_PARM_DESC(rx_ring, "descriptors per rx ring (power of two, 64-4096)");
static unsigned int tx_ring = VBUS_ENET_RING_DEFAULT;
module_param(tx_ring, uint, 0444);
MODULE_PARM_DESC(tx_ring, "descriptors per tx ring (power of two, 64-4096)");

/* The arguments of the bring-up calls, in memory any transport can reach. */
struct vbus_enet_bringup {
	struct vbus_venet_config config;
	struct vbus_venet_negotiate neg;
};

static u32 vbus_enet_ring_size(struct vbus_proxy_device *pdev,
			       unsigned int want, const char *name)
{
	if (want >= VBUS_ENET_RING_MIN && want <= VBUS_ENET_RING_MAX &&
	    is_power_of_2(want))
		return want;
	dev_warn(&pdev->dev, "%s=%u is not a power of two from %u to %u; using %u\n",
		 name, want, VBUS_ENET_RING_MIN, VBUS_ENET_RING_MAX,
		 VBUS_ENET_RING_DEFAULT);
	return VBUS_ENET_RING_DEFAULT;
}

/*
 * GET_CONFIG and NEGOTIATE on an open connection.  Fills @b->config and
 * returns the accepted features and queue pairs.
 */
static int vbus_enet_negotiate(struct vbus_proxy_device *pdev,
			       struct vbus_enet_bringup *b, u64 *features,
			       unsigned int *queue_pairs)
{
	unsigned int max_qp, want_qp, got_qp;
	u64 want, got;
	long ret;

	ret = vbus_proxy_call(pdev, VBUS_VENET_CALL_GET_CONFIG, &b->config,
			      sizeof(b->config));
	if (ret < 0) {
		dev_err(&pdev->dev, "GET_CONFIG failed: %ld\n", ret);
		return ret;
	}
	max_qp = le16_to_cpu(b->config.max_queue_pairs);
	if (!max_qp) {
		dev_err(&pdev->dev, "device offers no queue pair\n");
		return -EPROTO;
	}

	want = vbus_venet_features_fix(le64_to_cpu(b->config.features) &
				      VBUS_ENET_FEATURES);
	want_qp = 1;
	if (want & VBUS_VENET_F_MQ)
		want_qp = min(max_qp, num_online_cpus());
	b->neg.features = cpu_to_le64(want);
	b->neg.queue_pairs = cpu_to_le16(want_qp);
	ret = vbus_proxy_call(pdev, VBUS_VENET_CALL_NEGOTIATE, &b->neg,
			      sizeof(b->neg));
	if (ret < 0) {
		dev_err(&pdev->dev, "NEGOTIATE failed: %ld\n", ret);
		return ret;
	}

	got = le64_to_cpu(b->neg.features);
	got_qp = le16_to_cpu(b->neg.queue_pairs);
	if (got & ~want)
		dev_warn(&pdev->dev, "device accepted features %#llx it was not asked for; not using them\n",
			 got & ~want);
	got = vbus_venet_features_fix(got & want);
	if (!got_qp || got_qp > want_qp ||
	    (got_qp > 1 && !(got & VBUS_VENET_F_MQ))) {
		dev_err(&pdev->dev, "device accepted %u queue pairs of %u\n",
			got_qp, want_qp);
		return -EPROTO;
	}
	*features = got;
	*queue_pairs = got_qp;
	return 0;
}

static void vbus_enet_setup_features(struct vbus_enet *priv)
{
	struct net_device *netdev = priv->netdev;
	netdev_features_t f = NETIF_F_SG;

	if (vbus_enet_has(priv, VBUS_VENET_F_TX_CSUM))
		f |= NETIF_F_HW_CSUM;
	if (vbus_enet_has(priv, VBUS_VENET_F_TX_TSO4))
		f |= NETIF_F_TSO;
	if (vbus_enet_has(priv, VBUS_VENET_F_TX_TSO6))
		f |= NETIF_F_TSO6;
	if (vbus_enet_has(priv, VBUS_VENET_F_TX_ECN))
		f |= NETIF_F_TSO_ECN;
	if (vbus_enet_has(priv, VBUS_VENET_F_RX_CSUM))
		f |= NETIF_F_RXCSUM;

	/* Only what was negotiated can be toggled; the rest is fixed off. */
	netdev->hw_features = f;
	netdev->features = f;
	netdev->vlan_features = f & ~NETIF_F_RXCSUM;
}

/*
 * Tell the device whether the interface is up.  Not from ndo_open and
 * ndo_stop themselves: they run under rtnl, and a device on the same
 * kernel (the local connector) takes rtnl inside the connection's lock,
 * which the call needs.  The last state set wins.
 */
static void vbus_enet_link_work(struct work_struct *work)
{
	struct vbus_enet *priv = container_of(work, struct vbus_enet,
					      link_work);
	bool up = READ_ONCE(priv->link_up);
	long ret;

	ret = vbus_proxy_call(priv->pdev, up ? VBUS_VENET_CALL_LINK_UP :
			      VBUS_VENET_CALL_LINK_DOWN, NULL, 0);
	if (ret < 0)
		netdev_dbg(priv->netdev, "LINK_%s failed: %ld\n",
			   up ? "UP" : "DOWN", ret);
}

static void vbus_enet_set_link(struct vbus_enet *priv, bool up)
{
	WRITE_ONCE(priv->link_up, up);
	schedule_work(&priv->link_work);
}

static int vbus_enet_open(struct net_device *netdev)
{
	struct vbus_enet *priv = netdev_priv(netdev);

	netif_tx_start_all_queues(netdev);
	vbus_enet_queues_start(priv);
	vbus_enet_set_link(priv, true);
	if (!vbus_enet_has(priv, VBUS_VENET_F_LINK_EVENTS))
		netif_carrier_on(netdev);
	return 0;
}

static int vbus_enet_stop(struct net_device *netdev)
{
	struct vbus_enet *priv = netdev_priv(netdev);

	vbus_enet_set_link(priv, false);
	vbus_enet_queues_stop(priv);
	netif_tx_disable(netdev);
	if (!vbus_enet_has(priv, VBUS_VENET_F_LINK_EVENTS))
		netif_carrier_off(netdev);
	return 0;
}

static void vbus_enet_get_stats64(struct net_device *netdev,
				  struct rtnl_link_stats64 *s)
{
	struct vbus_enet *priv = netdev_priv(netdev);
	u64 packets, bytes, drops, kicks;
	unsigned int q;

	for (q = 0; q < priv->queue_pairs; q++) {
		struct vbus_enet_qp *qp = &priv->qps[q];

		vbus_enet_read_stats(&qp->rx.stats, &packets, &bytes, &drops,
				     &kicks);
		s->rx_packets += packets;
		s->rx_bytes += bytes;
		s->rx_dropped += drops;
		vbus_enet_read_stats(&qp->tx.stats, &packets, &bytes, &drops,
				     &kicks);
		s->tx_packets += packets;
		s->tx_bytes += bytes;
		s->tx_dropped += drops;
	}
}

static const struct net_device_ops vbus_enet_netdev_ops = {
	.ndo_open		= vbus_enet_open,
	.ndo_stop		= vbus_enet_stop,
	.ndo_start_xmit		= vbus_enet_start_xmit,
	.ndo_get_stats64	= vbus_enet_get_stats64,
	.ndo_set_mac_address	= eth_mac_addr,
	.ndo_validate_addr	= eth_validate_addr,
};

/* Free what probe set up; the connection is closed. */
static void vbus_enet_free(struct vbus_enet *priv)
{
	vbus_enet_events_free(priv);
	vbus_enet_queues_free(priv);
	free_netdev(priv->netdev);
}

static int vbus_enet_probe(struct vbus_proxy_device *pdev)
{
	struct vbus_enet_bringup *b;
	struct net_device *netdev;
	struct vbus_enet *priv;
	unsigned int queue_pairs, mtu;
	u32 version = VBUS_VENET_VERSION;
	u64 features;
	int ret;

	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return -ENOMEM;
	ret = vbus_proxy_open(pdev, &version);
	if (ret) {
		dev_err(&pdev->dev, "open failed: %d\n", ret);
		goto out_free_b;
	}
	if (version != VBUS_VENET_VERSION) {
		dev_err(&pdev->dev, "device speaks version %u\n", version);
		ret = -EPROTONOSUPPORT;
		goto out_close;
	}
	ret = vbus_enet_negotiate(pdev, b, &features, &queue_pairs);
	if (ret)
		goto out_close;
	mtu = le16_to_cpu(b->config.mtu);
	if (mtu < ETH_MIN_MTU) {
		dev_err(&pdev->dev, "device MTU %u is below %u\n", mtu,
			ETH_MIN_MTU);
		ret = -EPROTO;
		goto out_close;
	}

	netdev = alloc_etherdev_mqs(sizeof(*priv), queue_pairs, queue_pairs);
	if (!netdev) {
		ret = -ENOMEM;
		goto out_close;
	}
	SET_NETDEV_DEV(netdev, &pdev->dev);
	priv = netdev_priv(netdev);
	priv->netdev = netdev;
	priv->pdev = pdev;
	priv->features = features;
	priv->queue_pairs = queue_pairs;
	priv->rx_count = vbus_enet_ring_size(pdev, rx_ring, "rx_ring");
	priv->tx_count = vbus_enet_ring_size(pdev, tx_ring, "tx_ring");
	INIT_WORK(&priv->link_work, vbus_enet_link_work);

	netdev->netdev_ops = &vbus_enet_netdev_ops;
	netdev->ethtool_ops = &vbus_enet_ethtool_ops;
	netdev->min_mtu = ETH_MIN_MTU;
	netdev->max_mtu = mtu;
	netdev->mtu = mtu;
	vbus_enet_setup_features(priv);
	if (is_valid_ether_addr(b->config.mac)) {
		eth_hw_addr_set(netdev, b->config.mac);
	} else {
		dev_warn(&pdev->dev, "device MAC %pM is not a valid unicast address; using a random one\n",
			 b->config.mac);
		eth_hw_addr_random(netdev);
	}
	/* Without link events the carrier goes on at open. */
	netif_carrier_off(netdev);

	ret = vbus_enet_queues_alloc(priv);
	if (!ret)
		ret = vbus_enet_queues_register(priv);
	if (!ret)
		ret = vbus_enet_events_init(priv);
	if (ret) {
		dev_err(&pdev->dev, "ring setup failed: %d\n", ret);
		goto out_close_free;
	}

	dev_set_drvdata(&pdev->dev, priv);
	/*
	 * Events wait in their ring while the net_device registers: a
	 * carrier change applied to it after a failed registration has
	 * unwound would queue a link event for the net_device freed below.
	 */
	vbus_enet_events_stop(priv);
	ret = register_netdev(netdev);
	if (ret) {
		dev_err(&pdev->dev, "register_netdev failed: %d\n", ret);
		goto out_close_free;
	}
	vbus_enet_events_start(priv);
	vbus_enet_queues_steer(priv);
	netdev_info(netdev, "%pM, MTU %u, %u queue pair%s, features %#llx\n",
		    netdev->dev_addr, mtu, queue_pairs,
		    queue_pairs == 1 ? "" : "s", features);
	kfree(b);
	return 0;

out_close_free:
	vbus_proxy_close(pdev);
	vbus_enet_free(priv);
	kfree(b);
	return ret;
out_close:
	vbus_proxy_close(pdev);
out_free_b:
	kfree(b);
	return ret;
}

static void vbus_enet_remove(struct vbus_proxy_device *pdev)
{
	struct vbus_enet *priv = dev_get_drvdata(&pdev->dev);

	vbus_enet_events_stop(priv);
	unregister_netdev(priv->netdev);
	/* The LINK_DOWN of ndo_stop goes out before the connection closes. */
	flush_work(&priv->link_work);
	/* No signal handler runs after this, the device drops the rings. */
	vbus_proxy_close(pdev);
	vbus_enet_free(priv);
}

static struct vbus_proxy_driver vbus_enet_driver = {
	.type = VBUS_VENET_TYPE,
	.probe = vbus_enet_probe,
	.remove = vbus_enet_remove,
	.driver = {
		.name = VBUS_ENET_DRV_NAME,
	},
};
module_vbus_proxy_driver(vbus_enet_driver);

MODULE_DESCRIPTION("vbus virtual Ethernet (venet) guest driver");
MODULE_LICENSE("GPL");
VBUS_PROXY_MODULE_ALIAS(VBUS_VENET_TYPE);
