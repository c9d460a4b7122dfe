// SPDX-License-Identifier: GPL-2.0
/*
 * A connection's life in the core besides its calls: its close and the
 * remap of its regions when the client's memory changes under them.
 *
 * Closing, in two steps, so that no lock shared between clients is ever
 * held while waiting for a device, a work item, the client's memory or
 * an RCU grace period:
 * 1. vbus_connection_close(), under vbus_lock, waits for nothing: it
 *    marks the connection dead (calls fail with -ENODEV, doorbells and
 *    notifications stop reaching anyone), detaches its rings (no run
 *    starts, no kick queues one), takes it off its device's list and
 *    queues its teardown with queue_rcu_work() (with queue_work() when
 *    it never had a signal: nothing on the signal paths saw it, and it
 *    has no ring).
 * 2. The teardown, a grace period later, first goes through the
 *    connection's thread (behind every run of its rings, which may be
 *    stuck in a VMM's memory: only that client's thread waits), then,
 *    on vbus_teardown_wq, takes the connection's own lock (trying again
 *    later while a call holds it), stops the rings and calls the
 *    device's close(); back on the connection's thread it unmaps the
 *    regions (which may wait for the client's address space), and only
 *    then, on vbus_teardown_wq and under vbus_lock for a moment, counts
 *    the device's connection as gone.
 *    No worker of the workqueues every client shares ever waits for a
 *    client, so no number of stuck connections fills them.
 *    Connections closed together share one grace period: their
 *    call_rcu()s are batched.
 * Who waits for step 2 is the client's choice: an in-kernel client,
 * whose memory is its own, until it is over; an untrusted one (a VMM)
 * for a while at most (killably): its memctx keeps the memory valid
 * until the teardown ends.  An exiting VMM must not wait for longer: its
 * userfaultfd may be closed after its /dev/vbus-kvm.
 * A device removed from its container waits a while at most, outside
 * vbus_lock.
 *
 * Locks: vbus_lock (core.h), then a connection's lock; the teardown
 * takes them one after the other, never nested.  A connection's lock is
 * held by calls and region registration (which may copy from and fault
 * on the client's memory: only that client waits for it), by the
 * teardown and by the remap of a region whose memory changed, which
 * runs on the connection's thread.  The core's work items only try to
 * take it, and try again later.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/minmax.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "core.h"

/* Connections' teardowns; none of them waits for a client. */
struct workqueue_struct *vbus_teardown_wq;
/* Woken whenever a connection's teardown ends (devices' nconns drop). */
DECLARE_WAIT_QUEUE_HEAD(vbus_teardown_wait);

/*
 * Back-off of a core work item that found the connection's mutex taken:
 * a call in progress holds it, and may sleep in a fault on the client's
 * memory for as long as the client likes (a userfaultfd range it never
 * serves).  The work item does not wait for it on a shared worker: it
 * tries again later, first after a jiffy, then twice as late each time,
 * at most once a second.
 */
static unsigned long vbus_conn_backoff(unsigned long *delay)
{
	*delay = clamp(*delay * 2, 1UL, (unsigned long)HZ);
	return *delay;
}

/*
 * The end of step 2, on vbus_teardown_wq: the device's connection is
 * gone.  Not on the connection's thread: the last reference may go
 * here, and with it the client, which destroys its threads.
 */
static void vbus_connection_finish(struct work_struct *work)
{
	struct vbus_connection *conn =
		container_of(work, struct vbus_connection, finish_work);
	struct vbus_device *dev = conn->dev;
	bool destroyed;

	mutex_lock(&vbus_lock);
	dev->nconns--;
	destroyed = dev->destroyed;
	mutex_unlock(&vbus_lock);
	/*
	 * The device's directory went while we closed: the last one out
	 * disables it (nothing else will).  Only then is its state lock
	 * taken: a live device's may be held by a client's open(), and
	 * this work is shared by every client.  A destroyed device is
	 * unplaced, which waited for any open of it.
	 */
	if (destroyed)
		vbus_device_disable_unused(dev);
	complete_all(&conn->shut);
	wake_up_all(&vbus_teardown_wait);
	vbus_connection_put(conn);	/* taken by vbus_connection_close() */
}

/*
 * Step 2, on the connection's thread once the device has closed: unmap
 * and unpin the regions (a connection that never registered one has no
 * thread, nothing to unmap and no remap: the teardown calls this
 * directly).  Here and not on vbus_teardown_wq because the
 * unmap may wait for the client: a memctx that follows the client's
 * memory (KVM's) removes an MMU notifier, which waits for every
 * invalidation of the client's address space in progress, and a client
 * whose threads keep invalidations going (overlapping madvise() calls)
 * would hold a shared worker for as long as it liked.  The list is no
 * longer changed by anyone else: the connection is closed (DEVSHM fails)
 * and a remap, which runs on this thread, finds it closed.
 */
static void vbus_connection_unmap(struct kthread_work *work)
{
	struct vbus_connection *conn =
		container_of(work, struct vbus_connection, unmap_work);
	struct vbus_region *r, *tmp;

	list_for_each_entry_safe(r, tmp, &conn->regions, node) {
		list_del(&r->node);
		if (conn->ctx->ops->unmap)
			conn->ctx->ops->unmap(conn->ctx, &r->map);
		kfree_rcu(r->signal, rcu);
		kfree(r);
	}
	/*
	 * Nothing is mapped: nothing can mark a region stale any more, so
	 * no remap is queued again.  One still queued is taken off; none
	 * runs on this thread.  Called directly (no region left), a remap
	 * may be running on the thread if a DEVSHM that failed had its map
	 * marked stale before it unmapped it: that remap finds no region,
	 * so the wait lasts one trylock.  The remap holds no reference of
	 * its own: ours keeps the connection until the finish, and no
	 * other path frees a connection with regions.
	 */
	kthread_cancel_delayed_work_sync(&conn->remap_work);
	queue_work(vbus_teardown_wq, &conn->finish_work);
}

/*
 * Step 2 of a close, a grace period after step 1 if the connection had
 * signals: every SHMSIGNAL and notification that could have seen the
 * connection open is over, and (vbus_connection_quiesced()) the
 * connection's thread has finished every run of its rings.  The device
 * stops using it, its signals leave the client's table, then its
 * regions are unmapped and unpinned on its thread.  On vbus_teardown_wq,
 * shared by all clients, so it never waits for the client: not for a
 * run stuck in the client's memory (it is queued only after them), not
 * for a call that holds the connection's lock (it tries again later),
 * not for the client's address space (the unmap is on the client's
 * thread).
 */
static void vbus_connection_teardown(struct work_struct *work)
{
	struct vbus_connection *conn =
		container_of(to_delayed_work(work), struct vbus_connection,
			     close_work);
	struct vbus_client *client = conn->client;
	struct vbus_region *r;
	bool mapped;

	if (!mutex_trylock(&conn->lock)) {
		queue_delayed_work(vbus_teardown_wq, &conn->close_work,
				   vbus_conn_backoff(&conn->close_delay));
		return;
	}
	conn->closed = true;
	list_for_each_entry(r, &conn->regions, node)
		xa_erase(&client->signals, r->signal->handle);
	vbus_rings_stop(conn);
	if (conn->ops->close)
		conn->ops->close(conn);
	mapped = !list_empty(&conn->regions);
	mutex_unlock(&conn->lock);

	/* A region was registered: @worker was set before it. */
	if (mapped)
		kthread_queue_work(conn->worker, &conn->unmap_work);
	else
		vbus_connection_unmap(&conn->unmap_work);
}

/*
 * On the connection's thread, behind every run of its rings queued
 * before the close's grace period ended (after which no kick queues
 * one): the rings are idle, step 2 may go.  A run stuck in the client's
 * memory holds up this item, on the client's own thread, and nothing
 * else.
 */
static void vbus_connection_quiesced(struct kthread_work *work)
{
	struct vbus_connection *conn =
		container_of(work, struct vbus_connection, quiesce);

	queue_delayed_work(vbus_teardown_wq, &conn->close_work, 0);
}

/* Step 2 starts: a grace period after step 1 if there were signals. */
static void vbus_connection_teardown_start(struct work_struct *work)
{
	struct vbus_connection *conn =
		container_of(to_rcu_work(work), struct vbus_connection,
			     teardown);
	/* Set before the first region, fixed afterwards. */
	struct kthread_worker *w = READ_ONCE(conn->worker);

	if (w)
		kthread_queue_work(w, &conn->quiesce);
	else
		queue_delayed_work(vbus_teardown_wq, &conn->close_work, 0);
}

/*
 * Step 1 of a close: the connection stops being open.  Called with
 * vbus_lock held; waits for nothing.  Idempotent.  The client's table
 * keeps its handle (and its reference) until the client closes it or
 * detaches.
 */
void vbus_connection_close(struct vbus_connection *conn)
{
	lockdep_assert_held(&vbus_lock);
	if (conn->dead)
		return;
	/* Signal paths test it under RCU; the teardown runs a grace
	 * period after this store.
	 */
	WRITE_ONCE(conn->dead, true);
	/* A grace period before the teardown stops them (ring.c). */
	vbus_rings_detach(conn);
	list_del_init(&conn->dev_node);
	kref_get(&conn->kref);
	/* Pairs with vbus_client_devshm(): either it publishes its signal
	 * after this store of @dead is visible, or we see @has_signals.
	 */
	smp_mb();
	if (READ_ONCE(conn->has_signals))
		queue_rcu_work(vbus_teardown_wq, &conn->teardown);
	else
		queue_work(vbus_teardown_wq, &conn->teardown.work);
}

/*
 * Move a region whose memory changed to its new mapping, if it moved.
 * The old mapping stays valid until the device stopped using it.
 */
static void vbus_region_remap(struct vbus_connection *conn,
			      struct vbus_region *r)
{
	struct vbus_memctx *ctx = conn->ctx;
	struct vbus_memmap old = r->map, moved;

	/* Only a region whose every user follows it may move. */
	if (!ctx->ops->remap ||
	    (!conn->ops->shm_moved && !vbus_rings_in(conn, &r->map)))
		return;
	if (ctx->ops->remap(ctx, &r->map, &moved) <= 0)
		return;		/* same memory, or none: keep what we have */
	r->map.ptr = moved.ptr;
	r->map.priv = moved.priv;
	vbus_rings_moved(conn, &r->map);
	if (conn->ops->shm_moved)
		conn->ops->shm_moved(conn, &r->map);
	ctx->ops->unmap(ctx, &old);
}

/*
 * On the connection's thread, so no run of its rings is in progress
 * while they move; a client whose memory holds up one of its runs holds
 * up its own remaps, and nobody else's.
 */
static void vbus_connection_remap_work(struct kthread_work *work)
{
	struct vbus_connection *conn =
		container_of(work, struct vbus_connection, remap_work.work);
	struct vbus_region *r;
	bool gone = false;

	if (!mutex_trylock(&conn->lock)) {
		/*
		 * A call or the teardown holds it: try again later.  The
		 * teardown's cancel takes a requeued item off, or refuses it.
		 */
		kthread_queue_delayed_work(conn->worker, &conn->remap_work,
					   vbus_conn_backoff(&conn->remap_delay));
		return;
	}
	conn->remap_delay = 0;
	if (!conn->closed) {
		list_for_each_entry(r, &conn->regions, node)
			gone |= test_bit(VBUS_REGION_GONE, &r->stale);
		/* Nothing to move in memory that is gone: the close unmaps. */
		if (!gone)
			list_for_each_entry(r, &conn->regions, node)
				if (test_and_clear_bit(VBUS_REGION_STALE,
						       &r->stale))
					vbus_region_remap(conn, r);
	}
	mutex_unlock(&conn->lock);

	/*
	 * The client's memory is gone for good: close the connection as
	 * DEVCLOSE would, which unmaps (and unpins) its regions.  Its
	 * handle stays in the client's table until the client closes it or
	 * detaches.  The connection lives until this item has returned:
	 * its unmap runs on this thread and cancels this item first.
	 */
	if (gone) {
		mutex_lock(&vbus_lock);
		vbus_connection_close(conn);
		mutex_unlock(&vbus_lock);
	}
}

/**
 * vbus_memmap_stale() - the memory behind a mapping may have moved
 * @map:	a mapping the core obtained from the memctx's map() or
 *		remap(), not yet unmapped
 *
 * For connectors: the client's memory map changed under @map (a VMM
 * replaced guest memory).  The core remaps the region from a work item
 * and moves its device over.  Any context; the memctx must not call it
 * once unmap() of @map has returned.
 */
void vbus_memmap_stale(struct vbus_memmap *map)
{
	struct vbus_region *r = container_of(map, struct vbus_region, map);
	struct vbus_connection *conn = r->signal->conn;

	set_bit(VBUS_REGION_STALE, &r->stale);
	/*
	 * A region is registered after the connection has its thread, and
	 * the teardown unmaps every region before it cancels the remap, so
	 * the connection outlives the remap without a reference of its
	 * own.  Already queued: that run sees the bit.
	 */
	kthread_queue_delayed_work(conn->worker, &conn->remap_work, 0);
}
EXPORT_SYMBOL_GPL(vbus_memmap_stale);

/**
 * vbus_memmap_gone() - the memory behind a mapping is gone for good
 * @map:	as for vbus_memmap_stale()
 *
 * For connectors: the client's memory went away while the client lives
 * on (a VMM's address space exited and its file is still open, kept
 * across an execve() or passed to another process).  The core closes
 * the connection that holds @map from a work item, which unmaps its
 * regions, so their pages are not held for memory nobody can use any
 * more.  Any context; the same rule as for vbus_memmap_stale() applies.
 */
void vbus_memmap_gone(struct vbus_memmap *map)
{
	struct vbus_region *r = container_of(map, struct vbus_region, map);

	set_bit(VBUS_REGION_GONE, &r->stale);
	vbus_memmap_stale(map);
}
EXPORT_SYMBOL_GPL(vbus_memmap_gone);

/* The work items of a new connection's close and remap. */
void vbus_connection_init_work(struct vbus_connection *conn)
{
	kthread_init_delayed_work(&conn->remap_work, vbus_connection_remap_work);
	INIT_RCU_WORK(&conn->teardown, vbus_connection_teardown_start);
	kthread_init_work(&conn->quiesce, vbus_connection_quiesced);
	INIT_DELAYED_WORK(&conn->close_work, vbus_connection_teardown);
	kthread_init_work(&conn->unmap_work, vbus_connection_unmap);
	INIT_WORK(&conn->finish_work, vbus_connection_finish);
}
