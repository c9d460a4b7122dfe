/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vbus core: private declarations shared by the core's files.
 *
 * Locking: vbus_lock (a mutex) protects every control-plane structure:
 * the lists of classes, containers and devices, placement, the enabled
 * and visible flags, the client lists and each device's connection
 * list.  A device's own enable and disable run under its state lock
 * (vbus_device.h) alone.  Lookups on the data path take neither: a
 * container's id table and a client's handle tables are xarrays read
 * under RCU.  Order: configfs' own locks, then a device's state lock,
 * then vbus_lock, then a connection's lock.  Nothing calls into
 * configfs with vbus_lock held.  An attach takes our subsystem's
 * su_mutex itself (client.c), so no configfs callback of this subsystem
 * may attach.
 *
 * vbus_lock is shared by every client and administrator, so nothing
 * waits while holding it: not for a device's enable, disable or
 * close(), a work item, a client's memory or an RCU grace period.
 * Closing a connection under it only marks it and queues its teardown
 * (conn.c).
 */
#ifndef _VBUS_CORE_H
#define _VBUS_CORE_H

#include <linux/configfs.h>
#include <linux/cred.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include <vbus_client.h>
#include <vbus_configfs.h>
#include <vbus_device.h>
#include <vbus/netlink.h>

extern struct mutex vbus_lock;
extern struct workqueue_struct *vbus_wq;
extern struct workqueue_struct *vbus_teardown_wq;
extern struct wait_queue_head vbus_teardown_wait;
extern struct configfs_subsystem vbus_subsys;
extern struct list_head vbus_containers;	/* under vbus_lock */
extern struct list_head vbus_devices;		/* under vbus_lock */

/**
 * struct vbus_container - a bus instance, an isolated namespace of ids
 * @group:	configfs directory containers/<name>; its refcount is the
 *		container's
 * @devices_group: the default group devices/ that holds the links
 * @devices:	id -> struct vbus_device, placed devices (RCU lookups)
 * @next_id:	next id to hand out; ids cycle through all of u32 before
 *		one is used again
 * @ndevices:	placed devices
 * @owner_uid:	besides CAP_NET_ADMIN, who may attach (INVALID_UID: none)
 * @owner_gid:	likewise by group
 * @clients:	attached clients (struct vbus_client.node)
 * @nclients:	entries in @clients
 * @node:	in vbus_containers
 * @name_node:	in the hash of container names
 * @dead:	removed (rmdir): nothing may be placed any more (under
 *		vbus_lock)
 * @put:	puts the first reference after the rmdir (vbus_configfs.h)
 *
 * Lifetime: the memory holds two configfs items, the container's and
 * that of its devices/ group.  configfs lets go of the group when the
 * container is removed, but a link being made in devices/ may still
 * hold the group (configfs_symlink() unlocks devices/ while it resolves
 * the target); so the container's release drops the group's first
 * reference, and the group's release frees the memory.
 */
struct vbus_container {
	struct config_group group;
	struct config_group devices_group;
	struct xarray devices;
	u32 next_id;
	unsigned int ndevices;
	kuid_t owner_uid;
	kgid_t owner_gid;
	struct list_head clients;
	unsigned int nclients;
	struct list_head node;
	struct hlist_node name_node;
	bool dead;
	struct vbus_cfs_put put;
};

static inline const char *vbus_container_name(struct vbus_container *c)
{
	return config_item_name(&c->group.cg_item);
}

static inline const char *vbus_device_name(struct vbus_device *dev)
{
	return config_item_name(&dev->group.cg_item);
}

/*
 * Per-client state.  Attached from vbus_client_attach() to
 * vbus_client_detach(); lives until its last reference: the attach's
 * and one per connection not yet freed (see client.c).
 */
struct vbus_client {
	struct kref kref;
	atomic_t nlive;		/* connections not yet freed */
	wait_queue_head_t wait;	/* woken when @nlive drops to 0 */
	struct vbus_container *container;
	const struct vbus_client_ops *ops;
	struct vbus_memctx *ctx;
	void *priv;
	u32 id;
	/* handle -> struct vbus_connection; reserved (NULL) while opening */
	struct xarray conns;
	struct xarray signals;	/* handle -> struct vbus_signal, RCU */
	unsigned int nconns;	/* in @conns, opening too; under vbus_lock */
	struct list_head node;	/* in container->clients, under vbus_lock */
	/*
	 * Threads that serve the rings of the client's connections: the
	 * first made at the attach when a process attaches, the others on
	 * demand, all in the attacher's cgroups (client.c); each lives
	 * until the client is freed, after every connection.  Written
	 * under @workers_lock.
	 */
	struct mutex workers_lock;
	struct kthread_worker *workers[VBUS_CLIENT_MAX_WORKERS];
	pid_t owner;		/* the attaching process, 0 for the kernel */
};

/* objects.c: registries, placement, enabling and the events they cause */
struct vbus_container *vbus_container_find(const char *name);
void vbus_container_add(struct vbus_container *c);
void vbus_container_del(struct vbus_container *c);
struct vbus_device *vbus_device_find(const char *name);
void vbus_device_add(struct vbus_device *dev);
int vbus_container_place(struct vbus_container *c, struct vbus_device *dev);
void vbus_container_unplace(struct vbus_container *c,
			    struct vbus_device *dev);
int vbus_device_set_enabled(struct vbus_device *dev, bool enable);
void vbus_device_destroy(struct vbus_device *dev);
void vbus_device_disable_unused(struct vbus_device *dev);
void vbus_device_stats_sum(struct vbus_device *dev,
			   struct vbus_device_stats *sum);

/* client.c */
void vbus_connection_put(struct vbus_connection *conn);

/*
 * A shared-memory region registered on a connection.  @map and @node
 * are under conn->lock; @stale's bits are set by vbus_memmap_stale()
 * and vbus_memmap_gone() from any context and read by the connection's
 * remap work, which clears VBUS_REGION_STALE.
 */
struct vbus_region {
	struct list_head node;		/* in conn->regions */
	struct vbus_memmap map;
	struct vbus_signal *signal;
	unsigned long stale;		/* VBUS_REGION_* */
};

#define VBUS_REGION_STALE	0	/* remap wanted */
#define VBUS_REGION_GONE	1	/* the memory is gone: close */

/* conn.c */
void vbus_connection_init_work(struct vbus_connection *conn);
void vbus_connection_close(struct vbus_connection *conn);

/* ring.c: a connection's rings (struct vbus_connection.rings) */
void vbus_rings_detach(struct vbus_connection *conn);
void vbus_rings_stop(struct vbus_connection *conn);
void vbus_rings_moved(struct vbus_connection *conn, struct vbus_memmap *shm);
bool vbus_rings_in(struct vbus_connection *conn, struct vbus_memmap *shm);

/* configfs.c */
int vbus_configfs_init(void);
void vbus_configfs_exit(void);
extern struct config_group vbus_devices_group;

/* netlink.c */
int vbus_netlink_init(void);
void vbus_netlink_exit(void);
void vbus_notify_container(u8 cmd, struct vbus_container *c);
void vbus_notify_device(u8 cmd, struct vbus_device *dev);
void vbus_notify_client(u8 cmd, struct vbus_client *client);

#endif /* _VBUS_CORE_H */
