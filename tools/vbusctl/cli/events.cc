// SPDX-License-Identifier: GPL-2.0
//
// vbusctl monitor|stats: the generic netlink family.

#include "context.hh"

#include "../lib/error.hh"
#include "../lib/names.hh"
#include "../lib/netlink.hh"

#include <CLI/CLI.hpp>

#include <fstream>
#include <memory>
#include <ostream>

namespace vbusctl
{

namespace
{

struct Args {
	unsigned long count = 0;
	int timeout = 0;
	std::string ready;
	std::string device;
};

int monitor(const Context &ctx, const Args &a)
{
	Netlink nl;
	Netlink::MonitorOptions options;
	options.count = a.count;
	options.timeout_s = a.timeout;
	if (!a.ready.empty()) {
		options.ready = [&a] {
			std::ofstream file(a.ready);
			file << "ready\n";
			if (!file.flush()) {
				throw Error(a.ready, "create the ready file", "write failed");
			}
		};
	}
	const unsigned long seen = nl.monitor(
	    [&ctx](const Message &m) {
		    if (ctx.json) {
			    ctx.out << to_json(m).dump() << '\n';
		    } else {
			    ctx.out << format_text(m) << '\n';
		    }
		    ctx.out.flush();
	    },
	    options);
	// A count that was not reached before the timeout is a failure.
	return a.count != 0 && seen < a.count ? kExitFailed : kExitOk;
}

int stats(const Context &ctx, const Args &a)
{
	if (!a.device.empty()) {
		check_name("device", a.device);
	}
	Netlink nl;
	std::vector<Message> all = nl.dump(Netlink::Dump::stats);
	std::erase_if(all, [&](const Message &m) {
		return !a.device.empty() && m.device.value_or("") != a.device;
	});
	if (!a.device.empty() && all.empty()) {
		throw Error("device '" + a.device + "'", "read counters", "no such device");
	}
	if (ctx.json) {
		nlohmann::json doc = nlohmann::json::array();
		for (const Message &m : all) {
			nlohmann::json j = to_json(m).value("counters", nlohmann::json::object());
			j["device"] = m.device.value_or("");
			doc.push_back(j);
		}
		ctx.print_json(doc);
		return kExitOk;
	}
	std::vector<std::vector<std::string>> rows = {
	    {"DEVICE", "OPENS", "CALLS", "SIGNALS_IN", "SIGNALS_OUT"}};
	for (const Message &m : all) {
		const Counters c = m.counters.value_or(Counters{});
		rows.push_back({m.device.value_or("?"), std::to_string(c.opens),
		                std::to_string(c.calls), std::to_string(c.signals_in),
		                std::to_string(c.signals_out)});
	}
	ctx.print_table(rows);
	return kExitOk;
}

} // namespace

void add_event_verbs(CLI::App &app, Context &ctx)
{
	auto args = std::make_shared<Args>();
	const auto verb = [&ctx, args](CLI::App *cmd, int (*fn)(const Context &, const Args &)) {
		cmd->callback(
		    [&ctx, args, fn] { ctx.action = [&ctx, args, fn] { return fn(ctx, *args); }; });
	};

	CLI::App *cmd = app.add_subcommand("monitor", "print netlink events as they happen");
	cmd->add_option("-c,--count", args->count, "stop after this many events");
	cmd->add_option("-t,--timeout", args->timeout, "stop after this many seconds without one")
	    ->check(CLI::NonNegativeNumber);
	cmd->add_option("--ready", args->ready, "create this file once subscribed");
	verb(cmd, monitor);

	cmd = app.add_subcommand("stats", "dump the per-device counters");
	cmd->add_option("device", args->device, "only this device");
	verb(cmd, stats);
}

} // namespace vbusctl
