// SPDX-License-Identifier: GPL-2.0
/*
 * vbus-enet ethtool operations: driver information, link, channels,
 * ring sizes and per-queue statistics.
 */

#include <linux/ethtool.h>
#include <linux/netdevice.h>

#include "vbus_enet.h"

static const char * const vbus_enet_stat_names[] = {
	"packets", "bytes", "drops", "kicks", "interrupts",
};

#define VBUS_ENET_QUEUE_STATS	ARRAY_SIZE(vbus_enet_stat_names)

static void vbus_enet_get_drvinfo(struct net_device *netdev,
				  struct ethtool_drvinfo *info)
{
	struct vbus_enet *priv = netdev_priv(netdev);

	strscpy(info->driver, VBUS_ENET_DRV_NAME, sizeof(info->driver));
	strscpy(info->bus_info, dev_name(&priv->pdev->dev),
		sizeof(info->bus_info));
}

static void vbus_enet_get_channels(struct net_device *netdev,
				   struct ethtool_channels *ch)
{
	struct vbus_enet *priv = netdev_priv(netdev);

	ch->max_combined = priv->queue_pairs;
	ch->combined_count = priv->queue_pairs;
}

static void vbus_enet_get_ringparam(struct net_device *netdev,
				    struct ethtool_ringparam *ring,
				    struct kernel_ethtool_ringparam *kring,
				    struct netlink_ext_ack *extack)
{
	struct vbus_enet *priv = netdev_priv(netdev);

	ring->rx_max_pending = priv->rx_count;
	ring->rx_pending = priv->rx_count;
	ring->tx_max_pending = priv->tx_count;
	ring->tx_pending = priv->tx_count;
}

static int vbus_enet_get_sset_count(struct net_device *netdev, int sset)
{
	struct vbus_enet *priv = netdev_priv(netdev);

	if (sset != ETH_SS_STATS)
		return -EOPNOTSUPP;
	return priv->queue_pairs * 2 * VBUS_ENET_QUEUE_STATS;
}

static void vbus_enet_get_strings(struct net_device *netdev, u32 sset,
				  u8 *data)
{
	struct vbus_enet *priv = netdev_priv(netdev);
	unsigned int q, i;

	if (sset != ETH_SS_STATS)
		return;
	for (q = 0; q < priv->queue_pairs; q++) {
		for (i = 0; i < VBUS_ENET_QUEUE_STATS; i++)
			ethtool_sprintf(&data, "rx%u_%s", q,
					vbus_enet_stat_names[i]);
		for (i = 0; i < VBUS_ENET_QUEUE_STATS; i++)
			ethtool_sprintf(&data, "tx%u_%s", q,
					vbus_enet_stat_names[i]);
	}
}

/* One ring's values, in the order of vbus_enet_stat_names. */
static u64 *vbus_enet_ring_stats(struct vbus_enet_stats *stats,
				 struct vbus_enet_ring *ring, u64 *data)
{
	vbus_enet_read_stats(stats, &data[0], &data[1], &data[2], &data[3]);
	data[4] = atomic_long_read(&ring->signals);
	return data + VBUS_ENET_QUEUE_STATS;
}

static void vbus_enet_get_ethtool_stats(struct net_device *netdev,
					struct ethtool_stats *estats,
					u64 *data)
{
	struct vbus_enet *priv = netdev_priv(netdev);
	unsigned int q;

	for (q = 0; q < priv->queue_pairs; q++) {
		struct vbus_enet_qp *qp = &priv->qps[q];

		data = vbus_enet_ring_stats(&qp->rx.stats, &qp->rx.ring, data);
		data = vbus_enet_ring_stats(&qp->tx.stats, &qp->tx.ring, data);
	}
}

const struct ethtool_ops vbus_enet_ethtool_ops = {
	.get_drvinfo		= vbus_enet_get_drvinfo,
	.get_link		= ethtool_op_get_link,
	.get_channels		= vbus_enet_get_channels,
	.get_ringparam		= vbus_enet_get_ringparam,
	.get_sset_count		= vbus_enet_get_sset_count,
	.get_strings		= vbus_enet_get_strings,
	.get_ethtool_stats	= vbus_enet_get_ethtool_stats,
};
