// SPDX-License-Identifier: GPL-2.0
//
// The command line: global options, verb groups, errors to exit codes.

#include "context.hh"

#include "../lib/error.hh"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <iomanip>
#include <ostream>

namespace vbusctl
{

void Context::print_json(const nlohmann::json &doc) const
{
	out << doc.dump(2) << '\n';
}

void Context::print_table(const std::vector<std::vector<std::string>> &rows) const
{
	std::vector<std::size_t> width;
	for (const auto &row : rows) {
		width.resize(std::max(width.size(), row.size()));
		for (std::size_t i = 0; i < row.size(); ++i) {
			width.at(i) = std::max(width.at(i), row.at(i).size());
		}
	}
	for (const auto &row : rows) {
		std::string line;
		for (std::size_t i = 0; i < row.size(); ++i) {
			line += row.at(i);
			if (i + 1 < row.size()) {
				line += std::string(width.at(i) - row.at(i).size() + 2, ' ');
			}
		}
		out << line << '\n';
	}
}

int run(const std::vector<std::string> &args, std::ostream &out, std::ostream &err,
        TreeFactory make_tree)
{
	if (!make_tree) {
		make_tree = [](const std::filesystem::path &root) {
			return std::make_unique<Tree>(root);
		};
	}
	Context ctx(out, err, std::move(make_tree));
	CLI::App app("vbusctl: administer vbus containers and devices", "vbusctl");
	app.fallthrough();
	app.require_subcommand(1);
	std::string root = ctx.root.string();
	app.add_option("--root", root, "the vbus configfs tree")->capture_default_str();
	app.add_flag("-j,--json", ctx.json, "JSON output");
	add_container_verbs(app, ctx);
	add_device_verbs(app, ctx);
	add_placement_verbs(app, ctx);
	add_config_verbs(app, ctx);
	add_event_verbs(app, ctx);

	try {
		std::vector<std::string> reversed(args.rbegin(), args.rend());
		app.parse(reversed);
	} catch (const CLI::ParseError &e) {
		const int status = app.exit(e, out, err);
		return status == 0 ? kExitOk : kExitUsage;
	}
	ctx.root = root;
	if (!ctx.action) {
		err << app.help();
		return kExitUsage;
	}
	try {
		return ctx.action();
	} catch (const Error &e) {
		err << "vbusctl: " << e.what() << '\n';
		return e.exit_code();
	} catch (const std::exception &e) {
		err << "vbusctl: " << e.what() << '\n';
		return kExitFailed;
	}
}

} // namespace vbusctl
