// SPDX-License-Identifier: GPL-2.0
//
// A client of the vbus generic netlink family (include/uapi/vbus/netlink.h)
// on libnl-genl: dumps of containers, devices and counters, and the
// events multicast group.

#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct nl_sock;
struct nl_msg;

namespace vbusctl
{

struct Counters {
	std::uint64_t opens = 0;
	std::uint64_t calls = 0;
	std::uint64_t signals_in = 0;
	std::uint64_t signals_out = 0;
};

// One message of the family: an event or one object of a dump.
struct Message {
	std::string command; // "device_new", "stats_get", ...
	std::optional<std::string> container;
	std::optional<std::string> device;
	std::optional<std::string> cls;
	std::optional<std::string> type;
	std::optional<std::uint32_t> id;
	std::optional<bool> enabled;
	std::optional<std::uint32_t> client;
	std::optional<std::uint32_t> devices;
	std::optional<std::uint32_t> clients;
	std::optional<std::uint32_t> connections;
	std::optional<Counters> counters;
};

// "device_new device=e1 class=echo type=echo enabled=0 connections=0"
std::string format_text(const Message &msg);
nlohmann::json to_json(const Message &msg);

// The name of a command of the family ("cmd<N>" for unknown ones).
std::string command_name(unsigned cmd);

class Netlink
{
public:
	enum class Dump { containers, devices, stats };

	struct MonitorOptions {
		unsigned long count = 0;     // stop after this many events; 0: never
		int timeout_s = 0;           // stop after this long without one; 0: never
		std::function<void()> ready; // called once subscribed
	};

	// Connects and resolves the family; throws an Error if vbus is not
	// loaded.
	Netlink();

	std::vector<Message> dump(Dump what);

	// Calls @on_event for each event until the count or the timeout
	// of @options is reached.  Returns the number of events seen.
	unsigned long monitor(const std::function<void(const Message &)> &on_event,
	                      const MonitorOptions &options);

private:
	struct SockDeleter {
		void operator()(nl_sock *sock) const;
	};

	std::unique_ptr<nl_sock, SockDeleter> sock_;
	int family_ = -1;
};

} // namespace vbusctl
