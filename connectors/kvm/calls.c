// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's calls and the bus events it fetches.
 *
 * A call arrives as the guest physical address of a struct vbus_kvm_call
 * that the VMM forwards from its vCPU thread (VBUS_KVM_CALL), so the call
 * runs in the VMM's mm and may sleep.  Everything in the page is read
 * once, checked, and only then used; the result and the out fields are
 * written back in one copy.
 */

#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include <vbus/kvm.h>
#include <vbus_client.h>
#include <vbus_memctx.h>

#include "vkvm.h"

/* The bytes of the call page after the event's fixed part. */
#define VKVM_EVENT_NAME_OFF	offsetof(struct vbus_kvm_call, u.event.name)
#define VKVM_EVENT_NAME_MAX	(PAGE_SIZE - VKVM_EVENT_NAME_OFF)

/**
 * vkvm_queue_event() - queue a bus event for the guest and tell it
 * @v:		the VM
 * @type:	VBUS_KVM_EVENT_DEVADD or _DEVDROP
 * @devid:	the device
 * @name:	its type string (DEVADD)
 *
 * Called from the core's event callbacks, with the core's lock held: it
 * only queues.  A DEVDROP cancels a DEVADD of the same device that the
 * guest has not fetched yet.  A guest that fetches nothing holds at most
 * %VKVM_MAX_EVENTS events; later ones are lost (and logged).  The
 * caller may be an administrator, but the VM pays: the event is charged
 * to the VMM's memory cgroup.  It is allocated without reclaim, since
 * the core's lock is every tenant's and a cgroup at its limit may take
 * long to reclaim from; memcg lets such an allocation exceed memory.max,
 * here by at most %VKVM_MAX_EVENTS small events, and the cgroup's next
 * allocation that may wait reclaims it back.
 */
void vkvm_queue_event(struct vkvm *v, u32 type, u32 devid, const char *name)
{
	const gfp_t gfp = GFP_ATOMIC | __GFP_ACCOUNT | __GFP_NOWARN;
	struct mem_cgroup *old_memcg;
	struct vkvm_event *ev, *pos;
	bool full;

	if (type == VBUS_KVM_EVENT_DEVDROP) {
		spin_lock(&v->event_lock);
		list_for_each_entry(pos, &v->events, node) {
			if (pos->devid == devid &&
			    pos->type == VBUS_KVM_EVENT_DEVADD) {
				list_del(&pos->node);
				v->nevents--;
				spin_unlock(&v->event_lock);
				kfree(pos->name);
				kfree(pos);
				return;
			}
		}
		spin_unlock(&v->event_lock);
	}

	/* Checked again below: a full queue allocates nothing. */
	spin_lock(&v->event_lock);
	full = v->nevents >= VKVM_MAX_EVENTS;
	spin_unlock(&v->event_lock);
	if (full)
		goto lost_full;

	old_memcg = set_active_memcg(vkvm_memctx_memcg(v->mem));
	ev = kzalloc(sizeof(*ev), gfp);
	if (ev && name) {
		ev->name = kstrdup(name, gfp);
		if (!ev->name) {
			kfree(ev);
			ev = NULL;
		}
	}
	set_active_memcg(old_memcg);
	if (!ev) {
		pr_warn_ratelimited("vbus_kvm: bus event of device %u lost: out of memory\n",
				    devid);
		return;
	}
	ev->type = type;
	ev->devid = devid;
	spin_lock(&v->event_lock);
	if (v->nevents >= VKVM_MAX_EVENTS) {
		spin_unlock(&v->event_lock);
		kfree(ev->name);
		kfree(ev);
		goto lost_full;
	}
	list_add_tail(&ev->node, &v->events);
	v->nevents++;
	spin_unlock(&v->event_lock);
	/*
	 * No interrupt outside a session (before the first HELLO, after a
	 * RESET): the guest fetches what is queued once it said HELLO, and
	 * the kernel that comes after a RESET must not get a stray one.
	 */
	if (READ_ONCE(v->version))
		vkvm_notify(v, VBUS_KVM_VECTOR_EVENTS);
	return;

lost_full:
	pr_warn_ratelimited("vbus_kvm: bus event of device %u lost: the guest has %u unread\n",
			    devid, VKVM_MAX_EVENTS);
}

/**
 * vkvm_free_events() - drop every queued event
 * @v: the VM
 *
 * Also called from the core's flush callback, with the core's lock held.
 */
void vkvm_free_events(struct vkvm *v)
{
	struct vkvm_event *ev, *tmp;
	LIST_HEAD(dropped);

	spin_lock(&v->event_lock);
	list_splice_init(&v->events, &dropped);
	v->nevents = 0;
	spin_unlock(&v->event_lock);
	list_for_each_entry_safe(ev, tmp, &dropped, node) {
		list_del(&ev->node);
		kfree(ev->name);
		kfree(ev);
	}
}

static long vkvm_op_event(struct vkvm *v, u64 gpa, struct vbus_kvm_event *e)
{
	u32 room = le32_to_cpu(e->type_len);
	struct vkvm_event *ev;
	size_t len = 0;
	int ret;

	if (e->reserved)
		return -EINVAL;
	/* Taken off while it is copied, so a DEVDROP cannot cancel it. */
	spin_lock(&v->event_lock);
	ev = list_first_entry_or_null(&v->events, struct vkvm_event, node);
	if (ev) {
		list_del(&ev->node);
		v->nevents--;
	}
	spin_unlock(&v->event_lock);
	if (!ev) {
		e->type = cpu_to_le32(VBUS_KVM_EVENT_NONE);
		e->devid = 0;
		e->type_len = 0;
		return 0;
	}

	ret = 0;
	if (ev->name) {
		len = strlen(ev->name);
		if (len > room || len > VKVM_EVENT_NAME_MAX)
			ret = -ENAMETOOLONG;
		else
			ret = vbus_memctx_copy_to(v->mem,
						  gpa + VKVM_EVENT_NAME_OFF,
						  ev->name, len);
	}
	if (ret) {
		/* Stays the oldest event (it may exceed the bound by one). */
		spin_lock(&v->event_lock);
		list_add(&ev->node, &v->events);
		v->nevents++;
		spin_unlock(&v->event_lock);
		return ret;
	}
	e->type = cpu_to_le32(ev->type);
	e->devid = cpu_to_le32(ev->devid);
	e->type_len = cpu_to_le32(len);
	kfree(ev->name);
	kfree(ev);
	return 0;
}

/*
 * Free the doorbell slots of the closed connection @conn, or of every
 * connection when @all; with @v->lock held.
 */
static void vkvm_release_slots(struct vkvm *v, u32 conn, bool all)
{
	struct vkvm_slot *slot;
	unsigned long index;

	xa_for_each(&v->slots, index, slot) {
		if (!slot->used || (!all && slot->conn != conn))
			continue;
		WRITE_ONCE(slot->binding, 0);
		slot->used = false;
		xa_erase(&v->cookies, slot->cookie);
	}
}

/**
 * vkvm_release_conn() - free the doorbell slots of a closed connection
 * @v:		the VM, with @v->lock held
 * @conn:	the connection handle the guest closed
 */
void vkvm_release_conn(struct vkvm *v, u32 conn)
{
	vkvm_release_slots(v, conn, false);
}

/*
 * HELLO and RESET: every connection closed, its slots free, the events
 * not yet fetched dropped (the core's flush callback), and for a HELLO
 * (@announce) a DEVADD queued for each device.  With @v->lock held.
 */
static void vkvm_reset(struct vkvm *v, bool announce)
{
	vbus_client_reset(v->client, announce);
	vkvm_release_slots(v, 0, true);
}

static long vkvm_op_devshm(struct vkvm *v, struct vbus_kvm_devshm *s)
{
	u64 cookie = le64_to_cpu(s->cookie);
	u32 vector = le32_to_cpu(s->vector);
	u32 handle = le32_to_cpu(s->handle);
	struct vkvm_slot *slot;
	unsigned long index;
	u32 signal;
	int ret;

	if (s->slot)
		return -EINVAL;
	if (vector == VBUS_KVM_VECTOR_EVENTS || !xa_load(&v->vectors, vector))
		return -EINVAL;
	xa_for_each(&v->slots, index, slot)
		if (!slot->used)
			break;
	if (!slot)
		return -ENOSPC;

	/* The device may notify before devshm returns: map the cookie first. */
	ret = xa_insert(&v->cookies, cookie, xa_mk_value(vector),
			VBUS_GFP_CLIENT);
	if (ret)
		return ret == -EBUSY ? -EEXIST : ret;
	ret = vbus_client_devshm(v->client, handle, le32_to_cpu(s->id),
				 le64_to_cpu(s->addr), le64_to_cpu(s->len),
				 cookie, &signal);
	if (ret) {
		xa_erase(&v->cookies, cookie);
		return ret;
	}
	slot->used = true;
	slot->conn = handle;
	slot->cookie = cookie;
	WRITE_ONCE(slot->binding, VKVM_SLOT_BOUND | signal);
	s->slot = cpu_to_le32(index);
	return 0;
}

static long vkvm_dispatch(struct vkvm *v, u64 gpa, struct vbus_kvm_call *c)
{
	u32 op = le32_to_cpu(c->op);
	long ret;

	if (c->reserved)
		return -EINVAL;
	if (op == VBUS_KVM_OP_HELLO) {
		u32 want = le32_to_cpu(c->u.hello.version);

		if (!want || c->u.hello.reserved)
			return -EINVAL;
		vkvm_reset(v, true);
		WRITE_ONCE(v->version, min_t(u32, want, VBUS_KVM_VERSION));
		c->u.hello.version = cpu_to_le32(v->version);
		return 0;
	}
	if (op == VBUS_KVM_OP_RESET) {
		WRITE_ONCE(v->version, 0);
		vkvm_reset(v, false);
		return 0;
	}
	if (!v->version)
		return -ENOTCONN;

	switch (op) {
	case VBUS_KVM_OP_EVENT:
		return vkvm_op_event(v, gpa, &c->u.event);
	case VBUS_KVM_OP_DEVOPEN: {
		struct vbus_kvm_devopen *o = &c->u.devopen;
		u32 version = le32_to_cpu(o->version), handle;

		if (o->handle || o->reserved)
			return -EINVAL;
		ret = vbus_client_devopen(v->client, le32_to_cpu(o->devid),
					  &version, &handle);
		if (ret)
			return ret;
		o->version = cpu_to_le32(version);
		o->handle = cpu_to_le32(handle);
		return 0;
	}
	case VBUS_KVM_OP_DEVCLOSE: {
		u32 handle = le32_to_cpu(c->u.devclose.handle);

		if (c->u.devclose.reserved)
			return -EINVAL;
		ret = vbus_client_devclose(v->client, handle);
		/* Also after a DEVDROP closed it for the guest. */
		vkvm_release_conn(v, handle);
		return ret;
	}
	case VBUS_KVM_OP_DEVCALL: {
		struct vbus_kvm_devcall *d = &c->u.devcall;

		return vbus_client_devcall(v->client, le32_to_cpu(d->handle),
					   le32_to_cpu(d->func),
					   le64_to_cpu(d->data),
					   le32_to_cpu(d->len),
					   le32_to_cpu(d->flags));
	}
	case VBUS_KVM_OP_DEVSHM:
		return vkvm_op_devshm(v, &c->u.devshm);
	default:
		return -EOPNOTSUPP;
	}
}

/**
 * vkvm_guest_call() - run the call the guest placed at @gpa
 * @v:		the bound VM, with @v->lock held, in the VMM's mm
 * @gpa:	the call page
 *
 * Return: 0 when the call ran (its own result is in the page), or
 * -EFAULT when the page is not guest memory.
 */
int vkvm_guest_call(struct vkvm *v, u64 gpa)
{
	struct vbus_kvm_call c;
	size_t out = sizeof(c);
	long result;

	if (vbus_memctx_copy_from(v->mem, &c, gpa, sizeof(c)))
		return -EFAULT;
	/* An event's type string follows its fixed part: leave it be. */
	if (le32_to_cpu(c.op) == VBUS_KVM_OP_EVENT)
		out = VKVM_EVENT_NAME_OFF;
	result = vkvm_dispatch(v, gpa, &c);
	c.result = cpu_to_le64(result);
	if (vbus_memctx_copy_to(v->mem, gpa, &c, out))
		return -EFAULT;
	return 0;
}
