// SPDX-License-Identifier: GPL-2.0
/*
 * Devices and containers: placement, enabling and the events they cause.
 *
 * A device is visible to the clients of its container while it is both
 * placed there and enabled.  Becoming visible sends DEVADD to every
 * attached client; ceasing to be visible closes the device's open
 * connections and sends DEVDROP.  Everything here runs under vbus_lock,
 * and so waits for nothing: closing a connection only starts its
 * teardown (conn.c).  Removing a device from its container waits a
 * while for the teardowns after dropping the lock; a device whose
 * directory goes while they run is disabled by the last of them.
 */

#include <linux/hashtable.h>
#include <linux/jiffies.h>
#include <linux/percpu.h>
#include <linux/stringhash.h>
#include <linux/xarray.h>

#include "core.h"

/* The control-plane lock; see core.h for what it protects. */
DEFINE_MUTEX(vbus_lock);
LIST_HEAD(vbus_containers);
LIST_HEAD(vbus_devices);

/* Names to objects, so creation and attach stay O(1); under vbus_lock. */
static DEFINE_HASHTABLE(vbus_container_names, 10);
static DEFINE_HASHTABLE(vbus_device_names, 12);

static u32 vbus_name_hash(const char *name)
{
	return full_name_hash(NULL, name, strlen(name));
}

struct vbus_container *vbus_container_find(const char *name)
{
	struct vbus_container *c;

	lockdep_assert_held(&vbus_lock);
	hash_for_each_possible(vbus_container_names, c, name_node,
			       vbus_name_hash(name))
		if (!strcmp(vbus_container_name(c), name))
			return c;
	return NULL;
}

void vbus_container_add(struct vbus_container *c)
{
	lockdep_assert_held(&vbus_lock);
	list_add_tail(&c->node, &vbus_containers);
	hash_add(vbus_container_names, &c->name_node,
		 vbus_name_hash(vbus_container_name(c)));
	vbus_notify_container(VBUS_CMD_CONTAINER_NEW, c);
}

void vbus_container_del(struct vbus_container *c)
{
	lockdep_assert_held(&vbus_lock);
	list_del(&c->node);
	hash_del(&c->name_node);
	vbus_notify_container(VBUS_CMD_CONTAINER_DEL, c);
}

struct vbus_device *vbus_device_find(const char *name)
{
	struct vbus_device *dev;

	lockdep_assert_held(&vbus_lock);
	hash_for_each_possible(vbus_device_names, dev, name_node,
			       vbus_name_hash(name))
		if (!strcmp(vbus_device_name(dev), name))
			return dev;
	return NULL;
}

void vbus_device_add(struct vbus_device *dev)
{
	lockdep_assert_held(&vbus_lock);
	list_add_tail(&dev->node, &vbus_devices);
	hash_add(vbus_device_names, &dev->name_node,
		 vbus_name_hash(vbus_device_name(dev)));
	vbus_notify_device(VBUS_CMD_DEVICE_NEW, dev);
}

/**
 * vbus_device_init() - initialise a device in a class's create()
 * @dev:	the device, embedded in the class's own structure
 * @dc:		the class creating it
 * @type:	interface type the guest drivers match on (static string)
 * @ops:	the device's operations
 */
void vbus_device_init(struct vbus_device *dev, struct vbus_devclass *dc,
		      const char *type, const struct vbus_device_ops *ops)
{
	memset(dev, 0, sizeof(*dev));
	dev->class = dc;
	dev->type = type;
	dev->ops = ops;
	INIT_LIST_HEAD(&dev->conns);
	INIT_LIST_HEAD(&dev->node);
	mutex_init(&dev->state_lock);
}
EXPORT_SYMBOL_GPL(vbus_device_init);

/**
 * vbus_device_config_begin() - start changing a device's configuration
 * @dev: the device whose attribute is written
 *
 * Configuration may only change while the device is disabled.  On
 * success the caller holds the device's state lock (not the core lock)
 * until vbus_device_config_end(), so no enable reads the configuration
 * half written.
 *
 * Return: 0, or -EBUSY if the device is enabled.
 */
int vbus_device_config_begin(struct vbus_device *dev)
{
	mutex_lock(&dev->state_lock);
	if (dev->enabled) {
		mutex_unlock(&dev->state_lock);
		return -EBUSY;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(vbus_device_config_begin);

/**
 * vbus_device_config_end() - end a vbus_device_config_begin() section
 * @dev: the device
 */
void vbus_device_config_end(struct vbus_device *dev)
{
	mutex_unlock(&dev->state_lock);
}
EXPORT_SYMBOL_GPL(vbus_device_config_end);

/**
 * vbus_device_store_u32() - write a decimal u32 configuration attribute
 * @dev:	the device whose attribute is written
 * @page:	what was written (a trailing newline is allowed)
 * @count:	its length
 * @field:	the value in the device's configuration; readers that do
 *		not hold the device's state lock use READ_ONCE()
 * @min:	the smallest value accepted
 * @max:	the largest value accepted
 *
 * Return: @count; -EINVAL for anything but a decimal from @min to @max,
 * -EBUSY while the device is enabled.  A failed write changes nothing.
 */
ssize_t vbus_device_store_u32(struct vbus_device *dev, const char *page,
			      size_t count, u32 *field, u32 min, u32 max)
{
	u32 val;
	int ret;

	if (kstrtou32(page, 10, &val) || val < min || val > max)
		return -EINVAL;
	ret = vbus_device_config_begin(dev);
	if (ret)
		return ret;
	WRITE_ONCE(*field, val);
	vbus_device_config_end(dev);
	return count;
}
EXPORT_SYMBOL_GPL(vbus_device_store_u32);

static void vbus_device_show(struct vbus_device *dev)
{
	struct vbus_client *client;

	lockdep_assert_held(&vbus_lock);
	dev->visible = true;
	list_for_each_entry(client, &dev->container->clients, node)
		client->ops->devadd(client, dev->id, dev->type);
}

static void vbus_device_hide(struct vbus_device *dev)
{
	struct vbus_connection *conn, *tmp;
	struct vbus_client *client;

	lockdep_assert_held(&vbus_lock);
	dev->visible = false;
	list_for_each_entry_safe(conn, tmp, &dev->conns, dev_node)
		vbus_connection_close(conn);
	list_for_each_entry(client, &dev->container->clients, node)
		client->ops->devdrop(client, dev->id);
}

int vbus_container_place(struct vbus_container *c, struct vbus_device *dev)
{
	int ret;

	mutex_lock(&vbus_lock);
	if (c->dead || dev->destroyed) {
		ret = -ENOENT;	/* a link racing with an rmdir */
		goto out;
	}
	if (dev->container) {
		ret = -EBUSY;	/* a device lives in one container */
		goto out;
	}
	ret = xa_alloc_cyclic(&c->devices, &dev->id, dev, xa_limit_32b,
			      &c->next_id, GFP_KERNEL);
	if (ret < 0)
		goto out;
	ret = 0;
	dev->container = c;
	c->ndevices++;
	config_item_get(&dev->group.cg_item);
	vbus_notify_device(VBUS_CMD_DEVICE_PLACE, dev);
	if (dev->enabled)
		vbus_device_show(dev);
out:
	mutex_unlock(&vbus_lock);
	return ret;
}

void vbus_container_unplace(struct vbus_container *c, struct vbus_device *dev)
{
	bool closing;

	/* Behind an open in progress: it commits or fails first. */
	mutex_lock(&dev->state_lock);
	mutex_lock(&vbus_lock);
	if (dev->container != c) {
		mutex_unlock(&vbus_lock);
		mutex_unlock(&dev->state_lock);
		return;
	}
	if (dev->visible)
		vbus_device_hide(dev);
	closing = dev->nconns;
	xa_erase(&c->devices, dev->id);
	c->ndevices--;
	vbus_notify_device(VBUS_CMD_DEVICE_UNPLACE, dev);
	dev->container = NULL;
	mutex_unlock(&vbus_lock);
	/* Before the wait: the last close takes it (disable_unused). */
	mutex_unlock(&dev->state_lock);
	/*
	 * Usually the connections are closed within milliseconds, and the
	 * administrator's next step (disable, rmdir, unloading the class)
	 * finds the device free.  A client stuck in its own memory is not
	 * waited for past a bound: configfs holds the container's devices/
	 * directory locked meanwhile.
	 */
	if (closing)
		wait_event_interruptible_timeout(vbus_teardown_wait,
						 !READ_ONCE(dev->nconns),
						 msecs_to_jiffies(VBUS_CLOSE_WAIT_MS));
	/* Lockless lookups may still see it: the free waits for them. */
	config_item_put(&dev->group.cg_item);
}

/*
 * Enabling and disabling call the device's code with its state lock
 * held and the core lock dropped: a device may take long (a netdev's
 * unregistration waits for grace periods), and vbus_lock is every
 * tenant's.  The core lock only covers the flags: a device is visible
 * once its enable has returned, and invisible (so no client can open
 * it) before its disable starts.
 */
int vbus_device_set_enabled(struct vbus_device *dev, bool enable)
{
	int ret = 0;

	mutex_lock(&dev->state_lock);
	if (enable == dev->enabled)
		goto out;
	if (enable) {
		ret = dev->ops->enable ? dev->ops->enable(dev) : 0;
		if (ret)
			goto out;
		mutex_lock(&vbus_lock);
		dev->enabled = true;
		vbus_notify_device(VBUS_CMD_DEVICE_ENABLE, dev);
		if (dev->container)
			vbus_device_show(dev);
		mutex_unlock(&vbus_lock);
		goto out;
	}

	mutex_lock(&vbus_lock);
	if (dev->nconns) {
		mutex_unlock(&vbus_lock);
		ret = -EBUSY;	/* a client has it open */
		goto out;
	}
	if (dev->visible)
		vbus_device_hide(dev);
	dev->enabled = false;
	mutex_unlock(&vbus_lock);
	if (dev->ops->disable)
		dev->ops->disable(dev);
	mutex_lock(&vbus_lock);
	vbus_notify_device(VBUS_CMD_DEVICE_DISABLE, dev);
	mutex_unlock(&vbus_lock);
out:
	mutex_unlock(&dev->state_lock);
	return ret;
}

/**
 * vbus_device_disable_unused() - disable a device that lost its directory
 * @dev: the device, destroyed
 *
 * The first of the rmdir and the end of the last connection's close
 * that finds the device enabled and without connections disables it.
 * Context: process; takes the device's state lock and vbus_lock.
 */
void vbus_device_disable_unused(struct vbus_device *dev)
{
	bool disable;

	mutex_lock(&dev->state_lock);
	mutex_lock(&vbus_lock);
	disable = dev->destroyed && dev->enabled && !dev->nconns;
	if (disable)
		dev->enabled = false;
	mutex_unlock(&vbus_lock);
	if (disable && dev->ops->disable)
		dev->ops->disable(dev);
	mutex_unlock(&dev->state_lock);
}

/*
 * rmdir: configfs refuses it while the device is linked into a
 * container, but a link racing with the rmdir may have placed it after
 * that check (configfs calls allow_link() before the link exists, and
 * fails the link later): take it out again.  From here on nothing
 * places it.  Connections may still be closing: the last one disables
 * the device.
 */
void vbus_device_destroy(struct vbus_device *dev)
{
	struct vbus_container *c;

	mutex_lock(&vbus_lock);
	dev->destroyed = true;
	c = dev->container;
	mutex_unlock(&vbus_lock);
	if (c)
		vbus_container_unplace(c, dev);

	vbus_device_disable_unused(dev);
	mutex_lock(&vbus_lock);
	list_del_init(&dev->node);
	hash_del(&dev->name_node);
	vbus_notify_device(VBUS_CMD_DEVICE_DEL, dev);
	mutex_unlock(&vbus_lock);
}

void vbus_device_stats_sum(struct vbus_device *dev,
			   struct vbus_device_stats *sum)
{
	int cpu;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		const struct vbus_device_stats *s = per_cpu_ptr(dev->stats, cpu);

		sum->opens += READ_ONCE(s->opens);
		sum->calls += READ_ONCE(s->calls);
		sum->signals_in += READ_ONCE(s->signals_in);
		sum->signals_out += READ_ONCE(s->signals_out);
	}
}
