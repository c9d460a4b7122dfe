// SPDX-License-Identifier: GPL-2.0
/*
 * The ring engine (see vbus_ring.h for what it does for a device class).
 *
 * Memory ordering, all of it:
 *  - vbus_ring_attach() writes the ring's fields, then sets @attached
 *    with smp_store_release(); a run reads @attached with
 *    smp_load_acquire() first, so it sees valid fields or returns.
 *  - The signal's @priv is written before its @handler, with
 *    smp_store_release() (the core reads the handler with acquire
 *    semantics): a doorbell that finds the handler finds the ring.
 *  - vbus_ring_attach() and vbus_rings_detach() meet under the
 *    connection's @rings_lock: a ring attached while its connection
 *    closes is either detached by the close or never marked attached.
 *  - vbus_rings_moved() runs on the ring's thread, between two runs, and
 *    a ring whose memory can move is never served directly (a memctx
 *    with @remap is not @atomic): the next run, on the same thread, sees
 *    the new view.
 *  - Between the client and the device, the IOQ and shm-signal helpers
 *    (lib/vbus_ioq.h, lib/vbus_shm_signal.h) order the indices and the
 *    flags: a descriptor is read after the index that publishes it
 *    (acquire), completions are published after they are written
 *    (release), and enable/raise each write their flag before reading
 *    the other's (full barrier), so no doorbell is lost.
 *
 * Kicks: a ring is kicked by its doorbells, by its own run (a requeue)
 * and by the device (a packet to send).  vbus_ring_kick() queues a run
 * only while the ring is attached, under rcu_read_lock().  A closing
 * connection's rings are detached at once and stopped by its teardown a
 * grace period later (conn.c), so no kick can reach the connection's
 * thread by then, whatever context the device kicks from, and every
 * ring of a client shares that one grace period.
 *
 * The budget: a run starts with one struct vbus_ring_budget and charges
 * every round to it.  A round that found the ring empty is followed by
 * another only when vbus_ioq_dev_enable() sees a descriptor: a client
 * that keeps setting its pending flag costs one acknowledgment and one
 * peek per doorbell, never a loop.  Once the budget is spent the run
 * requeues itself at the end of the workqueue, so a ring that is always
 * full shares the CPU with every other ring of its thread.
 *
 * Polling: a client that posts to a VBUS_RING_F_POLL ring rings its
 * doorbell only when the run asked for it, and every doorbell costs the
 * client an exit and the host a wake-up.  So a run that has just served
 * descriptors and finds the ring empty watches it for a while before it
 * turns the doorbells on: a client that posts again within that time
 * needs no doorbell.  The window adapts per ring, as KVM's halt polling
 * does: it starts at 0; a doorbell that comes within ring_poll_us (a
 * parameter of this module, the ceiling) of the moment a run gave up
 * polling doubles it (from VBUS_RING_POLL_START_NS), one that comes
 * later halves it.  A client that streams is caught by the poll, one
 * that posts now and then costs no polling.  Only after a round that
 * served something (or after vbus_ring_expect(): another ring has just
 * given the client something it answers on this one), so a client that
 * only rings (its pending flag without descriptors) is never polled
 * for; never ahead of another ring of the same thread or of another task
 * that wants the CPU (the run requeues itself behind the ring's work, or
 * behind the task once the thread's cond_resched() lets it run, with the
 * doorbells off, and the next run polls until the same deadline: a
 * client that posts meanwhile finds the thread runnable and needs no
 * doorbell); and every descriptor found so is charged to the run's
 * budget like any other.
 * The time polled is CPU time of the connection's thread, in the
 * client's cgroups.  A client in this kernel (an atomic memctx: the
 * local connector) is never polled for: its doorbell is a call, not an
 * exit, and it posts from the same CPUs the poll would hold (a stream
 * then lost a third of its small packets, dropped at a receiver that
 * got less of the CPU).
 *
 * Direct runs (vbus_ring_serve_now()) and the thread's runs exclude each
 * other through VBUS_RING_RUNNING, taken with acquire and dropped with
 * release semantics, so each run sees what the one before it wrote.  A
 * direct run that finds the bit taken kicks the thread instead (the
 * thread's run then serves what it came for).  A thread's run that
 * finds it taken sets VBUS_RING_MISSED and tries once more; the direct
 * run, once it has dropped the bit, reads VBUS_RING_MISSED and kicks the
 * thread again; the full barriers between the two sides' store and load
 * make one of them see the other, so no kick is lost.  A direct run sits
 * in an RCU read-side section: the teardown's grace period after a
 * close waits for it as for a doorbell.  A direct run never polls.
 * vbus_ring_expect() on a ring served directly only sets @expected, for
 * the class's @direct to read: the answer is served in its doorbell's
 * context rather than watched for by the thread.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitops.h>
#include <linux/bottom_half.h>
#include <linux/hardirq.h>
#include <linux/irqflags.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>

#include <vbus_ring.h>

#include "core.h"

static const char *vbus_ring_name(const struct vbus_ring *ring)
{
	return config_item_name(&ring->dev->group.cg_item);
}

/* For a run: may the ring be used? */
static bool vbus_ring_ok(struct vbus_ring *ring)
{
	/* Pairs with vbus_ring_attach(): the fields are valid when set. */
	return smp_load_acquire(&ring->attached);
}

/* The largest ceiling of the polling window the parameter accepts. */
#define VBUS_RING_POLL_MAX_US	1000
/* A window that grows from 0 starts here. */
#define VBUS_RING_POLL_START_NS	(10 * NSEC_PER_USEC)

static unsigned int ring_poll_us = VBUS_RING_POLL_MAX_US;

static bool ring_direct = true;
module_param(ring_direct, bool, 0644);
MODULE_PARM_DESC(ring_direct,
		 "serve the rings of in-kernel clients (the local connector) in the context that kicks them, not on their thread (default: on)");

/* Bits of struct vbus_ring.run_state. */
#define VBUS_RING_RUNNING	0
#define VBUS_RING_MISSED	1

/* Is the ring served directly now? */
static bool vbus_ring_direct(const struct vbus_ring *ring)
{
	return READ_ONCE(ring->direct) && READ_ONCE(ring_direct);
}

static int ring_poll_us_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 0, VBUS_RING_POLL_MAX_US);
}

static const struct kernel_param_ops ring_poll_us_ops = {
	.set = ring_poll_us_set,
	.get = param_get_uint,
};

module_param_cb(ring_poll_us, &ring_poll_us_ops, &ring_poll_us, 0644);
MODULE_PARM_DESC(ring_poll_us,
		 "the longest a transmit ring that was just served is polled before its client must ring again, in microseconds (0: never; at most 1000, the default); never for a client in this kernel");

/* Tell the client what the run published, if it asked for it. */
static void vbus_ring_notify(struct vbus_ring *ring)
{
	if (!ring->notify)
		return;
	ring->notify = false;
	WRITE_ONCE(ring->notifications, ring->notifications + 1);
	vbus_signal_notify(ring->signal);
}

/* What vbus_ring_poll() saw. */
enum vbus_ring_polled {
	VBUS_RING_POSTED,	/* the client posted: serve it */
	VBUS_RING_YIELD,	/* the thread's other work, or a task, waits */
	VBUS_RING_IDLE,		/* nothing came: doorbells on */
};

/* Does other work wait for the ring's thread?  A hint, read unlocked. */
static bool vbus_ring_thread_wanted(struct vbus_ring *ring)
{
	return !list_empty(&ring->worker->work_list);
}

/*
 * A polled ring is empty after a round that served it (@served), or
 * after a run that yielded while polling: watch it until the window's
 * end (at most @max ns after the last descriptor served) before the
 * doorbells go on.  Another ring of the same thread that has work (the
 * receive ring of the same NIC, say), or another task the scheduler
 * wants to run, ends the poll at once, without the doorbells: the caller
 * requeues the run, and the run that follows watches the rest of the
 * same window.
 */
static enum vbus_ring_polled vbus_ring_poll(struct vbus_ring *ring,
					    bool served, u64 max)
{
	u64 limit = min_t(u64, ring->poll_ns, max);
	u64 now = local_clock();

	if (served) {
		ring->poll_until = limit ? now + limit : 0;
		if (limit)
			atomic_long_inc(&ring->polls);
	}
	if (ring->poll_until) {
		/* The client need not wait for what was published. */
		vbus_ring_notify(ring);
		while (now < ring->poll_until) {
			if (vbus_ioq_dev_avail(&ring->ioq)) {
				ring->poll_until = 0;
				return VBUS_RING_POSTED;
			}
			if (vbus_ring_thread_wanted(ring))
				return VBUS_RING_YIELD;
			if (!vbus_ring_ok(ring)) {
				ring->poll_until = 0;
				return VBUS_RING_IDLE;
			}
			if (need_resched())
				return VBUS_RING_YIELD;
			cpu_relax();
			now = local_clock();
		}
	}
	/* Gave up: the next doorbell tells whether that was too soon. */
	ring->poll_until = 0;
	ring->poll_end = now;
	return VBUS_RING_IDLE;
}

/*
 * A run starts: a doorbell that came soon after the last run gave up
 * polling widens the window, a late one narrows it; @max ns is the
 * ceiling.
 */
static void vbus_ring_poll_adapt(struct vbus_ring *ring, u64 max)
{
	if (!ring->poll_end)
		return;
	if (local_clock() - ring->poll_end <= max) {
		ring->poll_ns = clamp_t(u64, (u64)ring->poll_ns * 2,
					VBUS_RING_POLL_START_NS, max);
	} else {
		ring->poll_ns /= 2;
		if (ring->poll_ns < VBUS_RING_POLL_START_NS)
			ring->poll_ns = 0;
	}
	ring->poll_end = 0;
}

/*
 * Take the ring for a run; false if another run holds it.  Acquire: the
 * run sees what the run before it wrote before vbus_ring_unclaim().
 */
static bool vbus_ring_claim(struct vbus_ring *ring)
{
	return !test_and_set_bit_lock(VBUS_RING_RUNNING, &ring->run_state);
}

/* End a run; a thread's run that found the ring held is kicked again. */
static void vbus_ring_unclaim(struct vbus_ring *ring)
{
	clear_bit_unlock(VBUS_RING_RUNNING, &ring->run_state);
	/* Pairs with the barrier in vbus_ring_work(). */
	smp_mb__after_atomic();
	if (test_bit(VBUS_RING_MISSED, &ring->run_state) &&
	    test_and_clear_bit(VBUS_RING_MISSED, &ring->run_state))
		vbus_ring_kick(ring);
}

/* One run of the ring, on @b; the caller holds the ring. */
static void vbus_ring_run(struct vbus_ring *ring, struct vbus_ring_budget *b)
{
	bool poll = ring->ops->flags & VBUS_RING_F_POLL;
	bool busy;
	/* The ceiling, read once so that one run sees one value. */
	u64 poll_max = (u64)READ_ONCE(ring_poll_us) * NSEC_PER_USEC;
	enum vbus_ring_polled polled;
	struct vbus_shm_signal *dev_signal;
	bool expected = false;
	bool entered;
	int ret;

	if (!vbus_ring_ok(ring))
		return;
	/* Busy polling is for the thread (a direct run's ring never is). */
	busy = ring->polled && !b->atomic;
	dev_signal = &ring->ioq.head->dev_signal;
	/* Served now: the client need not ring. */
	if (poll)
		vbus_shm_signal_disable(dev_signal);
	if (busy) {
		expected = READ_ONCE(ring->expected);
		WRITE_ONCE(ring->expected, false);
		/* Only the client's timing tells the window's size. */
		if (expected)
			ring->poll_end = 0;
		else
			vbus_ring_poll_adapt(ring, poll_max);
	}
	vbus_shm_signal_ack(dev_signal);
	entered = vbus_memctx_enter(ring->ctx);
	for (;;) {
		unsigned int descs = b->descs;
		bool served;

		ret = ring->ops->serve(ring, b);
		vbus_ring_publish(ring);
		/* Served or expected something, or polling: more soon? */
		served = b->descs != descs || expected;
		expected = false;
		if (ret == -EAGAIN && busy && (served || ring->poll_until)) {
			polled = vbus_ring_poll(ring, served, poll_max);
			if (polled == VBUS_RING_POSTED)
				continue;
			if (polled == VBUS_RING_YIELD) {
				/* Doorbells stay off: the requeued run polls. */
				vbus_ring_kick(ring);
				break;
			}
		}
		if (ret == -EAGAIN) {
			/*
			 * Have the client ring when it posts.  Go round
			 * again only for a descriptor, never for a pending
			 * flag alone.  The round costs a descriptor of the
			 * budget even if the handler then finds none (the
			 * client may take its index back in between), so
			 * that no race of the client's makes a run longer.
			 */
			if (vbus_ioq_dev_enable(&ring->ioq)) {
				if (poll)
					vbus_shm_signal_disable(dev_signal);
				b->descs -= min(b->descs, 1U);
				if (!vbus_ring_spent(b))
					continue;
				atomic_long_inc(&ring->budget_stops);
				vbus_ring_kick(ring);
			}
			break;
		}
		if (!ret) {
			/* Nothing to do: posting needs no doorbell. */
			vbus_shm_signal_disable(dev_signal);
			break;
		}
		if (ret == -EBUSY) {
			/* Out of budget: let others run, then go on. */
			atomic_long_inc(&ring->budget_stops);
			vbus_ring_kick(ring);
			break;
		}
		if (ret == -ENOBUFS || ret == -ESHUTDOWN)
			break;	/* the device kicks us / stopped */
		vbus_ring_abandon(ring, ret);
		break;
	}
	vbus_memctx_leave(ring->ctx, entered);
	vbus_ring_notify(ring);
}

static void vbus_ring_work(struct kthread_work *work)
{
	struct vbus_ring *ring = container_of(work, struct vbus_ring, work);
	struct vbus_ring_budget b = {
		.items = VBUS_RING_WEIGHT_ITEMS,
		.descs = VBUS_RING_WEIGHT_DESCS,
		.bytes = VBUS_RING_WEIGHT_BYTES,
	};

	if (!vbus_ring_claim(ring)) {
		set_bit(VBUS_RING_MISSED, &ring->run_state);
		/* Pairs with the barrier in vbus_ring_unclaim(). */
		smp_mb__after_atomic();
		if (!vbus_ring_claim(ring))
			return;	/* the direct run kicks us again */
		clear_bit(VBUS_RING_MISSED, &ring->run_state);
	}
	vbus_ring_run(ring, &b);
	vbus_ring_unclaim(ring);
}

/*
 * Serve @ring in this context if it may be served directly and, for a
 * doorbell, the class's @direct wants it; kick it otherwise.
 */
static void vbus_ring_try_direct(struct vbus_ring *ring, bool doorbell)
{
	struct vbus_ring_budget b = {
		.items = VBUS_RING_DIRECT_ITEMS,
		.descs = VBUS_RING_DIRECT_DESCS,
		.bytes = VBUS_RING_DIRECT_BYTES,
		.atomic = true,
	};
	bool served = false;

	if (!vbus_ring_direct(ring) || (doorbell && !ring->ops->direct) ||
	    in_hardirq() || in_nmi() || irqs_disabled()) {
		vbus_ring_kick(ring);
		return;
	}
	local_bh_disable();
	/* A close's teardown waits a grace period for this run. */
	rcu_read_lock();
	/*
	 * Pairs with vbus_ring_attach(): the fields are valid when set.
	 * @direct is looked at again behind it: the first look may have
	 * seen the value a connection before this one set.
	 */
	if (smp_load_acquire(&ring->attached) && READ_ONCE(ring->direct) &&
	    vbus_ring_claim(ring)) {
		if (!doorbell || (vbus_ring_ok(ring) && ring->ops->direct(ring))) {
			WRITE_ONCE(ring->expected, false);
			atomic_long_inc(&ring->direct_runs);
			vbus_ring_run(ring, &b);
			served = true;
		}
		vbus_ring_unclaim(ring);
	}
	if (!served)
		vbus_ring_kick(ring);
	rcu_read_unlock();
	local_bh_enable();
}

static void vbus_ring_doorbell(struct vbus_signal *signal)
{
	struct vbus_ring *ring = signal->priv;

	atomic_long_inc(&ring->doorbells);
	vbus_ring_try_direct(ring, true);
}

/**
 * vbus_ring_init() - set up a ring once, before its first attach
 * @ring:	the ring, zeroed
 * @ops:	its kind's handler
 * @dev:	the device that serves it (outlives the ring)
 * @index:	its number within the device, for messages
 * @priv:	the device's data, for @ops->serve
 */
void vbus_ring_init(struct vbus_ring *ring, const struct vbus_ring_ops *ops,
		    struct vbus_device *dev, unsigned int index, void *priv)
{
	ring->ops = ops;
	ring->dev = dev;
	ring->index = index;
	ring->priv = priv;
	kthread_init_work(&ring->work, vbus_ring_work);
	INIT_LIST_HEAD(&ring->node);
	atomic_long_set(&ring->doorbells, 0);
	atomic_long_set(&ring->direct_runs, 0);
	atomic_long_set(&ring->polls, 0);
	atomic_long_set(&ring->budget_stops, 0);
}
EXPORT_SYMBOL_GPL(vbus_ring_init);

/**
 * vbus_ring_validate() - check that a region holds a ring
 * @shm:	the region the client registered
 * @ioq:	receives the device's view of the ring, for vbus_ring_attach()
 *
 * The device may look at @ioq (its size) before it attaches the ring.
 *
 * Return: 0, or -EINVAL when the region does not hold a valid ring.
 */
int vbus_ring_validate(struct vbus_memmap *shm, struct vbus_ioq_device *ioq)
{
	return vbus_ioq_dev_attach(ioq, shm->ptr, shm->len);
}
EXPORT_SYMBOL_GPL(vbus_ring_validate);

/**
 * vbus_ring_attach() - start serving a ring
 * @ring:	the ring, stopped (its work item idle)
 * @ioq:	what vbus_ring_validate() returned for @shm
 * @conn:	the connection that registered it; its thread serves the ring
 * @shm:	its region; only this region moves the ring
 *		(the core follows it there when it moves)
 * @signal:	the region's signal: its doorbells kick the ring from now
 *
 * From the device's shm(), as its last step: the ring belongs to @conn
 * from now on, and the core stops it when @conn closes.  The device sets
 * the state its handler needs before this call.  The client's doorbells
 * are enabled and what it posted already is served.
 */
void vbus_ring_attach(struct vbus_ring *ring, const struct vbus_ioq_device *ioq,
		      struct vbus_connection *conn, struct vbus_memmap *shm,
		      struct vbus_signal *signal)
{
	/* The client's memory is the kernel's own: see Polling above. */
	bool atomic = conn->ctx->ops->atomic;

	ring->ioq = *ioq;
	ring->published = ioq->used;
	ring->notify = false;
	ring->poll_ns = 0;
	ring->expected = false;
	ring->poll_until = 0;
	ring->poll_end = 0;
	ring->ctx = conn->ctx;
	ring->shm = shm;
	ring->signal = signal;
	ring->worker = conn->worker;
	/* Read by the runs of the connection's other rings, too. */
	WRITE_ONCE(ring->direct, (ring->ops->flags & VBUS_RING_F_ATOMIC) &&
		   atomic);
	WRITE_ONCE(ring->polled, (ring->ops->flags & VBUS_RING_F_POLL) &&
		   !atomic);
	ring->run_state = 0;
	/*
	 * The run is idle; a work may only be queued on the thread it was
	 * first queued on, and this connection's may be another.
	 */
	kthread_init_work(&ring->work, vbus_ring_work);
	spin_lock(&conn->rings_lock);
	list_add_tail(&ring->node, &conn->rings);
	/*
	 * A close that marked the connection dead detaches its rings
	 * under this lock: it either sees this ring or we see @dead.
	 */
	if (!READ_ONCE(conn->dead)) {
		/* The fields above are set before a run can see the flag. */
		smp_store_release(&ring->attached, true);
	}
	spin_unlock(&conn->rings_lock);

	signal->priv = ring;
	/* A doorbell that finds the handler finds @priv set. */
	smp_store_release(&signal->handler, vbus_ring_doorbell);
	/* Listen for doorbells, and serve what was posted already. */
	vbus_shm_signal_enable(&ring->ioq.head->dev_signal);
	vbus_ring_kick(ring);
}
EXPORT_SYMBOL_GPL(vbus_ring_attach);

/*
 * A region of @conn moved to @shm->ptr: follow it with the ring there, if
 * any.  On the connection's thread (the remap work), under the
 * connection's lock: no run is in progress, and the next one, queued
 * behind us, serves what the client posted meanwhile from the new view.
 * On return the old mapping is unused.
 */
void vbus_rings_moved(struct vbus_connection *conn, struct vbus_memmap *shm)
{
	struct vbus_ring *ring;

	lockdep_assert_held(&conn->lock);
	list_for_each_entry(ring, &conn->rings, node) {
		if (ring->shm != shm)
			continue;
		vbus_ioq_dev_move(&ring->ioq, shm->ptr);
		vbus_ring_kick(ring);
	}
}

/* Does a ring of @conn live in @shm? */
bool vbus_rings_in(struct vbus_connection *conn, struct vbus_memmap *shm)
{
	struct vbus_ring *ring;

	lockdep_assert_held(&conn->lock);
	list_for_each_entry(ring, &conn->rings, node)
		if (ring->shm == shm)
			return true;
	return false;
}

/*
 * @conn is closing (marked dead): none of its rings is served any more.
 * A run in progress stops before its next descriptor; one that starts
 * later does nothing, and vbus_ring_kick() no longer queues one: once a
 * grace period has passed, no kick can reach the connection's thread.
 * Any context; waits for nothing.
 */
void vbus_rings_detach(struct vbus_connection *conn)
{
	struct vbus_ring *ring;

	spin_lock(&conn->rings_lock);
	list_for_each_entry(ring, &conn->rings, node)
		WRITE_ONCE(ring->attached, false);
	spin_unlock(&conn->rings_lock);
}

/*
 * The teardown of @conn, a grace period after vbus_rings_detach() and
 * after the connection's thread ran everything queued on it until then
 * (conn.c): hand the rings back to the device, stopped (for a later
 * attach).  No run of them is in progress or can be queued (detached),
 * so nothing here waits, whatever the client's memory does.  Under the
 * connection's lock.
 */
void vbus_rings_stop(struct vbus_connection *conn)
{
	struct vbus_ring *ring, *tmp;
	LIST_HEAD(rings);

	lockdep_assert_held(&conn->lock);
	spin_lock(&conn->rings_lock);
	list_splice_init(&conn->rings, &rings);
	spin_unlock(&conn->rings_lock);
	list_for_each_entry_safe(ring, tmp, &rings, node) {
		list_del_init(&ring->node);
		kthread_cancel_work_sync(&ring->work);
		/* Forget the thread: it ends with the client. */
		kthread_init_work(&ring->work, vbus_ring_work);
		ring->worker = NULL;
		ring->shm = NULL;
		ring->signal = NULL;
	}
}

/**
 * vbus_ring_abandon() - stop serving a ring the client broke
 * @ring:	the ring, from its handler or its run
 * @err:	what went wrong
 *
 * The ring stays unused until the client registers it again on a new
 * connection.  The message is rate limited.
 */
void vbus_ring_abandon(struct vbus_ring *ring, int err)
{
	pr_notice_ratelimited("%s: client broke the protocol on its %s ring %u (%d); ring abandoned\n",
			      vbus_ring_name(ring), ring->ops->kind,
			      ring->index, err);
	WRITE_ONCE(ring->attached, false);
}
EXPORT_SYMBOL_GPL(vbus_ring_abandon);

/**
 * vbus_ring_expect() - an answer on this ring will likely come soon
 * @ring: a ring of the caller's connection
 *
 * From the handler of another ring of the same connection that has just
 * exchanged something the other side answers on @ring (packets to a
 * guest, which acknowledges or replies on its transmit ring; packets
 * from it, which the host answers on its receive ring).
 *
 * For a ring its thread polls (VBUS_RING_F_POLL, a client outside this
 * kernel): @ring's next run polls it as after a round that served
 * descriptors, so the answer needs no doorbell when it comes within the
 * ring's polling window.  The window adapts as for any poll: answers
 * that keep coming after it ends shrink it to nothing, and the run then
 * costs one look at the ring.  For a ring that may be served directly:
 * only marks it, for the class's @direct and vbus_ring_expected(), so
 * the answer is served in the context that sends it.  Otherwise (an
 * in-kernel client's ring not served directly) nothing.
 */
void vbus_ring_expect(struct vbus_ring *ring)
{
	if (vbus_ring_direct(ring)) {
		WRITE_ONCE(ring->expected, true);
		return;
	}
	/*
	 * Only a ring that may be polled now.  Read unattached, @polled
	 * may be a past connection's: the kick then does nothing.
	 */
	if (!READ_ONCE(ring->polled) || !READ_ONCE(ring_poll_us))
		return;
	WRITE_ONCE(ring->expected, true);
	vbus_ring_kick(ring);
}
EXPORT_SYMBOL_GPL(vbus_ring_expect);

/**
 * vbus_ring_kick() - have the ring served soon
 * @ring: the ring
 *
 * For the device's own events (a packet to deliver, a pause that ended).
 * Does nothing while the ring is not attached.  Any context.
 */
void vbus_ring_kick(struct vbus_ring *ring)
{
	rcu_read_lock();
	/* Pairs with vbus_ring_attach(): @worker is set when attached. */
	if (smp_load_acquire(&ring->attached))
		kthread_queue_work(ring->worker, &ring->work);
	rcu_read_unlock();
}
EXPORT_SYMBOL_GPL(vbus_ring_kick);

/**
 * vbus_ring_serve_now() - serve the ring here if it may be, else kick it
 * @ring: the ring
 *
 * For the device's own events, like vbus_ring_kick(), when what the run
 * will do is small and someone waits for it (a reply to deliver): a ring
 * that may be served directly (see vbus_ring.h) is served in the
 * caller's context, unless that is a hard interrupt or has interrupts
 * off, or another run holds the ring; every other ring is kicked.  The
 * caller holds no lock the handler takes.  Does nothing while the ring
 * is not attached.
 */
void vbus_ring_serve_now(struct vbus_ring *ring)
{
	vbus_ring_try_direct(ring, false);
}
EXPORT_SYMBOL_GPL(vbus_ring_serve_now);

/**
 * vbus_ring_pop() - take the next descriptor the client posted
 * @ring:	the ring, from its handler
 * @b:		the run's budget; a descriptor is charged to it
 * @buf:	receives a private copy of the descriptor
 *
 * In a thread's run, yields the CPU when another task needs it: call it
 * without spinlocks.
 *
 * Return: 0; -ESHUTDOWN when the ring was stopped; -EAGAIN when nothing
 * is posted; -EBUSY when the budget is spent and something is; -EPROTO
 * when the client's index is broken.  A handler may return any of these
 * as is.
 */
int vbus_ring_pop(struct vbus_ring *ring, struct vbus_ring_budget *b,
		  struct vbus_ioq_buf *buf)
{
	int ret;

	if (!vbus_ring_live(ring))
		return -ESHUTDOWN;
	/* A run that spent its budget and emptied the ring is done. */
	if (vbus_ring_spent(b))
		return vbus_ioq_dev_avail(&ring->ioq) ? -EBUSY : -EAGAIN;
	ret = vbus_ioq_dev_pop(&ring->ioq, buf);
	if (ret)
		return ret;
	b->descs--;
	if (!b->atomic)
		cond_resched();
	return 0;
}
EXPORT_SYMBOL_GPL(vbus_ring_pop);

/**
 * vbus_ring_peek() - look at a posted descriptor without taking it
 * @ring:	the ring, from its @direct (or its handler)
 * @n:		which: 0 for the one vbus_ring_pop() takes next, 1 for the
 *		one after it ...
 * @buf:	receives a copy of the descriptor, a hint: the client may
 *		still change it before vbus_ring_pop() reads it
 *
 * Return: 0, -EAGAIN when fewer than @n + 1 are posted, -EPROTO when the
 * client's index is broken.
 */
int vbus_ring_peek(struct vbus_ring *ring, u32 n, struct vbus_ioq_buf *buf)
{
	return vbus_ioq_dev_peek(&ring->ioq, n, buf);
}
EXPORT_SYMBOL_GPL(vbus_ring_peek);

/**
 * vbus_ring_publish() - make the completions so far visible to the client
 * @ring: the ring, from its handler or its run
 *
 * The run notifies the client at its end if it asked for it.
 */
void vbus_ring_publish(struct vbus_ring *ring)
{
	if (ring->published == ring->ioq.used)
		return;
	ring->published = ring->ioq.used;
	if (vbus_ioq_dev_publish(&ring->ioq))
		ring->notify = true;
}
EXPORT_SYMBOL_GPL(vbus_ring_publish);

/**
 * vbus_ring_complete() - complete the oldest descriptor popped
 * @ring:	the ring, from its handler
 * @len:	bytes used (see vbus_ioq_dev_complete())
 * @flags:	the class's flags for the client
 *
 * The client sees the completion once it is published: at the end of
 * the handler's round, or by vbus_ring_publish_batch() where the class's
 * protocol lets the client see what is completed so far.
 */
void vbus_ring_complete(struct vbus_ring *ring, u32 len, u32 flags)
{
	vbus_ioq_dev_complete(&ring->ioq, len, flags);
}
EXPORT_SYMBOL_GPL(vbus_ring_complete);

/**
 * vbus_ring_publish_batch() - publish when a batch of completions waits
 * @ring: the ring, from its handler
 *
 * Publishes once VBUS_RING_PUBLISH_BATCH completions wait, so a long
 * round hands buffers back as it goes instead of all at its end.
 */
void vbus_ring_publish_batch(struct vbus_ring *ring)
{
	if (ring->ioq.used - ring->published >= VBUS_RING_PUBLISH_BATCH)
		vbus_ring_publish(ring);
}
EXPORT_SYMBOL_GPL(vbus_ring_publish_batch);
