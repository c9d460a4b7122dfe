// SPDX-License-Identifier: GPL-2.0
/*
 * A hostile venet driver for the VM suites: it attaches to a container
 * as an in-kernel client, opens its first device (a venet device with
 * two queue pairs) and breaks every rule of the protocol it can: wrong
 * call sizes and orders, reserved bits, rings before negotiation, garbage
 * rings, malformed headers and chains, then thousands of random packets
 * (random headers, flags, lengths and chains), a tx ring whose index runs
 * past the ring, and rx buffers that are too small.  It also has the
 * host send it a packet with xmit_more and drop the next (its link went
 * down): the first must still arrive.  Before all that it
 * renegotiates in a loop (open, NEGOTIATE, close): with nothing to change
 * that must not need rtnl, and changes must be spaced at the documented
 * rate, even when the waiting caller is woken early; a driver that takes
 * one queue pair of two shrinks the host netdev's transmit queues only.
 * Each refusal it expects is checked; the number of unmet expectations
 * is the read-only parameter "failures".  The host must stay healthy
 * meanwhile: the suite checks that no WARN fired and that a real driver
 * works afterwards.
 *
 * Buffers are always this module's own memory: the kernel memctx of an
 * in-kernel client cannot tell good kernel addresses from bad ones, so
 * only addresses it must refuse (zero, user space) are tried.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/etherdevice.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/random.h>
#include <linux/rtnetlink.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/timer.h>
#include <linux/workqueue.h>

#include <vbus/venet.h>
#include <vbus_client.h>
#include <vbus_ioq.h>

static char *container;
module_param(container, charp, 0444);
MODULE_PARM_DESC(container, "container whose first device is attacked");
static unsigned int packets = 20000;
module_param(packets, uint, 0444);
MODULE_PARM_DESC(packets, "random packets to send");
static int failures;
module_param(failures, int, 0444);
MODULE_PARM_DESC(failures, "expectations not met (read-only)");
static int rx_packets;
module_param(rx_packets, int, 0444);
MODULE_PARM_DESC(rx_packets, "rx completions with data, counted at unload");
static char *ifname;
module_param(ifname, charp, 0444);
MODULE_PARM_DESC(ifname, "the attacked device's host netdev");

#define RING		64
#define BUF_SIZE	(128 * 1024)

#define expect(cond) do {						\
	if (!(cond)) {							\
		failures++;						\
		pr_err("line %d: expected %s\n", __LINE__, #cond);	\
	}								\
} while (0)

struct hring {
	void *mem;
	struct vbus_ioq_driver q;
	u32 sig;
};

static struct vbus_client *client;
static u32 handle;
static struct hring tx0, tx1, rx0, rx1;
static u8 *buf;
static u8 *garbage;
static atomic_t signals = ATOMIC_INIT(0);

static void h_devadd(struct vbus_client *c, u32 id, const char *type)
{
}

static void h_devdrop(struct vbus_client *c, u32 id)
{
}

static void h_signal(struct vbus_client *c, u64 cookie)
{
	atomic_inc(&signals);
}

static const struct vbus_client_ops h_ops = {
	.devadd = h_devadd,
	.devdrop = h_devdrop,
	.signal = h_signal,
};

static u64 addr(const void *p)
{
	return (u64)(uintptr_t)p;
}

static long call(u32 func, void *arg, u32 len)
{
	return vbus_client_devcall(client, handle, func, addr(arg), len, 0);
}

static int ring_register(struct hring *r, u32 id)
{
	size_t len = VBUS_IOQ_SIZE(RING);

	r->mem = kzalloc(len, GFP_KERNEL);
	if (!r->mem)
		return -ENOMEM;
	vbus_ioq_drv_init(&r->q, r->mem, len, RING, 0);
	vbus_shm_signal_enable(&r->q.head->drv_signal);
	return vbus_client_devshm(client, handle, id, addr(r->mem), len, id,
				  &r->sig);
}

static void post(struct hring *r, const void *p, u32 len, u32 flags)
{
	struct vbus_ioq_buf b = {
		.addr = addr(p), .len = len, .flags = flags,
	};

	expect(vbus_ioq_drv_post(&r->q, &b) == 0);
}

/* Publish, ring the doorbell, give the device time to answer. */
static void kick(struct hring *r)
{
	vbus_ioq_drv_publish(&r->q);
	vbus_client_shmsignal(client, r->sig);
	msleep(100);
}

static int reclaim_all(struct hring *r)
{
	struct vbus_ioq_buf b;
	int n = 0;

	while (vbus_ioq_drv_reclaim(&r->q, &b) == 0)
		n++;
	return n;
}

/* Wait until the device completed everything posted on @r. */
static bool drain(struct hring *r, int *done)
{
	int i;

	for (i = 0; i < 200; i++) {
		*done += reclaim_all(r);
		if (!(r->q.avail - r->q.reclaimed))
			return true;
		msleep(20);
	}
	return false;
}

static void bad_calls(void)
{
	struct vbus_venet_config cfg;
	struct vbus_venet_negotiate neg = {};

	expect(call(VBUS_VENET_CALL_GET_CONFIG, &cfg, 10) == -EINVAL);
	expect(vbus_client_devcall(client, handle, VBUS_VENET_CALL_GET_CONFIG,
				   0, sizeof(cfg), 0) == -EFAULT);
	expect(call(VBUS_VENET_CALL_GET_CONFIG, &cfg, sizeof(cfg)) == 0);
	expect(le16_to_cpu(cfg.max_queue_pairs) == 2);
	expect(call(VBUS_VENET_CALL_LINK_UP, NULL, 0) == -EINVAL);
	expect(call(99, NULL, 0) == -EINVAL);
	expect(ring_register(&tx0, VBUS_VENET_SHM_TX(0)) == -EINVAL);
	kfree(tx0.mem);

	neg.features = cpu_to_le64(~0ULL);
	neg.queue_pairs = cpu_to_le16(2);
	expect(call(VBUS_VENET_CALL_NEGOTIATE, &neg, 4) == -EINVAL);
	neg.reserved[2] = 1;
	expect(call(VBUS_VENET_CALL_NEGOTIATE, &neg, sizeof(neg)) == -EINVAL);
	neg.reserved[2] = 0;
	neg.queue_pairs = 0;
	expect(call(VBUS_VENET_CALL_NEGOTIATE, &neg, sizeof(neg)) == -EINVAL);
	neg.queue_pairs = cpu_to_le16(3);
	expect(call(VBUS_VENET_CALL_NEGOTIATE, &neg, sizeof(neg)) == -EINVAL);
	neg.queue_pairs = cpu_to_le16(2);
	expect(call(VBUS_VENET_CALL_NEGOTIATE, &neg, sizeof(neg)) == 0);
	expect(le64_to_cpu(neg.features) == le64_to_cpu(cfg.features));
	expect(call(VBUS_VENET_CALL_NEGOTIATE, &neg, sizeof(neg)) == -EBUSY);
	expect(call(VBUS_VENET_CALL_LINK_UP, buf, 4) == -EINVAL);
	expect(call(VBUS_VENET_CALL_LINK_UP, NULL, 0) == 0);
}

static void bad_rings(void)
{
	u32 sig;

	memset(garbage, 0x5a, PAGE_SIZE);
	expect(vbus_client_devshm(client, handle, VBUS_VENET_SHM_TX(0),
				  addr(garbage), PAGE_SIZE, 0, &sig) == -EINVAL);
	expect(vbus_client_devshm(client, handle, VBUS_VENET_SHM_TX(2),
				  addr(garbage), PAGE_SIZE, 0, &sig) == -EINVAL);
	expect(vbus_client_devshm(client, handle, 12345, addr(garbage),
				  PAGE_SIZE, 0, &sig) == -EINVAL);
	expect(ring_register(&tx0, VBUS_VENET_SHM_TX(0)) == 0);
	expect(vbus_client_devshm(client, handle, VBUS_VENET_SHM_TX(0),
				  addr(tx0.mem), VBUS_IOQ_SIZE(RING), 0,
				  &sig) == -EBUSY);
	expect(ring_register(&tx1, VBUS_VENET_SHM_TX(1)) == 0);
	expect(ring_register(&rx0, VBUS_VENET_SHM_RX(0)) == 0);
	expect(ring_register(&rx1, VBUS_VENET_SHM_RX(1)) == 0);
}

/* A valid 60-byte broadcast frame of a local experimental ethertype. */
static void *frame_at(size_t off)
{
	u8 *f = buf + off;

	memset(f, 0, sizeof(struct vbus_venet_hdr) + 60);
	f += sizeof(struct vbus_venet_hdr);
	eth_broadcast_addr(f);
	memset(f + 6, 0x02, 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	return buf + off;
}

static void bad_packets(void)
{
	struct vbus_venet_hdr *h;
	int done = 0;

	post(&tx0, buf, 8, 0);				/* short header */
	h = frame_at(1024);
	h->flags = VBUS_VENET_HDR_F_NEEDS_CSUM;
	h->gso_type = VBUS_VENET_GSO_TCPV4;		/* gso_size 0 */
	post(&tx0, h, 76, 0);
	post(&tx0, NULL, 100, 0);			/* address zero */
	post(&tx0, (void *)0x1000, 100, 0);		/* user address */
	post(&tx0, frame_at(2048), 0xffffffff, 0);	/* huge length */
	post(&tx0, frame_at(3072), 76, 0x80);		/* unknown flag */
	h = frame_at(4096);
	h->reserved[2] = 1;				/* reserved byte */
	post(&tx0, h, 76, 0);
	h = frame_at(5120);
	h->flags = VBUS_VENET_HDR_F_NEEDS_CSUM;
	h->csum_start = cpu_to_le16(58);		/* csum past the end */
	h->csum_offset = cpu_to_le16(16);
	post(&tx0, h, 76, 0);
	h = frame_at(6144);
	post(&tx0, h, 16, VBUS_VENET_DESC_F_MORE);	/* a good packet */
	post(&tx0, buf + 6144 + 16, 60, 0);
	post(&tx0, frame_at(8192), 16 + 10000, 0);	/* too long, no GSO */
	kick(&tx0);
	expect(drain(&tx0, &done));
	expect(done == 11);

	/* A chain that never ends is cut at the ring's size. */
	for (done = 0; done < RING; done++)
		post(&tx0, buf, 0, VBUS_VENET_DESC_F_MORE);
	kick(&tx0);
	msleep(200);
	reclaim_all(&tx0);
}

/*
 * A header and frame start that pass the first checks most of the time,
 * so that the random values reach the deeper ones: GSO and checksum
 * fields, then the network stack's own parsing of IPv4 and IPv6.
 */
static void plausible_packet(u8 *p)
{
	static const u8 gso[] = { 0, 0, 1, 2, 0x81, 0x82, 3, 0x80 };
	struct vbus_venet_hdr *h = (struct vbus_venet_hdr *)p;
	u8 *f = p + sizeof(*h);

	memset(h, 0, sizeof(*h));
	h->flags = get_random_u32_below(4);
	h->gso_type = gso[get_random_u32_below(ARRAY_SIZE(gso))];
	h->hdr_len = cpu_to_le16(get_random_u32_below(256));
	h->gso_size = cpu_to_le16(get_random_u32_below(9100));
	h->csum_start = cpu_to_le16(get_random_u32_below(256));
	h->csum_offset = cpu_to_le16(get_random_u32_below(2) ? 16 : 6);
	memset(f, 0x02, 12);
	if (get_random_u32_below(2)) {
		f[12] = 0x08;			/* IPv4 */
		f[13] = 0x00;
		f[14] = 0x45;
		f[23] = get_random_u32_below(2) ? IPPROTO_TCP : IPPROTO_UDP;
	} else {
		f[12] = 0x86;			/* IPv6 */
		f[13] = 0xdd;
		f[14] = 0x60;
		f[20] = get_random_u32_below(2) ? IPPROTO_TCP : IPPROTO_UDP;
	}
}

/* Random headers, flags, lengths and chains, within our own buffer. */
static void random_packets(struct hring *r)
{
	unsigned int sent = 0;
	int done = 0;

	get_random_bytes(buf, BUF_SIZE);
	while (sent < packets) {
		u32 n = get_random_u32_below(4) + 1, i;
		u32 first = 0;

		if (vbus_ioq_drv_free(&r->q) < n) {
			vbus_ioq_drv_publish(&r->q);
			vbus_client_shmsignal(client, r->sig);
			if (!drain(r, &done))
				break;	/* the ring was abandoned */
		}
		for (i = 0; i < n; i++) {
			u32 len = get_random_u32_below(9100);
			u32 off = get_random_u32_below(BUF_SIZE - len - 64);

			if (i == 0) {
				first = off;
				len += 64;
			}
			post(r, buf + off, len,
			     i + 1 < n ? VBUS_VENET_DESC_F_MORE : 0);
		}
		/* Three packets in four look plausible at first sight. */
		if (get_random_u32_below(4))
			plausible_packet(buf + first);
		if (get_random_u32_below(8) == 0)	/* fresh garbage */
			get_random_bytes(buf + get_random_u32_below(BUF_SIZE - 64),
					 64);
		sent++;
		if (sent % 16 == 0 && vbus_ioq_drv_publish(&r->q))
			vbus_client_shmsignal(client, r->sig);
	}
	kick(r);
	drain(r, &done);
	pr_info("%u random packets sent, %d descriptors completed\n", sent,
		done);
	expect(sent == packets);
}

/*
 * Renegotiation.  The device spaces the changes a guest makes to its
 * netdev's features and queue pairs (Documentation/vbus/design.rst,
 * "Guest-driven control work"): four at once, then one per 100 ms.
 */
#define RENEG_BURST	4
#define RENEG_GAP	(HZ / 10)
#define RENEG_ALL	(~0ULL)
#define RENEG_LESS	(~(u64)VBUS_VENET_F_RX_TSO4)

/* One connection: open, NEGOTIATE @features on @qp queue pairs, close. */
static long reneg_cycle(u64 features, u16 qp)
{
	struct vbus_venet_negotiate *neg = (void *)buf;
	u32 version = VBUS_VENET_VERSION;
	u32 h;
	long ret;

	ret = vbus_client_devopen(client, 0, &version, &h);
	if (ret)
		return ret;
	memset(neg, 0, sizeof(*neg));
	neg->features = cpu_to_le64(features);
	neg->queue_pairs = cpu_to_le16(qp);
	ret = vbus_client_devcall(client, h, VBUS_VENET_CALL_NEGOTIATE,
				  addr(neg), sizeof(*neg), 0);
	if (vbus_client_devclose(client, h) && !ret)
		ret = -EBADF;
	return ret;
}

struct reneg_loop {
	struct work_struct work;
	struct completion done;
	int failed;
};

static void reneg_loop_fn(struct work_struct *work)
{
	struct reneg_loop *l = container_of(work, struct reneg_loop, work);
	int i;

	for (i = 0; i < 8; i++)
		if (reneg_cycle(RENEG_ALL, 2))
			l->failed++;
	complete(&l->done);
}

/* Wakes a task every tick: a sleep must survive early wake-ups. */
struct waker {
	struct timer_list timer;
	struct task_struct *task;
	bool stop;
};

static void waker_fn(struct timer_list *t)
{
	struct waker *w = from_timer(w, t, timer);

	wake_up_process(w->task);
	if (!READ_ONCE(w->stop))
		mod_timer(&w->timer, jiffies + 1);
}

static void renegotiation(void)
{
	struct waker w = { .task = current };
	struct reneg_loop l = { .failed = 0 };
	unsigned long t0;
	bool in_time;
	int i;

	expect(reneg_cycle(RENEG_ALL, 2) == 0);

	/*
	 * The same again and again, while rtnl is held here: neither the
	 * NEGOTIATE nor the close may need it.
	 */
	INIT_WORK_ONSTACK(&l.work, reneg_loop_fn);
	init_completion(&l.done);
	rtnl_lock();
	queue_work(system_unbound_wq, &l.work);
	in_time = wait_for_completion_timeout(&l.done, 5 * HZ);
	rtnl_unlock();
	expect(in_time);
	if (!in_time)
		wait_for_completion(&l.done);
	destroy_work_on_stack(&l.work);
	expect(l.failed == 0);

	/*
	 * Twelve changes: the last eight each wait for their turn, woken
	 * early at every tick meanwhile.
	 */
	timer_setup_on_stack(&w.timer, waker_fn, 0);
	mod_timer(&w.timer, jiffies + 1);
	t0 = jiffies;
	for (i = 0; i < 12; i++)
		expect(reneg_cycle(i & 1 ? RENEG_ALL : RENEG_LESS, 2) == 0);
	expect(time_after_eq(jiffies, t0 + (12 - RENEG_BURST) * RENEG_GAP));
	WRITE_ONCE(w.stop, true);
	del_timer_sync(&w.timer);
	destroy_timer_on_stack(&w.timer);
	pr_info("12 renegotiations took %u ms\n",
		jiffies_to_msecs(jiffies - t0));
}

/* The attacked device's host netdev, held; NULL (an unmet expectation). */
static struct net_device *host_netdev(void)
{
	struct net_device *dev;

	dev = ifname ? dev_get_by_name(&init_net, ifname) : NULL;
	expect(dev);
	return dev;
}

/*
 * A driver that takes one queue pair of the two: the host netdev then
 * transmits on one queue, and still receives on both (packets the last
 * driver sent on the second may still be on their way up, recorded as
 * received there).  Then both again.
 */
static void fewer_queues(void)
{
	struct net_device *dev;

	dev = host_netdev();
	if (!dev)
		return;
	expect(reneg_cycle(RENEG_ALL, 1) == 0);
	expect(dev->real_num_tx_queues == 1);
	expect(dev->real_num_rx_queues == 2);
	expect(reneg_cycle(RENEG_ALL, 2) == 0);
	expect(dev->real_num_tx_queues == 2);
	expect(dev->real_num_rx_queues == 2);
	dev_put(dev);
}

/*
 * The host netdev's transmit, as the stack calls it for a batch: with
 * the queue's lock held, bottom halves off, and xmit_more saying
 * whether more packets follow at once.
 */
static netdev_tx_t host_xmit(struct net_device *dev, u16 qi, bool more)
{
	struct netdev_queue *txq = netdev_get_tx_queue(dev, qi);
	struct sk_buff *skb;
	netdev_tx_t ret;
	struct ethhdr *eh;

	skb = alloc_skb(ETH_HLEN + 64, GFP_KERNEL);
	if (!skb)
		return NETDEV_TX_BUSY;
	eh = skb_put(skb, ETH_HLEN);
	eth_broadcast_addr(eh->h_dest);
	memset(eh->h_source, 2, ETH_ALEN);
	eh->h_proto = htons(ETH_P_802_EX1);
	skb_put_zero(skb, 64);
	skb->dev = dev;
	skb_set_queue_mapping(skb, qi);

	rcu_read_lock_bh();
	__netif_tx_lock(txq, smp_processor_id());
	ret = netdev_start_xmit(skb, dev, txq, more);
	__netif_tx_unlock(txq);
	rcu_read_unlock_bh();
	return ret;
}

/*
 * A packet sent with xmit_more waits for the kick of the one after it.
 * When that one is dropped (here: the guest's link went down between
 * the two), its drop must give the kick, or the first waits for the
 * next packet the host sends.
 */
static void xmit_more_then_drop(void)
{
	struct net_device *dev;
	int got = 0, i;

	dev = host_netdev();
	if (!dev)
		return;
	reclaim_all(&rx1);
	expect(host_xmit(dev, 1, true) == NETDEV_TX_OK);
	msleep(100);
	/* Held back for the rest of its batch. */
	expect(reclaim_all(&rx1) == 0);
	expect(call(VBUS_VENET_CALL_LINK_DOWN, NULL, 0) == 0);
	expect(host_xmit(dev, 1, false) == NETDEV_TX_OK);
	for (i = 0; i < 50 && !got; i++) {
		msleep(20);
		got = reclaim_all(&rx1);
	}
	expect(got == 1);
	expect(call(VBUS_VENET_CALL_LINK_UP, NULL, 0) == 0);
	dev_put(dev);
}

static int __init hostile_init(void)
{
	struct vbus_memctx *ctx;
	u32 version = 0;
	u32 h2;
	int i;

	buf = kzalloc(BUF_SIZE, GFP_KERNEL);
	garbage = kzalloc(PAGE_SIZE, GFP_KERNEL);
	ctx = vbus_memctx_kernel_create();
	if (!buf || !garbage || !ctx)
		goto nomem;
	client = vbus_client_attach(container, &h_ops, ctx, NULL);
	vbus_memctx_put(ctx);
	if (IS_ERR(client)) {
		kfree(buf);
		kfree(garbage);
		return PTR_ERR(client);
	}

	renegotiation();
	fewer_queues();

	expect(vbus_client_devopen(client, 0, &version, &handle) ==
	       -EPROTONOSUPPORT);
	version = 7;
	expect(vbus_client_devopen(client, 0, &version, &handle) == 0);
	expect(version == VBUS_VENET_VERSION);
	version = 1;
	expect(vbus_client_devopen(client, 0, &version, &h2) == -EBUSY);

	bad_calls();
	bad_rings();
	bad_packets();
	random_packets(&tx1);

	/* tx1 again, its index now far beyond the ring: only tx1 breaks. */
	WRITE_ONCE(tx1.q.head->avail_idx, cpu_to_le32(tx1.q.avail + 1000));
	vbus_client_shmsignal(client, tx1.sig);

	/* rx: a buffer too small for the header, then real ones. */
	post(&rx0, buf, 8, 0);
	for (i = 0; i < 16; i++) {
		post(&rx0, buf + 16384 + i * 4096, 4096, 0);
		post(&rx1, buf + 81920 + i * 2048, 2048, 0);
	}
	kick(&rx0);
	kick(&rx1);
	xmit_more_then_drop();
	pr_info("%d notifications so far, %d failures\n",
		atomic_read(&signals), failures);
	return 0;

nomem:
	if (ctx)
		vbus_memctx_put(ctx);
	kfree(buf);
	kfree(garbage);
	return -ENOMEM;
}

static void __exit hostile_exit(void)
{
	struct vbus_ioq_buf b;

	while (vbus_ioq_drv_reclaim(&rx0.q, &b) == 0 ||
	       vbus_ioq_drv_reclaim(&rx1.q, &b) == 0)
		if (b.len)
			rx_packets++;
	pr_info("%d rx completions with data\n", rx_packets);
	vbus_client_devclose(client, handle);
	vbus_client_detach(client);
	kfree(tx0.mem);
	kfree(tx1.mem);
	kfree(rx0.mem);
	kfree(rx1.mem);
	kfree(buf);
	kfree(garbage);
}

module_init(hostile_init);
module_exit(hostile_exit);

MODULE_DESCRIPTION("a hostile venet driver (tests)");
MODULE_LICENSE("GPL");
