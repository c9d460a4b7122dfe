// SPDX-License-Identifier: GPL-2.0
/*
 * vbus-proxy: the guest-side bus.  See guest/include/vbus_proxy.h.
 *
 * Hotplug events from a transport arrive in any context and are queued;
 * a work item of the bus creates and removes the devices in the order
 * the events came.  Signals are found by cookie in an xarray under RCU,
 * so a notification never meets a freed signal: closing a device erases
 * its signals and waits for a grace period before the driver may free
 * them.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/dma-mapping.h>
#include <linux/fault-inject.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/string.h>

#include <vbus_proxy.h>

/**
 * struct vbus_proxy_event - a queued DEVADD or DEVDROP
 * @node:	in bus->events, under bus->event_lock
 * @id:		the device id
 * @type:	the interface type for DEVADD, NULL for DEVDROP
 */
struct vbus_proxy_event {
	struct list_head node;
	u32 id;
	char *type;
};

static inline struct vbus_proxy_driver *to_vbus_proxy_driver(struct device_driver *d)
{
	return container_of(d, struct vbus_proxy_driver, driver);
}

static ssize_t type_show(struct device *d, struct device_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%s\n", to_vbus_proxy_device(d)->type);
}
static DEVICE_ATTR_RO(type);

static ssize_t id_show(struct device *d, struct device_attribute *attr,
		       char *buf)
{
	return sysfs_emit(buf, "%u\n", to_vbus_proxy_device(d)->id);
}
static DEVICE_ATTR_RO(id);

static ssize_t modalias_show(struct device *d, struct device_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "vbus:%s\n", to_vbus_proxy_device(d)->type);
}
static DEVICE_ATTR_RO(modalias);

static struct attribute *vbus_proxy_dev_attrs[] = {
	&dev_attr_type.attr,
	&dev_attr_id.attr,
	&dev_attr_modalias.attr,
	NULL,
};
ATTRIBUTE_GROUPS(vbus_proxy_dev);

static int vbus_proxy_match(struct device *d, struct device_driver *drv)
{
	return !strcmp(to_vbus_proxy_device(d)->type,
		       to_vbus_proxy_driver(drv)->type);
}

static int vbus_proxy_uevent(struct device *d, struct kobj_uevent_env *env)
{
	struct vbus_proxy_device *pdev = to_vbus_proxy_device(d);

	if (add_uevent_var(env, "VBUS_TYPE=%s", pdev->type) ||
	    add_uevent_var(env, "VBUS_ID=%u", pdev->id) ||
	    add_uevent_var(env, "MODALIAS=vbus:%s", pdev->type))
		return -ENOMEM;
	return 0;
}

static int vbus_proxy_probe(struct device *d)
{
	struct vbus_proxy_driver *drv = to_vbus_proxy_driver(d->driver);

	return drv->probe(to_vbus_proxy_device(d));
}

static void vbus_proxy_remove(struct device *d)
{
	struct vbus_proxy_driver *drv = to_vbus_proxy_driver(d->driver);
	struct vbus_proxy_device *pdev = to_vbus_proxy_device(d);

	if (drv->remove)
		drv->remove(pdev);
	/* A driver that left its device open does not keep it open. */
	vbus_proxy_close(pdev);
}

static struct bus_type vbus_proxy_bus_type = {
	.name = "vbus-proxy",
	.dev_groups = vbus_proxy_dev_groups,
	.match = vbus_proxy_match,
	.uevent = vbus_proxy_uevent,
	.probe = vbus_proxy_probe,
	.remove = vbus_proxy_remove,
};

/*
 * -------
 * devices
 * -------
 */

static void vbus_proxy_device_release(struct device *d)
{
	struct vbus_proxy_device *pdev = to_vbus_proxy_device(d);

	kfree(pdev->type);
	kfree(pdev);
}

static struct vbus_proxy_device *vbus_proxy_find(struct vbus_proxy_bus *bus,
						 u32 id)
{
	struct vbus_proxy_device *pdev;

	lockdep_assert_held(&bus->devices_lock);
	list_for_each_entry(pdev, &bus->devices, node)
		if (pdev->id == id)
			return pdev;
	return NULL;
}

static void vbus_proxy_add(struct vbus_proxy_bus *bus, u32 id, char *type)
{
	struct vbus_proxy_device *pdev;
	int ret;

	mutex_lock(&bus->devices_lock);
	if (vbus_proxy_find(bus, id)) {
		mutex_unlock(&bus->devices_lock);
		kfree(type);
		return;
	}
	pdev = kzalloc(sizeof(*pdev), GFP_KERNEL);
	if (!pdev) {
		mutex_unlock(&bus->devices_lock);
		kfree(type);
		return;
	}
	pdev->bus = bus;
	pdev->id = id;
	pdev->type = type;
	mutex_init(&pdev->lock);
	INIT_LIST_HEAD(&pdev->signals);
	device_initialize(&pdev->dev);
	pdev->dev.bus = &vbus_proxy_bus_type;
	pdev->dev.parent = &bus->dev;
	pdev->dev.release = vbus_proxy_device_release;
	ret = dev_set_name(&pdev->dev, "%s:%u", bus->name, id);
	if (!ret)
		ret = device_add(&pdev->dev);
	if (ret) {
		dev_err(&bus->dev, "cannot add device %u (%s): %d\n", id,
			type, ret);
		put_device(&pdev->dev);
	} else {
		list_add_tail(&pdev->node, &bus->devices);
	}
	mutex_unlock(&bus->devices_lock);
}

static void vbus_proxy_drop(struct vbus_proxy_bus *bus, u32 id)
{
	struct vbus_proxy_device *pdev;

	mutex_lock(&bus->devices_lock);
	pdev = vbus_proxy_find(bus, id);
	if (pdev)
		list_del(&pdev->node);
	mutex_unlock(&bus->devices_lock);
	/* Unbinding closes the device; the driver is gone afterwards. */
	if (pdev)
		device_unregister(&pdev->dev);
}

static void vbus_proxy_event_work(struct work_struct *work)
{
	struct vbus_proxy_bus *bus =
		container_of(work, struct vbus_proxy_bus, event_work);
	struct vbus_proxy_event *ev;

	for (;;) {
		spin_lock_irq(&bus->event_lock);
		ev = list_first_entry_or_null(&bus->events,
					      struct vbus_proxy_event, node);
		if (ev)
			list_del(&ev->node);
		spin_unlock_irq(&bus->event_lock);
		if (!ev)
			return;
		if (ev->type)
			vbus_proxy_add(bus, ev->id, ev->type);
		else
			vbus_proxy_drop(bus, ev->id);
		kfree(ev);
	}
}

static void vbus_proxy_queue(struct vbus_proxy_bus *bus,
			     struct vbus_proxy_event *ev)
{
	unsigned long flags;
	bool queued = false;

	spin_lock_irqsave(&bus->event_lock, flags);
	if (!bus->dying) {
		list_add_tail(&ev->node, &bus->events);
		queued = true;
	}
	spin_unlock_irqrestore(&bus->event_lock, flags);
	if (queued) {
		schedule_work(&bus->event_work);
	} else {
		kfree(ev->type);
		kfree(ev);
	}
}

/**
 * vbus_proxy_bus_devadd() - the transport saw a device appear
 * @bus:	the bus
 * @id:		the device's id in the container
 * @type:	its interface type (copied)
 *
 * Any context; the device is added asynchronously, in event order.
 */
void vbus_proxy_bus_devadd(struct vbus_proxy_bus *bus, u32 id,
			   const char *type)
{
	struct vbus_proxy_event *ev = kzalloc(sizeof(*ev), GFP_ATOMIC);

	if (ev)
		ev->type = kstrdup(type, GFP_ATOMIC);
	if (!ev || !ev->type) {
		kfree(ev);
		return;
	}
	ev->id = id;
	vbus_proxy_queue(bus, ev);
}
EXPORT_SYMBOL_GPL(vbus_proxy_bus_devadd);

/**
 * vbus_proxy_bus_devdrop() - the transport saw a device leave
 * @bus:	the bus
 * @id:		the device's id
 *
 * Any context; the device is removed asynchronously (its connection is
 * already closed on the host side, so the driver only gets errors).
 */
void vbus_proxy_bus_devdrop(struct vbus_proxy_bus *bus, u32 id)
{
	struct vbus_proxy_event *ev = kzalloc(sizeof(*ev), GFP_ATOMIC);

	if (!ev)
		return;
	ev->id = id;
	vbus_proxy_queue(bus, ev);
}
EXPORT_SYMBOL_GPL(vbus_proxy_bus_devdrop);

/**
 * vbus_proxy_bus_signal() - the device notified the region of @cookie
 * @bus:	the bus
 * @cookie:	the cookie given with the region
 *
 * Any context; the caller has bottom halves disabled or is in an
 * interrupt.  Unknown cookies are ignored.
 */
void vbus_proxy_bus_signal(struct vbus_proxy_bus *bus, u64 cookie)
{
	struct vbus_proxy_signal *sig;

	if (cookie > U32_MAX)
		return;
	rcu_read_lock();
	sig = xa_load(&bus->signals, cookie);
	if (sig && sig->handler)
		sig->handler(sig);
	rcu_read_unlock();
}
EXPORT_SYMBOL_GPL(vbus_proxy_bus_signal);

/*
 * ----------------
 * driver interface
 * ----------------
 */

/**
 * vbus_proxy_open() - open the device for its driver
 * @pdev:	the device
 * @version:	in: the highest protocol version the driver speaks; out:
 *		the version agreed
 *
 * Return: 0, -EBUSY when already open, or the transport's errno.
 */
int vbus_proxy_open(struct vbus_proxy_device *pdev, u32 *version)
{
	struct vbus_proxy_bus *bus = pdev->bus;
	int ret;

	mutex_lock(&pdev->lock);
	if (pdev->open) {
		ret = -EBUSY;
	} else {
		ret = bus->ops->open(bus, pdev->id, version, &pdev->handle);
		pdev->open = !ret;
	}
	mutex_unlock(&pdev->lock);
	return ret;
}
EXPORT_SYMBOL_GPL(vbus_proxy_open);

/**
 * vbus_proxy_close() - close the device
 * @pdev:	the device
 *
 * After it returns, no handler of the device's signals runs and the
 * driver may free them and the memory it registered.  Does nothing if
 * the device is not open.
 */
void vbus_proxy_close(struct vbus_proxy_device *pdev)
{
	struct vbus_proxy_bus *bus = pdev->bus;
	struct vbus_proxy_signal *sig, *tmp;
	bool had_signals;

	mutex_lock(&pdev->lock);
	if (!pdev->open) {
		mutex_unlock(&pdev->lock);
		return;
	}
	/* Fails when the host closed it first; the result is the same. */
	bus->ops->close(bus, pdev->handle);
	pdev->open = false;
	had_signals = !list_empty(&pdev->signals);
	list_for_each_entry_safe(sig, tmp, &pdev->signals, node) {
		xa_erase(&bus->signals, sig->cookie);
		list_del(&sig->node);
	}
	mutex_unlock(&pdev->lock);
	/* Let a notification that found a signal finish with it. */
	if (had_signals)
		synchronize_rcu();
}
EXPORT_SYMBOL_GPL(vbus_proxy_close);

/**
 * vbus_proxy_call() - a synchronous call to the device
 * @pdev:	the open device
 * @func:	the device's function number
 * @data:	arguments, read and written by the device (any kernel memory)
 * @len:	their size
 *
 * Return: the device's non-negative result, -ENODEV when not open, or a
 * negative errno.
 */
long vbus_proxy_call(struct vbus_proxy_device *pdev, u32 func, void *data,
		     u32 len)
{
	struct vbus_proxy_bus *bus = pdev->bus;
	long ret;

	mutex_lock(&pdev->lock);
	if (pdev->open)
		ret = bus->ops->call(bus, pdev->handle, func, data, len, 0);
	else
		ret = -ENODEV;
	mutex_unlock(&pdev->lock);
	return ret;
}
EXPORT_SYMBOL_GPL(vbus_proxy_call);

#ifdef CONFIG_FAULT_INJECTION_DEBUG_FS
/*
 * Failures on demand, for tests of the drivers' error paths, where no
 * IOMMU runs out and no device refuses (probability, interval, times,
 * space, verbose: Documentation/fault-injection/fault-injection.rst).
 * Off (probability 0) until set there.
 *   /sys/kernel/debug/vbus_proxy_fail_map/	vbus_proxy_map_page(), the
 *	size being the buffer's length
 *   /sys/kernel/debug/vbus_proxy_fail_shm/	vbus_proxy_shm(), the size
 *	being 1: with space N (at least 1), the Nth region from then on
 *	fails
 */
static DECLARE_FAULT_ATTR(vbus_proxy_fail_map);
static DECLARE_FAULT_ATTR(vbus_proxy_fail_shm);
static struct dentry *vbus_proxy_fail_map_dir;
static struct dentry *vbus_proxy_fail_shm_dir;

static bool vbus_proxy_map_fails(size_t len)
{
	return should_fail(&vbus_proxy_fail_map, len);
}

static bool vbus_proxy_shm_fails(void)
{
	return should_fail(&vbus_proxy_fail_shm, 1);
}

static void vbus_proxy_fault_init(void)
{
	/* Like all of debugfs, optional: an error leaves the point off. */
	vbus_proxy_fail_map_dir =
		fault_create_debugfs_attr("vbus_proxy_fail_map", NULL,
					  &vbus_proxy_fail_map);
	vbus_proxy_fail_shm_dir =
		fault_create_debugfs_attr("vbus_proxy_fail_shm", NULL,
					  &vbus_proxy_fail_shm);
}

static void vbus_proxy_fault_exit(void)
{
	debugfs_remove_recursive(vbus_proxy_fail_shm_dir);
	debugfs_remove_recursive(vbus_proxy_fail_map_dir);
}
#else
static bool vbus_proxy_map_fails(size_t len)
{
	return false;
}

static bool vbus_proxy_shm_fails(void)
{
	return false;
}

static void vbus_proxy_fault_init(void)
{
}

static void vbus_proxy_fault_exit(void)
{
}
#endif

/**
 * vbus_proxy_shm() - share a region of driver memory with the device
 * @pdev:	the open device
 * @id:		the region's purpose, defined by the device protocol
 * @addr:	the device's address of the region, from
 *		vbus_proxy_alloc_shared() (or a mapping that lasts until the
 *		device is closed)
 * @len:	its size
 * @cpu:	the CPU that should take the device's notifications of the
 *		region (a queue's own CPU), or -1 for any; a hint, which the
 *		transport follows when it can (the KVM bridge points the
 *		region's interrupt vector there)
 * @sig:	its signal: set @sig->handler and @sig->priv before calling
 *
 * The region stays shared until vbus_proxy_close().
 *
 * Return: 0, -ENODEV when not open, or a negative errno.
 */
int vbus_proxy_shm(struct vbus_proxy_device *pdev, u32 id, dma_addr_t addr,
		   size_t len, int cpu, struct vbus_proxy_signal *sig)
{
	struct vbus_proxy_bus *bus = pdev->bus;
	int ret;

	mutex_lock(&pdev->lock);
	if (!pdev->open) {
		ret = -ENODEV;
		goto out;
	}
	if (vbus_proxy_shm_fails()) {
		ret = -ENOMEM;
		goto out;
	}
	sig->pdev = pdev;
	sig->handle = 0;	/* no doorbell until the transport names it */
	ret = xa_alloc_cyclic(&bus->signals, &sig->cookie, sig, xa_limit_32b,
			      &bus->next_cookie, GFP_KERNEL);
	if (ret < 0)
		goto out;
	ret = bus->ops->shm(bus, pdev->handle, id, addr, len, sig->cookie,
			    cpu, &sig->handle);
	if (ret) {
		xa_erase(&bus->signals, sig->cookie);
		goto out;
	}
	list_add_tail(&sig->node, &pdev->signals);
out:
	mutex_unlock(&pdev->lock);
	return ret;
}
EXPORT_SYMBOL_GPL(vbus_proxy_shm);

/*
 * ------------------------------
 * memory shared with the device
 * ------------------------------
 *
 * With a DMA device (bus->dma_dev) these are the DMA API on it; without
 * one the device reads kernel virtual addresses, and an address is the
 * pointer itself.
 */

/**
 * vbus_proxy_alloc_shared() - allocate memory the device keeps access to
 * @pdev:	the device
 * @size:	the size in bytes
 * @addr:	receives the device's address of the memory
 *
 * For rings, regions and other structures shared for the life of a
 * connection: coherent memory (dma_alloc_coherent()) on a DMA device,
 * whole pages otherwise.  The memory is zeroed and page-aligned.  May
 * sleep.
 *
 * Return: the kernel's pointer to the memory, or NULL.
 */
void *vbus_proxy_alloc_shared(struct vbus_proxy_device *pdev, size_t size,
			      dma_addr_t *addr)
{
	struct device *dma_dev = pdev->bus->dma_dev;
	void *ptr;

	if (dma_dev)
		return dma_alloc_coherent(dma_dev, size, addr, GFP_KERNEL);
	ptr = alloc_pages_exact(size, GFP_KERNEL | __GFP_ZERO);
	if (ptr)
		*addr = (dma_addr_t)(uintptr_t)ptr;
	return ptr;
}
EXPORT_SYMBOL_GPL(vbus_proxy_alloc_shared);

/**
 * vbus_proxy_free_shared() - free memory from vbus_proxy_alloc_shared()
 * @pdev:	the device
 * @size:	the size given to vbus_proxy_alloc_shared()
 * @ptr:	the memory; NULL does nothing
 * @addr:	its device address
 *
 * The device must no longer use the memory (the connection is closed,
 * or the memory was never given to it).  May sleep.
 */
void vbus_proxy_free_shared(struct vbus_proxy_device *pdev, size_t size,
			    void *ptr, dma_addr_t addr)
{
	struct device *dma_dev = pdev->bus->dma_dev;

	if (!ptr)
		return;
	if (dma_dev)
		dma_free_coherent(dma_dev, size, ptr, addr);
	else
		free_pages_exact(ptr, size);
}
EXPORT_SYMBOL_GPL(vbus_proxy_free_shared);

/**
 * vbus_proxy_map_page() - give the device part of a page for one transfer
 * @pdev:	the device
 * @page:	the page (not highmem without a DMA device)
 * @offset:	where the buffer starts in it
 * @len:	the buffer's size
 * @dir:	DMA_TO_DEVICE (the device reads it), DMA_FROM_DEVICE (it
 *		writes it) or DMA_BIDIRECTIONAL
 * @addr:	receives the device's address of the buffer
 *
 * dma_map_page() on a DMA device: with swiotlb (an encrypted guest)
 * the device works on a bounce buffer, so the CPU must not touch the
 * buffer until vbus_proxy_unmap_page().  Any context.
 *
 * On a kernel with fault injection it also fails when
 * /sys/kernel/debug/vbus_proxy_fail_map says so, which a guest driver's
 * tests use to reach its error paths where no IOMMU runs out.
 *
 * Return: 0, or -ENOMEM when the mapping failed (swiotlb or IOMMU space
 * exhausted; the caller drops the buffer or tries again later).
 */
int vbus_proxy_map_page(struct vbus_proxy_device *pdev, struct page *page,
			size_t offset, size_t len,
			enum dma_data_direction dir, dma_addr_t *addr)
{
	struct device *dma_dev = pdev->bus->dma_dev;

	if (vbus_proxy_map_fails(len))
		return -ENOMEM;
	if (!dma_dev) {
		*addr = (dma_addr_t)(uintptr_t)page_address(page) + offset;
		return 0;
	}
	*addr = dma_map_page(dma_dev, page, offset, len, dir);
	return dma_mapping_error(dma_dev, *addr) ? -ENOMEM : 0;
}
EXPORT_SYMBOL_GPL(vbus_proxy_map_page);

/**
 * vbus_proxy_unmap_page() - take back a buffer from vbus_proxy_map_page()
 * @pdev:	the device
 * @addr:	the address vbus_proxy_map_page() gave
 * @len:	the size given to vbus_proxy_map_page()
 * @dir:	the direction given to vbus_proxy_map_page()
 *
 * Afterwards the CPU sees what the device wrote.  Any context.
 */
void vbus_proxy_unmap_page(struct vbus_proxy_device *pdev, dma_addr_t addr,
			   size_t len, enum dma_data_direction dir)
{
	struct device *dma_dev = pdev->bus->dma_dev;

	if (dma_dev)
		dma_unmap_page(dma_dev, addr, len, dir);
}
EXPORT_SYMBOL_GPL(vbus_proxy_unmap_page);

/**
 * __vbus_proxy_driver_register() - register a driver for an interface type
 * @drv:	the driver; set @drv->type, @drv->probe, @drv->driver.name
 * @owner:	its module
 *
 * Use vbus_proxy_driver_register() or module_vbus_proxy_driver().
 *
 * Return: 0 or a negative errno.
 */
int __vbus_proxy_driver_register(struct vbus_proxy_driver *drv,
				 struct module *owner)
{
	drv->driver.bus = &vbus_proxy_bus_type;
	drv->driver.owner = owner;
	return driver_register(&drv->driver);
}
EXPORT_SYMBOL_GPL(__vbus_proxy_driver_register);

/**
 * vbus_proxy_driver_unregister() - unbind and unregister a driver
 * @drv:	the driver
 */
void vbus_proxy_driver_unregister(struct vbus_proxy_driver *drv)
{
	driver_unregister(&drv->driver);
}
EXPORT_SYMBOL_GPL(vbus_proxy_driver_unregister);

/*
 * -------------------
 * transport interface
 * -------------------
 */

static void vbus_proxy_bus_release(struct device *d)
{
	struct vbus_proxy_bus *bus = container_of(d, struct vbus_proxy_bus, dev);

	xa_destroy(&bus->signals);
	bus->ops->release(bus);
}

/**
 * vbus_proxy_bus_register() - register a transport instance
 * @bus:	the bus; set @name, @ops, @parent and @dma_dev first
 *
 * On failure the bus has been released through @ops->release.
 *
 * Return: 0 or a negative errno.
 */
int vbus_proxy_bus_register(struct vbus_proxy_bus *bus)
{
	int ret;

	spin_lock_init(&bus->event_lock);
	INIT_LIST_HEAD(&bus->events);
	INIT_WORK(&bus->event_work, vbus_proxy_event_work);
	mutex_init(&bus->devices_lock);
	INIT_LIST_HEAD(&bus->devices);
	xa_init_flags(&bus->signals, XA_FLAGS_ALLOC1);

	device_initialize(&bus->dev);
	bus->dev.parent = bus->parent;
	bus->dev.release = vbus_proxy_bus_release;
	ret = dev_set_name(&bus->dev, "vbus-%s", bus->name);
	if (!ret)
		ret = device_add(&bus->dev);
	if (ret)
		put_device(&bus->dev);
	return ret;
}
EXPORT_SYMBOL_GPL(vbus_proxy_bus_register);

/**
 * vbus_proxy_bus_remove_devices() - stop hotplug and remove every device
 * @bus:	the bus
 *
 * Drivers are unbound (and close their devices) while the transport
 * still works; events that arrive afterwards are ignored.  The transport
 * may then detach, and call vbus_proxy_bus_unregister().
 */
void vbus_proxy_bus_remove_devices(struct vbus_proxy_bus *bus)
{
	struct vbus_proxy_event *ev, *tmp;
	struct vbus_proxy_device *pdev;
	LIST_HEAD(events);

	spin_lock_irq(&bus->event_lock);
	bus->dying = true;
	list_splice_init(&bus->events, &events);
	spin_unlock_irq(&bus->event_lock);
	cancel_work_sync(&bus->event_work);
	list_for_each_entry_safe(ev, tmp, &events, node) {
		kfree(ev->type);
		kfree(ev);
	}

	for (;;) {
		mutex_lock(&bus->devices_lock);
		pdev = NULL;
		if (!list_empty(&bus->devices)) {
			pdev = list_last_entry(&bus->devices,
					       struct vbus_proxy_device, node);
			list_del(&pdev->node);
		}
		mutex_unlock(&bus->devices_lock);
		if (!pdev)
			break;
		device_unregister(&pdev->dev);
	}
}
EXPORT_SYMBOL_GPL(vbus_proxy_bus_remove_devices);

/**
 * vbus_proxy_bus_unregister() - unregister a transport instance
 * @bus:	the bus, after vbus_proxy_bus_remove_devices()
 *
 * The bus is released through @ops->release once its last reference is
 * gone.
 */
void vbus_proxy_bus_unregister(struct vbus_proxy_bus *bus)
{
	device_unregister(&bus->dev);
}
EXPORT_SYMBOL_GPL(vbus_proxy_bus_unregister);

/**
 * vbus_proxy_bus_del() - take the bus out of sysfs, keep its memory
 * @bus:	the bus, its devices removed
 *
 * The first half of vbus_proxy_bus_unregister(), for an owner whose
 * memory outlives the bus's name: a new bus may take the name at once.
 * vbus_proxy_bus_put() is the second half.
 */
void vbus_proxy_bus_del(struct vbus_proxy_bus *bus)
{
	device_del(&bus->dev);
}
EXPORT_SYMBOL_GPL(vbus_proxy_bus_del);

/**
 * vbus_proxy_bus_put() - drop the reference vbus_proxy_bus_register() gave
 * @bus:	a bus taken out with vbus_proxy_bus_del()
 */
void vbus_proxy_bus_put(struct vbus_proxy_bus *bus)
{
	put_device(&bus->dev);
}
EXPORT_SYMBOL_GPL(vbus_proxy_bus_put);

static int __init vbus_proxy_init(void)
{
	int ret = bus_register(&vbus_proxy_bus_type);

	if (!ret)
		vbus_proxy_fault_init();
	return ret;
}

static void __exit vbus_proxy_exit(void)
{
	vbus_proxy_fault_exit();
	bus_unregister(&vbus_proxy_bus_type);
}

module_init(vbus_proxy_init);
module_exit(vbus_proxy_exit);

MODULE_DESCRIPTION("vbus-proxy: guest-side bus of vbus devices");
MODULE_LICENSE("GPL");
