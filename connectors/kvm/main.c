// SPDX-License-Identifier: GPL-2.0
/*
 * The KVM connector: attaches a KVM guest to a vbus container.
 *
 * A VMM opens /dev/vbus-kvm and binds its VM to a container
 * (VBUS_KVM_BIND, with the core's permission check).  It then registers
 * KVM ioeventfds on the bridge's doorbell ports and KVM irqfds for its
 * MSI-X vectors, and gives us their eventfds; after that the data path
 * (doorbells in, interrupts out) never leaves the kernel.  The guest's
 * calls (the control path) exit to the VMM, which forwards each one
 * with VBUS_KVM_CALL from the vCPU thread that took the exit.
 *
 * Lifetime: everything hangs off the open file.  Its release (the VMM's
 * exit, kill -9 included) unhooks the doorbells, detaches the client
 * (closing every connection, which unmaps and unpins guest memory),
 * drops the vectors, the events and finally the VM reference.  Guest
 * memory is the VMM's, as its table says (memctx.c); the VM is only the
 * identity it bound.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kvm_host.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <vbus/kvm.h>
#include <vbus_abi_check.h>
#include <vbus_client.h>
#include <vbus_memctx.h>

#include "vkvm.h"

/* The VMs bound to a container: a VM binds once. */
static DEFINE_MUTEX(vkvm_bound_lock);
static LIST_HEAD(vkvm_bound);

/*
 * ------------------
 * events of the core
 * ------------------
 */

static void vkvm_devadd(struct vbus_client *client, u32 id, const char *type)
{
	vkvm_queue_event(vbus_client_priv(client), VBUS_KVM_EVENT_DEVADD, id,
			 type);
}

static void vkvm_devdrop(struct vbus_client *client, u32 id)
{
	vkvm_queue_event(vbus_client_priv(client), VBUS_KVM_EVENT_DEVDROP, id,
			 NULL);
}

/* Any context: the region's vector, found by the guest's cookie. */
static void vkvm_signal(struct vbus_client *client, u64 cookie)
{
	struct vkvm *v = vbus_client_priv(client);
	void *entry;

	rcu_read_lock();
	entry = xa_load(&v->cookies, cookie);
	if (xa_is_value(entry))
		vkvm_notify(v, xa_to_value(entry));
	rcu_read_unlock();
}

/* A HELLO or RESET starts over: what the guest has not fetched goes. */
static void vkvm_flush(struct vbus_client *client)
{
	vkvm_free_events(vbus_client_priv(client));
}

static const struct vbus_client_ops vkvm_client_ops = {
	.devadd = vkvm_devadd,
	.devdrop = vkvm_devdrop,
	.flush = vkvm_flush,
	.signal = vkvm_signal,
	/* A VMM's memory may never let a copy finish: don't wait for it. */
	.untrusted = true,
};

/*
 * ------
 * ioctls
 * ------
 */

/*
 * Only the process that created a VM may bind it: its memory is the
 * guest's, and KVM refuses every VM ioctl from another process (EIO).
 * Ask the VM a harmless question, as its VMM would, instead of looking
 * inside struct kvm.
 */
static bool vkvm_vm_is_ours(struct file *vm)
{
	return vm->f_op->unlocked_ioctl(vm, KVM_CHECK_EXTENSION,
					KVM_CAP_USER_MEMORY) >= 0;
}

static int vkvm_bind(struct vkvm *v, unsigned int cmd, void *arg)
{
	const struct vbus_kvm_bind *b = arg;
	struct vbus_client *client;
	struct vbus_memctx *mem;
	struct vkvm *other;
	struct kvm *kvm;
	struct fd f;
	char *name;
	int ret;

	if (!b->container_len)
		return -EINVAL;
	if (b->container_len > PATH_MAX)
		return -ENAMETOOLONG;
	if (v->kvm)
		return -EBUSY;

	f = fdget(b->vm_fd);
	if (!f.file)
		return -EBADF;
	if (!file_is_kvm(f.file)) {
		fdput(f);
		return -EINVAL;
	}
	if (!vkvm_vm_is_ours(f.file)) {
		fdput(f);
		return -EPERM;
	}
	kvm = f.file->private_data;
	kvm_get_kvm(kvm);
	fdput(f);

	name = memdup_user_nul(u64_to_user_ptr(b->container),
			       b->container_len);
	if (IS_ERR(name)) {
		ret = PTR_ERR(name);
		goto err_kvm;
	}
	ret = -EINVAL;
	if (strlen(name) != b->container_len)
		goto err_name;

	/*
	 * Claim the VM, so that a second bind of it fails at once, then
	 * attach without vkvm_bound_lock: the attach may wait for configfs,
	 * and every VM's bind and release take that lock.
	 */
	mutex_lock(&vkvm_bound_lock);
	list_for_each_entry(other, &vkvm_bound, node) {
		if (other->kvm == kvm) {
			mutex_unlock(&vkvm_bound_lock);
			ret = -EBUSY;
			goto err_name;
		}
	}
	v->kvm = kvm;
	list_add(&v->node, &vkvm_bound);
	mutex_unlock(&vkvm_bound_lock);

	ret = -ENOMEM;
	mem = vkvm_memctx_create();
	if (!mem)
		goto err_unclaim;
	/* Set first: DEVADD events of the attach need them. */
	v->mem = mem;
	client = vbus_client_attach(name, &vkvm_client_ops, mem, v);
	if (IS_ERR(client)) {
		ret = PTR_ERR(client);
		vkvm_free_events(v);
		v->mem = NULL;
		vbus_memctx_put(mem);
		goto err_unclaim;
	}
	v->client = client;
	kfree(name);
	return 0;

err_unclaim:
	mutex_lock(&vkvm_bound_lock);
	list_del_init(&v->node);
	mutex_unlock(&vkvm_bound_lock);
	v->kvm = NULL;
err_name:
	kfree(name);
err_kvm:
	kvm_put_kvm(kvm);
	return ret;
}

static int vkvm_ioctl_eventfd(struct vkvm *v, unsigned int cmd, void *arg)
{
	const struct vbus_kvm_eventfd *e = arg;

	if (e->fd < -1)
		return -EINVAL;
	if (_IOC_NR(cmd) == _IOC_NR(VBUS_KVM_SET_VECTOR))
		return vkvm_set_vector(v, e->index, e->fd);
	return vkvm_set_doorbell(v, e->index, e->fd);
}

/* VBUS_KVM_GET_LIMITS: what one VM may hold; constant, needs no bind. */
static int vkvm_get_limits(struct vkvm *v, unsigned int cmd, void *arg)
{
	struct vbus_kvm_limits *l = arg;

	l->doorbells = VKVM_MAX_DOORBELLS;
	l->vectors = VKVM_MAX_VECTORS;
	l->connections = VBUS_CLIENT_MAX_CONNS;
	l->regions = VBUS_CONN_MAX_REGIONS;
	l->region_len = VKVM_MAP_MAX;
	l->events = VKVM_MAX_EVENTS;
	l->mem_regions = VKVM_MAX_MEM_REGIONS;
	return 0;
}

static int vkvm_ioctl_mem_table(struct vkvm *v, unsigned int cmd, void *arg)
{
	return vkvm_memctx_set_table(v->mem, arg);
}

static int vkvm_ioctl_call(struct vkvm *v, unsigned int cmd, void *arg)
{
	const struct vbus_kvm_guest_call *c = arg;

	/* The page's fixed part and an event's type string share the page. */
	if (offset_in_page(c->gpa))
		return -EINVAL;
	/* Guest memory is reached through the VMM's mm. */
	if (!vkvm_memctx_is_vmm(v->mem))
		return -EPERM;
	return vkvm_guest_call(v, c->gpa);
}

/**
 * struct vkvm_ioctl_desc - one ioctl of /dev/vbus-kvm
 * @cmd:	its number as this kernel knows it: the direction and the
 *		size of the kernel's struct
 * @min_size:	the argument's first published size
 * @bound:	needs a bound VM (ENOTCONN before)
 * @fn:		the handler, with &struct vkvm.lock held; it reads its
 *		argument from, and writes it to, a kernel copy of
 *		_IOC_SIZE(@cmd) bytes
 */
struct vkvm_ioctl_desc {
	unsigned int cmd;
	unsigned short min_size;
	bool bound;
	int (*fn)(struct vkvm *v, unsigned int cmd, void *arg);
};

static const struct vkvm_ioctl_desc vkvm_ioctls[] = {
	[_IOC_NR(VBUS_KVM_BIND)] = {
		VBUS_KVM_BIND, VBUS_KVM_BIND_SIZE_VER0, false, vkvm_bind,
	},
	[_IOC_NR(VBUS_KVM_SET_VECTOR)] = {
		VBUS_KVM_SET_VECTOR, VBUS_KVM_EVENTFD_SIZE_VER0, true,
		vkvm_ioctl_eventfd,
	},
	[_IOC_NR(VBUS_KVM_SET_DOORBELL)] = {
		VBUS_KVM_SET_DOORBELL, VBUS_KVM_EVENTFD_SIZE_VER0, true,
		vkvm_ioctl_eventfd,
	},
	[_IOC_NR(VBUS_KVM_CALL)] = {
		VBUS_KVM_CALL, VBUS_KVM_GUEST_CALL_SIZE_VER0, true,
		vkvm_ioctl_call,
	},
	[_IOC_NR(VBUS_KVM_GET_LIMITS)] = {
		VBUS_KVM_GET_LIMITS, VBUS_KVM_LIMITS_SIZE_VER0, false,
		vkvm_get_limits,
	},
	[_IOC_NR(VBUS_KVM_SET_MEM_TABLE)] = {
		VBUS_KVM_SET_MEM_TABLE, VBUS_KVM_MEM_TABLE_SIZE_VER0, true,
		vkvm_ioctl_mem_table,
	},
};

/* Room for the largest argument the kernel knows: one member each. */
union vkvm_ioctl_arg {
	struct vbus_kvm_bind bind;
	struct vbus_kvm_eventfd eventfd;
	struct vbus_kvm_guest_call call;
	struct vbus_kvm_limits limits;
	struct vbus_kvm_mem_table mem_table;
};

/*
 * The ioctl argument rule of <vbus/kvm.h>, for every ioctl: the size is
 * _IOC_SIZE(@cmd) and nothing else (at most 16383 bytes); smaller than
 * the first published size is EINVAL, larger is read when its tail is
 * zero (E2BIG otherwise); an output argument gets min(size, ours) bytes
 * and zeroes after them.  A size error comes before ENOTCONN; the
 * fields are checked after the bind is.
 */
static long vkvm_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	size_t usize = _IOC_SIZE(cmd), nr = _IOC_NR(cmd), ksize;
	void __user *uarg = (void __user *)arg;
	struct vkvm *v = file->private_data;
	const struct vkvm_ioctl_desc *d;
	union vkvm_ioctl_arg k;
	long ret;

	if (_IOC_TYPE(cmd) != VBUS_KVM_IOC_MAGIC ||
	    nr >= ARRAY_SIZE(vkvm_ioctls))
		return -ENOTTY;
	d = &vkvm_ioctls[array_index_nospec(nr, ARRAY_SIZE(vkvm_ioctls))];
	if (!d->fn)
		return -ENOTTY;
	if (_IOC_DIR(cmd) != _IOC_DIR(d->cmd))
		return -ENOTTY;
	if (usize < d->min_size)
		return -EINVAL;
	ksize = _IOC_SIZE(d->cmd);

	memset(&k, 0, sizeof(k));
	if (_IOC_DIR(cmd) & _IOC_WRITE) {
		ret = copy_struct_from_user(&k, ksize, uarg, usize);
		if (ret)
			return ret;
	}

	/*
	 * A call holds the lock while it copies from the VMM's memory, and
	 * may sleep there for as long as the VMM leaves a fault unserved:
	 * its other threads wait killably, as for a connection's lock.
	 */
	if (mutex_lock_killable(&v->lock))
		return -EINTR;
	if (d->bound && !v->kvm)
		ret = -ENOTCONN;
	else
		ret = d->fn(v, cmd, &k);
	mutex_unlock(&v->lock);
	if (ret < 0 || !(_IOC_DIR(cmd) & _IOC_READ))
		return ret;

	if (copy_to_user(uarg, &k, min(usize, ksize)))
		return -EFAULT;
	if (usize > ksize && clear_user(uarg + ksize, usize - ksize))
		return -EFAULT;
	return ret;
}

/*
 * ------------------------
 * the character device
 * ------------------------
 */

static int vkvm_open(struct inode *inode, struct file *file)
{
	struct vkvm *v = kzalloc(sizeof(*v), VBUS_GFP_CLIENT);

	if (!v)
		return -ENOMEM;
	mutex_init(&v->lock);
	INIT_LIST_HEAD(&v->node);
	xa_init(&v->slots);
	xa_init(&v->vectors);
	xa_init(&v->cookies);
	spin_lock_init(&v->event_lock);
	INIT_LIST_HEAD(&v->events);
	file->private_data = v;
	return stream_open(inode, file);
}

static int vkvm_release(struct inode *inode, struct file *file)
{
	struct vkvm *v = file->private_data;

	/* Doorbells and vectors need a bind: an unbound file holds nothing. */
	if (v->kvm) {
		/* No doorbell reaches the core from here on ... */
		vkvm_irq_teardown_slots(v);
		/* ... every connection closes, guest memory is unpinned ... */
		vbus_client_detach(v->client);
		/* ... and nothing notifies the guest any more. */
		vkvm_irq_teardown_vectors(v);
		vkvm_free_events(v);
		xa_destroy(&v->cookies);

		mutex_lock(&vkvm_bound_lock);
		list_del(&v->node);
		mutex_unlock(&vkvm_bound_lock);
		vbus_memctx_put(v->mem);
		kvm_put_kvm(v->kvm);
	}
	kfree(v);
	return 0;
}

static const struct file_operations vkvm_fops = {
	.owner = THIS_MODULE,
	.open = vkvm_open,
	.release = vkvm_release,
	.unlocked_ioctl = vkvm_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice vkvm_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "vbus-kvm",
	.fops = &vkvm_fops,
};

module_misc_device(vkvm_misc);

MODULE_DESCRIPTION("vbus KVM connector: KVM guests on vbus containers");
MODULE_LICENSE("GPL");
