// SPDX-License-Identifier: GPL-2.0
/*
 * An in-kernel client whose memctx this module implements, for the VM
 * suites: the core must keep a memctx's module loaded for as long as it
 * holds the memctx, and must remap a client's regions on the client's own
 * thread, not on a worker every client shares.
 *
 * Nothing happens at load.  Write a container's name to the parameter
 * "attach": the module attaches with a memctx of its own (kernel
 * addresses, like the core's), opens the first echo device announced and
 * registers a ring with it.  Write anything to "stale": the ring's
 * mapping is marked stale with vbus_memmap_stale(), and the core's remap
 * calls our remap(), which logs the task it runs on.  Write anything to
 * "detach": the module detaches and drops its own memctx reference.
 *
 * Write "CONTAINER ROUNDS" to "race": ROUNDS times, the module attaches
 * as an untrusted client (as a VMM does), registers its ring and
 * detaches at once.  Its unmap(), which the close runs with the
 * connection's lock held, marks the mapping stale, so the remap tries
 * the lock, fails and requeues itself a jiffy later; unmap() returns
 * when that retry's timer is about to fire, so that the close cancels
 * the remap as it fires (mct_race_unmap()).  Every round's memctx must
 * be released (the connection freed); the write fails with -EIO if one
 * was not.
 *
 * Write a container's name to "late": the module attaches as an
 * untrusted client whose signal op runs for LATE_SIGNAL_MS, posts a
 * buffer to the echo device with its completion signal on and, while
 * the device's notification is in that op, closes the connection and
 * detaches.  Both give up waiting for the device (the op holds up its
 * thread) well before the op ends, yet the detach must not return
 * before it: no op is called once vbus_client_detach() has returned
 * (vbus_client.h), and a connector frees what its ops use then.  The
 * write fails with -EIO if the op still ran when the detach returned.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/timer.h>

#include <vbus/echo.h>
#include <vbus_client.h>
#include <vbus_ioq.h>
#include <vbus_memctx.h>

#define RING_COUNT	16
#define RING_COOKIE	1

/* The parameters' writes, one at a time. */
static DEFINE_MUTEX(mct_lock);
static struct vbus_client *client;	/* under mct_lock */
static struct vbus_memctx *ctx;		/* under mct_lock */
static u8 *ring_mem;			/* under mct_lock */
static struct vbus_ioq_driver ring_q;	/* under mct_lock */
static u32 ring_handle, ring_sig;	/* under mct_lock */
static int echo_id = -1;		/* set by the attach's DEVADD */

/* The core's mapping of the ring, from map() until unmap(). */
static DEFINE_SPINLOCK(mct_map_lock);
static struct vbus_memmap *ring_map;	/* under mct_map_lock */

/* The race's rounds: unmap() marks the mapping stale and times the close. */
static bool mct_racing;			/* written under mct_timer_lock */
static unsigned int mct_race_round;	/* written under mct_lock */
static atomic_t mct_released = ATOMIC_INIT(0);

static void *mct_ptr(u64 addr, size_t len)
{
	if (!addr || addr + len < addr || addr < (u64)TASK_SIZE_MAX)
		return NULL;
	return (void *)(uintptr_t)addr;
}

static int mct_copy_to(struct vbus_memctx *c, u64 dst, const void *src,
		       size_t len)
{
	void *p = mct_ptr(dst, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

static int mct_copy_from(struct vbus_memctx *c, void *dst, u64 src,
			 size_t len)
{
	const void *p = mct_ptr(src, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

static int mct_map(struct vbus_memctx *c, u64 addr, size_t len,
		   struct vbus_memmap *map)
{
	void *p = mct_ptr(addr, len);

	if (!p)
		return -EFAULT;
	map->ptr = p;
	map->len = len;
	map->priv = NULL;
	spin_lock(&mct_map_lock);
	ring_map = map;
	spin_unlock(&mct_map_lock);
	return 0;
}

/* Kernel memory never moves; says which task asked. */
static int mct_remap(struct vbus_memctx *c, struct vbus_memmap *map,
		     struct vbus_memmap *moved)
{
	pr_info("remap on %s\n", current->comm);
	return 0;
}

/*
 * A race round's timer: armed on the other CPU for the jiffy the
 * remap's retry is due, after it, so it runs first in the same pass
 * of that CPU's timer softirq.  It lets the close go on, then holds
 * the remap's timer back a few microseconds more each round.
 */
static struct timer_list mct_race_timer;	/* under mct_timer_lock */
static bool mct_race_fired;
/* A close late from an earlier round must not arm it again. */
static DEFINE_MUTEX(mct_timer_lock);

static void mct_race_timer_fn(struct timer_list *t)
{
	/* Pairs with the acquire in mct_race_unmap(). */
	smp_store_release(&mct_race_fired, true);
	udelay(READ_ONCE(mct_race_round) % 64);
}

/*
 * In a race round, with the connection's lock held by the close: the
 * remap we ask for finds the lock taken and requeues itself a jiffy
 * later.  We spin meanwhile, so it runs on the other CPU, and its
 * timer is that CPU's.  When our timer fires there, we return: the
 * close releases the lock and cancels the remap just as the remap's
 * timer fires, a little earlier or later each round.
 */
static void mct_race_unmap(struct vbus_memmap *map)
{
	unsigned int cpu = cpumask_any_but(cpu_online_mask,
					   raw_smp_processor_id());
	unsigned long j = jiffies;
	ktime_t end;

	if (!mutex_trylock(&mct_timer_lock))
		return;
	if (!READ_ONCE(mct_racing))
		goto out;
	/* At the start of a jiffy: the retry is due in the next one. */
	while (!time_after(jiffies, j))
		cpu_relax();
	vbus_memmap_stale(map);
	/* Busy: the remap runs on the other CPU and retries there. */
	end = ktime_add_us(ktime_get(), 300);
	while (ktime_before(ktime_get(), end))
		cpu_relax();
	/* Still pending if the last round gave up waiting for it. */
	del_timer_sync(&mct_race_timer);
	WRITE_ONCE(mct_race_fired, false);
	mct_race_timer.expires = jiffies + 1;
	/* One CPU: no race to time, the round only closes. */
	if (cpu >= nr_cpu_ids)
		goto out;
	add_timer_on(&mct_race_timer, cpu);
	end = ktime_add_ms(ktime_get(), 20);
	/* Pairs with the release in mct_race_timer_fn(). */
	while (!smp_load_acquire(&mct_race_fired) &&
	       ktime_before(ktime_get(), end))
		cpu_relax();
out:
	mutex_unlock(&mct_timer_lock);
}

static void mct_unmap(struct vbus_memctx *c, struct vbus_memmap *map)
{
	/* The parameter's write holds mct_lock while it detaches. */
	if (READ_ONCE(mct_racing))
		mct_race_unmap(map);
	spin_lock(&mct_map_lock);
	if (ring_map == map)
		ring_map = NULL;
	spin_unlock(&mct_map_lock);
}

/* The late notification's state. */
#define LATE_SIGNAL_MS	(2 * VBUS_CLOSE_WAIT_MS + 2000)
enum { LATE_IDLE, LATE_IN_OP, LATE_DONE };
static bool mct_late;			/* written under mct_lock */
static atomic_t late_state = ATOMIC_INIT(LATE_IDLE);
static bool late_detached;		/* the detach has returned */
static bool late_op_saw_detach;		/* ... when the op ended */
static DECLARE_COMPLETION(late_released);
static u8 late_buf[16];

static void mct_release(struct vbus_memctx *c)
{
	if (READ_ONCE(mct_late))
		complete(&late_released);
	if (READ_ONCE(mct_racing))
		atomic_inc(&mct_released);
	else
		pr_info("memctx released\n");
	kfree(c);
}

static const struct vbus_memctx_ops mct_memctx_ops = {
	.copy_to = mct_copy_to,
	.copy_from = mct_copy_from,
	.map = mct_map,
	.remap = mct_remap,
	.unmap = mct_unmap,
	.release = mct_release,
	.owner = THIS_MODULE,
};

static void mct_devadd(struct vbus_client *c, u32 id, const char *type)
{
	if (echo_id < 0 && !strcmp(type, VBUS_ECHO_TYPE))
		echo_id = id;
}

static void mct_devdrop(struct vbus_client *c, u32 id)
{
}

static void mct_signal(struct vbus_client *c, u64 cookie)
{
}

static const struct vbus_client_ops mct_client_ops = {
	.devadd = mct_devadd,
	.devdrop = mct_devdrop,
	.signal = mct_signal,
};

/*
 * The late client's first notification runs long.  It is called in the
 * core's RCU read-side section: it spins, and neither sleeps nor yields.
 */
static void mct_late_signal(struct vbus_client *c, u64 cookie)
{
	ktime_t end = ktime_add_ms(ktime_get(), LATE_SIGNAL_MS);

	if (atomic_cmpxchg(&late_state, LATE_IDLE, LATE_IN_OP) != LATE_IDLE)
		return;
	while (ktime_before(ktime_get(), end))
		cpu_relax();
	WRITE_ONCE(late_op_saw_detach, READ_ONCE(late_detached));
	atomic_set_release(&late_state, LATE_DONE);
}

static const struct vbus_client_ops mct_late_client_ops = {
	.devadd = mct_devadd,
	.devdrop = mct_devdrop,
	.signal = mct_late_signal,
	.untrusted = true,
};

/* The race's client: a detach waits for the devices only for a while. */
static const struct vbus_client_ops mct_race_client_ops = {
	.devadd = mct_devadd,
	.devdrop = mct_devdrop,
	.signal = mct_signal,
	.untrusted = true,
};

/* Detach and drop our memctx reference; with mct_lock held. */
static void mct_detach(void)
{
	ktime_t start = ktime_get();

	vbus_client_detach(client);
	client = NULL;
	/*
	 * A trusted client's detach waited: nothing uses the ring.  A race
	 * round's untrusted one may have given up waiting: a connection
	 * still holds the ring's memory then, and it is left to it.
	 */
	if (!READ_ONCE(mct_racing) ||
	    ktime_ms_delta(ktime_get(), start) < VBUS_CLOSE_WAIT_MS)
		kfree(ring_mem);
	else
		pr_info("race: round %u: the detach gave up waiting\n",
			mct_race_round);
	ring_mem = NULL;
	vbus_memctx_put(ctx);
	ctx = NULL;
}

static int mct_open_ring(void)
{
	size_t len = VBUS_IOQ_SIZE(RING_COUNT);
	u32 version = VBUS_ECHO_VERSION;
	int ret;

	if (echo_id < 0)
		return -ENODEV;
	ret = vbus_client_devopen(client, echo_id, &version, &ring_handle);
	if (ret)
		return ret;
	ring_mem = kzalloc(len, GFP_KERNEL);
	if (!ring_mem)
		return -ENOMEM;
	ret = vbus_ioq_drv_init(&ring_q, ring_mem, len, RING_COUNT, 0);
	if (ret)
		return ret;
	return vbus_client_devshm(client, ring_handle, VBUS_ECHO_SHM_RING,
				  (u64)(uintptr_t)ring_mem, len, RING_COOKIE,
				  &ring_sig);
}

/* Attach to @name and register the ring; with mct_lock held. */
static int mct_attach(const char *name, const struct vbus_client_ops *ops)
{
	int ret;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	vbus_memctx_init(ctx, &mct_memctx_ops);
	echo_id = -1;
	client = vbus_client_attach(name, ops, ctx, NULL);
	if (IS_ERR(client)) {
		ret = PTR_ERR(client);
		client = NULL;
		vbus_memctx_put(ctx);
		ctx = NULL;
		return ret;
	}
	ret = mct_open_ring();
	if (ret)
		mct_detach();
	return ret;
}

/* A write naming a container: @fn(name) with mct_lock held, no client. */
static int mct_set_named(const char *val, const char *what,
			 int (*fn)(const char *name))
{
	char name[64];
	int ret;

	strscpy(name, val, sizeof(name));
	strim(name);
	mutex_lock(&mct_lock);
	ret = client ? -EBUSY : fn(name);
	mutex_unlock(&mct_lock);
	pr_info("%s %s: %d\n", what, name, ret);
	return ret;
}

static int mct_attach_plain(const char *name)
{
	return mct_attach(name, &mct_client_ops);
}

static int mct_set_attach(const char *val, const struct kernel_param *kp)
{
	return mct_set_named(val, "attach to", mct_attach_plain);
}

/* One race round; with mct_lock held. */
static int mct_race_once(const char *name)
{
	int ret;

	ret = mct_attach(name, &mct_race_client_ops);
	if (!ret)
		mct_detach();
	return ret;
}

static int mct_set_race(const char *val, const struct kernel_param *kp)
{
	unsigned int rounds, released;
	char name[64];
	int ret = 0;

	if (sscanf(val, "%63s %u", name, &rounds) != 2 || !rounds)
		return -EINVAL;
	mutex_lock(&mct_lock);
	if (client) {
		mutex_unlock(&mct_lock);
		return -EBUSY;
	}
	atomic_set(&mct_released, 0);
	mutex_lock(&mct_timer_lock);
	WRITE_ONCE(mct_racing, true);
	mutex_unlock(&mct_timer_lock);
	for (mct_race_round = 0; mct_race_round < rounds && !ret;
	     mct_race_round++)
		ret = mct_race_once(name);
	/* A round whose detach gave up: its close may still end. */
	for (released = 0; released < 30; released++) {
		if (atomic_read(&mct_released) == mct_race_round)
			break;
		msleep(100);
	}
	released = atomic_read(&mct_released);
	mutex_lock(&mct_timer_lock);
	WRITE_ONCE(mct_racing, false);
	del_timer_sync(&mct_race_timer);
	mutex_unlock(&mct_timer_lock);
	pr_info("race: %u rounds, %u memctx released: %d\n", mct_race_round,
		released, ret);
	if (!ret && released != mct_race_round)
		ret = -EIO;
	mutex_unlock(&mct_lock);
	return ret;
}

/* The late notification, with mct_lock held. */
static int mct_late_once(const char *name)
{
	struct vbus_ioq_buf buf = {
		.cookie = 1,
		.addr = (u64)(uintptr_t)late_buf,
		.len = sizeof(late_buf),
	};
	int ret, i;

	atomic_set(&late_state, LATE_IDLE);
	WRITE_ONCE(late_detached, false);
	reinit_completion(&late_released);
	WRITE_ONCE(mct_late, true);
	ret = mct_attach(name, &mct_late_client_ops);
	if (ret) {
		WRITE_ONCE(mct_late, false);
		return ret;
	}
	/* The device notifies the completion: the op runs then. */
	vbus_shm_signal_enable(&ring_q.head->drv_signal);
	vbus_ioq_drv_post(&ring_q, &buf);
	vbus_ioq_drv_publish(&ring_q);
	vbus_client_shmsignal(client, ring_sig);
	for (i = 0; i < 100 && atomic_read(&late_state) == LATE_IDLE; i++)
		msleep(50);
	if (atomic_read(&late_state) == LATE_IDLE)
		ret = -ETIMEDOUT;	/* never notified: nothing to test */
	vbus_client_devclose(client, ring_handle);
	vbus_client_detach(client);
	client = NULL;
	WRITE_ONCE(late_detached, true);
	for (i = 0; !ret && i < 2 * LATE_SIGNAL_MS / 50 &&
	     atomic_read_acquire(&late_state) != LATE_DONE; i++)
		msleep(50);
	if (!ret && READ_ONCE(late_op_saw_detach))
		ret = -EIO;
	if (ret != -ETIMEDOUT)
		pr_info("late: the op %s when the detach returned\n",
			ret == -EIO ? "still ran" : "was over");
	/* The connection holds the ring until it finishes closing. */
	vbus_memctx_put(ctx);
	ctx = NULL;
	if (wait_for_completion_timeout(&late_released, 10 * HZ))
		kfree(ring_mem);
	else
		pr_info("late: the memctx lives on; the ring is left to it\n");
	ring_mem = NULL;
	WRITE_ONCE(mct_late, false);
	return ret;
}

static int mct_set_late(const char *val, const struct kernel_param *kp)
{
	return mct_set_named(val, "late: in", mct_late_once);
}

static int mct_set_stale(const char *val, const struct kernel_param *kp)
{
	int ret = -ENOENT;

	spin_lock(&mct_map_lock);
	if (ring_map) {
		vbus_memmap_stale(ring_map);
		ret = 0;
	}
	spin_unlock(&mct_map_lock);
	pr_info("stale on CPU %d: %d\n", raw_smp_processor_id(), ret);
	return ret;
}

static int mct_set_detach(const char *val, const struct kernel_param *kp)
{
	int ret = 0;

	mutex_lock(&mct_lock);
	if (client)
		mct_detach();
	else
		ret = -ENOENT;
	mutex_unlock(&mct_lock);
	pr_info("detached: %d\n", ret);
	return ret;
}

static const struct kernel_param_ops mct_attach_ops = { .set = mct_set_attach };
static const struct kernel_param_ops mct_stale_ops = { .set = mct_set_stale };
static const struct kernel_param_ops mct_detach_ops = { .set = mct_set_detach };
static const struct kernel_param_ops mct_race_ops = { .set = mct_set_race };
static const struct kernel_param_ops mct_late_ops = { .set = mct_set_late };

module_param_cb(attach, &mct_attach_ops, NULL, 0200);
MODULE_PARM_DESC(attach, "attach to this container and open its echo device");
module_param_cb(stale, &mct_stale_ops, NULL, 0200);
MODULE_PARM_DESC(stale, "mark the ring's mapping stale");
module_param_cb(detach, &mct_detach_ops, NULL, 0200);
MODULE_PARM_DESC(detach, "detach and drop the memctx");
module_param_cb(race, &mct_race_ops, NULL, 0200);
MODULE_PARM_DESC(race, "CONTAINER ROUNDS: close while a remap retries");
module_param_cb(late, &mct_late_ops, NULL, 0200);
MODULE_PARM_DESC(late, "CONTAINER: close and detach while a notification runs");

static int __init mct_init(void)
{
	timer_setup(&mct_race_timer, mct_race_timer_fn, 0);
	return 0;
}

static void __exit mct_exit(void)
{
	mutex_lock(&mct_lock);
	if (client)
		mct_detach();
	mutex_unlock(&mct_lock);
	del_timer_sync(&mct_race_timer);
}

module_init(mct_init);
module_exit(mct_exit);

MODULE_DESCRIPTION("vbus test client with a memctx of its own");
MODULE_LICENSE("GPL");
