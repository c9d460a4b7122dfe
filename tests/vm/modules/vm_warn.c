// SPDX-License-Identifier: GPL-2.0
/*
 * Harness self-test: a module that misbehaves on load in the way its
 * parameter asks, so the test suite can prove that the VM harness fails
 * the run for it.
 *
 *   what=warn	WARN (panic_on_warn turns it into a panic)
 *   what=spin	keep the CPU in kernel mode, never rescheduling, for a
 *		minute (the soft-lockup detector must panic first)
 *   what=hang	sleep uninterruptibly for two minutes (the hung-task
 *		detector must panic first)
 *   what=leak	allocate 256 bytes, forget the pointer and stay loaded
 *		(kmemleak must report it, naming this module)
 *
 * Only what=leak leaves the module loaded.
 */

#include <linux/bug.h>
#include <linux/delay.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>

static char *what = "warn";
module_param(what, charp, 0444);
MODULE_PARM_DESC(what, "how to misbehave: warn, spin, hang or leak");

/*
 * A separate frame, so no copy of the pointer stays in the caller's, and
 * in .text, so the leak's backtrace names this module: without the
 * barrier the compiler drops the memset of memory nobody reads and makes
 * the kmalloc() a tail call, leaving only the init function's frame,
 * whose code is freed before the scan.
 */
static noinline void vm_warn_leak(void)
{
	char *p = kmalloc(256, GFP_KERNEL);

	if (p)
		memset(p, 0x5a, 256);
	barrier_data(p);
}

/*
 * Overwrite the stack below the caller's frame, where the allocator's
 * frames left copies of the pointer: kmemleak scans a dead task's stack
 * while it waits in the stack cache, and would find them.
 */
static noinline void vm_warn_scrub(unsigned int depth)
{
	char buf[512];

	memzero_explicit(buf, sizeof(buf));
	if (depth)
		vm_warn_scrub(depth - 1);
	barrier_data(buf);
}

static int __init vm_warn_init(void)
{
	unsigned int i;

	if (!strcmp(what, "leak")) {
		vm_warn_leak();
		vm_warn_scrub(8);
		return 0;
	}
	if (!strcmp(what, "spin")) {
		for (i = 0; i < 600; i++)
			mdelay(100);
		return -ETIMEDOUT;
	}
	if (!strcmp(what, "hang")) {
		schedule_timeout_uninterruptible(120 * HZ);
		return -ETIMEDOUT;
	}
	WARN(1, "vm_warn: warning on purpose for the harness self-test\n");
	return -EINVAL;
}

static void __exit vm_warn_exit(void)
{
}

module_init(vm_warn_init);
module_exit(vm_warn_exit);

MODULE_DESCRIPTION("VM harness self-test: misbehave on load");
MODULE_LICENSE("GPL");
