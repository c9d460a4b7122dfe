// SPDX-License-Identifier: GPL-2.0
/*
 * vbus: an in-kernel virtual bus for paravirtual I/O.
 *
 * Module initialisation.  The administration tree appears last and goes
 * first, so no configfs operation can reach a half-initialised core.
 * The module cannot be unloaded while any container or device exists
 * (configfs holds a reference for each) or while a device class or
 * connector module is loaded (they use its symbols).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

#include <vbus_abi_check.h>

#include "core.h"

/* Deferred frees of the core's objects. */
struct workqueue_struct *vbus_wq;

static int __init vbus_init(void)
{
	int ret;

	vbus_wq = alloc_workqueue("vbus", 0, 0);
	if (!vbus_wq)
		return -ENOMEM;
	/* Unbound: a device's close() may take long (it may sleep). */
	vbus_teardown_wq = alloc_workqueue("vbus_teardown", WQ_UNBOUND,
					   WQ_UNBOUND_MAX_ACTIVE);
	if (!vbus_teardown_wq) {
		ret = -ENOMEM;
		goto err_wq;
	}
	ret = vbus_netlink_init();
	if (ret) {
		pr_err("cannot register the netlink family: %d\n", ret);
		goto err_wq;
	}
	ret = vbus_configfs_init();
	if (ret) {
		pr_err("cannot register the configfs subsystem: %d\n", ret);
		goto err_netlink;
	}
	return 0;

err_netlink:
	vbus_netlink_exit();
err_wq:
	if (vbus_teardown_wq)
		destroy_workqueue(vbus_teardown_wq);
	destroy_workqueue(vbus_wq);
	return ret;
}

static void __exit vbus_exit(void)
{
	vbus_configfs_exit();
	vbus_netlink_exit();
	rcu_barrier();
	destroy_workqueue(vbus_teardown_wq);
	destroy_workqueue(vbus_wq);
}

module_init(vbus_init);
module_exit(vbus_exit);

MODULE_DESCRIPTION("vbus: in-kernel virtual bus for paravirtual I/O");
MODULE_LICENSE("GPL");
