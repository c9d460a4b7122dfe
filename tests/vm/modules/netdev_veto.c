// SPDX-License-Identifier: GPL-2.0
/*
 * Refuses the registration of the net_devices of one driver, for the VM
 * suites: a driver's probe then takes the error path after its
 * register_netdev(), with everything it set up before, as a real
 * refusal by another subsystem's notifier would make it.
 *
 * Loaded with driver=NAME, it vetoes (EPERM) every NETDEV_REGISTER of
 * a net_device whose parent device is bound to the driver NAME (not of
 * those registered before it was loaded).  The
 * read-only parameter "vetoed" counts the refusals.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/device.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/notifier.h>
#include <linux/string.h>

static char *driver;
module_param(driver, charp, 0444);
MODULE_PARM_DESC(driver, "the driver whose net_devices are refused");

static atomic_t vetoed = ATOMIC_INIT(0);
/* Not the replay of existing net_devices at registration. */
static bool armed;
module_param_named(vetoed, vetoed.counter, int, 0444);
MODULE_PARM_DESC(vetoed, "registrations refused so far");

static bool veto_matches(struct net_device *dev)
{
	struct device *parent = dev->dev.parent;

	return parent && parent->driver &&
	       !strcmp(parent->driver->name, driver);
}

static int veto_event(struct notifier_block *nb, unsigned long event,
		      void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);

	if (event != NETDEV_REGISTER || !READ_ONCE(armed) ||
	    !veto_matches(dev))
		return NOTIFY_DONE;
	atomic_inc(&vetoed);
	return notifier_from_errno(-EPERM);
}

static struct notifier_block veto_nb = {
	.notifier_call = veto_event,
};

static int __init veto_init(void)
{
	int ret;

	if (!driver || !*driver)
		return -EINVAL;
	ret = register_netdevice_notifier(&veto_nb);
	if (!ret)
		WRITE_ONCE(armed, true);
	return ret;
}

static void __exit veto_exit(void)
{
	unregister_netdevice_notifier(&veto_nb);
}

module_init(veto_init);
module_exit(veto_exit);

MODULE_DESCRIPTION("refuses the net_devices of one driver (VM tests)");
MODULE_LICENSE("GPL");
