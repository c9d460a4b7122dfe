/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * venet: the virtual Ethernet device protocol.
 *
 * Interface type "virtual-ethernet", protocol version 1.  The guest side
 * is the "driver", the host side the "device"; "tx" is always the
 * driver's transmit direction (driver to device) and "rx" its receive
 * direction (device to driver).
 *
 * Bring-up, in this order:
 *  1. DEVOPEN with version 1.
 *  2. GET_CONFIG: MAC address, MTU, queue pairs and the features the
 *     device offers (already limited by the administrator's mask).
 *  3. NEGOTIATE: the driver names the features it wants (a subset of
 *     the offer) and the queue pairs it will use; the device answers
 *     with what it accepted.  Features the driver did not get must not
 *     be used.  NEGOTIATE can be sent once per connection.
 *  4. DEVSHM the rings: for each queue pair q < queue_pairs an rx ring
 *     (id VBUS_VENET_SHM_RX(q)) and a tx ring (id VBUS_VENET_SHM_TX(q)),
 *     and, with VBUS_VENET_F_LINK_EVENTS, the event ring
 *     (id VBUS_VENET_SHM_EVENTS).  Each region holds one IOQ
 *     (<vbus/ioq.h>); each has its own signal, hence its own interrupt
 *     source.  The device serves descriptors published before the ring
 *     was registered.  Buffers stay with the device until it completes
 *     them or the connection closes; there is no call to take them back.
 *  5. LINK_UP when the driver's interface goes up, LINK_DOWN when it
 *     goes down.  The device's carrier follows.
 * A step out of order (a ring or LINK_UP before NEGOTIATE) is -EINVAL.
 * Calls take exactly their argument struct (or none) and DEVCALL flags
 * 0; every reserved field is zero, and a call with a non-zero reserved
 * field is refused with -EINVAL.
 *
 * Packets.  A packet is a chain of consecutive descriptors: every
 * descriptor but the last carries VBUS_VENET_DESC_F_MORE in its flags.
 * The chain's bytes, concatenated, are a struct vbus_venet_hdr followed
 * by the Ethernet frame; the header must lie entirely in the first
 * descriptor.
 *  - tx: the driver posts chains; the device completes every descriptor
 *    with len 0 once it no longer reads the buffers (the completion is the
 *    transmit-complete event, signalled through the ring's drv_signal).
 *  - rx: the driver posts empty buffers, one descriptor each, with flags
 *    0; the device fills as many as a packet needs and completes them
 *    with the bytes written, setting VBUS_VENET_DESC_F_MORE on all but
 *    the last of a packet.  A completed descriptor with len 0 and no
 *    MORE flag carries no packet: the device returns so the buffers it
 *    cannot use (a first buffer smaller than the header, buffers too few
 *    for the packet).  Drivers should post buffers of a page or more.
 * A packet whose frame (without the header) is longer than 65550 bytes,
 * longer than the device's MTU (struct vbus_venet_config.mtu, whatever
 * MTU the interfaces currently use) plus 18 bytes without GSO, whose
 * header breaks the rules below, or whose header has a non-zero reserved
 * byte, is dropped and counted, never delivered; the ring goes on.
 *
 * Notification suppression: the IOQ's two shm-signals.  A driver that
 * reclaims tx buffers while transmitting keeps the tx ring's drv_signal
 * disabled and only enables it when the ring is full.
 *
 * All multi-byte fields are little-endian.  Documentation/vbus/abi.rst
 * gives the byte layout.
 */
#ifndef _UAPI_VBUS_VENET_H
#define _UAPI_VBUS_VENET_H

#include <linux/types.h>

#define VBUS_VENET_TYPE		"virtual-ethernet"
#define VBUS_VENET_VERSION	1

/*
 * Features.  "TX" offloads let the driver hand the device packets that
 * still need work (a partial checksum, segmentation); "RX" offloads let
 * the device hand such packets to the driver.
 */
#define VBUS_VENET_F_TX_CSUM	(1ULL << 0)	/* driver may send NEEDS_CSUM */
#define VBUS_VENET_F_RX_CSUM	(1ULL << 1)	/* device may send NEEDS_CSUM, DATA_VALID */
#define VBUS_VENET_F_TX_TSO4	(1ULL << 2)	/* needs TX_CSUM */
#define VBUS_VENET_F_TX_TSO6	(1ULL << 3)	/* needs TX_CSUM */
#define VBUS_VENET_F_TX_ECN	(1ULL << 4)	/* needs TX_TSO4 or TX_TSO6 */
#define VBUS_VENET_F_RX_TSO4	(1ULL << 5)	/* needs RX_CSUM */
#define VBUS_VENET_F_RX_TSO6	(1ULL << 6)	/* needs RX_CSUM */
#define VBUS_VENET_F_RX_ECN	(1ULL << 7)	/* needs RX_TSO4 or RX_TSO6 */
#define VBUS_VENET_F_MQ		(1ULL << 8)	/* more than one queue pair */
#define VBUS_VENET_F_LINK_EVENTS (1ULL << 9)	/* event ring with link state */

/* DEVCALL functions; each takes exactly the argument struct named. */
#define VBUS_VENET_CALL_GET_CONFIG	1	/* out: struct vbus_venet_config */
#define VBUS_VENET_CALL_NEGOTIATE	2	/* in/out: struct vbus_venet_negotiate */
#define VBUS_VENET_CALL_LINK_UP		3	/* no arguments (len 0) */
#define VBUS_VENET_CALL_LINK_DOWN	4	/* no arguments (len 0) */

/*
 * DEVSHM ids.  A queue index q is 16 bits wide (queue_pairs is a
 * __le16), so the ring ids 2q and 2q + 1 lie in 0 to 0x1ffff; the event
 * ring's id, the rx id of queue 0x10000, is above all of them.
 */
#define VBUS_VENET_SHM_RX(q)		(2 * (q))
#define VBUS_VENET_SHM_TX(q)		(2 * (q) + 1)
#define VBUS_VENET_SHM_EVENTS		0x20000

/* IOQ descriptor flags. */
#define VBUS_VENET_DESC_F_MORE		(1U << 0)	/* the packet continues */

/**
 * struct vbus_venet_config - what GET_CONFIG returns
 * @mac:		the driver's MAC address
 * @mtu:		the largest MTU the driver may use (and its default)
 * @max_queue_pairs:	queue pairs the device offers (at least 1)
 * @reserved:		zero
 * @features:		VBUS_VENET_F_* the device offers
 */
struct vbus_venet_config {
	__u8 mac[6];
	__le16 mtu;
	__le16 max_queue_pairs;
	__u8 reserved[6];
	__le64 features;
};

/**
 * struct vbus_venet_negotiate - NEGOTIATE arguments
 * @features:		in: the features the driver wants; out: accepted
 * @queue_pairs:	in: queue pairs the driver will use (1 without
 *			VBUS_VENET_F_MQ); out: accepted
 * @reserved:		zero
 */
struct vbus_venet_negotiate {
	__le64 features;
	__le16 queue_pairs;
	__u8 reserved[6];
};

/* struct vbus_venet_hdr.flags */
#define VBUS_VENET_HDR_F_NEEDS_CSUM	(1U << 0)	/* see csum_start */
#define VBUS_VENET_HDR_F_DATA_VALID	(1U << 1)	/* rx: checksum verified */

/* struct vbus_venet_hdr.gso_type */
#define VBUS_VENET_GSO_NONE		0
#define VBUS_VENET_GSO_TCPV4		1
#define VBUS_VENET_GSO_TCPV6		2
#define VBUS_VENET_GSO_ECN		0x80	/* or-ed in: TCP with CWR */

/**
 * struct vbus_venet_hdr - per-packet metadata, before the frame
 * @flags:	VBUS_VENET_HDR_F_*; DATA_VALID only from the device (the
 *		device ignores it on tx)
 * @gso_type:	VBUS_VENET_GSO_*; anything but NONE needs NEEDS_CSUM
 *		and the matching negotiated feature
 * @hdr_len:	with GSO: bytes of Ethernet, IP and L4 headers; exact from
 *		the device, a hint from the driver
 * @gso_size:	with GSO: payload bytes per segment, 1 to the MTU
 * @csum_start:	with NEEDS_CSUM: offset in the frame where checksumming
 *		starts, past the Ethernet header (at least 14)
 * @csum_offset: with NEEDS_CSUM: where, counted from @csum_start, the
 *		16-bit checksum is stored; it lies within the frame
 * @reserved:	zero
 */
struct vbus_venet_hdr {
	__u8 flags;
	__u8 gso_type;
	__le16 hdr_len;
	__le16 gso_size;
	__le16 csum_start;
	__le16 csum_offset;
	__u8 reserved[6];
};

/* struct vbus_venet_event.type */
#define VBUS_VENET_EVENT_LINK		1	/* value: 1 up, 0 down */

/**
 * struct vbus_venet_event - one event on the event ring
 * @type:	VBUS_VENET_EVENT_*
 * @reserved:	zero
 * @value:	depends on @type
 * @reserved2:	zero
 *
 * The driver posts buffers of at least this size on the event ring; the
 * device completes one per event with len = sizeof(struct
 * vbus_venet_event), and a smaller buffer with len 0.  On registration
 * of the ring the device sends the current link state; afterwards, each
 * change.
 */
struct vbus_venet_event {
	__le16 type;
	__le16 reserved;
	__le32 value;
	__le64 reserved2;
};

#endif /* _UAPI_VBUS_VENET_H */
