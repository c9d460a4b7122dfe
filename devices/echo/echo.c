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
 * The ring is served by the core's ring engine (vbus_ring.h): echo only
 * says what to do with one descriptor.  A connection has at most one
 * ring; the engine follows it when its region moves, abandons it when
 * the client breaks the protocol (the client needs a new connection for
 * a new ring) and stops it when the connection closes.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/slab.h>

#include <vbus/echo.h>
#include <vbus_device.h>
#include <vbus_ring.h>

#define ECHO_MAX_LEN_LIMIT	65536

struct echo_device {
	struct vbus_device dev;
	u32 max_len;		/* under the core's config section */
};

/**
 * struct echo_conn - one open connection
 * @max_len:	the device's max_len, fixed at open
 * @ring:	the ring, served by the engine; its @shm is set once shm()
 *		accepted it (the core serialises shm() calls)
 * @call_buf:	max_len bytes, for calls (serialised by the core)
 * @ring_buf:	max_len bytes, for the ring's handler
 */
struct echo_conn {
	u32 max_len;
	struct vbus_ring ring;
	u8 *call_buf;
	u8 *ring_buf;
};

static struct echo_device *to_echo(struct vbus_device *dev)
{
	return container_of(dev, struct echo_device, dev);
}

/* Reverse the client's @len bytes at @addr in place, through @buf. */
static int echo_reverse(struct vbus_memctx *ctx, u8 *buf, u64 addr, u32 len)
{
	int ret = vbus_memctx_copy_from(ctx, buf, addr, len);
	u32 i;

	if (ret)
		return ret;
	for (i = 0; i < len / 2; i++)
		swap(buf[i], buf[len - 1 - i]);
	return vbus_memctx_copy_to(ctx, addr, buf, len);
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
	ret = echo_reverse(conn->ctx, ec->call_buf, addr, len);
	if (ret)
		return ret;
	return len;
}

/* Reverse every buffer the client posts, in place. */
static int echo_serve(struct vbus_ring *ring, struct vbus_ring_budget *b)
{
	struct echo_conn *ec = ring->priv;
	struct vbus_ioq_buf buf;
	u32 len;
	int ret;

	for (;;) {
		ret = vbus_ring_pop(ring, b, &buf);
		if (ret)
			return ret;
		len = min(buf.len, ec->max_len);
		b->items--;
		vbus_ring_charge(b, len);
		ret = echo_reverse(ring->ctx, ec->ring_buf, buf.addr, len);
		/* A buffer that was not the client's comes back empty. */
		vbus_ring_complete(ring, ret ? 0 : len, 0);
		vbus_ring_publish_batch(ring);
	}
}

static const struct vbus_ring_ops echo_ring_ops = {
	.serve = echo_serve,
	.kind = "echo",
	.flags = VBUS_RING_F_POLL,
};

static int echo_shm(struct vbus_connection *conn, u32 id,
		    struct vbus_memmap *shm, struct vbus_signal *signal)
{
	struct echo_conn *ec = conn->priv;
	struct vbus_ioq_device ioq;
	int ret;

	if (id != VBUS_ECHO_SHM_RING)
		return -EINVAL;
	/* One ring per connection: its region alone may move it. */
	if (ec->ring.shm)
		return -EBUSY;
	ret = vbus_ring_validate(shm, &ioq);
	if (ret)
		return ret;
	vbus_ring_attach(&ec->ring, &ioq, conn, shm, signal);
	return 0;
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
	.release = echo_release,
};

static int echo_open(struct vbus_device *dev, u32 *version,
		     struct vbus_connection *conn)
{
	struct echo_conn *ec;

	if (*version < VBUS_ECHO_VERSION)
		return -EPROTONOSUPPORT;
	*version = VBUS_ECHO_VERSION;

	ec = kzalloc(sizeof(*ec), VBUS_GFP_CLIENT);
	if (!ec)
		return -ENOMEM;
	conn->priv = ec;
	ec->max_len = to_echo(dev)->max_len;
	ec->call_buf = kvmalloc(ec->max_len, VBUS_GFP_CLIENT);
	ec->ring_buf = kvmalloc(ec->max_len, VBUS_GFP_CLIENT);
	if (!ec->call_buf || !ec->ring_buf) {
		echo_release(conn);
		return -ENOMEM;
	}
	vbus_ring_init(&ec->ring, &echo_ring_ops, dev, 0, ec);
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
	struct echo_device *echo = to_echo(vbus_device_from_item(item));

	return sprintf(page, "%u\n", READ_ONCE(echo->max_len));
}

static ssize_t echo_max_len_store(struct config_item *item, const char *page,
				  size_t count)
{
	struct echo_device *echo = to_echo(vbus_device_from_item(item));

	return vbus_device_store_u32(&echo->dev, page, count, &echo->max_len,
				     1, ECHO_MAX_LEN_LIMIT);
}

CONFIGFS_ATTR(echo_, max_len);

static struct configfs_attribute *echo_attrs[] = {
	&echo_attr_max_len,
	NULL,
};

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

module_vbus_devclass(echo_class);

MODULE_DESCRIPTION("vbus echo device class (for tests)");
MODULE_LICENSE("GPL");
