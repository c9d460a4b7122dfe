// SPDX-License-Identifier: GPL-2.0
//
// JSON forms of the configuration (the save file, schema version 1, see
// Documentation/vbus/vbusctl.rst) and of the objects `--json` shows.

#pragma once

#include "config.hh"
#include "tree.hh"

#include <nlohmann/json.hpp>

#include <string>

namespace vbusctl
{

inline constexpr int kSchemaVersion = 1;

nlohmann::json to_json(const Config &config);

// Throws a usage Error naming the offending member (e.g.
// "devices[2].class") when @doc is not a version 1 configuration.
Config config_from_json(const nlohmann::json &doc);

// Parses and checks a configuration file's text (@source names it in errors).
Config parse_config(const std::string &text, const std::string &source);

// The text `save` writes: sorted keys, two-space indent, final newline.
std::string dump_config(const Config &config);

nlohmann::json to_json(const ContainerState &container);
nlohmann::json to_json(const DeviceState &device);

} // namespace vbusctl
