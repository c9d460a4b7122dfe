// SPDX-License-Identifier: GPL-2.0
//
// vbusctl attach|detach: placing devices in containers.

#include "context.hh"

#include "../lib/error.hh"
#include "../lib/names.hh"

#include <CLI/CLI.hpp>

#include <memory>

namespace vbusctl
{

namespace
{

struct Args {
	std::string device;
	std::string container;
};

} // namespace

void add_placement_verbs(CLI::App &app, Context &ctx)
{
	auto args = std::make_shared<Args>();
	CLI::App *cmd = app.add_subcommand("attach", "place a device in a container");
	cmd->add_option("device", args->device, "device name")->required();
	cmd->add_option("container", args->container, "container name")->required();
	cmd->callback([&ctx, args] {
		ctx.action = [&ctx, args] {
			check_name("device", args->device);
			check_name("container", args->container);
			ctx.tree()->attach(args->device, args->container);
			return static_cast<int>(kExitOk);
		};
	});

	cmd = app.add_subcommand("detach", "remove a device from its container");
	cmd->add_option("device", args->device, "device name")->required();
	cmd->callback([&ctx, args] {
		ctx.action = [&ctx, args] {
			check_name("device", args->device);
			ctx.tree()->detach(args->device);
			return static_cast<int>(kExitOk);
		};
	});
}

} // namespace vbusctl
