/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ring engine: how every device class serves the IOQ rings a client
 * registers.
 *
 * A device class embeds one struct vbus_ring per ring it serves and
 * supplies a handler (struct vbus_ring_ops.serve) that knows its
 * protocol.  The engine does the rest, the same way for every class:
 * it validates the ring, answers its doorbells, runs the handler in a
 * sleepable context inside one memctx run, charges every round of a run
 * to one budget, acknowledges and re-enables the client's doorbell
 * without ever letting a pending flag alone start another round,
 * publishes completions in batches and notifies the client once per
 * run, follows the ring when the client's memory moves under it, stops
 * it on close, and abandons it when the client breaks the protocol.
 * The memory-ordering rules of all of this are written once, in
 * kernel/vbus/ring.c.
 *
 * Contexts: a doorbell runs in atomic context and only kicks the ring.
 * The handler runs in the ring's work item, on the thread that serves
 * the connection's rings (struct vbus_connection.worker, in the client's
 * cgroups), and is the only user of the ring's indices and of the memory
 * they cover; it may sleep.  Two runs of one ring never overlap.
 *
 * Direct runs: when the client's memory is the kernel's own (an atomic
 * memctx: the local connector) and the class says its handler can run
 * in atomic context (VBUS_RING_F_ATOMIC), the ring may be served at once
 * in the context that kicks it, with bottom halves disabled, inside an
 * RCU read-side section and on a small budget, as veth delivers inline:
 * no thread hop, no wake-up.  That is worth it for the one small packet
 * someone waits for (a reply, an acknowledgment); a stream is better
 * served by the thread, on another CPU than its sender's.  So a direct
 * run happens only where the class asks for it: for a doorbell, when
 * its @direct says so; for its own events, when it calls
 * vbus_ring_serve_now() instead of vbus_ring_kick().  The handler then
 * sees @b->atomic: it must not sleep and allocates with vbus_ring_gfp().
 * What the small budget leaves over goes to the thread, and so does a
 * kick that finds the ring in a run.
 *
 * Lifetime: vbus_ring_init() once; then any number of
 * vbus_ring_attach() ... stop cycles, one per connection that registers
 * the ring.  The core ends each cycle: when the connection closes it
 * detaches the connection's rings at once, and a grace period later,
 * before the device's close(), it stops them (waits for their runs).
 * So a device needs neither a close() nor a shm_moved() for its rings,
 * and the ring's memory stays valid until its close().
 */
#ifndef _VBUS_RING_H
#define _VBUS_RING_H

#include <linux/atomic.h>
#include <linux/gfp.h>
#include <linux/kthread.h>
#include <linux/types.h>

#include <vbus_device.h>
#include <vbus_ioq.h>

/*
 * What one run of a ring's work item may do at most (the ring's weight):
 * this many items (what the class calls an item: a packet, a request),
 * this many descriptors and this many bytes, whichever is spent first.
 * Then the run requeues itself behind other work.
 */
#define VBUS_RING_WEIGHT_ITEMS	256
#define VBUS_RING_WEIGHT_DESCS	1024
#define VBUS_RING_WEIGHT_BYTES	(512 * 1024)

/* The same for a direct run, which holds up the context that kicked it. */
#define VBUS_RING_DIRECT_ITEMS	16
#define VBUS_RING_DIRECT_DESCS	64
#define VBUS_RING_DIRECT_BYTES	(64 * 1024)

/* Completions are made visible to the client at least this often. */
#define VBUS_RING_PUBLISH_BATCH	32

struct vbus_ring;

/**
 * struct vbus_ring_budget - what the current run may still do
 * @items:	items left
 * @descs:	descriptors left (vbus_ring_pop() charges them)
 * @bytes:	bytes left (the handler charges them, vbus_ring_charge())
 * @atomic:	a direct run: the handler must not sleep
 *
 * One budget covers every round of a run: nothing the client does to
 * its ring or to its signal makes a run longer.
 */
struct vbus_ring_budget {
	unsigned int items;
	unsigned int descs;
	size_t bytes;
	bool atomic;
};

/* Flags of struct vbus_ring_ops. */
/*
 * The client posts work on this ring (a transmit ring): its doorbells
 * are off while a run serves it, and on again when the ring is empty.
 * For a client outside this kernel, a run that served descriptors first
 * watches the empty ring for the ring's polling window (see ring.c).
 */
#define VBUS_RING_F_POLL	BIT(0)
/*
 * The handler can run in atomic context when the budget says so
 * (@atomic): the ring may be served directly (see Direct runs above).
 */
#define VBUS_RING_F_ATOMIC	BIT(1)

/**
 * struct vbus_ring_ops - what a device class supplies for a kind of ring
 * @serve:	serve the ring until there is nothing more to do or the
 *		budget is spent; called from the ring's work item, inside a
 *		memctx run (vbus_memctx_enter()), as many times as the run
 *		needs.  Returns:
 *		0: nothing left to do, and no descriptor is needed (the
 *		client's doorbells go off: posting to this ring is of no
 *		interest until the device kicks it);
 *		-EAGAIN: a descriptor is needed and none is posted (the
 *		doorbells go on; the run ends unless one is there now);
 *		-EBUSY: the budget is spent (the run requeues itself);
 *		-ENOBUFS: paused for a reason of the device's own, which
 *		kicks the ring when it may go on;
 *		-ESHUTDOWN: the ring was stopped (vbus_ring_pop() says so);
 *		any other negative errno: the client broke the protocol,
 *		and the ring is abandoned.
 * @direct:	for a VBUS_RING_F_ATOMIC ring that may be served directly,
 *		from its doorbell, before a direct run would serve it (the
 *		run holds the ring): whether what waits is worth serving in
 *		the doorbell's context (optional: never if NULL).  A hint;
 *		vbus_ring_peek() and vbus_ring_expected() help.
 * @kind:	what the ring is, for messages ("tx", "rx", "ring")
 * @flags:	VBUS_RING_F_*
 */
struct vbus_ring_ops {
	int (*serve)(struct vbus_ring *ring, struct vbus_ring_budget *b);
	bool (*direct)(struct vbus_ring *ring);
	const char *kind;
	unsigned int flags;
};

/**
 * struct vbus_ring - one ring a device serves
 * @ops:	set by vbus_ring_init()
 * @dev:	the device, for messages
 * @index:	the ring's number within the device, for messages
 * @priv:	the device's data, for the handler
 *
 * Owned by the ring's work item (and by vbus_ring_attach() before
 * @attached is set, by the core's move and stop once the work item is
 * cancelled):
 * @ioq:	the device's view of the ring
 * @published:	@ioq's used index as last published
 * @notify:	the client asked to be notified of what was published
 *		during this run
 * @poll_ns:	how long a run polls the empty ring for now (ring.c)
 * @expected:	vbus_ring_expect() said the client will answer on this
 *		ring: the next thread's run polls, or, for a ring served
 *		directly, @direct may serve the answer at once (a hint,
 *		written by the runs of the connection's rings)
 * @poll_until:	local_clock() at which the current poll ends, or 0; a
 *		run that yielded to other work keeps it for the next run
 * @poll_end:	local_clock() when a run last stopped polling and turned
 *		the doorbells on, or 0
 * @run_state:	which run holds the ring (VBUS_RING_RUNNING), and whether
 *		the thread found it held by a direct run (VBUS_RING_MISSED,
 *		the direct run then kicks the thread at its end); atomic bits
 *
 * Set by vbus_ring_attach(), valid while @attached:
 * @ctx:	the client's memory
 * @shm:	the region that holds the ring; stays set when the ring is
 *		abandoned, until the connection's stop
 * @signal:	the region's signal
 * @worker:	the connection's thread, which runs @work
 * @direct:	the ring may be served directly (VBUS_RING_F_ATOMIC, and an
 *		atomic memctx)
 * @polled:	the thread's runs may poll the empty ring
 *		(VBUS_RING_F_POLL, and a client outside this kernel: see
 *		Polling in ring.c)
 *
 * @node:	in the connection's rings from vbus_ring_attach() to the
 *		stop (the connection's @rings_lock and @lock)
 * @attached:	the ring may be served.  Set with release semantics by
 *		vbus_ring_attach() once the fields above are valid, unless
 *		the connection is closing; cleared when it closes and by
 *		vbus_ring_abandon().  A run reads it with acquire semantics
 *		before anything else, and vbus_ring_pop() reads it again
 *		before each descriptor.
 * @work:	serves the ring (a run)
 * @doorbells:	doorbells the client rang
 * @direct_runs: runs served directly (see Direct runs above)
 * @polls:	polling windows opened on the empty ring, after a round
 *		that served descriptors or expected an answer (ring.c)
 * @budget_stops: runs that ended with their budget spent and work left
 *		(they requeued themselves)
 * @notifications: notifications sent to the client (written by @work)
 */
struct vbus_ring {
	const struct vbus_ring_ops *ops;
	struct vbus_device *dev;
	unsigned int index;
	void *priv;

	struct vbus_ioq_device ioq;
	u32 published;
	bool notify;
	u32 poll_ns;
	bool expected;
	u64 poll_until;
	u64 poll_end;
	unsigned long run_state;

	struct vbus_memctx *ctx;
	struct vbus_memmap *shm;
	struct vbus_signal *signal;
	struct kthread_worker *worker;
	bool direct;
	bool polled;
	struct list_head node;

	bool attached;
	struct kthread_work work;
	atomic_long_t doorbells;
	atomic_long_t direct_runs;
	atomic_long_t polls;
	atomic_long_t budget_stops;
	unsigned long notifications;
};

void vbus_ring_init(struct vbus_ring *ring, const struct vbus_ring_ops *ops,
		    struct vbus_device *dev, unsigned int index, void *priv);
int vbus_ring_validate(struct vbus_memmap *shm, struct vbus_ioq_device *ioq);
void vbus_ring_attach(struct vbus_ring *ring, const struct vbus_ioq_device *ioq,
		      struct vbus_connection *conn, struct vbus_memmap *shm,
		      struct vbus_signal *signal);
void vbus_ring_abandon(struct vbus_ring *ring, int err);
void vbus_ring_kick(struct vbus_ring *ring);
void vbus_ring_serve_now(struct vbus_ring *ring);
void vbus_ring_expect(struct vbus_ring *ring);
int vbus_ring_peek(struct vbus_ring *ring, u32 n, struct vbus_ioq_buf *buf);
int vbus_ring_pop(struct vbus_ring *ring, struct vbus_ring_budget *b,
		  struct vbus_ioq_buf *buf);
void vbus_ring_complete(struct vbus_ring *ring, u32 len, u32 flags);
void vbus_ring_publish(struct vbus_ring *ring);
void vbus_ring_publish_batch(struct vbus_ring *ring);

/**
 * vbus_ring_live() - is the ring still attached?
 * @ring: the ring, from its handler
 *
 * For handlers that do work between descriptors: vbus_ring_pop() checks
 * it already.
 */
static inline bool vbus_ring_live(const struct vbus_ring *ring)
{
	return READ_ONCE(ring->attached);
}

/**
 * vbus_ring_expected() - did vbus_ring_expect() say an answer comes?
 * @ring: the ring, from its @direct
 */
static inline bool vbus_ring_expected(const struct vbus_ring *ring)
{
	return READ_ONCE(ring->expected);
}

/* Is any part of the budget spent? */
static inline bool vbus_ring_spent(const struct vbus_ring_budget *b)
{
	return !b->items || !b->descs || !b->bytes;
}

/* How the handler allocates: atomically in a direct run. */
static inline gfp_t vbus_ring_gfp(const struct vbus_ring_budget *b)
{
	return b->atomic ? GFP_ATOMIC : GFP_KERNEL;
}

/* Charge @bytes to the budget (all of it when fewer are left). */
static inline void vbus_ring_charge(struct vbus_ring_budget *b, size_t bytes)
{
	b->bytes -= min(bytes, b->bytes);
}

#endif /* _VBUS_RING_H */
