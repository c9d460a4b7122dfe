/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The interface between the vbus core and device models.
 *
 * A device class (struct vbus_devclass) is registered by a module and
 * appears as /sys/kernel/config/vbus/devices/<class>/; mkdir there
 * creates a device through the class's create().  The core owns the
 * device's lifetime through its configfs item: the last reference
 * (configfs, an open connection) calls the device's release().
 *
 * A client that opens a device gets a connection (struct
 * vbus_connection) from the device's open().  Calls, shared-memory
 * registration and signals go through the connection's ops until the
 * core closes it: because the client closed it, the client went away,
 * or the device left its container.  After close() returns the device
 * must not touch the connection's shared memory or signals again.
 */
#ifndef _VBUS_DEVICE_H
#define _VBUS_DEVICE_H

#include <linux/completion.h>
#include <linux/configfs.h>
#include <linux/device/driver.h>
#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>

#include <vbus_configfs.h>
#include <vbus_memctx.h>

struct vbus_devclass;
struct vbus_device;
struct vbus_connection;
struct vbus_signal;
struct vbus_container;
struct vbus_client;

/**
 * struct vbus_devclass_ops - what a device class provides
 * @create:	allocate a device named @name (disabled, not placed) and
 *		initialise it with vbus_device_init(); ERR_PTR on failure
 */
struct vbus_devclass_ops {
	struct vbus_device *(*create)(struct vbus_devclass *dc,
				      const char *name);
};

/**
 * struct vbus_devclass - a factory of devices
 * @name:	the configfs directory name under devices/
 * @owner:	the module that implements the class
 * @ops:	the class's operations
 * @attrs:	the class's configfs attributes, NULL-terminated (may be
 *		NULL); their show/store receive the device's item
 *
 * The remaining fields belong to the core.
 */
struct vbus_devclass {
	const char *name;
	struct module *owner;
	const struct vbus_devclass_ops *ops;
	struct configfs_attribute **attrs;

	/* private: */
	struct config_group group;
	struct config_item_type group_type;
	struct config_item_type dev_type;
	struct configfs_attribute **all_attrs;
	struct list_head node;
};

/**
 * struct vbus_device_ops - what a device provides
 * @enable:	commit the configuration (may refuse it with -EINVAL);
 *		the device is disabled and invisible to clients
 * @disable:	undo @enable; no connection is open and none can be
 *		opened
 *
 * @enable and @disable are called with the device's @state_lock held
 * and never with the core lock: they may sleep for as long as they need
 * (unregistering a netdev waits for RCU grace periods) without making
 * any other device or tenant wait.
 * @open:	a client opens the device.  @version holds the highest
 *		protocol version the client speaks; the device lowers it to
 *		the one it will use, or fails with -EPROTONOSUPPORT.  The
 *		device returns a connection whose ops and priv it set.
 *		Called with @state_lock held and not the core lock, like
 *		@enable: the device stays enabled and placed meanwhile.
 * @release:	free the device (its last reference is gone)
 */
struct vbus_device_ops {
	int (*enable)(struct vbus_device *dev);
	void (*disable)(struct vbus_device *dev);
	int (*open)(struct vbus_device *dev, u32 *version,
		    struct vbus_connection *conn);
	void (*release)(struct vbus_device *dev);
};

/**
 * struct vbus_device_stats - per-CPU counters of a device
 * @opens:	successful opens
 * @calls:	DEVCALLs dispatched
 * @signals_in:	SHMSIGNALs (client to device) dispatched
 * @signals_out: notifications sent to clients
 */
struct vbus_device_stats {
	u64 opens;
	u64 calls;
	u64 signals_in;
	u64 signals_out;
};

/**
 * struct vbus_device - one device
 * @type:	interface type string that guest drivers match on
 * @ops:	the device's operations
 *
 * The remaining fields belong to the core and are protected by its
 * lock (vbus_lock) unless noted.
 * @group:	the configfs item; its refcount is the device's
 * @class:	the class that created it
 * @container:	where it is placed, or NULL
 * @id:		its id in @container, valid while placed
 * @enabled:	configuration committed
 * @visible:	placed and enabled: clients can see and open it
 * @conns:	open connections (struct vbus_connection.dev_node)
 * @nconns:	connections open or still closing: @conns plus those
 *		whose teardown has not finished
 * @destroyed:	its configfs directory was removed; the last
 *		connection to finish closing disables it
 * @stats:	counters, updated locklessly per CPU
 * @node:	in the core's list of all devices
 * @name_node:	in the core's hash of device names
 * @free_work:	frees the device an RCU grace period after its last
 *		reference, so lockless id lookups never see freed memory
 * @put:	puts the first reference after the rmdir (vbus_configfs.h)
 * @state_lock:	serialises @ops->enable, @ops->disable and @ops->open
 *		with each other, with changes of the configuration (the
 *		section of vbus_device_config_begin()) and with taking the
 *		device out of its container.  Taken before vbus_lock, never
 *		under it.  @enabled changes with both held, so either one
 *		is enough to read it; while it is held, a visible device
 *		stays visible and placed.
 */
struct vbus_device {
	const char *type;
	const struct vbus_device_ops *ops;

	struct config_group group;
	struct vbus_devclass *class;
	struct vbus_container *container;
	u32 id;
	bool enabled;
	bool visible;
	bool destroyed;
	struct list_head conns;
	unsigned int nconns;
	struct vbus_device_stats __percpu *stats;
	struct list_head node;
	struct hlist_node name_node;
	struct rcu_work free_work;
	struct vbus_cfs_put put;
	struct mutex state_lock;	/* see above */
};

/**
 * struct vbus_connection_ops - what an open device provides
 * @call:	a synchronous call: @func with @len bytes of arguments at
 *		client address @addr (reach them through conn->ctx).
 *		Returns a non-negative result or a negative errno.
 * @shm:	the client registered a shared-memory region: @id is the
 *		device-defined purpose, @shm->ptr/@shm->len the mapping and
 *		@signal the region's signal (set its handler to receive the
 *		client's doorbells).  Return 0 to accept it.
 * @shm_moved:	optional: the client's memory behind a region accepted by
 *		@shm moved (its VMM replaced it): @shm->ptr is the new
 *		mapping.  Stop using the old one before returning; it is
 *		unmapped then.  Sleepable; called on the connection's
 *		thread (the one that serves its rings), so no run of the
 *		connection's rings is in progress.  The rings the device attached
 *		(vbus_ring_attach()) follow their region without it; a
 *		region that holds no ring is remapped only for a device
 *		that has it, and otherwise keeps the memory it was given
 *		first.
 * @close:	optional: stop using everything the connection holds;
 *		sleepable.  Called from the core's teardown work item, on
 *		a workqueue shared by every client, with no lock shared
 *		with other connections held, once the connection's thread
 *		has finished every run of its rings: it must not wait for
 *		the client's memory (a VMM may never resolve a fault).
 *		Work of the device's own in the client's memory belongs on
 *		the connection's thread, as the rings' runs are.
 *		The connection's rings are stopped before it (their
 *		memory is unused, their handlers' state is the device's
 *		again), and were detached a grace period earlier (no kick
 *		from the device's own contexts reaches them).
 * @release:	free the connection's private state
 *
 * @call, @shm and @shm_moved of one connection never run concurrently
 * with each other or with @close; after @close they are not called
 * again.  None of them is called with the core lock (vbus_lock) held.
 */
struct vbus_connection_ops {
	long (*call)(struct vbus_connection *conn, u32 func, u64 addr,
		     u32 len, u32 flags);
	int (*shm)(struct vbus_connection *conn, u32 id,
		   struct vbus_memmap *shm, struct vbus_signal *signal);
	void (*shm_moved)(struct vbus_connection *conn,
			  struct vbus_memmap *shm);
	void (*close)(struct vbus_connection *conn);
	void (*release)(struct vbus_connection *conn);
};

/**
 * struct vbus_connection - a device opened by a client
 * @ops:	set by the device's open()
 * @priv:	the device's per-connection state
 * @dev:	the device (a reference is held)
 * @ctx:	the client's memory
 *
 * The rest belongs to the core.
 */
struct vbus_connection {
	const struct vbus_connection_ops *ops;
	void *priv;
	struct vbus_device *dev;
	struct vbus_memctx *ctx;

	/* private: */
	struct kref kref;
	struct mutex lock;	/* serialises call/shm/close */
	bool closed;		/* under @lock */
	/*
	 * Set once, under vbus_lock, when the connection stops being
	 * open (client close, detach, device hidden); read without a lock
	 * by the signal paths, under RCU.  The teardown runs a grace
	 * period later.
	 */
	bool dead;
	/*
	 * Set once, with a full barrier, before the first signal is
	 * published; a connection without signals needs no grace period
	 * before its teardown (nothing on the signal paths can see it).
	 */
	bool has_signals;
	struct vbus_client *client;	/* a reference is held */
	u32 handle;
	struct list_head dev_node;	/* in dev->conns, under vbus_lock */
	struct list_head regions;	/* struct vbus_region, under @lock */
	/*
	 * The rings the device attached (struct vbus_ring.node).  Added
	 * by vbus_ring_attach() under @lock and @rings_lock; detached all
	 * at once when the connection closes, under @rings_lock (the
	 * close cannot wait for @lock); stopped and removed by the
	 * teardown under @lock.  Walked under either lock.
	 */
	spinlock_t rings_lock;
	struct list_head rings;
	/*
	 * Remaps stale regions, on @worker (where no run of the rings is in
	 * progress).  Requeued after @remap_delay jiffies while a call
	 * holds @lock.  Holds no reference: the teardown cancels it after
	 * unmapping every region, before it drops its own.
	 */
	struct kthread_delayed_work remap_work;
	unsigned long remap_delay;	/* only the remap work uses it */
	/*
	 * The teardown (conn.c), in five work items, none of which waits
	 * for the client on a thread other clients share: @teardown after
	 * a grace period, @quiesce behind the runs of the rings on
	 * @worker, then @close_work, requeued after @close_delay jiffies
	 * while a call holds @lock, then @unmap_work on @worker (run
	 * directly when no region was ever registered), then
	 * @finish_work.  Together they hold the reference
	 * vbus_connection_close() took.
	 */
	struct rcu_work teardown;
	struct kthread_work quiesce;
	struct delayed_work close_work;
	unsigned long close_delay;	/* only @close_work uses it */
	struct kthread_work unmap_work;
	struct work_struct finish_work;
	struct completion shut;	/* the teardown is over */
	struct rcu_head rcu;	/* the free: signal paths may still look */
	/*
	 * Serves the connection's rings (the ring engine): one of the
	 * client's threads, set under @lock before the first shm() and
	 * fixed afterwards; it outlives the connection.  The teardown reads
	 * it without @lock once @dead is set: a DEVSHM already past its
	 * check may still set it then, but none of its rings is attached,
	 * and the teardown cancels the remap after taking @lock.
	 */
	struct kthread_worker *worker;
};

typedef void (*vbus_signal_handler_t)(struct vbus_signal *signal);

/**
 * struct vbus_signal - the doorbell pair of one shared-memory region
 * @handler:	called for each SHMSIGNAL from the client, in atomic
 *		context (for example from a KVM ioeventfd wake-up); set
 *		by the device in its shm() before returning, with
 *		smp_store_release() after @priv
 * @priv:	the device's data for @handler
 *
 * The rest belongs to the core.
 */
struct vbus_signal {
	vbus_signal_handler_t handler;
	void *priv;

	/* private: */
	struct vbus_connection *conn;
	u64 cookie;
	u32 handle;
	struct rcu_head rcu;
};

int vbus_devclass_register(struct vbus_devclass *dc);
void vbus_devclass_unregister(struct vbus_devclass *dc);

/**
 * module_vbus_devclass() - a module that only registers a device class
 * @__dc: the struct vbus_devclass
 *
 * Its init registers the class; its exit unregisters it (no device of
 * the class exists then: each pins the module).
 */
#define module_vbus_devclass(__dc) \
	module_driver(__dc, vbus_devclass_register, vbus_devclass_unregister)

void vbus_device_init(struct vbus_device *dev, struct vbus_devclass *dc,
		      const char *type, const struct vbus_device_ops *ops);
struct vbus_device *vbus_device_from_item(struct config_item *item);
int vbus_device_config_begin(struct vbus_device *dev);
void vbus_device_config_end(struct vbus_device *dev);
ssize_t vbus_device_store_u32(struct vbus_device *dev, const char *page,
			      size_t count, u32 *field, u32 min, u32 max);

void vbus_signal_notify(struct vbus_signal *signal);

#endif /* _VBUS_DEVICE_H */
