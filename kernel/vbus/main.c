// SPDX-License-Identifier: GPL-2.0
/*
 * vbus: an in-kernel virtual bus for paravirtual I/O.
 *
 * This file holds module initialisation and the root of the configfs
 * administration tree, /sys/kernel/config/vbus.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/configfs.h>
#include <linux/module.h>

#include <vbus_abi_check.h>

static const struct config_item_type vbus_root_type = {
	.ct_owner = THIS_MODULE,
};

/*
 * The configfs subsystem.  configfs serialises all tree operations on
 * su_mutex; the subsystem object lives as long as the module.
 */
static struct configfs_subsystem vbus_subsys = {
	.su_group = {
		.cg_item = {
			.ci_namebuf = "vbus",
			.ci_type = &vbus_root_type,
		},
	},
};

static int __init vbus_init(void)
{
	int ret;

	config_group_init(&vbus_subsys.su_group);
	mutex_init(&vbus_subsys.su_mutex);

	ret = configfs_register_subsystem(&vbus_subsys);
	if (ret) {
		pr_err("cannot register the configfs subsystem: %d\n", ret);
		return ret;
	}
	return 0;
}

static void __exit vbus_exit(void)
{
	configfs_unregister_subsystem(&vbus_subsys);
}

module_init(vbus_init);
module_exit(vbus_exit);

MODULE_DESCRIPTION("vbus: in-kernel virtual bus for paravirtual I/O");
MODULE_LICENSE("GPL");
