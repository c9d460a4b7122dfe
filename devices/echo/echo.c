// SPDX-License-Identifier: GPL-2.0
/*
 * The echo device class: a test device for the vbus core and its
 * connectors.  See include/uapi/vbus/echo.h for the protocol.
 *
 * Attributes: max_len, the longest buffer the device accepts (decimal, 1
 * to 65536, default 4096).
 *
 * Memory: each connection holds two max_len buffers (one for calls, one
 * for the ring's work item, so the two never wait for each other),
 * allocated when it opens and charged with it to the opener's memory
 * cgroup (VBUS_GFP_CLIENT): a client's connections cost it up to 128 KiB
 * each, within its own limit; past it the open fails with -ENOMEM.
 *
 * Ring processing runs in a work item: the client's doorbell arrives in
 * atomic context and the client's memory may only be reachable from a
 * sleepable one.  A connection has at most one ring; a ring that breaks
 * the protocol is abandoned, and the client needs a new connection for a
 * new one.
 *
 * Every run of the work item is bounded (ECHO_WORK_BUDGET descriptors,
 * ECHO_WORK_BYTES bytes) and requeues itself when the client posted more,
 * so a client that keeps the ring full shares the CPU with everything
 * else on the workqueue.  A run that finds the ring empty stops: a client
 * that only keeps setting its pending flag gets no further round.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include <vbus/echo.h>
#include <vbus_device.h>
#include <vbus_ioq.h>

#define ECHO_MAX_LEN_LIMIT	65536
#define ECHO_PUBLISH_BATCH	32
/* One run of the work item handles at most this many descriptors... */
#define ECHO_WORK_BUDGET	256
/* ...and this many bytes, then requeues itself. */
#define ECHO_WORK_BYTES		(512 * 1024)

struct echo_device {
	struct vbus_device dev;
	u32 max_len;		/* under the core's config section */
};

/**
 * struct echo_conn - one open connection
 * @echo:	the device
 * @max_len:	the device's max_len, fixed at open
 * @conn:	the core's connection
 * @work:	serves the ring
 * @ring:	the device's view of the ring.  Only @work uses it, and
 *		shm() and shm_moved() while @work is idle.
 * @signal:	the ring's signal, for notifications; like @ring
 * @shm:	the region holding the ring, NULL before one is accepted;
 *		set by shm(), which accepts one ring per connection, and
 *		compared by shm_moved() (the core serialises both)
 * @attached:	the ring may be served.  Set with release semantics by
 *		shm() once @ring and @signal are valid; cleared by close(),
 *		or by @work when the client breaks the protocol.  @work
 *		reads it with acquire semantics before anything else, and
 *		again before each descriptor, and returns when it is clear.
 * @moving:	shm_moved() is switching @ring to new memory: @work does
 *		nothing while it is set
 * @call_buf:	max_len bytes, for calls (serialised by the core)
 * @ring_buf:	max_len bytes, for @work
 */
struct echo_conn {
	struct echo_device *echo;
	u32 max_len;
	struct vbus_connection *conn;
	struct work_struct work;
	struct vbus_ioq_device ring;
	struct vbus_signal *signal;
	struct vbus_memmap *shm;
	bool attached;
	bool moving;
	u8 *call_buf;
	u8 *ring_buf;
};

static struct echo_device *to_echo(struct vbus_device *dev)
{
	return container_of(dev, struct echo_device, dev);
}

static void echo_reverse(u8 *p, size_t len)
{
	size_t i;

	for (i = 0; i < len / 2; i++)
		swap(p[i], p[len - 1 - i]);
}

static long echo_call(struct vbus_connection *conn, u32 func, u64 addr,
		      u32 len, u32 flags)
{
	struct echo_conn *ec = conn->priv;
	int ret;

	if (func != VBUS_ECHO_CALL_REVERSE)
		return -EINVAL;
	if (len > ec->max_len)
		return -EMSGSIZE;
	ret = vbus_memctx_copy_from(conn->ctx, ec->call_buf, addr, len);
	if (ret)
		return ret;
	echo_reverse(ec->call_buf, len);
	ret = vbus_memctx_copy_to(conn->ctx, addr, ec->call_buf, len);
	return ret ? ret : len;
}

/* For the work item: may the ring be used? */
static bool echo_ring_ok(struct echo_conn *ec)
{
	/* Pairs with echo_shm(): @ring and @signal are valid when set. */
	if (!smp_load_acquire(&ec->attached))
		return false;
	/* Pairs with echo_shm_moved(): the new view is set when clear. */
	return !smp_load_acquire(&ec->moving);
}

static void echo_ring_work(struct work_struct *work)
{
	struct echo_conn *ec = container_of(work, struct echo_conn, work);
	struct vbus_ioq_device *q = &ec->ring;
	struct vbus_memctx *ctx = ec->conn->ctx;
	unsigned int descs = 0, unpublished = 0;
	size_t bytes = 0;
	struct vbus_ioq_buf buf;
	bool notify = false;
	int ret;

	if (!echo_ring_ok(ec))
		return;
	vbus_shm_signal_ack(&q->head->dev_signal);
	/*
	 * One budget for the whole run, whatever the client does to its
	 * signal: a round after the ring looked empty is only made for a
	 * descriptor, and that descriptor is charged like the others.
	 */
	for (;;) {
		u32 len;

		if (!READ_ONCE(ec->attached))
			break;		/* closed: stop at once */
		if (descs >= ECHO_WORK_BUDGET || bytes >= ECHO_WORK_BYTES) {
			/* Let others run, then go on. */
			queue_work(system_wq, work);
			break;
		}
		ret = vbus_ioq_dev_pop(q, &buf);
		if (ret == -EAGAIN) {
			if (vbus_ioq_dev_enable(q))
				continue;
			break;
		}
		if (ret) {
			pr_notice_ratelimited("%s: client broke the ring protocol (%d); ring abandoned\n",
					      config_item_name(&ec->echo->dev.group.cg_item),
					      ret);
			WRITE_ONCE(ec->attached, false);
			break;
		}
		len = min(buf.len, ec->max_len);
		descs++;
		bytes += len;
		ret = vbus_memctx_copy_from(ctx, ec->ring_buf, buf.addr, len);
		if (!ret) {
			echo_reverse(ec->ring_buf, len);
			ret = vbus_memctx_copy_to(ctx, buf.addr, ec->ring_buf,
						  len);
		}
		if (ret)
			len = 0;	/* the buffer was not the client's */
		vbus_ioq_dev_complete(q, len, 0);
		/* Hand buffers back in batches, not one by one. */
		if (++unpublished == ECHO_PUBLISH_BATCH) {
			notify |= vbus_ioq_dev_publish(q);
			unpublished = 0;
		}
		cond_resched();
	}
	if (unpublished)
		notify |= vbus_ioq_dev_publish(q);
	if (notify)
		vbus_signal_notify(ec->signal);
}

static void echo_doorbell(struct vbus_signal *signal)
{
	struct echo_conn *ec = signal->priv;

	queue_work(system_wq, &ec->work);
}

static int echo_shm(struct vbus_connection *conn, u32 id,
		    struct vbus_memmap *shm, struct vbus_signal *signal)
{
	struct echo_conn *ec = conn->priv;
	int ret;

	if (id != VBUS_ECHO_SHM_RING)
		return -EINVAL;
	/* One ring per connection: its region alone may move it. */
	if (ec->shm)
		return -EBUSY;
	/* The work item is idle: nothing could queue it yet. */
	ret = vbus_ioq_dev_attach(&ec->ring, shm->ptr, shm->len);
	if (ret)
		return ret;
	ec->shm = shm;
	ec->signal = signal;
	/* The fields above are set before the work item can see the flag. */
	smp_store_release(&ec->attached, true);
	signal->priv = ec;
	/* A doorbell that finds the handler finds @priv set. */
	smp_store_release(&signal->handler, echo_doorbell);
	/* Listen for doorbells, and serve what was posted already. */
	vbus_shm_signal_enable(&ec->ring.head->dev_signal);
	queue_work(system_wq, &ec->work);
	return 0;
}

/* The client's memory under a region moved: follow it if it is the ring's. */
static void echo_shm_moved(struct vbus_connection *conn,
			   struct vbus_memmap *shm)
{
	struct echo_conn *ec = conn->priv;

	if (shm != ec->shm)
		return;
	/* Only the work item uses the ring: stop it, switch, restart. */
	WRITE_ONCE(ec->moving, true);
	/* A run that starts from now on sees @moving and returns. */
	cancel_work_sync(&ec->work);
	vbus_ioq_dev_move(&ec->ring, shm->ptr);
	/* Pairs with echo_ring_ok(): the new view is set when clear. */
	smp_store_release(&ec->moving, false);
	queue_work(system_wq, &ec->work);
}

static void echo_close(struct vbus_connection *conn)
{
	struct echo_conn *ec = conn->priv;

	/*
	 * Signals are already unreachable: no new work can be queued, and
	 * a run in progress stops before its next descriptor.
	 */
	WRITE_ONCE(ec->attached, false);
	cancel_work_sync(&ec->work);
}

static void echo_release(struct vbus_connection *conn)
{
	struct echo_conn *ec = conn->priv;

	kvfree(ec->call_buf);
	kvfree(ec->ring_buf);
	kfree(ec);
}

static const struct vbus_connection_ops echo_conn_ops = {
	.call = echo_call,
	.shm = echo_shm,
	.shm_moved = echo_shm_moved,
	.close = echo_close,
	.release = echo_release,
};

static int echo_open(struct vbus_device *dev, u32 *version,
		     struct vbus_connection *conn)
{
	struct echo_device *echo = to_echo(dev);
	struct echo_conn *ec;

	if (*version < VBUS_ECHO_VERSION)
		return -EPROTONOSUPPORT;
	*version = VBUS_ECHO_VERSION;

	ec = kzalloc(sizeof(*ec), VBUS_GFP_CLIENT);
	if (!ec)
		return -ENOMEM;
	conn->priv = ec;
	ec->max_len = echo->max_len;
	ec->call_buf = kvmalloc(ec->max_len, VBUS_GFP_CLIENT);
	ec->ring_buf = kvmalloc(ec->max_len, VBUS_GFP_CLIENT);
	if (!ec->call_buf || !ec->ring_buf) {
		echo_release(conn);
		return -ENOMEM;
	}
	ec->echo = echo;
	ec->conn = conn;
	INIT_WORK(&ec->work, echo_ring_work);
	conn->ops = &echo_conn_ops;
	return 0;
}

static void echo_dev_release(struct vbus_device *dev)
{
	kfree(to_echo(dev));
}

static const struct vbus_device_ops echo_dev_ops = {
	.open = echo_open,
	.release = echo_dev_release,
};

static ssize_t echo_max_len_show(struct config_item *item, char *page)
{
	return sprintf(page, "%u\n",
		       to_echo(vbus_device_from_item(item))->max_len);
}

static ssize_t echo_max_len_store(struct config_item *item, const char *page,
				  size_t count)
{
	struct vbus_device *dev = vbus_device_from_item(item);
	u32 val;
	int ret;

	if (kstrtou32(page, 10, &val) || !val || val > ECHO_MAX_LEN_LIMIT)
		return -EINVAL;
	ret = vbus_device_config_begin(dev);
	if (ret)
		return ret;
	to_echo(dev)->max_len = val;
	vbus_device_config_end(dev);
	return count;
}

CONFIGFS_ATTR(echo_, max_len);

static struct configfs_attribute *echo_attrs[] = {
	&echo_attr_max_len,
	NULL,
};

static struct vbus_devclass echo_class;

static struct vbus_device *echo_create(struct vbus_devclass *dc,
				       const char *name)
{
	struct echo_device *echo = kzalloc(sizeof(*echo), GFP_KERNEL);

	if (!echo)
		return ERR_PTR(-ENOMEM);
	vbus_device_init(&echo->dev, dc, VBUS_ECHO_TYPE, &echo_dev_ops);
	echo->max_len = 4096;
	return &echo->dev;
}

static const struct vbus_devclass_ops echo_class_ops = {
	.create = echo_create,
};

static struct vbus_devclass echo_class = {
	.name = "echo",
	.owner = THIS_MODULE,
	.ops = &echo_class_ops,
	.attrs = echo_attrs,
};

static int __init echo_init(void)
{
	return vbus_devclass_register(&echo_class);
}

static void __exit echo_exit(void)
{
	vbus_devclass_unregister(&echo_class);
}

module_init(echo_init);
module_exit(echo_exit);

MODULE_DESCRIPTION("vbus echo device class (for tests)");
MODULE_LICENSE("GPL");
