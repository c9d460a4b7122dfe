// SPDX-License-Identifier: GPL-2.0
/*
 * The local connector: attaches a container to a vbus-proxy bus of the
 * same kernel, so the guest-side drivers run on the host and talk to the
 * host's device models.  It is the test bed of both sides and the
 * ceiling of what a connector can achieve.
 *
 * Administration is a configfs subsystem: mkdir
 * /sys/kernel/config/vbus-local/<container> attaches the container of
 * that name (with the permission check of the core: CAP_NET_ADMIN or the
 * container's owner), rmdir detaches it.  The bus appears as the device
 * vbus-<container>; its devices as <container>:<id> on the vbus-proxy
 * bus.
 *
 * Addresses are kernel virtual addresses (the kernel memctx; the bus has
 * no DMA device, so the vbus-proxy helpers hand drivers their pointers),
 * and the transport below only forwards each operation to the core.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bottom_half.h>
#include <linux/configfs.h>
#include <linux/err.h>
#include <linux/hardirq.h>
#include <linux/irqflags.h>
#include <linux/module.h>
#include <linux/slab.h>

#include <vbus_client.h>
#include <vbus_configfs.h>
#include <vbus_proxy.h>

/**
 * struct local_conn - one attached container
 * @item:	the configfs directory
 * @bus:	the vbus-proxy bus; its device's refcount frees this struct
 * @client:	the core's client, from mkdir to rmdir (set by the first
 *		DEVADD if that comes first, see local_devadd())
 * @put:	puts @item's first reference after the rmdir
 *
 * configfs holds one reference to the bus device through @item: the
 * rmdir takes the bus out of sysfs, the item's release drops it.
 */
struct local_conn {
	struct config_item item;
	struct vbus_proxy_bus bus;
	struct vbus_client *client;
	struct vbus_cfs_put put;
};

static struct local_conn *bus_to_lc(struct vbus_proxy_bus *bus)
{
	return container_of(bus, struct local_conn, bus);
}

/*
 * ---------
 * transport
 * ---------
 */

static int local_open(struct vbus_proxy_bus *bus, u32 id, u32 *version,
		      u32 *handle)
{
	return vbus_client_devopen(bus_to_lc(bus)->client, id, version, handle);
}

static int local_close(struct vbus_proxy_bus *bus, u32 handle)
{
	return vbus_client_devclose(bus_to_lc(bus)->client, handle);
}

static long local_call(struct vbus_proxy_bus *bus, u32 handle, u32 func,
		       void *data, u32 len, u32 flags)
{
	return vbus_client_devcall(bus_to_lc(bus)->client, handle, func,
				   (u64)(uintptr_t)data, len, flags);
}

/* Notifications run in the device's context: there is nothing to steer. */
static int local_shm(struct vbus_proxy_bus *bus, u32 handle, u32 id,
		     dma_addr_t addr, size_t len, u64 cookie, int cpu,
		     u32 *signal)
{
	return vbus_client_devshm(bus_to_lc(bus)->client, handle, id, addr,
				  len, cookie, signal);
}

static int local_kick(struct vbus_proxy_bus *bus, u32 signal)
{
	return vbus_client_shmsignal(bus_to_lc(bus)->client, signal);
}

static void local_release(struct vbus_proxy_bus *bus)
{
	struct local_conn *lc = bus_to_lc(bus);

	kfree(lc->bus.name);
	kfree(lc);
}

static const struct vbus_proxy_transport_ops local_transport_ops = {
	.open = local_open,
	.close = local_close,
	.call = local_call,
	.shm = local_shm,
	.kick = local_kick,
	.release = local_release,
};

/*
 * ------------------
 * events of the core
 * ------------------
 */

static void local_devadd(struct vbus_client *client, u32 id, const char *type)
{
	struct local_conn *lc = vbus_client_priv(client);

	/*
	 * The devices visible at attach arrive before vbus_client_attach()
	 * returns, and the bus may probe them (and open them through
	 * @lc->client) at once: set it before the event can be seen.
	 */
	lc->client = client;
	vbus_proxy_bus_devadd(&lc->bus, id, type);
}

static void local_devdrop(struct vbus_client *client, u32 id)
{
	struct local_conn *lc = vbus_client_priv(client);

	vbus_proxy_bus_devdrop(&lc->bus, id);
}

/*
 * A device notifies from whatever context it runs in.  Guest drivers
 * expect their handlers to run like interrupt handlers, with bottom
 * halves disabled, so that the NAPI polls they schedule run when the
 * notification is over.
 */
static void local_signal(struct vbus_client *client, u64 cookie)
{
	struct local_conn *lc = vbus_client_priv(client);

	if (in_hardirq() || irqs_disabled()) {
		vbus_proxy_bus_signal(&lc->bus, cookie);
		return;
	}
	local_bh_disable();
	vbus_proxy_bus_signal(&lc->bus, cookie);
	local_bh_enable();
}

static const struct vbus_client_ops local_client_ops = {
	.devadd = local_devadd,
	.devdrop = local_devdrop,
	.signal = local_signal,
};

/*
 * -------
 * configfs
 * -------
 */

static void local_item_release(struct config_item *item)
{
	struct local_conn *lc = container_of(item, struct local_conn, item);

	vbus_proxy_bus_put(&lc->bus);
}

static struct configfs_item_operations local_item_ops = {
	.release = local_item_release,
};

static const struct config_item_type local_item_type = {
	.ct_item_ops = &local_item_ops,
	.ct_owner = THIS_MODULE,
};

static struct config_item *local_make_item(struct config_group *group,
					   const char *name)
{
	struct vbus_client *client;
	struct vbus_memctx *ctx;
	struct local_conn *lc;
	int ret;

	lc = kzalloc(sizeof(*lc), GFP_KERNEL);
	if (!lc)
		return ERR_PTR(-ENOMEM);
	lc->bus.name = kstrdup(name, GFP_KERNEL);
	if (!lc->bus.name) {
		kfree(lc);
		return ERR_PTR(-ENOMEM);
	}
	lc->bus.ops = &local_transport_ops;
	ret = vbus_proxy_bus_register(&lc->bus);
	if (ret)
		return ERR_PTR(ret);	/* released through the bus */

	ctx = vbus_memctx_kernel_create();
	if (!ctx) {
		ret = -ENOMEM;
		goto err_bus;
	}
	/* Devices already visible arrive as DEVADD during the attach. */
	client = vbus_client_attach(name, &local_client_ops, ctx, lc);
	vbus_memctx_put(ctx);
	if (IS_ERR(client)) {
		ret = PTR_ERR(client);
		goto err_bus;
	}
	lc->client = client;
	config_item_init_type_name(&lc->item, name, &local_item_type);
	return &lc->item;

err_bus:
	vbus_proxy_bus_remove_devices(&lc->bus);
	vbus_proxy_bus_unregister(&lc->bus);
	return ERR_PTR(ret);
}

static void local_drop_item(struct config_group *group,
			    struct config_item *item)
{
	struct local_conn *lc = container_of(item, struct local_conn, item);

	/* Drivers close their devices while the client still works. */
	vbus_proxy_bus_remove_devices(&lc->bus);
	vbus_client_detach(lc->client);
	/* The name is free at once for a new mkdir; the memory goes later. */
	vbus_proxy_bus_del(&lc->bus);
	vbus_configfs_put_after_rmdir(&lc->put, group, item);
}

static struct configfs_group_operations local_group_ops = {
	.make_item = local_make_item,
	.drop_item = local_drop_item,
};

static const struct config_item_type local_root_type = {
	.ct_group_ops = &local_group_ops,
	.ct_owner = THIS_MODULE,
};

static struct configfs_subsystem local_subsys = {
	.su_group = {
		.cg_item = {
			.ci_namebuf = "vbus-local",
			.ci_type = &local_root_type,
		},
	},
};

static int __init local_init(void)
{
	config_group_init(&local_subsys.su_group);
	mutex_init(&local_subsys.su_mutex);
	return configfs_register_subsystem(&local_subsys);
}

static void __exit local_exit(void)
{
	/* Items removed just before: their release is this module's code. */
	vbus_configfs_flush_puts();
	configfs_unregister_subsystem(&local_subsys);
}

module_init(local_init);
module_exit(local_exit);

MODULE_DESCRIPTION("vbus local connector: guest-side drivers on the host");
MODULE_LICENSE("GPL");
