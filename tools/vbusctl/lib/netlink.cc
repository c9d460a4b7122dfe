// SPDX-License-Identifier: GPL-2.0
//
// libnl-genl: resolve the family, dump, subscribe and parse.

#include "netlink.hh"

#include "error.hh"

extern "C" {
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <vbus/netlink.h>
}

#include <poll.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <string_view>

namespace vbusctl
{

namespace
{

const std::string kObject = "generic netlink family '" VBUS_GENL_NAME "'";

[[noreturn]] void fail(const std::string &operation, int nlerr)
{
	throw Error(kObject, operation, nl_geterror(nlerr));
}

std::optional<std::string> get_string(const std::array<nlattr *, VBUS_ATTR_MAX + 1> &attrs,
                                      int type)
{
	if (attrs.at(type) == nullptr) {
		return std::nullopt;
	}
	return std::string(nla_get_string(attrs.at(type)));
}

std::optional<std::uint32_t> get_u32(const std::array<nlattr *, VBUS_ATTR_MAX + 1> &attrs, int type)
{
	if (attrs.at(type) == nullptr) {
		return std::nullopt;
	}
	return nla_get_u32(attrs.at(type));
}

std::optional<Counters> get_counters(nlattr *nest)
{
	std::array<nlattr *, VBUS_STAT_MAX + 1> stats{};
	if (nest == nullptr || nla_parse_nested(stats.data(), VBUS_STAT_MAX, nest, nullptr) < 0) {
		return std::nullopt;
	}
	const auto u64 = [&](int type) -> std::uint64_t {
		return stats.at(type) != nullptr ? nla_get_u64(stats.at(type)) : 0;
	};
	return Counters{u64(VBUS_STAT_OPENS), u64(VBUS_STAT_CALLS), u64(VBUS_STAT_SIGNALS_IN),
	                u64(VBUS_STAT_SIGNALS_OUT)};
}

std::optional<Message> parse(nl_msg *msg)
{
	nlmsghdr *nlh = nlmsg_hdr(msg);
	const auto *gnlh = static_cast<const genlmsghdr *>(nlmsg_data(nlh));
	std::array<nlattr *, VBUS_ATTR_MAX + 1> attrs{};
	if (genlmsg_parse(nlh, 0, attrs.data(), VBUS_ATTR_MAX, nullptr) < 0) {
		return std::nullopt;
	}
	Message m;
	m.command = command_name(gnlh->cmd);
	m.container = get_string(attrs, VBUS_ATTR_CONTAINER);
	m.device = get_string(attrs, VBUS_ATTR_DEVICE);
	m.cls = get_string(attrs, VBUS_ATTR_CLASS);
	m.type = get_string(attrs, VBUS_ATTR_TYPE);
	m.id = get_u32(attrs, VBUS_ATTR_DEVICE_ID);
	if (attrs.at(VBUS_ATTR_ENABLED) != nullptr) {
		m.enabled = nla_get_u8(attrs.at(VBUS_ATTR_ENABLED)) != 0;
	}
	m.client = get_u32(attrs, VBUS_ATTR_CLIENT_ID);
	m.devices = get_u32(attrs, VBUS_ATTR_NUM_DEVICES);
	m.clients = get_u32(attrs, VBUS_ATTR_NUM_CLIENTS);
	m.connections = get_u32(attrs, VBUS_ATTR_NUM_CONNECTIONS);
	m.counters = get_counters(attrs.at(VBUS_ATTR_STATS));
	return m;
}

int collect(nl_msg *msg, void *arg)
{
	if (auto m = parse(msg)) {
		static_cast<std::vector<Message> *>(arg)->push_back(std::move(*m));
	}
	return NL_OK;
}

struct Listener {
	const std::function<void(const Message &)> *on_event;
	unsigned long seen;
};

int deliver(nl_msg *msg, void *arg)
{
	auto *listener = static_cast<Listener *>(arg);
	if (auto m = parse(msg)) {
		++listener->seen;
		(*listener->on_event)(*m);
	}
	return NL_OK;
}

} // namespace

std::string command_name(unsigned cmd)
{
	static constexpr std::array<std::string_view, VBUS_CMD_MAX + 1> kNames = {
	    "unspec",        "container_get",  "device_get", "stats_get",    "container_new",
	    "container_del", "device_new",     "device_del", "device_place", "device_unplace",
	    "device_enable", "device_disable", "client_new", "client_del"};
	return cmd < kNames.size() ? std::string(kNames.at(cmd)) : "cmd" + std::to_string(cmd);
}

std::string format_text(const Message &m)
{
	std::ostringstream line;
	line << m.command;
	const auto put = [&](const char *name, const auto &value) {
		if (value) {
			line << ' ' << name << '=' << *value;
		}
	};
	put("container", m.container);
	put("device", m.device);
	put("class", m.cls);
	put("type", m.type);
	put("id", m.id);
	if (m.enabled) {
		line << " enabled=" << (*m.enabled ? 1 : 0);
	}
	put("client", m.client);
	put("devices", m.devices);
	put("clients", m.clients);
	put("connections", m.connections);
	if (m.counters) {
		line << " opens=" << m.counters->opens << " calls=" << m.counters->calls
		     << " signals_in=" << m.counters->signals_in
		     << " signals_out=" << m.counters->signals_out;
	}
	return line.str();
}

nlohmann::json to_json(const Message &m)
{
	nlohmann::json j = {{"event", m.command}};
	const auto put = [&](const char *name, const auto &value) {
		if (value) {
			j[name] = *value;
		}
	};
	put("container", m.container);
	put("device", m.device);
	put("class", m.cls);
	put("type", m.type);
	put("id", m.id);
	put("enabled", m.enabled);
	put("client", m.client);
	put("devices", m.devices);
	put("clients", m.clients);
	put("connections", m.connections);
	if (m.counters) {
		j["counters"] = {{"opens", m.counters->opens},
		                 {"calls", m.counters->calls},
		                 {"signals_in", m.counters->signals_in},
		                 {"signals_out", m.counters->signals_out}};
	}
	return j;
}

void Netlink::SockDeleter::operator()(nl_sock *sock) const
{
	nl_socket_free(sock);
}

Netlink::Netlink() : sock_(nl_socket_alloc())
{
	if (!sock_) {
		throw Error(kObject, "allocate a socket", std::strerror(ENOMEM));
	}
	if (const int err = genl_connect(sock_.get()); err < 0) {
		fail("connect", err);
	}
	family_ = genl_ctrl_resolve(sock_.get(), VBUS_GENL_NAME);
	if (family_ < 0) {
		throw Error(kObject, "resolve",
		            std::string(nl_geterror(family_)) + " (is the vbus module loaded?)");
	}
}

std::vector<Message> Netlink::dump(Dump what)
{
	int cmd = VBUS_CMD_STATS_GET;
	std::string name = "statistics";
	if (what == Dump::containers) {
		cmd = VBUS_CMD_CONTAINER_GET;
		name = "containers";
	} else if (what == Dump::devices) {
		cmd = VBUS_CMD_DEVICE_GET;
		name = "devices";
	}
	std::vector<Message> out;
	nl_socket_modify_cb(sock_.get(), NL_CB_VALID, NL_CB_CUSTOM, collect, &out);
	if (const int err =
	        genl_send_simple(sock_.get(), family_, cmd, VBUS_GENL_VERSION, NLM_F_DUMP);
	    err < 0) {
		fail("request a dump of " + name, err);
	}
	if (const int err = nl_recvmsgs_default(sock_.get()); err < 0) {
		fail("dump " + name, err);
	}
	return out;
}

unsigned long Netlink::monitor(const std::function<void(const Message &)> &on_event,
                               const MonitorOptions &options)
{
	nl_sock *sock = sock_.get();
	const int grp = genl_ctrl_resolve_grp(sock, VBUS_GENL_NAME, VBUS_GENL_MCGRP_EVENTS);
	if (grp < 0) {
		fail("resolve the events group", grp);
	}
	nl_socket_disable_seq_check(sock);
	if (const int err = nl_socket_add_membership(sock, grp); err < 0) {
		fail("join the events group", err);
	}
	Listener listener{&on_event, 0};
	nl_socket_modify_cb(sock, NL_CB_VALID, NL_CB_CUSTOM, deliver, &listener);
	if (options.ready) {
		options.ready();
	}
	pollfd pfd{.fd = nl_socket_get_fd(sock), .events = POLLIN, .revents = 0};
	const int timeout_ms = options.timeout_s > 0 ? options.timeout_s * 1000 : -1;
	while (options.count == 0 || listener.seen < options.count) {
		const int n = poll(&pfd, 1, timeout_ms);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			throw Error::from_errno(kObject, Op::netlink, "wait for events", errno);
		}
		if (n == 0) {
			break;
		}
		if (const int err = nl_recvmsgs_default(sock); err < 0) {
			fail("receive events", err);
		}
	}
	return listener.seen;
}

} // namespace vbusctl
