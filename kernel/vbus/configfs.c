// SPDX-License-Identifier: GPL-2.0
/*
 * The administration tree, /sys/kernel/config/vbus:
 *
 *   containers/<name>/		mkdir/rmdir a container
 *	owner_uid, owner_gid	who may attach besides CAP_NET_ADMIN
 *	clients			attached clients (read-only)
 *	devices/<link>		ln -s a device here to place it
 *   devices/<class>/<name>/	mkdir/rmdir a device of a class
 *	enabled			commit (1) or withdraw (0) the configuration
 *	id, container, type, connections	read-only state
 *	<class attributes>
 *
 * configfs serialises mkdir, rmdir, link and unlink; attribute writes
 * run concurrently with them, so everything below takes vbus_lock.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/ctype.h>
#include <linux/dcache.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uidgid.h>
#include <linux/user_namespace.h>

#include <vbus_configfs.h>

#include "core.h"

/* Longest container or device name; names are [A-Za-z0-9_.-]. */
#define VBUS_NAME_MAX	64

static bool vbus_name_valid(const char *name)
{
	size_t len = strlen(name);
	size_t i;

	if (!len || len > VBUS_NAME_MAX)
		return false;
	/* The kernel's isalnum() takes Latin-1 letters too: ASCII only. */
	for (i = 0; i < len; i++)
		if (!isascii(name[i]) ||
		    (!isalnum(name[i]) && !strchr("_.-", name[i])))
			return false;
	return true;
}

/* ---------------------------------------------------------------- */
/* containers */

static struct vbus_container *to_container(struct config_item *item)
{
	return container_of(to_config_group(item), struct vbus_container,
			    group);
}

static ssize_t vbus_show_id(char *page, bool valid, u32 id)
{
	return valid ? sprintf(page, "%u\n", id) : sprintf(page, "\n");
}

/*
 * Parse an owner id: a decimal id, or an empty value to clear it.
 * Returns 1 for an id, 0 for "none", or -EINVAL.
 */
static int vbus_parse_owner(const char *page, u32 *id)
{
	char buf[16];

	if (strscpy(buf, page, sizeof(buf)) < 0)
		return -EINVAL;
	strim(buf);
	if (!buf[0])
		return 0;
	if (kstrtou32(buf, 10, id) || *id == (u32)-1)
		return -EINVAL;
	return 1;
}

/* owner_uid and owner_gid, in the writer's or reader's user namespace. */
static ssize_t container_owner_show(struct config_item *item, char *page,
				    bool group)
{
	struct vbus_container *c = to_container(item);
	struct user_namespace *ns = current_user_ns();
	bool valid;
	u32 id;

	mutex_lock(&vbus_lock);
	valid = group ? gid_valid(c->owner_gid) : uid_valid(c->owner_uid);
	id = group ? from_kgid_munged(ns, c->owner_gid) :
		     from_kuid_munged(ns, c->owner_uid);
	mutex_unlock(&vbus_lock);
	return vbus_show_id(page, valid, id);
}

static ssize_t container_owner_store(struct config_item *item,
				     const char *page, size_t count, bool group)
{
	struct vbus_container *c = to_container(item);
	struct user_namespace *ns = current_user_ns();
	kuid_t uid = INVALID_UID;
	kgid_t gid = INVALID_GID;
	u32 id;
	int ret;

	ret = vbus_parse_owner(page, &id);
	if (ret < 0)
		return ret;
	if (ret) {
		uid = make_kuid(ns, id);
		gid = make_kgid(ns, id);
		if (group ? !gid_valid(gid) : !uid_valid(uid))
			return -EINVAL;
	}
	mutex_lock(&vbus_lock);
	if (group)
		c->owner_gid = gid;
	else
		c->owner_uid = uid;
	mutex_unlock(&vbus_lock);
	return count;
}

static ssize_t container_owner_uid_show(struct config_item *item, char *page)
{
	return container_owner_show(item, page, false);
}

static ssize_t container_owner_uid_store(struct config_item *item,
					 const char *page, size_t count)
{
	return container_owner_store(item, page, count, false);
}

static ssize_t container_owner_gid_show(struct config_item *item, char *page)
{
	return container_owner_show(item, page, true);
}

static ssize_t container_owner_gid_store(struct config_item *item,
					 const char *page, size_t count)
{
	return container_owner_store(item, page, count, true);
}

/* Show a counter that vbus_lock protects. */
static ssize_t vbus_show_count(char *page, const unsigned int *count)
{
	unsigned int n;

	mutex_lock(&vbus_lock);
	n = *count;
	mutex_unlock(&vbus_lock);
	return sprintf(page, "%u\n", n);
}

static ssize_t container_clients_show(struct config_item *item, char *page)
{
	return vbus_show_count(page, &to_container(item)->nclients);
}

CONFIGFS_ATTR(container_, owner_uid);
CONFIGFS_ATTR(container_, owner_gid);
CONFIGFS_ATTR_RO(container_, clients);

static struct configfs_attribute *container_attrs[] = {
	&container_attr_owner_uid,
	&container_attr_owner_gid,
	&container_attr_clients,
	NULL,
};

static void container_release(struct config_item *item)
{
	struct vbus_container *c = to_container(item);

	WARN_ON_ONCE(!xa_empty(&c->devices));
	xa_destroy(&c->devices);
	/* The memory goes with the devices/ group: see struct vbus_container. */
	config_item_put(&c->devices_group.cg_item);
}

static struct configfs_item_operations container_item_ops = {
	.release = container_release,
};

static const struct config_item_type container_type = {
	.ct_item_ops = &container_item_ops,
	.ct_attrs = container_attrs,
	.ct_owner = THIS_MODULE,
};

/* containers/<name>/devices: links to the devices placed here */
static struct vbus_container *devices_group_to_container(struct config_item *i)
{
	return container_of(to_config_group(i), struct vbus_container,
			    devices_group);
}

static int container_devices_allow_link(struct config_item *src,
					struct config_item *target)
{
	struct vbus_device *dev = vbus_device_from_item(target);

	if (!dev)
		return -EINVAL;	/* only devices can be placed */
	return vbus_container_place(devices_group_to_container(src), dev);
}

static void container_devices_drop_link(struct config_item *src,
					struct config_item *target)
{
	struct vbus_device *dev = vbus_device_from_item(target);

	if (dev)
		vbus_container_unplace(devices_group_to_container(src), dev);
}

static void container_devices_release(struct config_item *item)
{
	kfree(devices_group_to_container(item));
}

static struct configfs_item_operations container_devices_item_ops = {
	.release = container_devices_release,
	.allow_link = container_devices_allow_link,
	.drop_link = container_devices_drop_link,
};

static const struct config_item_type container_devices_type = {
	.ct_item_ops = &container_devices_item_ops,
	.ct_owner = THIS_MODULE,
};

static struct config_group *containers_make_group(struct config_group *group,
						  const char *name)
{
	struct vbus_container *c;

	if (!vbus_name_valid(name))
		return ERR_PTR(-EINVAL);
	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return ERR_PTR(-ENOMEM);

	xa_init_flags(&c->devices, XA_FLAGS_ALLOC);
	c->owner_uid = INVALID_UID;
	c->owner_gid = INVALID_GID;
	INIT_LIST_HEAD(&c->clients);
	config_group_init_type_name(&c->group, name, &container_type);
	config_group_init_type_name(&c->devices_group, "devices",
				    &container_devices_type);
	configfs_add_default_group(&c->devices_group, &c->group);

	mutex_lock(&vbus_lock);
	vbus_container_add(c);
	mutex_unlock(&vbus_lock);
	return &c->group;
}

static void containers_drop_item(struct config_group *group,
				 struct config_item *item)
{
	struct vbus_container *c = to_container(item);
	struct vbus_device *dev;
	unsigned long id = 0;

	/*
	 * Attached clients hold a configfs dependency on the container, so
	 * none is left.  configfs refuses rmdir while devices are linked
	 * here, but a link whose creation raced with the rmdir (configfs
	 * unlocks devices/ while it resolves the target) may have placed a
	 * device after that check: take it out again.  From here on
	 * nothing can be placed.
	 */
	mutex_lock(&vbus_lock);
	WARN_ON_ONCE(c->nclients);
	c->dead = true;
	vbus_container_del(c);
	mutex_unlock(&vbus_lock);
	for (;;) {
		/* Held: the racing link's removal may unplace it meanwhile. */
		mutex_lock(&vbus_lock);
		dev = xa_find(&c->devices, &id, ULONG_MAX, XA_PRESENT);
		if (dev)
			config_item_get(&dev->group.cg_item);
		mutex_unlock(&vbus_lock);
		if (!dev)
			break;
		vbus_container_unplace(c, dev);
		config_item_put(&dev->group.cg_item);
	}
	vbus_configfs_put_after_rmdir(&c->put, group, item);
}

static struct configfs_group_operations containers_group_ops = {
	.make_group = containers_make_group,
	.drop_item = containers_drop_item,
};

static const struct config_item_type containers_type = {
	.ct_group_ops = &containers_group_ops,
	.ct_owner = THIS_MODULE,
};

/* ---------------------------------------------------------------- */
/* devices */

static struct configfs_item_operations device_item_ops;

/**
 * vbus_device_from_item() - the device behind a configfs item
 * @item: any item of the vbus tree
 *
 * Return: the device, or NULL if @item is not a device.
 */
struct vbus_device *vbus_device_from_item(struct config_item *item)
{
	if (!item->ci_type || item->ci_type->ct_item_ops != &device_item_ops)
		return NULL;
	return container_of(to_config_group(item), struct vbus_device, group);
}
EXPORT_SYMBOL_GPL(vbus_device_from_item);

static ssize_t device_enabled_show(struct config_item *item, char *page)
{
	struct vbus_device *dev = vbus_device_from_item(item);
	bool enabled;

	mutex_lock(&vbus_lock);
	enabled = dev->enabled;
	mutex_unlock(&vbus_lock);
	return sprintf(page, "%d\n", enabled);
}

static ssize_t device_enabled_store(struct config_item *item,
				    const char *page, size_t count)
{
	struct vbus_device *dev = vbus_device_from_item(item);
	unsigned int enable;
	int ret;

	/*
	 * 0 or 1, nothing else: kstrtobool() looks at the first characters
	 * only, so "nonsense" would disable and "1 2" enable.
	 */
	if (kstrtouint(page, 10, &enable) || enable > 1)
		return -EINVAL;
	ret = vbus_device_set_enabled(dev, enable);
	return ret ? ret : count;
}

static ssize_t device_id_show(struct config_item *item, char *page)
{
	struct vbus_device *dev = vbus_device_from_item(item);
	ssize_t ret;

	mutex_lock(&vbus_lock);
	ret = vbus_show_id(page, dev->container, dev->id);
	mutex_unlock(&vbus_lock);
	return ret;
}

static ssize_t device_container_show(struct config_item *item, char *page)
{
	struct vbus_device *dev = vbus_device_from_item(item);
	ssize_t ret;

	mutex_lock(&vbus_lock);
	ret = sprintf(page, "%s\n", dev->container ?
		      vbus_container_name(dev->container) : "");
	mutex_unlock(&vbus_lock);
	return ret;
}

static ssize_t device_type_show(struct config_item *item, char *page)
{
	return sprintf(page, "%s\n", vbus_device_from_item(item)->type);
}

static ssize_t device_connections_show(struct config_item *item, char *page)
{
	return vbus_show_count(page, &vbus_device_from_item(item)->nconns);
}

CONFIGFS_ATTR(device_, enabled);
CONFIGFS_ATTR_RO(device_, id);
CONFIGFS_ATTR_RO(device_, container);
CONFIGFS_ATTR_RO(device_, type);
CONFIGFS_ATTR_RO(device_, connections);

static struct configfs_attribute *device_core_attrs[] = {
	&device_attr_enabled,
	&device_attr_id,
	&device_attr_container,
	&device_attr_type,
	&device_attr_connections,
};

static void device_free(struct work_struct *work)
{
	struct vbus_device *dev = container_of(to_rcu_work(work),
					       struct vbus_device, free_work);

	free_percpu(dev->stats);
	dev->ops->release(dev);
}

static void device_release(struct config_item *item)
{
	struct vbus_device *dev = vbus_device_from_item(item);

	INIT_RCU_WORK(&dev->free_work, device_free);
	queue_rcu_work(vbus_wq, &dev->free_work);
}

static struct configfs_item_operations device_item_ops = {
	.release = device_release,
};

static struct vbus_devclass *to_devclass(struct config_group *group)
{
	return container_of(group, struct vbus_devclass, group);
}

static struct config_group *class_make_group(struct config_group *group,
					     const char *name)
{
	struct vbus_devclass *dc = to_devclass(group);
	struct vbus_device *dev;
	bool taken;

	if (!vbus_name_valid(name))
		return ERR_PTR(-EINVAL);

	/* Device names are unique across classes. */
	mutex_lock(&vbus_lock);
	taken = vbus_device_find(name);
	mutex_unlock(&vbus_lock);
	if (taken)
		return ERR_PTR(-EEXIST);

	dev = dc->ops->create(dc, name);
	if (IS_ERR(dev))
		return ERR_CAST(dev);
	if (WARN_ON_ONCE(dev->class != dc || !dev->ops || !dev->type))
		return ERR_PTR(-EINVAL);

	dev->stats = alloc_percpu(struct vbus_device_stats);
	if (!dev->stats) {
		/* Never published: free at once. */
		dev->ops->release(dev);
		return ERR_PTR(-ENOMEM);
	}
	config_group_init_type_name(&dev->group, name, &dc->dev_type);

	/* Check again: a mkdir in another class may have taken the name. */
	mutex_lock(&vbus_lock);
	taken = vbus_device_find(name);
	if (!taken)
		vbus_device_add(dev);
	mutex_unlock(&vbus_lock);
	if (taken) {
		config_item_put(&dev->group.cg_item);
		return ERR_PTR(-EEXIST);
	}
	return &dev->group;
}

static void class_drop_item(struct config_group *group,
			    struct config_item *item)
{
	struct vbus_device *dev = vbus_device_from_item(item);

	vbus_device_destroy(dev);
	vbus_configfs_put_after_rmdir(&dev->put, group, item);
}

static struct configfs_group_operations class_group_ops = {
	.make_group = class_make_group,
	.drop_item = class_drop_item,
};

/**
 * vbus_devclass_register() - make a device class available
 * @dc: the class, with @name, @owner, @ops and @attrs set
 *
 * Creates /sys/kernel/config/vbus/devices/<name>/.  The class's module
 * cannot be unloaded while any of its devices exists.
 *
 * Return: 0, -EINVAL for a bad name, -EEXIST if the name is taken,
 * -ENOMEM.
 */
int vbus_devclass_register(struct vbus_devclass *dc)
{
	size_t ncore = ARRAY_SIZE(device_core_attrs);
	size_t nclass = 0;
	int ret;

	if (!vbus_name_valid(dc->name) || !dc->ops || !dc->ops->create)
		return -EINVAL;
	while (dc->attrs && dc->attrs[nclass])
		nclass++;
	dc->all_attrs = kcalloc(ncore + nclass + 1, sizeof(*dc->all_attrs),
				GFP_KERNEL);
	if (!dc->all_attrs)
		return -ENOMEM;
	memcpy(dc->all_attrs, device_core_attrs, sizeof(device_core_attrs));
	if (nclass)
		memcpy(dc->all_attrs + ncore, dc->attrs,
		       nclass * sizeof(*dc->attrs));

	dc->dev_type = (struct config_item_type) {
		.ct_item_ops = &device_item_ops,
		.ct_attrs = dc->all_attrs,
		.ct_owner = dc->owner,
	};
	dc->group_type = (struct config_item_type) {
		.ct_group_ops = &class_group_ops,
		.ct_owner = dc->owner,
	};
	config_group_init_type_name(&dc->group, dc->name, &dc->group_type);

	ret = configfs_register_group(&vbus_devices_group, &dc->group);
	if (ret) {
		kfree(dc->all_attrs);
		return ret;
	}
	pr_debug("device class %s registered\n", dc->name);
	return 0;
}
EXPORT_SYMBOL_GPL(vbus_devclass_register);

/**
 * vbus_devclass_unregister() - withdraw a device class
 * @dc: a class registered with vbus_devclass_register()
 *
 * No device of the class exists: each holds a reference on its module.
 */
void vbus_devclass_unregister(struct vbus_devclass *dc)
{
	/* Removed devices of the class whose last put is still queued */
	vbus_configfs_flush_puts();
	configfs_unregister_group(&dc->group);
	/* Let devices freed after a grace period reach the class's code. */
	rcu_barrier();
	flush_workqueue(vbus_wq);
	kfree(dc->all_attrs);
}
EXPORT_SYMBOL_GPL(vbus_devclass_unregister);

static const struct config_item_type devices_type = {
	.ct_owner = THIS_MODULE,
};

/* ---------------------------------------------------------------- */
/* the last put of a removed item: see vbus_configfs.h */

static void vbus_cfs_put_work(struct work_struct *work)
{
	struct vbus_cfs_put *put = container_of(work, struct vbus_cfs_put,
						work);
	struct config_item *item = put->item;
	struct dentry *parent = put->parent;

	/* The rmdir holds its parent until the item's dentry is unhashed. */
	inode_lock(d_inode(parent));
	inode_unlock(d_inode(parent));
	dput(parent);
	config_item_put(item);	/* may free @put */
}

/**
 * vbus_configfs_put_after_rmdir() - put a removed item once its rmdir is over
 * @put:	storage in the object that embeds @item
 * @parent:	the group @item is dropped from (drop_item()'s argument)
 * @item:	the item; its first reference goes to the work
 *
 * For a group's ->drop_item(), in place of config_item_put(): the item
 * is released after configfs can no longer look it up by name.  The
 * module whose ->release() the put may run calls
 * vbus_configfs_flush_puts() on its way out.
 */
void vbus_configfs_put_after_rmdir(struct vbus_cfs_put *put,
				   struct config_group *parent,
				   struct config_item *item)
{
	INIT_WORK(&put->work, vbus_cfs_put_work);
	put->item = item;
	put->parent = dget(parent->cg_item.ci_dentry);
	queue_work(vbus_wq, &put->work);
}
EXPORT_SYMBOL_GPL(vbus_configfs_put_after_rmdir);

/**
 * vbus_configfs_flush_puts() - wait for the puts of removed items
 *
 * Called by a module that owns configfs items before it goes away, so
 * that no release of its items runs after its exit.
 */
void vbus_configfs_flush_puts(void)
{
	flush_workqueue(vbus_wq);
}
EXPORT_SYMBOL_GPL(vbus_configfs_flush_puts);

/* ---------------------------------------------------------------- */
/* the subsystem */

static struct config_group vbus_containers_group;
struct config_group vbus_devices_group;

static const struct config_item_type vbus_root_type = {
	.ct_owner = THIS_MODULE,
};

struct configfs_subsystem vbus_subsys = {
	.su_group = {
		.cg_item = {
			.ci_namebuf = "vbus",
			.ci_type = &vbus_root_type,
		},
	},
	.su_mutex = __MUTEX_INITIALIZER(vbus_subsys.su_mutex),
};

int vbus_configfs_init(void)
{
	config_group_init(&vbus_subsys.su_group);
	config_group_init_type_name(&vbus_containers_group, "containers",
				    &containers_type);
	configfs_add_default_group(&vbus_containers_group,
				   &vbus_subsys.su_group);
	config_group_init_type_name(&vbus_devices_group, "devices",
				    &devices_type);
	configfs_add_default_group(&vbus_devices_group,
				   &vbus_subsys.su_group);
	return configfs_register_subsystem(&vbus_subsys);
}

void vbus_configfs_exit(void)
{
	vbus_configfs_flush_puts();
	configfs_unregister_subsystem(&vbus_subsys);
}
