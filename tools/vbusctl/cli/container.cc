// SPDX-License-Identifier: GPL-2.0
//
// vbusctl container add|del|list|show|set

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

std::string owner_text(const std::optional<std::uint32_t> &owner)
{
	return owner ? std::to_string(*owner) : "-";
}

std::string join(const std::vector<std::string> &items)
{
	std::string s;
	for (const std::string &item : items) {
		s += (s.empty() ? "" : " ") + item;
	}
	return s.empty() ? "-" : s;
}

struct Args {
	std::string name;
	std::string owner_uid;
	std::string owner_gid;
	bool force = false;
	std::vector<std::string> assignments;
};

int add(const Context &ctx, const Args &a, const CLI::App &cmd)
{
	check_name("container", a.name);
	const bool uid = cmd.count("--owner-uid") != 0;
	const bool gid = cmd.count("--owner-gid") != 0;
	// Check the values before creating anything.
	if (uid) {
		parse_owner("owner_uid", a.owner_uid);
	}
	if (gid) {
		parse_owner("owner_gid", a.owner_gid);
	}
	auto tree = ctx.tree();
	tree->make_container(a.name);
	try {
		if (uid) {
			tree->set_container_attribute(a.name, "owner_uid", a.owner_uid);
		}
		if (gid) {
			tree->set_container_attribute(a.name, "owner_gid", a.owner_gid);
		}
	} catch (const Error &e) {
		tree->remove_container(a.name);
		throw Error(e.object(), e.operation(),
		            e.reason() + "; the container was removed again", e.kind(), e.err());
	}
	return kExitOk;
}

int del(const Context &ctx, const Args &a)
{
	check_name("container", a.name);
	auto tree = ctx.tree();
	if (a.force) {
		for (const std::string &dev : tree->container(a.name).devices) {
			tree->detach(dev);
		}
	}
	tree->remove_container(a.name);
	return kExitOk;
}

int list(const Context &ctx)
{
	const auto containers = ctx.tree()->containers();
	if (ctx.json) {
		nlohmann::json doc = nlohmann::json::array();
		for (const ContainerState &c : containers) {
			doc.push_back(to_json(c));
		}
		ctx.print_json(doc);
		return kExitOk;
	}
	std::vector<std::vector<std::string>> rows = {
	    {"NAME", "DEVICES", "CLIENTS", "OWNER_UID", "OWNER_GID"}};
	for (const ContainerState &c : containers) {
		rows.push_back({c.name, std::to_string(c.devices.size()), std::to_string(c.clients),
		                owner_text(c.owner_uid), owner_text(c.owner_gid)});
	}
	ctx.print_table(rows);
	return kExitOk;
}

int show(const Context &ctx, const Args &a)
{
	check_name("container", a.name);
	const ContainerState c = ctx.tree()->container(a.name);
	if (ctx.json) {
		ctx.print_json(to_json(c));
		return kExitOk;
	}
	ctx.out << "container " << c.name << '\n';
	ctx.print_table({{"  owner_uid", owner_text(c.owner_uid)},
	                 {"  owner_gid", owner_text(c.owner_gid)},
	                 {"  clients", std::to_string(c.clients)},
	                 {"  devices", join(c.devices)}});
	return kExitOk;
}

int set(const Context &ctx, const Args &a)
{
	check_name("container", a.name);
	std::vector<Assignment> assignments;
	for (const std::string &arg : a.assignments) {
		assignments.push_back(parse_assignment(arg));
		const Assignment &as = assignments.back();
		if (as.attribute == "owner_uid" || as.attribute == "owner_gid") {
			parse_owner(as.attribute, as.value);
		}
	}
	auto tree = ctx.tree();
	for (const Assignment &as : assignments) {
		tree->set_container_attribute(a.name, as.attribute, as.value);
	}
	return kExitOk;
}

} // namespace

void add_container_verbs(CLI::App &app, Context &ctx)
{
	auto args = std::make_shared<Args>();
	CLI::App *group = app.add_subcommand("container", "containers: isolated buses");
	group->alias("containers");
	group->require_subcommand(1);
	const auto name_arg = [&](CLI::App *cmd) {
		cmd->add_option("name", args->name, "container name")->required();
	};

	CLI::App *cmd = group->add_subcommand("add", "create a container");
	name_arg(cmd);
	cmd->add_option("--owner-uid", args->owner_uid, "user that may attach clients");
	cmd->add_option("--owner-gid", args->owner_gid, "group that may attach clients");
	cmd->callback([&ctx, args, cmd] {
		ctx.action = [&ctx, args, cmd] { return add(ctx, *args, *cmd); };
	});

	cmd = group->add_subcommand("del", "remove a container");
	cmd->alias("delete");
	name_arg(cmd);
	cmd->add_flag("-f,--force", args->force, "detach its devices first");
	cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return del(ctx, *args); }; });

	cmd = group->add_subcommand("list", "list containers");
	cmd->alias("ls");
	cmd->callback([&ctx] { ctx.action = [&ctx] { return list(ctx); }; });

	cmd = group->add_subcommand("show", "show a container");
	name_arg(cmd);
	cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return show(ctx, *args); }; });

	cmd = group->add_subcommand("set", "set attributes of a container");
	name_arg(cmd);
	cmd->add_option("assignments", args->assignments, "ATTRIBUTE=VALUE ...")->required();
	cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return set(ctx, *args); }; });
}

} // namespace vbusctl
