// SPDX-License-Identifier: GPL-2.0
/*
 * A device class whose enable, disable and open wait at a gate, for the
 * VM suites: a device's own enable or disable may take long (venet's
 * unregisters a netdev, which waits for RCU grace periods), so may its
 * open (a charged allocation that reclaims), and none may make any
 * other device or tenant wait meanwhile.
 *
 * Write 1 to the parameter "closed": every enable, disable and open of a
 * "gate" device waits until 0 is written, or until GATE_MAX_MS have
 * passed: whoever waits behind it in D state stays within the 30 s of
 * the test VM's hung-task detector.  The parameter "waiting" says how
 * many wait now.  An open fails (EOPNOTSUPP) once past the gate.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/wait.h>

#include <vbus_device.h>

#define GATE_MAX_MS	25000

static DECLARE_WAIT_QUEUE_HEAD(gate_wq);
static bool gate_closed;
static atomic_t gate_waiting = ATOMIC_INIT(0);

static int gate_closed_set(const char *val, const struct kernel_param *kp)
{
	int ret = param_set_bool(val, kp);

	if (!ret)
		wake_up_all(&gate_wq);
	return ret;
}

static const struct kernel_param_ops gate_closed_ops = {
	.set = gate_closed_set,
	.get = param_get_bool,
};
module_param_cb(closed, &gate_closed_ops, &gate_closed, 0644);
MODULE_PARM_DESC(closed, "enables, disables and opens wait while set");

static int gate_waiting_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&gate_waiting));
}

static const struct kernel_param_ops gate_waiting_ops = {
	.get = gate_waiting_get,
};
module_param_cb(waiting, &gate_waiting_ops, NULL, 0444);
MODULE_PARM_DESC(waiting, "enables, disables and opens waiting now");

/* Idle, not uninterruptible: the wait is the test's doing. */
static void gate_pass(struct vbus_device *dev, const char *what)
{
	long left;

	atomic_inc(&gate_waiting);
	left = wait_event_idle_timeout(gate_wq, !READ_ONCE(gate_closed),
				       msecs_to_jiffies(GATE_MAX_MS));
	atomic_dec(&gate_waiting);
	if (!left)
		pr_info("%s of %s: the gate opened by itself after %d ms\n",
			what, config_item_name(&dev->group.cg_item),
			GATE_MAX_MS);
}

static int gate_enable(struct vbus_device *dev)
{
	gate_pass(dev, "enable");
	return 0;
}

static void gate_disable(struct vbus_device *dev)
{
	gate_pass(dev, "disable");
}

static int gate_open(struct vbus_device *dev, u32 *version,
		     struct vbus_connection *conn)
{
	gate_pass(dev, "open");
	return -EOPNOTSUPP;
}

static void gate_release(struct vbus_device *dev)
{
	kfree(dev);
}

static const struct vbus_device_ops gate_dev_ops = {
	.enable = gate_enable,
	.disable = gate_disable,
	.open = gate_open,
	.release = gate_release,
};

static struct vbus_device *gate_create(struct vbus_devclass *dc,
				       const char *name)
{
	struct vbus_device *dev = kzalloc(sizeof(*dev), GFP_KERNEL);

	if (!dev)
		return ERR_PTR(-ENOMEM);
	vbus_device_init(dev, dc, "gate", &gate_dev_ops);
	return dev;
}

static const struct vbus_devclass_ops gate_class_ops = {
	.create = gate_create,
};

static struct vbus_devclass gate_class = {
	.name = "gate",
	.owner = THIS_MODULE,
	.ops = &gate_class_ops,
};

module_vbus_devclass(gate_class);

MODULE_DESCRIPTION("vbus device class whose enable, disable and open wait (tests)");
MODULE_LICENSE("GPL");
