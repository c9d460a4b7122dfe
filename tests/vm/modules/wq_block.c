// SPDX-License-Identifier: GPL-2.0
/*
 * Holds back the per-CPU work items of one CPU, for the VM suites: a
 * work item queued there before a module goes runs only afterwards,
 * whatever the scheduler does.
 *
 * Write a CPU number to the parameter "block": a work item that never
 * sleeps starts on that CPU's normal worker pool (system_wq's, which
 * every per-CPU workqueue without WQ_HIGHPRI shares), and the write
 * returns once it runs.  A pool wakes another worker only when its
 * running ones sleep, so the work queued on that CPU afterwards, by any
 * per-CPU workqueue, waits behind it.  Write anything to "unblock": the
 * blocking item returns, and the write returns once a work item queued
 * after the held-back ones has run.  A block ends by itself after
 * BLOCK_MAX_MS, well within the workqueue watchdog's limit.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/workqueue.h>

#define BLOCK_MAX_MS	15000

/* The parameters' writes, one at a time. */
static DEFINE_MUTEX(wqb_lock);
static int wqb_cpu = -1;		/* under wqb_lock; -1: not blocking */
static bool wqb_stop;
static DECLARE_COMPLETION(wqb_started);

static void wqb_spin(struct work_struct *work)
{
	unsigned long end = jiffies + msecs_to_jiffies(BLOCK_MAX_MS);

	complete(&wqb_started);
	/* Preempted is not asleep: the pool still counts us running. */
	while (!READ_ONCE(wqb_stop) && time_before(jiffies, end))
		cond_resched();
	if (!READ_ONCE(wqb_stop))
		pr_info("block of CPU %d ended after %d ms\n",
			raw_smp_processor_id(), BLOCK_MAX_MS);
}

static void wqb_mark(struct work_struct *work)
{
}

static DECLARE_WORK(wqb_spin_work, wqb_spin);
static DECLARE_WORK(wqb_mark_work, wqb_mark);

/* End the block; with wqb_lock held. */
static void wqb_unblock(void)
{
	WRITE_ONCE(wqb_stop, true);
	flush_work(&wqb_spin_work);
	/* The pool runs its list in order: this one comes after them. */
	queue_work_on(wqb_cpu, system_wq, &wqb_mark_work);
	flush_work(&wqb_mark_work);
	pr_info("CPU %d unblocked\n", wqb_cpu);
	wqb_cpu = -1;
}

static int wqb_set_block(const char *val, const struct kernel_param *kp)
{
	unsigned int cpu;
	int ret;

	ret = kstrtouint(val, 0, &cpu);
	if (ret)
		return ret;
	if (cpu >= nr_cpu_ids || !cpu_online(cpu))
		return -EINVAL;
	mutex_lock(&wqb_lock);
	if (wqb_cpu >= 0) {
		ret = -EBUSY;
		goto out;
	}
	WRITE_ONCE(wqb_stop, false);
	reinit_completion(&wqb_started);
	queue_work_on(cpu, system_wq, &wqb_spin_work);
	wait_for_completion(&wqb_started);
	wqb_cpu = cpu;
	pr_info("CPU %u blocked\n", cpu);
out:
	mutex_unlock(&wqb_lock);
	return ret;
}

static int wqb_set_unblock(const char *val, const struct kernel_param *kp)
{
	int ret = 0;

	mutex_lock(&wqb_lock);
	if (wqb_cpu >= 0)
		wqb_unblock();
	else
		ret = -ENOENT;
	mutex_unlock(&wqb_lock);
	return ret;
}

static const struct kernel_param_ops wqb_block_ops = { .set = wqb_set_block };
static const struct kernel_param_ops wqb_unblock_ops = { .set = wqb_set_unblock };

module_param_cb(block, &wqb_block_ops, NULL, 0200);
MODULE_PARM_DESC(block, "hold back the per-CPU work items of this CPU");
module_param_cb(unblock, &wqb_unblock_ops, NULL, 0200);
MODULE_PARM_DESC(unblock, "let them run, and wait until they have");

static int __init wqb_init(void)
{
	return 0;
}

static void __exit wqb_exit(void)
{
	mutex_lock(&wqb_lock);
	if (wqb_cpu >= 0)
		wqb_unblock();
	mutex_unlock(&wqb_lock);
}

module_init(wqb_init);
module_exit(wqb_exit);

MODULE_DESCRIPTION("hold back one CPU's per-CPU work items");
MODULE_LICENSE("GPL");
