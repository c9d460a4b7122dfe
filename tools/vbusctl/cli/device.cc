// SPDX-License-Identifier: GPL-2.0
//
// vbusctl device add|del|list|show|set|enable|disable|classes

#include "context.hh"

#include "../lib/error.hh"
#include "../lib/json.hh"
#include "../lib/names.hh"

#include <CLI/CLI.hpp>

#include <memory>
#include <ostream>

namespace vbusctl
{

namespace
{

struct Args {
	std::string cls;
	std::string name;
	std::vector<std::string> assignments;
	bool enable = false;
	bool force = false;
};

std::vector<Assignment> parse_assignments(const std::vector<std::string> &args)
{
	std::vector<Assignment> out;
	for (const std::string &arg : args) {
		out.push_back(parse_assignment(arg));
		if (out.back().attribute == "enabled") {
			parse_enabled(out.back().value);
		}
	}
	return out;
}

int add(const Context &ctx, const Args &a)
{
	check_name("class", a.cls);
	check_name("device", a.name);
	const std::vector<Assignment> assignments = parse_assignments(a.assignments);
	auto tree = ctx.tree();
	tree->make_device(a.cls, a.name);
	try {
		for (const Assignment &as : assignments) {
			tree->set_device_attribute(a.name, as.attribute, as.value);
		}
		if (a.enable) {
			tree->set_device_attribute(a.name, "enabled", "1");
		}
	} catch (const Error &e) {
		// No half-configured device: take it away again.
		std::string extra = "; the device was removed again";
		try {
			if (tree->device(a.name).enabled()) {
				tree->set_device_attribute(a.name, "enabled", "0");
			}
			tree->remove_device(a.name);
		} catch (const Error &undo) {
			extra = "; removing the device again failed too: " + undo.reason();
		}
		throw Error(e.object(), e.operation(), e.reason() + extra, e.kind(), e.err());
	}
	return kExitOk;
}

int del(const Context &ctx, const Args &a)
{
	check_name("device", a.name);
	auto tree = ctx.tree();
	if (a.force) {
		const DeviceState d = tree->device(a.name);
		if (!d.container.empty()) {
			tree->detach(a.name);
		}
		if (d.enabled()) {
			tree->set_device_attribute(a.name, "enabled", "0");
		}
	}
	tree->remove_device(a.name);
	return kExitOk;
}

int list(const Context &ctx, const Args &a)
{
	if (!a.cls.empty()) {
		check_name("class", a.cls);
	}
	std::vector<DeviceState> devices = ctx.tree()->devices();
	std::erase_if(devices,
	              [&](const DeviceState &d) { return !a.cls.empty() && d.cls != a.cls; });
	if (ctx.json) {
		nlohmann::json doc = nlohmann::json::array();
		for (const DeviceState &d : devices) {
			doc.push_back(to_json(d));
		}
		ctx.print_json(doc);
		return kExitOk;
	}
	std::vector<std::vector<std::string>> rows = {
	    {"NAME", "CLASS", "TYPE", "ENABLED", "CONTAINER", "ID"}};
	const auto dash = [](const std::string &s) { return s.empty() ? std::string("-") : s; };
	for (const DeviceState &d : devices) {
		rows.push_back({d.name, d.cls, dash(d.value("type")), d.enabled() ? "1" : "0",
		                dash(d.container), dash(d.value("id"))});
	}
	ctx.print_table(rows);
	return kExitOk;
}

int show(const Context &ctx, const Args &a)
{
	check_name("device", a.name);
	const DeviceState d = ctx.tree()->device(a.name);
	if (ctx.json) {
		ctx.print_json(to_json(d));
		return kExitOk;
	}
	ctx.out << "device " << d.name << " class " << d.cls << '\n';
	std::vector<std::vector<std::string>> rows;
	for (const Attribute &attr : d.attributes) {
		rows.push_back({"  " + attr.name, attr.value.empty() ? "-" : attr.value,
		                attr.writable ? "" : "(read-only)"});
	}
	ctx.print_table(rows);
	return kExitOk;
}

int set(const Context &ctx, const Args &a)
{
	check_name("device", a.name);
	const std::vector<Assignment> assignments = parse_assignments(a.assignments);
	auto tree = ctx.tree();
	for (const Assignment &as : assignments) {
		tree->set_device_attribute(a.name, as.attribute, as.value);
	}
	return kExitOk;
}

int set_enabled(const Context &ctx, const Args &a, bool enable)
{
	check_name("device", a.name);
	ctx.tree()->set_device_attribute(a.name, "enabled", enable ? "1" : "0");
	return kExitOk;
}

int classes(const Context &ctx)
{
	const std::vector<std::string> names = ctx.tree()->classes();
	if (ctx.json) {
		ctx.print_json(names);
		return kExitOk;
	}
	for (const std::string &name : names) {
		ctx.out << name << '\n';
	}
	return kExitOk;
}

} // namespace

void add_device_verbs(CLI::App &app, Context &ctx)
{
	auto args = std::make_shared<Args>();
	CLI::App *group = app.add_subcommand("device", "devices: created from a device class");
	group->alias("devices");
	group->require_subcommand(1);
	const auto name_arg = [&](CLI::App *cmd) {
		cmd->add_option("name", args->name, "device name")->required();
	};
	const auto verb = [&ctx, args](CLI::App *cmd, int (*fn)(const Context &, const Args &)) {
		cmd->callback(
		    [&ctx, args, fn] { ctx.action = [&ctx, args, fn] { return fn(ctx, *args); }; });
	};

	CLI::App *cmd = group->add_subcommand("add", "create a device of a class");
	cmd->add_option("class", args->cls, "device class")->required();
	name_arg(cmd);
	cmd->add_option("assignments", args->assignments, "ATTRIBUTE=VALUE ...");
	cmd->add_flag("-e,--enable", args->enable, "enable it once configured");
	verb(cmd, add);

	cmd = group->add_subcommand("del", "remove a device");
	cmd->alias("delete");
	name_arg(cmd);
	cmd->add_flag("-f,--force", args->force, "detach and disable it first");
	verb(cmd, del);

	cmd = group->add_subcommand("list", "list devices");
	cmd->alias("ls");
	cmd->add_option("-c,--class", args->cls, "only devices of this class");
	verb(cmd, list);

	cmd = group->add_subcommand("show", "show a device and all its attributes");
	name_arg(cmd);
	verb(cmd, show);

	cmd = group->add_subcommand("set", "set attributes of a device, in order");
	name_arg(cmd);
	cmd->add_option("assignments", args->assignments, "ATTRIBUTE=VALUE ...")->required();
	verb(cmd, set);

	cmd = group->add_subcommand("enable", "commit a device's configuration");
	name_arg(cmd);
	verb(cmd, [](const Context &c, const Args &a) { return set_enabled(c, a, true); });

	cmd = group->add_subcommand("disable", "withdraw a device");
	name_arg(cmd);
	verb(cmd, [](const Context &c, const Args &a) { return set_enabled(c, a, false); });

	cmd = group->add_subcommand("classes", "list the device classes");
	verb(cmd, [](const Context &c, const Args & /*a*/) { return classes(c); });
}

} // namespace vbusctl
