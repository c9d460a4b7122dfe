// SPDX-License-Identifier: GPL-2.0
/*
 * An in-kernel vbus client for the VM suites.
 *
 * Loaded with container=NAME it attaches to the container and, unless
 * run=0, exercises the first echo device it is told about: version
 * negotiation, calls, bad ids and handles, and a ring of many buffers
 * through the IOQ and both signal directions, checking every byte.
 * Loading fails with the first error met (details in the kernel log).
 *
 * Without hold=1 it detaches when the run is over; with it, it stays
 * attached until unloaded.  The hotplug events it receives are counted
 * in the read-only parameters devadds and devdrops.
 *
 * With hold=1 and keep_open=1 it also opens the first echo device (or
 * the first of type open_type, or the device of id open_devid, announced
 * or not) and keeps it open until unloaded.
 *
 * With probe_uid=N it only tries to attach as user N without
 * CAP_NET_ADMIN and reports the result (0 or a negative errno) in the
 * read-only parameter probe_result; loading then succeeds.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/cred.h>
#include <linux/delay.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>

#include <vbus/echo.h>
#include <vbus_client.h>
#include <vbus_ioq.h>

static char *container;
module_param(container, charp, 0444);
MODULE_PARM_DESC(container, "container to attach to");
static bool run = true;
module_param(run, bool, 0444);
MODULE_PARM_DESC(run, "exercise the first echo device");
static bool hold;
module_param(hold, bool, 0444);
MODULE_PARM_DESC(hold, "stay attached until unloaded");
static bool keep_open;
module_param(keep_open, bool, 0444);
MODULE_PARM_DESC(keep_open, "with hold, keep the first echo device open");
static char *open_type = VBUS_ECHO_TYPE;
module_param(open_type, charp, 0444);
MODULE_PARM_DESC(open_type, "the type of device keep_open opens");
static int open_devid = -1;
module_param(open_devid, int, 0444);
MODULE_PARM_DESC(open_devid, "the id of the device keep_open opens (default: by type)");
static unsigned int buffers = 20000;
module_param(buffers, uint, 0444);
MODULE_PARM_DESC(buffers, "buffers to send through the echo ring");

static int probe_uid = -1;
module_param(probe_uid, int, 0444);
MODULE_PARM_DESC(probe_uid, "only try to attach as this uid, unprivileged");
static int probe_result = 1;
module_param(probe_result, int, 0444);
MODULE_PARM_DESC(probe_result, "result of the probe_uid attach");

static atomic_t devadds = ATOMIC_INIT(0);
static atomic_t devdrops = ATOMIC_INIT(0);
module_param_named(devadds, devadds.counter, int, 0444);
module_param_named(devdrops, devdrops.counter, int, 0444);

#define RING_COUNT	64
#define BUF_LEN		256
#define COOKIE		0xc0ffee

static struct vbus_client *client;
static struct vbus_memctx *ctx;
static int echo_id = -1;	/* first echo device announced */
static int open_id = -1;	/* first device of open_type announced */
static DECLARE_COMPLETION(ring_done);

static void tc_devadd(struct vbus_client *c, u32 id, const char *type)
{
	atomic_inc(&devadds);
	if (echo_id < 0 && !strcmp(type, VBUS_ECHO_TYPE))
		echo_id = id;
	if (open_id < 0 && !strcmp(type, open_type))
		open_id = id;
}

static void tc_devdrop(struct vbus_client *c, u32 id)
{
	atomic_inc(&devdrops);
}

static void tc_signal(struct vbus_client *c, u64 cookie)
{
	if (cookie == COOKIE)
		complete(&ring_done);
}

static const struct vbus_client_ops tc_ops = {
	.devadd = tc_devadd,
	.devdrop = tc_devdrop,
	.signal = tc_signal,
};

static __printf(4, 5) bool tc_check(bool ok, const char *func, int line,
				     const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	if (ok)
		return true;
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_err("FAIL %s:%d: %pV\n", func, line, &vaf);
	va_end(args);
	return false;
}

/* True when @cond holds; otherwise logs the failure and returns false. */
#define CHECK(cond, fmt, ...) \
	tc_check(cond, __func__, __LINE__, fmt, ##__VA_ARGS__)

static int tc_calls(u32 handle)
{
	static const char msg[] = "hello, vbus";
	char *buf = kzalloc(8192, GFP_KERNEL);
	long ret;
	size_t i;

	if (!buf)
		return -ENOMEM;
	memcpy(buf, msg, sizeof(msg) - 1);
	ret = vbus_client_devcall(client, handle, VBUS_ECHO_CALL_REVERSE,
				  (u64)(uintptr_t)buf, sizeof(msg) - 1, 0);
	for (i = 0; i < sizeof(msg) - 1; i++)
		if (buf[i] != msg[sizeof(msg) - 2 - i])
			break;
	kfree(buf);
	if (!CHECK(ret == sizeof(msg) - 1, "REVERSE returned %ld", ret))
		return -EPROTO;
	if (!CHECK(i == sizeof(msg) - 1, "REVERSE answer differs at byte %zu", i))
		return -EPROTO;

	ret = vbus_client_devcall(client, handle, VBUS_ECHO_CALL_REVERSE,
				  (u64)(uintptr_t)msg, 8192, 0);
	if (!CHECK(ret == -EMSGSIZE, "oversized call returned %ld", ret))
		return -EPROTO;
	ret = vbus_client_devcall(client, handle, 999, 0, 0, 0);
	if (!CHECK(ret == -EINVAL, "unknown function returned %ld", ret))
		return -EPROTO;
	ret = vbus_client_devcall(client, handle, VBUS_ECHO_CALL_REVERSE,
				  0x1000, 4, 0);
	if (!CHECK(ret == -EFAULT, "call on a bad address returned %ld", ret))
		return -EPROTO;
	ret = vbus_client_devcall(client, handle + 1000, 1, 0, 0, 0);
	if (!CHECK(ret == -EBADF, "call on a bad handle returned %ld", ret))
		return -EPROTO;
	pr_info("calls: ok\n");
	return 0;
}

static u8 pattern(u64 seq, size_t i)
{
	return (u8)(seq * 31 + i * 7);
}

/* Check a completed buffer: the device returned it reversed. */
static bool tc_check_buf(const struct vbus_ioq_buf *b, u64 seq)
{
	const u8 *p = (const u8 *)(uintptr_t)b->addr;
	size_t i;

	if (!CHECK(b->cookie == seq, "cookie %llu, expected %llu", b->cookie,
		   seq) ||
	    !CHECK(b->len == 1 + seq % BUF_LEN, "len %u for %llu", b->len, seq))
		return false;
	for (i = 0; i < b->len; i++)
		if (!CHECK(p[i] == pattern(seq, b->len - 1 - i),
			   "buffer %llu byte %zu", seq, i))
			return false;
	return true;
}

/*
 * Send @buffers buffers through the echo ring in @mem.  The memory stays
 * registered with the device until the connection is closed, so the
 * caller frees it only after closing.
 */
static int tc_ring(u32 handle, u8 *mem, size_t len, u8 *bufs)
{
	struct vbus_ioq_driver q;
	struct vbus_ioq_buf b;
	u64 posted = 0, done = 0;
	u32 sig, kicks = 0, waits = 0;
	int ret;

	ret = vbus_ioq_drv_init(&q, mem, len, RING_COUNT, 0xfffff000);
	if (!CHECK(!ret, "ring init %d", ret))
		return -EPROTO;

	ret = vbus_client_devshm(client, handle, 42, (u64)(uintptr_t)mem,
				 len, COOKIE, &sig);
	if (!CHECK(ret == -EINVAL, "shm with an unknown id returned %d", ret))
		return -EPROTO;
	ret = vbus_client_devshm(client, handle, VBUS_ECHO_SHM_RING,
				 (u64)(uintptr_t)mem, len, COOKIE, &sig);
	if (!CHECK(!ret, "shm returned %d", ret))
		return -EPROTO;
	ret = vbus_client_shmsignal(client, sig + 1000);
	if (!CHECK(ret == -EBADF, "signal on a bad handle returned %d", ret))
		return -EPROTO;

	vbus_shm_signal_enable(&q.head->drv_signal);
	while (done < buffers) {
		while (posted < buffers && vbus_ioq_drv_free(&q)) {
			u8 *p = bufs + (posted % RING_COUNT) * BUF_LEN;
			struct vbus_ioq_buf out = {
				.cookie = posted,
				.addr = (u64)(uintptr_t)p,
				.len = 1 + posted % BUF_LEN,
			};
			size_t i;

			for (i = 0; i < out.len; i++)
				p[i] = pattern(posted, i);
			vbus_ioq_drv_post(&q, &out);
			posted++;
		}
		if (vbus_ioq_drv_publish(&q)) {
			kicks++;
			vbus_client_shmsignal(client, sig);
		}
		reinit_completion(&ring_done);
		vbus_shm_signal_ack(&q.head->drv_signal);
		while ((ret = vbus_ioq_drv_reclaim(&q, &b)) == 0) {
			if (!tc_check_buf(&b, done))
				return -EPROTO;
			done++;
		}
		if (!CHECK(ret == -EAGAIN, "reclaim %d", ret))
			return -EPROTO;
		if (done == posted || vbus_shm_signal_enable(&q.head->drv_signal))
			continue;
		waits++;
		if (!CHECK(wait_for_completion_timeout(&ring_done, 10 * HZ),
			   "no signal after %llu of %u buffers", done, buffers))
			return -EPROTO;
	}
	pr_info("ring: %u buffers ok, %u doorbells, %u waits for signals\n",
		buffers, kicks, waits);
	return 0;
}

static int tc_run(void)
{
	size_t len = VBUS_IOQ_SIZE(RING_COUNT);
	u32 version = 7, handle;
	u8 *mem, *bufs;
	int ret, close;

	if (!CHECK(echo_id >= 0, "no echo device was announced"))
		return -EPROTO;
	ret = vbus_client_devopen(client, echo_id + 1000, &version, &handle);
	if (!CHECK(ret == -ENODEV, "open of an unknown id returned %d", ret))
		return -EPROTO;
	version = 0;
	ret = vbus_client_devopen(client, echo_id, &version, &handle);
	if (!CHECK(ret == -EPROTONOSUPPORT, "open at version 0 returned %d", ret))
		return -EPROTO;
	version = 7;
	ret = vbus_client_devopen(client, echo_id, &version, &handle);
	if (!CHECK(!ret, "open returned %d", ret))
		return -EPROTO;
	if (!CHECK(version == VBUS_ECHO_VERSION, "negotiated version %u", version))
		return -EPROTO;

	mem = kzalloc(len, GFP_KERNEL);
	bufs = kzalloc(RING_COUNT * BUF_LEN, GFP_KERNEL);
	if (!mem || !bufs) {
		kfree(mem);
		kfree(bufs);
		vbus_client_devclose(client, handle);
		return -ENOMEM;
	}

	ret = tc_calls(handle);
	if (!ret)
		ret = tc_ring(handle, mem, len, bufs);
	close = vbus_client_devclose(client, handle);
	kfree(mem);
	kfree(bufs);
	if (ret)
		return ret;
	ret = close;
	if (!CHECK(!ret, "close returned %d", ret))
		return -EPROTO;
	ret = vbus_client_devclose(client, handle);
	if (!CHECK(ret == -EBADF, "second close returned %d", ret))
		return -EPROTO;
	pr_info("PASS: echo device %d\n", echo_id);
	return 0;
}

/* Attach as user @uid without CAP_NET_ADMIN; detach at once. */
static int tc_probe(kuid_t uid)
{
	const struct cred *old;
	struct vbus_client *c;
	struct cred *cred;

	cred = prepare_creds();
	if (!cred)
		return -ENOMEM;
	cred->fsuid = uid;
	cred->euid = uid;
	cap_lower(cred->cap_effective, CAP_NET_ADMIN);
	old = override_creds(cred);
	c = vbus_client_attach(container, &tc_ops, ctx, NULL);
	revert_creds(old);
	put_cred(cred);
	if (IS_ERR(c))
		return PTR_ERR(c);
	vbus_client_detach(c);
	return 0;
}

/* A client cannot hold connections without bound. */
static int tc_conn_limit(void)
{
	u32 *handles, version, n = 0, i;
	int ret = 0;

	handles = kcalloc(4096, sizeof(*handles), GFP_KERNEL);
	if (!handles)
		return -ENOMEM;
	while (n < 4096) {
		version = VBUS_ECHO_VERSION;
		ret = vbus_client_devopen(client, echo_id, &version, &handles[n]);
		if (ret)
			break;
		n++;
	}
	for (i = 0; i < n; i++)
		vbus_client_devclose(client, handles[i]);
	kfree(handles);
	if (!CHECK(ret == -ENOSPC && n >= 64 && n < 4096,
		   "opened %u connections, then %d", n, ret))
		return -EPROTO;
	pr_info("connection limit: %u connections, then ENOSPC\n", n);
	return 0;
}

/* A client that breaks the ring protocol only breaks its own ring. */
static int tc_hostile_ring(void)
{
	size_t len = VBUS_IOQ_SIZE(RING_COUNT);
	struct vbus_ioq_driver q;
	u32 version = 1, handle, sig;
	u8 *mem;
	long ret;

	mem = kzalloc(len, GFP_KERNEL);
	if (!mem)
		return -ENOMEM;
	ret = vbus_client_devopen(client, echo_id, &version, &handle);
	if (!CHECK(!ret, "open returned %ld", ret))
		goto out_free;
	vbus_ioq_drv_init(&q, mem, len, RING_COUNT, 0);
	ret = vbus_client_devshm(client, handle, VBUS_ECHO_SHM_RING,
				 (u64)(uintptr_t)mem, len, COOKIE, &sig);
	if (!CHECK(!ret, "shm returned %ld", ret))
		goto out_close;
	/* An index claiming far more buffers than the ring holds. */
	q.head->avail_idx = cpu_to_le32(RING_COUNT * 1000);
	vbus_client_shmsignal(client, sig);
	/* The device abandons the ring; calls still work. */
	msleep(100);
	ret = vbus_client_devcall(client, handle, VBUS_ECHO_CALL_REVERSE,
				  (u64)(uintptr_t)mem, 16, 0);
	if (!CHECK(ret == 16, "call after a broken ring returned %ld", ret))
		goto out_close;
	ret = 0;
	pr_info("hostile ring: refused, connection still usable\n");
out_close:
	vbus_client_devclose(client, handle);
out_free:
	/* Closed: the device no longer touches the memory. */
	kfree(mem);
	return ret ? -EPROTO : 0;
}

static int __init tc_init(void)
{
	int ret = 0;

	if (!container)
		return -EINVAL;
	ctx = vbus_memctx_kernel_create();
	if (!ctx)
		return -ENOMEM;
	if (probe_uid >= 0) {
		probe_result = tc_probe(KUIDT_INIT(probe_uid));
		pr_info("attach to %s as uid %d: %d\n", container, probe_uid,
			probe_result);
		goto out;
	}
	client = vbus_client_attach(container, &tc_ops, ctx, NULL);
	if (IS_ERR(client)) {
		ret = PTR_ERR(client);
		pr_err("attach to %s: %d\n", container, ret);
		goto out;
	}
	if (run)
		ret = tc_run();
	if (run && !ret)
		ret = tc_hostile_ring();
	if (run && !ret)
		ret = tc_conn_limit();
	if (hold && keep_open && !ret) {
		u32 version = VBUS_ECHO_VERSION, handle;

		if (open_devid >= 0)
			open_id = open_devid;
		ret = open_id < 0 ? -ENODEV :
		      vbus_client_devopen(client, open_id, &version, &handle);
	}
	if (ret || !hold) {
		vbus_client_detach(client);
		client = NULL;
	}
out:
	vbus_memctx_put(ctx);
	return ret;
}

static void __exit tc_exit(void)
{
	if (client)
		vbus_client_detach(client);
}

module_init(tc_init);
module_exit(tc_exit);

MODULE_DESCRIPTION("vbus in-kernel test client");
MODULE_LICENSE("GPL");
