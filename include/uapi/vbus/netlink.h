/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vbus generic netlink family: administration events and dumps.
 *
 * Events go to the multicast group VBUS_GENL_MCGRP_EVENTS, one message
 * per change, with the command saying what happened.  Dumps
 * (NLM_F_DUMP) of VBUS_CMD_CONTAINER_GET, VBUS_CMD_DEVICE_GET and
 * VBUS_CMD_STATS_GET answer with one message per object.  Configuration
 * itself goes through configfs, not through this family.
 */
#ifndef _UAPI_VBUS_NETLINK_H
#define _UAPI_VBUS_NETLINK_H

#define VBUS_GENL_NAME		"vbus"
#define VBUS_GENL_VERSION	1
#define VBUS_GENL_MCGRP_EVENTS	"events"

enum vbus_cmd {
	VBUS_CMD_UNSPEC,
	VBUS_CMD_CONTAINER_GET,		/* dump: containers */
	VBUS_CMD_DEVICE_GET,		/* dump: devices */
	VBUS_CMD_STATS_GET,		/* dump: per-device counters */
	VBUS_CMD_CONTAINER_NEW,		/* event */
	VBUS_CMD_CONTAINER_DEL,		/* event */
	VBUS_CMD_DEVICE_NEW,		/* event */
	VBUS_CMD_DEVICE_DEL,		/* event */
	VBUS_CMD_DEVICE_PLACE,		/* event: placed in a container */
	VBUS_CMD_DEVICE_UNPLACE,	/* event: removed from its container */
	VBUS_CMD_DEVICE_ENABLE,		/* event */
	VBUS_CMD_DEVICE_DISABLE,	/* event */
	VBUS_CMD_CLIENT_NEW,		/* event: a client attached */
	VBUS_CMD_CLIENT_DEL,		/* event: a client detached */

	__VBUS_CMD_MAX,
	VBUS_CMD_MAX = __VBUS_CMD_MAX - 1
};

enum vbus_attr {
	VBUS_ATTR_UNSPEC,
	VBUS_ATTR_CONTAINER,		/* string: container name */
	VBUS_ATTR_DEVICE,		/* string: device name */
	VBUS_ATTR_CLASS,		/* string: device class */
	VBUS_ATTR_TYPE,			/* string: interface type */
	VBUS_ATTR_DEVICE_ID,		/* u32: id in its container */
	VBUS_ATTR_ENABLED,		/* u8: 0 or 1 */
	VBUS_ATTR_CLIENT_ID,		/* u32 */
	VBUS_ATTR_NUM_DEVICES,		/* u32 */
	VBUS_ATTR_NUM_CLIENTS,		/* u32 */
	VBUS_ATTR_NUM_CONNECTIONS,	/* u32 */
	VBUS_ATTR_STATS,		/* nested: enum vbus_stat */
	VBUS_ATTR_PAD,

	__VBUS_ATTR_MAX,
	VBUS_ATTR_MAX = __VBUS_ATTR_MAX - 1
};

enum vbus_stat {
	VBUS_STAT_UNSPEC,
	VBUS_STAT_OPENS,		/* u64 */
	VBUS_STAT_CALLS,		/* u64 */
	VBUS_STAT_SIGNALS_IN,		/* u64: client to device */
	VBUS_STAT_SIGNALS_OUT,		/* u64: device to client */
	VBUS_STAT_PAD,

	__VBUS_STAT_MAX,
	VBUS_STAT_MAX = __VBUS_STAT_MAX - 1
};

#endif /* _UAPI_VBUS_NETLINK_H */
