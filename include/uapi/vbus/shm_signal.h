/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vbus shared-memory signal: the layout both sides of a connection see.
 *
 * A shm-signal lets one side (the sender) notify the other (the receiver)
 * through shared memory with notification suppression: the sender only
 * raises an interrupt or doorbell when the receiver asked for one and no
 * earlier notification is still outstanding.  The protocol is described
 * in Documentation/vbus/abi.rst and implemented in lib/vbus_shm_signal.h.
 *
 * All fields are little-endian.  The flag words only ever hold zero or
 * non-zero, so their meaning does not depend on byte order.
 */
#ifndef _UAPI_VBUS_SHM_SIGNAL_H
#define _UAPI_VBUS_SHM_SIGNAL_H

#include <linux/types.h>

#define VBUS_SHM_SIGNAL_MAGIC	0x76736967	/* "vsig" */
#define VBUS_SHM_SIGNAL_VERSION	1

/**
 * struct vbus_shm_signal - one direction of notification
 * @magic:	%VBUS_SHM_SIGNAL_MAGIC, written once by whoever lays it out
 * @version:	%VBUS_SHM_SIGNAL_VERSION
 * @enabled:	written by the receiver: non-zero while it wants notifications
 * @pending:	set non-zero by the sender (atomically, returning the old
 *		value); cleared by the receiver before it looks for work
 */
struct vbus_shm_signal {
	__le32 magic;
	__le32 version;
	__le32 enabled;
	__le32 pending;
};

#endif /* _UAPI_VBUS_SHM_SIGNAL_H */
