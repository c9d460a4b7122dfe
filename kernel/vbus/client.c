// SPDX-License-Identifier: GPL-2.0
/*
 * Clients and connections: the generic half of every connector.
 *
 * A client names its devices by u32 ids of its own container, its open
 * devices by connection handles and its shared-memory signals by signal
 * handles; handles are small integers from per-client tables, never
 * kernel addresses.  Every lookup can fail, and a failure is an error
 * for the client, nothing more.
 *
 * Lifetimes: a client lives from attach until its last reference: the
 * attach's, dropped by detach, and one per connection not yet freed.
 * A connection is referenced by its client's table, by calls in
 * progress, by its queued remap and teardown work items and by a
 * DEVCLOSE waiting for it; it holds a reference on its device's configfs
 * item, its class's module, its client and the client's memctx (which
 * holds the memctx's module).  It is freed an RCU grace period after the
 * last reference goes.  A signal is reachable from the client's table
 * until the connection's teardown and freed after a grace period, so
 * the SHMSIGNAL fast path needs no lock.
 *
 * Closing a connection and remapping its regions: conn.c.
 *
 * Memory: what a client makes the core allocate (the client, its
 * connections, regions and signals) is charged to the caller's memory
 * cgroup and fails cleanly when it is full (VBUS_GFP_CLIENT); the
 * connectors call in from their user's context.  The counts are bounded
 * by VBUS_CLIENT_MAX_CONNS and VBUS_CONN_MAX_REGIONS.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/completion.h>
#include <linux/cred.h>
#include <linux/cgroup.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <uapi/linux/sched/types.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include "core.h"

static atomic_t vbus_next_client_id = ATOMIC_INIT(0);

static void vbus_client_free(struct kref *kref)
{
	struct vbus_client *client =
		container_of(kref, struct vbus_client, kref);
	unsigned int i;

	/* Every connection is gone, and every ring it had stopped. */
	for (i = 0; i < VBUS_CLIENT_MAX_WORKERS; i++) {
		if (client->workers[i])
			kthread_destroy_worker(client->workers[i]);
	}
	xa_destroy(&client->conns);
	xa_destroy(&client->signals);
	vbus_memctx_put(client->ctx);
	kfree(client);
}

static void vbus_client_put(struct vbus_client *client)
{
	kref_put(&client->kref, vbus_client_free);
}

static void vbus_connection_free(struct kref *kref)
{
	struct vbus_connection *conn =
		container_of(kref, struct vbus_connection, kref);
	struct vbus_client *client = conn->client;
	struct vbus_device *dev = conn->dev;
	struct module *owner = dev->class->owner;

	if (conn->ops && conn->ops->release)
		conn->ops->release(conn);
	vbus_memctx_put(conn->ctx);
	config_item_put(&dev->group.cg_item);
	/* A signal path that found it under RCU may still read @dead. */
	kfree_rcu(conn, rcu);
	/* The class's code ran last above; it may go now. */
	module_put(owner);
	if (atomic_dec_and_test(&client->nlive))
		wake_up_all(&client->wait);
	vbus_client_put(client);
}

void vbus_connection_put(struct vbus_connection *conn)
{
	kref_put(&conn->kref, vbus_connection_free);
}

static bool vbus_may_attach(struct vbus_container *c)
{
	if (capable(CAP_NET_ADMIN))
		return true;
	if (uid_valid(c->owner_uid) && uid_eq(current_fsuid(), c->owner_uid))
		return true;
	return gid_valid(c->owner_gid) && in_group_p(c->owner_gid);
}

/*
 * A DEVADD to @client for each visible device of its container; with
 * vbus_lock held.
 */
static void vbus_client_announce(struct vbus_client *client)
{
	struct vbus_device *dev;
	unsigned long id;

	lockdep_assert_held(&vbus_lock);
	xa_for_each(&client->container->devices, id, dev)
		if (dev->visible)
			client->ops->devadd(client, dev->id, dev->type);
}

/*
 * The threads that serve the rings of a client's connections: worker
 * number (handle - 1) % VBUS_CLIENT_MAX_WORKERS serves a connection.
 * Worker 0 is made when a process attaches the client, in that
 * process's context, and joins its cgroups, as vhost's workers join
 * their owner's: the CPU time spent on the client's rings is the
 * attacher's.  The others are made with the first connection they
 * serve (its DEVSHM), from whatever context that comes (a VMM's vCPU
 * thread; for the local connector, a driver's probe that udev's
 * modprobe may run) and join worker 0's cgroups, not that context's.
 * A client that a kernel thread attached has its threads where kernel
 * threads are.  Their names tell whom they serve: vbus-<pid>-<n> with
 * the pid of the process that attached the client (a VMM, or the mkdir
 * of the local connector), vbus-k<client id>-<n> for a client a kernel
 * thread attached.
 *
 * The threads of a client in this kernel (an atomic memctx: the local
 * connector) are SCHED_BATCH.  Such a client rings its doorbell with a
 * call from the task that posts, as often as once per packet; a thread
 * that shares that task's CPU and preempted it at every doorbell would
 * serve one packet per context switch.  A SCHED_BATCH thread's wake-up
 * preempts nothing: it runs when the poster sleeps or at the tick, and
 * serves what has accumulated by then.  On an idle CPU it runs at once,
 * as any thread.  A VMM's threads keep the normal policy: their
 * doorbells are exits of a vCPU that runs elsewhere, and the thread is
 * woken to answer them.
 */
static struct kthread_worker *
vbus_client_worker_create(struct vbus_client *client, unsigned int i,
			  struct task_struct *cgroups_of)
{
	struct sched_attr batch = {
		.size = sizeof(batch),
		.sched_policy = SCHED_BATCH,
	};
	struct kthread_worker *w;
	int ret = 0;

	if (client->owner)
		w = kthread_create_worker(0, "vbus-%d-%u", client->owner, i);
	else
		w = kthread_create_worker(0, "vbus-k%u-%u", client->id, i);
	if (IS_ERR(w))
		return w;
	if (cgroups_of)
		ret = cgroup_attach_task_all(cgroups_of, w->task);
	if (!ret && client->ctx->ops->atomic)
		ret = sched_setattr_nocheck(w->task, &batch);
	if (ret) {
		kthread_destroy_worker(w);
		return ERR_PTR(ret);
	}
	return w;
}

/* A connection's thread; called from its first DEVSHM. */
static struct kthread_worker *vbus_client_worker(struct vbus_client *client,
						 u32 handle)
{
	unsigned int i = (handle - 1) % VBUS_CLIENT_MAX_WORKERS;
	struct kthread_worker *w;

	mutex_lock(&client->workers_lock);
	w = client->workers[i];
	if (!w) {
		/* Worker 0 exists from the attach when a process made it. */
		w = vbus_client_worker_create(client, i, client->workers[0] ?
					      client->workers[0]->task : NULL);
		if (!IS_ERR(w))
			client->workers[i] = w;
	}
	mutex_unlock(&client->workers_lock);
	return w;
}

/**
 * vbus_client_attach() - attach a client to a container
 * @name:	the container's name
 * @ops:	how the client receives events
 * @ctx:	the client's memory; the client takes a reference
 * @priv:	the connector's data, see vbus_client_priv()
 *
 * The caller must have CAP_NET_ADMIN or match the container's owner uid
 * or gid.  While attached, the container cannot be removed.  The client
 * receives DEVADD for every device already visible.  Called by a
 * process, it makes the client's first ring thread, in the process's
 * cgroups; the client's other threads join the same ones.
 *
 * Context: process context; takes the mutex of vbus' configfs subsystem,
 * so never from one of its callbacks.
 *
 * Return: the client, or ERR_PTR(-ENOENT) for no such container (or one
 * that an mkdir or rmdir is still making or removing),
 * ERR_PTR(-EACCES) when not permitted, ERR_PTR(-ENOMEM), or the error
 * of making the thread or moving it into the caller's cgroups (-EINTR
 * for a caller being killed).
 */
struct vbus_client *vbus_client_attach(const char *name,
				       const struct vbus_client_ops *ops,
				       struct vbus_memctx *ctx, void *priv)
{
	struct vbus_container *found;
	struct vbus_client *client;
	int ret;

	client = kzalloc(sizeof(*client), VBUS_GFP_CLIENT);
	if (!client)
		return ERR_PTR(-ENOMEM);

	/*
	 * configfs links a container to its parent (ci_group) after
	 * ->make_group() has put it in the names table, and unlinks it
	 * before ->drop_item() takes it out, both under the subsystem's
	 * mutex: under that mutex, a container found by name is linked,
	 * as configfs_depend_item_unlocked() needs.  Order: su_mutex, then
	 * vbus_lock, as in the configfs callbacks.
	 */
	mutex_lock(&vbus_subsys.su_mutex);
	mutex_lock(&vbus_lock);
	found = vbus_container_find(name);
	ret = !found ? -ENOENT : !vbus_may_attach(found) ? -EACCES : 0;
	mutex_unlock(&vbus_lock);
	/*
	 * Pins the container: rmdir fails with EBUSY while attached.  The
	 * locked configfs_depend_item() takes the inode lock of configfs'
	 * root to keep the target's subsystem registered; ours is, for as
	 * long as this module is loaded, and a caller of this function
	 * holds it loaded.  Without that lock the attach can be made from
	 * another subsystem's mkdir (the local connector's), which holds
	 * that subsystem's mutex: lockdep cannot tell configfs' directory
	 * inode locks apart and would see a cycle with any rmdir there.
	 * A container still being made or already being removed is not
	 * found by configfs: ENOENT.
	 */
	if (!ret)
		ret = configfs_depend_item_unlocked(&vbus_subsys,
						    &found->group.cg_item);
	if (!ret)
		config_item_get(&found->group.cg_item);
	mutex_unlock(&vbus_subsys.su_mutex);
	if (ret)
		goto err_free;

	mutex_init(&client->workers_lock);
	client->id = atomic_inc_return(&vbus_next_client_id);
	/* The threads' policy depends on it; the reference is taken below. */
	client->ctx = ctx;
	if (!(current->flags & PF_KTHREAD)) {
		struct kthread_worker *w;

		client->owner = task_tgid_nr(current);
		w = vbus_client_worker_create(client, 0, current);
		if (IS_ERR(w)) {
			ret = PTR_ERR(w);
			goto err_undepend;
		}
		client->workers[0] = w;
	}
	kref_init(&client->kref);
	atomic_set(&client->nlive, 0);
	init_waitqueue_head(&client->wait);
	client->container = found;
	client->ops = ops;
	client->priv = priv;
	xa_init_flags(&client->conns, XA_FLAGS_ALLOC1);
	xa_init_flags(&client->signals, XA_FLAGS_ALLOC1);
	vbus_memctx_get(ctx);

	mutex_lock(&vbus_lock);
	list_add_tail(&client->node, &found->clients);
	found->nclients++;
	vbus_notify_client(VBUS_CMD_CLIENT_NEW, client);
	vbus_client_announce(client);
	mutex_unlock(&vbus_lock);
	return client;

err_undepend:
	configfs_undepend_item(&found->group.cg_item);
	config_item_put(&found->group.cg_item);
err_free:
	kfree(client);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_GPL(vbus_client_attach);

/*
 * Close every connection of @client and take it out of the client's
 * table onto @closed (through &struct vbus_connection.dev_node, which
 * the close took off its device's list), with the table's reference;
 * with vbus_lock held.
 */
static void vbus_client_close_all(struct vbus_client *client,
				  struct list_head *closed)
{
	struct vbus_connection *conn;
	unsigned long handle;

	lockdep_assert_held(&vbus_lock);
	xa_for_each(&client->conns, handle, conn) {
		xa_erase(&client->conns, handle);
		vbus_connection_close(conn);
		list_add(&conn->dev_node, closed);
	}
	client->nconns = 0;
}

/**
 * vbus_client_detach() - detach a client, releasing all it holds
 * @client: an attached client
 *
 * Closes every connection; no event and no notification reaches the
 * client once this returns.  Waits for the devices to let go of the
 * client's memory as &struct vbus_client_ops.untrusted says; an
 * untrusted client's connections may finish closing afterwards, holding
 * its memctx.
 */
void vbus_client_detach(struct vbus_client *client)
{
	struct vbus_container *c = client->container;
	struct vbus_connection *conn, *tmp;
	LIST_HEAD(closed);

	mutex_lock(&vbus_lock);
	vbus_client_close_all(client, &closed);
	list_del(&client->node);
	c->nclients--;
	vbus_notify_client(VBUS_CMD_CLIENT_DEL, client);
	mutex_unlock(&vbus_lock);

	list_for_each_entry_safe(conn, tmp, &closed, dev_node) {
		list_del_init(&conn->dev_node);
		vbus_connection_put(conn);
	}
	configfs_undepend_item(&c->group.cg_item);
	config_item_put(&c->group.cg_item);

	/*
	 * Notifications that saw a connection open are over: those of the
	 * connections closed here, and those of connections a DEVCLOSE
	 * closed without waiting for them (an untrusted client's gives up
	 * after a while, or at once when killed) and not yet freed.
	 */
	if (atomic_read(&client->nlive))
		synchronize_rcu();
	if (client->ops->untrusted)
		wait_event_killable_timeout(client->wait,
					    !atomic_read(&client->nlive),
					    msecs_to_jiffies(VBUS_CLOSE_WAIT_MS));
	else
		wait_event(client->wait, !atomic_read(&client->nlive));
	vbus_client_put(client);
}
EXPORT_SYMBOL_GPL(vbus_client_detach);

/**
 * vbus_client_reset() - start a client over, as a new guest kernel needs
 * @client:	an attached client
 * @announce:	announce the devices again
 *
 * Closes every connection of @client, drops the events not yet delivered
 * (&struct vbus_client_ops.flush) and, with @announce, announces every
 * device visible in the container again (&struct vbus_client_ops.devadd),
 * all under the core lock, so that no change of the container falls
 * between the flush and the announcements.  The client stays attached.
 * This is what a guest that starts over needs (a kernel started by kexec, a
 * driver bound again): the devices stop using the memory the previous
 * one gave them, and the new one learns which devices there are.
 *
 * Waits for the devices to let go as vbus_client_devclose() does, with
 * one deadline for all the connections of an untrusted client.
 * Context: process; not concurrently with another call of @client's
 * (the connector serializes them) or with its detach.
 */
void vbus_client_reset(struct vbus_client *client, bool announce)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(VBUS_CLOSE_WAIT_MS);
	struct vbus_connection *conn, *tmp;
	LIST_HEAD(closed);

	mutex_lock(&vbus_lock);
	vbus_client_close_all(client, &closed);
	if (client->ops->flush)
		client->ops->flush(client);
	if (announce)
		vbus_client_announce(client);
	mutex_unlock(&vbus_lock);

	list_for_each_entry_safe(conn, tmp, &closed, dev_node) {
		long left = (long)(deadline - jiffies);

		list_del_init(&conn->dev_node);
		if (!client->ops->untrusted)
			wait_for_completion(&conn->shut);
		else if (left > 0)
			wait_for_completion_killable_timeout(&conn->shut, left);
		vbus_connection_put(conn);
	}
}
EXPORT_SYMBOL_GPL(vbus_client_reset);

/**
 * vbus_client_priv() - the connector data given to vbus_client_attach()
 * @client: an attached client
 *
 * Return: the data.
 */
void *vbus_client_priv(struct vbus_client *client)
{
	return client->priv;
}
EXPORT_SYMBOL_GPL(vbus_client_priv);

/**
 * vbus_client_id() - the client's id, as netlink events report it
 * @client: an attached client
 *
 * Return: the id.
 */
u32 vbus_client_id(struct vbus_client *client)
{
	return client->id;
}
EXPORT_SYMBOL_GPL(vbus_client_id);

/**
 * vbus_client_devopen() - DEVOPEN: open a device of the container
 * @client:	the client
 * @devid:	the device's id in the client's container
 * @version:	in: the highest protocol version the client speaks;
 *		out: the version the device will use
 * @handle:	out: the connection handle for the other calls
 *
 * The device's open() runs with the device's state lock held and the
 * core lock dropped: a slow open (a charged allocation that reclaims)
 * delays that device's administration, no other tenant's.
 * Context: process; not concurrently with vbus_client_detach() of
 * @client.
 *
 * Return: 0, -ENODEV for an id that names no visible device,
 * -EPROTONOSUPPORT when no common version exists, -ENOSPC when the
 * client holds too many connections, -EINTR when the caller is killed
 * while the device's enable or disable runs, or the device's error.
 */
int vbus_client_devopen(struct vbus_client *client, u32 devid, u32 *version,
			u32 *handle)
{
	struct vbus_connection *conn;
	struct vbus_device *dev;
	struct module *owner;
	int ret;

	conn = kzalloc(sizeof(*conn), VBUS_GFP_CLIENT);
	if (!conn)
		return -ENOMEM;
	kref_init(&conn->kref);
	mutex_init(&conn->lock);
	INIT_LIST_HEAD(&conn->regions);
	spin_lock_init(&conn->rings_lock);
	INIT_LIST_HEAD(&conn->rings);
	INIT_LIST_HEAD(&conn->dev_node);
	vbus_connection_init_work(conn);
	init_completion(&conn->shut);
	conn->client = client;
	conn->ctx = client->ctx;

	/*
	 * The id table is read locklessly; devices are freed after RCU.
	 * The class is pinned before the device: from here on the device
	 * may be unplaced and removed, and the put below may then be its
	 * last, which runs the class's release.  A class whose module is
	 * going refuses (its exit waits for the devices freed meanwhile).
	 * A connection keeps both references for its life.
	 */
	rcu_read_lock();
	dev = xa_load(&client->container->devices, devid);
	if (dev && !try_module_get(dev->class->owner))
		dev = NULL;
	if (dev && !config_item_get_unless_zero(&dev->group.cg_item)) {
		module_put(dev->class->owner);
		dev = NULL;
	}
	rcu_read_unlock();
	if (!dev) {
		kfree(conn);
		return -ENODEV;
	}
	owner = dev->class->owner;

	/*
	 * The device's open() may sleep: its allocations are charged to
	 * the client and reclaim at the client's memory cgroup's limit.
	 * It runs under the device's state lock, which keeps the device
	 * enabled and placed (enable, disable and unplacing take it), and
	 * not under vbus_lock, which every tenant needs.
	 */
	if (mutex_lock_killable(&dev->state_lock)) {
		ret = -EINTR;
		goto err_put;
	}
	mutex_lock(&vbus_lock);
	/* Unplaced and placed again while we waited: another id now. */
	if (!dev->visible || dev->container != client->container ||
	    dev->id != devid) {
		ret = -ENODEV;
		goto err_unlock;
	}
	if (client->nconns >= VBUS_CLIENT_MAX_CONNS) {
		ret = -ENOSPC;
		goto err_unlock;
	}
	client->nconns++;	/* a place for it, given back on failure */
	mutex_unlock(&vbus_lock);

	/* Reserved (lookups and DEVCLOSE see nothing) until committed. */
	ret = xa_alloc(&client->conns, handle, NULL, xa_limit_32b,
		       VBUS_GFP_CLIENT);
	if (ret)
		goto err_nconns;
	conn->dev = dev;
	ret = dev->ops->open(dev, version, conn);
	if (ret)
		goto err_handle;
	if (WARN_ON_ONCE(!conn->ops)) {
		ret = -EINVAL;
		goto err_handle;
	}

	mutex_lock(&vbus_lock);
	/* Fills the reserved slot: no allocation, no failure. */
	xa_store(&client->conns, *handle, conn, GFP_KERNEL);
	conn->handle = *handle;
	vbus_memctx_get(conn->ctx);
	kref_get(&client->kref);
	atomic_inc(&client->nlive);
	list_add_tail(&conn->dev_node, &dev->conns);
	dev->nconns++;
	this_cpu_inc(dev->stats->opens);
	mutex_unlock(&vbus_lock);
	mutex_unlock(&dev->state_lock);
	return 0;

err_handle:
	xa_release(&client->conns, *handle);
err_nconns:
	mutex_lock(&vbus_lock);
	client->nconns--;
err_unlock:
	mutex_unlock(&vbus_lock);
	mutex_unlock(&dev->state_lock);
err_put:
	config_item_put(&dev->group.cg_item);
	/* After the put: its release may run the class's code. */
	module_put(owner);
	kfree(conn);
	return ret;
}
EXPORT_SYMBOL_GPL(vbus_client_devopen);

/**
 * vbus_client_devclose() - DEVCLOSE: close a connection handle
 * @client:	the client
 * @handle:	from vbus_client_devopen()
 *
 * Also releases handles whose device already went away.  Waits for the
 * device to let go as &struct vbus_client_ops.untrusted says.
 *
 * Return: 0, or -EBADF for an unknown handle.
 */
int vbus_client_devclose(struct vbus_client *client, u32 handle)
{
	struct vbus_connection *conn;

	mutex_lock(&vbus_lock);
	/* A handle still being opened reads NULL: it stays reserved. */
	conn = xa_load(&client->conns, handle);
	if (conn) {
		xa_erase(&client->conns, handle);
		vbus_connection_close(conn);
		client->nconns--;
	}
	mutex_unlock(&vbus_lock);
	if (!conn)
		return -EBADF;
	/* The table's reference, ours now, keeps @conn while we wait. */
	if (client->ops->untrusted)
		wait_for_completion_killable_timeout(&conn->shut,
						     msecs_to_jiffies(VBUS_CLOSE_WAIT_MS));
	else
		wait_for_completion(&conn->shut);
	vbus_connection_put(conn);
	return 0;
}
EXPORT_SYMBOL_GPL(vbus_client_devclose);

/* Look up a handle and lock its open connection, or fail. */
static struct vbus_connection *vbus_conn_get_locked(struct vbus_client *client,
						    u32 handle, int *err)
{
	struct vbus_connection *conn;

	rcu_read_lock();
	conn = xa_load(&client->conns, handle);
	if (conn && !kref_get_unless_zero(&conn->kref))
		conn = NULL;
	rcu_read_unlock();
	if (!conn) {
		*err = -EBADF;
		return NULL;
	}
	/*
	 * Another call of the client's may hold it, asleep in a fault on
	 * the client's memory: a wait the client can end by dying.
	 */
	if (mutex_lock_killable(&conn->lock)) {
		vbus_connection_put(conn);
		*err = -EINTR;
		return NULL;
	}
	if (conn->closed || READ_ONCE(conn->dead)) {
		mutex_unlock(&conn->lock);
		vbus_connection_put(conn);
		*err = -ENODEV;	/* the device went away */
		return NULL;
	}
	return conn;
}

static void vbus_conn_put_locked(struct vbus_connection *conn)
{
	mutex_unlock(&conn->lock);
	vbus_connection_put(conn);
}

/**
 * vbus_client_devcall() - DEVCALL: a synchronous call into a device
 * @client:	the client
 * @handle:	an open connection
 * @func:	the device-defined function
 * @addr:	client address of the arguments
 * @len:	their length
 * @flags:	device-defined
 *
 * Return: the device's result, or -EBADF for an unknown handle, -ENODEV
 * when the device went away, -EINVAL for a function the device lacks.
 */
long vbus_client_devcall(struct vbus_client *client, u32 handle, u32 func,
			 u64 addr, u32 len, u32 flags)
{
	struct vbus_connection *conn;
	long ret;
	int err;

	conn = vbus_conn_get_locked(client, handle, &err);
	if (!conn)
		return err;
	this_cpu_inc(conn->dev->stats->calls);
	ret = conn->ops->call ? conn->ops->call(conn, func, addr, len, flags)
			      : -EINVAL;
	vbus_conn_put_locked(conn);
	return ret;
}
EXPORT_SYMBOL_GPL(vbus_client_devcall);

/**
 * vbus_client_devshm() - DEVSHM: register a shared-memory region
 * @client:	the client
 * @handle:	an open connection
 * @id:		the device-defined purpose of the region
 * @addr:	client address of the region
 * @len:	its length
 * @cookie:	opaque value the client gets back with each notification
 * @signal:	out: the handle for SHMSIGNAL on this region
 *
 * Return: 0, -EBADF, -ENODEV, -EINVAL for an empty region or one the
 * device refuses, -EFAULT when the memory is not the client's, -ENOSPC
 * when the connection holds too many regions.
 */
int vbus_client_devshm(struct vbus_client *client, u32 handle, u32 id,
		       u64 addr, u64 len, u64 cookie, u32 *signal)
{
	struct vbus_connection *conn;
	struct vbus_region *r;
	size_t nregions = 0;
	int ret;

	if (!len || len > SIZE_MAX || !client->ctx->ops->map)
		return -EINVAL;
	conn = vbus_conn_get_locked(client, handle, &ret);
	if (!conn)
		return ret;
	list_for_each_entry(r, &conn->regions, node)
		nregions++;
	if (nregions >= VBUS_CONN_MAX_REGIONS) {
		ret = -ENOSPC;
		goto out;
	}
	if (!conn->worker) {
		struct kthread_worker *w = vbus_client_worker(client, handle);

		if (IS_ERR(w)) {
			ret = PTR_ERR(w);
			goto out;
		}
		WRITE_ONCE(conn->worker, w);
	}

	ret = -ENOMEM;
	r = kzalloc(sizeof(*r), VBUS_GFP_CLIENT);
	if (!r)
		goto out;
	r->signal = kzalloc(sizeof(*r->signal), VBUS_GFP_CLIENT);
	if (!r->signal)
		goto err_region;
	r->signal->conn = conn;
	r->signal->cookie = cookie;

	ret = conn->ctx->ops->map(conn->ctx, addr, len, &r->map);
	if (ret)
		goto err_signal;
	WRITE_ONCE(conn->has_signals, true);
	/*
	 * Before the signal is published; pairs with the barrier in
	 * vbus_connection_close(), which then sees the flag or has its
	 * @dead seen by whoever finds the signal.
	 */
	smp_mb();
	/* Published before the device accepts it: dispatch ignores it
	 * until the device has set a handler.
	 */
	ret = xa_alloc(&client->signals, &r->signal->handle, r->signal,
		       xa_limit_32b, VBUS_GFP_CLIENT);
	if (ret)
		goto err_unmap;
	ret = conn->ops->shm ? conn->ops->shm(conn, id, &r->map, r->signal)
			     : -EINVAL;
	if (ret)
		goto err_erase;
	list_add_tail(&r->node, &conn->regions);
	*signal = r->signal->handle;
	goto out;

err_erase:
	xa_erase(&client->signals, r->signal->handle);
	synchronize_rcu();
err_unmap:
	if (conn->ctx->ops->unmap)
		conn->ctx->ops->unmap(conn->ctx, &r->map);
err_signal:
	kfree(r->signal);
err_region:
	kfree(r);
out:
	vbus_conn_put_locked(conn);
	return ret;
}
EXPORT_SYMBOL_GPL(vbus_client_devshm);

/**
 * vbus_client_shmsignal() - SHMSIGNAL: a client's doorbell
 * @client:	the client
 * @signal:	a handle from vbus_client_devshm()
 *
 * Runs the device's handler in the caller's context, which may be
 * atomic (a KVM ioeventfd wake-up with interrupts off).
 *
 * Return: 0, or -EBADF for an unknown or closed signal.
 */
int vbus_client_shmsignal(struct vbus_client *client, u32 signal)
{
	vbus_signal_handler_t handler;
	struct vbus_signal *sig;
	int ret = -EBADF;

	rcu_read_lock();
	sig = xa_load(&client->signals, signal);
	if (sig) {
		/* Pairs with the device's release: its @priv is set. */
		handler = smp_load_acquire(&sig->handler);
		/* Once dead, the teardown waits for us to be gone. */
		if (handler && !READ_ONCE(sig->conn->dead)) {
			this_cpu_inc(sig->conn->dev->stats->signals_in);
			handler(sig);
		}
		ret = 0;
	}
	rcu_read_unlock();
	return ret;
}
EXPORT_SYMBOL_GPL(vbus_client_shmsignal);

/**
 * vbus_signal_notify() - a device notifies the client of a region
 * @signal: the signal given to the device's shm()
 *
 * Any context.  Must not be called after the connection's close();
 * does nothing once the connection stopped being open.
 */
void vbus_signal_notify(struct vbus_signal *signal)
{
	struct vbus_connection *conn = signal->conn;

	/* A detach waits a grace period after marking its connections. */
	rcu_read_lock();
	if (!READ_ONCE(conn->dead)) {
		this_cpu_inc(conn->dev->stats->signals_out);
		conn->client->ops->signal(conn->client, signal->cookie);
	}
	rcu_read_unlock();
}
EXPORT_SYMBOL_GPL(vbus_signal_notify);
