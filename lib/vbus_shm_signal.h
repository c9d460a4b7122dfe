/* SPDX-License-Identifier: GPL-2.0 */
/*
 * shm-signal protocol, shared by the kernel and the unit tests.
 *
 * Sender:   publish work, then vbus_shm_signal_raise(); notify the
 *           receiver only when it returns true.
 * Receiver: on a notification (or when polling), vbus_shm_signal_ack(),
 *           consume all work, then vbus_shm_signal_enable(); if that
 *           returns true, more work may have arrived while notifications
 *           were off: go round again.
 *
 * Raising sets @pending with an atomic exchange: only the raise that
 * turns it from zero to non-zero can notify, so any number of raises
 * while one notification is outstanding cost one notification.  Enable
 * and raise each write their own flag, then (after a full barrier) read
 * the other's: either the sender sees @enabled and notifies, or the
 * receiver sees @pending and polls again.  No signal is ever lost; the
 * price of the race is at most one spurious notification.
 *
 * The memory is shared with a peer that may be hostile: these helpers
 * only read and write the words and never trust them for anything but
 * the peer's own notifications.
 */
#ifndef _VBUS_LIB_SHM_SIGNAL_H
#define _VBUS_LIB_SHM_SIGNAL_H

#include <vbus/shm_signal.h>
#include <vbus_atomic.h>

static inline void vbus_shm_signal_init(struct vbus_shm_signal *s)
{
	vbus_store(&s->magic, cpu_to_le32(VBUS_SHM_SIGNAL_MAGIC));
	vbus_store(&s->version, cpu_to_le32(VBUS_SHM_SIGNAL_VERSION));
	vbus_store(&s->enabled, 0);
	vbus_store(&s->pending, 0);
}

/* Does the peer's layout carry the magic and version this code speaks? */
static inline bool vbus_shm_signal_valid(const struct vbus_shm_signal *s)
{
	return le32_to_cpu(vbus_load(&s->magic)) == VBUS_SHM_SIGNAL_MAGIC &&
	       le32_to_cpu(vbus_load(&s->version)) == VBUS_SHM_SIGNAL_VERSION;
}

/*
 * Sender: mark work pending.  Returns true when the caller must notify
 * the receiver (it asked for notifications and none is outstanding).
 * Work published before the call is visible to the receiver after it.
 */
static inline bool vbus_shm_signal_raise(struct vbus_shm_signal *s)
{
	if (vbus_xchg(&s->pending, cpu_to_le32(1)))
		return false;	/* already pending: coalesced */
	vbus_mb_after_xchg();
	return vbus_load(&s->enabled) != 0;
}

/*
 * Receiver: clear pending before looking for work.  Returns true if a
 * signal had been raised since the previous acknowledgment.
 */
static inline bool vbus_shm_signal_ack(struct vbus_shm_signal *s)
{
	return vbus_xchg(&s->pending, 0) != 0;
}

/* Receiver: stop notifications while polling. */
static inline void vbus_shm_signal_disable(struct vbus_shm_signal *s)
{
	vbus_store(&s->enabled, 0);
}

/*
 * Receiver: ask for notifications again.  Returns true if a signal is
 * already pending, in which case no notification may come for it and the
 * receiver must poll once more.
 */
static inline bool vbus_shm_signal_enable(struct vbus_shm_signal *s)
{
	vbus_store(&s->enabled, cpu_to_le32(1));
	vbus_mb();
	return vbus_load(&s->pending) != 0;
}

#endif /* _VBUS_LIB_SHM_SIGNAL_H */
