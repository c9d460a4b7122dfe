// SPDX-License-Identifier: GPL-2.0
//
// What every verb of vbusctl shares: global options, output streams, the
// configfs tree, and the action the command line selected.

#pragma once

#include "../lib/tree.hh"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

namespace CLI
{
class App;
}

namespace vbusctl
{

using TreeFactory = std::function<std::unique_ptr<Tree>(const std::filesystem::path &)>;

struct Context {
	Context(std::ostream &o, std::ostream &e, TreeFactory factory)
	    : out(o), err(e), make_tree(std::move(factory))
	{
	}

	std::filesystem::path root{kDefaultRoot};
	bool json = false;
	std::ostream &out;
	std::ostream &err;
	TreeFactory make_tree;
	// Set by the selected verb's parse callback, run after parsing.
	std::function<int()> action;

	[[nodiscard]] std::unique_ptr<Tree> tree() const { return make_tree(root); }
	// Pretty-printed JSON and a newline on out.
	void print_json(const nlohmann::json &doc) const;
	// Columns separated by two spaces, the first row a header.
	void print_table(const std::vector<std::vector<std::string>> &rows) const;
};

// Runs vbusctl with @args (without the program name).  Returns the exit
// status; @make_tree makes the tree for --root (default: the real one).
int run(const std::vector<std::string> &args, std::ostream &out, std::ostream &err,
        TreeFactory make_tree = {});

// The verb groups, each adding its subcommands to @app.
void add_container_verbs(CLI::App &app, Context &ctx);
void add_device_verbs(CLI::App &app, Context &ctx);
void add_placement_verbs(CLI::App &app, Context &ctx);
void add_config_verbs(CLI::App &app, Context &ctx);
void add_event_verbs(CLI::App &app, Context &ctx);

} // namespace vbusctl
