/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The echo device: a test device that answers every call and every ring
 * buffer with the bytes it received, reversed, so a client can check a
 * full round trip through the device's memory access.
 *
 * Interface type "echo", protocol version 1.
 */
#ifndef _UAPI_VBUS_ECHO_H
#define _UAPI_VBUS_ECHO_H

#define VBUS_ECHO_TYPE		"echo"
#define VBUS_ECHO_VERSION	1

/*
 * DEVCALL functions.
 * REVERSE: the arguments are a byte buffer; the device writes it back
 * reversed and returns its length.  Longer than the device's max_len
 * attribute: -EMSGSIZE.
 */
#define VBUS_ECHO_CALL_REVERSE	1

/*
 * DEVSHM ids.
 * RING: the region holds an IOQ (<vbus/ioq.h>).  For every descriptor
 * the device reverses the buffer's first len bytes in place (at most
 * the device's max_len) and completes it with the length reversed.
 * One ring per connection: a second
 * RING region returns -EBUSY.  A ring that breaks the IOQ protocol is
 * abandoned; calls still work, and a new ring needs a new connection.
 */
#define VBUS_ECHO_SHM_RING	0

#endif /* _UAPI_VBUS_ECHO_H */
