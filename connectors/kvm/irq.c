// SPDX-License-Identifier: GPL-2.0
/*
 * Doorbells and interrupts of the KVM connector.
 *
 * A doorbell slot is a guest port on which the VMM registered a KVM
 * ioeventfd.  A guest write to it signals the eventfd inside KVM, in the
 * vCPU's thread; our entry on the eventfd's wait queue then runs with the
 * queue's lock held and interrupts off, and hands the signal to the core
 * (vbus_client_shmsignal() runs the device's handler, which only
 * schedules its work).  The guest never exits to the VMM for it.
 *
 * An interrupt vector is an eventfd the VMM gave to KVM_IRQFD.  Signalling
 * it makes KVM inject the vector's MSI.  eventfd_signal() must not be
 * called from inside another eventfd's wake-up (the doorbell above), so a
 * notification raised there is deferred to a work item.
 *
 * Bounds: slot indexes stop at VKVM_MAX_DOORBELLS, vector indexes at
 * VKVM_MAX_VECTORS (-EINVAL past them), and an eventfd backs at most one
 * slot (-EBUSY), so one guest write runs one doorbell handler.  Slots and
 * vectors are charged to the VMM's memory cgroup.
 */

#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>

#include <vbus_client.h>

#include "vkvm.h"

/*
 * -------
 * vectors
 * -------
 */

static void vkvm_vector_work(struct work_struct *work)
{
	struct vkvm_vector *vec = container_of(work, struct vkvm_vector, work);

	eventfd_signal(vec->ctx, 1);
}

static void vkvm_vector_free(struct vkvm_vector *vec)
{
	cancel_work_sync(&vec->work);
	eventfd_ctx_put(vec->ctx);
	kfree(vec);
}

/**
 * vkvm_set_vector() - set or clear the irqfd of a vector
 * @v:		the bound VM
 * @index:	the vector, below %VKVM_MAX_VECTORS
 * @fd:		an eventfd, or -1 to clear
 *
 * Called with @v->lock held.  Return: 0 or a negative errno (-EINVAL:
 * @index out of range).
 */
int vkvm_set_vector(struct vkvm *v, u32 index, int fd)
{
	struct vkvm_vector *vec = NULL, *old;
	struct eventfd_ctx *ctx;

	if (index >= VKVM_MAX_VECTORS)
		return -EINVAL;
	if (fd != -1) {
		ctx = eventfd_ctx_fdget(fd);
		if (IS_ERR(ctx))
			return PTR_ERR(ctx);
		vec = kzalloc(sizeof(*vec), VBUS_GFP_CLIENT);
		if (!vec) {
			eventfd_ctx_put(ctx);
			return -ENOMEM;
		}
		vec->ctx = ctx;
		INIT_WORK(&vec->work, vkvm_vector_work);
	}

	old = xa_store(&v->vectors, index, vec, VBUS_GFP_CLIENT);
	if (xa_is_err(old)) {
		if (vec)
			vkvm_vector_free(vec);
		return xa_err(old);
	}
	if (old) {
		/* Readers found it under RCU; let them finish first. */
		synchronize_rcu();
		vkvm_vector_free(old);
	}
	return 0;
}

/**
 * vkvm_notify() - raise a vector's interrupt
 * @v:		the bound VM
 * @vector:	the vector; one the VMM has not set is ignored
 *
 * Any context.
 */
void vkvm_notify(struct vkvm *v, u32 vector)
{
	struct vkvm_vector *vec;

	rcu_read_lock();
	vec = xa_load(&v->vectors, vector);
	if (vec) {
		if (eventfd_signal_allowed())
			eventfd_signal(vec->ctx, 1);
		else
			schedule_work(&vec->work);
	}
	rcu_read_unlock();
}

/**
 * vkvm_irq_teardown_vectors() - drop every vector
 * @v: the VM, detached from its container: nothing notifies any more
 */
void vkvm_irq_teardown_vectors(struct vkvm *v)
{
	struct vkvm_vector *vec;
	unsigned long index;

	/* Notifications that started before the detach have finished. */
	synchronize_rcu();
	xa_for_each(&v->vectors, index, vec)
		vkvm_vector_free(vec);
	xa_destroy(&v->vectors);
}

/*
 * ---------
 * doorbells
 * ---------
 */

static int vkvm_doorbell_wake(wait_queue_entry_t *wait, unsigned int mode,
			      int sync, void *key)
{
	struct vkvm_slot *slot = container_of(wait, struct vkvm_slot, wait);
	__poll_t flags = key_to_poll(key);
	u64 binding, cnt;

	if (!(flags & EPOLLIN))
		return 0;

	/* Called with the queue's lock held, as eventfd_ctx_do_read() wants. */
	eventfd_ctx_do_read(slot->ctx, &cnt);
	binding = READ_ONCE(slot->binding);
	if (!binding ||
	    vbus_client_shmsignal(slot->vkvm->client, (u32)binding))
		atomic_inc(&slot->vkvm->stray_doorbells);
	return 0;
}

static void vkvm_doorbell_queue(struct file *file, wait_queue_head_t *wqh,
				poll_table *pt)
{
	struct vkvm_slot *slot = container_of(pt, struct vkvm_slot, pt);

	add_wait_queue(wqh, &slot->wait);
}

static void vkvm_slot_free(struct vkvm_slot *slot)
{
	u64 cnt;

	eventfd_ctx_remove_wait_queue(slot->ctx, &slot->wait, &cnt);
	eventfd_ctx_put(slot->ctx);
	kfree(slot);
}

/* Is @ctx the eventfd of a slot other than @index?  Under @v->lock. */
static bool vkvm_eventfd_used(struct vkvm *v, u32 index,
			      struct eventfd_ctx *ctx)
{
	struct vkvm_slot *slot;
	unsigned long i;

	xa_for_each(&v->slots, i, slot)
		if (i != index && slot->ctx == ctx)
			return true;
	return false;
}

/**
 * vkvm_set_doorbell() - set or clear the ioeventfd of a doorbell slot
 * @v:		the bound VM
 * @index:	the slot, below %VKVM_MAX_DOORBELLS
 * @fd:		an eventfd, or -1 to clear
 *
 * A slot assigned to a region cannot change, and an eventfd backs one
 * slot only: -EBUSY.  An @index out of range: -EINVAL.  Called with
 * @v->lock held.  Return: 0 or a negative errno.
 */
int vkvm_set_doorbell(struct vkvm *v, u32 index, int fd)
{
	struct vkvm_slot *slot = NULL, *old;
	struct fd f = { };
	int ret;

	if (index >= VKVM_MAX_DOORBELLS)
		return -EINVAL;
	old = xa_load(&v->slots, index);
	if (old && old->used)
		return -EBUSY;

	if (fd != -1) {
		f = fdget(fd);
		if (!f.file)
			return -EBADF;
		slot = kzalloc(sizeof(*slot), VBUS_GFP_CLIENT);
		if (!slot) {
			ret = -ENOMEM;
			goto err_put;
		}
		slot->ctx = eventfd_ctx_fileget(f.file);
		if (IS_ERR(slot->ctx)) {
			ret = PTR_ERR(slot->ctx);
			kfree(slot);
			goto err_put;
		}
		if (vkvm_eventfd_used(v, index, slot->ctx)) {
			ret = -EBUSY;
			eventfd_ctx_put(slot->ctx);
			kfree(slot);
			goto err_put;
		}
		slot->vkvm = v;
		init_waitqueue_func_entry(&slot->wait, vkvm_doorbell_wake);
		init_poll_funcptr(&slot->pt, vkvm_doorbell_queue);
	}

	old = xa_store(&v->slots, index, slot, VBUS_GFP_CLIENT);
	if (xa_is_err(old)) {
		ret = xa_err(old);
		if (slot) {
			eventfd_ctx_put(slot->ctx);
			kfree(slot);
		}
		goto err_put;
	}
	if (slot)
		vfs_poll(f.file, &slot->pt);	/* hooks our wait entry */
	if (old)
		vkvm_slot_free(old);
	ret = 0;
err_put:
	if (f.file)
		fdput(f);
	return ret;
}

/**
 * vkvm_irq_teardown_slots() - unhook every doorbell
 * @v: the VM; its guest is stopped or its client about to detach
 *
 * Once this returns no doorbell reaches the core.
 */
void vkvm_irq_teardown_slots(struct vkvm *v)
{
	struct vkvm_slot *slot;
	unsigned long index;

	xa_for_each(&v->slots, index, slot) {
		xa_erase(&v->slots, index);
		vkvm_slot_free(slot);
	}
	xa_destroy(&v->slots);
}
