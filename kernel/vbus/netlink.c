// SPDX-License-Identifier: GPL-2.0
/*
 * The vbus generic netlink family: events and dumps for administrators.
 * See include/uapi/vbus/netlink.h.  Everything requires CAP_NET_ADMIN;
 * the family lives in the initial network namespace.
 */

#include <net/genetlink.h>

#include <vbus/netlink.h>

#include "core.h"

static const struct nla_policy vbus_nl_policy[VBUS_ATTR_MAX + 1] = {
	[VBUS_ATTR_CONTAINER] = { .type = NLA_NUL_STRING },
	[VBUS_ATTR_DEVICE] = { .type = NLA_NUL_STRING },
	[VBUS_ATTR_CLASS] = { .type = NLA_NUL_STRING },
	[VBUS_ATTR_TYPE] = { .type = NLA_NUL_STRING },
	[VBUS_ATTR_DEVICE_ID] = { .type = NLA_U32 },
	[VBUS_ATTR_ENABLED] = { .type = NLA_U8 },
	[VBUS_ATTR_CLIENT_ID] = { .type = NLA_U32 },
	[VBUS_ATTR_NUM_DEVICES] = { .type = NLA_U32 },
	[VBUS_ATTR_NUM_CLIENTS] = { .type = NLA_U32 },
	[VBUS_ATTR_NUM_CONNECTIONS] = { .type = NLA_U32 },
	[VBUS_ATTR_STATS] = { .type = NLA_NESTED },
};

static struct genl_family vbus_genl_family;

static int vbus_fill_container(struct sk_buff *skb, struct vbus_container *c)
{
	if (nla_put_string(skb, VBUS_ATTR_CONTAINER, vbus_container_name(c)) ||
	    nla_put_u32(skb, VBUS_ATTR_NUM_DEVICES, c->ndevices) ||
	    nla_put_u32(skb, VBUS_ATTR_NUM_CLIENTS, c->nclients))
		return -EMSGSIZE;
	return 0;
}

static int vbus_fill_device(struct sk_buff *skb, struct vbus_device *dev)
{
	if (nla_put_string(skb, VBUS_ATTR_DEVICE, vbus_device_name(dev)) ||
	    nla_put_string(skb, VBUS_ATTR_CLASS, dev->class->name) ||
	    nla_put_string(skb, VBUS_ATTR_TYPE, dev->type) ||
	    nla_put_u8(skb, VBUS_ATTR_ENABLED, dev->enabled) ||
	    nla_put_u32(skb, VBUS_ATTR_NUM_CONNECTIONS, dev->nconns))
		return -EMSGSIZE;
	if (dev->container &&
	    (nla_put_string(skb, VBUS_ATTR_CONTAINER,
			    vbus_container_name(dev->container)) ||
	     nla_put_u32(skb, VBUS_ATTR_DEVICE_ID, dev->id)))
		return -EMSGSIZE;
	return 0;
}

static int vbus_fill_stats(struct sk_buff *skb, struct vbus_device *dev)
{
	struct vbus_device_stats s;
	struct nlattr *nest;

	if (nla_put_string(skb, VBUS_ATTR_DEVICE, vbus_device_name(dev)))
		return -EMSGSIZE;
	vbus_device_stats_sum(dev, &s);
	nest = nla_nest_start(skb, VBUS_ATTR_STATS);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u64_64bit(skb, VBUS_STAT_OPENS, s.opens, VBUS_STAT_PAD) ||
	    nla_put_u64_64bit(skb, VBUS_STAT_CALLS, s.calls, VBUS_STAT_PAD) ||
	    nla_put_u64_64bit(skb, VBUS_STAT_SIGNALS_IN, s.signals_in,
			      VBUS_STAT_PAD) ||
	    nla_put_u64_64bit(skb, VBUS_STAT_SIGNALS_OUT, s.signals_out,
			      VBUS_STAT_PAD)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

/* Send one event built by @fill to the events group, if anyone listens. */
static void vbus_notify(u8 cmd, int (*fill)(struct sk_buff *, void *),
			void *obj)
{
	struct sk_buff *skb;
	void *hdr;

	if (!genl_has_listeners(&vbus_genl_family, &init_net, 0))
		return;
	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!skb)
		return;
	hdr = genlmsg_put(skb, 0, 0, &vbus_genl_family, 0, cmd);
	if (!hdr || fill(skb, obj)) {
		nlmsg_free(skb);
		return;
	}
	genlmsg_end(skb, hdr);
	genlmsg_multicast(&vbus_genl_family, skb, 0, 0, GFP_KERNEL);
}

static int vbus_fill_container_cb(struct sk_buff *skb, void *obj)
{
	return vbus_fill_container(skb, obj);
}

static int vbus_fill_device_cb(struct sk_buff *skb, void *obj)
{
	return vbus_fill_device(skb, obj);
}

static int vbus_fill_client_cb(struct sk_buff *skb, void *obj)
{
	struct vbus_client *client = obj;

	if (nla_put_u32(skb, VBUS_ATTR_CLIENT_ID, client->id) ||
	    nla_put_string(skb, VBUS_ATTR_CONTAINER,
			   vbus_container_name(client->container)))
		return -EMSGSIZE;
	return 0;
}

void vbus_notify_container(u8 cmd, struct vbus_container *c)
{
	lockdep_assert_held(&vbus_lock);
	vbus_notify(cmd, vbus_fill_container_cb, c);
}

void vbus_notify_device(u8 cmd, struct vbus_device *dev)
{
	lockdep_assert_held(&vbus_lock);
	vbus_notify(cmd, vbus_fill_device_cb, dev);
}

void vbus_notify_client(u8 cmd, struct vbus_client *client)
{
	lockdep_assert_held(&vbus_lock);
	vbus_notify(cmd, vbus_fill_client_cb, client);
}

/*
 * Dumps walk a list under vbus_lock and resume at the index saved in
 * cb->args[0]; objects added or removed between two parts of a dump may
 * be missed or repeated, as with other netlink dumps.
 */
static int vbus_dump_list(struct sk_buff *skb, struct netlink_callback *cb,
			  struct list_head *list, u8 cmd,
			  int (*fill)(struct sk_buff *, void *))
{
	long idx = 0, start = cb->args[0];
	struct list_head *pos;
	void *hdr;

	mutex_lock(&vbus_lock);
	list_for_each(pos, list) {
		if (idx++ < start)
			continue;
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &vbus_genl_family,
				  NLM_F_MULTI, cmd);
		if (!hdr)
			break;
		if (fill(skb, pos)) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
		cb->args[0] = idx;
	}
	mutex_unlock(&vbus_lock);
	return skb->len;
}

static int vbus_fill_container_node(struct sk_buff *skb, void *pos)
{
	return vbus_fill_container(skb, list_entry(pos, struct vbus_container,
						   node));
}

static int vbus_fill_device_node(struct sk_buff *skb, void *pos)
{
	return vbus_fill_device(skb, list_entry(pos, struct vbus_device, node));
}

static int vbus_fill_stats_node(struct sk_buff *skb, void *pos)
{
	return vbus_fill_stats(skb, list_entry(pos, struct vbus_device, node));
}

static int vbus_container_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	return vbus_dump_list(skb, cb, &vbus_containers,
			      VBUS_CMD_CONTAINER_GET, vbus_fill_container_node);
}

static int vbus_device_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	return vbus_dump_list(skb, cb, &vbus_devices, VBUS_CMD_DEVICE_GET,
			      vbus_fill_device_node);
}

static int vbus_stats_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	return vbus_dump_list(skb, cb, &vbus_devices, VBUS_CMD_STATS_GET,
			      vbus_fill_stats_node);
}

static const struct genl_small_ops vbus_genl_ops[] = {
	{
		.cmd = VBUS_CMD_CONTAINER_GET,
		.dumpit = vbus_container_dump,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = VBUS_CMD_DEVICE_GET,
		.dumpit = vbus_device_dump,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = VBUS_CMD_STATS_GET,
		.dumpit = vbus_stats_dump,
		.flags = GENL_ADMIN_PERM,
	},
};

/*
 * The events name every container, device and client: only an
 * administrator may listen.  Generic netlink checks CAP_NET_ADMIN on a
 * subscription only for a group with GENL_MCAST_CAP_NET_ADMIN; without
 * the flag anyone could join, and a 6.1 family has no bind callback to
 * check it in.  So a kernel without the flag cannot build the module.
 */
#ifndef GENL_MCAST_CAP_NET_ADMIN
#error "genetlink lacks GENL_MCAST_CAP_NET_ADMIN: the vbus events group would be world-readable"
#endif

static const struct genl_multicast_group vbus_genl_mcgrps[] = {
	{
		.name = VBUS_GENL_MCGRP_EVENTS,
		.flags = GENL_MCAST_CAP_NET_ADMIN,
	},
};

static struct genl_family vbus_genl_family __ro_after_init = {
	.name = VBUS_GENL_NAME,
	.version = VBUS_GENL_VERSION,
	.maxattr = VBUS_ATTR_MAX,
	.policy = vbus_nl_policy,
	.module = THIS_MODULE,
	.small_ops = vbus_genl_ops,
	.n_small_ops = ARRAY_SIZE(vbus_genl_ops),
	/* 0: every request's header and flags are checked (EINVAL). */
	.resv_start_op = 0,
	.mcgrps = vbus_genl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(vbus_genl_mcgrps),
};

int vbus_netlink_init(void)
{
	return genl_register_family(&vbus_genl_family);
}

void vbus_netlink_exit(void)
{
	genl_unregister_family(&vbus_genl_family);
}
