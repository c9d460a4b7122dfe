// SPDX-License-Identifier: GPL-2.0
//
// nlmon: a small client of the vbus generic netlink family for the tests.
//
//   nlmon monitor [--count N] [--timeout SEC] [--ready FILE]
//       print one line per event; stop after N events or SEC seconds
//       without one; create FILE once subscribed
//   nlmon dump containers|devices|stats [--reserved N] [--attr TYPE]
//       print one line per object; the request's generic netlink header
//       may carry N in its reserved byte, and the request a u32
//       attribute of TYPE (both must be refused)
//
// Lines look like "device_new device=e1 class=echo type=echo enabled=0".

extern "C" {
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <vbus/netlink.h>
}

#include <poll.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace
{

struct SockDeleter {
	void operator()(nl_sock *sock) const { nl_socket_free(sock); }
};
using Socket = std::unique_ptr<nl_sock, SockDeleter>;

[[noreturn]] void fail(const std::string &what, int nlerr)
{
	throw std::runtime_error(what + ": " + nl_geterror(nlerr));
}

std::string command_name(unsigned cmd)
{
	static constexpr std::array<std::string_view, VBUS_CMD_MAX + 1> kNames = {
	    "unspec",        "container_get",  "device_get", "stats_get",    "container_new",
	    "container_del", "device_new",     "device_del", "device_place", "device_unplace",
	    "device_enable", "device_disable", "client_new", "client_del"};
	return cmd < kNames.size() ? std::string(kNames.at(cmd)) : "cmd" + std::to_string(cmd);
}

std::string format_stats(nlattr *nest)
{
	std::array<nlattr *, VBUS_STAT_MAX + 1> stats{};
	if (nla_parse_nested(stats.data(), VBUS_STAT_MAX, nest, nullptr) < 0) {
		return " stats=invalid";
	}
	static constexpr std::array<std::pair<int, std::string_view>, 4> kStats = {{
	    {VBUS_STAT_OPENS, "opens"},
	    {VBUS_STAT_CALLS, "calls"},
	    {VBUS_STAT_SIGNALS_IN, "signals_in"},
	    {VBUS_STAT_SIGNALS_OUT, "signals_out"},
	}};
	std::ostringstream out;
	for (const auto &[type, name] : kStats) {
		if (stats.at(type) != nullptr) {
			out << ' ' << name << '=' << nla_get_u64(stats.at(type));
		}
	}
	return out.str();
}

int print_message(nl_msg *msg, void * /*arg*/)
{
	nlmsghdr *nlh = nlmsg_hdr(msg);
	auto *gnlh = static_cast<genlmsghdr *>(nlmsg_data(nlh));
	std::array<nlattr *, VBUS_ATTR_MAX + 1> attrs{};
	if (genlmsg_parse(nlh, 0, attrs.data(), VBUS_ATTR_MAX, nullptr) < 0) {
		std::cout << "unparsable message\n";
		return NL_OK;
	}
	std::ostringstream line;
	line << command_name(gnlh->cmd);
	const auto str = [&](int type, std::string_view name) {
		if (attrs.at(type) != nullptr) {
			line << ' ' << name << '=' << nla_get_string(attrs.at(type));
		}
	};
	const auto u32 = [&](int type, std::string_view name) {
		if (attrs.at(type) != nullptr) {
			line << ' ' << name << '=' << nla_get_u32(attrs.at(type));
		}
	};
	str(VBUS_ATTR_CONTAINER, "container");
	str(VBUS_ATTR_DEVICE, "device");
	str(VBUS_ATTR_CLASS, "class");
	str(VBUS_ATTR_TYPE, "type");
	u32(VBUS_ATTR_DEVICE_ID, "id");
	if (attrs.at(VBUS_ATTR_ENABLED) != nullptr) {
		line << " enabled="
		     << static_cast<unsigned>(nla_get_u8(attrs.at(VBUS_ATTR_ENABLED)));
	}
	u32(VBUS_ATTR_CLIENT_ID, "client");
	u32(VBUS_ATTR_NUM_DEVICES, "devices");
	u32(VBUS_ATTR_NUM_CLIENTS, "clients");
	u32(VBUS_ATTR_NUM_CONNECTIONS, "connections");
	if (attrs.at(VBUS_ATTR_STATS) != nullptr) {
		line << format_stats(attrs.at(VBUS_ATTR_STATS));
	}
	std::cout << line.str() << '\n' << std::flush;
	return NL_OK;
}

struct Family {
	Socket sock;
	int id;
};

Family connect_family()
{
	Socket sock(nl_socket_alloc());
	if (!sock) {
		throw std::runtime_error("nl_socket_alloc: out of memory");
	}
	if (int err = genl_connect(sock.get()); err < 0) {
		fail("genl_connect", err);
	}
	const int id = genl_ctrl_resolve(sock.get(), VBUS_GENL_NAME);
	if (id < 0) {
		fail("resolving generic netlink family '" VBUS_GENL_NAME "' (is vbus.ko loaded?)",
		     id);
	}
	return {std::move(sock), id};
}

int monitor(unsigned long count, long timeout, const std::string &ready)
{
	Family fam = connect_family();
	nl_sock *sock = fam.sock.get();
	const int grp = genl_ctrl_resolve_grp(sock, VBUS_GENL_NAME, VBUS_GENL_MCGRP_EVENTS);
	if (grp < 0) {
		fail("resolving the events group", grp);
	}
	nl_socket_disable_seq_check(sock);
	if (int err = nl_socket_add_membership(sock, grp); err < 0) {
		fail("joining the events group", err);
	}
	unsigned long seen = 0;
	nl_socket_modify_cb(
	    sock, NL_CB_VALID, NL_CB_CUSTOM,
	    [](nl_msg *msg, void *arg) {
		    ++*static_cast<unsigned long *>(arg);
		    return print_message(msg, nullptr);
	    },
	    &seen);
	if (!ready.empty()) {
		std::ofstream(ready) << "ready\n";
	}
	pollfd pfd{.fd = nl_socket_get_fd(sock), .events = POLLIN, .revents = 0};
	while (count == 0 || seen < count) {
		const int n = poll(&pfd, 1, timeout > 0 ? static_cast<int>(timeout * 1000) : -1);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
		}
		if (n == 0) {
			std::cerr << "nlmon: no event for " << timeout << " s, stopping after "
			          << seen << " events\n";
			return count == 0 ? 0 : 1;
		}
		if (int err = nl_recvmsgs_default(sock); err < 0) {
			fail("receiving events", err);
		}
	}
	return 0;
}

int dump(const std::string &what, unsigned reserved, int attr)
{
	int cmd = 0;
	if (what == "containers") {
		cmd = VBUS_CMD_CONTAINER_GET;
	} else if (what == "devices") {
		cmd = VBUS_CMD_DEVICE_GET;
	} else if (what == "stats") {
		cmd = VBUS_CMD_STATS_GET;
	} else {
		throw std::invalid_argument("dump: unknown object '" + what + "'");
	}
	Family fam = connect_family();
	nl_socket_modify_cb(fam.sock.get(), NL_CB_VALID, NL_CB_CUSTOM, print_message, nullptr);
	const std::unique_ptr<nl_msg, void (*)(nl_msg *)> msg(nlmsg_alloc(), nlmsg_free);
	if (!msg) {
		throw std::runtime_error("nlmsg_alloc: out of memory");
	}
	if (genlmsg_put(msg.get(), NL_AUTO_PORT, NL_AUTO_SEQ, fam.id, 0, NLM_F_DUMP, cmd,
	                VBUS_GENL_VERSION) == nullptr) {
		throw std::runtime_error("genlmsg_put: no room");
	}
	static_cast<genlmsghdr *>(nlmsg_data(nlmsg_hdr(msg.get())))->reserved =
	    static_cast<uint16_t>(reserved);
	if (attr >= 0 && nla_put_u32(msg.get(), attr, 0) < 0) {
		throw std::runtime_error("nla_put_u32: no room");
	}
	if (int err = nl_send_auto(fam.sock.get(), msg.get()); err < 0) {
		fail("sending the " + what + " dump request", err);
	}
	if (int err = nl_recvmsgs_default(fam.sock.get()); err < 0) {
		fail("receiving the " + what + " dump", err);
	}
	return 0;
}

int run(const std::vector<std::string> &args)
{
	if (args.size() >= 2 && args[0] == "dump") {
		unsigned reserved = 0;
		int attr = -1;
		for (std::size_t i = 2; i + 1 < args.size(); i += 2) {
			if (args[i] == "--reserved") {
				reserved = std::stoul(args[i + 1]);
			} else if (args[i] == "--attr") {
				attr = std::stoi(args[i + 1]);
			} else {
				throw std::invalid_argument("dump: unknown option '" + args[i] +
				                            "'");
			}
		}
		return dump(args[1], reserved, attr);
	}
	if (!args.empty() && args[0] == "monitor") {
		unsigned long count = 0;
		long timeout = 0;
		std::string ready;
		for (std::size_t i = 1; i + 1 < args.size(); i += 2) {
			if (args[i] == "--count") {
				count = std::stoul(args[i + 1]);
			} else if (args[i] == "--timeout") {
				timeout = std::stol(args[i + 1]);
			} else if (args[i] == "--ready") {
				ready = args[i + 1];
			} else {
				throw std::invalid_argument("monitor: unknown option '" + args[i] +
				                            "'");
			}
		}
		return monitor(count, timeout, ready);
	}
	throw std::invalid_argument(
	    "usage: nlmon monitor [--count N] [--timeout SEC] [--ready "
	    "FILE] | nlmon dump containers|devices|stats [--reserved N] [--attr TYPE]");
}

} // namespace

int main(int argc, char **argv)
{
	try {
		const std::span<char *> args(argv, static_cast<std::size_t>(argc));
		return run(std::vector<std::string>(std::next(args.begin()), args.end()));
	} catch (const std::exception &e) {
		std::cerr << "nlmon: " << e.what() << '\n';
		return 2;
	}
}
