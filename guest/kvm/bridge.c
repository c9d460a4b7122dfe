// SPDX-License-Identifier: GPL-2.0
/*
 * The vbus bridge: the KVM transport of the vbus-proxy bus, inside a
 * guest.
 *
 * The VMM exposes the container as one PCI function (include/uapi/vbus/
 * kvm.h).  Calls are written to a page and announced through the call
 * register; they exit to the VMM, which runs them in the host kernel
 * before the vCPU resumes, so a call is synchronous and may only be made
 * where sleeping is allowed.  Doorbells are writes to per-signal ports
 * that KVM turns into host-kernel events without an exit.  Interrupts are
 * MSI-X vectors: vector 0 says bus events are waiting, the others carry
 * region notifications, each region being given one of them round robin
 * (with enough vectors, every queue has its own), pointed at the CPU the
 * driver names for the region (a queue's CPU).
 *
 * The host reaches guest memory the way a PCI device does: everything it
 * reads or writes (the call page, call arguments, the drivers' regions
 * and buffers) is named by the DMA address the DMA API gives for the
 * bridge's PCI function, so that encrypted guests (SEV, TDX) share it
 * through decrypted memory or swiotlb.  Without an IOMMU that address
 * is the guest physical address the ABI speaks of.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-mapping.h>
#include <linux/idr.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>

#include <vbus/kvm.h>
#include <vbus_proxy.h>

/**
 * struct vbridge_sig - a region notified through a vector
 * @node:	in &struct vbridge_vec.sigs
 * @conn:	the connection it belongs to
 * @cookie:	the bus's cookie for it
 */
struct vbridge_sig {
	struct list_head node;
	u32 conn;
	u64 cookie;
};

/**
 * struct vbridge_vec - an MSI-X vector
 * @lock:	protects @sigs; taken in the vector's interrupt handler
 * @sigs:	the regions it notifies
 * @vb:		the bridge
 * @irq:	its Linux interrupt
 */
struct vbridge_vec {
	spinlock_t lock;		/* see above */
	struct list_head sigs;
	struct vbridge *vb;
	int irq;
};

/**
 * struct vbridge - one bridge function: one container
 * @pdev:	the PCI function
 * @call_reg:	BAR 0: the call register
 * @doorbells:	BAR 1: one port per doorbell slot
 * @nslots:	how many slots BAR 1 has
 * @call_lock:	one call at a time through @call
 * @call:	the call page (guest memory the host reads and writes),
 *		coherent DMA memory of @pdev
 * @call_dma:	its DMA address
 * @vecs:	@nvec vectors; 0 is the bus-event vector
 * @nvec:	how many
 * @next_vec:	round robin over vectors 1..@nvec-1 (under @call_lock)
 * @event_work:	fetches bus events after vector 0 fired
 * @id:		index in the bus name, kvm<id>
 * @bus:	the vbus-proxy bus; its release frees this structure
 */
struct vbridge {
	struct pci_dev *pdev;
	void __iomem *call_reg;
	void __iomem *doorbells;
	u32 nslots;
	struct mutex call_lock;	/* see above */
	struct vbus_kvm_call *call;
	dma_addr_t call_dma;
	struct vbridge_vec *vecs;
	int nvec;
	u32 next_vec;
	struct work_struct event_work;
	int id;
	struct vbus_proxy_bus bus;
};

/* The call register takes a frame number of 4 KiB frames (abi.rst). */
#define VBRIDGE_CALL_FRAME_SHIFT	12

static DEFINE_IDA(vbridge_ida);

static struct vbridge *bus_to_vb(struct vbus_proxy_bus *bus)
{
	return container_of(bus, struct vbridge, bus);
}

/*
 * -----
 * calls
 * -----
 */

/* Start a call of type @op; with @vb->call_lock held. */
static struct vbus_kvm_call *vbridge_call_begin(struct vbridge *vb, u32 op)
{
	mutex_lock(&vb->call_lock);
	memset(vb->call, 0, sizeof(*vb->call));
	vb->call->op = cpu_to_le32(op);
	return vb->call;
}

/* Run the call; the result is valid until vbridge_call_end(). */
static long vbridge_call_run(struct vbridge *vb)
{
	/* What a VMM that ignores the call leaves behind. */
	vb->call->result = cpu_to_le64((u64)-ENODEV);
	/* Port I/O orders the page's stores before it and loads after. */
	iowrite32(vb->call_dma >> VBRIDGE_CALL_FRAME_SHIFT,
		  vb->call_reg + VBUS_KVM_REG_CALL);
	return (long)le64_to_cpu(vb->call->result);
}

static void vbridge_call_end(struct vbridge *vb)
{
	mutex_unlock(&vb->call_lock);
}

/*
 * ---------
 * transport
 * ---------
 */

static int vbridge_open(struct vbus_proxy_bus *bus, u32 id, u32 *version,
			u32 *handle)
{
	struct vbridge *vb = bus_to_vb(bus);
	struct vbus_kvm_call *c;
	long ret;

	c = vbridge_call_begin(vb, VBUS_KVM_OP_DEVOPEN);
	c->u.devopen.devid = cpu_to_le32(id);
	c->u.devopen.version = cpu_to_le32(*version);
	ret = vbridge_call_run(vb);
	if (!ret) {
		*version = le32_to_cpu(c->u.devopen.version);
		*handle = le32_to_cpu(c->u.devopen.handle);
	}
	vbridge_call_end(vb);
	return ret;
}

/* Forget the regions of @conn; with @vb->call_lock held. */
static void vbridge_forget_conn(struct vbridge *vb, u32 conn)
{
	struct vbridge_sig *sig, *tmp;
	LIST_HEAD(dead);
	int i;

	for (i = 1; i < vb->nvec; i++) {
		struct vbridge_vec *vec = &vb->vecs[i];

		spin_lock_irq(&vec->lock);
		list_for_each_entry_safe(sig, tmp, &vec->sigs, node)
			if (sig->conn == conn)
				list_move(&sig->node, &dead);
		spin_unlock_irq(&vec->lock);
	}
	list_for_each_entry_safe(sig, tmp, &dead, node)
		kfree(sig);
}

static int vbridge_close(struct vbus_proxy_bus *bus, u32 handle)
{
	struct vbridge *vb = bus_to_vb(bus);
	struct vbus_kvm_call *c;
	long ret;

	c = vbridge_call_begin(vb, VBUS_KVM_OP_DEVCLOSE);
	c->u.devclose.handle = cpu_to_le32(handle);
	ret = vbridge_call_run(vb);
	vbridge_forget_conn(vb, handle);
	vbridge_call_end(vb);
	return ret;
}

static long vbridge_devcall(struct vbus_proxy_bus *bus, u32 handle, u32 func,
			    void *data, u32 len, u32 flags)
{
	struct vbridge *vb = bus_to_vb(bus);
	dma_addr_t bounce_dma = 0;
	struct vbus_kvm_call *c;
	void *bounce = NULL;
	long ret;

	/*
	 * @data may be anywhere (a vmap()ed stack) and private to an
	 * encrypted guest: the host gets a copy in memory shared with it.
	 */
	if (len) {
		bounce = dma_alloc_coherent(&vb->pdev->dev, len, &bounce_dma,
					    GFP_KERNEL);
		if (!bounce)
			return -ENOMEM;
		memcpy(bounce, data, len);
	}
	c = vbridge_call_begin(vb, VBUS_KVM_OP_DEVCALL);
	c->u.devcall.handle = cpu_to_le32(handle);
	c->u.devcall.func = cpu_to_le32(func);
	c->u.devcall.flags = cpu_to_le32(flags);
	c->u.devcall.len = cpu_to_le32(len);
	c->u.devcall.data = cpu_to_le64(bounce_dma);
	ret = vbridge_call_run(vb);
	vbridge_call_end(vb);
	if (bounce) {
		memcpy(data, bounce, len);
		dma_free_coherent(&vb->pdev->dev, len, bounce, bounce_dma);
	}
	return ret;
}

static int vbridge_shm(struct vbus_proxy_bus *bus, u32 handle, u32 id,
		       dma_addr_t addr, size_t len, u64 cookie, int cpu,
		       u32 *signal)
{
	struct vbridge *vb = bus_to_vb(bus);
	struct vbridge_vec *vec;
	struct vbridge_sig *sig;
	struct vbus_kvm_call *c;
	long ret;

	sig = kzalloc(sizeof(*sig), GFP_KERNEL);
	if (!sig)
		return -ENOMEM;
	sig->conn = handle;
	sig->cookie = cookie;

	c = vbridge_call_begin(vb, VBUS_KVM_OP_DEVSHM);
	vec = &vb->vecs[1 + vb->next_vec++ % (vb->nvec - 1)];
	/* The device may notify before the call returns. */
	spin_lock_irq(&vec->lock);
	list_add_tail(&sig->node, &vec->sigs);
	spin_unlock_irq(&vec->lock);

	c->u.devshm.handle = cpu_to_le32(handle);
	c->u.devshm.id = cpu_to_le32(id);
	c->u.devshm.addr = cpu_to_le64(addr);
	c->u.devshm.len = cpu_to_le64(len);
	c->u.devshm.cookie = cpu_to_le64(cookie);
	c->u.devshm.vector = cpu_to_le32(vec - vb->vecs);
	ret = vbridge_call_run(vb);
	if (!ret) {
		*signal = le32_to_cpu(c->u.devshm.slot);
		if (*signal >= vb->nslots)
			ret = -EPROTO;
	}
	/*
	 * The queue's CPU takes its interrupts (a vector shared by regions
	 * with different CPUs, when there are more regions than vectors,
	 * follows the last).  Best effort: the interrupt works anyway.
	 */
	if (!ret && cpu >= 0 && cpu_online(cpu))
		irq_set_affinity(vec->irq, cpumask_of(cpu));
	if (ret) {
		spin_lock_irq(&vec->lock);
		list_del(&sig->node);
		spin_unlock_irq(&vec->lock);
		kfree(sig);
	}
	vbridge_call_end(vb);
	return ret;
}

static int vbridge_kick(struct vbus_proxy_bus *bus, u32 signal)
{
	struct vbridge *vb = bus_to_vb(bus);

	if (signal >= vb->nslots)
		return -EINVAL;
	iowrite32(0, vb->doorbells + signal * VBUS_KVM_DOORBELL_STRIDE);
	return 0;
}

/*
 * Free the call page.  Done while the driver is bound (remove, or a
 * probe that failed), so that the PCI function's DMA setup is intact.
 */
static void vbridge_free_call(struct vbridge *vb)
{
	if (vb->call)
		dma_free_coherent(&vb->pdev->dev, PAGE_SIZE, vb->call,
				  vb->call_dma);
	vb->call = NULL;
}

static void vbridge_release(struct vbus_proxy_bus *bus)
{
	struct vbridge *vb = bus_to_vb(bus);

	/* Only left when vbus_proxy_bus_register() failed in probe. */
	vbridge_free_call(vb);
	ida_free(&vbridge_ida, vb->id);
	kfree(vb->bus.name);
	kfree(vb->vecs);
	kfree(vb);
}

static const struct vbus_proxy_transport_ops vbridge_transport_ops = {
	.open = vbridge_open,
	.close = vbridge_close,
	.call = vbridge_devcall,
	.shm = vbridge_shm,
	.kick = vbridge_kick,
	.release = vbridge_release,
};

/*
 * ----------------------
 * interrupts and events
 * ----------------------
 */

static irqreturn_t vbridge_signal_irq(int irq, void *data)
{
	struct vbridge_vec *vec = data;
	struct vbridge_sig *sig;

	spin_lock(&vec->lock);
	list_for_each_entry(sig, &vec->sigs, node)
		vbus_proxy_bus_signal(&vec->vb->bus, sig->cookie);
	spin_unlock(&vec->lock);
	return IRQ_HANDLED;
}

static irqreturn_t vbridge_event_irq(int irq, void *data)
{
	struct vbridge_vec *vec = data;

	schedule_work(&vec->vb->event_work);
	return IRQ_HANDLED;
}

/* Fetch every queued bus event and hand it to the bus. */
static void vbridge_event_work(struct work_struct *work)
{
	struct vbridge *vb = container_of(work, struct vbridge, event_work);
	const size_t room = PAGE_SIZE - sizeof(struct vbus_kvm_call);

	for (;;) {
		struct vbus_kvm_call *c;
		u32 type, devid, len;
		long ret;

		c = vbridge_call_begin(vb, VBUS_KVM_OP_EVENT);
		c->u.event.type_len = cpu_to_le32(room);
		ret = vbridge_call_run(vb);
		type = le32_to_cpu(c->u.event.type);
		devid = le32_to_cpu(c->u.event.devid);
		len = le32_to_cpu(c->u.event.type_len);
		if (ret || type == VBUS_KVM_EVENT_NONE) {
			vbridge_call_end(vb);
			if (ret)
				dev_warn_ratelimited(&vb->pdev->dev,
						     "bus event: %pe\n",
						     ERR_PTR(ret));
			return;
		}
		if (type == VBUS_KVM_EVENT_DEVADD && len < room) {
			c->u.event.name[len] = '\0';
			vbus_proxy_bus_devadd(&vb->bus, devid, c->u.event.name);
		} else if (type == VBUS_KVM_EVENT_DEVDROP) {
			vbus_proxy_bus_devdrop(&vb->bus, devid);
		} else {
			dev_warn_ratelimited(&vb->pdev->dev,
					     "bad bus event %u for device %u\n",
					     type, devid);
		}
		vbridge_call_end(vb);
	}
}

static void vbridge_free_vectors(struct vbridge *vb, int n)
{
	while (n-- > 0)
		free_irq(vb->vecs[n].irq, &vb->vecs[n]);
	pci_free_irq_vectors(vb->pdev);
	kfree(vb->vecs);
	vb->vecs = NULL;
	vb->nvec = 0;
}

/*
 * Region vectors per possible CPU, at most: enough for a few multiqueue
 * NICs, each queue on its own vector, and far below the ~200 interrupt
 * vectors an x86 CPU has for devices, which other drivers need too.
 */
#define VBRIDGE_VECTORS_PER_CPU	8

/*
 * Vector 0 is taken first but enabled last: its handler fetches the bus
 * events, and the drivers of the devices they announce give their
 * regions the other vectors, which must all be in place by then.  A VMM
 * may offer more vectors than the guest should take: the bridge takes
 * %VBRIDGE_VECTORS_PER_CPU per CPU, and the first vector that cannot be
 * taken (no interrupt vector left) ends the list; the regions share the
 * ones taken.  One besides vector 0 is the least.
 */
static int vbridge_setup_vectors(struct vbridge *vb)
{
	struct pci_dev *pdev = vb->pdev;
	int i, n, ret;

	n = pci_msix_vec_count(pdev);
	if (n < 2)
		return n < 0 ? n : -ENODEV;
	n = min_t(int, n, 1 + VBRIDGE_VECTORS_PER_CPU * num_possible_cpus());
	n = pci_alloc_irq_vectors(pdev, 2, n, PCI_IRQ_MSIX);
	if (n < 0)
		return n;
	vb->vecs = kcalloc(n, sizeof(*vb->vecs), GFP_KERNEL);
	if (!vb->vecs) {
		pci_free_irq_vectors(pdev);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		struct vbridge_vec *vec = &vb->vecs[i];

		spin_lock_init(&vec->lock);
		INIT_LIST_HEAD(&vec->sigs);
		vec->vb = vb;
		vec->irq = pci_irq_vector(pdev, i);
		ret = request_irq(vec->irq, i == VBUS_KVM_VECTOR_EVENTS ?
				  vbridge_event_irq : vbridge_signal_irq,
				  i == VBUS_KVM_VECTOR_EVENTS ? IRQF_NO_AUTOEN : 0,
				  "vbus-bridge", vec);
		if (ret)
			break;
	}
	if (i < 2) {
		vbridge_free_vectors(vb, i);
		return ret;
	}
	if (i < n)
		dev_notice(&pdev->dev, "%d of %d vectors taken: %pe\n", i, n,
			   ERR_PTR(ret));
	vb->nvec = i;
	enable_irq(vb->vecs[VBUS_KVM_VECTOR_EVENTS].irq);
	return 0;
}

/*
 * ----------
 * PCI driver
 * ----------
 */

static int vbridge_hello(struct vbridge *vb)
{
	struct vbus_kvm_call *c;
	long ret;

	c = vbridge_call_begin(vb, VBUS_KVM_OP_HELLO);
	c->u.hello.version = cpu_to_le32(VBUS_KVM_VERSION);
	ret = vbridge_call_run(vb);
	if (!ret && le32_to_cpu(c->u.hello.version) != VBUS_KVM_VERSION)
		ret = -EPROTO;
	vbridge_call_end(vb);
	return ret;
}

static int vbridge_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct vbridge *vb;
	int ret;

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	if (!(pci_resource_flags(pdev, VBUS_KVM_BAR_CALL) & IORESOURCE_IO) ||
	    !(pci_resource_flags(pdev, VBUS_KVM_BAR_DOORBELL) & IORESOURCE_IO) ||
	    pci_resource_len(pdev, VBUS_KVM_BAR_CALL) < VBUS_KVM_CALL_BAR_SIZE)
		return -ENODEV;
	ret = pcim_iomap_regions(pdev, BIT(VBUS_KVM_BAR_CALL) |
				 BIT(VBUS_KVM_BAR_DOORBELL), "vbus-bridge");
	if (ret)
		return ret;
	/* The host reaches any guest memory: no addressing limit. */
	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (ret) {
		dev_err(&pdev->dev, "no usable DMA configuration: %pe\n",
			ERR_PTR(ret));
		return ret;
	}
	pci_set_master(pdev);

	vb = kzalloc(sizeof(*vb), GFP_KERNEL);
	if (!vb)
		return -ENOMEM;
	vb->pdev = pdev;
	vb->call_reg = pcim_iomap_table(pdev)[VBUS_KVM_BAR_CALL];
	vb->doorbells = pcim_iomap_table(pdev)[VBUS_KVM_BAR_DOORBELL];
	vb->nslots = pci_resource_len(pdev, VBUS_KVM_BAR_DOORBELL) /
		     VBUS_KVM_DOORBELL_STRIDE;
	mutex_init(&vb->call_lock);
	INIT_WORK(&vb->event_work, vbridge_event_work);

	/* Page-aligned and zeroed, as dma_alloc_coherent() guarantees. */
	ret = -ENOMEM;
	vb->call = dma_alloc_coherent(&pdev->dev, PAGE_SIZE, &vb->call_dma,
				      GFP_KERNEL);
	if (!vb->call)
		goto err_free;
	ret = -ERANGE;	/* the call register holds a 32-bit frame number */
	if ((vb->call_dma >> VBRIDGE_CALL_FRAME_SHIFT) > U32_MAX)
		goto err_free;
	ret = vbridge_hello(vb);
	if (ret) {
		dev_err(&pdev->dev, "the host refused the bridge: %pe\n",
			ERR_PTR(ret));
		goto err_free;
	}

	ret = ida_alloc(&vbridge_ida, GFP_KERNEL);
	if (ret < 0)
		goto err_free;
	vb->id = ret;
	vb->bus.name = kasprintf(GFP_KERNEL, "kvm%d", vb->id);
	if (!vb->bus.name) {
		ida_free(&vbridge_ida, vb->id);
		ret = -ENOMEM;
		goto err_free;
	}
	vb->bus.ops = &vbridge_transport_ops;
	vb->bus.parent = &pdev->dev;
	vb->bus.dma_dev = &pdev->dev;
	/* From here on the bus's release frees @vb. */
	ret = vbus_proxy_bus_register(&vb->bus);
	if (ret)
		return ret;
	ret = vbridge_setup_vectors(vb);
	if (ret) {
		vbridge_free_call(vb);
		vbus_proxy_bus_unregister(&vb->bus);
		return ret;
	}
	pci_set_drvdata(pdev, vb);
	/* The devices already in the container wait as DEVADD events. */
	schedule_work(&vb->event_work);
	dev_info(&pdev->dev, "vbus %s: %d vectors, %u doorbells\n",
		 vb->bus.name, vb->nvec, vb->nslots);
	return 0;

err_free:
	vbridge_free_call(vb);
	kfree(vb);
	return ret;
}

static void vbridge_remove(struct pci_dev *pdev)
{
	struct vbridge *vb = pci_get_drvdata(pdev);

	/* No new events, then every driver closes its device ... */
	free_irq(vb->vecs[VBUS_KVM_VECTOR_EVENTS].irq,
		 &vb->vecs[VBUS_KVM_VECTOR_EVENTS]);
	cancel_work_sync(&vb->event_work);
	vbus_proxy_bus_remove_devices(&vb->bus);
	/* ... and no region is left to notify. */
	while (--vb->nvec > VBUS_KVM_VECTOR_EVENTS)
		free_irq(vb->vecs[vb->nvec].irq, &vb->vecs[vb->nvec]);
	pci_free_irq_vectors(pdev);
	/* No call is made any more. */
	vbridge_free_call(vb);
	vbus_proxy_bus_unregister(&vb->bus);
}

/*
 * Power-off, reboot and kexec.  The host writes to the memory the drivers
 * gave it (rings, receive buffers) without looking at the bus-master bit
 * that the PCI core clears before a kexec, and a kernel started by kexec
 * reuses that memory at once: the host must let go of it first.  A RESET
 * closes every connection on the host's side and ends the bus session;
 * the drivers here are left as they are (their calls fail from now on,
 * their doorbells reach nothing).  The next kernel's HELLO finds the
 * devices again.
 */
static void vbridge_shutdown(struct pci_dev *pdev)
{
	struct vbridge *vb = pci_get_drvdata(pdev);
	long ret;

	/* No more bus events: they would only fail now. */
	disable_irq(vb->vecs[VBUS_KVM_VECTOR_EVENTS].irq);
	cancel_work_sync(&vb->event_work);
	vbridge_call_begin(vb, VBUS_KVM_OP_RESET);
	ret = vbridge_call_run(vb);
	vbridge_call_end(vb);
	if (ret)
		dev_err(&pdev->dev, "the host did not reset the bus: %pe\n",
			ERR_PTR(ret));
}

static const struct pci_device_id vbridge_ids[] = {
	{ PCI_DEVICE(VBUS_KVM_PCI_VENDOR, VBUS_KVM_PCI_DEVICE) },
	{ }
};
MODULE_DEVICE_TABLE(pci, vbridge_ids);

static struct pci_driver vbridge_driver = {
	.name = "vbus-bridge",
	.id_table = vbridge_ids,
	.probe = vbridge_probe,
	.remove = vbridge_remove,
	.shutdown = vbridge_shutdown,
};
module_pci_driver(vbridge_driver);

MODULE_DESCRIPTION("vbus bridge: the KVM transport of the vbus-proxy bus");
MODULE_LICENSE("GPL");
