// SPDX-License-Identifier: GPL-2.0
//
// A whole vbus configuration: what `save` records and `restore` creates.
// Containers with their owners, devices with their class, writable
// attributes and enabled state, and placements.  Device ids, clients and
// connections are state, not configuration, and are not part of it.

#pragma once

#include "tree.hh"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vbusctl
{

struct ContainerConfig {
	std::string name;
	std::optional<std::uint32_t> owner_uid;
	std::optional<std::uint32_t> owner_gid;

	bool operator==(const ContainerConfig &) const = default;
};

struct DeviceConfig {
	std::string name;
	std::string cls;
	// Every writable attribute but enabled, by name.
	std::map<std::string, std::string> attributes;
	bool enabled = false;

	bool operator==(const DeviceConfig &) const = default;
};

struct Placement {
	std::string device;
	std::string container;

	bool operator==(const Placement &) const = default;
};

struct Config {
	std::vector<ContainerConfig> containers; // sorted by name
	std::vector<DeviceConfig> devices;       // sorted by name
	std::vector<Placement> placements;       // sorted by container, then device

	bool operator==(const Config &) const = default;
	[[nodiscard]] bool empty() const
	{
		return containers.empty() && devices.empty() && placements.empty();
	}
	[[nodiscard]] std::size_t objects() const
	{
		return containers.size() + devices.size() + placements.size();
	}
	[[nodiscard]] const ContainerConfig *find_container(const std::string &name) const;
	[[nodiscard]] const DeviceConfig *find_device(const std::string &name) const;
	// The container @device is placed in, or "".
	[[nodiscard]] std::string placement_of(const std::string &device) const;
};

// The configuration of the tree as it is now.
Config snapshot(const Tree &tree);

// The configuration of one device as the tree shows it.
DeviceConfig device_config(const DeviceState &state);

// Sorts the lists the way snapshot() does.
void normalise(Config &config);

// What is wrong with a configuration read from a file: bad names,
// duplicates, placements of unknown objects, a device placed twice,
// attributes that are not configuration.  Empty when it is sound.
std::vector<std::string> validate(const Config &config);

} // namespace vbusctl
