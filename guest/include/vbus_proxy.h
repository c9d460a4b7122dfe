/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vbus-proxy: the guest side of a vbus.
 *
 * A transport (the local connector on the host itself, the KVM bridge
 * inside a guest) registers a struct vbus_proxy_bus and reports the
 * devices of its container as they appear and leave.  Each becomes a
 * struct vbus_proxy_device on the "vbus-proxy" Linux bus, matched to a
 * struct vbus_proxy_driver by its type string; the uevent carries
 * MODALIAS=vbus:<type>, so a driver declaring MODULE_ALIAS("vbus:<type>")
 * (see VBUS_PROXY_MODULE_ALIAS) is loaded automatically.
 *
 * A driver reaches its device through the helpers below: open, calls,
 * shared-memory regions with their signals, doorbells, close.  The
 * transport only carries them.
 *
 * Memory given to the device (calls may use any kernel memory; regions
 * and ring buffers must be physically contiguous and in the direct map,
 * e.g. from kmalloc() or alloc_pages()) is named to the device by
 * vbus_proxy_addr().
 */
#ifndef _VBUS_PROXY_H
#define _VBUS_PROXY_H

#include <linux/device.h>
#include <linux/io.h>
#include <linux/list.h>
#include <linux/mod_devicetable.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

struct vbus_proxy_bus;
struct vbus_proxy_device;

/**
 * struct vbus_proxy_transport_ops - what a transport carries
 * @open:	DEVOPEN of device @id; @version in: highest the driver
 *		speaks, out: agreed; returns 0 and the connection @handle
 * @close:	DEVCLOSE of @handle
 * @call:	DEVCALL: @len bytes of arguments at @data (any kernel
 *		memory; the transport copies if it must); returns the
 *		device's non-negative result or a negative errno
 * @shm:	DEVSHM of [@ptr, @ptr + @len) with id @id; the device's
 *		notifications for it arrive as vbus_proxy_bus_signal(@cookie);
 *		returns 0 and the doorbell handle in @signal
 * @kick:	SHMSIGNAL @signal; any context, including hard interrupts
 * @release:	free the transport (the bus's last reference is gone)
 *
 * All but @kick may sleep.
 */
struct vbus_proxy_transport_ops {
	int (*open)(struct vbus_proxy_bus *bus, u32 id, u32 *version,
		    u32 *handle);
	int (*close)(struct vbus_proxy_bus *bus, u32 handle);
	long (*call)(struct vbus_proxy_bus *bus, u32 handle, u32 func,
		     void *data, u32 len, u32 flags);
	int (*shm)(struct vbus_proxy_bus *bus, u32 handle, u32 id, void *ptr,
		   size_t len, u64 cookie, u32 *signal);
	int (*kick)(struct vbus_proxy_bus *bus, u32 signal);
	void (*release)(struct vbus_proxy_bus *bus);
};

/**
 * struct vbus_proxy_bus - one transport instance (one container)
 * @name:	unique name; the bus device is "vbus-<name>"
 * @ops:	the transport
 * @parent:	parent device (the bridge), or NULL
 * @phys_addrs:	the device names memory by physical address (a guest
 *		under a hypervisor); otherwise by kernel virtual address
 *		(the local connector)
 *
 * The rest belongs to the bus core.
 */
struct vbus_proxy_bus {
	const char *name;
	const struct vbus_proxy_transport_ops *ops;
	struct device *parent;
	bool phys_addrs;

	/* private: */
	struct device dev;
	spinlock_t event_lock;		/* protects @events and @dying */
	struct list_head events;	/* struct vbus_proxy_event, queued */
	bool dying;
	struct work_struct event_work;
	struct mutex devices_lock;	/* protects @devices */
	struct list_head devices;	/* struct vbus_proxy_device.node */
	struct xarray signals;		/* cookie -> struct vbus_proxy_signal */
	u32 next_cookie;
};

/**
 * struct vbus_proxy_device - a device of the container
 * @dev:	the Linux device, "<bus name>:<id>"
 * @bus:	its transport
 * @id:		its id in the container
 * @type:	the interface type it offers
 *
 * The rest belongs to the bus core.
 */
struct vbus_proxy_device {
	struct device dev;
	struct vbus_proxy_bus *bus;
	u32 id;
	const char *type;

	/* private: */
	struct list_head node;		/* in bus->devices */
	struct mutex lock;		/* protects the fields below */
	bool open;
	u32 handle;
	struct list_head signals;	/* struct vbus_proxy_signal.node */
};

/**
 * struct vbus_proxy_signal - the notifications of one shared region
 * @handler:	called for each notification from the device, in atomic
 *		context with bottom halves disabled
 * @priv:	the driver's data for @handler
 *
 * Embedded in the driver's state; registered by vbus_proxy_shm().  The
 * handler may run before vbus_proxy_shm() returns (the device may notify
 * at once); a vbus_proxy_kick() from it then rings no doorbell and
 * returns an error, so drivers kick again once registration is done.
 * The rest belongs to the bus core.
 */
struct vbus_proxy_signal {
	void (*handler)(struct vbus_proxy_signal *sig);
	void *priv;

	/* private: */
	struct vbus_proxy_device *pdev;
	struct list_head node;
	u32 cookie;
	u32 handle;
};

/**
 * struct vbus_proxy_driver - a driver for one interface type
 * @type:	the type string it binds to
 * @probe:	bind to a device
 * @remove:	unbind: close the device and free what probe allocated
 * @driver:	the Linux driver (set .name; .owner is set for you)
 */
struct vbus_proxy_driver {
	const char *type;
	int (*probe)(struct vbus_proxy_device *pdev);
	void (*remove)(struct vbus_proxy_device *pdev);
	struct device_driver driver;
};

#define VBUS_PROXY_MODULE_ALIAS(type)	MODULE_ALIAS("vbus:" type)

static inline struct vbus_proxy_device *to_vbus_proxy_device(struct device *d)
{
	return container_of(d, struct vbus_proxy_device, dev);
}

/* Transports */
int vbus_proxy_bus_register(struct vbus_proxy_bus *bus);
void vbus_proxy_bus_remove_devices(struct vbus_proxy_bus *bus);
void vbus_proxy_bus_unregister(struct vbus_proxy_bus *bus);
void vbus_proxy_bus_del(struct vbus_proxy_bus *bus);
void vbus_proxy_bus_put(struct vbus_proxy_bus *bus);
void vbus_proxy_bus_devadd(struct vbus_proxy_bus *bus, u32 id,
			   const char *type);
void vbus_proxy_bus_devdrop(struct vbus_proxy_bus *bus, u32 id);
void vbus_proxy_bus_signal(struct vbus_proxy_bus *bus, u64 cookie);

/* Drivers */
int __vbus_proxy_driver_register(struct vbus_proxy_driver *drv,
				 struct module *owner);
#define vbus_proxy_driver_register(drv) \
	__vbus_proxy_driver_register(drv, THIS_MODULE)
void vbus_proxy_driver_unregister(struct vbus_proxy_driver *drv);
#define module_vbus_proxy_driver(drv) \
	module_driver(drv, vbus_proxy_driver_register, \
		      vbus_proxy_driver_unregister)

int vbus_proxy_open(struct vbus_proxy_device *pdev, u32 *version);
void vbus_proxy_close(struct vbus_proxy_device *pdev);
long vbus_proxy_call(struct vbus_proxy_device *pdev, u32 func, void *data,
		     u32 len);
int vbus_proxy_shm(struct vbus_proxy_device *pdev, u32 id, void *ptr,
		   size_t len, struct vbus_proxy_signal *sig);

/**
 * vbus_proxy_kick() - ring the device's doorbell for a region
 * @sig:	the region's signal, registered by vbus_proxy_shm()
 *
 * Any context.  Return: 0, or a negative errno from the transport (the
 * device went away: the driver will be removed shortly).
 */
static inline int vbus_proxy_kick(struct vbus_proxy_signal *sig)
{
	struct vbus_proxy_bus *bus = sig->pdev->bus;

	return bus->ops->kick(bus, sig->handle);
}

/**
 * vbus_proxy_addr() - how the device names a byte of driver memory
 * @pdev:	the device
 * @ptr:	an address in the kernel's direct map
 *
 * Return: the address to put in a ring descriptor or a region.
 */
static inline u64 vbus_proxy_addr(const struct vbus_proxy_device *pdev,
				  const void *ptr)
{
	if (pdev->bus->phys_addrs)
		return virt_to_phys((void *)ptr);
	return (u64)(uintptr_t)ptr;
}

#endif /* _VBUS_PROXY_H */
