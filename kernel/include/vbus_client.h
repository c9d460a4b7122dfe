/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The connector API: how a client (a guest, or an in-kernel peer) is
 * attached to a container and reaches the devices in it.
 *
 * A client names devices only by the u32 ids of its own container and
 * its open devices and signals only by the u32 handles the core gave it;
 * every id and handle is looked up and checked, so a hostile client can
 * only get errors.  Connectors stay thin: they carry DEVOPEN, DEVCALL,
 * DEVSHM, SHMSIGNAL and DEVCLOSE here and deliver the events below.
 */
#ifndef _VBUS_CLIENT_H
#define _VBUS_CLIENT_H

#include <linux/types.h>

#include <vbus_memctx.h>

struct vbus_client;

/*
 * Bounds on what one client may hold: implementation limits, not ABI
 * (a connector reports them to its user, e.g. VBUS_KVM_GET_LIMITS).
 */
#define VBUS_CLIENT_MAX_CONNS	1024	/* open connections */
#define VBUS_CONN_MAX_REGIONS	64	/* shared regions per connection */
/*
 * Threads that serve one client's rings: a connection's rings are served
 * by one of them, created when the connection registers its first ring.
 * Up to this many connections each get a thread of their own; more
 * share them, so a client cannot make the host create a thread per
 * connection it opens.
 */
#define VBUS_CLIENT_MAX_WORKERS	16

/**
 * struct vbus_client_ops - events the core delivers to a client
 * @devadd:	device @id of type @type became visible in the container
 * @devdrop:	device @id left; its connections are already closed
 * @flush:	optional: drop every @devadd and @devdrop not yet delivered;
 *		vbus_client_reset() calls it before it announces the devices
 *		again
 * @signal:	a device notified the signal registered with @cookie; may
 *		be called in atomic context
 * @untrusted:	the client's memory belongs to someone who may never let
 *		a copy finish (a VMM: a userfaultfd range nobody serves, a
 *		FUSE-backed guest memory) and the memctx keeps it valid without
 *		the client (pins, a reference on the address space).  Then
 *		detach and DEVCLOSE wait for the devices to let go only
 *		for a while (%VBUS_CLOSE_WAIT_MS), and a SIGKILL ends the
 *		wait; the rest of the teardown finishes in the background.  Otherwise (the
 *		client's memory is its own kernel memory) they wait until
 *		the devices let go, however long that takes.
 *
 * @devadd, @devdrop and @flush are called with the core lock held, in
 * process context: they must only queue (or drop) events, never call
 * into the core.
 * No op is called once vbus_client_detach() has returned.
 */
struct vbus_client_ops {
	void (*devadd)(struct vbus_client *client, u32 id, const char *type);
	void (*devdrop)(struct vbus_client *client, u32 id);
	void (*flush)(struct vbus_client *client);
	void (*signal)(struct vbus_client *client, u64 cookie);
	bool untrusted;
};

/* How long an untrusted client's detach or DEVCLOSE waits for devices. */
#define VBUS_CLOSE_WAIT_MS	2000

struct vbus_client *vbus_client_attach(const char *container,
				       const struct vbus_client_ops *ops,
				       struct vbus_memctx *ctx, void *priv);
void vbus_client_detach(struct vbus_client *client);
void vbus_client_reset(struct vbus_client *client, bool announce);
void *vbus_client_priv(struct vbus_client *client);
u32 vbus_client_id(struct vbus_client *client);

int vbus_client_devopen(struct vbus_client *client, u32 devid, u32 *version,
			u32 *handle);
int vbus_client_devclose(struct vbus_client *client, u32 handle);
long vbus_client_devcall(struct vbus_client *client, u32 handle, u32 func,
			 u64 addr, u32 len, u32 flags);
int vbus_client_devshm(struct vbus_client *client, u32 handle, u32 id,
		       u64 addr, u64 len, u64 cookie, u32 *signal);
int vbus_client_shmsignal(struct vbus_client *client, u32 signal);

#endif /* _VBUS_CLIENT_H */
