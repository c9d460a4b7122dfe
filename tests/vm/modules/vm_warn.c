// SPDX-License-Identifier: GPL-2.0
/*
 * Harness self-test: a module whose only job is to WARN when loaded, so
 * the test suite can prove that a WARN inside the VM fails the run.
 */

#include <linux/bug.h>
#include <linux/module.h>

static int __init vm_warn_init(void)
{
	WARN(1, "vm_warn: warning on purpose for the harness self-test\n");
	return -EINVAL;
}

module_init(vm_warn_init);

MODULE_DESCRIPTION("VM harness self-test: WARN on load");
MODULE_LICENSE("GPL");
