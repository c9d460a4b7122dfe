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
 * Memory given to the device goes through the DMA API, as for any device
 * that reads and writes memory on its own, so that a guest with an IOMMU
 * or with encrypted memory (SEV, TDX: the device only reaches memory
 * shared through swiotlb or decrypted coherent allocations) keeps
 * working.  Calls may use any kernel memory: the transport copies the
 * arguments where the device can reach them.  Regions registered with
 * vbus_proxy_shm() and other long-lived shared structures come from
 * vbus_proxy_alloc_shared(); buffers posted on a ring are mapped with
 * vbus_proxy_map() or vbus_proxy_map_page() while the device owns them
 * and unmapped with vbus_proxy_unmap_page() when it gave them back.  The
 * address these return is the one to put in a ring descriptor or to
 * register.
 *
 * A transport whose device is a DMA master (the KVM bridge: its PCI
 * function) names that device in &vbus_proxy_bus.dma_dev; one whose
 * device reads kernel virtual addresses directly (the local connector)
 * leaves it NULL, and the helpers return kernel virtual addresses.
 */
#ifndef _VBUS_PROXY_H
#define _VBUS_PROXY_H

#include <linux/device.h>
#include <linux/dma-direction.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mod_devicetable.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

struct page;
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
 * @shm:	DEVSHM of [@addr, @addr + @len) with id @id, @addr being
 *		the device's address of the region (see vbus_proxy_shm());
 *		the device's notifications for it arrive as
 *		vbus_proxy_bus_signal(@cookie), on CPU @cpu if the
 *		transport can steer them (-1: any CPU); returns 0 and the
 *		doorbell handle in @signal
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
	int (*shm)(struct vbus_proxy_bus *bus, u32 handle, u32 id,
		   dma_addr_t addr, size_t len, u64 cookie, int cpu,
		   u32 *signal);
	int (*kick)(struct vbus_proxy_bus *bus, u32 signal);
	void (*release)(struct vbus_proxy_bus *bus);
};

/**
 * struct vbus_proxy_bus - one transport instance (one container)
 * @name:	unique name; the bus device is "vbus-<name>"
 * @ops:	the transport
 * @parent:	parent device (the bridge), or NULL
 * @dma_dev:	the device that reaches driver memory, through the DMA
 *		API (the KVM bridge's PCI function); NULL when the device
 *		reads kernel virtual addresses directly (the local
 *		connector).  It must stay bound to its driver until every
 *		device of the bus is removed.
 *
 * The rest belongs to the bus core.
 */
struct vbus_proxy_bus {
	const char *name;
	const struct vbus_proxy_transport_ops *ops;
	struct device *parent;
	struct device *dma_dev;

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
int vbus_proxy_shm(struct vbus_proxy_device *pdev, u32 id, dma_addr_t addr,
		   size_t len, int cpu, struct vbus_proxy_signal *sig);

void *vbus_proxy_alloc_shared(struct vbus_proxy_device *pdev, size_t size,
			      dma_addr_t *addr);
void vbus_proxy_free_shared(struct vbus_proxy_device *pdev, size_t size,
			    void *ptr, dma_addr_t addr);
int vbus_proxy_map_page(struct vbus_proxy_device *pdev, struct page *page,
			size_t offset, size_t len,
			enum dma_data_direction dir, dma_addr_t *addr);
void vbus_proxy_unmap_page(struct vbus_proxy_device *pdev, dma_addr_t addr,
			   size_t len, enum dma_data_direction dir);

/**
 * vbus_proxy_map() - give the device a buffer for one transfer
 * @pdev:	the device
 * @ptr:	the buffer, in the kernel's direct map (kmalloc(), the page
 *		allocator, an skb's linear data; not vmalloc() or the stack)
 * @len:	its size
 * @dir:	as for vbus_proxy_map_page()
 * @addr:	receives the device's address of the buffer
 *
 * vbus_proxy_map_page() of the page and offset of @ptr, as
 * dma_map_single() is dma_map_page(); undone by vbus_proxy_unmap_page().
 * Any context.
 *
 * Return: 0, or -ENOMEM when the mapping failed.
 */
static inline int vbus_proxy_map(struct vbus_proxy_device *pdev, void *ptr,
				 size_t len, enum dma_data_direction dir,
				 dma_addr_t *addr)
{
	return vbus_proxy_map_page(pdev, virt_to_page(ptr), offset_in_page(ptr),
				   len, dir, addr);
}

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

#endif /* _VBUS_PROXY_H */
