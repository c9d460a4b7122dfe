/* SPDX-License-Identifier: GPL-2.0 */
/*
 * venet feature rules, shared by the device, the driver and the unit
 * tests, so both ends agree on what a set of features means.
 */
#ifndef _VBUS_LIB_VENET_H
#define _VBUS_LIB_VENET_H

#include <vbus/venet.h>

/*
 * Frame size limits of the protocol: a frame (without the venet header)
 * is at most VBUS_VENET_MAX_FRAME bytes, and without GSO at most the
 * device's MTU plus VBUS_VENET_FRAME_OVERHEAD (an Ethernet header and a
 * VLAN tag).
 */
#define VBUS_VENET_MAX_FRAME		65550
#define VBUS_VENET_FRAME_OVERHEAD	18

/* Every feature protocol version 1 defines. */
#define VBUS_VENET_F_ALL	((VBUS_VENET_F_LINK_EVENTS << 1) - 1)

/*
 * Drop every feature whose prerequisite is missing: segmentation needs
 * checksum offload in the same direction, ECN needs segmentation.
 */
static inline __u64 vbus_venet_features_fix(__u64 f)
{
	f &= VBUS_VENET_F_ALL;
	if (!(f & VBUS_VENET_F_TX_CSUM))
		f &= ~(VBUS_VENET_F_TX_TSO4 | VBUS_VENET_F_TX_TSO6);
	if (!(f & (VBUS_VENET_F_TX_TSO4 | VBUS_VENET_F_TX_TSO6)))
		f &= ~VBUS_VENET_F_TX_ECN;
	if (!(f & VBUS_VENET_F_RX_CSUM))
		f &= ~(VBUS_VENET_F_RX_TSO4 | VBUS_VENET_F_RX_TSO6);
	if (!(f & (VBUS_VENET_F_RX_TSO4 | VBUS_VENET_F_RX_TSO6)))
		f &= ~VBUS_VENET_F_RX_ECN;
	return f;
}

/*
 * What the device accepts: what it offered and the driver wants, with
 * the prerequisites of each feature present.
 */
static inline __u64 vbus_venet_features_accept(__u64 offered, __u64 wanted)
{
	return vbus_venet_features_fix(offered & wanted);
}

/*
 * The queue pairs the device accepts: 0 (refused) unless 1 <= @wanted <=
 * @max, and more than one only with VBUS_VENET_F_MQ in @features.
 */
static inline __u16 vbus_venet_queues_accept(__u64 features, __u16 max,
					     __u16 wanted)
{
	if (!wanted || wanted > max)
		return 0;
	if (wanted > 1 && !(features & VBUS_VENET_F_MQ))
		return 0;
	return wanted;
}

#endif /* _VBUS_LIB_VENET_H */
