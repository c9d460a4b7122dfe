// SPDX-License-Identifier: GPL-2.0
/*
 * Keeps an invalidation of a process's address space in progress, for
 * the VM suites.  A process whose threads keep overlapping invalidations
 * going (madvise(MADV_DONTNEED) calls on several threads) makes every
 * mmu_interval_notifier_remove() on its address space wait for as long
 * as it does; this module stands in for those threads with one that
 * cannot finish until the test lets it.
 *
 * A process writes "ADDR LEN" to the parameter "watch": the module
 * watches that range of the writer's address space (one range at a
 * time; "0 0" stops watching).  While 1 is written to "closed", an
 * invalidation of the range waits in the module's callback, as long as
 * it may sleep, until 0 is written or HOLD_MAX_MS have passed (within
 * the test VM's 30 s hung-task limit).  "waiting" says how many wait now.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/wait.h>

#define HOLD_MAX_MS	25000

static DECLARE_WAIT_QUEUE_HEAD(hold_wq);
static bool hold_closed;
static atomic_t hold_waiting = ATOMIC_INIT(0);

/* The watched range, under hold_lock. */
static DEFINE_MUTEX(hold_lock);
static struct mmu_interval_notifier hold_mni;
static bool hold_watching;

static bool hold_invalidate(struct mmu_interval_notifier *mni,
			    const struct mmu_notifier_range *range,
			    unsigned long cur_seq)
{
	if (mmu_notifier_range_blockable(range) &&
	    range->event != MMU_NOTIFY_RELEASE) {
		atomic_inc(&hold_waiting);
		if (!wait_event_idle_timeout(hold_wq, !READ_ONCE(hold_closed),
					     msecs_to_jiffies(HOLD_MAX_MS)))
			pr_info("an invalidation went on by itself after %d ms\n",
				HOLD_MAX_MS);
		atomic_dec(&hold_waiting);
	}
	mmu_interval_set_seq(mni, cur_seq);
	return true;
}

static const struct mmu_interval_notifier_ops hold_ops = {
	.invalidate = hold_invalidate,
};

static void hold_unwatch(void)
{
	if (hold_watching)
		mmu_interval_notifier_remove(&hold_mni);
	hold_watching = false;
}

static int hold_watch_set(const char *val, const struct kernel_param *kp)
{
	unsigned long addr, len;
	int ret = 0;

	if (sscanf(val, "%lx %lu", &addr, &len) != 2)
		return -EINVAL;
	mutex_lock(&hold_lock);
	if (!addr && !len) {
		hold_unwatch();
	} else if (hold_watching || !current->mm || !len) {
		ret = hold_watching ? -EBUSY : -EINVAL;
	} else {
		ret = mmu_interval_notifier_insert(&hold_mni, current->mm,
						   addr, len, &hold_ops);
		hold_watching = !ret;
	}
	mutex_unlock(&hold_lock);
	return ret;
}

static const struct kernel_param_ops hold_watch_ops = {
	.set = hold_watch_set,
};
module_param_cb(watch, &hold_watch_ops, NULL, 0200);
MODULE_PARM_DESC(watch, "\"ADDR LEN\" (hex, decimal) of the writer's memory; \"0 0\" stops");

static int hold_closed_set(const char *val, const struct kernel_param *kp)
{
	int ret = param_set_bool(val, kp);

	if (!ret)
		wake_up_all(&hold_wq);
	return ret;
}

static const struct kernel_param_ops hold_closed_ops = {
	.set = hold_closed_set,
	.get = param_get_bool,
};
module_param_cb(closed, &hold_closed_ops, &hold_closed, 0644);
MODULE_PARM_DESC(closed, "invalidations of the watched range wait while set");

static int hold_waiting_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&hold_waiting));
}

static const struct kernel_param_ops hold_waiting_ops = {
	.get = hold_waiting_get,
};
module_param_cb(waiting, &hold_waiting_ops, NULL, 0444);
MODULE_PARM_DESC(waiting, "invalidations waiting now");

static int __init hold_init(void)
{
	return 0;
}

static void __exit hold_exit(void)
{
	WRITE_ONCE(hold_closed, false);
	wake_up_all(&hold_wq);
	mutex_lock(&hold_lock);
	hold_unwatch();
	mutex_unlock(&hold_lock);
}

module_init(hold_init);
module_exit(hold_exit);

MODULE_DESCRIPTION("keeps an invalidation of a process's memory in progress (tests)");
MODULE_LICENSE("GPL");
