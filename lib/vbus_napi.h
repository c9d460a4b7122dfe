/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Receive from a NAPI poll, shared by the venet device (its host netdev)
 * and the venet driver (the guest's).  Kernel only.
 */
#ifndef _VBUS_LIB_NAPI_H
#define _VBUS_LIB_NAPI_H

#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <net/busy_poll.h>

/**
 * vbus_napi_receive() - hand a received packet to the stack from a poll
 * @napi:	the poll's NAPI context
 * @skb:	the packet
 * @alone:	nothing else is waiting to be received behind @skb
 *
 * GRO merges the packets of one poll and flushes what it holds when the
 * poll completes.  A packet that is alone, with nothing held from before
 * (no GRO packet, no GRO_NORMAL batch), has nothing to merge with: it
 * goes to the stack directly and is spared GRO's protocol handlers (for
 * UDP a socket lookup on top of the delivery's own).  Packets held from
 * before keep GRO for this one too, so that it cannot overtake them, and
 * so does a netdev whose GRO holds packets across polls
 * (gro_flush_timeout), where a later packet may still merge with it.
 */
static inline void vbus_napi_receive(struct napi_struct *napi,
				     struct sk_buff *skb, bool alone)
{
	if (alone && !napi->gro_bitmask && !napi->rx_count &&
	    !READ_ONCE(napi->dev->gro_flush_timeout)) {
		skb_mark_napi_id(skb, napi);
		netif_receive_skb(skb);
		return;
	}
	napi_gro_receive(napi, skb);
}

#endif /* _VBUS_LIB_NAPI_H */
