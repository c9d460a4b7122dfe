/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The few shared-memory primitives the freestanding vbus code needs,
 * mapped onto the kernel's or the compiler's.  Code built on these runs
 * unchanged in the kernel and in the user-space unit tests.
 */
#ifndef _VBUS_LIB_ATOMIC_H
#define _VBUS_LIB_ATOMIC_H

#ifdef __KERNEL__

#include <linux/atomic.h>
#include <linux/compiler.h>
#include <linux/types.h>

#define vbus_load(p)		READ_ONCE(*(p))
#define vbus_store(p, v)	WRITE_ONCE(*(p), (v))
#define vbus_xchg(p, v)		xchg((p), (v))
/* Full barrier: orders a store before a later load (Dekker pairs). */
#define vbus_mb()		smp_mb()
/* Full barrier after vbus_xchg(); xchg() already is one on x86. */
#define vbus_mb_after_xchg()	smp_mb__after_atomic()
/* Acquire load: pairs with vbus_store_release() of the peer. */
#define vbus_load_acquire(p)	smp_load_acquire(p)
/* Release store: publishes everything written before it. */
#define vbus_store_release(p, v) smp_store_release((p), (v))

#else /* !__KERNEL__ */

#include <endian.h>
#include <stdbool.h>
#include <linux/types.h>

#define cpu_to_le32(x)		((__le32)htole32(x))
#define le32_to_cpu(x)		le32toh((__u32)(x))
#define cpu_to_le16(x)		((__le16)htole16(x))
#define le16_to_cpu(x)		le16toh((__u16)(x))
#define cpu_to_le64(x)		((__le64)htole64(x))
#define le64_to_cpu(x)		le64toh((__u64)(x))

#define vbus_load(p)		__atomic_load_n((p), __ATOMIC_RELAXED)
#define vbus_store(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define vbus_xchg(p, v)		__atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
#define vbus_mb()		__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define vbus_mb_after_xchg()	__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define vbus_load_acquire(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define vbus_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

#endif /* __KERNEL__ */

#endif /* _VBUS_LIB_ATOMIC_H */
