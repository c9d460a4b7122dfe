// SPDX-License-Identifier: GPL-2.0
//
// vbusctl save|restore|clear: the whole configuration as JSON.

#include "context.hh"

#include "../lib/atomic_file.hh"
#include "../lib/error.hh"
#include "../lib/json.hh"
#include "../lib/plan.hh"
#include "../lib/restore.hh"

#include <CLI/CLI.hpp>

#include <memory>
#include <ostream>

namespace vbusctl
{

namespace
{

struct Args {
	std::string file = "-";
	bool clear = false;
	bool dry_run = false;
	bool yes = false;
};

int save(const Context &ctx, const Args &a)
{
	const std::string text = dump_config(snapshot(*ctx.tree()));
	if (a.file == "-") {
		ctx.out << text;
	} else {
		write_file_atomically(a.file, text);
	}
	return kExitOk;
}

nlohmann::json report_json(const Report &report, std::size_t planned)
{
	nlohmann::json failures = nlohmann::json::array();
	for (const Failure &f : report.failures) {
		failures.push_back(
		    {{"object", f.object}, {"operation", f.operation}, {"reason", f.reason}});
	}
	return {{"planned", planned},
	        {"steps", report.steps},
	        {"created", report.created},
	        {"failures", failures}};
}

void print_failures(const Context &ctx, const std::string &verb, const Report &report)
{
	for (const Failure &f : report.failures) {
		ctx.err << "vbusctl: " << verb << ": " << f.message() << '\n';
	}
}

int clear_tree(const Context &ctx, Tree &tree)
{
	const Report report = clear(tree);
	print_failures(ctx, "clear", report);
	return report.failures.empty() ? kExitOk : kExitFailed;
}

int restore(const Context &ctx, const Args &a)
{
	const std::string source = a.file == "-" ? "standard input" : a.file;
	const Config want = parse_config(read_file(a.file), source);
	auto tree = ctx.tree();
	if (a.clear && !a.dry_run && clear_tree(ctx, *tree) != kExitOk) {
		ctx.err << "vbusctl: restore: the tree could not be cleared; nothing restored\n";
		return kExitFailed;
	}
	const Config have = a.clear && a.dry_run ? Config{} : snapshot(*tree);
	const Plan plan = plan_restore(want, have);
	if (!plan.conflicts.empty()) {
		for (const Conflict &c : plan.conflicts) {
			ctx.err << "vbusctl: restore: " << c.object << ": " << c.difference << '\n';
		}
		ctx.err << "vbusctl: restore: refusing to change the existing configuration; "
		           "--clear replaces it\n";
		return kExitFailed;
	}
	if (a.dry_run) {
		for (const Step &step : plan.steps) {
			ctx.out << describe(step) << '\n';
		}
		return kExitOk;
	}
	const Report report = execute(*tree, plan);
	if (ctx.json) {
		ctx.print_json(report_json(report, plan.steps.size()));
	}
	if (report.failures.empty()) {
		return kExitOk;
	}
	print_failures(ctx, "restore", report);
	ctx.err << "vbusctl: restore: " << report.failures.size() << " failures, " << report.created
	        << " objects created\n";
	return kExitPartial;
}

int clear_verb(const Context &ctx, const Args &a)
{
	if (!a.yes) {
		throw Error::usage("the whole configuration", "clear",
		                   "this removes every container and device; add --yes");
	}
	auto tree = ctx.tree();
	return clear_tree(ctx, *tree);
}

} // namespace

void add_config_verbs(CLI::App &app, Context &ctx)
{
	auto args = std::make_shared<Args>();
	const auto verb = [&ctx, args](CLI::App *cmd, int (*fn)(const Context &, const Args &)) {
		cmd->callback(
		    [&ctx, args, fn] { ctx.action = [&ctx, args, fn] { return fn(ctx, *args); }; });
	};

	CLI::App *cmd = app.add_subcommand("save", "write the whole configuration as JSON");
	cmd->add_option("file", args->file, "file to replace atomically (default: stdout)");
	verb(cmd, save);

	cmd = app.add_subcommand("restore", "create the configuration of a JSON file");
	cmd->add_option("file", args->file, "file to read (default: stdin)");
	cmd->add_flag("--clear", args->clear, "remove the existing configuration first");
	cmd->add_flag("-n,--dry-run", args->dry_run, "print the plan, change nothing");
	verb(cmd, restore);

	cmd = app.add_subcommand("clear", "remove every container and device");
	cmd->add_flag("--yes", args->yes, "really");
	verb(cmd, clear_verb);
}

} // namespace vbusctl
