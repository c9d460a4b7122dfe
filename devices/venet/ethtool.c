// SPDX-License-Identifier: GPL-2.0
/*
 * venet ethtool operations: -i, -k (through the netdev features), -l,
 * -S and the link state.
 *
 * Statistics are named from the host netdev's point of view: "rx" is
 * what the guest transmits (its tx rings), "tx" what the host sends it
 * (its rx rings).  Per queue pair and direction: packets, bytes, drops,
 * errors, doorbells received from the guest on the ring, interrupts
 * (notifications) sent to the guest for it, the ring's runs served
 * directly, in the context that kicked it (a guest of the local
 * connector, vbus_ring.h), the polling windows its thread opened on it
 * when it was empty, before turning the doorbells on (kernel/vbus/ring.c),
 * and its runs that ended on their budget with work left; then the
 * totals.
 */

#include <linux/ethtool.h>
#include <linux/netdevice.h>
#include <linux/string.h>

#include "venet.h"

static const char * const venet_stat_names[] = {
	"packets", "bytes", "drops", "errors", "doorbells", "interrupts",
	"direct", "polls", "budget_stops",
};

#define VENET_NSTATS	ARRAY_SIZE(venet_stat_names)
/* Values per queue pair (both directions), and the totals. */
#define VENET_QSTATS	(2 * VENET_NSTATS)

static void venet_get_drvinfo(struct net_device *dev,
			      struct ethtool_drvinfo *info)
{
	struct venet_priv *vp = netdev_priv(dev);

	strscpy(info->driver, VENET_DRV_NAME, sizeof(info->driver));
	strscpy(info->bus_info, venet_name(vp), sizeof(info->bus_info));
}

static int venet_get_sset_count(struct net_device *dev, int sset)
{
	struct venet_priv *vp = netdev_priv(dev);

	if (sset != ETH_SS_STATS)
		return -EOPNOTSUPP;
	return (vp->nqueues + 1) * VENET_QSTATS;
}

static void venet_get_strings(struct net_device *dev, u32 sset, u8 *data)
{
	struct venet_priv *vp = netdev_priv(dev);
	unsigned int i, j;

	if (sset != ETH_SS_STATS)
		return;
	for (i = 0; i < vp->nqueues; i++) {
		for (j = 0; j < VENET_NSTATS; j++)
			ethtool_sprintf(&data, "rx%u_%s", i,
					venet_stat_names[j]);
		for (j = 0; j < VENET_NSTATS; j++)
			ethtool_sprintf(&data, "tx%u_%s", i,
					venet_stat_names[j]);
	}
	for (j = 0; j < VENET_NSTATS; j++)
		ethtool_sprintf(&data, "rx_%s", venet_stat_names[j]);
	for (j = 0; j < VENET_NSTATS; j++)
		ethtool_sprintf(&data, "tx_%s", venet_stat_names[j]);
}

/* One direction of a queue, in venet_stat_names order. */
static void venet_fill_dir(struct venet_qstats *s, u64 extra_drops,
			   const struct vbus_ring *ring, u64 *out)
{
	BUILD_BUG_ON(VENET_NSTATS != 9);
	venet_qstats_read(s, &out[0], &out[1], &out[2], &out[3]);
	out[2] += extra_drops;
	out[4] = atomic_long_read(&ring->doorbells);
	out[5] = READ_ONCE(ring->notifications);
	out[6] = atomic_long_read(&ring->direct_runs);
	out[7] = atomic_long_read(&ring->polls);
	out[8] = atomic_long_read(&ring->budget_stops);
}

static void venet_get_ethtool_stats(struct net_device *dev,
				    struct ethtool_stats *stats, u64 *data)
{
	struct venet_priv *vp = netdev_priv(dev);
	u64 *total = data + vp->nqueues * VENET_QSTATS;
	unsigned int i, j;

	memset(total, 0, VENET_QSTATS * sizeof(*total));
	for (i = 0; i < vp->nqueues; i++) {
		struct venet_queue *q = &vp->queues[i];
		u64 *out = data + i * VENET_QSTATS;

		venet_fill_dir(&q->rx_stats, 0, &q->txr, out);
		venet_fill_dir(&q->tx_stats, atomic_long_read(&q->xmit_drops),
			       &q->rxr, out + VENET_NSTATS);
		for (j = 0; j < VENET_QSTATS; j++)
			total[j] += out[j];
	}
}

static void venet_get_channels(struct net_device *dev,
			       struct ethtool_channels *ch)
{
	struct venet_priv *vp = netdev_priv(dev);

	ch->max_combined = vp->nqueues;
	ch->combined_count = dev->real_num_tx_queues;
}

static int venet_get_link_ksettings(struct net_device *dev,
				    struct ethtool_link_ksettings *cmd)
{
	cmd->base.speed = SPEED_UNKNOWN;
	cmd->base.duplex = DUPLEX_FULL;
	cmd->base.port = PORT_OTHER;
	return 0;
}

const struct ethtool_ops venet_ethtool_ops = {
	.get_drvinfo = venet_get_drvinfo,
	.get_link = ethtool_op_get_link,
	.get_link_ksettings = venet_get_link_ksettings,
	.get_sset_count = venet_get_sset_count,
	.get_strings = venet_get_strings,
	.get_ethtool_stats = venet_get_ethtool_stats,
	.get_channels = venet_get_channels,
};
